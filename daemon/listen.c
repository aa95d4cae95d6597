/* listen.c - LISTEN on the primary for the NOTIFYs of the source tables' triggers. */
#include "listen.h"

/* Owns: the LISTEN connection and thread, notice parsing, reconnects, and
 * the continuous check of the database on that connection.  Notices and
 * the database's reachability go out through callbacks.  May call:
 * pgsource, dbwatch, config, log. */

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbwatch.h"
#include "log.h"
#include "pc_format.h"
#include "pgreplica.h"
#include "pgsource.h"
#include "sources.h"
#include "snapshot.h"

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
    pcd_dbstate_fn    on_db;
    void             *ctx;
    pcd_sources      *src;   /* the primary's WAL position goes there; NULL: none */
    uint64_t          rng;
};

/* Wait up to ms for stop_fd; 1 when stopping. */
static int wait_stop(pcd_listen *l, int ms)
{
    struct pollfd pf = { l->stop_fd, POLLIN, 0 };
    return poll(&pf, 1, ms) > 0;
}

static void dispatch(pcd_listen *l, PGconn *conn)
{
    PGnotify *n;
    uint64_t at = 0; /* read off the socket by the PQconsumeInput just before */
    while ((n = PQnotifies(conn)) != NULL) {
        if (!at)
            at = pcd_mono_us();
        /* Large: kept off the stack of a thread with a default-sized one. */
        static __thread pcd_notice nt;
        static __thread char buf[16384];
        /* Counted before the engine hears of it: a read that covers this
         * notice waits for a position read after it (sources.h). */
        pcd_sources_noticed(l->src);
        if (pcd_notice_parse(n->extra, &nt, buf, sizeof buf) == PC_OK && nt.table) {
            nt.recv_us = at;
            l->fn(l->ctx, &nt);
        } else {
            LOG_WARN("listen", "notification on %s: cannot decode payload \"%.200s\"; "
                     "resynchronising every chain", n->relname, n->extra);
            l->fn(l->ctx, NULL);
        }
        PQfreemem(n);
    }
}

/* How a connection's life ended. */
enum { END_STOP, END_LOST, END_SILENT, END_REFUSED };

/* libpq's message for the connection, first line, or `dflt`. */
static void conn_why(PGconn *conn, const char *dflt, char *why, size_t len)
{
    const char *m = PQerrorMessage(conn);
    if (!m || !*m)
        m = dflt;
    snprintf(why, len, "%.*s", (int)strcspn(m, "\n"), m);
}

/* The statement of every round trip.  LISTEN again on a channel the
 * session already listens on does nothing but answer; unlike SELECT 1 it
 * leaves pg_stat_activity.query naming the connection for what it is, so
 * an operator (and a scenario) still finds the listener there. */
#define ROUND_TRIP "LISTEN " PCD_NOTIFY_CHANNEL
/* With replicas, each round trip also reads the primary's WAL position:
 * their lag is measured against it, and a read after a notification waits
 * until a replica has replayed it (read-your-writes).  On this connection,
 * so that the primary sees no other in steady state. */
#define ROUND_TRIP_LSN ROUND_TRIP "; SELECT pg_current_wal_lsn()::text"

/* One connection's life, all of it without blocking: LISTEN, then the
 * notices as they come and a round trip every second, each with its
 * deadline (dbwatch.h).  `listening` is called once LISTEN is in force.
 * Returns END_* with the cause in why. */
static int serve(pcd_listen *l, PGconn *conn, void (*listening)(pcd_listen *, void *),
                 void *arg, char *why, size_t len)
{
    pcd_dbwatch w;
    int listen_ok = 0;
    uint64_t lsn = 0, lsn_seq = 0;
    int lsn_got = 0;
    if (PQsetnonblocking(conn, 1) != 0 || !PQsendQuery(conn, ROUND_TRIP)) {
        conn_why(conn, "cannot send LISTEN", why, len);
        return END_LOST;
    }
    pcd_dbwatch_init(&w, pc_mono_ms());
    pcd_dbwatch_sent(&w, pc_mono_ms()); /* LISTEN is the first round trip */
    for (;;) {
        int64_t now = pc_mono_ms();
        if (pcd_dbwatch_expired(&w, now)) {
            snprintf(why, len, "no answer to a round trip within %.1f s (server frozen, or "
                     "the network drops packets)", PCD_DBWATCH_DEADLINE_MS / 1000.0);
            return END_SILENT;
        }
        int lsn_wait = 1000;
        int lsn_due = listen_ok && pcd_sources_lsn_due(l->src, now, &lsn_wait);
        if (listen_ok && !w.outstanding && (pcd_dbwatch_due(&w, now) || lsn_due)) {
            int with_lsn = pcd_sources_replicated(l->src);
            if (!PQsendQuery(conn, with_lsn ? ROUND_TRIP_LSN : ROUND_TRIP)) {
                conn_why(conn, "cannot send a round trip", why, len);
                return END_LOST;
            }
            if (with_lsn)
                lsn_seq = pcd_sources_lsn_sent(l->src, now);
            lsn_got = 0;
            pcd_dbwatch_sent(&w, now);
        }
        int pending = PQflush(conn);
        if (pending < 0) {
            conn_why(conn, "cannot send", why, len);
            return END_LOST;
        }
        struct pollfd pf[2] = { { PQsocket(conn), (short)(POLLIN | (pending ? POLLOUT : 0)), 0 },
                                { l->stop_fd, POLLIN, 0 } };
        int wait = pcd_dbwatch_wait_ms(&w, now);
        if (listen_ok && !w.outstanding && lsn_wait < wait)
            wait = lsn_wait < 0 ? 0 : lsn_wait;
        int np = poll(pf, 2, wait);
        if (np < 0 && errno != EINTR) {
            snprintf(why, len, "poll: %s", strerror(errno));
            return END_LOST;
        }
        if (np > 0 && (pf[1].revents & POLLIN))
            return END_STOP;
        if (np <= 0 || !(pf[0].revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
        if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
            conn_why(conn, "closed by the server", why, len);
            return END_LOST;
        }
        dispatch(l, conn);
        while (w.outstanding && !PQisBusy(conn)) {
            PGresult *res = PQgetResult(conn);
            if (!res) { /* the round trip is complete */
                pcd_dbwatch_answered(&w, pc_mono_ms());
                if (lsn_got)
                    pcd_sources_primary_lsn(l->src, lsn, lsn_seq);
                lsn_got = 0;
                if (!listen_ok) {
                    listen_ok = 1;
                    listening(l, arg);
                }
                break;
            }
            if (PQresultStatus(res) == PGRES_TUPLES_OK) {
                /* pg_current_wal_lsn() */
                lsn_got = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
                          pcd_lsn_parse(PQgetvalue(res, 0, 0), &lsn) == 0;
            } else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                const char *m = PQresultErrorMessage(res);
                snprintf(why, len, "%s failed: %.*s", listen_ok ? "round trip" : "LISTEN",
                         (int)strcspn(m, "\n"), m);
                PQclear(res);
                return listen_ok ? END_LOST : END_REFUSED;
            }
            PQclear(res);
        }
        dispatch(l, conn); /* notices that came with the answer */
    }
}

