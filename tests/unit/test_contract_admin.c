/* test_contract_admin.c - the administration API of pricecache.h (pc_daemon_read,
 * pc_chain_read, pc_env_read, pc_scan_*, pc_audit_next / pc_audit_verify,
 * pc_bus_resolve, the name calls) on environments written by the daemon's
 * own store (closed, or in a child process, while the library reads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pc_format.h"
#include "pricecache.h"
#include "reader_private.h"
#include "snapshot.h"
#include "store.h"

#define NROWS 2500 /* base rows of chain "big"; plus 10 store rows */

static char dir[64];

static pcd_store *store_open(pcd_config *cfg)
{
    assert_int_equal(pcd_config_defaults(cfg), PC_OK);
    cfg->path = strdup(dir);
    cfg->dsn = strdup("dbname=unused");
    cfg->map_size_mb = 16;
    pcd_store *st;
    char err[256];
    assert_int_equal(pcd_store_open(cfg, &st, err, sizeof err), PC_OK);
    return st;
}

static void store_close(pcd_store *st, pcd_config *cfg)
{
    pcd_store_close(st);
    pcd_config_free(cfg);
}

/* Chain "big": items i00000..i02499 at cents = index + add, store "s" with
 * 10 exceptions; `drop` leaves out every item whose index is a multiple of
 * 7 (a publish that deletes keys). */
static void publish_big(pcd_store *st, int64_t add, int drop)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, "big");
    char item[16];
    for (int i = 0; i < NROWS; i++) {
        if (drop && i % 7 == 0)
            continue;
        snprintf(item, sizeof item, "i%05d", i);
        assert_int_equal(pcd_snapshot_add(&s, NULL, 0, item, strlen(item), i + add, 1700000000),
                         PC_OK);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(item, sizeof item, "i%05d", i * 3);
        assert_int_equal(pcd_snapshot_add(&s, "s", 1, item, strlen(item), 1000 + i, 1700000001),
                         PC_OK);
    }
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    pcd_publish_stats ps;
    char err[256];
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
}

static void publish_small(pcd_store *st, const char *chain)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, chain);
    assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "a", 1, 100, 1700000000), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    pcd_publish_stats ps;
    char err[256];
    assert_int_equal(pcd_store_publish(st, &s, &m, &ps, err, sizeof err), PC_OK);
    pcd_snapshot_free(&s);
}

/* The load records the console shows: acme's last attempt (t=2000) failed,
 * beta's (t=1000) was ok. */
static void put_loads(pcd_store *st)
{
    pc_meta_rec m;
    assert_int_equal(pcd_store_get_meta(st, "acme", &m), PC_OK);
    m.breaker = PC_BREAKER_OPEN;
    m.breaker_since_ms = 1500;
    m.probe_at_ms = 31500;
    m.last_attempt_ms = 2000;
    m.last_duration_ms = 250;
    m.last_result = PC_LOAD_FAILED;
    m.consecutive_failures = 3;
    m.loads_ok = 7;
    m.loads_failed = 4;
    m.rows_written = 12;
    for (int i = 0; i < PC_REJ__COUNT; i++)
        m.rejected[i] = (uint64_t)(10 + i);
    snprintf(m.last_error, sizeof m.last_error, "connection refused");
    assert_int_equal(pcd_store_put_meta(st, "acme", &m), PC_OK);
    assert_int_equal(pcd_store_get_meta(st, "beta", &m), PC_OK);
    m.last_attempt_ms = 1000;
    m.last_result = PC_LOAD_OK;
    assert_int_equal(pcd_store_put_meta(st, "beta", &m), PC_OK);
}

