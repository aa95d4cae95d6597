/* test_basket.c - basket pricing against an environment the daemon's store wrote: hand-checked baskets, errors, exact search vs brute force, budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "pc_format.h"
#include "reader_private.h"
#include "pricecache.h"
#include "snapshot.h"
#include "store.h"

static char dir[64];
static pcd_config cfg;
static pcd_store *st;
static pc_reader *rd;

/* "shop": base prices avg (100 + 250 + 90 + 700) / 4 = 285, so the
 * default penalty is 570 per unit.  "caviar" has no base price and sits
 * only at s4, far above the penalty. */
static const struct row { const char *store, *item; int64_t cents; } shop[] = {
    { NULL, "apple", 100 }, { NULL, "bread", 250 }, { NULL, "milk", 90 },
    { NULL, "cheese", 700 },
    { "s1", "apple", 80 },  { "s1", "milk", 95 },
    { "s2", "bread", 200 }, { "s2", "cheese", 650 },
    { "s3", "apple", 80 },  { "s3", "bread", 200 },
    { "s4", "caviar", 5000 },
};

/* No base rows at all: no average, the fallback penalty applies. */
static const struct row nobase[] = { { "s1", "x", 300 } };

static void publish_rows(const char *chain, const struct row *rows, size_t n)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, chain);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pcd_snapshot_add(&s, rows[i].store, rows[i].store ? strlen(rows[i].store) : 0,
                                          rows[i].item, strlen(rows[i].item), rows[i].cents,
                                          1700000000 + (int64_t)i), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    pcd_publish_stats ps;
    char err[256];
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define RND_ITEMS  40
#define RND_STORES 30

/* "rnd": 40 items, every fifth without a base price; 30 stores, each with
 * an exception for about a third of the items.  Prices 1..2000 around a
 * penalty of ~2 × 1000, so that penalties and found prices compete. */
static void publish_random(void)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, "rnd");
    char item[16], store[16];
    for (int i = 0; i < RND_ITEMS; i++) {
        int len = snprintf(item, sizeof item, "r%02d", i);
        if (i % 5 != 0)
            pcd_snapshot_add(&s, NULL, 0, item, (size_t)len, 1 + (int64_t)(rnd() % 2000), 1);
    }
    for (int t = 0; t < RND_STORES; t++) {
        int slen = snprintf(store, sizeof store, "t%02d", t);
        for (int i = 0; i < RND_ITEMS; i++) {
            if (rnd() % 3 != 0)
                continue;
            int len = snprintf(item, sizeof item, "r%02d", i);
            pcd_snapshot_add(&s, store, (size_t)slen, item, (size_t)len,
                             1 + (int64_t)(rnd() % 2000), 2);
        }
    }
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    pcd_publish_stats ps;
    char err[256];
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
}

#define BIG_ITEMS  100
#define BIG_STORES 40

/* "big": every store prices every item differently: far too many store
 * sets for any search to finish in a millisecond. */
static void publish_big(void)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, "big");
    char item[16], store[16];
    for (int i = 0; i < BIG_ITEMS; i++) {
        int len = snprintf(item, sizeof item, "x%03d", i);
        pcd_snapshot_add(&s, NULL, 0, item, (size_t)len, 1000, 1);
    }
    for (int t = 0; t < BIG_STORES; t++) {
        int slen = snprintf(store, sizeof store, "b%02d", t);
        for (int i = 0; i < BIG_ITEMS; i++) {
            int len = snprintf(item, sizeof item, "x%03d", i);
            pcd_snapshot_add(&s, store, (size_t)slen, item, (size_t)len,
                             500 + (int64_t)(rnd() % 500), 2);
        }
    }
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    pcd_publish_stats ps;
    char err[256];
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/pcbasketXXXXXX");
    assert_non_null(mkdtemp(dir));
    pcd_config_defaults(&cfg);
    cfg.path = strdup(dir);
    cfg.dsn = strdup("x");
    char err[256];
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_OK);
    publish_rows("shop", shop, sizeof shop / sizeof shop[0]);
    publish_rows("nobase", nobase, sizeof nobase / sizeof nobase[0]);
    publish_rows("flux", shop, 4);
    publish_random();
    publish_big();
    assert_int_equal(pc_open(dir, &rd), PC_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pc_close(rd);
    pcd_store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    pcd_config_free(&cfg);
    return 0;
}

