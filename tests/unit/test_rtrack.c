/* test_rtrack.c - stale readers: ages of reader slots behind the newest commit, the oldest, warnings once, the end of a warned one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pc_format.h"
#include "rtrack.h"

static void test_current_readers_do_not_age(void **state)
{
    (void)state;
    pcd_rtrack t = { 0 };
    pcd_rtrack_sum sum;
    /* On the newest snapshot, or idle: pins nothing, however long. */
    pc_rslot s[2] = { { 10, 1, 7 }, { 11, 2, 0 } };
    for (int64_t now = 0; now <= 60000; now += 1000) {
        assert_int_equal(pcd_rtrack_update(&t, s, 2, 7, now, &sum, NULL, 0, NULL), PC_OK);
        assert_int_equal(sum.oldest_pid, 0);
        assert_int_equal(sum.oldest_ms, 0);
    }
    pcd_rtrack_free(&t);
}

static void test_age_and_warning(void **state)
{
    (void)state;
    pcd_rtrack t = { 0 };
    pcd_rtrack_sum sum;
    pcd_rtrack_ent due[4], gone[4];
    size_t ngone = 9;
    pc_rslot s[2] = { { 10, 1, 5 }, { 11, 2, 8 } };
    /* pid 10 falls behind at t=1000 (txn 8 committed), pid 11 is current. */
    pcd_rtrack_update(&t, s, 2, 8, 1000, &sum, gone, 4, &ngone);
    assert_int_equal(ngone, 0);
    assert_int_equal(sum.oldest_pid, 10);
    assert_int_equal(sum.oldest_ms, 0);
    assert_int_equal(pcd_rtrack_due(&t, 1000, 3000, due, 4), 0);
    /* 3.5 s later, still on txn 5; pid 11 moved on to 9 and is behind too. */
    s[1].txnid = 9;
    pcd_rtrack_update(&t, s, 2, 12, 4500, &sum, gone, 4, &ngone);
    assert_int_equal(sum.oldest_pid, 10);
    assert_int_equal(sum.oldest_ms, 3500);
    assert_int_equal(sum.oldest_txnid, 5);
    assert_int_equal(pcd_rtrack_age(&t, 10, 1, 5, 4500), 3500);
    assert_int_equal(pcd_rtrack_age(&t, 11, 2, 9, 4500), 0);
    assert_int_equal(pcd_rtrack_age(&t, 12, 2, 9, 4500), -1);
    /* Warned once, not twice. */
    assert_int_equal(pcd_rtrack_due(&t, 4500, 3000, due, 4), 1);
    assert_int_equal(due[0].pid, 10);
    assert_int_equal(pcd_rtrack_due(&t, 5500, 3000, due, 4), 0);
    /* pid 10 ends its transaction: gone, with its warned flag. */
    s[0].txnid = 0;
    pcd_rtrack_update(&t, s, 2, 12, 6000, &sum, gone, 4, &ngone);
    assert_int_equal(ngone, 1);
    assert_int_equal(gone[0].pid, 10);
    assert_true(gone[0].warned);
    assert_int_equal(sum.oldest_pid, 11);
    assert_int_equal(sum.oldest_ms, 1500);
    pcd_rtrack_free(&t);
}

static void test_new_txn_restarts_the_clock(void **state)
{
    (void)state;
    pcd_rtrack t = { 0 };
    pcd_rtrack_sum sum;
    pc_rslot s = { 10, 1, 5 };
    pcd_rtrack_update(&t, &s, 1, 6, 0, &sum, NULL, 0, NULL);
    pcd_rtrack_update(&t, &s, 1, 6, 9000, &sum, NULL, 0, NULL);
    assert_int_equal(sum.oldest_ms, 9000);
    /* A busy reader renews its transaction: a new snapshot, a new clock. */
    s.txnid = 6;
    pcd_rtrack_update(&t, &s, 1, 7, 10000, &sum, NULL, 0, NULL);
    assert_int_equal(sum.oldest_ms, 0);
    assert_int_equal(t.n, 1);
    pcd_rtrack_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_readers_do_not_age),
        cmocka_unit_test(test_age_and_warning),
        cmocka_unit_test(test_new_txn_restarts_the_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
