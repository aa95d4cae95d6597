/* test_store.c - publishing snapshots into LMDB: diffs, versions, removal, map growth, format and writer lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pc_format.h"
#include "snapshot.h"
#include "store.h"
#include "store_int.h"

#include "store_fixture.h"

/* n base items "i<k>" priced base+k, and store exceptions for every 10th
 * item at store "s1". */
static void make_snap(pcd_snapshot *s, const char *chain, int n, int64_t base)
{
    pcd_snapshot_init(s, chain);
    char id[32];
    for (int k = 0; k < n; k++) {
        int len = snprintf(id, sizeof id, "i%06d", k);
        assert_int_equal(pcd_snapshot_add(s, NULL, 0, id, (size_t)len, base + k, 1700000000), PC_OK);
    }
    for (int k = 0; k < n; k += 10) {
        int len = snprintf(id, sizeof id, "i%06d", k);
        assert_int_equal(pcd_snapshot_add(s, "s1", 2, id, (size_t)len, base + k - 1, 1700000001),
                         PC_OK);
    }
    assert_int_equal(pcd_snapshot_finish(s), PC_OK);
}

static int publish(fixture *f, pcd_snapshot *s, pcd_publish_stats *ps)
{
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    char err[256];
    return pcd_store_publish(f->st, s, &m, ps, err, sizeof err);
}

/* Read one price with raw LMDB, independent of the library under test. */
static int raw_get(const char *dir, const uint8_t *key, size_t klen, pc_price_rec *out)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxreaders(env, 1024), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    MDB_val k = { klen, (void *)key }, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0) {
        assert_int_equal(v.mv_size, sizeof *out);
        memcpy(out, v.mv_data, sizeof *out);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}

static int64_t base_price(fixture *f, const char *chain, const char *item)
{
    uint8_t kb[PC_KEY_MAX];
    size_t n = pc_key_base(kb, chain, strlen(chain), item, strlen(item));
    pc_price_rec p;
    return raw_get(f->dir, kb, n, &p) == 0 ? p.cents : -1;
}

static void test_publish_and_noop_republish(void **state)
{
    fixture *f = *state;
    pcd_snapshot s;
    pcd_publish_stats ps;
    make_snap(&s, "acme", 1000, 100);
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    assert_int_equal(ps.put, 1100);
    assert_int_equal(ps.deleted, 0);
    uint64_t v1 = ps.version;
    assert_true(v1 >= 1);
    assert_int_equal(base_price(f, "acme", "i000007"), 107);

    /* The same data again: nothing written but the metadata. */
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    assert_int_equal(ps.put, 0);
    assert_int_equal(ps.deleted, 0);
    assert_int_equal(ps.unchanged, 1100);
    assert_true(ps.version > v1);

    pc_meta_rec m;
    assert_int_equal(pcd_store_get_meta(f->st, "acme", &m), PC_OK);
    assert_int_equal(m.version, ps.version);
    assert_int_equal(m.base_rows, 1000);
    assert_int_equal(m.store_rows, 100);
    assert_int_equal(m.avg_cents, 100 + 500); /* mean of 100..1099 = 599.5 -> 600 */
    pcd_snapshot_free(&s);
}

static void test_diff_changes(void **state)
{
    fixture *f = *state;
    pcd_snapshot s;
    pcd_publish_stats ps;
    make_snap(&s, "acme", 100, 100);
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    pcd_snapshot_free(&s);

    /* items 0..98 (99 gone), item 5 changed, a new item appended. */
    pcd_snapshot_init(&s, "acme");
    char id[32];
    for (int k = 0; k < 99; k++) {
        int len = snprintf(id, sizeof id, "i%06d", k);
        pcd_snapshot_add(&s, NULL, 0, id, (size_t)len, k == 5 ? 9999 : 100 + k, 1700000000);
    }
    pcd_snapshot_add(&s, NULL, 0, "zzz", 3, 1, 1700000000);
    for (int k = 0; k < 100; k += 10) {
        int len = snprintf(id, sizeof id, "i%06d", k);
        pcd_snapshot_add(&s, "s1", 2, id, (size_t)len, 100 + k - 1, 1700000001);
    }
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    assert_int_equal(ps.put, 2);
    assert_int_equal(ps.deleted, 1);
    assert_int_equal(base_price(f, "acme", "i000005"), 9999);
    assert_int_equal(base_price(f, "acme", "i000099"), -1);
    assert_int_equal(base_price(f, "acme", "zzz"), 1);
    pcd_snapshot_free(&s);

    /* Everything gone but one store row: all base keys deleted. */
    pcd_snapshot_init(&s, "acme");
    pcd_snapshot_add(&s, "s1", 2, "i000000", 7, 5, 1);
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    assert_int_equal(ps.deleted, 100 + 9);
    assert_int_equal(ps.put, 1);
    pcd_snapshot_free(&s);
}

