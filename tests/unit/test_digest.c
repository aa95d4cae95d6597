/* test_digest.c - a reload whose rows are the cache's: the digest proves it, the sort and the diff are skipped, the write transaction proves it again, and deltas carry the digest along. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "delta.h"
#include "digest.h"
#include "pc_format.h"
#include "snapshot.h"
#include "store.h"

#include "store_fixture.h"

enum { N = 3000 }; /* base items; every 7th has a price at store s1 */

/* One source row; store NULL for a base price. */
typedef struct row {
    const char *store;
    char item[24];
    int64_t cents, ts;
} row;

static row rows[N + N / 7 + 1];
static size_t nrows;

static void rows_reset(void)
{
    nrows = 0;
    for (int k = 0; k < N; k++) {
        row *r = &rows[nrows++];
        r->store = NULL;
        snprintf(r->item, sizeof r->item, "i%05d", k);
        r->cents = 100 + k;
        r->ts = 1700000000;
    }
    for (int k = 0; k < N; k += 7) {
        row *r = &rows[nrows++];
        r->store = "s1";
        snprintf(r->item, sizeof r->item, "i%05d", k);
        r->cents = 90 + k;
        r->ts = 1700000001;
    }
}

static row *find_row(const char *store, const char *item)
{
    for (size_t i = 0; i < nrows; i++)
        if ((store == NULL) == (rows[i].store == NULL) &&
            (!store || strcmp(store, rows[i].store) == 0) && strcmp(item, rows[i].item) == 0)
            return &rows[i];
    fail_msg("no row %s/%s", store ? store : "-", item);
    return NULL;
}

/* The rows as the loader reads them: base rows, seal, store rows; each
 * part in arrival order `rev` (1: backwards), `expect` from the store
 * first when `st` is given. */
static void load(pcd_snapshot *s, pcd_store *st, int rev)
{
    pcd_snapshot_init(s, "acme");
    if (st)
        pcd_store_expect(st, s);
    for (int part = 0; part < 2; part++) {
        if (part == 1)
            pcd_snapshot_seal(s);
        for (size_t j = 0; j < nrows; j++) {
            const row *r = &rows[rev ? nrows - 1 - j : j];
            if ((r->store != NULL) != part)
                continue;
            assert_int_equal(pcd_snapshot_add(s, r->store, r->store ? strlen(r->store) : 0,
                                              r->item, strlen(r->item), r->cents, r->ts),
                             PC_OK);
        }
    }
    assert_int_equal(pcd_snapshot_finish(s), PC_OK);
}

static int publish(fixture *f, pcd_snapshot *s, pcd_publish_stats *ps, char *err, size_t errlen)
{
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    return pcd_store_publish(f->st, s, &m, ps, err, errlen);
}

static void publish_ok(fixture *f, pcd_snapshot *s, pcd_publish_stats *ps)
{
    char err[512];
    int rc = publish(f, s, ps, err, sizeof err);
    if (rc != PC_OK)
        fail_msg("publish: %s", err);
}

/* The chain in LMDB is exactly `rows` (the reference: sorted by a fresh
 * snapshot without any expectation). */
static void expect_chain_is_rows(fixture *f)
{
    pcd_snapshot ref;
    load(&ref, NULL, 0);
    expect_chain_is(f, &ref);
    pcd_snapshot_free(&ref);
}

/* The source as rows_reset makes it, loaded and published. */
static void publish_source(fixture *f)
{
    rows_reset();
    pcd_snapshot s;
    pcd_publish_stats ps;
    load(&s, f->st, 0);
    publish_ok(f, &s, &ps);
    pcd_snapshot_free(&s);
}

static uint64_t version_of(fixture *f)
{
    pc_meta_rec m;
    assert_int_equal(pcd_store_get_meta(f->st, "acme", &m), PC_OK);
    return m.version;
}

/* Reload: the rows as the cache has them, in another order: not sorted,
 * not compared, a new version, and LMDB as it was. */
