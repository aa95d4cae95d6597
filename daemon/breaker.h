/* breaker.h - a per-chain circuit breaker (closed / open / half-open), driven by an injected clock. */
#ifndef PCD_BREAKER_H
#define PCD_BREAKER_H

#include <stdint.h>

typedef struct pcd_breaker_cfg {
    int failures;            /* consecutive failures that open it */
    int reset_ms;            /* time open before probing, jittered ±20% */
    int half_open_successes; /* consecutive probe successes that close it */
} pcd_breaker_cfg;

typedef struct pcd_breaker {
    int      state;          /* PC_BREAKER_* */
    int      failures;       /* consecutive, while closed */
    int      successes;      /* consecutive probe successes, while half-open */
    int64_t  since_ms;       /* time of the last transition */
    int64_t  open_until_ms;  /* while open: when the next probe may run */
    uint64_t rng;            /* jitter state */
} pcd_breaker;

void pcd_breaker_init(pcd_breaker *b, uint64_t seed);

/* Restore a state read from the cache: an open (or half-open) breaker
 * stays open for what is left of a reset period begun `elapsed_ms` ago
 * (the time since its stored transition; a restart does not start the
 * wait over, nor skip it). */
void pcd_breaker_restore(pcd_breaker *b, const pcd_breaker_cfg *cfg, int state,
                         int64_t since_ms, int64_t elapsed_ms, int64_t now_ms);

/* May a load run now?  1 yes (closed, or a half-open probe, moving from
 * open to half-open when the reset time has passed), 0 refuse at once. */
int pcd_breaker_allow(pcd_breaker *b, int64_t now_ms);

/* Record a load's outcome.  Returns 1 when the state changed. */
int pcd_breaker_record(pcd_breaker *b, const pcd_breaker_cfg *cfg, int ok, int64_t now_ms);

/* Force closed (operator reset).  Returns 1 when the state changed. */
int pcd_breaker_reset(pcd_breaker *b, int64_t now_ms);

#endif
