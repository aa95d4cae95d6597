/* test_lockfile.c - the lock file checks (client/lockfile.c, daemon/store_lock.c): the pure checks, then bytes written into a real lock.mdb under the library and under the daemon's store: PC_EFORMAT with the sentence, never a crash, and recovery once the bytes are back.
 *
 * The field offsets are LMDB 0.9's MDB_txninfo on Linux x86-64 (magic 0,
 * format 4, txnid 48, reader count 56), as the scenario fault_lock_corrupt
 * writes them; test_layout checks them against LMDB first.  The library's
 * part runs with the environment held open by a child process (the
 * daemon's store): LMDB re-initialises the lock file when its first
 * opener finds nobody else, and forbids two handles in one process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "errdetail.h"
#include "pc_format.h"
#include "pc_lockfile.h"
#include "pricecache.h"
#include "reader_private.h"
#include "snapshot.h"
#include "store.h"
#include "store_int.h"
#include "store_fixture.h"

enum { OFF_MAGIC = 0, OFF_FORMAT = 4, OFF_TXNID = 48, OFF_NREADERS = 56 };

/* ---- the pure checks ---------------------------------------------------- */

static void test_check_readers(void **state)
{
    (void)state;
    char msg[200] = "";
    assert_int_equal(pc_lock_check_readers(0, 126, msg, sizeof msg), PC_OK);
    assert_int_equal(pc_lock_check_readers(126, 126, msg, sizeof msg), PC_OK);
    assert_int_equal(pc_lock_check_readers(127, 126, msg, sizeof msg), PC_EFORMAT);
    assert_int_equal(pc_lock_check_readers(4294967295u, 126, msg, sizeof msg), PC_EFORMAT);
    assert_string_equal(msg, "lock.mdb: reader count 4294967295 beyond the table of 126 (lock "
                             "file corrupt)");
    assert_int_equal(pc_lock_check_readers(127, 126, NULL, 0), PC_EFORMAT);
}

static void test_check_txnid(void **state)
{
    (void)state;
    char msg[200] = "";
    assert_int_equal(pc_lock_check_txnid(0, 0, 0, msg, sizeof msg), PC_OK);
    assert_int_equal(pc_lock_check_txnid(5, 5, 5, msg, sizeof msg), PC_OK);
    assert_int_equal(pc_lock_check_txnid(5, 9, 3, msg, sizeof msg), PC_OK); /* commits since */
    assert_int_equal(pc_lock_check_txnid(10, 9, 0, msg, sizeof msg), PC_EFORMAT);
    assert_non_null(strstr(msg, "transaction id 10 beyond data.mdb's last commit 9"));
    assert_int_equal(pc_lock_check_txnid(4, 9, 5, msg, sizeof msg), PC_EFORMAT);
    assert_non_null(strstr(msg, "transaction id 4 went back (5 seen before"));
    assert_int_equal(pc_lock_check_txnid(UINT64_MAX, 9, 0, NULL, 0), PC_EFORMAT);
    /* The writer's: exactly the next one. */
    assert_int_equal(pc_lock_check_wtxnid(1, 0, msg, sizeof msg), PC_OK);
    assert_int_equal(pc_lock_check_wtxnid(10, 9, msg, sizeof msg), PC_OK);
    assert_int_equal(pc_lock_check_wtxnid(9, 9, msg, sizeof msg), PC_EFORMAT);
    assert_non_null(strstr(msg, "last transaction id 8, but data.mdb's last commit is 9"));
    assert_int_equal(pc_lock_check_wtxnid(0, UINT64_MAX, msg, sizeof msg), PC_OK); /* wraps */
    assert_int_equal(pc_lock_check_wtxnid(1000, 9, msg, sizeof msg), PC_EFORMAT);
}

static void test_check_header(void **state)
{
    (void)state;
    char msg[200] = "";
    assert_int_equal(pc_lock_check_header(PC_LMDB_MAGIC, 7, 7, msg, sizeof msg), PC_OK);
    assert_int_equal(pc_lock_check_header(PC_LMDB_MAGIC, 8, 0, msg, sizeof msg), PC_OK);
    assert_int_equal(pc_lock_check_header(0x41414141, 7, 7, msg, sizeof msg), PC_EFORMAT);
    assert_string_equal(msg, "lock.mdb: magic 0x41414141 is not LMDB's 0xbeefc0de (lock file "
                             "corrupt)");
    assert_int_equal(pc_lock_check_header(PC_LMDB_MAGIC, 8, 7, msg, sizeof msg), PC_EFORMAT);
    assert_non_null(strstr(msg, "lock format 0x00000008, not 0x00000007"));
}

