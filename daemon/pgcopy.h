/* pgcopy.h - parsing COPY ... (FORMAT binary) data as libpq hands it out (no libpq types here). */
#ifndef PCD_PGCOPY_H
#define PCD_PGCOPY_H

#include <stddef.h>
#include <stdint.h>

#include "validate.h"

/* Incremental parser of COPY ... (FORMAT binary) data: feed it the chunks
 * PQgetCopyData returns, in any split; it calls `row` for every tuple.
 * fields[i].data NULL means SQL NULL. */
typedef int (*pcd_copy_row_fn)(void *ctx, int nfields, const pcd_field *fields);
typedef struct pcd_copy_parser {
    uint8_t *buf;            /* carry-over of an incomplete tuple */
    size_t   len, cap;
    int      header_done;
    int      done;           /* trailer seen */
    pcd_copy_row_fn row;
    void    *ctx;
} pcd_copy_parser;

void pcd_copy_init(pcd_copy_parser *p, pcd_copy_row_fn row, void *ctx);
/* PC_OK, PC_EDB (malformed stream: message in err), PC_ENOMEM, or the
 * callback's non-zero return. */
int  pcd_copy_feed(pcd_copy_parser *p, const void *data, size_t len, char *err, size_t errlen);
/* PC_OK when the stream ended cleanly with its trailer. */
int  pcd_copy_end(pcd_copy_parser *p, char *err, size_t errlen);
void pcd_copy_free(pcd_copy_parser *p);

/* A binary int8 field (8 bytes, network order) as an int64: 0, or -1
 * when the field is not 8 bytes long. */
int  pcd_copy_i64(const pcd_field *f, int64_t *out);

#endif
