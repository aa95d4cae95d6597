/* sources.c - where loads and deltas read from: the primary and its streaming replicas, lag sampling, per-replica breakers, the choice per read. */
#include "sources.h"

/* Owns: struct pcd_sources (its own lock, never taken around a database
 * call), the sampler thread and its small connection per replica.  May
 * call: pgreplica, pgsource, breaker, config, dsn, log. */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsn.h"
#include "log.h"
#include "pc_format.h"

typedef struct replica {
    char       *dsn;
    char        where[128];
    int         sampled;     /* a sample (good or not) was taken */
    int         state;       /* PCD_SRC_* as last judged (breaker included) */
    char        why[160];
    pcd_breaker br;
    int64_t     lag_bytes;
    double      lag_s;
    int64_t     caught_up_ms; /* monotonic: last sample that had replayed the reference; 0 never */
    uint64_t    reads[PCD_READ__COUNT];
} replica;

struct pcd_sources {
    pthread_mutex_t mu;
    pthread_cond_t  cv;            /* a primary position arrived; a sample pass ended */
    replica         rep[PCD_REPLICAS_MAX];
    size_t          n;
    unsigned        gen;           /* bumped when the list's DSNs change */
    char           *primary_dsn;
    char            primary_where[128];
    uint64_t        primary_reads[PCD_READ__COUNT];
    int             max_lag_s, lag_sample_ms, connect_timeout_s;
    pcd_breaker_cfg bc;
    int             passes;        /* sample passes done */
    int             served_by[PCD_READ__COUNT]; /* -1: nothing served yet */
    char            why_primary[PCD_READ__COUNT][200]; /* why the primary was chosen */
    /* read-your-writes */
    uint64_t        notice_seq, lsn_sent_seq, lsn, lsn_seq;
    int64_t         lsn_sent_ms, lsn_at_ms;
    int             have_lsn;
    /* the sampler */
    pthread_t       thread;
    int             thread_on, stop_fd;
};

const char *pcd_read_kind_name(int kind)
{
    return kind == PCD_READ_DELTA ? "delta" : kind == PCD_READ_LIST ? "listing" : "load";
}

const char *pcd_src_state_name(int state)
{
    static const char *const names[] = { "unknown", "up", "lagging", "down" };
    return state >= 0 && state <= PCD_SRC_DOWN ? names[state] : "?";
}

void pcd_sources_name(int idx, char *buf, size_t len)
{
    if (idx <= 0)
        snprintf(buf, len, "primary");
    else
        snprintf(buf, len, "replica%u", (unsigned)idx & 0xffu); /* at most 15 */
}

int pcd_sources_pick(const pcd_src_cand *cand, size_t n, int max_lag_s, unsigned exclude)
{
    int best = 0;
    long long best_lag = 0;
    for (size_t i = 1; i < n; i++) {
        const pcd_src_cand *c = &cand[i];
        if ((exclude >> i) & 1u)
            continue;
        if (!c->allowed || (c->state != PCD_SRC_UP && c->state != PCD_SRC_LAGGING))
            continue;
        if (c->lag_s < 0 || c->lag_s > (double)max_lag_s)
            continue;
        long long whole = (long long)c->lag_s; /* equals within a second: the first listed */
        if (!best || whole < best_lag) {
            best = (int)i;
            best_lag = whole;
        }
    }
    return best;
}

static int64_t mono_ms(void)
{
    return pc_mono_ms();
}

static void set_cfg(pcd_sources *s, const pcd_config *cfg)
{
    s->max_lag_s = cfg->max_lag_s;
    s->lag_sample_ms = cfg->lag_sample_ms;
    s->connect_timeout_s = cfg->connect_timeout_s;
    s->bc = (pcd_breaker_cfg){ cfg->breaker_failures, cfg->breaker_reset_s * 1000,
                               cfg->breaker_half_open_successes };
}

/* Install cfg's replica list; a DSN already known keeps its replica's
 * state.  Caller holds mu (or owns s alone). */
