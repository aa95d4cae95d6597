/* table_encode.h - a chain's lookup table encoded from a loaded snapshot: every segment at once, in the write transaction or ahead of it on a thread of its own. */
#ifndef PCD_TABLE_ENCODE_H
#define PCD_TABLE_ENCODE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

/* Entries a segment may hold: the reader refuses more than 2^23. */
#define PCD_TAB_SEG_ENTRIES_MAX (1u << 23)

/* The floor of a segment's size in env: what keeps it in overflow pages of
 * its own (pc_table.h). */
size_t pcd_tab_min_bytes(MDB_env *env);

/* A build of snap's table encoded on a thread of its own while the
 * publish diffs the B-tree (NULL when no thread could start: the build
 * then runs in the transaction).  pcd_tab_prep_free waits for it. */
typedef struct pcd_tab_prep pcd_tab_prep;
pcd_tab_prep *pcd_tab_prepare(MDB_env *env, const pcd_snapshot *snap);
void pcd_tab_prep_free(pcd_tab_prep *p);
/* The same, encoded now in 2^bits segments of at least mb bytes: 0 with
 * *out to free, or ENOMEM, EOVERFLOW (a segment would hold too many). */
int pcd_tab_encode_now(const pcd_snapshot *snap, uint32_t bits, size_t mb, pcd_tab_prep **out);
/* Its segment bits. */
uint32_t pcd_tab_prep_bits(const pcd_tab_prep *p);
/* Wait for the thread: its result (0, ENOMEM, EOVERFLOW: a segment
 * would hold too many). */
int pcd_tab_prep_join(pcd_tab_prep *p);
/* Segment s, once joined. */
void pcd_tab_prep_seg(const pcd_tab_prep *p, uint32_t s, const uint8_t **bytes, size_t *len);
/* Segment s was copied into the transaction: its memory goes back now, so
 * that the daemon's peak holds the table once, not twice. */
void pcd_tab_prep_release(pcd_tab_prep *p, uint32_t s);

#endif
