/* pc_table.h - a chain's lookup table (format 2): its prices in hash segments stored as LMDB values, beside the ordered keys of pc_format.h.
 *
 * Why: a lookup on the ordered keys alone walks LMDB's B-tree twice (the
 * store's exception, then the base price), a root-to-leaf walk over ~30-byte
 * keys with a binary search per page: ~5x an in-process hash table
 * (issue 15).  The table answers the same question with one or two probes
 * of an open-addressing table, and the reader keeps the segments' addresses
 * between calls, so most lookups walk no B-tree at all.
 *
 * The ordered keys stay the truth (dump, scans, the daemon's diff); the
 * table is derived from them and written in the same transaction, so in
 * every committed version a chain either has no table (format 1 caches, or
 * a chain the daemon has not loaded since it converted one: readers walk
 * the B-tree) or a table that holds exactly the chain's keys.
 *
 *   "\0T" chain                    header   (pc_tab_hdr, then u64 gen[2^segbits])
 *   "\0T" chain "\0" u32 BE seg    segment  (pc_tab_seg, slots, entries)
 *
 * An entry's key is the ordered key's suffix after "chain\0": 'B' item, or
 * 'S' store '\0' item.  Its segment is the top segbits bits of
 * hash(item), so an item's base price and all its exceptions share one
 * segment; its slot is probed from slot_hash (the item's hash for a base
 * price, mixed with the store's for an exception).  Entries in a segment
 * are placed in key order, so a segment's bytes are a function of its
 * rows: a reload that changes nothing rewrites nothing.
 *
 * Why the reader may keep a segment's address across transactions: a
 * segment is at least pc_tab_min_bytes long, so LMDB keeps it in overflow
 * pages of its own, which move only when the value is rewritten; and every
 * rewrite gives it a new generation in the header (the chain's version).
 * While the header, read again at each new snapshot, shows the generation
 * the reader saw, the pages are those of the newest snapshot, which LMDB
 * never frees.  A map the daemon grew is remapped elsewhere: the library
 * forgets every address then (client/env.c).
 *
 * Host byte order, like every record here (the environment is local). */
#ifndef PC_TABLE_H
#define PC_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pc_format.h"

#define PC_TAB_HDR_MAGIC 0x48544350u /* "PCTH" */
#define PC_TAB_SEG_MAGIC 0x53544350u /* "PCTS" */

/* Entries a segment holds on average when the daemon sizes a table; the
 * reader keeps 24 bytes per segment and thread, so this also bounds its
 * private memory: ~40 bytes per thousand rows. */
#define PC_TAB_SEG_ENTRIES 1024u
#define PC_TAB_SEGBITS_MAX 20u

typedef struct pc_tab_hdr {
    uint32_t size;       /* sizeof(pc_tab_hdr) as written */
    uint32_t magic;      /* PC_TAB_HDR_MAGIC */
    uint32_t segbits;    /* 2^segbits segments */
    uint32_t reserved;
    uint64_t entries;    /* rows in the table */
    uint64_t version;    /* the chain version the table was last written in */
    /* then uint64_t gen[2^segbits]: the version that last wrote each segment */
} pc_tab_hdr;

typedef struct pc_tab_seg {
    uint32_t magic;      /* PC_TAB_SEG_MAGIC */
    uint32_t slotbits;   /* 2^slotbits slots */
    uint32_t count;      /* entries */
    uint32_t bytes;      /* where the entries end; the value may be padded beyond */
    /* then pc_tab_slot slot[2^slotbits], then the entries */
} pc_tab_seg;

/* off: the entry's offset from the segment's start, 0 for an empty slot.
 * tag: bits 24..55 of the slot hash, checked before the key. */
typedef struct pc_tab_slot {
    uint32_t tag, off;
} pc_tab_slot;

/* An entry: int64 cents, int64 updated_at, uint16 klen, key[klen];
 * unaligned, read with memcpy. */
#define PC_TAB_ENT_FIXED 18u

/* The segments' key bytes, for one hash (bench_hash.h's): a
 * multiply-xorshift over 8-byte words. */
static inline uint64_t pc_tab_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

/* The slot hash of an exception: the item's hash mixed with the store's. */
static inline uint64_t pc_tab_mix(uint64_t ih, uint64_t sh)
{
    uint64_t h = ih ^ (sh * 0x9e3779b97f4a7c15ull);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    return h;
}

static inline uint32_t pc_tab_seg_of(uint64_t ih, uint32_t segbits)
{
    return segbits ? (uint32_t)(ih >> (64 - segbits)) : 0;
}

static inline uint32_t pc_tab_tag(uint64_t h)
{
    return (uint32_t)(h >> 24);
}

/* A segment checked once (pc_tab_seg_check) before it is probed. */
typedef struct pc_tab_segv {
    const uint8_t *p;
    uint32_t mask;       /* slots - 1 */
    uint32_t bytes;
} pc_tab_segv;

/* Find the entry whose key is kind [store '\0'] item in a checked segment:
 * its address, or NULL.  Offsets are checked against the segment's end, so
 * a damaged segment cannot send a read outside it; at most every slot is
 * visited. */
