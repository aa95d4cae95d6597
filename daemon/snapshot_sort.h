/* snapshot_sort.h - a chain's records in LMDB key order, newest first among equal keys: an MSD radix sort on the key bytes. */
#ifndef PCD_SNAPSHOT_SORT_H
#define PCD_SNAPSHOT_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

/* Sort recs[0..n) by key bytes (memcmp order, a prefix first: LMDB's
 * order, and PostgreSQL's COLLATE "C"), then among equal keys newest
 * first (val.updated_at, then sub_us, descending), then in arrival order
 * (the order of recs on entry).  This is the order of the loader's former
 * ORDER BY key COLLATE "C", updated_at DESC, with its ties (which
 * PostgreSQL left unspecified) settled by arrival.  Each record's
 * same_key tells whether its key is the one before it.  PC_OK or PC_ENOMEM
 * (recs unchanged); about 16 bytes per record of scratch while it runs,
 * and a new array of n records for the result. */
int pcd_keysort(pcd_rec **recs, size_t n);

/* A record as the sort sees it: 8 bytes of its key from the window's
 * start (big-endian, zero past the key's end), its arrival index, its
 * length. */
typedef struct pcd_sort_item {
    uint64_t w;
    uint32_t idx;
    uint32_t klen;
} pcd_sort_item;

/* The item of key[0..klen), arrival index idx, window from byte wb. */
pcd_sort_item pcd_sort_item_make(const uint8_t *key, uint32_t klen, uint32_t idx, uint32_t wb);

/* pcd_keysort with the items made as the records arrived (the loader
 * makes them while it waits for the server): items[i] is recs[i]'s, with
 * its window from byte wb, and bytes [0, wb) are the same in every key
 * (the chain's prefix).  The items are scrambled; the caller frees them.
 * With `keys`, the sort also copies the keys, in the new order, into one
 * new chunk and points the records there: *keys, which the caller frees
 * once done with the records (and may free the keys' old home at once);
 * NULL when they did not move (no sort was needed, or no memory). */
int pcd_keysort_items(pcd_rec **recs, size_t n, pcd_sort_item *items, uint32_t wb,
                      pcd_arena_chunk **keys);

/* Copy the keys of recs[0..n) into one new chunk, in the records' order,
 * and point the records there: for records the sort left where they were
 * (already in order), so that their keys too lie in key order and their
 * old home may go.  NULL when there is nothing to move or no memory (the
 * keys stay where they are). */
pcd_arena_chunk *pcd_keys_relocate(pcd_rec *recs, size_t n);

/* pcd_keysort_items shared between threads, for the sort of the sealed
 * rows (snapshot.c), which the loader's thread joins once the stream has
 * ended: _new queues the whole sort (NULL: out of memory); _run splits
 * groups until none is left, then gathers the records (and moves the
 * keys, with move_keys) a piece at a time, on any number of threads at
 * once, and returns when the sort is done; once one _run has returned,
 * _gather (one thread) puts the result in place (PC_OK or PC_ENOMEM, recs
 * unchanged) with *keys the chunk now holding every key (NULL: none
 * moved; when one is given, the keys' old home may go); a _run that
 * starts after that returns at once; _free. */
typedef struct pcd_keysort_job pcd_keysort_job;
pcd_keysort_job *pcd_keysort_job_new(pcd_rec **precs, size_t n, pcd_sort_item *items,
                                     uint32_t wb, int move_keys);
void pcd_keysort_job_run(pcd_keysort_job *j);
int  pcd_keysort_job_gather(pcd_keysort_job *j, pcd_arena_chunk **keys);
void pcd_keysort_job_free(pcd_keysort_job *j);

/* The order pcd_keysort sorts by: <0, 0 (never for distinct records of
 * one array but for the same one), >0; `ia`, `ib` their arrival indexes. */
int pcd_keysort_cmp(const pcd_rec *a, size_t ia, const pcd_rec *b, size_t ib);

#endif
