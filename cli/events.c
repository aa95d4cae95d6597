/* events.c - `pricecache events`: follow the daemon's bus, one human-readable line per event. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pricecache.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int pc_cli_events(int argc, char **argv)
{
    const char *given = NULL;
    long count = -1, timeout_ms = -1;
    int beats = 0, i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        char *end;
        if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
            given = argv[++i];
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            count = strtol(argv[++i], &end, 10);
            if (*end || count <= 0)
                return -1;
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            timeout_ms = strtol(argv[++i], &end, 10);
            if (*end || timeout_ms < 0)
                return -1;
        } else if (strcmp(argv[i], "--heartbeats") == 0) {
            beats = 1;
        } else {
            return -1;
        }
    }
    /* -a, else $PRICECACHE_EVENTS, else the address the daemon announced
     * in the cache (as status does), else the default.  An empty -a is
     * passed on as given, for pc_sub_open to refuse. */
    char addr[1024] = "";
    if ((!given || *given) &&
        pc_bus_resolve(pc_cli_dir(), PC_BUS_EVENTS, given, 0, addr, sizeof addr, NULL) != PC_OK)
        snprintf(addr, sizeof addr, "%s", given ? given : "");
    /* A bad chain is named as such (pc_sub_open's PC_EINVAL was reported
     * against the address). */
    for (int k = i; k < argc; k++)
        if (!pc_cli_slug_ok(argv[k])) {
            fprintf(stderr, "pricecache: events: chain \"%s\": %s (expected [a-z0-9_-]{1,%d})\n",
                    argv[k], pc_strerror(PC_EINVAL), PC_CHAIN_MAX);
            return 2;
        }
    pc_sub *s;
    int rc = pc_sub_open(addr, (const char *const *)argv + i, (size_t)(argc - i), &s);
    if (rc != PC_OK) {
        fprintf(stderr, "pricecache: events %s: %s\n", addr, pc_strerror(rc));
        return rc == PC_EINVAL ? 2 : 5;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long shown = 0;
    int exit_code = 0;
    while (!stop && (count < 0 || shown < count)) {
        long wait = 200;
        if (timeout_ms >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (el >= timeout_ms) {
                exit_code = 4;
                break;
            }
            if (timeout_ms - el < wait)
                wait = timeout_ms - el;
        }
        pc_event e;
        rc = pc_sub_next(s, (int)wait, &e);
        if (rc == PC_ETIMEDOUT)
            continue;
        if (rc == PC_EFORMAT) {
            fprintf(stderr, "pricecache: events: a malformed message was dropped\n");
            continue;
        }
        if (rc != PC_OK) {
            fprintf(stderr, "pricecache: events: %s\n", pc_strerror(rc));
            exit_code = 5;
            break;
        }
        if (e.kind == PC_EV_HEARTBEAT && !beats)
            continue;
        time_t t = (time_t)(e.ts_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        printf("%s.%03dZ %-9s %-20s seq=%" PRIu64 " version=%" PRIu64 " value=%" PRIu32
               " %s\n", when, (int)(e.ts_ms % 1000), pc_event_kind_name(e.kind),
               e.chain[0] ? e.chain : "*", e.seq, e.version, e.value, e.text);
        shown++;
    }
    pc_sub_close(s);
    return exit_code;
}
