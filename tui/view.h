/* view.h - drawing the console with curses; the only module that calls curses. */
#ifndef TUI_VIEW_H
#define TUI_VIEW_H

#include <stddef.h>

#include "eventlog.h"
#include "model.h"

/* What the operator did to the screen: selection, scrolling, modes. */
typedef struct tui_ui {
    char    sel_name[PC_CHAIN_MAX + 1]; /* the selected chain, kept across re-sorts */
    size_t  sel;            /* index into the model's view */
    size_t  top;            /* first row of the view shown */
    int     paused;
    int     help;
    int     interval_ms;
    char    status[256];    /* the last action's reply */
    int     status_err;
    int64_t status_until;   /* monotonic ms */
    int     can_act;        /* the control channel is known */
} tui_ui;

/* Start curses; colour when the terminal has it and `color` is set.
 * PC_OK, or PC_EIO when the terminal cannot be used. */
int  tui_view_start(int color);
void tui_view_stop(void);

/* Draw one frame. */
void tui_view_draw(const tui_model *m, const tui_eventlog *l, tui_ui *ui);

/* Rows of the chain table at the current size (for paging). */
int  tui_view_table_rows(void);

/* The next key, or -1 when none is waiting (never blocks). */
int  tui_view_key(void);

/* Ask a yes/no question on the message line; 1 for y, 0 otherwise. */
int  tui_view_confirm(const char *question);

/* Read a line on the message line, starting from buf.  1 on Enter, 0 on
 * Escape (buf unchanged). */
int  tui_view_prompt(const char *label, char *buf, size_t cap);

#endif
