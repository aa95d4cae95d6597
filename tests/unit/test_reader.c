/* test_reader.c - libpricecache (client/reader.c) against environments written with raw LMDB: semantics, errors, one version per call, threads, map growth, reader slots.
 *
 * Concurrent writers run in a child process (this binary re-executed with
 * --child MODE), never in a thread: LMDB forbids two handles on one
 * environment in a process, and a second mdb_env_open there re-initialises
 * the lock table under the first (its live reader slots are forgotten and
 * handed out again).  That is also how the daemon and its clients meet.
 * Fixtures are written in-process, with the handle closed before pc_open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pc_format.h"
#include "reader_private.h"
#include "pricecache.h"

extern char **environ;

/* This binary, re-executed for child processes.  From argv[0] rather than
 * /proc/self/exe, which under valgrind is valgrind's own tool. */
static char self_exe[PATH_MAX] = "/proc/self/exe";

/* ---- raw LMDB writer, shared by fixtures and child processes ---------- */

typedef struct writer {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi  dbi;
} writer;

static int w_open(writer *w, const char *path, size_t mapsize, unsigned maxreaders)
{
    memset(w, 0, sizeof *w);
    int rc = mdb_env_create(&w->env);
    if (!rc && maxreaders)
        rc = mdb_env_set_maxreaders(w->env, maxreaders);
    if (!rc && mapsize)
        rc = mdb_env_set_mapsize(w->env, mapsize);
    if (!rc)
        rc = mdb_env_open(w->env, path, 0, 0660);
    return rc;
}

static int w_begin(writer *w)
{
    int rc = mdb_txn_begin(w->env, NULL, 0, &w->txn);
    return rc ? rc : mdb_dbi_open(w->txn, NULL, 0, &w->dbi);
}

static int w_put(writer *w, const void *k, size_t klen, const void *v, size_t vlen)
{
    MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
    return mdb_put(w->txn, w->dbi, &key, &val, 0);
}

static int w_commit(writer *w)
{
    int rc = mdb_txn_commit(w->txn);
    w->txn = NULL;
    return rc;
}

static void w_close(writer *w)
{
    if (w->txn)
        mdb_txn_abort(w->txn);
    mdb_env_close(w->env);
    w->env = NULL;
}

static int put_fmt(writer *w, uint32_t version)
{
    pc_fmt_rec f;
    pc_fmt_init(&f);
    f.version = version;
    uint8_t kb[PC_KEY_MAX];
    return w_put(w, kb, pc_key_fmt(kb), &f, sizeof f);
}

static int put_meta(writer *w, const char *chain, uint64_t version, uint64_t base_rows,
                    uint64_t store_rows, int64_t avg)
{
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    m.version = version;
    m.loaded_at_ms = 1700000000000 + (int64_t)version;
    m.base_rows = base_rows;
    m.store_rows = store_rows;
    m.avg_cents = avg;
    m.breaker = PC_BREAKER_OPEN;
    m.last_result = PC_LOAD_OK;
    m.loads_ok = 5;
    m.rejected[PC_REJ_LONG_ID] = 2;
    snprintf(m.last_error, sizeof m.last_error, "statement timeout");
    uint8_t kb[PC_KEY_MAX];
    return w_put(w, kb, pc_key_meta(kb, chain, strlen(chain)), &m, sizeof m);
}

static int put_daemon(writer *w, int ready)
{
    pc_daemon_rec d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.state = ready ? PC_DAEMON_READY : PC_DAEMON_STARTING;
    d.ready = (uint32_t)ready;
    d.pid = (uint32_t)getpid();
    uint8_t kb[PC_KEY_MAX];
    return w_put(w, kb, pc_key_daemon(kb), &d, sizeof d);
}

/* store NULL: a base price. */
static int put_price(writer *w, const char *chain, const char *store, const char *item,
                     int64_t cents, int64_t updated_at)
{
    pc_price_rec v = { cents, updated_at };
    uint8_t kb[PC_KEY_MAX];
    size_t n = store ? pc_key_store(kb, chain, strlen(chain), store, strlen(store), item,
                                    strlen(item))
                     : pc_key_base(kb, chain, strlen(chain), item, strlen(item));
    return w_put(w, kb, n, &v, sizeof v);
}

#define GEN_ITEMS 100
#define BULK_ID_LEN 120

static void gen_id(char *buf, size_t len, int i)
{
    snprintf(buf, len, "g%02d", i);
}

/* Long ids so that a few thousand keys fill megabytes. */
static void bulk_id(char *buf, int i)
{
    int n = snprintf(buf, BULK_ID_LEN + 1, "k%07d-", i);
    memset(buf + n, 'p', (size_t)(BULK_ID_LEN - n));
    buf[BULK_ID_LEN] = 0;
}

/* ---- child processes -------------------------------------------------- */

