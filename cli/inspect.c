/* inspect.c - the CLI's commands about the cache itself: chains, info and wait. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pricecache.h"

/* ---- chains ---------------------------------------------------------- */

#define CELL 96

typedef struct row {
    const char        *chain;
    const pc_chain_status *m;
    int                tsv;
    int64_t            now_ms;
} row;

static void col_chain(const row *r, char *b)   { snprintf(b, CELL, "%s", r->chain); }
static void col_version(const row *r, char *b) { snprintf(b, CELL, "%" PRIu64, r->m->version); }
static void col_base(const row *r, char *b)    { snprintf(b, CELL, "%" PRIu64, r->m->base_rows); }
static void col_store(const row *r, char *b)   { snprintf(b, CELL, "%" PRIu64, r->m->store_rows); }
static void col_avg(const row *r, char *b)     { snprintf(b, CELL, "%" PRId64, r->m->avg_cents); }
static void col_breaker(const row *r, char *b)
{
    snprintf(b, CELL, "%s", pc_breaker_name((int)r->m->breaker));
}
static void col_result(const row *r, char *b)
{
    snprintf(b, CELL, "%s", pc_load_result_name((int)r->m->last_result));
}
/* How stale the prices served now may be. */
static void col_age(const row *r, char *b)
{
    if (r->m->loaded_at_ms <= 0)
        snprintf(b, CELL, "-");
    else
        snprintf(b, CELL, "%.1f", (double)(r->now_ms - r->m->loaded_at_ms) / 1000.0);
}
static void col_loaded(const row *r, char *b)
{
    if (r->tsv)
        snprintf(b, CELL, "%" PRId64, r->m->loaded_at_ms);
    else
        pc_cli_iso_ms(b, CELL, r->m->loaded_at_ms);
}

