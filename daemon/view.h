/* view.h - one view of the daemon's state: the snapshot that /metrics, /readyz, control status, systemd's STATUS= line and the daemon record all read, and the one place that judges it. */
#ifndef PCD_VIEW_H
#define PCD_VIEW_H

/* Owns: the pcd_view struct, its counters, and the judgements made of it
 * (starting / ready / degraded, fresh enough for /readyz, the systemd
 * status text).  May call: pc_format.h, and sources.h for the type of a
 * source's row only.  The engine fills a view
 * (engine.c: pcd_engine_view); its readers never reach into the engine.
 * Pure functions: no lock, no I/O. */

#include <stddef.h>
#include <stdint.h>

#include "pc_format.h"
#include "sources.h"

/* Load duration histogram bounds, seconds. */
#define PCD_DURATION_BUCKETS(X) \
    X(0.01) X(0.05) X(0.1) X(0.25) X(0.5) X(1) X(2.5) X(5) X(10) X(30) X(60)
enum {
#define PCD_X_COUNT(b) +1
    PCD_NBUCKETS = 0 PCD_DURATION_BUCKETS(PCD_X_COUNT)
#undef PCD_X_COUNT
};

/* Why the cache was told to change: label of invalidations_total. */
#define PCD_INVALIDATIONS(X)                     \
    X(PCD_INV_KEYS,   "keys")    /* a NOTIFY naming changed keys */ \
    X(PCD_INV_CHAIN,  "chain")   /* a NOTIFY for a whole chain */   \
    X(PCD_INV_RESYNC, "resync")  /* after a LISTEN reconnect */     \
    X(PCD_INV_SIGNAL, "signal")  /* SIGUSR1 */                      \
    X(PCD_INV_REFRESH, "refresh") /* the periodic refresh */
enum {
#define PCD_X_ENUM(id, name) id,
    PCD_INVALIDATIONS(PCD_X_ENUM)
#undef PCD_X_ENUM
    PCD_INV__COUNT
};

/* Where a chain is in the run queue. */
enum { PCD_CHAIN_IDLE, PCD_CHAIN_QUEUED, PCD_CHAIN_RUNNING };

/* Counters the engine keeps since start (under its lock). */
typedef struct pcd_view_counters {
    uint64_t invalidations[PCD_INV__COUNT];
    uint64_t duration_buckets[PCD_NBUCKETS]; /* cumulative counts per bound */
    uint64_t duration_count;
    double   duration_sum;
} pcd_view_counters;

/* One active chain. */
typedef struct pcd_view_chain {
    char        slug[PC_CHAIN_MAX + 1];
    int         load;                     /* PCD_CHAIN_* */
    int         accept;                   /* an operator's accept is pending */
    int         breaker;                  /* PC_BREAKER_* in memory */
    int         warm;                     /* loaded once, or failed, since start */
    int         last_ok;                  /* the last attempt did not fail */
    uint64_t    loads[PC_LOAD__COUNT];    /* by result, since start */
    uint64_t    rejected[PC_REJ__COUNT];  /* rows, since start */
    int         cached;                   /* a snapshot is on disk: meta is its record */
    pc_meta_rec meta;                     /* zero when not cached */
} pcd_view_chain;

/* The environment as the watcher last sampled it (watch.c), and the
 * engine's progress: read without waiting for the store. */
typedef struct pcd_view_env {
    int64_t  sampled_ms;     /* monotonic time of the sample; 0: none yet */
    int      readers_max;    /* LMDB reader table size */
    uint64_t pages_used, pages_free;
    uint64_t data_bytes;     /* data.mdb on disk */
    int      map_full;       /* publishes fail for want of map space */
    int      disk_full;      /* publishes fail for want of disk space */
    uint64_t disk_free;      /* bytes free on the cache's filesystem */
    int64_t  disk_at_ms;     /* monotonic ms just before disk_free was asked */
    double   oldest_txn_s;   /* oldest read transaction behind the newest commit */
    uint32_t oldest_txn_pid; /* its pid; 0 none */
} pcd_view_env;

