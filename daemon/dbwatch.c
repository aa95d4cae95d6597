/* dbwatch.c - the continuous check of the database on the LISTEN connection: round-trip timing, its deadline, reconnect delays. */
#include "dbwatch.h"

/* Owns: the arithmetic of dbwatch.h.  May call: nothing (pure). */

void pcd_dbwatch_init(pcd_dbwatch *w, int64_t now)
{
    w->next_ping_ms = now + PCD_DBWATCH_INTERVAL_MS;
    w->sent_ms = 0;
    w->outstanding = 0;
}

int pcd_dbwatch_due(const pcd_dbwatch *w, int64_t now)
{
    return !w->outstanding && now >= w->next_ping_ms;
}

void pcd_dbwatch_sent(pcd_dbwatch *w, int64_t now)
{
    w->sent_ms = now;
    w->outstanding = 1;
}

void pcd_dbwatch_answered(pcd_dbwatch *w, int64_t now)
{
    if (!w->outstanding)
        return;
    w->outstanding = 0;
    w->next_ping_ms = w->sent_ms + PCD_DBWATCH_INTERVAL_MS;
    if (w->next_ping_ms < now)
        w->next_ping_ms = now; /* answered late: the next one at once */
}

int pcd_dbwatch_expired(const pcd_dbwatch *w, int64_t now)
{
    return w->outstanding && now - w->sent_ms >= PCD_DBWATCH_DEADLINE_MS;
}

int pcd_dbwatch_wait_ms(const pcd_dbwatch *w, int64_t now)
{
    int64_t at = w->outstanding ? w->sent_ms + PCD_DBWATCH_DEADLINE_MS : w->next_ping_ms;
    int64_t d = at - now;
    return d < 0 ? 0 : d > PCD_DBWATCH_DEADLINE_MS ? PCD_DBWATCH_DEADLINE_MS : (int)d;
}

int pcd_dbwatch_backoff_ms(int attempt, uint64_t *rng)
{
    int b = PCD_DBWATCH_BACKOFF_CAP_MS;
    if (attempt >= 0 && attempt < 16) {
        long long v = (long long)PCD_DBWATCH_BACKOFF_BASE_MS << attempt;
        if (v < b)
            b = (int)v;
    }
    uint64_t x = *rng ? *rng : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    return b / 2 + (int)(x % (uint64_t)(b / 2 + 1));
}
