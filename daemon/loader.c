/* loader.c - pricecached's engine: warm-up, load workers, single-flight reloads, guards, refresh, shutdown. */
#include "loader.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "breaker.h"
#include "config.h"
#include "control.h"
#include "delta.h"
#include "events.h"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "pc_format.h"
#include "pgsource.h"
#include "sdnotify.h"
#include "snapshot.h"
#include "store.h"

enum { CH_IDLE, CH_QUEUED, CH_RUNNING };

/* A delta that cannot settle its keys alone; beyond enum pc_load_result. */
#define PC_LOAD_NEED_FULL (PC_LOAD__COUNT + 1)

typedef struct chain {
    char          slug[PC_CHAIN_MAX + 1];
    int           state;       /* CH_* */
    int           again;       /* asked for while running: one more load after */
    int           active;      /* in the latest listing of active chains */
    int           warm;        /* loaded once, or failed, since start */
    int           last_ok;     /* the last attempt published or found nothing new */
    int64_t       due_ms;      /* monotonic time of a scheduled retry/probe, 0 none */
    int           backoff_ms;  /* next retry delay after a failure */
    int           full;        /* a full reload is asked for */
    int64_t       first_notice_ms; /* of the changes pending since the last load began */
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
    int             done_fd;    /* eventfd: a load finished */
    int             failures;   /* loads failed/refused since start (--once) */
    int             warm_total; /* chains of the first listing */
    int             ready;
    int             db_ok;      /* the last listing succeeded */
    pc_daemon_rec   drec;
    int             sync_asked; /* list chains and reload them all, now */
    pcd_stats_view  agg;        /* invalidation counters and the duration histogram */
    pcd_events     *events;     /* NULL when [bus] events is off */
    pthread_t      *workers;
    int             nworkers;
} engine;

static const pcd_config *cur_cfg(engine *d) { return &d->cfgs->cfg; }

static pcd_breaker_cfg breaker_cfg(const pcd_config *cfg)
{
    pcd_breaker_cfg b = { cfg->breaker_failures, cfg->breaker_reset_s * 1000,
                          cfg->breaker_half_open_successes };
    return b;
}

static chain *find_chain(engine *d, const char *slug)
{
    for (chain *c = d->chains; c; c = c->next)
        if (strcmp(c->slug, slug) == 0)
            return c;
    return NULL;
}

static chain *add_chain(engine *d, const char *slug)
{
    chain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->slug, sizeof c->slug, "%s", slug);
    uint64_t seed = (uint64_t)pc_now_ms() ^ ((uint64_t)(uintptr_t)c << 7);
    pcd_breaker_init(&c->br, seed);
    c->last_ok = 1;
    pc_meta_rec m;
    if (pcd_store_get_meta(d->store, slug, &m) == PC_OK) {
        pcd_breaker_cfg bc = breaker_cfg(cur_cfg(d));
        pcd_breaker_restore(&c->br, &bc, (int)m.breaker, m.breaker_since_ms,
                            pc_now_ms() - m.breaker_since_ms, pc_mono_ms());
        c->br.failures = (int)m.consecutive_failures;
    }
    c->next = d->chains;
    d->chains = c;
    return c;
}

/* Single-flight: a chain is queued at most once; asked for while it runs,
 * it gets exactly one more load after the running one.  Caller holds mu. */
static void enqueue(engine *d, chain *c)
{
    if (c->state == CH_RUNNING) {
        c->again = 1;
        return;
    }
    if (c->state == CH_QUEUED)
        return;
    c->state = CH_QUEUED;
    c->due_ms = 0;
    c->qnext = NULL;
    if (d->qtail)
        d->qtail->qnext = c;
    else
        d->qhead = c;
    d->qtail = c;
    pthread_cond_signal(&d->work);
}

/* A full reload; pending changed keys ride along with it. */
static void request_load(engine *d, chain *c)
{
    c->full = 1;
    enqueue(d, c);
}

static void wake_main(engine *d)
{
    uint64_t one = 1;
    ssize_t wr = write(d->done_fd, &one, sizeof one);
    (void)wr;
}

/* How long a chain waits for a transaction's commit marker before it
 * reloads whole (a missing marker: migration 0003 not applied, or lost). */
#define TX_WAIT_MS 2000

/* Schedule the delta of a chain's pending keys.  The keys of a transaction
 * are applied together: while one of the transactions that touched the
 * chain has not shown its commit marker, the delta waits (at most
 * TX_WAIT_MS, then a full reload).  Otherwise a short debounce gathers
 * bursts of small transactions into one write.  Caller holds mu. */
static void schedule_pending(engine *d, chain *c)
{
    const pcd_config *cfg = cur_cfg(d);
    if ((!c->pending.n && !c->pending.overflow) || c->state != CH_IDLE)
        return;
    int64_t now = pc_mono_ms();
    if (!c->first_notice_ms)
        c->first_notice_ms = now;
    int64_t due;
    if (c->pending.overflow) {
        due = now; /* a full reload reads a consistent snapshot anyway */
    } else if (c->nopen > 0) {
        due = c->first_notice_ms + TX_WAIT_MS;
    } else {
        due = now + cfg->debounce_ms;
        int64_t cap = c->first_notice_ms + 5 * (int64_t)cfg->debounce_ms;
        if (due > cap)
            due = cap;
        if (due < now)
            due = now;
    }
    c->due_ms = due;
    wake_main(d);
}

/* A NOTIFY named a changed key.  Caller holds mu. */
static void request_delta(engine *d, chain *c, const char *store, const char *item)
{
    const pcd_config *cfg = cur_cfg(d);
    pcd_delta_add(&c->pending, store, item, (size_t)cfg->delta_max_keys);
    if (c->state == CH_RUNNING)
        c->again = 1;
}

static void note_open_tx(chain *c, long long txid)
{
    for (int i = 0; i < c->nopen; i++)
        if (c->open_tx[i] == txid)
            return;
    if (c->nopen < (int)(sizeof c->open_tx / sizeof c->open_tx[0]))
        c->open_tx[c->nopen++] = txid;
    else
        c->pending.overflow = 1; /* too many at once: reload whole */
}

/* A transaction's commit marker: its keys are all here. */
static void commit_seen(engine *d, long long txid)
{
    for (chain *c = d->chains; c; c = c->next)
        for (int i = 0; i < c->nopen; i++)
            if (c->open_tx[i] == txid) {
                c->open_tx[i] = c->open_tx[--c->nopen];
                schedule_pending(d, c);
                break;
            }
}

/* Listener thread: n == NULL after a reconnect (notifications were lost). */
static void on_notice(void *ctx, const pcd_notice *n)
{
    engine *d = ctx;
    pthread_mutex_lock(&d->mu);
    if (n && n->table && strcmp(n->table, PCD_NOTICE_COMMIT_TABLE) == 0) {
        if (n->txid)
            commit_seen(d, n->txid);
    } else if (!n || !n->table || strcmp(n->table, "chains") == 0 ||
               (n->op && strcmp(n->op, "TRUNCATE") == 0)) {
        d->agg.invalidations[n ? PCD_INV_CHAIN : PCD_INV_RESYNC]++;
        d->sync_asked = 1;
        wake_main(d);
    } else if (n->chain) {
        chain *c = find_chain(d, n->chain);
        if (!c || !c->active) {
            d->sync_asked = 1; /* a chain we do not know: the listing decides */
            wake_main(d);
        } else if (!n->has_keys) {
            d->agg.invalidations[PCD_INV_CHAIN]++;
            request_load(d, c);
        } else {
            /* All keys of one statement under one lock hold, and held
             * until the transaction's commit marker: applied together. */
            d->agg.invalidations[PCD_INV_KEYS]++;
            if (n->txid)
                note_open_tx(c, n->txid);
            for (size_t i = 0; i < n->nkeys; i++)
                request_delta(d, c, n->keys[i].store, n->keys[i].item);
            schedule_pending(d, c);
        }
    }
    pthread_mutex_unlock(&d->mu);
}

