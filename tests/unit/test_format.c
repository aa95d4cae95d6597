/* test_format.c - unit tests of the on-disk layout (client/format.c) and pc_strerror (client/error.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"
#include "pricecache.h"

/* LMDB's default key order (mdb_cmp_memn): bytes, then the shorter first.
 * The layout's promises are about this order, not about memcmp alone. */
static int lmdb_order(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

static int str_order(const char *a, const char *b)
{
    return lmdb_order((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b));
}

/* pc_key_cmp (the reader's comparator) sorts every pair as LMDB's default
 * does: the daemon writes in that order and readers search with this one.
 * Keys share prefixes of every length, differ in any byte (NUL and bytes
 * above 0x7f included: a signed compare would misplace them), and in
 * length only. */
static int sign(int x) { return (x > 0) - (x < 0); }

static void test_key_cmp_is_lmdb_order(void **state)
{
    (void)state;
    uint64_t rng = 0x2545f4914f6cdd1dull;
    uint8_t a[80], b[80];
    for (int i = 0; i < 200000; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        size_t alen = rng % 40, blen = (rng >> 8) % 40;
        size_t common = (rng >> 16) % 41;
        for (size_t k = 0; k < sizeof a; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            /* few distinct byte values, so that equal runs are common */
            static const uint8_t pick[] = { 0, 1, 'B', 'S', 'a', 0x7f, 0x80, 0xff };
            a[k] = pick[rng % 8];
            b[k] = k < common ? a[k] : pick[(rng >> 3) % 8];
        }
        if (i % 7 == 0) /* equal bytes, lengths differ */
            memcpy(b, a, sizeof a);
        MDB_val x = { alen, a }, y = { blen, b };
        int want = lmdb_order(a, alen, b, blen);
        assert_int_equal(sign(pc_key_cmp(&x, &y)), want);
        assert_int_equal(sign(pc_key_cmp(&y, &x)), -want);
    }
    /* The layout's own keys: a chain's base keys before its store keys. */
    uint8_t k1[PC_KEY_MAX], k2[PC_KEY_MAX];
    MDB_val x = { pc_key_base(k1, "acme", 4, "zzzzzzzzzzzz", 12), k1 };
    MDB_val y = { pc_key_store(k2, "acme", 4, "s1", 2, "a", 1), k2 };
    assert_true(pc_key_cmp(&x, &y) < 0);
    assert_int_equal(pc_key_cmp(&x, &x), 0);
}

static void test_key_roundtrip_base(void **state)
{
    (void)state;
    uint8_t kb[PC_KEY_MAX];
    size_t n = pc_key_base(kb, "acme", 4, "item-1", 6);
    assert_int_equal(n, 4 + 2 + 6);
    assert_memory_equal(kb, "acme\0Bitem-1", n);
    pc_key_view kv;
    assert_int_equal(pc_key_parse(kb, n, &kv), PC_OK);
    assert_int_equal(kv.kind, PC_KEY_BASE);
    assert_int_equal(kv.clen, 4);
    assert_memory_equal(kv.chain, "acme", 4);
    assert_int_equal(kv.slen, 0);
    assert_int_equal(kv.ilen, 6);
    assert_memory_equal(kv.item, "item-1", 6);
}

static void test_key_roundtrip_store(void **state)
{
    (void)state;
    uint8_t kb[PC_KEY_MAX];
    size_t n = pc_key_store(kb, "acme", 4, "s1", 2, "item\t1", 6);
    assert_int_equal(n, 4 + 2 + 2 + 1 + 6);
    assert_memory_equal(kb, "acme\0Ss1\0item\t1", n);
    pc_key_view kv;
    assert_int_equal(pc_key_parse(kb, n, &kv), PC_OK);
    assert_int_equal(kv.kind, PC_KEY_STORE);
    assert_int_equal(kv.clen, 4);
    assert_int_equal(kv.slen, 2);
    assert_memory_equal(kv.store, "s1", 2);
    assert_int_equal(kv.ilen, 6);
    assert_memory_equal(kv.item, "item\t1", 6);
}

/* The longest key fits PC_KEY_MAX and LMDB's default 511-byte limit. */
static void test_key_longest(void **state)
{
    (void)state;
    char chain[PC_CHAIN_MAX], id[PC_ID_MAX];
    memset(chain, 'c', sizeof chain);
    memset(id, 'i', sizeof id);
    uint8_t kb[PC_KEY_MAX];
    size_t n = pc_key_store(kb, chain, sizeof chain, id, sizeof id, id, sizeof id);
    assert_int_equal(n, PC_KEY_MAX);
    assert_true(PC_KEY_MAX <= 511);
    pc_key_view kv;
    assert_int_equal(pc_key_parse(kb, n, &kv), PC_OK);
    assert_int_equal(kv.clen, PC_CHAIN_MAX);
    assert_int_equal(kv.slen, PC_ID_MAX);
    assert_int_equal(kv.ilen, PC_ID_MAX);
}

static void test_key_global(void **state)
{
    (void)state;
    uint8_t kb[PC_KEY_MAX];
    assert_int_equal(pc_key_fmt(kb), 2);
    assert_memory_equal(kb, "\0F", 2);
    assert_int_equal(pc_key_daemon(kb), 2);
    assert_memory_equal(kb, "\0D", 2);
    assert_int_equal(pc_key_meta_prefix(kb), 2);
    assert_memory_equal(kb, "\0C", 2);
    size_t n = pc_key_meta(kb, "beta", 4);
    assert_int_equal(n, 6);
    assert_memory_equal(kb, "\0Cbeta", 6);
    n = pc_key_chain_prefix(kb, "beta", 4);
    assert_int_equal(n, 5);
    assert_memory_equal(kb, "beta\0", 5);
    /* Global records are not data keys. */
    pc_key_view kv;
    assert_int_equal(pc_key_parse(kb, pc_key_meta(kb, "beta", 4), &kv), PC_EFORMAT);
    assert_int_equal(pc_key_parse(kb, pc_key_fmt(kb), &kv), PC_EFORMAT);
}

static void test_key_parse_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *k;
        size_t len;
    } bad[] = {
        { "", 0 },
        { "acme", 4 },             /* no separator */
        { "\0Bx", 3 },             /* empty chain */
        { "acme\0", 5 },           /* no kind */
        { "acme\0X", 6 },          /* unknown kind */
        { "acme\0Xitem", 10 },
        { "acme\0B", 6 },          /* empty item */
        { "acme\0S", 6 },          /* no store */
        { "acme\0Ss1", 8 },        /* no store/item separator */
        { "acme\0S\0item", 11 },   /* empty store */
        { "acme\0Ss1\0", 9 },      /* empty item */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pc_key_view kv;
        if (pc_key_parse(bad[i].k, bad[i].len, &kv) != PC_EFORMAT)
            fail_msg("key #%zu parsed", i);
    }
}

