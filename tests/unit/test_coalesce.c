/* test_coalesce.c - the coalescing rule (daemon/coalesce.c) under an injected clock: leading edge, batching while busy, commit markers, the path by size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "coalesce.h"

static pcd_coalesce_in base(int64_t now)
{
    pcd_coalesce_in in;
    memset(&in, 0, sizeof in);
    in.now_ms = now;
    in.debounce_ms = 10;
    in.pending = 1;
    in.first_notice_ms = now;
    return in;
}

/* The first change after a quiet spell is taken at once, whatever
 * debounce_ms says: no trailing-edge wait. */
static void test_leading_edge(void **state)
{
    (void)state;
    pcd_coalesce_in in = base(100000);
    assert_int_equal(pcd_coalesce_due(&in), 100000); /* never ran */
    in.last_start_ms = 100000 - 11;                   /* quiet for longer than debounce_ms */
    assert_int_equal(pcd_coalesce_due(&in), 100000);
    in.debounce_ms = 60000;
    in.last_start_ms = 100000 - 60000;
    assert_int_equal(pcd_coalesce_due(&in), 100000);
}

/* Nothing pending: nothing to queue. */
static void test_nothing_pending(void **state)
{
    (void)state;
    pcd_coalesce_in in = base(5000);
    in.pending = 0;
    assert_int_equal(pcd_coalesce_due(&in), 0);
}

/* While a job of the chain is queued or running, changes wait for its
 * end (which asks again): no timer, no second job in parallel. */
static void test_busy_waits_for_the_job(void **state)
{
    (void)state;
    pcd_coalesce_in in = base(5000);
    in.busy = 1;
    assert_int_equal(pcd_coalesce_due(&in), 0);
    in.keys_unknown = 1;
    assert_int_equal(pcd_coalesce_due(&in), 0);
    in.nopen = 2;
    assert_int_equal(pcd_coalesce_due(&in), 0);
}

/* A busy chain: jobs start at least debounce_ms apart, so a change
 * arriving right after a job began waits for the rest of the window and
 * rides with everything that came meanwhile; never longer than the window. */
static void test_spacing_while_busy(void **state)
{
    (void)state;
    pcd_coalesce_in in = base(1003);
    in.last_start_ms = 1000;
    assert_int_equal(pcd_coalesce_due(&in), 1010);
    in.now_ms = 1009;
    assert_int_equal(pcd_coalesce_due(&in), 1010);
    in.now_ms = 1010;
    assert_int_equal(pcd_coalesce_due(&in), 1010);
    /* The job took longer than the window: the next starts at its end. */
    in.now_ms = 1025;
    assert_int_equal(pcd_coalesce_due(&in), 1025);
    /* debounce_ms = 0: only what piles up during a job is batched. */
    in.debounce_ms = 0;
    in.now_ms = 1001;
    assert_int_equal(pcd_coalesce_due(&in), 1001);
}

/* Keys of a transaction whose commit marker is due wait for it (at most
 * PCD_TX_WAIT_MS from the first notice); unlisted keys go at once. */
static void test_commit_marker(void **state)
{
    (void)state;
    pcd_coalesce_in in = base(2000);
    in.first_notice_ms = 1990;
    in.nopen = 1;
    assert_int_equal(pcd_coalesce_due(&in), 1990 + PCD_TX_WAIT_MS);
    assert_int_equal(pcd_coalesce_take_now(&in), 0);
    in.now_ms = 1990 + PCD_TX_WAIT_MS;
    assert_int_equal(pcd_coalesce_take_now(&in), 1);
    in.nopen = 0;
    in.now_ms = 2000;
    assert_int_equal(pcd_coalesce_take_now(&in), 1);
    in.nopen = 1;
    in.keys_unknown = 1;
    assert_int_equal(pcd_coalesce_due(&in), 2000);
    assert_int_equal(pcd_coalesce_take_now(&in), 1);
}

/* A storm, step by step as the engine drives the rule: one job at a
 * time, each taking what piled up; the last change is applied at most
 * one window plus one job after it arrived. */
