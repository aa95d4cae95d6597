/* config.h - pricecached's configuration: INI file plus PRICECACHE_<SECTION>_<KEY> overrides. */
#ifndef PCD_CONFIG_H
#define PCD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct pcd_config {
    /* [database] */
    char    *dsn;                 /* required; libpq connection string */
    int      connect_timeout_s;   /* default 5 */
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

#endif
