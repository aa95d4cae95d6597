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
 *   A call that finds lock.mdb obviously corrupt (any member of the group
 *   can write it; pc_get lists the checks) refuses with PC_EFORMAT, at
 *   once: never another code, never after a wait; pc_errdetail names
 *   the check and the values.
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
 *   - fork(): a child may keep using a pc_reader opened in the parent
 *     (pre-fork servers, multiprocessing).  LMDB itself forbids using an
 *     environment after fork, so the library notices the fork (a
 *     pthread_atfork handler bumps a counter that each call compares, no
 *     system call) and on the child's first call opens a fresh handle on
 *     the same directory, transparently.  The inherited handle is left
 *     untouched, never closed (closing it would clear the parent's reader
 *     slots): the child keeps it, a few KiB, two mappings and three
 *     descriptors per environment, until it exits or execs.  The parent's
 *     reads are not disturbed.  pc_close in the child is fine.  Forking
 *     while another thread is inside pc_open waits for it (the library
 *     holds its one lock across fork).  A pc_sub is not covered: open a
 *     new subscriber in the child.
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
                               environment): upgrade the library; or its
                               lock file is obviously corrupt
                               (pc_errdetail) */
    PC_ENOMEM      = -7009, /* memory could not be allocated */
    PC_ENOITEMS    = -7010, /* a basket with no items */
    PC_EQUANTITY   = -7011, /* a basket line with a quantity of zero or less */
    PC_ETOOMANY    = -7012, /* a basket with more items or candidate stores
                               than PC_BASKET_MAX_ITEMS / _MAX_STORES */
    PC_EOVERFLOW   = -7013, /* an amount does not fit in int64_t cents */
    PC_EACCES      = -7014, /* the control socket cannot be reached for
                               permissions: not in the service group */
    PC_EREFUSED    = -7015, /* refused: the daemon answered a control request
                               with an error, or a load guard refused a load */
    PC_ETAMPERED   = -7016  /* the audit log's hash chain is broken
                               (pc_audit_verify) */
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
 * there yet, the daemon is creating it, or the system went down while the
 * daemon wrote it and the daemon has not rebuilt it yet — retry later); PC_EFORMAT
 * (unknown format: do not retry, upgrade the library; or a lock.mdb that
 * is obviously corrupt, pc_errdetail names it); PC_EIO (the
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
 * raise [cache] max_readers); PC_EFORMAT (a value of the wrong size, or
 * lock.mdb obviously corrupt: a reader count beyond the table before a
 * thread's first read, a transaction id beyond data.mdb's last commit or
 * below one the thread saw; pc_errdetail says which; nothing is read
 * then); PC_EIO.  Never blocks on the daemon, the database or the bus.
 * Thread-safe.
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
 *   status out    n codes: PC_OK, PC_NOTFOUND, PC_EINVAL for an item id
 *                 that is NULL, empty or over-long, or the error of an
 *                 item the cache could not answer (PC_EFORMAT: a value of
 *                 the wrong size, or the chain's lookup table damaged;
 *                 pc_errdetail(status[i]) says which, as for a failed
 *                 call).
 *
 * Returns PC_OK when the chain was read (whatever the per-item statuses);
 * PC_ENOCHAIN, PC_EINVAL (bad chain/store or NULL arrays with n > 0),
 * PC_EOVERLOADED, PC_EFORMAT (lock.mdb), PC_EIO as for pc_get, in which
 * case status[] is filled with that same code.  Thread-safe.
 */
int pc_get_many(pc_reader *r, const char *chain, const char *store, size_t n,
                const char *const items[], pc_price out[], int status[]);

/* pc_chain_info - the metadata of a chain's current snapshot.
 *
 * Returns PC_OK, PC_ENOCHAIN, PC_EINVAL, PC_EOVERLOADED, PC_EFORMAT (a
 * record too short to decode, or lock.mdb as for pc_get), PC_EIO.
 * Thread-safe.
 */
int pc_chain_info(pc_reader *r, const char *chain, pc_chain_meta *out);

/* pc_chains - the slugs of every chain in the cache, in byte order.
 *
 *   out    out  a NULL-terminated array of strings in one allocation; the
 *               caller frees it with pc_free_chains (one call frees all).
 *   count  out  number of chains (may be NULL).
 *
 * Returns PC_OK, PC_EINVAL, PC_ENOMEM, PC_EOVERLOADED, PC_EFORMAT (lock.mdb
 * as for pc_get), PC_EIO.
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
 * PC_EFORMAT at once, without waiting (lock.mdb obviously corrupt, as for
 * pc_get; pc_errdetail names it: waiting would not mend it); PC_EOVERLOADED;
 * PC_EIO.  A daemon record this library cannot decode is waited out like
 * a missing one.  Polls the environment every 5 ms, holding no
 * transaction in between; thread-safe.
 */
int pc_wait_ready(pc_reader *r, int timeout_ms);

/* pc_strerror - a static, human-readable text for any PC_* code; never
 * NULL, also for unknown codes. */
const char *pc_strerror(int rc);

/* pc_errdetail - for a code a call of this thread has just returned (or
 * put in a pc_get_many status), the library's more precise sentence when
 * that call recorded one, else pc_strerror(rc); never NULL.  Today a
 * detail is recorded when the library refuses shared state that is
 * obviously corrupt, e.g. PC_EFORMAT with "lock.mdb: reader count
 * 4294967295 beyond the table of 126 (lock file corrupt)".  Only the call
 * that recorded a sentence gives it: a later call failing with the same
 * code for another reason gets pc_strerror(rc).  PC_NOTFOUND never has
 * one.  Like errno: per thread, valid until the thread's next call into
 * the library; read it right after the failing call, on the same thread
 * (a binding whose calls may hop threads reads it inside the same native
 * call). */
const char *pc_errdetail(int rc);

/* pc_version - the library version, e.g. "0.1.0". Static string. */
const char *pc_version(void);

/* ---- Baskets -----------------------------------------------------------
 *
 * Price a whole shopping list on one chain in one call: at one store
 * (pc_basket_single), or at the cheapest one or few stores of several
 * (pc_basket_multi).  Every price of a basket comes from one read
 * transaction, hence from one version of the chain, which the result
 * names (pc_basket_result.version).  The read transaction ends before any
 * search starts: a slow search never pins the environment.
 *
 * Missing items
 *
 *   An item with no price where the basket is bought (neither an exception
 *   of the store nor a base price) is charged a penalty per unit: the
 *   chain's mean base price (pc_chain_meta.avg_cents) times
 *   pc_basket_opts.penalty_mult, rounded half away from zero, or
 *   pc_basket_opts.fallback_cents when the chain has no mean (no base rows,
 *   or a mean of 0).  The penalty is the cost of not finding the item: it
 *   counts in the total and in the choice of stores, and each penalised
 *   line says so (PC_LINE_PENALTY) with its amount.
 *
 * Choosing stores (pc_basket_multi)
 *
 *   At most max_stores of the candidate stores are visited; each item is
 *   bought at the visited store that prices it lowest, or penalised when
 *   none of them prices it.  The total to minimise is the sum of the lines,
 *   penalties included.  Adding a store can raise that total (an item
 *   found only there above its penalty), so fewer stores may win.
 *
 *   Exact search (branch and bound over store sets) runs when the basket
 *   has at most exact_max_items items and exact_max_stores candidates, and
 *   only as long as budget_ms allows (monotonic clock); otherwise a greedy
 *   search answers (add the store that lowers the total most, while one
 *   does).  The result names what answered: "optimal", "greedy" (the
 *   problem was too large for the exact search) or
 *   "greedy_timeout_fallback" (the budget ran out).  Ties go to fewer
 *   stores, then to the stores listed first; an item priced the same at
 *   two visited stores goes to the one listed first.
 *
 * Arithmetic
 *
 *   Amounts are int64_t cents; quantity × price and every sum are checked:
 *   a basket whose amounts would not fit answers PC_EOVERFLOW instead of a
 *   wrong total.
 */

