/* bench_change.c - how fast a price change in PostgreSQL is visible through pc_get, beside its floors, in one run.
 *
 *   bench_change DSN DIR SMALL BIG UPDATES PRICECACHE_CLI
 *
 * Against a running daemon whose triggers NOTIFY on "pricecache":
 *  1. Floors: a libpq connection of ours LISTENs too; time from COMMIT
 *     returning to the first notification arriving (one-row UPDATEs of
 *     SMALL).  And one 4 KiB write + fdatasync in DIR (a delta's commit
 *     makes one).  Nothing the daemon does can beat their sum.
 *  2. One-row propagation: UPDATE one random item, commit, poll pc_get
 *     (every 20 us) until the new price shows; p50/p99/max on SMALL and on
 *     BIG in turn (a change must cost O(changed rows), not O(chain)), each
 *     update alone (20 ms apart).  Meanwhile a subscriber on SMALL timestamps each publish
 *     event: event arrival minus the moment pc_get first saw the data.  And,
 *     interleaved, the same change on SMALL seen by a reader that sleeps
 *     until that event wakes it (no polling): what a subscribing service
 *     sees, and the latency without a poller's CPU in the measurement.
 *  3. Sustained commits: 2,000 one-row commits back to back on SMALL, each
 *     a distinct item and value; time from the last COMMIT to every one of
 *     them visible (pc_get_many).
 *  4. Mass change: one UPDATE of every row of BIG, commit, time until a
 *     sample of 1,000 items all show it; beside it, full reloads of BIG
 *     asked through the CLI (`pricecache reload BIG`), timed to their
 *     publish: of the chain unchanged, and after the same UPDATE made
 *     with the triggers off (every price rewritten). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pricecache.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void nap_ms(double ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6) };
    nanosleep(&ts, NULL);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v; returns the median. */
static double summary(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_d);
    double p50 = v[(size_t)(0.5 * (double)(n - 1) + 0.5)];
    printf("%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu)\n", what, p50,
           v[(size_t)(0.99 * (double)(n - 1) + 0.5)], v[n - 1], n);
    return p50;
}

static PGconn *conn;
static pc_reader *rd;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_change: %s: %s\n", what, why);
    exit(1);
}

static void exec_ok(const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* Up to max random base item ids of a chain, from the database. */
static char **items_of(const char *chain, int max, int *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *p[2] = { chain, lim };
    PGresult *r = PQexecParams(conn, "SELECT item_id FROM chain_prices WHERE chain_slug = $1 "
                               "ORDER BY md5(item_id) LIMIT $2::int", 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0)
        die("items", PQresultErrorMessage(r));
    *n = PQntuples(r);
    char **v = calloc((size_t)*n, sizeof *v);
    for (int i = 0; i < *n; i++)
        v[i] = strdup(PQgetvalue(r, i, 0));
    PQclear(r);
    return v;
}

static void set_price(const char *chain, const char *item, long long cents)
{
    char val[32];
    snprintf(val, sizeof val, "%lld", cents);
    const char *p[3] = { val, chain, item };
    exec_ok("UPDATE chain_prices SET price_cents = $1::bigint WHERE chain_slug = $2 AND item_id = $3",
            3, p);
}

/* Polls every 20 us: a reader spinning flat out would take one of the two
 * cores from PostgreSQL and the daemon it is timing. */
static double wait_price(const char *chain, const char *item, long long cents, double since)
{
    for (;;) {
        pc_price p;
        if (pc_get(rd, chain, NULL, item, &p) == PC_OK && p.cents == cents)
            return now_ms();
        if (now_ms() - since > 30000)
            die(item, "change never became visible");
        nap_ms(0.02);
    }
}

/* ---- 1. the NOTIFY floor ---------------------------------------------- */

static void notify_floor(PGconn *lc, const char *chain, char **it, int n, int updates)
{
    PGresult *r = PQexec(lc, "LISTEN pricecache");
    PQclear(r);
    double *v = calloc((size_t)updates, sizeof *v);
    for (int i = 0; i < updates; i++) {
        set_price(chain, it[i % n], 700000000 + i);
        double t0 = now_ms();
        for (;;) {
            struct pollfd pfd = { PQsocket(lc), POLLIN, 0 };
            poll(&pfd, 1, 1000);
            PQconsumeInput(lc);
            PGnotify *nt = PQnotifies(lc);
            if (nt) {
                PQfreemem(nt);
                while ((nt = PQnotifies(lc)))
                    PQfreemem(nt);
                break;
            }
            if (now_ms() - t0 > 10000)
                die("notify floor", "no notification");
        }
        v[i] = now_ms() - t0;
        nap_ms(20);
    }
    summary("NOTIFY floor, COMMIT returned -> notification at a LISTENing libpq connection", v,
            (size_t)updates);
    free(v);
    r = PQexec(lc, "UNLISTEN *");
    PQclear(r);
}

/* The other floor: one small write made durable where the cache lives
 * (a delta commits one LMDB transaction with one fdatasync). */
static void fsync_floor(const char *dir, int updates)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.bench-fsync-probe", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0)
        die(path, strerror(errno));
    char page[4096];
    memset(page, 'x', sizeof page);
    double *v = calloc((size_t)updates, sizeof *v);
    for (int i = 0; i < updates; i++) {
        double t0 = now_ms();
        if (pwrite(fd, page, sizeof page, (off_t)(i % 16) * 4096) != (ssize_t)sizeof page ||
            fdatasync(fd) != 0)
            die(path, strerror(errno));
        v[i] = now_ms() - t0;
        nap_ms(20);
    }
    close(fd);
    unlink(path);
    summary("fdatasync floor, one 4 KiB page written and made durable in the cache's directory",
            v, (size_t)updates);
    free(v);
}

