/* test_bus.c - the bus codec round trip and its refusal of every malformed message; subscriber gap detection over a real PUB/SUB pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "pc_bus.h"

static void fill(pc_event *e, int kind, const char *chain, uint64_t seq)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    snprintf(e->chain, sizeof e->chain, "%s", chain);
    e->seq = seq;
    e->run = 1700000000123ull;
    e->ts_ms = 1700000000456;
    e->version = 42;
    e->value = 7;
    snprintf(e->text, sizeof e->text, "reload: 3 put");
}

static void test_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[PC_BUS_MSG_MAX];
    for (int k = 0; k < PC_EV__COUNT; k++) {
        pc_event e, d;
        fill(&e, k, k % 2 ? "acme" : "", (uint64_t)k + 1);
        size_t n = pc_bus_encode(&e, buf, sizeof buf);
        assert_true(n > 0);
        assert_int_equal(pc_bus_decode(buf, n, &d), PC_OK);
        assert_int_equal(d.kind, k);
        assert_string_equal(d.chain, e.chain);
        assert_int_equal(d.seq, e.seq);
        assert_int_equal(d.run, e.run);
        assert_int_equal(d.ts_ms, e.ts_ms);
        assert_int_equal(d.version, 42);
        assert_int_equal(d.value, 7);
        assert_string_equal(d.text, "reload: 3 put");
        /* the topic prefix a SUB filter matches */
        assert_memory_equal(buf, k % 2 ? "acme\0" : "*\0", k % 2 ? 5 : 2);
    }
    /* longest text and chain */
    pc_event e, d;
    fill(&e, PC_EV_FAILED, "", 1);
    memset(e.chain, 'c', PC_CHAIN_MAX);
    e.chain[PC_CHAIN_MAX] = 0;
    memset(e.text, 't', PC_BUS_TEXT_MAX);
    e.text[PC_BUS_TEXT_MAX] = 0;
    size_t n = pc_bus_encode(&e, buf, sizeof buf);
    assert_int_equal(n, PC_BUS_MSG_MAX);
    assert_int_equal(pc_bus_decode(buf, n, &d), PC_OK);
    assert_int_equal(strlen(d.text), PC_BUS_TEXT_MAX);
}

static void test_encode_refuses(void **state)
{
    (void)state;
    uint8_t buf[PC_BUS_MSG_MAX];
    pc_event e;
    fill(&e, 99, "acme", 1);
    assert_int_equal(pc_bus_encode(&e, buf, sizeof buf), 0);
    fill(&e, PC_EV_PUBLISH, "Bad Slug", 1);
    assert_int_equal(pc_bus_encode(&e, buf, sizeof buf), 0);
    fill(&e, PC_EV_PUBLISH, "acme", 1);
    assert_int_equal(pc_bus_encode(&e, buf, 10), 0);
}

static void test_decode_refuses_every_truncation_and_garbage(void **state)
{
    (void)state;
    uint8_t buf[PC_BUS_MSG_MAX + 8];
    pc_event e, d;
    fill(&e, PC_EV_PUBLISH, "acme", 5);
    size_t n = pc_bus_encode(&e, buf, sizeof buf);
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(pc_bus_decode(buf, cut, &d), PC_EFORMAT);
    buf[n] = 'x'; /* trailing byte */
    assert_int_equal(pc_bus_decode(buf, n + 1, &d), PC_EFORMAT);
    uint8_t bad[PC_BUS_MSG_MAX];
    memcpy(bad, buf, n);
    bad[6] = PC_BUS_VERSION + 1; /* acme\0 P C v */
    assert_int_equal(pc_bus_decode(bad, n, &d), PC_EFORMAT);
    memcpy(bad, buf, n);
    bad[7] = PC_EV__COUNT;
    assert_int_equal(pc_bus_decode(bad, n, &d), PC_EFORMAT);
    memcpy(bad, buf, n);
    bad[0] = 'A'; /* not a slug */
    assert_int_equal(pc_bus_decode(bad, n, &d), PC_EFORMAT);
    /* random bytes never crash and are nearly always refused */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % (int)sizeof bad);
        for (size_t j = 0; j < len; j++)
            bad[j] = (uint8_t)rand();
        int rc = pc_bus_decode(bad, len, &d);
        assert_true(rc == PC_OK || rc == PC_EFORMAT);
    }
}

/* A raw PUB socket sending hand-made events, to make gaps on purpose. */
static int pub;

static void raw_send(int kind, const char *chain, uint64_t run, uint64_t seq, uint64_t version)
{
    pc_event e;
    fill(&e, kind, chain, seq);
    e.run = run;
    e.version = version;
    uint8_t buf[PC_BUS_MSG_MAX];
    size_t n = pc_bus_encode(&e, buf, sizeof buf);
    assert_true(nn_send(pub, buf, n, 0) == (int)n);
}

static int next(pc_sub *s, pc_event *e)
{
    int rc = pc_sub_next(s, 2000, e);
    return rc == PC_OK ? e->kind : rc;
}

