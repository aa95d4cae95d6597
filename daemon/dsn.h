/* dsn.h - PostgreSQL connection strings: check, redact, scrub (config and pgsource both use it; it uses neither). */
#ifndef PCD_DSN_H
#define PCD_DSN_H

#include <stddef.h>

/* Whether libpq can parse `dsn` (key=value or URI), without connecting.
 * PC_OK, or PC_ECONFIG with libpq's reason in why (never the password). */
int  pcd_pg_dsn_check(const char *dsn, char *why, size_t whylen);

/* The DSN with any password=... value replaced by "***", for logs.
 * Returns a malloc'ed string the caller frees, or NULL on ENOMEM. */
char *pcd_dsn_redact(const char *dsn);

/* Replace, in place, every occurrence in `msg` of a password of `dsn`
 * (for libpq messages that quote the DSN). */
void pcd_dsn_scrub(const char *dsn, char *msg);

/* Where a DSN points, for logs and status: "host:port" from its host (or
 * hostaddr) and port ("a,b:5432,5433" for several hosts), libpq's defaults
 * named as "local:5432"; never the password.  Always writes `buf`. */
void pcd_dsn_where(const char *dsn, char *buf, size_t len);

#endif
