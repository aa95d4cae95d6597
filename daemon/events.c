/* events.c - the daemon's nanomsg PUB socket: one event per publish, breaker transition, failed or refused load, removal; heartbeats. */
#include "events.h"

/* Owns: the PUB socket, sequence numbers, heartbeats.  May call: busdir, log. */

#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "busdir.h"
#include "log.h"

/* Sequence numbers are per topic (chain, or "*"): a subscriber to some
 * chains sees a gap only when it missed one of its own events. */
typedef struct topic {
    char     name[PC_CHAIN_MAX + 1];
    uint64_t seq;
    uint64_t version;   /* last published, for heartbeats */
} topic;

struct pcd_events {
    int             sock;
    pthread_mutex_t mu;     /* one sender at a time; guards the topics */
    topic          *topics;
    size_t          ntopics, cap;
    size_t          beat_next; /* where the next heartbeat round starts */
    uint32_t        alarms;    /* PC_HB_* on "*" beats */
    char            alarm_text[PC_EVENT_TEXT_MAX + 1];
    uint64_t        run;
};

/* Heartbeats per call: with many chains a whole round every second came in
 * one burst that overflowed the socket buffers, and the same chains lost
 * their heartbeats round after round.  A slice per second, round-robin,
 * beats each of n chains every ceil(n / BEAT_SLICE) seconds. */
#define BEAT_SLICE 128

static topic *find_topic(pcd_events *ev, const char *name)
{
    for (size_t i = 0; i < ev->ntopics; i++)
        if (strcmp(ev->topics[i].name, name) == 0)
            return &ev->topics[i];
    if (ev->ntopics == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 16;
        topic *t = realloc(ev->topics, cap * sizeof *t);
        if (!t)
            return NULL;
        ev->topics = t;
        ev->cap = cap;
    }
    topic *t = &ev->topics[ev->ntopics++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

/* The single place that turns nanomsg's errors into text. */
static void nn_fail(char *err, size_t errlen, const char *what, const char *addr)
{
    snprintf(err, errlen, "[bus] events \"%s\": %s: %s", addr, what, nn_strerror(nn_errno()));
}

int pcd_events_open(const char *addr, pcd_events **out, char *err, size_t errlen)
{
    *out = NULL;
    /* As for the control socket: a missing directory is made (events were
     * off, "cannot bind: No such file or directory", where control worked). */
    if (strncmp(addr, "ipc://", 6) == 0 &&
        pcd_bus_prepare_dir(addr + 6, "events", err, errlen) != PC_OK)
        return PC_EIO;
    pcd_events *ev = calloc(1, sizeof *ev);
    if (!ev)
        return PC_ENOMEM;
    ev->sock = nn_socket(AF_SP, NN_PUB);
    if (ev->sock < 0) {
        nn_fail(err, errlen, "cannot create a PUB socket", addr);
        free(ev);
        return PC_EIO;
    }
    int linger = 0;
    nn_setsockopt(ev->sock, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger);
    if (nn_bind(ev->sock, addr) < 0) {
        nn_fail(err, errlen, "cannot bind", addr);
        nn_close(ev->sock);
        free(ev);
        return PC_EIO;
    }
    if (strncmp(addr, "ipc://", 6) == 0 && chmod(addr + 6, 0660) != 0)
        LOG_WARN("bus", "events socket %s: cannot chmod 0660: %s", addr + 6, strerror(errno));
    pthread_mutex_init(&ev->mu, NULL);
    ev->run = (uint64_t)pc_now_ms();
    *out = ev;
    return PC_OK;
}

void pcd_events_close(pcd_events *ev)
{
    if (!ev)
        return;
    nn_close(ev->sock);
    pthread_mutex_destroy(&ev->mu);
    free(ev->topics);
    free(ev);
}

static void send_locked(pcd_events *ev, pc_event *e)
{
    uint8_t buf[PC_BUS_MSG_MAX];
    e->run = ev->run;
    e->ts_ms = pc_now_ms();
    size_t n = pc_bus_encode(e, buf, sizeof buf);
    if (n == 0)
        return;
    /* PUB never blocks; a dropped event is what seq gaps tell subscribers. */
    if (nn_send(ev->sock, buf, n, NN_DONTWAIT) < 0 && nn_errno() != EAGAIN)
        LOG_DBG("bus", "event not sent: %s", nn_strerror(nn_errno()));
}

void pcd_events_send(pcd_events *ev, int kind, const char *chain, uint64_t version,
                     uint32_t value, const char *fmt, ...)
{
    if (!ev)
        return;
    pc_event e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    if (chain)
        snprintf(e.chain, sizeof e.chain, "%s", chain);
    e.version = version;
    e.value = value;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.text, sizeof e.text, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&ev->mu);
    topic *t = find_topic(ev, e.chain);
    if (t) {
        e.seq = ++t->seq;
        if (kind == PC_EV_PUBLISH)
            t->version = version;
        send_locked(ev, &e);
    }
    pthread_mutex_unlock(&ev->mu);
}

void pcd_events_track(pcd_events *ev, const char *chain, uint64_t version)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->mu);
    topic *t = find_topic(ev, chain);
    if (t && t->seq == 0 && t->version == 0)
        t->version = version;
    pthread_mutex_unlock(&ev->mu);
}

static void beat_locked(pcd_events *ev, const topic *t)
{
    pc_event e;
    memset(&e, 0, sizeof e);
    e.kind = PC_EV_HEARTBEAT;
    memcpy(e.chain, t->name, sizeof e.chain);
    e.seq = t->seq;
    e.version = t->version;
    if (t->name[0] == 0) {
        e.value = ev->alarms;
        memcpy(e.text, ev->alarm_text, sizeof e.text);
    }
    send_locked(ev, &e);
}

void pcd_events_alarms(pcd_events *ev, uint32_t bits, const char *text)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->mu);
    ev->alarms = bits;
    snprintf(ev->alarm_text, sizeof ev->alarm_text, "%s", text);
    pthread_mutex_unlock(&ev->mu);
}

void pcd_events_heartbeat(pcd_events *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->mu);
    /* "*" beats every time, so a subscriber knows the daemon lives. */
    topic *star = find_topic(ev, "");
    if (star)
        beat_locked(ev, star);
    size_t n = ev->ntopics, k = 0, sent = 0;
    for (; k < n && sent < BEAT_SLICE; k++) {
        topic *t = &ev->topics[(ev->beat_next + k) % n];
        if (t == star)
            continue;
        beat_locked(ev, t);
        sent++;
    }
    ev->beat_next = n ? (ev->beat_next + k) % n : 0;
    pthread_mutex_unlock(&ev->mu);
}