static void put_daemon(pcd_store *st, uint32_t state, uint32_t pid, uint32_t db_state)
{
    pc_daemon_rec d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.state = state;
    d.pid = pid;
    d.ready = state == PC_DAEMON_READY;
    d.started_ms = 111;
    d.ready_ms = d.ready ? 222 : 0;
    d.db_state = db_state;
    if (db_state) {
        d.db_since_ms = 333;
        snprintf(d.db_error, sizeof d.db_error, "%s", db_state == PC_DB_DOWN ? "db gone" : "");
    }
    assert_int_equal(pcd_store_put_daemon(st, &d), PC_OK);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/pcadminXXXXXX");
    assert_non_null(mkdtemp(dir));
    pcd_config cfg;
    pcd_store *st = store_open(&cfg);
    publish_small(st, "acme");
    publish_small(st, "beta");
    publish_big(st, 0, 0);
    put_loads(st);
    uint64_t seq;
    for (int i = 1; i <= 5; i++) {
        char text[64];
        snprintf(text, sizeof text, "action %d by uid=0 (stated)", i);
        assert_int_equal(pcd_store_audit(st, text, &seq), PC_OK);
        assert_int_equal(seq, (uint64_t)i);
    }
    store_close(st, &cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Run fn(store) in a child process, as the daemon would, while this
 * process keeps its reader open (LMDB forbids a second handle on the same
 * environment in one process). */
static void in_child(void (*fn)(pcd_store *st, void *arg), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pcd_config cfg;
        pcd_store *st = store_open(&cfg);
        fn(st, arg);
        store_close(st, &cfg);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void do_put_daemon(pcd_store *st, void *arg)
{
    const uint32_t *v = arg;
    put_daemon(st, v[0], v[1], v[2]);
}

static void set_daemon(uint32_t state, uint32_t pid, uint32_t db_state)
{
    uint32_t v[3] = { state, pid, db_state };
    in_child(do_put_daemon, v);
}

/* A pid that is certainly not running: a child that has been reaped. */
static uint32_t dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return (uint32_t)pid;
}

/* ---- names ----------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(pc_load_result_name(PC_LOAD_OK), "ok");
    assert_string_equal(pc_load_result_name(PC_LOAD_TIMEOUT), "timeout");
    assert_string_equal(pc_load_result_name(PC_LOAD__COUNT), "unknown");
    assert_string_equal(pc_load_result_name(-1), "unknown");
    assert_string_equal(pc_reject_name(PC_REJ_NEGATIVE_PRICE), "negative_price");
    assert_string_equal(pc_reject_name(PC_REJ_DUPLICATE), "duplicate");
    assert_string_equal(pc_reject_name(PC_REJ__COUNT), "unknown");
    assert_string_equal(pc_daemon_state_name(PC_DAEMON_READY), "ready");
    assert_string_equal(pc_daemon_state_name(PC_DAEMON_STOPPED), "stopped");
    assert_string_equal(pc_daemon_state_name(99), "unknown");
    assert_string_equal(pc_breaker_name(PC_BREAKER_HALF_OPEN), "half-open");
    assert_string_equal(pc_breaker_name(7), "unknown");
    assert_string_equal(pc_db_state_name(PC_DB_UP), "up");
    assert_string_equal(pc_db_state_name(PC_DB_DOWN), "down");
    assert_string_equal(pc_db_state_name(PC_DB_UNKNOWN), "unknown");
    assert_string_equal(pc_db_state_name(-3), "unknown");
    assert_true(PC_REJ__COUNT <= PC_REJECT_SLOTS);
    assert_string_equal(pc_strerror(PC_ETAMPERED),
                        "audit log tampered with (its hash chain is broken)");
}

/* ---- the daemon record ----------------------------------------------- */

static void test_daemon_missing(void **state)
{
    (void)state;
    /* An environment the store created and never published to: no daemon
     * record yet. */
    char keep[sizeof dir];
    memcpy(keep, dir, sizeof dir);
    strcpy(dir, "/tmp/pcadmin0XXXXXX");
    assert_non_null(mkdtemp(dir));
    pcd_config cfg;
    store_close(store_open(&cfg), &cfg);
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    pc_daemon_status d;
    memset(&d, 0x5a, sizeof d);
    d.size = sizeof d;
    assert_int_equal(pc_daemon_read(r, &d), PC_NOTFOUND);
    assert_int_equal(d.size, sizeof d);
    assert_int_equal(d.state, 0);
    assert_int_equal(d.running, 0);
    assert_int_equal(d.db_state, PC_DB_UNKNOWN);
    assert_string_equal(d.db_error, "");
    /* Arguments. */
    assert_int_equal(pc_daemon_read(NULL, &d), PC_EINVAL);
    assert_int_equal(pc_daemon_read(r, NULL), PC_EINVAL);
    d.size = 0;
    assert_int_equal(pc_daemon_read(r, &d), PC_EINVAL);
    d.size = sizeof d - 1;
    assert_int_equal(pc_daemon_read(r, &d), PC_EINVAL);
    pc_close(r);
    teardown(NULL);
    memcpy(dir, keep, sizeof dir);
}

static void test_daemon_db_derived(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    /* Running (this process's pid), the database not recorded: derived from
     * the newest attempt, acme's failure. */
    set_daemon(PC_DAEMON_READY, (uint32_t)getpid(), PC_DB_UNKNOWN);
    pc_daemon_status d = { .size = sizeof d };
    assert_int_equal(pc_daemon_read(r, &d), PC_OK);
    assert_int_equal(d.state, PC_DAEMON_READY);
    assert_int_equal(d.running, 1);
    assert_int_equal(d.pid, (uint32_t)getpid());
    assert_int_equal(d.started_ms, 111);
    assert_int_equal(d.ready, 1);
    assert_int_equal(d.ready_ms, 222);
    assert_true(d.updated_ms > 0);
    assert_int_equal(d.map_size, 16u << 20);
    assert_int_equal(d.db_derived, 1);
    assert_int_equal(d.db_state, PC_DB_DOWN);
    assert_int_equal(d.db_since_ms, 0);
    assert_string_equal(d.db_error, "connection refused");
    /* Recorded by the daemon: believed as written. */
    set_daemon(PC_DAEMON_DEGRADED, (uint32_t)getpid(), PC_DB_DOWN);
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    assert_int_equal(pc_daemon_read(r, &d), PC_OK);
    assert_int_equal(d.state, PC_DAEMON_DEGRADED);
    assert_int_equal(d.db_derived, 0);
    assert_int_equal(d.db_state, PC_DB_DOWN);
    assert_int_equal(d.db_since_ms, 333);
    assert_string_equal(d.db_error, "db gone");
    set_daemon(PC_DAEMON_READY, (uint32_t)getpid(), PC_DB_UP);
    assert_int_equal(pc_daemon_read(r, &d), PC_OK);
    assert_int_equal(d.db_state, PC_DB_UP);
    assert_string_equal(d.db_error, "");
    /* Not running: killed (pid gone) or stopped; what it saw is stale. */
    set_daemon(PC_DAEMON_READY, dead_pid(), PC_DB_UP);
    assert_int_equal(pc_daemon_read(r, &d), PC_OK);
    assert_int_equal(d.running, 0);
    assert_int_equal(d.state, PC_DAEMON_READY);
    assert_int_equal(d.db_state, PC_DB_UNKNOWN);
    set_daemon(PC_DAEMON_STOPPED, (uint32_t)getpid(), PC_DB_UNKNOWN);
    assert_int_equal(pc_daemon_read(r, &d), PC_OK);
    assert_int_equal(d.running, 0);
    assert_int_equal(d.db_state, PC_DB_UNKNOWN);
    assert_string_equal(d.db_error, "");
    pc_close(r);
}

/* A record written by a daemon that predates the database fields (its
 * size ends before them): readable, the database derived. */
static void write_old_record(void)
{
    pc_daemon_rec d;
    memset(&d, 0, sizeof d);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_daemon(kb), kb }, v = { 0, &d };
    /* A raw write (the store would write today's size), in a child: its
     * own handle on the environment. */
    if (mdb_env_create(&env) != 0)
        _exit(1);
    mdb_env_set_mapsize(env, 16u << 20);
    MDB_val cur;
    if (mdb_env_open(env, dir, 0, 0660) != 0 || mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
        mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_get(txn, dbi, &k, &cur) != 0 ||
        pc_daemon_decode(cur.mv_data, cur.mv_size, &d) != PC_OK)
        _exit(1);
    /* Today's record cut where the old layout ended (its publish sequence
     * kept: versions must not go back). */
    d.size = (uint32_t)offsetof(pc_daemon_rec, db_state);
    d.state = PC_DAEMON_READY;
    d.pid = (uint32_t)getppid();
    d.ready = 1;
    v.mv_size = d.size;
    if (mdb_put(txn, dbi, &k, &v, 0) != 0 || mdb_txn_commit(txn) != 0)
        _exit(1);
    mdb_env_close(env);
}

static void test_daemon_old_record(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        write_old_record();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pc_daemon_status d = { .size = sizeof d };
    assert_int_equal(pc_daemon_read(r, &d), PC_OK);
    assert_int_equal(d.running, 1);
    assert_int_equal(d.db_derived, 1);
    assert_int_equal(d.db_state, PC_DB_DOWN);
    assert_string_equal(d.db_error, "connection refused");
    pc_close(r);
}

/* A program built against a newer header passes a larger size: the fields
 * this library does not know come back zeroed, nothing past size is
 * written. */
static void test_sizes_newer_caller(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    struct { pc_chain_status c; uint8_t more[40]; uint8_t guard[8]; } big;
    memset(&big, 0xa5, sizeof big);
    big.c.size = (uint32_t)(sizeof big.c + sizeof big.more);
    assert_int_equal(pc_chain_read(r, "acme", &big.c), PC_OK);
    assert_int_equal(big.c.size, sizeof big.c + sizeof big.more);
    assert_int_equal(big.c.loads_ok, 7);
    for (size_t i = 0; i < sizeof big.more; i++)
        assert_int_equal(big.more[i], 0);
    for (size_t i = 0; i < sizeof big.guard; i++)
        assert_int_equal(big.guard[i], 0xa5);
    struct { pc_env_status e; uint8_t more[16]; } env;
    memset(&env, 0xa5, sizeof env);
    env.e.size = (uint32_t)sizeof env;
    assert_int_equal(pc_env_read(r, &env.e), PC_OK);
    for (size_t i = 0; i < sizeof env.more; i++)
        assert_int_equal(env.more[i], 0);
    pc_close(r);
}

/* ---- a chain --------------------------------------------------------- */

static void test_chain_read(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    pc_chain_status c;
    memset(&c, 0x5a, sizeof c);
    c.size = sizeof c;
    assert_int_equal(pc_chain_read(r, "acme", &c), PC_OK);
    pc_chain_meta pub;
    assert_int_equal(pc_chain_info(r, "acme", &pub), PC_OK);
    assert_int_equal(c.version, pub.version);
    assert_int_equal(c.loaded_at_ms, pub.loaded_at);
    assert_int_equal(c.base_rows, 1);
    assert_int_equal(c.store_rows, 0);
    assert_int_equal(c.avg_cents, 100);
    assert_int_equal(c.breaker, PC_BREAKER_OPEN);
    assert_int_equal(c.breaker_since_ms, 1500);
    assert_int_equal(c.probe_at_ms, 31500);
    assert_int_equal(c.last_attempt_ms, 2000);
    assert_int_equal(c.last_duration_ms, 250);
    assert_int_equal(c.last_result, PC_LOAD_FAILED);
    assert_int_equal(c.consecutive_failures, 3);
    assert_int_equal(c.loads_ok, 7);
    assert_int_equal(c.loads_failed, 4);
    assert_int_equal(c.rows_written, 12);
    assert_int_equal(c.nrejected, PC_REJ__COUNT);
    for (int i = 0; i < PC_REJ__COUNT; i++)
        assert_int_equal(c.rejected[i], (uint64_t)(10 + i));
    for (int i = PC_REJ__COUNT; i < PC_REJECT_SLOTS; i++)
        assert_int_equal(c.rejected[i], 0); /* no stale bytes past the known reasons */
    assert_string_equal(c.last_error, "connection refused");
    /* Errors leave out untouched. */
    pc_chain_status before = c;
    assert_int_equal(pc_chain_read(r, "nosuch", &c), PC_ENOCHAIN);
    assert_int_equal(pc_chain_read(r, "Bad Slug", &c), PC_EINVAL);
    assert_int_equal(pc_chain_read(r, NULL, &c), PC_EINVAL);
    assert_int_equal(pc_chain_read(NULL, "acme", &c), PC_EINVAL);
    assert_memory_equal(&before, &c, sizeof c);
    assert_int_equal(pc_chain_read(r, "acme", NULL), PC_EINVAL);
    c.size = 8;
    assert_int_equal(pc_chain_read(r, "acme", &c), PC_EINVAL);
    pc_close(r);
}

/* ---- the environment ------------------------------------------------- */

static void test_env_read(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    pc_env_status e = { .size = sizeof e };
    assert_int_equal(pc_env_read(r, &e), PC_OK);
    assert_int_equal(e.map_size, 16u << 20);
    assert_true(e.map_used > 0 && e.map_used <= e.map_size);
    assert_true(e.readers_used >= 1);          /* this thread's slot */
    assert_true(e.readers_max >= e.readers_used);
    assert_int_equal(pc_env_read(NULL, &e), PC_EINVAL);
    assert_int_equal(pc_env_read(r, NULL), PC_EINVAL);
    e.size = 4;
    assert_int_equal(pc_env_read(r, &e), PC_EINVAL);
    pc_close(r);
}

/* ---- pc_scan --------------------------------------------------------- */

typedef struct all_rows {
    size_t n;
    char   keys[NROWS + 10][32];
    int64_t cents[NROWS + 10];
} all_rows;

static int collect(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    all_rows *a = ctx;
    snprintf(a->keys[a->n], sizeof a->keys[0], "%.*s|%.*s", (int)k->slen, k->store,
             (int)k->ilen, k->item);
    a->cents[a->n++] = v->cents;
    return 0;
}

/* The slot lines of mdb_reader_list for `pid`: an idle slot shows "-" as
 * its transaction, a live one a number.  Read by a child process (its own
 * handle on the environment).  Returns the count of live transactions of
 * pid, or -1. */
static int live_txns_of(pid_t pid)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fd[0]);
        MDB_env *env;
        if (mdb_env_create(&env) != 0 || mdb_env_set_maxreaders(env, 4096) != 0 ||
            mdb_env_open(env, dir, MDB_RDONLY, 0660) != 0)
            _exit(1);
        FILE *f = fdopen(fd[1], "w");
        mdb_reader_list(env, (MDB_msg_func *)fputs, f);
        fclose(f);
        mdb_env_close(env);
        _exit(0);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[256];
    int live = 0;
    while (fgets(line, sizeof line, f)) {
        int p;
        char thr[64], txn[64];
        if (sscanf(line, "%d %63s %63s", &p, thr, txn) == 3 && p == pid && strcmp(txn, "-") != 0)
            live++;
    }
    fclose(f);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return live;
}

