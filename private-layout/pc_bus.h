/* pc_bus.h - the bus message codec shared by the daemon (publisher) and libpricecache (subscriber); private, not installed.
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
 * metadata from LMDB".  Every second the daemon sends heartbeats with a
 * topic's last seq and version, to "*" and to up to 128 chains
 * round-robin (each of n chains every ceil(n/128) s), so that a subscriber
 * also sees that the tail of a burst went missing, and a late joiner
 * catches up. */
#ifndef PC_BUS_H
#define PC_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "pc_format.h"

#define PC_BUS_VERSION 1
#define PC_BUS_TEXT_MAX PC_EVENT_TEXT_MAX
#define PC_BUS_MSG_MAX (PC_CHAIN_MAX + 1 + 2 + 2 + 8 * 4 + 4 + 2 + PC_BUS_TEXT_MAX)

/* pc_event, its kinds, pc_event_kind_name and the subscriber (pc_sub_*)
 * are public: see "Events" in pricecache.h. */

/* Encode into buf (PC_BUS_MSG_MAX bytes); returns the length, 0 when the
 * event cannot be encoded (bad kind or chain). */
size_t pc_bus_encode(const pc_event *ev, uint8_t *buf, size_t cap);

/* Decode a message.  PC_OK, or PC_EFORMAT for anything malformed, truncated,
 * of another version or with trailing bytes: never reads past len. */
int pc_bus_decode(const void *msg, size_t len, pc_event *out);

#endif
