/* reader_int.h - the reader's own layout, shared by its two files: env.c (environments, per-thread slots, open and close) and reader.c (the lookups); not installed, not exported.
 *
 * The hot path (begin_read, end_read) is inline here so that pc_get in
 * reader.c pays no call into env.c unless a thread is new or LMDB asks for
 * the slow path.
 */
#ifndef PC_READER_INT_H
#define PC_READER_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "fork.h"
#include "pc_table.h"
#include "pricecache.h"
#include "stats.h"

#define READER_MAGIC 0x70637264u /* "pcrd" */
#define DEAD_MAGIC   0x64656164u /* "dead" */

/* Varnish miniobj style: debug builds catch use-after-close and stray
 * pointers at the API boundary; release builds keep only the NULL check so
 * the hot path stays one load shorter. */
#ifdef NDEBUG
#define READER_BAD(r) ((r) == NULL)
#else
#define READER_BAD(r) ((r) == NULL || (r)->magic != READER_MAGIC)
#endif

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The reader table is sized by the first process to open the environment;
 * if a client happens to be first (daemon stopped), it must not shrink the
 * table below what the daemon asks for by default. */
#define CLIENT_MAX_READERS 4096

/* A daemon that keeps growing the map faster than we adopt it is not worth
 * chasing forever. */
#define MAX_RESIZES 16

/* Not an LMDB code: "no transaction to renew yet, begin one". */
#define RC_BEGIN (-1)

/* Where a thread last found one segment of a chain's lookup table
 * (pc_table.h): valid while the header shows generation `gen` for it and,
 * for a segment too short to sit in overflow pages of its own, only in
 * snapshot `id`. */
typedef struct tab_ref {
    pc_tab_segv v;            /* v.p NULL: not located */
    uint64_t    gen;
    uint64_t    id;
} tab_ref;

/* A thread's view of one chain's table (client/table_cache.c). */
typedef struct tab_cache {
    uint64_t    id;           /* snapshot the header was read in; 0: unused */
    uint64_t    used;         /* the slot's tick at its last use */
    uint32_t    clen;
    char        chain[PC_CHAIN_MAX];
    int         has;          /* the chain has a table in snapshot id */
    uint32_t    segbits;
    const uint8_t *gens;      /* the header's generations, valid in id */
    tab_ref    *refs;         /* 2^segbits of them (malloc'ed), or NULL */
    size_t      nrefs;
} tab_cache;

/* Chains a thread keeps tables for at once; a fifth replaces the one
 * least recently used. */
#define TAB_CACHES 4

/* One per (thread, reader): the thread's reusable read transaction and a
 * mutex the thread holds during each call.  Only a map resize contends for
 * it (LMDB allows mdb_env_set_mapsize only with no transaction active in
 * the process), so the hot path pays an uncontended lock on a line no other
 * thread writes: a "big reader lock".  Cache-line aligned for that reason. */
typedef struct tslot {
    _Alignas(64) pthread_mutex_t mu;
    MDB_txn           *txn;   /* reset between calls; NULL until first use */
    int                dead;  /* a remap failed: the map is gone */
    struct pc_reader  *r;     /* whose pthread key points here */
    unsigned           gen;   /* pc_fork_gen when made: another value means
                                 this is a forked child's copy of a parent's
                                 slot, never to be touched (fork.h) */
    uint64_t           seen;  /* the transaction id the hot path need not
                                 check again; 0 after a refusal, so that
                                 the next call checks (env.c) */
    uint64_t           floor; /* the newest id checked against data.mdb:
                                 ids never go back below it */
    pthread_t          owner;
    struct tslot      *next, *prev; /* in penv.slots, under g_mu */
    pc_stats_tl        st;    /* this thread's lookup counters (stats.c) */
    uint64_t           tab_tick;
    tab_cache          tabs[TAB_CACHES]; /* under mu, like txn */
} tslot;

/* One per environment open in the process.  LMDB forbids two handles on
 * one environment in a process: a second mdb_env_open re-initialises the
 * lock table when no other process holds it (the first handle's live
 * reader slots are forgotten and handed out again), and closing either
 * clears the other's slots and drops its fcntl locks.  So readers of the
 * same files share one MDB_env. */
