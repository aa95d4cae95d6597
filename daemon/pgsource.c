/* pgsource.c - reading chains from PostgreSQL with libpq: connect, list active chains, stream a chain with COPY BINARY. */
#include "pgsource.h"

/* Owns: libpq connections, statements under a deadline with server-side
 * cancel, the chains listing and a chain's COPY.  May call: pgcopy, dsn,
 * snapshot, validate, config, log. */

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "log.h"
#include "pc_format.h"
#include "pgcopy.h"

static void on_notice(void *arg, const char *msg);

/* ---- errors: the single place that turns libpq's messages into ours ---- */

static void pg_err(char *err, size_t errlen, const char *what, const char *msg)
{
    if (!msg || !*msg)
        msg = "no message";
    snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(msg, "\n"), msg);
}

/* ---- connecting ---- */

static int dsn_has(PQconninfoOption *opts, const char *key)
{
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            return o->val && *o->val;
    return 0;
}

/* libpq of PostgreSQL 12 and later knows tcp_user_timeout; an older one
 * refuses a connection string naming an option it does not know. */
static int libpq_knows(const char *key)
{
    PQconninfoOption *all = PQconndefaults();
    int found = 0;
    for (PQconninfoOption *o = all; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            found = 1;
    PQconninfoFree(all);
    return found;
}

/* Connect with cfg->dsn plus `defaults` (key, value pairs) wherever the
 * DSN does not set the key itself. */
static int connect_with(const char *dsn, const char *const (*defaults)[2], size_t ndef,
                        pg_conn **out, char *err, size_t errlen)
{
    *out = NULL;
    char *perr = NULL;
    PQconninfoOption *given = PQconninfoParse(dsn, &perr);
    if (!given) {
        /* libpq's parse message quotes the offending part, and a malformed
         * URI whole, password included: scrub it. */
        pg_err(err, errlen, "invalid [database] dsn", perr ? perr : "cannot parse");
        pcd_dsn_scrub(dsn, err);
        PQfreemem(perr);
        return PC_EDB;
    }
    const char *keys[24], *vals[24];
    size_t n = 0;
    keys[n] = "dbname";
    vals[n++] = dsn; /* expanded by expand_dbname */
    for (size_t i = 0; i < ndef && n + 1 < sizeof keys / sizeof keys[0]; i++)
        if (!dsn_has(given, defaults[i][0])) {
            keys[n] = defaults[i][0];
            vals[n++] = defaults[i][1];
        }
    keys[n] = NULL;
    vals[n] = NULL;
    PQconninfoFree(given);

    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        snprintf(err, errlen, "cannot connect: out of memory");
        return PC_ENOMEM;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        pg_err(err, errlen, "cannot connect", PQerrorMessage(conn));
        pcd_dsn_scrub(dsn, err);
        PQfinish(conn);
        return PC_EDB;
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    *out = conn;
    return PC_OK;
}

int pcd_pg_connect(const pcd_config *cfg, pg_conn **out, char *err, size_t errlen)
{
    return pcd_pg_connect_dsn(cfg, cfg->dsn, out, err, errlen);
}

int pcd_pg_connect_dsn(const pcd_config *cfg, const char *dsn, pg_conn **out, char *err,
                       size_t errlen)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", cfg->connect_timeout_s);
    /* Defaults the DSN may override: deadlines and keepalives everywhere. */
    const char *const defaults[][2] = {
        { "connect_timeout", timeout }, { "keepalives", "1" }, { "keepalives_idle", "30" },
        { "keepalives_interval", "10" }, { "keepalives_count", "3" },
        { "application_name", "pricecached" },
    };
    return connect_with(dsn, defaults, sizeof defaults / sizeof defaults[0], out, err, errlen);
}

int pcd_pg_connect_watch(const pcd_config *cfg, pg_conn **out, char *err, size_t errlen)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", cfg->connect_timeout_s);
    /* The connection that watches the database: the kernel gives up on a
     * peer that stops answering after about 5 s instead of the usual
     * minutes (keepalives 2 s idle, every 1 s, 3 probes; unacknowledged
     * data for 5 s).  Over TCP only; the round trips of dbwatch.h catch a
     * frozen server on any transport. */
    const char *const defaults[][2] = {
        { "connect_timeout", timeout }, { "keepalives", "1" }, { "keepalives_idle", "2" },
        { "keepalives_interval", "1" }, { "keepalives_count", "3" },
        { "application_name", "pricecached" }, { "tcp_user_timeout", "5000" },
    };
    size_t n = sizeof defaults / sizeof defaults[0];
    static int has_user_timeout = -1; /* only the listener thread connects so */
    if (has_user_timeout < 0)
        has_user_timeout = libpq_knows("tcp_user_timeout");
    if (!has_user_timeout)
        n--; /* the last entry */
    return connect_with(cfg->dsn, defaults, n, out, err, errlen);
}

