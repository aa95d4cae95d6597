/* pgdelta.c - fetching a delta's changed keys from PostgreSQL (the configured queries, filtered by key), validated and sorted. */
#include "pgdelta.h"

/* Owns: the per-key queries of a delta and their statements prepared per
 * connection (the owner of the connection keeps a pcd_delta_stmts beside
 * it).  May call: pgsource, delta, snapshot, validate, config, log. */

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pc_format.h"
#include "validate.h"

/* A growing text buffer for the key arrays. */
typedef struct tbuf {
    char  *p;
    size_t len, cap;
    int    bad;   /* out of memory */
} tbuf;

static void tb_put(tbuf *t, const char *s, size_t n)
{
    if (t->bad)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t ncap = (t->len + n + 1) * 2;
        char *np = realloc(t->p, ncap);
        if (!np) {
            t->bad = 1;
            return;
        }
        t->p = np;
        t->cap = ncap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

/* Append s as an element of a PostgreSQL array literal: quoted, with '"'
 * and '\' escaped, so any id round-trips. */
static void tb_elem(tbuf *t, const char *s)
{
    tb_put(t, t->len > 1 ? ",\"" : "\"", t->len > 1 ? 2 : 1);
    for (const char *q = s; *q; q++) {
        if (*q == '"' || *q == '\\')
            tb_put(t, "\\", 1);
        tb_put(t, q, 1);
    }
    tb_put(t, "\"", 1);
}

/* The keys as text[] literals: base items, or store ids and items side by
 * side.  An array (not JSON) because the planner sizes `= ANY(array)` and
 * unnest(array) by the array's length: a delta of one key is one index
 * probe, where a set-returning JSON function (estimated at 100 rows)
 * made it hash the whole chain: work proportional to the chain on every
 * one-row change.  0, or PC_ENOMEM. */
static int keys_arrays(const pcd_delta *d, int stores, tbuf *ids, tbuf *items, size_t *count)
{
    *count = 0;
    tb_put(ids, "{", 1);
    tb_put(items, "{", 1);
    for (size_t i = 0; i < d->n; i++) {
        const pcd_delta_key *k = &d->keys[i];
        if (!!k->store != stores)
            continue;
        if (stores)
            tb_elem(ids, k->store);
        tb_elem(items, k->item);
        (*count)++;
    }
    tb_put(ids, "}", 1);
    tb_put(items, "}", 1);
    return ids->bad || items->bad ? PC_ENOMEM : PC_OK;
}

static void first_line(char *err, size_t errlen, const char *what, const char *msg)
{
    snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(msg, "\n"), msg);
}

/* The result of the statement just sent, under the deadline and stop fd
 * of cx, cancelling it server-side when either fires. */
static PGresult *wait_result(PGconn *conn, const pcd_cancel *cx, int *rc, char *err,
                             size_t errlen)
{
    while (PQisBusy(conn)) {
        int64_t left = cx->deadline_ms - pc_mono_ms();
        struct pollfd pf[2] = { { PQsocket(conn), POLLIN, 0 }, { cx->stop_fd, POLLIN, 0 } };
        int np = left > 0 ? poll(pf, cx->stop_fd >= 0 ? 2 : 1, (int)(left > 1000 ? 1000 : left)) : 0;
        int stop = np > 0 && cx->stop_fd >= 0 && (pf[1].revents & POLLIN);
        if (stop || (np == 0 && pc_mono_ms() >= cx->deadline_ms)) {
            PGcancel *cn = PQgetCancel(conn);
            char cerr[256];
            if (cn) {
                PQcancel(cn, cerr, sizeof cerr);
                PQfreeCancel(cn);
            }
            PGresult *r;
            while ((r = PQgetResult(conn)) != NULL)
                PQclear(r);
            *rc = stop ? PC_ECANCELED : PC_ETIMEDOUT;
            snprintf(err, errlen, stop ? "cancelled by shutdown" : "deadline exceeded; query "
                     "cancelled on the server");
            return NULL;
        }
        if (np < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            *rc = PC_EDB;
            return NULL;
        }
        if (np > 0 && !PQconsumeInput(conn)) {
            first_line(err, errlen, "connection lost", PQerrorMessage(conn));
            *rc = PC_EDB;
            return NULL;
        }
    }
    PGresult *res = PQgetResult(conn), *extra;
    while ((extra = PQgetResult(conn)) != NULL)
        PQclear(extra);
    if (!res || (PQresultStatus(res) != PGRES_TUPLES_OK &&
                 PQresultStatus(res) != PGRES_COMMAND_OK)) {
        first_line(err, errlen, "query failed", res ? PQresultErrorMessage(res)
                                                    : PQerrorMessage(conn));
        PQclear(res);
        *rc = PC_EDB;
        return NULL;
    }
    *rc = PC_OK;
    return res;
}