static void test_errdetail(void **state)
{
    (void)state;
    pc_detail_clear();
    assert_string_equal(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT));
    pc_detail_set(PC_EFORMAT, "lock.mdb: something");
    assert_string_equal(pc_errdetail(PC_EFORMAT), "lock.mdb: something");
    /* Another code: that code's own text, not a stale detail. */
    assert_string_equal(pc_errdetail(PC_EIO), pc_strerror(PC_EIO));
    assert_string_equal(pc_errdetail(PC_OK), pc_strerror(PC_OK));
    pc_detail_clear();
    assert_string_equal(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT));
    assert_non_null(pc_errdetail(12345));
}

/* ---- a real lock file ----------------------------------------------------- */

/* One descriptor of lock.mdb per test, opened before and closed after the
 * handles under test: closing any descriptor of the file drops the
 * process's fcntl locks on it, which LMDB reads as "this process is gone"
 * (pc_lockfile.h). */
static int g_lfd = -1;

static void lock_open(const char *dir)
{
    char p[128];
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    g_lfd = open(p, O_RDWR | O_CLOEXEC);
    assert_true(g_lfd >= 0);
}

static void lock_close(void)
{
    close(g_lfd);
    g_lfd = -1;
}

static void poke(const char *dir, off_t off, const void *bytes, size_t n)
{
    (void)dir;
    assert_int_equal(pwrite(g_lfd, bytes, n, off), (ssize_t)n);
}

static void peek(const char *dir, off_t off, void *bytes, size_t n)
{
    (void)dir;
    assert_int_equal(pread(g_lfd, bytes, n, off), (ssize_t)n);
}

static void poke32(const char *dir, off_t off, uint32_t v) { poke(dir, off, &v, sizeof v); }
static void poke64(const char *dir, off_t off, uint64_t v) { poke(dir, off, &v, sizeof v); }

static void publish_one(pcd_store *st, const char *chain, int64_t cents)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, chain);
    assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "item", 4, cents, 1700000000), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    pcd_publish_stats ps;
    char err[256];
    int rc = pcd_store_publish(st, &s, &m, &ps, err, sizeof err);
    pcd_snapshot_free(&s);
    assert_int_equal(rc, PC_OK);
}

/* The offsets the scenario and these tests write, against what LMDB says. */
static void test_layout(void **state)
{
    fixture *f = *state;
    lock_open(f->dir);
    publish_one(f->st, "acme", 100);
    publish_one(f->st, "acme", 101);
    MDB_envinfo info;
    assert_int_equal(mdb_env_info(f->st->env, &info), 0);
    uint32_t magic, nreaders;
    uint64_t txnid;
    peek(f->dir, OFF_MAGIC, &magic, sizeof magic);
    peek(f->dir, OFF_TXNID, &txnid, sizeof txnid);
    peek(f->dir, OFF_NREADERS, &nreaders, sizeof nreaders);
    assert_int_equal(magic, PC_LMDB_MAGIC);
    assert_int_equal(txnid, info.me_last_txnid);
    assert_int_equal(nreaders, info.me_numreaders);
    assert_true(info.me_last_txnid >= 3); /* format record, two publishes */
    lock_close();
}

/* The daemon's store: a corrupt count or id refuses the write (nothing
 * written, the state says why); the bytes back, it writes again. */
