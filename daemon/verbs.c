/* verbs.c - the control channel's verbs as the engine carries them out: status, metrics, reload, breaker reset, accept, and the resend check (control.c parses and answers). */
#include "verbs.h"

/* Owns: what each operator request does to the engine and its audit
 * record.  May call: schedule, engine, view, metrics, store, events, breaker,
 * log.  Add a verb here, its parsing and reply in control.c. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "schedule.h"

/* Escape a value for the status line's error="..." field. */
static void quote(char *dst, size_t cap, const char *src)
{
    size_t j = 0;
    for (; *src && j + 3 < cap; src++) {
        char ch = *src == '\n' || *src == '\t' ? ' ' : *src;
        if (ch == '"' || ch == '\\')
            dst[j++] = '\\';
        dst[j++] = ch;
    }
    dst[j] = 0;
}

/* Read from the view: the chain table under the engine's lock, each
 * chain's metadata from the store after it is released. */
static int ctl_status(void *ctx, char *out, size_t cap)
{
    engine *d = ctx;
    pcd_view v;
    if (pcd_engine_view(d, &v, PCD_VIEW_CHAINS) != PC_OK) {
        snprintf(out, cap, "internal: out of memory");
        return PC_ENOMEM;
    }
    int64_t now = v.now_ms;
    size_t n = v.nchains, len = 0;
    /* db_since: unix s of the database's last change of state (0: not
     * checked yet); db_error: why it is down, "" while up. */
    char dberr[2 * sizeof v.db_error];
    quote(dberr, sizeof dberr, v.db_error);
    int w = snprintf(out, cap, "daemon state=%s ready=%u pid=%u uptime_s=%lld db=%s db_since=%lld "
                     "db_error=\"%s\" chains=%zu\n",
                     pc_daemon_state_name((int)v.drec.state), v.drec.ready, (unsigned)getpid(),
                     (long long)((now - v.drec.started_ms) / 1000),
                     pcd_view_db(&v) == PC_DB_DOWN ? "down" : "ok",
                     (long long)(v.db_since_ms / 1000), dberr, n);
    len = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < n && len < cap; i++) {
        const pcd_view_chain *vc = &v.chains[i];
        const pc_meta_rec *m = &vc->meta;
        char err[2 * sizeof m->last_error];
        quote(err, sizeof err, m->last_error);
        w = snprintf(out + len, cap - len,
                     "chain=%s version=%llu rows=%llu base_rows=%llu store_rows=%llu age_s=%lld "
                     "breaker=%s last_result=%s failures=%u loads_ok=%llu loads_failed=%llu "
                     "load=%s accept=%d error=\"%s\"\n",
                     vc->slug, (unsigned long long)m->version,
                     (unsigned long long)(m->base_rows + m->store_rows),
                     (unsigned long long)m->base_rows, (unsigned long long)m->store_rows,
                     vc->cached ? (long long)((now - m->loaded_at_ms) / 1000) : -1LL,
                     pc_breaker_name(vc->breaker), pc_load_result_name((int)m->last_result),
                     m->consecutive_failures, (unsigned long long)m->loads_ok,
                     (unsigned long long)m->loads_failed, pcd_view_load_name(vc->load),
                     vc->accept, err);
        if (w < 0 || (size_t)w >= cap - len) {
            pcd_view_free(&v);
            snprintf(out, cap, "internal: status of %zu chains is larger than %zu bytes", n,
                     cap);
            return PC_EIO;
        }
        len += (size_t)w;
    }
    if (len > 0 && out[len - 1] == '\n')
        out[--len] = 0;
    pcd_view_free(&v);
    return PC_OK;
}

static int ctl_metrics(void *ctx, char *out, size_t cap)
{
    pcd_view v;
    if (pcd_engine_view(ctx, &v, PCD_VIEW_CHAINS | PCD_VIEW_ENV) != PC_OK) {
        snprintf(out, cap, "internal: out of memory");
        return PC_ENOMEM;
    }
    size_t len = 0;
    char *text = pcd_metrics_render(&v, &len);
    pcd_view_free(&v);
    if (!text) {
        snprintf(out, cap, "internal: out of memory");
        return PC_ENOMEM;
    }
    int rc = PC_OK;
    if (len >= cap) {
        snprintf(out, cap, "internal: metrics are %zu bytes, more than a reply holds; read "
                 "them from [http] /metrics", len);
        rc = PC_EIO;
    } else {
        memcpy(out, text, len + 1);
        if (len > 0 && out[len - 1] == '\n')
            out[len - 1] = 0;
    }
    free(text);
    return rc;
}

/* The chain an operator named, active in the source; else the answer. */
static chain *ctl_chain(engine *d, const char *slug, char *out, size_t cap)
{
    chain *c = pcd_chain_find(d, slug);
    if (!c || !c->active)
        snprintf(out, cap, "no_chain: chain %s is not an active chain of this daemon", slug);
    return c && c->active ? c : NULL;
}

static void audit_note(engine *d, const char *text, char *out, size_t cap)
{
    uint64_t seq = 0;
    size_t len = strlen(out);
    if (pcd_store_audit(d->store, text, &seq) == PC_OK)
        snprintf(out + len, cap - len, " (audit #%llu)", (unsigned long long)seq);
    else
        LOG_ERR("audit", "cannot write the audit record: %s", text);
}

