/* breaker.c - a per-chain circuit breaker (closed / open / half-open), driven by an injected clock. */
#include "breaker.h"

/* Owns: the breaker state machine (closed, open, half-open), pure.  May call: nothing of daemon/. */

#include "pc_format.h"

void pcd_breaker_init(pcd_breaker *b, uint64_t seed)
{
    b->state = PC_BREAKER_CLOSED;
    b->failures = 0;
    b->successes = 0;
    b->since_ms = 0;
    b->open_until_ms = 0;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

/* xorshift64*: jitter only needs to spread breakers of many chains apart. */
static uint64_t next_rand(pcd_breaker *b)
{
    uint64_t x = b->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* reset_ms ±20%, so that chains opened together do not probe together. */
static int64_t jittered(pcd_breaker *b, int reset_ms)
{
    int64_t span = (int64_t)reset_ms * 2 / 5; /* 40% wide window */
    if (span <= 0)
        return reset_ms;
    return (int64_t)reset_ms - span / 2 + (int64_t)(next_rand(b) % (uint64_t)(span + 1));
}

static void go_open(pcd_breaker *b, const pcd_breaker_cfg *cfg, int64_t now)
{
    b->state = PC_BREAKER_OPEN;
    b->since_ms = now;
    b->open_until_ms = now + jittered(b, cfg->reset_ms);
    b->successes = 0;
}

void pcd_breaker_restore(pcd_breaker *b, const pcd_breaker_cfg *cfg, int state,
                         int64_t since_ms, int64_t elapsed_ms, int64_t now_ms)
{
    if (state == PC_BREAKER_OPEN || state == PC_BREAKER_HALF_OPEN) {
        /* A clock that went backwards counts as no time passed. */
        go_open(b, cfg, now_ms - (elapsed_ms > 0 ? elapsed_ms : 0));
        b->since_ms = since_ms;
    } else {
        b->state = PC_BREAKER_CLOSED;
        b->since_ms = since_ms;
    }
}

int pcd_breaker_allow(pcd_breaker *b, int64_t now_ms)
{
    if (b->state != PC_BREAKER_OPEN)
        return 1;
    if (now_ms < b->open_until_ms)
        return 0;
    b->state = PC_BREAKER_HALF_OPEN;
    b->since_ms = now_ms;
    b->successes = 0;
    return 1;
}

int pcd_breaker_record(pcd_breaker *b, const pcd_breaker_cfg *cfg, int ok, int64_t now_ms)
{
    int before = b->state;
    switch (b->state) {
    case PC_BREAKER_CLOSED:
        if (ok) {
            b->failures = 0;
        } else if (++b->failures >= cfg->failures) {
            go_open(b, cfg, now_ms);
        }
        break;
    case PC_BREAKER_HALF_OPEN:
        if (!ok) {
            go_open(b, cfg, now_ms);
        } else if (++b->successes >= cfg->half_open_successes) {
            b->state = PC_BREAKER_CLOSED;
            b->since_ms = now_ms;
            b->failures = 0;
            b->successes = 0;
        }
        break;
    case PC_BREAKER_OPEN:
        /* A load that was allowed before the breaker opened ended late:
         * its failure changes nothing, its success is no probe. */
        break;
    }
    return b->state != before;
}

int pcd_breaker_reset(pcd_breaker *b, int64_t now_ms)
{
    int changed = b->state != PC_BREAKER_CLOSED;
    b->state = PC_BREAKER_CLOSED;
    b->failures = 0;
    b->successes = 0;
    if (changed)
        b->since_ms = now_ms;
    return changed;
}
