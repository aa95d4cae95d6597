/* listen.c - LISTEN on the primary for the NOTIFYs of the source tables' triggers. */
#include "listen.h"

/* Owns: the LISTEN connection and thread, notice parsing, reconnects.  Notices
 * go out through a callback.  May call: pgsource, config, log. */

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pc_format.h"
#include "pgsource.h"

/* ---- payload decoding: a flat JSON object of strings and nulls ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* Decode the JSON string at *pp (after its opening quote) into buf; NUL
 * bytes (\u0000) are refused since no id can hold one. */
static int json_string(const char **pp, char *buf, size_t *used, size_t cap, const char **out)
{
    const char *p = *pp;
    size_t o = *used;
    *out = buf + o;
    for (;;) {
        unsigned char c = (unsigned char)*p++;
        if (c == 0 || c < 0x20)
            return PC_EINVAL;
        if (c == '"')
            break;
        char tmp[4];
        size_t n = 1;
        if (c != '\\') {
            tmp[0] = (char)c;
        } else {
            char e = *p++;
            switch (e) {
            case '"': tmp[0] = '"'; break;
            case '\\': tmp[0] = '\\'; break;
            case '/': tmp[0] = '/'; break;
            case 'b': tmp[0] = '\b'; break;
            case 'f': tmp[0] = '\f'; break;
            case 'n': tmp[0] = '\n'; break;
            case 'r': tmp[0] = '\r'; break;
            case 't': tmp[0] = '\t'; break;
            case 'u': {
                unsigned cp;
                if (hex4(p, &cp))
                    return PC_EINVAL;
                p += 4;
                if (cp >= 0xd800 && cp < 0xdc00) {
                    unsigned lo;
                    if (p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                        return PC_EINVAL;
                    p += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp < 0xe000) {
                    return PC_EINVAL;
                }
                if (cp == 0)
                    return PC_EINVAL;
                if (cp < 0x80) {
                    tmp[0] = (char)cp;
                } else if (cp < 0x800) {
                    tmp[0] = (char)(0xc0 | (cp >> 6));
                    tmp[1] = (char)(0x80 | (cp & 0x3f));
                    n = 2;
                } else if (cp < 0x10000) {
                    tmp[0] = (char)(0xe0 | (cp >> 12));
                    tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    tmp[2] = (char)(0x80 | (cp & 0x3f));
                    n = 3;
                } else {
                    tmp[0] = (char)(0xf0 | (cp >> 18));
                    tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                    tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    tmp[3] = (char)(0x80 | (cp & 0x3f));
                    n = 4;
                }
                break;
            }
            default:
                return PC_EINVAL;
            }
        }
        if (o + n + 1 > cap)
            return PC_EINVAL;
        memcpy(buf + o, tmp, n);
        o += n;
    }
    buf[o++] = 0;
    *used = o;
    *pp = p;
    return PC_OK;
}

/* A string or null at *pp; *out NULL for null. */
static int json_value(const char **pp, char *buf, size_t *used, size_t cap, const char **out)
{
    const char *p = *pp;
    if (*p == '"') {
        p++;
        if (json_string(&p, buf, used, cap, out) != PC_OK)
            return PC_EINVAL;
    } else if (strncmp(p, "null", 4) == 0) {
        p += 4;
        *out = NULL;
    } else {
        return PC_EINVAL;
    }
    *pp = p;
    return PC_OK;
}

/* "keys": [[store|null, item], ...] */
static int json_keys(const char **pp, char *buf, size_t *used, size_t cap, pcd_notice *out)
{
    const char *p = *pp;
    if (*p++ != '[')
        return PC_EINVAL;
    out->has_keys = 1;
    p = skip_ws(p);
    if (*p == ']') {
        *pp = p + 1;
        return PC_OK;
    }
    for (;;) {
        const char *store, *item;
        if (*p++ != '[')
            return PC_EINVAL;
        p = skip_ws(p);
        if (json_value(&p, buf, used, cap, &store) != PC_OK)
            return PC_EINVAL;
        p = skip_ws(p);
        if (*p++ != ',')
            return PC_EINVAL;
        p = skip_ws(p);
        if (json_value(&p, buf, used, cap, &item) != PC_OK || !item)
            return PC_EINVAL;
        p = skip_ws(p);
        if (*p++ != ']')
            return PC_EINVAL;
        if (out->nkeys < PCD_NOTICE_MAX_KEYS) {
            out->keys[out->nkeys].store = store;
            out->keys[out->nkeys].item = item;
            out->nkeys++;
        } else {
            out->has_keys = 0; /* cannot hold them all: the whole chain */
        }
        p = skip_ws(p);
        if (*p == ',') {
            p = skip_ws(p + 1);
            continue;
        }
        if (*p++ != ']')
            return PC_EINVAL;
        *pp = p;
        return PC_OK;
    }
}

int pcd_notice_parse(const char *payload, pcd_notice *out, char *buf, size_t buflen)
{
    out->table = out->op = out->chain = NULL;
    out->txid = 0;
    out->has_keys = 0;
    out->nkeys = 0;
    const char *p = skip_ws(payload);
    size_t used = 0;
    if (*p++ != '{')
        return PC_EINVAL;
    p = skip_ws(p);
    if (*p == '}')
        return skip_ws(p + 1)[0] ? PC_EINVAL : PC_OK;
    for (;;) {
        const char *key, *val = NULL;
        if (*p++ != '"' || json_string(&p, buf, &used, buflen, &key) != PC_OK)
            return PC_EINVAL;
        p = skip_ws(p);
        if (*p++ != ':')
            return PC_EINVAL;
        p = skip_ws(p);
        if (strcmp(key, "keys") == 0 && *p == '[') {
            if (json_keys(&p, buf, &used, buflen, out) != PC_OK)
                return PC_EINVAL;
        } else if (json_value(&p, buf, &used, buflen, &val) != PC_OK) {
            return PC_EINVAL;
        }
        if (strcmp(key, "table") == 0) out->table = val;
        else if (strcmp(key, "op") == 0) out->op = val;
        else if (strcmp(key, "chain") == 0) out->chain = val;
        else if (strcmp(key, "txid") == 0 && val) {
            char *end;
            long long t = strtoll(val, &end, 10);
            if (*end || t <= 0)
                return PC_EINVAL;
            out->txid = t;
        }
        /* other keys: ignored, so triggers may add fields */
        p = skip_ws(p);
        if (*p == ',') {
            p = skip_ws(p + 1);
            continue;
        }
        if (*p++ != '}')
            return PC_EINVAL;
        return *skip_ws(p) ? PC_EINVAL : PC_OK;
    }
}

/* ---- the listener thread ---- */

struct pcd_listen {
    pthread_t         thread;
    const pcd_config *cfg;
    int               stop_fd;
    pcd_notice_fn     fn;
    void             *ctx;
    uint64_t          rng;
};

/* Wait up to ms for stop_fd; 1 when stopping. */
static int wait_stop(pcd_listen *l, int ms)
{
    struct pollfd pf = { l->stop_fd, POLLIN, 0 };
    return poll(&pf, 1, ms) > 0;
}

static int backoff_ms(pcd_listen *l, int attempt)
{
    int cap = 30000, base = 500;
    int b = attempt >= 6 ? cap : base << attempt;
    if (b > cap)
        b = cap;
    l->rng ^= l->rng << 13;
    l->rng ^= l->rng >> 7;
    l->rng ^= l->rng << 17;
    return b / 2 + (int)(l->rng % (uint64_t)(b / 2 + 1));
}

static void dispatch(pcd_listen *l, PGconn *conn)
{
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        /* Large: kept off the stack of a thread with a default-sized one. */
        static __thread pcd_notice nt;
        static __thread char buf[16384];
        if (pcd_notice_parse(n->extra, &nt, buf, sizeof buf) == PC_OK && nt.table) {
            l->fn(l->ctx, &nt);
        } else {
            LOG_WARN("listen", "notification on %s: cannot decode payload \"%.200s\"; "
                     "resynchronising every chain", n->relname, n->extra);
            l->fn(l->ctx, NULL);
        }
        PQfreemem(n);
    }
}