static int live_inside(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    (void)k;
    (void)v;
    *(int *)ctx = live_txns_of(getpid());
    return 1;
}

static void do_publish(pcd_store *st, void *arg)
{
    const int64_t *add = arg;
    publish_big(st, *add, 1);
}

static void test_scan_batches(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    all_rows *want = calloc(1, sizeof *want);
    assert_non_null(want);
    assert_int_equal(pc_reader_scan(r, "big", collect, want), PC_OK);
    assert_int_equal(want->n, NROWS + 10);

    /* The check below can fail: inside a one-transaction scan the slot is live. */
    int live = -1;
    assert_int_equal(pc_reader_scan(r, "big", live_inside, &live), 1);
    assert_int_equal(live, 1);

    pc_scan *s;
    assert_int_equal(pc_scan_open(r, "big", 1000, &s), PC_OK);
    size_t got = 0, batches = 0;
    uint64_t first = 0;
    for (;;) {
        const pc_scan_row *const *rows;
        size_t n;
        uint64_t version;
        assert_int_equal(pc_scan_next(s, &rows, &n, &version), PC_OK);
        if (n == 0)
            break;
        assert_true(n <= 1000);
        if (batches++ == 0)
            first = version;
        assert_int_equal(version, first);
        for (size_t i = 0; i < n; i++, got++) {
            char key[32];
            snprintf(key, sizeof key, "%s|%s", rows[i]->store, rows[i]->item);
            assert_string_equal(key, want->keys[got]);
            assert_int_equal(rows[i]->price.cents, want->cents[got]);
            assert_int_equal(!!(rows[i]->price.flags & PC_PRICE_STORE), rows[i]->store[0] != 0);
            assert_int_equal(rows[i]->price.updated_at, rows[i]->store[0] ? 1700000001 : 1700000000);
        }
        /* Between batches this process holds no read transaction. */
        assert_int_equal(live_txns_of(getpid()), 0);
    }
    assert_int_equal(got, NROWS + 10);
    assert_int_equal(batches, 3);
    /* After the end: still the end. */
    const pc_scan_row *const *rows;
    size_t n = 99;
    assert_int_equal(pc_scan_next(s, &rows, &n, NULL), PC_OK);
    assert_int_equal(n, 0);
    pc_scan_close(s);
    free(want);
    pc_close(r);
}

