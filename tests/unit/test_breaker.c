/* test_breaker.c - the circuit breaker's state machine under an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "breaker.h"
#include "pc_format.h"

static const pcd_breaker_cfg cfg = { .failures = 5, .reset_ms = 30000, .half_open_successes = 3 };

static void open_it(pcd_breaker *b, int64_t now)
{
    for (int i = 0; i < 5; i++) {
        assert_true(pcd_breaker_allow(b, now));
        pcd_breaker_record(b, &cfg, 0, now);
    }
    assert_int_equal(b->state, PC_BREAKER_OPEN);
}

static void test_opens_after_threshold(void **state)
{
    (void)state;
    pcd_breaker b;
    pcd_breaker_init(&b, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pcd_breaker_record(&b, &cfg, 0, 1000), 0);
    assert_int_equal(b.state, PC_BREAKER_CLOSED);
    assert_int_equal(pcd_breaker_record(&b, &cfg, 0, 1000), 1);
    assert_int_equal(b.state, PC_BREAKER_OPEN);
    assert_int_equal(b.since_ms, 1000);
}

static void test_success_resets_count(void **state)
{
    (void)state;
    pcd_breaker b;
    pcd_breaker_init(&b, 1);
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 4; i++)
            pcd_breaker_record(&b, &cfg, 0, 0);
        pcd_breaker_record(&b, &cfg, 1, 0);
    }
    assert_int_equal(b.state, PC_BREAKER_CLOSED);
}

static void test_refuses_while_open_with_jitter(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed < 200; seed++) {
        pcd_breaker b;
        pcd_breaker_init(&b, seed);
        open_it(&b, 0);
        int64_t until = b.open_until_ms;
        assert_true(until >= 24000 && until <= 36000); /* 30 s ± 20% */
        assert_false(pcd_breaker_allow(&b, until - 1));
        assert_int_equal(b.state, PC_BREAKER_OPEN);
        assert_true(pcd_breaker_allow(&b, until));
        assert_int_equal(b.state, PC_BREAKER_HALF_OPEN);
    }
}

static void test_jitter_spreads(void **state)
{
    (void)state;
    int64_t lo = INT64_MAX, hi = 0;
    for (uint64_t seed = 1; seed < 100; seed++) {
        pcd_breaker b;
        pcd_breaker_init(&b, seed * 7919);
        open_it(&b, 0);
        if (b.open_until_ms < lo) lo = b.open_until_ms;
        if (b.open_until_ms > hi) hi = b.open_until_ms;
    }
    assert_true(hi - lo > 6000); /* really jittered, not a constant */
}

static void test_half_open_needs_consecutive_successes(void **state)
{
    (void)state;
    pcd_breaker b;
    pcd_breaker_init(&b, 3);
    open_it(&b, 0);
    int64_t t = b.open_until_ms;
    assert_true(pcd_breaker_allow(&b, t));
    assert_int_equal(pcd_breaker_record(&b, &cfg, 1, t), 0);
    assert_int_equal(pcd_breaker_record(&b, &cfg, 1, t + 1), 0);
    assert_int_equal(b.state, PC_BREAKER_HALF_OPEN);
    assert_int_equal(pcd_breaker_record(&b, &cfg, 1, t + 2), 1);
    assert_int_equal(b.state, PC_BREAKER_CLOSED);
    assert_int_equal(b.since_ms, t + 2);
    /* closed again: needs the full threshold to reopen */
    for (int i = 0; i < 4; i++)
        pcd_breaker_record(&b, &cfg, 0, t + 3);
    assert_int_equal(b.state, PC_BREAKER_CLOSED);
}

static void test_half_open_failure_reopens(void **state)
{
    (void)state;
    pcd_breaker b;
    pcd_breaker_init(&b, 4);
    open_it(&b, 0);
    int64_t t = b.open_until_ms;
    assert_true(pcd_breaker_allow(&b, t));
    pcd_breaker_record(&b, &cfg, 1, t);
    pcd_breaker_record(&b, &cfg, 1, t);
    assert_int_equal(pcd_breaker_record(&b, &cfg, 0, t + 5), 1);
    assert_int_equal(b.state, PC_BREAKER_OPEN);
    assert_true(b.open_until_ms >= t + 5 + 24000);
    assert_false(pcd_breaker_allow(&b, t + 6));
}

