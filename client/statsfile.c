/* statsfile.c - the statistics directory's codec and reader: validate process files and the totals with pread (never a mapping), and sum them for pc_stats_read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errdetail.h"
#include "pc_stats_internal.h"

#define TORN_RETRIES 4  /* a pread that met a pwrite in flight: read again */
#define SCAN_RETRIES 8  /* the daemon folded files while we summed: sum again */

uint64_t pc_stats_check(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int counts_valid(const pc_stats_counts *c, char *why, size_t whylen)
{
    uint64_t total = 0, sampled = 0;
    const uint64_t v[3] = { c->hits, c->misses, c->errors };
    for (int i = 0; i < 3; i++) {
        if (v[i] > PC_STATS_COUNT_MAX) {
            snprintf(why, whylen, "counter %llu out of bounds", (unsigned long long)v[i]);
            return -1;
        }
        total += v[i];
    }
    for (int i = 0; i < PC_STATS_BUCKETS; i++) {
        if (c->latency[i] > PC_STATS_COUNT_MAX) {
            snprintf(why, whylen, "latency bucket %d out of bounds", i);
            return -1;
        }
        sampled += c->latency[i];
    }
    /* Every timed call was also counted, with one lookup at least. */
    if (sampled > total) {
        snprintf(why, whylen, "%llu timed lookups of %llu counted",
                 (unsigned long long)sampled, (unsigned long long)total);
        return -1;
    }
    return 0;
}

static int head_valid(uint64_t magic, uint64_t want_magic, uint32_t version, uint32_t fsize,
                      size_t want_size, size_t n, uint64_t size, char *why, size_t whylen)
{
    if (size != want_size || n != want_size) {
        snprintf(why, whylen, "size %llu, expected %zu", (unsigned long long)size, want_size);
        return -1;
    }
    if (magic != want_magic) {
        snprintf(why, whylen, "bad magic");
        return -1;
    }
    if (version != PC_STATS_VERSION || fsize != want_size) {
        snprintf(why, whylen, "version %u, expected %u", version, PC_STATS_VERSION);
        return -1;
    }
    return 0;
}

int pc_stats_file_valid(const void *buf, size_t n, uint64_t size, char *why, size_t whylen)
{
    pc_stats_file f;
    if (n < sizeof f) {
        snprintf(why, whylen, "size %llu, expected %zu", (unsigned long long)size, sizeof f);
        return -1;
    }
    memcpy(&f, buf, sizeof f);
    if (head_valid(f.magic, PC_STATS_MAGIC, f.version, f.size, sizeof f, n, size, why, whylen))
        return -1;
    if (f.check != pc_stats_check(&f, offsetof(pc_stats_file, check))) {
        snprintf(why, whylen, "bad checksum");
        return -1;
    }
    return counts_valid(&f.c, why, whylen);
}

int pc_stats_totals_valid(const void *buf, size_t n, uint64_t size, char *why, size_t whylen)
{
    const pc_stats_totals *t = buf; /* callers pass an aligned pc_stats_totals */
    if (n < sizeof *t) {
        snprintf(why, whylen, "size %llu, expected %zu", (unsigned long long)size, sizeof *t);
        return -1;
    }
    if (head_valid(t->magic, PC_STATS_TMAGIC, t->version, t->size, sizeof *t, n, size, why,
                   whylen))
        return -1;
    if (t->check != pc_stats_check(t, offsetof(pc_stats_totals, check))) {
        snprintf(why, whylen, "bad checksum");
        return -1;
    }
    if (t->nfolded > PC_STATS_FOLD_MAX) {
        snprintf(why, whylen, "%u folded names", t->nfolded);
        return -1;
    }
    for (uint32_t i = 0; i < t->nfolded; i++) {
        if (!memchr(t->folded[i], 0, PC_STATS_NAME_MAX)) {
            snprintf(why, whylen, "folded name %u not terminated", i);
            return -1;
        }
    }
    return counts_valid(&t->c, why, whylen);
}

void pc_stats_file_seal(pc_stats_file *f)
{
    f->magic = PC_STATS_MAGIC;
    f->version = PC_STATS_VERSION;
    f->size = sizeof *f;
    f->check = pc_stats_check(f, offsetof(pc_stats_file, check));
}

void pc_stats_totals_seal(pc_stats_totals *t)
{
    t->magic = PC_STATS_TMAGIC;
    t->version = PC_STATS_VERSION;
    t->size = sizeof *t;
    t->check = pc_stats_check(t, offsetof(pc_stats_totals, check));
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    return s < a || s > PC_STATS_COUNT_MAX ? PC_STATS_COUNT_MAX : s;
}

void pc_stats_counts_add(pc_stats_counts *a, const pc_stats_counts *b)
{
    a->hits = sat_add(a->hits, b->hits);
    a->misses = sat_add(a->misses, b->misses);
    a->errors = sat_add(a->errors, b->errors);
    for (int i = 0; i < PC_STATS_BUCKETS; i++)
        a->latency[i] = sat_add(a->latency[i], b->latency[i]);
}

int pc_stats_counts_ge(const pc_stats_counts *b, const pc_stats_counts *a)
{
    if (b->hits < a->hits || b->misses < a->misses || b->errors < a->errors)
        return 0;
    for (int i = 0; i < PC_STATS_BUCKETS; i++)
        if (b->latency[i] < a->latency[i])
            return 0;
    return 1;
}

int pc_stats_name_is_proc(const char *name)
{
    return name[0] != '.' && strcmp(name, PC_STATS_TOTALS) != 0;
}

int pc_stats_dir_open(const char *path)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s/" PC_STATS_DIR, path) >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static void bad(pc_stats_entry *e, const char *what, const char *cause)
{
    e->kind = PC_STATS_E_BAD;
    snprintf(e->why, sizeof e->why, "%s%s", what, cause);
}

void pc_stats_entry_read(int dfd, const char *name, pc_stats_entry *e)
{
    memset(e, 0, sizeof *e);
    e->name = name;
    /* O_NONBLOCK: a FIFO planted by a member opens without waiting for a
     * writer; O_NOFOLLOW: a symlink is refused, never followed. */
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        /* A link, or a mode no process of ours makes: nobody's file.  Any
         * other failure (out of descriptors...) says nothing of it. */
        e->dead = errno == ELOOP || errno == EACCES || errno == ENXIO;
        bad(e, "cannot open: ", errno == ELOOP ? "a symbolic link" : strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        bad(e, "cannot stat: ", strerror(errno));
        close(fd);
        return;
    }
    e->dev = (uint64_t)st.st_dev;
    e->ino = (uint64_t)st.st_ino;
    e->size = (uint64_t)st.st_size;
    e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    /* Held by a live process?  Its OFD lock says so (the kernel drops it
     * at the process's death); querying takes no lock. */
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    if (fcntl(fd, F_OFD_GETLK, &fl) == 0) {
        e->alive = fl.l_type != F_UNLCK;
        e->dead = !e->alive;
    }
    if (!S_ISREG(st.st_mode)) {
        bad(e, "not a regular file", "");
        close(fd);
        return;
    }
    pc_stats_file f;
    char why[sizeof e->why] = "";
    int ok = 0;
    for (int i = 0; i < TORN_RETRIES && !ok; i++) {
        ssize_t n = st.st_size == (off_t)sizeof f ? pread(fd, &f, sizeof f, 0) : 0;
        ok = pc_stats_file_valid(&f, n < 0 ? 0 : (size_t)n, (uint64_t)st.st_size, why,
                                 sizeof why) == 0;
        if (!ok && strcmp(why, "bad checksum") != 0)
            break; /* only a checksum can be a torn read */
    }
    close(fd);
    if (!ok) {
        bad(e, why, "");
        return;
    }
    e->kind = PC_STATS_E_VALID;
    e->c = f.c;
}

DIR *pc_stats_dir_list(int dfd)
{
    int d2 = dup(dfd);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    if (!d) {
        int e = errno;
        if (d2 >= 0)
            close(d2);
        errno = e;
        return NULL;
    }
    rewinddir(d); /* the duplicate shares dfd's position */
    return d;
}

int pc_stats_totals_read(int dfd, uid_t owner, pc_stats_totals *t, char *why, size_t whylen)
{
    int fd = openat(dfd, PC_STATS_TOTALS, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return PC_ENOTREADY;
        snprintf(why, whylen, "cannot open " PC_STATS_TOTALS ": %s", strerror(errno));
        return errno == EACCES ? PC_EIO : PC_EFORMAT;
    }
    struct stat st;
    int rc = PC_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, PC_STATS_TOTALS " is not a regular file");
        rc = PC_EFORMAT;
    } else if (st.st_uid != owner) {
        /* Only the directory's owner (the daemon) writes the totals; a
         * member's file of that name is not believed. */
        snprintf(why, whylen, PC_STATS_TOTALS " is owned by uid %u, not the directory's %u",
                 (unsigned)st.st_uid, (unsigned)owner);
        rc = PC_EFORMAT;
    } else {
        ssize_t n = st.st_size == (off_t)sizeof *t ? pread(fd, t, sizeof *t, 0) : 0;
        if (pc_stats_totals_valid(t, n < 0 ? 0 : (size_t)n, (uint64_t)st.st_size, why, whylen))
            rc = PC_EFORMAT;
    }
    close(fd);
    return rc;
}

