/* test_stats.c - the lookup statistics (client/stats.c, client/statsfile.c, daemon/statsdir.c): the file codec, reading hostile files without a crash, a process's own file, the daemon's folding and rejection, counting through pc_get / pc_get_many, fork, PRICECACHE_STATS=0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pc_format.h"
#include "pricecache.h"
#include "stats.h"
#include "statsdir.h"

typedef struct fixture {
    char dir[64];
    char sdir[96];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pcstats.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sdir, sizeof f->sdir, "%s/" PC_STATS_DIR, f->dir);
    unsetenv("PRICECACHE_STATS");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s'; rm -rf '%s'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    unsetenv("PRICECACHE_STATS");
    return 0;
}

/* What the daemon does at start. */
static pcd_statsdir *daemon_dir(const fixture *f)
{
    pcd_statsdir *s;
    char err[256];
    assert_int_equal(pcd_statsdir_open(f->dir, &s, err, sizeof err), PC_OK);
    return s;
}

static void put(const fixture *f, const char *name, const void *buf, size_t n)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->sdir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
}

static unsigned files_in(const fixture *f)
{
    DIR *d = opendir(f->sdir);
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += pc_stats_name_is_proc(de->d_name);
    closedir(d);
    return n;
}

/* The name of this process's one file (there must be exactly one). */
static void own_file(const fixture *f, char *path, size_t len)
{
    DIR *d = opendir(f->sdir);
    assert_non_null(d);
    struct dirent *de;
    char pre[32];
    snprintf(pre, sizeof pre, "%ld-", (long)getpid());
    int found = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, pre, strlen(pre)) == 0) {
            snprintf(path, len, "%.95s/%.100s", f->sdir, de->d_name);
            found++;
        }
    }
    closedir(d);
    assert_int_equal(found, 1);
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

static void test_file_codec(void **state)
{
    (void)state;
    char why[128];
    pc_stats_file img;
    memset(&img, 0, sizeof img);
    img.c.hits = 10;
    img.c.latency[3] = 2;
    pc_stats_file_seal(&img);
    assert_int_equal(pc_stats_file_valid(&img, sizeof img, sizeof img, why, sizeof why), 0);
    /* Any flipped byte: refused, with the reason. */
    for (size_t i = 0; i < sizeof img; i++) {
        pc_stats_file b = img;
        ((unsigned char *)&b)[i] ^= 0x40;
        assert_int_equal(pc_stats_file_valid(&b, sizeof b, sizeof b, why, sizeof why), -1);
    }
    assert_int_equal(pc_stats_file_valid(&img, sizeof img - 1, sizeof img - 1, why, sizeof why), -1);
    assert_non_null(strstr(why, "size"));
    assert_int_equal(pc_stats_file_valid(&img, sizeof img, 1ull << 40, why, sizeof why), -1);
    pc_stats_file b = img;
    b.version = 1;
    pc_stats_file_seal(&b);
    b.version = 1; /* seal sets the version: forge one of another version */
    b.check = pc_stats_check(&b, offsetof(pc_stats_file, check));
    assert_int_equal(pc_stats_file_valid(&b, sizeof b, sizeof b, why, sizeof why), -1);
    assert_non_null(strstr(why, "version"));
    /* Well sealed but out of bounds: not believed. */
    b = img;
    b.c.misses = PC_STATS_COUNT_MAX + 1;
    pc_stats_file_seal(&b);
    assert_int_equal(pc_stats_file_valid(&b, sizeof b, sizeof b, why, sizeof why), -1);
    assert_non_null(strstr(why, "bounds"));
    b = img;
    b.c.latency[0] = 100; /* more timed than counted */
    pc_stats_file_seal(&b);
    assert_int_equal(pc_stats_file_valid(&b, sizeof b, sizeof b, why, sizeof why), -1);

    pc_stats_totals *t = calloc(1, sizeof *t);
    pc_stats_totals_seal(t);
    assert_int_equal(pc_stats_totals_valid(t, sizeof *t, sizeof *t, why, sizeof why), 0);
    t->nfolded = PC_STATS_FOLD_MAX + 1;
    pc_stats_totals_seal(t);
    assert_int_equal(pc_stats_totals_valid(t, sizeof *t, sizeof *t, why, sizeof why), -1);
    t->nfolded = 1;
    memset(t->folded[0], 'x', PC_STATS_NAME_MAX); /* not terminated */
    pc_stats_totals_seal(t);
    assert_int_equal(pc_stats_totals_valid(t, sizeof *t, sizeof *t, why, sizeof why), -1);
    free(t);

    pc_stats_counts a = { 1, 2, 3, { 4 } }, c = a;
    pc_stats_counts_add(&c, &a);
    assert_int_equal(c.misses, 4);
    assert_true(pc_stats_counts_ge(&c, &a));
    assert_false(pc_stats_counts_ge(&a, &c));
    c.hits = PC_STATS_COUNT_MAX;
    pc_stats_counts_add(&c, &a);
    assert_int_equal(c.hits, PC_STATS_COUNT_MAX); /* saturates */
}

