/* delta.h - a chain's pending changed keys (from NOTIFY): the set the engine gathers and the store applies. */
#ifndef PCD_DELTA_H
#define PCD_DELTA_H

#include <stddef.h>

typedef struct pcd_delta_key {
    char *store;   /* NULL for a base price */
    char *item;
} pcd_delta_key;

typedef struct pcd_delta {
    pcd_delta_key *keys;
    size_t         n, cap;
    int            overflow;  /* more keys than fit (1) or unlisted (PCD_DELTA_UNLISTED):
                                 reload the chain instead */
} pcd_delta;

/* overflow: a change did not list its keys (NOTIFY payload limit). */
#define PCD_DELTA_UNLISTED 2

void pcd_delta_init(pcd_delta *d);
void pcd_delta_free(pcd_delta *d);
/* Remember a changed key; past `max` keys (or on ENOMEM) only `overflow`
 * is set.  Keys that cannot be cached (empty, too long) are still added:
 * they are looked up, found bad and so force a full reload. */
void pcd_delta_add(pcd_delta *d, const char *store, const char *item, size_t max);
/* Move the keys of `from` into `to` (which must be empty). */
void pcd_delta_take(pcd_delta *to, pcd_delta *from);

#endif
