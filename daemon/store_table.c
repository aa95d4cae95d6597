/* store_table.c - the daemon's writes of the chains' lookup tables (pc_table.h): built from a loaded snapshot, patched segment by segment by deltas, removed with the chain. */
#include "store_table.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pc_table.h"

/* ---- the log of changed keys ----------------------------------------- */

/* A logged change: u16 klen, u8 deleted, pc_price_rec, key[klen]. */
#define LOG_FIXED (3 + sizeof(pc_price_rec))

void pcd_tab_log_init(pcd_tab_log *l, size_t max)
{
    memset(l, 0, sizeof *l);
    l->max = max;
}

void pcd_tab_log_free(pcd_tab_log *l)
{
    free(l->bytes);
    memset(l, 0, sizeof *l);
}

void pcd_tab_log_add(pcd_tab_log *l, const uint8_t *suffix, size_t klen, const pc_price_rec *val)
{
    if (l->over)
        return;
    if (l->n >= l->max || klen > UINT16_MAX) {
        l->over = 1;
        return;
    }
    size_t need = LOG_FIXED + klen;
    if (l->len + need > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        while (cap < l->len + need)
            cap *= 2;
        uint8_t *b = realloc(l->bytes, cap);
        if (!b) {
            l->over = 1;
            return;
        }
        l->bytes = b;
        l->cap = cap;
    }
    uint8_t *p = l->bytes + l->len;
    uint16_t kl = (uint16_t)klen;
    pc_price_rec none = { 0, 0 };
    memcpy(p, &kl, 2);
    p[2] = val == NULL;
    memcpy(p + 3, val ? val : &none, sizeof none);
    memcpy(p + LOG_FIXED, suffix, klen);
    l->len += need;
    l->n++;
}

/* ---- helpers ----------------------------------------------------------- */

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *pcd_tab_how_name(int how)
{
    switch (how) {
    case PCD_TAB_KEPT:    return "kept";
    case PCD_TAB_UPDATED: return "updated";
    case PCD_TAB_BUILT:   return "built";
    case PCD_TAB_DROPPED: return "dropped";
    default:              return "none";
    }
}

/* LMDB's order of two keys with a common prefix. */
static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}


/* A growable buffer for one encoded segment. */
typedef struct buf {
    uint8_t *p;
    size_t   cap;
} buf;

static int buf_fit(buf *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    uint8_t *p = realloc(b->p, n);
    if (!p)
        return ENOMEM;
    b->p = p;
    b->cap = n;
    return 0;
}

/* The chain's header, copied (the value is gone once the txn writes). */
typedef struct hdr_copy {
    pc_tab_hdr h;
    uint64_t  *gens;   /* 2^h.segbits */
    int        found;  /* 0: no table; 1: a table; -1: a damaged one */
} hdr_copy;

static int hdr_read(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen, hdr_copy *out)
{
    memset(out, 0, sizeof *out);
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_hdr(kb, chain, clen), kb }, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return MDB_SUCCESS;
    if (rc)
        return rc;
    const uint8_t *gens;
    if (pc_tab_hdr_check(v.mv_data, v.mv_size, &out->h, &gens) != PC_OK) {
        out->found = -1;
        return MDB_SUCCESS;
    }
    size_t n = (size_t)1 << out->h.segbits;
    if (!(out->gens = malloc(n * sizeof *out->gens)))
        return ENOMEM;
    memcpy(out->gens, gens, n * sizeof *out->gens);
    out->found = 1;
    return MDB_SUCCESS;
}

static int hdr_write(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen,
                     const pc_tab_hdr *h, const uint64_t *gens)
{
    size_t n = (size_t)1 << h->segbits, len = sizeof *h + n * sizeof *gens;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_hdr(kb, chain, clen), kb }, v = { len, NULL };
    int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    memcpy(v.mv_data, h, sizeof *h);
    memcpy((uint8_t *)v.mv_data + sizeof *h, gens, n * sizeof *gens);
    return MDB_SUCCESS;
}

/* Put segment `seg` unless it holds these bytes already: 1 when written. */
static int seg_put(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen, uint32_t seg,
                   const uint8_t *bytes, size_t len, int compare, int *written)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_seg(kb, chain, clen, seg), kb }, v;
    *written = 0;
    if (compare) {
        int rc = mdb_get(txn, dbi, &k, &v);
        if (rc == MDB_SUCCESS && v.mv_size == len && memcmp(v.mv_data, bytes, len) == 0)
            return MDB_SUCCESS;
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    v.mv_size = len;
    v.mv_data = (void *)bytes;
    *written = 1;
    return mdb_put(txn, dbi, &k, &v, 0);
}

