/* bench_rss.h - bench_load's memory figures: a pricecached run in a process of its own, its peak private and total memory sampled from /proc while it loads. */
#ifndef PC_BENCH_RSS_H
#define PC_BENCH_RSS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pricecache.h"

static double now_s(void);
static void die(const char *what, const char *why);

typedef struct rss {
    double wall;           /* seconds */
    long   maxrss_kb;      /* getrusage of the child: peak resident */
    long   anon_kb;        /* highest RssAnon sampled: its private memory */
    long   file_kb;        /* highest RssFile sampled: pages of the cache
                              file it mapped (the page cache, shared) */
} rss;

static long status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* bench_load --spawn DAEMON CONF: run `DAEMON -c CONF --once`, print
 * "wall maxrss_kb anon_kb file_kb"; exit 1 when it failed. */
static int spawn_main(const char *daemon, const char *conf)
{
    rss r = { 0, 0, 0, 0 };
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_load: fork");
        return 1;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 2);
        execl(daemon, daemon, "-c", conf, "--once", (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    for (;;) {
        pid_t w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid)
            break;
        if (w < 0) {
            perror("bench_load: wait4");
            return 1;
        }
        long a = status_kb(pid, "RssAnon"), f = status_kb(pid, "RssFile");
        if (a > r.anon_kb)
            r.anon_kb = a;
        if (f > r.file_kb)
            r.file_kb = f;
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    r.wall = now_s() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status))
            fprintf(stderr, "bench_load: %s -c %s --once exited with status %d%s\n", daemon,
                    conf, WEXITSTATUS(status),
                    WEXITSTATUS(status) == 127 ? " (could not be executed)" : "");
        else
            fprintf(stderr, "bench_load: %s -c %s --once killed by signal %d\n", daemon, conf,
                    WTERMSIG(status));
        return 1;
    }
    printf("%.6f %ld %ld %ld\n", r.wall, (long)ru.ru_maxrss, r.anon_kb, r.file_kb);
    return 0;
}

/* Run this program again as `bench_load ARGS...` (a --spawn mode) and
 * read the figures it prints. */
static rss run_spawn(const char *const *args)
{
    rss r = { 0, 0, 0, 0 };
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe", "failed");
    pid_t pid = fork();
    if (pid < 0)
        die("fork", "failed");
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        const char *argv[8] = { "bench_load" };
        for (int i = 0; args[i] && i < 6; i++)
            argv[i + 1] = args[i];
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    int got = f && fscanf(f, "%lf %ld %ld %ld", &r.wall, &r.maxrss_kb, &r.anon_kb,
                          &r.file_kb) == 4;
    if (f)
        fclose(f);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        !got)
        die(args[0], "failed (the line above says how)");
    return r;
}

static rss run_once(const char *daemon, const char *conf)
{
    const char *args[] = { "--spawn", daemon, conf, NULL };
    return run_spawn(args);
}

/* A chain's load counter, as readers see it; 0 when not readable yet. */
static uint64_t loads_ok_of(const char *cache, const char *chain_slug)
{
    pc_reader *r;
    if (pc_open(cache, &r) != PC_OK)
        return 0;
    pc_chain_status cs;
    memset(&cs, 0, sizeof cs);
    cs.size = sizeof cs;
    uint64_t n = pc_chain_read(r, chain_slug, &cs) == PC_OK ? cs.loads_ok : 0;
    pc_close(r);
    return n;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Until the chain's load counter passes `after`, sampling pid's memory
 * into *r; 0, or -1 when the daemon died or 120 s passed. */
static int sample_until_loaded(pid_t pid, const char *cache, const char *chain_slug,
                               uint64_t after, rss *r)
{
    double t0 = now_s();
    while (now_s() - t0 < 120) {
        long a = status_kb(pid, "RssAnon"), f = status_kb(pid, "RssFile");
        if (a < 0)
            return -1;
        if (a > r->anon_kb)
            r->anon_kb = a;
        if (f > r->file_kb)
            r->file_kb = f;
        if (loads_ok_of(cache, chain_slug) > after)
            return 0;
        nap_ms(2);
    }
    return -1;
}

/* bench_load --spawn-daemon DAEMON CONF CACHE CHAIN LOG: run DAEMON as the
 * service runs (not --once); once it has loaded the chain itself (its
 * start-up load, or one asked with SIGUSR1), ask for another with
 * SIGUSR1 and measure that one alone: the no-change reload of a running
 * daemon, which knows what it published.  Prints "wall maxrss_kb anon_kb
 * file_kb" (maxrss: VmHWM, reset before the reload); exit 1 on failure. */
static int spawn_daemon_main(const char *daemon, const char *conf, const char *cache,
                             const char *chain_slug, const char *log)
{
    uint64_t l0 = loads_ok_of(cache, chain_slug);
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_load: fork");
        return 1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        execl(daemon, daemon, "-c", conf, (char *)NULL);
        _exit(127);
    }
    rss r = { 0, 0, 0, 0 }, ignored = { 0, 0, 0, 0 };
    int rc = -1;
    /* Its own first load: at start, or asked for after 5 s. */
    double t0 = now_s();
    while (now_s() - t0 < 5 && loads_ok_of(cache, chain_slug) <= l0 &&
           status_kb(pid, "RssAnon") >= 0)
        nap_ms(20);
    if (loads_ok_of(cache, chain_slug) <= l0)
        kill(pid, SIGUSR1);
    if (sample_until_loaded(pid, cache, chain_slug, l0, &ignored) == 0) {
        nap_ms(500); /* the load's memory handed back (malloc_trim) */
        uint64_t l1 = loads_ok_of(cache, chain_slug);
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
        FILE *cr = fopen(path, "w");
        if (cr) {
            fputs("5", cr); /* VmHWM := the resident set now */
            fclose(cr);
        }
        double t1 = now_s();
        kill(pid, SIGUSR1);
        rc = sample_until_loaded(pid, cache, chain_slug, l1, &r);
        r.wall = now_s() - t1;
        r.maxrss_kb = status_kb(pid, "VmHWM");
    }
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    if (rc != 0) {
        fprintf(stderr, "bench_load: %s -c %s: no reload of %s seen (its log: %s)\n", daemon,
                conf, chain_slug, log);
        return 1;
    }
    printf("%.6f %ld %ld %ld\n", r.wall, r.maxrss_kb, r.anon_kb, r.file_kb);
    return 0;
}

static rss run_daemon(const char *daemon, const char *conf, const char *cache,
                      const char *chain_slug, const char *log)
{
    const char *args[] = { "--spawn-daemon", daemon, conf, cache, chain_slug, log, NULL };
    return run_spawn(args);
}

#endif
