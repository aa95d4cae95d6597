/* test_contract_config.c - DESIGN.md's configuration contract, key by key: every key
 * accepted with a valid value (in the file and through PRICECACHE_<SECTION>_<KEY>),
 * rejected with a bad one naming the file, line and key (or the variable);
 * empty [bus] and [http] addresses turn them off; no password in any message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dsn.h"
#include "log.h"
#include "pc_format.h"
#include "pgsource.h"

enum kind { K_INT, K_U64, K_RATIO, K_STR };

/* Every key of DESIGN.md and README, with a valid value (and what it
 * parses to) and a bad one (NULL: any text is valid). */
static const struct key_case {
    const char *section, *name;
    enum kind   kind;
    size_t      off;
    const char *good;
    double      want;      /* numbers */
    const char *bad;
} cases[] = {
#define F(f) offsetof(pcd_config, f)
    { "database", "dsn", K_STR, F(dsn), "host=/tmp dbname=prices", 0, "host=/tmp password='unterminated" },
    { "database", "connect_timeout_s", K_INT, F(connect_timeout_s), "7", 7, "0" },
    { "cache", "path", K_STR, F(path), "/tmp/some cache", 0, NULL },
    { "cache", "map_size_mb", K_U64, F(map_size_mb), "64", 64, "-1" },
    { "cache", "map_max_mb", K_U64, F(map_max_mb), "2048", 2048, "lots" },
    { "cache", "max_readers", K_INT, F(max_readers), "500", 500, "1.5" },
    { "load", "concurrency", K_INT, F(concurrency), "4", 4, "0" },
    { "load", "timeout_s", K_INT, F(timeout_s), "12", 12, "-3" },
    { "load", "refresh_s", K_INT, F(refresh_s), "0", 0, "5m" },
    { "load", "max_reject_ratio", K_RATIO, F(max_reject_ratio), "0.25", 0.25, "1.01" },
    { "load", "max_shrink_ratio", K_RATIO, F(max_shrink_ratio), "1", 1, "-0.1" },
    { "load", "debounce_ms", K_INT, F(debounce_ms), "0", 0, "x" },
    { "load", "delta_max_keys", K_INT, F(delta_max_keys), "50", 50, "" },
    { "load", "chains_query", K_STR, F(chains_query), "SELECT slug FROM my_chains", 0, NULL },
    { "load", "base_query", K_STR, F(base_query), "SELECT item_id, price_cents, updated_at FROM p WHERE c = $1", 0, NULL },
    { "load", "store_query", K_STR, F(store_query), "SELECT store_id, item_id, price_cents, updated_at FROM s WHERE c = $1", 0, NULL },
    { "breaker", "failures", K_INT, F(breaker_failures), "2", 2, "0" },
    { "breaker", "reset_s", K_INT, F(breaker_reset_s), "9", 9, "never" },
    { "breaker", "half_open_successes", K_INT, F(breaker_half_open_successes), "1", 1, "0" },
    { "bus", "events", K_STR, F(bus_events), "ipc:///run/pricecache/events.ipc", 0, "/run/pricecache/events.ipc" },
    { "bus", "control", K_STR, F(bus_control), "tcp://127.0.0.1:5555", 0, "garbage" },
    { "http", "listen", K_STR, F(http_listen), "[::1]:9999", 0, "127.0.0.1:99999" },
    { "health", "max_age_s", K_INT, F(health_max_age_s), "60", 60, "0" },
    { "log", "level", K_INT, F(log_level), "debug", PCD_LOG_DEBUG, "verbose" },
#undef F
};
#define NCASES (sizeof cases / sizeof cases[0])

static char path[64];

