/* delta.c - a chain's pending changed keys (from NOTIFY), gathered until a worker takes them; no I/O here. */
#include "delta.h"

/* Owns: the key set.  May call: nothing of daemon/. */

#include <stdlib.h>
#include <string.h>

#include "pc_format.h"

void pcd_delta_init(pcd_delta *d)
{
    memset(d, 0, sizeof *d);
}

void pcd_delta_free(pcd_delta *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->keys[i].store);
        free(d->keys[i].item);
    }
    free(d->keys);
    memset(d, 0, sizeof *d);
}

void pcd_delta_add(pcd_delta *d, const char *store, const char *item, size_t max)
{
    if (d->overflow)
        return;
    if (d->n >= max || !item) {
        d->overflow = 1;
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        pcd_delta_key *k = realloc(d->keys, cap * sizeof *k);
        if (!k) {
            d->overflow = 1;
            return;
        }
        d->keys = k;
        d->cap = cap;
    }
    pcd_delta_key *k = &d->keys[d->n];
    k->store = store ? strdup(store) : NULL;
    k->item = strdup(item);
    if (!k->item || (store && !k->store)) {
        free(k->store);
        free(k->item);
        d->overflow = 1;
        return;
    }
    d->n++;
}

void pcd_delta_take(pcd_delta *to, pcd_delta *from)
{
    *to = *from;
    memset(from, 0, sizeof *from);
}
