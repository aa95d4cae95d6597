/* table_cache.c - where each thread last found the chains' lookup tables (pc_table.h), so that a lookup walks no B-tree while nothing it reads has changed. */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errdetail.h"
#include "pc_table.h"
#include "reader_int.h"

/* PC_EFORMAT with the sentence pc_errdetail gives: which table, which
 * part (seg UINT32_MAX: its header). */
static int damaged(const tab_cache *tc, uint32_t seg)
{
    char msg[200], part[32] = "header";
    if (seg != UINT32_MAX)
        snprintf(part, sizeof part, "segment %u", seg);
    snprintf(msg, sizeof msg, "data.mdb: the lookup table of chain %.*s: its %s is missing or "
             "damaged (the daemon rebuilds it at the chain's next load)", (int)tc->clen,
             tc->chain, part);
    pc_detail_set(PC_EFORMAT, msg);
    return PC_EFORMAT;
}

/* Read the chain's header in the slot's snapshot into tc. */
static int tab_load(const pc_reader *r, tslot *s, tab_cache *tc)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_hdr(kb, tc->chain, tc->clen), kb }, v;
    int rc = mdb_get(s->txn, r->dbi, &k, &v);
    tc->id = s->seen;
    tc->has = 0;
    if (rc == MDB_NOTFOUND)
        return PC_OK;
    if (rc != MDB_SUCCESS) {
        tc->id = 0;
        return pc_err_from_mdb(rc);
    }
    pc_tab_hdr h;
    const uint8_t *gens;
    if (pc_tab_hdr_check(v.mv_data, v.mv_size, &h, &gens) != PC_OK) {
        tc->id = 0;
        return damaged(tc, UINT32_MAX);
    }
    size_t n = (size_t)1 << h.segbits;
    if (n != tc->nrefs || !tc->refs) {
        tab_ref *refs = calloc(n, sizeof *refs);
        if (!refs) {
            tc->id = 0;
            return PC_ENOMEM;
        }
        free(tc->refs);
        tc->refs = refs;
        tc->nrefs = n;
    }
    tc->segbits = h.segbits;
    tc->gens = gens;
    tc->has = 1;
    return PC_OK;
}

tab_cache *pc_tab_find(const pc_reader *r, tslot *s, const char *chain, size_t clen, int *rc)
{
    tab_cache *tc = NULL, *oldest = &s->tabs[0];
    for (int i = 0; i < TAB_CACHES; i++) {
        tab_cache *c = &s->tabs[i];
        if (c->clen == clen && memcmp(c->chain, chain, clen) == 0) {
            tc = c;
            break;
        }
        if (c->used < oldest->used)
            oldest = c;
    }
    if (!tc) {
        tc = oldest;
        memcpy(tc->chain, chain, clen);
        tc->clen = (uint32_t)clen;
        tc->id = 0;
        /* Another chain's segments: their generations could match. */
        if (tc->refs)
            memset(tc->refs, 0, tc->nrefs * sizeof *tc->refs);
    }
    tc->used = ++s->tab_tick;
    *rc = PC_OK;
    if (tc->id != s->seen && (*rc = tab_load(r, s, tc)) != PC_OK)
        return NULL;
    return tc->has ? tc : NULL;
}

int pc_tab_segment(const pc_reader *r, tslot *s, tab_cache *tc, uint32_t seg,
                   const pc_tab_segv **out)
{
    tab_ref *ref = &tc->refs[seg];
    uint64_t gen = pc_tab_gen(tc->gens, seg);
    if (ref->v.p && ref->gen == gen && (ref->id == 0 || ref->id == s->seen)) {
        *out = &ref->v;
        return PC_OK;
    }
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_tab_seg(kb, tc->chain, tc->clen, seg), kb }, v;
    int rc = mdb_get(s->txn, r->dbi, &k, &v);
    if (rc != MDB_SUCCESS) {
        ref->v.p = NULL;
        /* The header names every segment: one missing is a damaged table. */
        return rc == MDB_NOTFOUND ? damaged(tc, seg) : pc_err_from_mdb(rc);
    }
    if (pc_tab_seg_check(v.mv_data, v.mv_size, &ref->v) != PC_OK) {
        ref->v.p = NULL;
        return damaged(tc, seg);
    }
    ref->gen = gen;
    /* id 0: in overflow pages of its own, valid in later snapshots too. */
    ref->id = v.mv_size >= r->pe->tab_min ? 0 : s->seen;
    *out = &ref->v;
    return PC_OK;
}

void pc_tab_forget(tslot *s)
{
    for (int i = 0; i < TAB_CACHES; i++) {
        s->tabs[i].id = 0;
        if (s->tabs[i].refs)
            memset(s->tabs[i].refs, 0, s->tabs[i].nrefs * sizeof *s->tabs[i].refs);
    }
}

void pc_tab_free(tslot *s)
{
    for (int i = 0; i < TAB_CACHES; i++) {
        free(s->tabs[i].refs);
        s->tabs[i].refs = NULL;
        s->tabs[i].nrefs = 0;
    }
}
