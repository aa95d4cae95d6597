/* store_publish.c - publishing into the store: a snapshot as a diff against the chain's keys, a delta as a small transaction, each with its meta record and version. */
#include "store.h"

/* Owns: the diff merge and the delta write; the publish sequence.
 * May call: the store's runners (store_int.h), delta, snapshot, audit, log. */

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"
#include "store_scan.h"
#include "store_table.h"
#include "delta.h"

/* Bytes this process has passed to write(2) and friends: around a commit
 * that is what LMDB wrote, which mdb_env_info cannot tell. */
static uint64_t proc_wchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (!f)
        return 0;
    char line[128];
    unsigned long long v = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %llu", &v) == 1)
            break;
    fclose(f);
    return v;
}

static int bump_seq(pcd_store *st, MDB_txn *txn, uint64_t *seq)
{
    uint8_t kb[8];
    MDB_val k = { pc_key_daemon(kb), kb }, v;
    pc_daemon_rec d;
    int rc = mdb_get(txn, st->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        memset(&d, 0, sizeof d);
    } else if (rc) {
        return rc;
    } else if (pc_daemon_decode(v.mv_data, v.mv_size, &d) != PC_OK) {
        memset(&d, 0, sizeof d);
    }
    d.size = sizeof d;
    d.seq++;
    d.updated_ms = pc_now_ms();
    *seq = d.seq;
    v.mv_size = sizeof d;
    v.mv_data = &d;
    return mdb_put(txn, st->dbi, &k, &v, 0);
}

/* The end of a snapshot's publish: its meta record (and audit record) in
 * `txn`, the commit, the memo, and the digest of what the chain now holds
 * (snapshot.h): the snapshot's, unless its rows were not all published
 * as they came (a duplicate key dropped one; pcd_digest covers every row
 * added) or the table was dropped (the next load must try it again). */
static int commit_meta(pcd_store *st, MDB_txn *txn, const pcd_snapshot *snap, pc_meta_rec *meta,
                       pcd_publish_stats *stats, const char *audit, pcd_audit_mark *mark,
                       uint64_t t0)
{
    meta->size = sizeof *meta;
    meta->version = stats->version;
    meta->loaded_at_ms = pc_now_ms();
    meta->base_rows = snap->base_rows;
    meta->store_rows = snap->store_rows;
    meta->avg_cents = pcd_snapshot_avg_cents(snap);
    meta->base_sum = (double)snap->base_sum;
    memcpy(meta->rejected, snap->rejected, sizeof meta->rejected);
    meta->rows_written = stats->put + stats->deleted;
    uint8_t mk[PC_KEY_MAX];
    MDB_val key = { pc_key_meta(mk, snap->chain, snap->clen), mk }, val = { sizeof *meta, meta };
    int rc = mdb_put(txn, st->dbi, &key, &val, 0);
    if (!rc && audit)
        rc = pcd_st_audit_append(st, txn, audit, stats->version, mark);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    uint64_t w0 = proc_wchar(), t1 = pcd_mono_us();
    stats->us_diff = t1 - t0;
    rc = mdb_txn_commit(txn);
    stats->us_commit = pcd_mono_us() - t1;
    stats->pages_written = (proc_wchar() - w0) / 4096;
    if (rc)
        return rc;
    pcd_st_memo_put(st, snap->chain, meta);
    if (snap->rejected[PC_REJ_DUPLICATE] == 0 && stats->tab_how != PCD_TAB_DROPPED) {
        pcd_expect e = { { snap->dg[0], snap->dg[1] }, { snap->base_rows, snap->store_rows },
                         stats->version };
        pcd_st_memo_digest(st, snap->chain, &e);
    }
    return MDB_SUCCESS;
}

/* The publish of a snapshot whose rows are the cache's (snap->same_as):
 * proven again inside the write transaction (the chain is still at that
 * version, its table kept as it is), then a new version with its meta
 * record, and not one row compared or written. */
