/* dbwatch.h - the continuous check of the database on the LISTEN connection: when to send the next round trip, when an unanswered one means the server is gone, how long to wait before reconnecting. */
#ifndef PCD_DBWATCH_H
#define PCD_DBWATCH_H

/* Owns: the timing of the round trips and of reconnects, nothing else.
 * Pure: no I/O, no clock of its own (callers pass pc_mono_ms()), so that
 * the unit tests drive it with made-up times.  listen.c does the I/O. */

#include <stdint.h>

/* A round trip (LISTEN again, see listen.c) every second while the connection is up, and at
 * most 3 s for its answer: a server frozen with SIGSTOP or a network that
 * drops packets without a reset (where TCP gives no sign for minutes, and
 * a unix socket none at all) is declared unreachable at most
 * PCD_DBWATCH_INTERVAL_MS + PCD_DBWATCH_DEADLINE_MS = 4 s after its last
 * answer. */
#define PCD_DBWATCH_INTERVAL_MS 1000
#define PCD_DBWATCH_DEADLINE_MS 3000

/* Reconnect delays while the database is unreachable: jittered, doubling
 * from 0.5 s, at most 2 s, so that the daemon is back within about 2 s of
 * the database (plus the connect itself). */
#define PCD_DBWATCH_BACKOFF_BASE_MS 500
#define PCD_DBWATCH_BACKOFF_CAP_MS  2000

typedef struct pcd_dbwatch {
    int64_t next_ping_ms;   /* monotonic: when the next round trip is due */
    int64_t sent_ms;        /* when the outstanding one was sent */
    int     outstanding;    /* a round trip waits for its answer */
} pcd_dbwatch;

/* A connection that just answered (LISTEN succeeded) at `now`. */
void pcd_dbwatch_init(pcd_dbwatch *w, int64_t now);
/* 1 when a round trip should be sent now (none outstanding, one due). */
int  pcd_dbwatch_due(const pcd_dbwatch *w, int64_t now);
void pcd_dbwatch_sent(pcd_dbwatch *w, int64_t now);
/* Its answer came: the next is due an interval after it was sent (not
 * after the answer, so a slow server does not stretch the period). */
void pcd_dbwatch_answered(pcd_dbwatch *w, int64_t now);
/* 1 when the outstanding round trip is past its deadline: the server is
 * unreachable. */
int  pcd_dbwatch_expired(const pcd_dbwatch *w, int64_t now);
/* Milliseconds to wait (poll timeout) until something is due, >= 0. */
int  pcd_dbwatch_wait_ms(const pcd_dbwatch *w, int64_t now);

/* Delay before reconnect attempt `attempt` (0, 1, ...): in [b/2, b] with
 * b = min(BASE << attempt, CAP); *rng is an xorshift state (non-zero). */
int  pcd_dbwatch_backoff_ms(int attempt, uint64_t *rng);

#endif