static void write_daemon_rec(engine *d)
{
    d->drec.pid = (uint32_t)getpid();
    pcd_store_put_daemon(d->store, &d->drec); /* a failure is logged with its cause */
}

/* Caller holds mu. */
static void update_state(engine *d)
{
    int degraded = !d->db_ok;
    for (chain *c = d->chains; c; c = c->next)
        if (c->active && (!c->last_ok || c->br.state != PC_BREAKER_CLOSED))
            degraded = 1;
    uint32_t state = d->ready ? (degraded ? PC_DAEMON_DEGRADED : PC_DAEMON_READY)
                              : PC_DAEMON_STARTING;
    if (state != d->drec.state || (uint32_t)d->ready != d->drec.ready) {
        LOG_INFO("daemon", "daemon: %s -> %s", pc_daemon_state_name((int)d->drec.state),
                 pc_daemon_state_name((int)state));
        d->drec.state = state;
        d->drec.ready = (uint32_t)d->ready;
        if (d->ready && !d->drec.ready_ms)
            d->drec.ready_ms = pc_now_ms();
        write_daemon_rec(d);
    }
}

/* Caller holds mu. */
static void check_warm(engine *d)
{
    if (d->ready || d->warm_total == 0)
        return;
    for (chain *c = d->chains; c; c = c->next)
        if (c->active && !c->warm)
            return;
    d->ready = 1;
    LOG_INFO("daemon", "warm-up done: %d chains", d->warm_total);
}

static int refuse_reason(const pcd_config *cfg, const pcd_snapshot *snap,
                         const pc_meta_rec *old, int have_old, char *why, size_t len)
{
    uint64_t rej = pcd_snapshot_rejected_total(snap);
    if (snap->rows_seen > 0 && (double)rej / (double)snap->rows_seen > cfg->max_reject_ratio) {
        snprintf(why, len, "%llu of %llu rows rejected (%.1f%% > max_reject_ratio %.1f%%)",
                 (unsigned long long)rej, (unsigned long long)snap->rows_seen,
                 100.0 * (double)rej / (double)snap->rows_seen, 100.0 * cfg->max_reject_ratio);
        return 1;
    }
    if (have_old) {
        uint64_t before = old->base_rows + old->store_rows;
        uint64_t after = snap->base_rows + snap->store_rows;
        if (before > 0 && after < before &&
            (double)(before - after) / (double)before > cfg->max_shrink_ratio) {
            snprintf(why, len, "row count would fall from %llu to %llu (%.1f%% > "
                     "max_shrink_ratio %.1f%%)", (unsigned long long)before,
                     (unsigned long long)after,
                     100.0 * (double)(before - after) / (double)before,
                     100.0 * cfg->max_shrink_ratio);
            return 1;
        }
    }
    return 0;
}

static void log_rejects(const pcd_snapshot *snap)
{
    for (int r = 0; r < PC_REJ__COUNT; r++)
        if (snap->rejected[r])
            LOG_WARN("load", "chain %s: rejected %llu rows (%s), e.g. %s", snap->chain,
                     (unsigned long long)snap->rejected[r], pc_reject_name(r),
                     snap->reject_sample[r]);
}