static int install(pcd_sources *s, const pcd_config *cfg)
{
    char **list = NULL;
    size_t n = 0;
    char why[512];
    if (pcd_config_replicas(cfg->replicas ? cfg->replicas : "", &list, &n, why, sizeof why) !=
        PC_OK) {
        LOG_ERR("sources", "[database] replicas: %s; keeping the replicas in force", why);
        return PC_ECONFIG;
    }
    char *pdsn = strdup(cfg->dsn);
    if (!pdsn) {
        pcd_config_replicas_free(list, n);
        return PC_ENOMEM;
    }
    replica fresh[PCD_REPLICAS_MAX];
    int changed = n != s->n;
    for (size_t i = 0; i < n; i++) {
        replica *r = &fresh[i];
        if (i < s->n && strcmp(s->rep[i].dsn, list[i]) == 0) {
            *r = s->rep[i];
            free(s->rep[i].dsn);
            s->rep[i].dsn = NULL;
        } else {
            memset(r, 0, sizeof *r);
            pcd_breaker_init(&r->br, (uint64_t)pc_now_ms() ^ ((uint64_t)(i + 1) << 17));
            r->lag_bytes = -1;
            r->lag_s = -1;
            snprintf(r->why, sizeof r->why, "not sampled yet");
            changed = 1;
        }
        r->dsn = list[i];
        list[i] = NULL;
        pcd_dsn_where(r->dsn, r->where, sizeof r->where);
    }
    for (size_t i = 0; i < s->n; i++)
        free(s->rep[i].dsn);
    memcpy(s->rep, fresh, n * sizeof fresh[0]);
    s->n = n;
    if (!s->primary_dsn || strcmp(s->primary_dsn, pdsn) != 0)
        changed = 1;
    free(s->primary_dsn);
    s->primary_dsn = pdsn;
    pcd_dsn_where(pdsn, s->primary_where, sizeof s->primary_where);
    if (changed)
        s->gen++;
    set_cfg(s, cfg);
    free(list);
    return PC_OK;
}

int pcd_sources_new(const pcd_config *cfg, pcd_sources **out)
{
    *out = NULL;
    pcd_sources *s = calloc(1, sizeof *s);
    if (!s)
        return PC_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->stop_fd = -1;
    for (int k = 0; k < PCD_READ__COUNT; k++)
        s->served_by[k] = -1;
    int rc = install(s, cfg);
    if (rc != PC_OK) {
        pcd_sources_free(s);
        return rc == PC_ECONFIG ? PC_ECONFIG : PC_ENOMEM;
    }
    *out = s;
    return PC_OK;
}

int pcd_sources_configure(pcd_sources *s, const pcd_config *cfg)
{
    pthread_mutex_lock(&s->mu);
    size_t before = s->n;
    int rc = install(s, cfg);
    size_t after = s->n;
    pthread_mutex_unlock(&s->mu);
    if (rc == PC_OK && before != after)
        LOG_INFO("sources", "sources: %zu replicas configured (were %zu)", after, before);
    return rc;
}

int pcd_sources_replicated(pcd_sources *s)
{
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    int n = (int)s->n;
    pthread_mutex_unlock(&s->mu);
    return n > 0;
}

/* ---- judging a replica: state, transitions, their log lines ---- */

/* The state a replica is shown in: its sample's, or down while its
 * breaker is open.  Caller holds mu. */
static void judge(pcd_sources *s, size_t i, int state, const char *why)
{
    replica *r = &s->rep[i];
    char bwhy[160];
    if (r->br.state == PC_BREAKER_OPEN) {
        snprintf(bwhy, sizeof bwhy, "breaker open (%s)", why && *why ? why : "failures");
        state = PCD_SRC_DOWN;
        why = bwhy;
    }
    int before = r->state;
    r->state = state;
    snprintf(r->why, sizeof r->why, "%s", why ? why : "");
    if (state == before)
        return;
    int id = (int)i + 1;
    if (state == PCD_SRC_UP)
        LOG_INFO("sources", "source replica%d up (%s, lag %.1f s, %lld bytes)", id, r->where,
                 r->lag_s < 0 ? 0.0 : r->lag_s, (long long)r->lag_bytes);
    else if (state == PCD_SRC_LAGGING)
        LOG_WARN("sources", "source replica%d lagging: %s", id, r->why);
    else if (state == PCD_SRC_DOWN)
        LOG_WARN("sources", "source replica%d down: %s", id, r->why);
}

/* A breaker's outcome, logged on a transition.  Caller holds mu. */
static void breaker_note(pcd_sources *s, size_t i, int ok, const char *err)
{
    replica *r = &s->rep[i];
    int64_t now = mono_ms();
    int before = r->br.state;
    pcd_breaker_allow(&r->br, now); /* open -> half-open once reset_s passed */
    if (pcd_breaker_record(&r->br, &s->bc, ok, now) || r->br.state != before) {
        if (ok)
            LOG_INFO("sources", "source replica%zu: breaker %s -> %s", i + 1,
                     pc_breaker_name(before), pc_breaker_name(r->br.state));
        else
            LOG_WARN("sources", "source replica%zu: breaker %s -> %s (%s)", i + 1,
                     pc_breaker_name(before), pc_breaker_name(r->br.state),
                     err && *err ? err : "failure");
    }
}

