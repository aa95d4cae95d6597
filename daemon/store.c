/* store.c - the daemon's LMDB environment: create or open it (format record, writer lock, modes), grow the map, run write transactions, usage figures. */
#include "store.h"

/* Owns: the environment, its lock file, the map size, the store lock, the
 * transaction runners (store_int.h).  May call: log.  Never PostgreSQL. */

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "log.h"
#include "pc_lockfile.h"
#include "store_int.h"
#include "statsdir.h"

int pcd_st_fail(int rc, const char *what, char *err, size_t errlen)
{
    if (err)
        snprintf(err, errlen, "%s: %s", what, mdb_strerror(rc));
    return pc_err_from_mdb(rc);
}

/* Write this daemon's format record and commit `txn` (ended either way). */
static int put_format(pcd_store *st, MDB_txn *txn, const char *what, char *err, size_t errlen)
{
    uint8_t kb[PC_KEY_MAX];
    pc_fmt_rec rec;
    pc_fmt_init(&rec);
    MDB_val k = { pc_key_fmt(kb), kb }, v = { sizeof rec, &rec };
    int rc = mdb_put(txn, st->dbi, &k, &v, 0);
    if (!rc)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc ? pcd_st_fail(rc, what, err, errlen) : PC_OK;
}

static int init_format(pcd_store *st, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = pcd_st_begin_write(st, &txn);
    if (rc == PCD_ST_LOCK_BAD) {
        pcd_store_lock_state(st, err, errlen);
        return PC_EFORMAT;
    }
    if (rc)
        return pcd_st_fail(rc, "cache: cannot begin transaction", err, errlen);
    rc = mdb_dbi_open(txn, NULL, 0, &st->dbi);
    if (rc) {
        mdb_txn_abort(txn);
        return pcd_st_fail(rc, "cache: cannot open database", err, errlen);
    }
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_fmt(kb), kb }, v;
    rc = mdb_get(txn, st->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        MDB_stat ms;
        mdb_stat(txn, st->dbi, &ms);
        if (ms.ms_entries != 0) {
            mdb_txn_abort(txn);
            snprintf(err, errlen, "cache %s: holds data but no pricecache format record; "
                     "not a pricecache environment, refusing to touch it", st->path);
            return PC_EFORMAT;
        }
        if ((rc = put_format(st, txn, "cache: cannot write the format record", err, errlen)))
            return rc;
        LOG_INFO("cache", "cache %s: created (format %u)", st->path, PC_FORMAT_VERSION);
        return PC_OK;
    }
    if (rc) {
        mdb_txn_abort(txn);
        return pcd_st_fail(rc, "cache: cannot read the format record", err, errlen);
    }
    uint32_t version = 0;
    rc = pc_fmt_check(v.mv_data, v.mv_size, &version);
    if (rc != PC_OK) {
        mdb_txn_abort(txn);
        snprintf(err, errlen, "cache %s: unknown format (this daemon writes format %u); "
                 "move the directory away or use the matching pricecached", st->path,
                 PC_FORMAT_VERSION);
        return PC_EFORMAT;
    }
    if (version == PC_FORMAT_VERSION) {
        mdb_txn_abort(txn);
        return PC_OK;
    }
    /* An older format: its records are this format's, less the lookup
     * tables (pc_format.h), so converting is saying so; each chain's next
     * load writes its table, and until then readers walk its B-tree. */
    if ((rc = put_format(st, txn, "cache: cannot convert the format record", err, errlen)))
        return rc;
    LOG_INFO("cache", "cache %s: converted from format %u to %u (the chains' lookup tables "
             "are written by their next loads)", st->path, version, PC_FORMAT_VERSION);
    return PC_OK;
}

