/* bench_events.c - event latency: from a publish's commit to a subscriber holding its event, with the daemon's own store, PUB socket and the public subscriber.
 *
 *   bench_events [PUBLISHES] [GAP_US]
 *
 * One process: the daemon's store (daemon/store.c) publishes a small chain
 * again and again, each time changing one price; right after each commit
 * the daemon's events module (daemon/events.c) sends the publish event, as
 * the loader does; a thread follows the chain with pc_sub_next over ipc://.
 * Latency = the subscriber's receipt - the end of the commit (one monotonic
 * clock).  Publishes are GAP_US apart (default 1000), a realistic rate, not
 * a flood.  Prints p50 / p99 / max and how many events were not received. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "events.h"
#include "log.h"
#include "snapshot.h"
#include "store.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t *sent_at, *recv_at;
static size_t npub;
static char addr[128];
static atomic_int ready, done;

static void *follow(void *arg)
{
    (void)arg;
    const char *only[] = { "bench" };
    pc_sub *s;
    if (pc_sub_open(addr, only, 1, &s) != PC_OK) {
        fprintf(stderr, "bench_events: cannot subscribe to %s\n", addr);
        exit(1);
    }
    while (!atomic_load(&done)) {
        pc_event e;
        if (pc_sub_next(s, 50, &e) != PC_OK)
            continue;
        uint64_t t = now_ns();
        if (e.kind != PC_EV_PUBLISH)
            continue;
        if (e.value == UINT32_MAX) { /* warm-up: the subscription is through */
            atomic_store(&ready, 1);
            continue;
        }
        if (e.value < npub)
            recv_at[e.value] = t;
    }
    pc_sub_close(s);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int publish(pcd_store *st, int64_t price)
{
    pcd_snapshot s;
    pcd_snapshot_init(&s, "bench");
    char id[16];
    for (int k = 0; k < 1000; k++) {
        int len = snprintf(id, sizeof id, "i%04d", k);
        pcd_snapshot_add(&s, NULL, 0, id, (size_t)len, k == 0 ? price : 100 + k, 1700000000);
    }
    pcd_snapshot_finish(&s);
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    pcd_publish_stats ps;
    char err[256];
    int rc = pcd_store_publish(st, &s, &m, &ps, err, sizeof err);
    pcd_snapshot_free(&s);
    if (rc != PC_OK)
        fprintf(stderr, "bench_events: publish: %s\n", err);
    return rc == PC_OK ? (int)ps.version : -1;
}

int main(int argc, char **argv)
{
    npub = argc > 1 ? strtoul(argv[1], NULL, 10) : 500;
    long gap_us = argc > 2 ? atol(argv[2]) : 1000;
    if (npub == 0 || npub >= UINT32_MAX) {
        fprintf(stderr, "usage: bench_events [PUBLISHES] [GAP_US]\n");
        return 2;
    }
    atomic_store(&pcd_log_level, PCD_LOG_WARN);
    char dir[] = "/tmp/pcbench-events.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    pcd_config cfg;
    pcd_config_defaults(&cfg);
    cfg.path = strdup(dir);
    cfg.dsn = strdup("dbname=unused");
    char err[256];
    pcd_store *st;
    pcd_events *ev;
    snprintf(addr, sizeof addr, "ipc://%s/events.ipc", dir);
    if (pcd_store_open(&cfg, &st, err, sizeof err) != PC_OK ||
        pcd_events_open(addr, &ev, err, sizeof err) != PC_OK) {
        fprintf(stderr, "bench_events: %s\n", err);
        return 1;
    }
    sent_at = calloc(npub, sizeof *sent_at);
    recv_at = calloc(npub, sizeof *recv_at);
    pthread_t t;
    pthread_create(&t, NULL, follow, NULL);
    /* PUB drops for a subscriber that is not connected yet. */
    for (int i = 0; i < 5000 && !atomic_load(&ready); i++) {
        pcd_events_send(ev, PC_EV_PUBLISH, "bench", 0, UINT32_MAX, "warm-up");
        usleep(1000);
    }
    if (!atomic_load(&ready)) {
        fprintf(stderr, "bench_events: the subscriber never connected\n");
        return 1;
    }
    for (size_t i = 0; i < npub; i++) {
        int v = publish(st, (int64_t)i);
        if (v < 0)
            return 1;
        sent_at[i] = now_ns(); /* the commit is done: this is when readers see it */
        pcd_events_send(ev, PC_EV_PUBLISH, "bench", (uint64_t)v, (uint32_t)i, "bench");
        if (gap_us > 0)
            usleep((useconds_t)gap_us);
    }
    usleep(200000);
    atomic_store(&done, 1);
    pthread_join(t, NULL);
    uint64_t *lat = calloc(npub, sizeof *lat);
    size_t n = 0;
    for (size_t i = 0; i < npub; i++)
        if (recv_at[i])
            lat[n++] = recv_at[i] - sent_at[i];
    qsort(lat, n, sizeof *lat, cmp_u64);
    if (n == 0) {
        fprintf(stderr, "bench_events: no event received\n");
        return 1;
    }
    printf("%zu publishes %ld us apart, 1,000-row chain, ipc://: event latency from commit to "
           "subscriber (us): p50 %.1f  p99 %.1f  max %.1f; %zu not received\n",
           npub, gap_us, (double)lat[n / 2] / 1e3, (double)lat[(n * 99) / 100] / 1e3,
           (double)lat[n - 1] / 1e3, npub - n);
    pcd_events_close(ev);
    pcd_store_close(st);
    pcd_config_free(&cfg);
    free(lat);
    free(sent_at);
    free(recv_at);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
