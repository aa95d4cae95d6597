/* test_reader.c - libpricecache against environments written by the daemon's store: semantics, errors, threads, map growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pc_format.h"
#include "pc_reader_internal.h"
#include "pricecache.h"
#include "snapshot.h"
#include "store.h"

static char dir[64];
static pcd_config cfg;
static pcd_store *st;

static void publish(const char *chain, int n, int64_t base_price, int with_store)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, chain);
    char id[32];
    for (int k = 0; k < n; k++) {
        int len = snprintf(id, sizeof id, "i%07d", k);
        pcd_snapshot_add(&s, NULL, 0, id, (size_t)len, base_price, 1000 + k);
    }
    if (with_store)
        for (int k = 0; k < n; k += 2) {
            int len = snprintf(id, sizeof id, "i%07d", k);
            pcd_snapshot_add(&s, "s1", 2, id, (size_t)len, base_price + 1, 2000 + k);
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
    strcpy(dir, "/tmp/pcreaderXXXXXX");
    assert_non_null(mkdtemp(dir));
    pcd_config_defaults(&cfg);
    cfg.path = strdup(dir);
    cfg.dsn = strdup("x");
    cfg.map_size_mb = 1;
    char err[256];
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_OK);
    publish("acme", 100, 500, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pcd_store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    pcd_config_free(&cfg);
    return 0;
}

static void test_semantics(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    pc_price p;
    assert_int_equal(pc_get(r, "acme", "s1", "i0000002", &p), PC_OK);
    assert_int_equal(p.cents, 501);
    assert_int_equal(p.updated_at, 2002);
    assert_int_equal(p.flags, PC_PRICE_STORE);
    assert_int_equal(pc_get(r, "acme", "s1", "i0000003", &p), PC_OK);  /* no exception */
    assert_int_equal(p.cents, 500);
    assert_int_equal(p.flags, 0);
    assert_int_equal(pc_get(r, "acme", NULL, "i0000002", &p), PC_OK);
    assert_int_equal(p.cents, 500);
    assert_int_equal(pc_get(r, "acme", "", "i0000002", &p), PC_OK);
    assert_int_equal(p.flags, 0);
    p.cents = -42;
    assert_int_equal(pc_get(r, "acme", "s1", "nope", &p), PC_NOTFOUND);
    assert_int_equal(p.cents, -42); /* untouched */
    assert_int_equal(pc_get(r, "other", "s1", "i0000002", &p), PC_ENOCHAIN);
    /* bad arguments */
    char longid[PC_ID_MAX + 2];
    memset(longid, 'a', sizeof longid);
    longid[PC_ID_MAX + 1] = 0;
    assert_int_equal(pc_get(r, "acme", "s1", longid, &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme", longid, "i0000002", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme", "s1", "", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme", "s1", NULL, &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "ACME", "s1", "x", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, NULL, "s1", "x", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme", "s1", "x", NULL), PC_EINVAL);
    assert_int_equal(pc_get(NULL, "acme", "s1", "x", &p), PC_EINVAL);

    pc_chain_meta m;
    assert_int_equal(pc_chain_info(r, "acme", &m), PC_OK);
    assert_int_equal(m.base_rows, 100);
    assert_int_equal(m.store_rows, 50);
    assert_int_equal(m.avg_cents, 500);
    assert_int_equal(m.breaker, PC_BREAKER_CLOSED);
    assert_true(m.version > 0 && m.loaded_at > 0);
    assert_int_equal(pc_chain_info(r, "none", &m), PC_ENOCHAIN);

    char **chains;
    size_t n;
    publish("beta", 3, 1, 0);
    assert_int_equal(pc_chains(r, &chains, &n), PC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(chains[0], "acme");
    assert_string_equal(chains[1], "beta");
    assert_null(chains[2]);
    pc_free_chains(chains);
    pc_close(r);
    pc_close(NULL);
}

static void test_get_many(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    const char *items[] = { "i0000000", "i0000001", "nope", "", NULL };
    pc_price out[5];
    int status[5];
    assert_int_equal(pc_get_many(r, "acme", "s1", 5, items, out, status), PC_OK);
    assert_int_equal(status[0], PC_OK);
    assert_int_equal(out[0].cents, 501);
    assert_int_equal(status[1], PC_OK);
    assert_int_equal(out[1].cents, 500);
    assert_int_equal(status[2], PC_NOTFOUND);
    assert_int_equal(status[3], PC_EINVAL);
    assert_int_equal(status[4], PC_EINVAL);
    assert_int_equal(pc_get_many(r, "zzz", "s1", 2, items, out, status), PC_ENOCHAIN);
    assert_int_equal(status[0], PC_ENOCHAIN);
    assert_int_equal(status[1], PC_ENOCHAIN);
    assert_int_equal(pc_get_many(r, "acme", NULL, 0, NULL, NULL, NULL), PC_OK);
    assert_int_equal(pc_get_many(r, "acme", NULL, 1, NULL, out, status), PC_EINVAL);
    pc_close(r);
}

