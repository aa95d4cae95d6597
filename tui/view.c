/* view.c - the console's screen: header, chain table, event pane, footer, help; every curses call lives here. */
#include <curses.h>
#include <inttypes.h>
#include <langinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "view.h"

enum { P_OK = 1, P_WARN, P_BAD, P_BAR, P_DOWN, P_KEY, P_SORT };

static int color_on, utf8;
static int cx, cy; /* where out() writes next */

/* The colour pair when colours are on, else the monochrome attribute. */
static attr_t look(int pair, attr_t mono)
{
    return color_on ? (attr_t)COLOR_PAIR(pair) : mono;
}

int tui_view_start(int color)
{
    utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    /* newterm, not initscr: initscr exits on a bad terminal; we report it. */
    if (!newterm(NULL, stdout, stdin))
        return PC_EIO;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    color_on = color && has_colors() && start_color() == OK;
    if (color_on) {
        use_default_colors();
        init_pair(P_OK, COLOR_GREEN, -1);
        init_pair(P_WARN, COLOR_YELLOW, -1);
        init_pair(P_BAD, COLOR_RED, -1);
        init_pair(P_BAR, COLOR_BLACK, COLOR_CYAN);
        init_pair(P_DOWN, COLOR_WHITE, COLOR_RED);
        init_pair(P_KEY, COLOR_BLACK, COLOR_CYAN);
        init_pair(P_SORT, COLOR_BLACK, COLOR_GREEN);
    }
    return PC_OK;
}

void tui_view_stop(void)
{
    if (isendwin() == FALSE) {
        curs_set(1);
        endwin();
    }
}

int tui_view_key(void)
{
    int ch = getch();
    return ch == ERR ? -1 : ch;
}

/* ---- writing clipped to the screen's width --------------------------- */

static void at(int y, int x)
{
    cy = y;
    cx = x;
}

/* Write s at the cursor with attr, cut at the right edge (curses would wrap). */
static void out(attr_t attr, const char *s)
{
    if (cy >= LINES || cx >= COLS)
        return;
    int room = COLS - cx, cols = 0;
    size_t n = 0;
    while (s[n]) {
        size_t ch = 1;
        while (((unsigned char)s[n + ch] & 0xC0) == 0x80)
            ch++;
        if (cols + 1 > room)
            break;
        cols++;
        n += ch;
    }
    attron(attr);
    mvaddnstr(cy, cx, s, (int)n);
    attroff(attr);
    cx += cols;
}