static void test_same_rows_skip_sort_and_diff(void **state)
{
    fixture *f = *state;
    rows_reset();
    pcd_snapshot s;
    pcd_publish_stats ps;
    load(&s, f->st, 0);
    assert_int_equal(s.expect.version, 0); /* nothing cached yet */
    assert_int_equal(s.same_as, 0);
    publish_ok(f, &s, &ps);
    assert_int_equal(ps.put, nrows);
    assert_false(ps.same);
    pcd_snapshot_free(&s);
    uint64_t v1 = version_of(f);

    load(&s, f->st, 1);
    assert_int_equal(s.expect.version, v1);
    assert_int_equal(s.same_as, v1);
    assert_int_equal(s.n, 0); /* dropped unsorted */
    assert_int_equal(s.base_rows + s.store_rows, nrows);
    publish_ok(f, &s, &ps);
    assert_true(ps.same);
    assert_int_equal(ps.put + ps.deleted, 0);
    assert_int_equal(ps.unchanged, nrows);
    assert_true(ps.version > v1);
    pcd_snapshot_free(&s);
    pc_meta_rec m;
    assert_int_equal(pcd_store_get_meta(f->st, "acme", &m), PC_OK);
    assert_int_equal(m.base_rows, N);
    assert_int_equal(m.store_rows, nrows - N);
    assert_int_equal(m.rows_written, 0);
    expect_chain_is_rows(f);

    /* The digest goes on with the new version; a reset keeps the
     * expectation for a retry on another source. */
    load(&s, f->st, 0);
    assert_int_equal(s.same_as, version_of(f));
    pcd_snapshot_free(&s);
    pcd_snapshot_init(&s, "acme");
    pcd_store_expect(f->st, &s);
    pcd_snapshot_reset(&s);
    assert_int_equal(s.expect.version, version_of(f));
    assert_string_equal(s.chain, "acme");
    pcd_snapshot_free(&s);
}

/* Reload after `edit` changed the source: compared row by row, and LMDB
 * holds the source's rows after it. */
static void reload_edited(fixture *f, void (*edit)(void), const char *what)
{
    publish_source(f);
    pcd_snapshot s;
    pcd_publish_stats ps;
    edit();
    load(&s, f->st, 1);
    if (s.expect.version == 0 || s.same_as != 0)
        fail_msg("%s: expect.version %llu same_as %llu", what,
                 (unsigned long long)s.expect.version, (unsigned long long)s.same_as);
    publish_ok(f, &s, &ps);
    assert_false(ps.same);
    if (ps.put + ps.deleted == 0)
        fail_msg("%s: nothing written", what);
    pcd_snapshot_free(&s);
    expect_chain_is_rows(f);
}

static void edit_price(void) { find_row(NULL, "i01234")->cents++; }
static void edit_store_price(void) { find_row("s1", "i00007")->cents--; }
static void edit_ts(void) { find_row(NULL, "i00001")->ts++; }
static void edit_last_store(void) { rows[nrows - 1].ts = 1; }
/* The same prices, paired with other items. */
static void edit_swap(void)
{
    row *a = find_row(NULL, "i00010"), *b = find_row(NULL, "i00020");
    int64_t t = a->cents;
    a->cents = b->cents;
    b->cents = t;
}
/* As many rows: one gone, another come. */
static void edit_replace(void) { snprintf(find_row(NULL, "i00500")->item, 24, "j00500"); }
/* A base row moved to a store: as many of each kind's rows in all, but
 * one base fewer and one store more. */
static void edit_kind(void) { find_row(NULL, "i00003")->store = "s2"; }

static void test_changed_rows_compared(void **state)
{
    fixture *f = *state;
    reload_edited(f, edit_price, "a base price");
    reload_edited(f, edit_store_price, "a store price");
    reload_edited(f, edit_ts, "an updated_at");
    reload_edited(f, edit_last_store, "the last store row");
    reload_edited(f, edit_swap, "two prices swapped");
    reload_edited(f, edit_replace, "a row replaced by another");
    reload_edited(f, edit_kind, "a base row become a store row");
}

/* Duplicate keys: the rows added are not the rows published, so no digest
 * is trusted after such a load, and the next one compares again. */
