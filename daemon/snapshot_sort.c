/* snapshot_sort.c - a chain's records in LMDB key order, newest first among equal keys: an MSD radix sort on the key bytes. */
#include "snapshot_sort.h"

/* Owns: the order of a loaded chain.  May call: nothing of daemon/ (the
 * record type of snapshot.h only).
 *
 * Why a radix sort: PostgreSQL's ORDER BY ... COLLATE "C" cost the load
 * more than the rows' transfer, and a comparison sort of a million
 * 30-byte keys reached through pointers (qsort: ~20 memcmp per key, each a
 * cache miss) is slower still.  An MSD radix sort reads each key's bytes a
 * window of 8 at a time into a 16-byte item, so that almost every pass
 * works on a contiguous array; the keys of one chain share their first
 * bytes (the slug), which the sort skips at once. */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"

/* Groups up to SMALL items are finished by insertion sort, up to MEDIUM
 * by quicksort, both on the full order: a radix pass costs its 257
 * buckets whatever the group's size, which only pays for large groups. */
#define SMALL  16
#define MEDIUM 384

typedef pcd_sort_item item;

typedef struct task {
    size_t   off, n;
    uint32_t depth, wb;  /* bytes [0, depth) are equal in the group; the
                            window starts at wb */
} task;

typedef struct ctx {
    const pcd_rec *recs;
    item          *it;
    task          *stack;
    size_t         ns, cap;
    struct pcd_keysort_job *job; /* shared between threads: push locks */
} ctx;

static uint64_t load_window(const uint8_t *key, uint32_t klen, uint32_t at)
{
    uint64_t w = 0;
    uint32_t left = at < klen ? klen - at : 0;
    if (left >= 8) {
        for (uint32_t i = 0; i < 8; i++)
            w = (w << 8) | key[at + i];
        return w;
    }
    for (uint32_t i = 0; i < left; i++)
        w |= (uint64_t)key[at + i] << (56 - 8 * i);
    return w;
}

pcd_sort_item pcd_sort_item_make(const uint8_t *key, uint32_t klen, uint32_t idx, uint32_t wb)
{
    return (pcd_sort_item){ load_window(key, klen, wb), idx, klen };
}

/* Among equal keys: newest first, then arrival. */
static int tie_cmp(const pcd_rec *a, size_t ia, const pcd_rec *b, size_t ib)
{
    if (a->val.updated_at != b->val.updated_at)
        return a->val.updated_at > b->val.updated_at ? -1 : 1;
    if (a->sub_us != b->sub_us)
        return a->sub_us > b->sub_us ? -1 : 1;
    return (ia > ib) - (ia < ib);
}

static int key_cmp(const pcd_rec *a, const pcd_rec *b)
{
    size_t m = a->klen < b->klen ? a->klen : b->klen;
    int c = m ? memcmp(a->key, b->key, m) : 0;
    if (c)
        return c;
    return (a->klen > b->klen) - (a->klen < b->klen);
}

int pcd_keysort_cmp(const pcd_rec *a, size_t ia, const pcd_rec *b, size_t ib)
{
    int c = key_cmp(a, b);
    return c ? c : tie_cmp(a, ia, b, ib);
}

/* The full order of two items whose keys agree on bytes [0, depth). */
static int item_cmp(const ctx *x, const item *a, const item *b, uint32_t depth)
{
    const pcd_rec *ra = &x->recs[a->idx], *rb = &x->recs[b->idx];
    uint32_t m = a->klen < b->klen ? a->klen : b->klen;
    if (depth < m) {
        int c = memcmp(ra->key + depth, rb->key + depth, m - depth);
        if (c)
            return c;
    }
    if (a->klen != b->klen)
        return a->klen < b->klen ? -1 : 1;
    return tie_cmp(ra, a->idx, rb, b->idx);
}

/* Items of one group share their window's start: unequal windows order
 * them without reaching the keys (a zero past a key's end sorts it
 * before its extensions, as a prefix must). */
static inline int group_cmp(const ctx *x, const item *a, const item *b, uint32_t depth)
{
    if (a->w != b->w)
        return a->w < b->w ? -1 : 1;
    return item_cmp(x, a, b, depth);
}

