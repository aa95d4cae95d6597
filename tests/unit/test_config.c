/* test_config.c - configuration parsing: defaults, errors naming file/line/key, env overrides, DSN redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dsn.h"
#include "log.h"
#include "pc_format.h"

static char path[64];

static void write_file(const char *text)
{
    strcpy(path, "/tmp/pcconfXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int load(const char *text, pcd_config *cfg, char *err, size_t len)
{
    write_file(text);
    err[0] = 0;
    int rc = pcd_config_load(cfg, path, err, len);
    unlink(path);
    return rc;
}

static void test_minimal_and_defaults(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    assert_int_equal(load("[database]\ndsn = host=/tmp dbname=x\n[cache]\npath = /tmp/c\n",
                          &cfg, err, sizeof err), PC_OK);
    assert_string_equal(cfg.dsn, "host=/tmp dbname=x");
    assert_string_equal(cfg.path, "/tmp/c");
    assert_int_equal(cfg.concurrency, 3);
    assert_int_equal(cfg.timeout_s, 30);
    assert_int_equal(cfg.refresh_s, 300);
    assert_int_equal(cfg.breaker_failures, 5);
    assert_int_equal(cfg.breaker_reset_s, 30);
    assert_int_equal(cfg.breaker_half_open_successes, 3);
    assert_true(cfg.max_reject_ratio > 0.049 && cfg.max_reject_ratio < 0.051);
    assert_string_equal(cfg.bus_events, "");
    assert_non_null(strstr(cfg.base_query, "$1"));
    assert_int_equal(cfg.reader_warn_s, 30);
    assert_int_equal(cfg.health_stall_s, 10);
    pcd_config_free(&cfg);
}

/* Issue 13's keys: [cache] reader_warn_s, [health] stall_s; bad values
 * name the line and the key. */
