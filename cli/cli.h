/* cli.h - what the pricecache CLI's files share: exit statuses, the helpers of cli/pricecache.c and each file's commands. */
#ifndef PC_CLI_H
#define PC_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "pricecache.h"

/* Exit status of `audit verify` when the hash chain is broken. */
#define PC_CLI_EXIT_TAMPERED 8

/* Exit statuses: the enum and the --help text come from this one list. */
#define EXIT_CODES(X)                                                         \
    X(EXIT_OK,       0, "ok")                                                 \
    X(EXIT_NOTFOUND, 1, "not found (get; many: any item not found or invalid)") \
    X(EXIT_USAGE,    2, "usage error or invalid argument")                    \
    X(EXIT_NOCHAIN,  3, "unknown chain")                                      \
    X(EXIT_NOTREADY, 4, "cache not ready, or wait timed out")                 \
    X(EXIT_ERROR,    5, "any other error (unreadable cache, unknown format, no reader slot, ...)") \
    X(EXIT_REFUSED,  6, "the daemon refused a control request (its ERR answer is printed)") \
    X(EXIT_DENIED,   7, "control socket: permission denied (not in the service group)") \
    X(EXIT_TAMPERED, PC_CLI_EXIT_TAMPERED, "audit verify: the audit log's hash chain is broken")

enum {
#define X_ENUM(id, code, text) id = code,
    EXIT_CODES(X_ENUM)
#undef X_ENUM
};

/* Argument errors of a command: main prints its usage line. */
#define EXIT_BADARGS (-1)

/* ---- helpers (cli/pricecache.c) ---- */

/* The cache directory (-d, $PRICECACHE_PATH or the default). */
const char *pc_cli_dir(void);
/* The exit status for a PC_* code. */
int pc_cli_exit_for(int rc);
/* "pricecache: <object>: <what went wrong>" on stderr; the exit status. */
int pc_cli_fail(const char *object, int rc);
/* Open the cache directory; EXIT_OK, or the failure reported. */
int pc_cli_open(pc_reader **r);
/* Name a bad argument before the library answers a bare PC_EINVAL:
 * EXIT_OK, or EXIT_USAGE after saying what was expected. */
int pc_cli_check_chain(const char *chain);
int pc_cli_check_id(const char *what, const char *id, int empty_ok);
/* 1 when s is a chain slug: [a-z0-9_-]{1,PC_CHAIN_MAX}. */
int pc_cli_slug_ok(const char *s);
/* Flush stdout: EXIT_OK, or EXIT_ERROR after naming the write error. */
int pc_cli_finish(void);
/* Unix ms as 2026-01-31T12:00:00Z; "-" for 0 or less. */
void pc_cli_iso_ms(char *buf, size_t len, int64_t ms);
/* Milliseconds: wall clock (unix) and monotonic. */
int64_t pc_cli_now_ms(void);
int64_t pc_cli_mono_ms(void);

/* ---- commands: EXIT_BADARGS on a usage error, else an exit status ---- */

/* cli/lookup.c: `get CHAIN STORE ITEM`, `many CHAIN STORE`, `dump CHAIN`. */
int pc_cli_get(int argc, char **argv);
int pc_cli_many(int argc, char **argv);
int pc_cli_dump(int argc, char **argv);

/* cli/inspect.c: `chains [--tsv]`, `info CHAIN`, `wait [-t MS]`. */
int pc_cli_chains(int argc, char **argv);
int pc_cli_info(int argc, char **argv);
int pc_cli_wait(int argc, char **argv);

/* cli/basket.c: `basket [--json] CHAIN STORE...`. */
int pc_cli_basket(int argc, char **argv);

/* cli/events.c: `events [-a ADDR] [-n COUNT] [-t MS] [--heartbeats] [CHAIN...]`. */
int pc_cli_events(int argc, char **argv);

/* cli/stats.c: `stats`, the lookup statistics of the cache in `dir`. */
int pc_cli_stats(const char *dir, int argc, char **argv);

/* cli/readers.c: `readers [--control ADDR]`, LMDB's reader slots. */
int pc_cli_readers(int argc, char **argv);

/* cli/control.c: `status`, `metrics`, `reload CHAIN|all`, `breaker reset
 * CHAIN`, `accept CHAIN`, each with [--control ADDR] [-t MS]; `audit
 * [verify]`. */
int pc_cli_status(int argc, char **argv);
int pc_cli_metrics(int argc, char **argv);
int pc_cli_reload(int argc, char **argv);
int pc_cli_breaker(int argc, char **argv);
int pc_cli_accept(int argc, char **argv);
int pc_cli_audit(int argc, char **argv);

#endif