static int same_txn(pcd_store *st, const pcd_snapshot *snap, pc_meta_rec *meta,
                    pcd_publish_stats *stats, const char *audit, pcd_audit_mark *mark)
{
    MDB_txn *txn;
    int rc = pcd_st_begin_write(st, &txn);
    if (rc)
        return rc;
    memset(stats, 0, sizeof *stats);
    uint64_t t0 = pcd_mono_us(), rows = snap->base_rows + snap->store_rows;
    uint8_t mk[PC_KEY_MAX];
    MDB_val k = { pc_key_meta(mk, snap->chain, snap->clen), mk }, v;
    pc_meta_rec cur;
    rc = mdb_get(txn, st->dbi, &k, &v);
    if (rc == MDB_SUCCESS && (pc_meta_decode(v.mv_data, v.mv_size, &cur) != PC_OK ||
                              cur.version != snap->same_as ||
                              cur.base_rows != snap->base_rows ||
                              cur.store_rows != snap->store_rows ||
                              !pcd_tab_keeps(txn, st->dbi, snap->chain, snap->clen, rows)))
        rc = PCD_ST_CHANGED;
    if (rc == MDB_NOTFOUND)
        rc = PCD_ST_CHANGED;
    if (!rc)
        rc = bump_seq(st, txn, &stats->version);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    stats->same = 1;
    stats->unchanged = rows;
    stats->tab_how = PCD_TAB_KEPT;
    return commit_meta(st, txn, snap, meta, stats, audit, mark, t0);
}