/* The columns of `chains`, in order: the header and both layouts. */
static const struct column {
    const char *name;
    int         right; /* numbers align right in the table */
    void      (*fmt)(const row *r, char *buf);
} columns[] = {
    { "CHAIN",       0, col_chain },
    { "VERSION",     1, col_version },
    { "BASE_ROWS",   1, col_base },
    { "STORE_ROWS",  1, col_store },
    { "AVG_CENTS",   1, col_avg },
    { "LOADED_AT",   0, col_loaded },
    { "BREAKER",     0, col_breaker },
    { "LAST_RESULT", 0, col_result },
    { "AGE_S",       1, col_age },
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

static void print_row(char cells[][CELL], const int *width, int tsv)
{
    for (size_t c = 0; c < NCOLUMNS; c++) {
        const char *sep = c + 1 < NCOLUMNS ? (tsv ? "\t" : " ") : "\n";
        if (tsv || (c + 1 == NCOLUMNS && !columns[c].right))
            printf("%s%s", cells[c], sep);
        else
            printf(columns[c].right ? "%*s%s" : "%-*s%s", width[c], cells[c], sep);
    }
}

int pc_cli_chains(int argc, char **argv)
{
    int tsv = 0;
    if (argc == 1 && strcmp(argv[0], "--tsv") == 0)
        tsv = 1;
    else if (argc != 0)
        return EXIT_BADARGS;
    pc_reader *r;
    int e = pc_cli_open(&r);
    if (e)
        return e;
    char **chains;
    size_t n;
    int rc = pc_chains(r, &chains, &n);
    if (rc != PC_OK) {
        pc_close(r);
        return pc_cli_fail("chains", rc);
    }
    /* All cells first: the table's widths depend on every row. */
    char (*cells)[NCOLUMNS][CELL] = calloc(n + 1, sizeof *cells);
    if (!cells) {
        pc_free_chains(chains);
        pc_close(r);
        return pc_cli_fail("chains", PC_ENOMEM);
    }
    int width[NCOLUMNS];
    for (size_t c = 0; c < NCOLUMNS; c++) {
        snprintf(cells[0][c], CELL, "%s", columns[c].name);
        width[c] = (int)strlen(columns[c].name);
    }
    size_t rows = 1;
    int64_t now = pc_cli_now_ms();
    for (size_t i = 0; i < n; i++) {
        pc_chain_status m = { .size = sizeof m };
        rc = pc_chain_read(r, chains[i], &m);
        if (rc == PC_ENOCHAIN)
            continue; /* removed between the listing and now */
        if (rc != PC_OK) {
            e = pc_cli_fail(chains[i], rc);
            break;
        }
        row rw = { chains[i], &m, tsv, now };
        for (size_t c = 0; c < NCOLUMNS; c++) {
            columns[c].fmt(&rw, cells[rows][c]);
            int w = (int)strlen(cells[rows][c]);
            if (w > width[c])
                width[c] = w;
        }
        rows++;
    }
    for (size_t i = 0; !e && i < rows; i++)
        print_row(cells[i], width, tsv);
    free(cells);
    pc_free_chains(chains);
    pc_close(r);
    return e ? e : pc_cli_finish();
}

/* ---- info ------------------------------------------------------------ */

int pc_cli_info(int argc, char **argv)
{
    if (argc != 1)
        return EXIT_BADARGS;
    const char *chain = argv[0];
    int e;
    if ((e = pc_cli_check_chain(chain)))
        return e;
    pc_reader *r;
    if ((e = pc_cli_open(&r)))
        return e;
    pc_chain_status m = { .size = sizeof m };
    int rc = pc_chain_read(r, chain, &m);
    if (rc != PC_OK) {
        pc_close(r);
        char object[PC_CHAIN_MAX + 16];
        snprintf(object, sizeof object, "chain %s", chain);
        return pc_cli_fail(object, rc);
    }
    pc_daemon_status d = { .size = sizeof d };
    int drc = pc_daemon_read(r, &d);
    pc_close(r);
    char when[32], since[32], attempt[32], probe[32];
    pc_cli_iso_ms(when, sizeof when, m.loaded_at_ms);
    pc_cli_iso_ms(since, sizeof since, m.breaker_since_ms);
    pc_cli_iso_ms(attempt, sizeof attempt, m.last_attempt_ms);
    pc_cli_iso_ms(probe, sizeof probe, m.probe_at_ms);
    printf("chain: %s\n", chain);
    printf("version: %" PRIu64 "\n", m.version);
    printf("loaded_at: %s\n", when);
    printf("loaded_at_ms: %" PRId64 "\n", m.loaded_at_ms);
    printf("base_rows: %" PRIu64 "\n", m.base_rows);
    printf("store_rows: %" PRIu64 "\n", m.store_rows);
    printf("avg_cents: %" PRId64 "\n", m.avg_cents);
    printf("breaker: %s\n", pc_breaker_name((int)m.breaker));
    printf("breaker_since: %s\n", since);
    printf("next_probe: %s\n", m.probe_at_ms > 0 ? probe : "-");
    printf("last_result: %s\n", pc_load_result_name((int)m.last_result));
    printf("last_attempt: %s\n", attempt);
    printf("last_duration_ms: %" PRIu32 "\n", m.last_duration_ms);
    printf("loads_ok: %" PRIu64 "\n", m.loads_ok);
    printf("loads_failed: %" PRIu64 "\n", m.loads_failed);
    printf("consecutive_failures: %" PRIu32 "\n", m.consecutive_failures);
    printf("rows_written: %" PRIu64 "\n", m.rows_written);
    for (uint32_t i = 0; i < m.nrejected; i++)
        printf("rejected_%s: %" PRIu64 "\n", pc_reject_name((int)i), m.rejected[i]);
    printf("last_error: %s\n", m.last_error[0] ? m.last_error : "-");
    if (drc == PC_OK)
        printf("daemon_state: %s\ndaemon_ready: %s\n", pc_daemon_state_name((int)d.state),
               d.ready ? "yes" : "no");
    else
        printf("daemon_state: none\ndaemon_ready: no\n");
    return pc_cli_finish();
}

/* ---- wait ------------------------------------------------------------ */

int pc_cli_wait(int argc, char **argv)
{
    const char *dir = pc_cli_dir();
    long timeout = -1;
    if (argc == 2 && strcmp(argv[0], "-t") == 0) {
        char *end;
        errno = 0;
        timeout = strtol(argv[1], &end, 10);
        if (errno || *end || end == argv[1] || timeout < 0 || timeout > 86400000)
            return EXIT_BADARGS;
    } else if (argc != 0) {
        return EXIT_BADARGS;
    }
    /* The environment may not exist yet either: a service started with the
     * daemon waits for it too. */
    int64_t deadline = pc_cli_mono_ms() + (timeout > 0 ? timeout : 0);
    pc_reader *r = NULL;
    int rc;
    while ((rc = pc_open(dir, &r)) == PC_ENOTREADY) {
        if (timeout >= 0 && pc_cli_mono_ms() >= deadline)
            return pc_cli_fail(dir, PC_ETIMEDOUT);
        struct timespec nap = { 0, 20 * 1000000L };
        nanosleep(&nap, NULL);
    }
    if (rc != PC_OK)
        return pc_cli_fail(dir, rc);
    int64_t left = deadline - pc_cli_mono_ms();
    rc = pc_wait_ready(r, timeout < 0 ? -1 : left > 0 ? (int)left : 0);
    pc_close(r);
    return rc == PC_OK ? EXIT_OK : pc_cli_fail(dir, rc);
}