typedef struct pcd_view {
    /* The daemon: always filled. */
    int      started;     /* warm-up done */
    int      db_ok;       /* the last listing of active chains succeeded */
    size_t   nchains;     /* active chains */
    int      warm;        /* of them, loaded once or failed since start */
    int      unclosed;    /* of them, breaker not closed (open or half-open) */
    int      failing;     /* of them, last attempt failed or was refused */
    int      max_age_s;   /* [health] max_age_s */
    pc_daemon_rec drec;   /* the daemon record as last written */
    /* The database as the continuous check sees it now (not as last
     * written): PC_DB_*, since when (unix ms), why it is down. */
    int      db_state;
    int64_t  db_since_ms;
    char     db_error[PC_ERROR_TEXT_MAX];
    pcd_view_counters counters;
    /* With PCD_VIEW_CHAINS: nchains rows (malloc'ed; pcd_view_free). */
    pcd_view_chain *chains;
    /* With PCD_VIEW_ENV: the environment's figures. */
    int      readers;
    uint64_t map_used, map_size;
    pc_stats lookups;     /* the readers' shared statistics ... */
    int      have_lookups; /* ... when the area could be read */
    uint64_t stats_rejected; /* statistics files skipped as corrupt, since start */
    int64_t  now_ms;      /* wall clock when the view was taken */
    /* Always filled (no store lock): the watcher's sample and the engine's
     * progress. */
    pcd_view_env env;
    int      map_full;    /* publishes fail for want of map space */
    int      disk_full;   /* publishes fail for want of disk space (ENOSPC) */
    char     disk_error[PC_ERROR_TEXT_MAX]; /* its last failure, "disk full: ..." */
    int      lock_corrupt; /* lock.mdb failed a check: publishes are refused */
    char     lock_error[256]; /* which check, and the values */
    int64_t  store_busy_ms; /* how long the write in progress has held the store */
    int64_t  stall_ms;    /* since the engine (main loop, publisher) last made progress */
    int      stall_limit_s; /* [health] stall_s: beyond it the store counts as blocked */
    /* Always filled: the sources reads choose from, the primary first
     * (sources.h); nsources 1 without replicas. */
    pcd_source_view sources[PCD_SRC_MAX];
    size_t   nsources;
} pcd_view;

enum { PCD_VIEW_CHAINS = 1, PCD_VIEW_ENV = 2 };

void pcd_view_free(pcd_view *v);

/* THE judgement of the database: the continuous check's PC_DB_UP or
 * PC_DB_DOWN when it has checked; before that (or without a listener, as
 * in --once) PC_DB_DOWN when the last listing could not reach it, else
 * PC_DB_UNKNOWN.  What status, /metrics and /readyz say. */
int  pcd_view_db(const pcd_view *v);
/* 1 when a replica can serve reads now (pcd_source_view.up). */
int  pcd_view_replica_up(const pcd_view *v);
/* 1 when some source can serve reads: the database up (or not yet
 * judged), or a replica up.  /readyz stays ready while one can. */
int  pcd_view_can_read(const pcd_view *v);

/* Seconds a write has held the store (waiting for LMDB's writer mutex,
 * typically) when that reaches [health] stall_s; else 0.  /readyz, control
 * status and STATUS= then say "store blocked for N s", and the watchdog is
 * no longer fed. */
int  pcd_view_store_blocked_s(const pcd_view *v);

/* THE judgement of the daemon's state, for the daemon record, control
 * status and the console: PC_DAEMON_STARTING until warm-up is done, then
 * PC_DAEMON_DEGRADED while the database is down or any active chain's
 * breaker is not closed or its last attempt failed, the map or the disk is
 * full, the store blocked or lock.mdb corrupt, else PC_DAEMON_READY. */
int  pcd_view_state(const pcd_view *v);

/* /readyz: whether the data served is fresh (warm-up done, database
 * reachable, no breaker open, no snapshot older than max_age_s).  Needs
 * the rows.  0 when fresh; else 1 with the first reason in `why`. */
int  pcd_view_unready(const pcd_view *v, char *why, size_t len);

/* systemd's STATUS= text ("ready: 3 chains, 0 breakers open", ...). */
void pcd_view_status_line(const pcd_view *v, char *buf, size_t len);

/* "idle", "queued", "running". */
const char *pcd_view_load_name(int load);

/* Record a load's duration into the histogram. */
void pcd_view_observe(pcd_view_counters *c, double seconds);

#endif
