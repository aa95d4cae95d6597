/* pricecache.c - the pricecache command: look prices up and inspect the cache from a shell. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pc_format.h"
#include "pc_reader_internal.h"
#include "pricecache.h"

enum {
    EXIT_OK = 0, EXIT_NOTFOUND = 1, EXIT_USAGE = 2, EXIT_NOCHAIN = 3, EXIT_NOTREADY = 4,
    EXIT_ERROR = 5
};

static int exit_for(int rc)
{
    switch (rc) {
    case PC_OK:        return EXIT_OK;
    case PC_NOTFOUND:  return EXIT_NOTFOUND;
    case PC_ENOCHAIN:  return EXIT_NOCHAIN;
    case PC_ENOTREADY:
    case PC_ETIMEDOUT: return EXIT_NOTREADY;
    case PC_EINVAL:    return EXIT_USAGE;
    default:           return EXIT_ERROR;
    }
}

static int fail(const char *object, int rc)
{
    fprintf(stderr, "pricecache: %s: %s\n", object, pc_strerror(rc));
    return exit_for(rc);
}

static const char *dir;

static int open_reader(pc_reader **r)
{
    int rc = pc_open(dir, r);
    if (rc != PC_OK)
        return fail(dir, rc);
    return EXIT_OK;
}

static void iso_ms(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmd_get(int argc, char **argv)
{
    if (argc != 3)
        return -1;
    pc_reader *r;
    int e = open_reader(&r);
    if (e)
        return e;
    pc_price p;
    int rc = pc_get(r, argv[0], argv[1], argv[2], &p);
    pc_close(r);
    if (rc == PC_NOTFOUND) {
        fprintf(stderr, "pricecache: chain %s: item %s: %s\n", argv[0], argv[2], pc_strerror(rc));
        return EXIT_NOTFOUND;
    }
    if (rc != PC_OK)
        return fail(rc == PC_ENOCHAIN ? argv[0] : "get", rc);
    printf("%" PRId64 "\t%" PRId64 "\t%s\n", p.cents, p.updated_at,
           p.flags & PC_PRICE_STORE ? "store" : "base");
    return EXIT_OK;
}

static int cmd_many(int argc, char **argv)
{
    if (argc != 2)
        return -1;
    char **items = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **ni = realloc(items, cap * sizeof *ni);
            if (!ni) {
                fprintf(stderr, "pricecache: many: out of memory\n");
                return EXIT_ERROR;
            }
            items = ni;
        }
        if (!(items[n++] = strdup(line))) {
            fprintf(stderr, "pricecache: many: out of memory\n");
            return EXIT_ERROR;
        }
    }
    free(line);
    pc_price *out = calloc(n ? n : 1, sizeof *out);
    int *st = calloc(n ? n : 1, sizeof *st);
    pc_reader *r = NULL;
    int e = !out || !st ? EXIT_ERROR : open_reader(&r);
    int rc = PC_OK;
    if (!e) {
        rc = pc_get_many(r, argv[0], argv[1], n, (const char *const *)items, out, st);
        if (rc != PC_OK)
            e = fail(rc == PC_ENOCHAIN ? argv[0] : "many", rc);
    }
    int missing = 0;
    for (size_t i = 0; !e && i < n; i++) {
        if (st[i] == PC_OK)
            printf("%s\t%" PRId64 "\t%" PRId64 "\t%s\n", items[i], out[i].cents,
                   out[i].updated_at, out[i].flags & PC_PRICE_STORE ? "store" : "base");
        else {
            printf("%s\t%s\n", items[i], st[i] == PC_NOTFOUND ? "NOTFOUND" : "INVALID");
            missing = 1;
        }
    }
    pc_close(r);
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
    free(out);
    free(st);
    return e ? e : missing ? EXIT_NOTFOUND : EXIT_OK;
}

static int cmd_chains(int argc, char **argv)
{
    int tsv = 0;
    if (argc == 1 && strcmp(argv[0], "--tsv") == 0)
        tsv = 1;
    else if (argc != 0)
        return -1;
    pc_reader *r;
    int e = open_reader(&r);
    if (e)
        return e;
    char **chains;
    size_t n;
    int rc = pc_chains(r, &chains, &n);
    if (rc != PC_OK) {
        pc_close(r);
        return fail("chains", rc);
    }
    if (tsv)
        printf("CHAIN\tVERSION\tBASE_ROWS\tSTORE_ROWS\tAVG_CENTS\tLOADED_AT\tBREAKER\t"
               "LAST_RESULT\tAGE_S\n");
    else
        printf("%-20s %10s %10s %10s %10s %-20s %-9s %-11s %s\n", "CHAIN", "VERSION",
               "BASE_ROWS", "STORE_ROWS", "AVG_CENTS", "LOADED_AT", "BREAKER", "LAST_RESULT",
               "AGE_S");
    int64_t now = pc_now_ms();
    for (size_t i = 0; i < n; i++) {
        pc_meta_rec m;
        if (pc_reader_meta(r, chains[i], &m) != PC_OK)
            continue; /* removed between the listing and now */
        char when[32];
        if (tsv)
            snprintf(when, sizeof when, "%" PRId64, m.loaded_at_ms);
        else
            iso_ms(when, sizeof when, m.loaded_at_ms);
        /* The snapshot's age: how stale the prices served now may be. */
        double age = (double)(now - m.loaded_at_ms) / 1000.0;
        if (tsv)
            printf("%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRId64 "\t%s\t%s\t%s\t%.1f\n",
                   chains[i], m.version, m.base_rows, m.store_rows, m.avg_cents, when,
                   pc_breaker_name((int)m.breaker), pc_load_result_name((int)m.last_result), age);
        else
            printf("%-20s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRId64 " %-20s %-9s "
                   "%-11s %.1f\n", chains[i], m.version, m.base_rows, m.store_rows, m.avg_cents,
                   when, pc_breaker_name((int)m.breaker), pc_load_result_name((int)m.last_result),
                   age);
    }
    pc_free_chains(chains);
    pc_close(r);
    return EXIT_OK;
}

