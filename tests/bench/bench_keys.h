/* bench_keys.h - what the lookup benchmarks share: one key generator and seed, clocks, and the random lookups drawn from a chain in the cache, so that bench_get and bench_rtt time the very same keys. */
#ifndef BENCH_KEYS_H
#define BENCH_KEYS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pc_format.h"
#include "reader_private.h"
#include "pricecache.h"

/* xorshift64, one fixed seed: every benchmark draws the same sequence. */
static inline uint64_t bk_rnd(void)
{
    static uint64_t rng = 88172645463325252ull;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static inline double bk_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline double bk_now_ns(void) { return bk_clock_ns(CLOCK_MONOTONIC); }

typedef struct bk_lookup {
    char store[PC_ID_MAX + 1];
    char item[PC_ID_MAX + 1];
} bk_lookup;

/* A chain's keys: its base items, and its (store, item) exceptions. */
typedef struct bk_keys {
    char (*items)[PC_ID_MAX + 1];
    size_t nitems, cap;
    bk_lookup *pairs;
    size_t npairs, pcap;
} bk_keys;

static inline int bk_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 1024;
    void *q = realloc(*p, ncap * size);
    if (!q)
        return 1;
    *p = q;
    *cap = ncap;
    return 0;
}

static inline int bk_on_key(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    (void)v;
    bk_keys *c = ctx;
    if (k->kind == PC_KEY_BASE) {
        if (bk_grow((void **)&c->items, &c->cap, c->nitems, sizeof *c->items))
            return PC_ENOMEM;
        memcpy(c->items[c->nitems], k->item, k->ilen);
        c->items[c->nitems++][k->ilen] = 0;
    } else {
        if (bk_grow((void **)&c->pairs, &c->pcap, c->npairs, sizeof *c->pairs))
            return PC_ENOMEM;
        bk_lookup *l = &c->pairs[c->npairs++];
        memcpy(l->store, k->store, k->slen);
        l->store[k->slen] = 0;
        memcpy(l->item, k->item, k->ilen);
        l->item[k->ilen] = 0;
    }
    return 0;
}

/* n lookups drawn from the chain: 30% hit a store's exception, 70% ask a
 * store for an item it has no exception for (an exception miss, then the
 * base price).  *nitems, *npairs: the chain's base items and exceptions.
 * NULL after saying why on stderr. */
static inline bk_lookup *bk_draw(const char *who, pc_reader *r, const char *chain, size_t n,
                                 size_t *nitems, size_t *npairs)
{
    bk_keys c = { 0 };
    int rc = pc_reader_scan(r, chain, bk_on_key, &c);
    bk_lookup *lk = NULL;
    if (rc != PC_OK || !c.nitems || !c.npairs)
        fprintf(stderr, "%s: chain %s %s\n", who, chain, rc != PC_OK ? pc_strerror(rc)
                                                                     : "has no base or no store keys");
    else if (!(lk = calloc(n, sizeof *lk)))
        fprintf(stderr, "%s: out of memory\n", who);
    for (size_t i = 0; lk && i < n; i++) {
        if (bk_rnd() % 10 < 3) {
            lk[i] = c.pairs[bk_rnd() % c.npairs];
        } else {
            const bk_lookup *p = &c.pairs[bk_rnd() % c.npairs];
            strcpy(lk[i].store, p->store);
            strcpy(lk[i].item, c.items[bk_rnd() % c.nitems]);
        }
    }
    *nitems = c.nitems;
    *npairs = c.npairs;
    free(c.items);
    free(c.pairs);
    return lk;
}

#endif
