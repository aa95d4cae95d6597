/* batch.h - plain-text frames for scripts and logs (pricecache-top -b), like top -b. */
#ifndef TUI_BATCH_H
#define TUI_BATCH_H

#include <stdint.h>
#include <stdio.h>

#include "eventlog.h"
#include "model.h"

/* Print one frame: "key: value" lines, a blank line, the chain table with
 * a title row (exact figures, columns split by spaces, no cell has one),
 * then "event: LINE" for each event since `*events_seen`, which it
 * advances, and a blank line.  Returns 0, or -1 when the stream failed. */
int tui_batch_frame(FILE *f, const tui_model *m, const tui_eventlog *l, unsigned long frame,
                    uint64_t *events_seen);

#endif
