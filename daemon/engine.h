/* engine.h - the engine's shared state: the chain table, its lock, the configuration in force; and the map of daemon/. */
#ifndef PCD_ENGINE_H
#define PCD_ENGINE_H

/*
 * Layering of daemon/.  "A -> B": A includes B's header and calls it.
 * Arrows point down only: no circles (scripts/check-layering.sh, run by
 * `make check`, fails on an include cycle and on a service that includes
 * an engine header).
 *
 *   main.c    options, logging, signals; calls pcd_run (run.h)
 *   run       start-up, the main loop, SIGHUP/SIGUSR1, shutdown, --migrate
 *             -> verbs, sync, jobs, notice, schedule, engine
 *   verbs     control verbs: status, metrics, reload, breaker reset, accept
 *             -> schedule, engine
 *   sync      listing of active chains, warm-up, dropping vanished chains
 *             -> schedule, engine
 *   jobs      worker threads: the load and delta jobs, guards, breaker and
 *             metadata bookkeeping   -> notice, schedule, engine
 *   notice    LISTEN notices: pending keys, commit markers, when to queue
 *             -> coalesce, schedule, engine
 *   schedule  the run queue: single-flight, due times, retry backoff
 *             -> engine
 *   engine    (this header) chain table, lock, configuration in force; fills
 *             the view, judges it into the daemon record   -> view
 *   view      the snapshot of daemon state and the one judgement of it
 *
 * Services: the engine's files call them; they never include an engine
 * header.  control (REP socket; the verbs come in as pcd_control_ops),
 * events (PUB socket), busdir, http and metrics (read a pcd_view only),
 * listen (LISTEN thread; notices come in through a callback), sdnotify,
 * store + store_* (LMDB; never PostgreSQL), pgsource, pgdelta, pgcopy, loadrow,
 * pgreplica, dsn (PostgreSQL), sources (primary and replicas: sampling,
 * breakers, the choice per read; listen feeds it the primary's position), migrate,
 * config (-> dsn; knows nothing of pgsource), delta,
 * coalesce (the rule of when and how pending changes are applied; pure),
 * breaker, snapshot (+ snapshot_sort), validate, log.
 *
 * Locking: engine.mu guards the chain table, the run queue and the fields
 * of `engine` below.  Store calls may be made with mu held (the store's own
 * lock is always taken inside mu, never the other way round); database
 * calls never are.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "breaker.h"
#include "config.h"
#include "delta.h"
#include "events.h"
#include "pc_format.h"
#include "sources.h"
#include "store.h"
#include "view.h"
#include "watch.h"

/* A delta that cannot settle its keys alone; beyond enum pc_load_result. */
#define PC_LOAD_NEED_FULL (PC_LOAD__COUNT + 1)

typedef struct chain {
    char          slug[PC_CHAIN_MAX + 1];
    int           state;       /* PCD_CHAIN_* (view.h) */
    int           again;       /* asked for while running: one more load after */
    int           active;      /* in the latest listing of active chains */
    int           warm;        /* loaded once, or failed, since start */
    int           last_ok;     /* the last attempt published or found nothing new */
    int64_t       due_ms;      /* monotonic time of a scheduled retry/probe, 0 none */
    int           backoff_ms;  /* next retry delay after a failure */
    int           full;        /* a full reload is asked for */
    int64_t       first_notice_ms; /* of the changes pending since the last load began */
    int64_t       last_start_ms;   /* when the chain's last job began (coalesce.c's spacing) */
    uint64_t      recv_us;     /* the oldest pending change's notice read (pcd_mono_us); 0 none */
    uint64_t      queued_us;   /* when the chain was last queued (pcd_mono_us) */
    long long     open_tx[8];  /* transactions with pending keys whose commit marker is due */
    int           nopen;
    uint64_t      loads[PC_LOAD__COUNT];    /* since start, for the metrics */
    uint64_t      rejected[PC_REJ__COUNT];  /* rows, since start */
    pcd_delta     pending;     /* keys changed since the last load began */
    pcd_breaker   br;
    int           accept;      /* an operator accepted: the next load skips the guards */
    char          accept_by[256]; /* who, for the audit record (pcd_actor.text) */
    struct chain *next;        /* all chains */
    struct chain *qnext;       /* the run queue */
} chain;

/* A configuration in force; SIGHUP installs a new one.  Old ones stay
 * allocated until exit because a running load may still read them. */
typedef struct cfg_node {
    pcd_config       cfg;
    struct cfg_node *older;
} cfg_node;

struct pcd_jobs; /* jobs.c: the worker threads */