/* Delete the chain's segments numbered from `from` on. */
static int segs_delete_from(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen,
                            uint32_t from)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    uint8_t pb[PC_KEY_MAX], kb[PC_KEY_MAX];
    size_t plen = pc_key_tab_seg_prefix(pb, chain, clen);
    MDB_val k = { pc_key_tab_seg(kb, chain, clen, from), kb }, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && k.mv_size >= plen && memcmp(k.mv_data, pb, plen) == 0) {
        if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
            break;
        /* After a delete LMDB leaves the cursor on the following key and
         * MDB_NEXT returns it without advancing. */
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

int pcd_tab_remove(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_hdr(kb, chain, clen), kb };
    int rc = mdb_del(txn, dbi, &k, NULL);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return segs_delete_from(txn, dbi, chain, clen, 0);
}

/* ---- building from a snapshot ----------------------------------------- */

static int build(MDB_txn *txn, MDB_dbi dbi, const pcd_snapshot *snap, const hdr_copy *old,
                 uint64_t rows_changed, pcd_tab_prep *prep, uint64_t version,
                 pcd_tab_stats *ts)
{
    uint32_t bits = pc_tab_segbits_for(snap->n);
    /* Near the right size, the old numbering is kept: a reload that
     * changes little then rewrites little. */
    if (prep)
        bits = pcd_tab_prep_bits(prep);
    else if (old->found == 1 && old->h.segbits + 1 >= bits && old->h.segbits <= bits + 1)
        bits = old->h.segbits;
    size_t nseg = (size_t)1 << bits;
    /* A segment the changes left alone keeps its pages and generation
     * (readers keep their addresses): worth comparing while some are
     * left alone.  Past 4 changes a segment on average, hardly one in 50
     * is, and comparing would read the whole old table for nothing. */
    int compare = old->found == 1 && old->h.segbits == bits && rows_changed < 4 * (uint64_t)nseg;
    uint64_t *gens = malloc(nseg * sizeof *gens);
    pcd_tab_prep *now = NULL; /* encoded here: no thread did it */
    int rc = gens ? MDB_SUCCESS : ENOMEM;
    if (!rc && prep) {
        rc = pcd_tab_prep_join(prep);
    } else if (!rc) {
        rc = pcd_tab_encode_now(snap, bits, pcd_tab_min_bytes(mdb_txn_env(txn)), &now);
        prep = now;
    }
    for (uint32_t s = 0; !rc && s < nseg; s++) {
        int written;
        const uint8_t *bytes;
        size_t len;
        pcd_tab_prep_seg(prep, s, &bytes, &len);
        rc = seg_put(txn, dbi, snap->chain, snap->clen, s, bytes, len, compare, &written);
        gens[s] = written ? version : old->gens[s];
        ts->segs_written += (uint64_t)written;
        /* LMDB holds its own copy now: the daemon's peak is one copy. */
        pcd_tab_prep_release(prep, s);
    }
    if (!rc && old->found && (old->found < 0 || old->h.segbits > bits))
        rc = segs_delete_from(txn, dbi, snap->chain, snap->clen, (uint32_t)nseg);
    if (!rc) {
        pc_tab_hdr h = { sizeof h, PC_TAB_HDR_MAGIC, bits, 0, snap->n, version };
        rc = hdr_write(txn, dbi, snap->chain, snap->clen, &h, gens);
    }
    pcd_tab_prep_free(now);
    free(gens);
    return rc;
}

/* ---- patching segments ------------------------------------------------- */

typedef struct change {
    pc_tab_ent e;
    uint32_t   seg;
    int        deleted;
} change;

static int change_cmp(const void *a, const void *b)
{
    const change *x = a, *y = b;
    if (x->seg != y->seg)
        return x->seg < y->seg ? -1 : 1;
    return key_cmp(x->e.key, x->e.klen, y->e.key, y->e.klen);
}

/* Parse the log into changes sorted by segment, then key.  EINVAL for a
 * key that is no row's. */