static int folded(const pc_stats_totals *t, const char *name)
{
    for (uint32_t i = 0; i < t->nfolded; i++)
        if (strcmp(t->folded[i], name) == 0)
            return 1;
    return 0;
}

/* One pass: the totals, every valid process file not folded into them.
 * PC_OK with *gen the totals' generation. */
static int sum_once(int dfd, uid_t owner, pc_stats_totals *t, pc_stats_counts *sum,
                    uint32_t *alive, uint64_t *gen)
{
    char why[128];
    int rc = pc_stats_totals_read(dfd, owner, t, why, sizeof why);
    if (rc == PC_ENOTREADY) { /* the daemon has not written any yet */
        memset(t, 0, sizeof *t);
        rc = PC_OK;
    }
    if (rc != PC_OK)
        return rc;
    *sum = t->c;
    *alive = 0;
    *gen = t->gen;
    DIR *d = pc_stats_dir_list(dfd);
    if (!d)
        return PC_EIO;
    unsigned files = 0;
    struct dirent *de;
    pc_stats_entry e;
    while ((de = readdir(d)) && files < PC_STATS_MAX_FILES) {
        if (!pc_stats_name_is_proc(de->d_name) || folded(t, de->d_name))
            continue;
        files++;
        pc_stats_entry_read(dfd, de->d_name, &e);
        if (e.kind != PC_STATS_E_VALID)
            continue; /* never trusted; the daemon counts and logs it */
        pc_stats_counts_add(sum, &e.c);
        *alive += (uint32_t)e.alive;
    }
    closedir(d);
    return PC_OK;
}

