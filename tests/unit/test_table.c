/* test_table.c - the chains' lookup tables (format 2): segment encoding and probing, the daemon's writes (kept, patched, built, dropped), the library's answers through them against the B-tree's, its cached segment addresses across versions and map growth, and the conversion of a format 1 cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "delta.h"
#include "pc_format.h"
#include "pc_table.h"
#include "pricecache.h"
#include "snapshot.h"
#include "store.h"
#include "store_int.h"
#include "store_table.h"

#include "store_fixture.h"

/* ---- segments alone ---------------------------------------------------- */

static void test_segment_encode_probe(void **state)
{
    (void)state;
    /* 300 base prices and an exception at two stores for every third. */
    enum { N = 300 };
    uint8_t keys[N * 3][64];
    pc_tab_ent ents[N * 3];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        int len = snprintf((char *)keys[n], 64, "Bitem-%05d", i);
        ents[n] = (pc_tab_ent){ keys[n], (uint32_t)len, 1000 + i, 1700000000 + i, 0, 0 };
        assert_int_equal(pc_tab_ent_hash(&ents[n]), PC_OK);
        n++;
    }
    for (int s = 1; s <= 2; s++)
        for (int i = 0; i < N; i += 3) {
            int len = snprintf((char *)keys[n], 64, "Sstore%d%citem-%05d", s, 0, i);
            ents[n] = (pc_tab_ent){ keys[n], (uint32_t)len, -s * 100000 - i, 5, 0, 0 };
            assert_int_equal(pc_tab_ent_hash(&ents[n]), PC_OK);
            n++;
        }
    size_t len = pc_tab_seg_size(ents, n, 2048);
    uint8_t *seg = malloc(len);
    assert_non_null(seg);
    assert_int_equal(pc_tab_seg_encode(seg, ents, n, 2048), len);
    pc_tab_segv sv;
    assert_int_equal(pc_tab_seg_check(seg, len, &sv), PC_OK);
    char item[32], store[16];
    for (int i = 0; i < N; i++) {
        snprintf(item, sizeof item, "item-%05d", i);
        uint64_t ih = pc_tab_hash(item, strlen(item));
        const uint8_t *e = pc_tab_probe(&sv, ih, PC_KEY_BASE, NULL, 0, item, strlen(item));
        assert_non_null(e);
        int64_t c;
        memcpy(&c, e, 8);
        assert_int_equal(c, 1000 + i);
        for (int s = 1; s <= 3; s++) {
            snprintf(store, sizeof store, "store%d", s);
            uint64_t h = pc_tab_mix(ih, pc_tab_hash(store, strlen(store)));
            e = pc_tab_probe(&sv, h, PC_KEY_STORE, store, strlen(store), item, strlen(item));
            if (s == 3 || i % 3) {
                assert_null(e);
                continue;
            }
            assert_non_null(e);
            memcpy(&c, e, 8);
            assert_int_equal(c, -s * 100000 - i);
        }
    }
    /* An item one byte longer or shorter than a stored one is absent. */
    assert_null(pc_tab_probe(&sv, pc_tab_hash("item-0000", 9), PC_KEY_BASE, NULL, 0,
                             "item-0000", 9));
    /* The walk returns the entries in the order given. */
    uint32_t pos = 0;
    pc_tab_ent e;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pc_tab_seg_next(&sv, &pos, &e), PC_OK);
        assert_int_equal(e.klen, ents[i].klen);
        assert_memory_equal(e.key, ents[i].key, e.klen);
        assert_int_equal(e.cents, ents[i].cents);
        assert_int_equal(e.h, ents[i].h);
    }
    assert_int_equal(pc_tab_seg_next(&sv, &pos, &e), PC_NOTFOUND);
    /* Damage is refused, never read past. */
    assert_int_equal(pc_tab_seg_check(seg, 10, &sv), PC_EFORMAT);
    pc_tab_seg h;
    memcpy(&h, seg, sizeof h);
    pc_tab_seg bad = h;
    bad.bytes = (uint32_t)len + 1;
    memcpy(seg, &bad, sizeof bad);
    assert_int_equal(pc_tab_seg_check(seg, len, &sv), PC_EFORMAT);
    bad = h;
    bad.slotbits = 30;
    memcpy(seg, &bad, sizeof bad);
    assert_int_equal(pc_tab_seg_check(seg, len, &sv), PC_EFORMAT);
    bad = h;
    bad.magic ^= 1;
    memcpy(seg, &bad, sizeof bad);
    assert_int_equal(pc_tab_seg_check(seg, len, &sv), PC_EFORMAT);
    /* A slot pointing past the entries is skipped by the probe. */
    memcpy(seg, &h, sizeof h);
    assert_int_equal(pc_tab_seg_check(seg, len, &sv), PC_OK);
    uint8_t *slots = seg + sizeof h;
    for (uint32_t i = 0; i <= sv.mask; i++) {
        pc_tab_slot sl;
        memcpy(&sl, slots + i * sizeof sl, sizeof sl);
        if (sl.off) {
            sl.off = h.bytes - 3;
            memcpy(slots + i * sizeof sl, &sl, sizeof sl);
        }
    }
    for (int i = 0; i < N; i++) {
        snprintf(item, sizeof item, "item-%05d", i);
        assert_null(pc_tab_probe(&sv, pc_tab_hash(item, strlen(item)), PC_KEY_BASE, NULL, 0,
                                 item, strlen(item)));
    }
    free(seg);
    /* Keys that are no row's. */
    pc_tab_ent x = { (const uint8_t *)"Xab", 3, 0, 0, 0, 0 };
    assert_int_equal(pc_tab_ent_hash(&x), PC_EFORMAT);
    x = (pc_tab_ent){ (const uint8_t *)"Sstore", 6, 0, 0, 0, 0 };
    assert_int_equal(pc_tab_ent_hash(&x), PC_EFORMAT);
    x = (pc_tab_ent){ (const uint8_t *)"S\0item", 6, 0, 0, 0, 0 };
    assert_int_equal(pc_tab_ent_hash(&x), PC_EFORMAT);
}

