/* reader.c - libpricecache's read path: look prices up lock-free in this thread's read transaction (environments and slots: env.c). */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "errdetail.h"
#include "fork.h"
#include "pc_format.h"
#include "pricecache.h"
#include "reader_private.h"
#include "reader_int.h"
#include "stats.h"

#ifndef PC_VERSION
#error "PC_VERSION must be defined by the build (see the Makefile)"
#endif

/* ---- lookups --------------------------------------------------------- */

static inline int id_ok(const char *s, size_t *len)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, PC_ID_MAX + 1);
    *len = n;
    return n > 0 && n <= PC_ID_MAX;
}

static inline int chain_ok(const char *chain, size_t *len)
{
    if (!chain)
        return 0;
    *len = strnlen(chain, PC_CHAIN_MAX + 1);
    return pc_slug_valid(chain, *len);
}

/* NULL and "" both mean "base price only". */
static inline int store_ok(const char *store, size_t *len)
{
    *len = 0;
    return !store || !*store || id_ok(store, len);
}

/* A lookup missed: is the chain cached at all?  Same transaction, so the
 * answer belongs to the same version as the miss. */
static int chain_code(const pc_reader *r, MDB_txn *txn, const char *chain, size_t clen,
                      int found_code)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_meta(kb, chain, clen), kb }, v;
    int rc = mdb_get(txn, r->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return PC_ENOCHAIN;
    return rc == MDB_SUCCESS ? found_code : pc_err_from_mdb(rc);
}

static inline int read_price(const MDB_val *v, pc_price *out, uint32_t flags)
{
    pc_price_rec rec;
    if (UNLIKELY(v->mv_size != sizeof rec))
        return PC_EFORMAT;
    memcpy(&rec, v->mv_data, sizeof rec);
    out->cents = rec.cents;
    out->updated_at = rec.updated_at;
    out->flags = flags;
    return PC_OK;
}

/* Keys of one (chain, store) with the item left off, built once per call so
 * that pc_get_many only appends each item; and the chain's table, when it
 * has one, with the store's hash. */
typedef struct keys {
    uint8_t skey[PC_KEY_MAX], bkey[PC_KEY_MAX];
    size_t  sprefix, bprefix; /* sprefix 0: base only */
    const char *store;
    size_t  slen;
    uint64_t sh;              /* pc_tab_hash of the store */
    tab_cache *tc;            /* NULL: the B-tree answers */
    tslot  *s;
} keys;

/* Called with the transaction open.  PC_OK, or the error of a damaged
 * table header. */
static inline int keys_init(keys *k, const pc_reader *r, tslot *s, const char *chain,
                            size_t clen, const char *store, size_t slen)
{
    k->store = store;
    k->slen = slen;
    k->s = s;
    int rc = PC_OK;
    k->tc = r->tables ? pc_tab_find(r, s, chain, clen, &rc) : NULL;
    if (k->tc) {
        if (slen)
            k->sh = pc_tab_hash(store, slen);
        return PC_OK;
    }
    k->sprefix = slen ? pc_key_store(k->skey, chain, clen, store, slen, "", 0) : 0;
    k->bprefix = pc_key_base(k->bkey, chain, clen, "", 0);
    return rc;
}

static inline int read_ent(const uint8_t *e, pc_price *out, uint32_t flags)
{
    memcpy(&out->cents, e, 8);
    memcpy(&out->updated_at, e + 8, 8);
    out->flags = flags;
    return PC_OK;
}

/* One item in the chain's table: its segment, the store's exception, then
 * the base price (exception_only: not the base). */
static inline int lookup_tab(const pc_reader *r, keys *ks, const char *item, size_t ilen,
                             int exception_only, pc_price *out)
{
    uint64_t ih = pc_tab_hash(item, ilen);
    const pc_tab_segv *sv;
    int rc = pc_tab_segment(r, ks->s, ks->tc, pc_tab_seg_of(ih, ks->tc->segbits), &sv);
    if (UNLIKELY(rc != PC_OK))
        return rc;
    const uint8_t *e;
    if (ks->slen) {
        e = pc_tab_probe(sv, pc_tab_mix(ih, ks->sh), PC_KEY_STORE, ks->store, ks->slen,
                         item, ilen);
        if (e)
            return read_ent(e, out, PC_PRICE_STORE);
    }
    if (exception_only)
        return PC_NOTFOUND;
    e = pc_tab_probe(sv, ih, PC_KEY_BASE, NULL, 0, item, ilen);
    return e ? read_ent(e, out, 0) : PC_NOTFOUND;
}