/* Every kind of bad entry a member can put in the directory: read without
 * a crash, a hang or a followed link, and judged bad with a reason. */
static void test_entry_read_hostile(void **state)
{
    fixture *f = *state;
    pcd_statsdir *s = daemon_dir(f);
    char p[256];
    int dfd = pc_stats_dir_open(f->dir);
    assert_true(dfd >= 0);
    pc_stats_entry e;

    snprintf(p, sizeof p, "%s/link", f->sdir);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    pc_stats_entry_read(dfd, "link", &e);
    assert_int_equal(e.kind, PC_STATS_E_BAD);
    assert_non_null(strstr(e.why, "symbolic link"));

    snprintf(p, sizeof p, "%s/fifo", f->sdir);
    assert_int_equal(mkfifo(p, 0644), 0);
    pc_stats_entry_read(dfd, "fifo", &e); /* must not wait for a writer */
    assert_int_equal(e.kind, PC_STATS_E_BAD);
    assert_non_null(strstr(e.why, "not a regular file"));

    snprintf(p, sizeof p, "%s/adir", f->sdir);
    assert_int_equal(mkdir(p, 0755), 0);
    pc_stats_entry_read(dfd, "adir", &e);
    assert_int_equal(e.kind, PC_STATS_E_BAD);

    put(f, "empty", "", 0);
    pc_stats_entry_read(dfd, "empty", &e);
    assert_int_equal(e.kind, PC_STATS_E_BAD);
    assert_non_null(strstr(e.why, "size 0"));

    char junk[sizeof(pc_stats_file)];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 131 + 7);
    put(f, "junk", junk, sizeof junk);
    pc_stats_entry_read(dfd, "junk", &e);
    assert_int_equal(e.kind, PC_STATS_E_BAD);

    snprintf(p, sizeof p, "%s/huge", f->sdir);
    put(f, "huge", "", 0);
    assert_int_equal(truncate(p, 1ll << 40), 0); /* sparse: 1 TiB */
    pc_stats_entry_read(dfd, "huge", &e);
    assert_int_equal(e.kind, PC_STATS_E_BAD);

    pc_stats_entry_read(dfd, "nosuch", &e);
    assert_int_equal(e.kind, PC_STATS_E_BAD);

    pc_stats_file img;
    memset(&img, 0, sizeof img);
    img.c.hits = 5;
    pc_stats_file_seal(&img);
    put(f, "good", &img, sizeof img);
    pc_stats_entry_read(dfd, "good", &e);
    assert_int_equal(e.kind, PC_STATS_E_VALID);
    assert_int_equal(e.c.hits, 5);
    assert_int_equal(e.alive, 0);
    /* Held by a live process (here: this one, through another
     * descriptor): alive. */
    snprintf(p, sizeof p, "%s/good", f->sdir);
    int fd = open(p, O_RDWR);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
    pc_stats_entry_read(dfd, "good", &e);
    assert_int_equal(e.alive, 1);

    /* The sums count the good file only; the daemon rejects the others
     * once each (not again on the next scan), and removes the ones nobody
     * holds. */
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 5);
    assert_int_equal(st.processes, 1);
    uint64_t rej = 0;
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 5);
    assert_int_equal(rej, 6); /* link, fifo, adir, empty, junk, huge */
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(rej, 6);
    close(fd); /* its process "died": folded, removed, still counted */
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 5);
    assert_int_equal(st.processes, 0);
    assert_int_equal(files_in(f), 1); /* adir: a member's directory stays */
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 5);
    close(dfd);
    pcd_statsdir_close(s);
}

