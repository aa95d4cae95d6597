/* test_snapshot_sort.c - the loader's sort (snapshot_sort.c) against a plain comparison sort: key bytes, prefixes, NUL separators, non-ASCII, 200-byte ids, duplicates newest first, ties by arrival; and the loader's timestamp decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadrow.h"
#include "pc_format.h"
#include "snapshot.h"
#include "snapshot_sort.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The reference: the documented order, by a stable merge sort (no
 * radix, no arrival index needed beyond stability). */
static int ref_before(const pcd_rec *a, const pcd_rec *b)
{
    size_t m = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->key, b->key, m);
    if (c)
        return c < 0;
    if (a->klen != b->klen)
        return a->klen < b->klen;
    if (a->val.updated_at != b->val.updated_at)
        return a->val.updated_at > b->val.updated_at;
    return a->sub_us > b->sub_us;
}

static void merge_sort(pcd_rec *v, pcd_rec *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(v, tmp, h);
    merge_sort(v + h, tmp, n - h);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < n)
        tmp[o++] = ref_before(&v[j], &v[i]) ? v[j++] : v[i++];
    while (i < h)
        tmp[o++] = v[i++];
    while (j < n)
        tmp[o++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

/* Sort `in` both ways and require the very same records in the same
 * order (the key pointers are distinct per row, so ties show). */
static void expect_order(const pcd_rec *in, const pcd_rec *mine, size_t n);
static void expect_order_moved(const pcd_rec *in, const pcd_rec *mine, size_t n);

static void check_same(const pcd_rec *in, size_t n)
{
    pcd_rec *mine = malloc((n ? n : 1) * sizeof *mine);
    assert_non_null(mine);
    memcpy(mine, in, n * sizeof *in);
    assert_int_equal(pcd_keysort(&mine, n), PC_OK);
    expect_order(in, mine, n);
    free(mine);
}

static void expect_order_how(const pcd_rec *in, const pcd_rec *mine, size_t n, int moved);

/* `mine`, a sort of `in`, is the reference's order, same_key included. */
static void expect_order(const pcd_rec *in, const pcd_rec *mine, size_t n)
{
    expect_order_how(in, mine, n, 0);
}

/* The same for a sort that moved the keys: the records compare by their
 * keys' bytes and their values, not by where their keys are. */
static void expect_order_moved(const pcd_rec *in, const pcd_rec *mine, size_t n)
{
    expect_order_how(in, mine, n, 1);
}

static int same_rec(const pcd_rec *a, const pcd_rec *b, int moved)
{
    if (!moved)
        return a->key == b->key && a->val.cents == b->val.cents;
    return a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0 &&
           a->val.cents == b->val.cents && a->val.updated_at == b->val.updated_at &&
           a->sub_us == b->sub_us;
}

static void expect_order_how(const pcd_rec *in, const pcd_rec *mine, size_t n, int moved)
{
    pcd_rec *ref = malloc((n ? n : 1) * sizeof *ref), *tmp = malloc((n ? n : 1) * sizeof *tmp);
    assert_non_null(ref);
    assert_non_null(tmp);
    memcpy(ref, in, n * sizeof *in);
    merge_sort(ref, tmp, n);
    for (size_t i = 0; i < n; i++) {
        if (!same_rec(&mine[i], &ref[i], moved))
            fail_msg("position %zu of %zu: got key %.*s (%lld), want %.*s (%lld)", i, n,
                     (int)mine[i].klen, mine[i].key, (long long)mine[i].val.cents,
                     (int)ref[i].klen, ref[i].key, (long long)ref[i].val.cents);
        int same = i > 0 && ref[i].klen == ref[i - 1].klen &&
                   memcmp(ref[i].key, ref[i - 1].key, ref[i].klen) == 0;
        if ((int)mine[i].same_key != same)
            fail_msg("position %zu of %zu: same_key %d, want %d", i, n, (int)mine[i].same_key,
                     same);
    }
    free(ref);
    free(tmp);
}

/* Keys in one buffer; recs point into it. */
typedef struct set {
    uint8_t *buf;
    size_t   used, cap;
    pcd_rec *recs;
    size_t   n, rcap;
    size_t  *off;
} set;

static void set_add(set *s, const void *key, size_t klen, int64_t ts, uint32_t sub)
{
    if (s->used + klen > s->cap) {
        s->cap = (s->used + klen) * 2 + 1024;
        s->buf = realloc(s->buf, s->cap);
        assert_non_null(s->buf);
    }
    if (s->n == s->rcap) {
        s->rcap = s->rcap ? s->rcap * 2 : 64;
        s->recs = realloc(s->recs, s->rcap * sizeof *s->recs);
        s->off = realloc(s->off, s->rcap * sizeof *s->off);
        assert_non_null(s->recs);
        assert_non_null(s->off);
    }
    memcpy(s->buf + s->used, key, klen);
    s->off[s->n] = s->used;
    s->recs[s->n] = (pcd_rec){ .key = NULL, .klen = (uint32_t)klen, .sub_us = sub,
                               .val = { (int64_t)s->n, ts } };
    s->used += klen;
    s->n++;
}

static void set_fix(set *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->recs[i].key = s->buf + s->off[i];
}

static void set_free(set *s)
{
    free(s->buf);
    free(s->recs);
    free(s->off);
    memset(s, 0, sizeof *s);
}

/* Input already in order (a delta's rows): kept as it is, duplicates
 * marked. */
static void test_sorted_input(void **state)
{
    (void)state;
    set s = { 0 };
    set_add(&s, "a", 1, 5, 0);
    set_add(&s, "b", 1, 9, 0);
    set_add(&s, "b", 1, 9, 0);
    set_add(&s, "b", 1, 3, 0);
    set_add(&s, "c", 1, 0, 0);
    set_fix(&s);
    pcd_rec *before = s.recs;
    check_same(s.recs, s.n);
    assert_int_equal(pcd_keysort(&s.recs, s.n), PC_OK);
    assert_ptr_equal(s.recs, before);
    int want[] = { 0, 0, 1, 1, 0 };
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(s.recs[i].same_key, want[i]);
    set_free(&s);
}

static void test_empty_and_one(void **state)
{
    (void)state;
    pcd_rec *none = NULL;
    assert_int_equal(pcd_keysort(&none, 0), PC_OK);
    assert_null(none);
    set s = { 0 };
    set_add(&s, "x", 1, 0, 0);
    set_fix(&s);
    pcd_rec *before = s.recs;
    assert_int_equal(pcd_keysort(&s.recs, 1), PC_OK);
    assert_ptr_equal(s.recs, before);
    set_free(&s);
    /* an empty key sorts first */
    set_add(&s, "b", 1, 0, 0);
    set_add(&s, "", 0, 0, 0);
    set_add(&s, "a", 1, 0, 0);
    set_fix(&s);
    check_same(s.recs, s.n);
    set_free(&s);
}

/* Random CUID-like ids behind a common prefix, base and store keys, as
 * the loader builds them: large enough for every radix path. */
static void test_random_keys(void **state)
{
    (void)state;
    set s = { 0 };
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint8_t kb[PC_KEY_MAX];
    for (int i = 0; i < 60000; i++) {
        char item[25], store[8];
        item[0] = (char)('a' + rnd() % 26);
        for (int j = 1; j < 24; j++)
            item[j] = b36[rnd() % 36];
        int slen = snprintf(store, sizeof store, "s%d", (int)(rnd() % 300));
        size_t ilen = 1 + rnd() % 24;
        size_t klen = i % 5 == 0 ? pc_key_store(kb, "bench", 5, store, (size_t)slen, item, ilen)
                                 : pc_key_base(kb, "bench", 5, item, ilen);
        set_add(&s, kb, klen, (int64_t)(rnd() % 4), (uint32_t)(rnd() % 3));
    }
    set_fix(&s);
    check_same(s.recs, s.n);
    set_free(&s);
}

static void *job_thread(void *arg)
{
    pcd_keysort_job_run(arg);
    return NULL;
}

/* pcd_keysort_job run by two threads from the start (as the sort thread
 * and the loader's thread do once the stream has ended), keys moved or
 * not: the reference's order, duplicates included; moved keys lie in the
 * chunk returned, in the records' order. */
static void job_two_threads(set *s, int move_keys)
{
    pcd_rec *mine = malloc(s->n * sizeof *mine);
    pcd_sort_item *items = malloc(s->n * sizeof *items);
    assert_non_null(mine);
    assert_non_null(items);
    memcpy(mine, s->recs, s->n * sizeof *mine);
    for (size_t i = 0; i < s->n; i++)
        items[i] = pcd_sort_item_make(mine[i].key, mine[i].klen, (uint32_t)i, 0);
    pcd_keysort_job *j = pcd_keysort_job_new(&mine, s->n, items, 0, move_keys);
    assert_non_null(j);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, job_thread, j), 0);
    pcd_keysort_job_run(j);
    assert_int_equal(pthread_join(th, NULL), 0);
    pcd_arena_chunk *keys = NULL;
    assert_int_equal(pcd_keysort_job_gather(j, &keys), PC_OK);
    pcd_keysort_job_free(j);
    if (!move_keys) {
        assert_null(keys);
        expect_order(s->recs, mine, s->n);
    } else {
        assert_non_null(keys);
        assert_null(keys->next); /* one chunk: it goes back to the system whole */
        expect_order_moved(s->recs, mine, s->n);
        /* Every key in a returned chunk, each chunk filled in order. */
        size_t total = 0, inside = 0;
        for (pcd_arena_chunk *c = keys; c; c = c->next)
            total += c->used;
        for (size_t i = 0; i < s->n; i++) {
            for (pcd_arena_chunk *c = keys; c; c = c->next)
                if (mine[i].key >= c->data && mine[i].key + mine[i].klen <= c->data + c->used) {
                    inside++;
                    break;
                }
            if (i > 0 && mine[i].key != mine[i - 1].key + mine[i - 1].klen) {
                /* a new chunk begins: none of the key bytes before */
                int starts = 0;
                for (pcd_arena_chunk *c = keys; c; c = c->next)
                    starts |= mine[i].key == c->data;
                assert_true(starts);
            }
        }
        assert_int_equal(inside, s->n);
        size_t want = 0;
        for (size_t i = 0; i < s->n; i++)
            want += mine[i].klen;
        assert_int_equal(total, want);
    }
    while (keys) {
        pcd_arena_chunk *c = keys->next;
        free(keys);
        keys = c;
    }
    free(items);
    free(mine);
}