/* Server notices (e.g. "relation already exists, skipping") are not ours
 * to print on stderr: they go to the log, at debug level. */
static void on_notice(void *arg, const char *msg)
{
    (void)arg;
    LOG_DBG("db", "server notice: %.*s", (int)strcspn(msg, "\n"), msg);
}

void pcd_pg_close(pg_conn *c)
{
    if (c)
        PQfinish(c);
}

int pcd_pg_ok(pg_conn *c)
{
    return c && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
}

/* ---- SQL text ---- */

char *pcd_sql_subst_chain(const char *query, const char *quoted)
{
    size_t qlen = strlen(quoted), n = 0;
    for (const char *p = query; *p; p++)
        if (*p == '$')
            n++;
    char *out = malloc(strlen(query) + n * qlen + 1);
    if (!out)
        return NULL;
    char *o = out;
    char in = 0; /* the quote we are inside of: ' or ", or 0 */
    for (const char *p = query; *p; p++) {
        if (in) {
            *o++ = *p;
            if (*p == in) {
                if (p[1] == in)      /* doubled quote inside the string */
                    *o++ = *++p;
                else
                    in = 0;
            }
            continue;
        }
        if (*p == '\'' || *p == '"') {
            in = *p;
            *o++ = *p;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            /* a block comment is kept as it is: a "--" inside it is not a
             * line comment */
            const char *end = strstr(p + 2, "*/");
            size_t clen = end ? (size_t)(end + 2 - p) : strlen(p);
            memcpy(o, p, clen);
            o += clen;
            p += clen - 1;
            continue;
        }
        if (p[0] == '-' && p[1] == '-') {
            /* A line comment is dropped: a quote or $1 in it means
             * nothing, and "...$1; -- note" must end in ';' to be cut. */
            while (p[1] && p[1] != '\n')
                p++;
            continue;
        }
        if (p[0] == '$' && p[1] == '1' && !(p[2] >= '0' && p[2] <= '9')) {
            memcpy(o, quoted, qlen);
            o += qlen;
            p++;
            continue;
        }
        *o++ = *p;
    }
    /* The query is wrapped as a subquery: a trailing ';' (as one writes
     * a query in psql) would be a syntax error there. */
    while (o > out && (o[-1] == ';' || o[-1] == ' ' || o[-1] == '\t' || o[-1] == '\n' ||
                       o[-1] == '\r'))
        o--;
    *o = 0;
    return out;
}

char *pcd_pg_copy_sql(pg_conn *c, const char *query, const char *chain, int is_store)
{
    char *lit = PQescapeLiteral(c, chain, strlen(chain));
    if (!lit)
        return NULL;
    char *q = pcd_sql_subst_chain(query, lit);
    PQfreemem(lit);
    if (!q)
        return NULL;
    char *sql = NULL;
    int n = is_store
        ? asprintf(&sql, "COPY (SELECT store_id::text, item_id::text, price_cents::bigint, "
                   PCD_SQL_EPOCH " FROM (%s\n) q "
                   "ORDER BY store_id::text COLLATE \"C\", item_id::text COLLATE \"C\", "
                   "q.updated_at DESC) TO STDOUT (FORMAT binary)", q)
        : asprintf(&sql, "COPY (SELECT item_id::text, price_cents::bigint, "
                   PCD_SQL_EPOCH " FROM (%s\n) q "
                   "ORDER BY item_id::text COLLATE \"C\", q.updated_at DESC) "
                   "TO STDOUT (FORMAT binary)", q);
    free(q);
    return n < 0 ? NULL : sql;
}

/* 42P01 undefined_table: the source schema is missing, most likely never
 * applied; say how to apply it. */
