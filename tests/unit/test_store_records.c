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

/* Issue 14: the sources record, written by the daemon, read through the
 * public pc_source_read, and refused when malformed. */
static void test_sources_record(void **state)
{
    fixture *f = *state;
    pc_reader *r;
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    pc_source_status st = { .size = sizeof st };
    assert_int_equal(pc_source_read(r, 0, &st), PC_NOTFOUND); /* never recorded */
    pc_source_rec recs[2];
    memset(recs, 0, sizeof recs);
    snprintf(recs[0].name, sizeof recs[0].name, "primary");
    snprintf(recs[0].where, sizeof recs[0].where, "db:5432");
    recs[0].state = PC_SOURCE_UP;
    recs[0].up = 1;
    recs[0].lag_bytes = recs[0].lag_ms = -1;
    recs[0].reads_delta = 3;
    snprintf(recs[1].name, sizeof recs[1].name, "replica1");
    snprintf(recs[1].where, sizeof recs[1].where, "r1:5433");
    recs[1].state = PC_SOURCE_LAGGING;
    recs[1].breaker = PC_BREAKER_CLOSED;
    recs[1].lag_bytes = 4096;
    recs[1].lag_ms = 75200;
    recs[1].reads_load = 7;
    snprintf(recs[1].why, sizeof recs[1].why, "75.2 s behind");
    assert_int_equal(pcd_store_put_sources(f->st, recs, 2), PC_OK);
    assert_int_equal(pc_source_read(r, 0, &st), PC_OK);
    assert_string_equal(st.name, "primary");
    assert_int_equal(st.up, 1);
    assert_true(st.lag_bytes == -1 && st.reads_delta == 3);
    assert_true(st.updated_ms > 0);
    assert_int_equal(pc_source_read(r, 1, &st), PC_OK);
    assert_string_equal(st.name, "replica1");
    assert_string_equal(st.where, "r1:5433");
    assert_string_equal(pc_source_state_name((int)st.state), "lagging");
    assert_true(st.lag_bytes == 4096 && st.lag_ms == 75200 && st.reads_load == 7);
    assert_string_equal(st.why, "75.2 s behind");
    assert_int_equal(pc_source_read(r, 2, &st), PC_NOTFOUND);
    pc_source_status small = { .size = 8 };
    assert_int_equal(pc_source_read(r, 0, &small), PC_EINVAL);
    assert_string_equal(pc_source_state_name(99), "unknown");
    pc_close(r);

    /* The codec refuses what does not add up. */
    struct { pc_sources_rec h; pc_source_rec e[1]; } bad;
    memset(&bad, 0, sizeof bad);
    bad.h.size = sizeof bad.h;
    bad.h.count = 2; /* but one entry follows */
    bad.h.entry_size = sizeof bad.e[0];
    pc_source_rec out;
    size_t n;
    assert_int_equal(pc_sources_decode(&bad, sizeof bad, 0, &out, &n, NULL), PC_EFORMAT);
    bad.h.count = 1;
    assert_int_equal(pc_sources_decode(&bad, sizeof bad, 0, &out, &n, NULL), PC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pc_sources_decode(&bad, 4, 0, &out, &n, NULL), PC_EFORMAT);
    bad.h.size = 1000;
    assert_int_equal(pc_sources_decode(&bad, sizeof bad, 0, &out, &n, NULL), PC_EFORMAT);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memo_follows_commits, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_read_never_waits_for_writer, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_sources_record, store_setup, store_teardown),
    };
    return cmocka_run_group_tests_name("store_records", tests, NULL, NULL);
}
