/* test_tui.c - unit tests of the console's model (tui/model.c), batch frames (tui/batch.c), event pane (tui/eventlog.c) and key table (tui/keys.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tui/batch.h"
#include "../../tui/eventlog.h"
#include "../../tui/keys.h"
#include "../../tui/model.h"

static void add_chain(tui_model *m, const char *name, uint64_t version, uint64_t base,
                      int64_t loaded_at_ms, uint32_t breaker)
{
    if (m->nchains == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->chains = realloc(m->chains, m->cap * sizeof *m->chains);
        m->view = realloc(m->view, m->cap * sizeof *m->view);
        assert_non_null(m->chains);
        assert_non_null(m->view);
    }
    tui_chain *c = &m->chains[m->nchains++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->m.version = version;
    c->m.base_rows = base;
    c->m.loaded_at_ms = loaded_at_ms;
    c->m.breaker = breaker;
}

static const char *row(const tui_model *m, size_t i)
{
    return m->chains[m->view[i]].name;
}

/* Three chains in byte order, as pc_chains lists them. */
static void sample3(tui_model *m)
{
    assert_int_equal(tui_model_init(m, "/nonexistent"), PC_OK);
    m->now_ms = 1000000;
    add_chain(m, "acme", 7, 300, 990000, PC_BREAKER_CLOSED);
    add_chain(m, "beta", 9, 100, 999000, PC_BREAKER_OPEN);
    add_chain(m, "corner", 8, 200, 980000, PC_BREAKER_HALF_OPEN);
}

static void test_sort_by_name_and_columns(void **state)
{
    (void)state;
    tui_model m;
    sample3(&m);
    tui_model_arrange(&m);
    assert_int_equal(m.nview, 3);
    assert_string_equal(row(&m, 0), "acme");
    assert_string_equal(row(&m, 2), "corner");

    m.sort_col = TUI_COL_VERSION;
    tui_model_arrange(&m);
    assert_string_equal(row(&m, 0), "acme");
    assert_string_equal(row(&m, 1), "corner");
    assert_string_equal(row(&m, 2), "beta");

    m.sort_desc = 1;
    tui_model_arrange(&m);
    assert_string_equal(row(&m, 0), "beta");

    /* Age: the oldest snapshot (smallest loaded_at) is the largest age. */
    m.sort_col = TUI_COL_AGE;
    tui_model_arrange(&m);
    assert_string_equal(row(&m, 0), "corner");
    assert_string_equal(row(&m, 2), "beta");

    /* Breaker: closed < half-open < open; descending puts the open first. */
    m.sort_col = TUI_COL_BREAKER;
    tui_model_arrange(&m);
    assert_string_equal(row(&m, 0), "beta");
    assert_string_equal(row(&m, 1), "corner");
    assert_string_equal(row(&m, 2), "acme");

    m.sort_col = TUI_COL_CHAIN;
    tui_model_arrange(&m);
    assert_string_equal(row(&m, 0), "corner");
    tui_model_free(&m);
}

static void test_ties_keep_name_order(void **state)
{
    (void)state;
    tui_model m;
    assert_int_equal(tui_model_init(&m, "/x"), PC_OK);
    add_chain(&m, "d", 1, 5, 0, 0);
    add_chain(&m, "b", 1, 5, 0, 0);
    add_chain(&m, "c", 1, 5, 0, 0);
    add_chain(&m, "a", 2, 5, 0, 0);
    m.sort_col = TUI_COL_BASE;
    tui_model_arrange(&m);
    assert_string_equal(row(&m, 0), "a");
    assert_string_equal(row(&m, 1), "b");
    assert_string_equal(row(&m, 3), "d");
    m.sort_desc = 1; /* ties stay in name order even descending: rows do not jump */
    tui_model_arrange(&m);
    assert_string_equal(row(&m, 0), "a");
    assert_string_equal(row(&m, 1), "b");
    tui_model_free(&m);
}

