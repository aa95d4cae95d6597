/* pc_reader_internal.h - reader calls shared by the CLI and the console; not installed, not exported. */
#ifndef PC_READER_INTERNAL_H
#define PC_READER_INTERNAL_H

#include <stdint.h>

#include "pc_format.h"
#include "pricecache.h"

/* The full metadata record of a chain.  PC_OK, PC_ENOCHAIN, PC_EINVAL, ... */
int pc_reader_meta(pc_reader *r, const char *chain, pc_meta_rec *out);

/* The daemon record.  PC_NOTFOUND when the daemon never wrote one. */
int pc_reader_daemon(pc_reader *r, pc_daemon_rec *out);

/* Every key of one chain in one read transaction (base keys, then store
 * keys, in key order); `cb` returning non-zero stops the scan and that
 * value is returned.  The transaction stays open for the scan. */
int pc_reader_scan(pc_reader *r, const char *chain,
                   int (*cb)(void *ctx, const pc_key_view *k, const pc_price_rec *v),
                   void *ctx);

/* Map bytes used and mapped, reader slots used and available. */
int pc_reader_env_info(pc_reader *r, uint64_t *map_used, uint64_t *map_size,
                       unsigned *readers_used, unsigned *readers_max);

#endif
