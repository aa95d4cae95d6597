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

int pcd_view_state(const pcd_view *v)
{
    if (!v->started)
        return PC_DAEMON_STARTING;
    int degraded = !v->db_ok || pcd_view_db(v) == PC_DB_DOWN || v->unclosed > 0 ||
                   v->failing > 0;
    return degraded ? PC_DAEMON_DEGRADED : PC_DAEMON_READY;
}

int pcd_view_unready(const pcd_view *v, char *why, size_t len)
{
    /* The first reason that makes the data not fresh is named.  Unlike
     * the daemon's state, a half-open breaker or a refused load does not
     * make the data stale: the last good snapshot is served. */
    why[0] = 0;
    if (!v->started)
        snprintf(why, len, "warm-up not done");
    else if (pcd_view_db(v) == PC_DB_DOWN)
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
    if (v->started)
        snprintf(buf, len, "ready: %zu chains, %d breakers open%s", v->nchains, v->unclosed,
                 pcd_view_db(v) != PC_DB_DOWN ? "" : ", database unreachable");
    else
        snprintf(buf, len, "warming up: %d of %zu chains loaded%s", v->warm, v->nchains,
                 pcd_view_db(v) != PC_DB_DOWN ? "" : ", database unreachable");
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