/* Keep the head of a long message (the cause comes first in ours). */
static void copy_trunc(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

typedef struct worker {
    engine  *d;
    pg_conn *conn;
    unsigned conn_gen;
    unsigned want_gen;   /* configuration generation at the job's start */
    int      id;
} worker;

/* The worker's connection, (re)made when it broke or the configuration
 * changed since it was made. */
static int ensure_conn(worker *w, const pcd_config *cfg, char *err, size_t errlen)
{
    if (w->conn && (w->conn_gen != w->want_gen || !pcd_pg_ok(w->conn))) {
        pcd_pg_close(w->conn);
        w->conn = NULL;
    }
    if (w->conn)
        return PC_OK;
    w->conn_gen = w->want_gen;
    return pcd_pg_connect(cfg, &w->conn, err, errlen);
}

/* Record an outcome in the chain's breaker, logging a transition. */
static int breaker_note(engine *d, chain *c, const pcd_config *cfg, int ok, int64_t now,
                        int *changed)
{
    pcd_breaker_cfg bc = breaker_cfg(cfg);
    pthread_mutex_lock(&d->mu);
    int before = c->br.state;
    *changed = pcd_breaker_record(&c->br, &bc, ok, now);
    int after = c->br.state;
    pthread_mutex_unlock(&d->mu);
    if (*changed) {
        LOG_WARN("breaker", "chain %s: breaker %s -> %s", c->slug, pc_breaker_name(before),
                 pc_breaker_name(after));
        pcd_events_send(d->events, PC_EV_BREAKER, c->slug, 0, (uint32_t)after, "%s -> %s",
                        pc_breaker_name(before), pc_breaker_name(after));
    }
    return after;
}

/* A failed, timed-out or refused attempt: counted in the breaker (unless
 * the database was not at fault) and in the chain's metadata, whose
 * snapshot stays as it is. */
static int load_failed_bookkeeping(engine *d, chain *c, const pcd_config *cfg, int64_t t0,
                                   int result, const char *err, int count_breaker)
{
    int64_t now = pc_mono_ms();
    int changed = 0;
    if (count_breaker)
        breaker_note(d, c, cfg, 0, now, &changed);
    pthread_mutex_lock(&d->mu);
    int br_state = c->br.state;
    /* Stored in wall-clock time so that the console can count down to it. */
    int64_t probe_at = br_state == PC_BREAKER_OPEN
                           ? pc_now_ms() + (c->br.open_until_ms - pc_mono_ms()) : 0;
    pthread_mutex_unlock(&d->mu);
    pc_meta_rec meta;
    if (pcd_store_get_meta(d->store, c->slug, &meta) == PC_OK) {
        meta.last_attempt_ms = pc_now_ms();
        meta.last_duration_ms = (uint32_t)(now - t0);
        meta.last_result = (uint32_t)result;
        meta.breaker = (uint32_t)br_state;
        if (changed)
            meta.breaker_since_ms = pc_now_ms();
        meta.probe_at_ms = probe_at;
        meta.loads_failed++;
        meta.consecutive_failures++;
        copy_trunc(meta.last_error, sizeof meta.last_error, err);
        pcd_store_put_meta(d->store, c->slug, &meta);
    }
    pcd_events_send(d->events, result == PC_LOAD_REFUSED ? PC_EV_REFUSED : PC_EV_FAILED, c->slug,
                    0, (uint32_t)result, "%s", err);
    return result;
}

/* One load of one chain: returns the pc_load_result. */
static int load_one(worker *w, chain *c, const pcd_config *cfg, int64_t t0)
{
    engine *d = w->d;
    char err[512] = "";
    pc_meta_rec meta;
    int have_old = pcd_store_get_meta(d->store, c->slug, &meta) == PC_OK;
    if (!have_old)
        memset(&meta, 0, sizeof meta);
    pc_meta_rec old = meta;

    int result, accepted = 0;
    char audit[PC_AUDIT_TEXT_MAX - 32] = "";
    pcd_snapshot snap;
    pcd_snapshot_init(&snap, c->slug);
    pcd_cancel cx = { .deadline_ms = t0 + (int64_t)cfg->timeout_s * 1000, .stop_fd = d->stop_fd };

    int rc = ensure_conn(w, cfg, err, sizeof err);
    if (rc == PC_OK)
        rc = pcd_pg_load_chain(w->conn, cfg, c->slug, &cx, &snap, err, sizeof err);
    double read_s = (double)(pc_mono_ms() - t0) / 1000.0;

    if (rc == PC_ECANCELED) {
        LOG_INFO("load", "chain %s: load cancelled by shutdown after %.3f s", c->slug, read_s);
        pcd_snapshot_free(&snap);
        return PC_LOAD_NONE;
    }
    if (rc != PC_OK) {
        result = rc == PC_ETIMEDOUT ? PC_LOAD_TIMEOUT : PC_LOAD_FAILED;
        LOG_ERR("load", "chain %s: load failed after %.3f s (%s)", c->slug, read_s, err);
        if (w->conn && !pcd_pg_ok(w->conn)) {
            pcd_pg_close(w->conn);
            w->conn = NULL;
        }
    } else {
        log_rejects(&snap);
        pthread_mutex_lock(&d->mu);
        for (int r = 0; r < PC_REJ__COUNT; r++)
            c->rejected[r] += snap.rejected[r];
        accepted = c->accept;
        char by[sizeof c->accept_by];
        memcpy(by, c->accept_by, sizeof by);
        pthread_mutex_unlock(&d->mu);
        char why[256] = "passed";
        int refused = refuse_reason(cfg, &snap, &old, have_old, why, sizeof why);
        if (accepted) {
            if (refused)
                LOG_WARN("load", "chain %s: guards would refuse this load (%s); published as "
                         "accepted by an operator", c->slug, why);
            snprintf(audit, sizeof audit, "%s action=accept chain=%s result=published guards=%s%s%s",
                     by, c->slug, refused ? "\"" : "", why, refused ? "\"" : "");
            result = PC_LOAD_OK;
        } else if (refused) {
            result = PC_LOAD_REFUSED;
            snprintf(err, sizeof err, "load refused: %s", why);
            LOG_ERR("load", "chain %s: load refused, the snapshot of version %llu stays (%s)",
                    c->slug, (unsigned long long)old.version, why);
        } else {
            result = PC_LOAD_OK;
        }
    }

    if (result != PC_LOAD_OK) {
        pcd_snapshot_free(&snap);
        /* A load the guards refused is not the database failing (DESIGN
         * tells "failed" and "refused" apart; the breaker guards the
         * database), and counting it would hold an operator's `accept`
         * back until the next probe. */
        return load_failed_bookkeeping(d, c, cfg, t0, result, err, result != PC_LOAD_REFUSED);
    }

    int64_t now = pc_mono_ms();
    int changed;
    int br_state = breaker_note(d, c, cfg, 1, now, &changed);
    meta.last_attempt_ms = pc_now_ms();
    meta.last_duration_ms = (uint32_t)(now - t0);
    meta.last_result = PC_LOAD_OK;
    meta.breaker = (uint32_t)br_state;
    if (changed || !have_old)
        meta.breaker_since_ms = pc_now_ms();
    meta.probe_at_ms = 0; /* a success never leaves it open */
    meta.loads_ok++;
    meta.consecutive_failures = 0;
    meta.last_error[0] = 0;
    pcd_publish_stats ps;
    int64_t p0 = pc_mono_ms();
    rc = pcd_store_publish_audited(d->store, &snap, &meta, &ps, accepted ? audit : NULL, err,
                                   sizeof err);
    if (rc == PC_OK && accepted) {
        pthread_mutex_lock(&d->mu);
        c->accept = 0;
        pthread_mutex_unlock(&d->mu);
    }
    if (rc == PC_OK) {
        LOG_INFO("load", "chain %s: published version %llu: %llu base, %llu store rows "
                 "(%llu put, %llu deleted, %llu unchanged) in %.3f s (read %.3f s, "
                 "write %.3f s)", c->slug, (unsigned long long)ps.version,
                 (unsigned long long)snap.base_rows, (unsigned long long)snap.store_rows,
                 (unsigned long long)ps.put, (unsigned long long)ps.deleted,
                 (unsigned long long)ps.unchanged,
                 (double)(pc_mono_ms() - t0) / 1000.0, read_s,
                 (double)(pc_mono_ms() - p0) / 1000.0);
        pcd_events_send(d->events, PC_EV_PUBLISH, c->slug, ps.version,
                        (uint32_t)(snap.base_rows + snap.store_rows),
                        "reload: %llu put, %llu deleted", (unsigned long long)ps.put,
                        (unsigned long long)ps.deleted);
    } else {
        LOG_ERR("load", "chain %s: publish failed, the previous snapshot stays (%s)",
                c->slug, err);
        /* The database answered; the breaker guards it, not the disk. */
        result = load_failed_bookkeeping(d, c, cfg, t0, PC_LOAD_FAILED, err, 0);
    }
    pcd_snapshot_free(&snap);
    return result;
}

/* Apply the changed keys of a chain as one small transaction.  Anything
 * the delta cannot settle alone (rejected rows, a chain not cached yet)
 * asks for a full reload instead. */
static int delta_one(worker *w, chain *c, const pcd_config *cfg, int64_t t0, pcd_delta *dl)
{
    engine *d = w->d;
    char err[512] = "";
    pcd_cancel cx = { .deadline_ms = t0 + (int64_t)cfg->timeout_s * 1000, .stop_fd = d->stop_fd };
    int rc = ensure_conn(w, cfg, err, sizeof err);
    pcd_snapshot found;
    pcd_snapshot_init(&found, c->slug);
    if (rc == PC_OK)
        rc = pcd_pg_fetch_delta(w->conn, cfg, c->slug, dl, &cx, &found, err, sizeof err);
    if (rc == PC_ECANCELED) {
        pcd_snapshot_free(&found);
        return PC_LOAD_NONE;
    }
    if (rc != PC_OK) {
        LOG_ERR("load", "chain %s: fetching %zu changed keys failed (%s); a full reload follows",
                c->slug, dl->n, err);
        if (w->conn && !pcd_pg_ok(w->conn)) {
            pcd_pg_close(w->conn);
            w->conn = NULL;
        }
        pcd_snapshot_free(&found);
        /* The failure counts for the breaker like a failed load; the keys
         * are covered by the full reload that the retry makes. */
        return load_failed_bookkeeping(d, c, cfg, t0, rc == PC_ETIMEDOUT ? PC_LOAD_TIMEOUT
                                                                         : PC_LOAD_FAILED, err, 1);
    }
    if (pcd_snapshot_rejected_total(&found) > 0) {
        LOG_INFO("load", "chain %s: changed rows include rejected ones; reloading the chain",
                 c->slug);
        pcd_snapshot_free(&found);
        return PC_LOAD_NEED_FULL;
    }
    pc_meta_rec meta;
    if (pcd_store_get_meta(d->store, c->slug, &meta) != PC_OK) {
        pcd_snapshot_free(&found);
        return PC_LOAD_NEED_FULL;
    }
    int64_t now = pc_mono_ms();
    meta.last_attempt_ms = pc_now_ms();
    meta.last_duration_ms = (uint32_t)(now - t0);
    meta.last_result = PC_LOAD_OK;
    meta.consecutive_failures = 0;
    pcd_publish_stats ps;
    rc = pcd_store_apply_delta(d->store, c->slug, &found, dl->keys, dl->n, &meta, &ps,
                               err, sizeof err);
    pcd_snapshot_free(&found);
    if (rc == PC_NOTFOUND)
        return PC_LOAD_NEED_FULL;
    if (rc != PC_OK) {
        LOG_ERR("load", "chain %s: applying changes failed, a full reload follows (%s)",
                c->slug, err);
        return PC_LOAD_NEED_FULL;
    }
    if (ps.version) {
        LOG_INFO("load", "chain %s: applied %zu changed keys as version %llu (%llu put, "
                 "%llu deleted) in %.1f ms", c->slug, dl->n, (unsigned long long)ps.version,
                 (unsigned long long)ps.put, (unsigned long long)ps.deleted,
                 (double)(pc_mono_ms() - t0));
        pcd_events_send(d->events, PC_EV_PUBLISH, c->slug, ps.version, (uint32_t)dl->n,
                        "delta: %llu put, %llu deleted", (unsigned long long)ps.put,
                        (unsigned long long)ps.deleted);
    } else
        LOG_DBG("load", "chain %s: %zu changed keys, none different from the cache",
                c->slug, dl->n);
    int changed;
    breaker_note(d, c, cfg, 1, now, &changed);
    return PC_LOAD_OK;
}

static void finish_load(engine *d, chain *c, int result, const pcd_config *cfg)
{
    if (result == PC_LOAD_NEED_FULL)
        return;
    c->warm = 1;
    if (result != PC_LOAD_NONE)
        c->last_ok = result == PC_LOAD_OK;
    if (result != PC_LOAD_OK && result != PC_LOAD_NONE)
        d->failures++;
    int64_t now = pc_mono_ms();
    if (result == PC_LOAD_OK) {
        c->backoff_ms = 0;
        /* Half-open probes follow each other quickly so that the breaker
         * closes in seconds, not refresh periods. */
        if (c->br.state == PC_BREAKER_HALF_OPEN)
            c->due_ms = now + 1000;
    } else if (result != PC_LOAD_NONE) {
        if (c->br.state == PC_BREAKER_OPEN) {
            c->due_ms = c->br.open_until_ms;
        } else {
            /* Jittered exponential backoff, capped by the breaker's reset. */
            int cap = cfg->breaker_reset_s * 1000;
            c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 500;
            if (c->backoff_ms > cap)
                c->backoff_ms = cap;
            c->due_ms = now + c->backoff_ms / 2 + (int64_t)(rand() % (c->backoff_ms / 2 + 1));
        }
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    engine *d = w->d;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->stopping && !d->qhead)
            pthread_cond_wait(&d->work, &d->mu);
        if (d->stopping)
            break;
        chain *c = d->qhead;
        d->qhead = c->qnext;
        if (!d->qhead)
            d->qtail = NULL;
        c->state = CH_RUNNING;
        c->again = 0;
        pcd_delta dl;
        pcd_delta_take(&dl, &c->pending);
        c->first_notice_ms = 0;
        /* A transaction whose marker is still due: its keys may be
         * incomplete, but it has committed (NOTIFYs come after commit),
         * so a full reload sees all of it. */
        int full = c->full || dl.overflow || dl.n == 0 || c->nopen > 0;
        c->full = 0;
        if (full)
            c->nopen = 0;
        d->running++;
        const pcd_config *cfg = cur_cfg(d);
        w->want_gen = d->cfg_gen;
        int64_t t0 = pc_mono_ms();
        int allowed = pcd_breaker_allow(&c->br, t0);
        int half_open = c->br.state == PC_BREAKER_HALF_OPEN;
        pthread_mutex_unlock(&d->mu);

        int result;
        if (!allowed) {
            LOG_DBG("load", "chain %s: load refused at once, breaker open", c->slug);
            result = PC_LOAD_NONE;
        } else {
            if (half_open)
                LOG_INFO("breaker", "chain %s: half-open probe", c->slug);
            result = full ? load_one(w, c, cfg, t0) : delta_one(w, c, cfg, t0, &dl);
        }
        pcd_delta_free(&dl);

        pthread_mutex_lock(&d->mu);
        d->running--;
        c->state = CH_IDLE;
        if (result > PC_LOAD_NONE && result < PC_LOAD__COUNT) {
            c->loads[result]++;
            pcd_metrics_observe(&d->agg, (double)(pc_mono_ms() - t0) / 1000.0);
        }
        if (!allowed) {
            c->warm = 1;
            c->due_ms = c->br.open_until_ms;
        } else {
            finish_load(d, c, result, cfg);
        }
        if (result == PC_LOAD_NEED_FULL)
            request_load(d, c);
        else if (c->again && !d->stopping && c->full)
            request_load(d, c);
        else if (c->again && !d->stopping)
            schedule_pending(d, c); /* changes arrived meanwhile */
        wake_main(d);
    }
    pthread_mutex_unlock(&d->mu);
    if (w->conn)
        pcd_pg_close(w->conn);
    return NULL;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* List the active chains, drop vanished ones from the cache, queue a load
 * of every active one.  Returns PC_OK or the listing's error. */
static int sync_chains(engine *d, pg_conn **conn, unsigned *conn_gen)
{
    pthread_mutex_lock(&d->mu);
    const pcd_config *cfg = cur_cfg(d);
    unsigned gen = d->cfg_gen;
    pthread_mutex_unlock(&d->mu);

    char err[512] = "";
    if (*conn && (*conn_gen != gen || !pcd_pg_ok(*conn))) {
        pcd_pg_close(*conn);
        *conn = NULL;
    }
    int rc = PC_OK;
    if (!*conn) {
        rc = pcd_pg_connect(cfg, conn, err, sizeof err);
        *conn_gen = gen;
    }
    char **slugs = NULL, **bad = NULL;
    size_t n = 0, nbad = 0;
    if (rc == PC_OK) {
        pcd_cancel cx = { .deadline_ms = pc_mono_ms() + (int64_t)cfg->timeout_s * 1000, .stop_fd = d->stop_fd };
        rc = pcd_pg_active_chains(*conn, cfg, &cx, &slugs, &n, &bad, &nbad, err, sizeof err);
    }
    if (rc != PC_OK) {
        if (rc != PC_ECANCELED)
            LOG_ERR("db", "database: cannot list active chains (%s)", err);
        /* A connection still usable means the database answered with an
         * error (a bad chains_query, a missing table): not "unreachable". */
        int answered = *conn && pcd_pg_ok(*conn);
        if (*conn && !answered) {
            pcd_pg_close(*conn);
            *conn = NULL;
        }
        pthread_mutex_lock(&d->mu);
        if (d->db_ok)
            LOG_WARN("db", "database: %s; serving the snapshots on disk",
                     answered ? "the chains query failed" : "unreachable");
        d->db_ok = 0;
        /* The chains known to be active still try their loads (each with
         * its own backoff), so that their breakers see the outage. */
        for (chain *c = d->chains; c; c = c->next)
            if (c->active && !c->due_ms && rc != PC_ECANCELED)
                request_load(d, c);
        update_state(d);
        pthread_mutex_unlock(&d->mu);
        return rc;
    }
    for (size_t i = 0; i < nbad; i++)
        LOG_ERR("db", "chain \"%s\": invalid slug (expected [a-z0-9_-]{1,64}); skipped", bad[i]);

    /* Chains cached but no longer active in the source. */
    char **cached = NULL;
    size_t ncached = 0;
    if (pcd_store_list_chains(d->store, &cached, &ncached) != PC_OK)
        LOG_WARN("cache", "cannot list cached chains");

    pthread_mutex_lock(&d->mu);
    if (!d->db_ok)
        LOG_INFO("db", "database: reachable");
    d->db_ok = 1;
    for (chain *c = d->chains; c; c = c->next)
        c->active = 0;
    for (size_t i = 0; i < n; i++) {
        chain *c = find_chain(d, slugs[i]);
        if (!c && !(c = add_chain(d, slugs[i]))) {
            LOG_ERR("daemon", "chain %s: out of memory", slugs[i]);
            continue;
        }
        c->active = 1;
    }
    if (d->warm_total == 0)
        d->warm_total = (int)n;
    for (chain *c = d->chains; c; c = c->next)
        if (c->active)
            request_load(d, c);
    for (size_t i = 0; i < ncached; i++) {
        chain *c = find_chain(d, cached[i]);
        if (c && c->active)
            continue;
        if (c && c->state != CH_IDLE)
            continue; /* the worker removes it when it is done */
        char rerr[256];
        if (pcd_store_remove_chain(d->store, cached[i], rerr, sizeof rerr) == PC_OK) {
            LOG_INFO("cache", "chain %s: removed from the cache (no longer active in the source)",
                     cached[i]);
            pcd_events_send(d->events, PC_EV_REMOVED, cached[i], 0, 0, "no longer active");
        } else
            LOG_ERR("cache", "chain %s: cannot remove from the cache (%s)", cached[i], rerr);
    }
    if (n == 0 && !d->ready) {
        d->ready = 1;
        LOG_INFO("daemon", "warm-up done: no active chains");
    }
    update_state(d);
    pthread_mutex_unlock(&d->mu);
    free_list(cached, ncached);
    free_list(slugs, n);
    free_list(bad, nbad);
    return PC_OK;
}

/* A worker finished with a chain that is no longer active: drop it.  Main
 * thread, without mu held around store calls. */
static void reap_inactive(engine *d)
{
    pthread_mutex_lock(&d->mu);
    int any = 0;
    for (chain *c = d->chains; c; c = c->next)
        if (!c->active && c->state == CH_IDLE && c->warm)
            any = 1;
    pthread_mutex_unlock(&d->mu);
    if (!any || !d->db_ok)
        return;
    char **cached = NULL;
    size_t n = 0;
    if (pcd_store_list_chains(d->store, &cached, &n) != PC_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&d->mu);
        chain *c = find_chain(d, cached[i]);
        int drop = c && !c->active && c->state == CH_IDLE;
        pthread_mutex_unlock(&d->mu);
        char rerr[256];
        if (drop && pcd_store_remove_chain(d->store, cached[i], rerr, sizeof rerr) == PC_OK) {
            LOG_INFO("cache", "chain %s: removed from the cache (no longer active in the source)",
                     cached[i]);
            pcd_events_send(d->events, PC_EV_REMOVED, cached[i], 0, 0, "no longer active");
        }
    }
    free_list(cached, n);
}