static void test_key_order_base_before_store(void **state)
{
    (void)state;
    uint8_t b[PC_KEY_MAX], s[PC_KEY_MAX];
    /* Even the greatest base item sorts before the smallest store key. */
    char big[PC_ID_MAX];
    memset(big, 0x7f, sizeof big);
    size_t bn = pc_key_base(b, "acme", 4, big, sizeof big);
    size_t sn = pc_key_store(s, "acme", 4, "0", 1, "0", 1);
    assert_true(lmdb_order(b, bn, s, sn) < 0);
    /* Every key of a chain sorts after the global records and before the
     * keys of a chain whose slug extends it. */
    uint8_t g[PC_KEY_MAX], o[PC_KEY_MAX];
    size_t gn = pc_key_meta(g, "zzz", 3);
    size_t on = pc_key_base(o, "acme-x", 6, "0", 1);
    assert_true(lmdb_order(g, gn, b, bn) < 0);
    assert_true(lmdb_order(s, sn, o, on) < 0);
    size_t pn = pc_key_chain_prefix(g, "acme", 4);
    assert_true(lmdb_order(g, pn, b, bn) < 0);
}

/* Store keys sort by (store, item) as PostgreSQL's COLLATE "C" sorts the
 * pair: the store compared whole first.  MDB_APPEND depends on it. */
