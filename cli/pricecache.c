/* pricecache.c - the pricecache command: look prices up and inspect the cache from a shell. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pc_format.h"
#include "pc_reader_internal.h"
#include "pricecache.h"

#define DEFAULT_DIR "/var/lib/pricecache"

/* Exit statuses: the enum and the --help text come from this one list. */
#define EXIT_CODES(X)                                                         \
    X(EXIT_OK,       0, "ok")                                                 \
    X(EXIT_NOTFOUND, 1, "not found (get; many: any item not found or invalid)") \
    X(EXIT_USAGE,    2, "usage error or invalid argument")                    \
    X(EXIT_NOCHAIN,  3, "unknown chain")                                      \
    X(EXIT_NOTREADY, 4, "cache not ready, or wait timed out")                 \
    X(EXIT_ERROR,    5, "any other error (unreadable cache, unknown format, no reader slot, ...)") \
    X(EXIT_REFUSED,  6, "the daemon refused a control request (its ERR answer is printed)") \
    X(EXIT_DENIED,   7, "control socket: permission denied (not in the service group)") \
    X(EXIT_TAMPERED, PC_CLI_EXIT_TAMPERED, "audit verify: the audit log's hash chain is broken")

enum {
#define X_ENUM(id, code, text) id = code,
    EXIT_CODES(X_ENUM)
#undef X_ENUM
};

/* Argument errors of a command: main prints its usage line. */
#define EXIT_BADARGS (-1)

static const char *dir;

static int exit_for(int rc)
{
    switch (rc) {
    case PC_OK:        return EXIT_OK;
    case PC_NOTFOUND:  return EXIT_NOTFOUND;
    case PC_ENOCHAIN:  return EXIT_NOCHAIN;
    case PC_ENOTREADY:
    case PC_ETIMEDOUT: return EXIT_NOTREADY;
    case PC_EINVAL:
    case PC_ENOITEMS:
    case PC_EQUANTITY:
    case PC_ETOOMANY:
    case PC_EOVERFLOW: return EXIT_USAGE;
    case PC_EREFUSED:  return EXIT_REFUSED;
    case PC_EACCES:    return EXIT_DENIED;
    default:           return EXIT_ERROR;
    }
}

int pc_cli_exit_for(int rc) { return exit_for(rc); }
const char *pc_cli_dir(void) { return dir; }

/* "pricecache: <object>: <what went wrong>" on stderr; the exit status. */
static int fail(const char *object, int rc)
{
    fprintf(stderr, "pricecache: %s: %s\n", object, pc_strerror(rc));
    return exit_for(rc);
}

static int open_reader(pc_reader **r)
{
    int rc = pc_open(dir, r);
    return rc == PC_OK ? EXIT_OK : fail(dir, rc);
}

/* Name the offending argument before the library answers a bare
 * PC_EINVAL: "chain \"Bad Slug\"" says more than "get". */
static int check_chain(const char *chain)
{
    if (pc_slug_valid(chain, strlen(chain)))
        return EXIT_OK;
    fprintf(stderr, "pricecache: chain \"%s\": %s (expected [a-z0-9_-]{1,%d})\n", chain,
            pc_strerror(PC_EINVAL), PC_CHAIN_MAX);
    return EXIT_USAGE;
}

static int check_id(const char *what, const char *id, int empty_ok)
{
    size_t len = strlen(id);
    if ((len > 0 || empty_ok) && len <= PC_ID_MAX)
        return EXIT_OK;
    fprintf(stderr, "pricecache: %s of %zu bytes: %s (expected %s1..%d bytes)\n", what, len,
            pc_strerror(PC_EINVAL), empty_ok ? "0 or " : "", PC_ID_MAX);
    return EXIT_USAGE;
}

static void iso_ms(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "%" PRId64, ms);
}

static const char *price_source(const pc_price *p)
{
    return p->flags & PC_PRICE_STORE ? "store" : "base";
}

static int finish_output(void)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return EXIT_OK;
    fprintf(stderr, "pricecache: stdout: %s\n", strerror(errno));
    return EXIT_ERROR;
}