int pcd_sources_judge_sample(int rc, const pcd_replica_sample *sm, const char *err,
                             uint64_t primary_lsn, int max_lag_s, int64_t now_ms,
                             pcd_lag *lag, char *why, size_t whylen)
{
    why[0] = 0;
    if (rc != PC_OK) {
        snprintf(why, whylen, "%s", err);
        return PCD_SRC_DOWN;
    }
    if (!sm->in_recovery) {
        snprintf(why, whylen, "not a standby (pg_is_in_recovery() is false: promoted?)");
        return PCD_SRC_DOWN;
    }
    if (!sm->receiving) {
        snprintf(why, whylen, "WAL receiver not streaming (%s)", sm->receiver);
        return PCD_SRC_DOWN;
    }
    /* Lag against the primary's position when the listener read one,
     * else against what the replica received (its best knowledge). */
    uint64_t ref = primary_lsn ? primary_lsn : sm->receive_lsn;
    lag->bytes = ref > sm->replay_lsn ? (int64_t)(ref - sm->replay_lsn) : 0;
    /* Caught up is 0 s whatever the last commit's age: on an idle
     * primary the replay timestamp alone reads as growing lag. */
    if (sm->replay_lsn >= ref) {
        lag->s = 0.0;
        lag->caught_up_ms = now_ms;
    } else if (sm->replay_age_s >= 0) {
        lag->s = sm->replay_age_s;
    } else if (lag->caught_up_ms) {
        /* No transaction replayed since it started: at least as far
         * behind as since it was last seen caught up. */
        lag->s = (double)(now_ms - lag->caught_up_ms) / 1000.0;
    } else {
        lag->s = -1; /* behind by an unknown time: not read */
    }
    if (lag->s < 0) {
        snprintf(why, whylen, "%lld bytes behind, no transaction replayed since it started: "
                 "lag unknown", (long long)lag->bytes);
        return PCD_SRC_LAGGING;
    }
    if (lag->s > (double)max_lag_s) {
        snprintf(why, whylen, "%.1f s behind (max_lag_s %d), %lld bytes", lag->s, max_lag_s,
                 (long long)lag->bytes);
        return PCD_SRC_LAGGING;
    }
    return PCD_SRC_UP;
}

/* The judgement of one sample.  Caller holds mu. */
static void sampled(pcd_sources *s, size_t i, int rc, const pcd_replica_sample *sm,
                    const char *err, uint64_t primary_lsn)
{
    replica *r = &s->rep[i];
    char why[160];
    r->sampled = 1;
    pcd_lag lag = { r->lag_bytes, r->lag_s, r->caught_up_ms };
    int state = pcd_sources_judge_sample(rc, sm, err, primary_lsn, s->max_lag_s, mono_ms(), &lag,
                                         why, sizeof why);
    r->lag_bytes = lag.bytes;
    r->lag_s = lag.s;
    r->caught_up_ms = lag.caught_up_ms;
    /* A lagging replica is healthy: its breaker counts failures only. */
    breaker_note(s, i, state != PCD_SRC_DOWN, why);
    judge(s, i, state, why);
}

/* ---- the sampler thread ---- */