static void test_not_ready_and_format(void **state)
{
    (void)state;
    pc_reader *r = (pc_reader *)0x1;
    assert_int_equal(pc_open("/nonexistent/pricecache", &r), PC_ENOTREADY);
    assert_null(r);
    char empty[] = "/tmp/pcemptyXXXXXX";
    assert_non_null(mkdtemp(empty));
    assert_int_equal(pc_open(empty, &r), PC_ENOTREADY);
    /* an LMDB environment that is not ours */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mdb_env_create(&env);
    assert_int_equal(mdb_env_open(env, empty, 0, 0644), 0);
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, NULL, 0, &dbi);
    MDB_val k = { 3, "foo" }, v = { 3, "bar" };
    mdb_put(txn, dbi, &k, &v, 0);
    mdb_txn_commit(txn);
    assert_int_equal(pc_open(empty, &r), PC_EFORMAT);
    /* ours but from a future format */
    pc_fmt_rec f;
    pc_fmt_init(&f);
    f.version = PC_FORMAT_VERSION + 1;
    uint8_t kb[4];
    MDB_val fk = { pc_key_fmt(kb), kb }, fv = { sizeof f, &f };
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_put(txn, dbi, &fk, &fv, 0);
    mdb_txn_commit(txn);
    mdb_env_close(env);
    assert_int_equal(pc_open(empty, &r), PC_EFORMAT);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", empty);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(pc_open(NULL, &r), PC_EINVAL);
    assert_int_equal(pc_open(dir, NULL), PC_EINVAL);
}

static void *set_ready_later(void *arg)
{
    (void)arg;
    usleep(150 * 1000);
    pc_daemon_rec d;
    memset(&d, 0, sizeof d);
    d.ready = 1;
    d.state = PC_DAEMON_READY;
    assert_int_equal(pcd_store_put_daemon(st, &d), PC_OK);
    return NULL;
}

static void test_wait_ready(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    assert_int_equal(pc_wait_ready(r, 0), PC_ETIMEDOUT);
    assert_int_equal(pc_wait_ready(r, 50), PC_ETIMEDOUT);
    pthread_t t;
    pthread_create(&t, NULL, set_ready_later, NULL);
    assert_int_equal(pc_wait_ready(r, 5000), PC_OK);
    pthread_join(t, NULL);
    assert_int_equal(pc_wait_ready(r, 0), PC_OK);
    pc_close(r);
}

/* Readers in several threads while the writer grows the map far past the
 * size they mapped: they adopt it and keep answering. */
static pc_reader *shared;
static atomic_int stop_readers;

static void *reader_thread(void *arg)
{
    long *bad = arg;
    char id[32];
    for (long k = 0; !stop_readers; k++) {
        snprintf(id, sizeof id, "i%07ld", k % 100);
        pc_price p;
        int rc = pc_get(shared, "acme", "s1", id, &p);
        if (rc != PC_OK || (p.cents != 500 && p.cents != 501))
            (*bad)++;
    }
    return NULL;
}

static void test_threads_and_map_growth(void **state)
{
    (void)state;
    assert_int_equal(pc_open(dir, &shared), PC_OK);
    pthread_t t[6];
    long bad[6] = { 0 };
    stop_readers = 0;
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, reader_thread, &bad[i]);
    uint64_t size0;
    assert_int_equal(pc_reader_env_info(shared, NULL, &size0, NULL, NULL), PC_OK);
    for (int round = 0; round < 4; round++) {
        char name[16];
        snprintf(name, sizeof name, "big%d", round);
        publish(name, 40000, 7, 1);   /* ~3 MB each: the 1 MB map must grow */
    }
    stop_readers = 1;
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(bad[i], 0);
    }
    pc_price p;
    assert_int_equal(pc_get(shared, "big3", "s1", "i0039998", &p), PC_OK);
    assert_int_equal(p.cents, 8);
    uint64_t size1;
    assert_int_equal(pc_reader_env_info(shared, NULL, &size1, NULL, NULL), PC_OK);
    assert_true(size1 > size0);
    pc_close(shared);
}

static void *one_lookup(void *arg)
{
    pc_price p;
    *(int *)arg = pc_get(shared, "acme", "", "i0000001", &p);
    return NULL;
}

static void test_slots_released_at_thread_exit(void **state)
{
    (void)state;
    assert_int_equal(pc_open(dir, &shared), PC_OK);
    unsigned used0, used1;
    pc_reader_env_info(shared, NULL, NULL, &used0, NULL);
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        int rc = -1;
        pthread_create(&t, NULL, one_lookup, &rc);
        pthread_join(t, NULL);
        assert_int_equal(rc, PC_OK);
    }
    pc_reader_env_info(shared, NULL, NULL, &used1, NULL);
    /* exited threads gave their slots back (LMDB reuses them) */
    assert_true(used1 <= used0 + 2);
    pc_close(shared);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_ready_and_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_and_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slots_released_at_thread_exit, setup, teardown),
    };
    return cmocka_run_group_tests_name("reader", tests, NULL, NULL);
}
