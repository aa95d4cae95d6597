/* stats.h - libpricecache's private counting calls (client/stats.c): counters in private memory, written to the process's own file; the reader inlines them. */
#ifndef PC_CLIENT_STATS_H
#define PC_CLIENT_STATS_H

#include <stdatomic.h>

#include "pc_stats_internal.h"

/* One thread's counters, in the process's private memory.  A thread that
 * owns a line adds with a plain load and store (one writer); the last
 * line is shared by the threads that found none free and adds atomically.
 * Lines are never reset: a line given back keeps its counts for the next
 * thread, so the process's sums never go backwards. */
typedef struct pc_stats_line {
    _Alignas(64) _Atomic uint64_t hits;
    _Atomic uint64_t misses, errors;
    _Atomic uint64_t latency[PC_STATS_BUCKETS];
} pc_stats_line;

/* A process's attachment to one environment's statistics directory (one
 * per LMDB handle in the process); NULL when statistics are off there. */
typedef struct pc_stats_proc pc_stats_proc;

/* One thread's counting state for one reader; lives in the reader's
 * per-thread slot.  line == NULL: not counting. */
typedef struct pc_stats_tl {
    pc_stats_line *line;
    pc_stats_proc *proc;
    uint32_t       tick;    /* lookups since the last timed one */
    int            shared;  /* line is the shared overflow line */
    int            idx;     /* line index, to give it back */
} pc_stats_tl;

/* Create this process's file in <dir>/stats and lock it.  NULL when
 * statistics are off (PRICECACHE_STATS=0, no directory, a directory that
 * members could tamper with, no room): never an error for the caller. */
pc_stats_proc *pc_stats_attach(const char *dir);
/* Write the counts a last time, close the file (its lock goes: the daemon
 * folds it) and free.  Accepts NULL. */
void pc_stats_detach(pc_stats_proc *p);
/* In a forked child: the parent's attachment.  Close the inherited
 * descriptor without writing (the parent's file is the parent's) and free
 * nothing the parent's slots may still point at.  Accepts NULL. */
void pc_stats_forget(pc_stats_proc *p);

/* Write p's counts into its file now (flush) or unless another thread is
 * writing it (flush_try).  Nothing in a forked child for its parent's p. */
void pc_stats_flush(pc_stats_proc *p);
void pc_stats_flush_try(pc_stats_proc *p);

/* Is counting wanted by this process (PRICECACHE_STATS not "0")?  Read at
 * each pc_open. */
int pc_stats_wanted(void);

/* Give a thread a line of p (tl zeroed when p is NULL); give it back. */
void pc_stats_tl_init(pc_stats_tl *tl, pc_stats_proc *p);
void pc_stats_tl_release(pc_stats_tl *tl);

/* Monotonic nanoseconds. */
uint64_t pc_stats_now_ns(void);
/* Record one timed lookup that began at t0 and covered `per` lookups;
 * writes the process's file when PC_STATS_FLUSH_MS have passed. */
void pc_stats_sample(pc_stats_tl *tl, uint64_t t0, uint64_t per);

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
        pc_stats_sample(tl, t0, per);
}

/* One lookup that answered rc. */
static inline void pc_stats_count(pc_stats_tl *tl, int rc, uint64_t t0)
{
    pc_stats_line *l = tl->line;
    if (!l)
        return;
    pc_stats_bump(tl, rc == PC_OK ? &l->hits : rc == PC_NOTFOUND ? &l->misses : &l->errors, 1);
    if (__builtin_expect(t0 != 0, 0))
        pc_stats_sample(tl, t0, 1);
}

#endif
