/* control.c - the daemon's control channel: a nanomsg REP socket answering operators (status, reload, breaker reset, accept, metrics). */
#include "control.h"

/* Owns: the REP socket, request parsing, replies, the replay cache and rate
 * limit.  The engine's verbs come in as pcd_control_ops.  May call: busdir, log. */

#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "busdir.h"
#include "log.h"

/* Replies kept for resent requests: nanomsg's REQ resends after its
 * interval, and an operator's script may retry; both carry the same id. */
#define REPLAY_SLOTS 64
/* Reload rate limits kept (least recently used replaced). */
#define RATE_SLOTS 256
/* Messages up to this size are read and answered "oversized"; nanomsg
 * drops the connection of a larger one. */
#define RECV_MAX (16 * PC_CONTROL_MAX)

typedef struct replay {
    char     key[96];    /* id and stated uid */
    char    *reply;
    size_t   len;
    uint64_t used;
} replay;

typedef struct rate {
    char    name[PC_CHAIN_MAX + 1];
    int64_t last_ms;
} rate;

struct pcd_control {
    int             sock;
    pcd_control_ops ops;
    replay          replays[REPLAY_SLOTS];
    uint64_t        tick;
    rate            rates[RATE_SLOTS];
};

int pcd_control_new(const pcd_control_ops *ops, pcd_control **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return PC_ENOMEM;
    (*out)->sock = -1;
    (*out)->ops = *ops;
    return PC_OK;
}

/* The single place that turns nanomsg's errors into text. */
static void nn_fail(char *err, size_t errlen, const char *what, const char *addr)
{
    snprintf(err, errlen, "[bus] control \"%s\": %s: %s", addr, what, nn_strerror(nn_errno()));
}

int pcd_control_open(const char *addr, const pcd_control_ops *ops, pcd_control **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    int ipc = strncmp(addr, "ipc://", 6) == 0;
    if (ipc && pcd_bus_prepare_dir(addr + 6, "control", err, errlen) != PC_OK)
        return PC_EIO;
    pcd_control *c;
    if (pcd_control_new(ops, &c) != PC_OK) {
        snprintf(err, errlen, "[bus] control: out of memory");
        return PC_ENOMEM;
    }
    c->sock = nn_socket(AF_SP, NN_REP);
    if (c->sock < 0) {
        nn_fail(err, errlen, "cannot create a REP socket", addr);
        free(c);
        return PC_EIO;
    }
    int linger = 0, maxsz = RECV_MAX;
    nn_setsockopt(c->sock, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger);
    nn_setsockopt(c->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz, sizeof maxsz);
    if (nn_bind(c->sock, addr) < 0) {
        int bad = nn_errno() == EINVAL || nn_errno() == EPROTONOSUPPORT;
        nn_fail(err, errlen, "cannot bind", addr);
        nn_close(c->sock);
        free(c);
        return bad ? PC_EINVAL : PC_EIO;
    }
    if (ipc && chmod(addr + 6, 0660) != 0)
        LOG_WARN("bus", "control socket %s: cannot chmod 0660: %s", addr + 6, strerror(errno));
    *out = c;
    return PC_OK;
}

void pcd_control_close(pcd_control *c)
{
    if (!c)
        return;
    if (c->sock >= 0)
        nn_close(c->sock);
    for (int i = 0; i < REPLAY_SLOTS; i++)
        free(c->replays[i].reply);
    free(c);
}

int pcd_control_fd(pcd_control *c)
{
    int fd = -1;
    size_t sz = sizeof fd;
    if (nn_getsockopt(c->sock, NN_SOL_SOCKET, NN_RCVFD, &fd, &sz) < 0)
        return -1;
    return fd;
}

/* ---- parsing --------------------------------------------------------- */

static int token_ok(const char *s, size_t len, const char *extra)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr(extra, ch)))
            return 0;
    }
    return 1;
}