/* Most items in one basket, and most candidate stores of pc_basket_multi.
 * Larger baskets answer PC_ETOOMANY. */
#define PC_BASKET_MAX_ITEMS  10000
#define PC_BASKET_MAX_STORES 128

/* Defaults of pc_basket_opts (pc_basket_opts_init). */
#define PC_BASKET_PENALTY_MULT    2.0
#define PC_BASKET_FALLBACK_CENTS  10000
#define PC_BASKET_VISIT_STORES    2
#define PC_BASKET_EXACT_ITEMS     10
#define PC_BASKET_EXACT_STORES    15
#define PC_BASKET_BUDGET_MS       100

/* One line of a basket request. */
typedef struct pc_basket_item {
    const char *item;  /* item id, 1..PC_ID_MAX bytes; an id may appear on
                          several lines, each is priced on its own */
    int64_t     qty;   /* units, > 0 */
} pc_basket_item;

/* Options; fill with pc_basket_opts_init, then change what you need. */
typedef struct pc_basket_opts {
    double   penalty_mult;     /* per-unit penalty = chain mean × this; >= 0,
                                  finite (default 2.0) */
    int64_t  fallback_cents;   /* per-unit penalty when the chain has no
                                  mean; >= 0 (default 10000) */
    unsigned max_stores;       /* pc_basket_multi: stores visited at most,
                                  >= 1 (default 2) */
    unsigned exact_max_items;  /* exact search only up to this many items
                                  (default 10; 0: always greedy) */
    unsigned exact_max_stores; /* ... and this many candidates (default 15) */
    unsigned budget_ms;        /* time the exact search may take (default
                                  100; 0: greedy answers at once, labelled
                                  as a timeout) */
} pc_basket_opts;

/* pc_basket_opts_init - set every option to its default.  opts != NULL. */
void pc_basket_opts_init(pc_basket_opts *opts);

/* Where a line's price came from, pc_basket_line.source. */
enum {
    PC_LINE_BASE    = 0, /* the chain's base price */
    PC_LINE_STORE   = 1, /* the store's exception */
    PC_LINE_PENALTY = 2  /* no price where bought: the penalty */
};

/* What answered, pc_basket_result.algorithm (the name is in
 * pc_basket_result.algorithm_name). */
enum {
    PC_BASKET_SINGLE          = 0, /* "single": pc_basket_single, no choice */
    PC_BASKET_OPTIMAL         = 1, /* "optimal": exact search, lowest total */
    PC_BASKET_GREEDY          = 2, /* "greedy": too large for the exact search */
    PC_BASKET_GREEDY_FALLBACK = 3  /* "greedy_timeout_fallback": the budget
                                      ran out before the exact search ended */
};

typedef struct pc_basket_line {
    const char *item;       /* the item id (a copy, owned by the result) */
    int64_t     qty;        /* as asked */
    int         source;     /* PC_LINE_BASE, PC_LINE_STORE or PC_LINE_PENALTY */
    int         store;      /* index in pc_basket_result.stores where the line
                               is bought; -1 when penalised */
    int64_t     unit_cents; /* unit price, or the per-unit penalty */
    int64_t     line_cents; /* qty × unit_cents */
    int64_t     updated_at; /* unix seconds of the price row; 0 when penalised */
} pc_basket_line;

typedef struct pc_basket_result {
    uint64_t    version;          /* the chain version every price was read from */
    int         algorithm;        /* PC_BASKET_* */
    const char *algorithm_name;   /* "single", "optimal", "greedy",
                                     "greedy_timeout_fallback" (static) */
    int64_t     total_cents;      /* sum of line_cents, penalties included */
    int64_t     penalty_total_cents; /* the part of the total that is penalties */
    int64_t     penalty_cents;    /* per-unit penalty of this basket */
    int         penalty_fallback; /* 1 when penalty_cents is fallback_cents
                                     (the chain has no mean), 0 when it is
                                     avg_cents × penalty_mult */
    int64_t     avg_cents;        /* the chain's mean base price at `version` */
    size_t      nfound;           /* lines priced */
    size_t      nmissing;         /* lines penalised */
    double      coverage;         /* nfound / nlines, 0.0 .. 1.0 */
    size_t      nlines;
    pc_basket_line *lines;        /* nlines, in the order asked */
    size_t      nstores;
    const char *const *stores;    /* pc_basket_single: the store asked for
                                     ("" for base prices only); pc_basket_multi:
                                     the stores to visit, those where at least
                                     one line is bought (0 of them when every
                                     line is penalised), in candidate order */
} pc_basket_result;

/* pc_basket_single - price a basket at one store.
 *
 *   r       in   an open reader.
 *   chain   in   chain slug.
 *   store   in   store id, or NULL / "" for the chain's base prices only.
 *   items   in   n lines; the ids are copied, the caller keeps ownership.
 *   n       in   1..PC_BASKET_MAX_ITEMS.
 *   opts    in   options, or NULL for the defaults (only the penalty
 *                options matter here).
 *   out     out  the result, NULL on failure.  The caller owns it and frees
 *                it with pc_basket_free (one call frees everything,
 *                strings included).
 *
 * Returns one code; the arguments are checked in this order, so a basket
 * with several faults answers the first:
 *   PC_EINVAL     r, out or chain (not a slug) invalid, opts out of range,
 *                 store over-long: a caller bug, do not retry;
 *   PC_ENOITEMS   n == 0;
 *   PC_ETOOMANY   n > PC_BASKET_MAX_ITEMS: split the basket;
 *   PC_EINVAL     items NULL, or (line by line) an item id NULL, empty or
 *                 over-long,
 *   PC_EQUANTITY  or a quantity zero or negative;
 *   PC_ENOCHAIN   the chain is not in the cache;
 *   PC_EOVERFLOW  an amount does not fit in int64_t cents;
 *   PC_ENOMEM; PC_EOVERLOADED, PC_EIO, PC_EFORMAT as for pc_get;
 *   PC_OK         *out is set.  Missing items are not an error: see
 *                 nmissing and each line's source.
 * Thread-safe.
 */
int pc_basket_single(pc_reader *r, const char *chain, const char *store,
                     const pc_basket_item *items, size_t n,
                     const pc_basket_opts *opts, pc_basket_result **out);