static int changes_parse(const pcd_tab_log *l, uint32_t bits, change **out)
{
    change *c = malloc((l->n ? l->n : 1) * sizeof *c);
    if (!c)
        return ENOMEM;
    const uint8_t *p = l->bytes;
    for (size_t i = 0; i < l->n; i++) {
        uint16_t kl;
        pc_price_rec v;
        memcpy(&kl, p, 2);
        memcpy(&v, p + 3, sizeof v);
        c[i].deleted = p[2];
        c[i].e = (pc_tab_ent){ p + LOG_FIXED, kl, v.cents, v.updated_at, 0, 0 };
        if (pc_tab_ent_hash(&c[i].e) != PC_OK) {
            free(c);
            return EINVAL;
        }
        c[i].seg = pc_tab_seg_of(c[i].e.ih, bits);
        p += LOG_FIXED + kl;
    }
    qsort(c, l->n, sizeof *c, change_cmp);
    *out = c;
    return MDB_SUCCESS;
}

/* Rewrite segment `seg` with changes c[0..m): its entries merged with them
 * in key order.  *delta gets the change in its entry count.  EBADMSG when
 * the stored segment is damaged. */
static int seg_patch(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen, uint32_t seg,
                     const change *c, size_t m, size_t mb, buf *b, int64_t *delta)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_seg(kb, chain, clen, seg), kb }, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return EBADMSG;
    if (rc)
        return rc;
    pc_tab_segv sv;
    if (pc_tab_seg_check(v.mv_data, v.mv_size, &sv) != PC_OK)
        return EBADMSG;
    size_t cap = ((size_t)sv.mask + 1) * 3 / 4 + m; /* pc_tab_seg_check bounds the count */
    pc_tab_ent *ents = malloc(cap * sizeof *ents);
    if (!ents)
        return ENOMEM;
    size_t n = 0, j = 0, before = 0;
    uint32_t pos = 0;
    pc_tab_ent e;
    int r = pc_tab_seg_next(&sv, &pos, &e);
    /* Merge two key-ordered lists; a change replaces or removes its key. */
    while ((r == PC_OK || j < m) && n < cap) {
        int cmp = r != PC_OK ? 1 : j >= m ? -1 : key_cmp(e.key, e.klen, c[j].e.key, c[j].e.klen);
        if (cmp < 0) {
            ents[n++] = e;
            before++;
            r = pc_tab_seg_next(&sv, &pos, &e);
        } else {
            if (cmp == 0) {
                before++;
                r = pc_tab_seg_next(&sv, &pos, &e);
            }
            if (!c[j].deleted)
                ents[n++] = c[j].e;
            j++;
        }
    }
    if (r == PC_EFORMAT || r == PC_OK || j < m) {
        free(ents);
        return EBADMSG;
    }
    if (n > PCD_TAB_SEG_ENTRIES_MAX) {
        free(ents);
        return EOVERFLOW;
    }
    /* The entries point into the old value, which is read before the put
     * below replaces it. */
    size_t len = pc_tab_seg_size(ents, n, mb);
    rc = buf_fit(b, len);
    if (!rc) {
        pc_tab_seg_encode(b->p, ents, n, mb);
        v.mv_size = len;
        v.mv_data = b->p;
        rc = mdb_put(txn, dbi, &k, &v, 0);
    }
    free(ents);
    *delta = (int64_t)n - (int64_t)before;
    return rc;
}

/* Patch the table of `chain` with the logged changes: EBADMSG when the
 * table is damaged, EOVERFLOW when a segment would hold too much. */
static int patch(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen, hdr_copy *hc,
                 const pcd_tab_log *l, uint64_t version, pcd_tab_stats *ts)
{
    change *c;
    int rc = changes_parse(l, hc->h.segbits, &c);
    if (rc)
        return rc;
    size_t mb = pcd_tab_min_bytes(mdb_txn_env(txn));
    buf b = { NULL, 0 };
    int64_t entries = (int64_t)hc->h.entries;
    for (size_t i = 0; !rc && i < l->n;) {
        size_t j = i;
        while (j < l->n && c[j].seg == c[i].seg)
            j++;
        int64_t d = 0;
        rc = seg_patch(txn, dbi, chain, clen, c[i].seg, c + i, j - i, mb, &b, &d);
        hc->gens[c[i].seg] = version;
        entries += d;
        ts->segs_written++;
        i = j;
    }
    if (!rc && entries < 0)
        rc = EBADMSG;
    if (!rc) {
        hc->h.size = sizeof hc->h;
        hc->h.entries = (uint64_t)entries;
        hc->h.version = version;
        rc = hdr_write(txn, dbi, chain, clen, &hc->h, hc->gens);
    }
    free(c);
    free(b.p);
    return rc;
}

