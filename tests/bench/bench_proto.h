/* bench_proto.h - a prototype of the layout issue 15's profile points to, bench-only: a chain's prices in item-hash buckets under 8-byte integer keys, one B-tree walk per lookup, built in a scratch LMDB environment beside today's.
 *
 * Today a lookup through a store walks the B-tree twice (the exception key,
 * then the base key), each a root-to-leaf walk over ~30-byte string keys
 * that share a prefix, with a binary search in every page: about 16 cache
 * and TLB misses on random keys.  Here an item's base price and every
 * store's exception for it live in one value, found by one walk:
 *
 *   key   = hash(item) >> shift          (MDB_INTEGERKEY, 8 bytes)
 *   value = bucket: u16 n, u16 0, u32 tag[n], rec[n], then the ids
 *   rec   = { u16 off, u8 slen, u8 ilen, u32 0, i64 cents, i64 updated_at }
 *   tag   = hash(item) for a base price, mixed with hash(store) for an
 *           exception; the ids at off (store then item) are compared in
 *           full on a tag match, so a collision costs a compare, never a
 *           wrong answer.
 *
 * `shift` sets the items per bucket (about 2^(log2 items - (64 - shift))).
 * A delta rewrites the buckets of the changed items only (a few hundred
 * bytes each); a no-change reload can compare buckets byte for byte.  What
 * is not prototyped: several chains in one database (the key would carry a
 * chain number from the chain's record), scans in id order (dump would sort
 * or walk a second, ordered index), the daemon's writer. */
#ifndef BENCH_PROTO_H
#define BENCH_PROTO_H

#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_hash.h"
#include "pc_format.h"

typedef struct bp_rec {
    uint16_t off;
    uint8_t  slen, ilen;
    uint32_t pad;
    int64_t  cents, updated_at;
} bp_rec;

/* The key of the chain's record in the scratch database: a miss asks it,
 * as pc_get asks the chain's record to tell not-found from no-chain. */
#define BP_CHAIN_KEY UINT64_MAX

static inline uint32_t bp_tag(uint64_t ih, const char *store, size_t slen)
{
    if (!slen)
        return (uint32_t)ih;
    uint64_t sh = bh_hash(store, slen);
    return (uint32_t)((ih ^ (sh * 0x9e3779b97f4a7c15ull)) >> 17);
}

typedef struct bp_row {
    uint64_t bucket;
    const char *store, *item;
    uint8_t slen, ilen;
    int64_t cents, updated_at;
} bp_row;

typedef struct bp_db {
    MDB_env *env;
    MDB_dbi  dbi;
    unsigned shift;
    char     dir[64];
    size_t   buckets, leaf_pages, depth;
} bp_db;

static int bp_cmp_row(const void *a, const void *b)
{
    const bp_row *x = a, *y = b;
    return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

/* Write rows (sorted here) into a new scratch environment. */
static int bp_build(bp_db *db, bp_row *rows, size_t n, unsigned shift)
{
    memset(db, 0, sizeof *db);
    db->shift = shift;
    snprintf(db->dir, sizeof db->dir, "/tmp/pcproto.XXXXXX");
    if (!mkdtemp(db->dir))
        return 1;
    qsort(rows, n, sizeof *rows, bp_cmp_row);
    MDB_txn *txn;
    int rc = mdb_env_create(&db->env);
    if (!rc)
        rc = mdb_env_set_mapsize(db->env, (size_t)2 << 30);
    if (!rc)
        rc = mdb_env_open(db->env, db->dir, MDB_NOSYNC | MDB_NOTLS | MDB_NORDAHEAD, 0600);
    if (!rc)
        rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, NULL, MDB_INTEGERKEY, &db->dbi);
    static uint8_t buf[1 << 16];
    for (size_t i = 0; !rc && i < n;) {
        size_t j = i, bytes = 0;
        while (j < n && rows[j].bucket == rows[i].bucket)
            bytes += rows[j].slen + rows[j].ilen, j++;
        size_t m = j - i, hdr = 4 + 4 * m, recs = sizeof(bp_rec) * m;
        if (hdr + recs + bytes > sizeof buf || m > UINT16_MAX)
            return 1;
        uint16_t n16 = (uint16_t)m, z = 0;
        memcpy(buf, &n16, 2);
        memcpy(buf + 2, &z, 2);
        size_t off = hdr + recs;
        for (size_t k = 0; k < m; k++) {
            const bp_row *r = &rows[i + k];
            uint64_t ih = bh_hash(r->item, r->ilen);
            uint32_t tag = bp_tag(ih, r->store, r->slen);
            bp_rec rec = { (uint16_t)off, r->slen, r->ilen, 0, r->cents, r->updated_at };
            memcpy(buf + 4 + 4 * k, &tag, 4);
            memcpy(buf + hdr + sizeof rec * k, &rec, sizeof rec);
            memcpy(buf + off, r->store, r->slen);
            memcpy(buf + off + r->slen, r->item, r->ilen);
            off += r->slen + r->ilen;
        }
        uint64_t key = rows[i].bucket;
        MDB_val k = { sizeof key, &key }, v = { off, buf };
        rc = mdb_put(txn, db->dbi, &k, &v, MDB_APPEND);
        db->buckets++;
        i = j;
    }
    if (!rc) {
        uint64_t key = BP_CHAIN_KEY, one = 1;
        MDB_val k = { sizeof key, &key }, v = { sizeof one, &one };
        rc = mdb_put(txn, db->dbi, &k, &v, MDB_APPEND);
    }
    MDB_stat st;
    if (!rc && !(rc = mdb_stat(txn, db->dbi, &st))) {
        db->leaf_pages = st.ms_leaf_pages + st.ms_overflow_pages;
        db->depth = st.ms_depth;
    }
    if (!rc)
        rc = mdb_txn_commit(txn);
    if (rc)
        fprintf(stderr, "bench_get: prototype layout: %s\n", mdb_strerror(rc));
    return rc != 0;
}

