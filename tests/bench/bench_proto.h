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

static void bp_destroy(bp_db *db)
{
    if (db->env)
        mdb_env_close(db->env);
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", db->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", db->dir);
    unlink(p);
    rmdir(db->dir);
}

#endif