/* ---- the diff's second half, found unchanged on a thread of its own ---- */

enum { BIG = 140000 }; /* with its store rows past store_scan.c's threshold */

/* Record `idx` of big_snap, with big_snap's edit applied when it is `at`. */
static void add_edited(pcd_snapshot *s, const char *store, size_t slen, int k, int64_t cents,
                       int64_t ts, size_t idx, size_t at, int how)
{
    char id[32];
    int len = snprintf(id, sizeof id, "i%06d", k);
    if (idx == at && how == 'd')
        return;
    if (idx == at && how == 'c')
        cents = 7;
    assert_int_equal(pcd_snapshot_add(s, store, slen, id, (size_t)len, cents, ts), PC_OK);
    if (idx == at && how == 'a') {
        len = snprintf(id, sizeof id, "i%06d+", k);
        assert_int_equal(pcd_snapshot_add(s, store, slen, id, (size_t)len, 1, ts), PC_OK);
    }
}

/* make_snap's chain of BIG items, then one edit: `at` a record index in
 * key order (base rows i000000.., then the store rows), `how` 'c' its
 * price changed, 'd' it missing, 'a' a key added right after it, 0 none. */
static void big_snap(pcd_snapshot *s, size_t at, int how)
{
    pcd_snapshot_init(s, "acme");
    size_t idx = 0;
    for (int k = 0; k < BIG; k++, idx++)
        add_edited(s, NULL, 0, k, 100 + k, 1700000000, idx, at, how);
    for (int k = 0; k < BIG; k += 10, idx++)
        add_edited(s, "s1", 2, k, 99 + k, 1700000001, idx, at, how);
    assert_int_equal(pcd_snapshot_finish(s), PC_OK);
}

/* A reload of a big chain: the diff walks the first half while a thread
 * finds the second half's unchanged run (store_scan.c); an edit anywhere
 * near or past the middle, or at the end, is still written, and only it,
 * and a neighbouring chain is never touched. */
static void test_diff_second_half(void **state)
{
    fixture *f = *state;
    pcd_snapshot s, nb;
    pcd_publish_stats ps;
    make_snap(&nb, "acmf", 50, 5); /* the next chain in key order */
    assert_int_equal(publish(f, &nb, &ps), PC_OK);
    big_snap(&s, 0, 0);
    size_t n = s.n;
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    assert_int_equal(ps.put, n);
    assert_int_equal(ps.scan_skipped, 0); /* a first load: no scan */
    expect_chain_is(f, &s);
    pcd_snapshot_free(&s);

    big_snap(&s, 0, 0);
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    assert_int_equal(ps.put + ps.deleted, 0);
    assert_int_equal(ps.unchanged, n);
    /* The scan found the second half unchanged, and the diff skipped it. */
    assert_true(ps.scan_skipped >= n / 2 - 1);
    assert_true(ps.scan_skipped <= n - n / 2 + 1);
    pcd_snapshot_free(&s);

    const size_t at[] = { n / 2 - 1, n / 2, n / 2 + 1, 3 * n / 4, BIG - 1, BIG, n - 1, 5 };
    const int how[] = { 'c', 'd', 'a' };
    for (size_t a = 0; a < sizeof at / sizeof at[0]; a++) {
        for (size_t h = 0; h < 3; h++) {
            /* the edit, then back to the original */
            big_snap(&s, at[a], how[h]);
            assert_int_equal(publish(f, &s, &ps), PC_OK);
            size_t want_put = how[h] == 'd' ? 0 : 1, want_del = how[h] == 'd';
            if (ps.put != want_put || ps.deleted != want_del)
                fail_msg("edit '%c' at %zu of %zu: %llu put, %llu deleted", how[h], at[a], n,
                         (unsigned long long)ps.put, (unsigned long long)ps.deleted);
            assert_int_equal(ps.unchanged, how[h] == 'a' ? n : n - 1);
            expect_chain_is(f, &s);
            pcd_snapshot_free(&s);
            big_snap(&s, 0, 0);
            assert_int_equal(publish(f, &s, &ps), PC_OK);
            assert_int_equal(ps.put + ps.deleted, 1);
            expect_chain_is(f, &s);
            pcd_snapshot_free(&s);
        }
    }
    /* The neighbour as it was. */
    assert_int_equal(base_price(f, "acmf", "i000007"), 12);
    pcd_snapshot_free(&nb);
}

