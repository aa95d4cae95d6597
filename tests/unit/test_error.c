/* test_error.c - the detail of a failed call (client/error.c, client/errdetail.h): pc_errdetail gives the sentence of the call that recorded it, never an earlier call's sentence for a later failure with the same code, and never one for another code.
 *
 * Caches written with raw LMDB, the handle closed before pc_open (LMDB
 * forbids two handles on one environment in a process).  A data.mdb that
 * is no LMDB file makes pc_open record a detail ("data.mdb: not an LMDB
 * file..."); a price value of the wrong size makes pc_get fail with the
 * same code, PC_EFORMAT, recording none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errdetail.h"
#include "pc_format.h"
#include "pricecache.h"

#define JUNK_DETAIL "data.mdb: not an LMDB file"

typedef struct fixture {
    char good[64]; /* a cache: acme (item1), and odd/short of the wrong size */
    char junk[64]; /* a data.mdb of junk */
} fixture;

static int put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t klen, const void *v, size_t vlen)
{
    MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
    return mdb_put(t, dbi, &key, &val, 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->good, "/tmp/pc_test_error.XXXXXX");
    assert_non_null(mkdtemp(f->good));
    strcpy(f->junk, "/tmp/pc_test_error.XXXXXX");
    assert_non_null(mkdtemp(f->junk));

    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 1 << 20), 0);
    assert_int_equal(mdb_env_open(env, f->good, 0, 0660), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, NULL, 0, &dbi), 0);
    uint8_t kb[PC_KEY_MAX];
    pc_fmt_rec fmt;
    pc_fmt_init(&fmt);
    assert_int_equal(put(t, dbi, kb, pc_key_fmt(kb), &fmt, sizeof fmt), 0);
    pc_meta_rec meta;
    memset(&meta, 0, sizeof meta);
    meta.size = sizeof meta;
    meta.version = 1;
    assert_int_equal(put(t, dbi, kb, pc_key_meta(kb, "acme", 4), &meta, sizeof meta), 0);
    assert_int_equal(put(t, dbi, kb, pc_key_meta(kb, "odd", 3), &meta, sizeof meta), 0);
    pc_price_rec price = { 100, 1700000000 };
    assert_int_equal(put(t, dbi, kb, pc_key_base(kb, "acme", 4, "item1", 5), &price, sizeof price),
                     0);
    int64_t eight = 8;
    assert_int_equal(put(t, dbi, kb, pc_key_base(kb, "odd", 3, "short", 5), &eight, sizeof eight),
                     0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);

    char path[128], junk[8192];
    memset(junk, 'x', sizeof junk);
    snprintf(path, sizeof path, "%s/data.mdb", f->junk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", f->good, f->junk);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* pc_open on the junk: PC_EFORMAT, and the sentence naming data.mdb. */
static void refused(const fixture *f)
{
    pc_reader *r = (pc_reader *)f; /* not NULL: pc_open must clear it */
    assert_int_equal(pc_open(f->junk, &r), PC_EFORMAT);
    assert_null(r);
    assert_non_null(strstr(pc_errdetail(PC_EFORMAT), JUNK_DETAIL));
}

static void test_detail_is_the_calls(void **state)
{
    fixture *f = *state;
    pc_reader *r = NULL;
    assert_int_equal(pc_open(f->good, &r), PC_OK);
    pc_price p;
    assert_int_equal(pc_get(r, "acme", NULL, "item1", &p), PC_OK);
    assert_int_equal(p.cents, 100);

    /* After the call that recorded it, as often as asked; no other code
     * is explained by it. */
    refused(f);
    assert_non_null(strstr(pc_errdetail(PC_EFORMAT), JUNK_DETAIL));
    assert_string_equal(pc_errdetail(PC_EIO), pc_strerror(PC_EIO));
    assert_string_equal(pc_errdetail(PC_ENOCHAIN), pc_strerror(PC_ENOCHAIN));
    assert_string_equal(pc_errdetail(PC_NOTFOUND), pc_strerror(PC_NOTFOUND));
    assert_string_equal(pc_errdetail(PC_OK), pc_strerror(PC_OK));

    /* A later PC_EFORMAT of another cause, with no sentence of its own:
     * the code's text, not the earlier refusal's. */
    assert_int_equal(pc_get(r, "odd", NULL, "short", &p), PC_EFORMAT);
    assert_string_equal(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT));

    /* The same with successes and a miss in between. */
    refused(f);
    assert_int_equal(pc_get(r, "acme", NULL, "item1", &p), PC_OK);
    assert_int_equal(pc_get(r, "acme", NULL, "nope", &p), PC_NOTFOUND);
    assert_int_equal(pc_get(r, "odd", NULL, "short", &p), PC_EFORMAT);
    assert_string_equal(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT));

    /* pc_get_many returns PC_OK; the item's status is the failure. */
    refused(f);
    const char *items[] = { "short" };
    pc_price out[1];
    int status[1];
    assert_int_equal(pc_get_many(r, "odd", NULL, 1, items, out, status), PC_OK);
    assert_int_equal(status[0], PC_EFORMAT);
    assert_string_equal(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT));

    /* A call that fails because a call it made failed keeps that call's
     * sentence: pc_bus_resolve opens the cache for the announced address. */
    unsetenv("PRICECACHE_EVENTS");
    char addr[256];
    assert_int_equal(pc_bus_resolve(f->junk, PC_BUS_EVENTS, NULL, PC_BUS_NO_DEFAULT, addr,
                                    sizeof addr, NULL),
                     PC_EFORMAT);
    assert_non_null(strstr(pc_errdetail(PC_EFORMAT), JUNK_DETAIL));
    pc_close(r);
}