static void test_filter(void **state)
{
    (void)state;
    tui_model m;
    sample3(&m);
    snprintf(m.filter, sizeof m.filter, "c");
    tui_model_arrange(&m);
    assert_int_equal(m.nview, 2); /* acme, corner */
    assert_string_equal(row(&m, 0), "acme");
    assert_string_equal(row(&m, 1), "corner");
    assert_int_equal(tui_model_find(&m, "corner"), 1);
    assert_int_equal(tui_model_find(&m, "beta"), -1);
    snprintf(m.filter, sizeof m.filter, "zzz");
    tui_model_arrange(&m);
    assert_int_equal(m.nview, 0);
    m.filter[0] = '\0';
    tui_model_arrange(&m);
    assert_int_equal(m.nview, 3);
    tui_model_free(&m);
}

static void test_many_chains(void **state)
{
    (void)state;
    tui_model m;
    assert_int_equal(tui_model_init(&m, "/x"), PC_OK);
    char name[16];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "c%03d", i);
        add_chain(&m, name, (uint64_t)((i * 7919) % 500), 1, 0, 0);
    }
    m.sort_col = TUI_COL_VERSION;
    tui_model_arrange(&m);
    assert_int_equal(m.nview, 500);
    for (size_t i = 1; i < m.nview; i++)
        assert_true(m.chains[m.view[i - 1]].m.version <= m.chains[m.view[i]].m.version);
    tui_model_free(&m);
}

static void test_formats(void **state)
{
    (void)state;
    char b[32];
    tui_fmt_count(b, sizeof b, 0);         assert_string_equal(b, "0");
    tui_fmt_count(b, sizeof b, 999);       assert_string_equal(b, "999");
    tui_fmt_count(b, sizeof b, 12.5);      assert_string_equal(b, "12.5");
    tui_fmt_count(b, sizeof b, 1000);      assert_string_equal(b, "1.0k");
    tui_fmt_count(b, sizeof b, 12345);     assert_string_equal(b, "12.3k");
    tui_fmt_count(b, sizeof b, 250000);    assert_string_equal(b, "250k");
    tui_fmt_count(b, sizeof b, 4500000);   assert_string_equal(b, "4.5M");
    tui_fmt_duration(b, sizeof b, 850);    assert_string_equal(b, "850ms");
    tui_fmt_duration(b, sizeof b, 1234);   assert_string_equal(b, "1.2s");
    tui_fmt_duration(b, sizeof b, 45000);  assert_string_equal(b, "45s");
    tui_fmt_duration(b, sizeof b, 720000); assert_string_equal(b, "12m");
    tui_fmt_duration(b, sizeof b, 3 * 3600000LL); assert_string_equal(b, "3h");
    tui_fmt_duration(b, sizeof b, 3 * 86400000LL); assert_string_equal(b, "3d");
    tui_fmt_duration(b, sizeof b, -5);     assert_string_equal(b, "0ms");
    tui_fmt_uptime(b, sizeof b, 999);      assert_string_equal(b, "0s");
    tui_fmt_uptime(b, sizeof b, 723000);   assert_string_equal(b, "12m03s");
    tui_fmt_uptime(b, sizeof b, 11520000); assert_string_equal(b, "3h12m");
    tui_fmt_uptime(b, sizeof b, 183600000LL); assert_string_equal(b, "2d03h");
    tui_fmt_bytes(b, sizeof b, 512);       assert_string_equal(b, "512B");
    tui_fmt_bytes(b, sizeof b, 1536);      assert_string_equal(b, "1.5K");
    tui_fmt_bytes(b, sizeof b, 64u << 20); assert_string_equal(b, "64.0M");
}