static void test_flapping_never_closes_without_streak(void **state)
{
    (void)state;
    /* A database that answers every other probe: the breaker must never
     * close, and must refuse between probes. */
    pcd_breaker b;
    pcd_breaker_init(&b, 5);
    open_it(&b, 0);
    int64_t t = 0;
    int probes = 0;
    for (int i = 0; i < 100; i++) {
        t = b.open_until_ms;
        assert_false(pcd_breaker_allow(&b, t - 1));
        assert_true(pcd_breaker_allow(&b, t));
        probes++;
        pcd_breaker_record(&b, &cfg, 1, t);
        pcd_breaker_record(&b, &cfg, 0, t + 1);
        assert_int_equal(b.state, PC_BREAKER_OPEN);
    }
    assert_int_equal(probes, 100);
}

static void test_late_result_while_open_ignored(void **state)
{
    (void)state;
    pcd_breaker b;
    pcd_breaker_init(&b, 6);
    open_it(&b, 0);
    int64_t until = b.open_until_ms;
    assert_int_equal(pcd_breaker_record(&b, &cfg, 1, 10), 0);
    assert_int_equal(pcd_breaker_record(&b, &cfg, 0, 10), 0);
    assert_int_equal(b.state, PC_BREAKER_OPEN);
    assert_int_equal(b.open_until_ms, until);
}

static void test_reset_and_restore(void **state)
{
    (void)state;
    pcd_breaker b;
    pcd_breaker_init(&b, 7);
    open_it(&b, 0);
    assert_int_equal(pcd_breaker_reset(&b, 50), 1);
    assert_int_equal(b.state, PC_BREAKER_CLOSED);
    assert_int_equal(pcd_breaker_reset(&b, 60), 0);

    pcd_breaker r;
    pcd_breaker_init(&r, 8);
    /* Just opened: a whole reset period (30 s ± 20%) from now. */
    pcd_breaker_restore(&r, &cfg, PC_BREAKER_HALF_OPEN, 123, 0, 1000);
    assert_int_equal(r.state, PC_BREAKER_OPEN);
    assert_int_equal(r.since_ms, 123);
    assert_true(r.open_until_ms >= 1000 + 24000);
    assert_true(r.open_until_ms <= 1000 + 36000);
    assert_int_equal(pcd_breaker_allow(&r, 1000 + 23999), 0);
    /* Opened 20 s before the restart: only the rest of the period. */
    pcd_breaker_restore(&r, &cfg, PC_BREAKER_OPEN, 123, 20000, 1000);
    assert_int_equal(r.state, PC_BREAKER_OPEN);
    assert_true(r.open_until_ms >= 1000 + 4000);
    assert_true(r.open_until_ms <= 1000 + 16000);
    /* Opened long ago: the first load after the restart is a probe. */
    pcd_breaker_restore(&r, &cfg, PC_BREAKER_OPEN, 123, 3600000, 1000);
    assert_int_equal(pcd_breaker_allow(&r, 1000), 1);
    assert_int_equal(r.state, PC_BREAKER_HALF_OPEN);
    /* A clock that went backwards: a whole period. */
    pcd_breaker_restore(&r, &cfg, PC_BREAKER_OPEN, 123, -5000, 1000);
    assert_true(r.open_until_ms >= 1000 + 24000);
    pcd_breaker_restore(&r, &cfg, PC_BREAKER_CLOSED, 5, 0, 1000);
    assert_int_equal(r.state, PC_BREAKER_CLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opens_after_threshold),
        cmocka_unit_test(test_success_resets_count),
        cmocka_unit_test(test_refuses_while_open_with_jitter),
        cmocka_unit_test(test_jitter_spreads),
        cmocka_unit_test(test_half_open_needs_consecutive_successes),
        cmocka_unit_test(test_half_open_failure_reopens),
        cmocka_unit_test(test_flapping_never_closes_without_streak),
        cmocka_unit_test(test_late_result_while_open_ignored),
        cmocka_unit_test(test_reset_and_restore),
    };
    return cmocka_run_group_tests_name("breaker", tests, NULL, NULL);
}