/* Public call i, refusing its arguments (nothing is opened); 1 past the
 * last.  Every one that can fail, so that a call added without settling
 * the detail shows here. */
static int refuse(int i)
{
    pc_reader *r = NULL;
    pc_price p;
    pc_chain_meta m;
    char **chains, buf[64];
    size_t n;
    pc_basket_result *res;
    pc_sub *sub;
    pc_event ev;
    const pc_scan_row *const *rows;
    pc_scan *scan;
    switch (i) {
    case 0:  return pc_open(NULL, &r);
    case 1:  return pc_get(NULL, "acme", NULL, "item1", &p);
    case 2:  return pc_get_many(NULL, "acme", NULL, 0, NULL, NULL, NULL);
    case 3:  return pc_chain_info(NULL, "acme", &m);
    case 4:  return pc_chains(NULL, &chains, &n);
    case 5:  return pc_wait_ready(NULL, 0);
    case 6:  return pc_basket_single(NULL, "acme", NULL, NULL, 0, NULL, &res);
    case 7:  return pc_basket_multi(NULL, "acme", NULL, 0, NULL, 0, NULL, &res);
    case 8:  return pc_control(NULL, "status", buf, sizeof buf, 100);
    case 9:  return pc_bus_addrs(NULL, buf, sizeof buf, NULL, 0);
    case 10: return pc_sub_open(NULL, NULL, 0, &sub);
    case 11: return pc_sub_next(NULL, 0, &ev);
    case 12: return pc_stats_read(NULL, NULL);
    case 13: return pc_daemon_read(NULL, NULL);
    case 14: return pc_source_read(NULL, 0, NULL);
    case 15: return pc_chain_read(NULL, "acme", NULL);
    case 16: return pc_env_read(NULL, NULL);
    case 17: return pc_readers_list(NULL, NULL, 0, &n, NULL);
    case 18: return pc_scan_open(NULL, "acme", 0, &scan);
    case 19: return pc_scan_next(NULL, &rows, &n, NULL);
    case 20: return pc_audit_next(NULL, 0, NULL);
    case 21: return pc_audit_verify(NULL, NULL);
    case 22: return pc_bus_resolve(NULL, PC_BUS_EVENTS, NULL, 0, NULL, 0, NULL);
    default: return 1;
    }
}

static void test_every_call_drops_an_old_detail(void **state)
{
    fixture *f = *state;
    for (int i = 0;; i++) {
        refused(f);
        int rc = refuse(i);
        if (rc == 1)
            break;
        assert_int_equal(rc, PC_EINVAL);
        /* Asked about the code of the refusal before: gone. */
        if (strcmp(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT)) != 0)
            fail_msg("public call %d failed and kept an earlier call's detail", i);
    }
}

/* The rules of errdetail.h, on their own. */
static void test_settle(void **state)
{
    (void)state;
    pc_detail_clear();
    assert_string_equal(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT));
    /* The call that recorded it fails: kept, for its code only. */
    pc_detail_set(PC_EFORMAT, "lock.mdb: something");
    assert_int_equal(pc_api_return(PC_EFORMAT), PC_EFORMAT);
    assert_string_equal(pc_errdetail(PC_EFORMAT), "lock.mdb: something");
    assert_string_equal(pc_errdetail(PC_EIO), pc_strerror(PC_EIO));
    /* A success or a miss leaves it alone (no work on the lookup path)... */
    assert_int_equal(pc_api_return(PC_OK), PC_OK);
    assert_int_equal(pc_api_return(PC_NOTFOUND), PC_NOTFOUND);
    assert_string_equal(pc_errdetail(PC_EFORMAT), "lock.mdb: something");
    /* ...the next failure, which recorded nothing, drops it. */
    assert_int_equal(pc_api_return(PC_EFORMAT), PC_EFORMAT);
    assert_string_equal(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT));
    /* A failure with another code than the one recorded keeps it, but
     * pc_errdetail answers its own code with the code's text. */
    pc_detail_set(PC_EFORMAT, "data.mdb: something");
    assert_int_equal(pc_api_return(PC_EIO), PC_EIO);
    assert_string_equal(pc_errdetail(PC_EIO), pc_strerror(PC_EIO));
    /* Never a detail for PC_NOTFOUND, an answer. */
    pc_detail_set(PC_NOTFOUND, "never");
    assert_int_equal(pc_api_return(PC_NOTFOUND), PC_NOTFOUND);
    assert_string_equal(pc_errdetail(PC_NOTFOUND), pc_strerror(PC_NOTFOUND));
    pc_detail_clear();
    assert_non_null(pc_errdetail(12345));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settle),
        cmocka_unit_test_setup_teardown(test_detail_is_the_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_call_drops_an_old_detail, setup, teardown),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