/* ---- the daemon's writes and the library's answers --------------------- */

/* Items "i<k>" for k in [0, n) priced price0 + k; exceptions at "s1" for
 * every 7th item and at "s2" for every 11th. */
static void make_snap(pcd_snapshot *s, const char *chain, int n, int64_t price0)
{
    pcd_snapshot_init(s, chain);
    char id[32];
    for (int k = 0; k < n; k++) {
        int len = snprintf(id, sizeof id, "i%d", k);
        assert_int_equal(pcd_snapshot_add(s, NULL, 0, id, (size_t)len, price0 + k, 1700000000),
                         PC_OK);
        if (k % 7 == 0)
            assert_int_equal(pcd_snapshot_add(s, "s1", 2, id, (size_t)len, -k, 1), PC_OK);
        if (k % 11 == 0)
            assert_int_equal(pcd_snapshot_add(s, "s2", 2, id, (size_t)len, -2 * k, 2), PC_OK);
    }
    assert_int_equal(pcd_snapshot_finish(s), PC_OK);
}

/* Publish s (freed after), which must succeed (else the store's message
 * is printed); what the publish did to the table (PCD_TAB_*). */
static int published(pcd_store *st, pcd_snapshot *s, pcd_publish_stats *ps)
{
    pc_meta_rec m;
    memset(&m, 0, sizeof m);
    char err[256] = "";
    int rc = pcd_store_publish(st, s, &m, ps, err, sizeof err);
    pcd_snapshot_free(s);
    if (rc != PC_OK)
        fprintf(stderr, "publish: %s\n", err);
    assert_int_equal(rc, PC_OK);
    return ps->tab_how;
}

