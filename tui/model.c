/* model.c - the console's data: daemon record, chains, environment and lookup statistics, sorted and filtered. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

const tui_column_def tui_columns[TUI_COL__COUNT] = {
#define TUI_X_DEF(id, label, blabel, width, right) { label, blabel, width, right },
    TUI_COLUMNS(TUI_X_DEF)
#undef TUI_X_DEF
};

static const char *const daemon_names[] = {
#define TUI_X_NAME(id, name) name,
    TUI_DAEMON_STATES(TUI_X_NAME)
#undef TUI_X_NAME
};

const char *tui_daemon_state_name(int state)
{
    return state >= 0 && state < TUI_D__COUNT ? daemon_names[state] : "?";
}

const char *tui_db_state_name(int state)
{
    switch (state) {
    case TUI_DB_OK:      return "ok";
    case TUI_DB_FAILING: return "failing";
    default:             return "unknown";
    }
}

int tui_model_init(tui_model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    m->path = strdup(path);
    if (!m->path)
        return PC_ENOMEM;
    m->breaker_reset_s = 30;
    m->hit_ratio = -1;
    m->sort_col = TUI_COL_CHAIN;
    return PC_OK;
}

void tui_model_free(tui_model *m)
{
    pc_close(m->r);
    free(m->rseen);
    free(m->chains);
    free(m->view);
    free(m->path);
    memset(m, 0, sizeof *m);
}

static void problem(tui_model *m, const char *what, int rc)
{
    if (!m->problem[0])
        snprintf(m->problem, sizeof m->problem, "%.150s: %s", what, pc_strerror(rc));
}

int tui_model_readers(tui_model *m, const pc_reader_slot *s, size_t n, int64_t mono_ms)
{
    tui_rseen *next = calloc(n ? n : 1, sizeof *next);
    if (!next)
        return PC_ENOMEM;
    size_t k = 0;
    m->oldest_pid = 0;
    m->oldest_ms = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s[i].behind)
            continue;
        tui_rseen e = { s[i].pid, s[i].thread, s[i].txnid, mono_ms };
        for (size_t j = 0; j < m->nrseen; j++)
            if (m->rseen[j].pid == e.pid && m->rseen[j].thread == e.thread &&
                m->rseen[j].txnid == e.txnid)
                e.since_ms = m->rseen[j].since_ms;
        next[k++] = e;
        if (!m->oldest_pid || mono_ms - e.since_ms > m->oldest_ms) {
            m->oldest_pid = e.pid;
            m->oldest_ms = mono_ms - e.since_ms;
        }
    }
    free(m->rseen);
    m->rseen = next;
    m->nrseen = k;
    return PC_OK;
}

static void read_readers(tui_model *m)
{
    size_t cap = m->readers_max ? m->readers_max : 128, n = 0;
    pc_reader_slot *s = calloc(cap, sizeof *s);
    if (!s)
        return;
    int rc = pc_readers_list(m->r, s, cap, &n, NULL);
    if (rc == PC_OK)
        tui_model_readers(m, s, n < cap ? n : cap, tui_mono_ms());
    else
        problem(m, "reader slots", rc);
    free(s);
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tui_now_ms(void)  { return clock_ms(CLOCK_REALTIME); }
int64_t tui_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

/* "down" covers a stopped daemon, one whose pid is gone (killed with -9:
 * it never wrote "stopped") and one that never wrote its record. */
static int daemon_state(const tui_model *m)
{
    if (!m->have_daemon || !m->d.running)
        return TUI_D_DOWN;
    switch (m->d.state) {
    case PC_DAEMON_STARTING: return TUI_D_STARTING;
    case PC_DAEMON_DEGRADED: return TUI_D_DEGRADED;
    default:                 return TUI_D_READY;
    }
}

/* The library says what the daemon recorded, or derives it from the
 * chains' last load attempts when it did not; unknown for a daemon that
 * is not running. */
static void db_state(tui_model *m)
{
    m->db_error[0] = '\0';
    if (!m->have_daemon || m->daemon == TUI_D_DOWN || m->d.db_state == PC_DB_UNKNOWN) {
        m->db = TUI_DB_UNKNOWN;
    } else if (m->d.db_state == PC_DB_DOWN) {
        m->db = TUI_DB_FAILING;
        snprintf(m->db_error, sizeof m->db_error, "%s", m->d.db_error);
    } else {
        m->db = TUI_DB_OK;
    }
}

