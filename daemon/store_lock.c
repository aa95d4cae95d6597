/* store_lock.c - the daemon's checks of LMDB's lock file (lock.mdb, writable by every reader): before LMDB walks the reader table or builds a write on the transaction id the file gives, and each watcher sample; the state they judge. */
#include "store.h"

/* Owns: the lock-file state of the store (which check found what).
 * May call: log, pc_lockfile.h.  Never PostgreSQL.
 *
 * Nothing is repaired here: LMDB rebuilds lock.mdb itself when the first
 * process opens the environment with no other process holding it, and
 * rewriting its fields from outside, while readers use it, would race with
 * LMDB's own writes.  The daemon refuses to write on a lock file it cannot
 * trust (the last snapshots stay, and are served), says so everywhere an
 * operator looks, and writes again once the file checks out. */

#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pc_lockfile.h"
#include "store_int.h"

/* A source found the file corrupt (why) or sound (why NULL).  Logged on
 * each change of the judgement (and of the sentence while corrupt). */
void pcd_st_lock_judge(pcd_store *st, int source, const char *why)
{
    pthread_mutex_lock(&st->lock_mu);
    int was = st->lock_bad != 0;
    int bit = 1 << source;
    if (why) {
        /* Said when it starts, and when the sentence changes (a member
         * still writing), at most every 10 s: the watcher and each retried
         * write find it again and again. */
        int64_t now = pc_mono_ms();
        int say = !st->lock_bad || (strcmp(st->lock_why, why) != 0 &&
                                    now - st->lock_said_ms >= 10000);
        st->lock_bad |= bit;
        snprintf(st->lock_why, sizeof st->lock_why, "%s", why);
        if (say) {
            st->lock_said_ms = now;
            LOG_ERR("cache", "cache %s: %s (found by the %s); publishes are refused while the "
                    "reader count or the transaction id is wrong, the last snapshots are served; "
                    "a member of the service group wrote into lock.mdb (LMDB rebuilds it when "
                    "every process has closed the cache)", st->path, why,
                    source == PCD_LOCK_WATCH ? "watcher" : "writer");
        }
    } else {
        /* The watcher's full check covers the write path's too. */
        st->lock_bad &= source == PCD_LOCK_WATCH ? 0 : ~bit;
        if (was && !st->lock_bad) {
            LOG_INFO("cache", "cache %s: lock.mdb checks out again (was: %s); publishes resume",
                     st->path, st->lock_why);
            st->lock_why[0] = 0;
        }
    }
    atomic_store(&st->lock_corrupt, st->lock_bad != 0);
    pthread_mutex_unlock(&st->lock_mu);
}

int pcd_store_lock_state(pcd_store *st, char *why, size_t len)
{
    if (!atomic_load(&st->lock_corrupt)) {
        if (why && len)
            why[0] = 0;
        return 0;
    }
    pthread_mutex_lock(&st->lock_mu);
    int bad = st->lock_bad != 0;
    if (why && len)
        snprintf(why, len, "%s", bad ? st->lock_why : "");
    pthread_mutex_unlock(&st->lock_mu);
    return bad;
}

/* The reader count against the table.  The caller keeps a resize out
 * (st->mu or map_lock): mdb_env_info reads data.mdb's meta pages. */
static int readers_ok(pcd_store *st, int source)
{
    char msg[200];
    int rc = pc_lock_check_env(st->env, msg, sizeof msg);
    if (rc == PC_EFORMAT)
        pcd_st_lock_judge(st, source, msg);
    return rc;
}

int pcd_st_begin_read(pcd_store *st, MDB_txn **txn)
{
    /* A thread's first read takes a reader slot: LMDB walks the table. */
    if (readers_ok(st, PCD_LOCK_WRITE) != PC_OK)
        return PCD_ST_LOCK_BAD;
    return mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
}

