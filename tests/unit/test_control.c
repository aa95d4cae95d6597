/* test_control.c - the control channel's request handling (daemon/control.c) and the audit log's hash chain (client/audit.c), without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "pc_format.h"
#include "reader_private.h"
#include "snapshot.h"
#include "store.h"

/* ---- audit chain ---- */

static void make_chain(pc_audit_rec *r, int n)
{
    for (int i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].seq = (uint64_t)i + 1;
        if (i)
            memcpy(r[i].prev, r[i - 1].hash, PC_AUDIT_HASH);
        r[i].len = (size_t)snprintf(r[i].text, sizeof r[i].text, "record %d", i + 1);
        pc_audit_seal(&r[i]);
    }
}

static void test_audit_chain_verifies(void **state)
{
    (void)state;
    pc_audit_rec r[3];
    make_chain(r, 3);
    char why[160];
    assert_int_equal(pc_audit_check(&r[0], 1, NULL, why, sizeof why), PC_OK);
    assert_int_equal(pc_audit_check(&r[1], 2, r[0].hash, why, sizeof why), PC_OK);
    assert_int_equal(pc_audit_check(&r[2], 3, r[1].hash, why, sizeof why), PC_OK);
    /* SHA-256 of a known input, so the hash is the one documented */
    pc_audit_rec z;
    memset(&z, 0, sizeof z);
    z.seq = 1;
    pc_audit_seal(&z);
    char hex[65];
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", z.hash[i]);
    /* sha256(00 00 00 00 00 00 00 01 || 32 zero bytes) */
    assert_string_equal(hex, "3d0ad12b8ee8928edf248ca91ca55600fb383f07c32bff1d6dec472b25cf59a7");
}

static void test_audit_detects_tampering(void **state)
{
    (void)state;
    pc_audit_rec r[3];
    make_chain(r, 3);
    char why[160];
    r[1].text[0] = 'R';                      /* altered text */
    assert_int_equal(pc_audit_check(&r[1], 2, r[0].hash, why, sizeof why), PC_EFORMAT);
    assert_non_null(strstr(why, "altered"));
    pc_audit_seal(&r[1]);                    /* ... and resealed: next link breaks */
    assert_int_equal(pc_audit_check(&r[1], 2, r[0].hash, why, sizeof why), PC_OK);
    assert_int_equal(pc_audit_check(&r[2], 3, r[1].hash, why, sizeof why), PC_EFORMAT);
    assert_non_null(strstr(why, "link"));
    assert_int_equal(pc_audit_check(&r[2], 2, r[0].hash, why, sizeof why), PC_EFORMAT);
    assert_non_null(strstr(why, "missing"));  /* record 2 removed */
}

