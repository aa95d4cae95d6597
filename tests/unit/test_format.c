/* test_format.c - key encoding, record decoding and error texts of the shared on-disk format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pc_format.h"

static int keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static void test_roundtrip(void **state)
{
    (void)state;
    uint8_t k[PC_KEY_MAX];
    pc_key_view v;
    size_t n = pc_key_base(k, "acme", 4, "item\t1", 6);
    assert_int_equal(n, 4 + 2 + 6);
    assert_int_equal(pc_key_parse(k, n, &v), PC_OK);
    assert_int_equal(v.kind, PC_KEY_BASE);
    assert_memory_equal(v.chain, "acme", 4);
    assert_int_equal(v.clen, 4);
    assert_int_equal(v.slen, 0);
    assert_memory_equal(v.item, "item\t1", 6);

    n = pc_key_store(k, "a", 1, "s-9", 3, "x", 1);
    assert_int_equal(pc_key_parse(k, n, &v), PC_OK);
    assert_int_equal(v.kind, PC_KEY_STORE);
    assert_memory_equal(v.store, "s-9", 3);
    assert_int_equal(v.ilen, 1);

    /* the longest key fits LMDB's default limit */
    char id[PC_ID_MAX], chain[PC_CHAIN_MAX];
    memset(id, 'z', sizeof id);
    memset(chain, 'c', sizeof chain);
    n = pc_key_store(k, chain, sizeof chain, id, sizeof id, id, sizeof id);
    assert_int_equal(n, PC_KEY_MAX);
    assert_true(PC_KEY_MAX <= 511);
    assert_int_equal(pc_key_parse(k, n, &v), PC_OK);
    assert_int_equal(v.ilen, PC_ID_MAX);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    pc_key_view v;
    assert_int_equal(pc_key_parse("", 0, &v), PC_EFORMAT);
    assert_int_equal(pc_key_parse("\0F", 2, &v), PC_EFORMAT);      /* global record */
    assert_int_equal(pc_key_parse("acme", 4, &v), PC_EFORMAT);     /* no separator */
    assert_int_equal(pc_key_parse("acme\0B", 6, &v), PC_EFORMAT);  /* empty item */
    assert_int_equal(pc_key_parse("acme\0X1", 7, &v), PC_EFORMAT); /* unknown kind */
    assert_int_equal(pc_key_parse("acme\0Ss", 7, &v), PC_EFORMAT); /* no item */
    assert_int_equal(pc_key_parse("acme\0S\0i", 8, &v), PC_EFORMAT); /* empty store */
    assert_int_equal(pc_key_parse("acme\0Ss\0", 8, &v), PC_EFORMAT); /* empty item */
}

static void test_ordering(void **state)
{
    (void)state;
    uint8_t a[PC_KEY_MAX], b[PC_KEY_MAX];
    /* every base key of a chain before its store keys */
    size_t al = pc_key_base(a, "acme", 4, "zzzz", 4);
    size_t bl = pc_key_store(b, "acme", 4, "a", 1, "a", 1);
    assert_true(keycmp(a, al, b, bl) < 0);
    /* store keys in (store, item) order: "a"/"x" before "ab"/"a" */
    al = pc_key_store(a, "acme", 4, "a", 1, "x", 1);
    bl = pc_key_store(b, "acme", 4, "ab", 2, "a", 1);
    assert_true(keycmp(a, al, b, bl) < 0);
    /* chain "a" entirely before chain "a-" and "ab" */
    al = pc_key_store(a, "a", 1, "zz", 2, "zz", 2);
    bl = pc_key_base(b, "a-", 2, "0", 1);
    assert_true(keycmp(a, al, b, bl) < 0);
    bl = pc_key_base(b, "ab", 2, "0", 1);
    assert_true(keycmp(a, al, b, bl) < 0);
    /* global records before any chain */
    al = pc_key_meta(a, "zzz", 3);
    bl = pc_key_base(b, "0", 1, "0", 1);
    assert_true(keycmp(a, al, b, bl) < 0);
}

