/* validate.h - the rules a source row must pass before it is cached. */
#ifndef PCD_VALIDATE_H
#define PCD_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

/* A field as it came from the source: `data` NULL means SQL NULL. */
typedef struct pcd_field {
    const char *data;
    size_t      len;
} pcd_field;

/* Check a row. `store` is ignored (pass data NULL) for base rows when
 * is_store is 0.  Returns -1 when the row is good, else the PC_REJ_* reason
 * (pc_format.h).  Rules: any NULL -> null; empty store/item id -> empty_id;
 * id longer than PC_ID_MAX bytes -> long_id; price < 0 -> negative_price. */
int pcd_validate_row(int is_store, pcd_field store, pcd_field item,
                     int price_null, int64_t cents, int ts_null);

/* A printable, truncated description of a row for the reject log sample. */
void pcd_row_sample(char *buf, size_t buflen, int is_store, pcd_field store,
                    pcd_field item, int price_null, int64_t cents);

#endif
