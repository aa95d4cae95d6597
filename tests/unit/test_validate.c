/* test_validate.c - row validation rules, reject samples, snapshot ordering/duplicates, the load queries' $1 substitution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"
#include "pgsource.h"
#include "snapshot.h"
#include "validate.h"

static pcd_field F(const char *s) { pcd_field f = { s, s ? strlen(s) : 0 }; return f; }
static const pcd_field NUL = { NULL, 0 };

static void test_rules(void **state)
{
    (void)state;
    char id200[PC_ID_MAX + 2];
    memset(id200, 'x', sizeof id200);
    id200[PC_ID_MAX] = 0;
    assert_int_equal(pcd_validate_row(0, NUL, F("a"), 0, 0, 0), -1);       /* price 0 ok */
    assert_int_equal(pcd_validate_row(0, NUL, F("a"), 0, -1, 0), PC_REJ_NEGATIVE_PRICE);
    assert_int_equal(pcd_validate_row(0, NUL, F(""), 0, 5, 0), PC_REJ_EMPTY_ID);
    assert_int_equal(pcd_validate_row(0, NUL, F(id200), 0, 5, 0), -1);     /* exactly the max */
    id200[PC_ID_MAX] = 'x';
    id200[PC_ID_MAX + 1] = 0;
    assert_int_equal(pcd_validate_row(0, NUL, F(id200), 0, 5, 0), PC_REJ_LONG_ID);
    assert_int_equal(pcd_validate_row(0, NUL, NUL, 0, 5, 0), PC_REJ_NULL);
    assert_int_equal(pcd_validate_row(0, NUL, F("a"), 1, 0, 0), PC_REJ_NULL);
    assert_int_equal(pcd_validate_row(0, NUL, F("a"), 0, 5, 1), PC_REJ_NULL);
    /* store rows: the store id obeys the same rules */
    assert_int_equal(pcd_validate_row(1, F("s"), F("a"), 0, 5, 0), -1);
    assert_int_equal(pcd_validate_row(1, NUL, F("a"), 0, 5, 0), PC_REJ_NULL);
    assert_int_equal(pcd_validate_row(1, F(""), F("a"), 0, 5, 0), PC_REJ_EMPTY_ID);
    assert_int_equal(pcd_validate_row(1, F(id200), F("a"), 0, 5, 0), PC_REJ_LONG_ID);
    /* a NUL inside an id (bytea casts can make one) cannot be a key */
    pcd_field withnul = { "a\0b", 3 };
    assert_int_equal(pcd_validate_row(0, NUL, withnul, 0, 5, 0), PC_REJ_EMPTY_ID);
    /* NULL is reported before anything else */
    assert_int_equal(pcd_validate_row(1, NUL, F(""), 0, -5, 0), PC_REJ_NULL);
}

static void test_sample(void **state)
{
    (void)state;
    char buf[128];
    pcd_row_sample(buf, sizeof buf, 1, F("s\"1"), F("a\tb\n"), 0, -3);
    assert_string_equal(buf, "store=\"s\\\"1\" item=\"a\\x09b\\x0a\" price_cents=-3");
    pcd_row_sample(buf, sizeof buf, 0, NUL, NUL, 1, 0);
    assert_string_equal(buf, "item=NULL price_cents=NULL");
    char longid[400];
    memset(longid, 'q', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    pcd_row_sample(buf, sizeof buf, 0, NUL, F(longid), 0, 1);
    assert_non_null(strstr(buf, "(399 bytes)"));
    assert_true(strlen(buf) < sizeof buf);
}

static void test_snapshot_order_and_duplicates(void **state)
{
    (void)state;
    pcd_snapshot s;
    pcd_snapshot_init(&s, "c");
    /* out of order, with a duplicate base key and a duplicate store key */
    pcd_snapshot_add(&s, "s1", 2, "b", 1, 1, 0);
    pcd_snapshot_add(&s, NULL, 0, "b", 1, 20, 0);
    pcd_snapshot_add(&s, NULL, 0, "a", 1, 10, 0);
    pcd_snapshot_add(&s, NULL, 0, "b", 1, 99, 0);   /* duplicate: dropped */
    pcd_snapshot_add(&s, "s1", 2, "b", 1, 77, 0);   /* duplicate: dropped */
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.base_rows, 2);
    assert_int_equal(s.store_rows, 1);
    assert_int_equal(s.rejected[PC_REJ_DUPLICATE], 2);
    assert_non_null(strstr(s.reject_sample[PC_REJ_DUPLICATE], "duplicate"));
    assert_int_equal(s.recs[0].val.cents, 10);  /* a */
    assert_int_equal(s.recs[1].val.cents, 20);  /* b, the first one kept */
    assert_int_equal(s.recs[2].val.cents, 1);   /* s1/b */
    assert_int_equal(pcd_snapshot_avg_cents(&s), 15);
    assert_int_equal(pcd_snapshot_rejected_total(&s), 2);
    pcd_snapshot_free(&s);
}

static void test_snapshot_large(void **state)
{
    (void)state;
    pcd_snapshot s;
    pcd_snapshot_init(&s, "big");
    char id[32];
    for (int i = 0; i < 300000; i++) {
        int n = snprintf(id, sizeof id, "%08d", i);
        assert_int_equal(pcd_snapshot_add(&s, NULL, 0, id, (size_t)n, 3, 0), PC_OK);
    }
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    assert_int_equal(s.n, 300000);
    assert_int_equal(pcd_snapshot_avg_cents(&s), 3);
    pcd_snapshot_free(&s);
    /* mean rounds half away from zero */
    pcd_snapshot_init(&s, "r");
    pcd_snapshot_add(&s, NULL, 0, "a", 1, 1, 0);
    pcd_snapshot_add(&s, NULL, 0, "b", 1, 2, 0);
    pcd_snapshot_finish(&s);
    assert_int_equal(pcd_snapshot_avg_cents(&s), 2);
    pcd_snapshot_free(&s);
}

static void test_subst(void **state)
{
    (void)state;
    char *s = pcd_sql_subst_chain("SELECT * FROM t WHERE c = $1 AND x = '$1' AND \"$1\" = $10 "
                                  "AND y = $1", "'acme'");
    assert_string_equal(s, "SELECT * FROM t WHERE c = 'acme' AND x = '$1' AND \"$1\" = $10 "
                           "AND y = 'acme'");
    free(s);
    s = pcd_sql_subst_chain("SELECT 'it''s $1' , $1", "'q'");
    assert_string_equal(s, "SELECT 'it''s $1' , 'q'");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_snapshot_order_and_duplicates),
        cmocka_unit_test(test_snapshot_large),
        cmocka_unit_test(test_subst),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
