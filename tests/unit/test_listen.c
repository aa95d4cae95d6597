/* test_listen.c - decoding NOTIFY payloads, and the changed-key set that debouncing fills. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "delta.h"
#include "listen.h"
#include "pc_format.h"

static pcd_notice n;
static char buf[8192];

static void test_parse_keys(void **state)
{
    (void)state;
    assert_int_equal(pcd_notice_parse("{\"table\" : \"store_prices\", \"op\" : \"UPDATE\", "
                                      "\"chain\" : \"acme\", \"keys\" : [[\"s1\", \"ckq\"], "
                                      "[null,\"b\"]]}", &n, buf, sizeof buf), PC_OK);
    assert_string_equal(n.table, "store_prices");
    assert_string_equal(n.op, "UPDATE");
    assert_string_equal(n.chain, "acme");
    assert_int_equal(n.has_keys, 1);
    assert_int_equal(n.nkeys, 2);
    assert_string_equal(n.keys[0].store, "s1");
    assert_string_equal(n.keys[0].item, "ckq");
    assert_null(n.keys[1].store);
    assert_string_equal(n.keys[1].item, "b");
}

static void test_parse_txid_and_commit_marker(void **state)
{
    (void)state;
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\",\"chain\":\"a\",\"txid\":\"4711\","
                                      "\"keys\":[[null,\"x\"]]}", &n, buf, sizeof buf), PC_OK);
    assert_int_equal(n.txid, 4711);
    assert_int_equal(pcd_notice_parse("{\"op\":\"COMMIT\",\"table\":\"pricecache_txn\",\"txid\":\"9\"}",
                                      &n, buf, sizeof buf), PC_OK);
    assert_string_equal(n.table, PCD_NOTICE_COMMIT_TABLE);
    assert_int_equal(n.txid, 9);
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\"}", &n, buf, sizeof buf), PC_OK);
    assert_int_equal(n.txid, 0);
    assert_int_equal(pcd_notice_parse("{\"txid\":\"12x\"}", &n, buf, sizeof buf), PC_EINVAL);
    assert_int_equal(pcd_notice_parse("{\"txid\":\"-3\"}", &n, buf, sizeof buf), PC_EINVAL);
}

static void test_parse_null_keys_and_extra(void **state)
{
    (void)state;
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\",\"op\":\"DELETE\","
                                      "\"chain\":\"a\",\"keys\":null,\"future\":\"y\"}",
                                      &n, buf, sizeof buf), PC_OK);
    assert_int_equal(n.has_keys, 0);
    assert_int_equal(pcd_notice_parse("{\"table\":\"chains\",\"op\":\"TRUNCATE\"}", &n, buf,
                                      sizeof buf), PC_OK);
    assert_null(n.chain);
    assert_int_equal(n.has_keys, 0);
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\",\"chain\":\"a\","
                                      "\"keys\":[]}", &n, buf, sizeof buf), PC_OK);
    assert_int_equal(n.has_keys, 1);
    assert_int_equal(n.nkeys, 0);
}

static void test_parse_escapes(void **state)
{
    (void)state;
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\",\"chain\":\"a\","
                                      "\"keys\":[[null,\"t\\tn\\nq\\\"b\\\\s\\/\\u00e9\\ud83d\\ude00\"]]}",
                                      &n, buf, sizeof buf), PC_OK);
    assert_string_equal(n.keys[0].item, "t\tn\nq\"b\\s/\xc3\xa9\xf0\x9f\x98\x80");
    /* raw UTF-8 as PostgreSQL sends it */
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\",\"keys\":[[null,\"caf\xc3\xa9\"]]}",
                                      &n, buf, sizeof buf), PC_OK);
    assert_string_equal(n.keys[0].item, "caf\xc3\xa9");
}

static void test_parse_too_many_keys_means_whole_chain(void **state)
{
    (void)state;
    static char payload[PCD_NOTICE_MAX_KEYS * 16 + 100];
    size_t o = (size_t)sprintf(payload, "{\"table\":\"chain_prices\",\"chain\":\"a\",\"keys\":[");
    for (int i = 0; i <= PCD_NOTICE_MAX_KEYS; i++)
        o += (size_t)sprintf(payload + o, "%s[null,\"%d\"]", i ? "," : "", i);
    strcpy(payload + o, "]}");
    static char big[PCD_NOTICE_MAX_KEYS * 8];
    assert_int_equal(pcd_notice_parse(payload, &n, big, sizeof big), PC_OK);
    assert_int_equal(n.has_keys, 0);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "[]", "{", "{\"table\"}", "{\"table\":1}", "{\"table\":\"x\"", "{\"a\":\"b\"}x",
        "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"b\",}", "{\"a\":tru}", "{\"a\":\"line\nbreak\"}",
        "{\"keys\":[[null]]}", "{\"keys\":[[\"s\",null]]}", "{\"keys\":[[\"s\",\"i\"]}",
        "{\"keys\":[\"i\"]}", "{\"keys\":[[\"s\",\"i\"],]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pcd_notice_parse(bad[i], &n, buf, sizeof buf), PC_EINVAL);
    /* too long for the buffer: refused, never overrun */
    char small[8];
    assert_int_equal(pcd_notice_parse("{\"table\":\"chain_prices\"}", &n, small, sizeof small),
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
        cmocka_unit_test(test_parse_keys),
        cmocka_unit_test(test_parse_txid_and_commit_marker),
        cmocka_unit_test(test_parse_null_keys_and_extra),
        cmocka_unit_test(test_parse_escapes),
        cmocka_unit_test(test_parse_too_many_keys_means_whole_chain),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_delta_overflow),
    };
    return cmocka_run_group_tests_name("listen", tests, NULL, NULL);
}
