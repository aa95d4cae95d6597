/* pricecache.c - the pricecache command: options, the command table and the helpers every command shares. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pricecache.h"

#define DEFAULT_DIR "/var/lib/pricecache"

static const char *dir;

int pc_cli_exit_for(int rc)
{
    switch (rc) {
    case PC_OK:        return EXIT_OK;
    case PC_NOTFOUND:  return EXIT_NOTFOUND;
    case PC_ENOCHAIN:  return EXIT_NOCHAIN;
    case PC_ENOTREADY:
    case PC_ETIMEDOUT: return EXIT_NOTREADY;
    case PC_EINVAL:
    case PC_ENOITEMS:
    case PC_EQUANTITY:
    case PC_ETOOMANY:
    case PC_EOVERFLOW: return EXIT_USAGE;
    case PC_EREFUSED:  return EXIT_REFUSED;
    case PC_EACCES:    return EXIT_DENIED;
    default:           return EXIT_ERROR;
    }
}

const char *pc_cli_dir(void) { return dir; }

int pc_cli_fail(const char *object, int rc)
{
    /* The library's sentence when it has one (a corrupt lock.mdb names
     * the file and the values). */
    const char *detail = pc_errdetail(rc);
    if (strcmp(detail, pc_strerror(rc)) != 0)
        fprintf(stderr, "pricecache: %s: %s (%s)\n", object, pc_strerror(rc), detail);
    else
        fprintf(stderr, "pricecache: %s: %s\n", object, pc_strerror(rc));
    return pc_cli_exit_for(rc);
}

int pc_cli_open(pc_reader **r)
{
    int rc = pc_open(dir, r);
    return rc == PC_OK ? EXIT_OK : pc_cli_fail(dir, rc);
}

/* A chain slug as pricecache.h defines it: [a-z0-9_-]{1,PC_CHAIN_MAX}. */
int pc_cli_slug_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PC_CHAIN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pc_cli_now_ms(void)  { return clock_ms(CLOCK_REALTIME); }
int64_t pc_cli_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

/* Name the offending argument before the library answers a bare
 * PC_EINVAL: "chain \"Bad Slug\"" says more than "get". */
int pc_cli_check_chain(const char *chain)
{
    if (pc_cli_slug_ok(chain))
        return EXIT_OK;
    fprintf(stderr, "pricecache: chain \"%s\": %s (expected [a-z0-9_-]{1,%d})\n", chain,
            pc_strerror(PC_EINVAL), PC_CHAIN_MAX);
    return EXIT_USAGE;
}

int pc_cli_check_id(const char *what, const char *id, int empty_ok)
{
    size_t len = strlen(id);
    if ((len > 0 || empty_ok) && len <= PC_ID_MAX)
        return EXIT_OK;
    fprintf(stderr, "pricecache: %s of %zu bytes: %s (expected %s1..%d bytes)\n", what, len,
            pc_strerror(PC_EINVAL), empty_ok ? "0 or " : "", PC_ID_MAX);
    return EXIT_USAGE;
}

void pc_cli_iso_ms(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "%" PRId64, ms);
}

int pc_cli_finish(void)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return EXIT_OK;
    fprintf(stderr, "pricecache: stdout: %s\n", strerror(errno));
    return EXIT_ERROR;
}

/* ---- dispatch -------------------------------------------------------- */

static int cmd_stats(int argc, char **argv)
{
    return pc_cli_stats(dir, argc, argv);
}