/* "PCCTL1 id=ID uid=N user=NAME pid=N": PC_OK or PC_EINVAL with why. */
static int parse_head(const char *h, size_t len, pcd_actor *a, char *why, size_t wlen)
{
    char buf[256];
    if (len >= sizeof buf) {
        snprintf(why, wlen, "header longer than %zu bytes", sizeof buf - 1);
        return PC_EINVAL;
    }
    memcpy(buf, h, len);
    buf[len] = 0;
    char id[64], user[128];
    unsigned long uid;
    long pid;
    int n = 0;
    if (sscanf(buf, "PCCTL1 id=%63s uid=%lu user=%127s pid=%ld%n", id, &uid, user, &pid, &n) != 4 ||
        (size_t)n != len) {
        snprintf(why, wlen, "header is not \"PCCTL1 id=ID uid=N user=NAME pid=N\"");
        return PC_EINVAL;
    }
    if (strlen(id) > 32 || !token_ok(id, strlen(id), "-_") ||
        strlen(user) > 63 || !token_ok(user, strlen(user), "-_.$@") || uid > 0xffffffffUL ||
        pid < 0) {
        snprintf(why, wlen, "bad id, uid, user or pid in the header");
        return PC_EINVAL;
    }
    snprintf(a->id, sizeof a->id, "%s", id);
    a->uid = (unsigned)uid;
    a->pid = pid;
    snprintf(a->user, sizeof a->user, "%s", user);
    char ts[32];
    time_t now = (time_t)(pc_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(a->text, sizeof a->text, "ts=%s uid=%u user=%s pid=%ld (stated) req=%s", ts,
             a->uid, a->user, a->pid, a->id);
    return PC_OK;
}

/* ---- replay cache and rate limit ------------------------------------- */

static replay *replay_find(pcd_control *c, const char *key)
{
    for (int i = 0; i < REPLAY_SLOTS; i++)
        if (c->replays[i].reply && strcmp(c->replays[i].key, key) == 0)
            return &c->replays[i];
    return NULL;
}

static void replay_store(pcd_control *c, const char *key, const char *reply, size_t len)
{
    /* Only status and metrics answer more than a request may hold; they
     * change nothing, so running a resent one again is harmless, and 64
     * kept replies of many megabytes each would not be. */
    if (len > PC_CONTROL_MAX)
        return;
    replay *slot = &c->replays[0];
    for (int i = 0; i < REPLAY_SLOTS; i++) {
        if (!c->replays[i].reply) {
            slot = &c->replays[i];
            break;
        }
        if (c->replays[i].used < slot->used)
            slot = &c->replays[i];
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return; /* a resend would run again: logged by the engine's own checks */
    memcpy(copy, reply, len);
    copy[len] = 0;
    free(slot->reply);
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->reply = copy;
    slot->len = len;
    slot->used = ++c->tick;
}

/* Milliseconds until `name` may be reloaded again, 0 when now. */
static int64_t rate_wait(pcd_control *c, const char *name, int64_t now)
{
    for (int i = 0; i < RATE_SLOTS; i++)
        if (c->rates[i].name[0] && strcmp(c->rates[i].name, name) == 0) {
            int64_t left = c->rates[i].last_ms + PCD_RELOAD_MIN_INTERVAL_MS - now;
            return left > 0 ? left : 0;
        }
    return 0;
}

static void rate_note(pcd_control *c, const char *name, int64_t now)
{
    rate *slot = &c->rates[0];
    for (int i = 0; i < RATE_SLOTS; i++) {
        if (strcmp(c->rates[i].name, name) == 0 || !c->rates[i].name[0]) {
            slot = &c->rates[i];
            break;
        }
        if (c->rates[i].last_ms < slot->last_ms)
            slot = &c->rates[i];
    }
    /* Not snprintf: gcc's truncation check cannot see that a slug fits. */
    size_t nl = strnlen(name, sizeof slot->name - 1);
    memcpy(slot->name, name, nl);
    slot->name[nl] = 0;
    slot->last_ms = now;
}

/* ---- dispatch -------------------------------------------------------- */

/* The body of an answer: ok 1 gives "OK <text>", 0 "ERR <text>". */
static size_t answer(char *out, size_t cap, int ok, const char *text)
{
    int n = snprintf(out, cap, "%s%s%s", ok ? "OK" : "ERR ", ok && *text ? (text[0] == '\n' ? "" : " ") : "", text);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static int run_command(pcd_control *c, const char *cmd, const pcd_actor *who, char *body,
                       size_t cap)
{
    char w[4][PC_CHAIN_MAX + 2];
    int nw = 0;
    const char *p = cmd;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (len == 0 || nw == 4 || len > PC_CHAIN_MAX) {
            snprintf(body, cap, "usage: request \"%.80s\": too many, too long or empty words", cmd);
            return PC_EINVAL;
        }
        memcpy(w[nw], p, len);
        w[nw++][len] = 0;
        p += len;
        if (*p == ' ')
            p++;
    }
    if (nw == 0) {
        snprintf(body, cap, "bad_request: empty request");
        return PC_EINVAL;
    }
    const char *chain = NULL;
    int which;
    if (strcmp(w[0], "status") == 0 && nw == 1) {
        return c->ops.status(c->ops.ctx, body, cap);
    } else if (strcmp(w[0], "metrics") == 0 && nw == 1) {
        return c->ops.metrics(c->ops.ctx, body, cap);
    } else if (strcmp(w[0], "readers") == 0 && nw == 1 && c->ops.readers) {
        return c->ops.readers(c->ops.ctx, body, cap);
    } else if (strcmp(w[0], "reload") == 0 && nw == 2) {
        which = 0;
        chain = w[1];
    } else if (strcmp(w[0], "breaker") == 0 && nw == 3 && strcmp(w[1], "reset") == 0) {
        which = 1;
        chain = w[2];
    } else if (strcmp(w[0], "accept") == 0 && nw == 2) {
        which = 2;
        chain = w[1];
    } else if (strcmp(w[0], "status") == 0 || strcmp(w[0], "metrics") == 0 ||
               strcmp(w[0], "readers") == 0 || strcmp(w[0], "reload") == 0 ||
               strcmp(w[0], "breaker") == 0 ||
               strcmp(w[0], "accept") == 0) {
        snprintf(body, cap, "usage: status | metrics | readers | reload CHAIN|all | "
                 "breaker reset CHAIN | accept CHAIN");
        return PC_EINVAL;
    } else {
        snprintf(body, cap, "unknown_command: \"%s\" (status, metrics, readers, reload, "
                 "breaker reset, accept)", w[0]);
        return PC_EINVAL;
    }
    if (!(which == 0 && strcmp(chain, "all") == 0) && !pc_slug_valid(chain, strlen(chain))) {
        snprintf(body, cap, "usage: chain \"%s\" is not a slug ([a-z0-9_-]{1,64})", chain);
        return PC_EINVAL;
    }
    uint64_t seq = 0;
    if (c->ops.done_before && c->ops.done_before(c->ops.ctx, who, &seq) == PC_OK) {
        /* A retry, after a restart, of a request an earlier run carried out
         * (REQ resends by itself when the daemon died before answering). */
        snprintf(body, cap, "request %s was already carried out (audit #%llu); not run again",
                 who->id, (unsigned long long)seq);
        return PC_OK;
    }
    if (which == 0) {
        int64_t now = pc_mono_ms();
        int64_t left = rate_wait(c, chain, now);
        if (left > 0) {
            snprintf(body, cap, "rate_limited: reload of %s was asked for less than %d s ago; "
                     "retry after %lld s", chain, PCD_RELOAD_MIN_INTERVAL_MS / 1000,
                     (long long)((left + 999) / 1000));
            return PC_EREFUSED;
        }
        int rc = c->ops.reload(c->ops.ctx, chain, who, body, cap);
        if (rc == PC_OK)
            rate_note(c, chain, now);
        return rc;
    }
    if (which == 1)
        return c->ops.breaker_reset(c->ops.ctx, chain, who, body, cap);
    return c->ops.accept(c->ops.ctx, chain, who, body, cap);
}

size_t pcd_control_handle(pcd_control *c, const char *msg, size_t len, char *out, size_t cap)
{
    /* Replies (status, metrics) may be longer than requests: the body
     * gets the caller's whole reply capacity, not PC_CONTROL_MAX. */
    char *body = cap > 16 ? malloc(cap) : NULL;
    if (!body)
        return answer(out, cap, 0, "internal: out of memory");
    size_t n;
    pcd_actor who;
    memset(&who, 0, sizeof who);
    const char *nl = len ? memchr(msg, '\n', len) : NULL;
    char why[160];
    if (len > PC_CONTROL_MAX) {
        snprintf(why, sizeof why, "bad_request: %zu bytes, more than %d", len, PC_CONTROL_MAX);
        n = answer(out, cap, 0, why);
    } else if (!nl || parse_head(msg, (size_t)(nl - msg), &who, why + 13, sizeof why - 13) != PC_OK) {
        if (!nl)
            snprintf(why, sizeof why, "bad_request: no header line (use pc_control)");
        else
            memcpy(why, "bad_request: ", 13);
        n = answer(out, cap, 0, why);
    } else {
        const char *cmd = nl + 1;
        size_t clen = len - (size_t)(cmd - msg);
        int printable = clen > 0;
        for (size_t i = 0; i < clen; i++)
            if ((unsigned char)cmd[i] < 0x20 || (unsigned char)cmd[i] >= 0x7f)
                printable = 0;
        char key[96];
        snprintf(key, sizeof key, "%s/%u", who.id, who.uid);
        replay *r = replay_find(c, key);
        if (r) {
            LOG_INFO("control", "request %s from uid %u resent: answered from the stored reply",
                     who.id, who.uid);
            n = r->len < cap ? r->len : cap - 1;
            memcpy(out, r->reply, n);
            out[n] = 0;
            r->used = ++c->tick;
        } else if (!printable) {
            n = answer(out, cap, 0, clen ? "bad_request: the command holds non-printable bytes"
                                         : "bad_request: empty request");
            replay_store(c, key, out, n);
        } else {
            char *cmdz = strndup(cmd, clen);
            int rc = cmdz ? run_command(c, cmdz, &who, body, cap - 16)
                          : (snprintf(body, cap, "internal: out of memory"), PC_ENOMEM);
            n = answer(out, cap, rc == PC_OK, body);
            LOG_INFO("control", "%s: \"%.100s\" -> %.*s", who.text, cmdz ? cmdz : "?",
                     (int)(strcspn(out, "\n") < 200 ? strcspn(out, "\n") : 200), out);
            free(cmdz);
            replay_store(c, key, out, n);
        }
    }
    free(body);
    return n;
}

void pcd_control_serve(pcd_control *c)
{
    char *out = malloc(PC_CONTROL_REPLY_MAX);
    if (!out)
        return;
    for (;;) {
        char *msg = NULL;
        int len = nn_recv(c->sock, &msg, NN_MSG, NN_DONTWAIT);
        if (len < 0) {
            if (nn_errno() != EAGAIN && nn_errno() != EINTR)
                LOG_WARN("control", "control: receive failed: %s", nn_strerror(nn_errno()));
            break;
        }
        size_t n = pcd_control_handle(c, msg, (size_t)len, out, PC_CONTROL_REPLY_MAX);
        nn_freemsg(msg);
        if (nn_send(c->sock, out, n, NN_DONTWAIT) < 0)
            LOG_WARN("control", "control: reply not sent: %s", nn_strerror(nn_errno()));
    }
    free(out);
}
