/* table_encode.c - a chain's lookup table encoded from a loaded snapshot, segment by segment: in the write transaction, or ahead of it on a thread of its own. */
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

/* Encode the table of snap's rows in 2^bits segments, in segment order:
 * each segment's rows are gathered (in key order), then encoded where the
 * sink says. */
int pcd_tab_encode(const pcd_snapshot *snap, uint32_t bits, size_t mb, pcd_tab_sink *k)
{
    size_t n = snap->n, off = snap->clen + 1, nseg = (size_t)1 << bits;
    uint32_t *seg_of = malloc((n ? n : 1) * sizeof *seg_of);
    uint64_t *hs = malloc((n ? n : 1) * sizeof *hs); /* slot hashes, from the pass in order */
    uint32_t *perm = malloc((n ? n : 1) * sizeof *perm);
    size_t *start = calloc(nseg + 1, sizeof *start);
    pc_tab_ent *ents = NULL;
    size_t ents_cap = 0;
    int rc = seg_of && hs && perm && start ? MDB_SUCCESS : ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        pc_tab_ent e = { snap->recs[i].key + off, snap->recs[i].klen - (uint32_t)off, 0, 0, 0, 0 };
        if (pc_tab_ent_hash(&e) != PC_OK) {
            rc = EINVAL; /* the snapshot's keys are the loader's: cannot happen */
            break;
        }
        seg_of[i] = pc_tab_seg_of(e.ih, bits);
        hs[i] = e.h;
        start[seg_of[i] + 1]++;
    }
    for (size_t s = 0; !rc && s < nseg; s++)
        start[s + 1] += start[s];
    /* A stable counting sort: each segment's rows stay in key order. */
    for (size_t i = 0; !rc && i < n; i++)
        perm[start[seg_of[i]]++] = (uint32_t)i;
    for (size_t s = nseg; !rc && s > 0; s--)
        start[s] = start[s - 1];
    if (!rc)
        start[0] = 0;
    for (size_t s = 0; !rc && s < nseg; s++) {
        size_t cnt = start[s + 1] - start[s];
        if (cnt > PCD_TAB_SEG_ENTRIES_MAX) {
            rc = EOVERFLOW;
            break;
        }
        if (cnt > ents_cap) {
            pc_tab_ent *ne = realloc(ents, cnt * sizeof *ne);
            if (!ne) {
                rc = ENOMEM;
                break;
            }
            ents = ne;
            ents_cap = cnt;
        }
        /* A segment's rows lie all over the snapshot: fetch a record 16
         * rows ahead and its key 8 ahead, or each row costs two misses. */
        const uint32_t *pj = perm + start[s];
        for (size_t j = 0; j < cnt; j++) {
            if (j + 16 < cnt)
                __builtin_prefetch(&snap->recs[pj[j + 16]]);
            if (j + 8 < cnt)
                __builtin_prefetch(snap->recs[pj[j + 8]].key + off);
            const pcd_rec *r = &snap->recs[pj[j]];
            pc_tab_ent *e = &ents[j];
            e->key = r->key + off;
            e->klen = r->klen - (uint32_t)off;
            e->cents = r->val.cents;
            e->updated_at = r->val.updated_at;
            e->h = hs[pj[j]];
        }
        size_t len = pc_tab_seg_size(ents, cnt, mb);
        uint8_t *p;
        if ((rc = k->dest(k, (uint32_t)s, len, &p)) != 0)
            break;
        pc_tab_seg_encode(p, ents, cnt, mb);
        if (k->done)
            rc = k->done(k, (uint32_t)s, p, len);
    }
    free(seg_of);
    free(hs);
    free(perm);
    free(start);
    free(ents);
    return rc;
}


/* ---- a build prepared on a thread of its own ------------------------- */

/* The segments are encoded into memory while the publish diffs the
 * B-tree (the other core is idle then): a first load or a rewrite of every
 * price would otherwise add the build's whole time to the write
 * transaction.  They lie one after another in one anonymous mapping, so
 * that the pages of each segment copied into the transaction go back to
 * the system at once: from malloc they would stay in the thread's arena
 * until the last one is freed, and the daemon would hold the table twice
 * (its copy and LMDB's) at the peak of a first load. */