/* pc_basket_multi - choose at most opts->max_stores of the candidate
 * stores, and which item to buy where, for the lowest total.
 *
 *   stores   in   nstores candidate store ids, each 1..PC_ID_MAX bytes;
 *                 copied as needed.
 *   nstores  in   1..PC_BASKET_MAX_STORES.
 *   the rest as for pc_basket_single; opts NULL for the defaults.
 *
 * Returns what pc_basket_single returns, in the same order, where the
 * store check becomes: PC_EINVAL for stores NULL or nstores == 0, then
 * PC_ETOOMANY for nstores > PC_BASKET_MAX_STORES, then PC_EINVAL for a
 * store id NULL, empty or over-long (all before any item).  On PC_OK,
 * (*out)->algorithm says which search answered; every search returns a
 * complete, consistent answer.  The call takes about budget_ms at most in
 * the exact search, plus nstores × n lookups and a greedy search when the
 * budget runs out.  Thread-safe.
 */
int pc_basket_multi(pc_reader *r, const char *chain,
                    const char *const stores[], size_t nstores,
                    const pc_basket_item *items, size_t n,
                    const pc_basket_opts *opts, pc_basket_result **out);

/* pc_basket_free - free a result of pc_basket_single / pc_basket_multi,
 * with every string and array it points to.  Accepts NULL. */
void pc_basket_free(pc_basket_result *res);

/* ---- Control (operators) -----------------------------------------------
 *
 * The daemon answers requests on a nanomsg REP socket ([bus] control).
 * Only members of the service group can reach it: the socket file lives in
 * a directory of mode 0750 and is itself 0660.  Every request carries a
 * unique id and the caller's stated identity (uid, user name, pid: nanomsg
 * cannot tell the daemon who is on the other end, so the audit log records
 * them as "stated").  The daemon keeps the replies of its last requests: a
 * request sent again (nanomsg's REQ resends on its own after a second)
 * is answered with the stored reply, never executed twice.
 *
 * Requests and their answers (PC_OK unless said otherwise):
 *
 *   status               the daemon and every chain, one line each, fields
 *                        key=value separated by spaces; the first line
 *                        starts "daemon ", then one line per chain starting
 *                        "chain=SLUG".  Daemon fields: state, ready, pid,
 *                        uptime_s, db (ok|down), chains.  Chain fields:
 *                        version, rows, base_rows, store_rows, age_s,
 *                        breaker (closed|open|half-open), last_result,
 *                        failures (consecutive), loads_ok, loads_failed,
 *                        load (idle|queued|running), accept (0|1: a
 *                        guard-skipping load is pending), and last:
 *                        error="..." (\" and \\ escaped).  Unknown fields
 *                        may be added: parse by name.
 *   reload CHAIN|all     queue a full reload.  One chain (and "all") is
 *                        reloaded at most once per 5 s on request: a sooner
 *                        one answers "ERR rate_limited: reload of CHAIN:
 *                        retry after N s".
 *   breaker reset CHAIN  close the chain's breaker and queue a load.
 *   accept CHAIN         the chain's last load was refused by a guard
 *                        (rejected rows, shrink): its next load skips the
 *                        guards once and publishes what the source holds.
 *                        "ERR nothing_to_accept" when the last load was not
 *                        refused.
 *   metrics              the Prometheus text of /metrics.
 *
 * Errors are "ERR <reason>: <message>", reason one of bad_request (empty,
 * over PC_CONTROL_MAX, no or malformed header, bytes that are not
 * printable ASCII), unknown_command, usage,
 * no_chain, rate_limited, nothing_to_accept, internal.  A request that
 * gets an error changes nothing.  Changes are recorded in an append-only
 * audit log inside the cache (pricecache audit; audit verify checks its
 * SHA-256 hash chain).
 */
#define PC_CONTROL_MAX 65536   /* largest request, bytes */
/* Largest reply, bytes.  `status` and `metrics` grow with the number of
 * chains (about 250 and 1,500 bytes a chain): 64 KiB held only some 250
 * chains' status, so replies may be this long.  Pass a buffer this large
 * to pc_control() to get them whole; a smaller one gets them truncated. */
#define PC_CONTROL_REPLY_MAX (16 * 1024 * 1024)

/* pc_control - send one request to the daemon's control socket and wait for its answer.
 *
 *   addr        in   nanomsg address of [bus] control, e.g.
 *                    "ipc:///run/pricecache/control.sock"
 *   request     in   "status" | "reload CHAIN" | "reload all" |
 *                    "breaker reset CHAIN" | "accept CHAIN" | "metrics"
 *   reply       out  the daemon's answer text, NUL-terminated (truncated to
 *                    cap-1); on PC_OK without the leading "OK".
 *   cap         in   size of reply, >= 1.
 *   timeout_ms  in   how long to wait for the answer (> 0).
 *
 * Adds a unique request id and the caller's identity; resends are
 * answered once.  Returns PC_OK (the daemon did it; reply says what),
 * PC_EREFUSED (the daemon answered with an error: reply holds
 * "ERR <reason>: <message>", e.g. the rate limit "retry after 7 s"),
 * PC_EACCES (the socket cannot be reached for permissions: not in the
 * service group), PC_ETIMEDOUT (no answer within timeout_ms: daemon down
 * or busy), PC_EINVAL (NULL or empty argument, request longer than the
 * protocol allows), PC_EIO (the socket could not be made).  On errors
 * other than PC_EREFUSED, reply holds a short explanation.  Opens and
 * closes its own socket: thread-safe, blocking.
 */
int pc_control(const char *addr, const char *request, char *reply, size_t cap, int timeout_ms);

/* pc_bus_addrs - the bus addresses the daemon in this environment
 * announced (it records its [bus] events and control addresses in the
 * cache when it starts), so tools need no configuration.
 *
 *   events, control  out  NUL-terminated addresses ("" for one that is
 *                         off); either may be NULL with cap 0.
 *
 * PC_OK, PC_NOTFOUND (none announced: bus off, or an older daemon),
 * PC_ENOTREADY, PC_EINVAL (NULL reader, or an address does not fit its
 * buffer), PC_EFORMAT, PC_EOVERLOADED, PC_EIO.  Thread-safe.
 */
int pc_bus_addrs(pc_reader *r, char *events, size_t ecap, char *control, size_t ccap);

/* ---- Events --------------------------------------------------------------
 *
 * The daemon announces what it does on a nanomsg PUB socket ([bus] events
 * in its configuration, typically ipc:///run/pricecache/events.ipc): one
 * event per publish of a chain (with its new version), per breaker
 * transition, per failed or refused load, per chain removed, when the
 * daemon's continuous check finds the database unreachable or back
 * (PC_EV_DATABASE, on "*", after the daemon record says so), and a
 * heartbeat per chain every second (every ceil(n/128) s with n > 128
 * chains) and on "*".  A subscriber follows them with
 * pc_sub_open / pc_sub_next, waiting in its own poll or epoll loop on
 * pc_sub_fd.
 *
 * Events are hints, LMDB is the truth.  PUB/SUB drops messages for a
 * subscriber that is slow or not connected yet, so each topic (chain)
 * carries a sequence number; when the subscriber sees a gap (or a
 * heartbeat ahead of what it saw, or a restarted daemon) it hands out a
 * PC_EV_RESYNC event for that chain first: the application must then
 * re-read the chain's metadata (pc_chain_info) and whatever it derived from
 * it, instead of trusting its last known state.  Since the daemon publishes
 * an event only after the commit, the version read from LMDB after any
 * event is >= the event's version.
 *
 * Kinds may be added at the end of PC_EVENT_KINDS in later versions (the
 * values of the others never change).  A library older than a kind
 * answers PC_EFORMAT for such an event and drops it (PC_EV_DATABASE came
 * with issue 13): keep calling pc_sub_next; a resync on "*" may follow.
 *
 * Caveats: a subscriber is not thread-safe (one thread per pc_sub; the
 * bus library aborts when two threads receive on one socket); events sent
 * before the subscription reached the daemon (the first few milliseconds)
 * are not delivered, which the first heartbeat repairs; do not use a pc_sub
 * in a child after fork().
 */

