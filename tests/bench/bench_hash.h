/* bench_hash.h - the lookup benchmarks' baseline: a chain's prices in an in-process open-addressing hash table (issue 15's yardstick for pc_get).
 *
 * What a program would write if it kept a chain in its own memory: one
 * table of store exceptions keyed by (store, item), one of base prices
 * keyed by item; a lookup builds the key, probes the exceptions, then the
 * base.  Linear probing, load factor at most 1/2, the 64-bit hash kept in
 * the slot so that a probe compares keys in full (length and bytes, in an
 * arena) only when the hashes agree.  Read-only once built, so threads
 * share it without locks. */
#ifndef BENCH_HASH_H
#define BENCH_HASH_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"
#include "pc_table.h"

typedef struct bh_slot {
    uint64_t h;
    uint32_t off, len;       /* key bytes in the arena; len 0: empty */
    int64_t  cents, updated_at;
} bh_slot;

typedef struct bh_table {
    bh_slot *slots;
    size_t   mask;
    char    *arena;
    size_t   used, cap;
} bh_table;

/* The lookup tables' own hash (pc_table.h), so that the yardstick and
 * pc_get hash alike. */
static inline uint64_t bh_hash(const void *p, size_t n)
{
    return pc_tab_hash(p, n);
}

/* A table for up to n keys of about `avg` bytes.  0, or 1 out of memory. */
static inline int bh_init(bh_table *t, size_t n, size_t avg)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    memset(t, 0, sizeof *t);
    t->slots = calloc(cap, sizeof *t->slots);
    t->mask = cap - 1;
    t->cap = n * (avg + 1) + 64;
    t->arena = malloc(t->cap);
    return !t->slots || !t->arena;
}

static inline void bh_free(bh_table *t)
{
    free(t->slots);
    free(t->arena);
}

static inline const bh_slot *bh_find(const bh_table *t, const void *key, size_t len)
{
    uint64_t h = bh_hash(key, len);
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        const bh_slot *s = &t->slots[i];
        if (s->len == 0)
            return NULL;
        if (s->h == h && s->len == len && memcmp(t->arena + s->off, key, len) == 0)
            return s;
    }
}

/* Insert (or overwrite) a key.  0, or 1 when the arena is full. */
static inline int bh_put(bh_table *t, const void *key, size_t len, int64_t cents, int64_t at)
{
    uint64_t h = bh_hash(key, len);
    size_t i = h & t->mask;
    for (; t->slots[i].len; i = (i + 1) & t->mask) {
        bh_slot *s = &t->slots[i];
        if (s->h == h && s->len == len && memcmp(t->arena + s->off, key, len) == 0) {
            s->cents = cents;
            s->updated_at = at;
            return 0;
        }
    }
    if (t->used + len > t->cap)
        return 1;
    memcpy(t->arena + t->used, key, len);
    t->slots[i] = (bh_slot){ h, (uint32_t)t->used, (uint32_t)len, cents, at };
    t->used += len;
    return 0;
}

/* A chain in two tables, looked up like pc_get. */
typedef struct bh_chain {
    bh_table base, store;
} bh_chain;

/* price(store, item): the store's exception, else the base price.  The
 * exception key is store "\0" item, built here as pc_get builds its keys.
 * PC_OK or PC_NOTFOUND; *flags PC_PRICE_STORE for an exception. */
static inline int bh_get(const bh_chain *c, const char *store, const char *item,
                         int64_t *cents, uint32_t *flags)
{
    size_t ilen = strlen(item);
    const bh_slot *s = NULL;
    if (store && *store) {
        char kb[2 * PC_ID_MAX + 2];
        size_t slen = strlen(store);
        memcpy(kb, store, slen);
        kb[slen] = 0;
        memcpy(kb + slen + 1, item, ilen);
        if ((s = bh_find(&c->store, kb, slen + 1 + ilen))) {
            *cents = s->cents;
            *flags = PC_PRICE_STORE;
            return PC_OK;
        }
    }
    if ((s = bh_find(&c->base, item, ilen))) {
        *cents = s->cents;
        *flags = 0;
        return PC_OK;
    }
    return PC_NOTFOUND;
}

#endif
