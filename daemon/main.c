/* main.c - pricecached: parse the command line, block signals, run the engine. */

/* Owns: options, --help/--version, the signal mask and signalfd.  May call:
 * run (pcd_run, pcd_run_migrate), log, hugemem (malloc's tunables).  Stays
 * thin: everything else is in libpcd, which the tests link. */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "hugemem.h"
#include "log.h"
#include "run.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: pricecached -c FILE [--once | --migrate]\n"
        "\n"
        "Loads retail prices from PostgreSQL and publishes one LMDB snapshot per chain.\n"
        "\n"
        "  -c, --config FILE  configuration (INI); keys may be overridden by\n"
        "                     PRICECACHE_<SECTION>_<KEY> environment variables\n"
        "      --once         load every active chain once, then exit\n"
        "      --migrate      apply the schema migrations to the database, then exit\n"
        "  -h, --help         this text\n"
        "  -V, --version      print the version\n"
        "\n"
        "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP re-reads the configuration,\n"
        "SIGUSR1 reloads every chain now.\n"
        "\n"
        "Exit status: 0 success; 1 --once: a load failed or was refused;\n"
        "2 bad command line or configuration; 3 fatal runtime error.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config",  required_argument, NULL, 'c' },
        { "once",    no_argument,       NULL, 'o' },
        { "migrate", no_argument,       NULL, 'm' },
        { "help",    no_argument,       NULL, 'h' },
        { "version", no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    /* Blocked first of all: before any thread starts, so every thread
     * inherits the mask and signals arrive only through the signalfd, and
     * before a SIGHUP sent right after exec (a supervisor's reload) could
     * kill the process with the default action. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    /* Then malloc on huge pages (the mask and pending signals carry over
     * the exec). */
    pcd_huge_malloc_reexec(argv);

    const char *config = NULL;
    int once = 0, migrate = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'o': once = 1; break;
        case 'm': migrate = 1; break;
        case 'h': usage(stdout); return PCD_EXIT_OK;
        case 'V': printf("pricecached %s\n", PC_VERSION); return PCD_EXIT_OK;
        default:  usage(stderr); return PCD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pricecached: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return PCD_EXIT_USAGE;
    }
    if (!config) {
        fprintf(stderr, "pricecached: -c FILE is required\n");
        usage(stderr);
        return PCD_EXIT_USAGE;
    }
    if (once && migrate) {
        fprintf(stderr, "pricecached: --once and --migrate exclude each other\n");
        return PCD_EXIT_USAGE;
    }
    if (migrate) {
        /* One short run: the signals keep their usual meaning. */
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        return pcd_run_migrate(config);
    }

    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        perror("pricecached: signalfd");
        return PCD_EXIT_RUNTIME;
    }
    int rc = pcd_run(config, once ? PCD_MODE_ONCE : PCD_MODE_FOREGROUND, sfd);
    close(sfd);
    return rc;
}
