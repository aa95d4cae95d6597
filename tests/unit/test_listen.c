/* test_listen.c - decoding NOTIFY payloads, and the changed-key set that debouncing fills. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "delta.h"
#include "listen.h"
#include "pc_format.h"

static void test_parse_full(void **state)
{
    (void)state;
    char buf[512];
    pcd_notice n;
    assert_int_equal(pcd_notice_parse("{\"table\" : \"store_prices\", \"op\" : \"UPDATE\", "
                                      "\"chain\" : \"acme\", \"store\" : \"s1\", "
                                      "\"item\" : \"ckq\"}", &n, buf, sizeof buf), PC_OK);
    assert_string_equal(n.table, "store_prices");
    assert_string_equal(n.op, "UPDATE");
    assert_string_equal(n.chain, "acme");
    assert_string_equal(n.store, "s1");
    assert_string_equal(n.item, "ckq");
}

static void test_parse_nulls_and_extra_keys(void **state)
{
    (void)state;
    char buf[512];
    pcd_notice n;
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\",\"op\":\"DELETE\","
                                      "\"chain\":\"a\",\"store\":null,\"item\":\"x\","
                                      "\"future\":\"y\"}", &n, buf, sizeof buf), PC_OK);
    assert_null(n.store);
    assert_string_equal(n.item, "x");
    assert_int_equal(pcd_notice_parse("{\"table\":\"chains\",\"op\":\"TRUNCATE\"}", &n, buf,
                                      sizeof buf), PC_OK);
    assert_null(n.chain);
    assert_null(n.item);
}

static void test_parse_escapes(void **state)
{
    (void)state;
    char buf[512];
    pcd_notice n;
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\",\"chain\":\"a\","
                                      "\"item\":\"t\\tn\\nq\\\"b\\\\s\\/\\u00e9\\ud83d\\ude00\"}",
                                      &n, buf, sizeof buf), PC_OK);
    assert_string_equal(n.item, "t\tn\nq\"b\\s/\xc3\xa9\xf0\x9f\x98\x80");
    /* raw UTF-8 as PostgreSQL sends it */
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\",\"item\":\"caf\xc3\xa9\"}",
                                      &n, buf, sizeof buf), PC_OK);
    assert_string_equal(n.item, "caf\xc3\xa9");
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "[]", "{", "{\"table\"}", "{\"table\":1}", "{\"table\":\"x\"", "{\"a\":\"b\"}x",
        "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"b\",}", "{\"a\":tru}", "{\"a\":\"line\nbreak\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[512];
        pcd_notice n;
        assert_int_equal(pcd_notice_parse(bad[i], &n, buf, sizeof buf), PC_EINVAL);
    }
    /* too long for the buffer: refused, never overrun */
    char buf[8];
    pcd_notice n;
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\"}", &n, buf, sizeof buf),
                     PC_EINVAL);
}

static void test_delta_overflow(void **state)
{
    (void)state;
    pcd_delta d;
    pcd_delta_init(&d);
    pcd_delta_add(&d, NULL, "a", 3);
    pcd_delta_add(&d, "s", "b", 3);
    pcd_delta_add(&d, NULL, "c", 3);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.overflow, 0);
    assert_null(d.keys[0].store);
    assert_string_equal(d.keys[1].store, "s");
    pcd_delta_add(&d, NULL, "d", 3);
    assert_int_equal(d.overflow, 1);
    pcd_delta moved;
    pcd_delta_take(&moved, &d);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.overflow, 0);
    assert_int_equal(moved.n, 3);
    assert_int_equal(moved.overflow, 1);
    pcd_delta_free(&moved);
    pcd_delta_free(&d);

    pcd_delta_add(&d, NULL, NULL, 10); /* a row-less notice: reload the chain */
    assert_int_equal(d.overflow, 1);
    pcd_delta_free(&d);
    pcd_delta_add(&d, NULL, "x", 0);   /* delta_max_keys = 0: always full */
    assert_int_equal(d.overflow, 1);
    pcd_delta_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_nulls_and_extra_keys),
        cmocka_unit_test(test_parse_escapes),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_delta_overflow),
    };
    return cmocka_run_group_tests_name("listen", tests, NULL, NULL);
}
