/* lookup.c - the CLI's price commands: get, many and dump. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pricecache.h"

static const char *price_source(const pc_price *p)
{
    return p->flags & PC_PRICE_STORE ? "store" : "base";
}

/* ---- get ------------------------------------------------------------- */

int pc_cli_get(int argc, char **argv)
{
    if (argc != 3)
        return EXIT_BADARGS;
    const char *chain = argv[0], *store = argv[1], *item = argv[2];
    int e;
    if ((e = pc_cli_check_chain(chain)) || (e = pc_cli_check_id("store", store, 1)) ||
        (e = pc_cli_check_id("item", item, 0)))
        return e;
    pc_reader *r;
    if ((e = pc_cli_open(&r)))
        return e;
    pc_price p;
    int rc = pc_get(r, chain, store, item, &p);
    pc_close(r);
    if (rc == PC_OK) {
        printf("%" PRId64 "\t%" PRId64 "\t%s\n", p.cents, p.updated_at, price_source(&p));
        return pc_cli_finish();
    }
    char object[PC_CHAIN_MAX + 2 * PC_ID_MAX + 64];
    if (rc == PC_NOTFOUND)
        snprintf(object, sizeof object, "item %s (chain %s%s%s)", item, chain,
                 *store ? ", store " : "", store);
    else
        snprintf(object, sizeof object, "chain %s", chain);
    return pc_cli_fail(rc == PC_NOTFOUND || rc == PC_ENOCHAIN ? object : "get", rc);
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

int pc_cli_many(int argc, char **argv)
{
    if (argc != 2)
        return EXIT_BADARGS;
    const char *chain = argv[0], *store = argv[1];
    int e;
    if ((e = pc_cli_check_chain(chain)) || (e = pc_cli_check_id("store", store, 1)))
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
    e = !out || !st ? pc_cli_fail("many", PC_ENOMEM) : pc_cli_open(&r);
    if (!e) {
        /* One call for all the items, hence one version of the chain.  With
         * no items it would not look at the chain: ask about it instead. */
        pc_chain_meta m;
        int rc = l.n ? pc_get_many(r, chain, store, l.n, (const char *const *)l.items, out, st)
                     : pc_chain_info(r, chain, &m);
        if (rc != PC_OK) {
            char object[PC_CHAIN_MAX + 16];
            snprintf(object, sizeof object, "chain %s", chain);
            e = pc_cli_fail(rc == PC_ENOCHAIN ? object : "many", rc);
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
        e = pc_cli_finish();
    return e ? e : missing ? EXIT_NOTFOUND : EXIT_OK;
}

/* ---- dump ------------------------------------------------------------ */

/* Rows per batch: each batch is one short read transaction, so a dump
 * piped into a slow reader pins no snapshot (the old single transaction
 * held one for as long as the pipe was full). */
#define DUMP_BATCH 4096

/* The rows come in batches, each from one version; a publish between two
 * batches would make the output a mix, which `dump` does not hand out as
 * one version: it stops and says so (run it again). */
int pc_cli_dump(int argc, char **argv)
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
    pc_scan *s = NULL;
    int rc = pc_scan_open(r, chain, DUMP_BATCH, &s);
    uint64_t first = 0;
    int changed = 0;
    for (int batch = 0; rc == PC_OK; batch++) {
        const pc_scan_row *const *rows;
        size_t n;
        uint64_t version;
        rc = pc_scan_next(s, &rows, &n, &version);
        if (rc != PC_OK || n == 0)
            break;
        if (batch == 0) {
            first = version;
        } else if (version != first) {
            fprintf(stderr, "pricecache: dump %s: the chain was published again during the "
                    "dump (version %" PRIu64 ", now %" PRIu64 "): the rows above mix both; "
                    "run it again\n", chain, first, version);
            changed = 1;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            put_tsv(rows[i]->store, strlen(rows[i]->store));
            putchar('\t');
            put_tsv(rows[i]->item, strlen(rows[i]->item));
            printf("\t%" PRId64 "\t%" PRId64 "\n", rows[i]->price.cents,
                   rows[i]->price.updated_at);
        }
        /* A closed pipe ends the dump. */
        if (ferror(stdout))
            break;
    }
    pc_scan_close(s);
    pc_close(r);
    if (rc != PC_OK) {
        char object[PC_CHAIN_MAX + 16];
        snprintf(object, sizeof object, "chain %s", chain);
        return pc_cli_fail(object, rc);
    }
    e = pc_cli_finish();
    return e ? e : changed ? EXIT_ERROR : EXIT_OK;
}