int pcd_store_open(const pcd_config *cfg, pcd_store **out, char *err, size_t errlen)
{
    *out = NULL;
    pcd_store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(cfg->path))) {
        free(st);
        snprintf(err, errlen, "cache: out of memory");
        return PC_ENOMEM;
    }
    st->lock_fd = -1;
    st->lock_hdr_fd = -1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->memo_mu, NULL);
    pthread_mutex_init(&st->disk_mu, NULL);
    pthread_mutex_init(&st->lock_mu, NULL);
    pthread_rwlock_init(&st->map_lock, NULL);
    st->map_size = cfg->map_size_mb << 20;
    st->map_max = cfg->map_max_mb << 20;

    int rc;
    if (mkdir(cfg->path, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cache %s: cannot create directory: %s", cfg->path, strerror(errno));
        rc = PC_EIO;
        goto fail;
    }
    char lockpath[4096];
    snprintf(lockpath, sizeof lockpath, "%s/daemon.lock", cfg->path);
    st->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (st->lock_fd < 0) {
        snprintf(err, errlen, "cache %s: cannot open %s: %s", cfg->path, lockpath, strerror(errno));
        rc = PC_EIO;
        goto fail;
    }
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "cache %s: another pricecached holds %s; only one writer may run",
                 cfg->path, lockpath);
        rc = PC_EIO;
        goto fail;
    }

    /* After the daemon's lock (one writer), before LMDB opens the files:
     * a cache torn by a system crash is removed here (durable.c). */
    int rebuilt;
    if ((rc = pcd_durable_begin(cfg->path, &rebuilt, err, errlen)) != PC_OK)
        goto fail;
    if ((rc = mdb_env_create(&st->env)) ||
        (rc = mdb_env_set_maxreaders(st->env, (unsigned)cfg->max_readers)) ||
        (rc = mdb_env_set_mapsize(st->env, st->map_size))) {
        rc = pcd_st_fail(rc, "cache: cannot set up the environment", err, errlen);
        goto fail;
    }
    /* lock.mdb 0660 (readers must write their slot), data.mdb 0640.
     * MDB_NOSYNC: a commit is visible when its pages are written, and a
     * thread of durable.c syncs right behind it; fdatasync was most of a
     * change's delay (issue 19).  A crash of the daemon loses nothing (the
     * page cache holds every commit); after a crash of the whole system
     * the marker makes the next start rebuild the cache (durable.c). */
    rc = mdb_env_open(st->env, cfg->path, MDB_NOSYNC, 0660);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof what, "cache %s: cannot open", cfg->path);
        rc = pcd_st_fail(rc, what, err, errlen);
        goto fail;
    }
    char datapath[4096];
    snprintf(datapath, sizeof datapath, "%s/data.mdb", cfg->path);
    if (chmod(datapath, 0640) != 0)
        LOG_WARN("cache", "cache %s: cannot chmod data.mdb: %s", cfg->path, strerror(errno));
    /* The mode given to mdb_env_open passes through the umask (022 by
     * default turns 0660 into 0640), and group readers could then not
     * take a reader slot: set it outright. */
    snprintf(datapath, sizeof datapath, "%s/lock.mdb", cfg->path);
    if (chmod(datapath, 0660) != 0)
        LOG_WARN("cache", "cache %s: cannot chmod lock.mdb: %s", cfg->path, strerror(errno));

    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    if (info.me_mapsize > st->map_size)
        st->map_size = info.me_mapsize; /* an earlier run grew it */
    /* LMDB checked lock.mdb's header words at open (or wrote them): the
     * watcher holds the file to the format word seen now. */
    uint32_t magic;
    st->lock_hdr_fd = open(datapath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (st->lock_hdr_fd < 0 ||
        pc_lock_read_header(st->lock_hdr_fd, &magic, &st->lock_format) != PC_OK)
        st->lock_format = 0;
    int dead = 0;
    rc = pcd_st_reader_check(st, &dead);
    if (rc == PCD_ST_LOCK_BAD) {
        pcd_store_lock_state(st, err, errlen);
        rc = PC_EFORMAT;
        goto fail;
    }
    if (dead)
        LOG_INFO("cache", "cache %s: cleared %d reader slots of dead processes", cfg->path, dead);

    if (!(st->sync = pcd_syncer_start(st->env, &st->map_lock, cfg->path, err, errlen))) {
        rc = PC_ENOMEM;
        goto fail;
    }
    rc = init_format(st, err, errlen);
    if (rc != PC_OK)
        goto fail;
    pcd_syncer_kick(st->sync);
    /* Readers count their lookups there; without it they just do not. */
    char serr[512];
    if (pcd_statsdir_open(cfg->path, &st->stats, serr, sizeof serr) != PC_OK)
        LOG_WARN("cache", "%s; lookup statistics are off", serr);
    *out = st;
    return PC_OK;
fail:
    pcd_store_close(st);
    return rc;
}

