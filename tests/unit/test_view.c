/* test_view.c - the one judgement of the daemon's state: starting / ready / degraded, /readyz freshness, systemd's status line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pc_format.h"
#include "view.h"

static pcd_view_chain rows[2];

/* Warm, database up, two cached chains loaded a second ago. */
static pcd_view healthy(void)
{
    pcd_view v;
    memset(&v, 0, sizeof v);
    memset(rows, 0, sizeof rows);
    v.started = 1;
    v.db_ok = 1;
    v.nchains = 2;
    v.warm = 2;
    v.max_age_s = 900;
    v.now_ms = 1000000;
    v.chains = rows;
    for (int i = 0; i < 2; i++) {
        snprintf(rows[i].slug, sizeof rows[i].slug, "c%d", i);
        rows[i].cached = 1;
        rows[i].last_ok = 1;
        rows[i].meta.loaded_at_ms = v.now_ms - 1000;
    }
    return v;
}

static void test_state(void **state)
{
    (void)state;
    pcd_view v = healthy();
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_READY);
    v.db_ok = 0;
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    v = healthy();
    v.unclosed = 1; /* half-open counts: the daemon is not back to normal */
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    v = healthy();
    v.failing = 1;
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    v.started = 0; /* starting wins over degraded */
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_STARTING);
}

static void test_unready(void **state)
{
    (void)state;
    char why[256];
    pcd_view v = healthy();
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 0);
    assert_string_equal(why, "");

    /* A refused load or a half-open breaker still serves fresh data. */
    v.failing = 1;
    rows[1].breaker = PC_BREAKER_HALF_OPEN;
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 0);

    rows[1].breaker = PC_BREAKER_OPEN;
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "chain c1: circuit breaker open");

    v = healthy();
    rows[0].meta.loaded_at_ms = v.now_ms - 901 * 1000;
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "chain c0: snapshot older than 900 s");
    rows[0].cached = 0; /* never loaded: no age to judge */
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 0);

    v = healthy();
    v.db_ok = 0;
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "database unreachable");
    v.started = 0; /* the first reason is named */
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "warm-up not done");
}

static void test_status_line(void **state)
{
    (void)state;
    char line[160];
    pcd_view v = healthy();
    v.unclosed = 1;
    pcd_view_status_line(&v, line, sizeof line);
    assert_string_equal(line, "ready: 2 chains, 1 breakers open");
    v.started = 0;
    v.warm = 1;
    v.db_ok = 0;
    pcd_view_status_line(&v, line, sizeof line);
    assert_string_equal(line, "warming up: 1 of 2 chains loaded, database unreachable");
}

/* Issue 13: a store blocked beyond stall_s and a full map are said by
 * /readyz, the state and STATUS=; a publish that merely takes a while is
 * not. */
static void test_store_blocked_and_map_full(void **state)
{
    (void)state;
    char why[256], line[160];
    pcd_view v = healthy();
    v.stall_limit_s = 10;
    v.stall_ms = 60000; /* the main loop waited for PostgreSQL: not the store */
    v.store_busy_ms = 9999;
    assert_int_equal(pcd_view_store_blocked_s(&v), 0);
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 0);
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_READY);
    v.store_busy_ms = 42500;
    assert_int_equal(pcd_view_store_blocked_s(&v), 42);
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "store blocked for 42 s");
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    pcd_view_status_line(&v, line, sizeof line);
    assert_string_equal(line, "ready: 2 chains, 0 breakers open, store blocked for 42 s");
    v = healthy();
    v.map_full = 1;
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_non_null(strstr(why, "map full"));
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    pcd_view_status_line(&v, line, sizeof line);
    assert_string_equal(line, "ready: 2 chains, 0 breakers open, map full");
}

