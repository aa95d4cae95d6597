/* test_stats.c - the shared lookup statistics (client/stats.c): the area, slots of dead and reused pids, per-thread lines, counting through pc_get / pc_get_many, PRICECACHE_STATS=0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pc_format.h"
#include "stats.h"
#include "pricecache.h"

typedef struct fixture {
    char dir[64];
    char file[96];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pcstats.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->file, sizeof f->file, "%s/" PC_STATS_FILE, f->dir);
    unsetenv("PRICECACHE_STATS");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    unsetenv("PRICECACHE_STATS");
    return 0;
}

/* The area mapped writable, as a test's window on the slots. */
static pc_stats_slot *map_slots(const fixture *f, void **map)
{
    int fd = open(f->file, O_RDWR);
    assert_true(fd >= 0);
    *map = mmap(NULL, PC_STATS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(*map != MAP_FAILED);
    return (pc_stats_slot *)((char *)*map + sizeof(pc_stats_header));
}

static unsigned owned_slots(const fixture *f)
{
    void *map;
    pc_stats_slot *s = map_slots(f, &map);
    unsigned n = 0;
    for (unsigned i = 0; i < PC_STATS_SLOTS; i++)
        n += atomic_load(&s[i].owner) != 0;
    munmap(map, PC_STATS_SIZE);
    return n;
}

static void test_bucket_bounds(void **state)
{
    (void)state;
    assert_int_equal(pc_stats_bucket(0), 0);
    assert_int_equal(pc_stats_bucket(127), 0);
    assert_int_equal(pc_stats_bucket(128), 1);
    assert_int_equal(pc_stats_bucket(255), 1);
    assert_int_equal(pc_stats_bucket(256), 2);
    assert_int_equal(pc_stats_bucket((1ull << 21) - 1), 14);
    assert_int_equal(pc_stats_bucket(1ull << 21), 15);
    assert_int_equal(pc_stats_bucket(UINT64_MAX), 15);
}

static void test_create_and_read(void **state)
{
    fixture *f = *state;
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_ENOTREADY);
    assert_int_equal(pc_stats_read(NULL, &st), PC_EINVAL);
    assert_int_equal(pc_stats_read(f->dir, NULL), PC_EINVAL);
    char err[256];
    mode_t old = umask(077); /* the area must be 0660 whatever the umask */
    assert_int_equal(pc_stats_create(f->dir, err, sizeof err), PC_OK);
    umask(old);
    struct stat sb;
    assert_int_equal(stat(f->file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0660);
    assert_int_equal((uint64_t)sb.st_size, PC_STATS_SIZE);
    memset(&st, 0xff, sizeof st);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits + st.misses + st.errors, 0);
    assert_int_equal(st.processes, 0);
    assert_int_equal(st.slots, PC_STATS_SLOTS);
    for (int i = 0; i < PC_STATS_BUCKETS; i++)
        assert_int_equal(st.latency[i], 0);
    assert_int_equal(pc_stats_create("/nonexistent/dir", err, sizeof err), PC_EIO);
    assert_non_null(strstr(err, "/nonexistent/dir"));
}

static void test_counts_survive_restart_and_bad_file_is_replaced(void **state)
{
    fixture *f = *state;
    char err[256];
    assert_int_equal(pc_stats_create(f->dir, err, sizeof err), PC_OK);
    pc_stats_proc *p = pc_stats_attach(f->dir);
    assert_non_null(p);
    pc_stats_tl tl;
    pc_stats_tl_init(&tl, p);
    pc_stats_count(&tl, PC_OK, 0);
    pc_stats_count(&tl, PC_NOTFOUND, 0);
    pc_stats_count(&tl, PC_EIO, 0);
    pc_stats_tl_release(&tl);
    pc_stats_detach(p);
    /* A daemon restart keeps a valid area and its counts. */
    assert_int_equal(pc_stats_create(f->dir, err, sizeof err), PC_OK);
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.errors, 1);
    /* A foreign file: the reader says so, the daemon replaces it. */
    assert_int_equal(truncate(f->file, 100), 0);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_EFORMAT);
    assert_null(pc_stats_attach(f->dir));
    assert_int_equal(pc_stats_create(f->dir, err, sizeof err), PC_OK);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 0);
}