/* One attempt at the diff-publish; returns an LMDB code. */
static int publish_txn(pcd_store *st, const pcd_snapshot *snap, pc_meta_rec *meta,
                       pcd_publish_stats *stats, const char *audit, pcd_audit_mark *mark)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = pcd_st_begin_write(st, &txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, st->dbi, &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    memset(stats, 0, sizeof *stats);
    pcd_scan *sc = NULL;
    uint64_t t0 = pcd_mono_us();
    /* The keys the diff changes, for the lookup table: past a few hundred
     * (one per 4,096 rows) building it anew costs less than patching. */
    pcd_tab_log tlog;
    pcd_tab_log_init(&tlog, 64 + snap->n / 4096);
    /* A build that will happen anyway starts now, beside the diff; one
     * the diff's changes call for starts when they pass the log. */
    pcd_tab_prep *prep = pcd_tab_needs_build(txn, st->dbi, snap) ? pcd_tab_prepare(st->env, snap)
                                                                 : NULL;

    uint8_t prefix[PC_CHAIN_MAX + 2];
    size_t plen = pc_key_chain_prefix(prefix, snap->chain, snap->clen);
    MDB_val k = { plen, prefix }, v;

    /* Merge the sorted snapshot with the chain's sorted keys: equal keys
     * with equal values are left alone, so an unchanged reload dirties no
     * page; new keys are put, keys gone from the source deleted. */
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    int have = rc == MDB_SUCCESS && pcd_st_has_prefix(&k, prefix, plen);
    /* Past the last key of the whole database, appends are safe and keep
     * pages full. */
    int at_end = rc == MDB_NOTFOUND;
    if (rc && rc != MDB_NOTFOUND)
        goto out;
    rc = MDB_SUCCESS;
    /* The second half's unchanged run is looked for meanwhile. */
    sc = have ? pcd_scan_start(st->env, st->dbi, snap) : NULL; /* none on a first load */
    size_t i = 0, scan_at = sc ? pcd_scan_from(sc) : SIZE_MAX;
    while (i < snap->n || have) {
        /* At the scan's first record, the cursor on its key: skip the
         * records the scan found unchanged. */
        if (i == scan_at && have) {
            scan_at = SIZE_MAX;
            size_t upto = pcd_scan_wait(sc);
            if (upto > i && pcd_st_key_cmp(snap->recs[i].key, snap->recs[i].klen, k.mv_data,
                                           k.mv_size) == 0) {
                const pcd_rec *last = &snap->recs[upto - 1];
                k.mv_size = last->klen;
                k.mv_data = (void *)last->key;
                rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
                if (rc == MDB_SUCCESS)
                    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
                stats->unchanged += upto - i;
                stats->scan_skipped = upto - i;
                i = upto;
                if (rc == MDB_NOTFOUND) {
                    have = 0;
                    at_end = 1;
                    rc = MDB_SUCCESS;
                } else if (rc) {
                    goto out;
                } else {
                    have = pcd_st_has_prefix(&k, prefix, plen);
                }
                continue;
            }
        }
        /* The snapshot's keys lie in arrival order in memory (the daemon
         * sorted their records): fetch the next ones ahead. */
        if (i + 8 < snap->n)
            __builtin_prefetch(snap->recs[i + 8].key);
        if (!have) {
            const pcd_rec *r = &snap->recs[i++];
            MDB_val nk = { r->klen, (void *)r->key }, nv = { sizeof r->val, (void *)&r->val };
            rc = mdb_cursor_put(cur, &nk, &nv, at_end ? MDB_APPEND : 0);
            if (rc)
                goto out;
            stats->put++;
            pcd_tab_log_add(&tlog, r->key + plen, r->klen - plen, &r->val);
            continue;
        }
        int c = i < snap->n ? pcd_st_key_cmp(snap->recs[i].key, snap->recs[i].klen,
                                      k.mv_data, k.mv_size) : 1;
        if (c < 0) {
            const pcd_rec *r = &snap->recs[i++];
            MDB_val nk = { r->klen, (void *)r->key }, nv = { sizeof r->val, (void *)&r->val };
            rc = mdb_cursor_put(cur, &nk, &nv, 0);
            if (rc)
                goto out;
            stats->put++;
            pcd_tab_log_add(&tlog, r->key + plen, r->klen - plen, &r->val);
            /* The cursor now sits on the new key; step back onto the
             * existing one we were comparing against. */
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        } else if (c == 0) {
            const pcd_rec *r = &snap->recs[i++];
            if (v.mv_size != sizeof r->val || memcmp(v.mv_data, &r->val, sizeof r->val) != 0) {
                MDB_val nv = { sizeof r->val, (void *)&r->val };
                rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT);
                if (rc)
                    goto out;
                stats->put++;
                pcd_tab_log_add(&tlog, r->key + plen, r->klen - plen, &r->val);
            } else {
                stats->unchanged++;
            }
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        } else {
            pcd_tab_log_add(&tlog, (const uint8_t *)k.mv_data + plen, k.mv_size - plen, NULL);
            rc = mdb_cursor_del(cur, 0);
            if (rc)
                goto out;
            stats->deleted++;
            /* After a delete LMDB leaves the cursor on the following key
             * and MDB_NEXT returns it without advancing. */
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (tlog.over && !prep)
            prep = pcd_tab_prepare(st->env, snap);
        if (rc == MDB_NOTFOUND) {
            have = 0;
            at_end = 1; /* we passed the database's last key */
            rc = MDB_SUCCESS;
        } else if (rc) {
            goto out;
        } else {
            have = pcd_st_has_prefix(&k, prefix, plen);
        }
    }

    pcd_scan_free(sc);
    sc = NULL;
    rc = bump_seq(st, txn, &stats->version);
    if (rc)
        goto out;
    pcd_tab_stats ts;
    rc = pcd_tab_publish(txn, st->dbi, snap, &tlog, stats->put + stats->deleted,
                         stats->version, prep, &ts);
    if (rc)
        goto out;
    stats->tab_how = ts.how;
    stats->tab_segs = ts.segs_written;
    stats->us_table = ts.us;
    mdb_cursor_close(cur);
    cur = NULL;
    rc = commit_meta(st, txn, snap, meta, stats, audit, mark, t0);
    pcd_tab_log_free(&tlog);
    pcd_tab_prep_free(prep);
    return rc;
out:
    pcd_scan_free(sc); /* its read transaction ends before this one */
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    pcd_tab_log_free(&tlog);
    pcd_tab_prep_free(prep);
    return rc;
}

struct publish_arg {
    const pcd_snapshot *snap;
    pc_meta_rec *meta;
    pcd_publish_stats *stats;
    const char *audit;
    pcd_audit_mark mark;
};

static int publish_attempt(pcd_store *st, void *arg)
{
    struct publish_arg *a = arg;
    int dead = 0;
    /* Dead readers would pin old pages. */
    if (pcd_st_reader_check(st, &dead) == PCD_ST_LOCK_BAD)
        return PCD_ST_LOCK_BAD;
    if (a->snap->same_as)
        return same_txn(st, a->snap, a->meta, a->stats, a->audit, &a->mark);
    return publish_txn(st, a->snap, a->meta, a->stats, a->audit, &a->mark);
}