static int load_text(const char *text, pcd_config *cfg, char *err, size_t len)
{
    strcpy(path, "/tmp/pcaccconfXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    err[0] = 0;
    int rc = pcd_config_load(cfg, path, err, len);
    unlink(path);
    return rc;
}

/* A file with the required keys, then `extra`; the extra lines start at
 * line 5. */
static int load_with(const char *extra, pcd_config *cfg, char *err, size_t len)
{
    char text[1024];
    snprintf(text, sizeof text, "[database]\ndsn = dbname=x\n[cache]\npath = /tmp/c\n%s", extra);
    return load_text(text, cfg, err, len);
}

static void check_value(const pcd_config *cfg, const struct key_case *c)
{
    const char *field = (const char *)cfg + c->off;
    switch (c->kind) {
    case K_INT:   assert_int_equal(*(const int *)(const void *)field, (int)c->want); break;
    case K_U64:   assert_int_equal(*(const uint64_t *)(const void *)field, (uint64_t)c->want); break;
    case K_RATIO: assert_true(*(const double *)(const void *)field == c->want); break;
    case K_STR:   assert_string_equal(*(char *const *)(const void *)field, c->good); break;
    }
}

static void env_var(char *buf, size_t len, const struct key_case *c)
{
    snprintf(buf, len, "PRICECACHE_%s_%s", c->section, c->name);
    for (char *p = buf; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

static void test_every_key_in_the_file(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        const struct key_case *c = &cases[i];
        pcd_config cfg;
        char err[1024], extra[512];
        /* the required keys are given again in their own section: use a
         * file of their own for them */
        if (strcmp(c->section, "database") == 0 && strcmp(c->name, "dsn") == 0)
            snprintf(extra, sizeof extra, "[database]\ndsn = %s\n[cache]\npath = /tmp/c\n", c->good);
        else if (strcmp(c->section, "cache") == 0 && strcmp(c->name, "path") == 0)
            snprintf(extra, sizeof extra, "[database]\ndsn = dbname=x\n[cache]\npath = %s\n", c->good);
        else
            snprintf(extra, sizeof extra, "[database]\ndsn = dbname=x\n[cache]\npath = /tmp/c\n"
                     "[%s]\n%s = %s\n", c->section, c->name, c->good);
        int rc = load_text(extra, &cfg, err, sizeof err);
        if (rc != PC_OK)
            fail_msg("[%s] %s = %s refused: %s", c->section, c->name, c->good, err);
        check_value(&cfg, c);
        pcd_config_free(&cfg);

        if (!c->bad || (strcmp(c->section, "database") == 0) || strcmp(c->section, "cache") == 0)
            continue;
        snprintf(extra, sizeof extra, "[%s]\n\n%s = %s\n", c->section, c->name, c->bad);
        assert_int_equal(load_with(extra, &cfg, err, sizeof err), PC_ECONFIG);
        char want[256];
        snprintf(want, sizeof want, "%s:7: [%s] %s: ", path, c->section, c->name);
        if (!strstr(err, want))
            fail_msg("[%s] %s = %s: message \"%s\" lacks \"%s\"", c->section, c->name, c->bad,
                     err, want);
        pcd_config_free(&cfg);
    }
}

/* Bad values of the required and cache keys, on their own lines. */
static void test_bad_required_and_cache_values(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } bad[] = {
        { "[database]\ndsn = host=/tmp password='s3cret\n[cache]\npath = /tmp/c\n",
          ":2: [database] dsn: " },
        { "[database]\ndsn = postgresql://u:s3cret@[::1/db\n[cache]\npath = /tmp/c\n",
          ":2: [database] dsn: " },
        { "[database]\ndsn = dbname=x\n[cache]\npath = /tmp/c\nmap_size_mb = -1\n",
          ":5: [cache] map_size_mb: " },
        { "[database]\ndsn = dbname=x\n[cache]\npath = /tmp/c\nmap_max_mb = lots\n",
          ":5: [cache] map_max_mb: " },
        { "[database]\ndsn = dbname=x\n[cache]\npath = /tmp/c\nmax_readers = 1.5\n",
          ":5: [cache] max_readers: " },
        { "[database]\ndsn = dbname=x\nconnect_timeout_s = 0\n[cache]\npath = /tmp/c\n",
          ":3: [database] connect_timeout_s: " },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pcd_config cfg;
        char err[1024];
        assert_int_equal(load_text(bad[i].text, &cfg, err, sizeof err), PC_ECONFIG);
        if (!strstr(err, bad[i].want) || !strstr(err, path))
            fail_msg("message \"%s\" lacks the file and \"%s\"", err, bad[i].want);
        assert_null(strstr(err, "s3cret"));
        pcd_config_free(&cfg);
    }
}

static void test_every_key_from_the_environment(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        const struct key_case *c = &cases[i];
        char var[128], err[1024];
        env_var(var, sizeof var, c);
        pcd_config cfg;
        setenv(var, c->good, 1);
        int rc = load_with("", &cfg, err, sizeof err);
        if (rc != PC_OK)
            fail_msg("%s=%s refused: %s", var, c->good, err);
        check_value(&cfg, c);
        pcd_config_free(&cfg);
        if (c->bad) {
            setenv(var, c->bad, 1);
            assert_int_equal(load_with("", &cfg, err, sizeof err), PC_ECONFIG);
            if (!strstr(err, var))
                fail_msg("%s=%s: message \"%s\" does not name the variable", var, c->bad, err);
            assert_null(strstr(err, "unterminated") ? strstr(err, "s3cret") : NULL);
            pcd_config_free(&cfg);
        }
        unsetenv(var);
    }
}