static void test_job_two_threads(void **state)
{
    (void)state;
    set s = { 0 };
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint8_t kb[PC_KEY_MAX];
    for (int i = 0; i < 150000; i++) {
        char item[21];
        item[0] = 'c';
        for (int j = 1; j < 20; j++)
            item[j] = b36[rnd() % 36];
        size_t ilen = i % 101 == 0 ? 3 : 20; /* "cXY": many of each */
        size_t klen = pc_key_base(kb, "bench", 5, item, ilen);
        set_add(&s, kb, klen, (int64_t)(rnd() % 4), (uint32_t)(rnd() % 3));
    }
    set_fix(&s);
    job_two_threads(&s, 0);
    job_two_threads(&s, 1);
    set_free(&s);
}

/* Runs of one key thousands long: the gather's pieces (2^16 records)
 * begin inside runs, where a record's same_key depends on the piece
 * before. */
static void test_job_dups_across_pieces(void **state)
{
    (void)state;
    set s = { 0 };
    uint8_t kb[PC_KEY_MAX];
    for (int i = 0; i < 150000; i++) {
        char item[8];
        int ilen = snprintf(item, sizeof item, "i%d", (int)(rnd() % 7));
        size_t klen = pc_key_base(kb, "bench", 5, item, (size_t)ilen);
        set_add(&s, kb, klen, (int64_t)(rnd() % 1000), (uint32_t)(rnd() % 50));
    }
    set_fix(&s);
    job_two_threads(&s, 0);
    job_two_threads(&s, 1);
    set_free(&s);
}