static void test_audit_codec(void **state)
{
    (void)state;
    pc_audit_rec r[1], d;
    make_chain(r, 1);
    uint8_t buf[2048], kb[16];
    size_t n = pc_audit_encode(&r[0], buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(pc_audit_decode(1, buf, n, &d), PC_OK);
    assert_memory_equal(d.hash, r[0].hash, PC_AUDIT_HASH);
    assert_string_equal(d.text, "record 1");
    assert_int_equal(pc_audit_decode(1, buf, 10, &d), PC_EFORMAT);
    buf[0] = 'X';
    assert_int_equal(pc_audit_decode(1, buf, n, &d), PC_EFORMAT);
    assert_int_equal(pc_audit_encode(&r[0], buf, 20), 0);
    size_t kl = pc_key_audit(kb, 0x0102030405060708ull);
    assert_int_equal(kl, 10);
    assert_true(pc_audit_key_seq(kb, kl) == 0x0102030405060708ull);
    assert_true(pc_audit_key_seq(kb, 9) == 0);
    /* big-endian: keys sort in seq order */
    uint8_t k2[16];
    pc_key_audit(k2, 256);
    pc_key_audit(kb, 255);
    assert_true(memcmp(kb, k2, 10) < 0);
}

/* ---- the store writes the log, the reader reads it ---- */

typedef struct collected {
    int n;
    pc_audit_rec recs[8];
} collected;

static int collect(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    collected *c = ctx;
    uint64_t seq = pc_audit_key_seq(key, klen);
    assert_true(seq > 0);
    assert_true(c->n < 8);
    assert_int_equal(pc_audit_decode(seq, val, vlen, &c->recs[c->n++]), PC_OK);
    return 0;
}

static void test_store_appends_in_its_transactions(void **state)
{
    (void)state;
    char dir[] = "/tmp/pcauditXXXXXX";
    assert_non_null(mkdtemp(dir));
    pcd_config cfg;
    assert_int_equal(pcd_config_defaults(&cfg), PC_OK);
    cfg.path = strdup(dir);
    cfg.dsn = strdup("dbname=unused");
    pcd_store *st;
    char err[256];
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_OK);

    pcd_snapshot snap;
    pcd_snapshot_init(&snap, "acme");
    assert_int_equal(pcd_snapshot_add(&snap, NULL, 0, "i1", 2, 100, 1), PC_OK);
    assert_int_equal(pcd_snapshot_finish(&snap), PC_OK);
    pc_meta_rec meta;
    memset(&meta, 0, sizeof meta);
    pcd_publish_stats ps;
    assert_int_equal(pcd_store_publish(st, &snap, &meta, &ps, err, sizeof err), PC_OK);
    assert_int_equal(pcd_store_publish_audited(st, &snap, &meta, &ps, "who action=accept",
                                               err, sizeof err), PC_OK);
    uint64_t accepted_version = ps.version, seq = 0;
    meta.breaker = PC_BREAKER_CLOSED;
    assert_int_equal(pcd_store_put_meta_audited(st, "acme", &meta, "who action=breaker_reset",
                                                &seq), PC_OK);
    assert_int_equal(seq, 2);
    /* no chain: the meta write fails, and its audit record with it */
    assert_int_equal(pcd_store_put_meta_audited(st, "nosuch", &meta, "who action=x", &seq),
                     PC_NOTFOUND);
    assert_int_equal(pcd_store_audit(st, "who action=reload", &seq), PC_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(pcd_store_put_endpoints(st, "ipc:///e", ""), PC_OK);
    pcd_snapshot_free(&snap);
    pcd_store_close(st);

    pc_reader *r;
    assert_int_equal(pc_open(dir, &r), PC_OK);
    collected *c = calloc(1, sizeof *c);
    assert_non_null(c);
    uint8_t kb[4];
    assert_int_equal(pc_reader_prefix_scan(r, kb, pc_key_audit_prefix(kb), collect, c), PC_OK);
    assert_int_equal(c->n, 3);
    char want[64], why[160];
    snprintf(want, sizeof want, "who action=accept version=%llu",
             (unsigned long long)accepted_version);
    assert_string_equal(c->recs[0].text, want);
    assert_string_equal(c->recs[1].text, "who action=breaker_reset");
    assert_string_equal(c->recs[2].text, "who action=reload");
    for (int i = 0; i < 3; i++)
        assert_int_equal(pc_audit_check(&c->recs[i], (uint64_t)i + 1,
                                        i ? c->recs[i - 1].hash : NULL, why, sizeof why), PC_OK);
    free(c);
    char ev[64], ctl[64], tiny[4];
    assert_int_equal(pc_bus_addrs(r, ev, sizeof ev, ctl, sizeof ctl), PC_OK);
    assert_string_equal(ev, "ipc:///e");
    assert_string_equal(ctl, "");
    assert_int_equal(pc_bus_addrs(r, tiny, sizeof tiny, NULL, 0), PC_EINVAL);
    pc_close(r);

    /* bus off: both addresses empty, nothing announced */
    assert_int_equal(pcd_store_open(&cfg, &st, err, sizeof err), PC_OK);
    assert_int_equal(pcd_store_put_endpoints(st, "", ""), PC_OK);
    pcd_store_close(st);
    assert_int_equal(pc_open(dir, &r), PC_OK);
    assert_int_equal(pc_bus_addrs(r, ev, sizeof ev, ctl, sizeof ctl), PC_NOTFOUND);
    pc_close(r);

    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    pcd_config_free(&cfg);
}

/* ---- request handling with a fake engine ---- */

static int reloads, resets, accepts;

static int f_status(void *ctx, char *out, size_t cap)
{
    (void)ctx;
    snprintf(out, cap, "daemon state=ready");
    return PC_OK;
}

static int f_reload(void *ctx, const char *chain, const pcd_actor *who, char *out, size_t cap)
{
    (void)ctx;
    reloads++;
    snprintf(out, cap, "reload of %s queued by %s", chain, who->user);
    return PC_OK;
}

static int f_reset(void *ctx, const char *chain, const pcd_actor *who, char *out, size_t cap)
{
    (void)ctx;
    (void)who;
    resets++;
    snprintf(out, cap, "reset %s", chain);
    return PC_OK;
}

static int f_accept(void *ctx, const char *chain, const pcd_actor *who, char *out, size_t cap)
{
    (void)ctx;
    (void)who;
    accepts++;
    snprintf(out, cap, "nothing_to_accept: %s", chain);
    return PC_EREFUSED;
}

static pcd_control *new_ctl(void)
{
    pcd_control_ops ops = { NULL, f_status, f_status, f_reload, f_reset, f_accept, NULL, NULL };
    pcd_control *c;
    assert_int_equal(pcd_control_new(&ops, &c), PC_OK);
    reloads = resets = accepts = 0;
    return c;
}

static const char *ask(pcd_control *c, const char *msg)
{
    static char out[PC_CONTROL_MAX];
    size_t n = pcd_control_handle(c, msg, strlen(msg), out, sizeof out);
    assert_int_equal(n, strlen(out));
    return out;
}

#define HEAD(id) "PCCTL1 id=" id " uid=1000 user=ann pid=42\n"

static void test_commands(void **state)
{
    (void)state;
    pcd_control *c = new_ctl();
    assert_string_equal(ask(c, HEAD("a1") "status"), "OK daemon state=ready");
    assert_string_equal(ask(c, HEAD("a2") "reload acme"), "OK reload of acme queued by ann");
    assert_string_equal(ask(c, HEAD("a3") "breaker reset acme"), "OK reset acme");
    assert_string_equal(ask(c, HEAD("a4") "accept acme"), "ERR nothing_to_accept: acme");
    assert_int_equal(reloads, 1);
    assert_int_equal(resets, 1);
    assert_int_equal(accepts, 1);
    pcd_control_close(c);
}

static void test_resend_answered_once(void **state)
{
    (void)state;
    pcd_control *c = new_ctl();
    char first[256];
    snprintf(first, sizeof first, "%s", ask(c, HEAD("r1") "breaker reset acme"));
    assert_string_equal(ask(c, HEAD("r1") "breaker reset acme"), first);
    assert_int_equal(resets, 1);
    /* same id from another stated uid is another request */
    ask(c, "PCCTL1 id=r1 uid=7 user=bob pid=9\nbreaker reset acme");
    assert_int_equal(resets, 2);
    /* the stored replies are bounded: old ids fall out, the newest stay */
    char msg[128];
    for (int i = 0; i < 200; i++) {
        snprintf(msg, sizeof msg, HEAD("x%d") "breaker reset acme", i);
        ask(c, msg);
    }
    assert_int_equal(resets, 202);
    ask(c, HEAD("x199") "breaker reset acme");
    assert_int_equal(resets, 202);
    pcd_control_close(c);
}

static void test_rate_limit(void **state)
{
    (void)state;
    pcd_control *c = new_ctl();
    assert_string_equal(ask(c, HEAD("l1") "reload acme"), "OK reload of acme queued by ann");
    const char *r = ask(c, HEAD("l2") "reload acme");
    assert_non_null(strstr(r, "ERR rate_limited: "));
    assert_non_null(strstr(r, "retry after 5 s"));
    assert_string_equal(ask(c, HEAD("l3") "reload beta"), "OK reload of beta queued by ann");
    assert_string_equal(ask(c, HEAD("l4") "reload all"), "OK reload of all queued by ann");
    assert_int_equal(reloads, 3);
    pcd_control_close(c);
}

static void test_bad_requests_change_nothing(void **state)
{
    (void)state;
    pcd_control *c = new_ctl();
    static const char *const bad[] = {
        "", "status", "hello\nstatus", "PCCTL1 id=b1 uid=1 user=ann\nstatus",
        "PCCTL1 id=b2 uid=x user=ann pid=1\nstatus", "PCCTL1 id=b;3 uid=1 user=ann pid=1\nstatus",
        HEAD("b4") "", HEAD("b5") "reload", HEAD("b6") "reload acme beta",
        HEAD("b7") "reload Acme", HEAD("b8") "breaker open acme", HEAD("b9") "frobnicate",
        HEAD("b10") "reload  acme", HEAD("b11") "reload acme\n", HEAD("b12") "accept ",
        HEAD("b13") "reload \x7f" "cme",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *r = ask(c, bad[i]);
        if (strncmp(r, "ERR ", 4) != 0)
            fail_msg("request %zu \"%s\" answered \"%s\"", i, bad[i], r);
    }
    assert_non_null(strstr(ask(c, HEAD("b20") "frobnicate"), "ERR unknown_command"));
    assert_non_null(strstr(ask(c, HEAD("b21") "reload Acme"), "ERR usage"));
    size_t big = PC_CONTROL_MAX + 10;
    char *msg = malloc(big + 1);
    assert_non_null(msg);
    memset(msg, 'a', big);
    memcpy(msg, HEAD("b22") "reload ", strlen(HEAD("b22") "reload "));
    msg[big] = 0;
    assert_non_null(strstr(ask(c, msg), "ERR bad_request"));
    free(msg);
    assert_int_equal(reloads + resets + accepts, 0);
    pcd_control_close(c);
}

int main(void)
{
    pcd_log_level = PCD_LOG_WARN; /* every request is logged at info */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_chain_verifies),
        cmocka_unit_test(test_audit_detects_tampering),
        cmocka_unit_test(test_audit_codec),
        cmocka_unit_test(test_store_appends_in_its_transactions),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_resend_answered_once),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_bad_requests_change_nothing),
    };
    return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
