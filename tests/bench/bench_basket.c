/* bench_basket.c - basket pricing beside the single lookups it replaces, on baskets drawn alike, in one run.
 *
 *   bench_basket DIR CHAIN [BASKETS]
 *
 * Measures, per basket: 30 pc_get calls (the baseline), pc_basket_single
 * on those 30 items, and pc_basket_multi on 10 items among 15 candidate
 * stores (visit at most 2) beside the 150 pc_get calls its prices take
 * one by one.  Baskets come from the chain: a store that has exceptions,
 * some of its exception items and random base items; multi-store items
 * each have an exception at one of the candidates, so the stores really
 * compete.  Within a round each measurement prices baskets of its own
 * (same distribution), so that none runs on pages another one just
 * brought into the CPU caches; rounds alternate the order; medians
 * reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pc_format.h"
#include "reader_private.h"
#include "pricecache.h"

#define SINGLE_ITEMS 30
#define MULTI_ITEMS  10
#define MULTI_STORES 15
#define POOL         16384
#define ROUNDS       5

/* Every id of the chain in one arena: offsets while scanning (the arena
 * moves as it grows), pointers after. */
typedef struct ids {
    char   *arena;
    size_t  used, cap;
    size_t *off;
    size_t  n, ncap;
} ids;

static void ids_add(ids *d, const char *s, size_t len)
{
    if (d->used + len + 1 > d->cap) {
        d->cap = d->cap ? d->cap * 2 : 1 << 20;
        while (d->used + len + 1 > d->cap)
            d->cap *= 2;
        if (!(d->arena = realloc(d->arena, d->cap)))
            exit(1);
    }
    if (d->n == d->ncap) {
        d->ncap = d->ncap ? d->ncap * 2 : 1024;
        if (!(d->off = realloc(d->off, d->ncap * sizeof *d->off)))
            exit(1);
    }
    d->off[d->n++] = d->used;
    memcpy(d->arena + d->used, s, len);
    d->arena[d->used + len] = 0;
    d->used += len + 1;
}

static const char *ids_get(const ids *d, size_t i)
{
    return d->arena + d->off[i];
}

/* Store keys arrive grouped by store: store k's exception items are
 * exc[first[k] .. first[k + 1]). */
typedef struct chain_ids {
    ids     base, exc, stores;
    size_t *first;
    size_t  fcap;
} chain_ids;

static int on_key(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    (void)v;
    chain_ids *c = ctx;
    if (k->kind == PC_KEY_BASE) {
        ids_add(&c->base, k->item, k->ilen);
        return 0;
    }
    size_t ns = c->stores.n;
    if (ns == 0 || strlen(ids_get(&c->stores, ns - 1)) != k->slen ||
        memcmp(ids_get(&c->stores, ns - 1), k->store, k->slen) != 0) {
        ids_add(&c->stores, k->store, k->slen);
        if (c->stores.n + 1 > c->fcap) {
            c->fcap = c->fcap ? c->fcap * 2 : 1024;
            if (!(c->first = realloc(c->first, c->fcap * sizeof *c->first)))
                exit(1);
        }
        c->first[c->stores.n - 1] = c->exc.n;
    }
    ids_add(&c->exc, k->item, k->ilen);
    return 0;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct single_basket {
    const char    *store;
    pc_basket_item items[SINGLE_ITEMS];
} single_basket;

typedef struct multi_basket {
    const char    *stores[MULTI_STORES];
    pc_basket_item items[MULTI_ITEMS];
} multi_basket;

static pc_reader *reader;
static const char *chain;
static single_basket *singles;
static multi_basket *multis;
static size_t per_round;
static volatile int64_t sink;
static size_t optimal, answers;

enum { GETS_30, BASKET_SINGLE, GETS_150, BASKET_MULTI, NKINDS };
static const char *const labels[NKINDS] = {
    "30 x pc_get (baseline)",
    "pc_basket_single, 30 items",
    "150 x pc_get (10 items x 15 stores)",
    "pc_basket_multi, 10 items / 15 stores",
};

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_basket: %s: %s\n", what, pc_strerror(rc));
    exit(1);
}

