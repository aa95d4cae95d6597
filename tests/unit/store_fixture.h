/* store_fixture.h - the cmocka fixture of the store's unit tests: a pcd_store opened on a fresh temporary directory, removed afterwards. */
#ifndef PC_TEST_STORE_FIXTURE_H
#define PC_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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

#endif