static void table_hint(const PGresult *res, char *err, size_t errlen)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    size_t n = strlen(err);
    if (state && strcmp(state, "42P01") == 0)
        snprintf(err + n, errlen - n, " (is the schema applied? pricecached -c FILE --migrate)");
}

void pcd_pg_column_hint(const void *result, int is_store, char *err, size_t errlen)
{
    table_hint(result, err, errlen);
    const char *state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    /* 42703 undefined_column, 42883 undefined_function (extract() or
     * isfinite() of a column that is not a timestamp) */
    if (!state || (strcmp(state, "42703") != 0 && strcmp(state, "42883") != 0))
        return;
    size_t n = strlen(err);
    snprintf(err + n, errlen - n, " (the %s query must return the columns %s)",
             is_store ? "store" : "base",
             is_store ? "store_id text, item_id text, price_cents bigint, updated_at timestamptz"
                      : "item_id text, price_cents bigint, updated_at timestamptz");
}

/* ---- running statements under a deadline ---- */

/* Wait until the connection has input or a deadline/stop fires.
 * PC_OK, PC_ETIMEDOUT, PC_ECANCELED, PC_EDB. */
static int wait_input(PGconn *conn, const pcd_cancel *cx)
{
    for (;;) {
        int64_t left = cx->deadline_ms - pc_mono_ms();
        if (left <= 0)
            return PC_ETIMEDOUT;
        struct pollfd pf[2] = { { PQsocket(conn), POLLIN, 0 }, { cx->stop_fd, POLLIN, 0 } };
        int np = poll(pf, cx->stop_fd >= 0 ? 2 : 1, (int)(left > 1000 ? 1000 : left));
        if (np < 0) {
            if (errno == EINTR)
                continue;
            return PC_EDB;
        }
        if (np > 0 && cx->stop_fd >= 0 && (pf[1].revents & POLLIN))
            return PC_ECANCELED;
        if (np > 0)
            return PQconsumeInput(conn) ? PC_OK : PC_EDB;
    }
}

/* Cancel the running statement on the server and drain what is left, so
 * that nothing of ours keeps running and the connection is reusable. */
