/* sync.c - which chains the engine serves: the listing of active chains from the source, warm-up, and dropping chains gone from it. */
#include "sync.h"

/* Owns: chain.active, engine.db_ok, warm_total and ready (warm-up), the
 * removal of vanished chains from the cache.  May call: schedule, engine,
 * pgsource, store, events, log. */

#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "schedule.h"

void pcd_sync_check_warm(engine *d)
{
    if (d->ready || d->warm_total == 0)
        return;
    for (chain *c = d->chains; c; c = c->next)
        if (c->active && !c->warm)
            return;
    d->ready = 1;
    LOG_INFO("daemon", "warm-up done: %d chains", d->warm_total);
}

/* List the active chains, drop vanished ones from the cache, queue a load
 * of every active one.  Returns PC_OK or the listing's error. */
/* The listing over lc's connection to the chosen source; a replica that
 * fails hands it to the primary. */
static int list_chains(engine *d, const pcd_config *cfg, unsigned gen, pcd_listing_conn *lc,
                       char ***slugs, size_t *n, char ***bad, size_t *nbad,
                       char *err, size_t errlen)
{
    unsigned exclude = 0;
    /* A listing after a notification (a chain added or removed) must see
     * that change: on a replica, only once it has replayed it. */
    uint64_t seq = pcd_sources_notice_seq(d->sources);
    char fallback[256] = "";
    for (;;) {
        char *dsn = NULL;
        unsigned sgen = 0;
        int idx = pcd_sources_choose(d->sources, PCD_READ_LIST, exclude, &dsn, &sgen);
        if (fallback[0])
            pcd_sources_fallback(d->sources, idx, PCD_READ_LIST, fallback);
        fallback[0] = 0;
        if (lc->conn && (lc->conn_gen != gen || lc->src_gen != sgen || lc->src != idx ||
                         !pcd_pg_ok(lc->conn))) {
            pcd_pg_close(lc->conn);
            lc->conn = NULL;
        }
        int rc = PC_OK;
        if (!lc->conn) {
            rc = pcd_pg_connect_dsn(cfg, dsn ? dsn : cfg->dsn, &lc->conn, err, errlen);
            lc->conn_gen = gen;
            lc->src_gen = sgen;
            lc->src = idx;
        }
        free(dsn);
        if (rc == PC_OK && idx > 0) {
            rc = pcd_sources_caught_up(d->sources, lc->conn, idx, seq, cfg->replica_wait_ms,
                                       d->stop_fd, err, errlen);
            if (rc == PC_ETIMEDOUT) {
                snprintf(fallback, sizeof fallback, "%s", err);
                exclude = ~1u;
                continue;
            }
        }
        if (rc == PC_OK) {
            pcd_cancel cx = { .deadline_ms = pc_mono_ms() + (int64_t)cfg->timeout_s * 1000,
                              .stop_fd = d->stop_fd };
            rc = pcd_pg_active_chains(lc->conn, cfg, &cx, slugs, n, bad, nbad, err, errlen);
        }
        if (rc == PC_ECANCELED || idx == 0)
            return rc;
        pcd_sources_done(d->sources, idx, sgen, PCD_READ_LIST, rc == PC_OK, err);
        if (rc == PC_OK)
            return rc;
        LOG_WARN("db", "listing active chains on replica%d failed (%s); asking the primary",
                 idx, err);
        if (lc->conn && !pcd_pg_ok(lc->conn)) {
            pcd_pg_close(lc->conn);
            lc->conn = NULL;
        }
        exclude = ~1u;
    }
}

int pcd_sync_chains(engine *d, pcd_listing_conn *lc)
{
    pthread_mutex_lock(&d->mu);
    const pcd_config *cfg = cur_cfg(d);
    unsigned gen = d->conn_gen;
    pthread_mutex_unlock(&d->mu);

    char err[512] = "";
    char **slugs = NULL, **bad = NULL;
    size_t n = 0, nbad = 0;
    int rc = list_chains(d, cfg, gen, lc, &slugs, &n, &bad, &nbad, err, sizeof err);
    pg_conn **conn = &lc->conn;
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
                pcd_sched_load(d, c);
        pcd_engine_note_state(d);
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
        chain *c = pcd_chain_find(d, slugs[i]);
        if (!c && !(c = pcd_chain_add(d, slugs[i]))) {
            LOG_ERR("daemon", "chain %s: out of memory", slugs[i]);
            continue;
        }
        c->active = 1;
    }
    if (d->warm_total == 0)
        d->warm_total = (int)n;
    for (chain *c = d->chains; c; c = c->next)
        if (c->active)
            pcd_sched_load(d, c);
    for (size_t i = 0; i < ncached; i++) {
        chain *c = pcd_chain_find(d, cached[i]);
        if (c && c->active)
            continue;
        if (c && c->state != PCD_CHAIN_IDLE)
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
    pcd_engine_note_state(d);
    pthread_mutex_unlock(&d->mu);
    pcd_strv_free(cached, ncached);
    pcd_strv_free(slugs, n);
    pcd_strv_free(bad, nbad);
    return PC_OK;
}

/* A worker finished with a chain that is no longer active: drop it.  Main
 * thread, without mu held around store calls. */
void pcd_sync_reap(engine *d)
{
    pthread_mutex_lock(&d->mu);
    int any = 0;
    for (chain *c = d->chains; c; c = c->next)
        if (!c->active && c->state == PCD_CHAIN_IDLE && c->warm)
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
        chain *c = pcd_chain_find(d, cached[i]);
        int drop = c && !c->active && c->state == PCD_CHAIN_IDLE;
        pthread_mutex_unlock(&d->mu);
        char rerr[256];
        if (drop && pcd_store_remove_chain(d->store, cached[i], rerr, sizeof rerr) == PC_OK) {
            LOG_INFO("cache", "chain %s: removed from the cache (no longer active in the source)",
                     cached[i]);
            pcd_events_send(d->events, PC_EV_REMOVED, cached[i], 0, 0, "no longer active");
        }
    }
    pcd_strv_free(cached, n);
}

