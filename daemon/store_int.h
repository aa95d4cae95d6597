/* store_int.h - what the store's files share and nothing else includes: the handle, the transaction runners, the audit append. */
#ifndef PCD_STORE_INT_H
#define PCD_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pc_format.h"
#include "store.h"

struct pcd_store {
    MDB_env        *env;
    MDB_dbi         dbi;
    int             lock_fd;
    uint64_t        map_size;     /* bytes */
    uint64_t        map_max;      /* bytes */
    char           *path;
    struct pcd_statsdir *stats;   /* the readers' statistics; NULL: off */
    struct pcd_syncer *sync;      /* syncs right behind each commit (durable.c) */
    /* Every transaction of the daemon runs under this lock: LMDB allows one
     * writer anyway, and mdb_env_set_mapsize (map growth) is only legal
     * while no transaction is active in the process. */
    pthread_mutex_t mu;
    /* Taken for writing around mdb_env_set_mapsize (which unmaps), for
     * reading by the sampler (store_env.c): its short read transaction and
     * mdb_env_info run outside `mu`, so they never wait for a publish. */
    pthread_rwlock_t map_lock;
    /* Monotonic ms since the thread holding `mu` for a write took it (0:
     * none): a writer stuck on LMDB's writer mutex shows here. */
    atomic_llong    busy_since_ms;
    /* 1 since a write failed for want of map space at map_max, until a
     * write commits again. */
    atomic_int      map_full;
    /* 1 since a write failed for want of space on the filesystem under the
     * cache (ENOSPC, EDQUOT, or LMDB's EIO for a short write while nearly
     * nothing is free), until a publish commits again or the watcher sees
     * the space back with nothing waiting (pcd_store_disk_clear).  The
     * cause and the bytes free then are kept under disk_mu: the view reads
     * them without the store lock. */
    atomic_int      disk_full;
    pthread_mutex_t disk_mu;
    char            disk_err[PC_ERROR_TEXT_MAX];
    uint64_t        disk_free_at_fail;
    int64_t         disk_since_ms; /* unix ms of the first failure of the episode */
    int64_t         disk_fail_mono; /* monotonic ms of the last failure */
    /* The meta records as last committed, so that reading one never waits
     * for a publish holding `mu` (control status and /metrics read every
     * chain's).  Written under `mu` right after each commit, so it follows
     * commit order; read under memo_mu alone. */
    pthread_mutex_t memo_mu;
    struct pcd_memo *memo;
    size_t          nmemo, capmemo;
    /* A memo change staged inside a write transaction of pcd_st_write_txn,
     * applied only once it commits (0 none, 1 put, 2 drop). */
    int             staged;
    char            staged_chain[PC_CHAIN_MAX + 1];
    pc_meta_rec     staged_meta;
    /* lock.mdb as the checks last judged it (store_lock.c): a bit per
     * source (PCD_LOCK_*) that found it corrupt, and the last sentence;
     * lock_corrupt mirrors lock_bad != 0 for readers that take no lock. */
    pthread_mutex_t lock_mu;
    int             lock_bad;
    char            lock_why[256];
    int64_t         lock_said_ms; /* when the log last said it (monotonic) */
    int             lock_synced;  /* 1: a write found lock.mdb's id equal to data.mdb's
                                     (under `mu`); until then (0, 2 once logged) one
                                     behind is the previous daemon's death mid-commit */
    atomic_int      lock_corrupt;
    uint32_t        lock_format;  /* lock.mdb's format word as LMDB accepted it at open */
    int             lock_hdr_fd;  /* lock.mdb, for its header words; closed only after
                                     mdb_env_close (closing it drops LMDB's fcntl locks) */
};

/* Not an LMDB code: lock.mdb failed a check (store_lock.c); the runners
 * answer PC_EFORMAT with its sentence. */
#define PCD_ST_LOCK_BAD (-30700)
/* A publish of rows found unchanged (snapshot.h same_as) found the chain
 * changed since: nothing written (PC_ECHANGED). */
#define PCD_ST_CHANGED (-30701)
enum { PCD_LOCK_WRITE = 0, PCD_LOCK_WATCH = 1 };

/* Begin a read or write transaction, checking lock.mdb first (and, for a
 * write, the id LMDB took from it).  An LMDB code or PCD_ST_LOCK_BAD.  The
 * caller keeps a resize out (st->mu, or map_lock for reading). */
