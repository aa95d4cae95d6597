/* admin_probe.c - the admin API of pricecache.h printed as key=value lines, for scenarios (a monitoring script would do the same).
 *
 *   admin_probe DIR daemon              the daemon record and the database state
 *   admin_probe DIR env                 map and reader figures
 *   admin_probe DIR chain CHAIN         the full chain record
 *   admin_probe DIR scan CHAIN BATCH    rows, batches and the versions seen
 *   admin_probe DIR verify              the audit log's hash chain
 *
 * Only the public header: what any program can do.  Exit 0, or 1 with the
 * call's error on stderr. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pricecache.h"

static int bad(const char *what, int rc)
{
    fprintf(stderr, "admin_probe: %s: %s\n", what, pc_strerror(rc));
    return 1;
}

static int daemon_rec(pc_reader *r)
{
    pc_daemon_status d = { .size = sizeof d };
    int rc = pc_daemon_read(r, &d);
    if (rc != PC_OK && rc != PC_NOTFOUND)
        return bad("pc_daemon_read", rc);
    printf("record=%s\nstate=%s\nrunning=%u\npid=%u\nstarted_ms=%" PRId64 "\nready=%u\n"
           "ready_ms=%" PRId64 "\nupdated_ms=%" PRId64 "\nmap_size=%" PRIu64 "\ndb=%s\n"
           "db_derived=%u\ndb_since_ms=%" PRId64 "\ndb_error=%s\n",
           rc == PC_OK ? "yes" : "none", pc_daemon_state_name((int)d.state), d.running, d.pid,
           d.started_ms, d.ready, d.ready_ms, d.updated_ms, d.map_size,
           pc_db_state_name((int)d.db_state), d.db_derived, d.db_since_ms, d.db_error);
    return 0;
}

static int env(pc_reader *r)
{
    pc_env_status e = { .size = sizeof e };
    int rc = pc_env_read(r, &e);
    if (rc != PC_OK)
        return bad("pc_env_read", rc);
    printf("map_used=%" PRIu64 "\nmap_size=%" PRIu64 "\nreaders_used=%u\nreaders_max=%u\n",
           e.map_used, e.map_size, e.readers_used, e.readers_max);
    return 0;
}

static int chain(pc_reader *r, const char *name)
{
    pc_chain_status c = { .size = sizeof c };
    int rc = pc_chain_read(r, name, &c);
    if (rc != PC_OK)
        return bad(name, rc);
    printf("version=%" PRIu64 "\nbase_rows=%" PRIu64 "\nstore_rows=%" PRIu64 "\n"
           "breaker=%s\nlast_result=%s\nlast_attempt_ms=%" PRId64 "\nconsecutive_failures=%u\n"
           "loads_ok=%" PRIu64 "\nloads_failed=%" PRIu64 "\nlast_error=%s\n",
           c.version, c.base_rows, c.store_rows, pc_breaker_name((int)c.breaker),
           pc_load_result_name((int)c.last_result), c.last_attempt_ms,
           c.consecutive_failures, c.loads_ok, c.loads_failed, c.last_error);
    for (uint32_t i = 0; i < c.nrejected; i++)
        printf("rejected_%s=%" PRIu64 "\n", pc_reject_name((int)i), c.rejected[i]);
    return 0;
}

static int scan(pc_reader *r, const char *name, size_t batch)
{
    pc_scan *s;
    int rc = pc_scan_open(r, name, batch, &s);
    if (rc != PC_OK)
        return bad(name, rc);
    size_t rows = 0, batches = 0, stores = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (;;) {
        const pc_scan_row *const *row;
        size_t n;
        uint64_t v;
        rc = pc_scan_next(s, &row, &n, &v);
        if (rc != PC_OK || n == 0)
            break;
        batches++;
        rows += n;
        for (size_t i = 0; i < n; i++)
            stores += row[i]->store[0] != 0;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    pc_scan_close(s);
    if (rc != PC_OK)
        return bad("pc_scan_next", rc);
    printf("rows=%zu\nstore_rows=%zu\nbatches=%zu\nversions=%" PRIu64 "..%" PRIu64 "\n", rows,
           stores, batches, lo, hi);
    return 0;
}

static int verify(pc_reader *r)
{
    pc_audit_verdict v = { .size = sizeof v };
    int rc = pc_audit_verify(r, &v);
    if (rc != PC_OK && rc != PC_ETAMPERED)
        return bad("pc_audit_verify", rc);
    printf("intact=%" PRIu64 "\nbad_seq=%" PRIu64 "\nwhy=%s\n", v.intact, v.bad_seq, v.why);
    pc_audit_entry e = { .size = sizeof e };
    if (v.intact && pc_audit_next(r, v.intact - 1, &e) == PC_OK)
        printf("last=%s\n", e.text);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: admin_probe DIR daemon|env|chain CHAIN|scan CHAIN BATCH|verify\n");
        return 2;
    }
    pc_reader *r;
    int rc = pc_open(argv[1], &r);
    if (rc != PC_OK)
        return bad(argv[1], rc);
    int e = 2;
    if (strcmp(argv[2], "daemon") == 0)
        e = daemon_rec(r);
    else if (strcmp(argv[2], "env") == 0)
        e = env(r);
    else if (strcmp(argv[2], "chain") == 0 && argc == 4)
        e = chain(r, argv[3]);
    else if (strcmp(argv[2], "scan") == 0 && argc == 5)
        e = scan(r, argv[3], (size_t)strtoul(argv[4], NULL, 10));
    else if (strcmp(argv[2], "verify") == 0)
        e = verify(r);
    pc_close(r);
    return e;
}