/* ---- 2. one-row propagation, with publish events ---------------------- */

#define MAXEV 100000
static pc_sub *sub;
static atomic_int sub_run;
static uint64_t ev_ver[MAXEV];
static double ev_at[MAXEV];
static atomic_size_t nev;
/* Wakes a reader that waits for the next publish instead of polling. */
static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cv = PTHREAD_COND_INITIALIZER;

static void *sub_thread(void *arg)
{
    (void)arg;
    while (sub_run) {
        pc_event e;
        if (pc_sub_next(sub, 50, &e) != PC_OK || e.kind != PC_EV_PUBLISH)
            continue;
        size_t k = nev;
        if (k < MAXEV) {
            ev_ver[k] = e.version;
            ev_at[k] = now_ms();
            pthread_mutex_lock(&ev_mu);
            nev = k + 1;
            pthread_cond_broadcast(&ev_cv);
            pthread_mutex_unlock(&ev_mu);
        }
    }
    return NULL;
}

/* One change on `chain`, timed from COMMIT returning to pc_get showing it. */
static double one_change(const char *chain, const char *item, long long cents, double *seen)
{
    set_price(chain, item, cents);
    double t0 = now_ms();
    *seen = wait_price(chain, item, cents, t0);
    return *seen - t0;
}

/* One change on `chain` seen by a reader that sleeps until the publish
 * event wakes it, then reads: no polling, so no CPU taken from
 * PostgreSQL and the daemon while they work (a reader polling every 20 us
 * wakes 50,000 times a second on a 2-core machine).  The event goes out
 * after the commit, so this is an upper bound of the data's own
 * visibility; a pc_get that still found the old price is counted in
 * *early and polled on. */
static double one_change_woken(const char *chain, const char *item, long long cents, int *early)
{
    pc_chain_meta m;
    uint64_t before = pc_chain_info(rd, chain, &m) == PC_OK ? m.version : 0;
    size_t from = nev;
    set_price(chain, item, cents);
    double t0 = now_ms();
    pthread_mutex_lock(&ev_mu);
    for (;;) {
        int got = 0;
        for (size_t k = from; k < nev && !got; k++)
            got = ev_ver[k] > before;
        if (got)
            break;
        if (now_ms() - t0 > 30000)
            die(item, "no publish event in 30 s");
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += 50 * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ev_cv, &ev_mu, &dl);
    }
    pthread_mutex_unlock(&ev_mu);
    pc_price p;
    if (pc_get(rd, chain, NULL, item, &p) == PC_OK && p.cents == cents)
        return now_ms() - t0;
    (*early)++;
    return wait_price(chain, item, cents, t0) - t0;
}

/* One-row changes on the small and the big chain in turn (20 ms apart),
 * so that both meet the same machine (this VM's disk and CPU are shared
 * and their noise moves from minute to minute): the ratio of their
 * medians is the cost of the chain's size alone. */
