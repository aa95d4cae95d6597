/* pricecache.h - in-process, lock-free reads of the prices pricecached publishes.
 *
 * libpricecache opens the LMDB environment that the pricecached daemon
 * writes (one snapshot per retail chain) read-only, and answers price
 * lookups from it in about a microsecond, with no network hop and no lock
 * shared with other readers or with the writer.
 *
 * Lookup semantics
 *
 *   price(chain, store, item) = the store's exception if one exists, else
 *   the chain's base price, else PC_NOTFOUND.  A store of NULL or "" asks for
 *   the base price only.  A chain that is unknown to the cache (never loaded,
 *   deleted or deactivated in the source) answers PC_ENOCHAIN, which is
 *   distinct from PC_NOTFOUND.
 *
 * Consistency
 *
 *   Every call reads one version of one chain: pc_get_many answers all its
 *   items from the same version, even while the daemon publishes a new one.
 *   The daemon publishes a chain by committing one LMDB write transaction,
 *   so a reader sees the whole old version or the whole new one.
 *
 * Errors
 *
 *   Every call that can fail returns PC_OK (0) or one of the negative PC_*
 *   codes below; pc_strerror() names each.  PC_NOTFOUND is an ordinary
 *   answer, not a failure.  The library never prints, logs, exits or aborts.
 *
 * Threads
 *
 *   A pc_reader may be shared by any number of threads.  Each thread that
 *   uses a reader takes one LMDB reader slot, kept (idle, pinning nothing)
 *   until the thread exits or the reader is closed.  No read transaction is
 *   left open between calls, so a reader never stops the writer from
 *   reusing pages.
 *
 * Caveats (read these)
 *
 *   - Do not use a pc_reader in a child after fork(): open a new one there.
 *   - The environment must be on a local filesystem; LMDB does not work over
 *     NFS or other network filesystems.
 *   - The reader table has a fixed number of slots, set by the daemon when it
 *     creates the environment ([cache] max_readers).  Slots of processes
 *     that died are reclaimed when pc_open runs and when the table is full;
 *     if it is still full, calls return PC_EOVERLOADED.
 *   - The calling process needs write access to lock.mdb (group
 *     "pricecache") but only read access to data.mdb.
 *   - pc_close must not run while another thread is inside a call on the
 *     same reader.
 *   - LMDB forbids opening one environment twice in a process; readers of
 *     the same directory therefore share one LMDB handle inside the
 *     library, and opening it several times is safe.
 *   - When the daemon grows the map, each process adopts the new size at
 *     its next call; that briefly waits for the calls in flight in the
 *     process to end (microseconds).
 */
#ifndef PRICECACHE_H
#define PRICECACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden; what is declared here is
 * its whole exported interface. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* Return codes.  PC_OK is 0; errors are negative, in a band (-7000..-7099)
 * that collides neither with errno values nor with LMDB's codes. */
enum {
    PC_OK          = 0,
    PC_NOTFOUND    = -7001, /* no price for this item (nor base nor exception) */
    PC_ENOCHAIN    = -7002, /* the chain is not in the cache */
    PC_ENOTREADY   = -7003, /* the environment does not exist yet or the daemon
                               has not finished its first load */
    PC_EOVERLOADED = -7004, /* no LMDB reader slot free, even after clearing
                               the slots of dead processes */
    PC_EINVAL      = -7005, /* an argument is invalid (NULL, empty, too long) */
    PC_EIO         = -7006, /* the environment could not be read */
    PC_ETIMEDOUT   = -7007, /* the wait ended before the condition held */
    PC_EFORMAT     = -7008, /* the environment has a format this library does
                               not know (newer daemon, or not a pricecache
                               environment): upgrade the library */
    PC_ENOMEM      = -7009  /* memory could not be allocated */
};

/* Longest chain slug, store id and item id, in bytes.  Longer arguments
 * answer PC_EINVAL; the daemon rejects longer ids in the source. */
#define PC_CHAIN_MAX 64
#define PC_ID_MAX    200

/* pc_price.flags */
#define PC_PRICE_STORE 0x1u /* the price is the store's exception */

typedef struct pc_reader pc_reader;

typedef struct pc_price {
    int64_t  cents;       /* price in minor units */
    int64_t  updated_at;  /* unix seconds from the source row */
    uint32_t flags;       /* PC_PRICE_STORE when it came from a store exception */
} pc_price;

typedef struct pc_chain_meta {
    uint64_t version;     /* grows by one or more with every publish */
    int64_t  loaded_at;   /* unix milliseconds of the publish */
    uint64_t base_rows, store_rows;
    int64_t  avg_cents;   /* mean base price, for missing-item penalties */
    int      breaker;     /* 0 closed, 1 open, 2 half-open */
} pc_chain_meta;

