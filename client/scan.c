/* scan.c - reading many records: prefix scans in one transaction (inside the library, tests), and pc_scan, the dump in batches that ends its transaction between them. */
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "errdetail.h"
#include "pc_format.h"
#include "pricecache.h"
#include "reader_private.h"

int pc_rtxn_scan(const pc_rtxn *t, const void *prefix, size_t plen, pc_raw_scan_cb cb,
                 void *ctx)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->dbi, &cur);
    if (rc != MDB_SUCCESS)
        return pc_err_from_mdb(rc);
    int ret = PC_OK;
    MDB_val k = { plen, (void *)prefix }, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
        if ((ret = cb(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size)) != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (ret == PC_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        ret = pc_err_from_mdb(rc);
    mdb_cursor_close(cur);
    return ret;
}

typedef struct price_scan {
    int (*cb)(void *ctx, const pc_key_view *k, const pc_price_rec *v);
    void *ctx;
} price_scan;

static int price_scan_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    price_scan *ps = ctx;
    pc_key_view kv;
    pc_price_rec pr;
    if (pc_key_parse(key, klen, &kv) != PC_OK || vlen != sizeof pr)
        return PC_EFORMAT;
    memcpy(&pr, val, sizeof pr);
    return ps->cb(ps->ctx, &kv, &pr);
}

int pc_reader_scan(pc_reader *r, const char *chain,
                   int (*cb)(void *ctx, const pc_key_view *k, const pc_price_rec *v), void *ctx)
{
    size_t clen;
    if (!r || !cb || !pc_chain_arg(chain, &clen))
        return PC_EINVAL;
    pc_rtxn s;
    int rc = pc_rtxn_begin(r, &s);
    if (rc != PC_OK)
        return rc;
    pc_meta_rec m;
    int ret = pc_rtxn_meta(&s, chain, clen, &m);
    if (ret == PC_OK) {
        /* "chain\0" prefixes base keys ("chain\0B...") before store keys
         * ("chain\0S..."), and no other chain: slugs hold no NUL. */
        uint8_t kb[PC_KEY_MAX];
        size_t plen = pc_key_chain_prefix(kb, chain, clen);
        price_scan ps = { cb, ctx };
        ret = pc_rtxn_scan(&s, kb, plen, price_scan_one, &ps);
    }
    pc_rtxn_end(&s);
    return ret;
}

int pc_reader_prefix_scan(pc_reader *r, const void *prefix, size_t plen,
                          pc_raw_scan_cb cb, void *ctx)
{
    if (!r || !prefix || plen == 0 || !cb)
        return PC_EINVAL;
    pc_rtxn s;
    int rc = pc_rtxn_begin(r, &s);
    if (rc != PC_OK)
        return rc;
    int ret = pc_rtxn_scan(&s, prefix, plen, cb, ctx);
    pc_rtxn_end(&s);
    return ret;
}


/* ---- pc_scan: batches, one transaction each ---------------------------- */

struct pc_scan {
    pc_reader   *r;
    char         chain[PC_CHAIN_MAX + 1];
    size_t       clen;
    size_t       batch;
    uint8_t      last[PC_KEY_MAX]; /* the last key handed out */
    size_t       last_len;         /* 0: nothing handed out yet */
    int          done;
    pc_scan_row *rows;             /* batch rows */
    const pc_scan_row **ptrs;      /* what the caller indexes */
    char        *text;             /* the batch's ids, NUL-terminated */
    size_t       text_cap;
};

/* The ids of one batch: each row needs store + item + 2 NULs, at most
 * 2 * PC_ID_MAX + 2 bytes; the buffer grows to what the batch needs. */
static int text_reserve(pc_scan *s, size_t need)
{
    if (need <= s->text_cap)
        return PC_OK;
    size_t cap = s->text_cap ? s->text_cap : 4096;
    while (cap < need)
        cap *= 2;
    char *t = realloc(s->text, cap);
    if (!t)
        return PC_ENOMEM;
    s->text = t;
    s->text_cap = cap;
    return PC_OK;
}

static int scan_open(pc_reader *r, const char *chain, size_t batch, pc_scan **out)
{
    size_t clen;
    if (!out)
        return PC_EINVAL;
    *out = NULL;
    if (!r || !pc_chain_arg(chain, &clen) || batch > PC_SCAN_BATCH_MAX)
        return PC_EINVAL;
    pc_rtxn t;
    int rc = pc_rtxn_begin(r, &t);
    if (rc != PC_OK)
        return rc;
    pc_meta_rec m;
    rc = pc_rtxn_meta(&t, chain, clen, &m);
    pc_rtxn_end(&t);
    if (rc != PC_OK)
        return rc;
    pc_scan *s = calloc(1, sizeof *s);
    if (!s)
        return PC_ENOMEM;
    s->r = r;
    memcpy(s->chain, chain, clen);
    s->clen = clen;
    s->batch = batch ? batch : PC_SCAN_BATCH_DEFAULT;
    s->rows = malloc(s->batch * sizeof *s->rows);
    s->ptrs = malloc(s->batch * sizeof *s->ptrs);
    if (!s->rows || !s->ptrs) {
        pc_scan_close(s);
        return PC_ENOMEM;
    }
    *out = s;
    return PC_OK;
}