static void test_chains_side_by_side(void **state)
{
    fixture *f = *state;
    pcd_snapshot s;
    pcd_publish_stats ps;
    /* "b" first (appends), then "a" (before it) and "c" (after it), then
     * "b" again: no chain may touch another's keys. */
    const char *order[] = { "b", "a", "c" };
    for (int i = 0; i < 3; i++) {
        make_snap(&s, order[i], 300, 1000 * (i + 1));
        assert_int_equal(publish(f, &s, &ps), PC_OK);
        assert_int_equal(ps.put, 330);
        pcd_snapshot_free(&s);
    }
    make_snap(&s, "b", 150, 1000);
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    assert_int_equal(ps.deleted, 150 + 15);
    pcd_snapshot_free(&s);
    assert_int_equal(base_price(f, "a", "i000299"), 2000 + 299);
    assert_int_equal(base_price(f, "c", "i000299"), 3000 + 299);
    assert_int_equal(base_price(f, "b", "i000149"), 1000 + 149);
    assert_int_equal(base_price(f, "b", "i000150"), -1);

    char **list;
    size_t n;
    assert_int_equal(pcd_store_list_chains(f->st, &list, &n), PC_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0], "a");
    assert_string_equal(list[2], "c");
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);

    char err[256];
    assert_int_equal(pcd_store_remove_chain(f->st, "b", err, sizeof err), PC_OK);
    pc_meta_rec m;
    assert_int_equal(pcd_store_get_meta(f->st, "b", &m), PC_NOTFOUND);
    assert_int_equal(base_price(f, "b", "i000001"), -1);
    assert_int_equal(base_price(f, "a", "i000001"), 2001);
    assert_int_equal(base_price(f, "c", "i000001"), 3001);
}

static void test_versions_grow_across_chains(void **state)
{
    fixture *f = *state;
    pcd_snapshot s;
    pcd_publish_stats ps;
    uint64_t last = 0;
    for (int i = 0; i < 6; i++) {
        make_snap(&s, i % 2 ? "x" : "y", 10, 1);
        assert_int_equal(publish(f, &s, &ps), PC_OK);
        assert_true(ps.version > last);
        last = ps.version;
        pcd_snapshot_free(&s);
    }
    pc_daemon_rec d;
    assert_int_equal(pcd_store_get_daemon(f->st, &d), PC_OK);
    assert_int_equal(d.seq, last);
    /* Writing the daemon record never moves the sequence back. */
    d.seq = 1;
    d.ready = 1;
    assert_int_equal(pcd_store_put_daemon(f->st, &d), PC_OK);
    assert_int_equal(pcd_store_get_daemon(f->st, &d), PC_OK);
    assert_int_equal(d.seq, last);
    assert_int_equal(d.ready, 1);
}

static void test_put_meta_only_for_existing(void **state)
{
    fixture *f = *state;
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    assert_int_equal(pcd_store_put_meta(f->st, "ghost", &m), PC_NOTFOUND);
    pcd_snapshot s;
    pcd_publish_stats ps;
    make_snap(&s, "real", 10, 1);
    assert_int_equal(publish(f, &s, &ps), PC_OK);
    pcd_snapshot_free(&s);
    assert_int_equal(pcd_store_get_meta(f->st, "real", &m), PC_OK);
    uint64_t v = m.version;
    m.loads_failed = 42;
    m.breaker = PC_BREAKER_OPEN;
    assert_int_equal(pcd_store_put_meta(f->st, "real", &m), PC_OK);
    assert_int_equal(pcd_store_get_meta(f->st, "real", &m), PC_OK);
    assert_int_equal(m.loads_failed, 42);
    assert_int_equal(m.breaker, PC_BREAKER_OPEN);
    assert_int_equal(m.version, v);
}

static void test_single_writer_lock(void **state)
{
    fixture *f = *state;
    pcd_store *second;
    char err[512];
    assert_int_equal(pcd_store_open(&f->cfg, &second, err, sizeof err), PC_EIO);
    assert_non_null(strstr(err, "another pricecached"));
    assert_null(second);
}

