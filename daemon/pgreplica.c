/* pgreplica.c - sampling a PostgreSQL streaming replica: replay position and time, WAL receiver state; LSN text. */
#include "pgreplica.h"

/* Owns: the statements asked of a replica.  May call: pgdelta (a statement
 * under a deadline), pgsource. */

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"
#include "pgdelta.h"

int pcd_lsn_parse(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    unsigned long long hi = strtoull(s, &end, 16);
    if (end == s || *end != '/' || hi > 0xffffffffull)
        return -1;
    const char *lo_s = end + 1;
    unsigned long long lo = strtoull(lo_s, &end, 16);
    if (end == lo_s || *end || lo > 0xffffffffull)
        return -1;
    *out = (uint64_t)hi << 32 | (uint64_t)lo;
    return 0;
}

/* The LSNs as text (pg_lsn's own form, parsed here): numeric arithmetic
 * on pg_lsn would cost the replica more than the sample is worth.  The
 * receiver's status is hidden from roles without pg_read_all_stats, but
 * its row (pid) is not: a row is a running receiver. */
#define SAMPLE_SQL                                                              \
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "              \
    "pg_last_wal_receive_lsn()::text, "                                         \
    "extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp()), " \
    "(SELECT coalesce(status, '?') FROM pg_stat_wal_receiver LIMIT 1)"

int pcd_pg_replica_sample(pg_conn *c, const pcd_cancel *cx, pcd_replica_sample *out,
                          char *err, size_t errlen)
{
    int rc;
    memset(out, 0, sizeof *out);
    PGresult *res = pcd_pg_exec(c, SAMPLE_SQL, 0, NULL, cx, &rc, err, errlen);
    if (!res)
        return rc;
    if (PQntuples(res) != 1 || PQnfields(res) != 5) {
        snprintf(err, errlen, "replica sample: unexpected result shape");
        PQclear(res);
        return PC_EDB;
    }
    out->in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (!PQgetisnull(res, 0, 1))
        pcd_lsn_parse(PQgetvalue(res, 0, 1), &out->replay_lsn);
    if (!PQgetisnull(res, 0, 2))
        pcd_lsn_parse(PQgetvalue(res, 0, 2), &out->receive_lsn);
    out->replay_age_s = PQgetisnull(res, 0, 3) ? -1.0 : strtod(PQgetvalue(res, 0, 3), NULL);
    if (PQgetisnull(res, 0, 4)) {
        snprintf(out->receiver, sizeof out->receiver, "none");
    } else {
        snprintf(out->receiver, sizeof out->receiver, "%s", PQgetvalue(res, 0, 4));
        out->receiving = strcmp(out->receiver, "streaming") == 0 ||
                         strcmp(out->receiver, "?") == 0;
    }
    PQclear(res);
    return PC_OK;
}

int pcd_pg_replay_lsn(pg_conn *c, const pcd_cancel *cx, uint64_t *lsn, char *err, size_t errlen)
{
    int rc;
    *lsn = 0;
    PGresult *res = pcd_pg_exec(c, "SELECT pg_last_wal_replay_lsn()::text", 0, NULL, cx, &rc,
                                err, errlen);
    if (!res)
        return rc;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        pcd_lsn_parse(PQgetvalue(res, 0, 0), lsn);
    PQclear(res);
    return PC_OK;
}
