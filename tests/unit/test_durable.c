/* test_durable.c - the unsynced marker (client/unsynced.c, daemon/durable.c) and the sync thread against a real LMDB environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "pc_format.h"
#include "pricecache.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pc-durable.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put_file(const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *name)
{
    char p[128];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static void read_marker(char *out, size_t len)
{
    char p[128];
    snprintf(p, sizeof p, "%s/" PC_UNSYNCED_FILE, dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, (int)len, f));
    fclose(f);
    out[strcspn(out, "\n")] = 0;
}

/* No marker (a clean stop, or no daemon yet), or this boot's: readable.
 * Another boot's: not ready, and the sentence names the boot. */
static void test_check(void **state)
{
    (void)state;
    char boot[PC_BOOT_ID_MAX], why[600] = "";
    pc_boot_id(boot);
    assert_true(boot[0] != 0); /* Linux says */
    assert_int_equal(pc_unsynced_check(dir, why, sizeof why), PC_OK);
    char line[PC_BOOT_ID_MAX + 1];
    snprintf(line, sizeof line, "%s\n", boot);
    put_file(PC_UNSYNCED_FILE, line);
    assert_int_equal(pc_unsynced_check(dir, why, sizeof why), PC_OK);
    put_file(PC_UNSYNCED_FILE, "00000000-0000-4000-8000-000000000000\n");
    assert_int_equal(pc_unsynced_check(dir, why, sizeof why), PC_ENOTREADY);
    assert_non_null(strstr(why, "went down"));
    assert_non_null(strstr(why, "00000000-0000-4000-8000-000000000000"));
    put_file(PC_UNSYNCED_FILE, ""); /* empty: written by no boot we are */
    assert_int_equal(pc_unsynced_check(dir, NULL, 0), PC_ENOTREADY);
}

/* The start after a system crash removes the environment's files (and
 * nothing else), then marks this boot; after a daemon of this boot it
 * keeps them. */
static void test_begin(void **state)
{
    (void)state;
    char boot[PC_BOOT_ID_MAX], mark[PC_BOOT_ID_MAX + 2], err[600];
    pc_boot_id(boot);
    put_file("data.mdb", "x");
    put_file("lock.mdb", "x");
    put_file("daemon.lock", "");
    put_file(PC_UNSYNCED_FILE, "00000000-0000-4000-8000-000000000000\n");
    int rebuilt = -1;
    assert_int_equal(pcd_durable_begin(dir, &rebuilt, err, sizeof err), PC_OK);
    assert_int_equal(rebuilt, 1);
    assert_false(exists("data.mdb"));
    assert_false(exists("lock.mdb"));
    assert_true(exists("daemon.lock"));
    read_marker(mark, sizeof mark);
    assert_string_equal(mark, boot);
    assert_false(exists(PC_UNSYNCED_FILE ".tmp"));

    put_file("data.mdb", "x");
    assert_int_equal(pcd_durable_begin(dir, &rebuilt, err, sizeof err), PC_OK);
    assert_int_equal(rebuilt, 0);
    assert_true(exists("data.mdb"));
}

struct writer {
    MDB_env *env;
    pcd_syncer *s;
    int n;
};

static void *write_many(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        MDB_txn *txn;
        MDB_dbi dbi;
        char kb[16];
        snprintf(kb, sizeof kb, "k%d", i);
        MDB_val k = { strlen(kb), kb }, v = { sizeof i, &i };
        assert_int_equal(mdb_txn_begin(w->env, NULL, 0, &txn), 0);
        assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
        pcd_syncer_kick(w->s);
    }
    return NULL;
}

/* Commits kicked from another thread are all synced; the stop removes the
 * marker. */
static void test_syncer(void **state)
{
    (void)state;
    int rebuilt;
    char err[600];
    assert_int_equal(pcd_durable_begin(dir, &rebuilt, err, sizeof err), PC_OK);
    assert_true(exists(PC_UNSYNCED_FILE));
    MDB_env *env;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOSYNC, 0640), 0);
    pthread_rwlock_t map_lock;
    pthread_rwlock_init(&map_lock, NULL);
    pcd_syncer *s = pcd_syncer_start(env, &map_lock, dir, err, sizeof err);
    assert_non_null(s);
    struct writer w = { env, s, 200 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_many, &w), 0);
    pthread_join(t, NULL);
    unsigned long long committed = 0, synced = 0;
    for (int i = 0; i < 5000; i++) {
        pcd_syncer_counts(s, &committed, &synced);
        if (synced == committed)
            break;
        usleep(1000);
    }
    assert_int_equal(committed, 200);
    assert_int_equal(synced, 200);
    assert_true(exists(PC_UNSYNCED_FILE));
    pcd_syncer_stop(s);
    assert_false(exists(PC_UNSYNCED_FILE));
    mdb_env_close(env);
    pthread_rwlock_destroy(&map_lock);
    pcd_syncer_stop(NULL); /* a no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syncer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
