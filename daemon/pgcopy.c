/* pgcopy.c - an incremental parser of PostgreSQL's COPY ... (FORMAT binary) stream: tuples out of chunks split anywhere. */
#include "pgcopy.h"

/* Owns: the COPY BINARY framing.  May call: validate (the field type). */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"

static const uint8_t copy_sig[11] = { 'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0377, '\r', '\n', 0 };

void pcd_copy_init(pcd_copy_parser *p, pcd_copy_row_fn row, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->row = row;
    p->ctx = ctx;
}

void pcd_copy_free(pcd_copy_parser *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = p->cap = 0;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return ntohl(v);
}

static int16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return (int16_t)ntohs(v);
}

/* Parse what `d[0..len)` holds completely; *used gets how much. */
static int parse_some(pcd_copy_parser *p, const uint8_t *d, size_t len, size_t *used,
                      char *err, size_t errlen)
{
    size_t o = 0;
    if (!p->header_done) {
        if (len < 19) {
            *used = 0;
            return PC_OK;
        }
        if (memcmp(d, copy_sig, sizeof copy_sig) != 0) {
            snprintf(err, errlen, "COPY stream: bad binary signature");
            return PC_EDB;
        }
        uint32_t ext = rd32(d + 15);
        if (len < 19 + (size_t)ext) {
            *used = 0;
            return PC_OK;
        }
        o = 19 + ext;
        p->header_done = 1;
    }
    pcd_field fields[16];
    while (o < len) {
        if (p->done) {
            snprintf(err, errlen, "COPY stream: data after the trailer");
            return PC_EDB;
        }
        if (len - o < 2)
            break;
        int16_t nf = rd16(d + o);
        if (nf == -1) {
            p->done = 1;
            o += 2;
            continue;
        }
        if (nf < 0 || nf > 16) {
            snprintf(err, errlen, "COPY stream: tuple with %d fields", nf);
            return PC_EDB;
        }
        size_t q = o + 2;
        int complete = 1;
        for (int i = 0; i < nf; i++) {
            if (len - q < 4) {
                complete = 0;
                break;
            }
            int32_t fl = (int32_t)rd32(d + q);
            q += 4;
            if (fl == -1) {
                fields[i].data = NULL;
                fields[i].len = 0;
                continue;
            }
            if (fl < 0) {
                snprintf(err, errlen, "COPY stream: field length %d", fl);
                return PC_EDB;
            }
            if (len - q < (size_t)fl) {
                complete = 0;
                break;
            }
            fields[i].data = (const char *)d + q;
            fields[i].len = (size_t)fl;
            q += (size_t)fl;
        }
        if (!complete)
            break;
        int rc = p->row(p->ctx, nf, fields);
        if (rc)
            return rc;
        o = q;
    }
    *used = o;
    return PC_OK;
}

int pcd_copy_feed(pcd_copy_parser *p, const void *data, size_t len, char *err, size_t errlen)
{
    const uint8_t *d = data;
    if (p->len == 0) {
        /* The common case: whole tuples in the chunk, parsed in place. */
        size_t used;
        int rc = parse_some(p, d, len, &used, err, errlen);
        if (rc)
            return rc;
        d += used;
        len -= used;
        if (len == 0)
            return PC_OK;
    }
    if (p->len + len > p->cap) {
        size_t cap = (p->len + len) * 2;
        uint8_t *nb = realloc(p->buf, cap);
        if (!nb)
            return PC_ENOMEM;
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, d, len);
    p->len += len;
    size_t used;
    int rc = parse_some(p, p->buf, p->len, &used, err, errlen);
    if (rc)
        return rc;
    memmove(p->buf, p->buf + used, p->len - used);
    p->len -= used;
    return PC_OK;
}

int pcd_copy_end(pcd_copy_parser *p, char *err, size_t errlen)
{
    if (!p->done || p->len) {
        snprintf(err, errlen, "COPY stream ended early (%s)",
                 p->done ? "trailing bytes" : "no trailer");
        return PC_EDB;
    }
    return PC_OK;
}

int pcd_copy_i64(const pcd_field *f, int64_t *out)
{
    if (f->len != 8)
        return -1;
    uint32_t hi = rd32((const uint8_t *)f->data), lo = rd32((const uint8_t *)f->data + 4);
    *out = (int64_t)(((uint64_t)hi << 32) | lo);
    return 0;
}