static void test_map_growth_and_limit(void **state)
{
    (void)state;
    char dir[] = "/tmp/pcmapXXXXXX";
    assert_non_null(mkdtemp(dir));
    pcd_config cfg;
    pcd_config_defaults(&cfg);
    cfg.path = strdup(dir);
    cfg.dsn = strdup("x");
    cfg.map_size_mb = 1;
    cfg.map_max_mb = 64;
    pcd_store *st;
    char err[512];
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_OK);
    pcd_snapshot s;
    pcd_publish_stats ps;
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    make_snap(&s, "big", 100000, 1);   /* ~6 MB: needs several doublings */
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
    uint64_t used, size;
    assert_int_equal(pcd_store_usage(st, &used, &size, NULL), PC_OK);
    assert_true(size > (1u << 20));
    pcd_store_close(st);

    /* Now cap the map at its current size: a bigger publish must fail
     * cleanly and leave the previous snapshot whole. */
    cfg.map_size_mb = size >> 20;
    cfg.map_max_mb = size >> 20;
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_OK);
    make_snap(&s, "huge", 400000, 1);
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_EMAPFULL);
    assert_non_null(strstr(err, "map_max_mb"));
    pcd_snapshot_free(&s);
    assert_int_equal(pcd_store_get_meta(st, "huge", &m), PC_NOTFOUND);
    assert_int_equal(pcd_store_get_meta(st, "big", &m), PC_OK);
    assert_int_equal(m.base_rows, 100000);
    /* Issue 13: the store says it is full until a publish commits again
     * (a small metadata write that fits says nothing of the next one). */
    assert_int_equal(pcd_store_map_full(st), 1);
    assert_int_equal(pcd_store_put_meta(st, "big", &m), PC_OK);
    assert_int_equal(pcd_store_map_full(st), 1);
    pcd_store_sample_t smp;
    assert_int_equal(pcd_store_sample(st, &smp), PC_OK);
    assert_int_equal(smp.map_full, 1);
    assert_true(smp.pages_used > 1000);
    assert_true(smp.data_bytes > 0);
    assert_int_equal(smp.readers_max, cfg.max_readers);
    assert_true(smp.last_txnid > 0);
    pcd_store_sample_free(&smp);
    assert_int_equal(pcd_store_busy_ms(st), 0);
    make_snap(&s, "tiny", 10, 1);
    memset(&m, 0, sizeof m);
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
    assert_int_equal(pcd_store_map_full(st), 0);
    pcd_store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    pcd_config_free(&cfg);
}

/* Issue 13, disk full: what counts as running out of disk space.  LMDB
 * turns a short write into EIO ("short write, filesystem full?"). */
static void test_disk_full_cause(void **state)
{
    (void)state;
    assert_int_equal(pcd_st_is_disk_full(ENOSPC, UINT64_MAX, 4096), 1);
    assert_int_equal(pcd_st_is_disk_full(EDQUOT, UINT64_MAX, 4096), 1);
    assert_int_equal(pcd_st_is_disk_full(EIO, 0, 4096), 1);
    assert_int_equal(pcd_st_is_disk_full(EIO, 64 * 4096 - 1, 4096), 1);
    assert_int_equal(pcd_st_is_disk_full(EIO, 64 * 4096, 4096), 0); /* a disk error */
    assert_int_equal(pcd_st_is_disk_full(EIO, UINT64_MAX, 4096), 0); /* statvfs failed */
    assert_int_equal(pcd_st_is_disk_full(EACCES, 0, 4096), 0);
    assert_int_equal(pcd_st_is_disk_full(MDB_CORRUPTED, 0, 4096), 0);
    assert_int_equal(pcd_st_is_disk_full(MDB_MAP_FULL, 0, 4096), 0); /* map full: its own state */
}

/* A directory with a 4 MiB tmpfs mounted on it (root only). */
typedef struct tmpfs_dir {
    char dir[64];
    int  mounted;
} tmpfs_dir;

static int tmpfs_setup(void **state)
{
    tmpfs_dir *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/pcd-diskfull-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=4m pcd-unit-diskfull %s 2>/dev/null", t->dir);
    t->mounted = geteuid() == 0 && system(cmd) == 0;
    *state = t;
    return 0;
}

