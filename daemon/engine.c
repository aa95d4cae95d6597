/* engine.c - the engine's core: the chain table and its lock, the view filled from them, the daemon record. */
#include "engine.h"

/* Owns: chain records (creation, lookup, release), the engine's lifetime,
 * filling a pcd_view, judging and recording the daemon state.
 * May call: view, store, breaker, config, delta, log. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

int pcd_engine_init(engine *d)
{
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->work, NULL);
    pthread_cond_init(&d->drec_cv, NULL);
    d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    d->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    d->db_ok = 1;
    d->cfgs = calloc(1, sizeof *d->cfgs);
    if (!d->cfgs)
        return PC_ENOMEM;
    return d->stop_fd < 0 || d->done_fd < 0 ? PC_EIO : PC_OK;
}

void pcd_engine_free(engine *d)
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
    pthread_cond_destroy(&d->work);
    pthread_cond_destroy(&d->drec_cv);
    pthread_mutex_destroy(&d->mu);
}

chain *pcd_chain_find(engine *d, const char *slug)
{
    for (chain *c = d->chains; c; c = c->next)
        if (strcmp(c->slug, slug) == 0)
            return c;
    return NULL;
}

chain *pcd_chain_add(engine *d, const char *slug)
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

void pcd_engine_wake(engine *d)
{
    uint64_t one = 1;
    ssize_t wr = write(d->done_fd, &one, sizeof one);
    (void)wr;
}

void pcd_engine_view_locked(engine *d, pcd_view *v)
{
    memset(v, 0, sizeof *v);
    for (chain *c = d->chains; c; c = c->next) {
        if (!c->active)
            continue;
        v->nchains++;
        v->warm += c->warm;
        v->unclosed += c->br.state != PC_BREAKER_CLOSED;
        v->failing += !c->last_ok;
    }
    v->started = d->ready;
    v->db_ok = d->db_ok;
    v->db_state = d->db_state;
    v->db_since_ms = d->db_since_ms;
    memcpy(v->db_error, d->db_error, sizeof v->db_error);
    v->max_age_s = cur_cfg(d)->health_max_age_s;
    v->drec = d->drec;
    v->counters = d->agg;
    /* Progress, without the store's lock: a reader of the view answers
     * even while a writer is stuck. */
    pcd_watch_env(d->watch, &v->env);
    v->map_full = d->store ? pcd_store_map_full(d->store) : 0;
    if (d->store) {
        pcd_store_disk ds;
        pcd_store_disk_state(d->store, &ds);
        v->disk_full = ds.full;
        memcpy(v->disk_error, ds.error, sizeof v->disk_error);
    }
    v->lock_corrupt = d->store ? pcd_store_lock_state(d->store, v->lock_error,
                                                      sizeof v->lock_error) : 0;
    v->store_busy_ms = d->store ? pcd_store_busy_ms(d->store) : 0;
    long long loop = atomic_load(&d->loop_ms);
    int64_t since_loop = loop ? pc_mono_ms() - loop : 0;
    v->stall_ms = since_loop > v->store_busy_ms ? since_loop : v->store_busy_ms;
    v->stall_limit_s = cur_cfg(d)->health_stall_s;
    /* The primary as the engine judges the database; the replicas as
     * sampled.  The sources' lock is taken inside mu, never around it. */
    int db = pcd_view_db(v);
    pcd_sources_view(d->sources, db == PC_DB_UP ? PCD_SRC_UP : db == PC_DB_DOWN ? PCD_SRC_DOWN
                                                                                : PCD_SRC_UNKNOWN,
                     v->sources, &v->nsources);
    if (v->nsources > 0 && db == PC_DB_DOWN)
        snprintf(v->sources[0].why, sizeof v->sources[0].why, "%s", v->db_error);
}

int pcd_engine_view(engine *d, pcd_view *v, int what)
{
    pthread_mutex_lock(&d->mu);
    pcd_engine_view_locked(d, v);
    if (what & PCD_VIEW_CHAINS) {
        v->chains = calloc(v->nchains ? v->nchains : 1, sizeof *v->chains);
        if (!v->chains) {
            pthread_mutex_unlock(&d->mu);
            return PC_ENOMEM;
        }
        size_t i = 0;
        for (chain *c = d->chains; c; c = c->next) {
            if (!c->active)
                continue;
            pcd_view_chain *cs = &v->chains[i++];
            memcpy(cs->slug, c->slug, sizeof cs->slug);
            cs->load = c->state;
            cs->accept = c->accept;
            cs->breaker = c->br.state;
            cs->warm = c->warm;
            cs->last_ok = c->last_ok;
            memcpy(cs->loads, c->loads, sizeof cs->loads);
            memcpy(cs->rejected, c->rejected, sizeof cs->rejected);
        }
    }
    pthread_mutex_unlock(&d->mu);
    /* Each chain's metadata from the store, outside mu: a reader of the
     * view never holds the engine up (it may still wait for the store's
     * lock while a publish commits). */
    for (size_t i = 0; v->chains && i < v->nchains; i++) {
        pcd_view_chain *cs = &v->chains[i];
        cs->cached = pcd_store_get_meta(d->store, cs->slug, &cs->meta) == PC_OK;
        if (!cs->cached)
            memset(&cs->meta, 0, sizeof cs->meta);
    }
    if (what & PCD_VIEW_ENV) {
        pcd_store_usage(d->store, &v->map_used, &v->map_size, &v->readers);
        v->have_lookups =
            pcd_store_lookups(d->store, &v->lookups, &v->stats_rejected) == PC_OK;
    }
    v->now_ms = pc_now_ms();
    return PC_OK;
}