void pcd_store_close(pcd_store *st)
{
    if (!st)
        return;
    pcd_syncer_stop(st->sync); /* every commit on disk, then the marker goes */
    if (st->env)
        mdb_env_close(st->env);
    if (st->lock_hdr_fd >= 0) /* after mdb_env_close: see lock_hdr_fd */
        close(st->lock_hdr_fd);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    pcd_statsdir_close(st->stats);
    pcd_st_memo_free(st);
    pthread_mutex_destroy(&st->memo_mu);
    pthread_mutex_destroy(&st->disk_mu);
    pthread_mutex_destroy(&st->lock_mu);
    pthread_rwlock_destroy(&st->map_lock);
    pthread_mutex_destroy(&st->mu);
    free(st->path);
    free(st);
}

/* Double the map (bounded by map_max).  Caller holds st->mu and has no
 * transaction open. */
static int grow_map(pcd_store *st, char *err, size_t errlen)
{
    if (st->map_size >= st->map_max) {
        snprintf(err, errlen, "cache %s: map full at %llu MiB and [cache] map_max_mb reached; "
                 "raise map_max_mb", st->path, (unsigned long long)(st->map_size >> 20));
        return PC_EMAPFULL;
    }
    uint64_t next = st->map_size * 2;
    if (next > st->map_max)
        next = st->map_max;
    pthread_rwlock_wrlock(&st->map_lock);
    int rc = mdb_env_set_mapsize(st->env, next);
    pthread_rwlock_unlock(&st->map_lock);
    if (rc)
        return pcd_st_fail(rc, "cache: cannot grow the map", err, errlen);
    LOG_INFO("cache", "cache %s: map grown from %llu to %llu MiB", st->path,
             (unsigned long long)(st->map_size >> 20), (unsigned long long)(next >> 20));
    st->map_size = next;
    return PC_OK;
}

int pcd_st_is_disk_full(int rc, uint64_t free_bytes, uint64_t psize)
{
    if (pc_err_from_mdb(rc) == PC_EDISKFULL) /* ENOSPC, EDQUOT: the one mapping */
        return 1;
    return rc == EIO && free_bytes < 64 * (psize ? psize : 4096);
}

int pcd_store_disk_free(pcd_store *st, uint64_t *out)
{
    struct statvfs fs;
    if (statvfs(st->path, &fs) != 0)
        return PC_EIO;
    uint64_t blocks = geteuid() == 0 ? (uint64_t)fs.f_bfree : (uint64_t)fs.f_bavail;
    *out = blocks * (uint64_t)(fs.f_frsize ? fs.f_frsize : fs.f_bsize);
    return PC_OK;
}

/* A write failed with `rc` (ENOSPC, EDQUOT or EIO): if the filesystem ran
 * out of space, say so in err ("disk full: No space left on device (what;
 * N KiB free under PATH)"), open or continue the episode and return
 * PC_EDISKFULL; else PC_OK (another failure: the caller reports it). */
