/* test_fork.c - fork safety of libpricecache (client/fork.c and its hooks in client/reader.c): children use the parent's reader while the parent keeps reading.
 *
 * LMDB forbids using an environment after fork; before this, a child that
 * read through the parent's pc_reader took over the parent's reader slot
 * and the parent's next reads failed with PC_EIO.  The library now notices
 * the fork (a pthread_atfork generation) and reopens in the child.  Each
 * test forks children (plain fork(), no exec) while two parent threads
 * read; every answer on both sides must be right.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pc_format.h"
#include "pricecache.h"

#define NITEMS    500
#define NCHILDREN 8
#define CHILD_ROUNDS 5

typedef struct fixture {
    char dir[64];
} fixture;

static int put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl)
{
    MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };
    return mdb_put(txn, dbi, &key, &val, 0);
}

static void item_id(char *buf, size_t n, int i)
{
    snprintf(buf, n, "item-%04d", i);
}

/* Chain "acme": base price i*10+1 for every item, an exception at store
 * "s1" of i*10+5 for even items. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/pc_test_fork.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 1 << 22), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0660), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    uint8_t kb[PC_KEY_MAX];
    pc_fmt_rec fmt;
    pc_fmt_init(&fmt);
    assert_int_equal(put(txn, dbi, kb, pc_key_fmt(kb), &fmt, sizeof fmt), 0);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    m.version = 42;
    m.base_rows = NITEMS;
    m.store_rows = NITEMS / 2;
    assert_int_equal(put(txn, dbi, kb, pc_key_meta(kb, "acme", 4), &m, sizeof m), 0);
    char id[32];
    for (int i = 0; i < NITEMS; i++) {
        item_id(id, sizeof id, i);
        pc_price_rec p = { i * 10 + 1, 1000 + i };
        assert_int_equal(put(txn, dbi, kb, pc_key_base(kb, "acme", 4, id, strlen(id)), &p,
                             sizeof p), 0);
        if (i % 2 == 0) {
            pc_price_rec e = { i * 10 + 5, 2000 + i };
            assert_int_equal(put(txn, dbi, kb,
                                 pc_key_store(kb, "acme", 4, "s1", 2, id, strlen(id)), &e,
                                 sizeof e), 0);
        }
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char p[128];
    const char *files[] = { "data.mdb", "lock.mdb" };
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Every item at store s1 (exception or base) and at no store, and the
 * metadata: 0 when every answer is right, else the number of wrong ones. */
static int check_all(pc_reader *r)
{
    int bad = 0;
    char id[32];
    for (int i = 0; i < NITEMS; i++) {
        item_id(id, sizeof id, i);
        pc_price p;
        int rc = pc_get(r, "acme", "s1", id, &p);
        int64_t want = i % 2 == 0 ? i * 10 + 5 : i * 10 + 1;
        bad += rc != PC_OK || p.cents != want;
        rc = pc_get(r, "acme", NULL, id, &p);
        bad += rc != PC_OK || p.cents != i * 10 + 1 || p.flags != 0;
    }
    pc_price p;
    bad += pc_get(r, "acme", NULL, "no-such-item", &p) != PC_NOTFOUND;
    bad += pc_get(r, "nochain", NULL, "item-0001", &p) != PC_ENOCHAIN;
    pc_chain_meta m;
    bad += pc_chain_info(r, "acme", &m) != PC_OK || m.version != 42;
    return bad;
}

/* pc_get_many in one call over every item. */
static int check_many(pc_reader *r)
{
    static char ids[NITEMS][32];
    const char *items[NITEMS];
    pc_price out[NITEMS];
    int status[NITEMS];
    for (int i = 0; i < NITEMS; i++) {
        item_id(ids[i], sizeof ids[i], i);
        items[i] = ids[i];
    }
    if (pc_get_many(r, "acme", NULL, NITEMS, items, out, status) != PC_OK)
        return 1;
    int bad = 0;
    for (int i = 0; i < NITEMS; i++)
        bad += status[i] != PC_OK || out[i].cents != i * 10 + 1;
    return bad;
}

/* GCC 12's AddressSanitizer does not hold its allocator's lock across
 * fork (LLVM fixed that in 17): a child forked while another thread is
 * inside malloc hangs in its first malloc, whatever the library does.
 * Under ASan the parent's reader threads therefore pause around each fork
 * (the children still use the inherited reader, with its slots in use);
 * plain and valgrind runs fork while they read. */
#if defined(__SANITIZE_ADDRESS__)
#define FORK_GATE 1
#else
#define FORK_GATE 0
#endif
static pthread_rwlock_t fork_gate; /* writer-preferring: the forks must not starve */

typedef struct parent_reader {
    pc_reader  *r;
    atomic_int *stop;
    long        rounds, bad, eio;
} parent_reader;

