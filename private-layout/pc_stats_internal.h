/* pc_stats_internal.h - the layout of the shared lookup statistics area (stats.shm), shared by the daemon (creates it) and libpricecache (counts, sums); not installed.
 *
 * Only the layout and the one call the daemon makes live here; the
 * counting machinery is the library's own (client/stats.h), so this
 * header depends on nothing in client/.
 *
 * Layout (native endianness and alignment: the area never leaves the host):
 *
 *   header   one 64-byte line: magic, version, geometry
 *   slot[PC_STATS_SLOTS], each:
 *     owner    (process start time << 22) | pid; 0 when free.  Claimed and
 *              given back by compare-and-swap, so a reused pid (another
 *              start time) is never mistaken for the owner.
 *     latency  PC_STATS_BUCKETS counters, fetch-and-add (1 lookup in 64)
 *     line[PC_STATS_LINES]  hits, misses, errors: one cache line per
 *              thread.  A thread that owns a line adds with a plain
 *              load and store (one writer); the last line is shared by the
 *              threads that found none free and adds atomically.
 *
 * Counters are cumulative per slot and never reset: a slot taken over
 * from a dead process keeps its counts and the new owner adds to them, so
 * the sums over all slots never go backwards and no separate "retired"
 * total (with its fold-and-zero race against readers) is needed.
 */
#ifndef PC_STATS_INTERNAL_H
#define PC_STATS_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pricecache.h"

#define PC_STATS_MAGIC   0x3173746174736370ull /* "pcstats1" */
#define PC_STATS_VERSION 1u
#define PC_STATS_SLOTS   256u
#define PC_STATS_LINES   16u
#define PC_STATS_SAMPLE  64u  /* one lookup in this many is timed */
#define PC_STATS_FILE    "stats.shm"

typedef struct pc_stats_line {
    _Alignas(64) _Atomic uint64_t hits;
    _Atomic uint64_t misses, errors;
} pc_stats_line;

typedef struct pc_stats_slot {
    _Alignas(64) _Atomic uint64_t owner;
    _Atomic uint64_t latency[PC_STATS_BUCKETS];
    pc_stats_line    line[PC_STATS_LINES];
} pc_stats_slot;

typedef struct pc_stats_header {
    _Alignas(64) uint64_t magic;
    uint32_t version, nslots, nlines, slot_size;
    uint64_t size;  /* of the whole file */
} pc_stats_header;

#define PC_STATS_SIZE (sizeof(pc_stats_header) + PC_STATS_SLOTS * sizeof(pc_stats_slot))

/* Daemon: create <dir>/stats.shm (mode 0660) or keep a valid one.  A file of
 * another format is replaced (by rename: processes that mapped the old one
 * keep writing to the unlinked file, harmlessly).  PC_OK, or PC_EIO with
 * the cause in err. */
int pc_stats_create(const char *dir, char *err, size_t errlen);

/* The latency bucket of `ns` (exposed for the tests). */
static inline int pc_stats_bucket(uint64_t ns)
{
    if (ns < 128)
        return 0;
    int b = 64 - __builtin_clzll(ns) - 7; /* [2^(b+6), 2^(b+7)) -> b */
    return b < (int)PC_STATS_BUCKETS - 1 ? b : (int)PC_STATS_BUCKETS - 1;
}

#endif
