/* reader_private.h - the reader's calls that libpricecache's own files share (meta, scans, baskets, admin); not installed, not exported.
 *
 * Same rules as pricecache.h: thread-safe, PC_* codes, nothing printed.
 * They live in libpricecache because they need the reader's per-thread
 * transactions; the shared library keeps them hidden (no visibility
 * attribute).  Programs use the public calls built on them (pricecache.h,
 * "Administration"); the unit tests and benchmarks may include this header.
 */
#ifndef PC_READER_PRIVATE_H
#define PC_READER_PRIVATE_H

#include <lmdb.h>
#include <stdint.h>

#include "pc_format.h"
#include "pricecache.h"

/* ---- the reader's transaction, for the library's other files ---------- */

/* This thread's read transaction on a reader (client/reader.c).  Between
 * pc_rtxn_begin (PC_OK) and pc_rtxn_end the thread holds its slot lock:
 * read, copy, end; no I/O, no other libpricecache call in between. */
typedef struct pc_rtxn {
    MDB_txn *txn;
    MDB_dbi  dbi;
    MDB_env *env;
    void    *slot;   /* the reader's; not for callers */
} pc_rtxn;

/* PC_OK, PC_EINVAL (NULL or closed reader), PC_ENOMEM, PC_EOVERLOADED,
 * PC_EIO. */
int  pc_rtxn_begin(pc_reader *r, pc_rtxn *t);
void pc_rtxn_end(pc_rtxn *t);
/* A chain's metadata in the transaction: PC_OK, PC_ENOCHAIN, PC_EFORMAT,
 * PC_EIO. */
int  pc_rtxn_meta(const pc_rtxn *t, const char *chain, size_t clen, pc_meta_rec *out);
/* 1 when `chain` is a valid slug; its length in *len. */
int  pc_chain_arg(const char *chain, size_t *len);

/* Every record whose key begins with prefix, in key order, inside an open
 * transaction: cb's non-zero answer stops the scan and is returned
 * (client/scan.c). */
typedef int (*pc_raw_scan_cb)(void *ctx, const void *key, size_t klen, const void *val,
                              size_t vlen);
int pc_rtxn_scan(const pc_rtxn *t, const void *prefix, size_t plen, pc_raw_scan_cb cb,
                 void *ctx);

/* ---- whole records (client/meta.c) ------------------------------------ */

/* The full metadata record of a chain (pc_chain_read is its public form).
 * PC_OK, PC_ENOCHAIN, PC_EINVAL (bad slug), PC_EFORMAT (record too short),
 * PC_EOVERLOADED, PC_EIO. */
int pc_reader_meta(pc_reader *r, const char *chain, pc_meta_rec *out);

/* The daemon record.  PC_NOTFOUND when no daemon ever wrote one; PC_EFORMAT
 * when it cannot be decoded. */
int pc_reader_daemon(pc_reader *r, pc_daemon_rec *out);

/* Map bytes in use (up to the last page of the newest snapshot) and mapped
 * by this process, reader slots in use (by every process) and in the
 * table.  Any pointer may be NULL.  PC_OK, PC_EINVAL, PC_EOVERLOADED,
 * PC_EIO. */
int pc_reader_env_info(pc_reader *r, uint64_t *map_used, uint64_t *map_size,
                       unsigned *readers_used, unsigned *readers_max);

/* ---- scans in one transaction (client/scan.c) ------------------------- */

/* Every key of one chain in one read transaction: base keys, then store
 * keys, each in key order (base by item; store by store, then item).
 * `cb` returning non-zero stops the scan and that value is returned.
 * PC_ENOCHAIN when the chain has no metadata record.
 *
 * The transaction stays open for the whole scan: it pins the pages of that
 * version and holds this thread's slot lock.  For tests and benchmarks
 * that want one version whole; programs use pc_scan, which does not pin.
 * `cb` must not call into libpricecache. */
int pc_reader_scan(pc_reader *r, const char *chain,
                   int (*cb)(void *ctx, const pc_key_view *k, const pc_price_rec *v),
                   void *ctx);

/* Every record whose key begins with `prefix`, in key order, in one read
 * transaction (global records: "\0E" endpoints, "\0A" audit).  `cb`
 * returning non-zero stops the scan and that value is returned; it must
 * not call into libpricecache.  PC_OK, PC_EINVAL, PC_EOVERLOADED, PC_EIO. */
int pc_reader_prefix_scan(pc_reader *r, const void *prefix, size_t plen,
                          pc_raw_scan_cb cb, void *ctx);

/* ---- one transaction for many lookups (client/reader.c) --------------- */

/* One read transaction on one chain, for callers whose many lookups must
 * all come from one version of it (baskets). */
#define PC_TXN_EXCEPTION_ONLY 0x1u /* pc_txn_view.lookup: no base fallback */

typedef struct pc_txn_view pc_txn_view;
struct pc_txn_view {
    pc_meta_rec meta;  /* the chain's metadata, read in the transaction */
    /* price(chain, store, item) in the transaction, as pc_get answers it
     * (store NULL or "" for the base price only); with
     * PC_TXN_EXCEPTION_ONLY in `flags`, only the store's exception
     * (PC_NOTFOUND for a NULL or "" store).  PC_OK, PC_NOTFOUND, PC_EINVAL
     * (NULL, empty or over-long id), PC_EFORMAT, PC_EIO. */
    int (*lookup)(const pc_txn_view *v, const char *store, const char *item,
                  unsigned flags, pc_price *out);
    const void *impl;  /* the reader's; not for callers */
};

/* Begin a read transaction, read the chain's metadata into a view, call
 * fn(ctx, view), end the transaction, and return what fn returned.
 * PC_ENOCHAIN (fn is not called), PC_EINVAL, PC_EFORMAT, PC_EOVERLOADED,
 * PC_EIO.  The view is valid only during fn.  Like a pc_reader_scan
 * callback, fn holds this thread's slot lock and pins the version: copy
 * what you need and return (no search, no I/O), and do not call into
 * libpricecache from it. */
int pc_reader_with_txn(pc_reader *r, const char *chain,
                       int (*fn)(void *ctx, const pc_txn_view *v), void *ctx);

#endif
