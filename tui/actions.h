/* actions.h - the operator's actions on a chain, sent to the daemon's control channel. */
#ifndef TUI_ACTIONS_H
#define TUI_ACTIONS_H

#include <stddef.h>

#include "pricecache.h"

/* How long an action waits for the daemon's answer. */
#define TUI_ACTION_TIMEOUT_MS 5000

/* The question asked before `action` (a TUI_A_* of keys.h) on `chain`. */
void tui_action_question(int action, const char *chain, char *buf, size_t cap);

/* Send `action` on `chain` to the control socket at `addr` and put a line
 * for the operator in msg: the daemon's reply, its refusal, or why it could
 * not be asked (permissions, no answer).  Returns pc_control's code, or
 * PC_EINVAL for an action that is not one of reload, breaker, accept. */
int tui_action_run(const char *addr, int action, const char *chain, char *msg, size_t cap);

#endif