static void one_row_pair(const char *small, char **its, int ns, const char *big, char **itb,
                         int nb, int updates, int with_events)
{
    double *vs = calloc((size_t)updates, sizeof *vs), *vb = calloc((size_t)updates, sizeof *vb);
    double *ev = calloc((size_t)updates, sizeof *ev);
    uint64_t *ver = calloc((size_t)updates, sizeof *ver);
    double *seen = calloc((size_t)updates, sizeof *seen);
    double *vw = calloc((size_t)updates, sizeof *vw);
    int early = 0;
    size_t nmatch = 0;
    for (int i = 0; i < updates; i++) {
        double dummy;
        vs[i] = one_change(small, its[(i * 7919) % ns], 800000000LL + i, &seen[i]);
        pc_chain_meta m;
        ver[i] = pc_chain_info(rd, small, &m) == PC_OK ? m.version : 0;
        nap_ms(20);
        vb[i] = one_change(big, itb[(i * 7919) % nb], 850000000LL + i, &dummy);
        nap_ms(20);
        if (with_events) {
            vw[i] = one_change_woken(small, its[(i * 7919 + 13) % ns], 870000000LL + i, &early);
            nap_ms(20);
        }
    }
    char what[160];
    snprintf(what, sizeof what, "one-row UPDATE commit -> visible through pc_get, chain %s", small);
    double ps = summary(what, vs, (size_t)updates);
    snprintf(what, sizeof what, "one-row UPDATE commit -> visible through pc_get, chain %s", big);
    double pb = summary(what, vb, (size_t)updates);
    pc_chain_meta ms, mb;
    if (pc_chain_info(rd, small, &ms) == PC_OK && pc_chain_info(rd, big, &mb) == PC_OK)
        printf("one-row p50, chain of %llu rows vs chain of %llu rows (interleaved): %.2f / "
               "%.2f ms = %.2fx\n", (unsigned long long)(mb.base_rows + mb.store_rows),
               (unsigned long long)(ms.base_rows + ms.store_rows), pb, ps, pb / ps);
    if (with_events) {
        snprintf(what, sizeof what, "one-row UPDATE commit -> visible to a reader woken by the "
                 "publish event (no polling), chain %s", small);
        summary(what, vw, (size_t)updates);
        printf("  of which the event came before the data: %d (a pc_get right after it found "
               "the old price)\n", early);
        nap_ms(100);
        size_t ne = nev;
        for (int i = 0; i < updates; i++)
            for (size_t k = 0; k < ne; k++)
                if (ev_ver[k] >= ver[i] && ver[i]) {
                    ev[nmatch++] = ev_at[k] - seen[i];
                    break;
                }
        if (nmatch)
            summary("publish event arrival minus data visible (negative: event first)", ev, nmatch);
    }
    free(vs);
    free(vb);
    free(ev);
    free(ver);
    free(seen);
    free(vw);
}

/* ---- 3. sustained commits --------------------------------------------- */

static void sustained(const char *chain, char **it, int n)
{
    if (n < 1)
        return;
    int k = n < 2000 ? n : 2000;
    double t0 = now_ms();
    for (int i = 0; i < k; i++)
        set_price(chain, it[i], 600000000LL + i);
    double last = now_ms();
    const char **ids = calloc((size_t)k, sizeof *ids);
    for (int i = 0; i < k; i++)
        ids[i] = it[i];
    pc_price *out = calloc((size_t)k, sizeof *out);
    int *st = calloc((size_t)k, sizeof *st);
    for (;;) {
        int all = pc_get_many(rd, chain, NULL, (size_t)k, ids, out, st) >= 0;
        for (int i = 0; all && i < k; i++)
            all = st[i] == PC_OK && out[i].cents == 600000000LL + i;
        if (all)
            break;
        if (now_ms() - last > 30000)
            die("sustained", "not all visible in 30 s");
        nap_ms(0.2);
    }
    printf("%d one-row commits back to back on %s (%.0f commits/s): all visible %.2f ms after the "
           "last COMMIT returned\n", k, chain, k / ((last - t0) / 1000), now_ms() - last);
    free(ids);
    free(out);
    free(st);
}

/* ---- 4. mass change vs full reload ------------------------------------ */

static double until_new_version(const char *chain, uint64_t v0, double t0)
{
    for (;;) {
        pc_chain_meta m;
        if (pc_chain_info(rd, chain, &m) == PC_OK && m.version > v0)
            return now_ms() - t0;
        if (now_ms() - t0 > 120000)
            die(chain, "no new version in 120 s");
        nap_ms(1);
    }
}

