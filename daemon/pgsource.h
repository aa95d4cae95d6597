/* pgsource.h - reading chains from PostgreSQL with libpq: connect, list active chains, stream a chain with COPY BINARY. */
#ifndef PCD_PGSOURCE_H
#define PCD_PGSOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "snapshot.h"
#include "validate.h"

typedef struct pg_conn pg_conn; /* libpq's PGconn, kept out of other headers */

/* When to give up: an absolute monotonic deadline (pc_mono_ms) and a file
 * descriptor that becomes readable when the daemon shuts down (-1: none). */
typedef struct pcd_cancel {
    int64_t deadline_ms;
    int     stop_fd;
} pcd_cancel;

/* Connect with cfg->dsn (plus connect_timeout and TCP keepalives when the
 * DSN does not set them).  PC_OK, or PC_EDB with the cause in err (never the
 * password). */
int  pcd_pg_connect(const pcd_config *cfg, pg_conn **out, char *err, size_t errlen);
/* The same with another DSN (a replica's), cfg giving the timeouts. */
int  pcd_pg_connect_dsn(const pcd_config *cfg, const char *dsn, pg_conn **out, char *err,
                        size_t errlen);
/* The same for the connection that watches the database (LISTEN): TCP
 * keepalives after 2 s idle, every 1 s, 3 probes, and tcp_user_timeout
 * 5 s where libpq knows it, unless the DSN sets them. */
int  pcd_pg_connect_watch(const pcd_config *cfg, pg_conn **out, char *err, size_t errlen);
void pcd_pg_close(pg_conn *c);
int  pcd_pg_ok(pg_conn *c);      /* 1 while the connection is usable */

/* Slugs of the active chains, from cfg->chains_query.  A slug that is not a
 * valid [a-z0-9_-]{1,64} is logged and skipped by the caller: it is
 * returned in `bad`.  Arrays are malloc'ed (free each string and the
 * array). */
int  pcd_pg_active_chains(pg_conn *c, const pcd_config *cfg, const pcd_cancel *cx,
                          char ***slugs, size_t *n, char ***bad, size_t *nbad,
                          char *err, size_t errlen);

/* Stream one chain's base and store rows (cfg->base_query / store_query,
 * $1 replaced by the quoted slug) with COPY ... TO STDOUT (FORMAT binary),
 * validating every row into `snap` (pcd_validate_*), then
 * pcd_snapshot_finish.  On the deadline: cancel server-side (PQcancel),
 * return PC_ETIMEDOUT.  On stop_fd: cancel, return PC_ECANCELED.  Database
 * errors: PC_EDB.  The message says which query and why. */
int  pcd_pg_load_chain(pg_conn *c, const pcd_config *cfg, const char *chain,
                       const pcd_cancel *cx, pcd_snapshot *snap,
                       char *err, size_t errlen);

/* Replace every $1 outside quoted strings and identifiers (and not
 * followed by a digit) with `quoted`, an already quoted literal, and drop
 * trailing semicolons (the result is wrapped as a subquery).
 * malloc'ed; NULL on ENOMEM. */
char *pcd_sql_subst_chain(const char *query, const char *quoted);

/* updated_at as unix seconds, for the full load and the delta queries
 * alike.  'infinity' and '-infinity' are legal timestamps but have no
 * epoch as a bigint ("cannot convert infinity to bigint" failed the whole
 * chain): they become INT64_MAX and INT64_MIN, so the row's price is still
 * served.  NULL stays NULL (no WHEN matches) and is rejected as a bad row. */
#define PCD_SQL_EPOCH                                                          \
    "CASE WHEN isfinite(updated_at) THEN floor(extract(epoch from updated_at))::bigint " \
    "WHEN updated_at > 'epoch' THEN '9223372036854775807'::bigint "            \
    "WHEN updated_at < 'epoch' THEN '-9223372036854775808'::bigint END"

/* After `err` got the message of a failed base or store query (`result`,
 * a PGresult): when the cause is a missing column or a column of the wrong
 * type, append the columns the query must return. */
void pcd_pg_column_hint(const void *result, int is_store, char *err, size_t errlen);

/* Build the SQL text that the loader runs for `query` and `chain` (exposed
 * for tests and the benchmark's COPY baseline).  malloc'ed. */
char *pcd_pg_copy_sql(pg_conn *c, const char *query, const char *chain, int is_store);

#endif