typedef struct life {
    int resync;   /* notices may have been lost: resynchronise once listening */
    int listened; /* this connection reached LISTEN */
} life;

static void on_listening(pcd_listen *l, void *arg)
{
    life *lf = arg;
    lf->listened = 1;
    LOG_INFO("listen", "listen connection: listening on \"%s\"%s", PCD_NOTIFY_CHANNEL,
             lf->resync ? " again; resynchronising every chain" : "");
    /* Up first: coming back from an outage makes the engine renew its
     * connections, and the resync below must not list chains on one of
     * before.  NOTIFYs sent while we were not listening are lost for
     * good: every reconnect is followed by a full resync. */
    l->on_db(l->ctx, 1, "");
    if (lf->resync) {
        pcd_sources_noticed(l->src); /* the resync's loads see the new primary's position */
        l->fn(l->ctx, NULL);
    }
    lf->resync = 0;
}

static void *listen_main(void *arg)
{
    pcd_listen *l = arg;
    int attempt = 0;
    int logged = 0;   /* "cannot connect" said once per outage */
    int at_once = 0;  /* the server closed a good connection: retry without waiting */
    life lf = { 0, 0 };
    for (;;) {
        if (!at_once && attempt > 0 && wait_stop(l, pcd_dbwatch_backoff_ms(attempt - 1, &l->rng)))
            break;
        int quick = at_once;
        at_once = 0;
        if (wait_stop(l, 0))
            break;
        char err[512];
        pg_conn *pc = NULL;
        if (pcd_pg_connect_watch(l->cfg, &pc, err, sizeof err) != PC_OK) {
            if (!logged)
                LOG_WARN("listen", "listen connection: cannot connect (%s); retrying", err);
            logged = 1;
            lf.resync = 1;
            l->on_db(l->ctx, 0, err);
            attempt = quick ? 1 : attempt + 1;
            continue;
        }
        logged = 0;
        lf.listened = 0;
        char why[512] = "";
        int end = serve(l, (PGconn *)pc, on_listening, &lf, why, sizeof why);
        pcd_pg_close(pc);
        if (end == END_STOP)
            break;
        if (lf.listened)
            attempt = 0; /* the outage, if this is one, starts now */
        lf.resync = 1;
        if (end == END_REFUSED) {
            LOG_WARN("listen", "listen connection: %s", why);
            l->on_db(l->ctx, 0, why);
            attempt++;
        } else if (end == END_SILENT || !lf.listened) {
            /* A frozen server: a reconnect would wait for connect_timeout;
             * say so now.  A connection lost before LISTEN was in force:
             * no second chance at once either. */
            LOG_WARN("listen", "listen connection: lost (%s); reconnecting", why);
            l->on_db(l->ctx, 0, why);
            attempt++;
        } else {
            /* The server closed a listening connection (terminated backend,
             * shutdown, restart): one reconnect at once tells a killed
             * backend (the database is fine) from a database going away. */
            LOG_WARN("listen", "listen connection: lost (%s); reconnecting", why);
            at_once = 1;
            attempt = 0;
        }
    }
    return NULL;
}

int pcd_listen_start(const pcd_config *cfg, int stop_fd, pcd_notice_fn fn, pcd_dbstate_fn on_db,
                     void *ctx, pcd_sources *src, pcd_listen **out)
{
    pcd_listen *l = calloc(1, sizeof *l);
    if (!l)
        return PC_ENOMEM;
    l->cfg = cfg;
    l->stop_fd = stop_fd;
    l->fn = fn;
    l->on_db = on_db;
    l->ctx = ctx;
    l->src = src;
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
