/* watch.h - the watcher thread: samples the LMDB environment every second (reader slots, map pages, data.mdb) without waiting for a write, tracks stale readers and warns about them. */
#ifndef PCD_WATCH_H
#define PCD_WATCH_H

/* Owns: the sampling thread, the stale-reader table, its warnings.
 * May call: store, rtrack, view (types), log. */

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "view.h"

typedef struct pcd_watch pcd_watch;

/* One slot as the watcher knows it (control `readers`). */
typedef struct pcd_watch_slot {
    pc_rslot slot;
    uint64_t behind;   /* commits since its snapshot */
    int64_t  age_ms;   /* held behind for; -1 not behind */
} pcd_watch_slot;

/* Start sampling `st` every `every_ms`; a reader that holds an old
 * snapshot longer than warn_s is logged with its pid.  PC_OK or an error
 * (the daemon runs on without the figures). */
int  pcd_watch_start(pcd_store *st, int every_ms, int warn_s, pcd_watch **out);
void pcd_watch_stop(pcd_watch *w);
/* [cache] reader_warn_s changed (SIGHUP). */
void pcd_watch_set_warn(pcd_watch *w, int warn_s);
/* Sample now, on the caller's thread (also done by the thread). */
void pcd_watch_sample(pcd_watch *w);
/* The last sample's figures (zeroes before the first, or w NULL). */
void pcd_watch_env(pcd_watch *w, pcd_view_env *out);
/* The last sample's slots (malloc'ed, *n of them; free()).  PC_OK,
 * PC_ENOMEM, PC_ENOTREADY before the first sample. */
int  pcd_watch_slots(pcd_watch *w, pcd_watch_slot **out, size_t *n, uint64_t *last_txnid);

#endif