static void test_slots_of_dead_and_reused_pids(void **state)
{
    fixture *f = *state;
    char err[256];
    assert_int_equal(pc_stats_create(f->dir, err, sizeof err), PC_OK);
    void *map;
    pc_stats_slot *s = map_slots(f, &map);
    /* Every slot taken: one by a process that exited (pid of a reaped
     * child), the others by this process's pid with a wrong start time (a
     * reused pid), except slot 7 which is held by a real live process. */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    pid_t live = fork();
    if (live == 0) {
        alarm(20); /* never outlive a failed test */
        pause();
        _exit(0);
    }
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)live);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    char *q = strrchr(buf, ')');
    for (int field = 2; field < 22; field++)
        q = strchr(q + 1, ' ');
    uint64_t live_start = strtoull(q + 1, NULL, 10);
    for (unsigned i = 0; i < PC_STATS_SLOTS; i++) {
        uint64_t owner = ((uint64_t)(i + 1000000) << 22) | (uint64_t)getpid();
        if (i == 3)
            owner = (5ull << 22) | (uint64_t)child;
        if (i == 7)
            owner = (live_start << 22) | (uint64_t)live;
        atomic_store(&s[i].owner, owner);
        atomic_store(&s[i].line[0].hits, 10);
    }
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.processes, 1); /* only the live one */
    assert_int_equal(st.hits, 10 * PC_STATS_SLOTS);

    /* Attach takes over a dead slot; the counts stay in the sums. */
    pc_stats_proc *p = pc_stats_attach(f->dir);
    assert_non_null(p);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.processes, 2);
    assert_int_equal(st.hits, 10 * PC_STATS_SLOTS);
    pc_stats_tl tl;
    pc_stats_tl_init(&tl, p);
    pc_stats_count(&tl, PC_OK, 0);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 10 * PC_STATS_SLOTS + 1);
    /* The live process's slot was not taken. */
    assert_int_equal(atomic_load(&s[7].owner), (live_start << 22) | (uint64_t)live);
    pc_stats_tl_release(&tl);
    pc_stats_detach(p);
    kill(live, SIGKILL);
    waitpid(live, NULL, 0);
    /* Now every slot is held by a live process (this one): a further
     * client is a guest of one slot's shared line, so its lookups are
     * still counted, it claims no slot and it changes no owner. */
    for (unsigned i = 0; i < PC_STATS_SLOTS; i++) {
        FILE *self = fopen("/proc/self/stat", "r");
        assert_non_null(fgets(buf, sizeof buf, self));
        fclose(self);
        q = strrchr(buf, ')');
        for (int field = 2; field < 22; field++)
            q = strchr(q + 1, ' ');
        atomic_store(&s[i].owner, (strtoull(q + 1, NULL, 10) << 22) | (uint64_t)getpid());
    }
    uint64_t before = pc_stats_read(f->dir, &st) == PC_OK ? st.hits : 0;
    pc_stats_proc *g = pc_stats_attach(f->dir);
    assert_non_null(g);
    pc_stats_tl gtl;
    pc_stats_tl_init(&gtl, g);
    assert_true(gtl.shared);
    pc_stats_count(&gtl, PC_OK, 0);
    pc_stats_count(&gtl, PC_OK, 0);
    pc_stats_tl_release(&gtl);
    pc_stats_detach(g);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, before + 2);
    assert_int_equal(st.processes, PC_STATS_SLOTS);
    for (unsigned i = 0; i < PC_STATS_SLOTS; i++)
        assert_int_equal(atomic_load(&s[i].owner) & ((1ull << 22) - 1), (uint64_t)getpid());
    munmap(map, PC_STATS_SIZE);
}

typedef struct worker {
    pc_stats_proc *p;
    int            n;
} worker;

static void *count_many(void *arg)
{
    worker *w = arg;
    pc_stats_tl tl;
    pc_stats_tl_init(&tl, w->p);
    for (int i = 0; i < w->n; i++)
        pc_stats_count(&tl, i % 3 == 0 ? PC_OK : i % 3 == 1 ? PC_NOTFOUND : PC_ENOCHAIN,
                       pc_stats_begin(&tl));
    pc_stats_tl_release(&tl);
    return NULL;
}

/* More threads than lines: the extra ones share the last line atomically;
 * no count is lost either way. */