static void test_duplicates_not_trusted(void **state)
{
    fixture *f = *state;
    publish_source(f);
    pcd_snapshot s;
    pcd_publish_stats ps;
    /* One row gone and a second i00002 come, newer: as many rows. */
    row *gone = find_row(NULL, "i00900");
    snprintf(gone->item, sizeof gone->item, "i00002");
    gone->cents = 5;
    gone->ts = 1800000000;
    load(&s, f->st, 0);
    assert_int_equal(s.same_as, 0);
    assert_int_equal(s.rejected[PC_REJ_DUPLICATE], 1);
    publish_ok(f, &s, &ps);
    pcd_snapshot_free(&s);
    load(&s, f->st, 0);
    assert_int_equal(s.expect.version, 0);
    assert_int_equal(s.same_as, 0);
    publish_ok(f, &s, &ps);
    assert_int_equal(ps.put + ps.deleted, 0);
    pcd_snapshot_free(&s);
    /* The duplicate gone, the row back: trusted again after one load. */
    rows_reset();
    load(&s, f->st, 0);
    publish_ok(f, &s, &ps);
    pcd_snapshot_free(&s);
    expect_chain_is_rows(f);
    load(&s, f->st, 0);
    assert_true(s.same_as != 0);
    pcd_snapshot_free(&s);
}

static int delta(fixture *f, pcd_delta *d, pcd_publish_stats *ps)
{
    pcd_snapshot found;
    pcd_snapshot_init(&found, "acme");
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < nrows; j++) {
            const row *r = &rows[j];
            if ((r->store == NULL) == (d->keys[i].store == NULL) &&
                (!r->store || strcmp(r->store, d->keys[i].store) == 0) &&
                strcmp(r->item, d->keys[i].item) == 0)
                assert_int_equal(pcd_snapshot_add(&found, r->store,
                                                  r->store ? strlen(r->store) : 0, r->item,
                                                  strlen(r->item), r->cents, r->ts),
                                 PC_OK);
        }
    assert_int_equal(pcd_snapshot_finish(&found), PC_OK);
    pc_meta_rec m;
    assert_int_equal(pcd_store_get_meta(f->st, "acme", &m), PC_OK);
    char err[256];
    int rc = pcd_store_apply_delta(f->st, "acme", &found, d->keys, d->n, &m, ps, err,
                                   sizeof err);
    pcd_snapshot_free(&found);
    pcd_delta_free(d);
    return rc;
}

/* Deltas move the digest by the rows they change: the reload after them
 * that finds the source as the deltas left the cache is not compared, and
 * one that finds it otherwise is. */
static void test_deltas_carry_digest(void **state)
{
    fixture *f = *state;
    publish_source(f);
    pcd_snapshot s;
    pcd_publish_stats ps;

    pcd_delta d;
    pcd_delta_init(&d);
    find_row(NULL, "i00003")->cents = 1;       /* changed */
    pcd_delta_add(&d, NULL, "i00003", 100);
    snprintf(find_row(NULL, "i00004")->item, 24, "k00004"); /* i00004 deleted, k00004 new */
    pcd_delta_add(&d, NULL, "i00004", 100);
    pcd_delta_add(&d, NULL, "k00004", 100);
    find_row("s1", "i00014")->cents = 2;       /* a store price changed */
    pcd_delta_add(&d, "s1", "i00014", 100);
    pcd_delta_add(&d, "s1", "i00021", 100);    /* listed, not changed */
    assert_int_equal(delta(f, &d, &ps), PC_OK);
    assert_int_equal(ps.put, 3);
    assert_int_equal(ps.deleted, 1);
    uint64_t v = ps.version;

    load(&s, f->st, 1);
    assert_int_equal(s.expect.version, v);
    assert_int_equal(s.same_as, v);
    publish_ok(f, &s, &ps);
    assert_true(ps.same);
    pcd_snapshot_free(&s);
    expect_chain_is_rows(f);

    /* A store row deleted by a delta, then the source changed without one:
     * the reload compares and puts it right. */
    pcd_delta_init(&d);
    row *st = find_row("s1", "i00028");
    *st = rows[--nrows];
    pcd_delta_add(&d, "s1", "i00028", 100);
    assert_int_equal(delta(f, &d, &ps), PC_OK);
    assert_int_equal(ps.deleted, 1);
    find_row(NULL, "i02999")->cents = 3;
    load(&s, f->st, 0);
    assert_int_equal(s.expect.version, ps.version);
    assert_int_equal(s.same_as, 0);
    publish_ok(f, &s, &ps);
    assert_int_equal(ps.put, 1);
    pcd_snapshot_free(&s);
    expect_chain_is_rows(f);
}

