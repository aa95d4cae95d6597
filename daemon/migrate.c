/* migrate.c - applying the SQL schema migrations embedded from sql/. */
#include "migrate.h"

/* Owns: the embedded SQL migrations and their order.  May call: pgsource, log. */

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pc_format.h"

/* Any constant both daemons agree on: serializes concurrent migrations. */
#define MIGRATE_LOCK_KEY 7310482211

static int run(PGconn *conn, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        const char *m = PQresultErrorMessage(res);
        snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(m, "\n"), m);
    }
    PQclear(res);
    return ok ? PC_OK : PC_EDB;
}

int pcd_migrate(pg_conn *c, int *applied, char *err, size_t errlen)
{
    PGconn *conn = c;
    *applied = 0;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%lld)", (long long)MIGRATE_LOCK_KEY);
    int rc = run(conn, sql, "migrate: advisory lock", err, errlen);
    if (rc != PC_OK)
        return rc;
    rc = run(conn, "CREATE TABLE IF NOT EXISTS pricecache_schema ("
                   " version int PRIMARY KEY, name text NOT NULL,"
                   " applied_at timestamptz NOT NULL DEFAULT now())",
             "migrate: schema version table", err, errlen);
    int current = 0;
    if (rc == PC_OK) {
        PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM pricecache_schema");
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            current = atoi(PQgetvalue(res, 0, 0));
        else {
            const char *m = PQresultErrorMessage(res);
            snprintf(err, errlen, "migrate: reading the schema version: %.*s",
                     (int)strcspn(m, "\n"), m);
            rc = PC_EDB;
        }
        PQclear(res);
    }
    for (size_t i = 0; i < pcd_migrations_count && rc == PC_OK; i++) {
        const pcd_migration *m = &pcd_migrations[i];
        if (m->version <= current)
            continue;
        char what[160];
        snprintf(what, sizeof what, "migration %s", m->name);
        rc = run(conn, "BEGIN", what, err, errlen);
        if (rc == PC_OK)
            rc = run(conn, m->sql, what, err, errlen);
        if (rc == PC_OK) {
            char ver[16];
            snprintf(ver, sizeof ver, "%d", m->version);
            const char *params[2] = { ver, m->name };
            PGresult *res = PQexecParams(conn, "INSERT INTO pricecache_schema (version, name) "
                                         "VALUES ($1::int, $2)", 2, NULL, params, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                const char *msg = PQresultErrorMessage(res);
                snprintf(err, errlen, "%s: recording it: %.*s", what, (int)strcspn(msg, "\n"),
                         msg);
                rc = PC_EDB;
            }
            PQclear(res);
        }
        if (rc == PC_OK)
            rc = run(conn, "COMMIT", what, err, errlen);
        if (rc == PC_OK) {
            (*applied)++;
            LOG_INFO("migrate", "applied %s", m->name);
        } else {
            PQclear(PQexec(conn, "ROLLBACK"));
        }
    }
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)", (long long)MIGRATE_LOCK_KEY);
    PQclear(PQexec(conn, sql));
    return rc;
}
