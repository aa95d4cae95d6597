/* main.c - pricecache-top: options, then the sampling loop, on the terminal or in batch mode. */
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "actions.h"
#include "batch.h"
#include "eventlog.h"
#include "keys.h"
#include "model.h"
#include "view.h"

#define DEFAULT_DIR     "/var/lib/pricecache"
#define DEFAULT_EVENTS  PC_BUS_DEFAULT_EVENTS
#define DEFAULT_CONTROL PC_BUS_DEFAULT_CONTROL
#define STATUS_MS       15000
/* Events trigger a re-read of the metadata, but not more often than this. */
#define RESYNC_MIN_MS   200

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pricecache-top [-d SECONDS] [-b [-n COUNT]] [-D DIR] [-E ADDR] [-C ADDR]\n"
            "                      [-R SECONDS] [-s COLUMN]\n"
            "The live console of pricecache: the daemon, every chain, lookups, events.\n"
            "  -d SECONDS  refresh interval (default 1; fractions allowed, >= 0.1)\n"
            "  -b          batch mode: plain-text frames on stdout, like top -b\n"
            "  -n COUNT    stop after COUNT frames (batch mode; default: until killed)\n"
            "  -D DIR      cache directory (default $PRICECACHE_PATH, else " DEFAULT_DIR ")\n"
            "  -E ADDR     events address (default $PRICECACHE_EVENTS, else what the daemon\n"
            "              announced, else " DEFAULT_EVENTS ")\n"
            "  -C ADDR     control address (default $PRICECACHE_CONTROL, else announced, else\n"
            "              " DEFAULT_CONTROL ")\n"
            "  -R SECONDS  the daemon's [breaker] reset_s, to show the time to the next probe\n"
            "              (default 30)\n"
            "  -s COLUMN   sort by COLUMN (chain, version, base, store, age, load, ok, fail,\n"
            "              rej, breaker); append '-' for descending, e.g. -s age-\n"
            "Colours when the terminal has them, unless NO_COLOR is set.  Press ? for keys.\n");
}

static int parse_sort(tui_model *m, const char *arg)
{
    char name[32];
    snprintf(name, sizeof name, "%s", arg);
    size_t n = strlen(name);
    if (n && name[n - 1] == '-') {
        m->sort_desc = 1;
        name[n - 1] = '\0';
    }
    for (int c = 0; c < TUI_COL__COUNT; c++)
        if (strcasecmp(name, tui_columns[c].label) == 0
            || strcasecmp(name, tui_columns[c].batch_label) == 0) {
            m->sort_col = c;
            return 0;
        }
    return -1;
}

/* ---- batch ----------------------------------------------------------- */

/* Wait until the monotonic deadline, taking events as they come. */
static void wait_until(tui_eventlog *l, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - tui_mono_ms();
        if (left <= 0 || stop)
            return;
        struct pollfd p = { tui_events_fd(l), POLLIN, 0 };
        if (p.fd < 0) {
            poll(NULL, 0, (int)left);
            continue;
        }
        if (poll(&p, 1, (int)left) > 0)
            tui_events_drain(l);
    }
}

static int batch(tui_model *m, tui_eventlog *l, int interval_ms, long count)
{
    uint64_t seen = 0;
    int64_t next = tui_mono_ms();
    for (long f = 1; !stop && (count <= 0 || f <= count); f++) {
        if (f > 1)
            wait_until(l, next);
        if (stop)
            break;
        next = tui_mono_ms() + interval_ms;
        tui_events_drain(l);
        tui_model_sample(m);
        if (tui_batch_frame(stdout, m, l, (unsigned long)f, &seen) != 0) {
            fprintf(stderr, "pricecache-top: stdout: %s\n", strerror(errno));
            return 1;
        }
    }
    return 0;
}

/* ---- the terminal ---------------------------------------------------- */

typedef struct console {
    tui_model    *m;
    tui_eventlog *l;
    tui_ui        ui;
    const char   *control;
    int           quit;
} console;

/* The selection follows its chain when rows move (sort, filter, sample). */
static void keep_selection(console *c)
{
    long i = c->ui.sel_name[0] ? tui_model_find(c->m, c->ui.sel_name) : -1;
    if (i >= 0)
        c->ui.sel = (size_t)i;
    else if (c->ui.sel >= c->m->nview)
        c->ui.sel = c->m->nview ? c->m->nview - 1 : 0;
    if (c->m->nview)
        snprintf(c->ui.sel_name, sizeof c->ui.sel_name, "%s",
                 c->m->chains[c->m->view[c->ui.sel]].name);
}