static void *parent_loop(void *arg)
{
    parent_reader *pr = arg;
    while (!atomic_load(pr->stop)) {
        if (FORK_GATE)
            pthread_rwlock_rdlock(&fork_gate);
        char id[32];
        for (int i = 0; i < NITEMS; i++) {
            item_id(id, sizeof id, i);
            pc_price p;
            int rc = pc_get(pr->r, "acme", "s1", id, &p);
            pr->eio += rc == PC_EIO;
            pr->bad += rc != PC_OK || p.cents != (i % 2 == 0 ? i * 10 + 5 : i * 10 + 1);
        }
        pr->rounds++;
        if (FORK_GATE)
            pthread_rwlock_unlock(&fork_gate);
    }
    return NULL;
}

static void *child_thread(void *arg)
{
    return (void *)(intptr_t)check_all(arg);
}

/* A child: the inherited reader on this thread, on a new thread, and via a
 * second pc_open of the same directory (the shared handle must be the
 * child's own); mode 1 also forks a grandchild; mode 2 closes the
 * inherited reader without reading (that must not clear the parent's
 * slots).  Exit status: 0 when every answer was right. */
static int child_main(pc_reader *r, const char *dir, int mode)
{
    if (mode == 2) {
        pc_close(r);
        return 0;
    }
    int bad = 0;
    for (int k = 0; k < CHILD_ROUNDS; k++)
        bad += check_all(r) + check_many(r);
    /* Under ASan a new thread in the child can hang in the sanitizer's
     * allocator (see FORK_GATE); elsewhere a child's thread gets a slot of
     * its own on the child's handle. */
    if (!FORK_GATE) {
        pthread_t t;
        void *res;
        if (pthread_create(&t, NULL, child_thread, r) != 0)
            return 2;
        pthread_join(t, &res);
        bad += (int)(intptr_t)res;
    }
    pc_reader *r2 = NULL;
    if (pc_open(dir, &r2) != PC_OK)
        return 3;
    bad += check_all(r2);
    pc_close(r2);
    if (mode == 1) {
        pid_t g = fork();
        if (g == 0)
            _exit(check_all(r) != 0);
        int st;
        if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    pc_close(r);
    return bad ? 1 : 0;
}

static void run_forks(void **state, int used_before_fork)
{
    fixture *f = *state;
    pc_reader *r = NULL;
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    if (used_before_fork)
        assert_int_equal(check_all(r), 0); /* this thread has a slot and a txn */
    atomic_int stop = 0;
    parent_reader pr[2] = { { r, &stop, 0, 0, 0 }, { r, &stop, 0, 0, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, parent_loop, &pr[i]), 0);
    pid_t kids[NCHILDREN];
    for (int i = 0; i < NCHILDREN; i++) {
        if (FORK_GATE)
            pthread_rwlock_wrlock(&fork_gate);
        kids[i] = fork();
        if (FORK_GATE && kids[i] != 0)
            pthread_rwlock_unlock(&fork_gate);
        assert_true(kids[i] >= 0);
        if (kids[i] == 0)
            _exit(child_main(r, f->dir, i == 0 ? 1 : i == 1 ? 2 : 0));
        /* The parent's forking thread reads between forks, too. */
        assert_int_equal(check_all(r), 0);
    }
    for (int i = 0; i < NCHILDREN; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) != 0)
            fail_msg("child %d exited %d", i, WEXITSTATUS(st));
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_true(pr[i].rounds > 0);
        assert_int_equal(pr[i].eio, 0);
        assert_int_equal(pr[i].bad, 0);
    }
    /* After the children are gone, the parent still reads on every path. */
    assert_int_equal(check_all(r), 0);
    assert_int_equal(check_many(r), 0);
    pc_close(r);
}

static void test_fork_after_use(void **state)  { run_forks(state, 1); }
static void test_fork_before_use(void **state) { run_forks(state, 0); }

/* A child that opens its own reader after the parent's (the rule before
 * this change) still works, and the parent's stays intact. */
static void test_child_opens_own(void **state)
{
    fixture *f = *state;
    pc_reader *r = NULL;
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    assert_int_equal(check_all(r), 0);
    pid_t k = fork();
    assert_true(k >= 0);
    if (k == 0) {
        pc_reader *own = NULL;
        int bad = pc_open(f->dir, &own) != PC_OK;
        if (!bad)
            bad = check_all(own) != 0;
        pc_close(own);
        _exit(bad);
    }
    int st;
    assert_int_equal(waitpid(k, &st, 0), k);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(check_all(r), 0);
    pc_close(r);
}

int main(void)
{
    /* A fork-time deadlock would hang the suite: fail it instead (SIGALRM
     * ends the process and every child is waited for by then). */
    alarm(300);
    pthread_rwlockattr_t ga;
    pthread_rwlockattr_init(&ga);
    pthread_rwlockattr_setkind_np(&ga, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&fork_gate, &ga);
    pthread_rwlockattr_destroy(&ga);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fork_after_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_before_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_opens_own, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
