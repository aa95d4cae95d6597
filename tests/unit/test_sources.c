/* test_sources.c - the choice of a source per read, LSN text, read-your-writes bookkeeping, and /readyz with replicas (issue 14). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "pc_format.h"
#include "pgreplica.h"
#include "sources.h"
#include "view.h"

static void test_pick_smallest_lag_within_max(void **state)
{
    (void)state;
    pcd_src_cand c[4] = {
        { PCD_SRC_UP, 1, 0 },      /* the primary: ignored */
        { PCD_SRC_UP, 1, 5.0 },
        { PCD_SRC_UP, 1, 1.2 },
        { PCD_SRC_UP, 1, 3.0 },
    };
    assert_int_equal(pcd_sources_pick(c, 4, 60, 0), 2);
    /* Beyond max_lag_s: the next; none left: the primary. */
    assert_int_equal(pcd_sources_pick(c, 4, 2, 0), 2);
    assert_int_equal(pcd_sources_pick(c, 4, 1, 0), 0);
    /* Excluded (failed this read): the next smallest. */
    assert_int_equal(pcd_sources_pick(c, 4, 60, 1u << 2), 3);
    assert_int_equal(pcd_sources_pick(c, 4, 60, ~1u), 0);
    /* No replicas at all. */
    assert_int_equal(pcd_sources_pick(c, 1, 60, 0), 0);
}

static void test_pick_health(void **state)
{
    (void)state;
    pcd_src_cand c[3] = { { PCD_SRC_UP, 1, 0 }, { PCD_SRC_DOWN, 1, 0 }, { PCD_SRC_UP, 0, 0 } };
    /* Down whatever its last figures; breaker refusing. */
    assert_int_equal(pcd_sources_pick(c, 3, 60, 0), 0);
    c[2].allowed = 1;
    assert_int_equal(pcd_sources_pick(c, 3, 60, 0), 2);
    /* Never sampled (unknown) or lag unknown: not chosen. */
    c[2].state = PCD_SRC_UNKNOWN;
    assert_int_equal(pcd_sources_pick(c, 3, 60, 0), 0);
    c[2].state = PCD_SRC_UP;
    c[2].lag_s = -1;
    assert_int_equal(pcd_sources_pick(c, 3, 60, 0), 0);
    /* Lagging as sampled but within this call's max: chosen. */
    c[2].state = PCD_SRC_LAGGING;
    c[2].lag_s = 10;
    assert_int_equal(pcd_sources_pick(c, 3, 60, 0), 2);
    assert_int_equal(pcd_sources_pick(c, 3, 9, 0), 0);
}

static void test_pick_ties_first_listed(void **state)
{
    (void)state;
    /* A few bytes (well under a second) apart: the first listed, so that
     * two replicas do not take turns on every read. */
    pcd_src_cand c[3] = { { PCD_SRC_UP, 1, 0 }, { PCD_SRC_UP, 1, 0.4 }, { PCD_SRC_UP, 1, 0.1 } };
    assert_int_equal(pcd_sources_pick(c, 3, 60, 0), 1);
    c[1].lag_s = 1.5;
    assert_int_equal(pcd_sources_pick(c, 3, 60, 0), 2);
}