static void test_storm_batches_by_pending(void **state)
{
    (void)state;
    const int job_ms = 3, debounce = 10;
    int64_t t = 0, busy_until = 0, last_start = 0, due = 0;
    int pending = 0, jobs = 0, changes = 0, batched = 0, max_batch = 0;
    int64_t last_change = 0, applied_last = 0;
    for (t = 1; t < 2000; t++) {
        if (t < 1000) { /* a change every ms for a second */
            pending++;
            changes++;
            last_change = t;
            pcd_coalesce_in in = { .now_ms = t, .last_start_ms = last_start,
                                   .first_notice_ms = t, .debounce_ms = debounce,
                                   .busy = t < busy_until, .pending = 1 };
            int64_t d = pcd_coalesce_due(&in);
            if (d && (!due || d < due))
                due = d;
        }
        if (busy_until && t == busy_until) { /* the job ends: ask again */
            busy_until = 0;
            if (pending) {
                pcd_coalesce_in in = { .now_ms = t, .last_start_ms = last_start,
                                       .first_notice_ms = t, .debounce_ms = debounce,
                                       .pending = 1 };
                due = pcd_coalesce_due(&in);
                assert_true(due >= t);
            }
        }
        if (due && t >= due && !busy_until && pending) {
            jobs++;
            batched += pending;
            if (pending > max_batch)
                max_batch = pending;
            pending = 0;
            last_start = t;
            busy_until = t + job_ms;
            due = 0;
            applied_last = t + job_ms; /* every change so far is in this job */
        }
    }
    assert_int_equal(pending, 0);
    assert_int_equal(batched, changes);
    /* Spaced by the window: about 1000 / 10 jobs, not one per change. */
    assert_in_range(jobs, 95, 105);
    assert_true(max_batch <= debounce + 1);
    assert_true(applied_last - last_change <= debounce + job_ms);
}

static void test_path_by_size(void **state)
{
    (void)state;
    assert_int_equal(pcd_coalesce_path(0, 1, 0, 0, 1, 1000000), PCD_PATH_DELTA);
    assert_int_equal(pcd_coalesce_path(0, 1, 0, 0, 1, 10), PCD_PATH_DELTA);
    /* Small deltas stay deltas even on a tiny chain. */
    assert_int_equal(pcd_coalesce_path(0, PCD_DELTA_MIN_KEYS, 0, 0, 1, 10), PCD_PATH_DELTA);
    /* Past the share: a reload is faster. */
    assert_int_equal(pcd_coalesce_path(0, 1001, 0, 0, 1, 10000), PCD_PATH_FULL_SHARE);
    assert_int_equal(pcd_coalesce_path(0, 1000, 0, 0, 1, 10000), PCD_PATH_DELTA);
    assert_int_equal(pcd_coalesce_path(0, 1000, 1, 0, 1, 1000000), PCD_PATH_FULL_MAXKEYS);
    assert_int_equal(pcd_coalesce_path(0, 0, 2, 0, 1, 1000000), PCD_PATH_FULL_UNLISTED);
    assert_int_equal(pcd_coalesce_path(1, 5, 0, 0, 1, 1000000), PCD_PATH_FULL_ASKED);
    assert_int_equal(pcd_coalesce_path(0, 0, 0, 0, 1, 1000000), PCD_PATH_FULL_NOKEYS);
    assert_int_equal(pcd_coalesce_path(0, 5, 0, 1, 1, 1000000), PCD_PATH_FULL_OPEN_TX);
    assert_int_equal(pcd_coalesce_path(0, 5, 0, 0, 0, 0), PCD_PATH_FULL_UNCACHED);
    /* Size not known yet (UINT64_MAX): not judged by share. */
    assert_int_equal(pcd_coalesce_path(0, 900, 0, 0, 1, UINT64_MAX), PCD_PATH_DELTA);
    char why[200];
    pcd_coalesce_why(PCD_PATH_FULL_SHARE, 1200, 10000, why, sizeof why);
    assert_string_equal(why, "1200 changed keys are 12.0% of 10000 rows (> 10%): a reload is faster");
    pcd_coalesce_why(PCD_PATH_FULL_UNLISTED, 0, 10000, why, sizeof why);
    assert_non_null(strstr(why, "did not list its keys"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leading_edge),
        cmocka_unit_test(test_nothing_pending),
        cmocka_unit_test(test_busy_waits_for_the_job),
        cmocka_unit_test(test_spacing_while_busy),
        cmocka_unit_test(test_commit_marker),
        cmocka_unit_test(test_storm_batches_by_pending),
        cmocka_unit_test(test_path_by_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
