/* notice.c - what the engine makes of LISTEN notices: pending keys per chain, transactions' commit markers, the debounce before a delta. */
#include "notice.h"

/* Owns: chain.pending, open_tx/nopen, first_notice_ms; the invalidation
 * counters of notices.  May call: schedule, engine, delta. */

#include <string.h>

#include "schedule.h"

/* How long a chain waits for a transaction's commit marker before it
 * reloads whole (a missing marker: migration 0003 not applied, or lost). */
#define TX_WAIT_MS 2000

/* The keys of a transaction are applied together: while one of the
 * transactions that touched the chain has not shown its commit marker, the
 * delta waits (at most TX_WAIT_MS, then a full reload).  Otherwise a short
 * debounce gathers bursts of small transactions into one write. */
void pcd_notice_schedule(engine *d, chain *c)
{
    const pcd_config *cfg = cur_cfg(d);
    if ((!c->pending.n && !c->pending.overflow) || c->state != PCD_CHAIN_IDLE)
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
            d->agg.invalidations[PCD_INV_CHAIN]++;
            pcd_sched_load(d, c);
        } else {
            /* All keys of one statement under one lock hold, and held
             * until the transaction's commit marker: applied together. */
            d->agg.invalidations[PCD_INV_KEYS]++;
            if (n->txid)
                note_open_tx(c, n->txid);
            for (size_t i = 0; i < n->nkeys; i++)
                request_delta(d, c, n->keys[i].store, n->keys[i].item);
            pcd_notice_schedule(d, c);
        }
    }
    pthread_mutex_unlock(&d->mu);
}