/* The loader's path: items made as rows are added, sorted by
 * pcd_snapshot_finish; the same order as pcd_keysort's, duplicates
 * dropped. */
static void test_snapshot_path(void **state)
{
    (void)state;
    pcd_snapshot s;
    pcd_snapshot_init(&s, "ch");
    set ref = { 0 };
    uint8_t kb[PC_KEY_MAX];
    for (int i = 0; i < 20000; i++) {
        char item[12], store[6];
        int ilen = snprintf(item, sizeof item, "%x", (unsigned)(rnd() % 15000));
        int slen = snprintf(store, sizeof store, "%c%d", (char)(0x7e + rnd() % 4), (int)(rnd() % 9));
        int is_store = i % 3 == 0;
        int64_t ts = (int64_t)(rnd() % 3);
        uint32_t sub = (uint32_t)(rnd() % 2);
        assert_int_equal(pcd_snapshot_add_us(&s, is_store ? store : NULL, (size_t)slen, item,
                                             (size_t)ilen, i, ts, sub), PC_OK);
        size_t klen = is_store ? pc_key_store(kb, "ch", 2, store, (size_t)slen, item, (size_t)ilen)
                               : pc_key_base(kb, "ch", 2, item, (size_t)ilen);
        set_add(&ref, kb, klen, ts, sub);
    }
    set_fix(&ref);
    assert_int_equal(pcd_keysort(&ref.recs, ref.n), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    size_t o = 0, dups = 0;
    for (size_t i = 0; i < ref.n; i++) {
        if (ref.recs[i].same_key) {
            dups++;
            continue;
        }
        assert_true(o < s.n);
        assert_int_equal(s.recs[o].val.cents, ref.recs[i].val.cents); /* arrival index */
        o++;
    }
    assert_int_equal(o, s.n);
    assert_int_equal(s.rejected[PC_REJ_DUPLICATE], dups);
    assert_true(dups > 1000);
    /* adding after finish still works */
    assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "zz", 2, 1, 0), PC_OK);
    pcd_snapshot_free(&s);
    set_free(&ref);
}