static void test_store_refuses(void **state)
{
    fixture *f = *state;
    lock_open(f->dir);
    publish_one(f->st, "acme", 100);
    char why[256];
    assert_int_equal(pcd_store_lock_state(f->st, why, sizeof why), 0);
    uint32_t n0;
    uint64_t t0;
    peek(f->dir, OFF_NREADERS, &n0, sizeof n0);
    peek(f->dir, OFF_TXNID, &t0, sizeof t0);

    static const uint32_t counts[] = { 4294967295u, 0x7fffffffu, 100000u };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        poke32(f->dir, OFF_NREADERS, counts[i]);
        pcd_snapshot s;
        pcd_snapshot_init(&s, "acme");
        assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "item", 4, 999, 1700000000), PC_OK);
        assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
        pc_meta_rec m;
        memset(&m, 0, sizeof m);
        pcd_publish_stats ps;
        char err[512];
        assert_int_equal(pcd_store_publish(f->st, &s, &m, &ps, err, sizeof err), PC_EFORMAT);
        pcd_snapshot_free(&s);
        assert_non_null(strstr(err, "lock.mdb: reader count"));
        assert_int_equal(pcd_store_lock_state(f->st, why, sizeof why), 1);
        assert_non_null(strstr(why, "beyond the table"));
        /* The watcher's sample refuses it (no slots listed) and judges the same. */
        pcd_store_sample_t smp;
        assert_int_equal(pcd_store_sample(f->st, &smp), PC_EFORMAT);
        assert_int_equal(smp.nslots, 0);
        pcd_store_sample_free(&smp);
        uint64_t used, size;
        int readers;
        assert_int_equal(pcd_store_usage(f->st, &used, &size, &readers), PC_OK);
        assert_true(readers <= 1024);
        int dead;
        assert_int_equal(pcd_store_clear_dead(f->st, &dead), PC_EFORMAT);
    }
    poke32(f->dir, OFF_NREADERS, n0);
    pc_meta_rec got;
    assert_int_equal(pcd_store_get_meta(f->st, "acme", &got), PC_OK);
    uint64_t v0 = got.version;

    static const uint64_t ids[] = { UINT64_MAX, 1u << 30, 1 };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        poke64(f->dir, OFF_TXNID, ids[i]);
        pcd_snapshot s;
        pcd_snapshot_init(&s, "acme");
        assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "item", 4, 999, 1700000000), PC_OK);
        assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
        pc_meta_rec m;
        memset(&m, 0, sizeof m);
        pcd_publish_stats ps;
        char err[512];
        assert_int_equal(pcd_store_publish(f->st, &s, &m, &ps, err, sizeof err), PC_EFORMAT);
        pcd_snapshot_free(&s);
        assert_non_null(strstr(err, "data.mdb's last commit"));
        assert_int_equal(pcd_store_lock_state(f->st, why, sizeof why), 1);
    }
    poke64(f->dir, OFF_TXNID, t0);
    /* The watcher's full check clears the state; the next publish lands. */
    pcd_store_sample_t smp;
    assert_int_equal(pcd_store_sample(f->st, &smp), PC_OK);
    pcd_store_sample_free(&smp);
    assert_int_equal(pcd_store_lock_state(f->st, why, sizeof why), 0);
    publish_one(f->st, "acme", 102);
    assert_int_equal(pcd_store_get_meta(f->st, "acme", &got), PC_OK);
    assert_true(got.version > v0);

    /* A bad magic: the watcher says so; writes are not endangered by it. */
    uint32_t magic;
    peek(f->dir, OFF_MAGIC, &magic, sizeof magic);
    poke32(f->dir, OFF_MAGIC, 0x41414141);
    assert_int_equal(pcd_store_sample(f->st, &smp), PC_OK);
    pcd_store_sample_free(&smp);
    assert_int_equal(pcd_store_lock_state(f->st, why, sizeof why), 1);
    assert_non_null(strstr(why, "magic 0x41414141"));
    poke32(f->dir, OFF_MAGIC, magic);
    assert_int_equal(pcd_store_sample(f->st, &smp), PC_OK);
    pcd_store_sample_free(&smp);
    assert_int_equal(pcd_store_lock_state(f->st, why, sizeof why), 0);
    lock_close();
}

/* The daemon died between writing data.mdb's meta page and lock.mdb's id
 * while readers kept the lock file: one behind at the next daemon's first
 * write is let through (LMDB writes on the commit before; warm-up reloads)
 * rather than refused until every reader closes; later, it is refused. */
