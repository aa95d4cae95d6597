/* stats.c - a client process's lookup counters: per-thread lines in private memory, their sums written with pwrite into a file of the process's own in <cache>/stats. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fork.h"
#include "stats.h"

_Static_assert(sizeof(pc_stats_line) % 64 == 0, "lines are cache-line aligned");

struct pc_stats_proc {
    pc_stats_line   *lines;                     /* PC_STATS_LINES, private memory */
    int              fd;                        /* our file, OFD-locked; -1: forgotten */
    unsigned         gen;                       /* pc_fork_gen when attached */
    pthread_mutex_t  mu;                        /* guards used[] */
    pthread_mutex_t  flush_mu;                  /* one writer of the file at a time */
    _Atomic uint64_t next_flush_ns;
    uint64_t         seq;                       /* under flush_mu */
    unsigned char    used[PC_STATS_LINES - 1];  /* exclusive lines taken */
};

uint64_t pc_stats_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pc_stats_wanted(void)
{
    const char *e = getenv("PRICECACHE_STATS");
    return !(e && strcmp(e, "0") == 0);
}

/* ---- the file ---------------------------------------------------------- */

/* Whom a directory may belong to: the cache directory's owner (the daemon
 * made it) or root.  Group- or world-writable, it must be sticky, or a
 * member could remove or replace our file. */
static int dir_trusted(const char *path, const struct stat *ds)
{
    struct stat cs;
    if (stat(path, &cs) != 0)
        return 0;
    if (ds->st_uid != cs.st_uid && ds->st_uid != 0)
        return 0;
    return !(ds->st_mode & (S_IWGRP | S_IWOTH)) || (ds->st_mode & S_ISVTX);
}

static void random_tag(char *out, size_t len)
{
    static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[8];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        uint64_t x = pc_stats_now_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(r, &x, sizeof r);
    }
    size_t i = 0;
    for (; i + 1 < len && i < sizeof r; i++)
        out[i] = abc[r[i] % (sizeof abc - 1)];
    out[i] = 0;
}

/* Make, lock and fill our file under a dot-name that readers ignore, then
 * give it its name: nobody ever sees it half made or unlocked (a reader
 * would take an unlocked file for a dead process's and fold it). */
static int make_file(int dfd)
{
    char tag[7], name[PC_STATS_NAME_MAX], tmp[PC_STATS_NAME_MAX + 1];
    random_tag(tag, sizeof tag);
    snprintf(name, sizeof name, "%ld-%s" PC_STATS_SUFFIX, (long)getpid(), tag);
    snprintf(tmp, sizeof tmp, ".%s", name);
    int fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    pc_stats_file img;
    memset(&img, 0, sizeof img);
    img.pid = (uint64_t)getpid();
    pc_stats_file_seal(&img);
    struct stat st;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    /* Mode 0644 whatever the umask or a default ACL (chmod sets the ACL
     * mask): nobody else may write, so nobody else may truncate it. */
    int ok = fchmod(fd, 0644) == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
             st.st_uid == geteuid() && st.st_nlink == 1 && !(st.st_mode & (S_IWGRP | S_IWOTH)) &&
             fcntl(fd, F_OFD_SETLK, &fl) == 0 &&
             pwrite(fd, &img, sizeof img, 0) == (ssize_t)sizeof img &&
             linkat(dfd, tmp, dfd, name, 0) == 0;
    unlinkat(dfd, tmp, 0);
    if (!ok) {
        close(fd);
        return -1;
    }
    return fd;
}

