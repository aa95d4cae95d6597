/* bench_load.c - a full reload of a chain beside PostgreSQL streaming the same rows, in one run.
 *
 *   bench_load DSN DIR CHAIN [PRICECACHED]
 *
 * Baselines, each read and discarded: COPY (FORMAT binary) of the chain's
 * rows with the default queries as they are, unsorted (issue 15's limit);
 * the loader's query before issue 15 (ORDER BY ... COLLATE "C",
 * updated_at DESC: kept so that the gain shows); and the loader's query
 * today.  Measured against them, interleaved, median of 3: a first load
 * into an empty environment, a reload with no change (and the same with
 * the loader before issue 15, reproduced here), and a reload after every
 * price changed (a full rewrite).  Then where a reload's time goes
 * (the loader's own clocks, and each stage's CPU replayed on a captured
 * stream), the peak RSS of a `pricecached --once` reloading the chain
 * beside the rows' size on the wire (and of a running pricecached's
 * no-change reload, which knows the rows it published), LMDB bytes per row and the pages each
 * kind of reload wrote. */
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hugemem.h"
#include "loadrow.h"
#include "log.h"
#include "pc_format.h"
#include "pgcopy.h"
#include "pgsource.h"
#include "snapshot.h"
#include "store.h"
#include "store_table.h"

#include "bench_rss.h"

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

enum { Q_RAW, Q_SORTED_OLD, Q_LOADER };

/* The SQL of one baseline for the base (is_store 0) or store query. */
static char *copy_sql(int kind, int is_store)
{
    const char *query = is_store ? cfg.store_query : cfg.base_query;
    if (kind == Q_LOADER)
        return pcd_pg_copy_sql(conn, query, chain, is_store);
    char *lit = PQescapeLiteral(conn, chain, strlen(chain));
    char *q = pcd_sql_subst_chain(query, lit);
    PQfreemem(lit);
    char *sql = NULL;
    int n;
    if (kind == Q_RAW)
        n = asprintf(&sql, "COPY (%s) TO STDOUT (FORMAT binary)", q);
    else if (is_store) /* the loader's query before issue 15 */
        n = asprintf(&sql, "COPY (SELECT store_id::text, item_id::text, price_cents::bigint, "
                     PCD_SQL_EPOCH " FROM (%s\n) q "
                     "ORDER BY store_id::text COLLATE \"C\", item_id::text COLLATE \"C\", "
                     "q.updated_at DESC) TO STDOUT (FORMAT binary)", q);
    else
        n = asprintf(&sql, "COPY (SELECT item_id::text, price_cents::bigint, "
                     PCD_SQL_EPOCH " FROM (%s\n) q "
                     "ORDER BY item_id::text COLLATE \"C\", q.updated_at DESC) "
                     "TO STDOUT (FORMAT binary)", q);
    free(q);
    if (n < 0)
        die("asprintf", "out of memory");
    return sql;
}

/* A captured COPY stream, for replaying the loader's stages. */
typedef struct chunk {
    struct chunk *next;
    int is_store;
    size_t len;
    char data[];
} chunk;

/* PostgreSQL alone: stream both queries of `kind` in one snapshot, as the
 * loader does, and discard the bytes (or keep them in *cap). */
static double copy_run(int kind, uint64_t *bytes, chunk **cap)
{
    double t0 = now_s();
    *bytes = 0;
    chunk **tail = cap;
    exec_ok("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (int is_store = 0; is_store < 2; is_store++) {
        char *sql = copy_sql(kind, is_store);
        PGresult *r = PQexec(conn, sql);
        if (PQresultStatus(r) != PGRES_COPY_OUT)
            die("COPY", PQresultErrorMessage(r));
        PQclear(r);
        char *buf;
        int n;
        while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
            *bytes += (uint64_t)n;
            if (tail) {
                chunk *c = malloc(sizeof *c + (size_t)n);
                if (!c)
                    die("capture", "out of memory");
                c->next = NULL;
                c->is_store = is_store;
                c->len = (size_t)n;
                memcpy(c->data, buf, (size_t)n);
                *tail = c;
                tail = &c->next;
            }
            PQfreemem(buf);
        }
        while ((r = PQgetResult(conn)) != NULL)
            PQclear(r);
        free(sql);
    }
    exec_ok("COMMIT");
    return now_s() - t0;
}