static void test_cells(void **state)
{
    (void)state;
    tui_model m;
    sample3(&m);
    m.breaker_reset_s = 30;
    tui_chain *beta = &m.chains[1];
    beta->m.breaker_since_ms = m.now_ms - 12000; /* opened 12 s ago: probe in ~18 s */
    beta->m.base_rows = 1234567;
    beta->m.last_attempt_ms = m.now_ms - 100;
    beta->m.last_duration_ms = 1500;
    char b[64];
    tui_cell(&m, beta, TUI_COL_BREAKER, 0, b, sizeof b);
    assert_string_equal(b, "open 18s");
    tui_cell(&m, beta, TUI_COL_BREAKER, 1, b, sizeof b);
    assert_string_equal(b, "open(18s)");
    beta->m.breaker_since_ms = m.now_ms - 40000;
    tui_cell(&m, beta, TUI_COL_BREAKER, 0, b, sizeof b);
    assert_string_equal(b, "open due");
    tui_cell(&m, beta, TUI_COL_BASE, 0, b, sizeof b);
    assert_string_equal(b, "1.2M");
    tui_cell(&m, beta, TUI_COL_BASE, 1, b, sizeof b);
    assert_string_equal(b, "1234567");
    tui_cell(&m, beta, TUI_COL_AGE, 0, b, sizeof b);
    assert_string_equal(b, "1.0s");
    tui_cell(&m, beta, TUI_COL_AGE, 1, b, sizeof b);
    assert_string_equal(b, "1.0");
    tui_cell(&m, beta, TUI_COL_LOAD, 0, b, sizeof b);
    assert_string_equal(b, "1.5s");
    tui_cell(&m, beta, TUI_COL_LOAD, 1, b, sizeof b);
    assert_string_equal(b, "1500");
    tui_cell(&m, &m.chains[0], TUI_COL_LOAD, 0, b, sizeof b); /* never attempted */
    assert_string_equal(b, "-");
    tui_cell(&m, &m.chains[2], TUI_COL_BREAKER, 0, b, sizeof b);
    assert_string_equal(b, "half-open");
    /* Screen widths hold the compact forms of the largest figures. */
    beta->m.base_rows = UINT64_C(999999999999);
    tui_cell(&m, beta, TUI_COL_BASE, 0, b, sizeof b);
    assert_true((int)strlen(b) <= tui_columns[TUI_COL_BASE].width);
    tui_model_free(&m);
}

static void test_rate_and_sparkline(void **state)
{
    (void)state;
    tui_model m;
    assert_int_equal(tui_model_init(&m, "/x"), PC_OK);
    tui_model_count(&m, 0, 0, 0, 1000);
    assert_int_equal(m.nhist, 0); /* one sample is no rate */
    assert_true(m.hit_ratio < 0);
    tui_model_count(&m, 90, 10, 0, 2000);
    assert_int_equal(m.nhist, 1);
    assert_true(m.rate > 99.9 && m.rate < 100.1);
    assert_true(m.hit_ratio > 0.899 && m.hit_ratio < 0.901);
    tui_model_count(&m, 90, 10, 0, 2500); /* no lookups in the interval */
    assert_true(m.rate == 0);
    assert_true(m.hit_ratio < 0);
    tui_model_count(&m, 390, 10, 100, 3500);
    assert_true(m.rate > 399.9 && m.rate < 400.1);
    /* Counters going back (the area was recreated) restart the rate. */
    tui_model_count(&m, 5, 0, 0, 4500);
    assert_int_equal(m.nhist, 3);
    char b[256];
    tui_sparkline(&m, 16, 0, b, sizeof b);
    assert_string_equal(b, "-_@");
    tui_sparkline(&m, 2, 0, b, sizeof b);
    assert_string_equal(b, "_@");
    tui_sparkline(&m, 16, 1, b, sizeof b);
    assert_string_equal(b, "\u2583\u2581\u2588");
    for (int i = 0; i < 2 * TUI_HIST; i++)
        tui_model_count(&m, 1000 + (uint64_t)i, 0, 0, 5000 + i * 1000);
    assert_int_equal(m.nhist, TUI_HIST);
    tui_model_free(&m);
}

