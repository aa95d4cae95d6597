/* rtrack.c - stale readers: how long each reader slot has held an old snapshot, measured by sampling LMDB's reader table. */
#include "rtrack.h"

/* Owns: the tracking table.  May call: nothing of daemon/ (pure). */

#include <stdlib.h>
#include <string.h>

static pcd_rtrack_ent *find(const pcd_rtrack *t, uint32_t pid, uint64_t thread, uint64_t txnid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].pid == pid && t->v[i].thread == thread && t->v[i].txnid == txnid)
            return &t->v[i];
    return NULL;
}

int pcd_rtrack_update(pcd_rtrack *t, const pc_rslot *slots, size_t n, uint64_t last_txnid,
                      int64_t now_ms, pcd_rtrack_sum *sum, pcd_rtrack_ent *gone,
                      size_t gone_cap, size_t *ngone)
{
    /* Room for every slot behind, before anything changes. */
    size_t behind = 0;
    for (size_t i = 0; i < n; i++)
        behind += slots[i].txnid && slots[i].txnid < last_txnid;
    if (t->n + behind > t->cap) {
        size_t cap = (t->n + behind) * 2 + 8;
        pcd_rtrack_ent *nv = realloc(t->v, cap * sizeof *nv);
        if (!nv)
            return PC_ENOMEM;
        t->v = nv;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->n; i++)
        t->v[i].seen = 0;
    for (size_t i = 0; i < n; i++) {
        const pc_rslot *s = &slots[i];
        if (!s->txnid || s->txnid >= last_txnid)
            continue;
        pcd_rtrack_ent *e = find(t, s->pid, s->thread, s->txnid);
        if (!e) {
            e = &t->v[t->n++];
            memset(e, 0, sizeof *e);
            e->pid = s->pid;
            e->thread = s->thread;
            e->txnid = s->txnid;
            e->since_ms = now_ms;
        }
        e->seen = 1;
    }
    size_t ng = 0, keep = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].seen) {
            t->v[keep++] = t->v[i];
        } else {
            if (gone && ng < gone_cap)
                gone[ng] = t->v[i];
            ng++;
        }
    }
    t->n = keep;
    if (ngone)
        *ngone = ng < gone_cap ? ng : gone_cap;
    /* The oldest transaction in time: the longest held behind (a tie: the
     * older snapshot, which pins the most). */
    memset(sum, 0, sizeof *sum);
    for (size_t i = 0; i < t->n; i++) {
        const pcd_rtrack_ent *e = &t->v[i];
        int64_t age = now_ms - e->since_ms;
        if (!sum->oldest_pid || age > sum->oldest_ms ||
            (age == sum->oldest_ms && e->txnid < sum->oldest_txnid)) {
            sum->oldest_pid = e->pid;
            sum->oldest_txnid = e->txnid;
            sum->oldest_ms = age;
        }
    }
    return PC_OK;
}

size_t pcd_rtrack_due(pcd_rtrack *t, int64_t now_ms, int64_t limit_ms, pcd_rtrack_ent *out,
                      size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n && k < cap; i++) {
        pcd_rtrack_ent *e = &t->v[i];
        if (!e->warned && now_ms - e->since_ms >= limit_ms) {
            e->warned = 1;
            out[k++] = *e;
        }
    }
    return k;
}

int64_t pcd_rtrack_age(const pcd_rtrack *t, uint32_t pid, uint64_t thread, uint64_t txnid,
                       int64_t now_ms)
{
    const pcd_rtrack_ent *e = find(t, pid, thread, txnid);
    return e ? now_ms - e->since_ms : -1;
}

void pcd_rtrack_free(pcd_rtrack *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}
