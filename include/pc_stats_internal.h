/* pc_stats_internal.h - the shared lookup statistics area (stats.shm): layout, and the counting calls the reader inlines; not installed.
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

/* A process's attachment to one environment's area (one per LMDB handle
 * in the process); NULL when statistics are off there. */
typedef struct pc_stats_proc pc_stats_proc;

/* One thread's counting state for one reader; lives in the reader's
 * per-thread slot.  line == NULL: not counting. */
typedef struct pc_stats_tl {
    pc_stats_line *line;
    pc_stats_slot *slot;
    pc_stats_proc *proc;
    uint32_t       tick;    /* lookups since the last timed one */
    int            shared;  /* line is the shared overflow line */
    int            idx;     /* line index, to give it back */
} pc_stats_tl;

/* Daemon: create <dir>/stats.shm (mode 0660) or keep a valid one.  A file of
 * another format is replaced (by rename: processes that mapped the old one
 * keep writing to the unlinked file, harmlessly).  PC_OK, or PC_EIO with
 * the cause in err. */
int pc_stats_create(const char *dir, char *err, size_t errlen);

/* Attach this process to <dir>/stats.shm and claim a slot.  NULL when
 * statistics are off (PRICECACHE_STATS=0, no file, no write access, no
 * slot free): never an error for the caller. */
pc_stats_proc *pc_stats_attach(const char *dir);
/* Give the slot back (its counts stay) and unmap.  Accepts NULL. */
void pc_stats_detach(pc_stats_proc *p);

/* Is counting wanted by this process (PRICECACHE_STATS not "0")?  Read at
 * each pc_open. */
int pc_stats_wanted(void);

/* Give a thread a line of p (tl zeroed when p is NULL); give it back. */
void pc_stats_tl_init(pc_stats_tl *tl, pc_stats_proc *p);
void pc_stats_tl_release(pc_stats_tl *tl);

/* Monotonic nanoseconds. */
uint64_t pc_stats_now_ns(void);
/* Record one timed lookup of `ns` nanoseconds. */
void pc_stats_sample(pc_stats_tl *tl, uint64_t ns);

/* The latency bucket of `ns` (exposed for the tests). */
static inline int pc_stats_bucket(uint64_t ns)
{
    if (ns < 128)
        return 0;
    int b = 64 - __builtin_clzll(ns) - 7; /* [2^(b+6), 2^(b+7)) -> b */
    return b < (int)PC_STATS_BUCKETS - 1 ? b : (int)PC_STATS_BUCKETS - 1;
}

/* Start of a lookup: a timestamp when this one is sampled, else 0. */
static inline uint64_t pc_stats_begin(pc_stats_tl *tl)
{
    if (__builtin_expect(tl->line == NULL, 0))
        return 0;
    if (__builtin_expect(++tl->tick < PC_STATS_SAMPLE, 1))
        return 0;
    tl->tick = 0;
    return pc_stats_now_ns();
}

static inline void pc_stats_bump(const pc_stats_tl *tl, _Atomic uint64_t *c, uint64_t n)
{
    if (__builtin_expect(!tl->shared, 1))
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Count n lookups that ended with hits / misses / errors; t0 from
 * pc_stats_begin, timing `per` lookups (pc_get_many: the whole call). */
static inline void pc_stats_add(pc_stats_tl *tl, uint64_t hits, uint64_t misses,
                                uint64_t errors, uint64_t t0, uint64_t per)
{
    pc_stats_line *l = tl->line;
    if (!l)
        return;
    if (hits)
        pc_stats_bump(tl, &l->hits, hits);
    if (misses)
        pc_stats_bump(tl, &l->misses, misses);
    if (errors)
        pc_stats_bump(tl, &l->errors, errors);
    if (__builtin_expect(t0 != 0, 0) && per)
        pc_stats_sample(tl, (pc_stats_now_ns() - t0) / per);
}

/* One lookup that answered rc. */
static inline void pc_stats_count(pc_stats_tl *tl, int rc, uint64_t t0)
{
    pc_stats_line *l = tl->line;
    if (!l)
        return;
    pc_stats_bump(tl, rc == PC_OK ? &l->hits : rc == PC_NOTFOUND ? &l->misses : &l->errors, 1);
    if (__builtin_expect(t0 != 0, 0))
        pc_stats_sample(tl, pc_stats_now_ns() - t0);
}

#endif
