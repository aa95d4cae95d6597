/* store_table.h - the daemon's writes of the chains' lookup tables (pc_table.h), inside the transactions that change the chains' keys. */
#ifndef PCD_STORE_TABLE_H
#define PCD_STORE_TABLE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "pc_format.h"
#include "snapshot.h"
#include "table_encode.h"

/* The keys a transaction changed, in the order it changed them: each key's
 * suffix after "chain\0" and its new price, or none when deleted.  Past
 * `max` changes it only says so (`over`): rebuilding the table is then
 * cheaper than rewriting segment after segment. */
typedef struct pcd_tab_log {
    uint8_t *bytes;
    size_t   len, cap, n, max;
    int      over;    /* more than max changes, or out of memory */
} pcd_tab_log;

void pcd_tab_log_init(pcd_tab_log *l, size_t max);
void pcd_tab_log_free(pcd_tab_log *l);
/* val NULL: the key was deleted. */
void pcd_tab_log_add(pcd_tab_log *l, const uint8_t *suffix, size_t klen, const pc_price_rec *val);

/* What a table write did, for the publish's log line. */
typedef struct pcd_tab_stats {
    int      how;        /* PCD_TAB_* */
    uint64_t segs_written;
    uint64_t us;
} pcd_tab_stats;
enum { PCD_TAB_NONE = 0, PCD_TAB_KEPT, PCD_TAB_UPDATED, PCD_TAB_BUILT, PCD_TAB_DROPPED };
const char *pcd_tab_how_name(int how);

/* 1 when a publish of snap will build the chain's table whatever the diff
 * finds: it has none, a damaged one, or one far from snap's size. */
int pcd_tab_needs_build(MDB_txn *txn, MDB_dbi dbi, const pcd_snapshot *snap);
/* 1 when a publish that changes none of the chain's n rows keeps its
 * table as it is (PCD_TAB_KEPT): there is one, whole, sized for n, of n
 * entries. */
int pcd_tab_keeps(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen, uint64_t n);

/* After a publish's diff in `txn` (the chain's keys now hold exactly
 * snap's rows; `changed` the keys the diff changed, rows_changed how many):
 * leave the table when nothing changed, rewrite the segments of the
 * changed keys, or build the table anew from snap (with prep's segments
 * when given).  An LMDB code (or ENOMEM).  A table found damaged is built
 * anew. */
int pcd_tab_publish(MDB_txn *txn, MDB_dbi dbi, const pcd_snapshot *snap,
                    const pcd_tab_log *changed, uint64_t rows_changed, uint64_t version,
                    pcd_tab_prep *prep, pcd_tab_stats *ts);
/* After a delta in `txn`: rewrite the segments of the changed keys.  A
 * chain without a table is left so; a table found damaged, or whose
 * changes did not fit the log, is dropped (the B-tree answers until the
 * next load builds it).  An LMDB code or ENOMEM. */
int pcd_tab_delta(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen,
                  const pcd_tab_log *changed, uint64_t version, pcd_tab_stats *ts);
/* Remove the chain's table (header and segments). */
int pcd_tab_remove(MDB_txn *txn, MDB_dbi dbi, const char *chain, size_t clen);

#endif