/* One item inside an open transaction: the store's exception, then base. */
static inline int lookup(const pc_reader *r, MDB_txn *txn, keys *ks,
                         const char *item, size_t ilen, pc_price *out)
{
    if (ks->tc)
        return lookup_tab(r, ks, item, ilen, 0, out);
    MDB_val k, v;
    int rc;
    if (ks->sprefix) {
        memcpy(ks->skey + ks->sprefix, item, ilen);
        k.mv_size = ks->sprefix + ilen;
        k.mv_data = ks->skey;
        rc = mdb_get(txn, r->dbi, &k, &v);
        if (rc == MDB_SUCCESS)
            return read_price(&v, out, PC_PRICE_STORE);
        if (rc != MDB_NOTFOUND)
            return pc_err_from_mdb(rc);
    }
    memcpy(ks->bkey + ks->bprefix, item, ilen);
    k.mv_size = ks->bprefix + ilen;
    k.mv_data = ks->bkey;
    rc = mdb_get(txn, r->dbi, &k, &v);
    if (rc == MDB_SUCCESS)
        return read_price(&v, out, 0);
    return rc == MDB_NOTFOUND ? PC_NOTFOUND : pc_err_from_mdb(rc);
}

int pc_get(pc_reader *r, const char *chain, const char *store, const char *item, pc_price *out)
{
    size_t clen, slen, ilen;
    if (READER_BAD(r))
        return pc_api_return(PC_EINVAL);
    if (!out || !chain_ok(chain, &clen) || !id_ok(item, &ilen) || !store_ok(store, &slen)) {
        count_refused(r, 1);
        return pc_api_return(PC_EINVAL);
    }
    tslot *s = NULL;
    uint64_t t0;
    int rc = begin_read_t(r, &s, &t0);
    if (UNLIKELY(rc != PC_OK)) {
        if (s)
            pc_stats_count(&s->st, rc, 0);
        return pc_api_return(rc);
    }
    keys ks;
    pc_price p;
    rc = keys_init(&ks, r, s, chain, clen, store, slen);
    if (rc == PC_OK)
        rc = lookup(r, s->txn, &ks, item, ilen, &p);
    /* A table is there only for a cached chain; without one, a miss asks. */
    if (rc == PC_NOTFOUND && !ks.tc)
        rc = chain_code(r, s->txn, chain, clen, PC_NOTFOUND);
    pc_stats_count(&s->st, rc, t0);
    end_read(s);
    /* The detail (errdetail.h) is settled on the failing exits only. */
    if (LIKELY(rc == PC_OK)) {
        *out = p;
        return PC_OK;
    }
    return pc_api_return(rc);
}