static inline const uint8_t *pc_tab_probe(const pc_tab_segv *sv, uint64_t h, int kind,
                                          const char *store, size_t slen,
                                          const char *item, size_t ilen)
{
    const uint8_t *slots = sv->p + sizeof(pc_tab_seg);
    size_t klen = kind == PC_KEY_STORE ? 2 + slen + ilen : 1 + ilen;
    uint32_t tag = pc_tab_tag(h);
    for (uint32_t i = (uint32_t)h & sv->mask, n = 0; n <= sv->mask; i = (i + 1) & sv->mask, n++) {
        pc_tab_slot sl; /* memcpy: a value need not be aligned (one load) */
        memcpy(&sl, slots + (size_t)i * sizeof sl, sizeof sl);
        if (sl.off == 0)
            return NULL;
        if (sl.tag != tag || sl.off > sv->bytes - PC_TAB_ENT_FIXED)
            continue;
        const uint8_t *e = sv->p + sl.off;
        uint16_t kl;
        memcpy(&kl, e + 16, sizeof kl);
        if (kl != klen || sl.off + PC_TAB_ENT_FIXED + klen > sv->bytes)
            continue;
        const uint8_t *k = e + PC_TAB_ENT_FIXED;
        if (k[0] != kind)
            continue;
        if (kind == PC_KEY_STORE) {
            if (memcmp(k + 1, store, slen) != 0 || k[1 + slen] != 0 ||
                memcmp(k + 2 + slen, item, ilen) != 0)
                continue;
        } else if (memcmp(k + 1, item, ilen) != 0) {
            continue;
        }
        return e;
    }
    return NULL;
}

/* ---- the rest: client/table.c (the daemon writes, tests check) ---------- */

/* Keys.  buf must hold PC_KEY_MAX bytes. */
size_t pc_key_tab_hdr(uint8_t *buf, const char *chain, size_t clen);
size_t pc_key_tab_seg(uint8_t *buf, const char *chain, size_t clen, uint32_t seg);
/* The prefix of every segment key of a chain ("\0T" chain "\0"). */
size_t pc_key_tab_seg_prefix(uint8_t *buf, const char *chain, size_t clen);

/* Check a header value: PC_OK (then *gens points at its generations, read
 * with pc_tab_gen: a value may be 2-byte aligned only) or PC_EFORMAT. */
int pc_tab_hdr_check(const void *val, size_t len, pc_tab_hdr *out, const uint8_t **gens);

static inline uint64_t pc_tab_gen(const uint8_t *gens, uint32_t seg)
{
    uint64_t g;
    memcpy(&g, gens + (size_t)seg * sizeof g, sizeof g);
    return g;
}
/* Check a segment value and make its view: PC_OK or PC_EFORMAT. */
int pc_tab_seg_check(const void *val, size_t len, pc_tab_segv *out);

/* A row as the table holds it: the ordered key's suffix (after "chain\0"),
 * its price, and the hashes (pc_tab_ent_hash fills them). */
typedef struct pc_tab_ent {
    const uint8_t *key;
    uint32_t klen;
    int64_t  cents, updated_at;
    uint64_t ih;        /* hash of the item: the segment */
    uint64_t h;         /* slot hash */
} pc_tab_ent;

/* Fill e->ih and e->h from e->key.  PC_OK, or PC_EFORMAT for a key that is
 * no row's ('B' item, 'S' store '\0' item). */
int pc_tab_ent_hash(pc_tab_ent *e);

/* The least length of a segment value that LMDB keeps in overflow pages of
 * its own, for pages of psize bytes. */
size_t pc_tab_min_bytes(size_t psize);
/* The value length of a segment of these entries (padding included). */
size_t pc_tab_seg_size(const pc_tab_ent *ents, size_t n, size_t min_bytes);
/* Encode a segment of n entries, given in key order, into out (of
 * pc_tab_seg_size bytes; padding zeroed).  Returns the length. */
size_t pc_tab_seg_encode(uint8_t *out, const pc_tab_ent *ents, size_t n, size_t min_bytes);
/* The slot bits of a segment of n entries (at most 3/4 full). */
uint32_t pc_tab_slotbits_for(size_t n);
/* Encoding a segment at seg (its slots zeroed, 2^slotbits = mask + 1 of
 * them), entries in key order: the slot of an entry of slot hash h at
 * offset pos, and the entry's bytes at pos (returns the offset after it). */
void pc_tab_slot_put(uint8_t *seg, uint32_t mask, uint64_t h, uint32_t pos);
size_t pc_tab_ent_put(uint8_t *seg, size_t pos, const pc_tab_ent *e);
/* Walk a checked segment's entries in the order they were written (key
 * order).  *pos starts at 0; PC_OK with *e filled (hashes included),
 * PC_NOTFOUND past the last, or PC_EFORMAT for a damaged entry. */
int pc_tab_seg_next(const pc_tab_segv *sv, uint32_t *pos, pc_tab_ent *e);
/* The segment bits of a table of n rows. */
uint32_t pc_tab_segbits_for(uint64_t n);

#endif /* PC_TABLE_H */