static void test_key_order_store_pairs(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "a", "ab", "abc", "b", "a-b", "a_b", "a0", "aa", "z", "0", "00", "~", "a\x7f",
    };
    size_t n = sizeof ids / sizeof ids[0];
    for (size_t s1 = 0; s1 < n; s1++)
        for (size_t i1 = 0; i1 < n; i1++)
            for (size_t s2 = 0; s2 < n; s2++)
                for (size_t i2 = 0; i2 < n; i2++) {
                    uint8_t a[PC_KEY_MAX], b[PC_KEY_MAX];
                    size_t an = pc_key_store(a, "c", 1, ids[s1], strlen(ids[s1]), ids[i1],
                                             strlen(ids[i1]));
                    size_t bn = pc_key_store(b, "c", 1, ids[s2], strlen(ids[s2]), ids[i2],
                                             strlen(ids[i2]));
                    int want = str_order(ids[s1], ids[s2]);
                    if (!want)
                        want = str_order(ids[i1], ids[i2]);
                    int got = lmdb_order(a, an, b, bn);
                    if (got != want)
                        fail_msg("(%s,%s) vs (%s,%s): key order %d, pair order %d", ids[s1],
                                 ids[i1], ids[s2], ids[i2], got, want);
                }
    /* The case that breaks a separator above NUL: a\0x < ab\0y. */
    uint8_t a[PC_KEY_MAX], b[PC_KEY_MAX];
    size_t an = pc_key_store(a, "c", 1, "a", 1, "x", 1);
    size_t bn = pc_key_store(b, "c", 1, "ab", 2, "y", 1);
    assert_true(lmdb_order(a, an, b, bn) < 0);
    an = pc_key_store(a, "c", 1, "a", 1, "zzz", 3);
    bn = pc_key_store(b, "c", 1, "a-", 2, "a", 1);
    assert_true(lmdb_order(a, an, b, bn) < 0);
}

static void test_key_order_base_items(void **state)
{
    (void)state;
    static const char *const ids[] = { "", "a", "ab", "b", "a\x01", "A", "9" };
    size_t n = sizeof ids / sizeof ids[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            uint8_t a[PC_KEY_MAX], b[PC_KEY_MAX];
            size_t an = pc_key_base(a, "c", 1, ids[i], strlen(ids[i]));
            size_t bn = pc_key_base(b, "c", 1, ids[j], strlen(ids[j]));
            assert_int_equal(lmdb_order(a, an, b, bn), str_order(ids[i], ids[j]));
        }
}

static void test_slug_valid(void **state)
{
    (void)state;
    char s[PC_CHAIN_MAX + 2];
    memset(s, 'a', sizeof s);
    assert_true(pc_slug_valid(s, PC_CHAIN_MAX));
    assert_false(pc_slug_valid(s, PC_CHAIN_MAX + 1));
    assert_true(pc_slug_valid("a", 1));
    assert_true(pc_slug_valid("acme_2-x", 8));
    assert_true(pc_slug_valid("0123456789", 10));
    assert_true(pc_slug_valid("-", 1));
    assert_true(pc_slug_valid("_", 1));
    assert_false(pc_slug_valid("", 0));
    assert_false(pc_slug_valid(NULL, 0));
    assert_false(pc_slug_valid(NULL, 3));
    assert_false(pc_slug_valid("Acme", 4));
    assert_false(pc_slug_valid("ac me", 5));
    assert_false(pc_slug_valid("acme.x", 6));
    assert_false(pc_slug_valid("acme/x", 6));
    assert_false(pc_slug_valid("ac\0me", 5));
    assert_false(pc_slug_valid("acme\n", 5));
    assert_false(pc_slug_valid("acm\xc3\xa9", 5));
    assert_false(pc_slug_valid("{", 1));
    assert_false(pc_slug_valid("`", 1));
    /* Only the first len bytes count. */
    assert_true(pc_slug_valid("acme!", 4));
}

