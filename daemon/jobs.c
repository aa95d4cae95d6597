/* jobs.c - the engine's worker threads: the load job (a whole chain, guards, publish) and the delta job (changed keys), with their breaker and metadata bookkeeping. */
#include "jobs.h"

/* Owns: the workers and their PostgreSQL connections; what one load or
 * delta does from the query to the publish and the events it sends.
 * May call: notice, schedule, engine, pgsource, pgdelta, store, events,
 * breaker, snapshot, log. */

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coalesce.h"
#include "log.h"
#include "notice.h"
#include "pgdelta.h"
#include "pgreplica.h"
#include "pgsource.h"
#include "schedule.h"
#include "snapshot.h"

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

/* When a delta reached each stage of its way (pcd_mono_us; 0 unknown),
 * for its log line: where a change's time goes, from the listener reading
 * its notification to the publish event. */
typedef struct stages {
    uint64_t recv;      /* the oldest of its notices read by the listener */
    uint64_t queued;    /* the chain put on the run queue */
    uint64_t taken;     /* a worker took it */
    uint64_t fetched;   /* its rows read from PostgreSQL */
    uint64_t committed; /* its LMDB transaction committed: visible to readers */
    uint64_t sent;      /* the publish event sent */
} stages;

static double ms_between(uint64_t from, uint64_t to)
{
    return ((double)to - (double)from) / 1000.0;
}

typedef struct worker {
    engine  *d;
    pg_conn *conn[PCD_SRC_MAX];     /* per source: 0 the primary, i replica i */
    unsigned conn_gen[PCD_SRC_MAX]; /* engine.conn_gen when made */
    unsigned src_gen[PCD_SRC_MAX];  /* the sources' list generation when made */
    pcd_delta_stmts stmts[PCD_SRC_MAX]; /* the delta statements prepared on each */
    unsigned want_gen;   /* engine.conn_gen at the job's start */
    int      id;
} worker;

static void drop_conn(worker *w, int idx)
{
    pcd_pg_close(w->conn[idx]);
    w->conn[idx] = NULL;
    pcd_delta_stmts_reset(&w->stmts[idx]);
}

/* The connection to source `idx` (its DSN `dsn`, list generation `sgen`),
 * (re)made when it broke or the configuration changed since it was made. */
static int ensure_conn(worker *w, const pcd_config *cfg, int idx, const char *dsn,
                       unsigned sgen, char *err, size_t errlen)
{
    if (w->conn[idx] && (w->conn_gen[idx] != w->want_gen || w->src_gen[idx] != sgen ||
                         !pcd_pg_ok(w->conn[idx])))
        drop_conn(w, idx);
    if (w->conn[idx])
        return PC_OK;
    w->conn_gen[idx] = w->want_gen;
    w->src_gen[idx] = sgen;
    return pcd_pg_connect_dsn(cfg, dsn ? dsn : cfg->dsn, &w->conn[idx], err, errlen);
}

/* One read of a job (a chain's load, a delta's keys) on a connection and
 * what is prepared on it. */
typedef int (*read_fn)(pg_conn *c, pcd_delta_stmts *st, const pcd_config *cfg,
                       const pcd_cancel *cx, void *arg, char *err, size_t errlen);

/* Run `fn` on the source the choice gives (sources.h): a replica that
 * fails (or cannot show the notified changes in time) hands the read to
 * the next source, the primary last; `reset` empties what the failed
 * attempt gathered, so nothing of it is published.  Only the last
 * source's failure is the job's: a chain's breaker opens only when no
 * source can serve it.  Returns fn's result (err its message). */