/* Sealed rows sorted on a thread while later ones arrive: the same
 * result as without the seal, whether the parts interleave (a merge) or
 * follow each other (base then store rows: a concatenation), duplicates
 * across the parts included; a sealed snapshot freed unfinished. */
static void seal_case(int interleave)
{
    pcd_snapshot a, b;
    pcd_snapshot_init(&a, "ch");
    pcd_snapshot_init(&b, "ch");
    for (int part = 0; part < 2; part++) {
        for (int i = 0; i < 5000; i++) {
            char item[12];
            int ilen = snprintf(item, sizeof item, "%x", (unsigned)(rnd() % 4000));
            int is_store = interleave ? 0 : part;
            int64_t ts = (int64_t)(rnd() % 3);
            uint32_t sub = (uint32_t)(rnd() % 2);
            int64_t cents = part * 100000 + i;
            assert_int_equal(pcd_snapshot_add_us(&a, is_store ? "s" : NULL, 1, item,
                                                 (size_t)ilen, cents, ts, sub), PC_OK);
            assert_int_equal(pcd_snapshot_add_us(&b, is_store ? "s" : NULL, 1, item,
                                                 (size_t)ilen, cents, ts, sub), PC_OK);
        }
        if (part == 0)
            pcd_snapshot_seal(&a);
    }
    assert_int_equal(pcd_snapshot_finish(&a), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&b), PC_OK);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_int_equal(a.recs[i].val.cents, b.recs[i].val.cents);
    assert_int_equal(a.rejected[PC_REJ_DUPLICATE], b.rejected[PC_REJ_DUPLICATE]);
    assert_true(a.rejected[PC_REJ_DUPLICATE] > 100);
    assert_int_equal(a.base_rows, b.base_rows);
    assert_int_equal(a.store_rows, b.store_rows);
    pcd_snapshot_free(&a);
    pcd_snapshot_free(&b);
}

