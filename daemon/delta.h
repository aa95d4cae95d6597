/* delta.h - a chain's pending changed keys (from NOTIFY), fetched alone and applied as a small transaction. */
#ifndef PCD_DELTA_H
#define PCD_DELTA_H

#include <stddef.h>

#include "config.h"
#include "pgsource.h"
#include "snapshot.h"

typedef struct pcd_delta_key {
    char *store;   /* NULL for a base price */
    char *item;
} pcd_delta_key;

typedef struct pcd_delta {
    pcd_delta_key *keys;
    size_t         n, cap;
    int            overflow;  /* more keys than fit: reload the chain instead */
} pcd_delta;

void pcd_delta_init(pcd_delta *d);
void pcd_delta_free(pcd_delta *d);
/* Remember a changed key; past `max` keys (or on ENOMEM) only `overflow`
 * is set.  Keys that cannot be cached (empty, too long) are still added:
 * they are looked up, found bad and so force a full reload. */
void pcd_delta_add(pcd_delta *d, const char *store, const char *item, size_t max);
/* Move the keys of `from` into `to` (which must be empty). */
void pcd_delta_take(pcd_delta *to, pcd_delta *from);

/* Read the current source rows of the delta's keys (through the configured
 * base/store queries, filtered by key) into `found`, validated and in key
 * order.  A key with no row in `found` is gone from the source.  PC_OK,
 * PC_ETIMEDOUT, PC_ECANCELED or PC_EDB as pcd_pg_load_chain. */
int pcd_pg_fetch_delta(pg_conn *c, const pcd_config *cfg, const char *chain,
                       const pcd_delta *d, const pcd_cancel *cx, pcd_snapshot *found,
                       char *err, size_t errlen);

#endif
