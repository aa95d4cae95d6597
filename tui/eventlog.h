/* eventlog.h - the console's event pane: the bus subscriber and the latest events, newest last. */
#ifndef TUI_EVENTLOG_H
#define TUI_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "pricecache.h"

#define TUI_EVENTS_KEPT 200
#define TUI_EVENT_LINE  256

typedef struct tui_eventlog {
    pc_sub  *sub;              /* NULL when the bus could not be joined */
    char     addr[256];
    char     problem[200];
    char     lines[TUI_EVENTS_KEPT][TUI_EVENT_LINE];
    int      kinds[TUI_EVENTS_KEPT];
    size_t   head, count;      /* ring: oldest at head */
    uint64_t total;            /* events added since the start */
    int      resync;           /* an event asked for the metadata to be read again */
    int64_t  opened_ms;        /* monotonic: when the subscription began */
    int64_t  beat_ms;          /* monotonic: the last "*" heartbeat, 0 none */
    uint32_t alarms;           /* PC_HB_* of the last "*" heartbeat */
    char     alarm_text[PC_EVENT_TEXT_MAX + 1];
} tui_eventlog;

/* The daemon beats "*" every second; three missed beats and it does not
 * respond (stopped, hung, or its bus gone). */
#define TUI_BEAT_MS 1000
#define TUI_SILENT_BEATS 3

/* Subscribe to every event at `addr` (copied).  A failure is kept in
 * problem and the pane says so; PC_OK or the subscriber's code. */
int  tui_events_open(tui_eventlog *l, const char *addr);
void tui_events_close(tui_eventlog *l);

/* The descriptor to poll, or -1. */
int  tui_events_fd(const tui_eventlog *l);

/* Take every waiting event without blocking.  Returns how many were added
 * to the pane (heartbeats are not shown). */
int  tui_events_drain(tui_eventlog *l);

/* Milliseconds without a "*" heartbeat at monotonic time `now` (counted
 * from the subscription before the first); -1 without a subscriber. */
int64_t tui_events_silent_ms(const tui_eventlog *l, int64_t now);

/* Note a heartbeat of "*" (what drain does; separate for the tests). */
void tui_events_beat(tui_eventlog *l, const pc_event *e, int64_t now);

/* Add one event as a line: "17:20:01 publish  acme v42 reload: ...". */
void tui_events_add(tui_eventlog *l, const pc_event *e);

/* The i-th line, 0 the oldest kept; its kind in *kind when not NULL. */
const char *tui_events_line(const tui_eventlog *l, size_t i, int *kind);

#endif
