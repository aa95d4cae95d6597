/* test_store_records.c - the store's meta records: the memo follows every commit (publish, put, audited put, removal) and a read never waits for a writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "pc_format.h"
#include "snapshot.h"
#include "store.h"
#include "store_int.h"

#include "store_fixture.h"

static uint64_t publish(fixture *f, const char *chain, int n)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, chain);
    char id[32];
    for (int k = 0; k < n; k++) {
        int len = snprintf(id, sizeof id, "i%04d", k);
        assert_int_equal(pcd_snapshot_add(&s, NULL, 0, id, (size_t)len, 100 + k, 1700000000),
                         PC_OK);
    }
    pcd_snapshot_finish(&s);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    pcd_publish_stats ps;
    char err[256];
    assert_int_equal(pcd_store_publish(f->st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
    return ps.version;
}

/* What a fresh handle reads from the environment itself. */
static void meta_on_disk(fixture *f, const char *chain, int want_rc, pc_meta_rec *out)
{
    pcd_store_close(f->st);
    char err[256];
    assert_int_equal(pcd_store_open(&f->cfg, &f->st, err, sizeof err), PC_OK);
    assert_int_equal(pcd_store_get_meta(f->st, chain, out), want_rc);
}

static void test_memo_follows_commits(void **state)
{
    fixture *f = *state;
    pc_meta_rec m, disk;
    assert_int_equal(pcd_store_get_meta(f->st, "a", &m), PC_NOTFOUND);

    uint64_t v1 = publish(f, "a", 10);
    assert_int_equal(pcd_store_get_meta(f->st, "a", &m), PC_OK);
    assert_int_equal(m.version, v1);
    assert_int_equal(m.base_rows, 10);

    m.consecutive_failures = 4;
    snprintf(m.last_error, sizeof m.last_error, "boom");
    assert_int_equal(pcd_store_put_meta(f->st, "a", &m), PC_OK);
    assert_int_equal(pcd_store_get_meta(f->st, "a", &m), PC_OK);
    assert_int_equal(m.consecutive_failures, 4);
    assert_string_equal(m.last_error, "boom");

    uint64_t seq = 0;
    m.breaker = PC_BREAKER_CLOSED;
    m.consecutive_failures = 0;
    assert_int_equal(pcd_store_put_meta_audited(f->st, "a", &m, "test action=reset", &seq),
                     PC_OK);
    assert_true(seq > 0);
    assert_int_equal(pcd_store_get_meta(f->st, "a", &m), PC_OK);
    assert_int_equal(m.consecutive_failures, 0);

    uint64_t v2 = publish(f, "a", 7);
    assert_true(v2 > v1);
    assert_int_equal(pcd_store_get_meta(f->st, "a", &m), PC_OK);
    assert_int_equal(m.version, v2);
    assert_int_equal(m.base_rows, 7);
    meta_on_disk(f, "a", PC_OK, &disk);
    assert_memory_equal(&m, &disk, sizeof m);

    /* A write that finds no chain changes nothing, in the memo either. */
    assert_int_equal(pcd_store_put_meta(f->st, "ghost", &m), PC_NOTFOUND);
    assert_int_equal(pcd_store_get_meta(f->st, "ghost", &m), PC_NOTFOUND);

    char err[256];
    assert_int_equal(pcd_store_get_meta(f->st, "a", &m), PC_OK);
    assert_int_equal(pcd_store_remove_chain(f->st, "a", err, sizeof err), PC_OK);
    assert_int_equal(pcd_store_get_meta(f->st, "a", &m), PC_NOTFOUND);
    meta_on_disk(f, "a", PC_NOTFOUND, &disk);
}

struct reader { pcd_store *st; int rc; pc_meta_rec m; };

static void *read_meta(void *arg)
{
    struct reader *r = arg;
    r->rc = pcd_store_get_meta(r->st, "a", &r->m);
    return NULL;
}

static void test_read_never_waits_for_writer(void **state)
{
    fixture *f = *state;
    uint64_t v = publish(f, "a", 5);
    /* A writer in the middle of its transaction holds the store lock. */
    pthread_mutex_lock(&f->st->mu);
    struct reader r = { f->st, -1, { 0 } };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_meta, &r), 0);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    int joined = pthread_timedjoin_np(t, NULL, &dl);
    pthread_mutex_unlock(&f->st->mu);
    if (joined != 0)
        pthread_join(t, NULL);
    assert_int_equal(joined, 0); /* the read did not wait for the lock */
    assert_int_equal(r.rc, PC_OK);
    assert_int_equal(r.m.version, v);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memo_follows_commits, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_read_never_waits_for_writer, store_setup, store_teardown),
    };
    return cmocka_run_group_tests_name("store_records", tests, NULL, NULL);
}