pc_stats_proc *pc_stats_attach(const char *dir)
{
    if (!dir)
        return NULL;
    int dfd = pc_stats_dir_open(dir);
    if (dfd < 0)
        return NULL;
    struct stat ds;
    pc_stats_proc *p = NULL;
    if (fstat(dfd, &ds) != 0 || !dir_trusted(dir, &ds) || !(p = calloc(1, sizeof *p)))
        goto fail;
    p->fd = -1;
    p->lines = aligned_alloc(64, PC_STATS_LINES * sizeof *p->lines);
    if (!p->lines)
        goto fail;
    memset(p->lines, 0, PC_STATS_LINES * sizeof *p->lines);
    /* A name taken (by chance, or planted by a member): another one. */
    for (int i = 0; i < 4 && p->fd < 0; i++)
        p->fd = make_file(dfd);
    if (p->fd < 0)
        goto fail;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail;
    if (pthread_mutex_init(&p->flush_mu, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        goto fail;
    }
    p->gen = pc_fork_gen;
    close(dfd);
    return p;
fail:
    if (p && p->fd >= 0)
        close(p->fd); /* unlocked: the daemon folds (zero) and removes it */
    if (p)
        free(p->lines);
    free(p);
    close(dfd);
    return NULL;
}

/* Sum the lines and write them whole.  Called with flush_mu held. */
static void flush_locked(pc_stats_proc *p)
{
    pc_stats_file img;
    memset(&img, 0, sizeof img);
    for (unsigned i = 0; i < PC_STATS_LINES; i++) {
        pc_stats_line *l = &p->lines[i];
        img.c.hits += atomic_load_explicit(&l->hits, memory_order_relaxed);
        img.c.misses += atomic_load_explicit(&l->misses, memory_order_relaxed);
        img.c.errors += atomic_load_explicit(&l->errors, memory_order_relaxed);
        for (unsigned b = 0; b < PC_STATS_BUCKETS; b++)
            img.c.latency[b] += atomic_load_explicit(&l->latency[b], memory_order_relaxed);
    }
    img.pid = (uint64_t)getpid();
    img.seq = ++p->seq;
    pc_stats_file_seal(&img);
    /* One pwrite of the whole image; a reader meeting it half done sees a
     * bad checksum and reads again.  A failure (disk full, the file
     * truncated under us) loses nothing: the next write has every count. */
    if (pwrite(p->fd, &img, sizeof img, 0) == (ssize_t)sizeof img) {
        /* Someone grew the file (its owner or root could): cut it back to
         * the size readers accept.  A no-op otherwise. */
        int rc = ftruncate(p->fd, sizeof img);
        (void)rc;
    }
}

void pc_stats_flush(pc_stats_proc *p)
{
    if (!p || p->fd < 0 || p->gen != pc_fork_gen)
        return; /* a forked child never writes its parent's file */
    pthread_mutex_lock(&p->flush_mu);
    flush_locked(p);
    pthread_mutex_unlock(&p->flush_mu);
}

void pc_stats_flush_try(pc_stats_proc *p)
{
    if (!p || p->fd < 0 || p->gen != pc_fork_gen || pthread_mutex_trylock(&p->flush_mu) != 0)
        return;
    flush_locked(p);
    pthread_mutex_unlock(&p->flush_mu);
}

void pc_stats_detach(pc_stats_proc *p)
{
    if (!p)
        return;
    if (p->gen != pc_fork_gen) {
        pc_stats_forget(p);
        return;
    }
    pc_stats_flush(p);
    close(p->fd); /* drops the lock: the file is a dead process's now */
    pthread_mutex_destroy(&p->flush_mu);
    pthread_mutex_destroy(&p->mu);
    free(p->lines);
    free(p);
}

void pc_stats_forget(pc_stats_proc *p)
{
    /* Closing our copy of the descriptor leaves the parent's lock alone:
     * an OFD lock belongs to the open file description, which the parent
     * still holds. */
    if (p && p->fd >= 0 && p->gen != pc_fork_gen) {
        close(p->fd);
        p->fd = -1;
    }
}

/* ---- counting ---------------------------------------------------------- */

void pc_stats_tl_init(pc_stats_tl *tl, pc_stats_proc *p)
{
    memset(tl, 0, sizeof *tl);
    if (!p)
        return;
    tl->proc = p;
    tl->idx = -1;
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < PC_STATS_LINES - 1; i++) {
        if (!p->used[i]) {
            p->used[i] = 1;
            tl->idx = (int)i;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    tl->shared = tl->idx < 0;
    tl->line = &p->lines[tl->shared ? PC_STATS_LINES - 1 : (unsigned)tl->idx];
}

void pc_stats_tl_release(pc_stats_tl *tl)
{
    if (tl->proc && tl->idx >= 0) {
        pthread_mutex_lock(&tl->proc->mu);
        tl->proc->used[tl->idx] = 0;
        pthread_mutex_unlock(&tl->proc->mu);
    }
    memset(tl, 0, sizeof *tl);
}

void pc_stats_sample(pc_stats_tl *tl, uint64_t t0, uint64_t per)
{
    uint64_t now = pc_stats_now_ns();
    pc_stats_bump(tl, &tl->line->latency[pc_stats_bucket((now - t0) / per)], 1);
    /* The clock is read anyway: the sampled lookup (one in 64) is where
     * the file is kept up to date. */
    pc_stats_proc *p = tl->proc;
    if (now >= atomic_load_explicit(&p->next_flush_ns, memory_order_relaxed)) {
        atomic_store_explicit(&p->next_flush_ns, now + PC_STATS_FLUSH_MS * 1000000ull,
                              memory_order_relaxed);
        pc_stats_flush_try(p);
    }
}