static int read_sources(worker *w, const pcd_config *cfg, const char *slug, int kind, int64_t t0,
                        read_fn fn, void (*reset)(void *), void *arg, char *err, size_t errlen)
{
    engine *d = w->d;
    unsigned exclude = 0;
    uint64_t seq = pcd_sources_notice_seq(d->sources);
    int64_t deadline = t0 + (int64_t)cfg->timeout_s * 1000;
    char fallback[256] = "";
    int again = 0; /* the source to try once more on a new connection, + 1 */
    for (int attempt = 0;; attempt++) {
        char *dsn = NULL;
        unsigned sgen = 0;
        int idx = pcd_sources_choose(d->sources, kind, exclude, &dsn, &sgen);
        if (fallback[0]) /* the reason the primary serves, rather than the choice's */
            pcd_sources_fallback(d->sources, idx, kind, fallback);
        fallback[0] = 0;
        pg_conn *before = w->conn[idx];
        int rc = ensure_conn(w, cfg, idx, dsn, sgen, err, errlen);
        int reused = before && before == w->conn[idx];
        free(dsn);
        if (rc == PC_OK && idx > 0) {
            char why[256] = "";
            rc = pcd_sources_caught_up(d->sources, w->conn[idx], idx, seq, cfg->replica_wait_ms,
                                        d->stop_fd, why, sizeof why);
            if (rc == PC_ETIMEDOUT) {
                /* Past the deadline: from the primary, never an older value. */
                LOG_DBG("load", "chain %s: %s", slug, why);
                snprintf(fallback, sizeof fallback, "%s", why);
                exclude = ~1u;
                continue;
            }
            if (rc != PC_OK)
                snprintf(err, errlen, "%s", why);
        }
        if (rc == PC_OK) {
            pcd_cancel cx = { .deadline_ms = attempt ? pc_mono_ms() + (int64_t)cfg->timeout_s * 1000
                                                     : deadline,
                              .stop_fd = d->stop_fd };
            rc = fn(w->conn[idx], &w->stmts[idx], cfg, &cx, arg, err, errlen);
        }
        if (rc == PC_ECANCELED)
            return rc;
        if (w->conn[idx] && !pcd_pg_ok(w->conn[idx])) {
            drop_conn(w, idx);
            /* An idle connection the server dropped (a restart, an idle
             * timeout) tells nothing of the source now: one more try on a
             * new connection before it counts as the source's failure. */
            if (rc != PC_OK && reused && idx > 0 && again != idx + 1) {
                LOG_DBG("load", "chain %s: connection to source %d was gone (%s); again on a "
                        "new one", slug, idx, err);
                again = idx + 1;
                reset(arg);
                continue;
            }
        }
        pcd_sources_done(d->sources, idx, sgen, kind, rc == PC_OK, err);
        if (rc == PC_OK) {
            if (idx > 0 && w->conn[0])
                drop_conn(w, 0); /* replicas serve again: the primary keeps LISTEN only */
            return rc;
        }
        if (idx == 0)
            return rc;
        LOG_WARN("load", "chain %s: %s from replica%d failed (%s); reading from the next source",
                 slug, kind == PCD_READ_DELTA ? "delta" : "load", idx, err);
        exclude |= 1u << idx;
        reset(arg);
    }
}

typedef struct load_arg {
    const char   *slug;
    pcd_snapshot *snap;
    const pcd_delta *dl;
} load_arg;

static int read_load(pg_conn *c, pcd_delta_stmts *st, const pcd_config *cfg,
                     const pcd_cancel *cx, void *arg, char *err, size_t errlen)
{
    (void)st;
    load_arg *a = arg;
    return pcd_pg_load_chain(c, cfg, a->slug, cx, a->snap, err, errlen);
}

static int read_delta(pg_conn *c, pcd_delta_stmts *st, const pcd_config *cfg,
                      const pcd_cancel *cx, void *arg, char *err, size_t errlen)
{
    load_arg *a = arg;
    return pcd_pg_fetch_delta(c, cfg, a->slug, a->dl, st, cx, a->snap, err, errlen);
}