/* The B-tree's answer, read with raw LMDB through the store's own handle
 * (LMDB allows one handle per environment and process; closing a second
 * one would clear the library's reader slots): what pc_get must say. */
typedef struct raw {
    MDB_env *env;
    MDB_dbi  dbi;
} raw;

static void raw_open(raw *r, pcd_store *st)
{
    r->env = st->env;
    r->dbi = st->dbi;
}

/* Every segment of the chain's table is exactly what the codec's
 * segment encoder makes of its entries (read back in their order): the
 * daemon's build (table_encode.c, every segment at once) and its patches
 * (one segment each) write the one encoding.  Returns the segments
 * checked. */
static size_t check_canonical(raw *r, const char *chain)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn), 0);
    MDB_stat ms;
    assert_int_equal(mdb_env_stat(r->env, &ms), 0);
    size_t mb = pc_tab_min_bytes(ms.ms_psize), segs = 0;
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, r->dbi, &cur), 0);
    uint8_t pb[PC_KEY_MAX];
    size_t plen = pc_key_tab_seg_prefix(pb, chain, strlen(chain));
    MDB_val k = { plen, pb }, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size > plen && memcmp(k.mv_data, pb, plen) == 0) {
        pc_tab_segv sv;
        assert_int_equal(pc_tab_seg_check(v.mv_data, v.mv_size, &sv), PC_OK);
        size_t n = 0, cap = 64;
        pc_tab_ent *ents = malloc(cap * sizeof *ents);
        assert_non_null(ents);
        uint32_t pos = 0;
        pc_tab_ent e;
        while ((rc = pc_tab_seg_next(&sv, &pos, &e)) == PC_OK) {
            if (n == cap) {
                ents = realloc(ents, (cap *= 2) * sizeof *ents);
                assert_non_null(ents);
            }
            ents[n++] = e;
        }
        assert_int_equal(rc, PC_NOTFOUND);
        size_t len = pc_tab_seg_size(ents, n, mb);
        assert_int_equal(len, v.mv_size);
        uint8_t *buf = malloc(len);
        assert_non_null(buf);
        assert_int_equal(pc_tab_seg_encode(buf, ents, n, mb), len);
        assert_memory_equal(buf, v.mv_data, len);
        free(buf);
        free(ents);
        segs++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return segs;
}

static int raw_price(raw *r, const char *chain, const char *store, const char *item,
                     pc_price *out)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn), 0);
    uint8_t kb[PC_KEY_MAX];
    MDB_val k, v;
    int rc = MDB_NOTFOUND;
    if (store) {
        k = (MDB_val){ pc_key_store(kb, chain, strlen(chain), store, strlen(store), item,
                                    strlen(item)), kb };
        rc = mdb_get(txn, r->dbi, &k, &v);
        out->flags = PC_PRICE_STORE;
    }
    if (rc == MDB_NOTFOUND) {
        k = (MDB_val){ pc_key_base(kb, chain, strlen(chain), item, strlen(item)), kb };
        rc = mdb_get(txn, r->dbi, &k, &v);
        out->flags = 0;
    }
    if (rc == 0) {
        pc_price_rec p;
        memcpy(&p, v.mv_data, sizeof p);
        out->cents = p.cents;
        out->updated_at = p.updated_at;
    }
    mdb_txn_abort(txn);
    return rc == 0 ? PC_OK : PC_NOTFOUND;
}

/* Count the chain's table keys: the header (0/1) and the segments. */
static void raw_table(raw *r, const char *chain, int *hdr, size_t *segs, pc_tab_hdr *h,
                      uint64_t *gens, size_t gcap)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn), 0);
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_hdr(kb, chain, strlen(chain)), kb }, v;
    *hdr = mdb_get(txn, r->dbi, &k, &v) == 0;
    if (*hdr) {
        const uint8_t *g;
        assert_int_equal(pc_tab_hdr_check(v.mv_data, v.mv_size, h, &g), PC_OK);
        for (size_t i = 0; i < gcap && i < ((size_t)1 << h->segbits); i++)
            gens[i] = pc_tab_gen(g, (uint32_t)i);
    }
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, r->dbi, &cur), 0);
    uint8_t pb[PC_KEY_MAX];
    size_t plen = pc_key_tab_seg_prefix(pb, chain, strlen(chain));
    k = (MDB_val){ plen, pb };
    *segs = 0;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size > plen && memcmp(k.mv_data, pb, plen) == 0) {
        (*segs)++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
}

