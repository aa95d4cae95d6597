/* subscribe.c - following the daemon's events over nanomsg SUB, with gap detection. */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errdetail.h"
#include "pc_bus.h"

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

typedef struct seen {
    char     topic[PC_CHAIN_MAX + 1];
    uint64_t run, seq;
} seen;

/* The daemon sends a heartbeat on "*", which every subscriber takes, each
 * second.  Hearing nothing for this long, the subscriber dials again (the
 * same socket, so pc_sub_fd's descriptor stays): nanomsg's own redial was
 * seen to stall after a daemon restart in a process with many threads. */
#define REDIAL_MS 3000

struct pc_sub {
    int      sock, fd;
    int      eid;          /* nanomsg endpoint of the connection */
    char    *addr;         /* to dial again */
    int64_t  heard_ms;     /* monotonic: last message, open or redial */
    seen    *topics;
    size_t   ntopics, cap;
    pc_event pending;      /* an event held back behind its RESYNC */
    int      has_pending;
};

static int sub_open(const char *addr, const char *const chains[], size_t n, pc_sub **out)
{
    if (!out || !addr)
        return PC_EINVAL;
    *out = NULL;
    if (n && !chains) /* n chains promised, none given: it crashed here */
        return PC_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!chains[i] || !pc_slug_valid(chains[i], strnlen(chains[i], PC_CHAIN_MAX + 1)))
            return PC_EINVAL;
    pc_sub *s = calloc(1, sizeof *s);
    if (!s)
        return PC_ENOMEM;
    s->sock = nn_socket(AF_SP, NN_SUB);
    if (s->sock < 0) {
        free(s);
        return PC_EIO;
    }
    int rc = PC_OK;
    if (n == 0) {
        if (nn_setsockopt(s->sock, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0)
            rc = PC_EIO;
    } else {
        /* Topics end with NUL, so "acme" does not also match "acme-2". */
        if (nn_setsockopt(s->sock, NN_SUB, NN_SUB_SUBSCRIBE, "*", 2) < 0)
            rc = PC_EIO;
        for (size_t i = 0; i < n && rc == PC_OK; i++)
            if (nn_setsockopt(s->sock, NN_SUB, NN_SUB_SUBSCRIBE, chains[i],
                              strlen(chains[i]) + 1) < 0)
                rc = PC_EIO;
    }
    size_t fdlen = sizeof s->fd;
    if (rc == PC_OK && !(s->addr = strdup(addr)))
        rc = PC_ENOMEM;
    if (rc == PC_OK && ((s->eid = nn_connect(s->sock, addr)) < 0 ||
                        nn_getsockopt(s->sock, NN_SOL_SOCKET, NN_RCVFD, &s->fd, &fdlen) < 0))
        /* An unknown scheme is EPROTONOSUPPORT: a bad address, as documented
         * (it was PC_EIO, "cache could not be read"). */
        rc = nn_errno() == EINVAL || nn_errno() == EPROTONOSUPPORT ? PC_EINVAL : PC_EIO;
    if (rc != PC_OK) {
        nn_close(s->sock);
        free(s->addr);
        free(s);
        return rc;
    }
    s->heard_ms = mono_ms();
    *out = s;
    return PC_OK;
}

int pc_sub_open(const char *addr, const char *const chains[], size_t n, pc_sub **out)
{
    return pc_api_return(sub_open(addr, chains, n, out));
}

/* Drop the connection and dial the address again on the same socket.  A
 * failure keeps the old endpoint (nanomsg goes on redialling it). */
static void redial(pc_sub *s, int64_t now)
{
    s->heard_ms = now;
    if (nn_shutdown(s->sock, s->eid) < 0)
        return;
    int eid = nn_connect(s->sock, s->addr);
    if (eid >= 0)
        s->eid = eid;
}

