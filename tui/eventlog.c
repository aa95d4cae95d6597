/* eventlog.c - the console's event pane: the bus subscriber and a ring of the latest events. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eventlog.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tui_events_silent_ms(const tui_eventlog *l, int64_t now)
{
    if (!l->sub)
        return -1;
    return now - (l->beat_ms ? l->beat_ms : l->opened_ms);
}

void tui_events_beat(tui_eventlog *l, const pc_event *e, int64_t now)
{
    l->beat_ms = now;
    l->alarms = e->value;
    snprintf(l->alarm_text, sizeof l->alarm_text, "%s", e->text);
}

int tui_events_open(tui_eventlog *l, const char *addr)
{
    memset(l, 0, sizeof *l);
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    l->opened_ms = mono_ms();
    int rc = pc_sub_open(addr, NULL, 0, &l->sub);
    if (rc != PC_OK) {
        l->sub = NULL;
        snprintf(l->problem, sizeof l->problem, "events %.150s: %s", addr, pc_strerror(rc));
    }
    return rc;
}

void tui_events_close(tui_eventlog *l)
{
    pc_sub_close(l->sub);
    l->sub = NULL;
}

int tui_events_fd(const tui_eventlog *l)
{
    return l->sub ? pc_sub_fd(l->sub) : -1;
}

void tui_events_add(tui_eventlog *l, const pc_event *e)
{
    size_t slot = (l->head + l->count) % TUI_EVENTS_KEPT;
    if (l->count == TUI_EVENTS_KEPT)
        l->head = (l->head + 1) % TUI_EVENTS_KEPT;
    else
        l->count++;
    /* Local time: operators read the pane against their own clocks. */
    time_t t = (time_t)(e->ts_ms / 1000);
    struct tm tm;
    char when[16] = "--:--:--";
    if (localtime_r(&t, &tm))
        strftime(when, sizeof when, "%H:%M:%S", &tm);
    char ver[32] = "";
    if (e->kind == PC_EV_PUBLISH)
        snprintf(ver, sizeof ver, " v%" PRIu64, e->version);
    snprintf(l->lines[slot], TUI_EVENT_LINE, "%s %-8s %s%s %.120s", when, pc_event_kind_name(e->kind),
             e->chain[0] ? e->chain : "*", ver, e->text);
    l->kinds[slot] = e->kind;
    l->total++;
}

int tui_events_drain(tui_eventlog *l)
{
    int added = 0;
    if (!l->sub)
        return 0;
    /* Bounded, so that a flood of events cannot starve the keyboard. */
    for (int i = 0; i < 1000; i++) {
        pc_event e;
        int rc = pc_sub_next(l->sub, 0, &e);
        if (rc == PC_ETIMEDOUT)
            break;
        if (rc == PC_EFORMAT)
            continue;
        if (rc != PC_OK) {
            snprintf(l->problem, sizeof l->problem, "events %.150s: %s", l->addr, pc_strerror(rc));
            break;
        }
        if (e.kind == PC_EV_RESYNC) {
            l->resync = 1;
            continue;
        }
        if (e.kind == PC_EV_HEARTBEAT) {
            if (!e.chain[0])
                tui_events_beat(l, &e, mono_ms());
            continue;
        }
        /* Every shown event changed some chain's metadata: read it again. */
        l->resync = 1;
        tui_events_add(l, &e);
        added++;
    }
    return added;
}

const char *tui_events_line(const tui_eventlog *l, size_t i, int *kind)
{
    if (i >= l->count)
        return "";
    size_t slot = (l->head + i) % TUI_EVENTS_KEPT;
    if (kind)
        *kind = l->kinds[slot];
    return l->lines[slot];
}