typedef struct clocks {
    double total, load, publish;             /* seconds */
    uint64_t us_first, us_wait, us_feed, us_sort, us_diff, us_commit, wire;
    uint64_t us_table, tab_segs;
    int tab_how;
} clocks;

static double reload(pcd_store *st, pcd_publish_stats *ps, uint64_t *rows, clocks *ck)
{
    char err[512];
    double t0 = now_s();
    pcd_snapshot snap;
    pcd_snapshot_init(&snap, chain);
    pcd_store_expect(st, &snap); /* as the daemon's loads do */
    pcd_cancel cx = { .deadline_ms = pc_mono_ms() + 600000, .stop_fd = -1 };
    if (pcd_pg_load_chain(conn, &cfg, chain, &cx, &snap, err, sizeof err) != PC_OK)
        die("load", err);
    double t1 = now_s();
    pc_meta_rec meta;
    memset(&meta, 0, sizeof meta);
    if (pcd_store_publish(st, &snap, &meta, ps, err, sizeof err) != PC_OK)
        die("publish", err);
    double t = now_s() - t0;
    *rows = snap.base_rows + snap.store_rows;
    if (ck)
        *ck = (clocks){ t, t1 - t0, now_s() - t1, snap.us_first, snap.us_wait, snap.us_feed, snap.us_sort,
                        ps->us_diff, ps->us_commit, snap.wire_bytes, ps->us_table,
                        ps->tab_segs, ps->tab_how };
    pcd_snapshot_free(&snap);
    return t;
}

/* The loader before issue 15, for a figure in the same run: PostgreSQL
 * sorts (ORDER BY ... COLLATE "C", updated_at DESC) and sends updated_at
 * as epoch seconds; rows arrive in key order, so the daemon's sort only
 * checks the order; the same publish. */
typedef struct old_ctx {
    pcd_snapshot *snap;
    int is_store;
} old_ctx;

static int row_old(void *arg, int nf, const pcd_field *f)
{
    old_ctx *oc = arg;
    int off = oc->is_store;
    if (nf != 3 + off)
        return PC_EDB;
    int64_t cents = 0, ts = 0;
    int price_null = f[off + 1].data == NULL, ts_null = f[off + 2].data == NULL;
    if ((!price_null && pcd_copy_i64(&f[off + 1], &cents)) ||
        (!ts_null && pcd_copy_i64(&f[off + 2], &ts)))
        return PC_EDB;
    oc->snap->rows_seen++;
    pcd_field store = oc->is_store ? f[0] : (pcd_field){ NULL, 0 };
    int why = pcd_validate_row(oc->is_store, store, f[off], price_null, cents, ts_null);
    if (why >= 0) {
        pcd_snapshot_reject(oc->snap, why, NULL);
        return 0;
    }
    return pcd_snapshot_add(oc->snap, oc->is_store ? store.data : NULL, store.len,
                            f[off].data, f[off].len, cents, ts);
}

static double reload_old(pcd_store *st, pcd_publish_stats *ps)
{
    char err[512], perr[256];
    double t0 = now_s();
    pcd_snapshot snap;
    pcd_snapshot_init(&snap, chain);
    exec_ok("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (int is_store = 0; is_store < 2; is_store++) {
        char *sql = copy_sql(Q_SORTED_OLD, is_store);
        PGresult *r = PQexec(conn, sql);
        if (PQresultStatus(r) != PGRES_COPY_OUT)
            die("COPY", PQresultErrorMessage(r));
        PQclear(r);
        old_ctx oc = { &snap, is_store };
        pcd_copy_parser cp;
        pcd_copy_init(&cp, row_old, &oc);
        char *buf;
        int n;
        while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
            if (pcd_copy_feed(&cp, buf, (size_t)n, perr, sizeof perr) != PC_OK)
                die("old loader", perr);
            PQfreemem(buf);
        }
        pcd_copy_free(&cp);
        while ((r = PQgetResult(conn)) != NULL)
            PQclear(r);
        free(sql);
    }
    exec_ok("COMMIT");
    if (pcd_snapshot_finish(&snap) != PC_OK)
        die("old loader", "finish");
    pc_meta_rec meta;
    memset(&meta, 0, sizeof meta);
    if (pcd_store_publish(st, &snap, &meta, ps, err, sizeof err) != PC_OK)
        die("publish", err);
    pcd_snapshot_free(&snap);
    return now_s() - t0;
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