static void reset_snap(void *arg)
{
    load_arg *a = arg;
    pcd_snapshot_reset(a->snap);
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
    pcd_store_expect(d->store, &snap);
    load_arg la = { c->slug, &snap, NULL };
    int rc = read_sources(w, cfg, c->slug, PCD_READ_LOAD, t0, read_load, reset_snap, &la, err,
                          sizeof err);
    double read_s = (double)(pc_mono_ms() - t0) / 1000.0;

    if (rc == PC_ECANCELED) {
        LOG_INFO("load", "chain %s: load cancelled by shutdown after %.3f s", c->slug, read_s);
        pcd_snapshot_free(&snap);
        return PC_LOAD_NONE;
    }
    if (rc != PC_OK) {
        result = rc == PC_ETIMEDOUT ? PC_LOAD_TIMEOUT : PC_LOAD_FAILED;
        LOG_ERR("load", "chain %s: load failed after %.3f s (%s)", c->slug, read_s, err);
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
        pcd_events_send(d->events, PC_EV_PUBLISH, c->slug, ps.version,
                        (uint32_t)(snap.base_rows + snap.store_rows),
                        "reload: %llu put, %llu deleted", (unsigned long long)ps.put,
                        (unsigned long long)ps.deleted);
        LOG_INFO("load", "chain %s: published version %llu: %llu base, %llu store rows "
                 "(%llu put, %llu deleted, %llu unchanged%s) in %.3f s (read %.3f s, "
                 "write %.3f s)", c->slug, (unsigned long long)ps.version,
                 (unsigned long long)snap.base_rows, (unsigned long long)snap.store_rows,
                 (unsigned long long)ps.put, (unsigned long long)ps.deleted,
                 (unsigned long long)ps.unchanged,
                 ps.same ? ": the rows digest as the cache's, none compared" : "",
                 (double)(pc_mono_ms() - t0) / 1000.0, read_s,
                 (double)(pc_mono_ms() - p0) / 1000.0);
    } else {
        LOG_ERR("load", "chain %s: publish failed, the previous snapshot stays (%s)",
                c->slug, err);
        /* The database answered; the breaker guards it, not the disk. */
        result = load_failed_bookkeeping(d, c, cfg, t0, PC_LOAD_FAILED, err, 0);
    }
    pcd_snapshot_free(&snap);
#ifdef __GLIBC__
    /* A load's snapshot and its write transaction's pages were freed, but
     * glibc keeps freed memory in its arenas (a 1.2 M-row chain left the
     * idle daemon at 173 MB, 94 MB with this): hand it back. */
    malloc_trim(0);
#endif
    return result;
}

/* Apply the changed keys of a chain as one small transaction.  Anything
 * the delta cannot settle alone (rejected rows, a chain not cached yet)
 * asks for a full reload instead. */
