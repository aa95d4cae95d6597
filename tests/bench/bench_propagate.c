/* bench_propagate.c - change propagation and reader latency under a reload, against a running daemon.
 *
 *   bench_propagate DSN DIR CHAIN OTHER_CHAIN UPDATES
 *
 * 1. Propagation: UPDATE one price of CHAIN and commit; time until pc_get
 *    in this (another) process, polling every 20 us, returns the new value.  p50/p99 over
 *    UPDATES updates of random items.
 * 2. Reader latency: p50/p99 of single pc_get calls on CHAIN while idle,
 *    and while the daemon reloads OTHER_CHAIN whole (every price changed)
 *    and commits it. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pc_format.h"
#include "reader_private.h"
#include "pricecache.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_d);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

typedef struct items {
    char (*id)[PC_ID_MAX + 1];
    size_t n, cap;
} items;

static int on_key(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    (void)v;
    items *it = ctx;
    if (k->kind != PC_KEY_BASE)
        return 0;
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 4096;
        it->id = realloc(it->id, it->cap * sizeof *it->id);
    }
    memcpy(it->id[it->n], k->item, k->ilen);
    it->id[it->n++][k->ilen] = 0;
    return 0;
}

static pc_reader *rd;
static const char *chain;
static items it;
static atomic_int sampling;
static double *lat;
static size_t nlat, caplat;

/* Single pc_get calls, each timed, until sampling drops to 0. */
static void *sampler(void *arg)
{
    (void)arg;
    uint64_t x = 12345;
    while (sampling && nlat < caplat) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        pc_price p;
        double t0 = now_us();
        int rc = pc_get(rd, chain, "", it.id[x % it.n], &p);
        double t1 = now_us();
        if (rc != PC_OK) {
            fprintf(stderr, "bench_propagate: pc_get failed: %s\n", pc_strerror(rc));
            exit(1);
        }
        lat[nlat++] = (t1 - t0) * 1000.0;
    }
    return NULL;
}

static void sample_for(double seconds, double *p50, double *p99, size_t *n)
{
    nlat = 0;
    sampling = 1;
    pthread_t t;
    pthread_create(&t, NULL, sampler, NULL);
    struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
    nanosleep(&ts, NULL);
    sampling = 0;
    pthread_join(t, NULL);
    *n = nlat;
    *p99 = pct(lat, nlat, 0.99);
    *p50 = pct(lat, nlat, 0.50);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_propagate DSN DIR CHAIN OTHER_CHAIN UPDATES\n");
        return 2;
    }
    chain = argv[3];
    const char *other = argv[4];
    int updates = atoi(argv[5]);
    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK || pc_open(argv[2], &rd) != PC_OK) {
        fprintf(stderr, "bench_propagate: cannot connect or open\n");
        return 1;
    }
    if (pc_reader_scan(rd, chain, on_key, &it) != PC_OK || it.n == 0)
        return 1;

    /* 1. propagation */
    double *prop = calloc((size_t)updates, sizeof *prop);
    uint64_t x = 987654321;
    for (int i = 0; i < updates; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        const char *item = it.id[x % it.n];
        char val[32];
        snprintf(val, sizeof val, "%d", 900000000 + i);
        const char *params[3] = { val, chain, item };
        double t0 = now_us();
        PGresult *r = PQexecParams(conn, "UPDATE chain_prices SET price_cents = $1::bigint "
                                   "WHERE chain_slug = $2 AND item_id = $3", 3, NULL, params,
                                   NULL, NULL, 0);
        double committed = now_us();
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "update: %s", PQresultErrorMessage(r));
            return 1;
        }
        PQclear(r);
        (void)t0;
        for (;;) {
            pc_price p;
            if (pc_get(rd, chain, "", item, &p) == PC_OK && p.cents == 900000000 + i)
                break;
            if (now_us() - committed > 10e6) {
                fprintf(stderr, "bench_propagate: update %d never arrived\n", i);
                return 1;
            }
            /* Poll every 20 us, as bench_change does: a reader spinning
             * without pause takes one of the two cores from the daemon
             * and PostgreSQL and measured its own contention (p50 10 ms
             * where bench_change saw 1-4 ms). */
            struct timespec poll_gap = { 0, 20000 };
            nanosleep(&poll_gap, NULL);
        }
        prop[i] = (now_us() - committed) / 1000.0;
        struct timespec gap = { 0, 20 * 1000000 }; /* let each update stand alone */
        nanosleep(&gap, NULL);
    }
    double p99 = pct(prop, (size_t)updates, 0.99), p50 = pct(prop, (size_t)updates, 0.5);
    printf("propagation UPDATE commit -> pc_get sees it, %d updates: p50 %.1f ms, p99 %.1f ms, "
           "max %.1f ms\n", updates, p50, p99, prop[updates - 1]);

    /* 2. reader latency: idle, then during a whole-chain reload of OTHER */
    caplat = 20000000;
    lat = malloc(caplat * sizeof *lat);
    double i50, i99, r50, r99;
    size_t ni, nr;
    sample_for(2.0, &i50, &i99, &ni);
    pc_chain_meta m0, m1;
    pc_chain_info(rd, other, &m0);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE chain_prices SET price_cents = price_cents + 1 "
             "WHERE chain_slug = '%s'", other);
    PGresult *r = PQexec(conn, sql); /* too many keys for a NOTIFY: a full reload */
    PQclear(r);
    double t0 = now_us();
    nlat = 0;
    sampling = 1;
    pthread_t t;
    pthread_create(&t, NULL, sampler, NULL);
    do {
        struct timespec nap = { 0, 2000000 };
        nanosleep(&nap, NULL);
        pc_chain_info(rd, other, &m1);
    } while (m1.version == m0.version && now_us() - t0 < 60e6);
    sampling = 0;
    pthread_join(t, NULL);
    nr = nlat;
    r99 = pct(lat, nr, 0.99);
    r50 = pct(lat, nr, 0.50);
    printf("pc_get latency on %s, ns: idle p50 %.0f p99 %.0f (%zu calls); during the reload "
           "and commit of %s (%.2f s) p50 %.0f p99 %.0f (%zu calls); p99 ratio %.2fx\n",
           chain, i50, i99, ni, other, (now_us() - t0) / 1e6, r50, r99, nr, r99 / i99);
    free(lat);
    free(prop);
    free(it.id);
    pc_close(rd);
    PQfinish(conn);
    return 0;
}
