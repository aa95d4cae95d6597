/* store_scan.h - the unchanged run at the start of a snapshot's second half, found on a thread of its own while the diff walks the first half. */
#ifndef PCD_STORE_SCAN_H
#define PCD_STORE_SCAN_H

#include <lmdb.h>
#include <stddef.h>

#include "snapshot.h"

/* A reload that changes little spends its diff comparing keys that are
 * already there.  pcd_scan_start, called right after the publish's write
 * transaction began, reads the chain in a read transaction of its own
 * (which sees what the write transaction started from: no other write
 * can commit meanwhile) on a thread of its own, from the snapshot's record
 * `from` on, and stops at the first record that differs from what LMDB
 * holds: a key missing, a value changed, or a key between two records
 * that the snapshot lacks.  The diff, once it reaches record `from` with
 * its cursor on that record's key, skips to where the scan stopped.
 *
 * NULL when the snapshot is too small to gain, or there is no thread or
 * memory: the diff then walks every record itself. */
typedef struct pcd_scan pcd_scan;
pcd_scan *pcd_scan_start(MDB_env *env, MDB_dbi dbi, const pcd_snapshot *snap);

/* The record the scan starts at. */
size_t pcd_scan_from(const pcd_scan *sc);

/* Wait for the scan: records [from, result) are in LMDB, consecutive, with
 * equal values (result == from: none, or the scan failed). */
size_t pcd_scan_wait(pcd_scan *sc);

/* Wait for the scan if not yet waited for, and free it.  Accepts NULL.
 * Must be called before the write transaction ends or the map is resized
 * (the scan's read transaction is over once it returns). */
void pcd_scan_free(pcd_scan *sc);

#endif
