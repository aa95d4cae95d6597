/* control.c - the operators' side of the control channel: one request, one answer (pc_control), and the addresses the daemon announced (pc_bus_addrs). */
#include <errno.h>
#include <fcntl.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errdetail.h"
#include "pc_format.h"
#include "reader_private.h"

/* nanomsg's REQ resends a request that got no answer; the daemon answers a
 * resent id from its stored replies.  A second is long enough for any
 * answer of an idle daemon and short enough to ride over a lost one. */
#define RESEND_IVL_MS 1000

__attribute__((format(printf, 3, 4)))
static void say(char *reply, size_t cap, const char *fmt, ...)
{
    if (!reply || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply, cap, fmt, ap);
    va_end(ap);
}

/* An ipc:// socket that exists but cannot be entered or written is a
 * permission problem, which nanomsg would only show as a timeout: its
 * connect is asynchronous and retries forever. */
static int ipc_access(const char *addr, char *reply, size_t cap)
{
    if (strncmp(addr, "ipc://", 6) != 0)
        return PC_OK;
    const char *path = addr + 6;
    if (access(path, R_OK | W_OK) == 0)
        return PC_OK;
    if (errno == EACCES || errno == EPERM) {
        say(reply, cap, "control socket %s: %s (not in the service group?)", path,
            strerror(EACCES));
        return PC_EACCES;
    }
    /* Missing: the daemon is down; let the wait time out and say so. */
    return PC_OK;
}

static void identity(char *user, size_t cap)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res)
        snprintf(user, cap, "%s", res->pw_name);
    else
        snprintf(user, cap, "-");
    for (char *p = user; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            *p = '_';
}

static int control_call(const char *addr, const char *request, char *reply, size_t cap, int timeout_ms)
{
    if (reply && cap)
        reply[0] = 0;
    if (!addr || !*addr || !request || !*request || !reply || cap == 0 || timeout_ms <= 0)
        return PC_EINVAL;
    size_t rlen = strlen(request);
    if (rlen > PC_CONTROL_MAX - 256 || strchr(request, '\n')) {
        say(reply, cap, "request: too long or more than one line");
        return PC_EINVAL;
    }
    int rc = ipc_access(addr, reply, cap);
    if (rc != PC_OK)
        return rc;

    uint64_t id = 0;
    if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
        id = (uint64_t)pc_now_ms() ^ ((uint64_t)getpid() << 40);
    char user[64];
    identity(user, sizeof user);
    char *msg = malloc(rlen + 256);
    if (!msg)
        return PC_ENOMEM;
    int hl = snprintf(msg, 256, "PCCTL1 id=%016llx uid=%u user=%s pid=%ld\n",
                      (unsigned long long)id, (unsigned)getuid(), user, (long)getpid());
    memcpy(msg + hl, request, rlen);
    size_t mlen = (size_t)hl + rlen;

    int s = nn_socket(AF_SP, NN_REQ);
    if (s < 0) {
        free(msg);
        say(reply, cap, "cannot create a REQ socket: %s", nn_strerror(nn_errno()));
        return PC_EIO;
    }
    int ivl = RESEND_IVL_MS, linger = 0;
    nn_setsockopt(s, NN_REQ, NN_REQ_RESEND_IVL, &ivl, sizeof ivl);
    nn_setsockopt(s, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger);
    nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    int maxsz = PC_CONTROL_REPLY_MAX; /* status/metrics of many chains exceed a request's limit */
    nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz, sizeof maxsz);
    rc = PC_OK;
    if (nn_connect(s, addr) < 0) {
        say(reply, cap, "control address \"%s\": %s", addr, nn_strerror(nn_errno()));
        rc = nn_errno() == EINVAL || nn_errno() == EPROTONOSUPPORT ? PC_EINVAL : PC_EIO;
    } else if (nn_send(s, msg, mlen, 0) < 0) {
        int e = nn_errno();
        say(reply, cap, "control %s: cannot send: %s", addr, nn_strerror(e));
        rc = e == ETIMEDOUT ? PC_ETIMEDOUT : PC_EIO;
    } else {
        char *ans = NULL;
        int n = nn_recv(s, &ans, NN_MSG, 0);
        if (n < 0) {
            int e = nn_errno();
            if (e == ETIMEDOUT) {
                say(reply, cap, "control %s: no answer within %d ms (daemon down, stopped "
                    "or hung)", addr, timeout_ms);
                rc = PC_ETIMEDOUT;
            } else {
                say(reply, cap, "control %s: %s", addr, nn_strerror(e));
                rc = PC_EIO;
            }
        } else {
            size_t len = (size_t)n, skip = 0;
            if (len >= 2 && memcmp(ans, "OK", 2) == 0) {
                skip = 2 + (len > 2 && (ans[2] == ' ' || ans[2] == '\n'));
            } else if (len >= 3 && memcmp(ans, "ERR", 3) == 0) {
                rc = PC_EREFUSED;
            } else {
                rc = PC_EIO; /* not our daemon's protocol */
            }
            size_t keep = len - skip < cap - 1 ? len - skip : cap - 1;
            memcpy(reply, ans + skip, keep);
            reply[keep] = 0;
            nn_freemsg(ans);
        }
    }
    nn_close(s);
    free(msg);
    return rc;
}

int pc_control(const char *addr, const char *request, char *reply, size_t cap, int timeout_ms)
{
    return pc_api_return(control_call(addr, request, reply, cap, timeout_ms));
}

size_t pc_key_endpoints(uint8_t *buf)
{
    buf[0] = 0;
    buf[1] = 'E';
    return 2;
}

struct addrs { char *ev; size_t ecap; char *ctl; size_t ccap; int found, empty_ev, empty_ctl; };

static int copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (!dst)
        return PC_OK;
    if (len >= cap)
        return PC_EINVAL;
    memcpy(dst, src, len);
    dst[len] = 0;
    return PC_OK;
}

static int on_endpoints(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct addrs *a = ctx;
    (void)key;
    if (klen != 2)
        return 0;
    const char *v = val;
    const char *z1 = memchr(v, 0, vlen);
    if (!z1)
        return PC_EFORMAT;
    size_t l1 = (size_t)(z1 - v);
    const char *z2 = memchr(z1 + 1, 0, vlen - l1 - 1);
    if (!z2)
        return PC_EFORMAT;
    a->found = 1;
    a->empty_ev = l1 == 0;
    a->empty_ctl = z2 == z1 + 1;
    int rc = copy_field(a->ev, a->ecap, v, l1);
    if (rc == PC_OK)
        rc = copy_field(a->ctl, a->ccap, z1 + 1, (size_t)(z2 - z1 - 1));
    return rc ? rc : 1;
}

static int bus_addrs(pc_reader *r, char *events, size_t ecap, char *control, size_t ccap)
{
    if (!r || (events && !ecap) || (control && !ccap))
        return PC_EINVAL;
    struct addrs a = { events, ecap, control, ccap, 0, 0, 0 };
    uint8_t kb[4];
    int rc = pc_reader_prefix_scan(r, kb, pc_key_endpoints(kb), on_endpoints, &a);
    if (rc == 1)
        rc = PC_OK;
    /* A daemon with the bus off announces two empty addresses. */
    if (rc == PC_OK && (!a.found || (a.empty_ev && a.empty_ctl)))
        rc = PC_NOTFOUND;
    return rc;
}

int pc_bus_addrs(pc_reader *r, char *events, size_t ecap, char *control, size_t ccap)
{
    return pc_api_return(bus_addrs(r, events, ecap, control, ccap));
}