/* One lookup as pc_get would do it on this layout: argument lengths, renew,
 * one get, the bucket's tags, reset; PC_OK or PC_NOTFOUND. */
static inline int bp_get(const bp_db *db, MDB_txn *txn, const char *store, const char *item,
                         int64_t *cents, uint32_t *flags)
{
    size_t ilen = strnlen(item, PC_ID_MAX + 1);
    size_t slen = store ? strnlen(store, PC_ID_MAX + 1) : 0;
    uint64_t ih = bh_hash(item, ilen);
    uint32_t btag = (uint32_t)ih, stag = slen ? bp_tag(ih, store, slen) : btag;
    uint64_t key = ih >> db->shift;
    MDB_val k = { sizeof key, &key }, v;
    int rc = PC_NOTFOUND;
    mdb_txn_renew(txn);
    if (mdb_get(txn, db->dbi, &k, &v) == 0) {
        const uint8_t *b = v.mv_data;
        uint16_t n;
        memcpy(&n, b, 2);
        const uint8_t *tags = b + 4, *recs = b + 4 + 4 * (size_t)n;
        const bp_rec *base = NULL;
        for (size_t i = 0; i < n; i++) {
            uint32_t t;
            memcpy(&t, tags + 4 * i, 4);
            if (t != stag && t != btag)
                continue;
            const bp_rec *r = (const bp_rec *)(const void *)(recs + sizeof(bp_rec) * i);
            const uint8_t *ids = b + r->off;
            if (r->ilen != ilen || memcmp(ids + r->slen, item, ilen) != 0)
                continue;
            if (r->slen == 0) {
                base = r;
            } else if (slen && t == stag && r->slen == slen && memcmp(ids, store, slen) == 0) {
                *cents = r->cents;
                *flags = PC_PRICE_STORE;
                rc = PC_OK;
                break;
            }
        }
        if (rc != PC_OK && base) {
            *cents = base->cents;
            *flags = 0;
            rc = PC_OK;
        }
    }
    if (rc != PC_OK) { /* not found, or no such chain? */
        uint64_t ck = BP_CHAIN_KEY;
        MDB_val c = { sizeof ck, &ck };
        if (mdb_get(txn, db->dbi, &c, &v) != 0)
            rc = PC_ENOCHAIN;
    }
    mdb_txn_reset(txn);
    return rc;
}

/* ---- the other prototype: today's layout plus a per-store summary ------
 *
 * Every key as today (pc_format.h), written in key order (MDB_APPEND: full
 * pages), and one more record per (chain, store): chain "\0X" store, a
 * blocked Bloom filter of the store's exception items (one 64-byte block
 * per probe, 3 bits, ~16 bits an item).  A lookup through a store asks
 * the summary first and skips the exception walk when the item is surely
 * not among the store's exceptions.  raw on this environment without the
 * summary shows what full pages alone buy. */

