/* rtrack.h - stale readers: how long each reader slot has held an old snapshot, measured by sampling LMDB's reader table. */
#ifndef PCD_RTRACK_H
#define PCD_RTRACK_H

/* Owns: the table of (pid, thread, txnid) first seen behind the newest
 * commit.  May call: nothing of daemon/ (pure: the caller samples, logs). */

#include <stddef.h>
#include <stdint.h>

#include "pc_format.h"

typedef struct pcd_rtrack_ent {
    uint32_t pid;
    uint64_t thread, txnid;
    int64_t  since_ms;  /* first sample that saw it behind */
    int      warned;    /* the warning was logged */
    int      seen;      /* in the latest sample */
} pcd_rtrack_ent;

typedef struct pcd_rtrack {
    pcd_rtrack_ent *v;
    size_t          n, cap;
} pcd_rtrack;

/* What one sample says. */
typedef struct pcd_rtrack_sum {
    int64_t  oldest_ms;   /* age of the oldest transaction behind; 0 none */
    uint32_t oldest_pid;  /* its pid; 0 none */
    uint64_t oldest_txnid;
} pcd_rtrack_sum;

/* Feed one sample of the reader table (`slots`, n of them) taken at
 * `now_ms` when the newest commit was `last_txnid`.  A slot counts only
 * while its transaction is behind the newest commit: a reader sitting on
 * the current snapshot pins nothing, however long.  Its age runs from
 * the first sample that saw that (pid, thread, txnid) behind; a slot
 * that moves on to another snapshot, goes idle or vanishes is forgotten.
 * Entries not seen any more are returned through `gone` (at most
 * gone_cap, may be NULL) so that the caller can log the end of a warned
 * one.  PC_OK or PC_ENOMEM (the table keeps its previous contents). */
int  pcd_rtrack_update(pcd_rtrack *t, const pc_rslot *slots, size_t n, uint64_t last_txnid,
                       int64_t now_ms, pcd_rtrack_sum *sum, pcd_rtrack_ent *gone,
                       size_t gone_cap, size_t *ngone);

/* The entries older than limit_ms not warned about yet, marked warned
 * now: up to cap into out; returns how many. */
size_t pcd_rtrack_due(pcd_rtrack *t, int64_t now_ms, int64_t limit_ms, pcd_rtrack_ent *out,
                      size_t cap);

/* Age of (pid, thread, txnid) in ms, or -1 when not tracked. */
int64_t pcd_rtrack_age(const pcd_rtrack *t, uint32_t pid, uint64_t thread, uint64_t txnid,
                       int64_t now_ms);

void pcd_rtrack_free(pcd_rtrack *t);

#endif
