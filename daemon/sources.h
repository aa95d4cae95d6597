/* sources.h - where loads and deltas read from: the primary and its streaming replicas, their lag, health and breakers, and the choice per read. */
#ifndef PCD_SOURCES_H
#define PCD_SOURCES_H

/* Owns: the list of sources ([database] dsn = "primary", [database]
 * replicas = "replica1".."replicaN"), each replica's sampled lag and
 * state, its breaker, the reads each served, the primary's WAL position
 * (read by listen.c on the LISTEN connection) and the notices it must
 * cover (read-your-writes), and the choice of a source per read.  A
 * service: it never calls the engine.  With no replicas configured every
 * choice is the primary and nothing runs. */

#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "config.h"
#include "pc_format.h"
#include "pgreplica.h"

#define PCD_SRC_MAX (1 + PCD_REPLICAS_MAX)

/* What a read is for: the label `kind` of pricecache_source_reads_total. */
enum { PCD_READ_LOAD, PCD_READ_DELTA, PCD_READ__COUNT };
/* The listing of active chains: routed like a load, counted nowhere. */
#define PCD_READ_LIST PCD_READ__COUNT
const char *pcd_read_kind_name(int kind); /* "load", "delta", "listing" */

/* A source's state as sampled (the primary's is the LISTEN check's); the
 * values of pricecache.h's enum pc_source_state, which records them. */
enum {
    PCD_SRC_UNKNOWN = (int)PC_SOURCE_UNKNOWN,
    PCD_SRC_UP      = (int)PC_SOURCE_UP,
    PCD_SRC_LAGGING = (int)PC_SOURCE_LAGGING,
    PCD_SRC_DOWN    = (int)PC_SOURCE_DOWN
};
const char *pcd_src_state_name(int state); /* "unknown", "up", "lagging", "down" */

/* One source as status and /metrics show it. */
typedef struct pcd_source_view {
    char     name[16];        /* "primary", "replica1", ... */
    char     where[128];      /* host:port, never a password */
    int      state;           /* PCD_SRC_*; a replica whose breaker is open is down */
    int      breaker;         /* PC_BREAKER_* (replicas; the primary's is 0) */
    int      up;              /* pricecache_source_up: can serve now */
    int64_t  lag_bytes;       /* replicas: behind the primary; -1 unknown */
    double   lag_s;           /* replicas: replay time behind; -1 unknown */
    uint64_t reads[PCD_READ__COUNT]; /* reads it served, since start */
    char     why[160];        /* why it is down or lagging; "" when up */
} pcd_source_view;

/* The pure rule of the choice, for the unit tests and for
 * pcd_sources_choose.  cand[0] is the primary (ignored: the last resort);
 * cand[1..n-1] the replicas.  Returns the replica to read from — usable
 * (state up or lagging, breaker allowing), lag_s <= max_lag_s, not in
 * `exclude` (bit i for source i), the smallest lag counted in whole
 * seconds, the first listed among equals (so that two replicas a few
 * bytes apart do not take turns) — or 0 for the primary. */
typedef struct pcd_src_cand {
    int    state;     /* PCD_SRC_* */
    int    allowed;   /* its breaker lets a read through */
    double lag_s;     /* -1 unknown: not chosen */
} pcd_src_cand;
int pcd_sources_pick(const pcd_src_cand *cand, size_t n, int max_lag_s, unsigned exclude);

/* A replica's lag as the samples measure it. */
typedef struct pcd_lag {
    int64_t bytes;          /* primary position - replayed; -1 unknown */
    double  s;              /* seconds; -1 unknown */
    int64_t caught_up_ms;   /* monotonic: the last sample that had replayed
                               the reference; 0 never */
} pcd_lag;

/* The pure judgement of one sample (rc, and err when it failed) against
 * the primary's position (0: unknown, the replica's own received position
 * is the reference): PCD_SRC_DOWN (unreachable, not a standby, its WAL
 * receiver not streaming), PCD_SRC_LAGGING (lag beyond max_lag_s, or
 * behind with no replay time to tell by how long) or PCD_SRC_UP; `lag`
 * updated (kept as it was when down); why says it, "" when up. */
int pcd_sources_judge_sample(int rc, const pcd_replica_sample *sm, const char *err,
                             uint64_t primary_lsn, int max_lag_s, int64_t now_ms,
                             pcd_lag *lag, char *why, size_t whylen);

typedef struct pcd_sources pcd_sources;