/* Longest event text (pc_event.text), in bytes. */
#define PC_EVENT_TEXT_MAX 512

/* Event kinds: id, name (pc_event_kind_name). */
#define PC_EVENT_KINDS(X)                                                   \
    X(PC_EV_PUBLISH,   "publish")   /* a chain has a new version */          \
    X(PC_EV_BREAKER,   "breaker")   /* a breaker changed state (value) */     \
    X(PC_EV_FAILED,    "failed")    /* a load failed (value: result) */       \
    X(PC_EV_REFUSED,   "refused")   /* a load was refused by a guard */       \
    X(PC_EV_REMOVED,   "removed")   /* a chain left the cache */              \
    X(PC_EV_HEARTBEAT, "heartbeat") /* seq = last seq sent, version = last */ \
    X(PC_EV_RESYNC,    "resync")    /* made by the subscriber on a gap */     \
    X(PC_EV_DATABASE,  "database")  /* the database went down or came back:   \
                                       value PC_DB_DOWN or PC_DB_UP; no chain */

/* Alarms on the "*" heartbeat (pc_event.value): what the daemon cannot
 * record in the cache while it lasts.  A heartbeat also says the daemon's
 * main loop runs: none for three seconds means it does not respond. */
#define PC_HB_MAP_FULL      0x1u  /* publishes fail for want of map space */
#define PC_HB_STORE_BLOCKED 0x2u  /* a write has waited beyond [health] stall_s */
#define PC_HB_DISK_FULL     0x4u  /* publishes fail for want of disk space */
#define PC_HB_LOCK_CORRUPT  0x8u  /* lock.mdb fails the daemon's checks: publishes
                                     are refused (the text names the check) */

enum pc_event_kind {
#define PC_X_ENUM(id, name) id,
    PC_EVENT_KINDS(PC_X_ENUM)
#undef PC_X_ENUM
    PC_EV__COUNT
};

typedef struct pc_event {
    int      kind;                     /* PC_EV_* */
    char     chain[PC_CHAIN_MAX + 1];  /* the chain, "" for events of no chain */
    uint64_t seq;                      /* per chain, grows by one per event in one
                                          daemon run */
    uint64_t run;                      /* the daemon run (its start, unix ms) */
    int64_t  ts_ms;                    /* when the daemon sent it, unix ms */
    uint64_t version;                  /* PC_EV_PUBLISH, PC_EV_HEARTBEAT: the
                                          chain's version; else 0 */
    uint32_t value;                    /* kind-specific: breaker state, load
                                          result, rows; on the heartbeat of
                                          "*" (chain ""), the daemon's alarms:
                                          PC_HB_* bits, text saying them */
    char     text[PC_EVENT_TEXT_MAX + 1]; /* detail for humans, NUL-terminated */
} pc_event;

typedef struct pc_sub pc_sub;

/* pc_event_kind_name - "publish", "breaker", ... for a PC_EV_* kind;
 * "unknown" otherwise.  Static string. */
const char *pc_event_kind_name(int kind);

/* pc_sub_open - subscribe to the daemon's events.
 *
 *   addr    in   the daemon's [bus] events address (nanomsg URL, e.g.
 *                "ipc:///run/pricecache/events.ipc").
 *   chains  in   n chain slugs to follow; events of other chains are
 *                filtered out by the bus.  n == 0 (chains may be NULL):
 *                every chain.  Events of no chain always come.  Copied.
 *   n       in   number of chains.
 *   out     out  the subscriber, NULL on failure; release with pc_sub_close.
 *
 * Returns PC_OK; PC_EINVAL (NULL out or addr, NULL chains with n > 0, a
 * slug that is not valid, an address the bus refuses); PC_EIO (no socket); PC_ENOMEM.  Connecting is
 * asynchronous: a daemon that is not running yet is not an error, events
 * flow once it is.  Thread-safe (each call makes its own subscriber).
 */
int pc_sub_open(const char *addr, const char *const chains[], size_t n, pc_sub **out);

/* pc_sub_close - close the socket and free the subscriber.  Accepts NULL;
 * `s` is invalid afterwards. */
void pc_sub_close(pc_sub *s);

/* pc_sub_fd - a descriptor that polls readable (POLLIN / EPOLLIN) when an
 * event may be waiting; then call pc_sub_next(s, 0, ...) until it answers
 * PC_ETIMEDOUT.  Owned by the subscriber: do not read, close or write it.
 * The descriptor may stay quiet while an event is still queued behind ones
 * the filter dropped, so also call pc_sub_next at least every 100 ms or
 * so.  -1 for NULL. */
int pc_sub_fd(pc_sub *s);

/* pc_sub_next - the next event, waiting up to timeout_ms (< 0: forever,
 * 0: only what is queued).
 *
 *   out  out  the event; valid until overwritten, it owns no memory.
 *
 * When events of a chain were missed, a PC_EV_RESYNC event for that chain
 * comes first (text says why; version is that of the event that revealed
 * the gap), then that event: re-read the chain's metadata from LMDB.
 * Returns PC_OK; PC_ETIMEDOUT (nothing came in time); PC_EFORMAT (a
 * malformed message, dropped: call again); PC_EINVAL (NULL argument);
 * PC_ENOMEM; PC_EIO (the socket failed; close and reopen).  Not
 * thread-safe: one thread per subscriber.
 */
int pc_sub_next(pc_sub *s, int timeout_ms, pc_event *out);

/* ---- Lookup statistics -------------------------------------------------
 *
 * Every process that reads through libpricecache counts its lookups (hits,
 * misses, errors and a sampled latency histogram).  Each thread counts on
 * a cache line of its own in the process's private memory, so counting
 * costs a few plain stores per lookup and no lock; the latency of one
 * lookup in 64 is measured (two clock reads).  The process writes the sums
 * with pwrite into a file of its own, <path>/stats/<pid>-<random>.st
 * (created by the process, mode 0644: no other user can write, truncate or
 * resize it; the directory, made by the daemon, is sticky like /tmp, so
 * members cannot remove or replace each other's files).  Nothing is ever
 * mapped: whatever another process does to any file of the directory, no
 * reader can die of it.  The file is written at least every 100 ms while
 * the process keeps looking up (checked at each timed lookup), at
 * pc_close, at exit, and before pc_stats_read in the same process.  The
 * daemon reads the files with pread, skips (and logs and counts) any that
 * does not validate, and folds the files of dead processes into its totals,
 * so the sums never go backwards.
 *
 * What counts: pc_get is one lookup; pc_get_many counts each item; pc_get
 * answers PC_OK as a hit, PC_NOTFOUND as a miss and anything else
 * (PC_ENOCHAIN, PC_EOVERLOADED, PC_EIO, ...) as an error.  A call refused
 * for its arguments (PC_EINVAL) counts as an error only on a thread that
 * has already used that reader (it has no counters before), and not at
 * all for a NULL reader.  A thread's counts are visible to pc_stats_read
 * in its own process at once, in other processes after the next write
 * (above); a process that stops looking up without closing its reader or
 * exiting leaves its last lookups unwritten until it does.
 *
 * Statistics are off in a process whose environment has
 * PRICECACHE_STATS=0 when pc_open runs, when <path>/stats does not exist,
 * is not writable for it, or could be tampered with by other members (not
 * sticky, not the cache owner's): lookups work the same, they are just not
 * counted.  A forked child counts into a file of its own from its first
 * call; it never writes its parent's.
 */

