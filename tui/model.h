/* model.h - what the console shows, gathered from LMDB, the shared statistics and the bus; no curses here. */
#ifndef TUI_MODEL_H
#define TUI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "pricecache.h"

/* Lookups per second kept for the sparkline, one per sample. */
#define TUI_HIST 64

/* What the console says about the daemon.  "down" covers a stopped daemon,
 * one whose pid is gone (killed) and one that never wrote its record. */
#define TUI_DAEMON_STATES(X)          \
    X(TUI_D_STARTING, "starting")     \
    X(TUI_D_READY,    "ready")        \
    X(TUI_D_DEGRADED, "degraded")     \
    X(TUI_D_DOWN,     "down")

enum tui_daemon_state {
#define TUI_X_ENUM(id, name) id,
    TUI_DAEMON_STATES(TUI_X_ENUM)
#undef TUI_X_ENUM
    TUI_D__COUNT
};
const char *tui_daemon_state_name(int state);

/* The database as pc_daemon_read reports it (up, down, unknown), under
 * the console's names (ok, failing, unknown). */
enum tui_db_state { TUI_DB_UNKNOWN, TUI_DB_OK, TUI_DB_FAILING };
const char *tui_db_state_name(int state);

/* The chain table's columns, in order: X(id, screen label, batch label,
 * screen width (0: takes what is left), right-aligned). */
#define TUI_COLUMNS(X)                                  \
    X(TUI_COL_CHAIN,    "CHAIN",   "CHAIN",      0, 0)  \
    X(TUI_COL_VERSION,  "VERSION", "VERSION",    7, 1)  \
    X(TUI_COL_BASE,     "BASE",    "BASE_ROWS",  7, 1)  \
    X(TUI_COL_STORE,    "STORE",   "STORE_ROWS", 7, 1)  \
    X(TUI_COL_AGE,      "AGE",     "AGE_S",      5, 1)  \
    X(TUI_COL_LOAD,     "LOAD",    "LOAD_MS",    6, 1)  \
    X(TUI_COL_OK,       "OK",      "LOADS_OK",   5, 1)  \
    X(TUI_COL_FAILED,   "FAIL",    "LOADS_FAILED", 5, 1) \
    X(TUI_COL_REJECTED, "REJ",     "REJECTED",   5, 1)  \
    X(TUI_COL_BREAKER,  "BREAKER", "BREAKER",   12, 0)

enum tui_column {
#define TUI_X_ENUM(id, label, blabel, width, right) id,
    TUI_COLUMNS(TUI_X_ENUM)
#undef TUI_X_ENUM
    TUI_COL__COUNT
};

typedef struct tui_column_def {
    const char *label, *batch_label;
    int width, right;
} tui_column_def;
extern const tui_column_def tui_columns[TUI_COL__COUNT];

typedef struct tui_chain {
    char        name[PC_CHAIN_MAX + 1];
    pc_chain_status m;
    uint64_t    rejected; /* every reason of the last load */
} tui_chain;

/* A reader holding an old snapshot this long is worth a line. */
#define TUI_STALE_MS 5000

/* A reader slot seen holding an old snapshot, and since when. */
typedef struct tui_rseen {
    uint32_t pid;
    uint64_t thread, txnid;
    int64_t  since_ms;   /* monotonic */
} tui_rseen;