#define BP_SUMMARY 'X'

typedef struct bp_kv {
    uint8_t *key;
    uint16_t klen, vlen;
    uint8_t *val;
} bp_kv;

static int bp_cmp_kv(const void *a, const void *b)
{
    const bp_kv *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static inline void bp_bloom_bits(uint64_t h, size_t nblocks, size_t *block, uint64_t bits[8])
{
    memset(bits, 0, 8 * sizeof bits[0]);
    *block = (size_t)(h % nblocks);
    uint32_t g = (uint32_t)(h >> 32);
    for (int i = 0; i < 3; i++, g = g * 0x9e3779b1u + 0x7f4a7c15u) {
        unsigned bit = (g >> 23) & 511;
        bits[bit >> 6] |= 1ull << (bit & 63);
    }
}

/* Summaries: store -> filter.  rows: exceptions only, sorted by store. */
static int bp_build_today(bp_db *db, const bp_row *rows, size_t n, const char *chain, size_t clen)
{
    memset(db, 0, sizeof *db);
    snprintf(db->dir, sizeof db->dir, "/tmp/pcproto.XXXXXX");
    if (!mkdtemp(db->dir))
        return 1;
    size_t cap = n + 4096, m = 0;
    bp_kv *kv = calloc(cap, sizeof *kv);
    if (!kv)
        return 1;
    /* price records */
    for (size_t i = 0; i < n; i++) {
        const bp_row *r = &rows[i];
        uint8_t kb[PC_KEY_MAX];
        size_t kl = r->slen ? pc_key_store(kb, chain, clen, r->store, r->slen, r->item, r->ilen)
                            : pc_key_base(kb, chain, clen, r->item, r->ilen);
        pc_price_rec pr = { r->cents, r->updated_at };
        kv[m].key = malloc(kl + sizeof pr);
        memcpy(kv[m].key, kb, kl);
        kv[m].klen = (uint16_t)kl;
        kv[m].val = kv[m].key + kl;
        memcpy(kv[m].val, &pr, sizeof pr);
        kv[m].vlen = sizeof pr;
        m++;
    }
    qsort(kv, m, sizeof *kv, bp_cmp_kv);
    /* summaries, from the sorted store keys (one run per store) */
    size_t nsum = 0;
    for (size_t i = 0; i < m;) {
        pc_key_view a;
        if (pc_key_parse(kv[i].key, kv[i].klen, &a) != PC_OK || a.kind != PC_KEY_STORE) {
            i++;
            continue;
        }
        size_t j = i;
        pc_key_view b;
        while (j < m && pc_key_parse(kv[j].key, kv[j].klen, &b) == PC_OK &&
               b.kind == PC_KEY_STORE && b.slen == a.slen && memcmp(b.store, a.store, a.slen) == 0)
            j++;
        size_t cnt = j - i, nblocks = (cnt * 16 + 511) / 512;
        size_t vlen = 8 + nblocks * 64;
        if (m + nsum >= cap)
            return 1;
        bp_kv *s = &kv[m + nsum++];
        s->klen = (uint16_t)(clen + 2 + a.slen);
        s->vlen = (uint16_t)vlen;
        s->key = calloc(1, s->klen + vlen);
        memcpy(s->key, chain, clen);
        s->key[clen + 1] = BP_SUMMARY;
        memcpy(s->key + clen + 2, a.store, a.slen);
        s->val = s->key + s->klen;
        uint64_t nb = nblocks;
        memcpy(s->val, &nb, 8);
        for (size_t k = i; k < j; k++) {
            pc_key_view v;
            pc_key_parse(kv[k].key, kv[k].klen, &v);
            size_t blk;
            uint64_t bits[8], word;
            bp_bloom_bits(bh_hash(v.item, v.ilen), nblocks, &blk, bits);
            for (int w = 0; w < 8; w++) {
                memcpy(&word, s->val + 8 + blk * 64 + 8 * w, 8);
                word |= bits[w];
                memcpy(s->val + 8 + blk * 64 + 8 * w, &word, 8);
            }
        }
        i = j;
    }
    m += nsum;
    qsort(kv, m, sizeof *kv, bp_cmp_kv);
    MDB_txn *txn;
    int rc = mdb_env_create(&db->env);
    if (!rc)
        rc = mdb_env_set_mapsize(db->env, (size_t)2 << 30);
    if (!rc)
        rc = mdb_env_open(db->env, db->dir, MDB_NOSYNC | MDB_NOTLS | MDB_NORDAHEAD, 0600);
    if (!rc)
        rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, NULL, 0, &db->dbi);
    if (!rc) { /* the chain's record, sorted first ("\0C" chain) */
        uint8_t kb[PC_KEY_MAX];
        uint64_t one = 1;
        MDB_val k = { pc_key_meta(kb, chain, clen), kb }, v = { sizeof one, &one };
        rc = mdb_put(txn, db->dbi, &k, &v, MDB_APPEND);
    }
    for (size_t i = 0; !rc && i < m; i++) {
        MDB_val k = { kv[i].klen, kv[i].key }, v = { kv[i].vlen, kv[i].val };
        rc = mdb_put(txn, db->dbi, &k, &v, MDB_APPEND);
    }
    for (size_t i = 0; i < m; i++)
        free(kv[i].key);
    free(kv);
    db->buckets = nsum;
    MDB_stat st;
    if (!rc && !(rc = mdb_stat(txn, db->dbi, &st))) {
        db->leaf_pages = st.ms_leaf_pages;
        db->depth = st.ms_depth;
    }
    if (!rc)
        rc = mdb_txn_commit(txn);
    if (!rc) { /* readers search with the library's comparator */
        rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn);
        if (!rc) {
            mdb_set_compare(txn, db->dbi, pc_key_cmp);
            mdb_txn_abort(txn);
        }
    }
    if (rc)
        fprintf(stderr, "bench_get: prototype summary layout: %s\n", mdb_strerror(rc));
    return rc != 0;
}