static void test_fmt_check(void **state)
{
    (void)state;
    pc_fmt_rec rec;
    pc_fmt_init(&rec);
    assert_memory_equal(rec.magic, PC_FORMAT_MAGIC, 8);
    assert_int_equal(rec.version, PC_FORMAT_VERSION);
    assert_int_equal(pc_fmt_check(&rec, sizeof rec, NULL), PC_OK);

    /* A longer record (fields appended by a compatible writer) is fine. */
    uint8_t longer[sizeof rec + 8] = { 0 };
    memcpy(longer, &rec, sizeof rec);
    assert_int_equal(pc_fmt_check(longer, sizeof longer, NULL), PC_OK);

    assert_int_equal(pc_fmt_check(&rec, sizeof rec - 1, NULL), PC_EFORMAT);
    assert_int_equal(pc_fmt_check(&rec, 0, NULL), PC_EFORMAT);
    assert_int_equal(pc_fmt_check(NULL, sizeof rec, NULL), PC_EFORMAT);

    pc_fmt_rec bad = rec;
    bad.version = PC_FORMAT_VERSION + 1;
    assert_int_equal(pc_fmt_check(&bad, sizeof bad, NULL), PC_EFORMAT);
    bad.version = 0;
    assert_int_equal(pc_fmt_check(&bad, sizeof bad, NULL), PC_EFORMAT);
    /* Format 1 (no lookup tables) is read too, and says so. */
    uint32_t ver = 0;
    bad.version = 1;
    assert_int_equal(pc_fmt_check(&bad, sizeof bad, &ver), PC_OK);
    assert_int_equal(ver, 1);
    bad = rec;
    bad.magic[7] ^= 1;
    assert_int_equal(pc_fmt_check(&bad, sizeof bad, NULL), PC_EFORMAT);
    memset(&bad, 0, sizeof bad);
    assert_int_equal(pc_fmt_check(&bad, sizeof bad, NULL), PC_EFORMAT);
}

static pc_meta_rec sample_meta(void)
{
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    m.breaker = PC_BREAKER_HALF_OPEN;
    m.version = 42;
    m.loaded_at_ms = 1700000000123;
    m.base_rows = 1000;
    m.store_rows = 20;
    m.avg_cents = -5;
    m.last_result = PC_LOAD_REFUSED;
    m.rejected[PC_REJ_DUPLICATE] = 3;
    snprintf(m.last_error, sizeof m.last_error, "shrank by 90%%");
    m.base_sum = 1234.5;
    return m;
}

static void test_meta_decode_same(void **state)
{
    (void)state;
    pc_meta_rec in = sample_meta(), out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(pc_meta_decode(&in, sizeof in, &out), PC_OK);
    assert_memory_equal(&in, &out, sizeof in);
}

/* An older writer: a shorter record, the missing fields read as zero. */
static void test_meta_decode_shorter(void **state)
{
    (void)state;
    pc_meta_rec in = sample_meta(), out;
    size_t len = offsetof(pc_meta_rec, breaker_since_ms);
    uint8_t buf[sizeof in];
    memcpy(buf, &in, len);
    uint32_t sz = (uint32_t)len;
    memcpy(buf, &sz, sizeof sz);
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(pc_meta_decode(buf, len, &out), PC_OK);
    assert_int_equal(out.size, len);
    assert_int_equal(out.version, 42);
    assert_int_equal(out.avg_cents, -5);
    assert_int_equal(out.breaker, PC_BREAKER_HALF_OPEN);
    assert_int_equal(out.loads_ok, 0);
    assert_int_equal(out.rejected[PC_REJ_DUPLICATE], 0);
    assert_int_equal(out.last_error[0], 0);
    assert_true(out.base_sum == 0.0);
}

/* A newer writer: a longer record, the tail ignored. */
static void test_meta_decode_longer(void **state)
{
    (void)state;
    pc_meta_rec in = sample_meta(), out;
    size_t len = sizeof in + 24;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    memset(buf, 0x5a, len);
    memcpy(buf, &in, sizeof in);
    uint32_t sz = (uint32_t)len;
    memcpy(buf, &sz, sizeof sz);
    assert_int_equal(pc_meta_decode(buf, len, &out), PC_OK);
    assert_int_equal(out.version, 42);
    assert_int_equal(out.rejected[PC_REJ_DUPLICATE], 3);
    assert_string_equal(out.last_error, "shrank by 90%");
    free(buf);
}

