/* pgdelta.h - reading the current source rows of a delta's keys from PostgreSQL. */
#ifndef PCD_PGDELTA_H
#define PCD_PGDELTA_H

#include <stddef.h>

#include "config.h"
#include "delta.h"
#include "pgsource.h"
#include "snapshot.h"

/* The delta statements prepared on one connection (zeroed: none yet).
 * Its owner keeps one per connection and resets it whenever that
 * connection is closed or replaced. */
typedef struct pcd_delta_stmts {
    int   state;    /* 0: session not set up yet; 1: set up; -1: text statements only */
    int   text[2];  /* base, store: this statement cannot be prepared here */
    char *sql[2];   /* base, store: the text prepared under the statement's name */
} pcd_delta_stmts;

/* Forget (and free) what was prepared: the connection is gone. */
void pcd_delta_stmts_reset(pcd_delta_stmts *st);

/* Read the current source rows of the delta's keys (through the configured
 * base/store queries, filtered by key) into `found`, validated and in key
 * order.  A key with no row in `found` is gone from the source.  With
 * `st`, the statements are prepared on the connection on first use (and
 * st records them); NULL: sent as text each time.  PC_OK, PC_ETIMEDOUT,
 * PC_ECANCELED or PC_EDB as pcd_pg_load_chain. */
int pcd_pg_fetch_delta(pg_conn *c, const pcd_config *cfg, const char *chain,
                       const pcd_delta *d, pcd_delta_stmts *st, const pcd_cancel *cx,
                       pcd_snapshot *found, char *err, size_t errlen);

/* Run one statement (text parameters) under cx's deadline and stop fd,
 * cancelling it server-side when either fires.  The PGresult (TUPLES_OK
 * or COMMAND_OK; PQclear it) or NULL with *rc PC_ETIMEDOUT, PC_ECANCELED
 * or PC_EDB and the first line of the cause in err. */
void *pcd_pg_exec(pg_conn *c, const char *sql, int nparams, const char *const *params,
                  const pcd_cancel *cx, int *rc, char *err, size_t errlen);

#endif