/* A sealed part large enough that finish finds its sort still running and
 * joins it (pcd_keysort_job: both threads split groups), with duplicates
 * across the whole part: the same order as one thread's sort. */
static void seal_joined_case(void)
{
    pcd_snapshot a, b;
    pcd_snapshot_init(&a, "ch");
    pcd_snapshot_init(&b, "ch");
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 200000; i++) {
        char item[24];
        item[0] = 'c';
        for (int j = 1; j < 20; j++)
            item[j] = b36[rnd() % 36];
        item[20] = 0;
        if (i % 97 == 0) /* one of 50 ids seen again and again: the newest wins */
            snprintf(item, sizeof item, "cdup%016d", (i / 97) % 50);
        int64_t ts = (int64_t)(rnd() % 5);
        assert_int_equal(pcd_snapshot_add_us(&a, NULL, 0, item, 20, i, ts, 0), PC_OK);
        assert_int_equal(pcd_snapshot_add_us(&b, NULL, 0, item, 20, i, ts, 0), PC_OK);
    }
    pcd_snapshot_seal(&a);
    assert_int_equal(pcd_snapshot_finish(&a), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&b), PC_OK);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_int_equal(a.recs[i].val.cents, b.recs[i].val.cents);
        assert_int_equal(a.recs[i].klen, b.recs[i].klen);
        assert_memory_equal(a.recs[i].key, b.recs[i].key, a.recs[i].klen);
    }
    assert_int_equal(a.rejected[PC_REJ_DUPLICATE], b.rejected[PC_REJ_DUPLICATE]);
    assert_int_equal(a.rejected[PC_REJ_DUPLICATE], 200000 / 97 + 1 - 50);
    pcd_snapshot_free(&a);
    pcd_snapshot_free(&b);
}

static void test_seal(void **state)
{
    (void)state;
    seal_case(0);
    seal_case(1);
    seal_joined_case();
    /* sealed, then freed without finishing (a failed store query) */
    pcd_snapshot s;
    pcd_snapshot_init(&s, "ch");
    for (int i = 0; i < 3000; i++)
        assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "k", 1, i, i % 7), PC_OK);
    pcd_snapshot_seal(&s);
    assert_int_equal(pcd_snapshot_add(&s, "s", 1, "k", 1, 1, 0), PC_OK);
    pcd_snapshot_free(&s);
    /* sealed with nothing after it; with too little to seal */
    pcd_snapshot_init(&s, "ch");
    for (int i = 0; i < 100; i++)
        assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "k", 1, i, i % 7), PC_OK);
    pcd_snapshot_seal(&s);
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.recs[0].val.cents, 6); /* the first of the newest (ts 6) */
    pcd_snapshot_free(&s);
    pcd_snapshot_init(&s, "ch");
    assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "k", 1, 1, 0), PC_OK);
    pcd_snapshot_seal(&s);
    assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "k", 1, 2, 1), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.recs[0].val.cents, 2);
    pcd_snapshot_free(&s);
}

/* Bytes above 0x7f sort after ASCII (unsigned, as memcmp and COLLATE "C"),
 * NUL (the store separator) before everything, a prefix before its
 * extensions; long shared prefixes cross the sort's 8-byte window. */