static void test_store_one_behind(void **state)
{
    fixture *f = *state;
    publish_one(f->st, "acme", 100);
    publish_one(f->st, "acme", 101);
    /* A reader process keeps the lock file across the restart. */
    int up[2], down[2];
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        close(up[0]);
        close(down[1]);
        close(f->st->lock_fd); /* the parent's daemon.lock: flock is shared across fork */
        MDB_env *e;
        if (mdb_env_create(&e) || mdb_env_set_maxreaders(e, 1024) ||
            mdb_env_open(e, f->dir, MDB_RDONLY | MDB_NOTLS, 0660))
            _exit(2);
        char ch = 'r';
        if (write(up[1], &ch, 1) != 1)
            _exit(3);
        while (read(down[0], &ch, 1) > 0)
            ;
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    char ch;
    assert_int_equal(read(up[0], &ch, 1), 1);
    close(up[0]);
    pcd_store_close(f->st);
    f->st = NULL;
    lock_open(f->dir);
    uint64_t t0;
    peek(f->dir, OFF_TXNID, &t0, sizeof t0);
    poke64(f->dir, OFF_TXNID, t0 - 1);
    char err[256], why[256];
    assert_int_equal(pcd_store_open(&f->cfg, &f->st, err, sizeof err), PC_OK);
    publish_one(f->st, "acme", 102); /* the first write: let through */
    assert_int_equal(pcd_store_lock_state(f->st, why, sizeof why), 0);
    uint64_t t1;
    peek(f->dir, OFF_TXNID, &t1, sizeof t1);
    assert_int_equal(t1, t0); /* LMDB wrote on t0 - 1: in step again */
    pc_meta_rec m;
    assert_int_equal(pcd_store_get_meta(f->st, "acme", &m), PC_OK);
    poke64(f->dir, OFF_TXNID, t1 - 1); /* now a lie */
    pcd_snapshot s;
    pcd_snapshot_init(&s, "acme");
    assert_int_equal(pcd_snapshot_add(&s, NULL, 0, "item", 4, 999, 1700000000), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    pc_meta_rec mm;
    memset(&mm, 0, sizeof mm);
    pcd_publish_stats ps;
    assert_int_equal(pcd_store_publish(f->st, &s, &mm, &ps, err, sizeof err), PC_EFORMAT);
    pcd_snapshot_free(&s);
    poke64(f->dir, OFF_TXNID, t1);
    publish_one(f->st, "acme", 103);
    close(down[1]);
    int st;
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    lock_close();
}

/* ---- the library, with the daemon's store in a child ---------------------- */

typedef struct holder {
    char  dir[64];
    pid_t pid;
    int   to_child; /* closed: the child exits */
} holder;

static void holder_start(holder *h)
{
    strcpy(h->dir, "/tmp/pc_test_lockfile.XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    int up[2], down[2];
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    h->pid = fork();
    assert_true(h->pid >= 0);
    if (h->pid == 0) {
        close(up[0]);
        close(down[1]);
        pcd_config cfg;
        pcd_config_defaults(&cfg);
        cfg.path = strdup(h->dir);
        cfg.dsn = strdup("dbname=unused");
        pcd_store *st;
        char err[256];
        if (pcd_store_open(&cfg, &st, err, sizeof err) != PC_OK)
            _exit(2);
        publish_one(st, "acme", 100);
        /* A daemon that says it is ready, and an audit log of two. */
        pc_daemon_rec d;
        memset(&d, 0, sizeof d);
        d.size = sizeof d;
        d.state = PC_DAEMON_READY;
        d.ready = 1;
        d.pid = (uint32_t)getpid();
        uint64_t seq;
        if (pcd_store_put_daemon(st, &d) != PC_OK || pcd_store_audit(st, "one", &seq) != PC_OK ||
            pcd_store_audit(st, "two", &seq) != PC_OK)
            _exit(4);
        char c = 'r';
        if (write(up[1], &c, 1) != 1)
            _exit(3);
        while (read(down[0], &c, 1) > 0)
            ;
        pcd_store_close(st);
        pcd_config_free(&cfg);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    h->to_child = down[1];
    char c;
    assert_int_equal(read(up[0], &c, 1), 1);
    close(up[0]);
}

static void holder_stop(holder *h)
{
    close(h->to_child);
    int st;
    assert_int_equal(waitpid(h->pid, &st, 0), h->pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct tjob {
    pc_reader *r;
    int rc;
    char detail[256];
} tjob;

/* A thread's first lookup: a new reader slot. */
static void *fresh_thread(void *arg)
{
    tjob *j = arg;
    pc_price p;
    j->rc = pc_get(j->r, "acme", NULL, "item", &p);
    snprintf(j->detail, sizeof j->detail, "%s", pc_errdetail(j->rc));
    if (j->rc == PC_OK && p.cents != 100)
        j->rc = -1;
    return NULL;
}

static int in_new_thread(pc_reader *r, char *detail, size_t cap)
{
    tjob j = { .r = r };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fresh_thread, &j), 0);
    pthread_join(t, NULL);
    snprintf(detail, cap, "%s", j.detail);
    return j.rc;
}

/* A reader of the cache a child holds, lock.mdb opened for poking. */
static pc_reader *held_reader(holder *h)
{
    holder_start(h);
    lock_open(h->dir);
    pc_reader *r;
    assert_int_equal(pc_open(h->dir, &r), PC_OK);
    return r;
}

static void test_library_refuses(void **state)
{
    (void)state;
    holder h;
    pc_reader *r = held_reader(&h);
    pc_price p;
    assert_int_equal(pc_get(r, "acme", NULL, "item", &p), PC_OK);
    uint32_t n0;
    uint64_t t0;
    peek(h.dir, OFF_NREADERS, &n0, sizeof n0);
    peek(h.dir, OFF_TXNID, &t0, sizeof t0);
    char detail[256];

    static const uint32_t counts[] = { 4294967295u, 0x7fffffffu, 5000u };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        poke32(h.dir, OFF_NREADERS, counts[i]);
        /* A thread with its slot reads on: LMDB does not walk the table. */
        assert_int_equal(pc_get(r, "acme", NULL, "item", &p), PC_OK);
        assert_int_equal(p.cents, 100);
        /* A new thread would take a slot: refused, with the sentence. */
        assert_int_equal(in_new_thread(r, detail, sizeof detail), PC_EFORMAT);
        char want[128];
        snprintf(want, sizeof want, "lock.mdb: reader count %u beyond the table of", counts[i]);
        assert_non_null(strstr(detail, want));
        /* Opening again clears dead slots first: refused too. */
        pc_reader *r2 = NULL;
        assert_int_equal(pc_open(h.dir, &r2), PC_EFORMAT);
        assert_null(r2);
        assert_non_null(strstr(pc_errdetail(PC_EFORMAT), "reader count"));
        pc_reader_slot slots[8];
        size_t n;
        assert_int_equal(pc_readers_list(r, slots, 8, &n, NULL), PC_EFORMAT);
        unsigned used, max;
        assert_int_equal(pc_reader_env_info(r, NULL, NULL, &used, &max), PC_EFORMAT);
    }
    poke32(h.dir, OFF_NREADERS, n0);
    assert_int_equal(in_new_thread(r, detail, sizeof detail), PC_OK);

    /* A transaction id beyond data.mdb's last commit: every lookup that
     * meets it is refused, the existing thread's too. */
    poke64(h.dir, OFF_TXNID, UINT64_MAX);
    assert_int_equal(pc_get(r, "acme", NULL, "item", &p), PC_EFORMAT);
    assert_non_null(strstr(pc_errdetail(PC_EFORMAT), "transaction id 18446744073709551615 beyond"));
    assert_int_equal(in_new_thread(r, detail, sizeof detail), PC_EFORMAT);
    poke64(h.dir, OFF_TXNID, t0 + 1);
    assert_int_equal(pc_get(r, "acme", NULL, "item", &p), PC_EFORMAT);
    /* Going back from what this thread saw. */
    poke64(h.dir, OFF_TXNID, t0 - 1);
    assert_int_equal(pc_get(r, "acme", NULL, "item", &p), PC_EFORMAT);
    assert_non_null(strstr(pc_errdetail(PC_EFORMAT), "went back"));
    poke64(h.dir, OFF_TXNID, t0);
    assert_int_equal(pc_get(r, "acme", NULL, "item", &p), PC_OK);
    assert_int_equal(p.cents, 100);
    assert_string_equal(pc_errdetail(PC_EFORMAT), pc_strerror(PC_EFORMAT));
    assert_int_equal(in_new_thread(r, detail, sizeof detail), PC_OK);

    /* A bad magic: a process opening the cache anew is refused by LMDB,
     * with the file named; the running ones are not affected. */
    uint32_t magic;
    peek(h.dir, OFF_MAGIC, &magic, sizeof magic);
    poke32(h.dir, OFF_MAGIC, 0x41414141);
    assert_int_equal(pc_get(r, "acme", NULL, "item", &p), PC_OK);
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        /* A forked child reopens the environment (fork.h). */
        pc_reader *rc2 = NULL;
        int rc = pc_open(h.dir, &rc2);
        char line[300];
        int len = snprintf(line, sizeof line, "%d %s", rc, pc_errdetail(rc));
        ssize_t wr = write(fd[1], line, (size_t)len);
        _exit(wr == len ? 0 : 1);
    }
    close(fd[1]);
    char line[300] = "";
    ssize_t got = read(fd[0], line, sizeof line - 1);
    close(fd[0]);
    assert_true(got > 0);
    int st;
    assert_int_equal(waitpid(c, &st, 0), c);
    char want[64];
    snprintf(want, sizeof want, "%d lock.mdb: magic 0x41414141", PC_EFORMAT);
    if (!strstr(line, want))
        fail_msg("forked child: %s", line);
    poke32(h.dir, OFF_MAGIC, magic);

    pc_close(r);
    lock_close();
    holder_stop(&h);
}

/* ---- every public reader of the environment, with lock.mdb corrupt ------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A refusal must be PC_EFORMAT, with the sentence naming what is wrong in
 * lock.mdb, and at once: not a wait to the time-out, not another code. */
typedef struct sweep {
    pc_reader  *r;
    pc_scan    *scan;       /* opened before the bytes were written */
    const char *want;       /* in the detail */
    char        bad[2048];  /* the calls that answered otherwise */
} sweep;

__attribute__((format(printf, 2, 3)))
static void bad(sweep *w, const char *fmt, ...)
{
    size_t len = strlen(w->bad);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->bad + len, sizeof w->bad - len, fmt, ap);
    va_end(ap);
}

