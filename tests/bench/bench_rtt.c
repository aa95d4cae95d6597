/* bench_rtt.c - pc_get beside one round trip to Redis and to PostgreSQL for the same lookup, in one run.
 *
 *   bench_rtt DIR CHAIN PG_CONNINFO REDIS_SOCKET
 *
 * The claim checked: reading a price in-process is tens of times faster
 * than asking a server on the same machine.  Every lookup has pc_get's
 * semantics (the store's exception, else the chain's base price) and costs
 * each server exactly one round trip over its unix socket, on one
 * connection, nothing pipelined:
 *   - PostgreSQL: one prepared statement (PQexecPrepared, binary result)
 *     COALESCE(exception, base) on the source tables' primary keys;
 *   - Redis: one MGET of "chain:store:item" and "chain::item", the first
 *     non-nil wins.  Redis is loaded here from PostgreSQL (COPY, pipelined
 *     SETs) with the cents only; pc_get also returns updated_at and flags.
 * Before timing, a sample of lookups is answered by all three and must
 * agree.  Rounds rotate the order of the three so machine noise hits each;
 * wall time (a round trip is mostly waiting), medians reported. */
#include <endian.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_keys.h"

typedef bk_lookup lookup;

static const char *chain;
static lookup *lk;
static size_t nlk;
static pc_reader *reader;
static PGconn *pg;
static redisContext *rd;
static volatile int64_t sink;

enum { B_PC, B_REDIS, B_PG, NBACK };
static const char *const back_name[NBACK] = { "pc_get", "Redis", "PostgreSQL" };

/* One lookup; 0 and the cents, or -1 after printing what failed. */
static int get_pc(const lookup *l, int64_t *cents)
{
    pc_price p;
    int rc = pc_get(reader, chain, l->store, l->item, &p);
    if (rc != PC_OK) {
        fprintf(stderr, "bench_rtt: pc_get %s/%s: %s\n", l->store, l->item, pc_strerror(rc));
        return -1;
    }
    *cents = p.cents;
    return 0;
}

static int get_redis(const lookup *l, int64_t *cents)
{
    redisReply *r = redisCommand(rd, "MGET %s:%s:%s %s::%s", chain, l->store, l->item, chain,
                                 l->item);
    if (!r) {
        fprintf(stderr, "bench_rtt: redis MGET: %s\n", rd->errstr);
        return -1;
    }
    int ok = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        const redisReply *e = r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]
                                                                         : r->element[1];
        if (e->type == REDIS_REPLY_STRING) {
            *cents = strtoll(e->str, NULL, 10);
            ok = 0;
        }
    }
    if (ok)
        fprintf(stderr, "bench_rtt: redis has no price for %s/%s\n", l->store, l->item);
    freeReplyObject(r);
    return ok;
}

static int get_pg(const lookup *l, int64_t *cents)
{
    const char *params[3] = { chain, l->store, l->item };
    PGresult *res = PQexecPrepared(pg, "price", 3, params, NULL, NULL, 1);
    int ok = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "bench_rtt: postgresql lookup: %s", PQerrorMessage(pg));
    else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) || PQgetlength(res, 0, 0) != 8)
        fprintf(stderr, "bench_rtt: postgresql has no price for %s/%s\n", l->store, l->item);
    else {
        uint64_t be;
        memcpy(&be, PQgetvalue(res, 0, 0), 8);
        *cents = (int64_t)be64toh(be);
        ok = 0;
    }
    PQclear(res);
    return ok;
}

static int (*const getter[NBACK])(const lookup *, int64_t *) = { get_pc, get_redis, get_pg };

/* ns per lookup for `count` lookups from key `from` on; exits on a failure
 * (a benchmark that silently times errors measures nothing). */