struct pcd_tab_prep {
    pthread_t    t;
    pcd_tab_sink base;
    const pcd_snapshot *snap;
    size_t    mb;
    uint32_t  bits;
    uint8_t **segp;
    size_t   *segl;
    uint8_t  *map;            /* NULL: the segments are malloc'd */
    size_t    map_len, used;  /* bytes reserved, bytes given out */
    size_t    released;       /* bytes [0, released) returned to the system */
    int       rc;
    int       joined;
};

/* Return freed pages in steps of at least this much: one madvise per
 * segment would cost more than the copy. */
#define RELEASE_STEP ((size_t)1 << 20)

static int in_map(const pcd_tab_prep *p, const uint8_t *q)
{
    return p->map && q >= p->map && q < p->map + p->map_len;
}

static int prep_dest(pcd_tab_sink *k, uint32_t seg, size_t len, uint8_t **out)
{
    pcd_tab_prep *p = (pcd_tab_prep *)(void *)((char *)k - offsetof(pcd_tab_prep, base));
    size_t step = (len + 15) & ~(size_t)15;
    if (p->map && p->map_len - p->used >= step) {
        p->segp[seg] = p->map + p->used;
        p->used += step;
    } else if (!(p->segp[seg] = malloc(len))) {
        return ENOMEM;
    }
    p->segl[seg] = len;
    *out = p->segp[seg];
    return 0;
}

/* An upper bound of the encoded table: each segment's header, slots (at
 * most 8/3 per entry, and 4) and floor, and each entry. */
static size_t table_bound(const pcd_tab_prep *p)
{
    const pcd_snapshot *s = p->snap;
    size_t off = s->clen + 1, keys = 0, nseg = (size_t)1 << p->bits;
    for (size_t i = 0; i < s->n; i++)
        keys += s->recs[i].klen - off;
    return keys + s->n * (3 * sizeof(pc_tab_slot) + PC_TAB_ENT_FIXED) +
           nseg * (sizeof(pc_tab_seg) + 4 * sizeof(pc_tab_slot) + p->mb + 16);
}

static void *prep_main(void *arg)
{
    pcd_tab_prep *p = arg;
    /* Address space only (MAP_NORESERVE): pages exist once written. */
    size_t len = table_bound(p);
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m != MAP_FAILED) {
        p->map = m;
        p->map_len = len;
    }
    p->rc = pcd_tab_encode(p->snap, p->bits, p->mb, &p->base);
    return NULL;
}

pcd_tab_prep *pcd_tab_prepare(MDB_env *env, const pcd_snapshot *snap)
{
    MDB_stat ms;
    pcd_tab_prep *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->snap = snap;
    p->mb = pc_tab_min_bytes(mdb_env_stat(env, &ms) == MDB_SUCCESS ? ms.ms_psize : 4096);
    p->bits = pc_tab_segbits_for(snap->n);
    p->base.dest = prep_dest;
    size_t nseg = (size_t)1 << p->bits;
    p->segp = calloc(nseg, sizeof *p->segp);
    p->segl = calloc(nseg, sizeof *p->segl);
    if (!p->segp || !p->segl || pthread_create(&p->t, NULL, prep_main, p) != 0) {
        free(p->segp);
        free(p->segl);
        free(p);
        return NULL; /* built in the transaction instead */
    }
    return p;
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
    *bytes = p->segp[s];
    *len = p->segl[s];
}

void pcd_tab_prep_release(pcd_tab_prep *p, uint32_t s)
{
    uint8_t *q = p->segp[s];
    if (!q)
        return;
    if (!in_map(p, q)) {
        free(q);
        p->segp[s] = NULL;
        return;
    }
    /* Segments are released in the order they were laid out: every page
     * before this one's end is done with. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t end = (size_t)(q - p->map) + p->segl[s], upto = end / page * page;
    if (upto - p->released >= RELEASE_STEP || s + 1 == (1u << p->bits)) {
        madvise(p->map + p->released, upto - p->released, MADV_DONTNEED);
        p->released = upto;
    }
}

void pcd_tab_prep_free(pcd_tab_prep *p)
{
    if (!p)
        return;
    pcd_tab_prep_join(p);
    for (size_t s = 0; s < ((size_t)1 << p->bits); s++)
        if (!in_map(p, p->segp[s]))
            free(p->segp[s]);
    if (p->map)
        munmap(p->map, p->map_len);
    free(p->segp);
    free(p->segl);
    free(p);
}