static int stats_read(const char *path, pc_stats *out)
{
    if (!path || !out || !*path)
        return PC_EINVAL;
    pc_stats_flush_own(); /* this process's own counts, visible at once */
    int dfd = pc_stats_dir_open(path);
    if (dfd < 0)
        return errno == ENOENT ? PC_ENOTREADY
             : errno == ENAMETOOLONG ? PC_EINVAL
             : errno == ENOTDIR || errno == ELOOP ? PC_EFORMAT : PC_EIO;
    struct stat ds;
    pc_stats_totals *t = malloc(2 * sizeof *t);
    if (!t) {
        close(dfd);
        return PC_ENOMEM;
    }
    int rc = fstat(dfd, &ds) == 0 ? PC_OK : PC_EIO;
    pc_stats_counts sum;
    uint32_t alive = 0;
    uint64_t gen = 0, gen2 = 0;
    for (int i = 0; rc == PC_OK && i < SCAN_RETRIES; i++) {
        rc = sum_once(dfd, ds.st_uid, &t[0], &sum, &alive, &gen);
        if (rc != PC_OK)
            break;
        /* A fold between the two reads of the totals may have removed a
         * file we missed or added one we also counted: sum again. */
        char why[128];
        int rc2 = pc_stats_totals_read(dfd, ds.st_uid, &t[1], why, sizeof why);
        gen2 = rc2 == PC_OK ? t[1].gen : 0;
        if (gen2 == gen)
            break;
    }
    free(t);
    close(dfd);
    if (rc != PC_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->hits = sum.hits;
    out->misses = sum.misses;
    out->errors = sum.errors;
    memcpy(out->latency, sum.latency, sizeof out->latency);
    out->processes = alive;
    out->slots = PC_STATS_MAX_FILES;
    return PC_OK;
}

int pc_stats_read(const char *path, pc_stats *out)
{
    return pc_api_return(stats_read(path, out));
}
