/* lockreader.c - a reader process for scenario fault_lock_corrupt: reads a chain whole, over and over, from a long-lived thread and from a new thread every few milliseconds (each takes a new LMDB reader slot), while the test writes bytes into lock.mdb.
 *
 *   lockreader DIR CHAIN NITEMS SECONDS [STOPFILE]
 *
 * It stops after SECONDS, or once STOPFILE exists.
 *
 * Each read is one pc_get_many over every item; every item of the chain
 * carries the same generation price, so two prices in one call are a
 * mixed version.  A refusal (PC_EFORMAT) is counted with its sentence
 * (pc_errdetail); any other failure is an error.  Prints
 *   "reads=N refused=R mixed=M errors=E threads=T generations=G"
 * and one "detail: ..." line per distinct sentence (the numbers in it
 * removed), and exits 1 when M or E > 0.  Dying by a signal is the
 * failure this scenario looks for.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pricecache.h"

static const char *chain;
static int nitems;
static char **items;
static pc_reader *rd;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t reads, refused, mixed, errors, threads;
static int64_t gens[256];
static int ngens;
static char details[8][200];
static int ndetails;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The sentence's words without its numbers: one line per kind. */
static void note_detail(const char *d)
{
    char k[200];
    size_t n = 0;
    for (const char *p = d; *p && n + 1 < sizeof k; p++)
        if (!(*p >= '0' && *p <= '9'))
            k[n++] = *p;
    k[n] = 0;
    for (int i = 0; i < ndetails; i++)
        if (strcmp(details[i], k) == 0)
            return;
    if (ndetails < 8) {
        snprintf(details[ndetails++], sizeof details[0], "%s", k);
        fprintf(stderr, "first refusal of its kind: %s\n", d);
    }
}

static void read_once(pc_price *out, int *st)
{
    int rc = pc_get_many(rd, chain, NULL, (size_t)nitems, (const char *const *)items, out, st);
    const char *detail = rc == PC_OK ? NULL : pc_errdetail(rc);
    int64_t g = -1;
    int bad = 0;
    if (rc == PC_OK) {
        for (int i = 0; i < nitems; i++) {
            if (st[i] != PC_OK) {
                bad = 2;
                break;
            }
            if (i == 0)
                g = out[i].cents;
            else if (out[i].cents != g)
                bad = 1;
        }
    }
    pthread_mutex_lock(&mu);
    reads++;
    if (rc == PC_EFORMAT) {
        refused++;
        note_detail(detail);
    } else if (rc != PC_OK) {
        errors++;
        fprintf(stderr, "pc_get_many: %s\n", detail);
    } else if (bad == 1) {
        mixed++;
    } else if (bad == 2) {
        errors++;
    } else {
        int known = 0;
        for (int i = 0; i < ngens; i++)
            known |= gens[i] == g;
        if (!known && ngens < 256)
            gens[ngens++] = g;
    }
    pthread_mutex_unlock(&mu);
}

static void *one_read(void *arg)
{
    (void)arg;
    pc_price *out = calloc((size_t)nitems, sizeof *out);
    int *st = calloc((size_t)nitems, sizeof *st);
    if (out && st)
        read_once(out, st);
    free(out);
    free(st);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: lockreader DIR CHAIN NITEMS SECONDS [STOPFILE]\n");
        return 2;
    }
    chain = argv[2];
    nitems = atoi(argv[3]);
    double seconds = atof(argv[4]);
    items = calloc((size_t)nitems, sizeof *items);
    for (int i = 0; i < nitems; i++) {
        items[i] = malloc(16);
        snprintf(items[i], 16, "g%d", i);
    }
    int rc = pc_open(argv[1], &rd);
    if (rc != PC_OK) {
        fprintf(stderr, "pc_open: %s\n", pc_errdetail(rc));
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    pc_price *out = calloc((size_t)nitems, sizeof *out);
    int *st = calloc((size_t)nitems, sizeof *st);
    double end = now_s() + seconds, next_thread = 0;
    const char *stop = argc == 6 ? argv[5] : NULL;
    for (unsigned loop = 0; now_s() < end; loop++) {
        if (stop && loop % 64 == 0 && access(stop, F_OK) == 0)
            break;
        read_once(out, st);
        if (now_s() >= next_thread) {
            /* A thread of its own: its first call takes a reader slot. */
            pthread_t t;
            if (pthread_create(&t, NULL, one_read, NULL) == 0) {
                pthread_join(t, NULL);
                threads++;
            }
            next_thread = now_s() + 0.01;
        }
        usleep(500);
    }
    pc_close(rd);
    printf("reads=%" PRIu64 " refused=%" PRIu64 " mixed=%" PRIu64 " errors=%" PRIu64
           " threads=%" PRIu64 " generations=%d\n", reads, refused, mixed, errors, threads,
           ngens);
    for (int i = 0; i < ndetails; i++)
        printf("detail: %s\n", details[i]);
    free(out);
    free(st);
    for (int i = 0; i < nitems; i++)
        free(items[i]);
    free(items);
    return mixed || errors ? 1 : 0;
}