static int delta_one(worker *w, chain *c, const pcd_config *cfg, int64_t t0, pcd_delta *dl,
                     uint64_t rows, stages *sg)
{
    engine *d = w->d;
    char err[512] = "";
    pcd_snapshot found;
    pcd_snapshot_init(&found, c->slug);
    uint64_t f0 = pcd_mono_us();
    load_arg la = { c->slug, &found, dl };
    int rc = read_sources(w, cfg, c->slug, PCD_READ_DELTA, t0, read_delta, reset_snap, &la, err,
                          sizeof err);
    sg->fetched = pcd_mono_us();
    if (rc == PC_ECANCELED) {
        pcd_snapshot_free(&found);
        return PC_LOAD_NONE;
    }
    if (rc != PC_OK) {
        LOG_ERR("load", "chain %s: fetching %zu changed keys failed (%s); a full reload follows",
                c->slug, dl->n, err);
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
    uint64_t w0 = pcd_mono_us();
    rc = pcd_store_apply_delta(d->store, c->slug, &found, dl->keys, dl->n, &meta, &ps,
                               err, sizeof err);
    sg->committed = pcd_mono_us();
    pcd_snapshot_free(&found);
    if (rc == PC_NOTFOUND)
        return PC_LOAD_NEED_FULL;
    if (rc != PC_OK) {
        LOG_ERR("load", "chain %s: applying changes failed, a full reload follows (%s)",
                c->slug, err);
        return PC_LOAD_NEED_FULL;
    }
    if (ps.version) {
        /* The event first: subscribers hear of the data right after its
         * commit, before anything else this job does. */
        pcd_events_send(d->events, PC_EV_PUBLISH, c->slug, ps.version, (uint32_t)dl->n,
                        "delta: %llu put, %llu deleted", (unsigned long long)ps.put,
                        (unsigned long long)ps.deleted);
        sg->sent = pcd_mono_us();
        /* The stages from the notice on: fetch and write are the job's
         * own, the rest is the way to it (listener, run queue, worker). */
        uint64_t from = sg->recv ? sg->recv : sg->taken;
        LOG_INFO("load", "chain %s: applied %zu changed keys as version %llu (%llu put, "
                 "%llu deleted; a delta, the chain holds %llu rows) in %.2f ms (fetch %.2f ms, "
                 "write %.2f ms); since the %s: queued +%.2f, taken +%.2f, fetched +%.2f, "
                 "committed +%.2f, event sent +%.2f ms", c->slug, dl->n,
                 (unsigned long long)ps.version, (unsigned long long)ps.put,
                 (unsigned long long)ps.deleted, (unsigned long long)rows,
                 ms_between(f0, sg->committed), ms_between(f0, w0),
                 ms_between(w0, sg->committed), sg->recv ? "notice" : "job's start",
                 sg->queued >= from ? ms_between(from, sg->queued) : 0.0,
                 ms_between(from, sg->taken), ms_between(from, sg->fetched),
                 ms_between(from, sg->committed), ms_between(from, sg->sent));
    } else
        LOG_DBG("load", "chain %s: %zu changed keys, none different from the cache",
                c->slug, dl->n);
    int changed;
    int br_state = breaker_note(d, c, cfg, 1, now, &changed);
    if (changed) {
        /* The delta's meta record went out before the breaker counted
         * this success: the probe that closes the breaker records it, or
         * the state on disk (the console, `pricecache info`) stays
         * half-open until the next full load. */
        pc_meta_rec m;
        if (pcd_store_get_meta(d->store, c->slug, &m) == PC_OK) {
            m.breaker = (uint32_t)br_state;
            m.breaker_since_ms = pc_now_ms();
            m.probe_at_ms = 0;
            pcd_store_put_meta(d->store, c->slug, &m);
        }
    }
    return PC_LOAD_OK;
}

/* Log why a chain is reloaded whole when changes, not a request, led to
 * it: the mass-change decision is visible (README "Change propagation"). */
static void log_path(const chain *c, int path, size_t nkeys, uint64_t rows)
{
    if (path == PCD_PATH_DELTA || path == PCD_PATH_FULL_ASKED || path == PCD_PATH_FULL_NOKEYS)
        return;
    char why[200];
    pcd_coalesce_why(path, nkeys, rows, why, sizeof why);
    LOG_INFO("load", "chain %s: reloading the chain whole, not as a delta (%s)", c->slug, why);
}

/* A worker whose read fell back to the primary keeps that connection
 * while it idles, and the job that would close it (its next read from a
 * replica) may not come for a long time.  So an idle worker holding one
 * looks every second, and closes it once a replica serves again: the
 * primary's steady state is the LISTEN connection alone.  d->mu held. */
static void idle_drop_primary(worker *w, engine *d)
{
    while (!d->stopping && !d->qhead && w->conn[0] && pcd_sources_replicated(d->sources)) {
        pthread_mutex_unlock(&d->mu);
        int serves = pcd_sources_replica_serves(d->sources);
        if (serves)
            drop_conn(w, 0);
        pthread_mutex_lock(&d->mu);
        if (serves)
            return;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts); /* engine.work waits on the default clock */
        ts.tv_sec += 1;
        pthread_cond_timedwait(&d->work, &d->mu, &ts);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    engine *d = w->d;
    pthread_mutex_lock(&d->mu);
    chain *c;
    for (;;) {
        idle_drop_primary(w, d);
        if ((c = pcd_sched_take(d)) == NULL)
            break;
        int64_t t0 = pc_mono_ms();
        pcd_coalesce_in in = {
            .now_ms = t0, .first_notice_ms = c->first_notice_ms,
            .pending = c->pending.n || c->pending.overflow,
            .keys_unknown = c->pending.overflow != 0, .nopen = c->nopen,
        };
        if (!c->full && in.pending && !pcd_coalesce_take_now(&in)) {
            /* Keys of a transaction whose commit marker has not come yet
             * (it follows in the same stream, normally within
             * microseconds): taken now they could apply half of it.  Put
             * the chain back; the marker queues it again, and if none
             * comes the main loop queues it at the deadline (a reload). */
            c->state = PCD_CHAIN_IDLE;
            c->due_ms = (c->first_notice_ms ? c->first_notice_ms : t0) + PCD_TX_WAIT_MS;
            pcd_engine_wake(d);
            continue;
        }
        stages sg = { .recv = c->recv_us, .queued = c->queued_us, .taken = pcd_mono_us() };
        pcd_delta dl;
        pcd_delta_take(&dl, &c->pending);
        c->first_notice_ms = 0;
        c->recv_us = 0;
        c->last_start_ms = t0;
        /* A transaction whose marker is still due (the wait ran out): its
         * keys may be incomplete, but it has committed (NOTIFYs come after
         * commit), so a full reload sees all of it. */
        /* The size is judged below, once the chain's row count is read. */
        int path = pcd_coalesce_path(c->full, dl.n, dl.overflow, c->nopen, 1, UINT64_MAX);
        c->full = 0;
        if (path != PCD_PATH_DELTA)
            c->nopen = 0;
        d->running++;
        const pcd_config *cfg = cur_cfg(d);
        w->want_gen = d->conn_gen;
        int allowed = pcd_breaker_allow(&c->br, t0);
        int half_open = c->br.state == PC_BREAKER_HALF_OPEN;
        pthread_mutex_unlock(&d->mu);

        /* By size, outside mu (the store's memo; a chain read for the
         * first time may wait for a commit): a mass change is reloaded. */
        uint64_t rows = 0;
        if (path == PCD_PATH_DELTA) {
            pc_meta_rec m;
            int cached = pcd_store_get_meta(d->store, c->slug, &m) == PC_OK;
            rows = cached ? m.base_rows + m.store_rows : 0;
            path = pcd_coalesce_path(0, dl.n, 0, 0, cached, rows);
        }
        int full = path != PCD_PATH_DELTA;
        int result;
        if (!allowed) {
            LOG_DBG("load", "chain %s: load refused at once, breaker open", c->slug);
            result = PC_LOAD_NONE;
        } else {
            if (half_open)
                LOG_INFO("breaker", "chain %s: half-open probe", c->slug);
            log_path(c, path, dl.n, rows);
            result = full ? load_one(w, c, cfg, t0) : delta_one(w, c, cfg, t0, &dl, rows, &sg);
        }
        pcd_delta_free(&dl);

        pthread_mutex_lock(&d->mu);
        d->running--;
        c->state = PCD_CHAIN_IDLE;
        if (result > PC_LOAD_NONE && result < PC_LOAD__COUNT) {
            c->loads[result]++;
            pcd_view_observe(&d->agg, (double)(pc_mono_ms() - t0) / 1000.0);
        }
        if (!allowed) {
            c->warm = 1;
            c->due_ms = c->br.open_until_ms;
        } else {
            pcd_sched_after(d, c, result, cfg);
        }
        if (result == PC_LOAD_NEED_FULL)
            pcd_sched_load(d, c);
        else if (c->again && !d->stopping && c->full)
            pcd_sched_load(d, c);
        else if (c->again && !d->stopping)
            pcd_notice_schedule(d, c); /* changes arrived meanwhile: the next batch */
        pcd_engine_wake(d);
    }
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < PCD_SRC_MAX; i++)
        drop_conn(w, i);
    return NULL;
}