static void test_dir_and_totals(void **state)
{
    fixture *f = *state;
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_ENOTREADY);
    assert_int_equal(pc_stats_read(NULL, &st), PC_EINVAL);
    assert_int_equal(pc_stats_read(f->dir, NULL), PC_EINVAL);
    assert_null(pc_stats_attach(f->dir)); /* no directory: statistics off */
    /* The old mapped area is removed at start. */
    char old[128];
    snprintf(old, sizeof old, "%s/" PC_STATS_OLD_FILE, f->dir);
    FILE *fp = fopen(old, "w");
    assert_non_null(fp);
    fclose(fp);
    mode_t um = umask(077); /* the directory must be 01770 whatever the umask */
    pcd_statsdir *s = daemon_dir(f);
    umask(um);
    assert_int_equal(access(old, F_OK), -1);
    struct stat sb;
    assert_int_equal(stat(f->sdir, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 01770);
    memset(&st, 0xff, sizeof st);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits + st.misses + st.errors, 0);
    assert_int_equal(st.processes, 0);
    assert_int_equal(st.slots, PC_STATS_MAX_FILES);
    for (int i = 0; i < PC_STATS_BUCKETS; i++)
        assert_int_equal(st.latency[i], 0);
    pcd_statsdir_close(s);
    char err[256];
    assert_int_equal(pcd_statsdir_open("/nonexistent/dir", &s, err, sizeof err), PC_EIO);
    assert_non_null(strstr(err, "/nonexistent/dir"));

    /* Bad totals: the reader says so; the daemon starts again from zero. */
    char tp[320];
    snprintf(tp, sizeof tp, "%s/" PC_STATS_TOTALS, f->sdir);
    assert_int_equal(truncate(tp, 10), 0);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_EFORMAT);
    s = daemon_dir(f);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    pcd_statsdir_close(s);
    /* A file where the directory should be. */
    snprintf(tp, sizeof tp, "rm -rf '%s' && touch '%s'", f->sdir, f->sdir);
    assert_int_equal(system(tp), 0);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_EFORMAT);
    assert_null(pc_stats_attach(f->dir));
}

static void test_own_file_flush_detach_fold(void **state)
{
    fixture *f = *state;
    pcd_statsdir *s = daemon_dir(f);
    pc_stats_proc *p = pc_stats_attach(f->dir);
    assert_non_null(p);
    char path[256];
    own_file(f, path, sizeof path);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644); /* nobody else may write it */
    assert_int_equal(sb.st_uid, geteuid());
    assert_int_equal((size_t)sb.st_size, sizeof(pc_stats_file));
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.processes, 1);

    pc_stats_tl tl;
    pc_stats_tl_init(&tl, p);
    pc_stats_count(&tl, PC_OK, 0);
    pc_stats_count(&tl, PC_NOTFOUND, 0);
    pc_stats_count(&tl, PC_EIO, 0);
    pc_stats_flush(p);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.errors, 1);

    /* Truncated, resized or filled with garbage under the process (as its
     * owner or root could): nothing crashes, the file is skipped while bad
     * and the daemon keeps what it saw; the next write repairs it. */
    uint64_t rej = 0;
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(truncate(path, 0), 0);
    pc_stats_count(&tl, PC_OK, 0);
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 1);
    assert_int_equal(rej, 1);
    assert_int_equal(truncate(path, 1 << 20), 0);
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(rej, 2);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.processes, 0); /* a bad file is nobody's */
    pc_stats_flush(p);
    assert_int_equal(truncate(path, sizeof(pc_stats_file)), 0); /* the flush wrote at 0 */
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.processes, 1);

    /* Counts that go backwards are not believed (the daemon keeps the
     * largest); a file that never goes backwards again is fine. */
    pc_stats_file img;
    memset(&img, 0, sizeof img);
    pc_stats_file_seal(&img);
    int fd = open(path, O_WRONLY);
    assert_int_equal(pwrite(fd, &img, sizeof img, 0), (ssize_t)sizeof img);
    close(fd);
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(rej, 3);
    assert_int_equal(st.hits, 2);

    /* Detach writes the last counts and drops the lock: the daemon folds
     * the file into the totals and removes it; the sums stay. */
    pc_stats_count(&tl, PC_OK, 0);
    pc_stats_tl_release(&tl);
    pc_stats_detach(p);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.processes, 0);
    assert_int_equal(files_in(f), 1);
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 3);
    assert_int_equal(files_in(f), 0);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 3);
    pcd_statsdir_close(s);
    /* The totals survive a daemon restart. */
    s = daemon_dir(f);
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 3);
    assert_int_equal(rej, 0);
    pcd_statsdir_close(s);
}

/* A file the daemon folded but had not removed yet (it crashed, or a
 * reader comes between the two steps): counted once. */
