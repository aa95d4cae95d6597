/* config.h - pricecached's configuration: INI file plus PRICECACHE_<SECTION>_<KEY> overrides. */
#ifndef PCD_CONFIG_H
#define PCD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct pcd_config {
    /* [database] */
    char    *dsn;                 /* required; libpq connection string */
    int      connect_timeout_s;   /* default 5 */
    char    *replicas;            /* "" = none; libpq DSNs separated by ';' (pcd_config_replicas) */
    int      max_lag_s;           /* default 60: a replica lagging more is not read */
    int      replica_wait_ms;     /* default 200: a delta's read-your-writes deadline */
    int      lag_sample_ms;       /* default 1000: how often replicas' lag is sampled */
    /* [cache] */
    char    *path;                /* required; the LMDB environment directory */
    uint64_t map_size_mb;         /* default 1024; grown on MDB_MAP_FULL */
    uint64_t map_max_mb;          /* default 65536; growth stops there */
    int      max_readers;         /* default 1024 */
    int      reader_warn_s;       /* default 30: log a reader holding an old snapshot longer */
    /* [load] */
    int      concurrency;         /* default 3 */
    int      timeout_s;           /* default 30 */
    int      refresh_s;           /* default 300; 0 turns the periodic refresh off */
    double   max_reject_ratio;    /* default 0.05 */
    double   max_shrink_ratio;    /* default 0.5 */
    int      debounce_ms;         /* default 5: least spacing of a busy chain's deltas (coalesce.c) */
    int      delta_max_keys;      /* default 1000: more changed keys -> full reload */
    char    *chains_query;        /* active chains; one text column */
    char    *base_query;          /* item_id, price_cents, updated_at; $1 = chain */
    char    *store_query;         /* store_id, item_id, price_cents, updated_at; $1 = chain */
    /* [breaker] */
    int      breaker_failures;    /* default 5 */
    int      breaker_reset_s;     /* default 30 */
    int      breaker_half_open_successes; /* default 3 */
    /* [bus] */
    char    *bus_events;          /* nanomsg address; "" = off */
    char    *bus_control;         /* nanomsg address; "" = off */
    /* [http] */
    char    *http_listen;         /* host:port; "" = off */
    /* [health] */
    int      health_max_age_s;    /* default 900 */
    int      health_stall_s;      /* default 10: no progress for longer = store blocked */
    /* [log] */
    int      log_level;           /* PCD_LOG_* ; default info */
    char    *file;                /* the file this came from */
} pcd_config;

/* Fill `cfg` with defaults (strings allocated). */
int  pcd_config_defaults(pcd_config *cfg);

/* Read `file` over the defaults, then the environment overrides, then
 * check required keys.  On error returns PC_ECONFIG with a message naming
 * the file, the line and the key (or the environment variable) in `err`.
 * `cfg` is always left freeable with pcd_config_free. */
int  pcd_config_load(pcd_config *cfg, const char *file, char *err, size_t errlen);

void pcd_config_free(pcd_config *cfg);

/* Most replicas [database] replicas may name. */
#define PCD_REPLICAS_MAX 15

/* Split a [database] replicas value into its DSNs: separated by ';',
 * spaces (and the newlines of continuation lines) around each trimmed,
 * empty entries skipped.  `out` gets up to PCD_REPLICAS_MAX malloc'ed
 * strings (pcd_config_replicas_free).  PC_OK; PC_ECONFIG with `why` naming
 * the entry (1-based) that libpq cannot parse, or that there are too many
 * (the password never quoted); PC_ENOMEM. */
int  pcd_config_replicas(const char *value, char ***out, size_t *n, char *why, size_t whylen);
void pcd_config_replicas_free(char **v, size_t n);

#endif