/* One table: dispatch, the usage lines and --help all come from it. */
static const struct command {
    const char *name, *args, *help;
    int       (*run)(int argc, char **argv);
} commands[] = {
    { "get",    "CHAIN STORE ITEM",
      "price of ITEM (STORE \"\" asks for the base price):\n"
      "CENTS<TAB>UPDATED_AT<TAB>store|base", pc_cli_get },
    { "many",   "CHAIN STORE",
      "prices of the items on stdin, one per line, all from one version:\n"
      "ITEM<TAB>CENTS<TAB>UPDATED_AT<TAB>store|base, ITEM<TAB>NOTFOUND or ITEM<TAB>INVALID",
      pc_cli_many },
    { "chains", "[--tsv]",
      "every cached chain: version, rows, mean price, load time, breaker, last\n"
      "load, snapshot age; --tsv: tab-separated, LOADED_AT in unix ms", pc_cli_chains },
    { "info",   "CHAIN",
      "a chain's full metadata and the daemon's state, as KEY: VALUE lines", pc_cli_info },
    { "dump",   "CHAIN",
      "every price of a chain from one version, base rows first:\n"
      "STORE<TAB>ITEM<TAB>CENTS<TAB>UPDATED_AT (STORE empty for base rows; tab,\n"
      "newline, CR and backslash in ids written \\t \\n \\r \\\\ as in COPY)", pc_cli_dump },
    { "wait",   "[-t MS]",
      "wait (at most MS ms) until the daemon has loaded every chain once", pc_cli_wait },
    { "basket", "[--json] CHAIN STORE...",
      "price the \"ITEM QTY\" lines on stdin from one version of CHAIN: at STORE\n"
      "(\"\" for base prices), or at the cheapest 1 or 2 of several STOREs; a\n"
      "missing item costs 2 x the mean price (10000 without one); a table, or JSON",
      pc_cli_basket },
    { "events", "[-a ADDR] [-n N] [-t MS] [--heartbeats] [CHAIN...]",
      "follow the daemon's events (ADDR: $PRICECACHE_EVENTS, else the address\n"
      "the daemon announced in DIR, else ipc:///run/pricecache/events.ipc); a gap\n"
      "shows as a resync line", pc_cli_events },
    { "status", "[--control ADDR] [-t MS]",
      "the daemon and every chain from the control socket (ADDR: --control,\n"
      "$PRICECACHE_CONTROL, else the one the daemon of DIR announced); key=value\n"
      "fields, a daemon line then one line per chain", pc_cli_status },
    { "reload", "[--control ADDR] [-t MS] CHAIN|all",
      "queue a full reload (one per chain per 5 s: \"retry after N s\")", pc_cli_reload },
    { "breaker", "reset [--control ADDR] [-t MS] CHAIN",
      "close a chain's circuit breaker and queue a load", pc_cli_breaker },
    { "accept", "[--control ADDR] [-t MS] CHAIN",
      "publish the load a guard refused: the next load skips the guards once", pc_cli_accept },
    { "metrics", "[--control ADDR] [-t MS]",
      "the daemon's Prometheus metrics, through the control socket", pc_cli_metrics },
    { "audit", "[verify]",
      "the audit log of control actions: SEQ<TAB>HASH<TAB>RECORD; verify checks its\n"
      "SHA-256 hash chain and names the first bad record (exit 8)", pc_cli_audit },
    { "readers", "[--control ADDR]",
      "LMDB's reader slots: PID ALIVE THREAD TXNID BEHIND AGE_S; BEHIND > 0 is a\n"
      "read transaction holding an old snapshot (data.mdb grows while it lasts),\n"
      "AGE_S how long, as the daemon measured it (\"-\" when it does not answer)",
      pc_cli_readers },
    { "stats",  "",
      "lookups counted by every reader of the cache (hits, misses, errors, a\n"
      "sampled latency histogram) and the processes counting now", cmd_stats },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void short_usage(void)
{
    fprintf(stderr, "usage: pricecache [-d DIR] COMMAND [ARGS]  (pricecache --help lists them)\n");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: pricecache [-d DIR] COMMAND [ARGS]\n\n"
               "Reads the prices pricecached publishes in DIR (default: $PRICECACHE_PATH,\n"
               "else " DEFAULT_DIR ").\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(f, "  %s %s\n", commands[i].name, commands[i].args);
        for (const char *p = commands[i].help; *p;) {
            size_t len = strcspn(p, "\n");
            fprintf(f, "      %.*s\n", (int)len, p);
            p += len + (p[len] != 0);
        }
    }
    fprintf(f, "\nOptions:\n  -d DIR         the cache directory\n"
               "  -h, --help     this text\n  -V, --version  print the version\n\n"
               "Exit status:\n");
#define X_HELP(id, code, text) fprintf(f, "  %d  %s\n", code, text);
    EXIT_CODES(X_HELP)
#undef X_HELP
}

int main(int argc, char **argv)
{
    dir = getenv("PRICECACHE_PATH");
    if (!dir || !*dir)
        dir = DEFAULT_DIR;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return pc_cli_finish();
        } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("pricecache %s\n", pc_version());
            return pc_cli_finish();
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc && argv[i + 1][0]) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "pricecache: option %s: unknown, or its argument is missing\n",
                    argv[i]);
            short_usage();
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        short_usage();
        return EXIT_USAGE;
    }
    for (size_t c = 0; c < NCOMMANDS; c++) {
        if (strcmp(argv[i], commands[c].name) != 0)
            continue;
        /* "pricecache COMMAND --help" is a request for help, not a chain or
         * an option the command refuses (it exited 2, and 3 for info and
         * dump, which took it for a chain name).  No chain, store or
         * command argument begins with "-h" or "--help" legitimately in
         * the first place after the command name. */
        if (i + 1 < argc && (strcmp(argv[i + 1], "-h") == 0 || strcmp(argv[i + 1], "--help") == 0)) {
            printf("usage: pricecache [-d DIR] %s %s\n", commands[c].name, commands[c].args);
            for (const char *p = commands[c].help; *p;) {
                size_t len = strcspn(p, "\n");
                printf("    %.*s\n", (int)len, p);
                p += len + (p[len] != 0);
            }
            return pc_cli_finish();
        }
        int e = commands[c].run(argc - i - 1, argv + i + 1);
        if (e == EXIT_BADARGS) {
            fprintf(stderr, "usage: pricecache [-d DIR] %s %s\n", commands[c].name,
                    commands[c].args);
            return EXIT_USAGE;
        }
        return e;
    }
    fprintf(stderr, "pricecache: command %s: unknown (see pricecache --help)\n", argv[i]);
    return EXIT_USAGE;
}