static void test_meta_decode_garbage(void **state)
{
    (void)state;
    pc_meta_rec in = sample_meta(), out;
    assert_int_equal(pc_meta_decode(NULL, sizeof in, &out), PC_EFORMAT);
    assert_int_equal(pc_meta_decode(&in, 0, &out), PC_EFORMAT);
    assert_int_equal(pc_meta_decode(&in, 3, &out), PC_EFORMAT);
    /* The size field must match the stored length. */
    assert_int_equal(pc_meta_decode(&in, sizeof in - 8, &out), PC_EFORMAT);
    pc_meta_rec bad = in;
    bad.size = 0xffffffffu;
    assert_int_equal(pc_meta_decode(&bad, sizeof bad, &out), PC_EFORMAT);
    /* Too short to hold even the header fields. */
    uint32_t tiny[1] = { 4 };
    assert_int_equal(pc_meta_decode(tiny, sizeof tiny, &out), PC_EFORMAT);
    char text[] = "not a record at all, just text";
    assert_int_equal(pc_meta_decode(text, sizeof text, &out), PC_EFORMAT);
}

/* A last_error without its NUL must not run off the end. */
static void test_meta_decode_terminates_error(void **state)
{
    (void)state;
    pc_meta_rec in = sample_meta(), out;
    memset(in.last_error, 'x', sizeof in.last_error);
    assert_int_equal(pc_meta_decode(&in, sizeof in, &out), PC_OK);
    assert_int_equal(strlen(out.last_error), sizeof out.last_error - 1);
}

static void test_daemon_decode(void **state)
{
    (void)state;
    pc_daemon_rec in, out;
    memset(&in, 0, sizeof in);
    in.size = sizeof in;
    in.state = PC_DAEMON_READY;
    in.ready = 1;
    in.seq = 99;
    assert_int_equal(pc_daemon_decode(&in, sizeof in, &out), PC_OK);
    assert_int_equal(out.ready, 1);
    assert_int_equal(out.seq, 99);
    /* Shorter: only size/state/ready/pid written. */
    size_t len = offsetof(pc_daemon_rec, started_ms);
    pc_daemon_rec shorter = in;
    shorter.size = (uint32_t)len;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(pc_daemon_decode(&shorter, len, &out), PC_OK);
    assert_int_equal(out.ready, 1);
    assert_int_equal(out.seq, 0);
    assert_int_equal(pc_daemon_decode(&in, sizeof in - 1, &out), PC_EFORMAT);
    assert_int_equal(pc_daemon_decode(NULL, 0, &out), PC_EFORMAT);
}

/* Every code pc_strerror must know: public and internal. */
static const int all_codes[] = {
    PC_OK, PC_NOTFOUND, PC_ENOCHAIN, PC_ENOTREADY, PC_EOVERLOADED, PC_EINVAL, PC_EIO,
    PC_ETIMEDOUT, PC_EFORMAT, PC_ENOMEM, PC_ECANCELED, PC_EDB, PC_EREFUSED, PC_ECONFIG,
    PC_EMAPFULL, PC_EBREAKER, PC_EDISKFULL,
};
#define NCODES (sizeof all_codes / sizeof all_codes[0])

static void test_strerror_covers_all(void **state)
{
    (void)state;
    const char *unknown = pc_strerror(-7099);
    assert_non_null(unknown);
    assert_non_null(pc_strerror(12345));
    assert_string_equal(pc_strerror(12345), unknown);
    for (size_t i = 0; i < NCODES; i++) {
        const char *t = pc_strerror(all_codes[i]);
        assert_non_null(t);
        assert_true(strlen(t) > 0);
        if (strcmp(t, unknown) == 0)
            fail_msg("code %d has no text", all_codes[i]);
        for (size_t j = 0; j < i; j++) {
            if (all_codes[i] == all_codes[j])
                fail_msg("codes #%zu and #%zu share the value %d", i, j, all_codes[i]);
            if (strcmp(t, pc_strerror(all_codes[j])) == 0)
                fail_msg("codes %d and %d share the text \"%s\"", all_codes[i], all_codes[j], t);
        }
        /* The documented band, clear of errno values and LMDB's codes. */
        if (all_codes[i] != PC_OK)
            assert_true(all_codes[i] <= -7000 && all_codes[i] >= -7099);
    }
}

