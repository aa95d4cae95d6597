/* watch.c - the watcher thread: samples the LMDB environment every second (reader slots, map pages, data.mdb) without waiting for a write, tracks stale readers and warns about them. */
#include "watch.h"

/* Owns: the sampling thread, the stale-reader table, its warnings.
 * May call: store, rtrack, view (types), log. */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "rtrack.h"

struct pcd_watch {
    pcd_store      *st;
    int             every_ms;
    atomic_int      warn_s;
    int             stop_fd;
    pthread_t       thread;
    int             started;
    pthread_mutex_t mu;        /* guards what follows, and sampling */
    pcd_rtrack      track;
    pcd_view_env    env;
    pcd_store_sample_t last;    /* slots of the last sample */
    int             have;
};

/* A slot's process: EPERM means it exists under another user. */
static const char *alive_word(uint32_t pid)
{
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH ? "dead" : "alive";
}

/* A slot that pins an old snapshot for a process that is gone stays until
 * someone clears it: do it at once (LMDB's own check, a short lock). */
static void clear_dead(pcd_watch *w, const pcd_store_sample_t *s)
{
    for (size_t i = 0; i < s->nslots; i++) {
        const pc_rslot *r = &s->slots[i];
        if (!r->txnid || r->txnid >= s->last_txnid || strcmp(alive_word(r->pid), "dead") != 0)
            continue;
        int n = 0;
        if (pcd_store_clear_dead(w->st, &n) == PC_OK && n > 0)
            LOG_WARN("cache", "cleared %d reader slots of dead processes (pid %u held an old "
                     "snapshot, txn %llu)", n, r->pid, (unsigned long long)r->txnid);
        return;
    }
}

void pcd_watch_sample(pcd_watch *w)
{
    if (!w)
        return;
    pcd_store_sample_t s;
    int rc = pcd_store_sample(w->st, &s);
    if (rc == PC_OK)
        clear_dead(w, &s);
    int64_t now = pc_mono_ms();
    pthread_mutex_lock(&w->mu);
    if (rc != PC_OK) {
        pthread_mutex_unlock(&w->mu);
        pcd_store_sample_free(&s);
        LOG_DBG("cache", "environment sample failed (%s)", pc_strerror(rc));
        return;
    }
    pcd_rtrack_sum sum;
    pcd_rtrack_ent gone[16], due[16];
    size_t ngone = 0;
    if (pcd_rtrack_update(&w->track, s.slots, s.nslots, s.last_txnid, now, &sum, gone, 16,
                          &ngone) != PC_OK) {
        pthread_mutex_unlock(&w->mu);
        pcd_store_sample_free(&s);
        return;
    }
    int64_t limit = (int64_t)atomic_load(&w->warn_s) * 1000;
    size_t ndue = pcd_rtrack_due(&w->track, now, limit, due, 16);
    w->env.sampled_ms = now;
    w->env.readers_max = s.readers_max;
    w->env.pages_used = s.pages_used;
    w->env.pages_free = s.pages_free;
    w->env.data_bytes = s.data_bytes;
    w->env.map_full = s.map_full;
    w->env.disk_full = s.disk_full;
    w->env.disk_free = s.disk_free;
    w->env.disk_at_ms = s.disk_at_ms;
    w->env.oldest_txn_s = (double)sum.oldest_ms / 1000.0;
    w->env.oldest_txn_pid = sum.oldest_pid;
    uint64_t last = s.last_txnid, data = s.data_bytes, used = s.pages_used, fr = s.pages_free;
    pcd_store_sample_free(&w->last);
    w->last = s;
    w->have = 1;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < ndue; i++)
        LOG_WARN("cache", "reader pid %u (%s, thread %llx) has held a read transaction on an "
                 "old snapshot (txn %llu, %llu commits behind) for %lld s: its pages cannot be "
                 "reused and data.mdb grows with every publish (now %llu bytes, %llu pages "
                 "used, %llu free); end or stop that process",
                 due[i].pid, alive_word(due[i].pid), (unsigned long long)due[i].thread,
                 (unsigned long long)due[i].txnid,
                 (unsigned long long)(last - due[i].txnid),
                 (long long)((now - due[i].since_ms) / 1000), (unsigned long long)data,
                 (unsigned long long)used, (unsigned long long)fr);
    for (size_t i = 0; i < ngone; i++)
        if (gone[i].warned)
            LOG_INFO("cache", "reader pid %u released its old snapshot (txn %llu) after %lld s",
                     gone[i].pid, (unsigned long long)gone[i].txnid,
                     (long long)((now - gone[i].since_ms) / 1000));
}

static void *watch_main(void *arg)
{
    pcd_watch *w = arg;
    for (;;) {
        pcd_watch_sample(w);
        struct pollfd pf = { w->stop_fd, POLLIN, 0 };
        if (poll(&pf, 1, w->every_ms) > 0)
            break;
    }
    return NULL;
}

int pcd_watch_start(pcd_store *st, int every_ms, int warn_s, pcd_watch **out)
{
    *out = NULL;
    pcd_watch *w = calloc(1, sizeof *w);
    if (!w)
        return PC_ENOMEM;
    w->st = st;
    w->every_ms = every_ms;
    atomic_store(&w->warn_s, warn_s);
    pthread_mutex_init(&w->mu, NULL);
    w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->stop_fd < 0 || pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pcd_watch_stop(w);
        return PC_EIO;
    }
    w->started = 1;
    *out = w;
    return PC_OK;
}

void pcd_watch_stop(pcd_watch *w)
{
    if (!w)
        return;
    if (w->started) {
        uint64_t one = 1;
        ssize_t wr = write(w->stop_fd, &one, sizeof one);
        (void)wr;
        pthread_join(w->thread, NULL);
    }
    if (w->stop_fd >= 0)
        close(w->stop_fd);
    pcd_rtrack_free(&w->track);
    pcd_store_sample_free(&w->last);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void pcd_watch_set_warn(pcd_watch *w, int warn_s)
{
    if (w)
        atomic_store(&w->warn_s, warn_s);
}

void pcd_watch_env(pcd_watch *w, pcd_view_env *out)
{
    memset(out, 0, sizeof *out);
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    *out = w->env;
    pthread_mutex_unlock(&w->mu);
}

int pcd_watch_slots(pcd_watch *w, pcd_watch_slot **out, size_t *n, uint64_t *last_txnid)
{
    *out = NULL;
    *n = 0;
    if (!w)
        return PC_ENOTREADY;
    pthread_mutex_lock(&w->mu);
    if (!w->have) {
        pthread_mutex_unlock(&w->mu);
        return PC_ENOTREADY;
    }
    size_t k = w->last.nslots;
    pcd_watch_slot *v = calloc(k ? k : 1, sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&w->mu);
        return PC_ENOMEM;
    }
    uint64_t last = *last_txnid = w->last.last_txnid;
    for (size_t i = 0; i < k; i++) {
        const pc_rslot *s = &w->last.slots[i];
        v[i].slot = *s;
        v[i].behind = s->txnid && s->txnid < last ? last - s->txnid : 0;
        v[i].age_ms = pcd_rtrack_age(&w->track, s->pid, s->thread, s->txnid, w->env.sampled_ms);
    }
    pthread_mutex_unlock(&w->mu);
    *out = v;
    *n = k;
    return PC_OK;
}