static void judge(sweep *w, const char *call, int rc, int64_t t0)
{
    const char *detail = pc_errdetail(rc);
    int64_t ms = now_ms() - t0;
    if (rc != PC_EFORMAT || !strstr(detail, w->want) || ms >= 1000)
        bad(w, "\n  %s: %s (%d) \"%s\" after %lld ms", call, pc_strerror(rc), rc, detail,
            (long long)ms);
}

#define SWEEP(w, call, expr)                  \
    do {                                      \
        int64_t t0_ = now_ms();               \
        judge((w), (call), (expr), t0_);      \
    } while (0)

static void *sweep_calls(void *arg)
{
    sweep *w = arg;
    pc_reader *r = w->r;
    pc_audit_verdict v = { .size = sizeof v };
    pc_audit_entry e = { .size = sizeof e };
    pc_chain_meta cm;
    char **chains = NULL;
    pc_scan *s2 = NULL;
    const pc_scan_row *const *rows;
    size_t n;
    pc_daemon_status ds = { .size = sizeof ds };
    pc_chain_status cs = { .size = sizeof cs };
    pc_source_status ss = { .size = sizeof ss };
    pc_env_status es = { .size = sizeof es };
    pc_reader_slot slots[8];
    char ev[128], ctl[128];
    const char *items[1] = { "item" };
    pc_price prices[1];
    int status[1];
    pc_basket_item line = { "item", 1 };
    pc_basket_result *br = NULL;
    SWEEP(w, "pc_wait_ready(2000)", pc_wait_ready(r, 2000));
    SWEEP(w, "pc_wait_ready(0)", pc_wait_ready(r, 0));
    SWEEP(w, "pc_audit_verify", pc_audit_verify(r, &v));
    if (v.bad_seq != 0 || v.why[0]) /* no record is blamed */
        bad(w, "\n  pc_audit_verify blames record #%llu: %s", (unsigned long long)v.bad_seq,
            v.why);
    e.seq = 1; /* as left by a walk of the log */
    SWEEP(w, "pc_audit_next", pc_audit_next(r, 1, &e));
    if (e.seq != 0) /* no record is blamed */
        bad(w, "\n  pc_audit_next blames record #%llu", (unsigned long long)e.seq);
    SWEEP(w, "pc_chain_info", pc_chain_info(r, "acme", &cm));
    SWEEP(w, "pc_chains", pc_chains(r, &chains, &n));
    pc_free_chains(chains);
    SWEEP(w, "pc_scan_open", pc_scan_open(r, "acme", 0, &s2));
    pc_scan_close(s2);
    SWEEP(w, "pc_scan_next", pc_scan_next(w->scan, &rows, &n, NULL));
    SWEEP(w, "pc_daemon_read", pc_daemon_read(r, &ds));
    SWEEP(w, "pc_chain_read", pc_chain_read(r, "acme", &cs));
    SWEEP(w, "pc_source_read", pc_source_read(r, 0, &ss));
    SWEEP(w, "pc_env_read", pc_env_read(r, &es));
    SWEEP(w, "pc_readers_list", pc_readers_list(r, slots, 8, &n, NULL));
    SWEEP(w, "pc_bus_addrs", pc_bus_addrs(r, ev, sizeof ev, ctl, sizeof ctl));
    SWEEP(w, "pc_get_many", pc_get_many(r, "acme", NULL, 1, items, prices, status));
    SWEEP(w, "pc_basket_single", pc_basket_single(r, "acme", NULL, &line, 1, NULL, &br));
    pc_basket_free(br);
    return NULL;
}