void *pcd_pg_exec(pg_conn *c, const char *sql, int nparams, const char *const *params,
                  const pcd_cancel *cx, int *rc, char *err, size_t errlen)
{
    PGconn *conn = (PGconn *)c;
    if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
        first_line(err, errlen, "cannot send query", PQerrorMessage(conn));
        *rc = PC_EDB;
        return NULL;
    }
    return wait_result(conn, cx, rc, err, errlen);
}

/* ---- the delta's statements, prepared once per connection ---- */

static const char *const stmt_name[2] = { "pcd_delta_base", "pcd_delta_store" };

void pcd_delta_stmts_reset(pcd_delta_stmts *st)
{
    if (!st)
        return;
    for (int k = 0; k < 2; k++)
        free(st->sql[k]);
    memset(st, 0, sizeof *st);
}

/* Whether `sql` (a delta statement, the chain its last parameter) is
 * prepared on the connection as stmt_name[kind], preparing it if not: 1
 * yes, 0 no (run it as text: this connection cannot prepare it; said in
 * the debug log once), or PC_ETIMEDOUT/PC_ECANCELED/PC_EDB in *rc when the
 * connection failed.  The session's plan_cache_mode is set to
 * force_custom_plan first: a plan is still made for each delta's keys (so
 * `= ANY(array)` and unnest(array) are sized by the array, and the chain
 * is a constant to the planner, as the literal was), only the parse and
 * rewrite are saved.  A generic plan would size the arrays at a guess and
 * could scan the chain's rows for a one-key delta. */