static void cancel_running(PGconn *conn)
{
    PGcancel *cn = PQgetCancel(conn);
    if (cn) {
        char cerr[256];
        if (!PQcancel(cn, cerr, sizeof cerr))
            LOG_WARN("db", "cancel request failed: %s", cerr);
        PQfreeCancel(cn);
    }
    /* Drain: after a cancel the server ends the statement quickly. */
    PGresult *r;
    char *buf;
    while (PQgetCopyData(conn, &buf, 0) > 0)
        PQfreemem(buf);
    /* libpq hands out a fresh COPY result for as long as it believes a
     * COPY is running: stop there, the caller drops such a connection. */
    while ((r = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
            break;
    }
}

static int fail_wait(PGconn *conn, int rc, const pcd_cancel *cx, const char *what,
                     char *err, size_t errlen, int timeout_s)
{
    (void)cx;
    if (rc == PC_ETIMEDOUT) {
        cancel_running(conn);
        snprintf(err, errlen, "%s: load deadline of %d s exceeded; query cancelled on the "
                 "server", what, timeout_s);
    } else if (rc == PC_ECANCELED) {
        cancel_running(conn);
        snprintf(err, errlen, "%s: cancelled by shutdown", what);
    } else {
        pg_err(err, errlen, what, PQerrorMessage(conn));
    }
    return rc;
}

/* Send a plain statement and wait for its result within the deadline. */
static PGresult *exec_wait(PGconn *conn, const char *sql, const pcd_cancel *cx, int timeout_s,
                           const char *what, int *rc, char *err, size_t errlen)
{
    if (!PQsendQuery(conn, sql)) {
        pg_err(err, errlen, what, PQerrorMessage(conn));
        *rc = PC_EDB;
        return NULL;
    }
    while (PQisBusy(conn)) {
        int w = wait_input(conn, cx);
        if (w != PC_OK) {
            *rc = fail_wait(conn, w, cx, what, err, errlen, timeout_s);
            return NULL;
        }
    }
    PGresult *res = PQgetResult(conn), *extra;
    while ((extra = PQgetResult(conn)) != NULL)
        PQclear(extra);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        pg_err(err, errlen, what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        table_hint(res, err, errlen);
        PQclear(res);
        *rc = PC_EDB;
        return NULL;
    }
    *rc = PC_OK;
    return res;
}

int pcd_pg_active_chains(pg_conn *c, const pcd_config *cfg, const pcd_cancel *cx,
                         char ***slugs, size_t *n, char ***bad, size_t *nbad,
                         char *err, size_t errlen)
{
    *slugs = *bad = NULL;
    *n = *nbad = 0;
    int rc;
    PGresult *res = exec_wait(c, cfg->chains_query, cx, cfg->timeout_s, "chains query",
                              &rc, err, errlen);
    if (!res)
        return rc;
    if (PQnfields(res) != 1) {
        snprintf(err, errlen, "chains query: returned %d columns, expected 1 (slug)",
                 PQnfields(res));
        PQclear(res);
        return PC_EDB;
    }
    int rows = PQntuples(res);
    char **good = calloc((size_t)rows + 1, sizeof *good);
    char **wrong = calloc((size_t)rows + 1, sizeof *wrong);
    if (!good || !wrong) {
        free(good);
        free(wrong);
        PQclear(res);
        snprintf(err, errlen, "chains query: out of memory");
        return PC_ENOMEM;
    }
    size_t ng = 0, nw = 0;
    for (int r = 0; r < rows; r++) {
        const char *v = PQgetisnull(res, r, 0) ? "(null)" : PQgetvalue(res, r, 0);
        size_t len = strlen(v);
        char *dup = strdup(v);
        if (!dup)
            continue;
        int dupe = 0;
        for (size_t i = 0; i < ng; i++)
            if (strcmp(good[i], v) == 0)
                dupe = 1;
        if (dupe)
            free(dup);
        else if (!PQgetisnull(res, r, 0) && pc_slug_valid(v, len))
            good[ng++] = dup;
        else
            wrong[nw++] = dup;
    }
    PQclear(res);
    *slugs = good;
    *n = ng;
    *bad = wrong;
    *nbad = nw;
    return PC_OK;
}

/* ---- loading a chain ---- */

typedef struct load_ctx {
    pcd_snapshot *snap;
    int           is_store;
    int           bad_columns;
} load_ctx;

static int on_row(void *arg, int nf, const pcd_field *f)
{
    load_ctx *lc = arg;
    int want = lc->is_store ? 4 : 3;
    if (nf != want) {
        lc->bad_columns = nf;
        return PC_EDB;
    }
    int off = lc->is_store ? 1 : 0;
    pcd_field store = lc->is_store ? f[0] : (pcd_field){ NULL, 0 };
    pcd_field item = f[off];
    int64_t cents = 0, ts = 0;
    int price_null = f[off + 1].data == NULL, ts_null = f[off + 2].data == NULL;
    if ((!price_null && pcd_copy_i64(&f[off + 1], &cents)) ||
        (!ts_null && pcd_copy_i64(&f[off + 2], &ts))) {
        lc->bad_columns = -1;
        return PC_EDB;
    }
    lc->snap->rows_seen++;
    int why = pcd_validate_row(lc->is_store, store, item, price_null, cents, ts_null);
    if (why >= 0) {
        char sample[128];
        pcd_row_sample(sample, sizeof sample, lc->is_store, store, item, price_null, cents);
        pcd_snapshot_reject(lc->snap, why, sample);
        return 0;
    }
    return pcd_snapshot_add(lc->snap, lc->is_store ? store.data : NULL, store.len,
                            item.data, item.len, cents, ts) == PC_OK ? 0 : PC_ENOMEM;
}

static int copy_one(PGconn *conn, const pcd_config *cfg, const char *chain, int is_store,
                    const pcd_cancel *cx, pcd_snapshot *snap, char *err, size_t errlen)
{
    const char *what = is_store ? "store query" : "base query";
    char *sql = pcd_pg_copy_sql(conn, is_store ? cfg->store_query : cfg->base_query, chain,
                                is_store);
    if (!sql) {
        snprintf(err, errlen, "%s: out of memory", what);
        return PC_ENOMEM;
    }
    int rc = PQsendQuery(conn, sql) ? PC_OK : PC_EDB;
    free(sql);
    if (rc != PC_OK) {
        pg_err(err, errlen, what, PQerrorMessage(conn));
        return rc;
    }
    /* Wait for COPY OUT to start (or for the error). */
    PGresult *res = NULL;
    for (;;) {
        while (PQisBusy(conn)) {
            int w = wait_input(conn, cx);
            if (w != PC_OK)
                return fail_wait(conn, w, cx, what, err, errlen, cfg->timeout_s);
        }
        res = PQgetResult(conn);
        break;
    }
    if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
        pg_err(err, errlen, what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        pcd_pg_column_hint(res, is_store, err, errlen);
        PQclear(res);
        while ((res = PQgetResult(conn)) != NULL)
            PQclear(res);
        return PC_EDB;
    }
    PQclear(res);

    load_ctx lc = { snap, is_store, 0 };
    pcd_copy_parser cp;
    pcd_copy_init(&cp, on_row, &lc);
    char perr[256] = "";
    rc = PC_OK;
    for (;;) {
        char *buf;
        int n = PQgetCopyData(conn, &buf, 1);
        if (n > 0) {
            rc = pcd_copy_feed(&cp, buf, (size_t)n, perr, sizeof perr);
            PQfreemem(buf);
            if (rc != PC_OK)
                break;
            if (pc_mono_ms() >= cx->deadline_ms) {
                rc = PC_ETIMEDOUT;
                break;
            }
            continue;
        }
        if (n == 0) {
            int w = wait_input(conn, cx);
            if (w != PC_OK) {
                rc = w;
                break;
            }
            continue;
        }
        if (n == -1)
            break; /* COPY done; the final result follows */
        rc = PC_EDB;
        pg_err(perr, sizeof perr, "reading COPY data", PQerrorMessage(conn));
        break;
    }
    if (rc == PC_ETIMEDOUT || rc == PC_ECANCELED) {
        pcd_copy_free(&cp);
        return fail_wait(conn, rc, cx, what, err, errlen, cfg->timeout_s);
    }
    if (rc != PC_OK) {
        pcd_copy_free(&cp);
        if (lc.bad_columns > 0)
            snprintf(err, errlen, "chain %s: %s returned %d columns, expected %d (%s)", chain,
                     what, lc.bad_columns, is_store ? 4 : 3,
                     is_store ? "store_id, item_id, price_cents, updated_at"
                              : "item_id, price_cents, updated_at");
        else if (rc == PC_ENOMEM)
            snprintf(err, errlen, "chain %s: %s: out of memory", chain, what);
        else
            snprintf(err, errlen, "chain %s: %s: %s", chain, what, perr);
        cancel_running(conn);
        return rc == PC_ENOMEM ? PC_ENOMEM : PC_EDB;
    }
    /* The final status tells whether the server finished the COPY. */
    int failed = 0;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && !failed) {
            failed = 1;
            char what2[128];
            snprintf(what2, sizeof what2, "chain %s: %s", chain, what);
            pg_err(err, errlen, what2, PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    if (!failed && pcd_copy_end(&cp, perr, sizeof perr) != PC_OK) {
        failed = 1;
        snprintf(err, errlen, "chain %s: %s: %s", chain, what, perr);
    }
    pcd_copy_free(&cp);
    return failed ? PC_EDB : PC_OK;
}

int pcd_pg_load_chain(pg_conn *c, const pcd_config *cfg, const char *chain,
                      const pcd_cancel *cx, pcd_snapshot *snap, char *err, size_t errlen)
{
    int rc;
    char what[128];
    snprintf(what, sizeof what, "chain %s: begin", chain);
    /* One database snapshot for base and store rows. */
    PGresult *res = exec_wait(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", cx,
                              cfg->timeout_s, what, &rc, err, errlen);
    if (!res)
        return rc;
    PQclear(res);
    rc = copy_one(c, cfg, chain, 0, cx, snap, err, errlen);
    if (rc == PC_OK)
        rc = copy_one(c, cfg, chain, 1, cx, snap, err, errlen);
    if (rc == PC_OK) {
        snprintf(what, sizeof what, "chain %s: commit", chain);
        res = exec_wait(c, "COMMIT", cx, cfg->timeout_s, what, &rc, err, errlen);
        PQclear(res);
    } else if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE &&
               PQtransactionStatus(c) != PQTRANS_ACTIVE) {
        PQclear(PQexec(c, "ROLLBACK"));
    }
    if (rc == PC_OK)
        rc = pcd_snapshot_finish(snap);
    return rc;
}