static int reload_config(engine *d, const char *file)
{
    cfg_node *node = calloc(1, sizeof *node);
    if (!node)
        return PC_ENOMEM;
    char err[1024];
    if (pcd_config_load(&node->cfg, file, err, sizeof err) != PC_OK) {
        LOG_ERR("config", "%s; keeping the configuration in force", err);
        pcd_config_free(&node->cfg);
        free(node);
        return PC_ECONFIG;
    }
    pthread_mutex_lock(&d->mu);
    const pcd_config *old = cur_cfg(d);
    if (strcmp(old->path, node->cfg.path) != 0)
        LOG_WARN("config", "[cache] path changed; takes effect at the next restart");
    if (old->concurrency != node->cfg.concurrency)
        LOG_WARN("config", "[load] concurrency changed; takes effect at the next restart");
    if (strcmp(old->bus_events, node->cfg.bus_events) != 0 ||
        strcmp(old->bus_control, node->cfg.bus_control) != 0)
        LOG_WARN("config", "[bus] addresses changed; take effect at the next restart");
    if (strcmp(old->http_listen, node->cfg.http_listen) != 0)
        LOG_WARN("config", "[http] listen changed; takes effect at the next restart");
    node->older = d->cfgs;
    d->cfgs = node;
    d->cfg_gen++;
    pcd_log_level = node->cfg.log_level;
    pthread_mutex_unlock(&d->mu);
    LOG_INFO("config", "configuration %s re-read", file);
    return PC_OK;
}