static int read_chains(tui_model *m)
{
    char **names;
    size_t n;
    int rc = pc_chains(m->r, &names, &n);
    if (rc != PC_OK)
        return rc;
    if (n > m->cap) {
        tui_chain *c = realloc(m->chains, n * sizeof *c);
        size_t *v = c ? realloc(m->view, n * sizeof *v) : NULL;
        if (c)
            m->chains = c;
        if (v)
            m->view = v;
        if (!c || !v) {
            pc_free_chains(names);
            return PC_ENOMEM;
        }
        m->cap = n;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        tui_chain *c = &m->chains[k];
        c->m.size = sizeof c->m;
        rc = pc_chain_read(m->r, names[i], &c->m);
        if (rc == PC_ENOCHAIN)
            continue; /* removed between the listing and now */
        if (rc != PC_OK)
            break;
        snprintf(c->name, sizeof c->name, "%s", names[i]);
        c->rejected = 0;
        for (uint32_t j = 0; j < c->m.nrejected; j++)
            c->rejected += c->m.rejected[j];
        k++;
    }
    pc_free_chains(names);
    /* On an error midway, keep what was read: a partial table is still true. */
    m->nchains = k;
    return rc == PC_ENOCHAIN ? PC_OK : rc;
}

void tui_model_count(tui_model *m, uint64_t hits, uint64_t misses, uint64_t errors,
                     int64_t mono_ms)
{
    uint64_t total = hits + misses + errors;
    if (m->have_rate && total >= m->prev_total && mono_ms > m->prev_stats_ms) {
        m->rate = (double)(total - m->prev_total) * 1000.0 / (double)(mono_ms - m->prev_stats_ms);
        uint64_t dh = hits - m->prev_hits, dm = misses - m->prev_misses;
        m->hit_ratio = dh + dm ? (double)dh / (double)(dh + dm) : -1;
        if (m->nhist == TUI_HIST)
            memmove(m->hist, m->hist + 1, (TUI_HIST - 1) * sizeof m->hist[0]);
        else
            m->nhist++;
        m->hist[m->nhist - 1] = m->rate;
    } else {
        /* First sample, or the area was recreated (counters went back). */
        m->rate = 0;
        m->hit_ratio = -1;
    }
    m->have_rate = 1;
    m->prev_total = total;
    m->prev_hits = hits;
    m->prev_misses = misses;
    m->prev_stats_ms = mono_ms;
}

static void read_stats(tui_model *m)
{
#ifdef PC_STATS_BUCKETS
    pc_stats st;
    int rc = pc_stats_read(m->path, &st);
    if (rc != PC_OK) {
        if (rc != PC_ENOTREADY)
            problem(m, "statistics", rc);
        m->have_stats = 0;
        m->have_rate = 0;
        return;
    }
    m->have_stats = 1;
    m->processes = st.processes;
    tui_model_count(m, st.hits, st.misses, st.errors, m->mono_ms);
#else
    /* This library has no shared statistics yet: rates stay unknown. */
    m->have_stats = 0;
#endif
}

/* The sources, until PC_NOTFOUND; an older daemon records none. */
static void read_sources(tui_model *m)
{
    size_t n = 0;
    for (; n < sizeof m->sources / sizeof m->sources[0]; n++) {
        m->sources[n].size = sizeof m->sources[n];
        int rc = pc_source_read(m->r, n, &m->sources[n]);
        if (rc == PC_NOTFOUND)
            break;
        if (rc != PC_OK) {
            problem(m, "sources", rc);
            break;
        }
    }
    m->nsources = n;
}

void tui_model_sample(tui_model *m)
{
    m->now_ms = tui_now_ms();
    m->mono_ms = tui_mono_ms();
    m->problem[0] = '\0';
    int rc;
    if (!m->r && (rc = pc_open(m->path, &m->r)) != PC_OK) {
        m->r = NULL;
        char what[160];
        snprintf(what, sizeof what, "cache %.140s", m->path);
        problem(m, what, rc);
    }
    m->have_daemon = 0;
    m->have_env = 0;
    if (m->r) {
        m->d.size = sizeof m->d;
        rc = pc_daemon_read(m->r, &m->d);
        if (rc == PC_OK)
            m->have_daemon = 1;
        else if (rc != PC_NOTFOUND)
            problem(m, "daemon record", rc);
        rc = read_chains(m);
        if (rc != PC_OK)
            problem(m, "chains", rc);
        pc_env_status env = { .size = sizeof env };
        rc = pc_env_read(m->r, &env);
        if (rc == PC_OK) {
            m->have_env = 1;
            m->map_used = env.map_used;
            m->map_size = env.map_size;
            m->readers_used = env.readers_used;
            m->readers_max = env.readers_max;
        }
        else
            problem(m, "environment", rc);
        read_readers(m);
        read_sources(m);
    }
    m->daemon = daemon_state(m);
    db_state(m);
    read_stats(m);
    tui_model_arrange(m);
}

