/* snapshot.c - one chain's rows loaded into memory, sorted in key order, ready to publish. */
#include "snapshot.h"
#include "hugemem.h"
#include "snapshot_sort.h"

/* Owns: a chain being loaded: sorted records, counts, rejects.  May call:
 * hugemem.c (snapshot_sort.c is its sort). */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK_SIZE     ((size_t)1 << 16)
#define BIG_CHUNK_SIZE ((size_t)4 << 20)

void pcd_snapshot_init(pcd_snapshot *s, const char *chain)
{
    memset(s, 0, sizeof *s);
    snprintf(s->chain, sizeof s->chain, "%s", chain);
    s->clen = strlen(s->chain);
}

void pcd_snapshot_reset(pcd_snapshot *s)
{
    pcd_expect e = s->expect;
    char chain[sizeof s->chain];
    memcpy(chain, s->chain, sizeof chain);
    pcd_snapshot_free(s);
    pcd_snapshot_init(s, chain);
    s->expect = e;
}

/* The rows sealed by pcd_snapshot_seal, sorted by a thread of their own:
 * it alone touches them until joined. */
struct pcd_presort {
    pthread_t      th;
    int            threaded;
    pcd_rec       *recs;
    size_t         n;
    pcd_sort_item *items;
    uint32_t       wb;
    int            rc;
    pcd_arena_chunk *keys;   /* the part's keys in its order (NULL: not moved) */
    pcd_arena_chunk *arena;  /* the chunks its rows arrived in: freed once
                                the keys moved, else kept until finish */
    pcd_keysort_job *job;    /* the sort, which finish helps with (NULL:
                                sorted by the thread alone) */
    int            deferred; /* not started: the rows may be the cache's */
};