void pc_sub_close(pc_sub *s)
{
    if (!s)
        return;
    nn_close(s->sock);
    free(s->addr);
    free(s->topics);
    free(s);
}

int pc_sub_fd(pc_sub *s)
{
    return s ? s->fd : -1;
}

static seen *topic_of(pc_sub *s, const char *name)
{
    for (size_t i = 0; i < s->ntopics; i++)
        if (strcmp(s->topics[i].topic, name) == 0)
            return &s->topics[i];
    if (s->ntopics == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        seen *t = realloc(s->topics, cap * sizeof *t);
        if (!t)
            return NULL;
        s->topics = t;
        s->cap = cap;
    }
    seen *t = &s->topics[s->ntopics++];
    memset(t, 0, sizeof *t);
    memcpy(t->topic, name, strlen(name) + 1);
    return t;
}

static void make_resync(const pc_event *ev, pc_event *out, const char *why)
{
    memset(out, 0, sizeof *out);
    out->kind = PC_EV_RESYNC;
    memcpy(out->chain, ev->chain, sizeof out->chain);
    out->run = ev->run;
    out->seq = ev->seq;
    out->ts_ms = ev->ts_ms;
    out->version = ev->version;
    snprintf(out->text, sizeof out->text, "%s", why);
}

static int sub_next(pc_sub *s, int timeout_ms, pc_event *out)
{
    if (!s || !out)
        return PC_EINVAL;
    if (s->has_pending) {
        *out = s->pending;
        s->has_pending = 0;
        return PC_OK;
    }
    /* Try first, then poll in short slices: nanomsg's NN_RCVFD can stay
     * quiet while a SUB socket still holds messages behind filtered ones. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    void *msg = NULL;
    int len;
    for (;;) {
        len = nn_recv(s->sock, &msg, NN_MSG, NN_DONTWAIT);
        if (len >= 0)
            break;
        if (nn_errno() != EAGAIN)
            return PC_EIO;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        if (now_ms - s->heard_ms >= REDIAL_MS)
            redial(s, now_ms);
        long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (timeout_ms >= 0 && el >= timeout_ms)
            return PC_ETIMEDOUT;
        long slice = timeout_ms < 0 ? 100 : timeout_ms - el;
        if (slice > 100)
            slice = 100;
        struct pollfd pf = { s->fd, POLLIN, 0 };
        if (poll(&pf, 1, (int)slice) < 0 && errno != EINTR)
            return PC_EIO;
    }
    s->heard_ms = mono_ms();
    pc_event ev;
    int rc = pc_bus_decode(msg, (size_t)len, &ev);
    nn_freemsg(msg);
    if (rc != PC_OK)
        return PC_EFORMAT;
    seen *t = topic_of(s, ev.chain);
    if (!t)
        return PC_ENOMEM;
    const char *why = NULL;
    char buf[96];
    if (t->run && t->run != ev.run) {
        why = "daemon restarted";
    } else if (t->run && ev.kind == PC_EV_HEARTBEAT && ev.seq > t->seq) {
        snprintf(buf, sizeof buf, "missed events %llu..%llu", (unsigned long long)t->seq + 1,
                 (unsigned long long)ev.seq);
        why = buf;
    } else if (t->run && ev.kind != PC_EV_HEARTBEAT && ev.seq > t->seq + 1) {
        snprintf(buf, sizeof buf, "missed events %llu..%llu", (unsigned long long)t->seq + 1,
                 (unsigned long long)ev.seq - 1);
        why = buf;
    }
    t->run = ev.run;
    if (ev.seq > t->seq || why)
        t->seq = ev.seq;
    if (why) {
        make_resync(&ev, out, why);
        s->pending = ev;
        s->has_pending = 1;
        return PC_OK;
    }
    *out = ev;
    return PC_OK;
}

int pc_sub_next(pc_sub *s, int timeout_ms, pc_event *out)
{
    return pc_api_return(sub_next(s, timeout_ms, out));
}