static void test_err_from_mdb(void **state)
{
    (void)state;
    assert_int_equal(pc_err_from_mdb(MDB_SUCCESS), PC_OK);
    assert_int_equal(pc_err_from_mdb(MDB_NOTFOUND), PC_NOTFOUND);
    assert_int_equal(pc_err_from_mdb(MDB_READERS_FULL), PC_EOVERLOADED);
    assert_int_equal(pc_err_from_mdb(MDB_MAP_FULL), PC_EMAPFULL);
    assert_int_equal(pc_err_from_mdb(ENOSPC), PC_EDISKFULL);
    assert_int_equal(pc_err_from_mdb(EDQUOT), PC_EDISKFULL);
    assert_int_equal(pc_err_from_mdb(EIO), PC_EIO); /* the store judges a short write */
    assert_int_equal(pc_err_from_mdb(MDB_INVALID), PC_EFORMAT);
    assert_int_equal(pc_err_from_mdb(MDB_VERSION_MISMATCH), PC_EFORMAT);
    assert_int_equal(pc_err_from_mdb(ENOENT), PC_ENOTREADY);
    assert_int_equal(pc_err_from_mdb(ENOMEM), PC_ENOMEM);
    assert_int_equal(pc_err_from_mdb(EACCES), PC_EIO);
    assert_int_equal(pc_err_from_mdb(MDB_CORRUPTED), PC_EIO);
    assert_int_equal(pc_err_from_mdb(MDB_MAP_RESIZED), PC_EIO);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(pc_reject_name(PC_REJ_NEGATIVE_PRICE), "negative_price");
    assert_string_equal(pc_reject_name(PC_REJ_DUPLICATE), "duplicate");
    assert_string_equal(pc_reject_name(PC_REJ__COUNT), "unknown");
    assert_string_equal(pc_reject_name(-1), "unknown");
    assert_string_equal(pc_load_result_name(PC_LOAD_TIMEOUT), "timeout");
    assert_string_equal(pc_load_result_name(PC_LOAD__COUNT), "unknown");
    assert_string_equal(pc_daemon_state_name(PC_DAEMON_READY), "ready");
    assert_string_equal(pc_daemon_state_name(-1), "unknown");
    assert_string_equal(pc_breaker_name(PC_BREAKER_HALF_OPEN), "half-open");
    assert_string_equal(pc_breaker_name(3), "unknown");
    /* Metric labels: distinct, so no two reasons merge in Prometheus. */
    for (int i = 0; i < PC_REJ__COUNT; i++)
        for (int j = 0; j < i; j++)
            assert_string_not_equal(pc_reject_name(i), pc_reject_name(j));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_roundtrip_base),
        cmocka_unit_test(test_key_roundtrip_store),
        cmocka_unit_test(test_key_longest),
        cmocka_unit_test(test_key_global),
        cmocka_unit_test(test_key_parse_rejects),
        cmocka_unit_test(test_key_order_base_before_store),
        cmocka_unit_test(test_key_order_store_pairs),
        cmocka_unit_test(test_key_order_base_items),
        cmocka_unit_test(test_slug_valid),
        cmocka_unit_test(test_fmt_check),
        cmocka_unit_test(test_meta_decode_same),
        cmocka_unit_test(test_meta_decode_shorter),
        cmocka_unit_test(test_meta_decode_longer),
        cmocka_unit_test(test_meta_decode_garbage),
        cmocka_unit_test(test_meta_decode_terminates_error),
        cmocka_unit_test(test_daemon_decode),
        cmocka_unit_test(test_key_cmp_is_lmdb_order),
        cmocka_unit_test(test_strerror_covers_all),
        cmocka_unit_test(test_err_from_mdb),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