/* Every item of [0, n + extra) at no store, s1, s2 and s3: pc_get and the
 * B-tree agree. */
static void check_all(pc_reader *rd, raw *r, const char *chain, int n)
{
    static const char *stores[] = { NULL, "s1", "s2", "s3" };
    char id[32];
    for (int k = 0; k < n + 50; k++) {
        snprintf(id, sizeof id, "i%d", k);
        for (int s = 0; s < 4; s++) {
            pc_price want, got;
            int wrc = raw_price(r, chain, stores[s], id, &want);
            int grc = pc_get(rd, chain, stores[s], id, &got);
            if (grc != wrc)
                fail_msg("%s/%s/%s: pc_get %d, B-tree %d", chain, stores[s] ? stores[s] : "-",
                         id, grc, wrc);
            if (grc == PC_OK) {
                assert_int_equal(got.cents, want.cents);
                assert_int_equal(got.updated_at, want.updated_at);
                assert_int_equal(got.flags, want.flags);
            }
        }
    }
}

/* What make_snap(n, price0) put there, without the B-tree. */
static void check_known(pc_reader *rd, const char *chain, int n, int64_t price0)
{
    static const char *stores[] = { NULL, "s1", "s2", "s3" };
    char id[32];
    for (int k = 0; k < n + 50; k++) {
        snprintf(id, sizeof id, "i%d", k);
        for (int s = 0; s < 4; s++) {
            pc_price got;
            int rc = pc_get(rd, chain, stores[s], id, &got);
            if (k >= n) {
                assert_int_equal(rc, PC_NOTFOUND);
                continue;
            }
            assert_int_equal(rc, PC_OK);
            if (s == 1 && k % 7 == 0)
                assert_int_equal(got.cents, -k);
            else if (s == 2 && k % 11 == 0)
                assert_int_equal(got.cents, -2 * k);
            else
                assert_int_equal(got.cents, price0 + k);
        }
    }
}

