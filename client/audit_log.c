/* audit_log.c - the audit log read from the cache: one record at a time (pc_audit_next) and the hash chain checked whole (pc_audit_verify). */
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "errdetail.h"
#include "pc_format.h"
#include "pricecache.h"
#include "reader_private.h"

/* The first record numbered above `after`, in its own transaction.
 * PC_OK; PC_NOTFOUND at the end; PC_EFORMAT with rec->seq naming the
 * record that is not one.  rec->seq stays 0 when no record was reached:
 * the transaction was refused, and its PC_EFORMAT (lock.mdb obviously
 * corrupt, the detail naming it) says nothing about the log. */
static int audit_at(pc_reader *r, uint64_t after, pc_audit_rec *rec)
{
    rec->seq = 0;
    pc_rtxn t;
    int rc = pc_rtxn_begin(r, &t);
    if (rc != PC_OK)
        return rc;
    uint8_t kb[16], pb[4];
    size_t plen = pc_key_audit_prefix(pb);
    MDB_val k = { pc_key_audit(kb, after + 1), kb }, v;
    MDB_cursor *cur;
    rc = mdb_cursor_open(t.txn, t.dbi, &cur);
    if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_SUCCESS && (k.mv_size < plen || memcmp(k.mv_data, pb, plen) != 0))
            rc = MDB_NOTFOUND; /* past the log */
        if (rc == MDB_SUCCESS) {
            uint64_t seq = pc_audit_key_seq(k.mv_data, k.mv_size);
            rec->seq = seq ? seq : after + 1;
            rc = seq ? pc_audit_decode(seq, v.mv_data, v.mv_size, rec) : PC_EFORMAT;
        } else {
            rc = pc_err_from_mdb(rc);
        }
        mdb_cursor_close(cur);
    } else {
        rc = pc_err_from_mdb(rc);
    }
    pc_rtxn_end(&t);
    return rc;
}

#define ENTRY_V1 sizeof(pc_audit_entry)
#define VERDICT_V1 sizeof(pc_audit_verdict)

static int audit_next(pc_reader *r, uint64_t after, pc_audit_entry *out)
{
    if (!r || !out || out->size < ENTRY_V1)
        return PC_EINVAL;
    pc_audit_rec rec;
    int rc = audit_at(r, after, &rec);
    if (rc != PC_OK && rc != PC_EFORMAT)
        return rc;
    /* On PC_EFORMAT, seq 0 (no record) tells a refused lock.mdb from a
     * bad record: out is cleared either way, so that a caller walking the
     * log never blames the record it read last. */
    uint32_t size = out->size;
    memset(out, 0, size);
    out->size = size;
    out->seq = rec.seq;
    if (rc == PC_OK) {
        memcpy(out->prev, rec.prev, sizeof out->prev);
        memcpy(out->hash, rec.hash, sizeof out->hash);
        memcpy(out->text, rec.text, rec.len + 1);
    }
    return rc;
}

int pc_audit_next(pc_reader *r, uint64_t after, pc_audit_entry *out)
{
    return pc_api_return(audit_next(r, after, out));
}

static int audit_verify(pc_reader *r, pc_audit_verdict *out)
{
    if (!r || !out || out->size < VERDICT_V1)
        return PC_EINVAL;
    uint32_t size = out->size;
    memset(out, 0, size);
    out->size = size;
    pc_audit_rec rec;
    const uint8_t *prev = NULL;
    for (;;) {
        int rc = audit_at(r, out->intact, &rec);
        if (rc == PC_NOTFOUND)
            return PC_OK;
        /* Only a record that is not one breaks the chain.  A refused
         * transaction (rec.seq 0) is no verdict on the log: a damaged
         * lock.mdb is not tampering, and its PC_EFORMAT goes back as it
         * is, with its detail, bad_seq 0. */
        if (rc == PC_EFORMAT && rec.seq) {
            out->bad_seq = rec.seq;
            snprintf(out->why, sizeof out->why, "not a well-formed audit record");
            return PC_ETAMPERED;
        }
        if (rc != PC_OK)
            return rc;
        if (pc_audit_check(&rec, out->intact + 1, prev, out->why, sizeof out->why) != PC_OK) {
            out->bad_seq = rec.seq;
            return PC_ETAMPERED;
        }
        memcpy(out->last_hash, rec.hash, sizeof out->last_hash);
        prev = out->last_hash;
        out->intact++;
    }
}

int pc_audit_verify(pc_reader *r, pc_audit_verdict *out)
{
    return pc_api_return(audit_verify(r, out));
}
