/* pc_bus.h - the bus message codec shared by the daemon, the CLI and the console.
 *
 * Wire format, version 1 (all integers little-endian):
 *
 *   topic   chain slug, or "*" for events of no chain   (1..64 bytes)
 *   0x00    end of topic: SUB filters match "acme\0" or "*\0" exactly
 *   'P' 'C' magic
 *   u8      format version (PC_BUS_VERSION)
 *   u8      kind (PC_EV_*)
 *   u64     seq        grows by one per event of this topic in one daemon run
 *   u64     run        identifies the daemon run (its start time, ms)
 *   i64     ts_ms      unix milliseconds
 *   u64     version    chain version after a publish, else 0
 *   u32     value      kind-specific: breaker state, load result, rows
 *   u16     text length, then text (no NUL): detail for humans
 *
 * Events are hints, not the truth: PUB/SUB drops messages for slow or absent
 * subscribers; a gap in a topic's seq (within one run) means "re-read the
 * metadata from LMDB".  Every second the daemon sends each topic a
 * heartbeat with its last seq and version, so that a subscriber also sees
 * that the tail of a burst went missing, and a late joiner catches up. */
#ifndef PC_BUS_H
#define PC_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "pc_format.h"

#define PC_BUS_VERSION 1
#define PC_BUS_TEXT_MAX 512
#define PC_BUS_MSG_MAX (PC_CHAIN_MAX + 1 + 2 + 2 + 8 * 4 + 4 + 2 + PC_BUS_TEXT_MAX)

#define PC_EVENT_KINDS(X)                  \
    X(PC_EV_PUBLISH,   "publish")   /* a chain has a new version */      \
    X(PC_EV_BREAKER,   "breaker")   /* a breaker changed state (value) */ \
    X(PC_EV_FAILED,    "failed")    /* a load failed (value: result) */   \
    X(PC_EV_REFUSED,   "refused")   /* a load was refused by a guard */   \
    X(PC_EV_REMOVED,   "removed")   /* a chain left the cache */          \
    X(PC_EV_HEARTBEAT, "heartbeat") /* seq = last seq sent */             \
    X(PC_EV_RESYNC,    "resync")    /* made by subscribers on a gap */

enum pc_event_kind {
#define PC_X_ENUM(id, name) id,
    PC_EVENT_KINDS(PC_X_ENUM)
#undef PC_X_ENUM
    PC_EV__COUNT
};

typedef struct pc_event {
    int      kind;
    char     chain[PC_CHAIN_MAX + 1]; /* "" for events of no chain */
    uint64_t seq, run;
    int64_t  ts_ms;
    uint64_t version;
    uint32_t value;
    char     text[PC_BUS_TEXT_MAX + 1];
} pc_event;

const char *pc_event_kind_name(int kind);

/* Encode into buf (PC_BUS_MSG_MAX bytes); returns the length, 0 when the
 * event cannot be encoded (bad kind or chain). */
size_t pc_bus_encode(const pc_event *ev, uint8_t *buf, size_t cap);

/* Decode a message.  PC_OK, or PC_EFORMAT for anything malformed, truncated,
 * of another version or with trailing bytes: never reads past len. */
int pc_bus_decode(const void *msg, size_t len, pc_event *out);

/* ---- subscribing (internal for now; the public API follows with issue 4) ---- */

typedef struct pc_sub pc_sub;

/* Connect a SUB socket to `addr`, for the n chains given (n == 0: every
 * event).  Events of no chain ("*") always come too.  PC_OK, PC_EINVAL,
 * PC_EIO, PC_ENOMEM. */
int  pc_sub_open(const char *addr, const char *const chains[], size_t n, pc_sub **out);
void pc_sub_close(pc_sub *s);

/* A descriptor that polls readable when an event may be waiting. */
int  pc_sub_fd(pc_sub *s);

/* The next event, waiting up to timeout_ms (<0 forever).  When events of a
 * topic were missed (a gap in seq, a heartbeat ahead of what was seen, or a
 * daemon restart) a PC_EV_RESYNC event for that chain comes first: re-read
 * its metadata from LMDB.  PC_OK, PC_ETIMEDOUT, PC_EFORMAT (a malformed
 * message, dropped), PC_EIO. */
int  pc_sub_next(pc_sub *s, int timeout_ms, pc_event *out);

#endif