static int64_t next_wakeup(engine *d, int64_t next_sync)
{
    int64_t t = next_sync;
    pthread_mutex_lock(&d->mu);
    for (chain *c = d->chains; c; c = c->next)
        if (c->active && c->due_ms && c->due_ms < t)
            t = c->due_ms;
    pthread_mutex_unlock(&d->mu);
    return t;
}

static void queue_due(engine *d, int64_t now)
{
    pthread_mutex_lock(&d->mu);
    for (chain *c = d->chains; c; c = c->next)
        if (c->active && c->due_ms && c->due_ms <= now)
            enqueue(d, c); /* a delta if keys are pending, else a full reload */
    pthread_mutex_unlock(&d->mu);
}

static int idle(engine *d)
{
    pthread_mutex_lock(&d->mu);
    int r = d->running == 0 && d->qhead == NULL;
    pthread_mutex_unlock(&d->mu);
    return r;
}

static void shutdown_daemon(engine *d, const char *why)
{
    pthread_mutex_lock(&d->mu);
    int running = d->running, queued = 0;
    for (chain *c = d->qhead; c; c = c->qnext)
        queued++;
    d->stopping = 1;
    pthread_cond_broadcast(&d->work);
    pthread_mutex_unlock(&d->mu);
    LOG_INFO("daemon", "%s: stopping (%d loads running are cancelled, %d queued dropped)",
             why, running, queued);
    uint64_t one = 1;
    ssize_t wr = write(d->stop_fd, &one, sizeof one);
    (void)wr;
}

static void free_daemon(engine *d)
{
    while (d->chains) {
        chain *c = d->chains;
        d->chains = c->next;
        pcd_delta_free(&c->pending);
        free(c);
    }
    while (d->cfgs) {
        cfg_node *n = d->cfgs;
        d->cfgs = n->older;
        pcd_config_free(&n->cfg);
        free(n);
    }
    if (d->stop_fd >= 0)
        close(d->stop_fd);
    if (d->done_fd >= 0)
        close(d->done_fd);
    free(d->workers);
    pthread_cond_destroy(&d->work);
    pthread_mutex_destroy(&d->mu);
}

/* The HTTP server's view of the daemon: counters under the lock, then
 * each chain's metadata from the store. */
static int engine_view(void *ctx, pcd_stats_view *v)
{
    engine *d = ctx;
    pthread_mutex_lock(&d->mu);
    size_t n = 0;
    for (chain *c = d->chains; c; c = c->next)
        n += c->active;
    *v = d->agg;
    v->chains = calloc(n ? n : 1, sizeof *v->chains);
    if (!v->chains) {
        pthread_mutex_unlock(&d->mu);
        return PC_ENOMEM;
    }
    size_t i = 0;
    for (chain *c = d->chains; c; c = c->next) {
        if (!c->active)
            continue;
        pcd_chain_stats *cs = &v->chains[i++];
        memcpy(cs->slug, c->slug, sizeof cs->slug);
        memcpy(cs->loads, c->loads, sizeof cs->loads);
        memcpy(cs->rejected, c->rejected, sizeof cs->rejected);
        cs->breaker = c->br.state;
    }
    v->nchains = i;
    v->started = d->ready;
    v->db_ok = d->db_ok;
    v->max_age_s = cur_cfg(d)->health_max_age_s;
    pthread_mutex_unlock(&d->mu);
    for (i = 0; i < v->nchains; i++) {
        pc_meta_rec m;
        pcd_chain_stats *cs = &v->chains[i];
        if (pcd_store_get_meta(d->store, cs->slug, &m) == PC_OK) {
            cs->cached = 1;
            cs->base_rows = m.base_rows;
            cs->store_rows = m.store_rows;
            cs->loaded_at_ms = m.loaded_at_ms;
        }
    }
    pcd_store_usage(d->store, &v->map_used, &v->map_size, &v->readers);
    v->have_lookups = pcd_store_lookups(d->store, &v->lookups) == PC_OK;
    v->now_ms = pc_now_ms();
    return PC_OK;
}

