/* table_encode.c - a chain's lookup table encoded from a loaded snapshot: every segment at once, in the write transaction or ahead of it on a thread of its own. */
#include "table_encode.h"

/* Owns: the table's encoding from a snapshot, and the thread that encodes
 * it beside the publish's diff.  May call: the table codec (pc_table.h),
 * snapshot (its records only). */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pc_table.h"

/* The segments lie one after another in one region: an anonymous mapping
 * (zeroed by the kernel, and its pages go back to the system as soon as
 * LMDB has copied a segment: from malloc they would stay in the arena
 * until the last one is freed, and a first load's peak would hold the
 * table twice), or calloc'd when no mapping can be had. */
struct pcd_tab_prep {
    pthread_t  t;
    int        threaded;
    int        joined;
    int        rc;
    const pcd_snapshot *snap;
    size_t     mb;
    uint32_t   bits;
    uint8_t   *base;
    size_t     total;
    int        mapped;    /* base is an mmap of total bytes */
    size_t     released;  /* bytes [0, released) returned to the system */
    size_t     page;      /* the system's page size, for the release */
    size_t    *off;       /* segment s is base[off[s], off[s] + len[s]) */
    size_t    *len;
};

/* Return the pages of copied segments in steps of at least this much:
 * one madvise per segment would cost more than the copy. */
#define RELEASE_STEP ((size_t)1 << 20)

/* The region for `total` bytes: an anonymous mapping (zeroed pages that
 * can go back one by one), else calloc. */
static int region_alloc(pcd_tab_prep *p, size_t total)
{
    p->total = total ? total : 1;
    void *m = mmap(NULL, p->total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
        /* The second pass writes to every segment at once: in 4 KB pages
         * that is a fault and a TLB miss for most writes (the encode of
         * 1.2 M rows took ~195 ms of CPU, ~170 ms in huge pages). */
        madvise(m, p->total, MADV_HUGEPAGE);
#endif
        p->base = m;
        p->mapped = 1;
        return 0;
    }
    p->base = calloc(1, p->total);
    return p->base ? 0 : ENOMEM;
}

/* Encode every segment, in three passes, none of which gathers a
 * segment's rows from all over the snapshot (a cache miss or two a row,
 * when one did):
 * 1. over the records in key order (their keys lie in that order in
 *    memory): each key's hashes and segment, and the segments' sizes;
 * 2. the same: each entry written at its segment's next offset (so each
 *    segment's entries are in key order), its slot hash parked in the
 *    segment's slot area, which has room for one per entry;
 * 3. segment by segment, in cache: the slots filled from the parked
 *    hashes. */
static int encode(pcd_tab_prep *p)
{
    const pcd_snapshot *snap = p->snap;
    size_t n = snap->n, koff = snap->clen + 1, nseg = (size_t)1 << p->bits;
    uint32_t *seg_of = malloc((n ? n : 1) * sizeof *seg_of);
    uint64_t *hs = malloc((n ? n : 1) * sizeof *hs), *park = NULL;
    size_t *cnt = calloc(nseg, sizeof *cnt), *pos = calloc(nseg, sizeof *pos);
    size_t *parked = calloc(nseg, sizeof *parked), most = 0;
    p->off = calloc(nseg, sizeof *p->off);
    p->len = calloc(nseg, sizeof *p->len);
    int rc = seg_of && hs && cnt && pos && parked && p->off && p->len ? 0 : ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        pc_tab_ent e = { .key = snap->recs[i].key + koff,
                         .klen = snap->recs[i].klen - (uint32_t)koff };
        if (pc_tab_ent_hash(&e) != PC_OK) {
            rc = EINVAL; /* the snapshot's keys are the loader's: cannot happen */
            break;
        }
        uint32_t s = pc_tab_seg_of(e.ih, p->bits);
        seg_of[i] = s;
        hs[i] = e.h;
        cnt[s]++;
        pos[s] += PC_TAB_ENT_FIXED + e.klen; /* the entries' bytes, for now */
    }
    /* Lay the segments out: header, slots, entries, padding to the floor
     * LMDB needs to keep a segment in overflow pages of its own. */
    size_t total = 0;
    for (size_t s = 0; !rc && s < nseg; s++) {
        if (cnt[s] > PCD_TAB_SEG_ENTRIES_MAX) {
            rc = EOVERFLOW;
            break;
        }
        size_t head = sizeof(pc_tab_seg) + (sizeof(pc_tab_slot) << pc_tab_slotbits_for(cnt[s]));
        size_t bytes = head + pos[s];
        p->off[s] = total;
        p->len[s] = bytes < p->mb ? p->mb : bytes;
        total += (p->len[s] + 15) & ~(size_t)15;
        pos[s] = head;
        most = cnt[s] > most ? cnt[s] : most;
    }
    if (!rc)
        rc = region_alloc(p, total);
    for (size_t i = 0; !rc && i < n; i++) {
        const pcd_rec *r = &snap->recs[i];
        uint32_t s = seg_of[i];
        uint8_t *seg = p->base + p->off[s];
        pc_tab_ent e = { .key = r->key + koff, .klen = r->klen - (uint32_t)koff,
                         .cents = r->val.cents, .updated_at = r->val.updated_at };
        pos[s] = pc_tab_ent_put(seg, pos[s], &e);
        /* 2^slotbits >= 4/3 of the entries: a slot's 8 bytes each. */
        memcpy(seg + sizeof(pc_tab_seg) + 8 * parked[s]++, &hs[i], 8);
    }
    free(seg_of);
    free(hs);
    seg_of = NULL;
    hs = NULL;
    if (!rc && !(park = malloc((most ? most : 1) * sizeof *park)))
        rc = ENOMEM;
    for (size_t s = 0; !rc && s < nseg; s++) {
        uint8_t *seg = p->base + p->off[s];
        uint32_t sb = pc_tab_slotbits_for(cnt[s]), mask = (1u << sb) - 1;
        memcpy(park, seg + sizeof(pc_tab_seg), cnt[s] * sizeof *park);
        memset(seg + sizeof(pc_tab_seg), 0, sizeof(pc_tab_slot) << sb);
        size_t at = sizeof(pc_tab_seg) + (sizeof(pc_tab_slot) << sb);
        for (size_t j = 0; j < cnt[s]; j++) {
            uint16_t kl;
            memcpy(&kl, seg + at + 16, sizeof kl);
            pc_tab_slot_put(seg, mask, park[j], (uint32_t)at);
            at += PC_TAB_ENT_FIXED + kl;
        }
        pc_tab_seg h = { PC_TAB_SEG_MAGIC, sb, (uint32_t)cnt[s], (uint32_t)pos[s] };
        memcpy(seg, &h, sizeof h);
    }
    free(seg_of);
    free(hs);
    free(park);
    free(cnt);
    free(pos);
    free(parked);
    return rc;
}