static void outf(attr_t attr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(attr_t attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out(attr, buf);
}

/* Fill the rest of the line with attr (bars). */
static void fill(attr_t attr)
{
    if (cy >= LINES)
        return;
    attron(attr);
    for (; cx < COLS; cx++)
        mvaddch(cy, cx, ' ');
    attroff(attr);
}

static const char *unknown(void)
{
    return utf8 ? "\u2013" : "-";
}

/* ---- layout ---------------------------------------------------------- */

/* Rows: 2 header, 1 message, 1 column titles, table, 1 event title, events, 1 footer. */
static void layout(int *table, int *events)
{
    int fixed = 6;
    int ev = LINES / 5;
    if (ev < 2)
        ev = 2;
    if (ev > 10)
        ev = 10;
    int rows = LINES - fixed - ev;
    if (rows < 3) {
        ev = LINES - fixed - 3;
        if (ev < 0)
            ev = 0;
        rows = LINES - fixed - ev;
    }
    *table = rows > 0 ? rows : 0;
    *events = ev;
}

int tui_view_table_rows(void)
{
    int t, e;
    layout(&t, &e);
    return t > 0 ? t : 1;
}

/* Width of the chain column: what the others leave. */
static int chain_width(void)
{
    int w = COLS - 1;
    for (int c = 1; c < TUI_COL__COUNT; c++)
        w -= tui_columns[c].width + 1;
    return w < 6 ? 6 : w;
}

static int col_width(int c)
{
    return c == TUI_COL_CHAIN ? chain_width() : tui_columns[c].width;
}

static attr_t daemon_look(int state)
{
    switch (state) {
    case TUI_D_READY:    return look(P_OK, A_BOLD);
    case TUI_D_DOWN:     return look(P_DOWN, A_REVERSE) | A_BOLD;
    default:             return look(P_WARN, A_BOLD) | A_BOLD;
    }
}

static attr_t breaker_look(unsigned breaker)
{
    switch (breaker) {
    case PC_BREAKER_CLOSED:    return look(P_OK, A_NORMAL);
    case PC_BREAKER_HALF_OPEN: return look(P_WARN, A_BOLD);
    default:                   return look(P_BAD, A_BOLD) | A_BOLD;
    }
}

/* ---- the frame ------------------------------------------------------- */

/* The daemon's record says it runs, but its heartbeats stopped. */
static int not_responding(const tui_model *m, const tui_eventlog *l)
{
    return m->daemon != TUI_D_DOWN &&
           tui_events_silent_ms(l, tui_mono_ms()) > (int64_t)TUI_SILENT_BEATS * TUI_BEAT_MS;
}

/* Issue 14: each source on the second header line, once the daemon has
 * replicas: name, state (coloured), a replica's lag in seconds and bytes,
 * the reads it served (loads + deltas).  The batch frame has every field. */
static void draw_sources(const tui_model *m)
{
    if (m->nsources < 2)
        return;
    out(A_NORMAL, "  src");
    for (size_t i = 0; i < m->nsources; i++) {
        const pc_source_status *sv = &m->sources[i];
        outf(A_NORMAL, " %s ", sv->name);
        out(sv->up ? look(P_OK, A_NORMAL)
            : sv->state == PC_SOURCE_LAGGING ? look(P_WARN, A_BOLD) | A_BOLD
                                             : look(P_BAD, A_BOLD) | A_BOLD,
            pc_source_state_name((int)sv->state));
        if (sv->lag_ms >= 0 && sv->lag_bytes >= 0) {
            char b[16];
            tui_fmt_bytes(b, sizeof b, (uint64_t)sv->lag_bytes);
            outf(A_NORMAL, " %.0fs/%s", (double)sv->lag_ms / 1000.0, b);
        }
        outf(A_NORMAL, " r%" PRIu64, sv->reads_load + sv->reads_delta);
    }
}

static void draw_header(const tui_model *m, const tui_eventlog *l, const tui_ui *ui)
{
    char buf[64];
    at(0, 0);
    out(A_BOLD, " pricecache-top ");
    out(A_NORMAL, " daemon ");
    char st[24];
    int mute = not_responding(m, l);
    snprintf(st, sizeof st, " %s ", mute ? "not responding" : tui_daemon_state_name(m->daemon));
    for (char *p = st; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    out(mute ? look(P_BAD, A_REVERSE) | A_BOLD : daemon_look(m->daemon), st);
    if (m->daemon != TUI_D_DOWN && m->have_daemon) {
        tui_fmt_uptime(buf, sizeof buf, m->now_ms - m->d.started_ms);
        outf(A_NORMAL, "  up %s  pid %" PRIu32, buf, m->d.pid);
    }
    out(A_NORMAL, "  db ");
    out(m->db == TUI_DB_OK ? look(P_OK, A_NORMAL)
        : m->db == TUI_DB_FAILING ? look(P_BAD, A_BOLD) | A_BOLD : A_NORMAL,
        tui_db_state_name(m->db));
    if (m->db == TUI_DB_FAILING && m->d.db_since_ms > 0) {
        /* Observed by the daemon (not derived): for how long. */
        tui_fmt_uptime(buf, sizeof buf, m->now_ms - m->d.db_since_ms);
        outf(look(P_BAD, A_BOLD) | A_BOLD, " %s", buf);
    }
    time_t t = (time_t)(m->now_ms / 1000);
    struct tm tm;
    char clock[32] = "";
    if (localtime_r(&t, &tm))
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    const char *pause = ui->paused ? "PAUSED " : "";
    int right = (int)(strlen(clock) + strlen(pause)) + 1;
    if (cx + 1 < COLS - right) {
        at(0, COLS - right);
        out(look(P_WARN, A_BOLD) | A_BOLD, pause);
        out(A_NORMAL, clock);
    }

    at(1, 0);
    out(A_NORMAL, " lookups/s ");
    if (m->have_stats && m->nhist) {
        tui_fmt_count(buf, sizeof buf, m->rate);
        out(A_BOLD, buf);
        char spark[16 * 4 + 1];
        tui_sparkline(m, 16, utf8, spark, sizeof spark);
        out(A_NORMAL, " ");
        out(look(P_OK, A_NORMAL), spark);
    } else {
        out(A_BOLD, unknown());
    }
    out(A_NORMAL, "  hit ");
    if (m->have_stats && m->hit_ratio >= 0)
        outf(A_BOLD, "%.1f%%", m->hit_ratio * 100.0);
    else
        out(A_BOLD, unknown());
    out(A_NORMAL, "  readers ");
    if (m->have_env)
        outf(A_BOLD, "%u/%u", m->readers_used, m->readers_max);
    else
        out(A_BOLD, unknown());
    out(A_NORMAL, "  map ");
    if (m->have_env) {
        char used[16], size[16];
        tui_fmt_bytes(used, sizeof used, m->map_used);
        tui_fmt_bytes(size, sizeof size, m->map_size);
        outf(A_BOLD, "%s/%s", used, size);
        if (m->map_size)
            outf(A_NORMAL, " %.0f%%", (double)m->map_used * 100.0 / (double)m->map_size);
    } else {
        out(A_BOLD, unknown());
    }
    draw_sources(m);
}

/* The message line: the most urgent of what the operator should know, on
 * the left; what the table shows on the right, always. */
static void draw_message(const tui_model *m, const tui_eventlog *l, const tui_ui *ui)
{
    char right[128];
    int n = snprintf(right, sizeof right, "%s%s%s %zu/%zu chains  sort %s%s ",
                     m->filter[0] ? "filter \"" : "", m->filter, m->filter[0] ? "\"" : "",
                     m->nview, m->nchains, tui_columns[m->sort_col].label,
                     m->sort_desc ? " desc" : "");
    char msg[512] = "";
    attr_t a = A_NORMAL;
    if (ui->status[0] && tui_mono_ms() < ui->status_until) {
        snprintf(msg, sizeof msg, " %s", ui->status);
        a = ui->status_err ? look(P_BAD, A_BOLD) | A_BOLD : look(P_OK, A_BOLD);
    } else if (!m->r && m->problem[0]) {
        /* Nothing can be shown at all: say why before anything else. */
        snprintf(msg, sizeof msg, " %s", m->problem);
        a = look(P_BAD, A_BOLD) | A_BOLD;
    } else if (m->daemon == TUI_D_DOWN) {
        snprintf(msg, sizeof msg, " daemon is down%s: showing what LMDB still holds",
                 !m->have_daemon ? " (never started here)" : "");
        a = look(P_BAD, A_BOLD) | A_BOLD;
    } else if (not_responding(m, l)) {
        snprintf(msg, sizeof msg, " daemon not responding: no heartbeat for %lld s (stopped, "
                 "hung, or its bus is gone); readers keep reading",
                 (long long)(tui_events_silent_ms(l, tui_mono_ms()) / 1000));
        a = look(P_BAD, A_BOLD) | A_BOLD;
    } else if (l->alarms & PC_HB_STORE_BLOCKED) {
        snprintf(msg, sizeof msg, " %.200s: publishes wait, readers keep reading", l->alarm_text);
        a = look(P_BAD, A_BOLD) | A_BOLD;
    } else if (l->alarms & PC_HB_LOCK_CORRUPT) {
        snprintf(msg, sizeof msg, " %.200s: publishes refused, the last snapshots are served",
                 l->alarm_text);
    } else if (l->alarms & PC_HB_DISK_FULL) {
        snprintf(msg, sizeof msg, " disk full: publishes fail, the last snapshots are served; "
                 "free space on the cache's filesystem");
        a = look(P_BAD, A_BOLD) | A_BOLD;
    } else if (l->alarms & PC_HB_MAP_FULL) {
        char who[64] = "";
        if (m->oldest_pid)
            snprintf(who, sizeof who, "; reader pid %u holds an old snapshot", m->oldest_pid);
        snprintf(msg, sizeof msg, " map full: publishes fail, the last snapshots are served%s",
                 who);
        a = look(P_BAD, A_BOLD) | A_BOLD;
    } else if (m->problem[0]) {
        snprintf(msg, sizeof msg, " %s", m->problem);
        a = look(P_BAD, A_BOLD);
    } else if (m->db == TUI_DB_FAILING) {
        snprintf(msg, sizeof msg, " database: %s", m->db_error[0] ? m->db_error : "loads fail");
        a = look(P_WARN, A_BOLD);
    } else if (m->oldest_pid && m->oldest_ms >= TUI_STALE_MS) {
        char age[16];
        tui_fmt_duration(age, sizeof age, m->oldest_ms);
        snprintf(msg, sizeof msg, " reader pid %u has held an old snapshot for %s: data.mdb "
                 "grows (pricecache readers)", m->oldest_pid, age);
        a = look(P_WARN, A_BOLD);
    } else if (l->problem[0]) {
        snprintf(msg, sizeof msg, " %s", l->problem);
        a = look(P_WARN, A_NORMAL);
    }
    /* When both do not fit, the message wins: it is what just happened. */
    int both = (int)strlen(msg) + n + 1 <= COLS;
    at(2, 0);
    out(a, msg);
    if (both) {
        at(2, COLS - n);
        out(A_DIM, right);
    }
}

static void draw_table(const tui_model *m, tui_ui *ui, int rows)
{
    at(3, 0);
    attr_t bar = look(P_BAR, A_REVERSE);
    out(bar, " ");
    for (int c = 0; c < TUI_COL__COUNT; c++) {
        int w = col_width(c);
        attr_t a = c == m->sort_col ? look(P_SORT, A_REVERSE | A_UNDERLINE) | A_BOLD : bar;
        char cell[64];
        snprintf(cell, sizeof cell, tui_columns[c].right ? "%*s" : "%-*s", w, tui_columns[c].label);
        out(a, cell);
        if (c + 1 < TUI_COL__COUNT)
            out(bar, " ");
    }
    fill(bar);

    /* Keep the selection on screen. */
    if (ui->sel >= m->nview)
        ui->sel = m->nview ? m->nview - 1 : 0;
    if (ui->sel < ui->top)
        ui->top = ui->sel;
    if (rows > 0 && ui->sel >= ui->top + (size_t)rows)
        ui->top = ui->sel - (size_t)rows + 1;
    if (ui->top + (size_t)rows > m->nview)
        ui->top = m->nview > (size_t)rows ? m->nview - (size_t)rows : 0;

    for (int i = 0; i < rows; i++) {
        size_t v = ui->top + (size_t)i;
        at(4 + i, 0);
        if (v >= m->nview) {
            if (i == 0 && m->nview == 0)
                out(A_DIM, m->nchains ? " no chain matches the filter"
                                      : " no chains in the cache");
            continue;
        }
        const tui_chain *ch = &m->chains[m->view[v]];
        int selected = v == ui->sel;
        attr_t row = selected ? A_REVERSE : A_NORMAL;
        out(row, " ");
        for (int c = 0; c < TUI_COL__COUNT; c++) {
            int w = col_width(c);
            char cell[96], shown[128];
            tui_cell(m, ch, c, 0, cell, sizeof cell);
            if ((int)strlen(cell) > w) {
                if (c == TUI_COL_CHAIN && w > 1)
                    snprintf(cell + w - 1, sizeof cell - (size_t)(w - 1), "~");
                else
                    cell[w] = '\0';
            }
            snprintf(shown, sizeof shown, tui_columns[c].right ? "%*s" : "%-*s", w, cell);
            attr_t a = row;
            if (c == TUI_COL_BREAKER && !selected)
                a = breaker_look(ch->m.breaker);
            else if (c == TUI_COL_FAILED && ch->m.last_result != PC_LOAD_OK
                     && ch->m.last_result != PC_LOAD_NONE && !selected)
                a = look(P_WARN, A_BOLD);
            else if (c == TUI_COL_CHAIN)
                a |= A_BOLD;
            out(a, shown);
            if (c + 1 < TUI_COL__COUNT)
                out(row, " ");
        }
        if (selected)
            fill(A_REVERSE);
    }
}

static void draw_events(const tui_eventlog *l, int y, int rows)
{
    at(y, 0);
    attr_t bar = look(P_BAR, A_REVERSE);
    outf(bar, " Events  %s", l->addr);
    fill(bar);
    size_t first = l->count > (size_t)rows ? l->count - (size_t)rows : 0;
    if (l->count == 0 && rows > 0) {
        at(y + 1, 0);
        out(A_DIM, l->sub ? " waiting for events from the daemon" : " not subscribed");
    }
    for (int i = 0; i < rows && first + (size_t)i < l->count; i++) {
        int kind = 0;
        const char *line = tui_events_line(l, first + (size_t)i, &kind);
        at(y + 1 + i, 0);
        attr_t a = kind == PC_EV_FAILED || kind == PC_EV_REFUSED ? look(P_BAD, A_NORMAL)
                 : kind == PC_EV_BREAKER || kind == PC_EV_DATABASE ? look(P_WARN, A_BOLD) : A_NORMAL;
        outf(a, " %s", line);
    }
}

static void draw_footer(const tui_ui *ui)
{
    at(LINES - 1, 0);
    for (int i = 0; i < tui_nbindings; i++) {
        const tui_binding *b = &tui_bindings[i];
        if (!b->footer[0])
            continue;
        if (!ui->can_act && (b->action == TUI_A_RELOAD || b->action == TUI_A_BREAKER
                             || b->action == TUI_A_ACCEPT))
            continue;
        char k[8];
        tui_key_short(b, k, sizeof k);
        out(look(P_KEY, A_REVERSE) | A_BOLD, k);
        outf(A_NORMAL, "%s ", b->footer);
    }
}

static void draw_help(void)
{
    at(0, 0);
    out(A_BOLD, " pricecache-top - keys");
    int y = 2;
    for (int i = 0; i < tui_nbindings && y < LINES - 8; i++, y++) {
        at(y, 0);
        outf(A_BOLD, " %-14s", tui_bindings[i].keys);
        out(A_NORMAL, tui_bindings[i].help);
    }
    static const char *const notes[] = {
        "AGE: since the snapshot was published; LOAD: the last load's duration",
        "OK/FAIL: loads since the chain appeared; REJ: rows the last load rejected",
        "BREAKER open N: time until the next probe (about: the daemon jitters it)",
        "Actions go through the daemon's control socket (group pricecache).",
    };
    y++;
    for (size_t i = 0; i < sizeof notes / sizeof notes[0] && y < LINES - 1; i++, y++) {
        at(y, 0);
        outf(A_DIM, " %s", notes[i]);
    }
    at(LINES - 1, 0);
    out(A_BOLD, " press any key to return");
}

void tui_view_draw(const tui_model *m, const tui_eventlog *l, tui_ui *ui)
{
    erase();
    if (ui->help) {
        draw_help();
    } else {
        int table, events;
        layout(&table, &events);
        draw_header(m, l, ui);
        draw_message(m, l, ui);
        draw_table(m, ui, table);
        draw_events(l, 4 + table, events);
        draw_footer(ui);
    }
    refresh();
}

/* ---- questions on the message line ----------------------------------- */

static int wait_key(void)
{
    nodelay(stdscr, FALSE);
    int ch;
    do
        ch = getch();
    while (ch == KEY_RESIZE || ch == ERR);
    nodelay(stdscr, TRUE);
    return ch;
}

int tui_view_confirm(const char *question)
{
    at(2, 0);
    move(2, 0);
    clrtoeol();
    outf(look(P_WARN, A_BOLD) | A_BOLD, " %s [y/N] ", question);
    refresh();
    int ch = wait_key();
    return ch == 'y' || ch == 'Y';
}

int tui_view_prompt(const char *label, char *buf, size_t cap)
{
    char line[256];
    snprintf(line, sizeof line, "%s", buf);
    if (cap > sizeof line)
        cap = sizeof line;
    curs_set(1);
    for (;;) {
        move(2, 0);
        clrtoeol();
        at(2, 0);
        outf(A_BOLD, " %s", label);
        out(A_NORMAL, line);
        move(2, cx < COLS ? cx : COLS - 1);
        refresh();
        int ch = wait_key();
        size_t n = strlen(line);
        if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            snprintf(buf, cap, "%s", line);
            curs_set(0);
            return 1;
        }
        if (ch == 27) {
            curs_set(0);
            return 0;
        }
        if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n > 0)
            line[n - 1] = '\0';
        else if (ch == 21) /* ^U */
            line[0] = '\0';
        else if (ch >= 32 && ch < 127 && n + 1 < cap)
            line[n] = (char)ch, line[n + 1] = '\0';
    }
}