static void free_chunks(pcd_arena_chunk *c)
{
    while (c) {
        pcd_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
}

/* Make the chunks of `list` the snapshot's (freed with it). */
static void adopt_chunks(pcd_snapshot *s, pcd_arena_chunk *list)
{
    if (!list)
        return;
    pcd_arena_chunk *t = list;
    while (t->next)
        t = t->next;
    t->next = s->arena;
    s->arena = list;
}

static void *presort_main(void *arg)
{
    struct pcd_presort *p = arg;
    if (p->job) {
        pcd_keysort_job_run(p->job);
        p->rc = pcd_keysort_job_gather(p->job, &p->keys);
    } else {
        p->rc = pcd_keysort_items(&p->recs, p->n, p->items, p->wb, &p->keys);
    }
    free(p->items);
    p->items = NULL;
    if (p->rc == PC_OK && !p->keys)
        p->keys = pcd_keys_relocate(p->recs, p->n);
    /* The keys as they arrived are no longer read: a million rows' worth
     * goes back before the later rows are done, not at finish. */
    if (p->keys) {
        free_chunks(p->arena);
        p->arena = NULL;
    }
    return NULL;
}

/* Wait for the sealed rows; NULL when none. */
static struct pcd_presort *presort_join(pcd_snapshot *s)
{
    struct pcd_presort *p = s->pre;
    s->pre = NULL;
    if (p && p->threaded)
        pthread_join(p->th, NULL);
    return p;
}

static void presort_free(struct pcd_presort *p)
{
    if (!p)
        return;
    free(p->recs);
    free(p->items);
    free_chunks(p->keys);
    free_chunks(p->arena);
    pcd_keysort_job_free(p->job);
    free(p);
}

static void presort_start(struct pcd_presort *p)
{
    p->deferred = 0;
    if (pthread_create(&p->th, NULL, presort_main, p) == 0)
        p->threaded = 1;
    else
        presort_main(p); /* no thread: now, without the overlap */
}

void pcd_snapshot_seal(pcd_snapshot *s)
{
    if (s->pre || s->n < 2)
        return;
    struct pcd_presort *p = calloc(1, sizeof *p);
    if (!p)
        return; /* sorted with the rest at finish */
    p->recs = s->recs;
    p->n = s->n;
    p->items = s->items;
    p->wb = (uint32_t)s->clen + 1;
    /* The sealed rows' keys go with them (the later rows start a chunk of
     * their own), so that the thread can free them once it moved them. */
    p->arena = s->arena;
    s->arena = NULL;
    s->recs = NULL;
    s->items = NULL;
    s->n = s->cap = 0;
    s->pre = p;
    p->job = pcd_keysort_job_new(&p->recs, p->n, p->items, p->wb, 1);
    /* Base rows that digest as the cache's are likely all the cache's:
     * sorting them would be work thrown away, and its copies memory the
     * stream's peak would hold. */
    if (s->expect.version && pcd_digest_keyed() && s->store_rows == 0 &&
        s->base_rows == s->expect.rows[0] && pcd_digest_eq(s->dg[0], s->expect.dg[0]))
        p->deferred = 1;
    else
        presort_start(p);
}

/* The sealed rows, sorted, before the later ones, sorted: the base and
 * store keys of a chain never interleave ('B' < 'S'), so this is a
 * concatenation; a merge keeps it right for any keys. */
static int join_parts(pcd_snapshot *s, struct pcd_presort *p)
{
    size_t n1 = p->n, n2 = s->n;
    if (n2 == 0) {
        free(s->recs);
        s->recs = p->recs;
        s->n = n1;
        p->recs = NULL;
        return PC_OK;
    }
    if (pcd_keysort_cmp(&p->recs[n1 - 1], 0, &s->recs[0], 1) <= 0) {
        pcd_rec *all = realloc(p->recs, (n1 + n2) * sizeof *all);
        if (!all)
            return PC_ENOMEM;
        p->recs = NULL;
        memcpy(all + n1, s->recs, n2 * sizeof *all);
        all[n1].same_key = all[n1 - 1].klen == all[n1].klen &&
                           memcmp(all[n1 - 1].key, all[n1].key, all[n1].klen) == 0;
        free(s->recs);
        s->recs = all;
        s->n = n1 + n2;
        return PC_OK;
    }
    pcd_rec *all = malloc((n1 + n2) * sizeof *all);
    if (!all)
        return PC_ENOMEM;
    size_t i = 0, j = 0, o = 0;
    while (i < n1 || j < n2) {
        /* on a full tie the sealed row came first */
        if (j == n2 || (i < n1 && pcd_keysort_cmp(&p->recs[i], 0, &s->recs[j], 1) <= 0))
            all[o++] = p->recs[i++];
        else
            all[o++] = s->recs[j++];
        all[o - 1].same_key = o > 1 && all[o - 2].klen == all[o - 1].klen &&
                              memcmp(all[o - 2].key, all[o - 1].key, all[o - 1].klen) == 0;
    }
    free(s->recs);
    s->recs = all;
    s->n = n1 + n2;
    return PC_OK;
}

void pcd_snapshot_free(pcd_snapshot *s)
{
    presort_free(presort_join(s));
    free_chunks(s->arena);
    free(s->recs);
    free(s->items);
    s->arena = NULL;
    s->recs = NULL;
    s->items = NULL;
    s->n = s->cap = 0;
}

static uint8_t *arena_alloc(pcd_snapshot *s, size_t len)
{
    pcd_arena_chunk *c = s->arena;
    if (!c || c->cap - c->used < len) {
        /* A delta's few rows take one small chunk; a load's keys go in
         * big ones, on huge pages. */
        size_t want = c ? BIG_CHUNK_SIZE : CHUNK_SIZE;
        size_t cap = len > want ? len : want;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        pcd_huge_advise(c, sizeof *c + cap);
        c->used = 0;
        c->cap = cap;
        c->next = s->arena;
        s->arena = c;
    }
    uint8_t *p = c->data + c->used;
    c->used += len;
    return p;
}

int pcd_snapshot_add(pcd_snapshot *s, const char *store, size_t slen,
                     const char *item, size_t ilen, int64_t cents, int64_t updated_at)
{
    return pcd_snapshot_add_us(s, store, slen, item, ilen, cents, updated_at, 0);
}

int pcd_snapshot_add_us(pcd_snapshot *s, const char *store, size_t slen,
                        const char *item, size_t ilen, int64_t cents, int64_t updated_at,
                        uint32_t sub_us)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        pcd_rec *r = realloc(s->recs, cap * sizeof *r);
        if (!r)
            return PC_ENOMEM;
        pcd_huge_advise(r, cap * sizeof *r);
        s->recs = r;
        pcd_sort_item *it = realloc(s->items, cap * sizeof *it);
        if (!it)
            return PC_ENOMEM; /* recs grew alone: cap stays, the next add retries */
        pcd_huge_advise(it, cap * sizeof *it);
        s->items = it;
        s->cap = cap;
    }
    uint8_t kb[PC_KEY_MAX];
    size_t klen = store ? pc_key_store(kb, s->chain, s->clen, store, slen, item, ilen)
                        : pc_key_base(kb, s->chain, s->clen, item, ilen);
    uint8_t *k = arena_alloc(s, klen);
    if (!k)
        return PC_ENOMEM;
    memcpy(k, kb, klen);
    pcd_rec *r = &s->recs[s->n++];
    r->key = k;
    r->klen = (uint32_t)klen;
    r->sub_us = sub_us;
    r->same_key = 0;
    /* The sort's first pass, done here while the server sends the next
     * rows: every key starts with the chain's prefix (slug, NUL). */
    s->items[s->n - 1] = pcd_sort_item_make(k, (uint32_t)klen, (uint32_t)(s->n - 1),
                                            (uint32_t)s->clen + 1);
    r->val.cents = cents;
    r->val.updated_at = updated_at;
    pcd_digest_add(&s->dg[store != NULL], pcd_digest_row(k, klen, &r->val));
    if (store) {
        s->store_rows++;
    } else {
        s->base_rows++;
        s->base_sum += (long double)cents;
    }
    return PC_OK;
}

void pcd_snapshot_reject(pcd_snapshot *s, int reason, const char *sample)
{
    if (reason < 0 || reason >= PC_REJ__COUNT)
        return;
    if (s->rejected[reason]++ == 0 && sample)
        snprintf(s->reject_sample[reason], sizeof s->reject_sample[reason], "%s", sample);
}

