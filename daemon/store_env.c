/* store_env.c - the environment's figures for /metrics and the console: map pages used and free, data.mdb size, reader slots; sampled without waiting for a write. */
#include "store.h"

/* Owns: sampling the environment.  May call: log.  Never PostgreSQL. */

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pc_lockfile.h"
#include "store_int.h"

/* Pages on LMDB's free list: the FREE_DBI (0) holds, per transaction that
 * freed pages, an ID list whose first word is its length (as mdb_stat -f
 * counts them).  Pages freed while an old snapshot is held stay here
 * unusable until it ends. */
static int free_pages(MDB_txn *txn, uint64_t *out)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, 0, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    uint64_t n = 0;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == MDB_SUCCESS)
        if (v.mv_size >= sizeof(size_t))
            n += *(const size_t *)v.mv_data;
    mdb_cursor_close(cur);
    *out = n;
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

int pcd_store_sample(pcd_store *st, pcd_store_sample_t *out)
{
    memset(out, 0, sizeof *out);
    MDB_envinfo info;
    MDB_stat ms;
    MDB_txn *txn = NULL;
    pthread_rwlock_rdlock(&st->map_lock);
    int rc = mdb_env_info(st->env, &info);
    if (!rc)
        rc = mdb_env_stat(st->env, &ms);
    /* lock.mdb first: a reader count beyond the table would make the
     * transaction below (a new slot) and the listing walk past it. */
    int lock = rc ? PC_OK : pcd_st_lock_watch(st, &info);
    int table_ok = !rc && pc_lock_check_readers(info.me_numreaders, info.me_maxreaders, NULL, 0) == PC_OK;
    if (!rc && table_ok)
        rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (!rc && txn) {
        rc = free_pages(txn, &out->pages_free);
        mdb_txn_abort(txn);
    }
    size_t cap = rc ? 0 : (size_t)info.me_maxreaders, n = 0;
    int lrc = PC_OK;
    if (!rc && table_ok) {
        /* Under the map lock: the listing's own check reads data.mdb's meta. */
        out->slots = calloc(cap ? cap : 1, sizeof *out->slots);
        lrc = out->slots ? pc_rslots_read(st->env, out->slots, cap, &n) : PC_ENOMEM;
    }
    pthread_rwlock_unlock(&st->map_lock);
    if (rc)
        return pc_err_from_mdb(rc);
    /* A count beyond the table: no slots were listed, and a sample without
     * them would read as "every reader went" (pcd_st_lock_watch has said
     * what is wrong; the watcher keeps its last sample). */
    if (!table_ok)
        return PC_EFORMAT;
    (void)lock;
    out->map_size = info.me_mapsize;
    out->pages_used = (uint64_t)info.me_last_pgno + 1;
    out->map_used = out->pages_used * ms.ms_psize;
    out->last_txnid = (uint64_t)info.me_last_txnid;
    /* LMDB's count, held to the table: a corrupt one is not a figure. */
    out->readers = (int)info.me_numreaders;
    out->readers_max = (int)info.me_maxreaders;
    out->map_full = pcd_store_map_full(st);
    out->disk_full = pcd_store_disk_full(st);
    out->disk_at_ms = pc_mono_ms();
    if (pcd_store_disk_free(st, &out->disk_free) != PC_OK)
        out->disk_free = 0;
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/data.mdb", st->path);
    if (stat(path, &sb) == 0)
        out->data_bytes = (uint64_t)sb.st_size;
    out->nslots = n < cap ? n : cap;
    return lrc == PC_EFORMAT ? PC_OK : lrc;
}

void pcd_store_sample_free(pcd_store_sample_t *s)
{
    free(s->slots);
    s->slots = NULL;
    s->nslots = 0;
}

int pcd_store_clear_dead(pcd_store *st, int *n)
{
    *n = 0;
    pthread_rwlock_rdlock(&st->map_lock); /* the count's check reads data.mdb's meta */
    int rc = pcd_st_reader_check(st, n);
    pthread_rwlock_unlock(&st->map_lock);
    return rc == PCD_ST_LOCK_BAD ? PC_EFORMAT : rc == 0 ? PC_OK : PC_EIO;
}

int64_t pcd_store_busy_ms(pcd_store *st)
{
    long long since = atomic_load(&st->busy_since_ms);
    return since ? pc_mono_ms() - since : 0;
}

int pcd_store_map_full(pcd_store *st)
{
    return atomic_load(&st->map_full);
}
