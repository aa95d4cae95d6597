/* loadrow.c - one COPY tuple of a chain's base or store query into the snapshot: decode, validate, key. */
#include "loadrow.h"

/* Owns: the columns of the load queries as they arrive.  May call:
 * pgcopy (field decoding), validate, snapshot. */

#include "pc_format.h"
#include "pgcopy.h"

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
    int price_null = f[off + 1].data == NULL, ts_null = f[off + 2].data == NULL;
    if ((!price_null && pcd_copy_i64(&f[off + 1], &cents)) ||
        (!ts_null && pcd_copy_i64(&f[off + 2], &ts))) {
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
    return pcd_snapshot_add(lc->snap, lc->is_store ? store.data : NULL, store.len,
                            item.data, item.len, cents, ts) == PC_OK ? 0 : PC_ENOMEM;
}
