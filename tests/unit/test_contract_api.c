/* test_contract_api.c - DESIGN.md's client C API contract, on an environment
 * written by the daemon's own store (closed before the library opens it):
 * lookup semantics, argument limits, pc_get_many, pc_chain_info fields,
 * pc_wait_ready deadlines, pc_open on what is not an environment, and
 * pc_strerror on every code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pc_format.h"
#include "pricecache.h"
#include "snapshot.h"
#include "store.h"

static char dir[64];
static pc_reader *rd;
static char id200[PC_ID_MAX + 1], id201[PC_ID_MAX + 2], slug64[PC_CHAIN_MAX + 1],
    slug65[PC_CHAIN_MAX + 2];
static int64_t before_ms, after_ms;

/* chain "acme": items a (100), b (200), c (301), id200 (7); store "s 1"
 * exceptions a (1) and x (5, no base); store id200: c (9).  Chain slug64:
 * one item.  Chain "empty": no rows.  The daemon record says not ready. */
static void write_env(int ready)
{
    pcd_config cfg;
    assert_int_equal(pcd_config_defaults(&cfg), PC_OK);
    cfg.path = strdup(dir);
    cfg.dsn = strdup("dbname=unused");
    cfg.map_size_mb = 16;
    pcd_store *st;
    char err[256];
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_OK);
    before_ms = pc_now_ms();
    static const struct { const char *chain, *store, *item; int64_t cents; } rows[] = {
        { "acme", NULL, "a", 100 }, { "acme", NULL, "b", 200 }, { "acme", NULL, "c", 301 },
        { "acme", NULL, id200, 7 }, { "acme", "s 1", "a", 1 }, { "acme", "s 1", "x", 5 },
        { "acme", id200, "c", 9 }, { slug64, NULL, "only", 42 },
    };
    const char *chains[] = { "acme", slug64, "empty" };
    for (size_t c = 0; c < 3; c++) {
        pcd_snapshot s;
        pcd_snapshot_init(&s, chains[c]);
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
            if (strcmp(rows[i].chain, chains[c]) == 0)
                assert_int_equal(pcd_snapshot_add(&s, rows[i].store,
                                                  rows[i].store ? strlen(rows[i].store) : 0,
                                                  rows[i].item, strlen(rows[i].item),
                                                  rows[i].cents, 1700000000 + (int64_t)i), PC_OK);
        assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
        pc_meta_rec m;
        memset(&m, 0, sizeof m);
        pcd_publish_stats ps;
        assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
        pcd_snapshot_free(&s);
    }
    pc_daemon_rec d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.ready = (uint32_t)ready;
    assert_int_equal(pcd_store_put_daemon(st, &d), PC_OK);
    after_ms = pc_now_ms();
    pcd_store_close(st);
    pcd_config_free(&cfg);
}

