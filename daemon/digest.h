/* digest.h - a chain's rows as one order-independent, keyed digest: a reload whose rows digest like the published ones changes nothing, and skips its sort and diff. */
#ifndef PCD_DIGEST_H
#define PCD_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "pc_format.h"

/* The sum, modulo 2^64 in each of two lanes, of a keyed 128-bit hash of
 * every row's full LMDB key and value.  A sum, not a chain of hashes:
 * rows arrive in any order, and a delta moves the digest by the rows it
 * changes (pcd_digest_row, then _add or _sub).  A multiset: the same row
 * twice counts twice, so duplicates never cancel.  The key is drawn at
 * random when the process starts and never leaves its memory: rows
 * cannot be chosen to collide by anyone who writes prices, and two
 * digests are only compared within one process. */
typedef struct pcd_digest {
    uint64_t a, b;
} pcd_digest;

/* The hash of one row.  A digest of {} is {0, 0}. */
pcd_digest pcd_digest_row(const uint8_t *key, size_t klen, const pc_price_rec *val);

static inline void pcd_digest_add(pcd_digest *d, pcd_digest r)
{
    d->a += r.a;
    d->b += r.b;
}

static inline void pcd_digest_sub(pcd_digest *d, pcd_digest r)
{
    d->a -= r.a;
    d->b -= r.b;
}

static inline int pcd_digest_eq(pcd_digest x, pcd_digest y)
{
    return x.a == y.a && x.b == y.b;
}

/* 1 when the process has its random key: without one (no getrandom),
 * digests are still computed but never trusted. */
int pcd_digest_keyed(void);

#endif