int pcd_store_publish(pcd_store *st, const pcd_snapshot *snap, pc_meta_rec *meta,
                      pcd_publish_stats *stats, char *err, size_t errlen)
{
    return pcd_store_publish_audited(st, snap, meta, stats, NULL, err, errlen);
}

int pcd_store_publish_audited(pcd_store *st, const pcd_snapshot *snap, pc_meta_rec *meta,
                              pcd_publish_stats *stats, const char *audit, char *err,
                              size_t errlen)
{
    struct publish_arg a = { snap, meta, stats, audit, { 0, { 0 } } };
    char what[128];
    snprintf(what, sizeof what, "chain %s: publish failed", snap->chain);
    int rc = pcd_st_run_growing(st, publish_attempt, &a, what, err, errlen);
    if (rc == PC_OK)
        pcd_st_published(st);
    if (rc == PC_ECHANGED) {
        /* Cannot be, while one job at a time loads or changes a chain;
         * should it be, the digest is not trusted again until a load has
         * compared every row. */
        pcd_expect none = { { { 0, 0 }, { 0, 0 } }, { 0, 0 }, 0 };
        pcd_st_memo_digest(st, snap->chain, &none);
    }
    if (rc == PC_OK && audit)
        pcd_st_audit_done(&a.mark, NULL);
    return rc;
}

