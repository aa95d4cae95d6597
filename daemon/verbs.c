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
                     "db_error=\"%s\" chains=%zu",
                     pc_daemon_state_name(pcd_view_state(&v)), v.drec.ready, (unsigned)getpid(),
                     (long long)((now - v.drec.started_ms) / 1000),
                     pcd_view_db(&v) == PC_DB_DOWN ? "down" : "ok",
                     (long long)(v.db_since_ms / 1000), dberr, n);
    len = w > 0 ? (size_t)w : 0;
    /* Issue 13: the store and the readers, from the watcher and the
     * engine's progress (never the store's lock). */
    int blocked = pcd_view_store_blocked_s(&v);
    char note[2 * sizeof v.lock_error + sizeof v.disk_error + 16] = "";
    if (blocked) {
        snprintf(note, sizeof note, " note=\"store blocked for %d s\"", blocked);
    } else if (v.lock_corrupt) {
        char q[2 * sizeof v.lock_error];
        quote(q, sizeof q, v.lock_error);
        snprintf(note, sizeof note, " note=\"%s\"", q);
    } else if (v.disk_full) {
        /* "disk full: No space left on device", the head of the store's
         * error; the failing chain's error="..." has all of it. */
        char head[sizeof v.disk_error];
        snprintf(head, sizeof head, "%s", v.disk_error[0] ? v.disk_error : "disk full");
        char *cut = strstr(head, " (");
        if (cut)
            *cut = 0;
        snprintf(note, sizeof note, " note=\"%s\"", head);
    } else if (v.map_full)
        snprintf(note, sizeof note, " note=\"map full\"");
    w = snprintf(out + len, cap - len, " map=%s disk=%s store=%s lock=%s progress_s=%.1f "
                 "oldest_txn_pid=%u oldest_txn_s=%.0f%s\n", v.map_full ? "full" : "ok",
                 v.disk_full ? "full" : "ok", blocked ? "blocked" : "ok",
                 v.lock_corrupt ? "corrupt" : "ok", (double)v.stall_ms / 1000.0,
                 (unsigned)v.env.oldest_txn_pid, v.env.oldest_txn_s, note);
    len += w > 0 ? (size_t)w : 0;
    /* Issue 14: a line per source, the primary first; lag "-" where none
     * is measured (the primary, a replica not sampled yet). */
    for (size_t i = 0; i < v.nsources && len < cap; i++) {
        const pcd_source_view *sv = &v.sources[i];
        char lb[32] = "-", ls[32] = "-", why[2 * sizeof sv->why];
        if (i > 0 && sv->lag_bytes >= 0)
            snprintf(lb, sizeof lb, "%lld", (long long)sv->lag_bytes);
        if (i > 0 && sv->lag_s >= 0)
            snprintf(ls, sizeof ls, "%.1f", sv->lag_s);
        quote(why, sizeof why, sv->why);
        w = snprintf(out + len, cap - len, "source=%s where=%s state=%s up=%d breaker=%s "
                     "lag_bytes=%s lag_s=%s reads_load=%llu reads_delta=%llu why=\"%s\"\n",
                     sv->name, sv->where, pcd_src_state_name(sv->state), sv->up,
                     pc_breaker_name(sv->breaker), lb, ls,
                     (unsigned long long)sv->reads[PCD_READ_LOAD],
                     (unsigned long long)sv->reads[PCD_READ_DELTA], why);
        len += w > 0 && (size_t)w < cap - len ? (size_t)w : 0;
    }
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

/* The watcher's last sample of the reader table. */
static int ctl_readers(void *ctx, char *out, size_t cap)
{
    engine *d = ctx;
    pcd_watch_slot *sl = NULL;
    size_t n = 0;
    uint64_t last = 0;
    int rc = pcd_watch_slots(d->watch, &sl, &n, &last);
    if (rc != PC_OK) {
        snprintf(out, cap, "internal: no sample of the reader table yet (%s)", pc_strerror(rc));
        return rc;
    }
    pcd_view_env env;
    pcd_watch_env(d->watch, &env);
    int w = snprintf(out, cap, "readers used=%zu max=%d last_txnid=%llu oldest_txn_pid=%u "
                     "oldest_txn_s=%.0f map=%s\n", n, env.readers_max,
                     (unsigned long long)last, (unsigned)env.oldest_txn_pid, env.oldest_txn_s,
                     env.map_full ? "full" : "ok");
    size_t len = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < n && len < cap; i++) {
        const pcd_watch_slot *s = &sl[i];
        char txn[32] = "-", age[32] = "-";
        if (s->slot.txnid)
            snprintf(txn, sizeof txn, "%llu", (unsigned long long)s->slot.txnid);
        if (s->age_ms >= 0)
            snprintf(age, sizeof age, "%.0f", (double)s->age_ms / 1000.0);
        w = snprintf(out + len, cap - len, "slot pid=%u thread=%llx txnid=%s behind=%llu "
                     "age_s=%s\n", s->slot.pid, (unsigned long long)s->slot.thread, txn,
                     (unsigned long long)s->behind, age);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    free(sl);
    if (len > 0 && out[len - 1] == '\n')
        out[--len] = 0;
    return PC_OK;
}

/* A verb that writes to the store would wait behind a writer stuck on
 * LMDB's lock, and the main loop (which answers every request) with it:
 * refuse at once, saying why. */
static int store_blocked(engine *d, char *out, size_t cap)
{
    int64_t busy = pcd_store_busy_ms(d->store);
    pthread_mutex_lock(&d->mu);
    int limit = cur_cfg(d)->health_stall_s;
    pthread_mutex_unlock(&d->mu);
    if (busy < 2000 && busy < (int64_t)limit * 1000)
        return 0;
    snprintf(out, cap, "internal: store blocked for %lld s (a write is waiting for LMDB's "
             "lock); nothing changed, retry later", (long long)(busy / 1000));
    return 1;
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
    char why[160];
    if (store_blocked(d, why, sizeof why))
        return PC_NOTFOUND; /* the verb itself refuses, saying why */
    char uid[32], req[64];
    snprintf(uid, sizeof uid, " uid=%u ", who->uid);
    snprintf(req, sizeof req, " req=%s ", who->id);
    /* 4,096 records back: far beyond any retry's reach, still a few ms. */
    return pcd_store_audit_find(d->store, uid, req, 4096, seq);
}

static int ctl_reload(void *ctx, const char *slug, const pcd_actor *who, char *out, size_t cap)
{
    engine *d = ctx;
    if (store_blocked(d, out, cap))
        return PC_EIO;
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
    if (store_blocked(d, out, cap))
        return PC_EIO;
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
    if (store_blocked(d, out, cap))
        return PC_EIO;
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
                          ctl_done_before, ctl_readers };
    *ops = o;
}