/* A lookup on today's layout with the summary (summary=0: without it). */
static inline int bp_get_today(const bp_db *db, MDB_txn *txn, int summary, const char *chain,
                               size_t clen, const char *store, const char *item, int64_t *cents,
                               uint32_t *flags)
{
    size_t ilen = strnlen(item, PC_ID_MAX + 1);
    size_t slen = store ? strnlen(store, PC_ID_MAX + 1) : 0;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k, v;
    int rc = PC_NOTFOUND, probe = slen != 0;
    mdb_txn_renew(txn);
    if (probe && summary) {
        memcpy(kb, chain, clen);
        kb[clen] = 0;
        kb[clen + 1] = BP_SUMMARY;
        memcpy(kb + clen + 2, store, slen);
        k.mv_size = clen + 2 + slen;
        k.mv_data = kb;
        if (mdb_get(txn, db->dbi, &k, &v) != 0) {
            probe = 0; /* no exceptions at this store */
        } else {
            const uint8_t *f = v.mv_data;
            uint64_t nb, bits[8], word;
            size_t blk;
            memcpy(&nb, f, 8);
            bp_bloom_bits(bh_hash(item, ilen), nb, &blk, bits);
            for (int w = 0; w < 8 && probe; w++) {
                memcpy(&word, f + 8 + blk * 64 + 8 * w, 8);
                probe = (word & bits[w]) == bits[w];
            }
        }
    }
    if (probe) {
        k.mv_size = pc_key_store(kb, chain, clen, store, slen, item, ilen);
        k.mv_data = kb;
        if (mdb_get(txn, db->dbi, &k, &v) == 0) {
            *flags = PC_PRICE_STORE;
            rc = PC_OK;
        }
    }
    if (rc != PC_OK) {
        k.mv_size = pc_key_base(kb, chain, clen, item, ilen);
        k.mv_data = kb;
        if (mdb_get(txn, db->dbi, &k, &v) == 0) {
            *flags = 0;
            rc = PC_OK;
        }
    }
    if (rc == PC_OK) {
        pc_price_rec pr;
        memcpy(&pr, v.mv_data, sizeof pr);
        *cents = pr.cents;
    } else {
        k.mv_size = pc_key_meta(kb, chain, clen);
        k.mv_data = kb;
        if (mdb_get(txn, db->dbi, &k, &v) != 0)
            rc = PC_ENOCHAIN;
    }
    mdb_txn_reset(txn);
    return rc;
}


/* (A third prototype, the chain's hash table stored as LMDB values and
 * located once per snapshot and thread, measured 1.13x the hash table
 * and became the lookup tables of format 2: pc_table.h.) */

static void bp_destroy(bp_db *db)
{
    if (db->env)
        mdb_env_close(db->env);
    if (!db->dir[0])
        return;
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", db->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", db->dir);
    unlink(p);
    rmdir(db->dir);
}

#endif