static void test_tables_written_and_read(void **state)
{
    fixture *f = *state;
    pcd_snapshot s;
    pcd_publish_stats ps;
    make_snap(&s, "acme", 40000, 100);
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_BUILT);
    raw r;
    raw_open(&r, f->st);
    assert_true(check_canonical(&r, "acme") >= 64);
    int hdr;
    size_t segs;
    pc_tab_hdr h;
    uint64_t g0[64], g1[64];
    raw_table(&r, "acme", &hdr, &segs, &h, g0, 64);
    assert_true(hdr);
    assert_int_equal(h.segbits, pc_tab_segbits_for(40000 + 40000 / 7 + 1 + 40000 / 11 + 1));
    assert_int_equal(segs, (size_t)1 << h.segbits);
    assert_int_equal(h.entries, 40000 + 5715 + 3637);
    assert_int_equal(ps.tab_segs, segs);

    pc_reader *rd;
    assert_int_equal(pc_open(f->dir, &rd), PC_OK);
    check_all(rd, &r, "acme", 40000);
    pc_price p;
    assert_int_equal(pc_get(rd, "nochain", NULL, "i1", &p), PC_ENOCHAIN);
    assert_int_equal(pc_get(rd, "acme", NULL, "i40000", &p), PC_NOTFOUND);

    /* A republish of the same rows keeps the table: no segment written. */
    make_snap(&s, "acme", 40000, 100);
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_KEPT);
    assert_int_equal(ps.tab_segs, 0);

    /* A few changes: patched, only their segments get a new generation. */
    make_snap(&s, "acme", 40000, 100);
    s.recs[5].val.cents = 77777;                      /* a base price */
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_UPDATED);
    assert_int_equal(ps.tab_segs, 1);
    raw_table(&r, "acme", &hdr, &segs, &h, g1, 64);
    int moved = 0;
    for (size_t i = 0; i < segs; i++)
        moved += g1[i] != g0[i];
    assert_int_equal(moved, 1);
    check_all(rd, &r, "acme", 40000);
    /* Rows gone and rows new, through a reload. */
    make_snap(&s, "acme", 39990, 100);
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_UPDATED);
    check_all(rd, &r, "acme", 40000);
    raw_table(&r, "acme", &hdr, &segs, &h, g1, 64);
    assert_int_equal(h.entries, 39990 + 5713 + 3636);
    /* More changes than the log holds, in a fraction of the segments:
     * built anew, compared with the old segments, and those the changes
     * left alone keep their pages and generation. */
    make_snap(&s, "acme", 39990, 100);
    uint64_t nchanged = 0;
    for (size_t i = 0; i < s.n; i += 400, nchanged++)
        s.recs[i].val.cents += 1;
    raw_table(&r, "acme", &hdr, &segs, &h, g0, 64);
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_BUILT);
    assert_int_equal(ps.put, nchanged);
    assert_in_range(ps.tab_segs, 1, segs - 1);
    raw_table(&r, "acme", &hdr, &segs, &h, g1, 64);
    moved = 0;
    for (size_t i = 0; i < segs && i < 64; i++)
        moved += g1[i] != g0[i];
    assert_in_range(moved, 1, (segs < 64 ? segs : 64) - 1);
    check_all(rd, &r, "acme", 40000);
    assert_int_equal(check_canonical(&r, "acme"), segs);
    /* Every price changed: built anew (the same numbering: similar size),
     * every segment written (that the old ones are not read first, past 4
     * changes a segment, changes a cost, not an answer: not asserted). */
    make_snap(&s, "acme", 40000, 5);
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_BUILT);
    assert_int_equal(ps.tab_segs, segs);
    check_all(rd, &r, "acme", 40000);
    /* Ten times the rows: renumbered, with the old segments gone or
     * rewritten; a tenth again: the extra segments are deleted. */
    make_snap(&s, "acme", 400000, 9);
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_BUILT);
    raw_table(&r, "acme", &hdr, &segs, &h, g1, 64);
    assert_int_equal(segs, (size_t)1 << h.segbits);
    assert_true(h.segbits >= 9);
    check_all(rd, &r, "acme", 3000);
    make_snap(&s, "acme", 3000, 1);
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_BUILT);
    raw_table(&r, "acme", &hdr, &segs, &h, g1, 64);
    assert_int_equal(segs, (size_t)1 << h.segbits);
    assert_true(h.segbits <= 3);
    check_all(rd, &r, "acme", 3000);
    /* An empty chain has an empty table. */
    pcd_snapshot_init(&s, "empty");
    assert_int_equal(pcd_snapshot_finish(&s), PC_OK);
    published(f->st, &s, &ps);
    assert_int_equal(pc_get(rd, "empty", "s1", "i1", &p), PC_NOTFOUND);

    /* A damaged table: a reader refuses it (PC_EFORMAT, no wild read);
     * the daemon's next change finds it and builds it anew, in the
     * transaction. */
    {
        MDB_txn *wt;
        assert_int_equal(mdb_txn_begin(f->st->env, NULL, 0, &wt), 0);
        uint8_t zero[4096] = { 0 };
        for (uint32_t seg = 0; seg < segs; seg++) {
            uint8_t kb[PC_KEY_MAX];
            MDB_val k = { pc_key_tab_seg(kb, "acme", 4, seg), kb }, v = { sizeof zero, zero };
            assert_int_equal(mdb_put(wt, f->st->dbi, &k, &v, 0), 0);
        }
        assert_int_equal(mdb_txn_commit(wt), 0);
    }
    /* (A reader that kept the old addresses is not asked: only the daemon
     * writes, and its every rewrite changes the generation.) */
    pc_reader *rd2;
    assert_int_equal(pc_open(f->dir, &rd2), PC_OK);
    int bad = 0;
    for (int k = 0; k < 3000; k += 97) {
        char id[16];
        snprintf(id, sizeof id, "i%d", k);
        int rc = pc_get(rd2, "acme", "s1", id, &p);
        assert_true(rc == PC_EFORMAT || rc == PC_OK);
        bad += rc == PC_EFORMAT;
    }
    assert_true(bad > 0);
    /* The cause is named (pc_errdetail), not only the code: every
     * segment is damaged, so this lookup meets one. */
    assert_int_equal(pc_get(rd2, "acme", NULL, "i1", &p), PC_EFORMAT);
    assert_non_null(strstr(pc_errdetail(PC_EFORMAT), "lookup table of chain acme"));
    make_snap(&s, "acme", 3000, 1);
    s.recs[0].val.cents = 31337;
    assert_int_equal(published(f->st, &s, &ps), PCD_TAB_BUILT);
    check_all(rd, &r, "acme", 3000);
    check_all(rd2, &r, "acme", 3000);
    pc_close(rd2);

    /* Removing the chain removes its table. */
    char err[256];
    assert_int_equal(pcd_store_remove_chain(f->st, "acme", err, sizeof err), PC_OK);
    raw_table(&r, "acme", &hdr, &segs, &h, g1, 64);
    assert_false(hdr);
    assert_int_equal(segs, 0);
    assert_int_equal(pc_get(rd, "acme", NULL, "i1", &p), PC_ENOCHAIN);
    pc_close(rd);
}