static void test_scan_across_publish(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    pc_scan *s;
    assert_int_equal(pc_scan_open(r, "big", 0, &s), PC_OK); /* default batch */
    const pc_scan_row *const *rows;
    size_t n;
    uint64_t v1, v2;
    assert_int_equal(pc_scan_next(s, &rows, &n, &v1), PC_OK);
    assert_int_equal(n, PC_SCAN_BATCH_DEFAULT);
    char last[32];
    snprintf(last, sizeof last, "%s", rows[n - 1]->item);
    /* The daemon publishes a new version between two batches: every
     * price + 5, every 7th item gone. */
    int64_t add = 5;
    in_child(do_publish, &add);
    assert_int_equal(pc_scan_next(s, &rows, &n, &v2), PC_OK);
    assert_true(v2 > v1);                       /* the change is visible */
    assert_true(strcmp(rows[0]->item, last) > 0); /* resumed after the last key */
    for (size_t i = 0; i < n; i++) {
        if (rows[i]->store[0])
            continue;
        int idx = atoi(rows[i]->item + 1);
        assert_true(idx % 7 != 0);              /* from the new version */
        assert_int_equal(rows[i]->price.cents, idx + 5);
    }
    pc_scan_close(s);

    /* Arguments and a chain that is not there. */
    assert_int_equal(pc_scan_open(r, "nosuch", 0, &s), PC_ENOCHAIN);
    assert_null(s);
    assert_int_equal(pc_scan_open(r, "Bad Slug", 0, &s), PC_EINVAL);
    assert_int_equal(pc_scan_open(r, "big", PC_SCAN_BATCH_MAX + 1, &s), PC_EINVAL);
    assert_int_equal(pc_scan_open(NULL, "big", 0, &s), PC_EINVAL);
    assert_int_equal(pc_scan_open(r, "big", 0, NULL), PC_EINVAL);
    assert_int_equal(pc_scan_next(NULL, &rows, &n, NULL), PC_EINVAL);
    assert_int_equal(pc_scan_open(r, "big", 1, &s), PC_OK);
    assert_int_equal(pc_scan_next(s, NULL, &n, NULL), PC_EINVAL);
    assert_int_equal(pc_scan_next(s, &rows, NULL, NULL), PC_EINVAL);
    assert_int_equal(pc_scan_next(s, &rows, &n, NULL), PC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0]->item, "i00001"); /* i00000 was dropped */
    pc_scan_close(s);
    pc_scan_close(NULL);
    pc_close(r);
}