/* ---- get ------------------------------------------------------------- */

static int cmd_get(int argc, char **argv)
{
    if (argc != 3)
        return EXIT_BADARGS;
    const char *chain = argv[0], *store = argv[1], *item = argv[2];
    int e;
    if ((e = check_chain(chain)) || (e = check_id("store", store, 1)) ||
        (e = check_id("item", item, 0)))
        return e;
    pc_reader *r;
    if ((e = open_reader(&r)))
        return e;
    pc_price p;
    int rc = pc_get(r, chain, store, item, &p);
    pc_close(r);
    if (rc == PC_OK) {
        printf("%" PRId64 "\t%" PRId64 "\t%s\n", p.cents, p.updated_at, price_source(&p));
        return finish_output();
    }
    char object[PC_CHAIN_MAX + 2 * PC_ID_MAX + 64];
    if (rc == PC_NOTFOUND)
        snprintf(object, sizeof object, "item %s (chain %s%s%s)", item, chain,
                 *store ? ", store " : "", store);
    else
        snprintf(object, sizeof object, "chain %s", chain);
    return fail(rc == PC_NOTFOUND || rc == PC_ENOCHAIN ? object : "get", rc);
}

/* ---- many ------------------------------------------------------------ */

typedef struct lines {
    char  **items;  /* NULL for a line that cannot be an id (holds a NUL) */
    char  **text;   /* as read, for the output */
    size_t  n, cap;
} lines;

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i] != l->text[i])
            free(l->items[i]);
        free(l->text[i]);
    }
    free(l->items);
    free(l->text);
}

/* Every line is an item: an empty one is reported INVALID, not skipped, so
 * that output lines match input lines one for one.  0, or an errno value. */
static int read_lines(FILE *f, lines *l)
{
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = 0;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 256;
            char **ni = realloc(l->items, cap * sizeof *ni);
            if (ni)
                l->items = ni;
            char **nt = ni ? realloc(l->text, cap * sizeof *nt) : NULL;
            if (nt)
                l->text = nt;
            if (!ni || !nt) {
                rc = ENOMEM;
                break;
            }
            l->cap = cap;
        }
        char *t = malloc((size_t)len + 1);
        if (!t) {
            rc = ENOMEM;
            break;
        }
        memcpy(t, line, (size_t)len + 1);
        l->text[l->n] = t;
        l->items[l->n] = memchr(line, 0, (size_t)len) ? NULL : t;
        l->n++;
    }
    if (rc == 0 && ferror(f))
        rc = errno ? errno : EIO;
    free(line);
    return rc;
}

/* One TSV field of an id.  Ids may hold tabs, newlines and backslashes
 * (PostgreSQL text does): escaped as COPY's text format does (\t \n \r
 * \\), so that every output line stays one row of the right columns. */
static void put_tsv(const char *s, size_t n)
{
    size_t plain = 0;
    while (plain < n && s[plain] != '\t' && s[plain] != '\n' && s[plain] != '\r' &&
           s[plain] != '\\')
        plain++;
    fwrite(s, 1, plain, stdout); /* the common case: the whole id at once */
    for (size_t i = plain; i < n; i++) {
        switch (s[i]) {
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default:   putchar(s[i]); break;
        }
    }
}