void pcd_engine_write_daemon(engine *d)
{
    d->drec.pid = (uint32_t)getpid();
    pcd_store_put_daemon(d->store, &d->drec); /* a failure is logged with its cause */
}

/* Send the database event pending since the last record write.  Caller
 * holds mu (the events socket has its own lock; sending does not block). */
static void send_db_event(engine *d)
{
    if (!d->db_ev_pending)
        return;
    d->db_ev_pending = 0;
    pcd_events_send(d->events, PC_EV_DATABASE, NULL, 0, (uint32_t)d->db_ev_value, "%s",
                    d->db_ev_text);
}

void pcd_engine_note_state(engine *d)
{
    pcd_view v;
    pcd_engine_view_locked(d, &v);
    uint32_t state = (uint32_t)pcd_view_state(&v);
    int write = 0;
    if (state != d->drec.state || (uint32_t)d->ready != d->drec.ready) {
        LOG_INFO("daemon", "daemon: %s -> %s", pc_daemon_state_name((int)d->drec.state),
                 pc_daemon_state_name((int)state));
        d->drec.state = state;
        d->drec.ready = (uint32_t)d->ready;
        if (d->ready && !d->drec.ready_ms)
            d->drec.ready_ms = pc_now_ms();
        write = 1;
    }
    /* The database as observed: recorded for pc_daemon_read (so readers
     * need not derive it from the chains), then told on the bus. */
    int db_before = (int)d->drec.db_state;
    int64_t db_before_ms = d->drec.db_since_ms;
    if (d->drec.db_state != (uint32_t)d->db_state || d->drec.db_since_ms != d->db_since_ms ||
        strcmp(d->drec.db_error, d->db_error) != 0) {
        d->drec.db_state = (uint32_t)d->db_state;
        d->drec.db_since_ms = d->db_since_ms;
        memcpy(d->drec.db_error, d->db_error, sizeof d->drec.db_error);
        write = 1;
    }
    /* The bus hears of the database after the record is written: a
     * subscriber that reads pc_daemon_read on this event sees the state it
     * announces.  From unknown to up (the first check of a run) is not
     * news. */
    if (db_before != d->db_state && d->db_state == PC_DB_DOWN) {
        d->db_ev_pending = 1;
        d->db_ev_value = PC_DB_DOWN;
        snprintf(d->db_ev_text, sizeof d->db_ev_text, "database unreachable: %s", d->db_error);
    } else if (db_before != d->db_state && d->db_state == PC_DB_UP && db_before == PC_DB_DOWN) {
        d->db_ev_pending = 1;
        d->db_ev_value = PC_DB_UP;
        snprintf(d->db_ev_text, sizeof d->db_ev_text,
                 "database reachable again after %.1f s; resynchronising every chain",
                 (double)(d->db_since_ms - db_before_ms) / 1000.0);
    }
    if (!write)
        return;
    if (d->recorder_on) { /* the recorder writes it, then sends the event */
        d->drec_dirty = 1;
        pthread_cond_signal(&d->drec_cv);
        return;
    }
    pcd_engine_write_daemon(d);
    send_db_event(d);
}

void pcd_engine_db_seen(void *ctx, int up, const char *error)
{
    engine *d = ctx;
    int want = up ? PC_DB_UP : PC_DB_DOWN;
    int64_t now = pc_now_ms();
    pthread_mutex_lock(&d->mu);
    int before = d->db_state;
    if (want != before) {
        if (want == PC_DB_DOWN)
            LOG_WARN("db", "database: unreachable (%s); serving the snapshots on disk", error);
        else if (before == PC_DB_DOWN)
            LOG_INFO("db", "database: reachable again after %.1f s",
                     (double)(now - d->db_since_ms) / 1000.0);
        if (before == PC_DB_DOWN)
            d->conn_gen++; /* loads and listings must not meet connections of before */
        d->db_state = want;
        d->db_since_ms = now;
    }
    snprintf(d->db_error, sizeof d->db_error, "%s", up ? "" : error);
    pthread_mutex_unlock(&d->mu);
    if (want != before)
        pcd_engine_wake(d);
}

/* What makes the sources record worth writing at once. */
static int src_changed(const pc_source_rec *a, const pc_source_rec *b)
{
    return a->state != b->state || a->up != b->up || a->breaker != b->breaker ||
           strcmp(a->name, b->name) != 0 || strcmp(a->where, b->where) != 0 ||
           strcmp(a->why, b->why) != 0 || a->lag_ms / 1000 != b->lag_ms / 1000 ||
           (a->lag_bytes == 0) != (b->lag_bytes == 0);
}