static int disk_check(pcd_store *st, int rc, const char *what, char *err, size_t errlen)
{
    uint64_t fr = UINT64_MAX;
    pcd_store_disk_free(st, &fr);
    MDB_stat ms;
    pthread_rwlock_rdlock(&st->map_lock);
    if (mdb_env_stat(st->env, &ms) != 0)
        ms.ms_psize = 4096;
    pthread_rwlock_unlock(&st->map_lock);
    if (!pcd_st_is_disk_full(rc, fr, ms.ms_psize))
        return PC_OK;
    /* The cause first: the chain's record keeps the head of the text. */
    snprintf(err, errlen, "disk full: %s (%s; %llu KiB free under %s%s)",
             strerror(rc == EDQUOT ? EDQUOT : ENOSPC), what,
             fr == UINT64_MAX ? 0ULL : (unsigned long long)(fr >> 10), st->path,
             rc == EIO ? "; LMDB made a short write of it an I/O error" : "");
    pthread_mutex_lock(&st->disk_mu);
    int first = atomic_exchange(&st->disk_full, 1) == 0;
    if (first)
        st->disk_since_ms = pc_now_ms();
    st->disk_free_at_fail = fr == UINT64_MAX ? 0 : fr;
    st->disk_fail_mono = pc_mono_ms();
    snprintf(st->disk_err, sizeof st->disk_err, "%s", err);
    pthread_mutex_unlock(&st->disk_mu);
    if (first)
        LOG_ERR("cache", "%s; publishes fail until space is freed there, the last snapshots are "
                "served (the transaction was aborted, nothing of it is visible)", err);
    return PC_EDISKFULL;
}

/* Run `attempt` (one whole transaction) under the store lock; when the map
 * fills, grow it and run the attempt again.  Nothing of a failed attempt
 * is visible: LMDB aborted it. */
int pcd_st_run_growing(pcd_store *st, int (*attempt)(pcd_store *st, void *arg), void *arg,
                       const char *what, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->mu);
    atomic_store(&st->busy_since_ms, pc_mono_ms());
    int rc, grc = PC_OK;
    while ((rc = attempt(st, arg)) == MDB_MAP_FULL && (grc = grow_map(st, err, errlen)) == PC_OK)
        ;
    if (rc == 0)
        pcd_syncer_kick(st->sync);
    if (rc == MDB_SUCCESS)
        st->lock_synced = 1; /* LMDB wrote lock.mdb's id with the commit (store_lock.c) */
    atomic_store(&st->busy_since_ms, 0);
    pthread_mutex_unlock(&st->mu);
    if (rc == MDB_MAP_FULL && grc == PC_EMAPFULL) {
        /* Full at map_max: a reader holding an old snapshot keeps the
         * freed pages from being reused (or the data outgrew the limit).
         * Said once per episode; a commit ends it. */
        if (atomic_exchange(&st->map_full, 1) == 0)
            LOG_ERR("cache", "%s; publishes fail until space is freed (a reader holding an old "
                    "snapshot: see pricecache readers), the last snapshots are served", err);
    }
    if (rc == MDB_MAP_FULL)
        return grc;
    if (rc == PCD_ST_LOCK_BAD) {
        /* Nothing was written: the last snapshots stay and are served. */
        char why[256];
        pcd_store_lock_state(st, why, sizeof why);
        snprintf(err, errlen, "%s: refused, %s", what, why);
        return PC_EFORMAT;
    }
    if (rc == PCD_ST_CHANGED) {
        snprintf(err, errlen, "%s: the chain changed while its rows were read, which were "
                 "the cache's before; nothing was written, the next load compares every row",
                 what);
        return PC_ECHANGED;
    }
    if (rc == MDB_NOTFOUND) {
        /* An answer, not a failure (e.g. metadata of a chain not cached);
         * err still says it, so that no caller prints an unset buffer. */
        snprintf(err, errlen, "%s: not found", what);
        return PC_NOTFOUND;
    }
    if ((pc_err_from_mdb(rc) == PC_EDISKFULL || rc == EIO) &&
        disk_check(st, rc, what, err, errlen) == PC_EDISKFULL)
        return PC_EDISKFULL;
    return rc ? pcd_st_fail(rc, what, err, errlen) : PC_OK;
}

void pcd_st_published(pcd_store *st)
{
    if (atomic_exchange(&st->map_full, 0) == 1)
        LOG_INFO("cache", "cache %s: map no longer full, publishes commit again", st->path);
    if (atomic_load(&st->disk_full))
        pcd_store_disk_back(st, 0, 1);
}