/* A reload asked through the CLI, timed to its publish. */
static double reload_ms(const char *chain, const char *cli, const char *dir)
{
    pc_chain_meta m0;
    if (pc_chain_info(rd, chain, &m0) != PC_OK)
        die(chain, "no chain info");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' -d '%s' reload %s >/dev/null", cli, dir, chain);
    double t0 = now_ms();
    if (system(cmd) != 0)
        die("reload", cmd);
    return until_new_version(chain, m0.version, t0);
}

/* A whole-chain UPDATE (the NOTIFY cannot list its keys: the daemon
 * reloads the chain) beside two full reloads asked through the CLI: of the
 * chain as it is (nothing to write), and after the same UPDATE made with
 * the triggers off (every price rewritten, the same bloated table for
 * PostgreSQL to read): the second is what the mass change cannot beat. */
static void mass(const char *chain, const char *cli, const char *dir)
{
    int n;
    char **it = items_of(chain, 1000, &n);
    const char *p[1] = { chain };
    double same = reload_ms(chain, cli, dir);
    /* The control channel refuses a second reload of a chain within 5 s. */
    nap_ms(5200);
    exec_ok("BEGIN", 0, NULL);
    exec_ok("ALTER TABLE chain_prices DISABLE TRIGGER USER", 0, NULL);
    exec_ok("UPDATE chain_prices SET price_cents = price_cents + 1 WHERE chain_slug = $1", 1, p);
    exec_ok("ALTER TABLE chain_prices ENABLE TRIGGER USER", 0, NULL);
    exec_ok("COMMIT", 0, NULL);
    double rewrite = reload_ms(chain, cli, dir);

    pc_price before;
    if (pc_get(rd, chain, NULL, it[0], &before) != PC_OK)
        die("mass", "sample item not found");
    double t0 = now_ms();
    exec_ok("UPDATE chain_prices SET price_cents = price_cents + 1 WHERE chain_slug = $1", 1, p);
    double committed = now_ms();
    for (;;) {
        int all = 1;
        pc_price q;
        for (int i = 0; all && i < n; i++)
            all = pc_get(rd, chain, NULL, it[i], &q) == PC_OK && (i || q.cents == before.cents + 1);
        pc_get(rd, chain, NULL, it[0], &q);
        if (all && q.cents == before.cents + 1)
            break;
        if (now_ms() - committed > 120000)
            die("mass", "not visible in 120 s");
        nap_ms(1);
    }
    double vis = now_ms() - committed;
    printf("whole-chain UPDATE of %s: visible %.0f ms after COMMIT returned (the UPDATE itself "
           "took %.0f ms); full reload rewriting every price %.0f ms: ratio %.2fx; full reload "
           "of the unchanged chain %.0f ms: ratio %.2fx\n",
           chain, vis, committed - t0, rewrite, vis / rewrite, same, vis / same);
    for (int i = 0; i < n; i++)
        free(it[i]);
    free(it);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: bench_change DSN DIR SMALL BIG UPDATES PRICECACHE_CLI\n");
        return 2;
    }
    const char *small = argv[3], *big = argv[4];
    int updates = atoi(argv[5]);
    conn = PQconnectdb(argv[1]);
    PGconn *lc = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK || PQstatus(lc) != CONNECTION_OK)
        die("connect", PQerrorMessage(conn));
    int rc = pc_open(argv[2], &rd);
    if (rc != PC_OK)
        die(argv[2], pc_strerror(rc));
    int ns, nb;
    char **its = items_of(small, 5000, &ns), **itb = items_of(big, 5000, &nb);

    notify_floor(lc, small, its, ns, updates);
    fsync_floor(argv[2], updates);

    char evaddr[512];
    int with_events = pc_bus_addrs(rd, evaddr, sizeof evaddr, NULL, 0) == PC_OK && *evaddr &&
                      pc_sub_open(evaddr, &small, 1, &sub) == PC_OK;
    pthread_t t;
    if (with_events) {
        sub_run = 1;
        pthread_create(&t, NULL, sub_thread, NULL);
        nap_ms(300); /* the subscription reaches the daemon */
    }
    one_row_pair(small, its, ns, big, itb, nb, updates, with_events);
    if (with_events) {
        sub_run = 0;
        pthread_join(t, NULL);
        pc_sub_close(sub);
    }
    sustained(small, its, ns);
    mass(big, argv[6], argv[2]);

    for (int i = 0; i < ns; i++)
        free(its[i]);
    for (int i = 0; i < nb; i++)
        free(itb[i]);
    free(its);
    free(itb);
    pc_close(rd);
    PQfinish(conn);
    PQfinish(lc);
    return 0;
}