static int tmpfs_teardown(void **state)
{
    tmpfs_dir *t = *state;
    char cmd[160];
    if (t->mounted) {
        snprintf(cmd, sizeof cmd, "umount %s || umount -l %s", t->dir, t->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot unmount %s\n", t->dir);
    }
    rmdir(t->dir);
    free(t);
    return 0;
}

/* Issue 13, disk full during a publish: the publish fails as PC_EDISKFULL
 * with "disk full: No space left on device (...)", nothing of it is
 * visible, the last snapshot stays whole, the store says so (state and
 * sample) until a publish commits again once space is back. */
static void test_disk_full(void **state)
{
    tmpfs_dir *t = *state;
    if (!t->mounted)
        skip(); /* mounting needs root */
    pcd_config cfg;
    pcd_config_defaults(&cfg);
    cfg.path = strdup(t->dir);
    cfg.dsn = strdup("x");
    cfg.map_size_mb = 64; /* the map is not what runs out */
    cfg.map_max_mb = 64;
    pcd_store *st;
    char err[512];
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_OK);
    pcd_snapshot s;
    pcd_publish_stats ps;
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    make_snap(&s, "small", 200, 1);
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
    pcd_store_disk ds;
    pcd_store_disk_state(st, &ds);
    assert_int_equal(ds.full, 0);

    /* Leave 4 pages free. */
    uint64_t fr;
    assert_int_equal(pcd_store_disk_free(st, &fr), PC_OK);
    assert_true(fr > 1 << 20);
    char filler[128];
    snprintf(filler, sizeof filler, "%s/filler", t->dir);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(posix_fallocate(fd, 0, (off_t)(fr - 16384)), 0);
    close(fd);

    make_snap(&s, "big", 20000, 1); /* ~1 MB of pages */
    memset(&m, 0, sizeof m);
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_EDISKFULL);
    if (strncmp(err, "disk full: No space left on device (chain big: publish failed", 61) != 0)
        fail_msg("error: %s", err);
    assert_int_equal(pcd_store_disk_full(st), 1);
    pcd_store_disk_state(st, &ds);
    assert_int_equal(ds.full, 1);
    assert_true(ds.since_ms > 0);
    assert_true(ds.fail_mono_ms > 0 && ds.fail_mono_ms <= pc_mono_ms());
    assert_true(ds.free_at_fail < 64 * 4096);
    assert_int_equal(strncmp(ds.error, "disk full: No space left on device", 34), 0);
    assert_int_equal(pcd_store_map_full(st), 0);
    /* Nothing of it, all of the last one. */
    assert_int_equal(pcd_store_get_meta(st, "big", &m), PC_NOTFOUND);
    assert_int_equal(pcd_store_get_meta(st, "small", &m), PC_OK);
    assert_int_equal(m.base_rows, 200);
    pcd_store_sample_t smp;
    assert_int_equal(pcd_store_sample(st, &smp), PC_OK);
    assert_int_equal(smp.disk_full, 1);
    assert_true(smp.disk_free < 64 * 4096);
    assert_true(smp.disk_at_ms >= ds.fail_mono_ms); /* asked after the failure */
    pcd_store_sample_free(&smp);
    /* Still full while the filler stays. */
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_EDISKFULL);

    /* Space back: the publish commits and ends the episode. */
    assert_int_equal(unlink(filler), 0);
    memset(&m, 0, sizeof m);
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
    assert_int_equal(pcd_store_disk_full(st), 0);
    pcd_store_disk_state(st, &ds);
    assert_int_equal(ds.full, 0);
    assert_string_equal(ds.error, "");
    assert_int_equal(pcd_store_get_meta(st, "big", &m), PC_OK);
    assert_int_equal(m.base_rows, 20000);
    pcd_store_close(st);
    pcd_config_free(&cfg); /* the teardown unmounts the tmpfs, files and all */
}

static void test_foreign_format_refused(void **state)
{
    (void)state;
    char dir[] = "/tmp/pcfmtXXXXXX";
    assert_non_null(mkdtemp(dir));
    /* An LMDB environment with other data and no format record. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mdb_env_create(&env);
    assert_int_equal(mdb_env_open(env, dir, 0, 0644), 0);
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, NULL, 0, &dbi);
    MDB_val k = { 3, "foo" }, v = { 3, "bar" };
    mdb_put(txn, dbi, &k, &v, 0);
    mdb_txn_commit(txn);
    mdb_env_close(env);

    pcd_config cfg;
    pcd_config_defaults(&cfg);
    cfg.path = strdup(dir);
    cfg.dsn = strdup("x");
    pcd_store *st;
    char err[512];
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_EFORMAT);
    assert_non_null(strstr(err, "not a pricecache environment"));
    pcd_config_free(&cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_and_noop_republish, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_diff_changes, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_diff_second_half, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_chains_side_by_side, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_versions_grow_across_chains, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_put_meta_only_for_existing, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_single_writer_lock, store_setup, store_teardown),
        cmocka_unit_test(test_map_growth_and_limit),
        cmocka_unit_test(test_disk_full_cause),
        cmocka_unit_test_setup_teardown(test_disk_full, tmpfs_setup, tmpfs_teardown),
        cmocka_unit_test(test_foreign_format_refused),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