/* The chain changed between the load and its publish (which one job at a
 * time per chain rules out in the daemon): PC_ECHANGED, nothing written,
 * and the next load compares every row. */
static void test_changed_under_load_refused(void **state)
{
    fixture *f = *state;
    publish_source(f);
    pcd_snapshot s, other;
    pcd_publish_stats ps;
    load(&s, f->st, 0);
    assert_true(s.same_as != 0);

    find_row(NULL, "i00042")->cents = 9;
    load(&other, NULL, 0);
    publish_ok(f, &other, &ps);
    pcd_snapshot_free(&other);
    uint64_t v = version_of(f);

    char err[512];
    assert_int_equal(publish(f, &s, &ps, err, sizeof err), PC_ECHANGED);
    assert_non_null(strstr(err, "chain acme"));
    assert_non_null(strstr(err, "changed"));
    pcd_snapshot_free(&s);
    assert_int_equal(version_of(f), v);
    expect_chain_is_rows(f);

    load(&s, f->st, 0);
    assert_int_equal(s.expect.version, 0);
    assert_int_equal(s.same_as, 0);
    publish_ok(f, &s, &ps);
    pcd_snapshot_free(&s);
    load(&s, f->st, 0);
    assert_true(s.same_as != 0);
    pcd_snapshot_free(&s);
}

/* The row hash: every byte of the key and the value counts, and the
 * digest of a multiset does not depend on order. */
static void test_row_hash(void **state)
{
    (void)state;
    uint8_t k[40];
    for (size_t i = 0; i < sizeof k; i++)
        k[i] = (uint8_t)i;
    pc_price_rec v = { 100, 1700000000 };
    pcd_digest h = pcd_digest_row(k, sizeof k, &v);
    for (size_t len = 1; len < sizeof k; len++) {
        pcd_digest o = pcd_digest_row(k, len, &v);
        assert_false(pcd_digest_eq(o, h));
    }
    for (size_t i = 0; i < sizeof k; i++) {
        k[i] ^= 1;
        assert_false(pcd_digest_eq(pcd_digest_row(k, sizeof k, &v), h));
        k[i] ^= 1;
    }
    pc_price_rec w = { 101, 1700000000 }, u = { 100, 1700000001 };
    assert_false(pcd_digest_eq(pcd_digest_row(k, sizeof k, &w), h));
    assert_false(pcd_digest_eq(pcd_digest_row(k, sizeof k, &u), h));
    /* Zero padding of the tail is told from a zero byte. */
    uint8_t z[9] = { 'a', 'b', 0 };
    assert_false(pcd_digest_eq(pcd_digest_row(z, 2, &v), pcd_digest_row(z, 3, &v)));
    /* A row twice is not no row (a sum, not an exclusive or). */
    pcd_digest d1 = { 0, 0 }, d2 = { 0, 0 };
    pcd_digest_add(&d1, h);
    pcd_digest_add(&d1, h);
    assert_false(pcd_digest_eq(d1, d2));
    pcd_digest_sub(&d1, h);
    pcd_digest_sub(&d1, h);
    assert_true(pcd_digest_eq(d1, d2));
    assert_true(pcd_digest_keyed());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_hash),
        cmocka_unit_test_setup_teardown(test_same_rows_skip_sort_and_diff, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_changed_rows_compared, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_not_trusted, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_deltas_carry_digest, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_changed_under_load_refused, store_setup,
                                        store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