#define PC_STATS_BUCKETS 16   /* latency histogram: bucket i counts lookups
                                 < 2^(i+7) ns (128 ns, 256 ns, ... 2^21 ns =
                                 2.1 ms); the last counts the rest */
typedef struct pc_stats {
    uint64_t hits, misses, errors;           /* all lookups ever counted in this
                                                environment, dead processes included */
    uint64_t latency[PC_STATS_BUCKETS];      /* sampled lookups per latency bucket */
    uint32_t processes;                      /* client processes counting now (their
                                                file is held by a live process) */
    uint32_t slots;                          /* process files read at most per sum */
} pc_stats;

/* pc_stats_read - sum the lookup statistics of the environment at path:
 * the daemon's totals plus every valid process file.  Never blocks, never
 * maps a file; a file that does not validate is skipped.  Writes this
 * process's own pending counts first (its own file only).
 *
 *   path  in   the cache directory, as for pc_open.
 *   out   out  the sums; left untouched unless PC_OK is returned.
 *
 * Returns PC_OK; PC_ENOTREADY (no statistics directory yet: the daemon has
 * not run); PC_EINVAL (NULL argument, path too long); PC_EFORMAT
 * (<path>/stats is not a directory, or its totals file is not the
 * daemon's, or not of this version: a newer daemon, or tampering; the
 * daemon starts the totals again when it starts); PC_EIO (it cannot be
 * read: check the permissions); PC_ENOMEM.  Files are read one by one
 * while processes count: a sum is at least what was written when the call
 * began.  Thread-safe.
 */
int pc_stats_read(const char *path, pc_stats *out);

/* ---- Administration: what the console and the CLI show ----------------
 *
 * The calls below read the records the daemon keeps in the cache beside
 * the prices: its own record (state, pid, readiness, the database as it
 * sees it), each chain's full load record, the environment's figures, the
 * bus addresses it announced and the audit log of operators' actions.
 * They are what pricecache-top and the pricecache CLI are built on, and
 * what a monitoring script in any language can call: no field here needs
 * the daemon to be running (a stopped daemon's last record stays in the
 * cache).
 *
 * Rules shared by every call of this section:
 *
 *   - Each call reads in one short read transaction that ends before it
 *     returns, like pc_get: nothing stays pinned between calls.
 *     pc_scan_next and pc_audit_next hand out bounded pieces, one
 *     transaction each.
 *   - Thread-safe on a shared pc_reader, except a pc_scan (one thread at a
 *     time, see pc_scan_open).
 *   - Structures that the caller passes in start with a `size` member the
 *     caller sets to sizeof the structure it was compiled with.  The library
 *     fills what fits in `size` and never writes past it, so fields can be
 *     appended in later versions without breaking programs built against
 *     this header; a program built against a newer header than the library
 *     sees the fields the library does not know zeroed.  A `size` smaller
 *     than the first version of the structure is PC_EINVAL.
 *   - Times are unix milliseconds (wall clock of the daemon's host); 0
 *     means "never" or "not known".
 *   - Strings in structures are NUL-terminated copies; nothing returned
 *     points into the environment.
 */

/* Outcome of a chain's last load attempt, pc_chain_status.last_result:
 * X(id, name), name from pc_load_result_name. */
#define PC_LOAD_RESULTS(X)        \
    X(PC_LOAD_NONE,    "none")    \
    X(PC_LOAD_OK,      "ok")      \
    X(PC_LOAD_FAILED,  "failed")  \
    X(PC_LOAD_REFUSED, "refused") \
    X(PC_LOAD_TIMEOUT, "timeout")

enum pc_load_result {
#define PC_X_ENUM(id, name) id,
    PC_LOAD_RESULTS(PC_X_ENUM)
#undef PC_X_ENUM
    PC_LOAD__COUNT
};

/* Why a source row was rejected, the index into pc_chain_status.rejected:
 * X(id, name), name from pc_reject_name (the /metrics label).  Reasons may
 * be added at the end in later versions (pc_chain_status.nrejected says
 * how many this library filled). */
#define PC_REJECT_REASONS(X)                   \
    X(PC_REJ_NEGATIVE_PRICE, "negative_price") \
    X(PC_REJ_EMPTY_ID,       "empty_id")       \
    X(PC_REJ_LONG_ID,        "long_id")        \
    X(PC_REJ_NULL,           "null")           \
    X(PC_REJ_DUPLICATE,      "duplicate")

enum pc_reject_reason {
#define PC_X_ENUM(id, name) id,
    PC_REJECT_REASONS(PC_X_ENUM)
#undef PC_X_ENUM
    PC_REJ__COUNT
};

/* Room for reasons in pc_chain_status.rejected: fixed, whatever
 * PC_REJ__COUNT grows to (at most this). */
#define PC_REJECT_SLOTS 16

/* What the daemon last recorded about itself, pc_daemon_status.state:
 * X(id, name), name from pc_daemon_state_name. */
#define PC_DAEMON_STATES(X)             \
    X(PC_DAEMON_STARTING, "starting")   \
    X(PC_DAEMON_READY,    "ready")      \
    X(PC_DAEMON_DEGRADED, "degraded")   \
    X(PC_DAEMON_STOPPED,  "stopped")

enum pc_daemon_state {
#define PC_X_ENUM(id, name) id,
    PC_DAEMON_STATES(PC_X_ENUM)
#undef PC_X_ENUM
    PC_DAEMON__COUNT
};

/* The database as the daemon sees it, pc_daemon_status.db_state.  A
 * daemon that records it (db_derived 0) checks its database continuously:
 * a round trip every second on its LISTEN connection, 3 s to answer, TCP
 * keepalives; it records "down" within 5 s of the database becoming
 * unreachable (stopped, frozen, partitioned) and "up" again within about
 * 2 s of it answering.  Derived (db_derived 1, an older daemon): from the
 * chains' last load attempts, as described for each value. */
enum pc_db_state {
    PC_DB_UNKNOWN = 0, /* "unknown": not checked yet, or the daemon is not
                          running (what it last saw may be stale); derived:
                          no load attempted yet */
    PC_DB_UP      = 1, /* "up": the check succeeds; derived: the last talk
                          with PostgreSQL succeeded (a load refused by a
                          guard counts: its rows came) */
    PC_DB_DOWN    = 2  /* "down": the check fails (db_error says how, since
                          db_since_ms); derived: the last load failed or
                          timed out */
};