/* ---- the entry points ------------------------------------------------- */

/* A table of segbits serves n rows well enough to be patched, not rebuilt. */
static int fits(uint32_t segbits, uint64_t n)
{
    uint32_t ideal = pc_tab_segbits_for(n);
    return segbits + 2 >= ideal && segbits <= ideal + 2;
}

int pcd_tab_needs_build(MDB_txn *txn, MDB_dbi dbi, const pcd_snapshot *snap)
{
    /* The header checked in place: its generations are not needed here. */
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_hdr(kb, snap->chain, snap->clen), kb }, v;
    pc_tab_hdr h;
    const uint8_t *gens;
    return mdb_get(txn, dbi, &k, &v) != MDB_SUCCESS ||
           pc_tab_hdr_check(v.mv_data, v.mv_size, &h, &gens) != PC_OK ||
           !fits(h.segbits, snap->n);
}

int pcd_tab_keeps(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen, uint64_t n)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_hdr(kb, chain, clen), kb }, v;
    pc_tab_hdr h;
    const uint8_t *gens;
    return mdb_get(txn, dbi, &k, &v) == MDB_SUCCESS &&
           pc_tab_hdr_check(v.mv_data, v.mv_size, &h, &gens) == PC_OK &&
           fits(h.segbits, n) && h.entries == n;
}

int pcd_tab_publish(MDB_txn *txn, MDB_dbi dbi, const pcd_snapshot *snap,
                    const pcd_tab_log *changed, uint64_t rows_changed, uint64_t version,
                    pcd_tab_prep *prep, pcd_tab_stats *ts)
{
    memset(ts, 0, sizeof *ts);
    uint64_t t0 = now_us();
    hdr_copy hc;
    int rc = hdr_read(txn, dbi, snap->chain, snap->clen, &hc);
    if (rc)
        return rc;
    int fit = hc.found == 1 && fits(hc.h.segbits, snap->n);
    if (fit && rows_changed == 0 && hc.h.entries == snap->n) {
        ts->how = PCD_TAB_KEPT;
    } else if (fit && !changed->over) {
        ts->how = PCD_TAB_UPDATED;
        rc = patch(txn, dbi, snap->chain, snap->clen, &hc, changed, version, ts);
    } else {
        rc = EBADMSG;
    }
    if (rc == EBADMSG) {
        /* No table, one far from the chain's size, many changes, or a
         * damaged one: build it from the snapshot. */
        if (ts->how == PCD_TAB_UPDATED)
            LOG_WARN("cache", "chain %s: lookup table damaged; building it anew", snap->chain);
        ts->how = PCD_TAB_BUILT;
        ts->segs_written = 0;
        rc = build(txn, dbi, snap, &hc, rows_changed, prep, version, ts);
    }
    if (rc == EOVERFLOW) {
        LOG_WARN("cache", "chain %s: an item has too many store prices for a lookup table; "
                 "lookups walk the B-tree", snap->chain);
        ts->how = PCD_TAB_DROPPED;
        rc = pcd_tab_remove(txn, dbi, snap->chain, snap->clen);
    }
    free(hc.gens);
    ts->us = now_us() - t0;
    return rc;
}

int pcd_tab_delta(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen,
                  const pcd_tab_log *changed, uint64_t version, pcd_tab_stats *ts)
{
    memset(ts, 0, sizeof *ts);
    uint64_t t0 = now_us();
    if (changed->n == 0 && !changed->over)
        return MDB_SUCCESS;
    hdr_copy hc;
    int rc = hdr_read(txn, dbi, chain, clen, &hc);
    if (rc || hc.found == 0)
        return rc;
    if (hc.found < 0 || changed->over) {
        rc = EBADMSG;
    } else {
        ts->how = PCD_TAB_UPDATED;
        rc = patch(txn, dbi, chain, clen, &hc, changed, version, ts);
    }
    if (rc == EBADMSG || rc == EOVERFLOW) {
        /* The B-tree holds the change; the table goes until the next load
         * builds it again. */
        if (!changed->over)
            LOG_WARN("cache", "chain %s: lookup table %s; lookups walk the B-tree until the "
                     "next load", chain, rc == EBADMSG ? "damaged" : "overfull");
        ts->how = PCD_TAB_DROPPED;
        rc = pcd_tab_remove(txn, dbi, chain, clen);
    }
    free(hc.gens);
    ts->us = now_us() - t0;
    return rc;
}
