/* keys.h - the console's key bindings: one table drives the keys, the help screen and the footer. */
#ifndef TUI_KEYS_H
#define TUI_KEYS_H

/* X(action, keys as shown in help, footer label ("" = not in the footer), what it does) */
#define TUI_ACTIONS(X)                                                              \
    X(TUI_A_HELP,    "? F1 h",       "Help",    "this help; any key returns")            \
    X(TUI_A_UP,      "Up k",         "",        "select the previous chain")             \
    X(TUI_A_DOWN,    "Down j",       "",        "select the next chain")                 \
    X(TUI_A_PGUP,    "PgUp ^B",      "",        "one page up")                           \
    X(TUI_A_PGDN,    "PgDn Space ^F","",        "one page down")                         \
    X(TUI_A_HOME,    "Home g",       "",        "first chain")                           \
    X(TUI_A_END,     "End G",        "",        "last chain")                            \
    X(TUI_A_SORT,    "s >",          "Sort",    "sort by the next column")               \
    X(TUI_A_SORTPREV,"<",            "",        "sort by the previous column")           \
    X(TUI_A_INVERT,  "I",            "",        "invert the sort order")                 \
    X(TUI_A_FILTER,  "/",            "Filter",  "show chains whose name contains a text (empty: all)") \
    X(TUI_A_PAUSE,   "p",            "Pause",   "pause or resume sampling")              \
    X(TUI_A_RELOAD,  "r",            "Reload",  "reload the selected chain (asks first)") \
    X(TUI_A_BREAKER, "b",            "Breaker", "reset the selected chain's breaker (asks first)") \
    X(TUI_A_ACCEPT,  "a",            "Accept",  "accept the selected chain's refused load (asks first)") \
    X(TUI_A_REDRAW,  "^L",           "",        "sample and redraw now")                 \
    X(TUI_A_QUIT,    "q F10",        "Quit",    "quit")

enum tui_action {
    TUI_A_NONE = 0,
#define TUI_X_ENUM(id, keys, footer, help) id,
    TUI_ACTIONS(TUI_X_ENUM)
#undef TUI_X_ENUM
    TUI_A__COUNT
};

typedef struct tui_binding {
    int         action;
    const char *keys, *footer, *help;
} tui_binding;

extern const tui_binding tui_bindings[];
extern const int tui_nbindings;

/* The footer's short key name of an action: its first key ("?", "/", "q"). */
void tui_key_short(const tui_binding *b, char *buf, int len);

/* The action of a key code as curses returns it, or TUI_A_NONE. */
int tui_key_action(int ch);

#endif