static int setup(void **state)
{
    (void)state;
    memset(id200, 'i', PC_ID_MAX);
    memset(id201, 'j', PC_ID_MAX + 1);
    memset(slug64, 's', PC_CHAIN_MAX);
    memset(slug65, 's', PC_CHAIN_MAX + 1);
    strcpy(dir, "/tmp/pcaccapiXXXXXX");
    assert_non_null(mkdtemp(dir));
    write_env(0);
    assert_int_equal(pc_open(dir, &rd), PC_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pc_close(rd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_lookup_semantics(void **state)
{
    (void)state;
    pc_price p;
    assert_int_equal(pc_get(rd, "acme", "s 1", "a", &p), PC_OK);
    assert_int_equal(p.cents, 1);
    assert_true(p.flags & PC_PRICE_STORE);
    assert_int_equal(pc_get(rd, "acme", "s 1", "b", &p), PC_OK);  /* no exception: base */
    assert_int_equal(p.cents, 200);
    assert_false(p.flags & PC_PRICE_STORE);
    assert_int_equal(pc_get(rd, "acme", "s 1", "x", &p), PC_OK);  /* exception, no base */
    assert_int_equal(p.cents, 5);
    assert_int_equal(pc_get(rd, "acme", NULL, "a", &p), PC_OK);   /* NULL store: base only */
    assert_int_equal(p.cents, 100);
    assert_int_equal(pc_get(rd, "acme", "", "a", &p), PC_OK);     /* "" store: base only */
    assert_int_equal(p.cents, 100);
    assert_false(p.flags & PC_PRICE_STORE);
    assert_int_equal(pc_get(rd, "acme", "", "x", &p), PC_NOTFOUND);
    assert_int_equal(pc_get(rd, "acme", "nostore", "zz", &p), PC_NOTFOUND);
    assert_int_equal(pc_get(rd, "nochain", NULL, "a", &p), PC_ENOCHAIN);
    assert_int_equal(pc_get(rd, "empty", NULL, "a", &p), PC_NOTFOUND); /* loaded, no rows */
    assert_int_not_equal(PC_ENOCHAIN, PC_NOTFOUND);
    /* exactly at the limits */
    assert_int_equal(pc_get(rd, "acme", NULL, id200, &p), PC_OK);
    assert_int_equal(p.cents, 7);
    assert_int_equal(pc_get(rd, "acme", id200, "c", &p), PC_OK);
    assert_int_equal(p.cents, 9);
    assert_int_equal(pc_get(rd, slug64, "", "only", &p), PC_OK);
    assert_int_equal(p.cents, 42);
    assert_int_equal(p.updated_at, 1700000007);
    /* out is untouched on errors */
    p.cents = -99;
    assert_int_equal(pc_get(rd, "acme", NULL, "zz", &p), PC_NOTFOUND);
    assert_int_equal(p.cents, -99);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    pc_price p;
    assert_int_equal(pc_get(rd, "acme", NULL, id201, &p), PC_EINVAL);
    assert_int_equal(pc_get(rd, "acme", id201, "a", &p), PC_EINVAL);
    assert_int_equal(pc_get(rd, slug65, NULL, "a", &p), PC_EINVAL);
    assert_int_equal(pc_get(rd, "Acme", NULL, "a", &p), PC_EINVAL);
    assert_int_equal(pc_get(rd, "", NULL, "a", &p), PC_EINVAL);
    assert_int_equal(pc_get(rd, NULL, NULL, "a", &p), PC_EINVAL);
    assert_int_equal(pc_get(rd, "acme", NULL, "", &p), PC_EINVAL);
    assert_int_equal(pc_get(rd, "acme", NULL, NULL, &p), PC_EINVAL);
    assert_int_equal(pc_get(rd, "acme", NULL, "a", NULL), PC_EINVAL);
    assert_int_equal(pc_get(NULL, "acme", NULL, "a", &p), PC_EINVAL);
    pc_chain_meta m;
    assert_int_equal(pc_chain_info(rd, slug65, &m), PC_EINVAL);
    assert_int_equal(pc_chain_info(rd, "acme", NULL), PC_EINVAL);
    assert_int_equal(pc_chain_info(NULL, "acme", &m), PC_EINVAL);
    assert_int_equal(pc_chain_info(rd, "nochain", &m), PC_ENOCHAIN);
    assert_int_equal(pc_wait_ready(NULL, 0), PC_EINVAL);
}

static void test_get_many(void **state)
{
    (void)state;
    /* n = 0: arguments checked only, NULL arrays allowed */
    assert_int_equal(pc_get_many(rd, "acme", NULL, 0, NULL, NULL, NULL), PC_OK);
    assert_int_equal(pc_get_many(rd, "Bad Slug", NULL, 0, NULL, NULL, NULL), PC_EINVAL);
    const char *items[] = { "a", "a", "", NULL, id201, "zz", id200, "x", "c" };
    enum { N = sizeof items / sizeof items[0] };
    pc_price out[N];
    int st[N];
    assert_int_equal(pc_get_many(rd, "acme", "s 1", N, items, out, st), PC_OK);
    const int want_st[N] = { PC_OK, PC_OK, PC_EINVAL, PC_EINVAL, PC_EINVAL, PC_NOTFOUND,
                             PC_OK, PC_OK, PC_OK };
    const int64_t want_c[N] = { 1, 1, 0, 0, 0, 0, 7, 5, 301 };
    for (int i = 0; i < N; i++) {
        assert_int_equal(st[i], want_st[i]);
        if (st[i] == PC_OK)
            assert_int_equal(out[i].cents, want_c[i]);
    }
    assert_true(out[0].flags & PC_PRICE_STORE);
    assert_false(out[8].flags & PC_PRICE_STORE);
    /* base only, and the per-call errors fill every status */
    assert_int_equal(pc_get_many(rd, "acme", "", 2, items + 7, out, st), PC_OK);
    assert_int_equal(st[0], PC_NOTFOUND);
    assert_int_equal(st[1], PC_OK);
    assert_int_equal(pc_get_many(rd, "nochain", NULL, 3, items, out, st), PC_ENOCHAIN);
    assert_int_equal(st[0], PC_ENOCHAIN);
    assert_int_equal(st[2], PC_ENOCHAIN);
    assert_int_equal(pc_get_many(rd, "acme", id201, 2, items, out, st), PC_EINVAL);
    assert_int_equal(st[1], PC_EINVAL);
    assert_int_equal(pc_get_many(rd, "acme", NULL, 2, NULL, out, st), PC_EINVAL);
}

static void test_chain_info(void **state)
{
    (void)state;
    pc_chain_meta a, s, e;
    assert_int_equal(pc_chain_info(rd, "acme", &a), PC_OK);
    assert_int_equal(pc_chain_info(rd, slug64, &s), PC_OK);
    assert_int_equal(pc_chain_info(rd, "empty", &e), PC_OK);
    assert_true(a.version >= 1);
    assert_true(s.version > a.version);   /* grows with every publish */
    assert_true(e.version > s.version);
    assert_true(a.loaded_at >= before_ms - 1 && a.loaded_at <= after_ms + 1); /* unix ms */
    assert_int_equal(a.base_rows, 4);
    assert_int_equal(a.store_rows, 3);
    assert_int_equal(a.avg_cents, (100 + 200 + 301 + 7 + 2) / 4); /* 152, rounded */
    assert_int_equal(a.breaker, PC_BREAKER_CLOSED);
    assert_int_equal(e.base_rows, 0);
    assert_int_equal(e.avg_cents, 0);
}

static void test_wait_ready(void **state)
{
    (void)state;
    int64_t t0 = pc_mono_ms();
    assert_int_equal(pc_wait_ready(rd, 0), PC_ETIMEDOUT);
    assert_true(pc_mono_ms() - t0 < 100);
    t0 = pc_mono_ms();
    assert_int_equal(pc_wait_ready(rd, 120), PC_ETIMEDOUT);
    int64_t dt = pc_mono_ms() - t0;
    assert_true(dt >= 115 && dt < 1000);
    pc_close(rd);
    write_env(1); /* the store reopens the environment: no reader may be open */
    assert_int_equal(pc_open(dir, &rd), PC_OK);
    assert_int_equal(pc_wait_ready(rd, 0), PC_OK);
    assert_int_equal(pc_wait_ready(rd, -1), PC_OK);
}

static void test_open_what_is_not_an_environment(void **state)
{
    (void)state;
    pc_reader *r = (pc_reader *)1;
    assert_int_equal(pc_open("/nonexistent/pricecache", &r), PC_ENOTREADY);
    assert_null(r);
    char empty[64];
    strcpy(empty, "/tmp/pcaccemptyXXXXXX");
    assert_non_null(mkdtemp(empty));
    assert_int_equal(pc_open(empty, &r), PC_ENOTREADY);
    char f[128];
    snprintf(f, sizeof f, "%s/data.mdb", empty);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc('x', fp);
    fclose(fp);
    int rc = pc_open(empty, &r);
    assert_true(rc == PC_EFORMAT || rc == PC_EIO);
    assert_null(r);
    /* a file where the directory should be */
    assert_int_not_equal(pc_open(f, &r), PC_OK);
    assert_int_equal(pc_open(NULL, &r), PC_EINVAL);
    assert_int_equal(pc_open("", &r), PC_EINVAL);
    assert_int_equal(pc_open(dir, NULL), PC_EINVAL);
    if (geteuid() != 0) { /* root reads anything */
        chmod(empty, 0);
        assert_int_not_equal(pc_open(empty, &r), PC_OK);
        chmod(empty, 0700);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", empty);
    assert_int_equal(system(cmd), 0);
    pc_close(NULL);
}

static void test_strerror(void **state)
{
    (void)state;
    static const int codes[] = { PC_OK, PC_NOTFOUND, PC_ENOCHAIN, PC_ENOTREADY, PC_EOVERLOADED,
                                 PC_EINVAL, PC_EIO, PC_ETIMEDOUT, PC_EFORMAT, PC_ENOMEM,
                                 PC_ENOITEMS, PC_EQUANTITY, PC_ETOOMANY, PC_EOVERFLOW,
                                 PC_EACCES, PC_EREFUSED };
    enum { NC = sizeof codes / sizeof codes[0] };
    const char *unknown = pc_strerror(-7099);
    assert_non_null(unknown);
    for (int i = 0; i < NC; i++) {
        if (i > 0)
            assert_true(codes[i] < 0);
        const char *t = pc_strerror(codes[i]);
        assert_non_null(t);
        assert_true(strlen(t) > 3);
        assert_string_not_equal(t, unknown);
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(t, pc_strerror(codes[j]));
        }
    }
    static const int odd[] = { 1, -1, 42, INT_MIN, INT_MAX, -7000, -7100, -30798 /* MDB_NOTFOUND */ };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        assert_non_null(pc_strerror(odd[i]));
        assert_string_equal(pc_strerror(odd[i]), unknown);
    }
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_semantics),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_get_many),
        cmocka_unit_test(test_chain_info),
        cmocka_unit_test(test_open_what_is_not_an_environment),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_wait_ready),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