static void select_row(console *c, long row)
{
    long n = (long)c->m->nview;
    if (row >= n)
        row = n - 1;
    if (row < 0)
        row = 0;
    c->ui.sel = (size_t)row;
    c->ui.sel_name[0] = '\0';
    keep_selection(c);
    /* Scroll with each key, not only at the next draw: Home then j stays at the top. */
    size_t page = (size_t)tui_view_table_rows();
    if (c->ui.sel < c->ui.top)
        c->ui.top = c->ui.sel;
    else if (c->ui.sel >= c->ui.top + page)
        c->ui.top = c->ui.sel - page + 1;
}

static void status(console *c, int err, const char *msg)
{
    snprintf(c->ui.status, sizeof c->ui.status, "%s", msg);
    c->ui.status_err = err;
    c->ui.status_until = tui_mono_ms() + STATUS_MS;
}

static void act(console *c, int action)
{
    if (!c->m->nview) {
        status(c, 1, "no chain selected");
        return;
    }
    char chain[PC_CHAIN_MAX + 1], question[160], msg[sizeof c->ui.status];
    snprintf(chain, sizeof chain, "%s", c->m->chains[c->m->view[c->ui.sel]].name);
    tui_action_question(action, chain, question, sizeof question);
    if (!tui_view_confirm(question)) {
        status(c, 0, "cancelled");
        return;
    }
    int rc = tui_action_run(c->control, action, chain, msg, sizeof msg);
    status(c, rc != PC_OK, msg);
    /* Show the effect as soon as the daemon has it. */
    tui_model_sample(c->m);
    keep_selection(c);
}

static void key(console *c, int ch)
{
    if (c->ui.help) {
        c->ui.help = 0;
        return;
    }
    /* A reply stays until the next key, as in less. */
    c->ui.status[0] = '\0';
    tui_model *m = c->m;
    long page = tui_view_table_rows();
    switch (tui_key_action(ch)) {
    case TUI_A_HELP:     c->ui.help = 1; break;
    case TUI_A_UP:       select_row(c, (long)c->ui.sel - 1); break;
    case TUI_A_DOWN:     select_row(c, (long)c->ui.sel + 1); break;
    case TUI_A_PGUP:     select_row(c, (long)c->ui.sel - page); break;
    case TUI_A_PGDN:     select_row(c, (long)c->ui.sel + page); break;
    case TUI_A_HOME:     select_row(c, 0); break;
    case TUI_A_END:      select_row(c, (long)m->nview - 1); break;
    case TUI_A_SORT:     m->sort_col = (m->sort_col + 1) % TUI_COL__COUNT; break;
    case TUI_A_SORTPREV: m->sort_col = (m->sort_col + TUI_COL__COUNT - 1) % TUI_COL__COUNT; break;
    case TUI_A_INVERT:   m->sort_desc = !m->sort_desc; break;
    case TUI_A_FILTER:   tui_view_prompt("filter: ", m->filter, sizeof m->filter); break;
    case TUI_A_PAUSE:    c->ui.paused = !c->ui.paused; break;
    case TUI_A_RELOAD:
    case TUI_A_BREAKER:
    case TUI_A_ACCEPT:   act(c, tui_key_action(ch)); break;
    case TUI_A_REDRAW:   tui_model_sample(m); break;
    case TUI_A_QUIT:     c->quit = 1; break;
    default:             break; /* KEY_RESIZE and the rest: a redraw */
    }
    tui_model_arrange(m);
    keep_selection(c);
}