static void test_slugs(void **state)
{
    (void)state;
    assert_true(pc_slug_valid("acme", 4));
    assert_true(pc_slug_valid("a_b-9", 5));
    char s[PC_CHAIN_MAX + 1];
    memset(s, 'a', sizeof s);
    assert_true(pc_slug_valid(s, PC_CHAIN_MAX));
    assert_false(pc_slug_valid(s, PC_CHAIN_MAX + 1));
    assert_false(pc_slug_valid("", 0));
    assert_false(pc_slug_valid(NULL, 0));
    assert_false(pc_slug_valid("Acme", 4));
    assert_false(pc_slug_valid("a b", 3));
    assert_false(pc_slug_valid("a.b", 3));
    assert_false(pc_slug_valid("caf\xc3\xa9", 5));
}

static void test_records(void **state)
{
    (void)state;
    pc_fmt_rec f;
    pc_fmt_init(&f);
    assert_int_equal(pc_fmt_check(&f, sizeof f), PC_OK);
    assert_int_equal(pc_fmt_check(&f, sizeof f - 1), PC_EFORMAT);
    f.version = PC_FORMAT_VERSION + 1;
    assert_int_equal(pc_fmt_check(&f, sizeof f), PC_EFORMAT);
    pc_fmt_init(&f);
    f.magic[0] = 'X';
    assert_int_equal(pc_fmt_check(&f, sizeof f), PC_EFORMAT);

    /* an older, shorter meta record: known fields kept, the rest zero */
    pc_meta_rec m, out;
    memset(&m, 0x5a, sizeof m);
    size_t old = offsetof(pc_meta_rec, loads_ok);
    m.size = (uint32_t)old;
    m.version = 7;
    assert_int_equal(pc_meta_decode(&m, old, &out), PC_OK);
    assert_int_equal(out.version, 7);
    assert_int_equal(out.loads_ok, 0);
    assert_int_equal(out.last_error[0], 0);
    /* a newer, longer one: the tail ignored */
    uint8_t big[sizeof m + 32];
    memset(big, 0, sizeof big);
    m.size = sizeof big;
    memcpy(big, &m, sizeof m);
    assert_int_equal(pc_meta_decode(big, sizeof big, &out), PC_OK);
    assert_int_equal(out.version, 7);
    /* garbage: size field disagrees with the length */
    assert_int_equal(pc_meta_decode(big, sizeof big - 1, &out), PC_EFORMAT);
    assert_int_equal(pc_meta_decode(big, 3, &out), PC_EFORMAT);
}

static void test_strerror(void **state)
{
    (void)state;
    static const int codes[] = { PC_OK, PC_NOTFOUND, PC_ENOCHAIN, PC_ENOTREADY, PC_EOVERLOADED,
                                 PC_EINVAL, PC_EIO, PC_ETIMEDOUT, PC_EFORMAT, PC_ENOMEM,
                                 PC_ECANCELED, PC_EDB, PC_EREFUSED, PC_ECONFIG, PC_EMAPFULL,
                                 PC_EBREAKER };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_non_null(pc_strerror(codes[i]));
        assert_string_not_equal(pc_strerror(codes[i]), "unknown error");
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(pc_strerror(codes[i]), pc_strerror(codes[j]));
        }
        /* errors stay clear of errno values and LMDB's band */
        if (codes[i] != PC_OK)
            assert_true(codes[i] < -4095 && (codes[i] > -30800 || codes[i] < -30780));
    }
    assert_string_equal(pc_strerror(12345), "unknown error");
    assert_string_equal(pc_reject_name(PC_REJ_DUPLICATE), "duplicate");
    assert_string_equal(pc_reject_name(99), "unknown");
    assert_string_equal(pc_breaker_name(PC_BREAKER_HALF_OPEN), "half-open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_ordering),
        cmocka_unit_test(test_slugs),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