static double measure(int b, size_t from, size_t count)
{
    double t0 = bk_now_ns();
    for (size_t i = 0; i < count; i++) {
        int64_t c;
        if (getter[b](&lk[(from + i) % nlk], &c))
            exit(1);
        sink += c;
    }
    return (bk_now_ns() - t0) / (double)count;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { ROUNDS = 9 };
static size_t per[NBACK];  /* lookups per round, sized from the calibration */

static void compare(const char *label)
{
    double t[NBACK][ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        size_t off = (size_t)r * 7919;
        for (int k = 0; k < NBACK; k++) {
            int b = (r + k) % NBACK;
            t[b][r] = measure(b, off, per[b]);
        }
    }
    double m[NBACK], lo[NBACK];
    for (int b = 0; b < NBACK; b++) {
        qsort(t[b], ROUNDS, sizeof t[b][0], cmp_d);
        m[b] = t[b][ROUNDS / 2];
        lo[b] = t[b][0];
    }
    printf("%-30s %9.0f %9.0f %11.0f %8.1fx %8.1fx\n", label, m[B_PC], m[B_REDIS], m[B_PG],
           m[B_REDIS] / m[B_PC], m[B_PG] / m[B_PC]);
    /* A round trip needs the server scheduled at once; on a machine busy
     * with other work the fastest round shows the floor. */
    char fast[64];
    snprintf(fast, sizeof fast, "  fastest round");
    printf("%-30s %9.0f %9.0f %11.0f %8.1fx %8.1fx\n", fast, lo[B_PC], lo[B_REDIS], lo[B_PG],
           lo[B_REDIS] / lo[B_PC], lo[B_PG] / lo[B_PC]);
}

/* Drain `n` pipelined replies; 0, or -1 after printing the first error. */
static int redis_drain(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *v;
        if (redisGetReply(rd, &v) != REDIS_OK) {
            fprintf(stderr, "bench_rtt: redis load: %s\n", rd->errstr);
            return -1;
        }
        redisReply *r = v;
        int bad = r->type == REDIS_REPLY_ERROR;
        if (bad)
            fprintf(stderr, "bench_rtt: redis load: %s\n", r->str);
        freeReplyObject(r);
        if (bad)
            return -1;
    }
    return 0;
}

/* Copy the chain's prices from PostgreSQL into Redis, 10,000 SETs per
 * pipelined batch.  Returns the number of keys, or -1. */