static void *prep_main(void *arg)
{
    pcd_tab_prep *p = arg;
    p->rc = encode(p);
    return NULL;
}

static pcd_tab_prep *prep_new(const pcd_snapshot *snap, uint32_t bits, size_t mb)
{
    pcd_tab_prep *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->snap = snap;
    p->bits = bits;
    p->mb = mb;
    p->page = (size_t)sysconf(_SC_PAGESIZE);
    return p;
}

size_t pcd_tab_min_bytes(MDB_env *env)
{
    MDB_stat ms;
    return pc_tab_min_bytes(mdb_env_stat(env, &ms) == MDB_SUCCESS ? ms.ms_psize : 4096);
}

pcd_tab_prep *pcd_tab_prepare(MDB_env *env, const pcd_snapshot *snap)
{
    pcd_tab_prep *p = prep_new(snap, pc_tab_segbits_for(snap->n), pcd_tab_min_bytes(env));
    if (!p)
        return NULL;
    if (pthread_create(&p->t, NULL, prep_main, p) != 0) {
        free(p);
        return NULL; /* encoded in the transaction instead */
    }
    p->threaded = 1;
    return p;
}

int pcd_tab_encode_now(const pcd_snapshot *snap, uint32_t bits, size_t mb, pcd_tab_prep **out)
{
    pcd_tab_prep *p = prep_new(snap, bits, mb);
    if (!p)
        return ENOMEM;
    int rc = encode(p);
    p->joined = 1;
    if (rc) {
        pcd_tab_prep_free(p);
        p = NULL;
    }
    *out = p;
    return rc;
}

uint32_t pcd_tab_prep_bits(const pcd_tab_prep *p)
{
    return p->bits;
}

int pcd_tab_prep_join(pcd_tab_prep *p)
{
    if (!p->joined) {
        pthread_join(p->t, NULL);
        p->joined = 1;
    }
    return p->rc;
}

void pcd_tab_prep_seg(const pcd_tab_prep *p, uint32_t s, const uint8_t **bytes, size_t *len)
{
    *bytes = p->base + p->off[s];
    *len = p->len[s];
}

void pcd_tab_prep_release(pcd_tab_prep *p, uint32_t s)
{
    if (!p->mapped)
        return;
    /* Segments are released in the order they were laid out: every page
     * before this one's end is done with. */
    size_t upto = (p->off[s] + p->len[s]) / p->page * p->page;
    if (upto > p->released &&
        (upto - p->released >= RELEASE_STEP || s + 1 == (1u << p->bits))) {
        madvise(p->base + p->released, upto - p->released, MADV_DONTNEED);
        p->released = upto;
    }
}

void pcd_tab_prep_free(pcd_tab_prep *p)
{
    if (!p)
        return;
    if (p->threaded)
        pcd_tab_prep_join(p);
    if (p->mapped)
        munmap(p->base, p->total);
    else
        free(p->base);
    free(p->off);
    free(p->len);
    free(p);
}