static const pcd_rec *find_rec(const pcd_snapshot *s, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = pcd_st_key_cmp(s->recs[mid].key, s->recs[mid].klen, key, klen);
        if (c == 0)
            return &s->recs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int delta_txn(pcd_store *st, const char *chain, const pcd_snapshot *found,
                     const pcd_delta_key *keys, size_t nkeys, pc_meta_rec *meta,
                     pcd_publish_stats *stats)
{
    MDB_txn *txn;
    int rc = pcd_st_begin_write(st, &txn);
    if (rc)
        return rc;
    memset(stats, 0, sizeof *stats);
    size_t clen = strlen(chain);
    pcd_tab_log tlog; /* every change: a delta is small (delta_max_keys) */
    pcd_tab_log_init(&tlog, SIZE_MAX);
    uint8_t mk[PC_KEY_MAX];
    MDB_val mkey = { pc_key_meta(mk, chain, clen), mk }, v;
    pc_meta_rec cur;
    rc = mdb_get(txn, st->dbi, &mkey, &v);
    if (!rc && pc_meta_decode(v.mv_data, v.mv_size, &cur) != PC_OK)
        rc = MDB_CORRUPTED;
    if (rc)
        goto out;
    /* The digest of the chain's rows moves with each row changed, when
     * this process knows it as of the version the delta starts from. */
    pcd_expect e;
    int track = pcd_st_memo_expect(st, chain, &e) && e.version == cur.version;
    for (size_t i = 0; i < nkeys; i++) {
        const pcd_delta_key *dk = &keys[i];
        size_t ilen = strlen(dk->item), slen = dk->store ? strlen(dk->store) : 0;
        /* Such a key cannot be cached, so there is nothing to change. */
        if (ilen == 0 || ilen > PC_ID_MAX || (dk->store && (slen == 0 || slen > PC_ID_MAX)))
            continue;
        uint8_t kb[PC_KEY_MAX];
        MDB_val k;
        k.mv_data = kb;
        k.mv_size = dk->store ? pc_key_store(kb, chain, clen, dk->store, slen, dk->item, ilen)
                              : pc_key_base(kb, chain, clen, dk->item, ilen);
        pc_price_rec old;
        rc = mdb_get(txn, st->dbi, &k, &v);
        int had = rc == 0 && v.mv_size == sizeof old;
        if (had)
            memcpy(&old, v.mv_data, sizeof old);
        else if (rc && rc != MDB_NOTFOUND)
            goto out;
        const pcd_rec *r = find_rec(found, kb, k.mv_size);
        if (r) {
            if (had && memcmp(&old, &r->val, sizeof old) == 0) {
                stats->unchanged++;
                continue;
            }
            MDB_val nv = { sizeof r->val, (void *)&r->val };
            rc = mdb_put(txn, st->dbi, &k, &nv, 0);
            if (rc)
                goto out;
            stats->put++;
            pcd_tab_log_add(&tlog, kb + clen + 1, k.mv_size - clen - 1, &r->val);
            if (track && had)
                pcd_digest_sub(&e.dg[dk->store != NULL], pcd_digest_row(kb, k.mv_size, &old));
            if (track) {
                pcd_digest_add(&e.dg[dk->store != NULL], pcd_digest_row(kb, k.mv_size, &r->val));
                e.rows[dk->store != NULL] += !had;
            }
            if (!dk->store)
                cur.base_sum += (double)r->val.cents - (had ? (double)old.cents : 0.0);
            if (!had) {
                if (dk->store) cur.store_rows++;
                else cur.base_rows++;
            }
        } else if (had) {
            rc = mdb_del(txn, st->dbi, &k, NULL);
            if (rc)
                goto out;
            stats->deleted++;
            pcd_tab_log_add(&tlog, kb + clen + 1, k.mv_size - clen - 1, NULL);
            if (track) {
                pcd_digest_sub(&e.dg[dk->store != NULL], pcd_digest_row(kb, k.mv_size, &old));
                e.rows[dk->store != NULL]--;
            }
            if (dk->store) {
                cur.store_rows--;
            } else {
                cur.base_rows--;
                cur.base_sum -= (double)old.cents;
            }
        }
    }
    rc = MDB_SUCCESS;
    if (stats->put + stats->deleted == 0)
        goto out; /* nothing changed: no new version, no page written */
    rc = bump_seq(st, txn, &stats->version);
    if (rc)
        goto out;
    pcd_tab_stats ts;
    rc = pcd_tab_delta(txn, st->dbi, chain, clen, &tlog, stats->version, &ts);
    if (rc)
        goto out;
    stats->tab_how = ts.how;
    stats->tab_segs = ts.segs_written;
    stats->us_table = ts.us;
    meta->size = sizeof *meta;
    meta->version = stats->version;
    meta->loaded_at_ms = pc_now_ms();
    meta->base_rows = cur.base_rows;
    meta->store_rows = cur.store_rows;
    meta->base_sum = cur.base_sum;
    meta->avg_cents = pcd_mean_cents(cur.base_sum, cur.base_rows);
    meta->rows_written = stats->put + stats->deleted;
    v.mv_size = sizeof *meta;
    v.mv_data = meta;
    rc = mdb_put(txn, st->dbi, &mkey, &v, 0);
    if (rc)
        goto out;
    rc = mdb_txn_commit(txn);
    if (!rc)
        pcd_st_memo_put(st, chain, meta);
    if (!rc && track) {
        e.version = stats->version;
        pcd_st_memo_digest(st, chain, &e);
    }
    pcd_tab_log_free(&tlog);
    return rc;
out:
    mdb_txn_abort(txn);
    pcd_tab_log_free(&tlog);
    return rc;
}

struct delta_arg {
    const char *chain;
    const pcd_snapshot *found;
    const pcd_delta_key *keys;
    size_t nkeys;
    pc_meta_rec *meta;
    pcd_publish_stats *stats;
};

static int delta_attempt(pcd_store *st, void *arg)
{
    struct delta_arg *a = arg;
    return delta_txn(st, a->chain, a->found, a->keys, a->nkeys, a->meta, a->stats);
}

int pcd_store_apply_delta(pcd_store *st, const char *chain, const pcd_snapshot *found,
                          const pcd_delta_key *keys, size_t nkeys, pc_meta_rec *meta,
                          pcd_publish_stats *stats, char *err, size_t errlen)
{
    struct delta_arg a = { chain, found, keys, nkeys, meta, stats };
    char what[128];
    snprintf(what, sizeof what, "chain %s: applying changes failed", chain);
    int rc = pcd_st_run_growing(st, delta_attempt, &a, what, err, errlen);
    if (rc == PC_OK && stats->version) /* nothing committed says nothing of the space */
        pcd_st_published(st);
    return rc;
}