/* ---- the audit log --------------------------------------------------- */

static void test_audit(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    pc_audit_entry e = { .size = sizeof e };
    uint64_t after = 0;
    uint8_t prev[PC_AUDIT_HASH] = { 0 };
    int count = 0;
    int rc;
    while ((rc = pc_audit_next(r, after, &e)) == PC_OK) {
        count++;
        assert_int_equal(e.seq, (uint64_t)count);
        char want[64];
        snprintf(want, sizeof want, "action %d by uid=0 (stated)", count);
        assert_string_equal(e.text, want);
        assert_memory_equal(e.prev, prev, PC_AUDIT_HASH);
        memcpy(prev, e.hash, PC_AUDIT_HASH);
        after = e.seq;
    }
    assert_int_equal(rc, PC_NOTFOUND);
    assert_int_equal(count, 5);
    assert_int_equal(pc_audit_next(r, 3, &e), PC_OK);
    assert_int_equal(e.seq, 4);
    assert_int_equal(pc_audit_next(r, 0, NULL), PC_EINVAL);
    e.size = 16;
    assert_int_equal(pc_audit_next(r, 0, &e), PC_EINVAL);

    pc_audit_verdict v = { .size = sizeof v };
    assert_int_equal(pc_audit_verify(r, &v), PC_OK);
    assert_int_equal(v.intact, 5);
    assert_int_equal(v.bad_seq, 0);
    assert_memory_equal(v.last_hash, prev, PC_AUDIT_HASH);
    assert_int_equal(pc_audit_verify(NULL, &v), PC_EINVAL);
    v.size = 8;
    assert_int_equal(pc_audit_verify(r, &v), PC_EINVAL);
    pc_close(r);
}