static void test_pubsub_gaps(void **state)
{
    (void)state;
    char addr[128];
    snprintf(addr, sizeof addr, "ipc:///tmp/pcbus-%d.ipc", (int)getpid());
    pub = nn_socket(AF_SP, NN_PUB);
    assert_true(pub >= 0);
    assert_true(nn_bind(pub, addr) >= 0);
    const char *only[] = { "acme" };
    pc_sub *s;
    assert_int_equal(pc_sub_open(addr, only, 1, &s), PC_OK);
    assert_true(pc_sub_fd(s) >= 0);
    pc_event e;
    /* wait for the subscription to reach the publisher */
    int joined = 0;
    for (int i = 0; i < 100 && !joined; i++) {
        raw_send(PC_EV_HEARTBEAT, "", 1, 0, 0);
        joined = pc_sub_next(s, 20, &e) == PC_OK;
    }
    assert_true(joined);
    while (pc_sub_next(s, 50, &e) == PC_OK)
        ;
    raw_send(PC_EV_PUBLISH, "acme", 1, 1, 10);
    raw_send(PC_EV_PUBLISH, "other", 1, 1, 99);   /* filtered out */
    raw_send(PC_EV_PUBLISH, "acme-2", 1, 1, 99);  /* a longer slug: filtered out too */
    raw_send(PC_EV_PUBLISH, "acme", 1, 2, 11);
    raw_send(PC_EV_PUBLISH, "acme", 1, 5, 14);    /* 3 and 4 lost */
    assert_int_equal(next(s, &e), PC_EV_PUBLISH);
    assert_int_equal(e.version, 10);
    int k = next(s, &e);
    if (k != PC_EV_PUBLISH)
        fprintf(stderr, "got kind %d chain %s seq %llu text %s\n", k, e.chain,
                (unsigned long long)e.seq, e.text);
    assert_int_equal(k, PC_EV_PUBLISH);
    assert_int_equal(e.version, 11);
    assert_int_equal(next(s, &e), PC_EV_RESYNC);
    assert_string_equal(e.chain, "acme");
    assert_string_equal(e.text, "missed events 3..4");
    assert_int_equal(next(s, &e), PC_EV_PUBLISH);
    assert_int_equal(e.version, 14);
    /* the tail of a burst lost: the heartbeat is ahead */
    raw_send(PC_EV_HEARTBEAT, "acme", 1, 7, 16);
    assert_int_equal(next(s, &e), PC_EV_RESYNC);
    assert_string_equal(e.text, "missed events 6..7");
    assert_int_equal(next(s, &e), PC_EV_HEARTBEAT);
    raw_send(PC_EV_HEARTBEAT, "acme", 1, 7, 16);  /* nothing missed */
    assert_int_equal(next(s, &e), PC_EV_HEARTBEAT);
    /* a new daemon run */
    raw_send(PC_EV_PUBLISH, "acme", 2, 1, 17);
    assert_int_equal(next(s, &e), PC_EV_RESYNC);
    assert_string_equal(e.text, "daemon restarted");
    assert_int_equal(next(s, &e), PC_EV_PUBLISH);
    assert_int_equal(e.version, 17);
    /* a malformed message on the topic is reported, not silently eaten */
    assert_true(nn_send(pub, "acme\0junk", 9, 0) == 9);
    assert_int_equal(pc_sub_next(s, 2000, &e), PC_EFORMAT);
    assert_int_equal(pc_sub_next(s, 50, &e), PC_ETIMEDOUT);
    pc_sub_close(s);
    nn_close(pub);
    unlink(addr + 6);
    const char *bad[] = { "Bad" };
    assert_int_equal(pc_sub_open(addr, bad, 1, &s), PC_EINVAL);
}

/* The daemon's sender: per-topic sequences and heartbeats with versions. */
static void test_daemon_sender(void **state)
{
    (void)state;
    char addr[128];
    snprintf(addr, sizeof addr, "ipc:///tmp/pcbus2-%d.ipc", (int)getpid());
    pcd_events *ev;
    char err[256];
    assert_int_equal(pcd_events_open(addr, &ev, err, sizeof err), PC_OK);
    pc_sub *s;
    assert_int_equal(pc_sub_open(addr, NULL, 0, &s), PC_OK);
    pc_event e;
    int joined = 0;
    for (int i = 0; i < 100 && !joined; i++) {
        pcd_events_heartbeat(ev);
        joined = pc_sub_next(s, 20, &e) == PC_OK;
    }
    assert_true(joined);
    while (pc_sub_next(s, 50, &e) == PC_OK)
        ;
    pcd_events_send(ev, PC_EV_PUBLISH, "acme", 5, 100, "reload: %d put", 3);
    pcd_events_send(ev, PC_EV_PUBLISH, "beta", 6, 10, "delta");
    pcd_events_send(ev, PC_EV_PUBLISH, "acme", 7, 100, "again");
    assert_int_equal(next(s, &e), PC_EV_PUBLISH);
    assert_int_equal(e.seq, 1);
    assert_string_equal(e.text, "reload: 3 put");
    assert_int_equal(next(s, &e), PC_EV_PUBLISH);
    assert_string_equal(e.chain, "beta");
    assert_int_equal(e.seq, 1); /* its own topic's sequence */
    assert_int_equal(next(s, &e), PC_EV_PUBLISH);
    assert_int_equal(e.seq, 2);
    pcd_events_heartbeat(ev);
    int seen_acme = 0;
    while (next(s, &e) == PC_EV_HEARTBEAT && !seen_acme)
        if (strcmp(e.chain, "acme") == 0) {
            seen_acme = 1;
            assert_int_equal(e.seq, 2);
            assert_int_equal(e.version, 7);
        }
    assert_true(seen_acme);
    pc_sub_close(s);
    pcd_events_close(ev);
    unlink(addr + 6);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_decode_refuses_every_truncation_and_garbage),
        cmocka_unit_test(test_pubsub_gaps),
        cmocka_unit_test(test_daemon_sender),
    };
    return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