/* Tell systemd how far the daemon is: READY=1 once warm-up is done, and a
 * STATUS= line whenever it changes (`last` keeps the one sent). */
static void sd_report(engine *d, char *last, size_t len)
{
    char line[160];
    int nchains = 0, warm = 0, open = 0;
    pthread_mutex_lock(&d->mu);
    for (chain *c = d->chains; c; c = c->next) {
        if (!c->active)
            continue;
        nchains++;
        warm += c->warm;
        open += c->br.state != PC_BREAKER_CLOSED;
    }
    int ready = d->ready, db_ok = d->db_ok;
    pthread_mutex_unlock(&d->mu);
    if (ready)
        snprintf(line, sizeof line, "ready: %d chains, %d breakers open%s", nchains, open,
                 db_ok ? "" : ", database unreachable");
    else
        snprintf(line, sizeof line, "warming up: %d of %d chains loaded%s", warm, nchains,
                 db_ok ? "" : ", database unreachable");
    if (strcmp(line, last) != 0) {
        pcd_sd_status("%s", line);
        snprintf(last, len, "%s", line);
    }
    if (ready)
        pcd_sd_ready();
}

/* ---- the control channel's requests (control.c parses, these act) ---- */

/* Escape a value for the status line's error="..." field. */
static void quote(char *dst, size_t cap, const char *src)
{
    size_t j = 0;
    for (; *src && j + 3 < cap; src++) {
        char ch = *src == '\n' || *src == '\t' ? ' ' : *src;
        if (ch == '"' || ch == '\\')
            dst[j++] = '\\';
        dst[j++] = ch;
    }
    dst[j] = 0;
}

typedef struct chain_row {
    char slug[PC_CHAIN_MAX + 1];
    int  state, accept, breaker;
} chain_row;

static int ctl_status(void *ctx, char *out, size_t cap)
{
    engine *d = ctx;
    pthread_mutex_lock(&d->mu);
    size_t n = 0;
    for (chain *c = d->chains; c; c = c->next)
        n += c->active;
    chain_row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) {
        pthread_mutex_unlock(&d->mu);
        snprintf(out, cap, "internal: out of memory");
        return PC_ENOMEM;
    }
    size_t i = 0;
    for (chain *c = d->chains; c; c = c->next)
        if (c->active) {
            memcpy(rows[i].slug, c->slug, sizeof rows[i].slug);
            rows[i].state = c->state;
            rows[i].accept = c->accept;
            rows[i++].breaker = c->br.state;
        }
    pc_daemon_rec dr = d->drec;
    int db_ok = d->db_ok;
    pthread_mutex_unlock(&d->mu);
    int64_t now = pc_now_ms();
    size_t len = 0;
    int w = snprintf(out, cap, "daemon state=%s ready=%u pid=%u uptime_s=%lld db=%s chains=%zu\n",
                     pc_daemon_state_name((int)dr.state), dr.ready, (unsigned)getpid(),
                     (long long)((now - dr.started_ms) / 1000), db_ok ? "ok" : "down", n);
    len = w > 0 ? (size_t)w : 0;
    static const char *const load_names[] = { "idle", "queued", "running" };
    for (i = 0; i < n && len < cap; i++) {
        pc_meta_rec m;
        int have = pcd_store_get_meta(d->store, rows[i].slug, &m) == PC_OK;
        if (!have)
            memset(&m, 0, sizeof m);
        char err[2 * sizeof m.last_error];
        quote(err, sizeof err, m.last_error);
        w = snprintf(out + len, cap - len,
                     "chain=%s version=%llu rows=%llu base_rows=%llu store_rows=%llu age_s=%lld "
                     "breaker=%s last_result=%s failures=%u loads_ok=%llu loads_failed=%llu "
                     "load=%s accept=%d error=\"%s\"\n",
                     rows[i].slug, (unsigned long long)m.version,
                     (unsigned long long)(m.base_rows + m.store_rows),
                     (unsigned long long)m.base_rows, (unsigned long long)m.store_rows,
                     have ? (long long)((now - m.loaded_at_ms) / 1000) : -1LL,
                     pc_breaker_name(rows[i].breaker), pc_load_result_name((int)m.last_result),
                     m.consecutive_failures, (unsigned long long)m.loads_ok,
                     (unsigned long long)m.loads_failed, load_names[rows[i].state],
                     rows[i].accept, err);
        if (w < 0 || (size_t)w >= cap - len) {
            free(rows);
            snprintf(out, cap, "internal: status of %zu chains is larger than %zu bytes", n,
                     cap);
            return PC_EIO;
        }
        len += (size_t)w;
    }
    if (len > 0 && out[len - 1] == '\n')
        out[--len] = 0;
    free(rows);
    return PC_OK;
}

static int ctl_metrics(void *ctx, char *out, size_t cap)
{
    pcd_stats_view v;
    if (engine_view(ctx, &v) != PC_OK) {
        snprintf(out, cap, "internal: out of memory");
        return PC_ENOMEM;
    }
    size_t len = 0;
    char *text = pcd_metrics_render(&v, &len);
    free(v.chains);
    if (!text) {
        snprintf(out, cap, "internal: out of memory");
        return PC_ENOMEM;
    }
    int rc = PC_OK;
    if (len >= cap) {
        snprintf(out, cap, "internal: metrics are %zu bytes, more than a reply holds; read "
                 "them from [http] /metrics", len);
        rc = PC_EIO;
    } else {
        memcpy(out, text, len + 1);
        if (len > 0 && out[len - 1] == '\n')
            out[len - 1] = 0;
    }
    free(text);
    return rc;
}

/* The chain an operator named, active in the source; else the answer. */
static chain *ctl_chain(engine *d, const char *slug, char *out, size_t cap)
{
    chain *c = find_chain(d, slug);
    if (!c || !c->active)
        snprintf(out, cap, "no_chain: chain %s is not an active chain of this daemon", slug);
    return c && c->active ? c : NULL;
}

static void audit_note(engine *d, const char *text, char *out, size_t cap)
{
    uint64_t seq = 0;
    size_t len = strlen(out);
    if (pcd_store_audit(d->store, text, &seq) == PC_OK)
        snprintf(out + len, cap - len, " (audit #%llu)", (unsigned long long)seq);
    else
        LOG_ERR("audit", "cannot write the audit record: %s", text);
}

static int ctl_done_before(void *ctx, const pcd_actor *who, uint64_t *seq)
{
    engine *d = ctx;
    char uid[32], req[64];
    snprintf(uid, sizeof uid, " uid=%u ", who->uid);
    snprintf(req, sizeof req, " req=%s ", who->id);
    /* 4,096 records back: far beyond any retry's reach, still a few ms. */
    return pcd_store_audit_find(d->store, uid, req, 4096, seq);
}

static int ctl_reload(void *ctx, const char *slug, const pcd_actor *who, char *out, size_t cap)
{
    engine *d = ctx;
    char text[PC_AUDIT_TEXT_MAX];
    pthread_mutex_lock(&d->mu);
    if (strcmp(slug, "all") == 0) {
        d->sync_asked = 1; /* the listing queues every active chain */
        wake_main(d);
        snprintf(out, cap, "reload of every active chain queued");
    } else {
        chain *c = ctl_chain(d, slug, out, cap);
        if (!c) {
            pthread_mutex_unlock(&d->mu);
            return PC_ENOCHAIN;
        }
        request_load(d, c);
        snprintf(out, cap, "reload of %s queued", slug);
    }
    pthread_mutex_unlock(&d->mu);
    snprintf(text, sizeof text, "%s action=reload chain=%s result=queued", who->text, slug);
    audit_note(d, text, out, cap);
    return PC_OK;
}