/* A new set of sources from cfg (its replicas parsed again; they were
 * checked when the configuration was read).  PC_OK or PC_ENOMEM. */
int  pcd_sources_new(const pcd_config *cfg, pcd_sources **out);
/* SIGHUP: take cfg's replicas and settings.  A replica whose DSN is the
 * same keeps its state and counters; the list's generation changes when
 * any DSN did (connections made before are made again). */
int  pcd_sources_configure(pcd_sources *s, const pcd_config *cfg);
/* Start the sampler thread (a no-op without replicas; it starts on a
 * later configure that adds some).  It ends when stop_fd becomes readable.
 * PC_OK or PC_EIO. */
int  pcd_sources_start(pcd_sources *s, int stop_fd);
/* Join the sampler (after stop_fd became readable) and free. */
void pcd_sources_free(pcd_sources *s);

/* 1 when replicas are configured. */
int  pcd_sources_replicated(pcd_sources *s);
/* 1 when a read now would go to a replica (nothing changes: no breaker
 * probe is spent). */
int  pcd_sources_replica_serves(pcd_sources *s);

/* The source for one read of `kind`, not one of `exclude` (bit i: source
 * i failed this job already).  Returns its index (0 primary), a malloc'ed
 * copy of its DSN in *dsn (NULL on ENOMEM: read from the primary) and the
 * list's generation in *gen.  Waits, the first time, up to the first
 * sample of every replica (at most connect_timeout_s). */
int  pcd_sources_choose(pcd_sources *s, int kind, unsigned exclude, char **dsn, unsigned *gen);
/* A read of `kind` from source `idx` ended: ok counts it as served (and
 * logs "KIND: reading from NAME" when the source serving KIND changed);
 * a failure of a replica counts in its breaker and marks it down until
 * its next sample.  `gen` as choose gave it (a stale one is ignored). */
void pcd_sources_done(pcd_sources *s, int idx, unsigned gen, int kind, int ok, const char *err);
/* A read of `kind` goes to the primary instead of replica `idx` because
 * of `why` (read-your-writes ran out of time): logged once per change. */
void pcd_sources_fallback(pcd_sources *s, int idx, int kind, const char *why);
/* Name of source idx ("primary", "replica2"). */
void pcd_sources_name(int idx, char *buf, size_t len);

/* ---- the primary's WAL position, from the LISTEN connection (listen.c) ---- */

/* A notification arrived (or every chain is resynchronised): reads that
 * start from now on must see at least the primary's position read after
 * it.  Returns the new count. */
uint64_t pcd_sources_noticed(pcd_sources *s);
/* Notifications counted so far. */
uint64_t pcd_sources_notice_seq(pcd_sources *s);
/* Whether the listener should read the primary's position now: a
 * notification came since the last reading was sent, or lag_sample_ms
 * passed.  Else *wait_ms (when not NULL) is how long until it is due.
 * Always 0 without replicas. */
int  pcd_sources_lsn_due(pcd_sources *s, int64_t now_ms, int *wait_ms);
/* The reading was sent at now_ms; returns the notice count it covers. */
uint64_t pcd_sources_lsn_sent(pcd_sources *s, int64_t now_ms);
/* Its answer: pg_current_wal_lsn() on the primary, covering `seq`. */
void pcd_sources_primary_lsn(pcd_sources *s, uint64_t lsn, uint64_t seq);
/* Wait until a position covering notice count `seq` is known, until
 * deadline_ms (monotonic).  PC_OK with it in *lsn, or PC_ETIMEDOUT. */
int  pcd_sources_lsn_wait(pcd_sources *s, uint64_t seq, int64_t deadline_ms, uint64_t *lsn);
/* Read-your-writes for a read on replica `idx` over connection c: wait
 * until it has replayed the primary's position noticed at `seq`, up to
 * wait_ms (polling every 1 ms; stop_fd ends it).  PC_OK; PC_ETIMEDOUT with
 * why (read the primary then: never older than a notification said);
 * else the replica's error. */
int  pcd_sources_caught_up(pcd_sources *s, pg_conn *c, int idx, uint64_t seq, int wait_ms,
                           int stop_fd, char *why, size_t len);

/* ---- what status and /metrics show ---- */

/* Every source, the primary first, its state `primary_state` (PCD_SRC_*:
 * the engine's judgement of the database).  *n <= PCD_SRC_MAX. */
void pcd_sources_view(pcd_sources *s, int primary_state, pcd_source_view *out, size_t *n);

#endif
