/* pc_reader_internal.h - reader calls shared by the CLI and the console; not installed, not exported.
 *
 * Same rules as pricecache.h: thread-safe, PC_* codes, nothing printed.
 * They live in libpricecache (client/reader.c) because they need the
 * reader's per-thread transactions; the shared library keeps them hidden
 * (no visibility attribute), so only the static archive reaches them.
 */
#ifndef PC_READER_INTERNAL_H
#define PC_READER_INTERNAL_H

#include <stdint.h>

#include "pc_format.h"
#include "pricecache.h"

/* The full metadata record of a chain (pc_chain_info gives the stable
 * subset).  PC_OK, PC_ENOCHAIN, PC_EINVAL (bad slug), PC_EFORMAT (record
 * too short), PC_EOVERLOADED, PC_EIO. */
int pc_reader_meta(pc_reader *r, const char *chain, pc_meta_rec *out);

/* The daemon record.  PC_NOTFOUND when no daemon ever wrote one; PC_EFORMAT
 * when it cannot be decoded. */
int pc_reader_daemon(pc_reader *r, pc_daemon_rec *out);

/* Every key of one chain in one read transaction: base keys, then store
 * keys, each in key order (base by item; store by store, then item).
 * `cb` returning non-zero stops the scan and that value is returned.
 * PC_ENOCHAIN when the chain has no metadata record.
 *
 * The transaction stays open for the whole scan: it pins the pages of that
 * version (the file may grow meanwhile) and it holds this thread's slot
 * lock, so a map resize in the process waits for the scan to end.  Fine for
 * a dump; not for a loop.  `cb` must not call into libpricecache. */
int pc_reader_scan(pc_reader *r, const char *chain,
                   int (*cb)(void *ctx, const pc_key_view *k, const pc_price_rec *v),
                   void *ctx);

/* Map bytes in use (up to the last page of the newest snapshot) and mapped
 * by this process, reader slots in use (by every process) and in the
 * table.  Any pointer may be NULL.  PC_OK, PC_EINVAL, PC_EOVERLOADED,
 * PC_EIO. */
int pc_reader_env_info(pc_reader *r, uint64_t *map_used, uint64_t *map_size,
                       unsigned *readers_used, unsigned *readers_max);

#endif
