/* consistency.c - readers that check a chain-wide invariant while the daemon republishes.
 *
 * Every item of the chain carries the same "generation" price; the test
 * updates all of them at once in PostgreSQL, over and over.  A reader that
 * ever sees two generations in one pc_get_many call has seen a mixed
 * version.
 *
 *   consistency DIR CHAIN NITEMS watch THREADS PROCS SECONDS
 *       -> "checks=N mixed=M generations=G errors=E"; exit 1 if M or E > 0
 *   consistency DIR CHAIN NITEMS check
 *       -> one-shot: all items found, equal, and as many as base_rows
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pricecache.h"

static const char *dir, *chain;
static int nitems, seconds;
static char **items;

typedef struct result {
    uint64_t checks, mixed, errors;
    int64_t  gens[64];
    int      ngens;
} result;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note_gen(result *r, int64_t g)
{
    for (int i = 0; i < r->ngens; i++)
        if (r->gens[i] == g)
            return;
    if (r->ngens < 64)
        r->gens[r->ngens++] = g;
}

/* One pc_get_many over every item; returns the generation, or -1 mixed,
 * -2 error. */
static int64_t check_once(pc_reader *rd, const char *store, pc_price *out, int *st)
{
    int rc = pc_get_many(rd, chain, store, (size_t)nitems, (const char *const *)items, out, st);
    if (rc != PC_OK) {
        fprintf(stderr, "pc_get_many: %s\n", pc_strerror(rc));
        return -2;
    }
    for (int i = 0; i < nitems; i++) {
        if (st[i] != PC_OK) {
            fprintf(stderr, "item %s: %s\n", items[i], pc_strerror(st[i]));
            return -2;
        }
        if (out[i].cents != out[0].cents) {
            fprintf(stderr, "mixed: item %s has %" PRId64 ", item %s has %" PRId64 "\n",
                    items[0], out[0].cents, items[i], out[i].cents);
            return -1;
        }
    }
    return out[0].cents;
}

static pc_reader *shared;

static void *watch_thread(void *arg)
{
    result *r = arg;
    pc_price *out = malloc((size_t)nitems * sizeof *out);
    int *st = malloc((size_t)nitems * sizeof *st);
    double end = now_s() + seconds;
    int k = 0;
    while (now_s() < end) {
        int64_t g = check_once(shared, (k++ & 1) ? "s1" : "", out, st);
        r->checks++;
        if (g == -1)
            r->mixed++;
        else if (g == -2)
            r->errors++;
        else
            note_gen(r, g);
    }
    free(out);
    free(st);
    return NULL;
}

static int watch(int threads, result *total)
{
    if (pc_open(dir, &shared) != PC_OK) {
        fprintf(stderr, "pc_open failed\n");
        return 1;
    }
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    result *rs = calloc((size_t)threads, sizeof *rs);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, watch_thread, &rs[i]);
    memset(total, 0, sizeof *total);
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total->checks += rs[i].checks;
        total->mixed += rs[i].mixed;
        total->errors += rs[i].errors;
        for (int g = 0; g < rs[i].ngens; g++)
            note_gen(total, rs[i].gens[g]);
    }
    free(t);
    free(rs);
    pc_close(shared);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: consistency DIR CHAIN NITEMS check|watch THREADS PROCS SECONDS\n");
        return 2;
    }
    dir = argv[1];
    chain = argv[2];
    nitems = atoi(argv[3]);
    items = calloc((size_t)nitems, sizeof *items);
    for (int i = 0; i < nitems; i++) {
        items[i] = malloc(16);
        snprintf(items[i], 16, "g%d", i);
    }
    int rc = 0;
    if (strcmp(argv[4], "check") == 0) {
        pc_reader *rd;
        if (pc_open(dir, &rd) != PC_OK) {
            fprintf(stderr, "pc_open failed\n");
            return 1;
        }
        pc_price *out = malloc((size_t)nitems * sizeof *out);
        int *st = malloc((size_t)nitems * sizeof *st);
        pc_chain_meta m;
        int64_t g = check_once(rd, "", out, st);
        int64_t gs = check_once(rd, "s1", out, st);
        if (pc_chain_info(rd, chain, &m) != PC_OK || (int)m.base_rows != nitems) {
            fprintf(stderr, "base_rows %" PRIu64 " != %d\n", m.base_rows, nitems);
            rc = 1;
        }
        if (g < 0 || gs != g)
            rc = 1;
        printf("generation=%" PRId64 " version=%" PRIu64 "\n", g, m.version);
        free(out);
        free(st);
        pc_close(rd);
    } else if (argc == 8 && strcmp(argv[4], "watch") == 0) {
        int threads = atoi(argv[5]), procs = atoi(argv[6]);
        seconds = atoi(argv[7]);
        int fds[64][2];
        pid_t pids[64];
        for (int p = 0; p < procs && p < 64; p++) {
            if (pipe(fds[p]) != 0)
                return 1;
            pids[p] = fork();
            if (pids[p] == 0) {
                result r;
                watch(threads, &r);
                if (write(fds[p][1], &r, sizeof r) != (ssize_t)sizeof r)
                    _exit(1);
                _exit(0);
            }
            close(fds[p][1]);
        }
        result total, mine;
        watch(threads, &total);
        for (int p = 0; p < procs && p < 64; p++) {
            if (read(fds[p][0], &mine, sizeof mine) != (ssize_t)sizeof mine) {
                total.errors++;
            } else {
                total.checks += mine.checks;
                total.mixed += mine.mixed;
                total.errors += mine.errors;
                for (int g = 0; g < mine.ngens; g++)
                    note_gen(&total, mine.gens[g]);
            }
            int status;
            waitpid(pids[p], &status, 0);
            close(fds[p][0]);
        }
        printf("checks=%" PRIu64 " mixed=%" PRIu64 " generations=%d errors=%" PRIu64 "\n",
               total.checks, total.mixed, total.ngens, total.errors);
        rc = total.mixed || total.errors ? 1 : 0;
    } else {
        fprintf(stderr, "bad arguments\n");
        rc = 2;
    }
    for (int i = 0; i < nitems; i++)
        free(items[i]);
    free(items);
    return rc;
}