static int64_t mono_ms(void)
{
    return pc_mono_ms();
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void say_ready(void)
{
    ssize_t n = write(1, "r", 1);
    (void)n;
}

#define CHECK(x)                                                               \
    do {                                                                       \
        int rc_ = (x);                                                         \
        if (rc_ != 0) {                                                        \
            fprintf(stderr, "child: %s: %s\n", #x, mdb_strerror(rc_));         \
            return 10;                                                         \
        }                                                                      \
    } while (0)

/* ready DIR DELAY_MS: the daemon finishing its warm-up later. */
static int child_ready(const char *path, long delay)
{
    sleep_ms(delay);
    writer w;
    CHECK(w_open(&w, path, 0, 0));
    CHECK(w_begin(&w));
    CHECK(put_daemon(&w, 1));
    CHECK(w_commit(&w));
    w_close(&w);
    return 0;
}

/* grow DIR: the daemon growing the map step by step (2, 4, ... 32 MiB),
 * each step filled past the previous size, so that readers meet
 * MDB_MAP_RESIZED more than once. */
static int child_grow(const char *path)
{
    writer w;
    CHECK(w_open(&w, path, 0, 0));
    say_ready();
    MDB_stat ms;
    CHECK(mdb_env_stat(w.env, &ms));
    int next = 0;
    for (size_t mib = 2; mib <= 32; mib *= 2) {
        size_t size = mib << 20;
        CHECK(mdb_env_set_mapsize(w.env, size));
        for (;;) {
            MDB_envinfo info;
            CHECK(mdb_env_info(w.env, &info));
            if ((info.me_last_pgno + 1) * ms.ms_psize > size / 10 * 6)
                break;
            CHECK(w_begin(&w));
            CHECK(put_meta(&w, "bulk", (uint64_t)next + 1, (uint64_t)next, 0, 1));
            char id[BULK_ID_LEN + 1];
            for (int i = 0; i < 2000; i++, next++) {
                bulk_id(id, next);
                CHECK(put_price(&w, "bulk", NULL, id, next, next));
            }
            CHECK(w_commit(&w));
        }
    }
    w_close(&w);
    printf("%d\n", next);
    return 0;
}

/* churn DIR MS: republish chain "gen" over and over, every item priced with
 * the generation number, one transaction per generation, until stdin
 * closes (the reader has seen enough) or MS milliseconds pass (a
 * reader that never stops it).  Stopping on the reader's word, not after a
 * fixed time, keeps the test's point under valgrind, where a slow reader
 * used to see one generation before a fixed-time writer was done. */
static int child_churn(const char *path, long ms)
{
    writer w;
    /* A reader's transaction pins the pages of its generation until it
     * ends; under valgrind on a loaded machine one get_many or scan of the
     * reader lasted long enough for an unpaced writer to fill the 10 MB map
     * (MDB_MAP_FULL, seen once).  A roomy map (sparse) and a 200 us pause
     * per generation keep the writer far ahead of the reader and the map
     * bounded. */
    CHECK(w_open(&w, path, (size_t)256 << 20, 0));
    int fl = fcntl(0, F_GETFL);
    if (fl < 0 || fcntl(0, F_SETFL, fl | O_NONBLOCK) < 0)
        return 1;
    say_ready();
    int64_t end = mono_ms() + ms;
    for (int gen = 1; mono_ms() < end; gen++) {
        char c;
        if (read(0, &c, 1) == 0)
            break; /* EOF: the reader is done */
        CHECK(w_begin(&w));
        char id[16];
        for (int i = 0; i < GEN_ITEMS; i++) {
            gen_id(id, sizeof id, i);
            CHECK(put_price(&w, "gen", NULL, id, gen, gen));
        }
        CHECK(put_meta(&w, "gen", (uint64_t)gen, GEN_ITEMS, 0, gen));
        CHECK(w_commit(&w));
        struct timespec pause = { 0, 200 * 1000 };
        nanosleep(&pause, NULL);
    }
    w_close(&w);
    return 0;
}

/* hold DIR MAXREADERS: be the first opener (which sizes the reader table)
 * and keep the environment open until stdin closes. */
static int child_hold(const char *path, unsigned maxreaders)
{
    writer w;
    CHECK(w_open(&w, path, 0, maxreaders));
    say_ready();
    char c;
    while (read(0, &c, 1) > 0)
        ;
    w_close(&w);
    return 0;
}

/* squat DIR: take a reader slot and die without giving it back, as a
 * client killed with kill -9 does. */
static int child_squat(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    CHECK(mdb_env_create(&env));
    CHECK(mdb_env_open(env, path, MDB_RDONLY, 0660));
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    say_ready();
    _exit(0);
}

static int child_main(int argc, char **argv)
{
    const char *mode = argv[0], *path = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "ready") == 0 && argc == 3)
        return child_ready(path, atol(argv[2]));
    if (strcmp(mode, "grow") == 0 && argc == 2)
        return child_grow(path);
    if (strcmp(mode, "churn") == 0 && argc == 3)
        return child_churn(path, atol(argv[2]));
    if (strcmp(mode, "hold") == 0 && argc == 3)
        return child_hold(path, (unsigned)atoi(argv[2]));
    if (strcmp(mode, "squat") == 0 && argc == 2)
        return child_squat(path);
    fprintf(stderr, "child: bad arguments\n");
    return 2;
}

typedef struct child {
    pid_t pid;
    int   to;   /* its stdin */
    int   from; /* its stdout */
} child;

