/* store.h - the daemon's write side of the LMDB environment: create, publish snapshots, metadata. */
#ifndef PCD_STORE_H
#define PCD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pc_format.h"
#include "snapshot.h"

typedef struct pcd_store pcd_store;

/* Create or open the environment at cfg->path (directory created 0750),
 * with cfg->max_readers slots and cfg->map_size_mb; write or check the
 * format record; take an exclusive lock (<path>/daemon.lock) so that only
 * one writer runs.  PC_OK, PC_EFORMAT (environment of another format),
 * PC_EIO (with the cause in err, e.g. "another pricecached holds ..."). */
int  pcd_store_open(const pcd_config *cfg, pcd_store **out, char *err, size_t errlen);
void pcd_store_close(pcd_store *st);

typedef struct pcd_publish_stats {
    uint64_t put;        /* keys written (new or changed) */
    uint64_t deleted;    /* keys removed */
    uint64_t unchanged;  /* keys left as they were */
    uint64_t version;    /* the chain's new version */
    uint64_t pages_written; /* LMDB pages the commit wrote (approx., from mdb_env_info) */
    uint64_t us_diff;    /* merging the snapshot into the chain's keys */
    uint64_t us_commit;  /* mdb_txn_commit */
    int      tab_how;    /* what became of the lookup table (store_table.h PCD_TAB_*) */
    uint64_t tab_segs;   /* its segments written */
    uint64_t us_table;   /* writing them */
    int      same;       /* 1: the rows digested as the cache's; none compared */
    uint64_t scan_skipped; /* records the second half's scan found unchanged */
} pcd_publish_stats;

/* Publish `snap` as the chain's new version in one write transaction:
 * only keys that changed are written, keys gone from the source are
 * deleted, and the meta record (`meta` with version, loaded_at, row counts,
 * avg and rejects filled in here) is written in the same transaction.
 * On MDB_MAP_FULL the map grows (up to cfg->map_max_mb) and the publish is
 * retried; nothing is visible until the commit.  PC_OK or an error with err. */
int  pcd_store_publish(pcd_store *st, const pcd_snapshot *snap, pc_meta_rec *meta,
                       pcd_publish_stats *stats, char *err, size_t errlen);

/* pcd_store_publish, with the audit record `audit` (text; NULL for none)
 * appended to the audit log in the publish transaction itself, its text
 * followed by " version=N" of the new version: an accepted load and its
 * record are committed together or not at all. */
int  pcd_store_publish_audited(pcd_store *st, const pcd_snapshot *snap, pc_meta_rec *meta,
                               pcd_publish_stats *stats, const char *audit, char *err,
                               size_t errlen);

/* Apply a delta in one write transaction: each of the `nkeys` keys takes
 * its row from `found` (sorted, as pcd_pg_fetch_delta makes it) or, when
 * absent there, is deleted.  Row counts, mean and version are updated from
 * what really changed; when nothing changed nothing is committed and
 * stats->version is 0.  PC_NOTFOUND when the chain is not cached (a full
 * load is needed). */
struct pcd_delta_key;
int  pcd_store_apply_delta(pcd_store *st, const char *chain, const pcd_snapshot *found,
                           const struct pcd_delta_key *keys, size_t nkeys, pc_meta_rec *meta,
                           pcd_publish_stats *stats, char *err, size_t errlen);

/* Before a load: what the cache holds of the chain, into snap->expect,
 * when this process knows it (the digest of the rows it last published,
 * carried through its deltas); else snap->expect.version stays 0.  A load
 * whose rows digest the same is published without a sort or a diff
 * (pcd_snapshot_finish, pcd_store_publish). */
void pcd_store_expect(pcd_store *st, pcd_snapshot *snap);

/* Metadata of a chain (PC_NOTFOUND when the chain is not cached). */
int  pcd_store_get_meta(pcd_store *st, const char *chain, pc_meta_rec *out);
/* Write a chain's metadata alone (failures, breaker state), without
 * touching its version or data.  The chain must exist. */
int  pcd_store_put_meta(pcd_store *st, const char *chain, const pc_meta_rec *m);
/* pcd_store_put_meta with an audit record in the same transaction (the
 * operator's breaker reset); *seq (may be NULL) gets its number. */
int  pcd_store_put_meta_audited(pcd_store *st, const char *chain, const pc_meta_rec *m,
                                const char *audit, uint64_t *seq);
/* An audit record alone, for an action with no effect in the cache of its
 * own (a reload request). */
int  pcd_store_audit(pcd_store *st, const char *text, uint64_t *seq);
/* The newest of the last `depth` audit records whose text holds both
 * `a` and `b` (e.g. " uid=0 ", " req=ID "): PC_OK with its number in
 * *seq, PC_NOTFOUND, or an error. */
int  pcd_store_audit_find(pcd_store *st, const char *a, const char *b, unsigned depth,
                          uint64_t *seq);