static void *listen_main(void *arg)
{
    pcd_listen *l = arg;
    int attempt = 0;
    int was_down = 0;
    while (!wait_stop(l, 0)) {
        char err[512];
        pg_conn *pc = NULL;
        if (pcd_pg_connect(l->cfg, &pc, err, sizeof err) != PC_OK) {
            if (!was_down)
                LOG_WARN("listen", "listen connection: cannot connect (%s); retrying", err);
            was_down = 1;
            if (wait_stop(l, backoff_ms(l, attempt++)))
                break;
            continue;
        }
        PGconn *conn = (PGconn *)pc;
        PGresult *res = PQexec(conn, "LISTEN " PCD_NOTIFY_CHANNEL);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            LOG_WARN("listen", "listen connection: LISTEN failed (%s)",
                     PQresultErrorMessage(res));
        PQclear(res);
        if (!ok) {
            pcd_pg_close(pc);
            if (wait_stop(l, backoff_ms(l, attempt++)))
                break;
            continue;
        }
        LOG_INFO("listen", "listen connection: listening on \"%s\"%s", PCD_NOTIFY_CHANNEL,
                 attempt || was_down ? " again; resynchronising every chain" : "");
        /* NOTIFYs sent while we were not listening are lost for good:
         * every (re)connect is followed by a full resync. */
        if (attempt || was_down)
            l->fn(l->ctx, NULL);
        attempt = 0;
        was_down = 0;

        int stopping = 0;
        for (;;) {
            struct pollfd pf[2] = { { PQsocket(conn), POLLIN, 0 }, { l->stop_fd, POLLIN, 0 } };
            int np = poll(pf, 2, 30000);
            if (np < 0 && errno != EINTR)
                break;
            if (pf[1].revents & POLLIN) {
                stopping = 1;
                break;
            }
            if (np == 0) {
                /* Idle: prove the connection is alive, so that a silently
                 * dead one is found within a poll period. */
                res = PQexec(conn, "SELECT 1");
                ok = PQresultStatus(res) == PGRES_TUPLES_OK;
                PQclear(res);
                if (!ok)
                    break;
                dispatch(l, conn);
                continue;
            }
            if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
                break;
            dispatch(l, conn);
        }
        if (!stopping) {
            const char *why = PQerrorMessage(conn);
            if (!*why)
                why = "closed by the server";
            LOG_WARN("listen", "listen connection: lost (%.*s); reconnecting",
                     (int)strcspn(why, "\n"), why);
            was_down = 1;
        }
        pcd_pg_close(pc);
        if (stopping)
            break;
        if (wait_stop(l, backoff_ms(l, attempt++)))
            break;
    }
    return NULL;
}

int pcd_listen_start(const pcd_config *cfg, int stop_fd, pcd_notice_fn fn, void *ctx,
                     pcd_listen **out)
{
    pcd_listen *l = calloc(1, sizeof *l);
    if (!l)
        return PC_ENOMEM;
    l->cfg = cfg;
    l->stop_fd = stop_fd;
    l->fn = fn;
    l->ctx = ctx;
    l->rng = (uint64_t)pc_now_ms() | 1;
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
        free(l);
        return PC_ENOMEM;
    }
    *out = l;
    return PC_OK;
}

void pcd_listen_stop(pcd_listen *l)
{
    if (!l)
        return;
    pthread_join(l->thread, NULL);
    free(l);
}