typedef struct tui_model {
    char       *path;          /* the cache directory */
    pc_reader  *r;             /* NULL until the environment opens */
    int         breaker_reset_s; /* the daemon's [breaker] reset_s, to tell the next probe */
    int64_t     now_ms;        /* wall clock of the last sample */
    int64_t     mono_ms;       /* monotonic clock of the last sample */
    char        problem[200];  /* why something could not be read, "" when all is well */

    int         daemon;        /* enum tui_daemon_state */
    int         have_daemon;   /* d holds a record */
    pc_daemon_status d;
    int         db;            /* enum tui_db_state */
    char        db_error[160];

    int         have_env;
    uint64_t    map_used, map_size;
    unsigned    readers_used, readers_max;
    /* Stale readers, measured across samples (LMDB keeps no time): the
     * slot that has held an old snapshot longest. */
    tui_rseen  *rseen;
    size_t      nrseen;
    uint32_t    oldest_pid;    /* 0: none */
    int64_t     oldest_ms;

    int         have_stats;    /* the statistics could be read */
    int         have_rate;     /* two samples of it so far */
    uint64_t    prev_total, prev_hits, prev_misses;
    int64_t     prev_stats_ms;
    double      rate;          /* lookups per second over the last interval */
    double      hit_ratio;     /* hits / (hits + misses), negative when unknown */
    uint32_t    processes;
    double      hist[TUI_HIST];
    size_t      nhist;

    /* The sources the daemon reads from (pc_source_read): the primary,
     * then its replicas; nsources 0 when the daemon recorded none. */
    pc_source_status sources[16];
    size_t      nsources;

    tui_chain  *chains;        /* every chain of the last sample, in byte order */
    size_t      nchains, cap;
    size_t     *view;          /* indices into chains: filtered, then sorted */
    size_t      nview;
    int         sort_col;      /* enum tui_column */
    int         sort_desc;
    char        filter[PC_CHAIN_MAX + 1]; /* substring of the name; "" shows all */
} tui_model;

/* Set up for the cache directory `path` (copied).  PC_OK or PC_ENOMEM. */
int  tui_model_init(tui_model *m, const char *path);
void tui_model_free(tui_model *m);

/* Read everything once: daemon record, chains, environment, statistics.
 * Problems end up in m->problem, never as a failure: the console keeps
 * showing what it still has.  Arranges the view afterwards. */
void tui_model_sample(tui_model *m);

/* Feed one listing of the reader table (what a sample does; separate so
 * tests can drive it): a slot behind the newest commit ages from the
 * first sample that saw it so; the oldest goes to oldest_pid/_ms.  PC_OK
 * or PC_ENOMEM. */
int  tui_model_readers(tui_model *m, const pc_reader_slot *s, size_t n, int64_t mono_ms);

/* Filter and sort m->chains into m->view (after changing sort or filter). */
void tui_model_arrange(tui_model *m);

/* The index into m->view of the chain named `name`, or -1. */
long tui_model_find(const tui_model *m, const char *name);

/* Add one interval's counters to the rate (what a sample does with the
 * statistics; separate so tests can drive it). */
void tui_model_count(tui_model *m, uint64_t hits, uint64_t misses, uint64_t errors,
                     int64_t mono_ms);

/* One cell of the table; `exact` (batch mode) prints full numbers and
 * seconds instead of the screen's compact units. */
void tui_cell(const tui_model *m, const tui_chain *c, int col, int exact, char *buf, size_t len);

/* Milliseconds: wall clock (unix) and monotonic. */
int64_t tui_now_ms(void);
int64_t tui_mono_ms(void);

/* Compact figures that fit a narrow column: 999, 12.3k, 4.5M, 1.2G. */
void tui_fmt_count(char *buf, size_t len, double n);
/* A duration in milliseconds: 850ms, 1.2s, 45s, 12m, 3h, 2d. */
void tui_fmt_duration(char *buf, size_t len, int64_t ms);
/* An uptime: 45s, 12m03s, 3h12m, 2d03h. */
void tui_fmt_uptime(char *buf, size_t len, int64_t ms);
/* Bytes: 512B, 1.5K, 64.0M, 2.0G (binary units). */
void tui_fmt_bytes(char *buf, size_t len, uint64_t bytes);

/* The sparkline of the last `width` rates, scaled to their maximum:
 * UTF-8 blocks when `utf8`, else ASCII. */
void tui_sparkline(const tui_model *m, int width, int utf8, char *buf, size_t len);

#endif