static void test_folded_name_skipped(void **state)
{
    fixture *f = *state;
    pcd_statsdir *s = daemon_dir(f);
    pc_stats_file img;
    memset(&img, 0, sizeof img);
    img.c.hits = 7;
    pc_stats_file_seal(&img);
    put(f, "1-aaaaaa.st", &img, sizeof img);
    pc_stats st;
    uint64_t rej;
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 7);
    pcd_statsdir_close(s);
    put(f, "1-aaaaaa.st", &img, sizeof img); /* back, as if not removed */
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 7);
    s = daemon_dir(f); /* removes it: it is in the totals */
    assert_int_equal(files_in(f), 0);
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 7);
    pcd_statsdir_close(s);
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
    pcd_statsdir *s = daemon_dir(f);
    pc_stats_proc *p = pc_stats_attach(f->dir);
    assert_non_null(p);
    enum { NT = PC_STATS_LINES + 8, N = 30000 };
    pthread_t t[NT];
    worker w = { p, N };
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_many, &w), 0);
    pc_stats st;
    uint64_t rej = 0;
    /* Read while they count: the files are only ever whole or retried. */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
        assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    }
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(rej, 0);
    pc_stats_flush(p);
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
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.processes, 0);
    pcd_statsdir_close(s);
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
    /* No directory yet: lookups work, nothing is counted. */
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    lookups(r, 5);
    pc_close(r);
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_ENOTREADY);

    pcd_statsdir *s = daemon_dir(f);
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    lookups(r, 100);
    /* In the process that counted, at once. */
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
    /* A file truncated under a live reader: lookups go on. */
    char path[256];
    own_file(f, path, sizeof path);
    assert_int_equal(truncate(path, 0), 0);
    lookups(r, 100);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 202);
    pc_close(r);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.processes, 0);
    assert_int_equal(st.hits, 202); /* a closed reader's counts stay */

    /* PRICECACHE_STATS=0: a reader opened then does not count. */
    setenv("PRICECACHE_STATS", "0", 1);
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    lookups(r, 10);
    pc_close(r);
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 202);
    assert_int_equal(st.errors, 408);
    unsetenv("PRICECACHE_STATS");

    /* A directory members could tamper with (not sticky): not written. */
    assert_int_equal(chmod(f->sdir, 0777), 0);
    unsigned before = files_in(f);
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    lookups(r, 10);
    pc_close(r);
    assert_int_equal(files_in(f), before);
    assert_int_equal(chmod(f->sdir, 01770), 0);
    /* No write access to the directory: lookups work, stats are off. */
    if (geteuid() != 0) {
        assert_int_equal(chmod(f->sdir, 01550), 0);
        assert_int_equal(pc_open(f->dir, &r), PC_OK);
        lookups(r, 10);
        pc_close(r);
        assert_int_equal(chmod(f->sdir, 01770), 0);
    }
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 202);
    pcd_statsdir_close(s);
}

/* A forked child counts into a file of its own; the parent's file keeps
 * the parent's counts (the child never writes it, not even at exit). */
static void test_fork_child_own_file(void **state)
{
    fixture *f = *state;
    make_env(f);
    pcd_statsdir *s = daemon_dir(f);
    pc_reader *r;
    assert_int_equal(pc_open(f->dir, &r), PC_OK);
    lookups(r, 10);
    pid_t c = fork();
    if (c == 0) {
        pc_price p;
        int bad = 0;
        for (int i = 0; i < 50; i++)
            bad += pc_get(r, "acme", NULL, "item1", &p) != PC_OK;
        exit(bad); /* exit, not _exit: the library's exit flush runs */
    }
    int ws;
    assert_int_equal(waitpid(c, &ws, 0), c);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    lookups(r, 10);
    pc_stats st;
    assert_int_equal(pc_stats_read(f->dir, &st), PC_OK);
    assert_int_equal(st.hits, 22 + 50);
    assert_int_equal(st.processes, 1);
    uint64_t rej;
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 72);
    assert_int_equal(rej, 0);
    assert_int_equal(files_in(f), 1); /* the child's was folded */
    pc_close(r);
    assert_int_equal(pcd_statsdir_collect(s, &st, &rej), PC_OK);
    assert_int_equal(st.hits, 72);
    pcd_statsdir_close(s);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_bounds),
        cmocka_unit_test(test_file_codec),
        T(test_entry_read_hostile),
        T(test_dir_and_totals),
        T(test_own_file_flush_detach_fold),
        T(test_folded_name_skipped),
        T(test_threads_exact),
        T(test_library_counts),
        T(test_fork_child_own_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