static uint64_t version_of(const char *chain)
{
    pc_chain_meta m;
    assert_int_equal(pc_chain_info(rd, chain, &m), PC_OK);
    return m.version;
}

static void assert_line(const pc_basket_result *res, size_t i, const char *item, int64_t qty,
                        int source, const char *store, int64_t unit)
{
    const pc_basket_line *l = &res->lines[i];
    assert_string_equal(l->item, item);
    assert_int_equal(l->qty, qty);
    assert_int_equal(l->source, source);
    assert_int_equal(l->unit_cents, unit);
    assert_int_equal(l->line_cents, qty * unit);
    if (store) {
        assert_true(l->store >= 0 && (size_t)l->store < res->nstores);
        assert_string_equal(res->stores[l->store], store);
        assert_true(l->updated_at >= 1700000000);
    } else {
        assert_int_equal(l->store, -1);
        assert_int_equal(l->updated_at, 0);
    }
}

static void test_single_store(void **state)
{
    (void)state;
    pc_basket_item items[] = { { "apple", 2 }, { "bread", 1 }, { "milk", 3 }, { "ghost", 1 } };
    pc_basket_result *res;
    assert_int_equal(pc_basket_single(rd, "shop", "s1", items, 4, NULL, &res), PC_OK);
    assert_int_equal(res->version, version_of("shop"));
    assert_int_equal(res->algorithm, PC_BASKET_SINGLE);
    assert_string_equal(res->algorithm_name, "single");
    assert_int_equal(res->nstores, 1);
    assert_string_equal(res->stores[0], "s1");
    assert_int_equal(res->nlines, 4);
    assert_line(res, 0, "apple", 2, PC_LINE_STORE, "s1", 80);
    assert_line(res, 1, "bread", 1, PC_LINE_BASE, "s1", 250);
    /* The exception wins even when dearer than the base price. */
    assert_line(res, 2, "milk", 3, PC_LINE_STORE, "s1", 95);
    assert_line(res, 3, "ghost", 1, PC_LINE_PENALTY, NULL, 570);
    assert_int_equal(res->total_cents, 160 + 250 + 285 + 570);
    assert_int_equal(res->penalty_total_cents, 570);
    assert_int_equal(res->penalty_cents, 570);
    assert_int_equal(res->penalty_fallback, 0);
    assert_int_equal(res->avg_cents, 285);
    assert_int_equal(res->nfound, 3);
    assert_int_equal(res->nmissing, 1);
    assert_true(res->coverage == 0.75);
    pc_basket_free(res);

    /* No store: base prices only, the store list says so with "". */
    assert_int_equal(pc_basket_single(rd, "shop", NULL, items, 4, NULL, &res), PC_OK);
    assert_string_equal(res->stores[0], "");
    assert_line(res, 0, "apple", 2, PC_LINE_BASE, "", 100);
    assert_int_equal(res->total_cents, 200 + 250 + 270 + 570);
    pc_basket_free(res);
    pc_basket_free(NULL);
}

static void test_single_all_missing(void **state)
{
    (void)state;
    pc_basket_item items[] = { { "ghost", 2 }, { "phantom", 1 } };
    pc_basket_result *res;
    assert_int_equal(pc_basket_single(rd, "shop", "s2", items, 2, NULL, &res), PC_OK);
    assert_int_equal(res->nfound, 0);
    assert_int_equal(res->nmissing, 2);
    assert_true(res->coverage == 0.0);
    assert_int_equal(res->total_cents, 3 * 570);
    assert_int_equal(res->penalty_total_cents, 3 * 570);
    assert_int_equal(res->nstores, 1); /* the store asked for, even if nothing is bought */
    assert_line(res, 0, "ghost", 2, PC_LINE_PENALTY, NULL, 570);
    pc_basket_free(res);
}