static double median3(const double *in)
{
    double v[3] = { in[0], in[1], in[2] };
    qsort(v, 3, sizeof *v, cmp_d);
    return v[1];
}

static double spread3(const double *in)
{
    double lo = in[0], hi = in[0];
    for (int i = 1; i < 3; i++) {
        lo = in[i] < lo ? in[i] : lo;
        hi = in[i] > hi ? in[i] : hi;
    }
    return hi - lo;
}

/* ---- stages replayed on a captured stream ---- */

static int row_none(void *ctx, int nf, const pcd_field *f)
{
    (void)nf;
    (void)f;
    ++*(uint64_t *)ctx;
    return 0;
}

/* Parse, decode and validate, without keying or storing. */
static int row_validate(void *ctx, int nf, const pcd_field *f)
{
    int is_store = nf == 4, off = is_store;
    int64_t v;
    if (f[off + 1].data)
        pcd_copy_i64(&f[off + 1], &v);
    if (f[off + 2].data)
        pcd_copy_i64(&f[off + 2], &v);
    int why = pcd_validate_row(is_store, is_store ? f[0] : (pcd_field){ NULL, 0 }, f[off],
                               f[off + 1].data == NULL, 0, f[off + 2].data == NULL);
    *(uint64_t *)ctx += (uint64_t)(why + 2);
    return 0;
}

static double replay(const chunk *cap, pcd_copy_row_fn fn, void *ctx, int loadrow,
                     pcd_snapshot *snap)
{
    double t0 = now_s();
    char perr[256];
    for (int is_store = 0; is_store < 2; is_store++) {
        pcd_load_rows lr = { snap, is_store, 0 };
        pcd_copy_parser cp;
        pcd_copy_init(&cp, fn, loadrow ? (void *)&lr : ctx);
        for (const chunk *c = cap; c; c = c->next)
            if (c->is_store == is_store &&
                pcd_copy_feed(&cp, c->data, c->len, perr, sizeof perr) != PC_OK)
                die("replay", perr);
        if (pcd_copy_end(&cp, perr, sizeof perr) != PC_OK)
            die("replay end", perr);
        pcd_copy_free(&cp);
    }
    return now_s() - t0;
}

/* ---- peak RSS of a pricecached --once child ---- */

/* Linux keeps a process's peak RSS across execve (the signal struct's
 * maxrss): a daemon forked from this benchmark, which holds hundreds of MB
 * by then, would report this process's peak, not its own, and its first
 * samples would be this process's copy.  So the daemon is started by a
 * small process: this program re-executed as `bench_load --spawn`, which
 * forks it, samples its /proc status and reports one line on a pipe. */

static void print_clocks(const char *name, const clocks *k)
{
    double other = k->total * 1e3 - (double)(k->us_first + k->us_wait + k->us_feed + k->us_sort +
                                            k->us_diff + k->us_commit) / 1e3;
    printf("  %-17s %5.0f = %3.0f + %4.0f + %4.0f + %4.0f + %4.0f + %4.0f (%s %llu segments) "
           "+ %4.0f + %3.0f\n", name, k->total * 1e3, (double)k->us_first / 1e3,
           (double)k->us_wait / 1e3, (double)k->us_feed / 1e3, (double)k->us_sort / 1e3,
           (double)(k->us_diff - k->us_table) / 1e3, (double)k->us_table / 1e3,
           pcd_tab_how_name(k->tab_how), (unsigned long long)k->tab_segs,
           (double)k->us_commit / 1e3, other);
}