static int ctl_breaker_reset(void *ctx, const char *slug, const pcd_actor *who, char *out,
                             size_t cap)
{
    engine *d = ctx;
    pthread_mutex_lock(&d->mu);
    chain *c = ctl_chain(d, slug, out, cap);
    if (!c) {
        pthread_mutex_unlock(&d->mu);
        return PC_ENOCHAIN;
    }
    int before = c->br.state;
    int changed = pcd_breaker_reset(&c->br, pc_mono_ms());
    if (changed) {
        c->backoff_ms = 0;
        request_load(d, c);
    }
    pthread_mutex_unlock(&d->mu);
    if (!changed) {
        snprintf(out, cap, "breaker of %s is already closed; nothing changed", slug);
        return PC_OK;
    }
    LOG_WARN("breaker", "chain %s: breaker %s -> closed (reset by uid %u, stated)", slug,
             pc_breaker_name(before), who->uid);
    pcd_events_send(d->events, PC_EV_BREAKER, slug, 0, PC_BREAKER_CLOSED, "%s -> closed (reset)",
                    pc_breaker_name(before));
    char text[PC_AUDIT_TEXT_MAX];
    snprintf(text, sizeof text, "%s action=breaker_reset chain=%s result=ok from=%s", who->text,
             slug, pc_breaker_name(before));
    snprintf(out, cap, "breaker of %s: %s -> closed; load queued", slug, pc_breaker_name(before));
    pc_meta_rec m;
    uint64_t seq = 0;
    if (pcd_store_get_meta(d->store, slug, &m) == PC_OK) {
        /* The new state and its audit record in one transaction. */
        m.breaker = PC_BREAKER_CLOSED;
        m.breaker_since_ms = pc_now_ms();
        m.probe_at_ms = 0;
        m.consecutive_failures = 0;
        if (pcd_store_put_meta_audited(d->store, slug, &m, text, &seq) == PC_OK) {
            size_t len = strlen(out);
            snprintf(out + len, cap - len, " (audit #%llu)", (unsigned long long)seq);
        } /* else the store logged why; the reply says no audit number */
    } else {
        audit_note(d, text, out, cap); /* never loaded: no state on disk to change */
    }
    return PC_OK;
}

static int ctl_accept(void *ctx, const char *slug, const pcd_actor *who, char *out, size_t cap)
{
    engine *d = ctx;
    pc_meta_rec m;
    if (pcd_store_get_meta(d->store, slug, &m) != PC_OK)
        memset(&m, 0, sizeof m);
    pthread_mutex_lock(&d->mu);
    chain *c = ctl_chain(d, slug, out, cap);
    if (!c) {
        pthread_mutex_unlock(&d->mu);
        return PC_ENOCHAIN;
    }
    if (m.last_result != PC_LOAD_REFUSED) {
        pthread_mutex_unlock(&d->mu);
        snprintf(out, cap, "nothing_to_accept: the last load of %s was not refused by a guard "
                 "(last result: %s)", slug, pc_load_result_name((int)m.last_result));
        return PC_EREFUSED;
    }
    c->accept = 1;
    snprintf(c->accept_by, sizeof c->accept_by, "%s", who->text);
    request_load(d, c);
    pthread_mutex_unlock(&d->mu);
    snprintf(out, cap, "%s: the next load skips the refuse guards once (%s); load queued; the "
             "audit record is written with its publish", slug, m.last_error);
    return PC_OK;
}

