/* run.h - pricecached's entry points: run the daemon (foreground or --once), apply the migrations. */
#ifndef PCD_RUN_H
#define PCD_RUN_H

#include <stddef.h>

/* Exit statuses of the daemon (and of pcd_run). */
enum {
    PCD_EXIT_OK      = 0,
    PCD_EXIT_FAILED  = 1,  /* --once: a load failed or was refused */
    PCD_EXIT_USAGE   = 2,  /* bad command line or configuration */
    PCD_EXIT_RUNTIME = 3   /* cannot open the cache, or another fatal error */
};

enum { PCD_MODE_FOREGROUND = 0, PCD_MODE_ONCE = 1 };

/* Run the daemon with the configuration in `config_file`.  `sig_fd` is a
 * signalfd for SIGTERM, SIGINT, SIGHUP and SIGUSR1 (blocked in every
 * thread by the caller), or -1.  Returns a PCD_EXIT_* status. */
int pcd_run(const char *config_file, int mode, int sig_fd);

/* Apply the schema migrations to the configured database. */
int pcd_run_migrate(const char *config_file);

#endif
