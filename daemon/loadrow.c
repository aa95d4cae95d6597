/* loadrow.c - one COPY tuple of a chain's base or store query into the snapshot: decode, validate, key. */
#include "loadrow.h"

#include <stdint.h>

/* Owns: the columns of the load queries as they arrive.  May call:
 * pgcopy (field decoding), validate, snapshot. */

#include "pc_format.h"
#include "pgcopy.h"

/* updated_at in COPY's binary form: timestamptz and timestamp are
 * microseconds since 2000-01-01 (int8), date is days since then (int4);
 * the largest and smallest values are 'infinity' and '-infinity'.  Unix
 * seconds rounded down, as floor(extract(epoch from updated_at)) gives
 * them, infinities as INT64_MAX and INT64_MIN (PCD_SQL_EPOCH), and the
 * microseconds within the second.  0, or -1 for a field of another size. */
static int decode_ts(const pcd_field *f, int64_t *sec, uint32_t *sub)
{
    const int64_t pg_epoch = 946684800; /* 2000-01-01 in unix seconds */
    *sub = 0;
    if (f->len == 4) {
        const uint8_t *d = (const uint8_t *)f->data;
        int32_t days = (int32_t)(((uint32_t)d[0] << 24) | ((uint32_t)d[1] << 16) |
                                 ((uint32_t)d[2] << 8) | d[3]);
        *sec = days == INT32_MAX ? INT64_MAX : days == INT32_MIN ? INT64_MIN
             : (int64_t)days * 86400 + pg_epoch;
        return 0;
    }
    int64_t us;
    if (pcd_copy_i64(f, &us))
        return -1;
    if (us == INT64_MAX || us == INT64_MIN) {
        *sec = us;
        return 0;
    }
    int64_t q = us / 1000000, r = us % 1000000;
    if (r < 0) {
        q--;
        r += 1000000;
    }
    *sec = q + pg_epoch;
    *sub = (uint32_t)r;
    return 0;
}

int pcd_load_row(void *arg, int nf, const pcd_field *f)
{
    pcd_load_rows *lc = arg;
    int want = lc->is_store ? 4 : 3;
    if (nf != want) {
        lc->bad_columns = nf;
        return PC_EDB;
    }
    int off = lc->is_store ? 1 : 0;
    pcd_field store = lc->is_store ? f[0] : (pcd_field){ NULL, 0 };
    pcd_field item = f[off];
    int64_t cents = 0, ts = 0;
    uint32_t sub = 0;
    int price_null = f[off + 1].data == NULL, ts_null = f[off + 2].data == NULL;
    if ((!price_null && pcd_copy_i64(&f[off + 1], &cents)) ||
        (!ts_null && decode_ts(&f[off + 2], &ts, &sub))) {
        lc->bad_columns = -1;
        return PC_EDB;
    }
    lc->snap->rows_seen++;
    int why = pcd_validate_row(lc->is_store, store, item, price_null, cents, ts_null);
    if (why >= 0) {
        char sample[128];
        pcd_row_sample(sample, sizeof sample, lc->is_store, store, item, price_null, cents);
        pcd_snapshot_reject(lc->snap, why, sample);
        return 0;
    }
    return pcd_snapshot_add_us(lc->snap, lc->is_store ? store.data : NULL, store.len,
                               item.data, item.len, cents, ts, sub) == PC_OK ? 0 : PC_ENOMEM;
}