static void test_bytes_prefixes_long(void **state)
{
    (void)state;
    set s = { 0 };
    const char *k[] = { "\xc3\xa9t\xc3\xa9", "et\xc3\xa9", "\xff", "\x01", "a", "ab", "abc",
                        "a\0b", "a\0a", "a\0", "\xe4\xbe\xa1\xe6\xa0\xbc", "z", "Z" };
    size_t kl[] = { 6, 4, 1, 1, 1, 2, 3, 3, 3, 2, 6, 1, 1 };
    for (int rep = 0; rep < 40; rep++)
        for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
            set_add(&s, k[i], kl[i], (int64_t)(rnd() % 5), 0);
    /* 200-byte ids: long runs of one byte, differing at the end, and
     * keys that are prefixes of one another every few bytes */
    uint8_t key[2 * PC_ID_MAX + 8];
    for (int i = 0; i < 3000; i++) {
        size_t len = 150 + rnd() % (2 * PC_ID_MAX - 150);
        memset(key, 'x', len);
        key[len - 1 - rnd() % 3] = (uint8_t)(rnd() & 0xff);
        if (i % 7 == 0)
            key[rnd() % len] = 0;
        set_add(&s, key, len, (int64_t)(rnd() % 2), (uint32_t)(rnd() % 2));
    }
    for (size_t len = 0; len < 300; len++) {
        memset(key, 'y', len);
        set_add(&s, key, len, 0, 0);
    }
    set_fix(&s);
    check_same(s.recs, s.n);
    set_free(&s);
}

/* Equal keys: newest first by updated_at, then by its microseconds, then
 * in arrival order; groups small and large (a broken custom query). */
static void test_duplicates_and_ties(void **state)
{
    (void)state;
    set s = { 0 };
    for (int i = 0; i < 5000; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "k%d", (int)(rnd() % 40));
        int64_t ts = (int64_t)(rnd() % 3) - 1;
        if (rnd() % 50 == 0)
            ts = rnd() % 2 ? INT64_MAX : INT64_MIN;
        set_add(&s, k, (size_t)n, ts, (uint32_t)(rnd() % 3) * 499999u);
    }
    /* one key, 1000 rows, all equal: arrival order only */
    for (int i = 0; i < 1000; i++)
        set_add(&s, "same", 4, 7, 5);
    set_fix(&s);
    check_same(s.recs, s.n);
    pcd_rec *v = malloc(s.n * sizeof *v);
    memcpy(v, s.recs, s.n * sizeof *v);
    assert_int_equal(pcd_keysort(&v, s.n), PC_OK);
    int64_t last = -1;
    for (size_t i = 0; i < s.n; i++)
        if (v[i].klen == 4 && memcmp(v[i].key, "same", 4) == 0) {
            assert_true(v[i].val.cents > last); /* cents holds the arrival index */
            last = v[i].val.cents;
        }
    free(v);
    set_free(&s);
}

/* Through pcd_snapshot_finish: the newest of duplicate rows stays, by
 * the second and then by the microsecond; counts follow. */
static void test_finish_keeps_newest(void **state)
{
    (void)state;
    pcd_snapshot s;
    pcd_snapshot_init(&s, "c");
    assert_int_equal(pcd_snapshot_add_us(&s, NULL, 0, "a", 1, 1, 100, 5), PC_OK);
    assert_int_equal(pcd_snapshot_add_us(&s, NULL, 0, "a", 1, 2, 100, 900000), PC_OK);
    assert_int_equal(pcd_snapshot_add_us(&s, NULL, 0, "a", 1, 3, 99, 999999), PC_OK);
    assert_int_equal(pcd_snapshot_add_us(&s, "s", 1, "a", 1, 4, 5, 0), PC_OK);
    assert_int_equal(pcd_snapshot_add_us(&s, "s", 1, "a", 1, 5, 6, 0), PC_OK);
    assert_int_equal(pcd_snapshot_add_us(&s, NULL, 0, "b", 1, 6, 1, 1), PC_OK);
    assert_int_equal(pcd_snapshot_add_us(&s, NULL, 0, "b", 1, 7, 1, 1), PC_OK); /* tie */
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.recs[0].val.cents, 2);  /* a: 100 s + 0.9 */
    assert_int_equal(s.recs[1].val.cents, 6);  /* b: the first of a tie */
    assert_int_equal(s.recs[2].val.cents, 5);  /* s/a: 6 s */
    assert_int_equal(s.base_rows, 2);
    assert_int_equal(s.store_rows, 1);
    assert_int_equal(s.rejected[PC_REJ_DUPLICATE], 4);
    assert_int_equal(pcd_snapshot_avg_cents(&s), 4);
    pcd_snapshot_free(&s);
}

