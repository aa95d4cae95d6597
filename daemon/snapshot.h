/* snapshot.h - one chain's rows loaded into memory, sorted in key order, ready to publish. */
#ifndef PCD_SNAPSHOT_H
#define PCD_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "pc_format.h"

/* One row as its full LMDB key plus value.  Keys live in the snapshot's
 * arena.  Records are kept in LMDB key order: every base row, then every
 * store row (pc_format.h). */
typedef struct pcd_rec {
    const uint8_t *key;
    uint32_t       klen;
    uint32_t       sub_us : 31; /* updated_at's microseconds within its
                                   second: orders duplicate keys */
    uint32_t       same_key : 1; /* pcd_keysort: the key of the record
                                    before, a duplicate */
    pc_price_rec   val;
} pcd_rec;

/* Keys live in big chunks: a million rows must not mean a million
 * mallocs.  The sort (snapshot_sort.c) moves keys into chunks of its own,
 * in their sorted order. */
typedef struct pcd_arena_chunk pcd_arena_chunk;
struct pcd_arena_chunk {
    pcd_arena_chunk *next;
    size_t used, cap;
    uint8_t data[];
};
struct pcd_sort_item;
struct pcd_presort;

/* What the cache holds of a chain, from the store (pcd_store_expect):
 * the digests and counts of its base [0] and store [1] rows as of
 * `version`; 0 when unknown. */
typedef struct pcd_expect {
    pcd_digest dg[2];
    uint64_t   rows[2];
    uint64_t   version;
} pcd_expect;

typedef struct pcd_snapshot {
    char      chain[PC_CHAIN_MAX + 1];
    size_t    clen;
    pcd_rec  *recs;
    size_t    n, cap;
    uint64_t  base_rows, store_rows;
    long double base_sum;         /* of base cents, for the mean */
    uint64_t  rows_seen;          /* rows the source returned, good or bad */
    uint64_t  rejected[PC_REJ__COUNT];
    char      reject_sample[PC_REJ__COUNT][128]; /* first offending row, printable */
    /* Where a load's time went, microseconds, and the bytes it read (the
     * loader and pcd_snapshot_finish fill them; logs and make bench show
     * them). */
    uint64_t  us_first;           /* waiting for the server's first row */
    uint64_t  us_wait;            /* waiting for the server's next bytes */
    uint64_t  us_feed;            /* parsing, validating, keying the rows */
    uint64_t  us_sort;            /* pcd_snapshot_finish */
    uint64_t  wire_bytes;         /* COPY data received */
    pcd_arena_chunk *arena;
    struct pcd_sort_item *items;  /* recs[i]'s sort item, made as it arrives
                                     (snapshot_sort.h), cap of them */
    struct pcd_presort *pre;      /* rows sealed and being sorted meanwhile */
    pcd_digest dg[2];             /* of the base [0] and store [1] rows added */
    pcd_expect expect;            /* set before the load: what the cache holds */
    /* pcd_snapshot_finish found the rows digest as `expect` does: they are
     * the cache's rows of this version, and were dropped unsorted (recs
     * empty, the counts and sums kept).  pcd_store_publish then changes
     * no row.  0 otherwise. */
    uint64_t  same_as;
} pcd_snapshot;

void pcd_snapshot_init(pcd_snapshot *s, const char *chain);
void pcd_snapshot_free(pcd_snapshot *s);
/* Free and init again for another attempt, keeping `expect`. */
void pcd_snapshot_reset(pcd_snapshot *s);

/* Append a validated row (store NULL for a base row).  Returns PC_OK or
 * PC_ENOMEM. */
int  pcd_snapshot_add(pcd_snapshot *s, const char *store, size_t slen,
                      const char *item, size_t ilen,
                      int64_t cents, int64_t updated_at);
/* The same, with updated_at's microseconds within its second (0..999999),
 * which decide between duplicate keys of the same second. */
int  pcd_snapshot_add_us(pcd_snapshot *s, const char *store, size_t slen,
                         const char *item, size_t ilen,
                         int64_t cents, int64_t updated_at, uint32_t sub_us);

/* The rows added so far are complete (the base query ended): sort them on
 * a thread of their own while later rows arrive; pcd_snapshot_finish
 * waits for it and puts both parts together (pcd_snapshot_free too).
 * Until then recs and n hold the later rows only.  Cannot fail: without
 * a thread or memory, the rows are sorted now or at finish. */
void pcd_snapshot_seal(pcd_snapshot *s);

/* Count a rejected row; `sample` (may be NULL) describes it for the log. */
void pcd_snapshot_reject(pcd_snapshot *s, int reason, const char *sample);

/* Put the records in key order (pcd_keysort: among equal keys the newest
 * first, by updated_at and sub_us, then arrival) and reject duplicate
 * keys, keeping the first: the newest row.  Rows that arrive sorted so
 * (a delta's, ordered by PostgreSQL) cost one pass. */
int  pcd_snapshot_finish(pcd_snapshot *s);
/* ...unless the rows are the cache's own: then (see same_as) they are
 * dropped, unsorted, and PC_OK.  The sealed rows' sort waits for the same
 * proof at seal: base rows that digest as the cache's do not start it. */

/* CLOCK_MONOTONIC in microseconds, for the timings above. */
uint64_t pcd_mono_us(void);

uint64_t pcd_snapshot_rejected_total(const pcd_snapshot *s);
int64_t  pcd_snapshot_avg_cents(const pcd_snapshot *s);
/* sum / n rounded half away from zero, clamped to int64 (prices up to
 * INT64_MAX are legal); 0 when n is 0.  Deltas keep the metadata's mean
 * with it too. */
int64_t  pcd_mean_cents(long double sum, uint64_t n);

#endif