static int stmt_ready(PGconn *conn, pcd_delta_stmts *st, int kind, const char *sql, int nparams,
                      const pcd_cancel *cx, int *rc, char *err, size_t errlen)
{
    *rc = PC_OK;
    if (st->state < 0 || st->text[kind])
        return 0;
    if (st->sql[kind] && strcmp(st->sql[kind], sql) == 0)
        return 1;
    char what[256];
    PGresult *res;
    if (st->state == 0) {
        res = pcd_pg_exec(conn, "SET plan_cache_mode = force_custom_plan", 0, NULL, cx, rc,
                          what, sizeof what);
        PQclear(res);
        if (*rc == PC_EDB && PQstatus(conn) == CONNECTION_OK &&
            PQtransactionStatus(conn) != PQTRANS_INERROR) {
            /* A server before PostgreSQL 12: text statements, as before. */
            LOG_DBG("load", "delta statements are not prepared on this connection (%s)", what);
            st->state = -1;
            return 0;
        }
        if (*rc != PC_OK) {
            snprintf(err, errlen, "%s", what);
            return 0;
        }
        st->state = 1;
    }
    if (st->sql[kind]) { /* another text under the name (a new configuration) */
        char dealloc[64];
        snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", stmt_name[kind]);
        res = pcd_pg_exec(conn, dealloc, 0, NULL, cx, rc, err, errlen);
        PQclear(res);
        free(st->sql[kind]);
        st->sql[kind] = NULL;
        if (*rc != PC_OK)
            return 0;
    }
    if (!PQsendPrepare(conn, stmt_name[kind], sql, nparams, NULL)) {
        first_line(err, errlen, "cannot send query", PQerrorMessage(conn));
        *rc = PC_EDB;
        return 0;
    }
    res = wait_result(conn, cx, rc, what, sizeof what);
    PQclear(res);
    if (*rc == PC_EDB && PQstatus(conn) == CONNECTION_OK) {
        /* The configured query does not prepare with the chain as a
         * parameter (its type cannot be told, or $1 is not used): the
         * chain goes in as a literal, in a text statement. */
        LOG_DBG("load", "the %s query's delta statement is not prepared (%s); sent as text",
                kind ? "store" : "base", what);
        st->text[kind] = 1;
        *rc = PC_OK;
        return 0;
    }
    if (*rc != PC_OK) {
        snprintf(err, errlen, "%s", what);
        return 0;
    }
    /* A parameter the query does not use is no parameter of the
     * statement (a query of one chain, without $1): the chain cannot go
     * in, so the statement goes out as text. */
    int nparams_got = -1;
    if (!PQsendDescribePrepared(conn, stmt_name[kind])) {
        first_line(err, errlen, "cannot send query", PQerrorMessage(conn));
        *rc = PC_EDB;
    } else if ((res = wait_result(conn, cx, rc, err, errlen)) != NULL) {
        nparams_got = PQnparams(res);
        PQclear(res);
    }
    if (*rc != PC_OK)
        return 0;
    if (nparams_got != nparams) {
        LOG_DBG("load", "the %s query's delta statement takes %d parameters, not %d (the "
                "query does not use $1); sent as text", kind ? "store" : "base", nparams_got,
                nparams);
        char dealloc[64];
        snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", stmt_name[kind]);
        PQclear(pcd_pg_exec(conn, dealloc, 0, NULL, cx, rc, err, errlen));
        st->text[kind] = 1;
        return 0;
    }
    st->sql[kind] = strdup(sql);
    return st->sql[kind] != NULL;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* Validate and add the rows of a fetch result. */
static int add_rows(PGresult *res, int is_store, pcd_snapshot *found, char *err, size_t errlen)
{
    int want = is_store ? 4 : 3;
    if (PQnfields(res) != want) {
        snprintf(err, errlen, "%s query returned %d columns, expected %d", is_store ? "store"
                 : "base", PQnfields(res), want);
        return PC_EDB;
    }
    int off = is_store ? 1 : 0;
    for (int r = 0; r < PQntuples(res); r++) {
        pcd_field store = { NULL, 0 }, item;
        if (is_store && !PQgetisnull(res, r, 0)) {
            store.data = PQgetvalue(res, r, 0);
            store.len = (size_t)PQgetlength(res, r, 0);
        }
        item.data = PQgetisnull(res, r, off) ? NULL : PQgetvalue(res, r, off);
        item.len = item.data ? (size_t)PQgetlength(res, r, off) : 0;
        int price_null = PQgetisnull(res, r, off + 1), ts_null = PQgetisnull(res, r, off + 2);
        int64_t cents = 0, ts = 0;
        if ((!price_null && parse_i64(PQgetvalue(res, r, off + 1), &cents)) ||
            (!ts_null && parse_i64(PQgetvalue(res, r, off + 2), &ts))) {
            snprintf(err, errlen, "unexpected number in the %s query's result",
                     is_store ? "store" : "base");
            return PC_EDB;
        }
        found->rows_seen++;
        int why = pcd_validate_row(is_store, store, item, price_null, cents, ts_null);
        if (why >= 0) {
            char sample[128];
            pcd_row_sample(sample, sizeof sample, is_store, store, item, price_null, cents);
            pcd_snapshot_reject(found, why, sample);
            continue;
        }
        int rc = pcd_snapshot_add(found, is_store ? store.data : NULL, store.len, item.data,
                                  item.len, cents, ts);
        if (rc != PC_OK) {
            snprintf(err, errlen, "out of memory");
            return rc;
        }
    }
    return PC_OK;
}

/* The delta statement of a kind (0 base, 1 store) around the configured
 * query, its chain `chain_sql` (a quoted literal, or the parameter that
 * follows the key arrays).  NULL on ENOMEM. */
static char *delta_sql(const pcd_config *cfg, int is_store, const char *chain_sql)
{
    char *q = pcd_sql_subst_chain(is_store ? cfg->store_query : cfg->base_query, chain_sql);
    char *sql = NULL;
    if (!q)
        return NULL;
    int n = is_store
        ? asprintf(&sql, "SELECT store_id::text, item_id::text, price_cents::bigint, "
                   PCD_SQL_EPOCH " FROM (%s\n) q "
                   "WHERE (store_id::text, item_id::text) IN "
                   "(SELECT * FROM unnest($1::text[], $2::text[])) "
                   "ORDER BY store_id::text COLLATE \"C\", item_id::text COLLATE \"C\", "
                   "q.updated_at DESC", q)
        : asprintf(&sql, "SELECT item_id::text, price_cents::bigint, "
                   PCD_SQL_EPOCH " FROM (%s\n) q "
                   "WHERE item_id::text = ANY($1::text[]) "
                   "ORDER BY item_id::text COLLATE \"C\", q.updated_at DESC", q);
    free(q);
    return n < 0 ? NULL : sql;
}

int pcd_pg_fetch_delta(pg_conn *c, const pcd_config *cfg, const char *chain,
                       const pcd_delta *d, pcd_delta_stmts *st, const pcd_cancel *cx,
                       pcd_snapshot *found, char *err, size_t errlen)
{
    PGconn *conn = (PGconn *)c;
    int rc = PC_OK;
    size_t nstore = 0;
    for (size_t i = 0; i < d->n; i++)
        nstore += d->keys[i].store != NULL;
    size_t count[2] = { d->n - nstore, nstore };
    /* Prepared statements first, outside the transaction below: a
     * statement that cannot be prepared must not abort it.  The chain is
     * the statement's last parameter, so one statement per kind serves
     * every chain. */
    int prepared[2] = { 0, 0 };
    for (int k = 0; k < 2 && st && rc == PC_OK; k++) {
        if (!count[k])
            continue;
        char *sql = delta_sql(cfg, k, k ? "$3" : "$2");
        if (!sql) {
            snprintf(err, errlen, "out of memory");
            return PC_ENOMEM;
        }
        char what[512] = "";
        prepared[k] = stmt_ready(conn, st, k, sql, k ? 3 : 2, cx, &rc, what, sizeof what);
        if (rc != PC_OK)
            snprintf(err, errlen, "chain %s: preparing the %s query's delta statement: %s",
                     chain, k ? "store" : "base", what);
        free(sql);
    }
    if (rc != PC_OK)
        return rc;
    char *lit = NULL;
    if ((count[0] && !prepared[0]) || (count[1] && !prepared[1])) {
        lit = PQescapeLiteral(conn, chain, strlen(chain));
        if (!lit) {
            first_line(err, errlen, "cannot quote the chain", PQerrorMessage(conn));
            return PC_EDB;
        }
    }
    /* Both kinds of keys are read in one snapshot; one statement alone is
     * one snapshot already, and saves two round trips on the delta path. */
    int txn = nstore > 0 && nstore < d->n;
    PGresult *res = NULL;
    if (txn)
        res = pcd_pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                            cx, &rc, err, errlen);
    PQclear(res);
    for (int is_store = 0; is_store < 2 && rc == PC_OK; is_store++) {
        if (!count[is_store])
            continue;
        size_t n;
        tbuf ids = { 0 }, items = { 0 };
        int arc = keys_arrays(d, is_store, &ids, &items, &n);
        char *sql = prepared[is_store] ? NULL : delta_sql(cfg, is_store, lit);
        if (arc != PC_OK || (!prepared[is_store] && !sql)) {
            snprintf(err, errlen, "out of memory");
            rc = PC_ENOMEM;
        } else {
            char what[512];
            /* The key arrays, then the chain (prepared statements only). */
            const char *params[3] = { is_store ? ids.p : items.p, is_store ? items.p : chain,
                                      chain };
            int np = is_store ? 2 : 1;
            if (!prepared[is_store]) {
                res = pcd_pg_exec(conn, sql, np, params, cx, &rc, what, sizeof what);
            } else if (!PQsendQueryPrepared(conn, stmt_name[is_store], np + 1, params, NULL,
                                            NULL, 0)) {
                first_line(what, sizeof what, "cannot send query", PQerrorMessage(conn));
                rc = PC_EDB;
                res = NULL;
            } else {
                res = wait_result(conn, cx, &rc, what, sizeof what);
            }
            if (res)
                rc = add_rows(res, is_store, found, what, sizeof what);
            if (rc != PC_OK)
                snprintf(err, errlen, "chain %s: %s query for %zu changed keys: %s", chain,
                         is_store ? "store" : "base", n, what);
            PQclear(res);
        }
        free(sql);
        free(ids.p);
        free(items.p);
    }
    if (rc == PC_OK && txn) {
        char what[256];
        res = pcd_pg_exec(conn, "COMMIT", 0, NULL, cx, &rc, what, sizeof what);
        PQclear(res);
    } else if (rc != PC_OK && PQstatus(conn) == CONNECTION_OK &&
               PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
    PQfreemem(lit);
    if (rc == PC_OK)
        rc = pcd_snapshot_finish(found);
    return rc;
}