static int interactive(tui_model *m, tui_eventlog *l, const char *control, int interval_ms)
{
    const char *nc = getenv("NO_COLOR");
    if (tui_view_start(!(nc && *nc)) != PC_OK) {
        const char *term = getenv("TERM");
        fprintf(stderr, "pricecache-top: cannot drive the terminal (TERM=%s); use -b for text\n",
                term ? term : "unset");
        return 1;
    }
    console c = { .m = m, .l = l, .control = control };
    c.ui.interval_ms = interval_ms;
    c.ui.can_act = control[0] != '\0';
    keep_selection(&c);
    int64_t next = tui_mono_ms() + interval_ms, last_resync = 0;
    int dirty = 1;
    while (!stop && !c.quit) {
        if (dirty)
            tui_view_draw(m, l, &c.ui);
        dirty = 0;
        int64_t now = tui_mono_ms();
        struct pollfd p[2] = { { STDIN_FILENO, POLLIN, 0 }, { tui_events_fd(l), POLLIN, 0 } };
        /* A SIGWINCH ends the poll (EINTR) and curses then hands out KEY_RESIZE. */
        poll(p, p[1].fd >= 0 ? 2 : 1, next > now ? (int)(next - now) : 0);
        int ch;
        while (!c.quit && (ch = tui_view_key()) >= 0) {
            key(&c, ch);
            dirty = 1;
        }
        if (tui_events_drain(l) > 0 && !c.ui.paused)
            dirty = 1;
        now = tui_mono_ms();
        if (l->resync && !c.ui.paused && now - last_resync >= RESYNC_MIN_MS) {
            l->resync = 0;
            last_resync = now;
            tui_model_sample(m);
            keep_selection(&c);
            dirty = 1;
        }
        if (now >= next) {
            if (!c.ui.paused) {
                tui_model_sample(m);
                keep_selection(&c);
                dirty = 1;
            }
            next = now + interval_ms;
        }
    }
    tui_view_stop();
    return 0;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    const char *dir = getenv("PRICECACHE_PATH");
    const char *ev_opt = NULL, *ctl_opt = NULL;
    char events[512] = "", control[512] = "";
    double interval = 1.0;
    long count = 0, reset_s = 30;
    int batch_mode = 0;
    const char *sort = NULL;
    int opt;
    char *end;
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("pricecache-top %s\n", PC_VERSION);
        return 0;
    }
    while ((opt = getopt(argc, argv, "d:bn:D:E:C:R:s:hV")) != -1) {
        switch (opt) {
        case 'd':
            interval = strtod(optarg, &end);
            if (*end || !(interval >= 0.1 && interval <= 3600)) {
                fprintf(stderr, "pricecache-top: -d %s: a number of seconds from 0.1 to 3600\n", optarg);
                return 2;
            }
            break;
        case 'b': batch_mode = 1; break;
        case 'n':
            count = strtol(optarg, &end, 10);
            if (*end || count <= 0) {
                fprintf(stderr, "pricecache-top: -n %s: a count of frames, 1 or more\n", optarg);
                return 2;
            }
            break;
        case 'D': dir = optarg; break;
        case 'E': ev_opt = optarg; break;
        case 'C': ctl_opt = optarg; break;
        case 'R':
            reset_s = strtol(optarg, &end, 10);
            if (*end || reset_s < 1 || reset_s > 86400) {
                fprintf(stderr, "pricecache-top: -R %s: seconds from 1 to 86400\n", optarg);
                return 2;
            }
            break;
        case 's': sort = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("pricecache-top %s\n", PC_VERSION); return 0;
        default:  usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!batch_mode && !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "pricecache-top: stdout is not a terminal; use -b for text frames\n");
        return 2;
    }
    tui_model m;
    if (tui_model_init(&m, dir && *dir ? dir : DEFAULT_DIR) != PC_OK) {
        fprintf(stderr, "pricecache-top: out of memory\n");
        return 1;
    }
    m.breaker_reset_s = (int)reset_s;
    if (sort && parse_sort(&m, sort) != 0) {
        fprintf(stderr, "pricecache-top: -s %s: no such column\n", sort);
        tui_model_free(&m);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    tui_model_sample(&m);
    /* -E / -C, else the environment, else what the daemon announced in
     * the cache, else the default (an address too long for the buffer
     * gets the bus's own refusal, as before). */
    if (pc_bus_resolve(m.path, PC_BUS_EVENTS, ev_opt, 0, events, sizeof events, NULL) != PC_OK)
        snprintf(events, sizeof events, "%s", ev_opt ? ev_opt : DEFAULT_EVENTS);
    if (pc_bus_resolve(m.path, PC_BUS_CONTROL, ctl_opt, 0, control, sizeof control, NULL) != PC_OK)
        snprintf(control, sizeof control, "%s", ctl_opt ? ctl_opt : DEFAULT_CONTROL);
    tui_eventlog *l = calloc(1, sizeof *l);
    if (!l) {
        fprintf(stderr, "pricecache-top: out of memory\n");
        tui_model_free(&m);
        return 1;
    }
    tui_events_open(l, events);
    int interval_ms = (int)(interval * 1000.0 + 0.5);
    int rc = batch_mode ? batch(&m, l, interval_ms, count)
                        : interactive(&m, l, control, interval_ms);
    tui_events_close(l);
    free(l);
    tui_model_free(&m);
    return rc;
}