/* Announce the bus addresses ("" for off) for tools (pc_bus_addrs). */
int  pcd_store_put_endpoints(pcd_store *st, const char *events, const char *control);
/* Remove a chain and all its keys in one transaction. */
int  pcd_store_remove_chain(pcd_store *st, const char *chain, char *err, size_t errlen);
/* Slugs of every cached chain (malloc'ed array of malloc'ed strings). */
int  pcd_store_list_chains(pcd_store *st, char ***out, size_t *n);
int  pcd_store_get_daemon(pcd_store *st, pc_daemon_rec *out);
int  pcd_store_put_daemon(pcd_store *st, const pc_daemon_rec *rec);
/* The sources the daemon reads from, for pc_source_read (the primary
 * first; at most PC_SOURCES_MAX, more are cut). */
int  pcd_store_put_sources(pcd_store *st, const pc_source_rec *recs, size_t n);
/* The environment's figures, sampled without waiting for a write (the
 * map lock only: a resize is short and never waits on LMDB). */
typedef struct pcd_store_sample {
    uint64_t  map_size, map_used;    /* bytes */
    uint64_t  pages_used, pages_free; /* up to the last page; on the free list */
    uint64_t  data_bytes;            /* data.mdb on disk */
    uint64_t  last_txnid;            /* the newest commit */
    int       readers, readers_max;  /* slots ever used (LMDB's count), table size */
    int       map_full;              /* writes fail at map_max */
    int       disk_full;             /* writes fail for want of disk space */
    uint64_t  disk_free;             /* bytes free on the cache's filesystem (pcd_store_disk_free) */
    int64_t   disk_at_ms;            /* monotonic ms just before it was asked */
    pc_rslot *slots;                 /* used slots (malloc'ed) */
    size_t    nslots;
} pcd_store_sample_t;
/* PC_OK (free with pcd_store_sample_free), PC_ENOMEM, PC_EIO...;
 * PC_EFORMAT when lock.mdb's reader count lies beyond the table (no slots
 * listed; pcd_store_lock_state says why). */
int  pcd_store_sample(pcd_store *st, pcd_store_sample_t *out);
void pcd_store_sample_free(pcd_store_sample_t *s);
/* Clear the reader slots of dead processes (mdb_reader_check): a reader
 * killed with -9 leaves its slot, and its snapshot pinned, until someone
 * does.  *n gets how many were cleared.  PC_OK or PC_EIO. */
int  pcd_store_clear_dead(pcd_store *st, int *n);
/* How long the write in progress has held the store, ms (0: idle).  No
 * lock: callable while a writer is stuck. */
int64_t pcd_store_busy_ms(pcd_store *st);
/* 1 while writes fail for want of map space (PC_EMAPFULL). */
int  pcd_store_map_full(pcd_store *st);
/* 1 while lock.mdb is judged corrupt (a reader count beyond the table, a
 * transaction id data.mdb contradicts, a bad header): publishes are
 * refused meanwhile; `why` (may be NULL) gets the sentence. */
int  pcd_store_lock_state(pcd_store *st, char *why, size_t len);

/* The filesystem under the cache: a write that fails for want of space
 * (PC_EDISKFULL, "disk full: No space left on device (...)") starts an
 * episode that a publish committing again ends.  LMDB aborted the
 * transaction: the last snapshots stay and are served. */
typedef struct pcd_store_disk {
    int      full;           /* 1 during an episode */
    int64_t  since_ms;       /* unix ms of its first failure */
    uint64_t free_at_fail;   /* bytes free after the last failed write */
    int64_t  fail_mono_ms;   /* monotonic ms of that failure (a sample of the
                                space taken before it says nothing) */
    char     error[PC_ERROR_TEXT_MAX]; /* the last failure, "disk full: ..." */
} pcd_store_disk;
/* 1 while writes fail for want of disk space (no lock: an atomic). */
int  pcd_store_disk_full(pcd_store *st);
/* The episode as it stands (zeroes when none).  Never waits for a write. */
void pcd_store_disk_state(pcd_store *st, pcd_store_disk *out);
/* Bytes this process may still write on the cache's filesystem (statvfs:
 * f_bavail, f_bfree for root, who may use the reserve).  PC_OK or PC_EIO. */
int  pcd_store_disk_free(pcd_store *st, uint64_t *out);
/* Space came back (`free_now` bytes free): the next failure is measured
 * against it.  `end` 1: nothing waits to be published, the episode ends
 * here (a publish that commits ends it otherwise). */
void pcd_store_disk_back(pcd_store *st, uint64_t free_now, int end);

/* Map bytes in use and map size. */
int  pcd_store_usage(pcd_store *st, uint64_t *used, uint64_t *size, int *readers);
/* The readers' lookup statistics (statsdir.h: validated, folded, never
 * going backwards) and the statistics files rejected since start. */
int  pcd_store_lookups(pcd_store *st, pc_stats *out, uint64_t *rejected);

#endif
