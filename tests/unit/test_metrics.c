/* test_metrics.c - the Prometheus text and the health answers of a view: the database gauges from the first scrape, /readyz while the database is unreachable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "pc_format.h"
#include "view.h"

static pcd_view_chain rows[1];

static pcd_view warm(void)
{
    pcd_view v;
    memset(&v, 0, sizeof v);
    memset(rows, 0, sizeof rows);
    v.started = 1;
    v.db_ok = 1;
    v.nchains = 1;
    v.warm = 1;
    v.max_age_s = 900;
    v.now_ms = 1764730000000;
    v.chains = rows;
    snprintf(rows[0].slug, sizeof rows[0].slug, "acme");
    rows[0].cached = 1;
    rows[0].last_ok = 1;
    rows[0].meta.loaded_at_ms = v.now_ms - 1000;
    return v;
}

static void assert_line(const char *text, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "\n%s\n", line);
    if (!strstr(text, want))
        fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void test_db_gauges(void **state)
{
    (void)state;
    pcd_view v = warm();
    /* Before the first check: present, 0, no outage time. */
    char *t = pcd_metrics_render(&v, NULL);
    assert_non_null(t);
    assert_line(t, "# TYPE pricecache_database_up gauge");
    assert_line(t, "pricecache_database_up 0");
    assert_line(t, "# TYPE pricecache_database_down_since_seconds gauge");
    assert_line(t, "pricecache_database_down_since_seconds 0");
    free(t);

    v.db_state = PC_DB_UP;
    v.db_since_ms = 1764729000000;
    t = pcd_metrics_render(&v, NULL);
    assert_line(t, "pricecache_database_up 1");
    assert_line(t, "pricecache_database_down_since_seconds 0");
    free(t);

    v.db_state = PC_DB_DOWN;
    v.db_since_ms = 1764729999999;
    t = pcd_metrics_render(&v, NULL);
    assert_line(t, "pricecache_database_up 0");
    assert_line(t, "pricecache_database_down_since_seconds 1764729999");
    free(t);
}

static void test_readyz(void **state)
{
    (void)state;
    char body[512];
    pcd_view v = warm();
    v.db_state = PC_DB_UP;
    assert_int_equal(pcd_health_ready(&v, body, sizeof body), 200);
    assert_string_equal(body, "{\"status\":\"ready\",\"chains\":1}\n");

    v.db_state = PC_DB_DOWN;
    v.db_since_ms = 1764729999999;
    assert_int_equal(pcd_health_ready(&v, body, sizeof body), 503);
    assert_string_equal(body, "{\"status\":\"degraded\",\"reason\":\"database unreachable\","
                              "\"serving\":\"stale snapshots\",\"since\":1764729999}\n");

    /* Warm-up comes first: nothing is served yet. */
    v.started = 0;
    assert_int_equal(pcd_health_ready(&v, body, sizeof body), 503);
    assert_string_equal(body, "{\"status\":\"not ready\",\"reason\":\"warm-up not done\"}\n");

    /* Other reasons keep their answer. */
    v = warm();
    v.db_state = PC_DB_UP;
    rows[0].breaker = PC_BREAKER_OPEN;
    assert_int_equal(pcd_health_ready(&v, body, sizeof body), 503);
    assert_string_equal(body, "{\"status\":\"not ready\",\"reason\":\"chain acme: circuit "
                              "breaker open\"}\n");
}

/* Issue 13: a full disk, in the metric and /readyz, worded as a full map. */
static void test_disk_full(void **state)
{
    (void)state;
    char body[512];
    pcd_view v = warm();
    v.db_state = PC_DB_UP;
    char *t = pcd_metrics_render(&v, NULL);
    assert_non_null(t);
    assert_line(t, "# TYPE pricecache_disk_full gauge");
    assert_line(t, "pricecache_disk_full 0");
    free(t);
    v.disk_full = 1;
    t = pcd_metrics_render(&v, NULL);
    assert_non_null(t);
    assert_line(t, "pricecache_disk_full 1");
    assert_line(t, "pricecache_map_full 0");
    free(t);
    assert_int_equal(pcd_health_ready(&v, body, sizeof body), 503);
    assert_string_equal(body, "{\"status\":\"not ready\",\"reason\":\"disk full: publishes "
                              "fail, the last snapshots are served\"}\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_gauges),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_disk_full),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
