/* durable.c - commits visible at once, on disk right after: the sync thread and the unsynced marker of the cache. */
#include "durable.h"

/* Owns: the environment's durability.  It is opened MDB_NOSYNC, so a
 * commit is visible to readers as soon as LMDB has written its pages and
 * meta page, without waiting for fdatasync (0.5 ms typical, 5-30 ms at the
 * tail on a busy disk: most of a price change's delay, issue 19).  This
 * thread syncs right behind the commits.  The price: should the system
 * (not the daemon) go down between a commit and its sync, the file may be
 * torn.  The marker <cache>/unsynced, with the boot id, says so on the
 * next start, which then rebuilds the cache from PostgreSQL instead of
 * trusting it, and the library refuses to open it until then
 * (client/unsynced.c).  A daemon killed (kill -9, a crash of its own)
 * loses nothing: every commit is in the page cache.  May call: log. */

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pc_format.h"
#include "pricecache.h"

struct pcd_syncer {
    MDB_env           *env;
    pthread_rwlock_t  *map_lock;
    char              *dir;
    pthread_t          thread;
    pthread_mutex_t    mu;
    pthread_cond_t     cv;
    unsigned long long committed, synced;
    int                stop, failing;
};

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_marker(const char *dir, const char *boot, char *err, size_t errlen)
{
    char tmp[4200], path[4200];
    snprintf(path, sizeof path, "%s/" PC_UNSYNCED_FILE, dir);
    snprintf(tmp, sizeof tmp, "%s/" PC_UNSYNCED_FILE ".tmp", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cache %s: cannot write %s: %s", dir, tmp, strerror(errno));
        return PC_EIO;
    }
    size_t len = strlen(boot);
    ssize_t n = write(fd, boot, len);
    int ok = n == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0 || fsync_dir(dir) != 0) {
        if (ok)
            e = errno;
        unlink(tmp);
        snprintf(err, errlen, "cache %s: cannot write %s: %s", dir, path, strerror(e));
        return PC_EIO;
    }
    return PC_OK;
}

int pcd_durable_begin(const char *dir, int *rebuilt, char *err, size_t errlen)
{
    *rebuilt = 0;
    char why[4600];
    if (pc_unsynced_check(dir, why, sizeof why) == PC_ENOTREADY) {
        static const char *const files[] = { "data.mdb", "lock.mdb" };
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char p[4200];
            snprintf(p, sizeof p, "%s/%s", dir, files[i]);
            if (unlink(p) != 0 && errno != ENOENT) {
                snprintf(err, errlen, "cache %s: cannot remove %s of a cache torn by a system "
                         "crash: %s", dir, p, strerror(errno));
                return PC_EIO;
            }
        }
        LOG_WARN("cache", "%s; data.mdb removed, every chain is loaded again", why);
        *rebuilt = 1;
    }
    char boot[PC_BOOT_ID_MAX];
    pc_boot_id(boot);
    return write_marker(dir, boot, err, errlen);
}

static void *sync_main(void *arg)
{
    pcd_syncer *s = arg;
    /* SCHED_BATCH: the same share of the CPU, but its wake-up never
     * preempts the running thread.  Woken by every commit, it took the
     * committing worker's CPU right between the commit and the publish
     * event (0.15 ms p50 of a delta's way, one run on 2 cores); now it
     * runs when that worker has sent the event, or on the other core.
     * Not granted (another system): the default policy, as before. */
    struct sched_param sp = { .sched_priority = 0 };
    int e = pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    if (e)
        LOG_DBG("cache", "sync thread: SCHED_BATCH not granted: %s", strerror(e));
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && s->synced == s->committed)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->synced == s->committed)
            break; /* stopping, nothing left */
        unsigned long long upto = s->committed;
        pthread_mutex_unlock(&s->mu);
        pthread_rwlock_rdlock(s->map_lock);
        int rc = mdb_env_sync(s->env, 1);
        pthread_rwlock_unlock(s->map_lock);
        pthread_mutex_lock(&s->mu);
        if (rc == 0) {
            s->synced = upto;
            if (s->failing)
                LOG_INFO("cache", "cache %s: commits are on disk again", s->dir);
            s->failing = 0;
        } else {
            if (!s->failing)
                LOG_ERR("cache", "cache %s: fdatasync failed: %s; commits since are served "
                        "but not on disk (a system crash would rebuild the cache)", s->dir,
                        mdb_strerror(rc));
            s->failing = 1;
            if (s->stop)
                break;
            /* Again in a second, or at the next commit. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

pcd_syncer *pcd_syncer_start(MDB_env *env, pthread_rwlock_t *map_lock, const char *dir,
                             char *err, size_t errlen)
{
    pcd_syncer *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        snprintf(err, errlen, "cache: out of memory");
        return NULL;
    }
    s->env = env;
    s->map_lock = map_lock;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    int e = pthread_create(&s->thread, NULL, sync_main, s);
    if (e) {
        snprintf(err, errlen, "cache: cannot start the sync thread: %s", strerror(e));
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s->dir);
        free(s);
        return NULL;
    }
    return s;
}

void pcd_syncer_kick(pcd_syncer *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->committed++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void pcd_syncer_counts(pcd_syncer *s, unsigned long long *committed, unsigned long long *synced)
{
    pthread_mutex_lock(&s->mu);
    *committed = s->committed;
    *synced = s->synced;
    pthread_mutex_unlock(&s->mu);
}

void pcd_syncer_stop(pcd_syncer *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_rwlock_rdlock(s->map_lock);
    int clean = mdb_env_sync(s->env, 1) == 0;
    pthread_rwlock_unlock(s->map_lock);
    char path[4200];
    snprintf(path, sizeof path, "%s/" PC_UNSYNCED_FILE, s->dir);
    if (!clean)
        LOG_ERR("cache", "cache %s: the last sync failed; %s stays, and a start after a system "
                "crash rebuilds the cache", s->dir, path);
    else if (unlink(path) != 0 && errno != ENOENT)
        LOG_WARN("cache", "cache %s: cannot remove %s: %s", s->dir, path, strerror(errno));
    else
        fsync_dir(s->dir);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}
