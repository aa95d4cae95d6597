/* coalesce.c - when a chain's pending changes are applied and by which path (delta or whole reload): the rule alone, no state, no I/O. */
#include "coalesce.h"

/* Owns: the coalescing rule (leading edge, batching while busy, the wait
 * for commit markers) and the choice of path by size.  May call: nothing
 * of daemon/: the engine feeds it (notice, jobs) and the unit test drives
 * it with an injected clock. */

#include <stdio.h>

int64_t pcd_coalesce_due(const pcd_coalesce_in *in)
{
    if (!in->pending || in->busy)
        return 0;
    if (in->keys_unknown)
        return in->now_ms; /* a reload reads a consistent snapshot anyway */
    if (in->nopen > 0) {
        int64_t first = in->first_notice_ms ? in->first_notice_ms : in->now_ms;
        return first + PCD_TX_WAIT_MS;
    }
    int64_t due = in->now_ms;
    /* Spacing counts from the last job's start, so a job that took longer
     * than debounce_ms is followed at once by one for what piled up. */
    if (in->last_start_ms && in->debounce_ms > 0 &&
        in->last_start_ms + in->debounce_ms > due)
        due = in->last_start_ms + in->debounce_ms;
    return due;
}

int pcd_coalesce_take_now(const pcd_coalesce_in *in)
{
    if (in->nopen <= 0 || in->keys_unknown)
        return 1;
    int64_t first = in->first_notice_ms ? in->first_notice_ms : in->now_ms;
    return in->now_ms >= first + PCD_TX_WAIT_MS;
}

int pcd_coalesce_path(int asked_full, size_t nkeys, int overflow, int nopen, int cached,
                      uint64_t rows)
{
    if (overflow == 2)
        return PCD_PATH_FULL_UNLISTED;
    if (overflow)
        return PCD_PATH_FULL_MAXKEYS;
    if (asked_full)
        return PCD_PATH_FULL_ASKED;
    if (nkeys == 0)
        return PCD_PATH_FULL_NOKEYS;
    if (nopen > 0)
        return PCD_PATH_FULL_OPEN_TX;
    if (!cached)
        return PCD_PATH_FULL_UNCACHED;
    if (nkeys > PCD_DELTA_MIN_KEYS && (double)nkeys > PCD_DELTA_MAX_SHARE * (double)rows)
        return PCD_PATH_FULL_SHARE;
    return PCD_PATH_DELTA;
}

void pcd_coalesce_why(int path, size_t nkeys, uint64_t rows, char *buf, size_t len)
{
    switch (path) {
    case PCD_PATH_DELTA:
        snprintf(buf, len, "delta: %zu changed keys of %llu rows", nkeys,
                 (unsigned long long)rows);
        break;
    case PCD_PATH_FULL_ASKED:
        snprintf(buf, len, "a reload was asked for");
        break;
    case PCD_PATH_FULL_NOKEYS:
        snprintf(buf, len, "no changed keys pending");
        break;
    case PCD_PATH_FULL_UNLISTED:
        snprintf(buf, len, "a change did not list its keys (more than a notification holds)");
        break;
    case PCD_PATH_FULL_MAXKEYS:
        snprintf(buf, len, "more changed keys than delta_max_keys");
        break;
    case PCD_PATH_FULL_SHARE:
        snprintf(buf, len, "%zu changed keys are %.1f%% of %llu rows (> %.0f%%): a reload is "
                 "faster", nkeys, rows ? 100.0 * (double)nkeys / (double)rows : 100.0,
                 (unsigned long long)rows, 100.0 * PCD_DELTA_MAX_SHARE);
        break;
    case PCD_PATH_FULL_OPEN_TX:
        snprintf(buf, len, "a transaction's commit marker did not come within %d ms",
                 PCD_TX_WAIT_MS);
        break;
    case PCD_PATH_FULL_UNCACHED:
        snprintf(buf, len, "the chain has no snapshot yet");
        break;
    default:
        snprintf(buf, len, "?");
    }
}