static void test_reader_warn_and_stall(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    assert_int_equal(load("[database]\ndsn = host=/tmp dbname=x\n[cache]\npath = /tmp/c\n"
                          "reader_warn_s = 5\n[health]\nstall_s = 3\n", &cfg, err, sizeof err),
                     PC_OK);
    assert_int_equal(cfg.reader_warn_s, 5);
    assert_int_equal(cfg.health_stall_s, 3);
    pcd_config_free(&cfg);
    assert_int_equal(load("[database]\ndsn = host=/tmp dbname=x\n[cache]\npath = /tmp/c\n"
                          "reader_warn_s = 0\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, ":5:"));
    assert_non_null(strstr(err, "reader_warn_s"));
    pcd_config_free(&cfg);
    assert_int_equal(load("[database]\ndsn = host=/tmp dbname=x\n[cache]\npath = /tmp/c\n"
                          "[health]\nstall_s = 1\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "stall_s"));
    pcd_config_free(&cfg);
}

static void test_unknown_key_names_file_line_key(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    assert_int_equal(load("[database]\ndsn = x\n\n[load]\nconcurrency = 2\nbogus = 1\n",
                          &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, ":6:"));
    assert_non_null(strstr(err, "[load] bogus"));
    assert_non_null(strstr(err, "unknown key"));
    pcd_config_free(&cfg);

    assert_int_equal(load("[nope]\nx = 1\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, ":2:"));
    assert_non_null(strstr(err, "unknown section"));
    pcd_config_free(&cfg);
}

static void test_bad_values(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[load]\nconcurrency = 0\n", "[load]\nconcurrency = 3x\n", "[load]\nconcurrency =\n",
        "[load]\ntimeout_s = -1\n", "[load]\nmax_reject_ratio = 1.5\n",
        "[load]\nmax_shrink_ratio = nan\n", "[log]\nlevel = loud\n",
        "[cache]\nmax_readers = 99999999999\n", "[breaker]\nfailures = 0\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pcd_config cfg;
        char err[512], text[256];
        snprintf(text, sizeof text, "[database]\ndsn = x\n[cache]\npath = /tmp\n%s", bad[i]);
        assert_int_equal(load(text, &cfg, err, sizeof err), PC_ECONFIG);
        assert_non_null(strstr(err, ":6:"));
        assert_non_null(strstr(err, "expected"));
        pcd_config_free(&cfg);
    }
}

static void test_required_keys(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    assert_int_equal(load("[cache]\npath = /tmp\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "[database] dsn is required"));
    pcd_config_free(&cfg);
    assert_int_equal(load("[database]\ndsn = x\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "[cache] path is required"));
    pcd_config_free(&cfg);
}

static void test_syntax_error(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    assert_int_equal(load("[database]\ndsn = x\nthis is not ini\n", &cfg, err, sizeof err),
                     PC_ECONFIG);
    assert_non_null(strstr(err, ":3:"));
    pcd_config_free(&cfg);
}

static void test_continuation_and_long_lines(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    assert_int_equal(load("[database]\ndsn = x\n[cache]\npath = /tmp\n[load]\n"
                          "base_query = SELECT item_id, price_cents, updated_at\n"
                          "   FROM my_prices\n"
                          "   WHERE chain = $1\n", &cfg, err, sizeof err), PC_OK);
    assert_string_equal(cfg.base_query,
                        "SELECT item_id, price_cents, updated_at\nFROM my_prices\nWHERE chain = $1");
    pcd_config_free(&cfg);

    char text[600];
    memset(text, 'a', sizeof text);
    memcpy(text, "[database]\ndsn = ", 17);
    strcpy(text + 17 + 300, "\n");
    assert_int_equal(load(text, &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, ":2: line longer"));
    pcd_config_free(&cfg);

    assert_int_equal(load("[database]\ndsn = x\n[cache]\npath = /a\n[load]\nconcurrency = 2\n"
                          "[cache]\npath = /b\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, ":8: [cache] path: given twice"));
    pcd_config_free(&cfg);
}

static void test_env_override(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    setenv("PRICECACHE_LOAD_CONCURRENCY", "7", 1);
    setenv("PRICECACHE_DATABASE_DSN", "dbname=fromenv", 1);
    assert_int_equal(load("[database]\ndsn = x\n[cache]\npath = /tmp\n[load]\nconcurrency = 2\n",
                          &cfg, err, sizeof err), PC_OK);
    assert_int_equal(cfg.concurrency, 7);
    assert_string_equal(cfg.dsn, "dbname=fromenv");
    pcd_config_free(&cfg);

    setenv("PRICECACHE_LOAD_CONCURRENCY", "many", 1);
    assert_int_equal(load("[database]\ndsn = x\n[cache]\npath = /tmp\n", &cfg, err, sizeof err),
                     PC_ECONFIG);
    assert_non_null(strstr(err, "PRICECACHE_LOAD_CONCURRENCY"));
    pcd_config_free(&cfg);
    unsetenv("PRICECACHE_LOAD_CONCURRENCY");
    unsetenv("PRICECACHE_DATABASE_DSN");
}

static void test_missing_file(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    assert_int_equal(pcd_config_load(&cfg, "/nonexistent/x.conf", err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "/nonexistent/x.conf"));
    pcd_config_free(&cfg);
}

static void test_redact(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases[] = {
        { "host=h password=s3cret dbname=d", "host=h password=*** dbname=d" },
        { "password = 's3 cr\\'et' user=u", "password=*** user=u" },
        { "postgresql://u:s3cret@h:5432/d", "postgresql://u:***@h:5432/d" },
        { "postgresql://u@h/d?password=s3cret&sslmode=off",
          "postgresql://u@h/d?password=***&sslmode=off" },
        { "host=h dbname=d", "host=h dbname=d" },
        { "password=", "password=***" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = pcd_dsn_redact(cases[i].in);
        assert_non_null(r);
        assert_string_equal(r, cases[i].out);
        assert_null(strstr(r, "s3cret"));
        free(r);
    }
}

/* Issue 14: [database] replicas (one value, ';'-separated), max_lag_s,
 * replica_wait_ms, lag_sample_ms. */
static void test_replicas(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[512];
    assert_int_equal(load("[database]\ndsn = host=/tmp dbname=x\n[cache]\npath = /tmp/c\n",
                          &cfg, err, sizeof err), PC_OK);
    assert_string_equal(cfg.replicas, "");
    assert_int_equal(cfg.max_lag_s, 60);
    assert_int_equal(cfg.replica_wait_ms, 200);
    assert_int_equal(cfg.lag_sample_ms, 1000);
    pcd_config_free(&cfg);

    /* A list on continuation lines; spaces and empty entries dropped. */
    assert_int_equal(load("[database]\ndsn = host=p dbname=x\n"
                          "replicas = host=r1 port=5433 dbname=x;\n"
                          "  host=r2 port=5434 dbname=x ;\n"
                          "max_lag_s = 5\nreplica_wait_ms = 0\nlag_sample_ms = 250\n"
                          "[cache]\npath = /tmp/c\n", &cfg, err, sizeof err), PC_OK);
    char **list;
    size_t n;
    char why[256];
    assert_int_equal(pcd_config_replicas(cfg.replicas, &list, &n, why, sizeof why), PC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0], "host=r1 port=5433 dbname=x");
    assert_string_equal(list[1], "host=r2 port=5434 dbname=x");
    pcd_config_replicas_free(list, n);
    assert_int_equal(cfg.max_lag_s, 5);
    assert_int_equal(cfg.replica_wait_ms, 0);
    assert_int_equal(cfg.lag_sample_ms, 250);
    pcd_config_free(&cfg);

    /* " ;" starts an inih comment: `A ; B` would silently be A alone, so
     * the file is refused, naming the line; the environment is not INI. */
    assert_int_equal(load("[database]\ndsn = host=p dbname=x\n"
                          "replicas = host=r1 dbname=x ; host=r2 dbname=x\n"
                          "[cache]\npath = /tmp/c\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, ":3: [database] replicas: ' ;' starts a comment"));
    pcd_config_free(&cfg);
    assert_int_equal(load("[database]\ndsn = host=p dbname=x\n"
                          "replicas = host=r1 dbname=x;\n\thost=r2 dbname=x\t; host=r3\n"
                          "[cache]\npath = /tmp/c\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, ":4: [database] replicas"));
    pcd_config_free(&cfg);
    assert_int_equal(pcd_config_replicas(" ; ;", &list, &n, why, sizeof why), PC_OK);
    assert_int_equal(n, 0);
    pcd_config_replicas_free(list, n);

    /* A bad entry: the file, the line, the key and which entry; never the
     * password. */
    assert_int_equal(load("[database]\ndsn = host=p\n"
                          "replicas = host=r1 password=s3cret; host='r2 password=s3cret\n"
                          "[cache]\npath = /tmp/c\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, ":3: [database] replicas: entry 2"));
    assert_null(strstr(err, "s3cret"));
    pcd_config_free(&cfg);
    assert_int_equal(load("[database]\ndsn = host=p\nmax_lag_s = 0\n[cache]\npath = /tmp/c\n",
                          &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, ":3: [database] max_lag_s: expected a whole number from 1"));
    pcd_config_free(&cfg);
    assert_int_equal(load("[database]\ndsn = host=p\nlag_sample_ms = 10\n[cache]\npath = /tmp/c\n",
                          &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "[database] lag_sample_ms"));
    pcd_config_free(&cfg);

    /* The environment, as for every key. */
    setenv("PRICECACHE_DATABASE_REPLICAS", "host=e1;host=e2;host=e3", 1);
    setenv("PRICECACHE_DATABASE_MAX_LAG_S", "7", 1);
    assert_int_equal(load("[database]\ndsn = host=p\n[cache]\npath = /tmp/c\n", &cfg, err,
                          sizeof err), PC_OK);
    assert_string_equal(cfg.replicas, "host=e1;host=e2;host=e3");
    assert_int_equal(cfg.max_lag_s, 7);
    pcd_config_free(&cfg);
    setenv("PRICECACHE_DATABASE_REPLICAS", "host=e1;postgresql://u:s3cret@[bad", 1);
    assert_int_equal(load("[database]\ndsn = host=p\n[cache]\npath = /tmp/c\n", &cfg, err,
                          sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "PRICECACHE_DATABASE_REPLICAS"));
    assert_non_null(strstr(err, "entry 2"));
    assert_null(strstr(err, "s3cret"));
    pcd_config_free(&cfg);
    unsetenv("PRICECACHE_DATABASE_REPLICAS");
    unsetenv("PRICECACHE_DATABASE_MAX_LAG_S");

    /* Sixteen is one too many. */
    char many[1024] = "";
    for (int i = 0; i < PCD_REPLICAS_MAX + 1; i++)
        strcat(many, "host=h;");
    assert_int_equal(pcd_config_replicas(many, &list, &n, why, sizeof why), PC_ECONFIG);
    assert_non_null(strstr(why, "more than 15 replicas"));
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_and_defaults),
        cmocka_unit_test(test_reader_warn_and_stall),
        cmocka_unit_test(test_unknown_key_names_file_line_key),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_required_keys),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_continuation_and_long_lines),
        cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_replicas),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
