/* metrics.c - the daemon's state as Prometheus text (names fixed by DESIGN.md) and as health answers. */
#include "metrics.h"

/* Owns: the Prometheus text and the health bodies of a pcd_view.  May call: view. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every family once: name, type, help.  The renderer and the help texts
 * come from this one table. */
#define PCD_METRIC_FAMILIES(X)                                                            \
    X(M_LOOKUPS,    "lookups_total",          "counter",   "Lookups by the readers of this cache, by result") \
    X(M_LOOKUP_LAT, "lookup_duration_seconds", "histogram", "Duration of sampled lookups (1 in 64) in the readers; the sum is estimated from bucket midpoints") \
    X(M_LOADS,      "loads_total",            "counter",   "Loads of a chain, by result")  \
    X(M_DURATION,   "load_duration_seconds",  "histogram", "Duration of loads, read and publish") \
    X(M_ROWS,       "rows",                   "gauge",     "Rows in a chain's snapshot, by kind") \
    X(M_AGE,        "snapshot_age_seconds",   "gauge",     "Age of a chain's snapshot")     \
    X(M_REJECTED,   "rejected_rows_total",    "counter",   "Source rows rejected, by chain and reason") \
    X(M_INVAL,      "invalidations_total",    "counter",   "Reasons the cache was told to change") \
    X(M_BREAKER,    "circuit_breaker_state",  "gauge",     "Breaker of a chain: 0 closed, 1 open, 2 half-open") \
    X(M_READERS,    "readers",                "gauge",     "LMDB reader slots in use")      \
    X(M_MAP_USED,   "map_used_bytes",         "gauge",     "Bytes of the LMDB map in use")  \
    X(M_MAP_SIZE,   "map_size_bytes",         "gauge",     "Size of the LMDB map") \
    X(M_DB_UP,      "database_up",            "gauge",     "1 while the daemon's continuous check of its database succeeds, 0 within 5 s of it failing (and before the first check)") \
    X(M_DB_DOWN_SINCE, "database_down_since_seconds", "gauge", "Unix time the database was last found unreachable; 0 while it is not") \
    X(M_STATS_REJ,  "stats_files_rejected_total", "counter", "Per-process lookup statistics files skipped as corrupt or hostile") \
    X(M_RD_MAX,     "readers_max",            "gauge",     "Size of the LMDB reader table") \
    X(M_OLD_TXN,    "oldest_read_txn_seconds", "gauge",    "Age of the oldest read transaction holding a snapshot older than the newest commit, any process (0 if none)") \
    X(M_OLD_PID,    "oldest_read_txn_pid",    "gauge",     "Pid of the process holding that transaction (0 if none)") \
    X(M_PAGES,      "map_pages",              "gauge",     "LMDB pages: used (up to the last page of the newest snapshot) and free (on the free list)") \
    X(M_DATA_BYTES, "data_file_bytes",        "gauge",     "Size of data.mdb on disk") \
    X(M_MAP_FULL,   "map_full",               "gauge",     "1 while publishes fail for want of map space") \
    X(M_DISK_FULL,  "disk_full",              "gauge",     "1 while publishes fail for want of space on the cache directory's filesystem (ENOSPC); the last snapshots are served") \
    X(M_LOCK_BAD,   "lock_file_corrupt",      "gauge",     "1 while lock.mdb fails a check (reader count beyond the table, transaction id data.mdb contradicts, bad header): publishes are refused") \
    X(M_PROGRESS,   "last_progress_seconds",  "gauge",     "Seconds since the engine (main loop and publisher) last made progress; grows when hung") \
    X(M_ACCEPT,     "accept_pending",         "gauge",     "1 while a chain's last load was refused by a guard (reject share or shrink) and awaits `pricecache accept`") \
    X(M_SRC_UP,     "source_up",              "gauge",     "1 while a source can serve reads: the primary while its continuous check succeeds; a replica while its WAL receiver streams, its lag is within max_lag_s and its breaker is not open") \
    X(M_LAG_S,      "replica_lag_seconds",    "gauge",     "Replay lag of a replica in seconds: 0 when it has replayed the primary's last sampled WAL position, else the age of its last replayed commit") \
    X(M_LAG_B,      "replica_lag_bytes",      "gauge",     "WAL bytes the primary's last sampled position is ahead of a replica's replay position") \
    X(M_SRC_READS,  "source_reads_total",     "counter",   "Loads and deltas a source served, by source and kind")