static void insertion(const ctx *x, item *a, size_t n, uint32_t depth)
{
    for (size_t i = 1; i < n; i++) {
        item v = a[i];
        size_t j = i;
        while (j > 0 && group_cmp(x, &v, &a[j - 1], depth) < 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static inline void swap_items(item *a, item *b)
{
    item t = *a;
    *a = *b;
    *b = t;
}

/* Quicksort by group_cmp (median of three, the smaller side first so
 * the stack stays shallow), insertion sort below SMALL. */
static void quick(const ctx *x, item *a, size_t n, uint32_t depth)
{
    while (n > SMALL) {
        size_t m = n / 2;
        if (group_cmp(x, &a[m], &a[0], depth) < 0)
            swap_items(&a[m], &a[0]);
        if (group_cmp(x, &a[n - 1], &a[0], depth) < 0)
            swap_items(&a[n - 1], &a[0]);
        if (group_cmp(x, &a[n - 1], &a[m], depth) < 0)
            swap_items(&a[n - 1], &a[m]);
        /* a[0] <= a[m] <= a[n-1]: the pivot goes to n-2, the ends guard
         * the scans. */
        swap_items(&a[m], &a[n - 2]);
        item p = a[n - 2];
        size_t i = 0, j = n - 2;
        for (;;) {
            while (group_cmp(x, &a[++i], &p, depth) < 0)
                ;
            while (group_cmp(x, &p, &a[--j], depth) < 0)
                ;
            if (i >= j)
                break;
            swap_items(&a[i], &a[j]);
        }
        swap_items(&a[i], &a[n - 2]);
        /* [0, i) < p, a[i] = p, (i, n) > p */
        if (i < n - i - 1) {
            quick(x, a, i, depth);
            a += i + 1;
            n -= i + 1;
        } else {
            quick(x, a + i + 1, n - i - 1, depth);
            n = i;
        }
    }
    insertion(x, a, n, depth);
}

/* Records of one key (duplicates from a custom query): by tie_cmp, which
 * ends on the arrival index, so any sort gives the one order. */
static int dup_cmp(const void *pa, const void *pb, void *arg)
{
    const item *a = pa, *b = pb;
    const pcd_rec *recs = arg;
    return tie_cmp(&recs[a->idx], a->idx, &recs[b->idx], b->idx);
}

static void sort_dups(const ctx *x, item *a, size_t n, uint32_t depth)
{
    if (n <= SMALL)
        insertion(x, a, n, depth);
    else
        qsort_r(a, n, sizeof *a, dup_cmp, (void *)x->recs);
}

static int push_locked(ctx *x, size_t off, size_t n, uint32_t depth, uint32_t wb)
{
    if (x->ns == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 1024;
        task *s = realloc(x->stack, cap * sizeof *s);
        if (!s)
            return -1;
        x->stack = s;
        x->cap = cap;
    }
    x->stack[x->ns++] = (task){ off, n, depth, wb };
    return 0;
}

static void job_lock(struct pcd_keysort_job *j);
static void job_unlock_signal(struct pcd_keysort_job *j);

static int push(ctx *x, size_t off, size_t n, uint32_t depth, uint32_t wb)
{
    if (!x->job)
        return push_locked(x, off, n, depth, wb);
    job_lock(x->job);
    int rc = push_locked(x, off, n, depth, wb);
    job_unlock_signal(x->job);
    return rc;
}

static inline unsigned digit(const item *v, uint32_t depth, unsigned shift)
{
    return depth < v->klen ? 1u + (unsigned)((v->w >> shift) & 0xff) : 0u;
}

/* One group: refill the window if used up, then split it by the byte at
 * `depth` (0 for keys ending there, 1 + byte otherwise) in place
 * (American flag sort) and queue the parts. */
static int split(ctx *x, task t)
{
    item *a = x->it + t.off;
    size_t n = t.n;
    uint32_t depth = t.depth, wb = t.wb;
    for (;;) {
        /* A window used up (or nearly, for a group the comparison sort
         * finishes) is read again from `depth`: one read of each key now
         * rather than one per comparison. */
        if (depth - wb == 8 || (n <= MEDIUM && depth - wb > 4)) {
            for (size_t i = 0; i < n; i++)
                a[i].w = load_window(x->recs[a[i].idx].key, a[i].klen, depth);
            wb = depth;
        }
        if (n <= MEDIUM) {
            quick(x, a, n, depth);
            return 0;
        }
        unsigned shift = 56 - 8 * (depth - wb);
        size_t count[257] = { 0 };
        for (size_t i = 0; i < n; i++)
            count[digit(&a[i], depth, shift)]++;
        if (count[0] == n) { /* equal keys */
            sort_dups(x, a, n, depth);
            return 0;
        }
        unsigned only = 257;
        for (unsigned d = 0; d < 257; d++)
            if (count[d] == n)
                only = d;
        if (only != 257) { /* one byte for all: look further */
            depth++;
            continue;
        }
        size_t next[257], end[257], o = 0;
        for (unsigned d = 0; d < 257; d++) {
            next[d] = o;
            o += count[d];
            end[d] = o;
        }
        for (unsigned b = 0; b < 257; b++) {
            while (next[b] < end[b]) {
                item v = a[next[b]];
                unsigned d = digit(&v, depth, shift);
                while (d != b) {
                    item tmp = a[next[d]];
                    a[next[d]++] = v;
                    v = tmp;
                    d = digit(&v, depth, shift);
                }
                a[next[b]++] = v;
            }
        }
        size_t start = 0;
        for (unsigned d = 0; d < 257; d++) {
            size_t c = count[d];
            if (c > 1) {
                if (d == 0) /* keys ending here: equal keys */
                    sort_dups(x, a + start, c, depth);
                else if (push(x, t.off + start, c, depth + 1, wb) != 0)
                    return -1;
            }
            start += c;
        }
        return 0;
    }
}

/* Already in order (a delta's rows, sorted by PostgreSQL): 1, with the
 * duplicates marked; 0 otherwise. */
static int in_order(pcd_rec *recs, size_t n)
{
    recs[0].same_key = 0;
    for (size_t i = 1; i < n; i++) {
        int c = key_cmp(&recs[i - 1], &recs[i]);
        if (c > 0 || (c == 0 && tie_cmp(&recs[i - 1], i - 1, &recs[i], i) > 0))
            return 0;
        recs[i].same_key = c == 0;
    }
    return 1;
}

/* Gather the records in the items' order into a new array. */
static int gather(pcd_rec **precs, size_t n, const item *it)
{
    pcd_rec *recs = *precs;
    pcd_rec *out = malloc(n * sizeof *out);
    if (!out)
        return PC_ENOMEM;
    /* The reads are random but independent, so the prefetch overlaps
     * their cache misses. */
    for (size_t i = 0; i < n; i++) {
        if (i + 16 < n)
            __builtin_prefetch(&recs[it[i + 16].idx]);
        const item *v = &it[i];
        out[i] = recs[v->idx];
        /* Equal keys went down together: one window, one length.  Equal
         * windows of unequal keys are rare (ids longer than the window
         * that differ late), and only they reach the key bytes. */
        out[i].same_key = i > 0 && v->w == v[-1].w && v->klen == v[-1].klen &&
                          key_cmp(&out[i - 1], &out[i]) == 0;
    }
    free(recs);
    *precs = out;
    return PC_OK;
}

/* Sort the items (windows from `start`, bytes [0, start) equal in every
 * key) and gather the records into a new array. */
static int sort_gather(pcd_rec **precs, size_t n, item *it, uint32_t start)
{
    ctx x = { *precs, it, NULL, 0, 0, NULL };
    int rc = push(&x, 0, n, start, start);
    while (rc == 0 && x.ns > 0) {
        task t = x.stack[--x.ns];
        rc = split(&x, t);
    }
    free(x.stack);
    return rc == 0 ? gather(precs, n, it) : PC_ENOMEM;
}

/* ---- one sort, shared between threads --------------------------------- */

/* The groups left to split are tasks on one stack: any thread takes the
 * next, and the sort is done when the stack is empty with no thread
 * splitting (a split may push more). */
struct pcd_keysort_job {
    ctx             x;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             active;   /* threads splitting a group now */
    int             failed;   /* out of memory: every thread stops */
    int             settled;  /* no sort needed: rc is the answer */
    int             rc;
    pcd_rec       **precs;
    size_t          n;
};

static void job_lock(struct pcd_keysort_job *j)
{
    pthread_mutex_lock(&j->mu);
}

static void job_unlock_signal(struct pcd_keysort_job *j)
{
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static int settled(pcd_rec *recs, size_t n, int *rc);

pcd_keysort_job *pcd_keysort_job_new(pcd_rec **precs, size_t n, pcd_sort_item *items,
                                     uint32_t wb)
{
    pcd_keysort_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (pthread_mutex_init(&j->mu, NULL) != 0) {
        free(j);
        return NULL;
    }
    if (pthread_cond_init(&j->cv, NULL) != 0) {
        pthread_mutex_destroy(&j->mu);
        free(j);
        return NULL;
    }
    j->precs = precs;
    j->n = n;
    j->x = (ctx){ *precs, items, NULL, 0, 0, NULL };
    j->settled = settled(*precs, n, &j->rc);
    if (!j->settled && push_locked(&j->x, 0, n, wb, wb) != 0) {
        pcd_keysort_job_free(j);
        return NULL;
    }
    j->x.job = j;
    return j;
}

void pcd_keysort_job_run(pcd_keysort_job *j)
{
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (j->x.ns == 0 && j->active > 0 && !j->failed)
            pthread_cond_wait(&j->cv, &j->mu);
        if (j->failed || j->x.ns == 0)
            break; /* with nothing active: done */
        task t = j->x.stack[--j->x.ns];
        j->active++;
        pthread_mutex_unlock(&j->mu);
        int rc = split(&j->x, t);
        pthread_mutex_lock(&j->mu);
        j->active--;
        if (rc != 0)
            j->failed = 1;
        /* The last one out wakes the others: the sort is done. */
        if (j->active == 0 && j->x.ns == 0)
            pthread_cond_broadcast(&j->cv);
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

int pcd_keysort_job_gather(pcd_keysort_job *j)
{
    if (j->settled)
        return j->rc;
    if (j->failed)
        return PC_ENOMEM;
    return gather(j->precs, j->n, j->x.it);
}

void pcd_keysort_job_free(pcd_keysort_job *j)
{
    if (!j)
        return;
    free(j->x.stack);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* The cases that need no sort: 0 or 1 record, or records already in
 * order.  1 when *rc is the answer (PC_OK, or PC_ENOMEM past 2^32). */
static int settled(pcd_rec *recs, size_t n, int *rc)
{
    *rc = PC_OK;
    if (n < 2) {
        if (n)
            recs[0].same_key = 0;
        return 1;
    }
    if (n > UINT32_MAX) {
        *rc = PC_ENOMEM;
        return 1;
    }
    return in_order(recs, n);
}

int pcd_keysort(pcd_rec **precs, size_t n)
{
    pcd_rec *recs = *precs;
    int rc;
    if (settled(recs, n, &rc))
        return rc;
    item *it = malloc(n * sizeof *it);
    if (!it)
        return PC_ENOMEM;
    /* The bytes every key shares are skipped at once. */
    uint32_t lcp = recs[0].klen;
    for (size_t i = 1; i < n && lcp; i++) {
        uint32_t m = recs[i].klen < lcp ? recs[i].klen : lcp, j = 0;
        while (j < m && recs[i].key[j] == recs[0].key[j])
            j++;
        lcp = j;
    }
    for (size_t i = 0; i < n; i++)
        it[i] = pcd_sort_item_make(recs[i].key, recs[i].klen, (uint32_t)i, lcp);
    rc = sort_gather(precs, n, it, lcp);
    free(it);
    return rc;
}

int pcd_keysort_items(pcd_rec **precs, size_t n, pcd_sort_item *items, uint32_t wb)
{
    int rc;
    if (settled(*precs, n, &rc))
        return rc;
    return sort_gather(precs, n, items, wb);
}