static void test_lsn_parse(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(pcd_lsn_parse("16/B374D848", &v), 0);
    assert_true(v == 0x16B374D848ull);
    assert_int_equal(pcd_lsn_parse("0/0", &v), 0);
    assert_true(v == 0);
    assert_int_equal(pcd_lsn_parse("FFFFFFFF/FFFFFFFF", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(pcd_lsn_parse("", &v), -1);
    assert_int_equal(pcd_lsn_parse("16", &v), -1);
    assert_int_equal(pcd_lsn_parse("16/", &v), -1);
    assert_int_equal(pcd_lsn_parse("1/2x", &v), -1);
    assert_int_equal(pcd_lsn_parse("100000000/0", &v), -1);
    assert_int_equal(pcd_lsn_parse(NULL, &v), -1);
}

static pcd_config cfg_with(const char *replicas)
{
    pcd_config cfg;
    assert_int_equal(pcd_config_defaults(&cfg), PC_OK);
    cfg.dsn = strdup("host=p port=5432 password=s3cret");
    free(cfg.replicas);
    cfg.replicas = strdup(replicas);
    return cfg;
}

/* Read-your-writes: a position covers the notices counted when it was
 * asked for, not the ones after. */
static void test_lsn_bookkeeping(void **state)
{
    (void)state;
    pcd_config cfg = cfg_with("host=r1 port=5433 password=s3cret");
    pcd_sources *s;
    assert_int_equal(pcd_sources_new(&cfg, &s), PC_OK);
    assert_true(pcd_sources_replicated(s));
    int wait = 0;
    assert_true(pcd_sources_lsn_due(s, 1000, &wait)); /* never read: due */
    uint64_t seq = pcd_sources_lsn_sent(s, 1000);
    assert_true(seq == 0);
    pcd_sources_primary_lsn(s, 100, seq);
    assert_false(pcd_sources_lsn_due(s, 1000 + cfg.lag_sample_ms - 1, &wait));
    assert_true(wait >= 0 && wait <= cfg.lag_sample_ms);
    assert_true(pcd_sources_lsn_due(s, 1000 + cfg.lag_sample_ms, NULL));
    uint64_t lsn = 0;
    assert_int_equal(pcd_sources_lsn_wait(s, 0, pc_mono_ms(), &lsn), PC_OK);
    assert_true(lsn == 100);
    /* A notice: due at once; the old position does not cover it. */
    uint64_t n1 = pcd_sources_noticed(s);
    assert_true(n1 == 1 && pcd_sources_notice_seq(s) == 1);
    assert_true(pcd_sources_lsn_due(s, 1001, NULL));
    assert_int_equal(pcd_sources_lsn_wait(s, n1, pc_mono_ms() + 20, &lsn), PC_ETIMEDOUT);
    seq = pcd_sources_lsn_sent(s, 1001);
    pcd_sources_noticed(s); /* arrives while the reading is under way */
    pcd_sources_primary_lsn(s, 200, seq);
    assert_int_equal(pcd_sources_lsn_wait(s, n1, pc_mono_ms(), &lsn), PC_OK);
    assert_true(lsn == 200);
    assert_int_equal(pcd_sources_lsn_wait(s, n1 + 1, pc_mono_ms() + 10, &lsn), PC_ETIMEDOUT);
    /* Not started: no sampler, no replica judged up: the primary. */
    char *dsn = NULL;
    unsigned gen = 0;
    assert_int_equal(pcd_sources_choose(s, PCD_READ_LOAD, 0, &dsn, &gen), 0);
    assert_string_equal(dsn, cfg.dsn);
    free(dsn);
    pcd_sources_done(s, 0, gen, PCD_READ_LOAD, 1, "");
    pcd_sources_done(s, 0, gen + 1, PCD_READ_DELTA, 1, ""); /* a stale generation: ignored */
    pcd_source_view sv[PCD_SRC_MAX];
    size_t n = 0;
    pcd_sources_view(s, PCD_SRC_UP, sv, &n);
    assert_int_equal(n, 2);
    assert_string_equal(sv[0].name, "primary");
    assert_string_equal(sv[0].where, "p:5432");
    assert_true(sv[0].up && sv[0].reads[PCD_READ_LOAD] == 1 && sv[0].reads[PCD_READ_DELTA] == 0);
    assert_string_equal(sv[1].name, "replica1");
    assert_string_equal(sv[1].where, "r1:5433");
    assert_int_equal(sv[1].state, PCD_SRC_UNKNOWN);
    assert_false(sv[1].up);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(sv[i].where, "s3cret"));
    pcd_sources_free(s);
    pcd_config_free(&cfg);
}

/* Without replicas nothing changes: the primary, no positions asked. */
static void test_no_replicas(void **state)
{
    (void)state;
    pcd_config cfg = cfg_with("");
    pcd_sources *s;
    assert_int_equal(pcd_sources_new(&cfg, &s), PC_OK);
    assert_false(pcd_sources_replicated(s));
    assert_false(pcd_sources_lsn_due(s, 5000, NULL));
    assert_false(pcd_sources_lsn_due(NULL, 5000, NULL));
    char *dsn = NULL;
    unsigned gen;
    assert_int_equal(pcd_sources_choose(s, PCD_READ_DELTA, 0, &dsn, &gen), 0);
    free(dsn);
    /* A configure that adds one keeps the counters; a new DSN list is a
     * new generation. */
    free(cfg.replicas);
    cfg.replicas = strdup(" host=a ; host=b ;");
    assert_int_equal(pcd_sources_configure(s, &cfg), PC_OK);
    assert_true(pcd_sources_replicated(s));
    char *dsn2 = NULL;
    unsigned gen2;
    pcd_sources_choose(s, PCD_READ_DELTA, 0, &dsn2, &gen2);
    assert_true(gen2 != gen);
    free(dsn2);
    pcd_source_view sv[PCD_SRC_MAX];
    size_t n = 0;
    pcd_sources_view(s, PCD_SRC_DOWN, sv, &n);
    assert_int_equal(n, 3);
    assert_string_equal(sv[2].name, "replica2");
    assert_false(sv[0].up);
    pcd_sources_free(s);
    pcd_config_free(&cfg);
}

static pcd_view view_with(int db_state, int replica_up)
{
    pcd_view v;
    memset(&v, 0, sizeof v);
    v.started = 1;
    v.db_ok = 1;
    v.db_state = db_state;
    v.max_age_s = 900;
    v.nsources = 2;
    snprintf(v.sources[0].name, sizeof v.sources[0].name, "primary");
    snprintf(v.sources[1].name, sizeof v.sources[1].name, "replica1");
    v.sources[0].up = db_state == PC_DB_UP;
    v.sources[1].up = replica_up;
    v.sources[1].state = replica_up ? PCD_SRC_UP : PCD_SRC_DOWN;
    v.sources[1].lag_s = 0.5;
    v.sources[1].lag_bytes = 1234;
    v.sources[1].reads[PCD_READ_DELTA] = 7;
    v.sources[0].lag_s = v.sources[0].lag_bytes = -1;
    return v;
}

static void test_ready_while_any_source_serves(void **state)
{
    (void)state;
    char why[256], body[512];
    pcd_view v = view_with(PC_DB_DOWN, 1);
    assert_true(pcd_view_replica_up(&v));
    assert_true(pcd_view_can_read(&v));
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 0);
    assert_int_equal(pcd_health_ready(&v, body, sizeof body), 200);
    /* The daemon is still degraded: its LISTEN (changes) is gone. */
    assert_int_equal(pcd_view_state(&v), PC_DAEMON_DEGRADED);
    v = view_with(PC_DB_DOWN, 0);
    assert_false(pcd_view_can_read(&v));
    assert_int_equal(pcd_view_unready(&v, why, sizeof why), 1);
    assert_int_equal(pcd_health_ready(&v, body, sizeof body), 503);
    v = view_with(PC_DB_UP, 0);
    assert_int_equal(pcd_health_ready(&v, body, sizeof body), 200);
}