static int cmd_many(int argc, char **argv)
{
    if (argc != 2)
        return EXIT_BADARGS;
    const char *chain = argv[0], *store = argv[1];
    int e;
    if ((e = check_chain(chain)) || (e = check_id("store", store, 1)))
        return e;
    lines l = { 0 };
    int err = read_lines(stdin, &l);
    if (err) {
        fprintf(stderr, "pricecache: stdin: %s\n", strerror(err));
        lines_free(&l);
        return EXIT_ERROR;
    }
    pc_price *out = calloc(l.n ? l.n : 1, sizeof *out);
    int *st = calloc(l.n ? l.n : 1, sizeof *st);
    pc_reader *r = NULL;
    e = !out || !st ? fail("many", PC_ENOMEM) : open_reader(&r);
    if (!e) {
        /* One call for all the items, hence one version of the chain.  With
         * no items it would not look at the chain: ask about it instead. */
        pc_chain_meta m;
        int rc = l.n ? pc_get_many(r, chain, store, l.n, (const char *const *)l.items, out, st)
                     : pc_chain_info(r, chain, &m);
        if (rc != PC_OK) {
            char object[PC_CHAIN_MAX + 16];
            snprintf(object, sizeof object, "chain %s", chain);
            e = fail(rc == PC_ENOCHAIN ? object : "many", rc);
        }
    }
    int missing = 0;
    for (size_t i = 0; !e && i < l.n; i++) {
        put_tsv(l.text[i], strlen(l.text[i]));
        if (st[i] == PC_OK) {
            printf("\t%" PRId64 "\t%" PRId64 "\t%s\n", out[i].cents, out[i].updated_at,
                   price_source(&out[i]));
        } else {
            printf("\t%s\n", st[i] == PC_NOTFOUND ? "NOTFOUND" : "INVALID");
            missing = 1;
        }
    }
    pc_close(r);
    lines_free(&l);
    free(out);
    free(st);
    if (!e)
        e = finish_output();
    return e ? e : missing ? EXIT_NOTFOUND : EXIT_OK;
}

/* ---- chains ---------------------------------------------------------- */

#define CELL 96