void pcd_engine_note_sources(engine *d)
{
    if (!d->sources || !d->store)
        return;
    /* The primary as the view judges it (pcd_view_db), without the rest
     * of a view: this runs at every pass of the main loop. */
    pcd_view dbv;
    memset(&dbv, 0, sizeof dbv);
    dbv.db_ok = d->db_ok;
    dbv.db_state = d->db_state;
    int db = pcd_view_db(&dbv);
    pcd_source_view sv_all[PCD_SRC_MAX];
    size_t nsv = 0;
    pcd_sources_view(d->sources, db == PC_DB_UP ? PCD_SRC_UP : db == PC_DB_DOWN ? PCD_SRC_DOWN
                                                                                : PCD_SRC_UNKNOWN,
                     sv_all, &nsv);
    if (nsv > 0 && db == PC_DB_DOWN)
        snprintf(sv_all[0].why, sizeof sv_all[0].why, "%s", d->db_error);
    pc_source_rec now[PC_SOURCES_MAX];
    size_t n = nsv < PC_SOURCES_MAX ? nsv : PC_SOURCES_MAX;
    memset(now, 0, sizeof now);
    int moved = n != d->src_n, changed = moved;
    for (size_t i = 0; i < n; i++) {
        const pcd_source_view *sv = &sv_all[i];
        pc_source_rec *e = &now[i];
        e->size = sizeof *e;
        e->state = (uint32_t)sv->state;
        e->up = (uint32_t)sv->up;
        e->breaker = (uint32_t)sv->breaker;
        e->lag_bytes = sv->lag_bytes;
        e->lag_ms = sv->lag_s < 0 ? -1 : (int64_t)(sv->lag_s * 1000.0);
        e->reads_load = sv->reads[PCD_READ_LOAD];
        e->reads_delta = sv->reads[PCD_READ_DELTA];
        _Static_assert(sizeof e->name == sizeof sv->name && sizeof e->where == sizeof sv->where &&
                       sizeof e->why == sizeof sv->why, "the record holds the view's texts");
        memcpy(e->name, sv->name, sizeof e->name);
        memcpy(e->where, sv->where, sizeof e->where);
        memcpy(e->why, sv->why, sizeof e->why);
        e->name[sizeof e->name - 1] = e->where[sizeof e->where - 1] = 0;
        e->why[sizeof e->why - 1] = 0;
        if (i < d->src_n) {
            changed |= src_changed(e, &d->src_rec[i]);
            moved |= e->lag_ms != d->src_rec[i].lag_ms ||
                     e->lag_bytes != d->src_rec[i].lag_bytes ||
                     e->reads_load != d->src_rec[i].reads_load ||
                     e->reads_delta != d->src_rec[i].reads_delta;
        }
    }
    int64_t mono = pc_mono_ms();
    int64_t every = n > 1 ? 5000 : 30000;
    if (!(d->src_at_ms == 0 || changed || (moved && mono - d->src_at_ms >= every)))
        return;
    memcpy(d->src_rec, now, sizeof now);
    d->src_n = n;
    d->src_at_ms = mono;
    if (d->recorder_on) {
        d->src_dirty = 1;
        pthread_cond_signal(&d->drec_cv);
        return;
    }
    pcd_store_put_sources(d->store, d->src_rec, d->src_n);
}

static void *recorder_main(void *arg)
{
    engine *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->drec_dirty && !d->src_dirty && !d->recorder_stop)
            pthread_cond_wait(&d->drec_cv, &d->mu);
        if (d->src_dirty) {
            pc_source_rec recs[PC_SOURCES_MAX];
            size_t n = d->src_n;
            memcpy(recs, d->src_rec, sizeof recs);
            d->src_dirty = 0;
            pthread_mutex_unlock(&d->mu);
            pcd_store_put_sources(d->store, recs, n); /* a failure is logged with its cause */
            pthread_mutex_lock(&d->mu);
        }
        if (!d->drec_dirty) {
            if (d->recorder_stop && !d->src_dirty)
                break;
            continue;
        }
        d->drec_dirty = 0;
        d->drec.pid = (uint32_t)getpid();
        pc_daemon_rec rec = d->drec;
        pthread_mutex_unlock(&d->mu);
        pcd_store_put_daemon(d->store, &rec); /* a failure is logged with its cause */
        pthread_mutex_lock(&d->mu);
        send_db_event(d);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int pcd_engine_recorder_start(engine *d)
{
    if (pthread_create(&d->recorder, NULL, recorder_main, d) != 0)
        return PC_EIO;
    pthread_mutex_lock(&d->mu);
    d->recorder_on = 1;
    pthread_mutex_unlock(&d->mu);
    return PC_OK;
}

void pcd_engine_recorder_stop(engine *d)
{
    pthread_mutex_lock(&d->mu);
    int on = d->recorder_on;
    d->recorder_on = 0;
    d->recorder_stop = 1;
    pthread_cond_signal(&d->drec_cv);
    pthread_mutex_unlock(&d->mu);
    if (on)
        pthread_join(d->recorder, NULL);
}

void pcd_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}
