/* bench_load.c - a full reload of a chain beside PostgreSQL streaming the same rows, in one run.
 *
 *   bench_load DSN DIR CHAIN
 *
 * Baseline: COPY of the loader's own two queries (same SQL, same ORDER BY),
 * read and discarded.  Measured against it, interleaved, median of 3:
 * a first load into an empty environment, a reload with no change, and a
 * reload after every price changed (a full rewrite).  Also LMDB bytes per
 * row and the pages each kind of reload wrote. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "pc_format.h"
#include "pgsource.h"
#include "snapshot.h"
#include "store.h"

static pcd_config cfg;
static const char *chain;
static PGconn *conn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_load: %s: %s\n", what, why);
    exit(1);
}

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* PostgreSQL alone: stream both queries, discard the bytes. */
static double copy_baseline(uint64_t *bytes)
{
    double t0 = now_s();
    *bytes = 0;
    exec_ok("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (int is_store = 0; is_store < 2; is_store++) {
        char *sql = pcd_pg_copy_sql(conn, is_store ? cfg.store_query : cfg.base_query, chain,
                                    is_store);
        PGresult *r = PQexec(conn, sql);
        if (PQresultStatus(r) != PGRES_COPY_OUT)
            die("COPY", PQresultErrorMessage(r));
        PQclear(r);
        char *buf;
        int n;
        while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
            *bytes += (uint64_t)n;
            PQfreemem(buf);
        }
        while ((r = PQgetResult(conn)) != NULL)
            PQclear(r);
        free(sql);
    }
    exec_ok("COMMIT");
    return now_s() - t0;
}

static double reload(pcd_store *st, pcd_publish_stats *ps, uint64_t *rows)
{
    char err[512];
    double t0 = now_s();
    pcd_snapshot snap;
    pcd_snapshot_init(&snap, chain);
    pcd_cancel cx = { .deadline_ms = pc_mono_ms() + 600000, .stop_fd = -1 };
    if (pcd_pg_load_chain(conn, &cfg, chain, &cx, &snap, err, sizeof err) != PC_OK)
        die("load", err);
    pc_meta_rec meta;
    memset(&meta, 0, sizeof meta);
    if (pcd_store_publish(st, &snap, &meta, ps, err, sizeof err) != PC_OK)
        die("publish", err);
    double t = now_s() - t0;
    *rows = snap.n;
    pcd_snapshot_free(&snap);
    return t;
}

static void wipe(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        die("rm", dir);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double *v)
{
    qsort(v, 3, sizeof *v, cmp_d);
    return v[1];
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_load DSN DIR CHAIN\n");
        return 2;
    }
    pcd_log_level = PCD_LOG_ERROR;
    pcd_config_defaults(&cfg);
    cfg.dsn = strdup(argv[1]);
    cfg.path = strdup(argv[2]);
    cfg.map_size_mb = 4096;
    chain = argv[3];
    char err[512];
    pg_conn *pc;
    if (pcd_pg_connect(&cfg, &pc, err, sizeof err) != PC_OK)
        die("connect", err);
    conn = pc;

    double copy[6], first[3], nochange[3], rewrite[3];
    uint64_t bytes = 0, rows = 0, nc_pages[3], rw_pages[3], nc_put = 0, rw_put = 0;
    pcd_publish_stats ps;
    copy_baseline(&bytes); /* warm PostgreSQL's cache */
    for (int r = 0; r < 3; r++) {
        copy[r] = copy_baseline(&bytes);
        wipe(cfg.path);
        pcd_store *st;
        if (pcd_store_open(&cfg, &st, err, sizeof err) != PC_OK)
            die("open", err);
        first[r] = reload(st, &ps, &rows);
        nochange[r] = reload(st, &ps, &rows);
        nc_pages[r] = ps.pages_written;
        nc_put = ps.put;
        pcd_store_close(st);
    }
    struct stat sb;
    char data[4200];
    snprintf(data, sizeof data, "%s/data.mdb", cfg.path);
    stat(data, &sb);
    double file_bytes = (double)sb.st_size;
    pcd_store *st;
    if (pcd_store_open(&cfg, &st, err, sizeof err) != PC_OK)
        die("open", err);
    for (int r = 0; r < 3; r++) {
        char upd[512];
        snprintf(upd, sizeof upd, "UPDATE chain_prices SET price_cents = price_cents + 1 "
                 "WHERE chain_slug = '%s'", chain);
        exec_ok(upd);
        snprintf(upd, sizeof upd, "UPDATE store_prices SET price_cents = price_cents + 1 "
                 "WHERE chain_slug = '%s'", chain);
        exec_ok(upd);
        exec_ok("VACUUM ANALYZE chain_prices");
        exec_ok("VACUUM ANALYZE store_prices");
        copy[3 + r] = copy_baseline(&bytes);
        rewrite[r] = reload(st, &ps, &rows);
        rw_pages[r] = ps.pages_written;
        rw_put = ps.put;
    }
    pcd_store_close(st);
    double c1 = median3(copy), c2 = median3(copy + 3);
    double f = median3(first), n = median3(nochange), w = median3(rewrite);
    printf("%llu rows (%.1f MB as COPY binary); median of 3, interleaved\n",
           (unsigned long long)rows, (double)bytes / 1e6);
    printf("%-40s %9s %9s %8s\n", "reload", "seconds", "COPY s", "ratio");
    printf("%-40s %9.3f %9.3f %7.2fx\n", "first load (empty environment)", f, c1, f / c1);
    printf("%-40s %9.3f %9.3f %7.2fx\n", "no-change reload", n, c1, n / c1);
    printf("%-40s %9.3f %9.3f %7.2fx\n", "full rewrite (every price changed)", w, c2, w / c2);
    printf("pages written: no-change reload %llu (%llu keys put), full rewrite %llu (%llu keys put)\n",
           (unsigned long long)nc_pages[2], (unsigned long long)nc_put,
           (unsigned long long)rw_pages[2], (unsigned long long)rw_put);
    printf("LMDB data.mdb after first load + no-change reloads: %.1f MB, %.1f bytes/row\n",
           file_bytes / 1e6, file_bytes / (double)rows);
    PQfinish(conn);
    pcd_config_free(&cfg);
    return 0;
}