static int cmd_info(int argc, char **argv)
{
    if (argc != 1)
        return -1;
    pc_reader *r;
    int e = open_reader(&r);
    if (e)
        return e;
    pc_meta_rec m;
    int rc = pc_reader_meta(r, argv[0], &m);
    if (rc != PC_OK) {
        pc_close(r);
        return fail(argv[0], rc);
    }
    char when[32], since[32], attempt[32];
    iso_ms(when, sizeof when, m.loaded_at_ms);
    iso_ms(since, sizeof since, m.breaker_since_ms);
    iso_ms(attempt, sizeof attempt, m.last_attempt_ms);
    printf("chain: %s\nversion: %" PRIu64 "\nloaded_at: %s\nloaded_at_ms: %" PRId64 "\n"
           "base_rows: %" PRIu64 "\nstore_rows: %" PRIu64 "\navg_cents: %" PRId64 "\n"
           "breaker: %s\nbreaker_since: %s\nlast_result: %s\nlast_attempt: %s\n"
           "last_duration_ms: %u\nloads_ok: %" PRIu64 "\nloads_failed: %" PRIu64 "\n"
           "consecutive_failures: %u\nrows_written: %" PRIu64 "\n",
           argv[0], m.version, when, m.loaded_at_ms, m.base_rows, m.store_rows, m.avg_cents,
           pc_breaker_name((int)m.breaker), since, pc_load_result_name((int)m.last_result),
           attempt, m.last_duration_ms, m.loads_ok, m.loads_failed, m.consecutive_failures,
           m.rows_written);
    for (int i = 0; i < PC_REJ__COUNT; i++)
        printf("rejected_%s: %" PRIu64 "\n", pc_reject_name(i), m.rejected[i]);
    printf("last_error: %s\n", m.last_error[0] ? m.last_error : "-");
    pc_daemon_rec d;
    if (pc_reader_daemon(r, &d) == PC_OK)
        printf("daemon_state: %s\ndaemon_ready: %s\n", pc_daemon_state_name((int)d.state),
               d.ready ? "yes" : "no");
    pc_close(r);
    return EXIT_OK;
}