/* 1 when the file's last line naming a publish contains `what`. */
static int log_says(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int says = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "published version"))
            says = strstr(line, what) != NULL;
    fclose(f);
    return says;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--spawn") == 0)
        return spawn_main(argv[2], argv[3]);
    if (argc == 7 && strcmp(argv[1], "--spawn-daemon") == 0)
        return spawn_daemon_main(argv[2], argv[3], argv[4], argv[5], argv[6]);
    /* The reloads below run in this process: with malloc set up as
     * pricecached sets up its own. */
    pcd_huge_malloc_reexec(argv);
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: bench_load DSN DIR CHAIN [PRICECACHED]\n");
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

    double raw[6], old[3], ldr[3], first[3], nochange[3], rewrite[3], old_nc[3];
    clocks nck[3], fck[3], wck[3];
    uint64_t bytes = 0, bytes_old = 0, bytes_ldr = 0, rows = 0, nc_pages[3], rw_pages[3];
    uint64_t nc_put = 0, rw_put = 0;
    pcd_publish_stats ps;
    copy_run(Q_RAW, &bytes, NULL); /* warm PostgreSQL's cache */
    copy_run(Q_SORTED_OLD, &bytes, NULL);
    for (int r = 0; r < 3; r++) {
        raw[r] = copy_run(Q_RAW, &bytes, NULL);
        old[r] = copy_run(Q_SORTED_OLD, &bytes_old, NULL);
        ldr[r] = copy_run(Q_LOADER, &bytes_ldr, NULL);
        wipe(cfg.path);
        pcd_store *st;
        if (pcd_store_open(&cfg, &st, err, sizeof err) != PC_OK)
            die("open", err);
        first[r] = reload(st, &ps, &rows, &fck[r]);
        nochange[r] = reload(st, &ps, &rows, &nck[r]);
        nc_pages[r] = ps.pages_written;
        nc_put = ps.put;
        old_nc[r] = reload_old(st, &ps);
        pcd_store_close(st);
    }
    struct stat sb;
    char data[4200];
    snprintf(data, sizeof data, "%s/data.mdb", cfg.path);
    stat(data, &sb);
    double file_bytes = (double)sb.st_size;

    /* The stages' CPU, replayed on the loader's own stream (captured). */
    chunk *cap = NULL;
    copy_run(Q_LOADER, &bytes_ldr, &cap);
    uint64_t sink = 0;
    double st_parse = replay(cap, row_none, &sink, 0, NULL);
    double st_valid = replay(cap, row_validate, &sink, 0, NULL);
    pcd_snapshot snap;
    pcd_snapshot_init(&snap, chain);
    double st_key = replay(cap, pcd_load_row, NULL, 1, &snap);
    double s0 = now_s();
    if (pcd_snapshot_finish(&snap) != PC_OK)
        die("finish", "out of memory");
    double st_sort = now_s() - s0;
    /* The same rows published alone, no PostgreSQL: what LMDB's one
     * writer needs once the last row arrived (a load cannot publish
     * before: a chain publishes whole) — into an empty environment, and
     * over it with every price changed. */
    double pub_first[3], pub_rw[3];
    {
        pcd_config fc = cfg;
        char floor_dir[4100];
        snprintf(floor_dir, sizeof floor_dir, "%s-floor", cfg.path);
        fc.path = floor_dir;
        for (int r = 0; r < 3; r++) {
            wipe(floor_dir);
            pcd_store *fs;
            if (pcd_store_open(&fc, &fs, err, sizeof err) != PC_OK)
                die("open", err);
            pc_meta_rec meta;
            memset(&meta, 0, sizeof meta);
            double p0 = now_s();
            if (pcd_store_publish(fs, &snap, &meta, &ps, err, sizeof err) != PC_OK)
                die("publish", err);
            pub_first[r] = now_s() - p0;
            for (size_t i = 0; i < snap.n; i++)
                snap.recs[i].val.cents++;
            p0 = now_s();
            if (pcd_store_publish(fs, &snap, &meta, &ps, err, sizeof err) != PC_OK)
                die("publish", err);
            pub_rw[r] = now_s() - p0;
            for (size_t i = 0; i < snap.n; i++)
                snap.recs[i].val.cents--;
            pcd_store_close(fs);
        }
        wipe(floor_dir);
    }
    pcd_snapshot_free(&snap);
    while (cap) {
        chunk *n = cap->next;
        free(cap);
        cap = n;
    }

    /* Peak RSS of the daemon reloading the chain: its own process, only
     * this chain (chains_query), first into an empty cache, then again
     * with no change. */
    rss r_first = { 0, 0, 0, 0 }, r_nc = { 0, 0, 0, 0 }, r_rw = { 0, 0, 0, 0 };
    rss r_dnc = { 0, 0, 0, 0 };
    int dnc_same = 0;
    char conf[4200], once_dir[4200], dconf[4200], dlog[4200], drun[4200];
    if (argc == 5) {
        snprintf(conf, sizeof conf, "%s.conf", cfg.path);
        snprintf(once_dir, sizeof once_dir, "%s-once", cfg.path);
        FILE *f = fopen(conf, "w");
        if (!f)
            die("config", conf);
        char *lit = PQescapeLiteral(conn, chain, strlen(chain));
        fprintf(f, "[database]\ndsn = %s\n[cache]\npath = %s\nmap_size_mb = 4096\n"
                "[log]\nlevel = error\n[load]\nchains_query = SELECT slug FROM chains "
                "WHERE slug = %s\n", cfg.dsn, once_dir, lit);
        PQfreemem(lit);
        fclose(f);
        wipe(once_dir);
        r_first = run_once(argv[4], conf);
        r_nc = run_once(argv[4], conf);
        /* The same chain reloaded by a running daemon, which knows what it
         * published: its bus in a directory of its own, no HTTP. */
        snprintf(dconf, sizeof dconf, "%s-daemon.conf", cfg.path);
        snprintf(dlog, sizeof dlog, "%s-daemon.log", cfg.path);
        snprintf(drun, sizeof drun, "%s-run", cfg.path);
        wipe(drun);
        if (mkdir(drun, 0750) != 0)
            die("mkdir", drun);
        f = fopen(dconf, "w");
        if (!f)
            die("config", dconf);
        lit = PQescapeLiteral(conn, chain, strlen(chain));
        fprintf(f, "[database]\ndsn = %s\n[cache]\npath = %s\nmap_size_mb = 4096\n"
                "[log]\nlevel = info\n[http]\nlisten =\n[bus]\nevents = ipc://%s/events.ipc\n"
                "control = ipc://%s/control.ipc\n[load]\nchains_query = SELECT slug FROM "
                "chains WHERE slug = %s\n", cfg.dsn, once_dir, drun, drun, lit);
        PQfreemem(lit);
        fclose(f);
        r_dnc = run_daemon(argv[4], dconf, once_dir, chain, dlog);
        dnc_same = log_says(dlog, "none compared");
        wipe(drun);
        /* once_dir is kept: after every price changed below, its third
         * run is a full rewrite. */
    }

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
        raw[3 + r] = copy_run(Q_RAW, &bytes, NULL);
        rewrite[r] = reload(st, &ps, &rows, &wck[r]);
        rw_pages[r] = ps.pages_written;
        rw_put = ps.put;
    }
    pcd_store_close(st);
    if (argc == 5) {
        r_rw = run_once(argv[4], conf);
        wipe(once_dir);
    }

    double c1 = median3(raw), c2 = median3(raw + 3), co = median3(old), cl = median3(ldr);
    double f = median3(first), n = median3(nochange), w = median3(rewrite);
    printf("%llu rows, %.1f MB as COPY binary of the default queries; median of 3 "
           "(max-min), interleaved\n", (unsigned long long)rows, (double)bytes / 1e6);
    printf("%-52s %8s %7s %11s\n", "PostgreSQL alone (read, discarded)", "seconds", "spread",
           "vs unsorted");
    printf("%-52s %8.3f %7.3f %10.2fx\n", "COPY unsorted, SELECT item_id, price_cents, ...",
           c1, spread3(raw), 1.0);
    printf("%-52s %8.3f %7.3f %10.2fx\n", "COPY of the loader's query before issue 15 (sorted)",
           co, spread3(old), co / c1);
    printf("%-52s %8.3f %7.3f %10.2fx\n", "COPY of the loader's query now", cl, spread3(ldr),
           cl / c1);
    printf("%-52s %8s %7s %11s %9s\n", "reload (in process: load + publish)", "seconds",
           "spread", "vs unsorted", "vs sorted");
    printf("%-52s %8.3f %7.3f %10.2fx %8.2fx\n", "first load (empty environment)", f,
           spread3(first), f / c1, f / co);
    printf("%-52s %8.3f %7.3f %10.2fx %8.2fx\n", "no-change reload", n, spread3(nochange),
           n / c1, n / co);
    printf("%-52s %8.3f %7.3f %10.2fx %8.2fx\n", "no-change reload, the loader before issue 15",
           median3(old_nc), spread3(old_nc), median3(old_nc) / c1, median3(old_nc) / co);
    printf("%-52s %8.3f %7.3f %10.2fx %8s\n", "full rewrite (every price changed)", w,
           spread3(rewrite), w / c2, "");
    /* The run of each kind whose total is the median. */
    const clocks *kn = &nck[0], *kf = &fck[0], *kw = &wck[0];
    for (int r = 0; r < 3; r++) {
        if (nck[r].total == n)
            kn = &nck[r];
        if (fck[r].total == f)
            kf = &fck[r];
        if (wck[r].total == w)
            kw = &wck[r];
    }
    printf("where a reload's time goes (its own clocks, ms, the median run of each kind): "
           "total = the server before its first row + waiting for the stream + "
           "parse+validate+key in the stream + sort+dedup after it + diff + lookup table "
           "(kept, patched, or built: waiting for its thread, copying) + commit + other\n");
    print_clocks("first load", kf);
    print_clocks("no-change reload", kn);
    print_clocks("full rewrite", kw);
    /* How close the loads that write every row come to their floor. */
    double pf = median3(pub_first), pw = median3(pub_rw);
    printf("floor of a load writing every row = unsorted COPY + the same rows published alone "
           "(no PostgreSQL; median of 3): first load %.3f + %.3f = %.3f s (%.2fx COPY; the load "
           "%.2fx its floor), full rewrite %.3f + %.3f = %.3f s (%.2fx COPY; the load %.2fx its "
           "floor)\n", c1, pf, c1 + pf, (c1 + pf) / c1, f / (c1 + pf), c2, pw, c2 + pw,
           (c2 + pw) / c2, w / (c2 + pw));
    printf("CPU per stage, replayed on the loader's captured stream (%.1f MB), ms: parse %.0f, "
           "+decode+validate %.0f, +key+store (pcd_load_row) %.0f; sort+dedup %.0f\n",
           (double)bytes_ldr / 1e6, st_parse * 1e3, st_valid * 1e3, st_key * 1e3,
           st_sort * 1e3);
    if (argc == 5) {
        /* Private memory (RssAnon) is the daemon's own; the pages of the
         * cache file it maps (RssFile: the old B-tree the diff reads) are
         * the page cache every reader shares, counted in the peak too. */
        double wire = (double)bytes_ldr;
        const rss *rs[4] = { &r_first, &r_nc, &r_rw, &r_dnc };
        const char *names[4] = { "first load", "no-change reload", "full rewrite",
                                 "no-change, served" };
        printf("pricecached --once, this chain, rows on the wire %.1f MB; peak RSS (MB, and "
               "per byte on the wire): total | private (RssAnon) | cache file mapped (RssFile); "
               "'served': a running pricecached's reload (SIGUSR1) after its own load, the rows "
               "%s\n", wire / 1048576.0,
               dnc_same ? "digested as the cache's (log: none compared)"
                        : "NOT found the cache's (its log does not say none compared)");
        for (int i = 0; i < 4; i++)
            printf("  %-17s %5.2f s  %6.1f (%.2fx) | %6.1f (%.2fx) | %6.1f\n", names[i],
                   rs[i]->wall, rs[i]->maxrss_kb / 1024.0, rs[i]->maxrss_kb * 1024.0 / wire,
                   rs[i]->anon_kb / 1024.0, rs[i]->anon_kb * 1024.0 / wire,
                   rs[i]->file_kb / 1024.0);
    }
    printf("pages written: no-change reload %llu (%llu keys put), full rewrite %llu (%llu keys put)\n",
           (unsigned long long)nc_pages[2], (unsigned long long)nc_put,
           (unsigned long long)rw_pages[2], (unsigned long long)rw_put);
    printf("LMDB data.mdb after first load + no-change reloads: %.1f MB, %.1f bytes/row\n",
           file_bytes / 1e6, file_bytes / (double)rows);
    PQfinish(conn);
    pcd_config_free(&cfg);
    return sink == 1 ? 1 : 0;
}