static void *sampler_main(void *arg)
{
    pcd_sources *s = arg;
    pg_conn *conn[PCD_REPLICAS_MAX] = { 0 };
    char *conn_dsn[PCD_REPLICAS_MAX] = { 0 };
    for (;;) {
        pthread_mutex_lock(&s->mu);
        size_t n = s->n;
        int period = s->lag_sample_ms;
        pcd_config ccfg;
        memset(&ccfg, 0, sizeof ccfg);
        ccfg.connect_timeout_s = s->connect_timeout_s;
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < PCD_REPLICAS_MAX; i++) {
            pthread_mutex_lock(&s->mu);
            char *dsn = i < s->n ? strdup(s->rep[i].dsn) : NULL;
            /* A primary position older than a few periods is no reference. */
            uint64_t plsn = s->have_lsn && mono_ms() - s->lsn_at_ms < 3LL * s->lag_sample_ms + 2000
                                ? s->lsn : 0;
            pthread_mutex_unlock(&s->mu);
            if (conn[i] && (!dsn || !conn_dsn[i] || strcmp(dsn, conn_dsn[i]) != 0)) {
                pcd_pg_close(conn[i]);
                conn[i] = NULL;
            }
            if (!dsn) {
                free(conn_dsn[i]);
                conn_dsn[i] = NULL;
                continue;
            }
            char err[512] = "";
            int rc = PC_OK;
            if (!conn[i] || !pcd_pg_ok(conn[i])) {
                pcd_pg_close(conn[i]);
                conn[i] = NULL;
                free(conn_dsn[i]);
                conn_dsn[i] = strdup(dsn);
                rc = pcd_pg_connect_dsn(&ccfg, dsn, &conn[i], err, sizeof err);
            }
            pcd_replica_sample sm;
            memset(&sm, 0, sizeof sm);
            if (rc == PC_OK) {
                pcd_cancel cx = { mono_ms() + (int64_t)ccfg.connect_timeout_s * 1000, s->stop_fd };
                rc = pcd_pg_replica_sample(conn[i], &cx, &sm, err, sizeof err);
                if (rc != PC_OK && !pcd_pg_ok(conn[i])) {
                    pcd_pg_close(conn[i]);
                    conn[i] = NULL;
                }
            }
            pthread_mutex_lock(&s->mu);
            /* The list may have changed meanwhile: judge only the same DSN. */
            if (rc != PC_ECANCELED && i < s->n && strcmp(s->rep[i].dsn, dsn) == 0)
                sampled(s, i, rc, &sm, err, plsn);
            pthread_mutex_unlock(&s->mu);
            free(dsn);
        }
        pthread_mutex_lock(&s->mu);
        s->passes++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        struct pollfd pf = { s->stop_fd, POLLIN, 0 };
        if (poll(&pf, 1, n ? period : 1000) > 0)
            break;
    }
    for (size_t i = 0; i < PCD_REPLICAS_MAX; i++) {
        pcd_pg_close(conn[i]);
        free(conn_dsn[i]);
    }
    return NULL;
}

int pcd_sources_start(pcd_sources *s, int stop_fd)
{
    s->stop_fd = stop_fd;
    if (pthread_create(&s->thread, NULL, sampler_main, s) != 0)
        return PC_EIO;
    s->thread_on = 1;
    return PC_OK;
}

void pcd_sources_free(pcd_sources *s)
{
    if (!s)
        return;
    if (s->thread_on)
        pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->n; i++)
        free(s->rep[i].dsn);
    free(s->primary_dsn);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- the choice ---- */

