/* actions.c - reload, breaker reset and accept, as control requests. */
#include <stdio.h>
#include <string.h>

#include "actions.h"
#include "keys.h"

static const char *verb(int action)
{
    switch (action) {
    case TUI_A_RELOAD:  return "reload";
    case TUI_A_BREAKER: return "breaker reset";
    case TUI_A_ACCEPT:  return "accept";
    default:            return NULL;
    }
}

void tui_action_question(int action, const char *chain, char *buf, size_t cap)
{
    switch (action) {
    case TUI_A_RELOAD:
        snprintf(buf, cap, "Reload chain %s from the database now?", chain);
        break;
    case TUI_A_BREAKER:
        snprintf(buf, cap, "Reset the breaker of %s (close it and load)?", chain);
        break;
    case TUI_A_ACCEPT:
        snprintf(buf, cap, "Accept %s's refused load (its next load skips the guards)?", chain);
        break;
    default:
        snprintf(buf, cap, "?");
    }
}

int tui_action_run(const char *addr, int action, const char *chain, char *msg, size_t cap)
{
    const char *v = verb(action);
    if (!v || !chain || !*chain) {
        snprintf(msg, cap, "no chain selected");
        return PC_EINVAL;
    }
    if (!addr || !*addr) {
        snprintf(msg, cap, "%s %s: no control address (the daemon announced none; use -C)", v, chain);
        return PC_EINVAL;
    }
    char req[PC_CHAIN_MAX + 32], reply[512];
    snprintf(req, sizeof req, "%s %s", v, chain);
    reply[0] = '\0';
    int rc = pc_control(addr, req, reply, sizeof reply, TUI_ACTION_TIMEOUT_MS);
    /* One line on the screen: the reply may hold several. */
    reply[strcspn(reply, "\n")] = '\0';
    switch (rc) {
    case PC_OK:
        snprintf(msg, cap, "%s %s: %s", v, chain, reply[0] ? reply : "done");
        break;
    case PC_EREFUSED:
        snprintf(msg, cap, "%s %s refused: %s", v, chain, reply);
        break;
    case PC_EACCES:
        snprintf(msg, cap, "%s %s: permission denied (%s)", v, chain,
                 reply[0] ? reply : "not in the service group");
        break;
    case PC_ETIMEDOUT:
        snprintf(msg, cap, "%s %s: no answer from the daemon in %d s (%s)", v, chain,
                 TUI_ACTION_TIMEOUT_MS / 1000, addr);
        break;
    default:
        snprintf(msg, cap, "%s %s: %s%s%s", v, chain, pc_strerror(rc), reply[0] ? ": " : "",
                 reply);
    }
    return rc;
}
