/* bench_keyfile.c - the C baseline for the bindings' benchmarks: pc_get over the lookups of a KEYS file, and 30-item baskets from it.
 *
 *   bench_keyfile CACHE CHAIN KEYS [ROUNDS]
 *       time pc_get over every lookup of KEYS (lines STORE<TAB>ITEM, store
 *       may be empty), then pc_basket_single on 30-line baskets made of
 *       consecutive KEYS lines (the store of the first line, qty 1 + i % 3):
 *       prints "C pc_get: N ns/call" and "C basket30: N ns/basket" (median
 *       of ROUNDS, default 5, after one warm-up pass).
 *   bench_keyfile --write-keys CACHE CHAIN N KEYS
 *       draw N lookups of CHAIN as bench_get and bench_rtt do (bench_keys.h:
 *       same generator, seed and mix) and write them to KEYS.
 *   bench_keyfile --write-dump CACHE CHAIN DUMP
 *       write every price of CHAIN from one version: STORE<TAB>ITEM<TAB>CENTS
 *       (store empty for base prices), for the bindings' in-process maps.
 *
 * Each binding's bench.sh times its own Get and basket over the same files,
 * alternating with this program round by round, and reports the ratio.
 * Generated ids hold no tab or newline; an id that does is refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_keys.h"

#define BASKET_ITEMS 30
#define MAX_BASKETS  4000

static volatile int64_t sink;

static int usage(void)
{
    fprintf(stderr, "usage: bench_keyfile CACHE CHAIN KEYS [ROUNDS]\n"
                    "       bench_keyfile --write-keys CACHE CHAIN N KEYS\n"
                    "       bench_keyfile --write-dump CACHE CHAIN DUMP\n");
    return 2;
}

static pc_reader *open_cache(const char *dir)
{
    pc_reader *r;
    int rc = pc_open(dir, &r);
    if (rc != PC_OK) {
        fprintf(stderr, "bench_keyfile: %s: %s\n", dir, pc_strerror(rc));
        exit(1);
    }
    return r;
}

static FILE *create(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_keyfile: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static void finish(FILE *f, const char *path)
{
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "bench_keyfile: %s: write failed\n", path);
        exit(1);
    }
}

static int clean_id(const char *s, size_t n)
{
    return !memchr(s, '\t', n) && !memchr(s, '\n', n);
}

static int write_keys(const char *dir, const char *chain, const char *nstr, const char *path)
{
    size_t n = strtoull(nstr, NULL, 10), nitems, npairs;
    if (n == 0)
        return usage();
    pc_reader *r = open_cache(dir);
    bk_lookup *lk = bk_draw("bench_keyfile", r, chain, n, &nitems, &npairs);
    if (!lk)
        return 1;
    FILE *f = create(path);
    for (size_t i = 0; i < n; i++) {
        if (!clean_id(lk[i].store, strlen(lk[i].store)) || !clean_id(lk[i].item, strlen(lk[i].item))) {
            fprintf(stderr, "bench_keyfile: an id holds a tab or newline\n");
            return 1;
        }
        fprintf(f, "%s\t%s\n", lk[i].store, lk[i].item);
    }
    finish(f, path);
    free(lk);
    pc_close(r);
    return 0;
}

static int on_dump(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    FILE *f = ctx;
    size_t slen = k->kind == PC_KEY_BASE ? 0 : k->slen;
    if (!clean_id(k->item, k->ilen) || (slen && !clean_id(k->store, slen)))
        return PC_EINVAL;
    fprintf(f, "%.*s\t%.*s\t%lld\n", (int)slen, slen ? k->store : "", (int)k->ilen, k->item,
            (long long)v->cents);
    return 0;
}

static int write_dump(const char *dir, const char *chain, const char *path)
{
    pc_reader *r = open_cache(dir);
    FILE *f = create(path);
    int rc = pc_reader_scan(r, chain, on_dump, f);
    if (rc != PC_OK) {
        fprintf(stderr, "bench_keyfile: dump of %s: %s\n", chain,
                rc == PC_EINVAL ? "an id holds a tab or newline" : pc_strerror(rc));
        return 1;
    }
    finish(f, path);
    pc_close(r);
    return 0;
}

static bk_lookup *read_keys(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_keyfile: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    bk_lookup *lk = NULL;
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = 0;
        char *tab = strchr(line, '\t');
        if (!tab || (size_t)(tab - line) > PC_ID_MAX || strlen(tab + 1) > PC_ID_MAX) {
            fprintf(stderr, "bench_keyfile: %s:%zu: not STORE<TAB>ITEM\n", path, *n + 1);
            exit(1);
        }
        if (bk_grow((void **)&lk, &cap, *n, sizeof *lk))
            exit(1);
        *tab = 0;
        strcpy(lk[*n].store, line);
        strcpy(lk[*n].item, tab + 1);
        ++*n;
    }
    free(line);
    fclose(f);
    if (*n < BASKET_ITEMS) {
        fprintf(stderr, "bench_keyfile: %s: fewer than %d lookups\n", path, BASKET_ITEMS);
        exit(1);
    }
    return lk;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--write-keys") == 0)
        return write_keys(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 5 && strcmp(argv[1], "--write-dump") == 0)
        return write_dump(argv[2], argv[3], argv[4]);
    if (argc < 4 || argc > 5 || argv[1][0] == '-')
        return usage();
    const char *chain = argv[2];
    int rounds = argc > 4 ? atoi(argv[4]) : 5;
    if (rounds < 1 || rounds > 1000)
        return usage();
    pc_reader *r = open_cache(argv[1]);
    size_t n;
    bk_lookup *lk = read_keys(argv[3], &n);
    size_t nb = n / BASKET_ITEMS < MAX_BASKETS ? n / BASKET_ITEMS : MAX_BASKETS;
    pc_basket_item *items = calloc(nb * BASKET_ITEMS, sizeof *items);
    double *tg = calloc((size_t)rounds, sizeof *tg), *tb = calloc((size_t)rounds, sizeof *tb);
    if (!items || !tg || !tb)
        return 1;
    for (size_t i = 0; i < nb * BASKET_ITEMS; i++)
        items[i] = (pc_basket_item){ lk[i].item, 1 + (int64_t)(i % BASKET_ITEMS % 3) };
    for (int round = -1; round < rounds; round++) { /* round -1 warms up */
        double t0 = bk_now_ns();
        for (size_t i = 0; i < n; i++) {
            pc_price p;
            int rc = pc_get(r, chain, lk[i].store, lk[i].item, &p);
            if (rc == PC_OK)
                sink += p.cents;
            else if (rc != PC_NOTFOUND) {
                fprintf(stderr, "bench_keyfile: pc_get %s/%s: %s\n", lk[i].store, lk[i].item,
                        pc_strerror(rc));
                return 1;
            }
        }
        double t1 = bk_now_ns();
        for (size_t b = 0; b < nb; b++) {
            pc_basket_result *res;
            int rc = pc_basket_single(r, chain, lk[b * BASKET_ITEMS].store,
                                      items + b * BASKET_ITEMS, BASKET_ITEMS, NULL, &res);
            if (rc != PC_OK) {
                fprintf(stderr, "bench_keyfile: pc_basket_single: %s\n", pc_strerror(rc));
                return 1;
            }
            sink += res->total_cents;
            pc_basket_free(res);
        }
        double t2 = bk_now_ns();
        if (round >= 0) {
            tg[round] = (t1 - t0) / (double)n;
            tb[round] = (t2 - t1) / (double)nb;
        }
    }
    qsort(tg, (size_t)rounds, sizeof *tg, cmp_d);
    qsort(tb, (size_t)rounds, sizeof *tb, cmp_d);
    printf("C pc_get: %.1f ns/call (%zu lookups, median of %d rounds)\n", tg[rounds / 2], n, rounds);
    printf("C basket30: %.0f ns/basket (%zu baskets of %d lines, median of %d rounds)\n",
           tb[rounds / 2], nb, BASKET_ITEMS, rounds);
    free(items);
    free(tg);
    free(tb);
    free(lk);
    pc_close(r);
    return 0;
}