/* Longest error text kept in a record, NUL included. */
#define PC_ERROR_TEXT_MAX 160

/* pc_load_result_name, pc_reject_name, pc_daemon_state_name,
 * pc_breaker_name, pc_db_state_name - the name of a value of the lists
 * above ("ok", "negative_price", "ready", "half-open", "down", ...), as
 * pricecache info and /metrics print them; "unknown" for a value out of
 * range.  Static strings; thread-safe. */
const char *pc_load_result_name(int result);
const char *pc_reject_name(int reason);
const char *pc_daemon_state_name(int state);
const char *pc_breaker_name(int state);
const char *pc_db_state_name(int state);

/* The daemon's record and what it says about the database. */
typedef struct pc_daemon_status {
    uint32_t size;         /* in: sizeof(pc_daemon_status) */
    uint32_t state;        /* enum pc_daemon_state, as last written */
    uint32_t running;      /* 1 when the state is not "stopped" and process
                              `pid` exists (checked with kill(pid, 0), so a
                              daemon killed with -9 reads 0); pids are of
                              the caller's PID namespace */
    uint32_t pid;          /* of the daemon that last wrote the record */
    int64_t  started_ms;   /* when that daemon started */
    uint32_t ready;        /* 1 once every chain had a snapshot or failed
                              (what pc_wait_ready waits for) */
    uint32_t db_derived;   /* 1: db_* below were derived from the chains'
                              last load attempts (the daemon did not record
                              them); 0: as the daemon recorded them */
    int64_t  ready_ms;     /* since when ready; 0 if not yet */
    int64_t  updated_ms;   /* last write of the record (each publish too) */
    uint64_t map_size;     /* map size the daemon set, bytes */
    uint32_t db_state;     /* enum pc_db_state */
    uint32_t reserved;     /* 0 */
    int64_t  db_since_ms;  /* since when in db_state; 0 when not known
                              (always 0 when derived) */
    char     db_error[PC_ERROR_TEXT_MAX]; /* the last error talking to the
                                             database; "" none */
} pc_daemon_status;

/* pc_daemon_read - the daemon's record.
 *
 *   r    in   an open reader.
 *   out  in   out->size set by the caller.
 *        out  the record; on PC_NOTFOUND, zeroes with db_state
 *             PC_DB_UNKNOWN (and size kept).
 *
 * The database state: a daemon that records it (db_derived 0) is believed
 * while it runs; otherwise (older daemon) it is derived from the chains,
 * as the console always did: the newest load attempt of any chain says
 * whether PostgreSQL answered (failed or timed out: down, with that
 * chain's last error; ok or refused: up; no attempt: unknown).  Whatever
 * the source, a daemon that is not running answers PC_DB_UNKNOWN.
 *
 * Returns PC_OK; PC_NOTFOUND (no daemon ever wrote a record in this
 * environment: not started yet); PC_EINVAL (NULL argument, size too
 * small); PC_EFORMAT (a record this library cannot decode: upgrade it;
 * or lock.mdb as for pc_get, pc_errdetail names it); PC_EOVERLOADED (no
 * reader slot: retry later); PC_EIO.  Reads the daemon record and every
 * chain record in one transaction: O(chains).
 * Thread-safe.
 */
int pc_daemon_read(pc_reader *r, pc_daemon_status *out);

/* The sources the daemon reads prices from (issue 14): the primary
 * ([database] dsn) and the streaming replicas of [database] replicas.
 * pc_source_status.state: X(id, name), name from pc_source_state_name. */
#define PC_SOURCE_STATES(X)              \
    X(PC_SOURCE_UNKNOWN, "unknown")      \
    X(PC_SOURCE_UP,      "up")           \
    X(PC_SOURCE_LAGGING, "lagging")      \
    X(PC_SOURCE_DOWN,    "down")

enum pc_source_state {
#define PC_X_ENUM(id, name) id,
    PC_SOURCE_STATES(PC_X_ENUM)
#undef PC_X_ENUM
    PC_SOURCE__COUNT
};

/* pc_source_state_name - "unknown", "up", "lagging", "down"; "unknown"
 * for a value out of range.  Static string; thread-safe. */
const char *pc_source_state_name(int state);

/* One source as the daemon last recorded it. */
typedef struct pc_source_status {
    uint32_t size;         /* in: sizeof(pc_source_status) */
    uint32_t state;        /* enum pc_source_state: the primary as the
                              daemon's continuous check sees the database;
                              a replica down (unreachable, WAL receiver not
                              streaming, promoted, or its breaker open),
                              lagging (beyond max_lag_s) or up */
    uint32_t up;           /* 1: it can serve reads now */
    uint32_t breaker;      /* PC_BREAKER_* of a replica; 0 for the primary */
    int64_t  lag_bytes;    /* a replica's replay position behind the
                              primary's; -1 not measured (the primary, a
                              replica not sampled yet) */
    int64_t  lag_ms;       /* its replay lag in ms; -1 not measured */
    uint64_t reads_load;   /* full loads it served since the daemon started */
    uint64_t reads_delta;  /* delta fetches it served */
    int64_t  updated_ms;   /* unix ms the daemon recorded these figures */
    char     name[16];     /* "primary", "replica1", "replica2", ... */
    char     where[128];   /* its host:port; never a password */
    char     why[PC_ERROR_TEXT_MAX]; /* why it is down or lagging; "" */
} pc_source_status;

/* pc_source_read - source `index` (0 the primary, then the replicas in
 * the order of [database] replicas) as the daemon last recorded it.
 *
 *   r      in   an open reader.
 *   index  in   0, 1, ...: read until PC_NOTFOUND to list them all.
 *   out    in   out->size set by the caller.
 *          out  the source; left untouched unless PC_OK.
 *
 * The daemon records its sources when one changes state and at most every
 * few seconds while figures move (every 30 s without replicas): lag and
 * reads may be that old (updated_ms says when).  The figures are those of
 * the daemon that last wrote; pc_daemon_read says whether it runs.
 *
 * Returns PC_OK; PC_NOTFOUND (index past the last source, or a daemon
 * that never recorded its sources: older, or not started yet); PC_EINVAL
 * (NULL argument, size too small); PC_EFORMAT (a record this library
 * cannot decode, or lock.mdb as for pc_get); PC_EOVERLOADED; PC_EIO.
 * Thread-safe.
 */
int pc_source_read(pc_reader *r, size_t index, pc_source_status *out);

/* A chain's full load record: pc_chain_meta plus what an operator sees. */
typedef struct pc_chain_status {
    uint32_t size;                  /* in: sizeof(pc_chain_status) */
    uint32_t breaker;               /* PC_BREAKER_* */
    uint64_t version;               /* of the snapshot served now */
    int64_t  loaded_at_ms;          /* its publish; 0 before the first */
    uint64_t base_rows, store_rows;
    int64_t  avg_cents;             /* mean base price */
    int64_t  breaker_since_ms;      /* the breaker's last transition */
    int64_t  probe_at_ms;           /* when an open breaker lets its next
                                       probe through (jitter included); 0
                                       unless open, or not recorded */
    int64_t  last_attempt_ms;       /* when the last load attempt ended */
    uint32_t last_duration_ms;      /* how long it took */
    uint32_t last_result;           /* enum pc_load_result */
    uint32_t consecutive_failures;  /* failed, timed out or refused in a row */
    uint32_t nrejected;             /* entries of rejected[] filled:
                                       PC_REJ__COUNT of this library */
    uint64_t loads_ok;
    uint64_t loads_failed;          /* failed, timed out or refused */
    uint64_t rows_written;          /* keys put or deleted by the last publish */
    uint64_t rejected[PC_REJECT_SLOTS]; /* rows the last load rejected, per
                                           enum pc_reject_reason */
    char     last_error[PC_ERROR_TEXT_MAX]; /* of the last failed attempt */
} pc_chain_status;