/* A misspelt variable of a known section is an error naming it; the
 * clients' own variables are not the daemon's business. */
static void test_unknown_variable(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[1024];
    setenv("PRICECACHE_LOAD_CONCURENCY", "4", 1);
    assert_int_equal(load_with("", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "PRICECACHE_LOAD_CONCURENCY: unknown key in [load]"));
    pcd_config_free(&cfg);
    unsetenv("PRICECACHE_LOAD_CONCURENCY");
    setenv("PRICECACHE_PATH", "/tmp", 1);
    setenv("PRICECACHE_CONTROL", "ipc:///x", 1);
    setenv("PRICECACHE_STATS", "0", 1);
    assert_int_equal(load_with("", &cfg, err, sizeof err), PC_OK);
    pcd_config_free(&cfg);
    unsetenv("PRICECACHE_PATH");
    unsetenv("PRICECACHE_CONTROL");
    unsetenv("PRICECACHE_STATS");
}

/* Checks across keys name the variable when it set a key. */
static void test_cross_key_errors_name_the_variable(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[1024];
    setenv("PRICECACHE_CACHE_PATH", "", 1);
    assert_int_equal(load_with("", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "[cache] path is required"));
    assert_non_null(strstr(err, "PRICECACHE_CACHE_PATH"));
    pcd_config_free(&cfg);
    unsetenv("PRICECACHE_CACHE_PATH");

    setenv("PRICECACHE_LOAD_BASE_QUERY", "", 1);
    assert_int_equal(load_with("", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "[load] base_query must not be empty"));
    assert_non_null(strstr(err, "PRICECACHE_LOAD_BASE_QUERY"));
    pcd_config_free(&cfg);
    unsetenv("PRICECACHE_LOAD_BASE_QUERY");

    setenv("PRICECACHE_CACHE_MAP_MAX_MB", "10", 1);
    assert_int_equal(load_with("map_size_mb = 20\n", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "PRICECACHE_CACHE_MAP_MAX_MB"));
    pcd_config_free(&cfg);
    unsetenv("PRICECACHE_CACHE_MAP_MAX_MB");

    setenv("PRICECACHE_DATABASE_DSN", "", 1);
    assert_int_equal(load_with("", &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "PRICECACHE_DATABASE_DSN"));
    pcd_config_free(&cfg);
    unsetenv("PRICECACHE_DATABASE_DSN");
}