/* ns per basket of one kind over `per_round` baskets of the pool. */
static double measure(int kind, size_t offset)
{
    double t0 = now_ns();
    for (size_t b = 0; b < per_round; b++) {
        const single_basket *sb = &singles[(offset + b) % POOL];
        const multi_basket *mb = &multis[(offset + b) % POOL];
        pc_basket_result *res;
        pc_price p;
        int rc;
        switch (kind) {
        case GETS_30:
            for (size_t i = 0; i < SINGLE_ITEMS; i++)
                if (pc_get(reader, chain, sb->store, sb->items[i].item, &p) == PC_OK)
                    sink += p.cents * sb->items[i].qty;
            break;
        case BASKET_SINGLE:
            rc = pc_basket_single(reader, chain, sb->store, sb->items, SINGLE_ITEMS, NULL, &res);
            if (rc != PC_OK)
                die("pc_basket_single", rc);
            sink += res->total_cents;
            pc_basket_free(res);
            break;
        case GETS_150:
            for (size_t i = 0; i < MULTI_ITEMS; i++)
                for (size_t s = 0; s < MULTI_STORES; s++)
                    if (pc_get(reader, chain, mb->stores[s], mb->items[i].item, &p) == PC_OK)
                        sink += p.cents;
            break;
        default:
            rc = pc_basket_multi(reader, chain, mb->stores, MULTI_STORES, mb->items,
                                 MULTI_ITEMS, NULL, &res);
            if (rc != PC_OK)
                die("pc_basket_multi", rc);
            sink += res->total_cents;
            optimal += res->algorithm == PC_BASKET_OPTIMAL;
            answers++;
            pc_basket_free(res);
            break;
        }
    }
    return (now_ns() - t0) / (double)per_round;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_basket DIR CHAIN [BASKETS]\n");
        return 2;
    }
    chain = argv[2];
    per_round = argc > 3 ? strtoull(argv[3], NULL, 10) : 2000;
    if (per_round == 0)
        per_round = 1;
    int rc = pc_open(argv[1], &reader);
    if (rc != PC_OK)
        die(argv[1], rc);
    chain_ids c;
    memset(&c, 0, sizeof c);
    rc = pc_reader_scan(reader, chain, on_key, &c);
    if (rc != PC_OK)
        die(chain, rc);
    if (c.base.n < SINGLE_ITEMS || c.stores.n < MULTI_STORES) {
        fprintf(stderr, "bench_basket: chain %s needs %d base items and %d stores with "
                "exceptions\n", chain, SINGLE_ITEMS, MULTI_STORES);
        return 1;
    }
    c.first[c.stores.n] = c.exc.n;

    singles = calloc(POOL, sizeof *singles);
    multis = calloc(POOL, sizeof *multis);
    if (!singles || !multis)
        return 1;
    for (size_t b = 0; b < POOL; b++) {
        /* About a third of a basket has exceptions at its store, as in
         * bench_get's mix. */
        size_t k = rnd() % c.stores.n, nexc = c.first[k + 1] - c.first[k];
        singles[b].store = ids_get(&c.stores, k);
        for (size_t i = 0; i < SINGLE_ITEMS; i++) {
            const char *item = rnd() % 10 < 3 ? ids_get(&c.exc, c.first[k] + rnd() % nexc)
                                              : ids_get(&c.base, rnd() % c.base.n);
            singles[b].items[i] = (pc_basket_item){ item, 1 + (int64_t)(rnd() % 3) };
        }
        size_t pick[MULTI_STORES];
        for (size_t s = 0; s < MULTI_STORES; s++) {
            size_t t, dup;
            do {
                t = rnd() % c.stores.n;
                dup = 0;
                for (size_t j = 0; j < s; j++)
                    dup |= pick[j] == t;
            } while (dup);
            pick[s] = t;
            multis[b].stores[s] = ids_get(&c.stores, t);
        }
        for (size_t i = 0; i < MULTI_ITEMS; i++) {
            size_t t = pick[rnd() % MULTI_STORES];
            size_t ne = c.first[t + 1] - c.first[t];
            multis[b].items[i] = (pc_basket_item){ ids_get(&c.exc, c.first[t] + rnd() % ne),
                                                   1 + (int64_t)(rnd() % 3) };
        }
    }

    printf("\n-- baskets beside single lookups (bench_basket)\n");
    printf("%zu base items, %zu stores with exceptions; %zu baskets per round, median of %d "
           "rounds\n", c.base.n, c.stores.n, per_round, ROUNDS);
    printf("%-40s %10s %10s\n", "per basket", "us", "vs 30 get");
    for (int k = 0; k < NKINDS; k++)
        measure(k, 0); /* warm the page cache (not the CPU caches: see above) */
    double t[NKINDS][ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        for (int j = 0; j < NKINDS; j++) {
            int k = r & 1 ? NKINDS - 1 - j : j;
            t[k][r] = measure(k, ((size_t)r * NKINDS + (size_t)k) * per_round);
        }
    double med[NKINDS];
    for (int k = 0; k < NKINDS; k++) {
        qsort(t[k], ROUNDS, sizeof t[k][0], cmp_d);
        med[k] = t[k][ROUNDS / 2];
    }
    for (int k = 0; k < NKINDS; k++)
        printf("%-40s %10.1f %9.2fx\n", labels[k], med[k] / 1e3, med[k] / med[GETS_30]);
    printf("pc_basket_multi vs its 150 pc_get: %.2fx; answered by the exact search: %zu of "
           "%zu\n", med[BASKET_MULTI] / med[GETS_150], optimal, answers);

    free(singles);
    free(multis);
    free(c.base.arena);
    free(c.base.off);
    free(c.exc.arena);
    free(c.exc.off);
    free(c.stores.arena);
    free(c.stores.off);
    free(c.first);
    pc_close(reader);
    return 0;
}