/* pc_chain_read - a chain's full load record.
 *
 *   chain  in   slug, 1..PC_CHAIN_MAX bytes.
 *   out    in   out->size set by the caller.
 *          out  the record; left untouched unless PC_OK.
 *
 * Returns PC_OK; PC_ENOCHAIN (not in the cache); PC_EINVAL (NULL argument,
 * bad slug, size too small); PC_EFORMAT (a record too short to decode,
 * or lock.mdb as for pc_get); PC_EOVERLOADED; PC_EIO.  Thread-safe.
 */
int pc_chain_read(pc_reader *r, const char *chain, pc_chain_status *out);

/* The environment's figures. */
typedef struct pc_env_status {
    uint32_t size;          /* in: sizeof(pc_env_status) */
    uint32_t readers_used;  /* reader slots held now, by every process */
    uint32_t readers_max;   /* slots in the table ([cache] max_readers) */
    uint32_t reserved;      /* 0 */
    uint64_t map_used;      /* bytes up to the last page of the newest
                               snapshot: what the map must hold */
    uint64_t map_size;      /* bytes mapped by this process */
} pc_env_status;

/* pc_env_read - the environment's map use and reader slots.
 *
 * Returns PC_OK; PC_EINVAL (NULL argument, size too small);
 * PC_EOVERLOADED; PC_EFORMAT (lock.mdb obviously corrupt, as for pc_get;
 * also a reader count beyond the table on a thread that has read before:
 * counting the slots would walk past it); PC_EIO.  readers_used counts
 * every live slot, this process's idle ones included.  Thread-safe.
 */
int pc_env_read(pc_reader *r, pc_env_status *out);

/* One used slot of the reader table (pc_readers_list).  Fixed layout;
 * later versions use the reserved fields, never move the others. */
typedef struct pc_reader_slot {
    uint32_t pid;       /* process that holds the slot (caller's PID
                           namespace) */
    uint32_t alive;     /* 1 when `pid` exists (kill(pid, 0)); 0: the
                           process is gone and its slot stays until the
                           daemon or a reader clears dead slots */
    uint64_t thread;    /* its thread, as LMDB recorded it */
    uint64_t txnid;     /* the snapshot its open read transaction sees; 0
                           when no transaction is open in the slot */
    uint64_t behind;    /* commits made since that snapshot: while > 0 the
                           transaction pins old pages and data.mdb grows
                           with every publish; 0 when current or idle */
    uint64_t reserved[2];
} pc_reader_slot;

/* pc_readers_list - who holds LMDB's reader slots, and which of them
 * keeps an old snapshot open (a reader stopped inside a transaction: a
 * process under SIGSTOP or a debugger, a pager reading a pipe slowly).
 *
 *   out         out  up to `cap` slots, in table order.
 *   cap         in   room in out (0: count only; out may then be NULL).
 *   n           out  slots in use; may exceed cap (call again with more).
 *   last_txnid  out  the newest committed transaction (may be NULL).
 *
 * How long a slot has held its snapshot is not recorded by LMDB: the
 * daemon measures it by sampling (metric
 * pricecache_oldest_read_txn_seconds, control request `readers`); a
 * program that lists repeatedly can do the same with (pid, thread,
 * txnid).  Reads the lock file's table without taking its lock, inside a
 * short read transaction of the caller (listed as current).  Returns
 * PC_OK; PC_EINVAL (NULL r or n, out NULL with cap > 0); PC_ENOMEM;
 * PC_EOVERLOADED; PC_EFORMAT (lock.mdb obviously corrupt, as for
 * pc_env_read); PC_EIO (a table this library cannot parse).
 * Thread-safe.
 */
int pc_readers_list(pc_reader *r, pc_reader_slot *out, size_t cap, size_t *n,
                    uint64_t *last_txnid);

/* ---- Dump: pc_scan ---------------------------------------------------
 *
 * Every price of one chain, in batches: base prices first (by item), then
 * store exceptions (by store, then item), in byte order.  Each
 * pc_scan_next runs its own read transaction, fills at most `batch` rows,
 * notes the last key and ENDS the transaction; the next call resumes after
 * that key in a new transaction.  So however slowly the caller consumes
 * the rows (a dump piped into a pager), no snapshot stays pinned and the
 * writer keeps reusing pages.
 *
 * What a reader sees across a publish
 *
 *   Every row of one batch comes from one version of the chain, named by
 *   pc_scan_next's `version`.  When the daemon publishes between two
 *   batches, the later batches come from the new version: the rows already
 *   handed out are not revisited, so the whole scan is then a mix (an item
 *   deleted by the publish may have been listed, one added before the
 *   resume point is missed, a price changed after it shows its new value).
 *   Compare each batch's version with the first: equal versions mean the
 *   scan so far is exactly one version.  A caller that needs one version
 *   whole (pricecache dump) stops on a change and starts again, or takes
 *   a batch large enough for the chain.
 */
typedef struct pc_scan pc_scan;

/* One price of a scan.  Rows are handed out as an array of pointers, so
 * this structure may grow at its end in later versions. */
typedef struct pc_scan_row {
    const char *store;     /* store id; "" for a base price */
    const char *item;      /* item id */
    pc_price    price;     /* flags PC_PRICE_STORE for a store exception */
} pc_scan_row;

/* Rows per batch when 0 is asked, and the most a batch may hold. */
#define PC_SCAN_BATCH_DEFAULT 1024
#define PC_SCAN_BATCH_MAX     65536

/* pc_scan_open - start a dump of one chain.
 *
 *   r      in   an open reader; must stay open until pc_scan_close.
 *   chain  in   slug (copied).
 *   batch  in   rows per batch, 1..PC_SCAN_BATCH_MAX; 0 for
 *               PC_SCAN_BATCH_DEFAULT.
 *   out    out  the scan, NULL on failure; release with pc_scan_close.
 *
 * Checks that the chain exists (one short transaction); reads no price.
 * Returns PC_OK; PC_ENOCHAIN; PC_EINVAL (NULL argument, bad slug, batch
 * too large); PC_ENOMEM; PC_EOVERLOADED; PC_EFORMAT (a metadata record
 * too short, or lock.mdb as for pc_get); PC_EIO.  Thread-safe; the scan
 * itself is not: use it from one thread at a time.
 */
int pc_scan_open(pc_reader *r, const char *chain, size_t batch, pc_scan **out);