static void sample_of(const pcd_snapshot *s, const pcd_rec *r, char *buf, size_t len)
{
    pc_key_view kv;
    if (pc_key_parse(r->key, r->klen, &kv) != PC_OK) {
        snprintf(buf, len, "?");
        return;
    }
    (void)s;
    if (kv.kind == PC_KEY_STORE)
        snprintf(buf, len, "store=\"%.*s\" item=\"%.*s\" price_cents=%lld (duplicate key)",
                 (int)(kv.slen > 40 ? 40 : kv.slen), kv.store,
                 (int)(kv.ilen > 40 ? 40 : kv.ilen), kv.item, (long long)r->val.cents);
    else
        snprintf(buf, len, "item=\"%.*s\" price_cents=%lld (duplicate key)",
                 (int)(kv.ilen > 40 ? 40 : kv.ilen), kv.item, (long long)r->val.cents);
}

/* Every row added digests as the cache's rows do, and counts as many. */
static int same_rows(const pcd_snapshot *s)
{
    const pcd_expect *e = &s->expect;
    return e->version && pcd_digest_keyed() && s->base_rows == e->rows[0] &&
           s->store_rows == e->rows[1] && pcd_digest_eq(s->dg[0], e->dg[0]) &&
           pcd_digest_eq(s->dg[1], e->dg[1]);
}

int pcd_snapshot_finish(pcd_snapshot *s)
{
    uint64_t t0 = pcd_mono_us();
    if (same_rows(s)) {
        /* The cache holds these rows: nothing to sort, diff or write, and
         * their memory goes back now. */
        pcd_snapshot_free(s); /* the counts, sums and digests stay */
        s->same_as = s->expect.version;
        s->us_sort += pcd_mono_us() - t0;
        return PC_OK;
    }
    if (s->pre && s->pre->deferred)
        presort_start(s->pre); /* they were not: sorted now, on both cores */
    /* The later rows first, while the thread still sorts the sealed ones:
     * both cores work once the stream has ended. */
    pcd_arena_chunk *keys = NULL;
    int rc = pcd_keysort_items(&s->recs, s->n, s->items, (uint32_t)s->clen + 1, &keys);
    free(s->items);
    s->items = NULL;
    if (rc == PC_OK && !keys)
        keys = pcd_keys_relocate(s->recs, s->n);
    /* Then this thread joins the sealed rows' sort (the other core is
     * free now that the stream has ended), and waits for its gather. */
    if (s->pre && s->pre->threaded && s->pre->job)
        pcd_keysort_job_run(s->pre->job);
    struct pcd_presort *p = presort_join(s);
    /* The later rows' keys as they arrived go once they moved; the sealed
     * rows' went on the thread (or come along here when they could not
     * move). */
    if (keys) {
        free_chunks(s->arena);
        s->arena = NULL;
    }
    if (rc == PC_OK && p)
        rc = p->rc != PC_OK ? p->rc : join_parts(s, p);
    if (p) {
        adopt_chunks(s, p->arena);
        adopt_chunks(s, p->keys);
        p->arena = p->keys = NULL;
    }
    adopt_chunks(s, keys);
    presort_free(p);
    if (rc != PC_OK)
        return rc;
    /* Drop duplicate keys, keeping the first: the newest. */
    size_t o = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->recs[i].same_key) { /* the key of recs[i - 1]: kept or dropped */
            const pcd_rec *r = &s->recs[i];
            char sample[128];
            sample_of(s, r, sample, sizeof sample);
            pcd_snapshot_reject(s, PC_REJ_DUPLICATE, sample);
            pc_key_view kv;
            if (pc_key_parse(r->key, r->klen, &kv) == PC_OK && kv.kind == PC_KEY_STORE) {
                s->store_rows--;
            } else {
                s->base_rows--;
                s->base_sum -= (long double)r->val.cents;
            }
            continue;
        }
        if (o != i)
            s->recs[o] = s->recs[i];
        o++;
    }
    s->n = o;
    s->cap = o; /* an add after this one reallocates records and items */
    s->us_sort += pcd_mono_us() - t0;
    return PC_OK;
}

uint64_t pcd_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t pcd_snapshot_rejected_total(const pcd_snapshot *s)
{
    uint64_t t = 0;
    for (int i = 0; i < PC_REJ__COUNT; i++)
        t += s->rejected[i];
    return t;
}

int64_t pcd_snapshot_avg_cents(const pcd_snapshot *s)
{
    return pcd_mean_cents(s->base_sum, s->base_rows);
}

int64_t pcd_mean_cents(long double sum, uint64_t n)
{
    if (n == 0)
        return 0;
    long double a = sum / (long double)n;
    a = a < 0 ? a - 0.5L : a + 0.5L;
    /* Prices up to INT64_MAX are legal: a mean beyond int64 is clamped
     * (converting an out-of-range value is undefined, INT64_MIN on x86). */
    if (a >= (long double)INT64_MAX)
        return INT64_MAX;
    if (a <= (long double)INT64_MIN)
        return INT64_MIN;
    return (int64_t)a;
}