static void test_batch_frame(void **state)
{
    (void)state;
    tui_model m;
    sample3(&m);
    m.daemon = TUI_D_DOWN;
    tui_model_arrange(&m);
    tui_eventlog *l = calloc(1, sizeof *l);
    assert_non_null(l);
    pc_event e = { .kind = PC_EV_PUBLISH, .version = 9, .ts_ms = 1000000 };
    snprintf(e.chain, sizeof e.chain, "beta");
    snprintf(e.text, sizeof e.text, "reload: 100 base");
    tui_events_add(l, &e);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    uint64_t seen = 0;
    assert_int_equal(tui_batch_frame(f, &m, l, 1, &seen), 0);
    assert_int_equal(tui_batch_frame(f, &m, l, 2, &seen), 0);
    fclose(f);
    assert_non_null(strstr(text, "pricecache-top frame 1 at 1970-01-01T00:16:40Z\n"));
    assert_non_null(strstr(text, "daemon: down\n"));
    assert_non_null(strstr(text, "lookups_per_s: -\n"));
    assert_non_null(strstr(text, "chains: 3\n"));
    assert_non_null(strstr(text, "\nCHAIN  VERSION BASE_ROWS STORE_ROWS AGE_S LOAD_MS LOADS_OK "
                                 "LOADS_FAILED REJECTED BREAKER\n"));
    assert_non_null(strstr(text, "\nacme         7       300          0  10.0       - "));
    assert_non_null(strstr(text, "\nbeta         9       100 "));
    /* The event once, in the first frame only. */
    char *ev = strstr(text, "event: ");
    assert_non_null(ev);
    assert_non_null(strstr(ev, "publish  beta v9 reload: 100 base\n"));
    assert_null(strstr(ev + 1, "event: "));
    assert_null(strstr(text, "source: ")); /* no replicas recorded: no source lines */
    free(text);

    /* Issue 14: with replicas, a line per source. */
    m.nsources = 2;
    memset(m.sources, 0, sizeof m.sources);
    snprintf(m.sources[0].name, sizeof m.sources[0].name, "primary");
    snprintf(m.sources[0].where, sizeof m.sources[0].where, "db:5432");
    m.sources[0].state = PC_SOURCE_UP;
    m.sources[0].up = 1;
    m.sources[0].lag_bytes = m.sources[0].lag_ms = -1;
    m.sources[0].reads_delta = 4;
    snprintf(m.sources[1].name, sizeof m.sources[1].name, "replica1");
    snprintf(m.sources[1].where, sizeof m.sources[1].where, "r1:5433");
    m.sources[1].state = PC_SOURCE_LAGGING;
    m.sources[1].lag_bytes = 81234;
    m.sources[1].lag_ms = 75200;
    m.sources[1].reads_load = 3;
    snprintf(m.sources[1].why, sizeof m.sources[1].why, "75.2 s behind");
    text = NULL;
    f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(tui_batch_frame(f, &m, l, 3, &seen), 0);
    fclose(f);
    assert_non_null(strstr(text, "\nsource: primary where=db:5432 state=up up=1 lag_bytes=- lag_s=- "
                                 "reads_load=0 reads_delta=4\n"));
    assert_non_null(strstr(text, "\nsource: replica1 where=r1:5433 state=lagging up=0 "
                                 "lag_bytes=81234 lag_s=75.2 reads_load=3 reads_delta=0 "
                                 "why=\"75.2 s behind\"\nchains: 3\n"));
    free(text);
    free(l);
    tui_model_free(&m);
}

static void test_eventlog_ring(void **state)
{
    (void)state;
    tui_eventlog *l = calloc(1, sizeof *l);
    assert_non_null(l);
    pc_event e = { .kind = PC_EV_FAILED, .ts_ms = 0 };
    for (int i = 0; i < TUI_EVENTS_KEPT + 5; i++) {
        snprintf(e.chain, sizeof e.chain, "c%d", i);
        snprintf(e.text, sizeof e.text, "n%d", i);
        tui_events_add(l, &e);
    }
    assert_int_equal(l->count, TUI_EVENTS_KEPT);
    assert_int_equal(l->total, TUI_EVENTS_KEPT + 5);
    int kind = -1;
    assert_non_null(strstr(tui_events_line(l, 0, &kind), " c5 n5"));
    assert_int_equal(kind, PC_EV_FAILED);
    assert_non_null(strstr(tui_events_line(l, TUI_EVENTS_KEPT - 1, NULL), " c204 n204"));
    assert_string_equal(tui_events_line(l, TUI_EVENTS_KEPT, NULL), "");
    /* An over-long text is cut, never overflows the line. */
    memset(e.text, 'x', PC_EVENT_TEXT_MAX);
    e.text[PC_EVENT_TEXT_MAX] = '\0';
    tui_events_add(l, &e);
    assert_true(strlen(tui_events_line(l, TUI_EVENTS_KEPT - 1, NULL)) < TUI_EVENT_LINE);
    free(l);
}

/* Stale readers across samples: a slot behind ages, the oldest is named,
 * a slot that moves on is forgotten. */
