/* coalesce.h - when a chain's pending changes are applied and by which path (delta or whole reload): the rule alone, no state, no I/O. */
#ifndef PCD_COALESCE_H
#define PCD_COALESCE_H

#include <stddef.h>
#include <stdint.h>

/* How long pending keys wait for the commit markers of the transactions
 * that sent them before the chain is reloaded whole instead (a missing
 * marker: migration 0003 not applied, or a notification lost). */
#define PCD_TX_WAIT_MS 2000

/* A delta of more keys than this share of the chain's rows is slower than
 * reading the chain whole (a delta costs an index probe and a random LMDB
 * put per key, a reload a sequential read per row), so the chain is
 * reloaded instead; deltas of at most PCD_DELTA_MIN_KEYS keys are always
 * applied as deltas (cheap whatever the chain's size). */
#define PCD_DELTA_MAX_SHARE 0.10
#define PCD_DELTA_MIN_KEYS  100

/* What the rule needs to know about one chain. */
typedef struct pcd_coalesce_in {
    int64_t now_ms;          /* monotonic */
    int64_t last_start_ms;   /* when the chain's last job (delta or load) began; 0 never */
    int64_t first_notice_ms; /* the oldest change pending; 0 none */
    int     debounce_ms;     /* [load] debounce_ms: least spacing of a busy chain's jobs */
    int     busy;            /* a job of the chain is queued or running */
    int     pending;         /* keys (or an unlisted change) are pending */
    int     keys_unknown;    /* a change did not list its keys: reload whole */
    int     nopen;           /* transactions with pending keys whose commit marker is due */
} pcd_coalesce_in;

/* When to take the pending changes: a monotonic time (<= now_ms: at
 * once), or 0 for "not now": nothing pending, or a job of the chain is
 * queued or running and its end asks again (what arrives meanwhile goes
 * into the next job, whole).
 *  - keys unknown: at once;
 *  - a transaction's commit marker still due: at first_notice + TX_WAIT
 *    (the marker normally comes microseconds later and asks again);
 *  - otherwise at once after a quiet spell (leading edge), and at the
 *    earliest debounce_ms after the last job began while the chain is
 *    busy: under a storm the batch is what piled up meanwhile. */
int64_t pcd_coalesce_due(const pcd_coalesce_in *in);

/* Whether a worker may take the pending keys now: 0 when one of their
 * transactions has not shown its commit marker and the wait for it has
 * not run out (the job is put back; the marker asks again), 1 otherwise
 * (with nopen > 0: reload whole, a reload sees every committed change). */
int pcd_coalesce_take_now(const pcd_coalesce_in *in);

/* The path of a job. */
enum pcd_path {
    PCD_PATH_DELTA = 0,
    PCD_PATH_FULL_ASKED,     /* a reload was asked for (refresh, operator, listing, retry) */
    PCD_PATH_FULL_NOKEYS,    /* nothing pending: nothing to apply as a delta */
    PCD_PATH_FULL_UNLISTED,  /* a change did not list its keys (NOTIFY payload limit) */
    PCD_PATH_FULL_MAXKEYS,   /* more keys than [load] delta_max_keys */
    PCD_PATH_FULL_SHARE,     /* more keys than PCD_DELTA_MAX_SHARE of the chain */
    PCD_PATH_FULL_OPEN_TX,   /* a commit marker never came */
    PCD_PATH_FULL_UNCACHED,  /* the chain has no snapshot yet */
};

/* Choose the path for `nkeys` pending keys of a chain of `rows` rows
 * (base + store; cached 0 when the chain has no snapshot).  `overflow`:
 * the pending set overflowed (1: past delta_max_keys, 2: keys unlisted). */
int pcd_coalesce_path(int asked_full, size_t nkeys, int overflow, int nopen, int cached,
                      uint64_t rows);

/* A short phrase for the log: why this path ("delta", "12000 changed keys
 * are 12.0% of 100000 rows (> 10%)", ...). */
void pcd_coalesce_why(int path, size_t nkeys, uint64_t rows, char *buf, size_t len);

#endif
