/* cli.h - commands of the pricecache CLI that live in files of their own. */
#ifndef PC_CLI_H
#define PC_CLI_H

/* `events [-a ADDR] [-n COUNT] [-t MS] [--heartbeats] [CHAIN...]`; -1 on
 * a usage error, else an exit status. */
int pc_cli_events(int argc, char **argv);

/* `stats`: the lookup statistics of the cache in `dir`; -1 on a usage
 * error, else an exit status. */
int pc_cli_stats(const char *dir, int argc, char **argv);

/* The cache directory (-d, $PRICECACHE_PATH or the default). */
const char *pc_cli_dir(void);
/* The exit status for a PC_* code. */
int pc_cli_exit_for(int rc);
/* Exit status of `audit verify` when the hash chain is broken (in the
 * --help table of cli/pricecache.c). */
#define PC_CLI_EXIT_TAMPERED 8

/* Operators' commands (cli/control.c): `status`, `metrics`, `reload
 * CHAIN|all`, `breaker reset CHAIN`, `accept CHAIN`, each with
 * [--control ADDR] [-t MS]; `audit [verify]`.  -1 on a usage error, else
 * an exit status. */
int pc_cli_status(int argc, char **argv);
int pc_cli_metrics(int argc, char **argv);
int pc_cli_reload(int argc, char **argv);
int pc_cli_breaker(int argc, char **argv);
int pc_cli_accept(int argc, char **argv);
int pc_cli_audit(int argc, char **argv);

#endif