/* Alter record 3's text in place (a child's raw write): verify names it. */
static void test_audit_tampered(void **state)
{
    (void)state;
    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        uint8_t kb[16];
        MDB_val k = { pc_key_audit(kb, 3), kb }, v;
        if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, 16u << 20) != 0 ||
            mdb_env_open(env, dir, 0, 0660) != 0 || mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
            mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_get(txn, dbi, &k, &v) != 0)
            _exit(1);
        uint8_t buf[2048];
        memcpy(buf, v.mv_data, v.mv_size);
        buf[v.mv_size - 1] ^= 1; /* the text's last byte */
        MDB_val nv = { v.mv_size, buf };
        if (mdb_put(txn, dbi, &k, &nv, 0) != 0 || mdb_txn_commit(txn) != 0)
            _exit(1);
        mdb_env_close(env);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pc_audit_verdict v = { .size = sizeof v };
    assert_int_equal(pc_audit_verify(r, &v), PC_ETAMPERED);
    assert_int_equal(v.intact, 2);
    assert_int_equal(v.bad_seq, 3);
    assert_non_null(strstr(v.why, "altered"));
    pc_close(r);
}

/* ---- bus addresses --------------------------------------------------- */

static void do_endpoints(pcd_store *st, void *arg)
{
    const char *const *a = arg;
    assert_int_equal(pcd_store_put_endpoints(st, a[0], a[1]), PC_OK);
}

