/* loadrow.h - one COPY tuple of a chain's base or store query into the snapshot: decode, validate, key. */
#ifndef PCD_LOADROW_H
#define PCD_LOADROW_H

#include "snapshot.h"
#include "validate.h"

/* The state of one COPY stream (base or store) being read into `snap`. */
typedef struct pcd_load_rows {
    pcd_snapshot *snap;
    int           is_store;
    int           bad_columns;  /* set on PC_EDB: the tuple's field count, or
                                   -1 for a field of the wrong size */
} pcd_load_rows;

/* A pcd_copy_row_fn: counts the row, rejects it by reason
 * (pcd_validate_row) or adds it to the snapshot.  0, PC_EDB (wrong
 * columns: see bad_columns) or PC_ENOMEM. */
int pcd_load_row(void *ctx, int nfields, const pcd_field *fields);

#endif