static void test_threads_exact(void **state)
{
    fixture *f = *state;
    char err[256];
    assert_int_equal(pc_stats_create(f->dir, err, sizeof err), PC_OK);
    pc_stats_proc *p = pc_stats_attach(f->dir);
    assert_non_null(p);
    enum { NT = PC_STATS_LINES + 8, N = 30000 };
    pthread_t t[NT];
    worker w = { p, N };
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_many, &w), 0);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, (uint64_t)NT * (N / 3));
    assert_int_equal(st.misses, (uint64_t)NT * (N / 3));
    assert_int_equal(st.errors, (uint64_t)NT * (N / 3));
    uint64_t sampled = 0;
    for (int i = 0; i < PC_STATS_BUCKETS; i++)
        sampled += st.latency[i];
    assert_int_equal(sampled, (uint64_t)NT * (N / PC_STATS_SAMPLE));
    assert_int_equal(st.processes, 1);
    pc_stats_detach(p);
    assert_int_equal(owned_slots(f), 0);
}

/* ---- through the library ---------------------------------------------- */

static void make_env(const fixture *f)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0660), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    uint8_t kb[PC_KEY_MAX];
    pc_fmt_rec fr;
    pc_fmt_init(&fr);
    MDB_val k = { pc_key_fmt(kb), kb }, v = { sizeof fr, &fr };
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    m.version = 1;
    k.mv_size = pc_key_meta(kb, "acme", 4);
    v.mv_size = sizeof m;
    v.mv_data = &m;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    pc_price_rec pr = { 100, 1 };
    k.mv_size = pc_key_base(kb, "acme", 4, "item1", 5);
    v.mv_size = sizeof pr;
    v.mv_data = &pr;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void lookups(pc_reader *r, int n)
{
    pc_price p;
    for (int i = 0; i < n; i++) {
        assert_int_equal(pc_get(r, "acme", "s1", "item1", &p), PC_OK);
        assert_int_equal(pc_get(r, "acme", NULL, "nope", &p), PC_NOTFOUND);
        assert_int_equal(pc_get(r, "nochain", NULL, "item1", &p), PC_ENOCHAIN);
        assert_int_equal(pc_get(r, "acme", NULL, "", &p), PC_EINVAL);
    }
    const char *items[] = { "item1", "nope", "" };
    pc_price out[3];
    int status[3];
    assert_int_equal(pc_get_many(r, "acme", NULL, 3, items, out, status), PC_OK);
    assert_int_equal(pc_get_many(r, "nochain", NULL, 3, items, out, status), PC_ENOCHAIN);
}

static void test_library_counts(void **state)
{
    fixture *f = *state;
    make_env(f);
    pc_reader *r;
    /* No area yet: lookups work, nothing is counted. */
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    lookups(r, 5);
    pc_close(r);
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_ENOTREADY);

    char err[256];
    assert_int_equal(pc_stats_create(f->dir, err, sizeof err), PC_OK);
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    lookups(r, 100);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    /* pc_get: 100 hits, 100 misses, 200 errors; pc_get_many: 1 hit, 1 miss,
     * 1 invalid, then 3 errors for the unknown chain. */
    assert_int_equal(st.hits, 101);
    assert_int_equal(st.misses, 101);
    assert_int_equal(st.errors, 204);
    assert_int_equal(st.processes, 1);
    uint64_t sampled = 0;
    for (int i = 0; i < PC_STATS_BUCKETS; i++)
        sampled += st.latency[i];
    assert_true(sampled >= 4); /* 300 timed calls out of ~400, 1 in 64 */
    pc_close(r);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.processes, 0);
    assert_int_equal(st.hits, 101); /* a closed reader's counts stay */

    /* PRICECACHE_STATS=0: a reader opened then does not count. */
    setenv("PRICECACHE_STATS", "0", 1);
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    lookups(r, 10);
    pc_close(r);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 101);
    assert_int_equal(st.errors, 204);
    unsetenv("PRICECACHE_STATS");

    /* No write access to the area: lookups work, stats are off. */
    if (geteuid() != 0) {
        assert_int_equal(chmod(f->file, 0440), 0);
        assert_int_equal(pc_open(f->dir, &r), PC_OK);
        lookups(r, 10);
        pc_close(r);
        assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
        assert_int_equal(st.hits, 101);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_bounds),
        T(test_create_and_read),
        T(test_counts_survive_restart_and_bad_file_is_replaced),
        T(test_slots_of_dead_and_reused_pids),
        T(test_threads_exact),
        T(test_library_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
