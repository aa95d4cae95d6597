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
    v->max_age_s = cur_cfg(d)->health_max_age_s;
    v->drec = d->drec;
    v->counters = d->agg;
    /* Progress, without the store's lock: a reader of the view answers
     * even while a writer is stuck. */
    pcd_watch_env(d->watch, &v->env);
    v->map_full = d->store ? pcd_store_map_full(d->store) : 0;
    v->store_busy_ms = d->store ? pcd_store_busy_ms(d->store) : 0;
    long long loop = atomic_load(&d->loop_ms);
    int64_t since_loop = loop ? pc_mono_ms() - loop : 0;
    v->stall_ms = since_loop > v->store_busy_ms ? since_loop : v->store_busy_ms;
    v->stall_limit_s = cur_cfg(d)->health_stall_s;
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
        v->have_lookups = pcd_store_lookups(d->store, &v->lookups) == PC_OK;
    }
    v->now_ms = pc_now_ms();
    return PC_OK;
}

void pcd_engine_write_daemon(engine *d)
{
    d->drec.pid = (uint32_t)getpid();
    pcd_store_put_daemon(d->store, &d->drec); /* a failure is logged with its cause */
}

void pcd_engine_note_state(engine *d)
{
    pcd_view v;
    pcd_engine_view_locked(d, &v);
    uint32_t state = (uint32_t)pcd_view_state(&v);
    if (state != d->drec.state || (uint32_t)d->ready != d->drec.ready) {
        LOG_INFO("daemon", "daemon: %s -> %s", pc_daemon_state_name((int)d->drec.state),
                 pc_daemon_state_name((int)state));
        d->drec.state = state;
        d->drec.ready = (uint32_t)d->ready;
        if (d->ready && !d->drec.ready_ms)
            d->drec.ready_ms = pc_now_ms();
        if (d->recorder_on) {
            d->drec_dirty = 1;
            pthread_cond_signal(&d->drec_cv);
        } else {
            pcd_engine_write_daemon(d);
        }
    }
}

static void *recorder_main(void *arg)
{
    engine *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->drec_dirty && !d->recorder_stop)
            pthread_cond_wait(&d->drec_cv, &d->mu);
        if (!d->drec_dirty)
            break;
        d->drec_dirty = 0;
        d->drec.pid = (uint32_t)getpid();
        pc_daemon_rec rec = d->drec;
        pthread_mutex_unlock(&d->mu);
        pcd_store_put_daemon(d->store, &rec); /* a failure is logged with its cause */
        pthread_mutex_lock(&d->mu);
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
