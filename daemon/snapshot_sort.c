/* snapshot_sort.c - a chain's records in LMDB key order, newest first among equal keys: an MSD radix sort on the key bytes. */
#include "snapshot_sort.h"

/* Owns: the order of a loaded chain.  May call: hugemem.c (and the
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

#include "hugemem.h"
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

/* Gather recs into out[lo, hi) in the items' order and, when `o` is
 * given, copy their keys there in that order and point the records at
 * them, so that the passes after the sort (duplicates, the diff against
 * LMDB) read keys in sequence instead of one cache miss each.  The two in
 * one pass: each record is read once, and its key while the record is
 * still in cache.  out[lo]'s same_key is 0, as at an array's start: where
 * another range comes before, the caller settles it (same_key_at). */
static void gather_range(const pcd_rec *recs, const item *it, pcd_rec *out, size_t lo,
                         size_t hi, uint8_t *o)
{
    /* The reads are random but independent, so the prefetches overlap
     * their cache misses: the record 16 ahead, and the key of the one 8
     * ahead, whose record came in meanwhile. */
    for (size_t i = lo; i < hi; i++) {
        if (i + 16 < hi)
            __builtin_prefetch(&recs[it[i + 16].idx]);
        if (o && i + 8 < hi)
            __builtin_prefetch(recs[it[i + 8].idx].key);
        const item *v = &it[i];
        out[i] = recs[v->idx];
        if (o) {
            memcpy(o, out[i].key, out[i].klen);
            out[i].key = o;
            o += out[i].klen;
        }
        /* Equal keys went down together: one window, one length.  Equal
         * windows of unequal keys are rare (ids longer than the window
         * that differ late), and only they reach the key bytes. */
        out[i].same_key = i > lo && v->w == v[-1].w && v->klen == v[-1].klen &&
                          key_cmp(&out[i - 1], &out[i]) == 0;
    }
}

/* A chunk for the keys of items [0, n): one allocation (a big one is
 * mapped apart and goes back to the system whole when freed, where many
 * smaller ones would stay in malloc's arenas).  NULL: none, or no memory. */
/* One chunk of `total` key bytes (NULL: none, or no memory). */
static pcd_arena_chunk *chunk_of(size_t total)
{
    pcd_arena_chunk *c = total ? malloc(sizeof *c + total) : NULL;
    if (c) {
        pcd_huge_advise(c, sizeof *c + total);
        c->next = NULL;
        c->used = c->cap = total;
    }
    return c;
}

static pcd_arena_chunk *key_chunk(const item *it, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += it[i].klen;
    return chunk_of(total);
}

/* Copy the keys of recs[lo..hi) to o on, in the records' order, and point
 * the records there. */
static void move_range(pcd_rec *recs, size_t lo, size_t hi, uint8_t *o)
{
    for (size_t i = lo; i < hi; i++) {
        if (i + 16 < hi)
            __builtin_prefetch(recs[i + 16].key);
        memcpy(o, recs[i].key, recs[i].klen);
        recs[i].key = o;
        o += recs[i].klen;
    }
}

pcd_arena_chunk *pcd_keys_relocate(pcd_rec *recs, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += recs[i].klen;
    pcd_arena_chunk *c = chunk_of(total);
    if (c)
        move_range(recs, 0, n, c->data);
    return c;
}

static void same_key_at(pcd_rec *out, const item *it, size_t i)
{
    out[i].same_key = i > 0 && it[i].w == it[i - 1].w && it[i].klen == it[i - 1].klen &&
                      key_cmp(&out[i - 1], &out[i]) == 0;
}

/* Gather the records in the items' order into a new array (see
 * gather_range), and with `keys` their keys into *keys (NULL: not moved). */
static int gather(pcd_rec **precs, size_t n, const item *it, pcd_arena_chunk **keys)
{
    pcd_rec *out = malloc(n * sizeof *out);
    if (!out)
        return PC_ENOMEM;
    pcd_huge_advise(out, n * sizeof *out);
    if (keys)
        *keys = key_chunk(it, n);
    gather_range(*precs, it, out, 0, n, keys && *keys ? (*keys)->data : NULL);
    free(*precs);
    *precs = out;
    return PC_OK;
}

/* Sort the items (windows from `start`, bytes [0, start) equal in every
 * key) and gather the records into a new array. */
static int sort_gather(pcd_rec **precs, size_t n, item *it, uint32_t start,
                       pcd_arena_chunk **keys)
{
    ctx x = { *precs, it, NULL, 0, 0, NULL };
    int rc = push(&x, 0, n, start, start);
    while (rc == 0 && x.ns > 0) {
        task t = x.stack[--x.ns];
        rc = split(&x, t);
    }
    free(x.stack);
    return rc == 0 ? gather(precs, n, it, keys) : PC_ENOMEM;
}

/* ---- one sort, shared between threads --------------------------------- */

/* The gather, then the keys' move, are cut into pieces of this many
 * records, which the job's threads take in turn: their cache misses (the
 * records', then the keys') are most of what is left of a sort once its
 * groups are split. */
#define PIECE ((size_t)1 << 16)