static void spawn_child(child *c, const char *mode, const char *path, const char *arg)
{
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *args[] = { "test_reader", "--child", (char *)mode, (char *)path, (char *)arg, NULL };
    assert_int_equal(posix_spawn(&c->pid, self_exe, &fa, NULL, args, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->from = out[0];
}

static void child_wait_ready(child *c)
{
    char b;
    assert_int_equal(read(c->from, &b, 1), 1);
}

/* Closes its stdin and reaps it: 0 when it exited 0, and what it printed.
 * Asserts nothing, so that it can run while worker threads do. */
static int child_reap(child *c, long *printed)
{
    close(c->to);
    char buf[64] = { 0 };
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(c->from, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    close(c->from);
    int status;
    if (waitpid(c->pid, &status, 0) != c->pid || !WIFEXITED(status) || WEXITSTATUS(status))
        return -1;
    const char *p = buf;
    while (*p == 'r')
        p++;
    if (printed)
        *printed = atol(p);
    return 0;
}

static long child_finish(child *c)
{
    long printed = 0;
    assert_int_equal(child_reap(c, &printed), 0);
    return printed;
}

static int child_running(child *c)
{
    int status;
    pid_t p = waitpid(c->pid, &status, WNOHANG);
    if (p == 0)
        return 1;
    assert_int_equal(p, c->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    c->pid = -1;
    return 0;
}

/* ---- fixtures --------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
} fixture;

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(path);
}

static fixture *new_dir(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/pc_test_reader.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    return f;
}

/* The standard environment:
 *   acme    base item1..item3; exceptions s1/item1, s2/item2, a/x, ab/y
 *   acme-x  base item1 (a slug that extends acme: must not leak into it)
 *   beta    base b1
 *   empty   metadata only
 *   gen     GEN_ITEMS base items, all priced 0
 *   odd     a base value of the wrong size
 *   daemon record: not ready */
static int setup(void **state)
{
    fixture *f = new_dir();
    writer w;
    assert_int_equal(w_open(&w, f->dir, 1 << 20, 0), 0);
    assert_int_equal(w_begin(&w), 0);
    assert_int_equal(put_fmt(&w, PC_FORMAT_VERSION), 0);
    assert_int_equal(put_daemon(&w, 0), 0);
    assert_int_equal(put_meta(&w, "acme", 7, 3, 4, 200), 0);
    assert_int_equal(put_meta(&w, "acme-x", 1, 1, 0, 999), 0);
    assert_int_equal(put_meta(&w, "beta", 3, 1, 0, 50), 0);
    assert_int_equal(put_meta(&w, "empty", 1, 0, 0, 0), 0);
    assert_int_equal(put_meta(&w, "gen", 1, GEN_ITEMS, 0, 0), 0);
    assert_int_equal(put_meta(&w, "odd", 1, 1, 0, 0), 0);
    assert_int_equal(put_price(&w, "acme", NULL, "item1", 100, 1001), 0);
    assert_int_equal(put_price(&w, "acme", NULL, "item2", 200, 1002), 0);
    assert_int_equal(put_price(&w, "acme", NULL, "item3", 300, 1003), 0);
    assert_int_equal(put_price(&w, "acme", "s1", "item1", 90, 2001), 0);
    assert_int_equal(put_price(&w, "acme", "s2", "item2", 180, 2002), 0);
    assert_int_equal(put_price(&w, "acme", "a", "x", 1, 3001), 0);
    assert_int_equal(put_price(&w, "acme", "ab", "y", 2, 3002), 0);
    assert_int_equal(put_price(&w, "acme-x", NULL, "item1", 999, 9), 0);
    assert_int_equal(put_price(&w, "beta", NULL, "b1", 50, 5), 0);
    char id[16];
    for (int i = 0; i < GEN_ITEMS; i++) {
        gen_id(id, sizeof id, i);
        assert_int_equal(put_price(&w, "gen", NULL, id, 0, 0), 0);
    }
    uint8_t kb[PC_KEY_MAX];
    int64_t eight = 8;
    assert_int_equal(w_put(&w, kb, pc_key_base(kb, "odd", 3, "short", 5), &eight, sizeof eight),
                     0);
    assert_int_equal(w_commit(&w), 0);
    w_close(&w);
    *state = f;
    return 0;
}

static int setup_empty(void **state)
{
    *state = new_dir();
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_rf(f->dir);
    free(f);
    return 0;
}

static pc_reader *open_ok(void **state)
{
    fixture *f = *state;
    pc_reader *r = NULL;
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    assert_non_null(r);
    return r;
}

/* Reader slots in use; -1 on error.  Asserts nothing (see child_reap). */
static long slots_used(pc_reader *r)
{
    unsigned used = 0, max = 0;
    if (pc_reader_env_info(r, NULL, NULL, &used, &max) != PC_OK || used > max)
        return -1;
    return used;
}

static unsigned readers_used(pc_reader *r)
{
    long used = slots_used(r);
    assert_true(used >= 0);
    return (unsigned)used;
}

/* ---- semantics -------------------------------------------------------- */

static void test_store_over_base(void **state)
{
    pc_reader *r = open_ok(state);
    pc_price p;
    assert_int_equal(pc_get(r, "acme", "s1", "item1", &p), PC_OK);
    assert_int_equal(p.cents, 90);
    assert_int_equal(p.updated_at, 2001);
    assert_int_equal(p.flags, PC_PRICE_STORE);
    /* The store has no exception for this item: the base price. */
    assert_int_equal(pc_get(r, "acme", "s1", "item2", &p), PC_OK);
    assert_int_equal(p.cents, 200);
    assert_int_equal(p.updated_at, 1002);
    assert_int_equal(p.flags, 0);
    assert_int_equal(pc_get(r, "acme", "s2", "item2", &p), PC_OK);
    assert_int_equal(p.cents, 180);
    assert_int_equal(p.flags, PC_PRICE_STORE);
    /* An unknown store is just a store without exceptions. */
    assert_int_equal(pc_get(r, "acme", "s9", "item3", &p), PC_OK);
    assert_int_equal(p.cents, 300);
    /* Store "a" item "x" and store "ab" item "y" stay apart. */
    assert_int_equal(pc_get(r, "acme", "a", "x", &p), PC_OK);
    assert_int_equal(p.cents, 1);
    assert_int_equal(pc_get(r, "acme", "ab", "y", &p), PC_OK);
    assert_int_equal(p.cents, 2);
    assert_int_equal(pc_get(r, "acme", "a", "y", &p), PC_NOTFOUND);
    assert_int_equal(pc_get(r, "acme", "ab", "x", &p), PC_NOTFOUND);
    /* A slug that extends another one is another chain. */
    assert_int_equal(pc_get(r, "acme-x", NULL, "item1", &p), PC_OK);
    assert_int_equal(p.cents, 999);
    assert_int_equal(pc_get(r, "acme", "", "item1", &p), PC_OK);
    assert_int_equal(p.cents, 100);
    pc_close(r);
}

static void test_base_only(void **state)
{
    pc_reader *r = open_ok(state);
    pc_price p;
    assert_int_equal(pc_get(r, "acme", NULL, "item1", &p), PC_OK);
    assert_int_equal(p.cents, 100);
    assert_int_equal(p.updated_at, 1001);
    assert_int_equal(p.flags, 0);
    memset(&p, 0, sizeof p);
    assert_int_equal(pc_get(r, "acme", "", "item1", &p), PC_OK);
    assert_int_equal(p.cents, 100);
    assert_int_equal(p.flags, 0);
    /* Exceptions exist only under a store. */
    assert_int_equal(pc_get(r, "acme", "", "x", &p), PC_NOTFOUND);
    pc_close(r);
}

static void test_notfound_vs_enochain(void **state)
{
    pc_reader *r = open_ok(state);
    pc_price p = { -42, -42, 42 };
    assert_int_equal(pc_get(r, "acme", "s1", "nope", &p), PC_NOTFOUND);
    assert_int_equal(pc_get(r, "acme", NULL, "nope", &p), PC_NOTFOUND);
    assert_int_equal(pc_get(r, "empty", NULL, "item1", &p), PC_NOTFOUND);
    assert_int_equal(pc_get(r, "nosuch", "s1", "item1", &p), PC_ENOCHAIN);
    assert_int_equal(pc_get(r, "acm", NULL, "item1", &p), PC_ENOCHAIN);
    assert_int_equal(pc_get(r, "acme-", NULL, "item1", &p), PC_ENOCHAIN);
    /* out untouched unless PC_OK */
    assert_int_equal(p.cents, -42);
    assert_int_equal(p.updated_at, -42);
    assert_int_equal(p.flags, 42);
    pc_close(r);
}

static void test_einval(void **state)
{
    pc_reader *r = open_ok(state);
    pc_price p;
    char longid[PC_ID_MAX + 2], maxid[PC_ID_MAX + 1], longslug[PC_CHAIN_MAX + 2],
        maxslug[PC_CHAIN_MAX + 1];
    memset(longid, 'a', sizeof longid);
    longid[PC_ID_MAX + 1] = 0;
    memset(maxid, 'a', sizeof maxid);
    maxid[PC_ID_MAX] = 0;
    memset(longslug, 'a', sizeof longslug);
    longslug[PC_CHAIN_MAX + 1] = 0;
    memset(maxslug, 'a', sizeof maxslug);
    maxslug[PC_CHAIN_MAX] = 0;

    assert_int_equal(pc_get(r, "acme", "s1", longid, &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme", longid, "item1", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme", "s1", "", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme", "s1", NULL, &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "", "s1", "item1", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, NULL, "s1", "item1", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "ACME", "s1", "item1", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "ac me", "s1", "item1", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme/x", "s1", "item1", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, longslug, "s1", "item1", &p), PC_EINVAL);
    assert_int_equal(pc_get(r, "acme", "s1", "item1", NULL), PC_EINVAL);
    assert_int_equal(pc_get(NULL, "acme", "s1", "item1", &p), PC_EINVAL);
    /* The limits themselves are valid. */
    assert_int_equal(pc_get(r, "acme", maxid, maxid, &p), PC_NOTFOUND);
    assert_int_equal(pc_get(r, maxslug, NULL, "item1", &p), PC_ENOCHAIN);

    pc_chain_meta m;
    assert_int_equal(pc_chain_info(r, "Bad", &m), PC_EINVAL);
    assert_int_equal(pc_chain_info(r, "acme", NULL), PC_EINVAL);
    assert_int_equal(pc_chains(r, NULL, NULL), PC_EINVAL);
    assert_int_equal(pc_wait_ready(NULL, 0), PC_EINVAL);
    pc_close(r);
}

/* Varnish-style magic: a pointer that is not a live reader is refused, not
 * followed (debug builds). */
static void test_bad_handle(void **state)
{
    (void)state;
#ifdef NDEBUG
    skip();
#else
    union {
        uint64_t words[16];
        uint8_t  bytes[128];
    } fake;
    memset(&fake, 0, sizeof fake);
    pc_reader *r = (pc_reader *)&fake;
    pc_price p;
    assert_int_equal(pc_get(r, "acme", NULL, "item1", &p), PC_EINVAL);
    const char *items[] = { "item1" };
    int st[1];
    assert_int_equal(pc_get_many(r, "acme", NULL, 1, items, &p, st), PC_EINVAL);
    assert_int_equal(st[0], PC_EINVAL);
    pc_chain_meta m;
    assert_int_equal(pc_chain_info(r, "acme", &m), PC_EINVAL);
    char **c;
    assert_int_equal(pc_chains(r, &c, NULL), PC_EINVAL);
    assert_int_equal(pc_wait_ready(r, 0), PC_EINVAL);
    pc_close(r); /* ignored */
#endif
}

static void test_wrong_value_size(void **state)
{
    pc_reader *r = open_ok(state);
    pc_price p;
    assert_int_equal(pc_get(r, "odd", NULL, "short", &p), PC_EFORMAT);
    const char *items[] = { "short", "none" };
    pc_price out[2];
    int st[2];
    assert_int_equal(pc_get_many(r, "odd", "", 2, items, out, st), PC_OK);
    assert_int_equal(st[0], PC_EFORMAT);
    assert_int_equal(st[1], PC_NOTFOUND);
    pc_close(r);
}

/* ---- pc_get_many ------------------------------------------------------ */

static void test_get_many(void **state)
{
    pc_reader *r = open_ok(state);
    char longid[PC_ID_MAX + 2];
    memset(longid, 'i', sizeof longid);
    longid[PC_ID_MAX + 1] = 0;
    const char *items[] = { "item1", "nope", "", NULL, "item2", longid, "item1" };
    enum { N = sizeof items / sizeof items[0] };
    pc_price out[N];
    int st[N];
    assert_int_equal(pc_get_many(r, "acme", "s1", N, items, out, st), PC_OK);
    assert_int_equal(st[0], PC_OK);
    assert_int_equal(out[0].cents, 90);
    assert_int_equal(out[0].flags, PC_PRICE_STORE);
    assert_int_equal(st[1], PC_NOTFOUND);
    assert_int_equal(st[2], PC_EINVAL);
    assert_int_equal(st[3], PC_EINVAL);
    assert_int_equal(st[4], PC_OK);
    assert_int_equal(out[4].cents, 200);
    assert_int_equal(out[4].flags, 0);
    assert_int_equal(st[5], PC_EINVAL);
    assert_int_equal(st[6], PC_OK);
    assert_int_equal(out[6].cents, 90);

    /* Base only. */
    assert_int_equal(pc_get_many(r, "acme", NULL, 1, items, out, st), PC_OK);
    assert_int_equal(out[0].cents, 100);
    assert_int_equal(out[0].flags, 0);

    /* Whole-call failures fill every status with the code. */
    assert_int_equal(pc_get_many(r, "zzz", "s1", 3, items, out, st), PC_ENOCHAIN);
    for (int i = 0; i < 3; i++)
        assert_int_equal(st[i], PC_ENOCHAIN);
    assert_int_equal(pc_get_many(r, "Bad Slug", "s1", 2, items, out, st), PC_EINVAL);
    assert_int_equal(st[0], PC_EINVAL);
    assert_int_equal(st[1], PC_EINVAL);
    assert_int_equal(pc_get_many(r, "acme", longid, 2, items, out, st), PC_EINVAL);
    assert_int_equal(pc_get_many(NULL, "acme", "s1", 2, items, out, st), PC_EINVAL);
    assert_int_equal(st[1], PC_EINVAL);

    /* n == 0 reads nothing and accepts NULL arrays. */
    assert_int_equal(pc_get_many(r, "acme", NULL, 0, NULL, NULL, NULL), PC_OK);
    assert_int_equal(pc_get_many(r, "acme", NULL, 1, NULL, out, st), PC_EINVAL);
    assert_int_equal(pc_get_many(r, "acme", NULL, 1, items, NULL, st), PC_EINVAL);
    assert_int_equal(pc_get_many(r, "acme", NULL, 1, items, out, NULL), PC_EINVAL);
    pc_close(r);
}

/* Invariant 1: while another process republishes "gen" (every item priced
 * with the generation), each pc_get_many and each scan sees one generation. */
static int scan_gen(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    int64_t *seen = ctx;
    if (k->kind != PC_KEY_BASE)
        return 1;
    if (seen[1] == 0)
        seen[0] = v->cents;
    else if (seen[0] != v->cents)
        return 2;
    seen[1]++;
    return 0;
}

static void test_get_many_one_version(void **state)
{
    fixture *f = *state;
    pc_reader *r = open_ok(state);
    const char *items[GEN_ITEMS];
    char ids[GEN_ITEMS][16];
    for (int i = 0; i < GEN_ITEMS; i++) {
        gen_id(ids[i], sizeof ids[i], i);
        items[i] = ids[i];
    }
    pc_price out[GEN_ITEMS];
    int st[GEN_ITEMS];
    child c;
    spawn_child(&c, "churn", f->dir, "600000");
    child_wait_ready(&c);
    int64_t first = -1, last = -1;
    long calls = 0;
    /* Read until 50 calls have run and the writer has moved on at least 3
     * generations meanwhile; then tell it to stop (close its stdin). */
    while (calls < 50 || last - first < 3) {
        assert_true(child_running(&c));
        assert_int_equal(pc_get_many(r, "gen", NULL, GEN_ITEMS, items, out, st), PC_OK);
        for (int i = 0; i < GEN_ITEMS; i++) {
            assert_int_equal(st[i], PC_OK);
            if (out[i].cents != out[0].cents)
                fail_msg("call %ld: item %d from generation %lld, item 0 from %lld", calls, i,
                         (long long)out[i].cents, (long long)out[0].cents);
        }
        assert_true(out[0].cents >= last); /* never back in time */
        last = out[0].cents;
        if (first < 0)
            first = last;
        int64_t seen[2] = { 0, 0 };
        assert_int_equal(pc_reader_scan(r, "gen", scan_gen, seen), 0);
        assert_int_equal(seen[1], GEN_ITEMS);
        calls++;
    }
    child_finish(&c);
    pc_close(r);
}

/* ---- metadata and internal calls ------------------------------------ */

static void test_chain_info_and_chains(void **state)
{
    pc_reader *r = open_ok(state);
    pc_chain_meta m;
    assert_int_equal(pc_chain_info(r, "acme", &m), PC_OK);
    assert_int_equal(m.version, 7);
    assert_int_equal(m.loaded_at, 1700000000007);
    assert_int_equal(m.base_rows, 3);
    assert_int_equal(m.store_rows, 4);
    assert_int_equal(m.avg_cents, 200);
    assert_int_equal(m.breaker, PC_BREAKER_OPEN);
    assert_int_equal(pc_chain_info(r, "nosuch", &m), PC_ENOCHAIN);

    char **chains;
    size_t n = 99;
    assert_int_equal(pc_chains(r, &chains, &n), PC_OK);
    static const char *const want[] = { "acme", "acme-x", "beta", "empty", "gen", "odd" };
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(chains[i], want[i]);
    assert_null(chains[n]);
    pc_free_chains(chains);
    assert_int_equal(pc_chains(r, &chains, NULL), PC_OK);
    assert_string_equal(chains[0], "acme");
    pc_free_chains(chains);
    pc_free_chains(NULL);
    pc_close(r);
}

static void test_chains_none(void **state)
{
    fixture *f = *state;
    writer w;
    assert_int_equal(w_open(&w, f->dir, 0, 0), 0);
    assert_int_equal(w_begin(&w), 0);
    assert_int_equal(put_fmt(&w, PC_FORMAT_VERSION), 0);
    assert_int_equal(w_commit(&w), 0);
    w_close(&w);
    pc_reader *r = open_ok(state);
    char **chains;
    size_t n = 99;
    assert_int_equal(pc_chains(r, &chains, &n), PC_OK);
    assert_int_equal(n, 0);
    assert_null(chains[0]);
    pc_free_chains(chains);
    pc_daemon_rec d;
    assert_int_equal(pc_reader_daemon(r, &d), PC_NOTFOUND);
    assert_int_equal(pc_wait_ready(r, 0), PC_ETIMEDOUT);
    pc_close(r);
}

typedef struct scanned {
    char   lines[16][64];
    int    n, stop_at;
} scanned;

static int scan_collect(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    scanned *s = ctx;
    if (s->n == s->stop_at)
        return 77;
    assert_true(s->n < 16);
    snprintf(s->lines[s->n++], 64, "%c %.*s %.*s %lld %lld", k->kind, (int)k->slen, k->store,
             (int)k->ilen, k->item, (long long)v->cents, (long long)v->updated_at);
    return 0;
}

static void test_internal_calls(void **state)
{
    pc_reader *r = open_ok(state);
    pc_meta_rec m;
    assert_int_equal(pc_reader_meta(r, "acme", &m), PC_OK);
    assert_int_equal(m.version, 7);
    assert_int_equal(m.loads_ok, 5);
    assert_int_equal(m.last_result, PC_LOAD_OK);
    assert_int_equal(m.rejected[PC_REJ_LONG_ID], 2);
    assert_string_equal(m.last_error, "statement timeout");
    assert_int_equal(pc_reader_meta(r, "nosuch", &m), PC_ENOCHAIN);
    assert_int_equal(pc_reader_meta(r, "No", &m), PC_EINVAL);

    pc_daemon_rec d;
    assert_int_equal(pc_reader_daemon(r, &d), PC_OK);
    assert_int_equal(d.ready, 0);
    assert_int_equal(d.state, PC_DAEMON_STARTING);

    /* Base rows first, then exceptions by (store, item); nothing of acme-x. */
    scanned s = { .stop_at = -1 };
    assert_int_equal(pc_reader_scan(r, "acme", scan_collect, &s), PC_OK);
    static const char *const want[] = {
        "B  item1 100 1001", "B  item2 200 1002", "B  item3 300 1003",
        "S a x 1 3001",      "S ab y 2 3002",     "S s1 item1 90 2001",
        "S s2 item2 180 2002",
    };
    assert_int_equal(s.n, sizeof want / sizeof want[0]);
    for (int i = 0; i < s.n; i++)
        assert_string_equal(s.lines[i], want[i]);
    /* The callback's non-zero answer stops the scan and is returned. */
    scanned s2 = { .stop_at = 2 };
    assert_int_equal(pc_reader_scan(r, "acme", scan_collect, &s2), 77);
    assert_int_equal(s2.n, 2);
    scanned s3 = { .stop_at = -1 };
    assert_int_equal(pc_reader_scan(r, "empty", scan_collect, &s3), PC_OK);
    assert_int_equal(s3.n, 0);
    assert_int_equal(pc_reader_scan(r, "nosuch", scan_collect, &s3), PC_ENOCHAIN);
    assert_int_equal(pc_reader_scan(r, "odd", scan_collect, &s3), PC_EFORMAT);
    assert_int_equal(pc_reader_scan(r, "acme", NULL, &s3), PC_EINVAL);

    uint64_t used, size;
    unsigned rused, rmax;
    assert_int_equal(pc_reader_env_info(r, &used, &size, &rused, &rmax), PC_OK);
    assert_true(used > 0 && used <= size);
    assert_int_equal(rused, 1); /* this thread's slot */
    assert_true(rmax >= 126);
    assert_int_equal(pc_reader_env_info(r, NULL, NULL, NULL, NULL), PC_OK);
    pc_close(r);
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(pc_version(), PC_VERSION);
}

/* ---- opening ---------------------------------------------------------- */

static void test_open_not_ready(void **state)
{
    fixture *f = *state;
    pc_reader *r = (pc_reader *)f;
    assert_int_equal(pc_open("/nonexistent/pricecache", &r), PC_ENOTREADY);
    assert_null(r);
    /* A directory without an environment yet. */
    assert_int_equal(pc_open(f->dir, &r), PC_ENOTREADY);
    assert_null(r);
    /* The daemon has just created an empty data file. */
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", f->dir);
    int fd = open(p, O_CREAT | O_WRONLY, 0640);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pc_open(f->dir, &r), PC_ENOTREADY);
    unlink(p);
    /* The daemon has created the environment but not committed yet. */
    writer w;
    assert_int_equal(w_open(&w, f->dir, 0, 0), 0);
    w_close(&w);
    assert_int_equal(pc_open(f->dir, &r), PC_ENOTREADY);
    assert_null(r);
    /* Bad arguments. */
    assert_int_equal(pc_open(NULL, &r), PC_EINVAL);
    assert_int_equal(pc_open("", &r), PC_EINVAL);
    assert_int_equal(pc_open(f->dir, NULL), PC_EINVAL);
    char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    assert_int_equal(pc_open(longpath, &r), PC_EINVAL);
    /* A file where the directory should be. */
    snprintf(p, sizeof p, "%s/file", f->dir);
    fd = open(p, O_CREAT | O_WRONLY, 0640);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pc_open(p, &r), PC_EIO);
}

static void open_with(void **state, int (*fill)(writer *w), int want)
{
    fixture *f = *state;
    writer w;
    assert_int_equal(w_open(&w, f->dir, 0, 0), 0);
    assert_int_equal(w_begin(&w), 0);
    assert_int_equal(fill(&w), 0);
    assert_int_equal(w_commit(&w), 0);
    w_close(&w);
    pc_reader *r = (pc_reader *)f;
    assert_int_equal(pc_open(f->dir, &r), want);
    if (want == PC_OK)
        pc_close(r);
    else
        assert_null(r);
}

static int fill_foreign(writer *w)
{
    return w_put(w, "foo", 3, "bar", 3);
}

static int fill_future(writer *w)
{
    int rc = put_fmt(w, PC_FORMAT_VERSION + 1);
    return rc ? rc : put_meta(w, "acme", 1, 0, 0, 0);
}

static int fill_no_format(writer *w)
{
    int rc = put_meta(w, "acme", 1, 0, 0, 0);
    return rc ? rc : put_price(w, "acme", NULL, "item1", 1, 1);
}

static int fill_short_format(writer *w)
{
    uint8_t kb[PC_KEY_MAX];
    return w_put(w, kb, pc_key_fmt(kb), PC_FORMAT_MAGIC, 8);
}

static int fill_format_only(writer *w)
{
    return put_fmt(w, PC_FORMAT_VERSION);
}

static void test_open_foreign(void **state)       { open_with(state, fill_foreign, PC_EFORMAT); }
static void test_open_future_format(void **state) { open_with(state, fill_future, PC_EFORMAT); }
static void test_open_no_format(void **state)     { open_with(state, fill_no_format, PC_EFORMAT); }
static void test_open_short_format(void **state)  { open_with(state, fill_short_format, PC_EFORMAT); }
static void test_open_format_only(void **state)   { open_with(state, fill_format_only, PC_OK); }

/* Two readers of one directory share one LMDB handle: each works, and
 * closing one leaves the other intact. */
static void test_open_twice(void **state)
{
    fixture *f = *state;
    pc_reader *a = open_ok(state), *b = open_ok(state), *c;
    char other[128];
    snprintf(other, sizeof other, "%s/./", f->dir); /* same files, another spelling */
    assert_int_equal(pc_open(other, &c), PC_OK);
    pc_price p;
    assert_int_equal(pc_get(a, "acme", "s1", "item1", &p), PC_OK);
    assert_int_equal(pc_get(b, "acme", "s1", "item1", &p), PC_OK);
    assert_int_equal(pc_get(c, "acme", "s1", "item1", &p), PC_OK);
    /* One slot per (thread, reader), all visible in one table. */
    assert_int_equal(readers_used(a), 3);
    pc_close(b);
    assert_int_equal(readers_used(a), 2);
    assert_int_equal(pc_get(a, "acme", "s1", "item1", &p), PC_OK);
    assert_int_equal(p.cents, 90);
    pc_close(a);
    assert_int_equal(pc_get(c, "beta", NULL, "b1", &p), PC_OK);
    assert_int_equal(readers_used(c), 1);
    pc_close(c);
}

/* ---- pc_wait_ready ---------------------------------------------------- */

static void test_wait_ready(void **state)
{
    fixture *f = *state;
    pc_reader *r = open_ok(state);
    assert_int_equal(pc_wait_ready(r, 0), PC_ETIMEDOUT);
    int64_t t0 = mono_ms();
    assert_int_equal(pc_wait_ready(r, 50), PC_ETIMEDOUT);
    int64_t waited = mono_ms() - t0;
    assert_true(waited >= 50);
    assert_true(waited < 2000);
    child c;
    spawn_child(&c, "ready", f->dir, "150");
    t0 = mono_ms();
    assert_int_equal(pc_wait_ready(r, 10000), PC_OK);
    waited = mono_ms() - t0;
    assert_true(waited >= 100);
    assert_true(waited < 8000);
    child_finish(&c);
    assert_int_equal(pc_wait_ready(r, 0), PC_OK);
    assert_int_equal(pc_wait_ready(r, -1), PC_OK);
    pc_close(r);
}

/* ---- threads ---------------------------------------------------------- */

typedef struct tjob {
    pc_reader          *r;
    int                 id;
    long                lookups, bad;
    atomic_int         *stop;
    pthread_barrier_t  *hold;
    int                 rc;
} tjob;

/* The fixture's answers, checked on every call. */
static int check_lookup(pc_reader *r, long k)
{
    pc_price p;
    switch (k % 5) {
    case 0:
        return pc_get(r, "acme", "s1", "item1", &p) == PC_OK && p.cents == 90 &&
               p.flags == PC_PRICE_STORE;
    case 1:
        return pc_get(r, "acme", "", "item2", &p) == PC_OK && p.cents == 200 && p.flags == 0;
    case 2:
        return pc_get(r, "acme", "s2", "item2", &p) == PC_OK && p.cents == 180;
    case 3:
        return pc_get(r, "acme", "s1", "nope", &p) == PC_NOTFOUND;
    default:
        return pc_get(r, "nosuch", "s1", "item1", &p) == PC_ENOCHAIN;
    }
}

static void *lookups_thread(void *arg)
{
    tjob *j = arg;
    for (long k = 0; k < j->lookups; k++)
        if (!check_lookup(j->r, k + j->id))
            j->bad++;
    return NULL;
}

#define NTHREADS 8
#define LOOKUPS  10000

static void test_many_threads(void **state)
{
    pc_reader *r = open_ok(state);
    unsigned base = readers_used(r);
    pthread_t t[NTHREADS];
    tjob j[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        j[i] = (tjob){ .r = r, .id = i, .lookups = LOOKUPS };
        assert_int_equal(pthread_create(&t[i], NULL, lookups_thread, &j[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(j[i].bad, 0);
    }
    /* Every thread's slot went back at its exit. */
    assert_int_equal(readers_used(r), base);
    pc_close(r);
}

/* Each worker does one lookup, then holds its slot at the barrier. */
static void *hold_thread(void *arg)
{
    tjob *j = arg;
    pc_price p;
    j->rc = pc_get(j->r, "acme", "s1", "item1", &p);
    if (j->rc == PC_OK && p.cents != 90)
        j->rc = -1;
    pthread_barrier_wait(j->hold);
    pthread_barrier_wait(j->hold);
    return NULL;
}

static void test_slots_released(void **state)
{
    pc_reader *r = open_ok(state);
    unsigned base = readers_used(r);
    assert_int_equal(base, 1);
    enum { N = 4 };
    pthread_barrier_t hold;
    pthread_barrier_init(&hold, NULL, N + 1);
    pthread_t t[N];
    tjob j[N];
    for (int i = 0; i < N; i++) {
        j[i] = (tjob){ .r = r, .id = i, .hold = &hold };
        assert_int_equal(pthread_create(&t[i], NULL, hold_thread, &j[i]), 0);
    }
    pthread_barrier_wait(&hold); /* all have looked up */
    long parked = slots_used(r);
    pthread_barrier_wait(&hold);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(j[i].rc, PC_OK);
    }
    /* Idle threads kept a slot each, pinning nothing, until they exited. */
    assert_int_equal(parked, base + N);
    assert_int_equal(readers_used(r), base);
    /* Many short-lived threads do not accumulate slots. */
    for (int i = 0; i < 40; i++) {
        tjob one = { .r = r, .lookups = 1 };
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, lookups_thread, &one), 0);
        pthread_join(th, NULL);
        assert_int_equal(one.bad, 0);
    }
    assert_int_equal(readers_used(r), base);
    pthread_barrier_destroy(&hold);
    pc_close(r);
}

/* pc_close while threads that used the reader still live; they exit
 * afterwards, and their slot destructors must find nothing to free. */
static void test_close_before_threads_exit(void **state)
{
    pc_reader *r = open_ok(state);
    enum { N = 4 };
    pthread_barrier_t hold;
    pthread_barrier_init(&hold, NULL, N + 1);
    pthread_t t[N];
    tjob j[N];
    for (int i = 0; i < N; i++) {
        j[i] = (tjob){ .r = r, .id = i, .hold = &hold };
        assert_int_equal(pthread_create(&t[i], NULL, hold_thread, &j[i]), 0);
    }
    pthread_barrier_wait(&hold);
    pc_close(r);
    pthread_barrier_wait(&hold);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(j[i].rc, PC_OK);
    }
    /* A new reader on the same files starts from a clean table. */
    r = open_ok(state);
    assert_int_equal(readers_used(r), 1);
    pc_close(r);
}

/* Readers keep answering while another process grows the map far past the
 * size they mapped (MDB_MAP_RESIZED, adopted under the slot locks). */
static void *growth_thread(void *arg)
{
    tjob *j = arg;
    char id[BULK_ID_LEN + 1];
    for (long k = 0; !atomic_load(j->stop); k++) {
        if (!check_lookup(j->r, k + j->id))
            j->bad++;
        bulk_id(id, (int)(k * 7919 % 50000));
        pc_price p;
        int rc = pc_get(j->r, "bulk", NULL, id, &p);
        if (rc != PC_OK && rc != PC_NOTFOUND && rc != PC_ENOCHAIN)
            j->bad++;
        if (rc == PC_OK && p.cents != p.updated_at)
            j->bad++;
        j->lookups++;
    }
    return NULL;
}

static void test_map_growth(void **state)
{
    fixture *f = *state;
    pc_reader *r = open_ok(state);
    uint64_t size0;
    assert_int_equal(pc_reader_env_info(r, NULL, &size0, NULL, NULL), PC_OK);
    assert_true(size0 <= 1 << 20);
    enum { N = 6 };
    atomic_int stop = 0;
    pthread_t t[N];
    tjob j[N];
    for (int i = 0; i < N; i++) {
        j[i] = (tjob){ .r = r, .id = i, .stop = &stop };
        assert_int_equal(pthread_create(&t[i], NULL, growth_thread, &j[i]), 0);
    }
    child c;
    spawn_child(&c, "grow", f->dir, NULL);
    long written = 0;
    int crc = child_reap(&c, &written);
    sleep_ms(20); /* let every thread meet the grown map */
    atomic_store(&stop, 1);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(crc, 0);
    assert_true(written > 50000);
    for (int i = 0; i < N; i++) {
        assert_int_equal(j[i].bad, 0);
        assert_true(j[i].lookups > 0);
    }
    /* The last key lies far beyond the map this reader opened with. */
    char id[BULK_ID_LEN + 1];
    bulk_id(id, (int)written - 1);
    pc_price p;
    assert_int_equal(pc_get(r, "bulk", "", id, &p), PC_OK);
    assert_int_equal(p.cents, written - 1);
    uint64_t used1, size1;
    assert_int_equal(pc_reader_env_info(r, &used1, &size1, NULL, NULL), PC_OK);
    assert_true(size1 >= (uint64_t)32 << 20);
    assert_true(used1 > size0);
    pc_close(r);
}

/* A full reader table: the slots of dead processes are cleared once, then
 * PC_EOVERLOADED. */
static void test_readers_full(void **state)
{
    fixture *f = *state;
    /* LMDB only ever grows an existing lock file: start without one so that
     * the first opener's table size holds. */
    char lock[128];
    snprintf(lock, sizeof lock, "%s/lock.mdb", f->dir);
    unlink(lock);
    child holder, squat;
    spawn_child(&holder, "hold", f->dir, "4"); /* first opener: 4 slots */
    child_wait_ready(&holder);
    pc_reader *r = open_ok(state); /* slot 1: this thread */
    spawn_child(&squat, "squat", f->dir, NULL);
    child_wait_ready(&squat);
    child_finish(&squat); /* slot 2: held by a dead process */
    assert_int_equal(readers_used(r), 2);

    enum { N = 4 };
    pthread_barrier_t hold[N]; /* one per worker: it and this thread */
    pthread_t t[N];
    tjob j[N];
    for (int i = 0; i < N; i++) {
        pthread_barrier_init(&hold[i], NULL, 2);
        j[i] = (tjob){ .r = r, .id = i, .hold = &hold[i] };
        assert_int_equal(pthread_create(&t[i], NULL, hold_thread, &j[i]), 0);
        pthread_barrier_wait(&hold[i]); /* one at a time, each keeping its slot */
    }
    for (int i = 0; i < N; i++) {
        pthread_barrier_wait(&hold[i]);
        pthread_join(t[i], NULL);
        pthread_barrier_destroy(&hold[i]);
    }
    assert_int_equal(j[0].rc, PC_OK);       /* slot 3 */
    assert_int_equal(j[1].rc, PC_OK);       /* slot 4: table full */
    assert_int_equal(j[2].rc, PC_OK);       /* the dead process's slot, reclaimed */
    assert_int_equal(j[3].rc, PC_EOVERLOADED);
    /* Their slots are free again. */
    tjob again = { .r = r, .lookups = 5 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, lookups_thread, &again), 0);
    pthread_join(th, NULL);
    assert_int_equal(again.bad, 0);
    pc_close(r);
    child_finish(&holder);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--child") == 0)
        return child_main(argc - 2, argv + 2);
    if (strchr(argv[0], '/') && !realpath(argv[0], self_exe))
        strcpy(self_exe, "/proc/self/exe");
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TE(f) cmocka_unit_test_setup_teardown(f, setup_empty, teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_over_base),
        T(test_base_only),
        T(test_notfound_vs_enochain),
        T(test_einval),
        T(test_bad_handle),
        T(test_wrong_value_size),
        T(test_get_many),
        T(test_get_many_one_version),
        T(test_chain_info_and_chains),
        TE(test_chains_none),
        T(test_internal_calls),
        T(test_version),
        TE(test_open_not_ready),
        TE(test_open_foreign),
        TE(test_open_future_format),
        TE(test_open_no_format),
        TE(test_open_short_format),
        TE(test_open_format_only),
        T(test_open_twice),
        T(test_wait_ready),
        T(test_many_threads),
        T(test_slots_released),
        T(test_close_before_threads_exit),
        T(test_map_growth),
        T(test_readers_full),
    };
    return cmocka_run_group_tests_name("reader", tests, NULL, NULL);
}
