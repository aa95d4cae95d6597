/* batch.c - plain-text frames of the console for scripts and logs. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"

#define CELL 96

static void print_row(FILE *f, char cells[][CELL], const int *width)
{
    for (int c = 0; c < TUI_COL__COUNT; c++) {
        int last = c + 1 == TUI_COL__COUNT;
        if (last && !tui_columns[c].right)
            fprintf(f, "%s\n", cells[c]);
        else
            fprintf(f, tui_columns[c].right ? "%*s%s" : "%-*s%s", width[c], cells[c],
                    last ? "\n" : " ");
    }
}

int tui_batch_frame(FILE *f, const tui_model *m, const tui_eventlog *l, unsigned long frame,
                    uint64_t *events_seen)
{
    char when[32] = "-";
    time_t t = (time_t)(m->now_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "pricecache-top frame %lu at %s\n", frame, when);
    fprintf(f, "daemon: %s\n", tui_daemon_state_name(m->daemon));
    if (m->have_daemon && m->daemon != TUI_D_DOWN)
        fprintf(f, "pid: %" PRIu32 "\nuptime_s: %" PRId64 "\n", m->d.pid,
                (m->now_ms - m->d.started_ms) / 1000);
    fprintf(f, "db: %s\n", tui_db_state_name(m->db));
    if (m->db != TUI_DB_UNKNOWN && m->d.db_since_ms > 0) {
        /* Since when the daemon observes the database so. */
        time_t dt = (time_t)(m->d.db_since_ms / 1000);
        struct tm dtm;
        char since[32] = "-";
        if (gmtime_r(&dt, &dtm))
            strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &dtm);
        fprintf(f, "db_since: %s\n", since);
    }
    if (m->db_error[0])
        fprintf(f, "db_error: %s\n", m->db_error);
    if (m->have_stats && m->nhist)
        fprintf(f, "lookups_per_s: %.1f\n", m->rate);
    else
        fprintf(f, "lookups_per_s: -\n");
    if (m->have_stats && m->hit_ratio >= 0)
        fprintf(f, "hit_ratio: %.4f\n", m->hit_ratio);
    else
        fprintf(f, "hit_ratio: -\n");
    if (m->have_env)
        fprintf(f, "readers: %u/%u\nmap_used_bytes: %" PRIu64 "\nmap_size_bytes: %" PRIu64 "\n",
                m->readers_used, m->readers_max, m->map_used, m->map_size);
    else
        fprintf(f, "readers: -\nmap_used_bytes: -\nmap_size_bytes: -\n");
    int64_t silent = tui_events_silent_ms(l, tui_mono_ms());
    fprintf(f, "responding: %s\n", silent < 0 || m->daemon == TUI_D_DOWN ? "-"
                                   : silent > (int64_t)TUI_SILENT_BEATS * TUI_BEAT_MS ? "no"
                                                                                    : "yes");
    fprintf(f, "alarms: %s%s%s%s%s\n", l->alarms ? "" : "none",
            l->alarms & PC_HB_MAP_FULL ? "map_full " : "",
            l->alarms & PC_HB_DISK_FULL ? "disk_full " : "",
            l->alarms & PC_HB_LOCK_CORRUPT ? "lock_corrupt " : "",
            l->alarms & PC_HB_STORE_BLOCKED ? "store_blocked" : "");
    fprintf(f, "oldest_txn_pid: %u\noldest_txn_s: %.1f\n", m->oldest_pid,
            (double)m->oldest_ms / 1000.0);
    /* Issue 14: the sources, once the daemon has replicas to tell of. */
    for (size_t i = 0; m->nsources > 1 && i < m->nsources; i++) {
        const pc_source_status *sv = &m->sources[i];
        char lb[32] = "-", ls[32] = "-";
        if (sv->lag_bytes >= 0)
            snprintf(lb, sizeof lb, "%" PRId64, sv->lag_bytes);
        if (sv->lag_ms >= 0)
            snprintf(ls, sizeof ls, "%.1f", (double)sv->lag_ms / 1000.0);
        fprintf(f, "source: %s where=%s state=%s up=%u lag_bytes=%s lag_s=%s reads_load=%" PRIu64
                " reads_delta=%" PRIu64 "%s%s%s\n", sv->name, sv->where,
                pc_source_state_name((int)sv->state), sv->up, lb, ls, sv->reads_load,
                sv->reads_delta, sv->why[0] ? " why=\"" : "", sv->why, sv->why[0] ? "\"" : "");
    }
    fprintf(f, "chains: %zu\n", m->nview);
    if (m->problem[0])
        fprintf(f, "problem: %s\n", m->problem);
    if (l->problem[0])
        fprintf(f, "events_problem: %s\n", l->problem);
    fputc('\n', f);

    /* Widths depend on every row: cells first. */
    char (*cells)[TUI_COL__COUNT][CELL] = calloc(m->nview + 1, sizeof *cells);
    if (!cells)
        return -1;
    int width[TUI_COL__COUNT];
    for (int c = 0; c < TUI_COL__COUNT; c++) {
        snprintf(cells[0][c], CELL, "%s", tui_columns[c].batch_label);
        width[c] = (int)strlen(cells[0][c]);
    }
    for (size_t i = 0; i < m->nview; i++)
        for (int c = 0; c < TUI_COL__COUNT; c++) {
            tui_cell(m, &m->chains[m->view[i]], c, 1, cells[i + 1][c], CELL);
            int w = (int)strlen(cells[i + 1][c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t i = 0; i <= m->nview; i++)
        print_row(f, cells[i], width);
    free(cells);

    /* Events the ring still holds that this stream has not printed. */
    uint64_t fresh = l->total - *events_seen;
    if (fresh > l->count)
        fresh = l->count;
    for (size_t i = l->count - (size_t)fresh; i < l->count; i++)
        fprintf(f, "event: %s\n", tui_events_line(l, i, NULL));
    *events_seen = l->total;
    fputc('\n', f);
    fflush(f);
    return ferror(f) ? -1 : 0;
}