typedef struct row {
    const char        *chain;
    const pc_meta_rec *m;
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
        iso_ms(b, CELL, r->m->loaded_at_ms);
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

static int cmd_chains(int argc, char **argv)
{
    int tsv = 0;
    if (argc == 1 && strcmp(argv[0], "--tsv") == 0)
        tsv = 1;
    else if (argc != 0)
        return EXIT_BADARGS;
    pc_reader *r;
    int e = open_reader(&r);
    if (e)
        return e;
    char **chains;
    size_t n;
    int rc = pc_chains(r, &chains, &n);
    if (rc != PC_OK) {
        pc_close(r);
        return fail("chains", rc);
    }
    /* All cells first: the table's widths depend on every row. */
    char (*cells)[NCOLUMNS][CELL] = calloc(n + 1, sizeof *cells);
    if (!cells) {
        pc_free_chains(chains);
        pc_close(r);
        return fail("chains", PC_ENOMEM);
    }
    int width[NCOLUMNS];
    for (size_t c = 0; c < NCOLUMNS; c++) {
        snprintf(cells[0][c], CELL, "%s", columns[c].name);
        width[c] = (int)strlen(columns[c].name);
    }
    size_t rows = 1;
    int64_t now = pc_now_ms();
    for (size_t i = 0; i < n; i++) {
        pc_meta_rec m;
        rc = pc_reader_meta(r, chains[i], &m);
        if (rc == PC_ENOCHAIN)
            continue; /* removed between the listing and now */
        if (rc != PC_OK) {
            e = fail(chains[i], rc);
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
    return e ? e : finish_output();
}

/* ---- info ------------------------------------------------------------ */

static int cmd_info(int argc, char **argv)
{
    if (argc != 1)
        return EXIT_BADARGS;
    const char *chain = argv[0];
    int e;
    if ((e = check_chain(chain)))
        return e;
    pc_reader *r;
    if ((e = open_reader(&r)))
        return e;
    pc_meta_rec m;
    int rc = pc_reader_meta(r, chain, &m);
    if (rc != PC_OK) {
        pc_close(r);
        char object[PC_CHAIN_MAX + 16];
        snprintf(object, sizeof object, "chain %s", chain);
        return fail(object, rc);
    }
    pc_daemon_rec d;
    int drc = pc_reader_daemon(r, &d);
    pc_close(r);
    char when[32], since[32], attempt[32], probe[32];
    iso_ms(when, sizeof when, m.loaded_at_ms);
    iso_ms(since, sizeof since, m.breaker_since_ms);
    iso_ms(attempt, sizeof attempt, m.last_attempt_ms);
    iso_ms(probe, sizeof probe, m.probe_at_ms);
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
    for (int i = 0; i < PC_REJ__COUNT; i++)
        printf("rejected_%s: %" PRIu64 "\n", pc_reject_name(i), m.rejected[i]);
    printf("last_error: %s\n", m.last_error[0] ? m.last_error : "-");
    if (drc == PC_OK)
        printf("daemon_state: %s\ndaemon_ready: %s\n", pc_daemon_state_name((int)d.state),
               d.ready ? "yes" : "no");
    else
        printf("daemon_state: none\ndaemon_ready: no\n");
    return finish_output();
}

/* ---- dump ------------------------------------------------------------ */

static int dump_row(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    (void)ctx;
    if (k->kind == PC_KEY_STORE)
        put_tsv(k->store, k->slen);
    putchar('\t');
    put_tsv(k->item, k->ilen);
    printf("\t%" PRId64 "\t%" PRId64 "\n", v->cents, v->updated_at);
    /* A closed pipe ends the scan, and with it the read transaction. */
    return ferror(stdout) ? PC_EIO : 0;
}

static int cmd_dump(int argc, char **argv)
{
    if (argc != 1)
        return EXIT_BADARGS;
    const char *chain = argv[0];
    int e;
    if ((e = check_chain(chain)))
        return e;
    pc_reader *r;
    if ((e = open_reader(&r)))
        return e;
    int rc = pc_reader_scan(r, chain, dump_row, NULL);
    pc_close(r);
    if (rc != PC_OK) {
        char object[PC_CHAIN_MAX + 16];
        snprintf(object, sizeof object, "chain %s", chain);
        return rc == PC_EIO && ferror(stdout) ? finish_output() : fail(object, rc);
    }
    return finish_output();
}

/* ---- wait ------------------------------------------------------------ */

static int cmd_wait(int argc, char **argv)
{
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
    int64_t deadline = pc_mono_ms() + (timeout > 0 ? timeout : 0);
    pc_reader *r = NULL;
    int rc;
    while ((rc = pc_open(dir, &r)) == PC_ENOTREADY) {
        if (timeout >= 0 && pc_mono_ms() >= deadline)
            return fail(dir, PC_ETIMEDOUT);
        struct timespec nap = { 0, 20 * 1000000L };
        nanosleep(&nap, NULL);
    }
    if (rc != PC_OK)
        return fail(dir, rc);
    int64_t left = deadline - pc_mono_ms();
    rc = pc_wait_ready(r, timeout < 0 ? -1 : left > 0 ? (int)left : 0);
    pc_close(r);
    return rc == PC_OK ? EXIT_OK : fail(dir, rc);
}

/* ---- basket ---------------------------------------------------------- */

typedef struct basket_in {
    pc_basket_item *items;
    size_t          n, cap;
} basket_in;

static void basket_in_free(basket_in *b)
{
    for (size_t i = 0; i < b->n; i++)
        free((char *)b->items[i].item);
    free(b->items);
}

/* "ITEM QTY" lines, blank lines skipped.  A bad line is named by its
 * number here, where the library could only say which code. */
static int read_basket(FILE *f, basket_in *b)
{
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t len;
    int e = EXIT_OK;
    while (e == EXIT_OK && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if (memchr(line, 0, (size_t)len)) {
            fprintf(stderr, "pricecache: stdin line %zu: holds a NUL byte\n", lineno);
            e = EXIT_USAGE;
            break;
        }
        char *save, *item = strtok_r(line, " \t\r\n", &save);
        if (!item)
            continue;
        char *qty = strtok_r(NULL, " \t\r\n", &save), *end = NULL;
        long long q = 0;
        errno = 0;
        if (qty)
            q = strtoll(qty, &end, 10);
        if (!qty || errno || *end || strtok_r(NULL, " \t\r\n", &save)) {
            fprintf(stderr, "pricecache: stdin line %zu: expected \"ITEM QTY\"\n", lineno);
            e = EXIT_USAGE;
        } else if (q <= 0) {
            fprintf(stderr, "pricecache: stdin line %zu: quantity %s: %s\n", lineno, qty,
                    pc_strerror(PC_EQUANTITY));
            e = EXIT_USAGE;
        } else if ((e = check_id("item", item, 0)) == EXIT_OK) {
            if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                pc_basket_item *ni = realloc(b->items, cap * sizeof *ni);
                if (!ni) {
                    e = fail("basket", PC_ENOMEM);
                    break;
                }
                b->items = ni;
                b->cap = cap;
            }
            char *copy = strdup(item);
            if (!copy) {
                e = fail("basket", PC_ENOMEM);
                break;
            }
            b->items[b->n++] = (pc_basket_item){ copy, (int64_t)q };
        }
    }
    if (e == EXIT_OK && ferror(f)) {
        fprintf(stderr, "pricecache: stdin: %s\n", strerror(errno ? errno : EIO));
        e = EXIT_ERROR;
    }
    free(line);
    return e;
}

static const char *line_source(const pc_basket_line *l)
{
    return l->source == PC_LINE_STORE ? "store" : l->source == PC_LINE_BASE ? "base" : "penalty";
}

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void basket_json(const char *chain, const pc_basket_result *res)
{
    printf("{\"chain\":");
    json_str(chain);
    printf(",\"version\":%" PRIu64 ",\"algorithm\":\"%s\",\"stores\":[", res->version,
           res->algorithm_name);
    for (size_t s = 0; s < res->nstores; s++) {
        if (s)
            putchar(',');
        json_str(res->stores[s]);
    }
    printf("],\"total_cents\":%" PRId64 ",\"found\":%zu,\"missing\":%zu,\"coverage\":%.6g,"
           "\"penalty_total_cents\":%" PRId64 ",\"penalty_cents\":%" PRId64
           ",\"penalty_fallback\":%s,\"avg_cents\":%" PRId64 ",\"lines\":[",
           res->total_cents, res->nfound, res->nmissing, res->coverage,
           res->penalty_total_cents, res->penalty_cents,
           res->penalty_fallback ? "true" : "false", res->avg_cents);
    for (size_t i = 0; i < res->nlines; i++) {
        const pc_basket_line *l = &res->lines[i];
        fputs(i ? ",{\"item\":" : "{\"item\":", stdout);
        json_str(l->item);
        printf(",\"qty\":%" PRId64 ",\"unit_cents\":%" PRId64 ",\"line_cents\":%" PRId64
               ",\"source\":\"%s\",\"store\":", l->qty, l->unit_cents, l->line_cents,
               line_source(l));
        if (l->store >= 0) {
            json_str(res->stores[l->store]);
            printf(",\"updated_at\":%" PRId64 "}", l->updated_at);
        } else {
            printf("null,\"updated_at\":null}");
        }
    }
    printf("]}\n");
}

static void basket_table(const char *chain, const pc_basket_result *res)
{
    int w = 4;
    for (size_t i = 0; i < res->nlines; i++) {
        size_t len = strlen(res->lines[i].item);
        if (len > (size_t)w)
            w = len > 60 ? 60 : (int)len;
    }
    printf("chain %s, version %" PRIu64 ", %s; stores:", chain, res->version,
           res->algorithm_name);
    for (size_t s = 0; s < res->nstores; s++)
        printf(" %s", *res->stores[s] ? res->stores[s] : "(base prices)");
    printf("%s\n", res->nstores ? "" : " none");
    printf("%-*s %8s %10s %12s %-7s %s\n", w, "ITEM", "QTY", "UNIT", "LINE", "SOURCE", "STORE");
    for (size_t i = 0; i < res->nlines; i++) {
        const pc_basket_line *l = &res->lines[i];
        const char *store = l->store < 0 ? "-" : *res->stores[l->store] ? res->stores[l->store]
                                                                         : "(base)";
        printf("%-*s %8" PRId64 " %10" PRId64 " %12" PRId64 " %-7s %s\n", w, l->item, l->qty,
               l->unit_cents, l->line_cents, line_source(l), store);
    }
    printf("%-*s %8s %10s %12" PRId64 "\n", w, "TOTAL", "", "", res->total_cents);
    printf("found %zu of %zu (coverage %.2f); penalties %" PRId64 " cents, %" PRId64
           " per missing unit (", res->nfound, res->nlines, res->coverage,
           res->penalty_total_cents, res->penalty_cents);
    if (res->penalty_fallback)
        printf("fallback: the chain has no mean price)\n");
    else
        printf("mean price %" PRId64 " x %.2g)\n", res->avg_cents, PC_BASKET_PENALTY_MULT);
}

static int cmd_basket(int argc, char **argv)
{
    int json = 0, nargs = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            argv[nargs++] = argv[i];
    }
    if (nargs < 2)
        return EXIT_BADARGS;
    const char *chain = argv[0];
    const char *const *stores = (const char *const *)argv + 1;
    size_t nstores = (size_t)nargs - 1;
    int e = check_chain(chain);
    for (size_t s = 0; e == EXIT_OK && s < nstores; s++)
        e = check_id("store", stores[s], nstores == 1);
    if (e)
        return e;
    basket_in in = { NULL, 0, 0 };
    pc_reader *r = NULL;
    if ((e = read_basket(stdin, &in)) == EXIT_OK)
        e = open_reader(&r);
    if (e) {
        basket_in_free(&in);
        return e;
    }
    pc_basket_result *res;
    int rc = nstores == 1 ? pc_basket_single(r, chain, stores[0], in.items, in.n, NULL, &res)
                          : pc_basket_multi(r, chain, stores, nstores, in.items, in.n, NULL, &res);
    pc_close(r);
    basket_in_free(&in);
    if (rc != PC_OK) {
        char object[PC_CHAIN_MAX + 16];
        snprintf(object, sizeof object, "chain %s", chain);
        return fail(rc == PC_ENOCHAIN ? object : "basket", rc);
    }
    if (json)
        basket_json(chain, res);
    else
        basket_table(chain, res);
    pc_basket_free(res);
    return finish_output();
}

/* ---- dispatch -------------------------------------------------------- */

static int cmd_stats(int argc, char **argv)
{
    return pc_cli_stats(dir, argc, argv);
}

/* One table: dispatch, the usage lines and --help all come from it. */
static const struct command {
    const char *name, *args, *help;
    int       (*run)(int argc, char **argv);
} commands[] = {
    { "get",    "CHAIN STORE ITEM",
      "price of ITEM (STORE \"\" asks for the base price):\n"
      "CENTS<TAB>UPDATED_AT<TAB>store|base", cmd_get },
    { "many",   "CHAIN STORE",
      "prices of the items on stdin, one per line, all from one version:\n"
      "ITEM<TAB>CENTS<TAB>UPDATED_AT<TAB>store|base, ITEM<TAB>NOTFOUND or ITEM<TAB>INVALID",
      cmd_many },
    { "chains", "[--tsv]",
      "every cached chain: version, rows, mean price, load time, breaker, last\n"
      "load, snapshot age; --tsv: tab-separated, LOADED_AT in unix ms", cmd_chains },
    { "info",   "CHAIN",
      "a chain's full metadata and the daemon's state, as KEY: VALUE lines", cmd_info },
    { "dump",   "CHAIN",
      "every price of a chain from one version, base rows first:\n"
      "STORE<TAB>ITEM<TAB>CENTS<TAB>UPDATED_AT (STORE empty for base rows; tab,\n"
      "newline, CR and backslash in ids written \\t \\n \\r \\\\ as in COPY)", cmd_dump },
    { "wait",   "[-t MS]",
      "wait (at most MS ms) until the daemon has loaded every chain once", cmd_wait },
    { "basket", "[--json] CHAIN STORE...",
      "price the \"ITEM QTY\" lines on stdin from one version of CHAIN: at STORE\n"
      "(\"\" for base prices), or at the cheapest 1 or 2 of several STOREs; a\n"
      "missing item costs 2 x the mean price (10000 without one); a table, or JSON",
      cmd_basket },
    { "events", "[-a ADDR] [-n N] [-t MS] [--heartbeats] [CHAIN...]",
      "follow the daemon's events (ADDR: $PRICECACHE_EVENTS, else the address\n"
      "the daemon announced in DIR, else ipc:///run/pricecache/events.ipc); a gap\n"
      "shows as a resync line", pc_cli_events },
    { "status", "[--control ADDR] [-t MS]",
      "the daemon and every chain from the control socket (ADDR: --control,\n"
      "$PRICECACHE_CONTROL, else the one the daemon of DIR announced); key=value\n"
      "fields, a daemon line then one line per chain", pc_cli_status },
    { "reload", "[--control ADDR] [-t MS] CHAIN|all",
      "queue a full reload (one per chain per 5 s: \"retry after N s\")", pc_cli_reload },
    { "breaker", "reset [--control ADDR] [-t MS] CHAIN",
      "close a chain's circuit breaker and queue a load", pc_cli_breaker },
    { "accept", "[--control ADDR] [-t MS] CHAIN",
      "publish the load a guard refused: the next load skips the guards once", pc_cli_accept },
    { "metrics", "[--control ADDR] [-t MS]",
      "the daemon's Prometheus metrics, through the control socket", pc_cli_metrics },
    { "audit", "[verify]",
      "the audit log of control actions: SEQ<TAB>HASH<TAB>RECORD; verify checks its\n"
      "SHA-256 hash chain and names the first bad record (exit 8)", pc_cli_audit },
    { "stats",  "",
      "lookups counted by every reader of the cache (hits, misses, errors, a\n"
      "sampled latency histogram) and the processes counting now", cmd_stats },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void short_usage(void)
{
    fprintf(stderr, "usage: pricecache [-d DIR] COMMAND [ARGS]  (pricecache --help lists them)\n");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: pricecache [-d DIR] COMMAND [ARGS]\n\n"
               "Reads the prices pricecached publishes in DIR (default: $PRICECACHE_PATH,\n"
               "else " DEFAULT_DIR ").\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(f, "  %s %s\n", commands[i].name, commands[i].args);
        for (const char *p = commands[i].help; *p;) {
            size_t len = strcspn(p, "\n");
            fprintf(f, "      %.*s\n", (int)len, p);
            p += len + (p[len] != 0);
        }
    }
    fprintf(f, "\nOptions:\n  -d DIR         the cache directory\n"
               "  -h, --help     this text\n  -V, --version  print the version\n\n"
               "Exit status:\n");
#define X_HELP(id, code, text) fprintf(f, "  %d  %s\n", code, text);
    EXIT_CODES(X_HELP)
#undef X_HELP
}

int main(int argc, char **argv)
{
    dir = getenv("PRICECACHE_PATH");
    if (!dir || !*dir)
        dir = DEFAULT_DIR;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return finish_output();
        } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("pricecache %s\n", pc_version());
            return finish_output();
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc && argv[i + 1][0]) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "pricecache: option %s: unknown, or its argument is missing\n",
                    argv[i]);
            short_usage();
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        short_usage();
        return EXIT_USAGE;
    }
    for (size_t c = 0; c < NCOMMANDS; c++) {
        if (strcmp(argv[i], commands[c].name) != 0)
            continue;
        /* "pricecache COMMAND --help" is a request for help, not a chain or
         * an option the command refuses (it exited 2, and 3 for info and
         * dump, which took it for a chain name).  No chain, store or
         * command argument begins with "-h" or "--help" legitimately in
         * the first place after the command name. */
        if (i + 1 < argc && (strcmp(argv[i + 1], "-h") == 0 || strcmp(argv[i + 1], "--help") == 0)) {
            printf("usage: pricecache [-d DIR] %s %s\n", commands[c].name, commands[c].args);
            for (const char *p = commands[c].help; *p;) {
                size_t len = strcspn(p, "\n");
                printf("    %.*s\n", (int)len, p);
                p += len + (p[len] != 0);
            }
            return finish_output();
        }
        int e = commands[c].run(argc - i - 1, argv + i + 1);
        if (e == EXIT_BADARGS) {
            fprintf(stderr, "usage: pricecache [-d DIR] %s %s\n", commands[c].name,
                    commands[c].args);
            return EXIT_USAGE;
        }
        return e;
    }
    fprintf(stderr, "pricecache: command %s: unknown (see pricecache --help)\n", argv[i]);
    return EXIT_USAGE;
}
