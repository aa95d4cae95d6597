/* keys.c - key codes to actions, and the table the help screen and the footer are drawn from. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"

#define CTRL(c) ((c) & 0x1f)

const tui_binding tui_bindings[] = {
#define TUI_X_BIND(id, keys, footer, help) { id, keys, footer, help },
    TUI_ACTIONS(TUI_X_BIND)
#undef TUI_X_BIND
};
const int tui_nbindings = (int)(sizeof tui_bindings / sizeof tui_bindings[0]);

void tui_key_short(const tui_binding *b, char *buf, int len)
{
    size_t n = strcspn(b->keys, " ");
    snprintf(buf, (size_t)len, "%.*s", (int)n, b->keys);
}

/* The codes behind the names in the table above; keep the two in step. */
static const struct { int ch, action; } codes[] = {
    { '?', TUI_A_HELP },       { KEY_F(1), TUI_A_HELP },  { 'h', TUI_A_HELP },
    { KEY_UP, TUI_A_UP },      { 'k', TUI_A_UP },
    { KEY_DOWN, TUI_A_DOWN },  { 'j', TUI_A_DOWN },
    { KEY_PPAGE, TUI_A_PGUP }, { CTRL('B'), TUI_A_PGUP },
    { KEY_NPAGE, TUI_A_PGDN }, { ' ', TUI_A_PGDN },       { CTRL('F'), TUI_A_PGDN },
    { KEY_HOME, TUI_A_HOME },  { 'g', TUI_A_HOME },
    { KEY_END, TUI_A_END },    { 'G', TUI_A_END },
    { 's', TUI_A_SORT },       { '>', TUI_A_SORT },       { '.', TUI_A_SORT },
    { '<', TUI_A_SORTPREV },   { ',', TUI_A_SORTPREV },
    { 'I', TUI_A_INVERT },
    { '/', TUI_A_FILTER },
    { 'p', TUI_A_PAUSE },
    { 'r', TUI_A_RELOAD },
    { 'b', TUI_A_BREAKER },
    { 'a', TUI_A_ACCEPT },
    { CTRL('L'), TUI_A_REDRAW },
    { 'q', TUI_A_QUIT },       { KEY_F(10), TUI_A_QUIT },
};

int tui_key_action(int ch)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].ch == ch)
            return codes[i].action;
    return TUI_A_NONE;
}