typedef struct engine {
    pthread_mutex_t mu;
    pthread_cond_t  work;       /* queue non-empty or stopping */
    cfg_node       *cfgs;       /* cfgs->cfg is current */
    unsigned        cfg_gen;
    pcd_store      *store;
    chain          *chains;
    chain          *qhead, *qtail;
    int             running;    /* loads in progress */
    int             stopping;
    int             stop_fd;    /* eventfd: readable once shutting down */
    int             done_fd;    /* eventfd: a load finished, or the main loop has work */
    int             failures;   /* loads failed/refused since start (--once) */
    int             warm_total; /* chains of the first listing */
    int             ready;      /* warm-up done */
    int             db_ok;      /* the last listing succeeded */
    /* The database as the listener's continuous check sees it (listen.c,
     * pcd_engine_db_seen); note_state copies it into the daemon record. */
    int             db_state;   /* PC_DB_UNKNOWN until the first check, then UP or DOWN */
    int64_t         db_since_ms; /* unix ms of its last change */
    char            db_error[PC_ERROR_TEXT_MAX]; /* why it is down; "" while up */
    unsigned        conn_gen;   /* bumped by a new configuration and when the database
                                   came back: connections made before are made again */
    pc_daemon_rec   drec;       /* the daemon record as last written */
    int             sync_asked; /* list chains and reload them all, now */
    pcd_view_counters agg;      /* invalidation counters and the duration histogram */
    pcd_events     *events;     /* NULL when [bus] events is off */
    pcd_sources    *sources;    /* the primary and replicas reads choose from (sources.h) */
    struct pcd_jobs *jobs;
    pcd_watch      *watch;      /* the environment sampler; NULL in --once */
    atomic_llong    loop_ms;    /* monotonic ms of the main loop's last pass */
    /* The recorder thread writes the daemon record when it changed, so
     * that the main loop (which answers control status) never waits for
     * the store: a writer stuck on LMDB's lock stops the recorder only. */
    pthread_t       recorder;
    int             recorder_on, recorder_stop, drec_dirty;
    int             db_ev_pending;  /* a database event waits for the record's write */
    int             db_ev_value;    /* PC_DB_DOWN or PC_DB_UP */
    char            db_ev_text[PC_ERROR_TEXT_MAX + 96];
    pthread_cond_t  drec_cv;
    /* The sources record (pc_source_read) as last handed to the recorder. */
    pc_source_rec   src_rec[PC_SOURCES_MAX];
    size_t          src_n;
    int             src_dirty;
    int64_t         src_at_ms;  /* monotonic ms of that hand-over; 0 never */
} engine;

/* The main loop passes at least this often (run.c), looking at every
 * chain's due time: a due time further away needs no wake-up. */
#define PCD_LOOP_PASS_MS 1000

static inline const pcd_config *cur_cfg(engine *d) { return &d->cfgs->cfg; }

static inline pcd_breaker_cfg breaker_cfg(const pcd_config *cfg)
{
    pcd_breaker_cfg b = { cfg->breaker_failures, cfg->breaker_reset_s * 1000,
                          cfg->breaker_half_open_successes };
    return b;
}

/* Set up `d` (lock, event descriptors, an empty configuration node to load
 * into).  PC_OK or PC_ENOMEM / PC_EIO; pcd_engine_free either way. */
int   pcd_engine_init(engine *d);
void  pcd_engine_free(engine *d);

/* The chain table; callers hold mu. */
chain *pcd_chain_find(engine *d, const char *slug);
/* A new chain, its breaker restored from the metadata on disk.  NULL on ENOMEM. */
chain *pcd_chain_add(engine *d, const char *slug);

/* Wake the main loop (a load finished, a listing is asked for). */
void  pcd_engine_wake(engine *d);

/* The view: daemon fields and counters always; `what` adds
 * PCD_VIEW_CHAINS (each active chain, with its metadata read from the
 * store after mu is released) and PCD_VIEW_ENV (map and reader figures).
 * Takes mu.  PC_OK or PC_ENOMEM (v->chains NULL). */
int   pcd_engine_view(engine *d, pcd_view *v, int what);
/* The daemon fields and counters only, with mu held by the caller. */
void  pcd_engine_view_locked(engine *d, pcd_view *v);

/* Judge the state (pcd_view_state) and write the daemon record when it
 * or the database's state changed; after the write, an event tells the
 * bus when the database went down or came back.  Caller holds mu. */
void  pcd_engine_note_state(engine *d);

/* The listener's continuous check saw the database up (1) or down (0,
 * with the error): record the change and wake the main loop, which
 * writes the daemon record.  A pcd_dbstate_fn (listen.h); any thread;
 * takes mu. */
void  pcd_engine_db_seen(void *ctx, int up, const char *error);
/* Record the sources for pc_source_read when they changed: at once on a
 * change of state (or of lag by a whole second), else their figures at
 * most every 5 s (30 s without replicas).  Written by the recorder thread
 * like the daemon record.  Caller holds mu. */
void  pcd_engine_note_sources(engine *d);
/* Write the daemon record as it is (pid refreshed), now, on the caller's
 * thread: start-up and shutdown. */
void  pcd_engine_write_daemon(engine *d);
/* The recorder thread: while it runs, pcd_engine_note_state hands the
 * record to it instead of writing on the caller's thread.  start: PC_OK
 * or PC_EIO (records are then written inline); stop joins it. */
int   pcd_engine_recorder_start(engine *d);
void  pcd_engine_recorder_stop(engine *d);

/* Free an array of n malloc'ed strings and the array. */
void  pcd_strv_free(char **v, size_t n);

#endif