static void test_penalties(void **state)
{
    (void)state;
    pc_basket_item items[] = { { "x", 1 }, { "y", 2 } };
    pc_basket_result *res;
    /* No base rows: no average, the fixed fallback. */
    assert_int_equal(pc_basket_single(rd, "nobase", "s1", items, 2, NULL, &res), PC_OK);
    assert_int_equal(res->avg_cents, 0);
    assert_int_equal(res->penalty_fallback, 1);
    assert_int_equal(res->penalty_cents, PC_BASKET_FALLBACK_CENTS);
    assert_line(res, 0, "x", 1, PC_LINE_STORE, "s1", 300);
    assert_line(res, 1, "y", 2, PC_LINE_PENALTY, NULL, 10000);
    assert_int_equal(res->total_cents, 300 + 20000);
    pc_basket_free(res);

    pc_basket_opts o;
    pc_basket_opts_init(&o);
    o.fallback_cents = 500;
    o.penalty_mult = 7.0; /* ignored: there is no average to multiply */
    assert_int_equal(pc_basket_single(rd, "nobase", "s1", items, 2, &o, &res), PC_OK);
    assert_int_equal(res->total_cents, 300 + 1000);
    pc_basket_free(res);

    /* With an average: 285 × 1.5 = 427.5, rounded half away from zero. */
    pc_basket_opts_init(&o);
    o.penalty_mult = 1.5;
    pc_basket_item g[] = { { "ghost", 3 } };
    assert_int_equal(pc_basket_single(rd, "shop", "s1", g, 1, &o, &res), PC_OK);
    assert_int_equal(res->penalty_cents, 428);
    assert_int_equal(res->penalty_fallback, 0);
    assert_int_equal(res->total_cents, 3 * 428);
    pc_basket_free(res);

    o.penalty_mult = 0.0; /* a caller who wants missing items free */
    assert_int_equal(pc_basket_single(rd, "shop", "s1", g, 1, &o, &res), PC_OK);
    assert_int_equal(res->total_cents, 0);
    assert_int_equal(res->nmissing, 1);
    pc_basket_free(res);
}

static const char *const s123[] = { "s1", "s2", "s3" };
static pc_basket_item four[] = { { "apple", 1 }, { "bread", 1 }, { "cheese", 1 }, { "milk", 1 } };

static void test_multi_ties(void **state)
{
    (void)state;
    pc_basket_result *res;
    /* Alone: s1 1125, s2 1040, s3 1070.  Pairs: {s1,s2} 1020, {s1,s3} 1070,
     * {s2,s3} 1020: the tie goes to the set listed first, {s1,s2}. */
    assert_int_equal(pc_basket_multi(rd, "shop", s123, 3, four, 4, NULL, &res), PC_OK);
    assert_int_equal(res->version, version_of("shop"));
    assert_string_equal(res->algorithm_name, "optimal");
    assert_int_equal(res->algorithm, PC_BASKET_OPTIMAL);
    assert_int_equal(res->total_cents, 1020);
    assert_int_equal(res->nstores, 2);
    assert_string_equal(res->stores[0], "s1");
    assert_string_equal(res->stores[1], "s2");
    assert_line(res, 0, "apple", 1, PC_LINE_STORE, "s1", 80);
    assert_line(res, 1, "bread", 1, PC_LINE_STORE, "s2", 200);
    assert_line(res, 2, "cheese", 1, PC_LINE_STORE, "s2", 650);
    assert_line(res, 3, "milk", 1, PC_LINE_BASE, "s2", 90); /* 90 at s2 beats s1's 95 */
    assert_true(res->coverage == 1.0);
    pc_basket_free(res);

    /* Three stores allowed: {s1,s2,s3} also costs 1020; fewer stores win. */
    pc_basket_opts o;
    pc_basket_opts_init(&o);
    o.max_stores = 3;
    assert_int_equal(pc_basket_multi(rd, "shop", s123, 3, four, 4, &o, &res), PC_OK);
    assert_int_equal(res->total_cents, 1020);
    assert_int_equal(res->nstores, 2);
    pc_basket_free(res);

    /* apple is 80 at s1 and at s3, and 80 at both: one store, the first. */
    pc_basket_item apple[] = { { "apple", 4 } };
    assert_int_equal(pc_basket_multi(rd, "shop", s123, 3, apple, 1, NULL, &res), PC_OK);
    assert_int_equal(res->total_cents, 320);
    assert_int_equal(res->nstores, 1);
    assert_string_equal(res->stores[0], "s1");
    pc_basket_free(res);

    /* One store at most: the best single one. */
    o.max_stores = 1;
    assert_int_equal(pc_basket_multi(rd, "shop", s123, 3, four, 4, &o, &res), PC_OK);
    assert_int_equal(res->total_cents, 1040);
    assert_int_equal(res->nstores, 1);
    assert_string_equal(res->stores[0], "s2");
    pc_basket_free(res);
}