static void test_addresses(void **state)
{
    (void)state;
    static const char *const good_listen[] = {
        "", "127.0.0.1:9187", "localhost:80", "[::1]:9187", "0.0.0.0:65535",
    };
    static const char *const bad_listen[] = {
        "nonsense", "127.0.0.1:", ":9187", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:99999",
        "::1:9187", "[]:80", "127.0.0.1:80x", "127.0.0.1: 80", "127.0.0.1:-1",
    };
    static const char *const good_bus[] = {
        "", "ipc:///run/pricecache/events.ipc", "tcp://127.0.0.1:5555", "inproc://x", "ws://127.0.0.1:1",
    };
    static const char *const bad_bus[] = { "garbage", "ipc://", "/run/x.ipc", "udp://1.2.3.4:5" };
    pcd_config cfg;
    char err[1024], extra[256];
    for (size_t i = 0; i < sizeof good_listen / sizeof good_listen[0]; i++) {
        snprintf(extra, sizeof extra, "[http]\nlisten = %s\n", good_listen[i]);
        if (load_with(extra, &cfg, err, sizeof err) != PC_OK)
            fail_msg("listen \"%s\" refused: %s", good_listen[i], err);
        assert_string_equal(cfg.http_listen, good_listen[i]);
        pcd_config_free(&cfg);
    }
    for (size_t i = 0; i < sizeof bad_listen / sizeof bad_listen[0]; i++) {
        snprintf(extra, sizeof extra, "[http]\nlisten = %s\n", bad_listen[i]);
        if (load_with(extra, &cfg, err, sizeof err) != PC_ECONFIG)
            fail_msg("listen \"%s\" accepted", bad_listen[i]);
        assert_non_null(strstr(err, ":6: [http] listen: "));
        pcd_config_free(&cfg);
    }
    for (size_t i = 0; i < sizeof good_bus / sizeof good_bus[0]; i++) {
        snprintf(extra, sizeof extra, "[bus]\nevents = %s\ncontrol =\n", good_bus[i]);
        if (load_with(extra, &cfg, err, sizeof err) != PC_OK)
            fail_msg("events \"%s\" refused: %s", good_bus[i], err);
        assert_string_equal(cfg.bus_events, good_bus[i]);
        assert_string_equal(cfg.bus_control, "");
        pcd_config_free(&cfg);
    }
    for (size_t i = 0; i < sizeof bad_bus / sizeof bad_bus[0]; i++) {
        snprintf(extra, sizeof extra, "[bus]\ncontrol = %s\n", bad_bus[i]);
        if (load_with(extra, &cfg, err, sizeof err) != PC_ECONFIG)
            fail_msg("control \"%s\" accepted", bad_bus[i]);
        assert_non_null(strstr(err, ":6: [bus] control: "));
        pcd_config_free(&cfg);
    }
    /* one address for both sockets cannot work */
    assert_int_equal(load_with("[bus]\nevents = ipc:///tmp/x.ipc\ncontrol = ipc:///tmp/x.ipc\n",
                               &cfg, err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "[bus] events"));
    pcd_config_free(&cfg);
}

/* Sections and keys are case-sensitive names of the table; anything else
 * is unknown, with its line. */