/* Apply a delta: `keys` changed in the source, `found` holds what they
 * are now (absent: deleted). */
static int delta(pcd_store *st, const char *chain, pcd_snapshot *found, pcd_delta *d,
                 pcd_publish_stats *ps)
{
    assert_int_equal(pcd_snapshot_finish(found), PC_OK);
    pc_meta_rec m;
    assert_int_equal(pcd_store_get_meta(st, chain, &m), PC_OK);
    char err[256];
    int rc = pcd_store_apply_delta(st, chain, found, d->keys, d->n, &m, ps, err, sizeof err);
    pcd_snapshot_free(found);
    pcd_delta_free(d);
    return rc;
}

static void test_deltas_patch_and_readers_follow(void **state)
{
    fixture *f = *state;
    pcd_snapshot s;
    pcd_publish_stats ps;
    make_snap(&s, "acme", 20000, 100);
    published(f->st, &s, &ps);
    raw r;
    raw_open(&r, f->st);
    pc_reader *rd;
    assert_int_equal(pc_open(f->dir, &rd), PC_OK);
    check_all(rd, &r, "acme", 20000); /* every segment's address is kept now */

    /* A changed base price, a new item, a deleted item, an exception
     * added and one removed, a key that did not change. */
    pcd_snapshot fd;
    pcd_delta d;
    pcd_snapshot_init(&fd, "acme");
    pcd_delta_init(&d);
    pcd_delta_add(&d, NULL, "i3", 100);
    pcd_snapshot_add(&fd, NULL, 0, "i3", 2, 424242, 1800000000);
    pcd_delta_add(&d, NULL, "new-item", 100);
    pcd_snapshot_add(&fd, NULL, 0, "new-item", 8, 5, 1800000001);
    pcd_delta_add(&d, NULL, "i4", 100);
    pcd_delta_add(&d, "s3", "i5", 100);
    pcd_snapshot_add(&fd, "s3", 2, "i5", 2, 55, 1800000002);
    pcd_delta_add(&d, "s1", "i7", 100);
    pcd_delta_add(&d, NULL, "i8", 100);
    pcd_snapshot_add(&fd, NULL, 0, "i8", 2, 108, 1700000000);
    assert_int_equal(delta(f->st, "acme", &fd, &d, &ps), PC_OK);
    assert_int_equal(ps.put, 3);
    assert_int_equal(ps.deleted, 2);
    assert_int_equal(ps.tab_how, PCD_TAB_UPDATED);
    assert_in_range(ps.tab_segs, 1, 5);
    pc_price p;
    assert_int_equal(pc_get(rd, "acme", NULL, "i3", &p), PC_OK);
    assert_int_equal(p.cents, 424242);
    assert_int_equal(pc_get(rd, "acme", "s9", "new-item", &p), PC_OK);
    assert_int_equal(p.cents, 5);
    assert_int_equal(pc_get(rd, "acme", NULL, "i4", &p), PC_NOTFOUND);
    assert_int_equal(pc_get(rd, "acme", "s3", "i5", &p), PC_OK);
    assert_int_equal(p.cents, 55);
    assert_int_equal(p.flags, PC_PRICE_STORE);
    assert_int_equal(pc_get(rd, "acme", "s1", "i7", &p), PC_OK);
    assert_int_equal(p.cents, 107);
    assert_int_equal(p.flags, 0);
    check_all(rd, &r, "acme", 20000);
    int hdr;
    size_t segs;
    pc_tab_hdr h;
    uint64_t g[32];
    raw_table(&r, "acme", &hdr, &segs, &h, g, 32);
    assert_int_equal(h.entries, 20000 + 2858 + 1819 + 1 - 1 + 1 - 1);

    /* Many deltas in a row, each read between: the reader never answers
     * from a segment the header no longer names. */
    for (int round = 0; round < 200; round++) {
        char id[32];
        int k = (round * 7919) % 20000;
        snprintf(id, sizeof id, "i%d", k);
        pcd_snapshot_init(&fd, "acme");
        pcd_delta_init(&d);
        pcd_delta_add(&d, round % 2 ? "s1" : NULL, id, 100);
        pcd_snapshot_add(&fd, round % 2 ? "s1" : NULL, round % 2 ? 2 : 0, id, strlen(id),
                         1000000 + round, 1800000000);
        assert_int_equal(delta(f->st, "acme", &fd, &d, &ps), PC_OK);
        assert_int_equal(pc_get(rd, "acme", round % 2 ? "s1" : NULL, id, &p), PC_OK);
        assert_int_equal(p.cents, 1000000 + round);
    }
    check_all(rd, &r, "acme", 20000);
    /* The segments the deltas patched are encoded as a build encodes. */
    assert_true(check_canonical(&r, "acme") > 0);
    pc_close(rd);
}