struct pcd_jobs {
    pthread_t *threads;
    worker    *ws;
    int        n, started;
};

int pcd_jobs_start(engine *d, int n)
{
    struct pcd_jobs *j = calloc(1, sizeof *j);
    if (j) {
        j->threads = calloc((size_t)n, sizeof *j->threads);
        j->ws = calloc((size_t)n, sizeof *j->ws);
    }
    if (!j || !j->threads || !j->ws) {
        LOG_ERR("daemon", "out of memory");
        if (j) {
            free(j->threads);
            free(j->ws);
            free(j);
        }
        return PC_ENOMEM;
    }
    j->n = n;
    d->jobs = j;
    for (int i = 0; i < n; i++) {
        j->ws[i].d = d;
        j->ws[i].id = i;
        if (pthread_create(&j->threads[i], NULL, worker_main, &j->ws[i]) != 0) {
            LOG_ERR("daemon", "cannot start load worker %d: %s", i, strerror(errno));
            return PC_EIO;
        }
        j->started++;
    }
    return PC_OK;
}

void pcd_jobs_join(engine *d)
{
    struct pcd_jobs *j = d->jobs;
    if (!j)
        return;
    for (int i = 0; i < j->started; i++)
        pthread_join(j->threads[i], NULL);
    free(j->threads);
    free(j->ws);
    free(j);
    d->jobs = NULL;
}