int  pcd_st_begin_read(pcd_store *st, MDB_txn **txn);
int  pcd_st_begin_write(pcd_store *st, MDB_txn **txn);
/* mdb_reader_check, after the reader count is checked. */
int  pcd_st_reader_check(pcd_store *st, int *dead);
/* The watcher's check (under map_lock): reader count of `info`, header
 * words, the transaction id.  PC_OK, PC_EFORMAT, PC_EIO. */
int  pcd_st_lock_watch(pcd_store *st, const MDB_envinfo *info);
/* Record a source's judgement: `why` the sentence, NULL for sound. */
void pcd_st_lock_judge(pcd_store *st, int source, const char *why);

/* An LMDB failure as a PC_* code, with "what: LMDB's reason" in err
 * (err may be NULL). */
int  pcd_st_fail(int rc, const char *what, char *err, size_t errlen);

/* Run `attempt` (one whole transaction, returning an LMDB code) under the
 * store lock; when the map fills, grow it and run the attempt again.
 * MDB_NOTFOUND becomes PC_NOTFOUND with "what: not found" in err. */
int  pcd_st_run_growing(pcd_store *st, int (*attempt)(pcd_store *st, void *arg), void *arg,
                        const char *what, char *err, size_t errlen);

/* A publish (full or delta) committed: the map is not full any more, nor
 * the disk (a small metadata write that fits says nothing about the next
 * publish). */
void pcd_st_published(pcd_store *st);

/* Whether a write that failed with LMDB code `rc` ran out of disk space,
 * `free_bytes` being what the filesystem has free now and `psize` LMDB's
 * page size: ENOSPC and EDQUOT say so; EIO is what LMDB makes of a short
 * write (mdb_page_flush: "short write, filesystem full?"), taken as disk
 * full when less than one of its write batches (MDB_COMMIT_PAGES, 64
 * pages) is free.  Pure. */
int  pcd_st_is_disk_full(int rc, uint64_t free_bytes, uint64_t psize);

/* Run `fn` in a write transaction of its own (pcd_st_run_growing). */
int  pcd_st_write_txn(pcd_store *st, int (*fn)(pcd_store *, MDB_txn *, void *), void *arg,
                      char *err, size_t errlen);
/* pcd_st_write_txn for callers that take only the code: the cause goes to
 * the log, naming `what`; PC_NOTFOUND is an answer and is not logged. */
int  pcd_st_write_logged(pcd_store *st, int (*fn)(pcd_store *, MDB_txn *, void *), void *arg,
                         const char *what);

/* The meta memo (store_records.c).  put: `chain`'s record is now `m`;
 * drop: the chain has none.  Caller holds st->mu, after the commit. */
void pcd_st_memo_put(pcd_store *st, const char *chain, const pc_meta_rec *m);
void pcd_st_memo_drop(pcd_store *st, const char *chain);
/* The digest of `chain`'s rows as of e->version (the memo's entry must
 * exist: set after pcd_st_memo_put); _expect: it, when it is the memo's
 * version (1), else zeroes and 0. */
void pcd_st_memo_digest(pcd_store *st, const char *chain, const pcd_expect *e);
int  pcd_st_memo_expect(pcd_store *st, const char *chain, pcd_expect *e);
/* Inside a pcd_st_write_txn function: what to memo once the transaction
 * commits (m NULL: drop). */
void pcd_st_memo_stage(pcd_store *st, const char *chain, const pc_meta_rec *m);
/* Apply the staged change (pcd_st_write_txn's runner, after a commit). */
void pcd_st_memo_apply(pcd_store *st);
void pcd_st_memo_free(pcd_store *st);

/* memcmp order of two keys, the shorter first on a tie. */
int  pcd_st_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

static inline int pcd_st_has_prefix(const MDB_val *k, const uint8_t *p, size_t plen)
{
    return k->mv_size >= plen && memcmp(k->mv_data, p, plen) == 0;
}


/* What an append wrote: logged once committed, so that the journal holds
 * every record's hash outside the cache (a truncated or rewritten log then
 * disagrees with it). */
typedef struct pcd_audit_mark {
    uint64_t seq;
    uint8_t  hash[PC_AUDIT_HASH];
} pcd_audit_mark;

/* Append an audit record in `txn`, chained to the last one; `version`, when
 * not 0, is appended to the text.  An LMDB code; MDB_CORRUPTED when the
 * last record cannot be read. */
int  pcd_st_audit_append(pcd_store *st, MDB_txn *txn, const char *text, uint64_t version,
                         pcd_audit_mark *mark);
/* After the commit: journal the record's hash, hand its number to *seq
 * (may be NULL). */
void pcd_st_audit_done(const pcd_audit_mark *m, uint64_t *seq);

#endif