static void test_unknown_names(void **state)
{
    (void)state;
    static const struct { const char *extra, *want; } bad[] = {
        { "[Load]\nconcurrency = 2\n", ":6: [Load] concurrency: unknown section" },
        { "[load]\nConcurrency = 2\n", ":6: [load] Concurrency: unknown key" },
        { "[load]\nrefresh = 2\n", ":6: [load] refresh: unknown key" },
        { "[metrics]\nlisten = :1\n", ":6: [metrics] listen: unknown section" },
        { "[load]\nconcurrency = 2\nconcurrency = 3\n", ":7: [load] concurrency: given twice" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pcd_config cfg;
        char err[1024];
        assert_int_equal(load_with(bad[i].extra, &cfg, err, sizeof err), PC_ECONFIG);
        if (!strstr(err, bad[i].want))
            fail_msg("message \"%s\" lacks \"%s\"", err, bad[i].want);
        pcd_config_free(&cfg);
    }
}

/* A directory given as the file is named as such, not "dsn is required". */
static void test_file_is_a_directory(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[1024];
    assert_int_equal(pcd_config_load(&cfg, "/tmp", err, sizeof err), PC_ECONFIG);
    assert_non_null(strstr(err, "/tmp: cannot read: Is a directory"));
    pcd_config_free(&cfg);
}

/* A DSN without '=' is a database name for libpq; a long DSN may continue
 * on the next line. */
static void test_dsn_forms(void **state)
{
    (void)state;
    pcd_config cfg;
    char err[1024];
    assert_int_equal(load_text("[database]\ndsn = prices\n[cache]\npath = /c\n", &cfg, err,
                               sizeof err), PC_OK);
    pcd_config_free(&cfg);
    assert_int_equal(load_text("[database]\ndsn = postgresql://u@h:5432/d?sslmode=disable\n"
                               "[cache]\npath = /c\n", &cfg, err, sizeof err), PC_OK);
    pcd_config_free(&cfg);
    assert_int_equal(load_text("[database]\ndsn = host=/run/postgresql\n  dbname=prices user=pc\n"
                               "[cache]\npath = /c\n", &cfg, err, sizeof err), PC_OK);
    assert_string_equal(cfg.dsn, "host=/run/postgresql\ndbname=prices user=pc");
    pcd_config_free(&cfg);
}

/* Redaction and scrubbing never leave a byte of the password. */
static void test_no_password_anywhere(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases2[] = {
        { "host=h password=ab\\ s3cret user=u", "host=h password=*** user=u" },
        { "host=h\tpassword=s3cret", "host=h\tpassword=***" },
        { "PASSWORD=s3cret host=h", "password=*** host=h" },
        { "postgresql://u:s3cret@h/d?x=a@b", "postgresql://u:***@h/d?x=a@b" },
        { "postgres://u:s3c@ret@h/d", "postgres://u:***@h/d" },
        { "postgresql://h:5432/d?user=u&password=s3cret", "postgresql://h:5432/d?user=u&password=***" },
        { "postgresql://h:5432/d", "postgresql://h:5432/d" },
    };
    for (size_t i = 0; i < sizeof cases2 / sizeof cases2[0]; i++) {
        char *r = pcd_dsn_redact(cases2[i].in);
        assert_non_null(r);
        assert_string_equal(r, cases2[i].out);
        free(r);
    }
    char msg[256];
    snprintf(msg, sizeof msg, "bad URI: \"postgresql://u:s3cret@[h/d\", again s3cret");
    pcd_dsn_scrub("postgresql://u:s3cret@[h/d", msg);
    assert_string_equal(msg, "bad URI: \"postgresql://u:***@[h/d\", again ***");
    snprintf(msg, sizeof msg, "x ** y");
    pcd_dsn_scrub("password=**", msg); /* a secret of stars terminates */
    assert_string_equal(msg, "x ** y");
    char why[256];
    assert_int_equal(pcd_pg_dsn_check("postgresql://u:s3cret@[h/d", why, sizeof why), PC_ECONFIG);
    assert_null(strstr(why, "s3cret"));
}

/* Custom queries as written in psql: trailing ';', line comments (with a
 * quote or $1 in them), several lines. */
static void test_query_text(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } q[] = {
        { "SELECT a FROM t WHERE c = $1;", "SELECT a FROM t WHERE c = 'x'" },
        { "SELECT a FROM t WHERE c = $1 ; \n", "SELECT a FROM t WHERE c = 'x'" },
        { "SELECT a FROM t WHERE c = $1; -- don't use $1 here", "SELECT a FROM t WHERE c = 'x'" },
        { "SELECT a -- the price\nFROM t WHERE c = $1", "SELECT a \nFROM t WHERE c = 'x'" },
        { "SELECT '--$1;' AS a FROM t WHERE c = $1", "SELECT '--$1;' AS a FROM t WHERE c = 'x'" },
        { "SELECT a FROM t WHERE c = $10 OR c = $1", "SELECT a FROM t WHERE c = $10 OR c = 'x'" },
        { "SELECT a /* -- not a line comment */ FROM t WHERE c = $1",
          "SELECT a /* -- not a line comment */ FROM t WHERE c = 'x'" },
        { "SELECT a FROM t WHERE c = $1 /* unterminated", "SELECT a FROM t WHERE c = 'x' /* unterminated" },
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char *out = pcd_sql_subst_chain(q[i].in, "'x'");
        assert_non_null(out);
        assert_string_equal(out, q[i].out);
        free(out);
    }
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    for (size_t i = 0; i < NCASES; i++) {
        char var[128];
        env_var(var, sizeof var, &cases[i]);
        unsetenv(var);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_in_the_file),
        cmocka_unit_test(test_bad_required_and_cache_values),
        cmocka_unit_test(test_every_key_from_the_environment),
        cmocka_unit_test(test_cross_key_errors_name_the_variable),
        cmocka_unit_test(test_unknown_variable),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_dsn_forms),
        cmocka_unit_test(test_no_password_anywhere),
        cmocka_unit_test(test_query_text),
        cmocka_unit_test(test_file_is_a_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