static void sweep_in(sweep *w, int new_thread, const char *want)
{
    w->want = want;
    w->bad[0] = '\0';
    if (new_thread) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, sweep_calls, w), 0);
        pthread_join(t, NULL);
    } else {
        sweep_calls(w);
    }
    if (w->bad[0])
        fail_msg("with %s, on %s thread:%s", want, new_thread ? "a new" : "a reading", w->bad);
}

static void test_library_every_call(void **state)
{
    (void)state;
    holder h;
    pc_reader *r = held_reader(&h);
    sweep w = { .r = r };
    assert_int_equal(pc_scan_open(r, "acme", 0, &w.scan), PC_OK);
    assert_int_equal(pc_wait_ready(r, 0), PC_OK);
    pc_audit_verdict v = { .size = sizeof v };
    assert_int_equal(pc_audit_verify(r, &v), PC_OK);
    assert_int_equal(v.intact, 2);
    uint32_t n0;
    uint64_t t0;
    peek(h.dir, OFF_NREADERS, &n0, sizeof n0);
    peek(h.dir, OFF_TXNID, &t0, sizeof t0);

    /* An id beyond data.mdb's last commit meets every thread. */
    poke64(h.dir, OFF_TXNID, UINT64_MAX);
    sweep_in(&w, 0, "lock.mdb: transaction id 18446744073709551615 beyond");
    sweep_in(&w, 1, "lock.mdb: transaction id 18446744073709551615 beyond");
    poke64(h.dir, OFF_TXNID, t0);
    /* A reader count beyond the table meets a thread's first read. */
    poke32(h.dir, OFF_NREADERS, 4294967295u);
    sweep_in(&w, 1, "lock.mdb: reader count 4294967295 beyond the table");
    poke32(h.dir, OFF_NREADERS, n0);

    /* The bytes back: ready, and the log intact. */
    assert_int_equal(pc_wait_ready(r, 0), PC_OK);
    memset(&v, 0, sizeof v);
    v.size = sizeof v;
    assert_int_equal(pc_audit_verify(r, &v), PC_OK);
    assert_int_equal(v.intact, 2);
    pc_scan_close(w.scan);
    pc_close(r);
    lock_close();
    holder_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_readers),
        cmocka_unit_test(test_check_txnid),
        cmocka_unit_test(test_check_header),
        cmocka_unit_test(test_errdetail),
        cmocka_unit_test_setup_teardown(test_layout, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_store_one_behind, store_setup, store_teardown),
        cmocka_unit_test(test_library_refuses),
        cmocka_unit_test(test_library_every_call),
    };
    return cmocka_run_group_tests_name("lockfile", tests, NULL, NULL);
}