int pcd_store_disk_full(pcd_store *st)
{
    return atomic_load(&st->disk_full);
}

void pcd_store_disk_state(pcd_store *st, pcd_store_disk *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&st->disk_mu);
    out->full = atomic_load(&st->disk_full);
    if (out->full) {
        out->since_ms = st->disk_since_ms;
        out->free_at_fail = st->disk_free_at_fail;
        out->fail_mono_ms = st->disk_fail_mono;
        memcpy(out->error, st->disk_err, sizeof out->error);
    }
    pthread_mutex_unlock(&st->disk_mu);
}

void pcd_store_disk_back(pcd_store *st, uint64_t free_now, int end)
{
    pthread_mutex_lock(&st->disk_mu);
    int was = atomic_load(&st->disk_full);
    int64_t since = st->disk_since_ms;
    if (end) {
        atomic_store(&st->disk_full, 0);
        st->disk_err[0] = 0;
    } else {
        st->disk_free_at_fail = free_now;
    }
    pthread_mutex_unlock(&st->disk_mu);
    if (was && end)
        LOG_INFO("cache", "cache %s: disk no longer full after %.1f s, publishes commit again",
                 st->path, (double)(pc_now_ms() - since) / 1000.0);
}

int pcd_st_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

struct txn_arg {
    int (*fn)(pcd_store *, MDB_txn *, void *);
    void *arg;
};

static int txn_attempt(pcd_store *st, void *arg)
{
    struct txn_arg *a = arg;
    MDB_txn *txn;
    int rc = pcd_st_begin_write(st, &txn);
    if (rc)
        return rc;
    st->staged = 0;
    rc = a->fn(st, txn, a->arg);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    if (!rc)
        pcd_st_memo_apply(st);
    return rc;
}

/* Run `fn` in a write transaction of its own. */
int pcd_st_write_txn(pcd_store *st, int (*fn)(pcd_store *, MDB_txn *, void *), void *arg,
                     char *err, size_t errlen)
{
    struct txn_arg a = { fn, arg };
    return pcd_st_run_growing(st, txn_attempt, &a, "cache: write failed", err, errlen);
}

/* write_txn for callers that take only the code: the cause goes to the
 * log, naming what was being written, instead of being dropped. */
int pcd_st_write_logged(pcd_store *st, int (*fn)(pcd_store *, MDB_txn *, void *), void *arg,
                        const char *what)
{
    char err[512];
    int rc = pcd_st_write_txn(st, fn, arg, err, sizeof err);
    if (rc != PC_OK && rc != PC_NOTFOUND) /* not found: nothing to write to, the caller's answer */
        LOG_ERR("cache", "%s: %s", what, err);
    return rc;
}

int pcd_store_lookups(pcd_store *st, pc_stats *out, uint64_t *rejected)
{
    if (!st->stats)
        return PC_ENOTREADY;
    return pcd_statsdir_collect(st->stats, out, rejected);
}

int pcd_store_usage(pcd_store *st, uint64_t *used, uint64_t *size, int *readers)
{
    MDB_envinfo info;
    MDB_stat ms;
    /* The map lock, not `mu`: only a resize must be kept out, and a
     * writer stuck on LMDB's lock must not hold /metrics up. */
    pthread_rwlock_rdlock(&st->map_lock);
    int rc = mdb_env_info(st->env, &info);
    if (!rc)
        rc = mdb_env_stat(st->env, &ms);
    pthread_rwlock_unlock(&st->map_lock);
    if (rc)
        return pc_err_from_mdb(rc);
    if (used)
        *used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
    if (size)
        *size = info.me_mapsize;
    if (readers) /* lock.mdb's count, held to the table (a corrupt one is no figure) */
        *readers = (int)(info.me_numreaders <= info.me_maxreaders ? info.me_numreaders
                                                                  : info.me_maxreaders);
    return PC_OK;
}
