/* fleet_fanout.c - change fan-out across a fleet: an UPDATE on the primary to pc_get on every host, through the public API only.
 *
 *   fleet_fanout DSN DIRS_FILE UPDATES GAP_MS WRITER_RATE NCHAINS NITEMS
 *
 * DIRS_FILE lists the hosts' cache directories, one a line; one pc_reader
 * is opened on each (what an application on that host links).  UPDATES
 * times: set the price of item "p" of chain "probe" to a new value on the
 * primary (autocommit), then poll every host with pc_get (a pass over the
 * hosts still waiting, then 50 us asleep: spinning would take a core from
 * the daemons and PostgreSQL on a small machine) until each returns the new
 * value; the time from before the UPDATE is sent to the pass that saw it is
 * that host's delay (an upper bound: it includes the UPDATE's own round
 * trip).  GAP_MS between updates.  Meanwhile a writer thread, on its own
 * connection, raises the price of a random item of chains c1..cNCHAINS
 * (items i0..i<NITEMS-1>) WRITER_RATE times a second: the background
 * churn every host also receives.
 *
 * Prints
 *   fanout hosts=N updates=U samples=S p50_ms=.. p99_ms=.. max_ms=..
 *   fanout_all p50_ms=.. p99_ms=.. max_ms=..   (the slowest host per update)
 *   fanout timeouts=T writer_commits=C writer_errors=E seconds=..
 * Exit 1 if any host missed an update for 10 s, 2 on a usage or setup
 * error. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pricecache.h"

#define DEADLINE_US 10000000.0

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-th quantile of v[0..n) (sorted here), nearest rank. */
static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_d);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

typedef struct writer {
    const char *dsn;
    int rate, nchains, nitems;
    atomic_int stop;
    long commits, errors;
} writer;

static void *write_loop(void *arg)
{
    writer *w = arg;
    PGconn *c = PQconnectdb(w->dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "fleet_fanout: writer: %s", PQerrorMessage(c));
        PQfinish(c);
        w->errors++;
        return NULL;
    }
    unsigned seed = 12345;
    long period = w->rate > 0 ? 1000000L / w->rate : 0;
    double next = now_us();
    while (w->rate > 0 && !atomic_load(&w->stop)) {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "UPDATE chain_prices SET price_cents = price_cents + 1 "
                 "WHERE chain_slug = 'c%d' AND item_id = 'i%d'",
                 1 + (int)(rand_r(&seed) % (unsigned)w->nchains), (int)(rand_r(&seed) % (unsigned)w->nitems));
        PGresult *res = PQexec(c, sql);
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
            w->commits++;
        else
            w->errors++;
        PQclear(res);
        next += (double)period;
        double d = next - now_us();
        if (d > 0)
            sleep_us((long)d);
    }
    PQfinish(c);
    return NULL;
}

