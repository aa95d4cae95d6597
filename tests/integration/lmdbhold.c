/* lmdbhold.c - another process that holds LMDB's locks in a cache: a read transaction left open (a stale reader) or the writer mutex (a member blocking the daemon).
 *
 *   lmdbhold read DIR    begin a read transaction, print "txn N", hold it
 *   lmdbhold write DIR   begin a write transaction (LMDB's writer mutex in
 *                        lock.mdb), print "writer", hold it
 *
 * It holds until stdin reaches its end or a signal ends it; the scenario
 * may SIGSTOP it meanwhile, as a debugger or a stopped pager would.  Raw
 * LMDB, not libpricecache: any process of the group can do this.
 */
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "read") != 0 && strcmp(argv[1], "write") != 0)) {
        fprintf(stderr, "usage: lmdbhold read|write DIR\n");
        return 2;
    }
    int wr = strcmp(argv[1], "write") == 0;
    MDB_env *env;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (!rc)
        rc = mdb_env_set_maxreaders(env, 1024);
    if (!rc)
        rc = mdb_env_open(env, argv[2], wr ? 0 : MDB_RDONLY, 0660);
    if (!rc)
        rc = mdb_txn_begin(env, NULL, wr ? 0 : MDB_RDONLY, &txn);
    if (rc) {
        fprintf(stderr, "lmdbhold: %s: %s\n", argv[2], mdb_strerror(rc));
        return 1;
    }
    if (wr)
        printf("writer\n");
    else
        printf("txn %zu\n", mdb_txn_id(txn));
    fflush(stdout);
    char buf[256];
    while (read(0, buf, sizeof buf) > 0)
        ;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}