int pc_scan_open(pc_reader *r, const char *chain, size_t batch, pc_scan **out)
{
    return pc_api_return(scan_open(r, chain, batch, out));
}

/* Copy one data key and its price into row i of the batch; *used is the
 * text taken so far. */
static int take_row(pc_scan *s, size_t i, const MDB_val *k, const MDB_val *v, size_t *used)
{
    pc_key_view kv;
    pc_price_rec pr;
    if (pc_key_parse(k->mv_data, k->mv_size, &kv) != PC_OK || v->mv_size != sizeof pr)
        return PC_EFORMAT;
    memcpy(&pr, v->mv_data, sizeof pr);
    size_t need = *used + kv.slen + kv.ilen + 2;
    int rc = text_reserve(s, need);
    if (rc != PC_OK)
        return rc;
    /* Offsets now, pointers once the batch is whole: the buffer may move. */
    char *p = s->text + *used;
    memcpy(p, kv.store, kv.slen);
    p[kv.slen] = 0;
    memcpy(p + kv.slen + 1, kv.item, kv.ilen);
    p[kv.slen + 1 + kv.ilen] = 0;
    pc_scan_row *row = &s->rows[i];
    row->store = (const char *)(uintptr_t)*used;
    row->item = (const char *)(uintptr_t)(*used + kv.slen + 1);
    row->price.cents = pr.cents;
    row->price.updated_at = pr.updated_at;
    row->price.flags = kv.kind == PC_KEY_STORE ? PC_PRICE_STORE : 0;
    *used = need;
    return PC_OK;
}

static int scan_next(pc_scan *s, const pc_scan_row *const **rows, size_t *n, uint64_t *version)
{
    if (!s || !rows || !n)
        return PC_EINVAL;
    *rows = s->ptrs;
    *n = 0;
    if (s->done)
        return PC_OK;
    pc_rtxn t;
    int rc = pc_rtxn_begin(s->r, &t);
    if (rc != PC_OK)
        return rc;
    /* Where this batch starts, to go back to if it fails midway. */
    uint8_t start[PC_KEY_MAX];
    size_t start_len = s->last_len;
    memcpy(start, s->last, start_len);
    pc_meta_rec m;
    rc = pc_rtxn_meta(&t, s->chain, s->clen, &m);
    MDB_cursor *cur = NULL;
    if (rc == PC_OK && (rc = mdb_cursor_open(t.txn, t.dbi, &cur)) != MDB_SUCCESS)
        rc = pc_err_from_mdb(rc);
    size_t got = 0, used = 0;
    if (rc == PC_OK) {
        /* "chain\0" prefixes base keys ("chain\0B...") before store keys
         * ("chain\0S..."), and no other chain: slugs hold no NUL. */
        uint8_t pb[PC_KEY_MAX];
        size_t plen = pc_key_chain_prefix(pb, s->chain, s->clen);
        MDB_val k, v;
        if (s->last_len) {
            /* Resume after the last key handed out; it may have gone
             * with a publish, then SET_RANGE lands on its successor. */
            k.mv_size = s->last_len;
            k.mv_data = s->last;
        } else {
            k.mv_size = plen;
            k.mv_data = pb;
        }
        int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (mrc == MDB_SUCCESS && s->last_len && k.mv_size == s->last_len &&
            memcmp(k.mv_data, s->last, s->last_len) == 0)
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        while (mrc == MDB_SUCCESS && got < s->batch && k.mv_size >= plen &&
               memcmp(k.mv_data, pb, plen) == 0) {
            if ((rc = take_row(s, got, &k, &v, &used)) != PC_OK)
                break;
            got++;
            memcpy(s->last, k.mv_data, k.mv_size <= PC_KEY_MAX ? k.mv_size : PC_KEY_MAX);
            s->last_len = k.mv_size <= PC_KEY_MAX ? k.mv_size : PC_KEY_MAX;
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (rc == PC_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
            rc = pc_err_from_mdb(mrc);
        /* The batch did not fill: nothing is left of this chain. */
        if (rc == PC_OK && got < s->batch)
            s->done = 1;
    }
    if (cur)
        mdb_cursor_close(cur);
    pc_rtxn_end(&t);
    if (rc != PC_OK) {
        /* The caller never saw this batch's rows: the next call resumes
         * after the last row of the batch before. */
        memcpy(s->last, start, start_len);
        s->last_len = start_len;
        s->done = 0;
        return rc;
    }
    for (size_t i = 0; i < got; i++) {
        pc_scan_row *row = &s->rows[i];
        row->store = s->text + (uintptr_t)row->store;
        row->item = s->text + (uintptr_t)row->item;
        s->ptrs[i] = row;
    }
    *n = got;
    if (version)
        *version = m.version;
    return PC_OK;
}

int pc_scan_next(pc_scan *s, const pc_scan_row *const **rows, size_t *n, uint64_t *version)
{
    return pc_api_return(scan_next(s, rows, n, version));
}

void pc_scan_close(pc_scan *s)
{
    if (!s)
        return;
    free(s->rows);
    free(s->ptrs);
    free(s->text);
    free(s);
}