/* updated_at as COPY sends it: microseconds (timestamptz, timestamp) or
 * days (date) since 2000-01-01, infinities at the ends. */
static void put64(uint8_t *b, int64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
}

static pcd_rec one_row(const uint8_t *ts, size_t tslen)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, "c");
    pcd_load_rows lr = { &s, 0, 0 };
    uint8_t price[8];
    put64(price, 42);
    pcd_field f[3] = { { "i", 1 }, { (const char *)price, 8 }, { (const char *)ts, tslen } };
    assert_int_equal(pcd_load_row(&lr, 3, f), 0);
    assert_int_equal(s.n, 1);
    pcd_rec r = s.recs[0];
    r.key = NULL;
    pcd_snapshot_free(&s);
    return r;
}

static void test_decode_ts(void **state)
{
    (void)state;
    uint8_t b[8];
    struct { int64_t us, sec; uint32_t sub; } cases[] = {
        { 0, 946684800, 0 },
        { 631152000000000LL, 1577836800, 0 },            /* 2020-01-01 */
        { -946684800000000LL - 500000, -1, 500000 },     /* 1969-12-31 23:59:59.5 */
        { -946684800000000LL - 1, -1, 999999 },
        { -3155673600000000LL, -2208988800LL, 0 },       /* 1900-01-01 */
        { 1, 946684800, 1 },
        { INT64_MAX, INT64_MAX, 0 },                     /* infinity */
        { INT64_MIN, INT64_MIN, 0 },                     /* -infinity */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put64(b, cases[i].us);
        pcd_rec r = one_row(b, 8);
        assert_int_equal(r.val.updated_at, cases[i].sec);
        assert_int_equal(r.sub_us, cases[i].sub);
        assert_int_equal(r.val.cents, 42);
    }
    /* date: 2020-01-01 is day 7305; infinities */
    uint8_t d[4] = { 0, 0, 0x1c, 0x89 };
    assert_int_equal(one_row(d, 4).val.updated_at, 1577836800);
    uint8_t dmax[4] = { 0x7f, 0xff, 0xff, 0xff }, dmin[4] = { 0x80, 0, 0, 0 };
    assert_int_equal(one_row(dmax, 4).val.updated_at, INT64_MAX);
    assert_int_equal(one_row(dmin, 4).val.updated_at, INT64_MIN);
    uint8_t dneg[4] = { 0xff, 0xff, 0xff, 0xff }; /* 1999-12-31 */
    assert_int_equal(one_row(dneg, 4).val.updated_at, 946684800 - 86400);
    /* another size is a wrong column, not a row */
    pcd_snapshot s;
    pcd_snapshot_init(&s, "c");
    pcd_load_rows lr = { &s, 0, 0 };
    uint8_t price[8];
    put64(price, 1);
    pcd_field f[3] = { { "i", 1 }, { (const char *)price, 8 }, { (const char *)b, 2 } };
    assert_int_equal(pcd_load_row(&lr, 3, f), PC_EDB);
    assert_int_equal(lr.bad_columns, -1);
    assert_int_equal(s.n, 0);
    pcd_snapshot_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_one),
        cmocka_unit_test(test_sorted_input),
        cmocka_unit_test(test_random_keys),
        cmocka_unit_test(test_snapshot_path),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_job_two_threads),
        cmocka_unit_test(test_job_dups_across_pieces),
        cmocka_unit_test(test_bytes_prefixes_long),
        cmocka_unit_test(test_duplicates_and_ties),
        cmocka_unit_test(test_finish_keeps_newest),
        cmocka_unit_test(test_decode_ts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
