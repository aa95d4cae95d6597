/* basket.c - the CLI's basket command: price a shopping list from stdin at one store or the cheapest few. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pricecache.h"

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
        } else if ((e = pc_cli_check_id("item", item, 0)) == EXIT_OK) {
            if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                pc_basket_item *ni = realloc(b->items, cap * sizeof *ni);
                if (!ni) {
                    e = pc_cli_fail("basket", PC_ENOMEM);
                    break;
                }
                b->items = ni;
                b->cap = cap;
            }
            char *copy = strdup(item);
            if (!copy) {
                e = pc_cli_fail("basket", PC_ENOMEM);
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

int pc_cli_basket(int argc, char **argv)
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
    int e = pc_cli_check_chain(chain);
    for (size_t s = 0; e == EXIT_OK && s < nstores; s++)
        e = pc_cli_check_id("store", stores[s], nstores == 1);
    if (e)
        return e;
    basket_in in = { NULL, 0, 0 };
    pc_reader *r = NULL;
    if ((e = read_basket(stdin, &in)) == EXIT_OK)
        e = pc_cli_open(&r);
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
        return pc_cli_fail(rc == PC_ENOCHAIN ? object : "basket", rc);
    }
    if (json)
        basket_json(chain, res);
    else
        basket_table(chain, res);
    pc_basket_free(res);
    return pc_cli_finish();
}