int pc_get_many(pc_reader *r, const char *chain, const char *store, size_t n,
                const char *const items[], pc_price out[], int status[])
{
    size_t clen, slen;
    if (n > 0 && (!items || !out || !status))
        return pc_api_return(PC_EINVAL);
    int rc = PC_OK;
    if (READER_BAD(r) || !chain_ok(chain, &clen) || !store_ok(store, &slen))
        rc = PC_EINVAL;
    tslot *s = NULL;
    uint64_t t0 = 0;
    keys ks;
    int krc = PC_OK;
    if (rc == PC_OK && n > 0)
        rc = begin_read_t(r, &s, &t0);
    if (rc == PC_OK && n > 0) {
        /* One transaction for all: every answer comes from one version.
         * A chain with a table is cached; without one, its record says. */
        krc = keys_init(&ks, r, s, chain, clen, store, slen);
        if (!ks.tc && (rc = chain_code(r, s->txn, chain, clen, PC_OK)) != PC_OK)
            end_read(s);
    }
    if (rc != PC_OK) {
        for (size_t i = 0; i < n; i++)
            status[i] = rc;
        if (s)
            pc_stats_add(&s->st, 0, 0, n, 0, 0);
        else if (!READER_BAD(r))
            count_refused(r, n);
        return pc_api_return(rc);
    }
    if (n == 0)
        return PC_OK;
    uint64_t hits = 0, misses = 0;
    for (size_t i = 0; i < n; i++) {
        size_t ilen;
        status[i] = !id_ok(items[i], &ilen) ? PC_EINVAL
                    : krc != PC_OK          ? krc
                                            : lookup(r, s->txn, &ks, items[i], ilen, &out[i]);
        hits += status[i] == PC_OK;
        misses += status[i] == PC_NOTFOUND;
    }
    pc_stats_add(&s->st, hits, misses, n - hits - misses, t0, n);
    end_read(s);
    /* An item that failed (a damaged table, a bad id) is a failure of
     * this call, whose detail pc_errdetail(status[i]) gives. */
    if (UNLIKELY(hits + misses != n))
        pc_detail_settle();
    return PC_OK;
}

/* ---- for the library's other files (reader_private.h) ----------------- */

int pc_chain_arg(const char *chain, size_t *len)
{
    return chain_ok(chain, len);
}

int pc_rtxn_begin(pc_reader *r, pc_rtxn *t)
{
    if (READER_BAD(r))
        return PC_EINVAL;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc != PC_OK)
        return rc;
    t->txn = s->txn;
    t->dbi = r->dbi;
    t->env = r->env;
    t->slot = s;
    return PC_OK;
}

void pc_rtxn_end(pc_rtxn *t)
{
    end_read(t->slot);
    t->txn = NULL;
    t->slot = NULL;
}

/* ---- one transaction for a caller's many lookups ---------------------- */

/* Behind pc_txn_view.impl: what view_lookup needs of the open transaction. */
typedef struct txn_impl {
    const pc_reader *r;
    MDB_txn         *txn;
    tslot           *s;
    const char      *chain;
    size_t           clen;
} txn_impl;

static int view_lookup(const pc_txn_view *v, const char *store, const char *item,
                       unsigned flags, pc_price *out)
{
    const txn_impl *t = v->impl;
    size_t slen, ilen;
    if (!out || !id_ok(item, &ilen) || !store_ok(store, &slen))
        return PC_EINVAL;
    if (!(flags & PC_TXN_EXCEPTION_ONLY) || slen) {
        keys ks;
        int rc = keys_init(&ks, t->r, t->s, t->chain, t->clen, store, slen);
        if (rc != PC_OK)
            return rc;
        if (ks.tc)
            return lookup_tab(t->r, &ks, item, ilen, flags & PC_TXN_EXCEPTION_ONLY, out);
        if (!(flags & PC_TXN_EXCEPTION_ONLY))
            return lookup(t->r, t->txn, &ks, item, ilen, out);
    }
    if (slen == 0)
        return PC_NOTFOUND;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_store(kb, t->chain, t->clen, store, slen, item, ilen), kb }, val;
    int rc = mdb_get(t->txn, t->r->dbi, &k, &val);
    if (rc == MDB_SUCCESS)
        return read_price(&val, out, PC_PRICE_STORE);
    return rc == MDB_NOTFOUND ? PC_NOTFOUND : pc_err_from_mdb(rc);
}

int pc_reader_with_txn(pc_reader *r, const char *chain,
                       int (*fn)(void *ctx, const pc_txn_view *v), void *ctx)
{
    size_t clen;
    if (READER_BAD(r) || !fn || !chain_ok(chain, &clen))
        return PC_EINVAL;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc != PC_OK)
        return rc;
    txn_impl t = { r, s->txn, s, chain, clen };
    pc_txn_view view = { .lookup = view_lookup, .impl = &t };
    pc_rtxn rt = { s->txn, r->dbi, r->env, s };
    rc = pc_rtxn_meta(&rt, chain, clen, &view.meta);
    if (rc == PC_OK)
        rc = fn(ctx, &view);
    end_read(s);
    return rc;
}

const char *pc_version(void)
{
    return PC_VERSION;
}
