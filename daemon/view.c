/* view.c - judging the daemon's state from its view: starting / ready / degraded, fresh for /readyz, the systemd status line. */
#include "view.h"

/* Owns: the judgements of a pcd_view.  May call: nothing of daemon/ (pure). */

#include <stdio.h>
#include <stdlib.h>

void pcd_view_free(pcd_view *v)
{
    free(v->chains);
    v->chains = NULL;
}

int pcd_view_db(const pcd_view *v)
{
    if (v->db_state == PC_DB_UP || v->db_state == PC_DB_DOWN)
        return v->db_state;
    return v->db_ok ? PC_DB_UNKNOWN : PC_DB_DOWN;
}

int pcd_view_replica_up(const pcd_view *v)
{
    for (size_t i = 1; i < v->nsources && i < PCD_SRC_MAX; i++)
        if (v->sources[i].up)
            return 1;
    return 0;
}

int pcd_view_can_read(const pcd_view *v)
{
    return pcd_view_db(v) != PC_DB_DOWN || pcd_view_replica_up(v);
}

int pcd_view_store_blocked_s(const pcd_view *v)
{
    int64_t limit = (int64_t)(v->stall_limit_s > 0 ? v->stall_limit_s : 10) * 1000;
    /* The store only: the main loop may legitimately wait for PostgreSQL
     * (a listing, up to connect_timeout_s + timeout_s), which
     * last_progress_seconds shows but is not the store. */
    return v->store_busy_ms >= limit ? (int)(v->store_busy_ms / 1000) : 0;
}

int pcd_view_state(const pcd_view *v)
{
    if (!v->started)
        return PC_DAEMON_STARTING;
    int degraded = !v->db_ok || pcd_view_db(v) == PC_DB_DOWN || v->unclosed > 0 ||
                   v->failing > 0 || v->map_full || v->disk_full || v->lock_corrupt ||
                   pcd_view_store_blocked_s(v) > 0;
    return degraded ? PC_DAEMON_DEGRADED : PC_DAEMON_READY;
}

int pcd_view_unready(const pcd_view *v, char *why, size_t len)
{
    /* The first reason that makes the data not fresh is named.  Unlike
     * the daemon's state, a half-open breaker or a refused load does not
     * make the data stale: the last good snapshot is served. */
    why[0] = 0;
    int blocked = pcd_view_store_blocked_s(v);
    if (blocked)
        snprintf(why, len, "store blocked for %d s", blocked);
    else if (!v->started)
        snprintf(why, len, "warm-up not done");
    else if (v->lock_corrupt)
        snprintf(why, len, "%s: publishes refused, the last snapshots are served",
                 v->lock_error[0] ? v->lock_error : "lock.mdb corrupt");
    else if (v->disk_full) /* worded as map full: the same effect, another cause */
        snprintf(why, len, "disk full: publishes fail, the last snapshots are served");
    else if (v->map_full)
        snprintf(why, len, "map full: publishes fail, the last snapshots are served");
    else if (!pcd_view_can_read(v))
        snprintf(why, len, "database unreachable");
    else if (!v->db_ok) /* it answers, but the chains query fails */
        snprintf(why, len, "active chains cannot be listed");
    for (size_t c = 0; !why[0] && v->chains && c < v->nchains; c++) {
        const pcd_view_chain *cs = &v->chains[c];
        if (cs->breaker == PC_BREAKER_OPEN)
            snprintf(why, len, "chain %s: circuit breaker open", cs->slug);
        else if (cs->cached && v->now_ms - cs->meta.loaded_at_ms > (int64_t)v->max_age_s * 1000)
            snprintf(why, len, "chain %s: snapshot older than %d s", cs->slug, v->max_age_s);
    }
    return why[0] != 0;
}

void pcd_view_status_line(const pcd_view *v, char *buf, size_t len)
{
    char extra[64] = "";
    int blocked = pcd_view_store_blocked_s(v);
    if (blocked)
        snprintf(extra, sizeof extra, ", store blocked for %d s", blocked);
    else if (v->lock_corrupt)
        snprintf(extra, sizeof extra, ", lock.mdb corrupt");
    else if (v->disk_full)
        snprintf(extra, sizeof extra, ", disk full");
    else if (v->map_full)
        snprintf(extra, sizeof extra, ", map full");
    if (v->started)
        snprintf(buf, len, "ready: %zu chains, %d breakers open%s%s", v->nchains, v->unclosed,
                 pcd_view_db(v) != PC_DB_DOWN ? "" : ", database unreachable", extra);
    else
        snprintf(buf, len, "warming up: %d of %zu chains loaded%s%s", v->warm, v->nchains,
                 pcd_view_db(v) != PC_DB_DOWN ? "" : ", database unreachable", extra);
}

const char *pcd_view_load_name(int load)
{
    static const char *const names[] = { "idle", "queued", "running" };
    return load >= 0 && load <= PCD_CHAIN_RUNNING ? names[load] : "?";
}

void pcd_view_observe(pcd_view_counters *c, double seconds)
{
    static const double bounds[] = {
#define PCD_X_B(x) x,
        PCD_DURATION_BUCKETS(PCD_X_B)
#undef PCD_X_B
    };
    for (int i = 0; i < PCD_NBUCKETS; i++)
        if (seconds <= bounds[i])
            c->duration_buckets[i]++;
    c->duration_count++;
    c->duration_sum += seconds;
}