int pcd_st_begin_write(pcd_store *st, MDB_txn **txn)
{
    /* The write's search for the oldest reader walks the table. */
    if (readers_ok(st, PCD_LOCK_WRITE) != PC_OK)
        return PCD_ST_LOCK_BAD;
    int rc = mdb_txn_begin(st->env, NULL, 0, txn);
    if (rc)
        return rc;
    /* LMDB took the new id from lock.mdb (+1) and builds on the meta page
     * it names; holding the writer mutex, it must follow data.mdb's
     * newest commit exactly.  A lie would build on an older snapshot (and
     * overwrite the newest) or reuse pages readers still read. */
    MDB_envinfo info;
    char msg[200];
    rc = mdb_env_info(st->env, &info);
    uint64_t wid = (uint64_t)mdb_txn_id(*txn), last = (uint64_t)info.me_last_txnid;
    if (rc == MDB_SUCCESS && st->lock_synced != 1 && wid == last && last > 0) {
        /* One behind, before this daemon's first write: the previous one
         * died between writing data.mdb's meta page and lock.mdb's id,
         * while readers kept the lock file.  LMDB then builds on the
         * commit before (the last one is lost, as without this check);
         * warm-up reloads every chain.  The write that follows syncs
         * them; refusing would refuse until every reader closed. */
        if (st->lock_synced == 0)
            LOG_WARN("cache", "cache %s: lock.mdb's transaction id is one behind data.mdb's last "
                 "commit %llu (the previous daemon died inside a commit): LMDB writes on the "
                 "commit before; the reload of every chain restores the last one",
                 st->path, (unsigned long long)last);
        st->lock_synced = 2; /* said; let through until a commit syncs them */
        return MDB_SUCCESS;
    }
    if (rc == MDB_SUCCESS && pc_lock_check_wtxnid(wid, last, msg, sizeof msg) != PC_OK) {
        mdb_txn_abort(*txn);
        *txn = NULL;
        pcd_st_lock_judge(st, PCD_LOCK_WRITE, msg);
        return PCD_ST_LOCK_BAD;
    }
    if (rc) {
        mdb_txn_abort(*txn);
        *txn = NULL;
    } else {
        st->lock_synced = 1;
        if (atomic_load(&st->lock_corrupt))
            pcd_st_lock_judge(st, PCD_LOCK_WRITE, NULL); /* this check passed */
    }
    return rc;
}

int pcd_st_reader_check(pcd_store *st, int *dead)
{
    *dead = 0;
    if (readers_ok(st, PCD_LOCK_WRITE) != PC_OK)
        return PCD_ST_LOCK_BAD;
    return mdb_reader_check(st->env, dead);
}

int pcd_st_lock_watch(pcd_store *st, const MDB_envinfo *info)
{
    char msg[200];
    uint32_t magic, format;
    if (pc_lock_check_readers(info->me_numreaders, info->me_maxreaders, msg, sizeof msg) != PC_OK)
        goto bad;
    if (st->lock_hdr_fd >= 0 && pc_lock_read_header(st->lock_hdr_fd, &magic, &format) == PC_OK &&
        pc_lock_check_header(magic, format, st->lock_format, msg, sizeof msg) != PC_OK)
        goto bad;
    /* A read transaction takes its id from lock.mdb; data.mdb, read after
     * it began, says what it may be.  With no write in progress (the store
     * lock free, taken without waiting) the two must be equal; while one
     * runs, only an id beyond the newest commit is certainly a lie. */
    int quiet = pthread_mutex_trylock(&st->mu) == 0;
    MDB_txn *txn;
    MDB_envinfo now;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc == MDB_SUCCESS) {
        uint64_t id = (uint64_t)mdb_txn_id(txn);
        rc = mdb_env_info(st->env, &now);
        mdb_txn_abort(txn);
        if (rc == MDB_SUCCESS) {
            /* Said as the writer says it (the next write would take id + 1). */
            uint64_t last = (uint64_t)now.me_last_txnid;
            /* One behind before the first write: see pcd_st_begin_write. */
            int behind_ok = quiet && st->lock_synced != 1 && id + 1 == last;
            if ((id > last || (quiet && id != last && !behind_ok)) &&
                pc_lock_check_wtxnid(id + 1, last, msg, sizeof msg) != PC_OK)
                rc = PCD_ST_LOCK_BAD;
        }
    }
    if (quiet)
        pthread_mutex_unlock(&st->mu);
    if (rc == PCD_ST_LOCK_BAD)
        goto bad;
    if (rc != MDB_SUCCESS)
        return pc_err_from_mdb(rc);
    pcd_st_lock_judge(st, PCD_LOCK_WATCH, NULL);
    return PC_OK;
bad:
    pcd_st_lock_judge(st, PCD_LOCK_WATCH, msg);
    return PC_EFORMAT;
}