static int read_dirs(const char *file, char ***out, size_t *n)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        return -1;
    }
    char line[4096];
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            char **v = realloc(*out, cap * sizeof *v);
            if (!v)
                break;
            *out = v;
        }
        (*out)[(*n)++] = strdup(line);
    }
    fclose(f);
    return *n ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: fleet_fanout DSN DIRS_FILE UPDATES GAP_MS WRITER_RATE NCHAINS NITEMS\n");
        return 2;
    }
    const char *dsn = argv[1];
    int updates = atoi(argv[3]), gap_ms = atoi(argv[4]);
    writer w = { .dsn = dsn, .rate = atoi(argv[5]), .nchains = atoi(argv[6]), .nitems = atoi(argv[7]) };
    if (updates <= 0 || gap_ms < 0 || w.rate < 0 || w.nchains <= 0 || w.nitems <= 0) {
        fprintf(stderr, "fleet_fanout: bad numbers\n");
        return 2;
    }
    char **dirs;
    size_t n;
    if (read_dirs(argv[2], &dirs, &n) != 0) {
        fprintf(stderr, "fleet_fanout: no cache directories in %s\n", argv[2]);
        return 2;
    }
    pc_reader **r = calloc(n, sizeof *r);
    double *seen = calloc(n, sizeof *seen);
    double *lat = calloc(n * (size_t)updates, sizeof *lat);
    double *all = calloc((size_t)updates, sizeof *all);
    if (!r || !seen || !lat || !all)
        return 2;
    for (size_t h = 0; h < n; h++) {
        int rc = pc_open(dirs[h], &r[h]);
        if (rc != PC_OK) {
            fprintf(stderr, "fleet_fanout: %s: %s\n", dirs[h], pc_strerror(rc));
            return 2;
        }
    }
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "fleet_fanout: %s", PQerrorMessage(c));
        return 2;
    }
    /* Start above whatever the probe item holds. */
    PGresult *res = PQexec(c, "SELECT price_cents FROM chain_prices WHERE chain_slug = 'probe' AND item_id = 'p'");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "fleet_fanout: no item p in chain probe: %s", PQerrorMessage(c));
        return 2;
    }
    long base = atol(PQgetvalue(res, 0, 0));
    PQclear(res);

    pthread_t wt;
    if (pthread_create(&wt, NULL, write_loop, &w) != 0)
        return 2;
    size_t ns = 0, timeouts = 0;
    double t_start = now_us();
    for (int u = 1; u <= updates; u++) {
        long v = base + u;
        char sql[160];
        snprintf(sql, sizeof sql,
                 "UPDATE chain_prices SET price_cents = %ld WHERE chain_slug = 'probe' AND item_id = 'p'", v);
        for (size_t h = 0; h < n; h++)
            seen[h] = -1;
        double t0 = now_us();
        res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "fleet_fanout: UPDATE: %s", PQerrorMessage(c));
            return 2;
        }
        PQclear(res);
        size_t left = n;
        while (left > 0) {
            double t = now_us();
            for (size_t h = 0; h < n; h++) {
                if (seen[h] >= 0)
                    continue;
                pc_price p;
                if (pc_get(r[h], "probe", NULL, "p", &p) == PC_OK && p.cents == v) {
                    seen[h] = t - t0;
                    left--;
                }
            }
            if (t - t0 > DEADLINE_US)
                break;
            sleep_us(50);
        }
        double worst = 0;
        for (size_t h = 0; h < n; h++) {
            if (seen[h] < 0) {
                timeouts++;
                fprintf(stderr, "fleet_fanout: host %zu (%s) did not see update %d in 10 s\n", h, dirs[h], u);
                continue;
            }
            lat[ns++] = seen[h] / 1000.0;
            if (seen[h] > worst)
                worst = seen[h];
        }
        all[u - 1] = worst / 1000.0;
        sleep_us((long)gap_ms * 1000);
    }
    double secs = (now_us() - t_start) / 1e6;
    atomic_store(&w.stop, 1);
    pthread_join(wt, NULL);
    PQfinish(c);
    /* pct sorts: take the maxima after it, not in the same argument list. */
    double h50 = pct(lat, ns, 0.50), h99 = pct(lat, ns, 0.99), hmax = ns ? lat[ns - 1] : 0.0;
    double a50 = pct(all, (size_t)updates, 0.50), a99 = pct(all, (size_t)updates, 0.99);
    double amax = all[updates - 1];
    printf("fanout hosts=%zu updates=%d samples=%zu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", n, updates, ns,
           h50, h99, hmax);
    printf("fanout_all p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", a50, a99, amax);
    printf("fanout timeouts=%zu writer_commits=%ld writer_errors=%ld seconds=%.1f\n", timeouts, w.commits,
           w.errors, secs);
    for (size_t h = 0; h < n; h++) {
        pc_close(r[h]);
        free(dirs[h]);
    }
    free(dirs);
    free(r);
    free(seen);
    free(lat);
    free(all);
    return timeouts ? 1 : 0;
}