static void test_readers_age(void **state)
{
    (void)state;
    tui_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    assert_int_equal(tui_model_init(m, "/nonexistent"), PC_OK);
    pc_reader_slot s[2];
    memset(s, 0, sizeof s);
    s[0].pid = 10; s[0].thread = 1; s[0].txnid = 5; s[0].behind = 3;
    s[1].pid = 11; s[1].thread = 2; s[1].txnid = 8; s[1].behind = 0;
    assert_int_equal(tui_model_readers(m, s, 2, 1000), PC_OK);
    assert_int_equal(m->oldest_pid, 10);
    assert_int_equal(m->oldest_ms, 0);
    assert_int_equal(tui_model_readers(m, s, 2, 7000), PC_OK);
    assert_int_equal(m->oldest_pid, 10);
    assert_int_equal(m->oldest_ms, 6000);
    s[0].txnid = 8;
    s[0].behind = 0;
    assert_int_equal(tui_model_readers(m, s, 2, 8000), PC_OK);
    assert_int_equal(m->oldest_pid, 0);
    tui_model_free(m);
    free(m);
}

/* "Not responding" is three missed heartbeats of "*". */
static void test_heartbeat_silence(void **state)
{
    (void)state;
    tui_eventlog *l = calloc(1, sizeof *l);
    assert_non_null(l);
    assert_int_equal(tui_events_silent_ms(l, 5000), -1); /* no subscriber: unknown */
    l->sub = (pc_sub *)l; /* only tested for NULL here */
    l->opened_ms = 1000;
    assert_int_equal(tui_events_silent_ms(l, 2500), 1500);
    pc_event e = { .kind = PC_EV_HEARTBEAT, .value = PC_HB_MAP_FULL };
    snprintf(e.text, sizeof e.text, "map full");
    tui_events_beat(l, &e, 3000);
    assert_int_equal(tui_events_silent_ms(l, 6500), 3500);
    assert_true(tui_events_silent_ms(l, 6500) > TUI_SILENT_BEATS * TUI_BEAT_MS);
    assert_int_equal(l->alarms, PC_HB_MAP_FULL);
    assert_string_equal(l->alarm_text, "map full");
    e.value = PC_HB_DISK_FULL | PC_HB_MAP_FULL;
    snprintf(e.text, sizeof e.text, "disk full");
    tui_events_beat(l, &e, 7000);
    assert_int_equal(l->alarms, PC_HB_DISK_FULL | PC_HB_MAP_FULL);
    assert_string_equal(l->alarm_text, "disk full");
    free(l);
}

/* Every action has a key, and the help's first key name is that key. */
static void test_keys(void **state)
{
    (void)state;
    for (int i = 0; i < tui_nbindings; i++) {
        const tui_binding *b = &tui_bindings[i];
        char k[16];
        tui_key_short(b, k, sizeof k);
        int ch = strlen(k) == 1 ? k[0]
               : strcmp(k, "Up") == 0 ? KEY_UP : strcmp(k, "Down") == 0 ? KEY_DOWN
               : strcmp(k, "PgUp") == 0 ? KEY_PPAGE : strcmp(k, "PgDn") == 0 ? KEY_NPAGE
               : strcmp(k, "Home") == 0 ? KEY_HOME : strcmp(k, "End") == 0 ? KEY_END
               : strcmp(k, "^L") == 0 ? 12 : -1;
        assert_int_not_equal(ch, -1);
        assert_int_equal(tui_key_action(ch), b->action);
    }
    assert_int_equal(tui_key_action(KEY_F(1)), TUI_A_HELP);
    assert_int_equal(tui_key_action('j'), TUI_A_DOWN);
    assert_int_equal(tui_key_action('k'), TUI_A_UP);
    assert_int_equal(tui_key_action('>'), TUI_A_SORT);
    assert_int_equal(tui_key_action('<'), TUI_A_SORTPREV);
    assert_int_equal(tui_key_action('Z'), TUI_A_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_by_name_and_columns),
        cmocka_unit_test(test_ties_keep_name_order),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_many_chains),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_rate_and_sparkline),
        cmocka_unit_test(test_batch_frame),
        cmocka_unit_test(test_eventlog_ring),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_readers_age),
        cmocka_unit_test(test_heartbeat_silence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
