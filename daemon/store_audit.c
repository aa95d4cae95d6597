/* store_audit.c - the audit log in the store: hash-chained records appended in the caller's transaction, and the search for a resent request. */
#include "store.h"

/* Owns: the audit log's keys and chaining.  May call: the store's runners
 * (store_int.h), log. */

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"


static void audit_logged(const pcd_audit_mark *m)
{
    char hex[2 * PC_AUDIT_HASH + 1];
    for (int i = 0; i < PC_AUDIT_HASH; i++)
        snprintf(hex + 2 * i, 3, "%02x", m->hash[i]);
    LOG_INFO("audit", "audit record %llu committed, sha256 %s", (unsigned long long)m->seq, hex);
}

/* Put the cursor on the last audit record's key, or on the key before
 * where it would be: the audit keys ("\0A" + seq) end before "\0B".
 * The caller checks pc_audit_key_seq of what it finds. */
static int audit_last(MDB_cursor *cur, MDB_val *k, MDB_val *v)
{
    static uint8_t past[2] = { 0, 'A' + 1 };
    k->mv_size = sizeof past;
    k->mv_data = past;
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    return mdb_cursor_get(cur, k, v, rc == MDB_SUCCESS ? MDB_PREV : MDB_LAST);
}

/* Hand an append's outcome to the caller and the journal once committed. */
void pcd_st_audit_done(const pcd_audit_mark *m, uint64_t *seq)
{
    audit_logged(m);
    if (seq)
        *seq = m->seq;
}

/* Append an audit record in `txn`, chained to the last one.  `version`,
 * when not 0, is appended to the text (known only inside a publish).
 * Returns an LMDB code; MDB_CORRUPTED when the last record cannot be
 * read: the log must not silently start a new chain. */
int pcd_st_audit_append(pcd_store *st, MDB_txn *txn, const char *text, uint64_t version,
                        pcd_audit_mark *mark)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->dbi, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    rc = audit_last(cur, &k, &v);
    pc_audit_rec *rec = calloc(1, sizeof *rec);
    if (!rec) {
        mdb_cursor_close(cur);
        return ENOMEM;
    }
    uint64_t last = rc == MDB_SUCCESS ? pc_audit_key_seq(k.mv_data, k.mv_size) : 0;
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        goto out;
    } else if (last) {
        if (pc_audit_decode(last, v.mv_data, v.mv_size, rec) != PC_OK) {
            LOG_ERR("audit", "audit record %llu cannot be read; refusing to append",
                    (unsigned long long)last);
            rc = MDB_CORRUPTED;
            goto out;
        }
        memcpy(rec->prev, rec->hash, sizeof rec->prev);
    } else {
        memset(rec->prev, 0, sizeof rec->prev);
    }
    rec->seq = last + 1;
    int n = version ? snprintf(rec->text, sizeof rec->text, "%s version=%llu", text,
                               (unsigned long long)version)
                    : snprintf(rec->text, sizeof rec->text, "%s", text);
    rec->len = n < 0 ? 0 : (size_t)n < sizeof rec->text ? (size_t)n : sizeof rec->text - 1;
    pc_audit_seal(rec);
    uint8_t buf[4 + 2 * PC_AUDIT_HASH + PC_AUDIT_TEXT_MAX], kb[16];
    MDB_val nk = { pc_key_audit(kb, rec->seq), kb };
    MDB_val nv = { pc_audit_encode(rec, buf, sizeof buf), buf };
    rc = mdb_put(txn, st->dbi, &nk, &nv, MDB_NOOVERWRITE);
    if (!rc && mark) {
        mark->seq = rec->seq;
        memcpy(mark->hash, rec->hash, sizeof mark->hash);
    }
out:
    free(rec);
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
}

struct audit_arg { const char *text; pcd_audit_mark mark; };

static int audit_fn(pcd_store *st, MDB_txn *txn, void *arg)
{
    struct audit_arg *a = arg;
    return pcd_st_audit_append(st, txn, a->text, 0, &a->mark);
}

int pcd_store_audit(pcd_store *st, const char *text, uint64_t *seq)
{
    struct audit_arg a = { text, { 0, { 0 } } };
    int rc = pcd_st_write_logged(st, audit_fn, &a, "audit record not written");
    if (rc == PC_OK)
        pcd_st_audit_done(&a.mark, seq);
    return rc;
}

int pcd_store_audit_find(pcd_store *st, const char *a, const char *b, unsigned depth,
                         uint64_t *seq)
{
    pc_audit_rec *rec = malloc(sizeof *rec);
    if (!rec)
        return PC_ENOMEM;
    pthread_mutex_lock(&st->mu);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int found = 0;
    int rc = pcd_st_begin_read(st, &txn);
    if (!rc)
        rc = mdb_cursor_open(txn, st->dbi, &cur);
    if (!rc) {
        /* Backwards from the last audit key, as audit_append finds it. */
        MDB_val k, v;
        int got = audit_last(cur, &k, &v);
        for (unsigned i = 0; i < depth && got == MDB_SUCCESS;
             i++, got = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
            uint64_t s = pc_audit_key_seq(k.mv_data, k.mv_size);
            if (!s)
                break; /* left the audit keys */
            if (pc_audit_decode(s, v.mv_data, v.mv_size, rec) != PC_OK) {
                /* Not fatal to a search; `audit verify` names it. */
                LOG_WARN("audit", "audit record %llu cannot be read; skipped in the search "
                         "for a resent request", (unsigned long long)s);
                continue;
            }
            rec->text[rec->len < sizeof rec->text ? rec->len : sizeof rec->text - 1] = 0;
            if (strstr(rec->text, a) && strstr(rec->text, b)) {
                *seq = s;
                found = 1;
                break;
            }
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    if (!rc)
        mdb_txn_abort(txn);
    pthread_mutex_unlock(&st->mu);
    free(rec);
    if (rc)
        return pc_err_from_mdb(rc);
    return found ? PC_OK : PC_NOTFOUND;
}