int pcd_run(const char *config_file, int mode, int sig_fd)
{
    engine dd, *d = &dd;
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->work, NULL);
    d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    d->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    d->db_ok = 1;
    srand((unsigned)(pc_now_ms() ^ getpid()));

    d->cfgs = calloc(1, sizeof *d->cfgs);
    char err[1024];
    if (!d->cfgs || d->stop_fd < 0 || d->done_fd < 0) {
        fprintf(stderr, "pricecached: out of resources\n");
        free_daemon(d);
        return PCD_EXIT_RUNTIME;
    }
    if (pcd_config_load(&d->cfgs->cfg, config_file, err, sizeof err) != PC_OK) {
        LOG_ERR("config", "%s", err);
        free_daemon(d);
        return PCD_EXIT_USAGE;
    }
    const pcd_config *cfg = cur_cfg(d);
    pcd_log_level = cfg->log_level;
    char *red = pcd_dsn_redact(cfg->dsn);
    LOG_INFO("daemon", "pricecached %s starting (%s mode): cache %s, database \"%s\", "
             "concurrency %d, timeout %d s, refresh %d s", PC_VERSION,
             mode == PCD_MODE_ONCE ? "once" : "foreground", cfg->path, red ? red : "?",
             cfg->concurrency, cfg->timeout_s, cfg->refresh_s);
    free(red);

    int rc = pcd_store_open(cfg, &d->store, err, sizeof err);
    if (rc != PC_OK) {
        LOG_ERR("cache", "%s", err);
        free_daemon(d);
        return PCD_EXIT_RUNTIME;
    }

    if (mode != PCD_MODE_ONCE && cfg->bus_events[0]) {
        /* Not fatal: readers do not need the bus; the log says why. */
        if (pcd_events_open(cfg->bus_events, &d->events, err, sizeof err) != PC_OK)
            LOG_ERR("bus", "%s; events are off", err);
        else
            LOG_INFO("bus", "bus: events on %s", cfg->bus_events);
    }

    pcd_control *control = NULL;
    if (mode != PCD_MODE_ONCE && cfg->bus_control[0]) {
        pcd_control_ops ops = { d, ctl_status, ctl_metrics, ctl_reload, ctl_breaker_reset,
                                ctl_accept, ctl_done_before };
        /* Not fatal: the cache is served without it; the log says why. */
        if (pcd_control_open(cfg->bus_control, &ops, &control, err, sizeof err) != PC_OK)
            LOG_ERR("bus", "%s; the control channel is off", err);
        else
            LOG_INFO("bus", "bus: control on %s", cfg->bus_control);
    }
    if (mode != PCD_MODE_ONCE &&
        pcd_store_put_endpoints(d->store, d->events ? cfg->bus_events : "",
                                control ? cfg->bus_control : "") != PC_OK)
        LOG_WARN("cache", "cannot record the bus addresses for tools");

    /* A restart serves what is on disk at once: ready if there is any. */
    char **cached = NULL;
    size_t ncached = 0;
    pcd_store_list_chains(d->store, &cached, &ncached);
    if (pcd_store_get_daemon(d->store, &d->drec) != PC_OK)
        memset(&d->drec, 0, sizeof d->drec);
    d->drec.started_ms = pc_now_ms();
    d->drec.state = PC_DAEMON_STARTING;
    d->drec.ready = 0;
    d->drec.ready_ms = 0;
    if (ncached > 0) {
        d->ready = 1;
        LOG_INFO("daemon", "serving %zu chains from the cache on disk while they reload", ncached);
        for (size_t i = 0; i < ncached; i++) {
            chain *c = add_chain(d, cached[i]);
            if (c)
                c->active = 1; /* until a listing of the source says otherwise */
            /* Heartbeats from the start, even for a chain that will send no
             * event (its breaker open on disk): subscribers of the last run
             * see the new run on it and resync. */
            pc_meta_rec m;
            if (d->events && pcd_store_get_meta(d->store, cached[i], &m) == PC_OK)
                pcd_events_track(d->events, cached[i], m.version);
        }
    }
    free_list(cached, ncached);
    write_daemon_rec(d);

    d->nworkers = cfg->concurrency;
    d->workers = calloc((size_t)d->nworkers, sizeof *d->workers);
    worker *ws = calloc((size_t)d->nworkers, sizeof *ws);
    if (!d->workers || !ws) {
        LOG_ERR("daemon", "out of memory");
        free(ws);
        pcd_store_close(d->store);
        free_daemon(d);
        return PCD_EXIT_RUNTIME;
    }
    int started = 0;
    for (int i = 0; i < d->nworkers; i++) {
        ws[i].d = d;
        ws[i].id = i;
        if (pthread_create(&d->workers[i], NULL, worker_main, &ws[i]) != 0) {
            LOG_ERR("daemon", "cannot start load worker %d: %s", i, strerror(errno));
            break;
        }
        started++;
    }

    pg_conn *ctl = NULL;
    unsigned ctl_gen = 0;
    int exit_code = PCD_EXIT_OK;
    int listing_failed = 0;
    int sync_backoff = 1000;
    int64_t next_sync = pc_mono_ms(); /* now */
    const char *why = "done";
    int synced_once = 0;
    int64_t last_beat = 0;
    char sd_line[160] = "";

    pcd_listen *lis = NULL;
    if (mode != PCD_MODE_ONCE && started == d->nworkers &&
        pcd_listen_start(cfg, d->stop_fd, on_notice, d, &lis) != PC_OK)
        LOG_ERR("listen", "cannot start the listener thread; changes arrive with the refresh only");
    pcd_http *http = NULL;
    if (mode != PCD_MODE_ONCE && started == d->nworkers && cfg->http_listen[0]) {
        char herr[512];
        /* Not fatal: prices are served without it; the log says why. */
        if (pcd_http_start(cfg->http_listen, engine_view, d, &http, herr, sizeof herr) != PC_OK)
            LOG_ERR("http", "%s; metrics and health probes are off", herr);
        else
            LOG_INFO("http", "http: serving /metrics, /livez, /startupz, /readyz on %s",
                     cfg->http_listen);
    }

    while (started == d->nworkers) {
        int64_t now = pc_mono_ms();
        pthread_mutex_lock(&d->mu);
        if (d->sync_asked) {
            d->sync_asked = 0;
            next_sync = now;
        } else if (now >= next_sync && synced_once) {
            d->agg.invalidations[PCD_INV_REFRESH]++;
        }
        pthread_mutex_unlock(&d->mu);
        if (now >= next_sync) {
            rc = sync_chains(d, &ctl, &ctl_gen);
            cfg = cur_cfg(d);
            if (rc == PC_OK) {
                synced_once = 1;
                sync_backoff = 1000;
                next_sync = cfg->refresh_s > 0 ? now + (int64_t)cfg->refresh_s * 1000
                                               : INT64_MAX;
            } else if (mode == PCD_MODE_ONCE) {
                listing_failed = 1;
                break;
            } else {
                next_sync = now + sync_backoff / 2 + rand() % (sync_backoff / 2 + 1);
                sync_backoff = sync_backoff * 2 > 10000 ? 10000 : sync_backoff * 2;
            }
        }
        if (mode != PCD_MODE_ONCE)
            queue_due(d, now); /* --once makes one attempt per chain */
        pthread_mutex_lock(&d->mu);
        check_warm(d);
        update_state(d);
        pthread_mutex_unlock(&d->mu);
        reap_inactive(d);
        if (mode == PCD_MODE_ONCE && synced_once && idle(d))
            break;
        if (mode != PCD_MODE_ONCE)
            sd_report(d, sd_line, sizeof sd_line);
        pcd_sd_watchdog();

        if (d->events && pc_mono_ms() - last_beat >= 1000) {
            pcd_events_heartbeat(d->events);
            last_beat = pc_mono_ms();
        }
        int64_t wake = next_wakeup(d, next_sync);
        if (d->events && wake > last_beat + 1000)
            wake = last_beat + 1000;
        int64_t wait = wake - pc_mono_ms();
        if (mode == PCD_MODE_ONCE)
            wait = 200; /* retries are not waited for in --once */
        if (wait < 0)
            wait = 0;
        if (wait > 60000)
            wait = 60000;
        if (pcd_sd_watchdog_ms() > 0 && wait > pcd_sd_watchdog_ms() / 2)
            wait = pcd_sd_watchdog_ms() / 2; /* pcd_sd_watchdog pings at most every quarter */
        struct pollfd pf[3] = { { d->done_fd, POLLIN, 0 }, { sig_fd, POLLIN, 0 },
                                { control ? pcd_control_fd(control) : -1, POLLIN, 0 } };
        int np = poll(pf, 3, (int)wait); /* poll skips negative descriptors */
        if (np > 0 && (pf[2].revents & POLLIN))
            pcd_control_serve(control);
        if (np < 0 && errno != EINTR) {
            LOG_ERR("daemon", "poll: %s", strerror(errno));
            exit_code = PCD_EXIT_RUNTIME;
            break;
        }
        if (np > 0 && (pf[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t rd = read(d->done_fd, &v, sizeof v);
            (void)rd;
        }
        if (np > 0 && sig_fd >= 0 && (pf[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                    why = si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT";
                    break;
                } else if (si.ssi_signo == SIGHUP) {
                    reload_config(d, config_file);
                    cfg = cur_cfg(d);
                } else if (si.ssi_signo == SIGUSR1) {
                    LOG_INFO("daemon", "SIGUSR1: reloading every chain");
                    pthread_mutex_lock(&d->mu);
                    d->agg.invalidations[PCD_INV_SIGNAL]++;
                    pthread_mutex_unlock(&d->mu);
                    next_sync = 0;
                }
            }
        }
    }

    if (mode == PCD_MODE_ONCE && strcmp(why, "done") == 0)
        why = "--once";
    if (mode != PCD_MODE_ONCE) {
        pcd_sd_status("stopping (%s)", why);
        pcd_sd_stopping();
    }
    shutdown_daemon(d, why);
    for (int i = 0; i < started; i++)
        pthread_join(d->workers[i], NULL);
    pcd_listen_stop(lis);
    pcd_http_stop(http);
    pcd_control_close(control);
    pcd_events_close(d->events);
    free(ws);
    if (ctl)
        pcd_pg_close(ctl);

    if (mode == PCD_MODE_ONCE && (listing_failed || d->failures > 0))
        exit_code = PCD_EXIT_FAILED;
    if (started != d->nworkers)
        exit_code = PCD_EXIT_RUNTIME;
    d->drec.state = PC_DAEMON_STOPPED;
    write_daemon_rec(d);
    pcd_store_close(d->store);
    LOG_INFO("daemon", "stopped: every write transaction committed or aborted, cache closed "
             "cleanly (exit %d)", exit_code);
    free_daemon(d);
    return exit_code;
}

int pcd_run_migrate(const char *config_file)
{
    pcd_config cfg;
    char err[1024];
    if (pcd_config_load(&cfg, config_file, err, sizeof err) != PC_OK) {
        LOG_ERR("config", "%s", err);
        pcd_config_free(&cfg);
        return PCD_EXIT_USAGE;
    }
    pcd_log_level = cfg.log_level;
    pg_conn *conn = NULL;
    int rc = pcd_pg_connect(&cfg, &conn, err, sizeof err);
    int applied = 0;
    if (rc == PC_OK)
        rc = pcd_migrate(conn, &applied, err, sizeof err);
    if (conn)
        pcd_pg_close(conn);
    pcd_config_free(&cfg);
    if (rc != PC_OK) {
        LOG_ERR("migrate", "migration failed: %s", err);
        return PCD_EXIT_RUNTIME;
    }
    LOG_INFO("migrate", "schema up to date (%d migrations applied now)", applied);
    return PCD_EXIT_OK;
}