/* pc_scan_next - the next batch.
 *
 *   rows     out  n pointers to rows, owned by the scan: valid until the
 *                 next pc_scan_next or pc_scan_close.
 *   n        out  rows in this batch, 1..batch; 0 at the end (and on every
 *                 call after it).
 *   version  out  the chain's version the batch was read from (may be
 *                 NULL): see "What a reader sees across a publish".
 *
 * Returns PC_OK (n == 0: the end); PC_ENOCHAIN (the chain left the cache
 * since the last batch); PC_EFORMAT (a price record of the wrong size:
 * the environment is damaged or newer; or lock.mdb as for pc_get,
 * pc_errdetail names it); PC_EINVAL (NULL scan, rows or n);
 * PC_ENOMEM; PC_EOVERLOADED; PC_EIO.  After an error the scan may be
 * called again (it resumes after the last row handed out) or closed.
 * Not thread-safe for one scan.
 */
int pc_scan_next(pc_scan *s, const pc_scan_row *const **rows, size_t *n, uint64_t *version);

/* pc_scan_close - free the scan and its rows.  Accepts NULL. */
void pc_scan_close(pc_scan *s);

/* ---- Audit log -------------------------------------------------------
 *
 * Control actions that change something are recorded by the daemon in the
 * cache, one record per action, numbered from 1, each sealed with a
 * SHA-256 hash over its number, its text and the previous record's hash:
 * altering, removing or reordering a record breaks the chain at that
 * record or the next.  (Removing the last record leaves a shorter chain
 * that verifies: compare the count or the last hash with a copy kept
 * elsewhere.)
 */
#define PC_AUDIT_TEXT_MAX 1024  /* longest record text, bytes */
#define PC_AUDIT_HASH     32    /* SHA-256 */

typedef struct pc_audit_entry {
    uint32_t size;                     /* in: sizeof(pc_audit_entry) */
    uint32_t reserved;                 /* 0 */
    uint64_t seq;                      /* its number, from 1 */
    uint8_t  prev[PC_AUDIT_HASH];      /* the previous record's hash as
                                          recorded (zeroes for #1) */
    uint8_t  hash[PC_AUDIT_HASH];      /* this record's hash as recorded */
    char     text[PC_AUDIT_TEXT_MAX + 1]; /* what was done, by whom (stated
                                             identity), the outcome */
} pc_audit_entry;

/* pc_audit_next - the first audit record numbered above `after`.
 *
 *   after  in   0 for the first record, else the seq last read.
 *   out    in   out->size set by the caller.
 *          out  the record.  On PC_EFORMAT, out->seq names the bad record,
 *               or is 0 when no record was read (lock.mdb, see below).
 *
 * One transaction per record: walking a long log pins nothing.  The
 * hashes are handed out as recorded, not checked (pc_audit_verify).
 * Returns PC_OK; PC_NOTFOUND (no record after `after`: the end);
 * PC_EFORMAT (the next record is not a well-formed audit record, out->seq
 * its number; or, with out->seq 0, lock.mdb obviously corrupt as for
 * pc_get, pc_errdetail names it: nothing is said about the log);
 * PC_EINVAL (NULL argument, size too small); PC_EOVERLOADED; PC_EIO.
 * Thread-safe.
 */
int pc_audit_next(pc_reader *r, uint64_t after, pc_audit_entry *out);

typedef struct pc_audit_verdict {
    uint32_t size;                  /* in: sizeof(pc_audit_verdict) */
    uint32_t reserved;              /* 0 */
    uint64_t intact;                /* records checked and found intact,
                                       from #1 */
    uint64_t bad_seq;               /* the first bad record; 0 when none */
    uint8_t  last_hash[PC_AUDIT_HASH]; /* hash of the last intact record */
    char     why[PC_ERROR_TEXT_MAX];   /* what is wrong with bad_seq */
} pc_audit_verdict;

/* pc_audit_verify - check the whole log's hash chain, from #1.
 *
 *   out  in   out->size set by the caller.
 *        out  how far the chain holds, and what broke it.
 *
 * Returns PC_OK (the chain is intact: out->intact records, bad_seq 0);
 * PC_ETAMPERED (out->bad_seq is the first record that is missing, out of
 * order, malformed or whose hashes do not match; out->why says which);
 * PC_EFORMAT (lock.mdb obviously corrupt, as for pc_get; pc_errdetail
 * names it: no verdict on the log, which may be intact; bad_seq 0,
 * out->intact the records checked before the refusal; a damaged lock
 * file is not tampering); PC_EINVAL; PC_EOVERLOADED; PC_EIO.  Reads one
 * record per transaction: records the daemon appends meanwhile are
 * checked too.  Thread-safe.
 */
int pc_audit_verify(pc_reader *r, pc_audit_verdict *out);

/* ---- Bus addresses -----------------------------------------------------
 *
 * Which events or control address a tool should use, in this order (the
 * first that gives one wins):
 *
 *   1. the address the caller was given (a command-line flag);
 *   2. the environment: PRICECACHE_EVENTS or PRICECACHE_CONTROL;
 *   3. the address the daemon of the cache announced (pc_bus_addrs);
 *   4. the default: PC_BUS_DEFAULT_EVENTS or PC_BUS_DEFAULT_CONTROL
 *      (what the packaged configuration uses).
 *
 * An empty string counts as not given at every step.
 */
#define PC_BUS_DEFAULT_EVENTS  "ipc:///run/pricecache/events.ipc"
#define PC_BUS_DEFAULT_CONTROL "ipc:///run/pricecache/control.ipc"

enum pc_bus_which { PC_BUS_EVENTS = 0, PC_BUS_CONTROL = 1 };

/* Where pc_bus_resolve found the address. */
enum pc_addr_source {
    PC_ADDR_GIVEN     = 0,
    PC_ADDR_ENV       = 1,
    PC_ADDR_ANNOUNCED = 2,
    PC_ADDR_DEFAULT   = 3
};

/* pc_bus_resolve flags: step 4 is skipped; the call answers why step 3
 * gave nothing instead (a tool that must not talk to a guessed daemon). */
#define PC_BUS_NO_DEFAULT 0x1u

/* pc_bus_resolve - the events or control address, by the order above.
 *
 *   path    in   the cache directory for step 3 (opened read-only only
 *                when steps 1 and 2 give nothing); NULL skips step 3.
 *   which   in   PC_BUS_EVENTS or PC_BUS_CONTROL.
 *   given   in   the caller's address, or NULL / "".
 *   flags   in   0 or PC_BUS_NO_DEFAULT.
 *   out     out  the address, NUL-terminated.
 *   cap     in   size of out.
 *   source  out  enum pc_addr_source (may be NULL).
 *
 * Returns PC_OK; PC_EINVAL (NULL out, cap 0, bad `which` or flags, or
 * the address does not fit in cap).  With PC_BUS_NO_DEFAULT, when steps 1
 * to 3 give nothing: PC_NOTFOUND (the daemon announced no such address:
 * that part of its bus is off, or it has not started), or the code
 * pc_open or pc_bus_addrs answered for `path` (PC_ENOTREADY, PC_EIO,
 * PC_EFORMAT, PC_EOVERLOADED ...); out is "" then.  Without the flag the
 * cache's errors are not reported: the default answers.  Thread-safe
 * (reads the environment variables with getenv).
 */
int pc_bus_resolve(const char *path, int which, const char *given, unsigned flags,
                   char *out, size_t cap, int *source);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* PRICECACHE_H */
