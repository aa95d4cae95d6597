/* evprobe.c - the events API at its edges, for scenario contract_ops_events.
 *   evprobe api ADDR               argument checks and pc_sub_next timeouts
 *                                  (0, positive) on a chain that never speaks
 *   evprobe collect ADDR SECS KIND...
 *                                  subscribe to every chain, wait on pc_sub_fd
 *                                  with epoll, print each event, exit 0 once
 *                                  every KIND (publish, breaker, failed,
 *                                  refused, removed, resync, heartbeat) came,
 *                                  1 at SECS.  Touches ADDR's "ready" file
 *                                  ($EVPROBE_READY) once subscribed. */
#include <pricecache.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

static int failures;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "evprobe: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int api(const char *addr)
{
    pc_sub *s = (pc_sub *)1;
    pc_event ev;
    const char *one[] = { "acme" };
    const char *bad[] = { "ACME" };
    const char *nul[] = { NULL };
    char s65[66];
    memset(s65, 'a', 65);
    s65[65] = 0;
    const char *long65[] = { s65 };
    CHECK(pc_sub_open(NULL, one, 1, &s) == PC_EINVAL);
    CHECK(pc_sub_open(addr, one, 1, NULL) == PC_EINVAL);
    CHECK(pc_sub_open(addr, NULL, 1, &s) == PC_EINVAL && s == NULL);
    CHECK(pc_sub_open(addr, nul, 1, &s) == PC_EINVAL);
    CHECK(pc_sub_open(addr, bad, 1, &s) == PC_EINVAL);
    CHECK(pc_sub_open(addr, long65, 1, &s) == PC_EINVAL);
    CHECK(pc_sub_open("", one, 1, &s) != PC_OK);
    CHECK(pc_sub_open("nosuchscheme://x", one, 1, &s) == PC_EINVAL);
    CHECK(pc_sub_next(NULL, 0, &ev) == PC_EINVAL);
    CHECK(pc_sub_fd(NULL) == -1);
    pc_sub_close(NULL);
    /* A chain nobody has: no event, timeouts kept. */
    const char *none[] = { "no-such-chain" };
    CHECK(pc_sub_open(addr, none, 1, &s) == PC_OK);
    CHECK(pc_sub_fd(s) >= 0);
    CHECK(pc_sub_next(s, 0, NULL) == PC_EINVAL);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc;
    /* Heartbeats on "*" (no chain) come to every subscriber: skip them. */
    while ((rc = pc_sub_next(s, 0, &ev)) == PC_OK)
        CHECK(ev.chain[0] == 0);
    CHECK(rc == PC_ETIMEDOUT);
    CHECK(ms_since(&t0) < 50);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((rc = pc_sub_next(s, 300, &ev)) == PC_OK && ms_since(&t0) < 300)
        CHECK(ev.chain[0] == 0);
    long el = ms_since(&t0);
    CHECK(rc == PC_ETIMEDOUT || el >= 300);
    CHECK(el >= 290 && el < 1500);
    pc_sub_close(s);
    /* 64-char slug and many chains: fine. */
    char s64[65];
    memset(s64, 'b', 64);
    s64[64] = 0;
    const char **many = calloc(1000, sizeof *many);
    char (*names)[16] = calloc(1000, sizeof *names);
    for (int i = 0; i < 999; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        many[i] = names[i];
    }
    many[999] = s64;
    CHECK(pc_sub_open(addr, many, 1000, &s) == PC_OK);
    pc_sub_close(s);
    free(many);
    free(names);
    /* Closed while nothing arrives, right after opening. */
    CHECK(pc_sub_open(addr, NULL, 0, &s) == PC_OK);
    pc_sub_close(s);
    return failures ? 1 : 0;
}

static int collect(const char *addr, int secs, int nwant, char **want)
{
    pc_sub *s;
    if (pc_sub_open(addr, NULL, 0, &s) != PC_OK) {
        fprintf(stderr, "evprobe: cannot subscribe to %s\n", addr);
        return 2;
    }
    int ep = epoll_create1(0);
    struct epoll_event e = { .events = EPOLLIN };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pc_sub_fd(s), &e) != 0) {
        fprintf(stderr, "evprobe: epoll on pc_sub_fd failed\n");
        return 2;
    }
    const char *ready = getenv("EVPROBE_READY");
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (f)
            fclose(f);
    }
    int got[PC_EV__COUNT] = { 0 };
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int missing = 0;
        for (int i = 0; i < nwant; i++) {
            int k = -1;
            for (int j = 0; j < PC_EV__COUNT; j++)
                if (strcmp(want[i], pc_event_kind_name(j)) == 0)
                    k = j;
            if (k < 0 || !got[k])
                missing++;
        }
        if (!missing)
            break;
        if (ms_since(&t0) > secs * 1000L) {
            fprintf(stderr, "evprobe: %d kinds missing after %d s\n", missing, secs);
            return 1;
        }
        struct epoll_event out;
        epoll_wait(ep, &out, 1, 100);
        pc_event ev;
        int rc;
        while ((rc = pc_sub_next(s, 0, &ev)) == PC_OK) {
            got[ev.kind]++;
            if (ev.kind != PC_EV_HEARTBEAT || ev.chain[0] == 0)
                printf("%s %s seq=%llu version=%llu value=%u %s\n", pc_event_kind_name(ev.kind),
                       ev.chain[0] ? ev.chain : "-", (unsigned long long)ev.seq,
                       (unsigned long long)ev.version, ev.value, ev.text);
            fflush(stdout);
        }
        if (rc != PC_ETIMEDOUT && rc != PC_EFORMAT) {
            fprintf(stderr, "evprobe: pc_sub_next: %s\n", pc_strerror(rc));
            return 1;
        }
    }
    pc_sub_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "api") == 0)
        return api(argv[2]);
    if (argc >= 5 && strcmp(argv[1], "collect") == 0)
        return collect(argv[2], atoi(argv[3]), argc - 4, argv + 4);
    fprintf(stderr, "usage: evprobe api ADDR | evprobe collect ADDR SECS KIND...\n");
    return 2;
}
