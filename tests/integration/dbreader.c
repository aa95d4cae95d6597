/* dbreader.c - a reader that keeps reading one chain while the database fails under the daemon, until told to stop: every answer must be one whole version, and nothing already seen may come back older.
 *
 *   dbreader DIR CHAIN NITEMS STOPFILE
 *
 * Every item gN of the chain carries the same price, the "generation",
 * which the scenario raises now and then.  Each round reads every item
 * with one pc_get_many (one version) and the chain's metadata: a round
 * that sees two prices is mixed, one whose generation or version is below
 * one already seen has lost something published, any other error counts.
 * After the first good round it creates STOPFILE.started; once STOPFILE
 * exists it prints
 *   checks=N mixed=M older=O errors=E generation=G version=V
 * and exits 1 if M, O or E is not 0 or no round ran. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pricecache.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: dbreader DIR CHAIN NITEMS STOPFILE\n");
        return 2;
    }
    const char *dir = argv[1], *chain = argv[2], *stop = argv[4];
    int n = atoi(argv[3]);
    if (n <= 0)
        return 2;
    char **items = calloc((size_t)n, sizeof *items);
    pc_price *out = calloc((size_t)n, sizeof *out);
    int *st = calloc((size_t)n, sizeof *st);
    if (!items || !out || !st)
        return 2;
    for (int i = 0; i < n; i++) {
        items[i] = malloc(16);
        snprintf(items[i], 16, "g%d", i);
    }
    char started[4096];
    snprintf(started, sizeof started, "%s.started", stop);
    pc_reader *r;
    int rc = pc_open(dir, &r);
    if (rc != PC_OK) {
        fprintf(stderr, "dbreader: pc_open %s: %s\n", dir, pc_strerror(rc));
        return 1;
    }
    uint64_t checks = 0, mixed = 0, older = 0, errors = 0, version = 0;
    int64_t gen = 0;
    int told = 0;
    for (long round = 0; access(stop, F_OK) != 0; round++) {
        const char *store = (round & 1) ? "s1" : ""; /* no exception: the base price */
        rc = pc_get_many(r, chain, store, (size_t)n, (const char *const *)items, out, st);
        pc_chain_meta m;
        int mrc = pc_chain_info(r, chain, &m);
        checks++;
        if (rc != PC_OK || mrc != PC_OK) {
            if (errors++ < 5)
                fprintf(stderr, "dbreader: %s\n", pc_strerror(rc != PC_OK ? rc : mrc));
            continue;
        }
        int bad = 0;
        for (int i = 0; i < n && !bad; i++) {
            if (st[i] != PC_OK) {
                if (errors++ < 5)
                    fprintf(stderr, "dbreader: item %s: %s\n", items[i], pc_strerror(st[i]));
                bad = 1;
            } else if (out[i].cents != out[0].cents) {
                if (mixed++ < 5)
                    fprintf(stderr, "dbreader: mixed: %s %" PRId64 ", %s %" PRId64 "\n",
                            items[0], out[0].cents, items[i], out[i].cents);
                bad = 1;
            }
        }
        if (bad)
            continue;
        if (out[0].cents < gen || m.version < version) {
            if (older++ < 5)
                fprintf(stderr, "dbreader: older: generation %" PRId64 " after %" PRId64
                        ", version %" PRIu64 " after %" PRIu64 "\n",
                        out[0].cents, gen, m.version, version);
            continue;
        }
        gen = out[0].cents;
        version = m.version;
        if (!told) {
            FILE *f = fopen(started, "w");
            if (f)
                fclose(f);
            told = 1;
        }
        /* Pacing, not waiting: leave the two cores to the daemon. */
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    pc_close(r);
    printf("checks=%" PRIu64 " mixed=%" PRIu64 " older=%" PRIu64 " errors=%" PRIu64
           " generation=%" PRId64 " version=%" PRIu64 "\n", checks, mixed, older, errors, gen,
           version);
    for (int i = 0; i < n; i++)
        free(items[i]);
    free(items);
    free(out);
    free(st);
    return mixed || older || errors || !told ? 1 : 0;
}