static int dump_row(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    (void)ctx;
    printf("%.*s\t%.*s\t%" PRId64 "\t%" PRId64 "\n", (int)k->slen, k->kind == PC_KEY_STORE
           ? k->store : "", (int)k->ilen, k->item, v->cents, v->updated_at);
    return 0;
}

static int cmd_dump(int argc, char **argv)
{
    if (argc != 1)
        return -1;
    pc_reader *r;
    int e = open_reader(&r);
    if (e)
        return e;
    int rc = pc_reader_scan(r, argv[0], dump_row, NULL);
    pc_close(r);
    if (rc != PC_OK)
        return fail(argv[0], rc);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}

static int cmd_wait(int argc, char **argv)
{
    int timeout = -1;
    if (argc == 2 && strcmp(argv[0], "-t") == 0) {
        char *end;
        errno = 0;
        long t = strtol(argv[1], &end, 10);
        if (errno || *end || end == argv[1] || t < 0 || t > 86400000)
            return -1;
        timeout = (int)t;
    } else if (argc != 0) {
        return -1;
    }
    /* The environment may not exist yet: wait for it too. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pc_reader *r = NULL;
    for (;;) {
        int rc = pc_open(dir, &r);
        if (rc == PC_OK)
            break;
        if (rc != PC_ENOTREADY && rc != PC_EFORMAT)
            return fail(dir, rc);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (timeout >= 0 && el >= timeout)
            return fail(dir, PC_ETIMEDOUT);
        struct timespec nap = { 0, 20 * 1000000 };
        nanosleep(&nap, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
    int rc = pc_wait_ready(r, timeout < 0 ? -1 : (int)(timeout > el ? timeout - el : 0));
    pc_close(r);
    return rc == PC_OK ? EXIT_OK : fail("wait", rc);
}

typedef struct command {
    const char *name, *args, *help;
    int (*run)(int argc, char **argv);
} command;

/* One table: dispatch and --help both come from it. */
static const command commands[] = {
    { "get",    "CHAIN STORE ITEM", "price of ITEM (STORE \"\" for the base price): "
                                    "CENTS<TAB>UPDATED_AT<TAB>store|base", cmd_get },
    { "many",   "CHAIN STORE",      "prices of the items on stdin (one per line), "
                                    "all from one version", cmd_many },
    { "chains", "[--tsv]",          "every cached chain's version, rows, load time, breaker",
                                    cmd_chains },
    { "info",   "CHAIN",            "one chain's full metadata", cmd_info },
    { "dump",   "CHAIN",            "every price of a chain: STORE ITEM CENTS UPDATED_AT (TSV)",
                                    cmd_dump },
    { "wait",   "[-t MS]",          "wait until the daemon has loaded every chain once",
                                    cmd_wait },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: pricecache [-d DIR] COMMAND [ARGS]\n\n"
               "Reads the prices pricecached publishes (DIR: $PRICECACHE_PATH, else "
               "/var/lib/pricecache).\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-6s %-17s %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(f, "\n  -h, --help     this text\n  -V, --version  print the version\n\n"
               "Exit status: 0 ok; 1 not found; 2 usage error; 3 unknown chain;\n"
               "4 not ready or timed out; 5 any other error.\n");
}

int main(int argc, char **argv)
{
    dir = getenv("PRICECACHE_PATH");
    if (!dir || !*dir)
        dir = "/var/lib/pricecache";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("pricecache %s\n", pc_version());
            return EXIT_OK;
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "pricecache: unknown option \"%s\"\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t c = 0; c < NCOMMANDS; c++) {
        if (strcmp(argv[i], commands[c].name) != 0)
            continue;
        int rc = commands[c].run(argc - i - 1, argv + i + 1);
        if (rc < 0) {
            fprintf(stderr, "usage: pricecache [-d DIR] %s %s\n", commands[c].name,
                    commands[c].args);
            return EXIT_USAGE;
        }
        return rc;
    }
    fprintf(stderr, "pricecache: unknown command \"%s\"\n", argv[i]);
    usage(stderr);
    return EXIT_USAGE;
}