enum {
#define PCD_X_ENUM(id, name, type, help) id,
    PCD_METRIC_FAMILIES(PCD_X_ENUM)
#undef PCD_X_ENUM
};

typedef struct buf {
    char  *p;
    size_t len, cap;
    int    oom;
} buf;

__attribute__((format(printf, 2, 3)))
static void put(buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static void family(buf *b, int id)
{
    static const char *const names[] = {
#define PCD_X_NAME(id, name, type, help) name,
        PCD_METRIC_FAMILIES(PCD_X_NAME)
#undef PCD_X_NAME
    };
    static const char *const types[] = {
#define PCD_X_TYPE(id, name, type, help) type,
        PCD_METRIC_FAMILIES(PCD_X_TYPE)
#undef PCD_X_TYPE
    };
    static const char *const helps[] = {
#define PCD_X_HELP(id, name, type, help) help,
        PCD_METRIC_FAMILIES(PCD_X_HELP)
#undef PCD_X_HELP
    };
    put(b, "# HELP pricecache_%s %s.\n# TYPE pricecache_%s %s\n", names[id], helps[id],
        names[id], types[id]);
}

static const char *inval_name(int i)
{
    static const char *const names[] = {
#define PCD_X_NAME(id, name) name,
        PCD_INVALIDATIONS(PCD_X_NAME)
#undef PCD_X_NAME
    };
    return names[i];
}

char *pcd_metrics_render(const pcd_view *v, size_t *len)
{
    static const double bounds[] = {
#define PCD_X_B(x) x,
        PCD_DURATION_BUCKETS(PCD_X_B)
#undef PCD_X_B
    };
    buf b = { NULL, 0, 0, 0 };
    b.cap = 4096;
    b.p = malloc(b.cap);
    if (!b.p)
        return NULL;
    b.p[0] = 0;

    /* Lookups: zeros while no reader ever counted (no area yet), so that
     * the series exist from the start and rate() needs no special case. */
    family(&b, M_LOOKUPS);
    const pc_stats *ls = &v->lookups;
    put(&b, "pricecache_lookups_total{result=\"hit\"} %llu\n"
            "pricecache_lookups_total{result=\"miss\"} %llu\n"
            "pricecache_lookups_total{result=\"error\"} %llu\n",
        (unsigned long long)(v->have_lookups ? ls->hits : 0),
        (unsigned long long)(v->have_lookups ? ls->misses : 0),
        (unsigned long long)(v->have_lookups ? ls->errors : 0));
    family(&b, M_LOOKUP_LAT);
    /* Bucket i of the area counts lookups < 2^(i+7) ns; the last is open. */
    uint64_t cum = 0;
    double lat_sum = 0;
    for (int i = 0; i < PC_STATS_BUCKETS; i++) {
        uint64_t n = v->have_lookups ? ls->latency[i] : 0;
        cum += n;
        /* No sum is kept; each sample counts at its bucket's midpoint. */
        lat_sum += (double)n * (i == 0 ? 64e-9 : 1.5 * (double)(1ull << (i + 6)) * 1e-9);
        if (i < PC_STATS_BUCKETS - 1)
            put(&b, "pricecache_lookup_duration_seconds_bucket{le=\"%g\"} %llu\n",
                (double)(1ull << (i + 7)) * 1e-9, (unsigned long long)cum);
    }
    put(&b, "pricecache_lookup_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
            "pricecache_lookup_duration_seconds_sum %.9f\n"
            "pricecache_lookup_duration_seconds_count %llu\n",
        (unsigned long long)cum, lat_sum, (unsigned long long)cum);
    family(&b, M_LOADS);
    for (size_t c = 0; c < v->nchains; c++)
        for (int r = PC_LOAD_OK; r < PC_LOAD__COUNT; r++)
            put(&b, "pricecache_loads_total{chain=\"%s\",result=\"%s\"} %llu\n",
                v->chains[c].slug, pc_load_result_name(r),
                (unsigned long long)v->chains[c].loads[r]);
    family(&b, M_DURATION);
    for (int i = 0; i < PCD_NBUCKETS; i++)
        put(&b, "pricecache_load_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds[i],
            (unsigned long long)v->counters.duration_buckets[i]);
    put(&b, "pricecache_load_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
            "pricecache_load_duration_seconds_sum %.6f\n"
            "pricecache_load_duration_seconds_count %llu\n",
        (unsigned long long)v->counters.duration_count, v->counters.duration_sum,
        (unsigned long long)v->counters.duration_count);
    family(&b, M_ROWS);
    for (size_t c = 0; c < v->nchains; c++)
        if (v->chains[c].cached)
            put(&b, "pricecache_rows{chain=\"%s\",kind=\"base\"} %llu\n"
                    "pricecache_rows{chain=\"%s\",kind=\"store\"} %llu\n",
                v->chains[c].slug, (unsigned long long)v->chains[c].meta.base_rows,
                v->chains[c].slug, (unsigned long long)v->chains[c].meta.store_rows);
    family(&b, M_AGE);
    for (size_t c = 0; c < v->nchains; c++)
        if (v->chains[c].cached)
            put(&b, "pricecache_snapshot_age_seconds{chain=\"%s\"} %.3f\n", v->chains[c].slug,
                (double)(v->now_ms - v->chains[c].meta.loaded_at_ms) / 1000.0);
    family(&b, M_REJECTED);
    for (size_t c = 0; c < v->nchains; c++)
        for (int r = 0; r < PC_REJ__COUNT; r++)
            put(&b, "pricecache_rejected_rows_total{chain=\"%s\",reason=\"%s\"} %llu\n",
                v->chains[c].slug, pc_reject_name(r),
                (unsigned long long)v->chains[c].rejected[r]);
    family(&b, M_INVAL);
    for (int i = 0; i < PCD_INV__COUNT; i++)
        put(&b, "pricecache_invalidations_total{reason=\"%s\"} %llu\n", inval_name(i),
            (unsigned long long)v->counters.invalidations[i]);
    family(&b, M_BREAKER);
    for (size_t c = 0; c < v->nchains; c++)
        put(&b, "pricecache_circuit_breaker_state{chain=\"%s\"} %d\n", v->chains[c].slug,
            v->chains[c].breaker);
    family(&b, M_READERS);
    put(&b, "pricecache_readers %d\n", v->readers);
    family(&b, M_MAP_USED);
    put(&b, "pricecache_map_used_bytes %llu\n", (unsigned long long)v->map_used);
    family(&b, M_MAP_SIZE);
    put(&b, "pricecache_map_size_bytes %llu\n", (unsigned long long)v->map_size);
    int db = pcd_view_db(v);
    family(&b, M_DB_UP);
    put(&b, "pricecache_database_up %d\n", db == PC_DB_UP);
    family(&b, M_DB_DOWN_SINCE);
    put(&b, "pricecache_database_down_since_seconds %lld\n",
        db == PC_DB_DOWN ? (long long)(v->db_since_ms / 1000) : 0LL);
    family(&b, M_STATS_REJ);
    put(&b, "pricecache_stats_files_rejected_total %llu\n",
        (unsigned long long)v->stats_rejected);
    /* Issue 13: the watcher's last sample, present from the first scrape
     * (zeroes until it has one). */
    family(&b, M_RD_MAX);
    put(&b, "pricecache_readers_max %d\n", v->env.readers_max);
    family(&b, M_OLD_TXN);
    put(&b, "pricecache_oldest_read_txn_seconds %.3f\n", v->env.oldest_txn_s);
    family(&b, M_OLD_PID);
    put(&b, "pricecache_oldest_read_txn_pid %u\n", (unsigned)v->env.oldest_txn_pid);
    family(&b, M_PAGES);
    put(&b, "pricecache_map_pages{state=\"used\"} %llu\n"
            "pricecache_map_pages{state=\"free\"} %llu\n",
        (unsigned long long)v->env.pages_used, (unsigned long long)v->env.pages_free);
    family(&b, M_DATA_BYTES);
    put(&b, "pricecache_data_file_bytes %llu\n", (unsigned long long)v->env.data_bytes);
    family(&b, M_MAP_FULL);
    put(&b, "pricecache_map_full %d\n", v->map_full ? 1 : 0);
    family(&b, M_DISK_FULL);
    put(&b, "pricecache_disk_full %d\n", v->disk_full ? 1 : 0);
    family(&b, M_LOCK_BAD);
    put(&b, "pricecache_lock_file_corrupt %d\n", v->lock_corrupt ? 1 : 0);
    family(&b, M_PROGRESS);
    put(&b, "pricecache_last_progress_seconds %.3f\n", (double)v->stall_ms / 1000.0);
    /* Refused by a guard and not yet accepted (an accept given is a load
     * queued that skips the guards once). */
    family(&b, M_ACCEPT);
    for (size_t c = 0; c < v->nchains; c++) {
        const pcd_view_chain *vc = &v->chains[c];
        put(&b, "pricecache_accept_pending{chain=\"%s\"} %d\n", vc->slug,
            vc->cached && vc->meta.last_result == PC_LOAD_REFUSED && !vc->accept);
    }
    /* Issue 14: the sources (the primary alone without replicas). */
    family(&b, M_SRC_UP);
    for (size_t i = 0; i < v->nsources; i++)
        put(&b, "pricecache_source_up{source=\"%s\"} %d\n", v->sources[i].name,
            v->sources[i].up ? 1 : 0);
    family(&b, M_LAG_S);
    for (size_t i = 1; i < v->nsources; i++)
        if (v->sources[i].lag_s >= 0)
            put(&b, "pricecache_replica_lag_seconds{source=\"%s\"} %.3f\n", v->sources[i].name,
                v->sources[i].lag_s);
    family(&b, M_LAG_B);
    for (size_t i = 1; i < v->nsources; i++)
        if (v->sources[i].lag_bytes >= 0)
            put(&b, "pricecache_replica_lag_bytes{source=\"%s\"} %lld\n", v->sources[i].name,
                (long long)v->sources[i].lag_bytes);
    family(&b, M_SRC_READS);
    for (size_t i = 0; i < v->nsources; i++)
        for (int k = 0; k < PCD_READ__COUNT; k++)
            put(&b, "pricecache_source_reads_total{source=\"%s\",kind=\"%s\"} %llu\n",
                v->sources[i].name, pcd_read_kind_name(k),
                (unsigned long long)v->sources[i].reads[k]);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

int pcd_health_live(const pcd_view *v, char *body, size_t len)
{
    (void)v;
    snprintf(body, len, "{\"status\":\"alive\"}\n");
    return 200;
}

int pcd_health_startup(const pcd_view *v, char *body, size_t len)
{
    snprintf(body, len, "{\"status\":\"%s\",\"chains\":%zu}\n",
             v->started ? "started" : "starting", v->nchains);
    return v->started ? 200 : 503;
}

int pcd_health_ready(const pcd_view *v, char *body, size_t len)
{
    char why[256];
    if (v->started && !pcd_view_can_read(v)) {
        /* Readers are served all along: what they get is the last
         * snapshots, which no change reaches while the database is away. */
        snprintf(body, len, "{\"status\":\"degraded\",\"reason\":\"database unreachable\","
                 "\"serving\":\"stale snapshots\",\"since\":%lld}\n",
                 (long long)(v->db_since_ms / 1000));
        return 503;
    }
    if (pcd_view_unready(v, why, sizeof why)) {
        snprintf(body, len, "{\"status\":\"not ready\",\"reason\":\"%s\"}\n", why);
        return 503;
    }
    snprintf(body, len, "{\"status\":\"ready\",\"chains\":%zu}\n", v->nchains);
    return 200;
}
