/* test_dbwatch.c - the continuous check of the database: round-trip timing, the deadline that declares a silent server unreachable, reconnect delays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dbwatch.h"

static void test_first_round_trip_after_an_interval(void **state)
{
    (void)state;
    pcd_dbwatch w;
    pcd_dbwatch_init(&w, 1000);
    assert_false(pcd_dbwatch_due(&w, 1000));
    assert_false(pcd_dbwatch_due(&w, 1999));
    assert_int_equal(pcd_dbwatch_wait_ms(&w, 1500), 500);
    assert_true(pcd_dbwatch_due(&w, 2000));
    assert_false(pcd_dbwatch_expired(&w, 100000)); /* nothing outstanding */
}

static void test_answered_in_time(void **state)
{
    (void)state;
    pcd_dbwatch w;
    pcd_dbwatch_init(&w, 0);
    pcd_dbwatch_sent(&w, 1000);
    assert_false(pcd_dbwatch_due(&w, 1500)); /* one at a time */
    assert_int_equal(pcd_dbwatch_wait_ms(&w, 1000), PCD_DBWATCH_DEADLINE_MS);
    pcd_dbwatch_answered(&w, 1010);
    assert_false(pcd_dbwatch_expired(&w, 1000 + PCD_DBWATCH_DEADLINE_MS + 1));
    /* The period runs from the send, not from the answer. */
    assert_false(pcd_dbwatch_due(&w, 1999));
    assert_true(pcd_dbwatch_due(&w, 2000));
    assert_int_equal(pcd_dbwatch_wait_ms(&w, 1010), 990);
}

static void test_late_answer_sends_next_at_once(void **state)
{
    (void)state;
    pcd_dbwatch w;
    pcd_dbwatch_init(&w, 0);
    pcd_dbwatch_sent(&w, 1000);
    pcd_dbwatch_answered(&w, 3500);
    assert_true(pcd_dbwatch_due(&w, 3500));
    assert_int_equal(pcd_dbwatch_wait_ms(&w, 3500), 0);
}

/* A server frozen right after answering is declared unreachable at most
 * interval + deadline after that answer: within 5 s. */
static void test_silent_server_expires_within_bound(void **state)
{
    (void)state;
    pcd_dbwatch w;
    pcd_dbwatch_init(&w, 0);
    int64_t now = 0, last_answer = 0, declared = -1;
    /* Healthy for 10 s: answered 5 ms after each send. */
    while (now < 10000) {
        if (pcd_dbwatch_due(&w, now))
            pcd_dbwatch_sent(&w, now);
        if (w.outstanding && now - w.sent_ms >= 5) {
            pcd_dbwatch_answered(&w, now);
            last_answer = now;
        }
        assert_false(pcd_dbwatch_expired(&w, now));
        now += 1;
    }
    /* Frozen: nothing is answered any more. */
    for (; now < 20000; now += pcd_dbwatch_wait_ms(&w, now) ? pcd_dbwatch_wait_ms(&w, now) : 1) {
        if (pcd_dbwatch_expired(&w, now)) {
            declared = now;
            break;
        }
        if (pcd_dbwatch_due(&w, now))
            pcd_dbwatch_sent(&w, now);
    }
    assert_true(declared > 0);
    assert_true(declared - last_answer <= PCD_DBWATCH_INTERVAL_MS + PCD_DBWATCH_DEADLINE_MS);
    assert_true(declared - last_answer < 5000);
    assert_true(declared - last_answer >= PCD_DBWATCH_DEADLINE_MS);
}

static void test_wait_is_bounded(void **state)
{
    (void)state;
    pcd_dbwatch w;
    pcd_dbwatch_init(&w, 0);
    w.next_ping_ms = 1000000; /* far away: still woken within the deadline */
    assert_int_equal(pcd_dbwatch_wait_ms(&w, 0), PCD_DBWATCH_DEADLINE_MS);
    pcd_dbwatch_sent(&w, 0);
    assert_int_equal(pcd_dbwatch_wait_ms(&w, PCD_DBWATCH_DEADLINE_MS + 50), 0);
    assert_true(pcd_dbwatch_expired(&w, PCD_DBWATCH_DEADLINE_MS));
    assert_false(pcd_dbwatch_expired(&w, PCD_DBWATCH_DEADLINE_MS - 1));
    /* An answer that comes when none is outstanding changes nothing. */
    pcd_dbwatch_init(&w, 0);
    pcd_dbwatch_answered(&w, 500);
    assert_int_equal(w.next_ping_ms, PCD_DBWATCH_INTERVAL_MS);
}

static void test_backoff(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    for (int round = 0; round < 200; round++) {
        int a0 = pcd_dbwatch_backoff_ms(0, &rng);
        assert_in_range(a0, PCD_DBWATCH_BACKOFF_BASE_MS / 2, PCD_DBWATCH_BACKOFF_BASE_MS);
        int a1 = pcd_dbwatch_backoff_ms(1, &rng);
        assert_in_range(a1, PCD_DBWATCH_BACKOFF_BASE_MS, 2 * PCD_DBWATCH_BACKOFF_BASE_MS);
        /* Never more than the cap, however long the outage. */
        for (int at = 2; at < 80; at += 7) {
            int d = pcd_dbwatch_backoff_ms(at, &rng);
            assert_in_range(d, PCD_DBWATCH_BACKOFF_CAP_MS / 2, PCD_DBWATCH_BACKOFF_CAP_MS);
        }
        assert_in_range(pcd_dbwatch_backoff_ms(-3, &rng), PCD_DBWATCH_BACKOFF_CAP_MS / 2,
                        PCD_DBWATCH_BACKOFF_CAP_MS);
    }
    rng = 0; /* a zero state would stick at zero: it is reseeded */
    pcd_dbwatch_backoff_ms(0, &rng);
    assert_true(rng != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_round_trip_after_an_interval),
        cmocka_unit_test(test_answered_in_time),
        cmocka_unit_test(test_late_answer_sends_next_at_once),
        cmocka_unit_test(test_silent_server_expires_within_bound),
        cmocka_unit_test(test_wait_is_bounded),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests_name("dbwatch", tests, NULL, NULL);
}