typedef struct penv {
    MDB_env     *env;         /* NULL: abandoned after a fork, reopen */
    char        *path;        /* to reopen it in a forked child */
    unsigned     gen;         /* pc_fork_gen of env */
    dev_t        dev;
    ino_t        ino;
    unsigned     refs;
    int          broken;      /* a remap failed; every later call is PC_EIO */
    tslot       *slots;       /* of every reader on this env; under g_mu */
    pc_stats_proc *stats;     /* the process's statistics slot; NULL: off */
    size_t       tab_min;     /* pc_tab_min_bytes of the map's page size */
    struct penv *next;
} penv;

struct pc_reader {
    uint32_t      magic;
    MDB_dbi       dbi;
    pthread_key_t key;
    MDB_env      *env;        /* copy of pe->env for the hot path */
    penv         *pe;
    int           count;      /* count lookups (PRICECACHE_STATS at pc_open) */
    int           tables;     /* use the lookup tables (PRICECACHE_TABLES at pc_open) */
};

/* This thread's table of `chain` in its open transaction (s->mu held, the
 * snapshot's id in s->seen): NULL when the chain has none there (a format
 * 1 cache, or not loaded since the conversion: the B-tree answers).  On a
 * damaged header *rc gets PC_EFORMAT (client/table_cache.c). */
tab_cache *pc_tab_find(const pc_reader *r, tslot *s, const char *chain, size_t clen, int *rc);
/* The checked segment `seg` of tc: PC_OK with *out, or an error. */
int pc_tab_segment(const pc_reader *r, tslot *s, tab_cache *tc, uint32_t seg,
                   const pc_tab_segv **out);
/* Forget every address a slot keeps (the map moved) / free them. */
void pc_tab_forget(tslot *s);
void pc_tab_free(tslot *s);

/* A thread's first call on a reader (or its first after a fork): its slot,
 * registered in the environment's list (env.c). */
int pc_slot_new(pc_reader *r, tslot **out);
/* The transaction could not simply be renewed (rc: LMDB's code, or RC_BEGIN
 * for "none yet"): begin one, adopt a grown map, clear dead readers' slots.
 * Called and returns with s->mu held on PC_OK, released otherwise (env.c). */
int pc_begin_slow(pc_reader *r, tslot *s, int rc);
/* The transaction began with an id this slot has not checked yet (a
 * publish since its last call, or its first call): the id comes from
 * lock.mdb, which any member can write, so hold it to data.mdb's last
 * commit before reading (env.c).  Entered with s->mu held and the
 * transaction active; on PC_EFORMAT both are released. */
int pc_txnid_slow(pc_reader *r, tslot *s, uint64_t id);

/* Start this thread's read transaction.  On PC_OK, s->mu is held and
 * end_read must follow on every path.  *out is set whenever the thread has
 * a slot, also on failure, so that the failure can be counted.  A lookup
 * passes t0: the start of the timing when this one is sampled, else 0. */
static inline int begin_read_t(pc_reader *r, tslot **out, uint64_t *t0)
{
    tslot *s = pthread_getspecific(r->key);
    /* One load and compare detects a fork (fork.h): no getpid here. */
    if (UNLIKELY(!s || s->gen != pc_fork_gen)) {
        int rc = pc_slot_new(r, &s);
        if (rc != PC_OK)
            return rc;
    }
    *out = s;
    if (t0)
        *t0 = pc_stats_begin(&s->st);
    pthread_mutex_lock(&s->mu);
    int rc = LIKELY(s->txn != NULL) ? mdb_txn_renew(s->txn) : RC_BEGIN;
    if (UNLIKELY(rc != MDB_SUCCESS) && (rc = pc_begin_slow(r, s, rc)) != PC_OK)
        return rc;
    /* One call and a compare per lookup; the check itself runs once per
     * new snapshot and thread. */
    uint64_t id = (uint64_t)mdb_txn_id(s->txn);
    if (UNLIKELY(id != s->seen))
        return pc_txnid_slow(r, s, id);
    return PC_OK;
}

static inline int begin_read(pc_reader *r, tslot **out)
{
    return begin_read_t(r, out, NULL);
}

/* A lookup refused before any read (bad argument): counted as an error
 * when this thread already counts on this reader. */
static inline void count_refused(pc_reader *r, uint64_t n)
{
    tslot *s = pthread_getspecific(r->key);
    if (s && s->gen == pc_fork_gen)
        pc_stats_add(&s->st, 0, 0, n, 0, 0);
}

/* Never leave a transaction active between calls: a live one pins pages
 * and makes the file grow under the writer. */
static inline void end_read(tslot *s)
{
    mdb_txn_reset(s->txn);
    pthread_mutex_unlock(&s->mu);
}

#endif /* PC_READER_INT_H */
