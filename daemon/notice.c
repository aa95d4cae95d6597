/* notice.c - what the engine makes of LISTEN notices: pending keys per chain, transactions' commit markers, when a delta is queued. */
#include "notice.h"

/* Owns: chain.pending, open_tx/nopen, first_notice_ms, recv_us; the invalidation
 * counters of notices.  May call: coalesce, schedule, engine, delta. */

#include <string.h>

#include "coalesce.h"
#include "schedule.h"

/* The coalescing rule is coalesce.c's; this feeds it the chain's state.
 * A change after a quiet spell is queued at once (no timer: a worker
 * wakes on the queue's condition variable); while a job of the chain is
 * queued or running, changes pile up and the job's end asks again; a busy
 * chain's jobs start at least debounce_ms apart. */
void pcd_notice_schedule(engine *d, chain *c)
{
    const pcd_config *cfg = cur_cfg(d);
    int pending = c->pending.n || c->pending.overflow;
    if (!pending || c->state != PCD_CHAIN_IDLE)
        return;
    int64_t now = pc_mono_ms();
    if (!c->first_notice_ms)
        c->first_notice_ms = now;
    pcd_coalesce_in in = {
        .now_ms = now, .last_start_ms = c->last_start_ms, .first_notice_ms = c->first_notice_ms,
        .debounce_ms = cfg->debounce_ms, .busy = 0, .pending = pending,
        .keys_unknown = c->pending.overflow != 0, .nopen = c->nopen,
    };
    int64_t due = pcd_coalesce_due(&in);
    if (due && due <= now) {
        pcd_sched_enqueue(d, c); /* straight to a worker: no hop through the main loop */
        return;
    }
    c->due_ms = due;
    /* The main loop sleeps until the earliest due time, at most a pass's
     * interval: a due time beyond its next pass needs no wake-up.  That
     * is the common case, the wait for a commit marker (which normally
     * follows at once): waking the main loop there put one more thread
     * on the two cores right when the change is fetched. */
    if (due - now < PCD_LOOP_PASS_MS)
        pcd_engine_wake(d);
}

/* A NOTIFY named a changed key.  Caller holds mu. */
static void request_delta(engine *d, chain *c, const char *store, const char *item)
{
    const pcd_config *cfg = cur_cfg(d);
    pcd_delta_add(&c->pending, store, item, (size_t)cfg->delta_max_keys);
    if (c->state == PCD_CHAIN_RUNNING)
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
                pcd_notice_schedule(d, c);
                break;
            }
}

void pcd_notice_on(void *ctx, const pcd_notice *n)
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
        pcd_engine_wake(d);
    } else if (n->chain) {
        chain *c = pcd_chain_find(d, n->chain);
        if (!c || !c->active) {
            d->sync_asked = 1; /* a chain we do not know: the listing decides */
            pcd_engine_wake(d);
        } else if (!n->has_keys) {
            /* Too many keys for one notification: the chain is reloaded
             * whole, and the log says so (coalesce.c). */
            d->agg.invalidations[PCD_INV_CHAIN]++;
            if (!c->recv_us)
                c->recv_us = n->recv_us;
            c->pending.overflow = PCD_DELTA_UNLISTED;
            if (c->state == PCD_CHAIN_RUNNING)
                c->again = 1;
            pcd_notice_schedule(d, c);
        } else {
            /* All keys of one statement under one lock hold, and held
             * until the transaction's commit marker: applied together. */
            d->agg.invalidations[PCD_INV_KEYS]++;
            if (!c->recv_us)
                c->recv_us = n->recv_us; /* the log's stages count from here (jobs.c) */
            if (n->txid)
                note_open_tx(c, n->txid);
            for (size_t i = 0; i < n->nkeys; i++)
                request_delta(d, c, n->keys[i].store, n->keys[i].item);
            pcd_notice_schedule(d, c);
        }
    }
    pthread_mutex_unlock(&d->mu);
}
