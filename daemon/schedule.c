/* schedule.c - the engine's run queue: single-flight enqueue, what a worker takes next, due times and retry backoff. */
#include "schedule.h"

/* Owns: the run queue (engine.qhead/qtail, chain.state/again/due_ms/
 * backoff_ms/queued_us) and the retry policy after a job.  May call: engine. */

#include <stdlib.h>

#include "snapshot.h"

void pcd_sched_enqueue(engine *d, chain *c)
{
    if (c->state == PCD_CHAIN_RUNNING) {
        c->again = 1;
        return;
    }
    if (c->state == PCD_CHAIN_QUEUED)
        return;
    c->state = PCD_CHAIN_QUEUED;
    c->queued_us = pcd_mono_us();
    c->due_ms = 0;
    c->qnext = NULL;
    if (d->qtail)
        d->qtail->qnext = c;
    else
        d->qhead = c;
    d->qtail = c;
    pthread_cond_signal(&d->work);
}

void pcd_sched_load(engine *d, chain *c)
{
    c->full = 1;
    pcd_sched_enqueue(d, c);
}

chain *pcd_sched_take(engine *d)
{
    while (!d->stopping && !d->qhead)
        pthread_cond_wait(&d->work, &d->mu);
    if (d->stopping)
        return NULL;
    chain *c = d->qhead;
    d->qhead = c->qnext;
    if (!d->qhead)
        d->qtail = NULL;
    c->state = PCD_CHAIN_RUNNING;
    c->again = 0;
    return c;
}

void pcd_sched_after(engine *d, chain *c, int result, const pcd_config *cfg)
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

int64_t pcd_sched_next_due(engine *d, int64_t limit)
{
    int64_t t = limit;
    pthread_mutex_lock(&d->mu);
    for (chain *c = d->chains; c; c = c->next)
        if (c->active && c->due_ms && c->due_ms < t)
            t = c->due_ms;
    pthread_mutex_unlock(&d->mu);
    return t;
}

void pcd_sched_queue_due(engine *d, int64_t now)
{
    pthread_mutex_lock(&d->mu);
    for (chain *c = d->chains; c; c = c->next)
        if (c->active && c->due_ms && c->due_ms <= now)
            pcd_sched_enqueue(d, c); /* a delta if keys are pending, else a full reload */
    pthread_mutex_unlock(&d->mu);
}

int pcd_sched_idle(engine *d)
{
    pthread_mutex_lock(&d->mu);
    int r = d->running == 0 && d->qhead == NULL;
    pthread_mutex_unlock(&d->mu);
    return r;
}
