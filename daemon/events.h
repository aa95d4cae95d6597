/* events.h - the daemon's nanomsg PUB socket: one event per publish, breaker transition, failed or refused load, removal; heartbeats. */
#ifndef PCD_EVENTS_H
#define PCD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "pc_bus.h"

typedef struct pcd_events pcd_events;

/* Bind a PUB socket to `addr` (a nanomsg address).  For ipc:// the socket
 * file is made group read/writable (0660): nanomsg cannot set its mode at
 * bind.  PC_OK or PC_EIO with the cause in err. */
int  pcd_events_open(const char *addr, pcd_events **out, char *err, size_t errlen);
void pcd_events_close(pcd_events *ev);

/* Send one event (never blocks: PUB drops for slow subscribers).  NULL ev:
 * nothing.  Thread-safe. */
void pcd_events_send(pcd_events *ev, int kind, const char *chain, uint64_t version,
                     uint32_t value, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* One second's heartbeats ("*" and a round-robin slice of the chains):
 * each carries the last seq sent, so a subscriber that missed the
 * end of a burst notices. */
void pcd_events_heartbeat(pcd_events *ev);
/* The alarms (PC_HB_* bits and a text for humans) the "*" heartbeats
 * carry from now on. */
void pcd_events_alarms(pcd_events *ev, uint32_t bits, const char *text);

/* Beat for `chain` (at `version`) from now on, before any event of it in
 * this run: a chain served from disk that sends nothing (breaker open,
 * failing database) still has heartbeats, so a subscriber learns that the
 * daemon restarted and a late joiner learns its version.  NULL ev:
 * nothing.  Thread-safe. */
void pcd_events_track(pcd_events *ev, const char *chain, uint64_t version);

#endif