/* ---- sorting and filtering ------------------------------------------- */

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }
static int cmp_i64(int64_t a, int64_t b)   { return a < b ? -1 : a > b; }

static int compare(const tui_model *m, const tui_chain *a, const tui_chain *b)
{
    int c = 0;
    switch (m->sort_col) {
    case TUI_COL_VERSION:  c = cmp_u64(a->m.version, b->m.version); break;
    case TUI_COL_BASE:     c = cmp_u64(a->m.base_rows, b->m.base_rows); break;
    case TUI_COL_STORE:    c = cmp_u64(a->m.store_rows, b->m.store_rows); break;
    /* Older snapshots first: age grows as loaded_at falls. */
    case TUI_COL_AGE:      c = cmp_i64(b->m.loaded_at_ms, a->m.loaded_at_ms); break;
    case TUI_COL_LOAD:     c = cmp_u64(a->m.last_duration_ms, b->m.last_duration_ms); break;
    case TUI_COL_OK:       c = cmp_u64(a->m.loads_ok, b->m.loads_ok); break;
    case TUI_COL_FAILED:   c = cmp_u64(a->m.loads_failed, b->m.loads_failed); break;
    case TUI_COL_REJECTED: c = cmp_u64(a->rejected, b->rejected); break;
    /* closed < half-open < open: the worst last. */
    case TUI_COL_BREAKER: {
        static const int rank[] = { 0, 2, 1 };
        int ra = a->m.breaker < 3 ? rank[a->m.breaker] : 3;
        int rb = b->m.breaker < 3 ? rank[b->m.breaker] : 3;
        c = ra - rb;
        break;
    }
    default: break;
    }
    if (m->sort_desc)
        c = -c;
    /* Ties, and the name column, always in name order: rows must not
     * shuffle between samples. */
    return c ? c : strcmp(a->name, b->name) * (m->sort_col == TUI_COL_CHAIN && m->sort_desc ? -1 : 1);
}

/* Insertion sort: a few hundred chains, already nearly in order from the
 * last sample, and qsort has no context argument in C11. */
void tui_model_arrange(tui_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nchains; i++)
        if (!m->filter[0] || strstr(m->chains[i].name, m->filter))
            m->view[n++] = i;
    for (size_t i = 1; i < n; i++) {
        size_t v = m->view[i], j = i;
        while (j > 0 && compare(m, &m->chains[m->view[j - 1]], &m->chains[v]) > 0) {
            m->view[j] = m->view[j - 1];
            j--;
        }
        m->view[j] = v;
    }
    m->nview = n;
}

long tui_model_find(const tui_model *m, const char *name)
{
    for (size_t i = 0; i < m->nview; i++)
        if (strcmp(m->chains[m->view[i]].name, name) == 0)
            return (long)i;
    return -1;
}

/* ---- formatting ------------------------------------------------------ */

void tui_fmt_count(char *buf, size_t len, double n)
{
    static const char units[] = "kMGTP";
    if (n < 1000) {
        snprintf(buf, len, n == (double)(uint64_t)n ? "%.0f" : "%.1f", n);
        return;
    }
    int u = -1;
    while (n >= 1000 && u < 4) {
        n /= 1000;
        u++;
    }
    snprintf(buf, len, n < 100 ? "%.1f%c" : "%.0f%c", n, units[u]);
}

void tui_fmt_duration(char *buf, size_t len, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        snprintf(buf, len, "%" PRId64 "ms", ms);
    else if (ms < 10000)
        snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
    else if (ms < 120000)
        snprintf(buf, len, "%" PRId64 "s", ms / 1000);
    else if (ms < 7200000)
        snprintf(buf, len, "%" PRId64 "m", ms / 60000);
    else if (ms < 172800000)
        snprintf(buf, len, "%" PRId64 "h", ms / 3600000);
    else
        snprintf(buf, len, "%" PRId64 "d", ms / 86400000);
}