/* A delta on a chain without a table (a converted format 1 cache) leaves
 * it without one; the next load builds it. */
static void test_format1_converted(void **state)
{
    fixture *f = *state;
    pcd_snapshot s;
    pcd_publish_stats ps;
    make_snap(&s, "acme", 5000, 100);
    published(f->st, &s, &ps);
    pcd_store_close(f->st);
    f->st = NULL;
    /* What the previous release wrote: the same records without tables,
     * format 1. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxreaders(env, 4096), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    assert_int_equal(pcd_tab_remove(txn, dbi, "acme", 4), 0);
    pc_fmt_rec fr;
    pc_fmt_init(&fr);
    fr.version = 1;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_fmt(kb), kb }, v = { sizeof fr, &fr };
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    pc_reader *rd;
    assert_int_equal(pc_open(f->dir, &rd), PC_OK);
    check_known(rd, "acme", 5000, 100);   /* the B-tree answers */
    pc_price p;
    assert_int_equal(pc_get(rd, "nochain", NULL, "i1", &p), PC_ENOCHAIN);

    char err[256];
    assert_int_equal(pcd_store_open(&f->cfg, &f->st, err, sizeof err), PC_OK);
    raw r;
    raw_open(&r, f->st);
    int hdr;
    size_t segs;
    pc_tab_hdr h;
    uint64_t g[8];
    raw_table(&r, "acme", &hdr, &segs, &h, g, 8);
    assert_false(hdr);
    /* The format record says 2 now. */
    assert_int_equal(mdb_txn_begin(r.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, r.dbi, &k, &v), 0);
    uint32_t ver = 0;
    assert_int_equal(pc_fmt_check(v.mv_data, v.mv_size, &ver), PC_OK);
    assert_int_equal(ver, PC_FORMAT_VERSION);
    mdb_txn_abort(txn);

    pcd_snapshot fd;
    pcd_delta d;
    pcd_snapshot_init(&fd, "acme");
    pcd_delta_init(&d);
    pcd_delta_add(&d, NULL, "i3", 100);
    pcd_snapshot_add(&fd, NULL, 0, "i3", 2, 333, 1800000000);
    assert_int_equal(delta(f->st, "acme", &fd, &d, &ps), PC_OK);
    assert_int_equal(ps.tab_how, PCD_TAB_NONE);
    raw_table(&r, "acme", &hdr, &segs, &h, g, 8);
    assert_false(hdr);
    assert_int_equal(pc_get(rd, "acme", NULL, "i3", &p), PC_OK);
    assert_int_equal(p.cents, 333);
    /* The next load writes no price (the rows are as cached) but builds
     * the table. */
    make_snap(&s, "acme", 5000, 100);
    size_t i3 = 0;
    while (i3 < s.n && !(s.recs[i3].klen == 8 && memcmp(s.recs[i3].key, "acme\0Bi3", 8) == 0))
        i3++;
    assert_true(i3 < s.n);
    s.recs[i3].val = (pc_price_rec){ 333, 1800000000 };
    published(f->st, &s, &ps);
    assert_int_equal(ps.put + ps.deleted, 0);
    assert_int_equal(ps.tab_how, PCD_TAB_BUILT);
    raw_table(&r, "acme", &hdr, &segs, &h, g, 8);
    assert_true(hdr);
    check_all(rd, &r, "acme", 5000);
    pc_close(rd);
}

