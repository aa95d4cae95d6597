/* metrics.h - the daemon's state as Prometheus text (names fixed by DESIGN.md) and as health answers. */
#ifndef PCD_METRICS_H
#define PCD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "pc_format.h"

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

typedef struct pcd_chain_stats {
    char     slug[PC_CHAIN_MAX + 1];
    int      cached;                     /* a snapshot is on disk */
    uint64_t loads[PC_LOAD__COUNT];      /* by result, since start */
    uint64_t rejected[PC_REJ__COUNT];    /* rows, since start */
    uint64_t base_rows, store_rows;
    int64_t  loaded_at_ms;
    int      breaker;
} pcd_chain_stats;

typedef struct pcd_stats_view {
    pcd_chain_stats *chains;
    size_t   nchains;
    uint64_t invalidations[PCD_INV__COUNT];
    uint64_t duration_buckets[PCD_NBUCKETS]; /* cumulative counts per bound */
    uint64_t duration_count;
    double   duration_sum;
    int      started;     /* warm-up done */
    int      db_ok;
    int      readers;
    uint64_t map_used, map_size;
    pc_stats lookups;     /* the readers' shared statistics ... */
    int      have_lookups; /* ... when the area could be read */
    int64_t  now_ms;
    int      max_age_s;   /* [health] max_age_s */
} pcd_stats_view;

/* Prometheus text exposition format 0.0.4.  malloc'ed, NUL-terminated;
 * NULL on ENOMEM. */
char *pcd_metrics_render(const pcd_stats_view *v, size_t *len);

/* Health answers: fill `body` (JSON) and return the HTTP status.
 * live: the process answers.  startup: warm-up done.  ready: serving fresh
 * data (no breaker open, no snapshot older than max_age_s, database
 * reachable). */
int pcd_health_live(const pcd_stats_view *v, char *body, size_t len);
int pcd_health_startup(const pcd_stats_view *v, char *body, size_t len);
int pcd_health_ready(const pcd_stats_view *v, char *body, size_t len);

/* Record a load's duration into the histogram fields of `v`. */
void pcd_metrics_observe(pcd_stats_view *v, double seconds);

#endif