void tui_fmt_uptime(char *buf, size_t len, int64_t ms)
{
    int64_t s = ms > 0 ? ms / 1000 : 0;
    if (s < 60)
        snprintf(buf, len, "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

void tui_fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
    static const char units[] = "KMGTP";
    if (bytes < 1024) {
        snprintf(buf, len, "%" PRIu64 "B", bytes);
        return;
    }
    double v = (double)bytes;
    int u = -1;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f%c", v, units[u]);
}

/* Time until an open breaker lets the next probe through: the daemon
 * stores when; a record without it gets an estimate from the transition
 * time and the reset period, without the daemon's ±20% jitter. */
static int64_t probe_in_ms(const tui_model *m, const pc_chain_status *r)
{
    if (r->probe_at_ms > 0)
        return r->probe_at_ms - m->now_ms;
    return r->breaker_since_ms + (int64_t)m->breaker_reset_s * 1000 - m->now_ms;
}

void tui_cell(const tui_model *m, const tui_chain *c, int col, int exact, char *buf, size_t len)
{
    const pc_chain_status *r = &c->m;
    switch (col) {
    case TUI_COL_CHAIN:
        snprintf(buf, len, "%s", c->name);
        return;
    case TUI_COL_VERSION:
        snprintf(buf, len, "%" PRIu64, r->version);
        return;
    case TUI_COL_BASE:
    case TUI_COL_STORE:
    case TUI_COL_OK:
    case TUI_COL_FAILED:
    case TUI_COL_REJECTED: {
        uint64_t v = col == TUI_COL_BASE ? r->base_rows : col == TUI_COL_STORE ? r->store_rows
                   : col == TUI_COL_OK ? r->loads_ok : col == TUI_COL_FAILED ? r->loads_failed
                   : c->rejected;
        if (exact)
            snprintf(buf, len, "%" PRIu64, v);
        else
            tui_fmt_count(buf, len, (double)v);
        return;
    }
    case TUI_COL_AGE:
        if (r->loaded_at_ms <= 0)
            snprintf(buf, len, "-");
        else if (exact)
            snprintf(buf, len, "%.1f", (double)(m->now_ms - r->loaded_at_ms) / 1000.0);
        else
            tui_fmt_duration(buf, len, m->now_ms - r->loaded_at_ms);
        return;
    case TUI_COL_LOAD:
        if (r->last_attempt_ms <= 0)
            snprintf(buf, len, "-");
        else if (exact)
            snprintf(buf, len, "%" PRIu32, r->last_duration_ms);
        else
            tui_fmt_duration(buf, len, r->last_duration_ms);
        return;
    case TUI_COL_BREAKER:
        if (r->breaker == PC_BREAKER_OPEN) {
            int64_t left = probe_in_ms(m, r);
            char d[16];
            if (left > 0)
                tui_fmt_duration(d, sizeof d, left < 1000 ? 1000 : left);
            snprintf(buf, len, exact ? "open(%s)" : "open %s", left > 0 ? d : "due");
        } else {
            snprintf(buf, len, "%s", pc_breaker_name((int)r->breaker));
        }
        return;
    default:
        snprintf(buf, len, "?");
    }
}

void tui_sparkline(const tui_model *m, int width, int utf8, char *buf, size_t len)
{
    static const char *const blocks[] = { "\u2581", "\u2582", "\u2583", "\u2584",
                                          "\u2585", "\u2586", "\u2587", "\u2588" };
    static const char ascii[] = "_.-=+*#@";
    size_t n = m->nhist < (size_t)(width > 0 ? width : 0) ? m->nhist : (size_t)(width > 0 ? width : 0);
    const double *h = m->hist + (m->nhist - n);
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (h[i] > max)
            max = h[i];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int lvl = max > 0 ? (int)(h[i] / max * 7.0 + 0.5) : 0;
        const char *s = utf8 ? blocks[lvl] : (char[]){ ascii[lvl], '\0' };
        size_t sl = strlen(s);
        if (o + sl + 1 > len)
            break;
        memcpy(buf + o, s, sl + 1);
        o += sl;
    }
}