static void test_multi_one_store_and_missing(void **state)
{
    (void)state;
    pc_basket_result *res;
    const char *const only[] = { "s2" };
    pc_basket_item two[] = { { "apple", 1 }, { "bread", 2 } };
    assert_int_equal(pc_basket_multi(rd, "shop", only, 1, two, 2, NULL, &res), PC_OK);
    assert_string_equal(res->algorithm_name, "optimal");
    assert_int_equal(res->total_cents, 100 + 400);
    assert_int_equal(res->nstores, 1);
    assert_line(res, 0, "apple", 1, PC_LINE_BASE, "s2", 100);
    assert_line(res, 1, "bread", 2, PC_LINE_STORE, "s2", 200);
    pc_basket_free(res);

    /* Nothing priced anywhere: every line penalised, no store to visit. */
    pc_basket_item none[] = { { "ghost", 1 }, { "phantom", 2 } };
    assert_int_equal(pc_basket_multi(rd, "shop", s123, 3, none, 2, NULL, &res), PC_OK);
    assert_int_equal(res->total_cents, 3 * 570);
    assert_int_equal(res->nstores, 0);
    assert_int_equal(res->nfound, 0);
    assert_true(res->coverage == 0.0);
    assert_line(res, 1, "phantom", 2, PC_LINE_PENALTY, NULL, 570);
    pc_basket_free(res);

    /* caviar costs 5000 at s4, above its 570 penalty: visiting s4 raises
     * the total, so s1 alone wins and caviar stays penalised. */
    const char *const s14[] = { "s1", "s4" };
    pc_basket_item cav[] = { { "caviar", 1 }, { "apple", 1 } };
    assert_int_equal(pc_basket_multi(rd, "shop", s14, 2, cav, 2, NULL, &res), PC_OK);
    assert_int_equal(res->total_cents, 570 + 80);
    assert_int_equal(res->nstores, 1);
    assert_string_equal(res->stores[0], "s1");
    assert_line(res, 0, "caviar", 1, PC_LINE_PENALTY, NULL, 570);
    pc_basket_free(res);
    /* Greedy agrees: adding s4 does not lower the total. */
    pc_basket_opts o;
    pc_basket_opts_init(&o);
    o.exact_max_items = 0;
    assert_int_equal(pc_basket_multi(rd, "shop", s14, 2, cav, 2, &o, &res), PC_OK);
    assert_string_equal(res->algorithm_name, "greedy");
    assert_int_equal(res->total_cents, 570 + 80);
    pc_basket_free(res);
}

static void test_multi_greedy(void **state)
{
    (void)state;
    pc_basket_result *res;
    pc_basket_opts o;
    pc_basket_opts_init(&o);
    o.exact_max_items = 0; /* every basket is "too large" */
    /* s2 alone first (1040); adding s1 or s3 both give 1020: s1, listed first. */
    assert_int_equal(pc_basket_multi(rd, "shop", s123, 3, four, 4, &o, &res), PC_OK);
    assert_int_equal(res->algorithm, PC_BASKET_GREEDY);
    assert_string_equal(res->algorithm_name, "greedy");
    assert_int_equal(res->total_cents, 1020);
    assert_int_equal(res->nstores, 2);
    assert_string_equal(res->stores[0], "s1");
    assert_string_equal(res->stores[1], "s2");
    pc_basket_free(res);

    pc_basket_opts_init(&o);
    o.exact_max_stores = 2; /* three candidates: too many */
    assert_int_equal(pc_basket_multi(rd, "shop", s123, 3, four, 4, &o, &res), PC_OK);
    assert_string_equal(res->algorithm_name, "greedy");
    pc_basket_free(res);
}