static void abs_time(int64_t deadline_ms, struct timespec *ts)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left = deadline_ms - mono_ms();
    if (left < 0)
        left = 0;
    ts->tv_sec = now.tv_sec + (time_t)(left / 1000);
    ts->tv_nsec = now.tv_nsec + (long)(left % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The choice among the sources as they stand (s->mu held). */
static int pick_locked(pcd_sources *s, int64_t now, unsigned exclude)
{
    pcd_src_cand cand[PCD_SRC_MAX];
    cand[0] = (pcd_src_cand){ PCD_SRC_UP, 1, 0 };
    for (size_t i = 0; i < s->n; i++) {
        replica *r = &s->rep[i];
        cand[i + 1].state = r->state;
        cand[i + 1].allowed = r->br.state != PC_BREAKER_OPEN || now >= r->br.open_until_ms;
        cand[i + 1].lag_s = r->lag_s;
    }
    return pcd_sources_pick(cand, s->n + 1, s->max_lag_s, exclude);
}

int pcd_sources_replica_serves(pcd_sources *s)
{
    pthread_mutex_lock(&s->mu);
    int idx = s->n > 0 ? pick_locked(s, mono_ms(), 0) : 0;
    pthread_mutex_unlock(&s->mu);
    return idx > 0;
}

int pcd_sources_choose(pcd_sources *s, int kind, unsigned exclude, char **dsn, unsigned *gen)
{
    pthread_mutex_lock(&s->mu);
    if (s->n > 0 && s->passes == 0 && s->thread_on) {
        /* Start-up: the first sample tells which replicas serve; without
         * it every warm-up load would go to the primary. */
        int64_t deadline = mono_ms() + (int64_t)s->connect_timeout_s * 1000 + 1000;
        struct timespec ts;
        abs_time(deadline, &ts);
        while (s->passes == 0 && mono_ms() < deadline)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
                break;
    }
    int64_t now = mono_ms();
    int idx = pick_locked(s, now, exclude);
    if (idx > 0)
        pcd_breaker_allow(&s->rep[idx - 1].br, now); /* a read after reset_s is its probe */
    if (idx == 0 && s->n > 0 && kind >= 0 && kind < PCD_READ__COUNT) {
        char *w = s->why_primary[kind];
        size_t len = 0, cap = sizeof s->why_primary[kind];
        w[0] = 0;
        for (size_t i = 0; i < s->n && len + 1 < cap; i++) {
            const replica *r = &s->rep[i];
            int m;
            if ((exclude >> (i + 1)) & 1u)
                m = snprintf(w + len, cap - len, "%sreplica%zu failed this read", len ? "; " : "",
                             i + 1);
            else if (r->state == PCD_SRC_UP && r->lag_s < 0)
                m = snprintf(w + len, cap - len, "%sreplica%zu lag unknown", len ? "; " : "", i + 1);
            else
                m = snprintf(w + len, cap - len, "%sreplica%zu %s%s%s", len ? "; " : "", i + 1,
                             pcd_src_state_name(r->state), r->why[0] ? ": " : "", r->why);
            len += m > 0 ? (size_t)m : 0;
        }
        if (len >= cap)
            len = cap - 1;
    }
    *dsn = strdup(idx ? s->rep[idx - 1].dsn : s->primary_dsn);
    *gen = s->gen;
    if (!*dsn && idx) {
        idx = 0;
        *dsn = strdup(s->primary_dsn);
    }
    pthread_mutex_unlock(&s->mu);
    return idx;
}

void pcd_sources_fallback(pcd_sources *s, int idx, int kind, const char *why)
{
    (void)idx;
    if (kind < 0 || kind >= PCD_READ__COUNT)
        return;
    pthread_mutex_lock(&s->mu);
    snprintf(s->why_primary[kind], sizeof s->why_primary[kind], "%s", why);
    pthread_mutex_unlock(&s->mu);
}

void pcd_sources_done(pcd_sources *s, int idx, unsigned gen, int kind, int ok, const char *err)
{
    pthread_mutex_lock(&s->mu);
    int same = gen == s->gen && idx >= 0 && (size_t)idx <= s->n;
    if (ok && same && kind >= 0 && kind < PCD_READ__COUNT) {
        if (idx == 0)
            s->primary_reads[kind]++;
        else
            s->rep[idx - 1].reads[kind]++;
        if (s->served_by[kind] != idx && s->n > 0) {
            if (idx == 0)
                LOG_WARN("sources", "%ss: reading from primary: %s", pcd_read_kind_name(kind),
                         s->why_primary[kind][0] ? s->why_primary[kind] : "no replica can serve");
            else
                LOG_INFO("sources", "%ss: reading from replica%d", pcd_read_kind_name(kind), idx);
        }
        s->served_by[kind] = idx;
    }
    if (same && idx > 0) {
        size_t i = (size_t)idx - 1;
        breaker_note(s, i, ok, err);
        if (!ok) {
            char why[160];
            snprintf(why, sizeof why, "%s read failed: %s", pcd_read_kind_name(kind),
                     err && *err ? err : "?");
            judge(s, i, PCD_SRC_DOWN, why);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- the primary's position ---- */

uint64_t pcd_sources_noticed(pcd_sources *s)
{
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    uint64_t v = ++s->notice_seq;
    pthread_mutex_unlock(&s->mu);
    return v;
}

uint64_t pcd_sources_notice_seq(pcd_sources *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t v = s->notice_seq;
    pthread_mutex_unlock(&s->mu);
    return v;
}

int pcd_sources_lsn_due(pcd_sources *s, int64_t now_ms, int *wait_ms)
{
    if (wait_ms)
        *wait_ms = 1000;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    int due = 0;
    if (s->n > 0) {
        int64_t at = s->lsn_sent_ms + s->lag_sample_ms;
        due = s->notice_seq > s->lsn_sent_seq || !s->lsn_sent_ms || now_ms >= at;
        if (!due && wait_ms)
            *wait_ms = (int)(at - now_ms);
    }
    pthread_mutex_unlock(&s->mu);
    return due;
}

uint64_t pcd_sources_lsn_sent(pcd_sources *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->mu);
    s->lsn_sent_ms = now_ms;
    s->lsn_sent_seq = s->notice_seq;
    uint64_t v = s->notice_seq;
    pthread_mutex_unlock(&s->mu);
    return v;
}

void pcd_sources_primary_lsn(pcd_sources *s, uint64_t lsn, uint64_t seq)
{
    pthread_mutex_lock(&s->mu);
    if (!s->have_lsn || seq >= s->lsn_seq) {
        /* A new primary (failover) may be behind the old one's position:
         * the latest reading is the truth, not the largest. */
        s->lsn = lsn;
        s->lsn_seq = seq;
        s->have_lsn = 1;
        s->lsn_at_ms = mono_ms();
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int pcd_sources_lsn_wait(pcd_sources *s, uint64_t seq, int64_t deadline_ms, uint64_t *lsn)
{
    pthread_mutex_lock(&s->mu);
    struct timespec ts;
    abs_time(deadline_ms, &ts);
    while (!(s->have_lsn && s->lsn_seq >= seq) && mono_ms() < deadline_ms)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    int ok = s->have_lsn && s->lsn_seq >= seq;
    *lsn = s->lsn;
    pthread_mutex_unlock(&s->mu);
    return ok ? PC_OK : PC_ETIMEDOUT;
}

/* ---- the view ---- */

void pcd_sources_view(pcd_sources *s, int primary_state, pcd_source_view *out, size_t *n)
{
    *n = 0;
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    pcd_source_view *p = &out[0];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "primary");
    memcpy(p->where, s->primary_where, sizeof p->where);
    p->state = primary_state;
    p->up = primary_state == PCD_SRC_UP;
    p->lag_bytes = -1;
    p->lag_s = -1;
    memcpy(p->reads, s->primary_reads, sizeof p->reads);
    for (size_t i = 0; i < s->n; i++) {
        const replica *r = &s->rep[i];
        pcd_source_view *v = &out[i + 1];
        memset(v, 0, sizeof *v);
        pcd_sources_name((int)i + 1, v->name, sizeof v->name);
        memcpy(v->where, r->where, sizeof v->where);
        v->state = r->state;
        v->breaker = r->br.state;
        v->up = r->state == PCD_SRC_UP && r->br.state != PC_BREAKER_OPEN;
        v->lag_bytes = r->lag_bytes;
        v->lag_s = r->lag_s;
        memcpy(v->reads, r->reads, sizeof v->reads);
        snprintf(v->why, sizeof v->why, "%s", r->state == PCD_SRC_UP ? "" : r->why);
    }
    *n = s->n + 1;
    pthread_mutex_unlock(&s->mu);
}

/* Read-your-writes: wait until replica `idx` (connection c) has replayed
 * the primary's WAL position read after the notices counted at `seq`
 * (listen.c reads it on the LISTEN connection right after each), up to
 * wait_ms.  PC_OK; PC_ETIMEDOUT with why; or the replica's own error. */
int pcd_sources_caught_up(pcd_sources *s, pg_conn *c, int idx, uint64_t seq, int wait_ms,
                          int stop_fd, char *why, size_t len)
{
    int64_t deadline_ms = mono_ms() + wait_ms;
    if (seq == 0)
        return PC_OK; /* no notice since start: nothing announced to cover */
    uint64_t want = 0, got = 0;
    if (pcd_sources_lsn_wait(s, seq, deadline_ms, &want) != PC_OK) {
        snprintf(why, len, "the primary's WAL position after the notification was not known "
                 "within %d ms", wait_ms);
        return PC_ETIMEDOUT;
    }
    for (;;) {
        /* The poll itself may outlast the wait by a round trip, not more. */
        pcd_cancel cx = { .deadline_ms = mono_ms() + 2000, .stop_fd = stop_fd };
        int rc = pcd_pg_replay_lsn(c, &cx, &got, why, len);
        if (rc != PC_OK)
            return rc == PC_ETIMEDOUT ? PC_EDB : rc;
        if (got >= want)
            return PC_OK;
        if (mono_ms() >= deadline_ms)
            break;
        struct pollfd pf = { stop_fd, POLLIN, 0 };
        poll(&pf, stop_fd >= 0 ? 1 : 0, 1);
    }
    snprintf(why, len, "replica%d had replayed %X/%X, not the notified %X/%X, within %d ms", idx,
             (unsigned)(got >> 32), (unsigned)got, (unsigned)(want >> 32), (unsigned)want,
             wait_ms);
    return PC_ETIMEDOUT;
}