static void test_metrics_sources(void **state)
{
    (void)state;
    pcd_view v = view_with(PC_DB_UP, 1);
    size_t len = 0;
    char *m = pcd_metrics_render(&v, &len);
    assert_non_null(m);
    assert_non_null(strstr(m, "pricecache_source_up{source=\"primary\"} 1\n"));
    assert_non_null(strstr(m, "pricecache_source_up{source=\"replica1\"} 1\n"));
    assert_non_null(strstr(m, "pricecache_replica_lag_seconds{source=\"replica1\"} 0.500\n"));
    assert_non_null(strstr(m, "pricecache_replica_lag_bytes{source=\"replica1\"} 1234\n"));
    assert_null(strstr(m, "pricecache_replica_lag_bytes{source=\"primary\"}"));
    assert_non_null(strstr(m, "pricecache_source_reads_total{source=\"replica1\",kind=\"delta\"} 7\n"));
    assert_non_null(strstr(m, "pricecache_source_reads_total{source=\"primary\",kind=\"load\"} 0\n"));
    assert_non_null(strstr(m, "# TYPE pricecache_source_reads_total counter\n"));
    free(m);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_smallest_lag_within_max),
        cmocka_unit_test(test_pick_health),
        cmocka_unit_test(test_pick_ties_first_listed),
        cmocka_unit_test(test_lsn_parse),
        cmocka_unit_test(test_lsn_bookkeeping),
        cmocka_unit_test(test_no_replicas),
        cmocka_unit_test(test_ready_while_any_source_serves),
        cmocka_unit_test(test_metrics_sources),
    };
    return cmocka_run_group_tests_name("sources", tests, NULL, NULL);
}