static void test_bus_resolve(void **state)
{
    (void)state;
    char out[256];
    int src = -1;
    unsetenv("PRICECACHE_EVENTS");
    unsetenv("PRICECACHE_CONTROL");
    /* 4. nothing announced yet: the default, or PC_NOTFOUND without it */
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_EVENTS, NULL, 0, out, sizeof out, &src), PC_OK);
    assert_string_equal(out, PC_BUS_DEFAULT_EVENTS);
    assert_int_equal(src, PC_ADDR_DEFAULT);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_CONTROL, "", 0, out, sizeof out, &src), PC_OK);
    assert_string_equal(out, PC_BUS_DEFAULT_CONTROL);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_CONTROL, NULL, PC_BUS_NO_DEFAULT, out,
                                    sizeof out, &src), PC_NOTFOUND);
    assert_string_equal(out, "");
    /* a cache that is not there: its error without the default */
    assert_int_equal(pc_bus_resolve("/nonexistent/pc", PC_BUS_CONTROL, NULL, PC_BUS_NO_DEFAULT,
                                    out, sizeof out, NULL), PC_ENOTREADY);
    assert_int_equal(pc_bus_resolve("/nonexistent/pc", PC_BUS_EVENTS, NULL, 0, out, sizeof out,
                                    &src), PC_OK);
    assert_int_equal(src, PC_ADDR_DEFAULT);
    /* 3. announced: events only (control off) */
    const char *a[2] = { "ipc:///tmp/announced-ev.ipc", "" };
    in_child(do_endpoints, a);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_EVENTS, NULL, 0, out, sizeof out, &src), PC_OK);
    assert_string_equal(out, "ipc:///tmp/announced-ev.ipc");
    assert_int_equal(src, PC_ADDR_ANNOUNCED);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_CONTROL, NULL, PC_BUS_NO_DEFAULT, out,
                                    sizeof out, NULL), PC_NOTFOUND);
    a[1] = "ipc:///tmp/announced-ctl.ipc";
    in_child(do_endpoints, a);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_CONTROL, NULL, PC_BUS_NO_DEFAULT, out,
                                    sizeof out, &src), PC_OK);
    assert_string_equal(out, "ipc:///tmp/announced-ctl.ipc");
    /* NULL path skips the cache */
    assert_int_equal(pc_bus_resolve(NULL, PC_BUS_CONTROL, NULL, 0, out, sizeof out, &src), PC_OK);
    assert_int_equal(src, PC_ADDR_DEFAULT);
    /* 2. the environment beats the cache */
    setenv("PRICECACHE_CONTROL", "ipc:///tmp/env-ctl.ipc", 1);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_CONTROL, NULL, 0, out, sizeof out, &src), PC_OK);
    assert_string_equal(out, "ipc:///tmp/env-ctl.ipc");
    assert_int_equal(src, PC_ADDR_ENV);
    /* ...and only its own kind */
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_EVENTS, NULL, 0, out, sizeof out, &src), PC_OK);
    assert_int_equal(src, PC_ADDR_ANNOUNCED);
    setenv("PRICECACHE_CONTROL", "", 1); /* empty: not given */
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_CONTROL, NULL, 0, out, sizeof out, &src), PC_OK);
    assert_int_equal(src, PC_ADDR_ANNOUNCED);
    /* 1. the flag beats everything */
    setenv("PRICECACHE_CONTROL", "ipc:///tmp/env-ctl.ipc", 1);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_CONTROL, "tcp://127.0.0.1:1", 0, out, sizeof out,
                                    &src), PC_OK);
    assert_string_equal(out, "tcp://127.0.0.1:1");
    assert_int_equal(src, PC_ADDR_GIVEN);
    unsetenv("PRICECACHE_CONTROL");
    /* bad arguments */
    assert_int_equal(pc_bus_resolve(dir, 2, NULL, 0, out, sizeof out, NULL), PC_EINVAL);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_EVENTS, NULL, 0x10, out, sizeof out, NULL),
                     PC_EINVAL);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_EVENTS, NULL, 0, NULL, 10, NULL), PC_EINVAL);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_EVENTS, NULL, 0, out, 0, NULL), PC_EINVAL);
    assert_int_equal(pc_bus_resolve(dir, PC_BUS_EVENTS, "ipc:///long", 0, out, 5, NULL),
                     PC_EINVAL);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_daemon_missing),
        cmocka_unit_test(test_daemon_db_derived),
        cmocka_unit_test(test_daemon_old_record),
        cmocka_unit_test(test_sizes_newer_caller),
        cmocka_unit_test(test_chain_read),
        cmocka_unit_test(test_env_read),
        cmocka_unit_test(test_scan_batches),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_bus_resolve),
        /* These change the environment: last. */
        cmocka_unit_test(test_scan_across_publish),
        cmocka_unit_test(test_audit_tampered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