static long long redis_load(void)
{
    char sql[512];
    /* COPY takes no parameters; the slug was checked to be [a-z0-9_-]. */
    snprintf(sql, sizeof sql,
             "COPY (SELECT store_id, item_id, price_cents FROM store_prices WHERE chain_slug = '%s'"
             " UNION ALL SELECT '', item_id, price_cents FROM chain_prices WHERE chain_slug = '%s')"
             " TO STDOUT",
             chain, chain);
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        fprintf(stderr, "bench_rtt: copy from postgresql: %s", PQerrorMessage(pg));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    long long n = 0;
    size_t pending = 0;
    char *row;
    int len;
    while ((len = PQgetCopyData(pg, &row, 0)) > 0) {
        /* store \t item \t cents \n; generated ids need no COPY unescaping. */
        char *store = row, *item = strchr(row, '\t'), *cents = item ? strchr(item + 1, '\t') : NULL;
        if (!cents || strchr(row, '\\')) {
            fprintf(stderr, "bench_rtt: copy from postgresql: unexpected row %.*s", len, row);
            PQfreemem(row);
            return -1;
        }
        *item++ = 0;
        *cents++ = 0;
        row[len - 1] = 0;
        redisAppendCommand(rd, "SET %s:%s:%s %s", chain, store, item, cents);
        PQfreemem(row);
        n++;
        if (++pending == 10000) {
            if (redis_drain(pending))
                return -1;
            pending = 0;
        }
    }
    res = PQgetResult(pg);
    int ok = len == -1 && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "bench_rtt: copy from postgresql: %s", PQerrorMessage(pg));
    PQclear(res);
    while ((res = PQgetResult(pg)))
        PQclear(res);
    if (!ok || redis_drain(pending))
        return -1;
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_rtt DIR CHAIN PG_CONNINFO REDIS_SOCKET\n");
        return 2;
    }
    chain = argv[2];
    if (!pc_slug_valid(chain, strlen(chain))) {
        fprintf(stderr, "bench_rtt: %s is not a chain slug\n", chain);
        return 2;
    }
    int rc = pc_open(argv[1], &reader);
    if (rc != PC_OK) {
        fprintf(stderr, "bench_rtt: cannot open %s: %s\n", argv[1], pc_strerror(rc));
        return 1;
    }
    pg = PQconnectdb(argv[3]);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "bench_rtt: postgresql %s: %s", argv[3], PQerrorMessage(pg));
        return 1;
    }
    if (PQhost(pg)[0] != '/') {
        fprintf(stderr, "bench_rtt: postgresql host %s is not a unix socket directory\n",
                PQhost(pg));
        return 1;
    }
    PGresult *res = PQprepare(pg, "price",
                              "SELECT COALESCE((SELECT price_cents FROM store_prices"
                              " WHERE chain_slug = $1 AND store_id = $2 AND item_id = $3),"
                              " (SELECT price_cents FROM chain_prices"
                              " WHERE chain_slug = $1 AND item_id = $3))",
                              3, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "bench_rtt: prepare: %s", PQerrorMessage(pg));
        return 1;
    }
    PQclear(res);
    rd = redisConnectUnix(argv[4]);
    if (!rd || rd->err) {
        fprintf(stderr, "bench_rtt: redis %s: %s\n", argv[4], rd ? rd->errstr : "out of memory");
        return 1;
    }
    double t0 = bk_now_ns();
    long long nkeys = redis_load();
    if (nkeys < 0)
        return 1;
    double load_s = (bk_now_ns() - t0) / 1e9;

    /* The very keys bench_get times (same generator and seed). */
    nlk = 2000000;
    size_t nitems, npairs;
    if (!(lk = bk_draw("bench_rtt", reader, chain, nlk, &nitems, &npairs)))
        return 1;
    if ((size_t)nkeys != nitems + npairs) {
        fprintf(stderr, "bench_rtt: redis got %lld keys, the cache has %zu\n", nkeys,
                nitems + npairs);
        return 1;
    }

    /* The three must give the same answers; the same pass sizes the rounds
     * to about 0.4 s per server and 0.3 s for pc_get. */
    enum { NCHECK = 4000 };
    double spent[NBACK] = { 0 };
    for (size_t i = 0; i < NCHECK; i++) {
        int64_t v[NBACK];
        for (int b = 0; b < NBACK; b++) {
            double s = bk_now_ns();
            if (getter[b](&lk[nlk - 1 - i], &v[b]))
                return 1;
            spent[b] += bk_now_ns() - s;
        }
        if (v[B_REDIS] != v[B_PC] || v[B_PG] != v[B_PC]) {
            fprintf(stderr, "bench_rtt: %s/%s: pc_get %lld, redis %lld, postgresql %lld\n",
                    lk[nlk - 1 - i].store, lk[nlk - 1 - i].item, (long long)v[B_PC],
                    (long long)v[B_REDIS], (long long)v[B_PG]);
            return 1;
        }
    }
    for (int b = 0; b < NBACK; b++) {
        double target = b == B_PC ? 0.3e9 : 0.4e9;
        per[b] = (size_t)(target / (spent[b] / NCHECK));
        if (per[b] < 1000)
            per[b] = 1000;
        if (per[b] > 1000000)
            per[b] = 1000000;
    }

    printf("redis loaded from postgresql: %lld keys in %.2f s; %d lookups agree in all three\n",
           nkeys, load_s, NCHECK);
    printf("one lookup (exception, else base) = one round trip: PostgreSQL PQexecPrepared over "
           "%s, Redis MGET over %s;\n1 thread, 1 connection each; %zu / %zu / %zu lookups per "
           "round, median of %d rounds\n",
           PQhost(pg), argv[4], per[B_PC], per[B_REDIS], per[B_PG], ROUNDS);
    printf("%-30s %9s %9s %11s %9s %9s\n", "lookup (ns/lookup)", back_name[B_PC],
           back_name[B_REDIS], back_name[B_PG], "Redis/pc", "PG/pc");
    compare("random keys");
    nlk = 1000; /* a hot set that fits in the CPU caches and the servers' */
    compare("hot set (1,000 keys)");

    free(lk);
    redisFree(rd);
    PQfinish(pg);
    pc_close(reader);
    return 0;
}