/* The groups left to split are tasks on one stack: any thread takes the
 * next, and the splits are done when the stack is empty with no thread
 * splitting (a split may push more).  Then the gather's pieces, then the
 * keys' (two passes, not one: the records as they arrived are freed in
 * between, so that the old and new records and the old and new keys are
 * never all held at once: ~30 MB more at the peak of a 1.2 M-row load). */
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
    int             move_keys;
    int             begun;    /* the gather's pieces were set up */
    int             gathered; /* the records were put in place */
    pcd_rec        *out;      /* the gather's records */
    pcd_arena_chunk *keys;    /* the keys moved, in the records' order (NULL:
                                 not moved) */
    size_t         *koff;     /* where each piece's keys begin in keys */
    size_t          pieces;
    size_t          taken, done;   /* the gather's pieces */
    size_t          mtaken, mdone; /* the keys' pieces */
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
                                     uint32_t wb, int move_keys)
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
    j->move_keys = move_keys;
    j->x = (ctx){ *precs, items, NULL, 0, 0, NULL };
    j->settled = settled(*precs, n, &j->rc);
    if (!j->settled && push_locked(&j->x, 0, n, wb, wb) != 0) {
        pcd_keysort_job_free(j);
        return NULL;
    }
    j->x.job = j;
    return j;
}

/* The splits are over (locked): set the gather's pieces up, once (a
 * thread that comes late finds them all done). */
static void gather_begin(pcd_keysort_job *j)
{
    if (j->begun || j->failed)
        return;
    j->begun = 1;
    j->pieces = (j->n + PIECE - 1) / PIECE;
    j->out = malloc(j->n * sizeof *j->out);
    if (!j->out) {
        j->failed = 1;
        return;
    }
    pcd_huge_advise(j->out, j->n * sizeof *j->out);
}

/* Every piece gathered (locked): the records in place, the ones as they
 * arrived freed, and the keys' chunk set up, once.  Where each piece's
 * keys go is summed here: one pass over the items' lengths, in sequence. */
static void move_begin(pcd_keysort_job *j)
{
    if (j->gathered || j->failed)
        return;
    j->gathered = 1;
    /* Each piece's first record against the last of the piece before. */
    for (size_t p = 1; p < j->pieces; p++)
        same_key_at(j->out, j->x.it, p * PIECE);
    free(*j->precs);
    *j->precs = j->out;
    j->out = NULL;
    if (!j->move_keys || (j->koff = malloc(j->pieces * sizeof *j->koff)) == NULL)
        return;
    size_t at = 0;
    for (size_t i = 0; i < j->n; i++) {
        if (i % PIECE == 0)
            j->koff[i / PIECE] = at;
        at += j->x.it[i].klen;
    }
    j->keys = chunk_of(at);
}

void pcd_keysort_job_run(pcd_keysort_job *j)
{
    pthread_mutex_lock(&j->mu);
    if (j->settled) {
        pthread_mutex_unlock(&j->mu);
        return;
    }
    for (;;) {
        while (j->x.ns == 0 && j->active > 0 && !j->failed)
            pthread_cond_wait(&j->cv, &j->mu);
        if (j->failed || j->x.ns == 0)
            break; /* with nothing active: the splits are done */
        task t = j->x.stack[--j->x.ns];
        j->active++;
        pthread_mutex_unlock(&j->mu);
        int rc = split(&j->x, t);
        pthread_mutex_lock(&j->mu);
        j->active--;
        if (rc != 0)
            j->failed = 1;
        /* The last one out wakes the others: the splits are done. */
        if (j->active == 0 && j->x.ns == 0)
            pthread_cond_broadcast(&j->cv);
    }
    gather_begin(j);
    while (!j->failed && j->taken < j->pieces) {
        size_t p = j->taken++;
        pthread_mutex_unlock(&j->mu);
        size_t lo = p * PIECE, hi = lo + PIECE < j->n ? lo + PIECE : j->n;
        gather_range(*j->precs, j->x.it, j->out, lo, hi, NULL);
        pthread_mutex_lock(&j->mu);
        if (++j->done == j->pieces)
            pthread_cond_broadcast(&j->cv);
    }
    while (!j->failed && j->done < j->pieces)
        pthread_cond_wait(&j->cv, &j->mu);
    move_begin(j);
    while (!j->failed && j->keys && j->mtaken < j->pieces) {
        size_t p = j->mtaken++;
        pthread_mutex_unlock(&j->mu);
        size_t lo = p * PIECE, hi = lo + PIECE < j->n ? lo + PIECE : j->n;
        move_range(*j->precs, lo, hi, j->keys->data + j->koff[p]);
        pthread_mutex_lock(&j->mu);
        if (++j->mdone == j->pieces)
            pthread_cond_broadcast(&j->cv);
    }
    /* No thread returns before every piece is done: the result is read
     * by whichever returns. */
    while (!j->failed && j->keys && j->mdone < j->pieces)
        pthread_cond_wait(&j->cv, &j->mu);
    /* A failure ends every wait. */
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

int pcd_keysort_job_gather(pcd_keysort_job *j, pcd_arena_chunk **keys)
{
    *keys = NULL;
    if (j->settled)
        return j->rc;
    /* Locked: a thread may still be on its way out of _run. */
    pthread_mutex_lock(&j->mu);
    int rc = j->failed || !j->gathered ? PC_ENOMEM : PC_OK;
    if (rc == PC_OK) {
        *keys = j->keys;
        j->keys = NULL;
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void pcd_keysort_job_free(pcd_keysort_job *j)
{
    if (!j)
        return;
    free(j->x.stack);
    free(j->out);
    free(j->keys);
    free(j->koff);
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
    rc = sort_gather(precs, n, it, lcp, NULL);
    free(it);
    return rc;
}

int pcd_keysort_items(pcd_rec **precs, size_t n, pcd_sort_item *items, uint32_t wb,
                      pcd_arena_chunk **keys)
{
    int rc;
    if (keys)
        *keys = NULL;
    if (settled(*precs, n, &rc))
        return rc;
    return sort_gather(precs, n, items, wb, keys);
}