static void test_errors(void **state)
{
    (void)state;
    pc_basket_result *res = (pc_basket_result *)&res; /* must come back NULL */
    pc_basket_item ok[] = { { "apple", 1 } };
    const char *const one[] = { "s1" };
    int codes[] = { PC_ENOITEMS, PC_EQUANTITY, PC_ETOOMANY, PC_EOVERFLOW, PC_ENOCHAIN,
                    PC_EINVAL };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(pc_strerror(codes[i]), "unknown error");
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(pc_strerror(codes[i]), pc_strerror(codes[j]));
        }
    }
    int all[] = { PC_NOTFOUND, PC_ENOCHAIN, PC_ENOTREADY, PC_EOVERLOADED, PC_EINVAL, PC_EIO,
                  PC_ETIMEDOUT, PC_EFORMAT, PC_ENOMEM, PC_ECANCELED, PC_EDB, PC_EREFUSED,
                  PC_ECONFIG, PC_EMAPFULL, PC_EBREAKER, PC_EDISKFULL };
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
            assert_int_not_equal(codes[i], all[j]);

    assert_int_equal(pc_basket_single(rd, "shop", "s1", ok, 0, NULL, &res), PC_ENOITEMS);
    assert_null(res);
    assert_int_equal(pc_basket_single(rd, "shop", "s1", NULL, 0, NULL, &res), PC_ENOITEMS);
    assert_int_equal(pc_basket_multi(rd, "shop", one, 1, ok, 0, NULL, &res), PC_ENOITEMS);

    pc_basket_item zero[] = { { "apple", 1 }, { "bread", 0 } };
    pc_basket_item neg[] = { { "apple", -3 } };
    assert_int_equal(pc_basket_single(rd, "shop", "s1", zero, 2, NULL, &res), PC_EQUANTITY);
    assert_int_equal(pc_basket_single(rd, "shop", "s1", neg, 1, NULL, &res), PC_EQUANTITY);
    assert_int_equal(pc_basket_multi(rd, "shop", one, 1, neg, 1, NULL, &res), PC_EQUANTITY);

    assert_int_equal(pc_basket_single(rd, "nochain", "s1", ok, 1, NULL, &res), PC_ENOCHAIN);
    assert_null(res);
    assert_int_equal(pc_basket_multi(rd, "nochain", one, 1, ok, 1, NULL, &res), PC_ENOCHAIN);

    pc_basket_item *many = calloc(PC_BASKET_MAX_ITEMS + 1, sizeof *many);
    for (size_t i = 0; i <= PC_BASKET_MAX_ITEMS; i++)
        many[i] = (pc_basket_item){ "apple", 1 };
    assert_int_equal(pc_basket_single(rd, "shop", "s1", many, PC_BASKET_MAX_ITEMS + 1, NULL, &res),
                     PC_ETOOMANY);
    /* The limit itself is allowed. */
    assert_int_equal(pc_basket_single(rd, "shop", "s1", many, PC_BASKET_MAX_ITEMS, NULL, &res),
                     PC_OK);
    assert_int_equal(res->total_cents, 80 * PC_BASKET_MAX_ITEMS);
    pc_basket_free(res);
    free(many);
    const char *lots[PC_BASKET_MAX_STORES + 1];
    for (size_t i = 0; i <= PC_BASKET_MAX_STORES; i++)
        lots[i] = "s1";
    assert_int_equal(pc_basket_multi(rd, "shop", lots, PC_BASKET_MAX_STORES + 1, ok, 1, NULL, &res),
                     PC_ETOOMANY);

    /* quantity × price beyond int64, and a penalty beyond it. */
    pc_basket_item huge[] = { { "apple", INT64_MAX / 50 } };
    assert_int_equal(pc_basket_single(rd, "shop", "s1", huge, 1, NULL, &res), PC_EOVERFLOW);
    pc_basket_item halves[] = { { "apple", INT64_MAX / 200 }, { "apple", INT64_MAX / 200 } };
    assert_int_equal(pc_basket_single(rd, "shop", "s1", halves, 2, NULL, &res), PC_EOVERFLOW);
    assert_int_equal(pc_basket_multi(rd, "shop", one, 1, halves, 2, NULL, &res), PC_EOVERFLOW);
    pc_basket_opts o;
    pc_basket_opts_init(&o);
    o.penalty_mult = 1e300;
    assert_int_equal(pc_basket_single(rd, "shop", "s1", ok, 1, &o, &res), PC_EOVERFLOW);
    assert_null(res);

    /* Everything else that is wrong is PC_EINVAL. */
    char longid[PC_ID_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    pc_basket_item bad_null[] = { { NULL, 1 } };
    pc_basket_item bad_empty[] = { { "", 1 } };
    pc_basket_item bad_long[] = { { longid, 1 } };
    assert_int_equal(pc_basket_single(NULL, "shop", "s1", ok, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_single(rd, "shop", "s1", ok, 1, NULL, NULL), PC_EINVAL);
    assert_int_equal(pc_basket_single(rd, NULL, "s1", ok, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_single(rd, "Not A Slug", "s1", ok, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_single(rd, "shop", longid, ok, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_single(rd, "shop", "s1", NULL, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_single(rd, "shop", "s1", bad_null, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_single(rd, "shop", "s1", bad_empty, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_single(rd, "shop", "s1", bad_long, 1, NULL, &res), PC_EINVAL);
    const char *const bad_stores[] = { "s1", "" };
    assert_int_equal(pc_basket_multi(rd, "shop", NULL, 1, ok, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_multi(rd, "shop", one, 0, ok, 1, NULL, &res), PC_EINVAL);
    assert_int_equal(pc_basket_multi(rd, "shop", bad_stores, 2, ok, 1, NULL, &res), PC_EINVAL);
    pc_basket_opts_init(&o);
    o.penalty_mult = -1;
    assert_int_equal(pc_basket_single(rd, "shop", "s1", ok, 1, &o, &res), PC_EINVAL);
    o.penalty_mult = NAN;
    assert_int_equal(pc_basket_single(rd, "shop", "s1", ok, 1, &o, &res), PC_EINVAL);
    o.penalty_mult = INFINITY;
    assert_int_equal(pc_basket_single(rd, "shop", "s1", ok, 1, &o, &res), PC_EINVAL);
    pc_basket_opts_init(&o);
    o.fallback_cents = -1;
    assert_int_equal(pc_basket_single(rd, "shop", "s1", ok, 1, &o, &res), PC_EINVAL);
    pc_basket_opts_init(&o);
    o.max_stores = 0;
    assert_int_equal(pc_basket_multi(rd, "shop", one, 1, ok, 1, &o, &res), PC_EINVAL);
    assert_null(res);
}

/* Inside one transaction the version stays put while the writer publishes
 * a new one: what makes a basket consistent. */
typedef struct flux_ctx {
    uint64_t v1;
    int64_t before, after;
    int rc[5];
} flux_ctx;

/* Inside the callback the reader's lock is held: an assertion failing
 * there would jump out past its release and hang the tests after it, so
 * the callback records and test_one_version asserts. */
static int flux_fn(void *ctx, const pc_txn_view *v)
{
    flux_ctx *c = ctx;
    pc_price p;
    c->v1 = v->meta.version;
    c->rc[0] = v->lookup(v, "s1", "apple", 0, &p);
    c->before = p.cents;
    const struct row dearer[] = { { NULL, "apple", 111 }, { "s1", "apple", 99 } };
    publish_rows("flux", dearer, 2);
    c->rc[1] = v->lookup(v, "s1", "apple", 0, &p);
    c->after = p.cents;
    c->rc[2] = v->lookup(v, "s1", "apple", PC_TXN_EXCEPTION_ONLY, &p);
    c->rc[3] = v->lookup(v, "", "apple", PC_TXN_EXCEPTION_ONLY, &p);
    c->rc[4] = v->lookup(v, "s1", "", 0, &p);
    return 42;
}

static void test_one_version(void **state)
{
    (void)state;
    flux_ctx c = { 0, 0, 0, { 0 } };
    assert_int_equal(pc_reader_with_txn(rd, "flux", flux_fn, &c), 42);
    assert_int_equal(c.rc[0], PC_OK);
    assert_int_equal(c.rc[1], PC_OK);
    assert_int_equal(c.rc[2], PC_NOTFOUND);
    assert_int_equal(c.rc[3], PC_NOTFOUND);
    assert_int_equal(c.rc[4], PC_EINVAL);
    assert_int_equal(c.before, 100);
    assert_int_equal(c.after, 100);
    assert_true(version_of("flux") > c.v1);
    pc_price p;
    assert_int_equal(pc_get(rd, "flux", "s1", "apple", &p), PC_OK);
    assert_int_equal(p.cents, 99);
    assert_int_equal(pc_reader_with_txn(rd, "nochain", flux_fn, &c), PC_ENOCHAIN);
    assert_int_equal(pc_reader_with_txn(rd, "flux", NULL, &c), PC_EINVAL);
}

/* The answer's own consistency, whatever the search: every line bought at
 * a listed store at that store's price, the cheapest of the listed stores,
 * penalised only when no listed store prices it, and the lines add up. */
static void check_consistent(const pc_basket_result *res, const char *chain,
                             const pc_basket_item *items, size_t n, int64_t pen, size_t k)
{
    assert_true(res->nstores <= k);
    assert_int_equal(res->nlines, n);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const pc_basket_line *l = &res->lines[i];
        assert_string_equal(l->item, items[i].item);
        int64_t cheapest = INT64_MAX;
        for (size_t s = 0; s < res->nstores; s++) {
            pc_price p;
            if (pc_get(rd, chain, res->stores[s], items[i].item, &p) == PC_OK &&
                p.cents < cheapest)
                cheapest = p.cents;
        }
        if (l->source == PC_LINE_PENALTY) {
            assert_int_equal(cheapest, INT64_MAX);
            assert_int_equal(l->line_cents, items[i].qty * pen);
        } else {
            pc_price p;
            assert_int_equal(pc_get(rd, chain, res->stores[l->store], items[i].item, &p), PC_OK);
            assert_int_equal(l->unit_cents, p.cents);
            assert_int_equal(l->unit_cents, cheapest);
            assert_int_equal(l->line_cents, items[i].qty * p.cents);
        }
        total += l->line_cents;
    }
    assert_int_equal(total, res->total_cents);
}

static void test_exact_vs_brute_force(void **state)
{
    (void)state;
    pc_chain_meta meta;
    assert_int_equal(pc_chain_info(rd, "rnd", &meta), PC_OK);
    static const double mults[] = { 0.5, 1.0, 2.0 };
    char names[RND_ITEMS + 1][8], stores[RND_STORES][8];
    for (int i = 0; i < RND_ITEMS; i++)
        snprintf(names[i], sizeof names[i], "r%02d", i);
    strcpy(names[RND_ITEMS], "nowhere");
    for (int t = 0; t < RND_STORES; t++)
        snprintf(stores[t], sizeof stores[t], "t%02d", t);
    int greedy_worse = 0;
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + rnd() % 10, m = 1 + rnd() % 15, k = 1 + rnd() % 4;
        pc_basket_opts o;
        pc_basket_opts_init(&o);
        o.max_stores = (unsigned)k;
        o.penalty_mult = mults[rnd() % 3];
        o.budget_ms = 10000; /* a slow CI box (valgrind) must not time out */
        pc_basket_item items[10];
        for (size_t i = 0; i < n; i++)
            items[i] = (pc_basket_item){ names[rnd() % (RND_ITEMS + 1)], 1 + (int64_t)(rnd() % 5) };
        const char *cand[15];
        int used[RND_STORES] = { 0 };
        for (size_t s = 0; s < m; s++) {
            size_t t;
            do
                t = rnd() % RND_STORES;
            while (used[t]);
            used[t] = 1;
            cand[s] = stores[t];
        }
        int64_t pen = (int64_t)((double)meta.avg_cents * o.penalty_mult + 0.5);

        /* Brute force: every set of 1..k candidates, each item bought at
         * the set's cheapest store that prices it, else penalised. */
        int64_t cost[10][15];
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < m; s++) {
                pc_price p;
                int rc = pc_get(rd, "rnd", cand[s], items[i].item, &p);
                assert_true(rc == PC_OK || rc == PC_NOTFOUND);
                cost[i][s] = rc == PC_OK ? items[i].qty * p.cents : -1;
            }
        int64_t best = INT64_MAX;
        for (unsigned mask = 1; mask < (1u << m); mask++) {
            if ((size_t)__builtin_popcount(mask) > k)
                continue;
            int64_t total = 0;
            for (size_t i = 0; i < n; i++) {
                int64_t c = -1;
                for (size_t s = 0; s < m; s++)
                    if ((mask >> s & 1) && cost[i][s] >= 0 && (c < 0 || cost[i][s] < c))
                        c = cost[i][s];
                total += c >= 0 ? c : items[i].qty * pen;
            }
            if (total < best)
                best = total;
        }

        pc_basket_result *res;
        assert_int_equal(pc_basket_multi(rd, "rnd", cand, m, items, n, &o, &res), PC_OK);
        assert_string_equal(res->algorithm_name, "optimal");
        assert_int_equal(res->penalty_cents, pen);
        assert_int_equal(res->total_cents, best);
        check_consistent(res, "rnd", items, n, pen, k);
        int64_t optimal = res->total_cents;
        pc_basket_free(res);

        o.exact_max_items = 0;
        assert_int_equal(pc_basket_multi(rd, "rnd", cand, m, items, n, &o, &res), PC_OK);
        assert_string_equal(res->algorithm_name, "greedy");
        assert_true(res->total_cents >= optimal);
        greedy_worse += res->total_cents > optimal;
        check_consistent(res, "rnd", items, n, pen, k);
        pc_basket_free(res);
    }
    /* The cross-check is only worth something if greedy is sometimes wrong. */
    assert_true(greedy_worse > 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_budget_expires(void **state)
{
    (void)state;
    /* Just inside the default limits: 10 items, 15 candidates.  With no
     * budget the exact search gives up at once and greedy answers. */
    char names[10][8];
    pc_basket_item items[10];
    for (int i = 0; i < 10; i++) {
        snprintf(names[i], sizeof names[i], "r%02d", i * 3 + 1);
        items[i] = (pc_basket_item){ names[i], 1 + i % 3 };
    }
    char snames[15][8];
    const char *cand[15];
    for (int t = 0; t < 15; t++) {
        snprintf(snames[t], sizeof snames[t], "t%02d", t * 2);
        cand[t] = snames[t];
    }
    pc_basket_opts o;
    pc_basket_opts_init(&o);
    pc_basket_result *res, *greedy;
    assert_int_equal(pc_basket_multi(rd, "rnd", cand, 15, items, 10, &o, &res), PC_OK);
    assert_string_equal(res->algorithm_name, "optimal");
    pc_basket_free(res);
    o.budget_ms = 0;
    assert_int_equal(pc_basket_multi(rd, "rnd", cand, 15, items, 10, &o, &res), PC_OK);
    assert_int_equal(res->algorithm, PC_BASKET_GREEDY_FALLBACK);
    assert_string_equal(res->algorithm_name, "greedy_timeout_fallback");
    o.exact_max_items = 0;
    assert_int_equal(pc_basket_multi(rd, "rnd", cand, 15, items, 10, &o, &greedy), PC_OK);
    assert_string_equal(greedy->algorithm_name, "greedy");
    /* The fallback is the greedy answer, whole. */
    assert_int_equal(res->total_cents, greedy->total_cents);
    assert_int_equal(res->nstores, greedy->nstores);
    for (size_t s = 0; s < res->nstores; s++)
        assert_string_equal(res->stores[s], greedy->stores[s]);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(res->lines[i].line_cents, greedy->lines[i].line_cents);
    pc_basket_free(res);
    pc_basket_free(greedy);

    /* A real expiry: exact search allowed on 100 items × 40 stores, up to
     * 20 of them, in 1 ms.  It cannot finish; the call must still return
     * promptly with the greedy answer. */
    pc_basket_opts_init(&o);
    o.exact_max_items = BIG_ITEMS;
    o.exact_max_stores = BIG_STORES;
    o.max_stores = 20;
    o.budget_ms = 1;
    char bnames[BIG_ITEMS][8], bstores[BIG_STORES][8];
    pc_basket_item bitems[BIG_ITEMS];
    const char *bcand[BIG_STORES];
    for (int i = 0; i < BIG_ITEMS; i++) {
        snprintf(bnames[i], sizeof bnames[i], "x%03d", i);
        bitems[i] = (pc_basket_item){ bnames[i], 1 };
    }
    for (int t = 0; t < BIG_STORES; t++) {
        snprintf(bstores[t], sizeof bstores[t], "b%02d", t);
        bcand[t] = bstores[t];
    }
    double t0 = now_s();
    assert_int_equal(pc_basket_multi(rd, "big", bcand, BIG_STORES, bitems, BIG_ITEMS, &o, &res),
                     PC_OK);
    double took = now_s() - t0;
    assert_string_equal(res->algorithm_name, "greedy_timeout_fallback");
    assert_int_equal(res->nlines, BIG_ITEMS);
    assert_true(res->nstores >= 2 && res->nstores <= 20);
    assert_true(took < 2.0); /* generous: valgrind, loaded CI */
    check_consistent(res, "big", bitems, BIG_ITEMS, 2000, 20);
    pc_basket_free(res);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_store),
        cmocka_unit_test(test_single_all_missing),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_multi_ties),
        cmocka_unit_test(test_multi_one_store_and_missing),
        cmocka_unit_test(test_multi_greedy),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_one_version),
        cmocka_unit_test(test_exact_vs_brute_force),
        cmocka_unit_test(test_budget_expires),
    };
    return cmocka_run_group_tests_name("basket", tests, setup, teardown);
}