/* Breaker states, as in pc_chain_meta.breaker. */
enum { PC_BREAKER_CLOSED = 0, PC_BREAKER_OPEN = 1, PC_BREAKER_HALF_OPEN = 2 };

/* pc_open - open the environment in directory `path` read-only.
 *
 *   path  in   the cache directory ([cache] path of the daemon, typically
 *              /var/lib/pricecache).
 *   out   out  the new reader; set to NULL on failure.
 *
 * Returns PC_OK; PC_EINVAL (NULL argument); PC_ENOTREADY (no environment
 * there yet, or the daemon is creating it — retry later); PC_EFORMAT
 * (unknown format: do not retry, upgrade the library); PC_EIO (the
 * directory or its files could not be opened: check the path and that the
 * process is in the "pricecache" group); PC_ENOMEM.
 *
 * Clears the reader slots of dead processes.  The reader is released by
 * pc_close.  Thread-safe.
 */
int pc_open(const char *path, pc_reader **out);

/* pc_close - release a reader and every reader slot its threads held
 * (threads that used it may live on).  Accepts NULL.  No other thread may
 * be inside a call on `r`; `r` is invalid afterwards. */
void pc_close(pc_reader *r);

/* pc_get - the price of one item.
 *
 *   chain  in   chain slug, 1..PC_CHAIN_MAX bytes.
 *   store  in   store id, or NULL / "" for the chain's base price only.
 *   item   in   item id, 1..PC_ID_MAX bytes.
 *   out    out  the price; left untouched unless PC_OK is returned.
 *
 * Returns PC_OK; PC_NOTFOUND (the chain is loaded but has no price for the
 * item); PC_ENOCHAIN (the chain is not in the cache); PC_EINVAL (NULL or
 * over-long argument); PC_EOVERLOADED (no reader slot: retry later, or
 * raise [cache] max_readers); PC_EIO.  Never blocks on the daemon, the
 * database or the bus.  Thread-safe.
 */
int pc_get(pc_reader *r, const char *chain, const char *store,
           const char *item, pc_price *out);

/* pc_get_many - the prices of n items of one chain, all from one version.
 *
 *   chain, store  as for pc_get.
 *   n             number of items; 0 is allowed: only the arguments are
 *                 checked, the environment is not read.
 *   items  in     n item ids.
 *   out    out    n prices; out[i] is set when status[i] == PC_OK.
 *   status out    n codes: PC_OK, PC_NOTFOUND, or PC_EINVAL for an item id
 *                 that is NULL, empty or over-long.
 *
 * Returns PC_OK when the chain was read (whatever the per-item statuses);
 * PC_ENOCHAIN, PC_EINVAL (bad chain/store or NULL arrays with n > 0),
 * PC_EOVERLOADED, PC_EIO as for pc_get, in which case status[] is filled
 * with that same code.  Thread-safe.
 */
int pc_get_many(pc_reader *r, const char *chain, const char *store, size_t n,
                const char *const items[], pc_price out[], int status[]);

/* pc_chain_info - the metadata of a chain's current snapshot.
 *
 * Returns PC_OK, PC_ENOCHAIN, PC_EINVAL, PC_EOVERLOADED, PC_EIO.
 * Thread-safe.
 */
int pc_chain_info(pc_reader *r, const char *chain, pc_chain_meta *out);

/* pc_chains - the slugs of every chain in the cache, in byte order.
 *
 *   out    out  a NULL-terminated array of strings in one allocation; the
 *               caller frees it with pc_free_chains (one call frees all).
 *   count  out  number of chains (may be NULL).
 *
 * Returns PC_OK, PC_EINVAL, PC_ENOMEM, PC_EOVERLOADED, PC_EIO.
 */
int  pc_chains(pc_reader *r, char ***out, size_t *count);
void pc_free_chains(char **chains);

/* pc_wait_ready - wait until the daemon has loaded every active chain once
 * (or marked it failed), or until every chain of a restarted daemon has a
 * snapshot on disk.
 *
 *   timeout_ms  <0 waits forever, 0 only checks.
 *
 * Returns PC_OK when ready; PC_ETIMEDOUT; PC_EINVAL (NULL reader);
 * PC_EOVERLOADED; PC_EIO.  Polls the environment every 5 ms, holding no
 * transaction in between; thread-safe.
 */
int pc_wait_ready(pc_reader *r, int timeout_ms);

/* pc_strerror - a static, human-readable text for any PC_* code; never
 * NULL, also for unknown codes. */
const char *pc_strerror(int rc);

/* pc_version - the library version, e.g. "0.1.0". Static string. */
const char *pc_version(void);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* PRICECACHE_H */
