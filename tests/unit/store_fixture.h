/* store_fixture.h - the cmocka fixture of the store's unit tests: a pcd_store opened on a fresh temporary directory, removed afterwards. */
#ifndef PC_TEST_STORE_FIXTURE_H
#define PC_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "config.h"
#include "pc_format.h"
#include "snapshot.h"
#include "store.h"

typedef struct fixture {
    char dir[64];
    pcd_config cfg;
    pcd_store *st;
} fixture;

static int store_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/pcstoreXXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(pcd_config_defaults(&f->cfg), PC_OK);
    f->cfg.path = strdup(f->dir);
    f->cfg.dsn = strdup("dbname=unused");
    char err[256];
    assert_int_equal(pcd_store_open(&f->cfg, &f->st, err, sizeof err), PC_OK);
    *state = f;
    return 0;
}

static int store_teardown(void **state)
{
    fixture *f = *state;
    pcd_store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    pcd_config_free(&f->cfg);
    free(f);
    return 0;
}

/* Chain acme's keys and values in LMDB, read with raw LMDB (independent
 * of the store under test), are exactly the snapshot's records. */
static inline void expect_chain_is(fixture *f, const pcd_snapshot *s)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxreaders(env, 1024), 0);
    assert_int_equal(mdb_env_open(env, f->dir, MDB_RDONLY, 0), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    uint8_t prefix[PC_CHAIN_MAX + 2];
    size_t plen = pc_key_chain_prefix(prefix, "acme", 4);
    MDB_val k = { plen, prefix }, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    size_t i = 0;
    while (rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
        if (i == s->n || k.mv_size != s->recs[i].klen ||
            memcmp(k.mv_data, s->recs[i].key, k.mv_size) != 0)
            fail_msg("LMDB key %zu (%.*s) is not the snapshot's", i, (int)k.mv_size,
                     (const char *)k.mv_data);
        if (v.mv_size != sizeof s->recs[i].val ||
            memcmp(v.mv_data, &s->recs[i].val, v.mv_size) != 0)
            fail_msg("LMDB value of key %zu (%.*s) is not the snapshot's", i,
                     (int)k.mv_size, (const char *)k.mv_data);
        i++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    assert_int_equal(i, s->n);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

#endif