/* The daemon grows the map while a reader keeps segment addresses: the
 * reader remaps and finds them again. */
static void test_map_growth_forgets_addresses(void **state)
{
    fixture *f = *state;
    /* A new environment whose map starts at 1 MB, so that the reader maps
     * 1 MB and must adopt the grown map. */
    pcd_store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.mdb", f->dir);
    assert_int_equal(system(cmd), 0);
    f->cfg.map_size_mb = 1;
    f->cfg.map_max_mb = 256;
    char err[256];
    assert_int_equal(pcd_store_open(&f->cfg, &f->st, err, sizeof err), PC_OK);
    pcd_snapshot s;
    pcd_publish_stats ps;
    make_snap(&s, "small", 3000, 100);
    published(f->st, &s, &ps);
    raw r;
    raw_open(&r, f->st);
    pc_reader *rd;
    assert_int_equal(pc_open(f->dir, &rd), PC_OK);
    check_all(rd, &r, "small", 3000);
    uint64_t used0, size0, used1, size1;
    assert_int_equal(pcd_store_usage(f->st, &used0, &size0, NULL), PC_OK);
    make_snap(&s, "big", 150000, 1);
    published(f->st, &s, &ps);
    assert_int_equal(pcd_store_usage(f->st, &used1, &size1, NULL), PC_OK);
    assert_true(size1 > size0);
    raw_open(&r, f->st);
    check_all(rd, &r, "small", 3000);
    check_all(rd, &r, "big", 2000);
    pc_close(rd);
}

int main(void)
{
    pcd_log_level = PCD_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_encode_probe),
        cmocka_unit_test_setup_teardown(test_tables_written_and_read, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_deltas_patch_and_readers_follow, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_format1_converted, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_map_growth_forgets_addresses, store_setup,
                                        store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