static int ctl_done_before(void *ctx, const pcd_actor *who, uint64_t *seq)
{
    engine *d = ctx;
    char uid[32], req[64];
    snprintf(uid, sizeof uid, " uid=%u ", who->uid);
    snprintf(req, sizeof req, " req=%s ", who->id);
    /* 4,096 records back: far beyond any retry's reach, still a few ms. */
    return pcd_store_audit_find(d->store, uid, req, 4096, seq);
}

static int ctl_reload(void *ctx, const char *slug, const pcd_actor *who, char *out, size_t cap)
{
    engine *d = ctx;
    char text[PC_AUDIT_TEXT_MAX];
    pthread_mutex_lock(&d->mu);
    if (strcmp(slug, "all") == 0) {
        d->sync_asked = 1; /* the listing queues every active chain */
        pcd_engine_wake(d);
        snprintf(out, cap, "reload of every active chain queued");
    } else {
        chain *c = ctl_chain(d, slug, out, cap);
        if (!c) {
            pthread_mutex_unlock(&d->mu);
            return PC_ENOCHAIN;
        }
        pcd_sched_load(d, c);
        snprintf(out, cap, "reload of %s queued", slug);
    }
    pthread_mutex_unlock(&d->mu);
    snprintf(text, sizeof text, "%s action=reload chain=%s result=queued", who->text, slug);
    audit_note(d, text, out, cap);
    return PC_OK;
}

static int ctl_breaker_reset(void *ctx, const char *slug, const pcd_actor *who, char *out,
                             size_t cap)
{
    engine *d = ctx;
    pthread_mutex_lock(&d->mu);
    chain *c = ctl_chain(d, slug, out, cap);
    if (!c) {
        pthread_mutex_unlock(&d->mu);
        return PC_ENOCHAIN;
    }
    int before = c->br.state;
    int changed = pcd_breaker_reset(&c->br, pc_mono_ms());
    if (changed) {
        c->backoff_ms = 0;
        pcd_sched_load(d, c);
    }
    pthread_mutex_unlock(&d->mu);
    if (!changed) {
        snprintf(out, cap, "breaker of %s is already closed; nothing changed", slug);
        return PC_OK;
    }
    LOG_WARN("breaker", "chain %s: breaker %s -> closed (reset by uid %u, stated)", slug,
             pc_breaker_name(before), who->uid);
    pcd_events_send(d->events, PC_EV_BREAKER, slug, 0, PC_BREAKER_CLOSED, "%s -> closed (reset)",
                    pc_breaker_name(before));
    char text[PC_AUDIT_TEXT_MAX];
    snprintf(text, sizeof text, "%s action=breaker_reset chain=%s result=ok from=%s", who->text,
             slug, pc_breaker_name(before));
    snprintf(out, cap, "breaker of %s: %s -> closed; load queued", slug, pc_breaker_name(before));
    pc_meta_rec m;
    uint64_t seq = 0;
    if (pcd_store_get_meta(d->store, slug, &m) == PC_OK) {
        /* The new state and its audit record in one transaction. */
        m.breaker = PC_BREAKER_CLOSED;
        m.breaker_since_ms = pc_now_ms();
        m.probe_at_ms = 0;
        m.consecutive_failures = 0;
        if (pcd_store_put_meta_audited(d->store, slug, &m, text, &seq) == PC_OK) {
            size_t len = strlen(out);
            snprintf(out + len, cap - len, " (audit #%llu)", (unsigned long long)seq);
        } /* else the store logged why; the reply says no audit number */
    } else {
        audit_note(d, text, out, cap); /* never loaded: no state on disk to change */
    }
    return PC_OK;
}

static int ctl_accept(void *ctx, const char *slug, const pcd_actor *who, char *out, size_t cap)
{
    engine *d = ctx;
    pc_meta_rec m;
    if (pcd_store_get_meta(d->store, slug, &m) != PC_OK)
        memset(&m, 0, sizeof m);
    pthread_mutex_lock(&d->mu);
    chain *c = ctl_chain(d, slug, out, cap);
    if (!c) {
        pthread_mutex_unlock(&d->mu);
        return PC_ENOCHAIN;
    }
    if (m.last_result != PC_LOAD_REFUSED) {
        pthread_mutex_unlock(&d->mu);
        snprintf(out, cap, "nothing_to_accept: the last load of %s was not refused by a guard "
                 "(last result: %s)", slug, pc_load_result_name((int)m.last_result));
        return PC_EREFUSED;
    }
    c->accept = 1;
    snprintf(c->accept_by, sizeof c->accept_by, "%s", who->text);
    pcd_sched_load(d, c);
    pthread_mutex_unlock(&d->mu);
    snprintf(out, cap, "%s: the next load skips the refuse guards once (%s); load queued; the "
             "audit record is written with its publish", slug, m.last_error);
    return PC_OK;
}

void pcd_verbs_ops(engine *d, pcd_control_ops *ops)
{
    pcd_control_ops o = { d, ctl_status, ctl_metrics, ctl_reload, ctl_breaker_reset, ctl_accept,
                          ctl_done_before };
    *ops = o;
}