/* Issue 13: a full disk is said like a full map, and before it. */
static void test_disk_full(void **state)
{
    (void)state;
    char why[256], line[160];
    pcd_view v = healthy();
    v.disk_full = 1;
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "disk full: publishes fail, the last snapshots are served");
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    pcd_view_status_line(&v, line, sizeof line);
    assert_string_equal(line, "ready: 2 chains, 0 breakers open, disk full");
    v.map_full = 1;
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_non_null(strstr(why, "disk full"));
    v.disk_full = 0;
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_non_null(strstr(why, "map full"));
}

/* Issue 13 item 5: lock.mdb failing the store's checks degrades the
 * daemon and is /readyz's reason, named; the map's fullness comes after. */
static void test_lock_corrupt(void **state)
{
    (void)state;
    char why[512], line[160];
    pcd_view v = healthy();
    v.lock_corrupt = 1;
    v.map_full = 1;
    snprintf(v.lock_error, sizeof v.lock_error,
             "lock.mdb: reader count 4294967295 beyond the table of 126 (lock file corrupt)");
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "lock.mdb: reader count 4294967295 beyond the table of 126 (lock "
                             "file corrupt): publishes refused, the last snapshots are served");
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    pcd_view_status_line(&v, line, sizeof line);
    assert_string_equal(line, "ready: 2 chains, 0 breakers open, lock.mdb corrupt");
    v.lock_error[0] = 0; /* no sentence: still said */
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_non_null(strstr(why, "lock.mdb corrupt"));
}

static void test_names_and_histogram(void **state)
{
    (void)state;
    assert_string_equal(pcd_view_load_name(PCD_CHAIN_IDLE), "idle");
    assert_string_equal(pcd_view_load_name(PCD_CHAIN_QUEUED), "queued");
    assert_string_equal(pcd_view_load_name(PCD_CHAIN_RUNNING), "running");
    assert_string_equal(pcd_view_load_name(7), "?");

    pcd_view_counters c;
    memset(&c, 0, sizeof c);
    pcd_view_observe(&c, 0.2);  /* under 0.25 and every bound above it */
    pcd_view_observe(&c, 100);  /* over every bound: only +Inf (the count) */
    assert_int_equal(c.duration_count, 2);
    assert_int_equal(c.duration_buckets[0], 0);          /* 0.01 */
    assert_int_equal(c.duration_buckets[3], 1);          /* 0.25 */
    assert_int_equal(c.duration_buckets[PCD_NBUCKETS - 1], 1); /* 60 */
    assert_true(c.duration_sum > 100.1 && c.duration_sum < 100.3);
}

/* The database as observed by the continuous check wins over the
 * listing; without an observation, a failed listing says down. */
static void test_db_observed(void **state)
{
    (void)state;
    char why[256];
    pcd_view v = healthy();
    assert_int_equal(pcd_view_db(&v), PC_DB_UNKNOWN); /* not checked yet */
    v.db_state = PC_DB_UP;
    assert_int_equal(pcd_view_db(&v), PC_DB_UP);
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_READY);

    v.db_state = PC_DB_DOWN;
    v.db_since_ms = 1764730000123;
    assert_int_equal(pcd_view_db(&v), PC_DB_DOWN);
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "database unreachable");
    char line[160];
    pcd_view_status_line(&v, line, sizeof line);
    assert_string_equal(line, "ready: 2 chains, 0 breakers open, database unreachable");

    /* It answers, but the chains query fails: not "unreachable". */
    v.db_state = PC_DB_UP;
    v.db_ok = 0;
    assert_int_equal(pcd_view_db(&v), PC_DB_UP);
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_string_equal(why, "active chains cannot be listed");
    pcd_view_status_line(&v, line, sizeof line);
    assert_string_equal(line, "ready: 2 chains, 0 breakers open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_unready),
        cmocka_unit_test(test_status_line),
        cmocka_unit_test(test_store_blocked_and_map_full),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_lock_corrupt),
        cmocka_unit_test(test_names_and_histogram),
        cmocka_unit_test(test_db_observed),
    };
    return cmocka_run_group_tests_name("view", tests, NULL, NULL);
}
