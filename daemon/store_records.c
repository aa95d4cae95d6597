/* store_records.c - the store's small records: chain metadata, the daemon record, the bus endpoints, the list of cached chains and their removal. */
#include "store.h"

/* Owns: meta, daemon and endpoints records; chain listing and removal.
 * May call: the store's runners (store_int.h), audit, log. */

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"
#include "store_table.h"

struct pcd_memo {
    char        chain[PC_CHAIN_MAX + 1];
    pc_meta_rec m;
    /* The digests of the chain's rows (snapshot.h), true while
     * e.version is m.version: every write of rows bumps the version, and
     * only writers that know the digest they leave carry it over. */
    pcd_expect  e;
};

/* Index of `chain` in the memo, or nmemo.  Caller holds memo_mu. */
static size_t memo_find(pcd_store *st, const char *chain)
{
    size_t i = 0;
    while (i < st->nmemo && strcmp(st->memo[i].chain, chain) != 0)
        i++;
    return i;
}

void pcd_st_memo_put(pcd_store *st, const char *chain, const pc_meta_rec *m)
{
    pc_meta_rec rec;
    /* As a reader of the record would decode it. */
    if (strlen(chain) > PC_CHAIN_MAX || pc_meta_decode(m, sizeof *m, &rec) != PC_OK) {
        pcd_st_memo_drop(st, chain);
        return;
    }
    pthread_mutex_lock(&st->memo_mu);
    size_t i = memo_find(st, chain);
    if (i == st->nmemo && st->nmemo == st->capmemo) {
        size_t cap = st->capmemo ? st->capmemo * 2 : 16;
        struct pcd_memo *nm = realloc(st->memo, cap * sizeof *nm);
        if (!nm) {
            pthread_mutex_unlock(&st->memo_mu);
            return; /* not memoed: readers go to the environment */
        }
        st->memo = nm;
        st->capmemo = cap;
    }
    if (i == st->nmemo) {
        snprintf(st->memo[i].chain, sizeof st->memo[i].chain, "%s", chain);
        memset(&st->memo[i].e, 0, sizeof st->memo[i].e);
        st->nmemo++;
    }
    st->memo[i].m = rec;
    pthread_mutex_unlock(&st->memo_mu);
}

void pcd_st_memo_drop(pcd_store *st, const char *chain)
{
    pthread_mutex_lock(&st->memo_mu);
    size_t i = memo_find(st, chain);
    if (i < st->nmemo)
        st->memo[i] = st->memo[--st->nmemo];
    pthread_mutex_unlock(&st->memo_mu);
}

void pcd_st_memo_digest(pcd_store *st, const char *chain, const pcd_expect *e)
{
    pthread_mutex_lock(&st->memo_mu);
    size_t i = memo_find(st, chain);
    if (i < st->nmemo)
        st->memo[i].e = *e;
    pthread_mutex_unlock(&st->memo_mu);
}

int pcd_st_memo_expect(pcd_store *st, const char *chain, pcd_expect *e)
{
    memset(e, 0, sizeof *e);
    pthread_mutex_lock(&st->memo_mu);
    size_t i = memo_find(st, chain);
    if (i < st->nmemo && st->memo[i].e.version && st->memo[i].e.version == st->memo[i].m.version)
        *e = st->memo[i].e;
    pthread_mutex_unlock(&st->memo_mu);
    return e->version != 0;
}

void pcd_store_expect(pcd_store *st, pcd_snapshot *snap)
{
    pcd_st_memo_expect(st, snap->chain, &snap->expect);
}

void pcd_st_memo_stage(pcd_store *st, const char *chain, const pc_meta_rec *m)
{
    st->staged = m ? 1 : 2;
    snprintf(st->staged_chain, sizeof st->staged_chain, "%s", chain);
    if (m)
        st->staged_meta = *m;
}

void pcd_st_memo_apply(pcd_store *st)
{
    if (st->staged == 1)
        pcd_st_memo_put(st, st->staged_chain, &st->staged_meta);
    else if (st->staged == 2)
        pcd_st_memo_drop(st, st->staged_chain);
    st->staged = 0;
}

void pcd_st_memo_free(pcd_store *st)
{
    free(st->memo);
    st->memo = NULL;
    st->nmemo = st->capmemo = 0;
}

int pcd_store_get_meta(pcd_store *st, const char *chain, pc_meta_rec *out)
{
    pthread_mutex_lock(&st->memo_mu);
    size_t i = memo_find(st, chain);
    int memoed = i < st->nmemo;
    if (memoed)
        *out = st->memo[i].m;
    pthread_mutex_unlock(&st->memo_mu);
    if (memoed)
        return PC_OK;
    /* Not memoed yet (first read since start, or not cached): from the
     * environment, memoed under the lock writers memo under. */
    pthread_mutex_lock(&st->mu);
    MDB_txn *txn;
    int rc = pcd_st_begin_read(st, &txn);
    if (!rc) {
        uint8_t kb[PC_KEY_MAX];
        MDB_val k = { pc_key_meta(kb, chain, strlen(chain)), kb }, v;
        rc = mdb_get(txn, st->dbi, &k, &v);
        if (!rc && pc_meta_decode(v.mv_data, v.mv_size, out) != PC_OK)
            rc = MDB_CORRUPTED;
        mdb_txn_abort(txn);
    }
    if (!rc)
        pcd_st_memo_put(st, chain, out);
    pthread_mutex_unlock(&st->mu);
    return pc_err_from_mdb(rc);
}

struct meta_arg { const char *chain; const pc_meta_rec *m; const char *audit; pcd_audit_mark mark; };

static int put_meta_fn(pcd_store *st, MDB_txn *txn, void *arg)
{
    struct meta_arg *a = arg;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_meta(kb, a->chain, strlen(a->chain)), kb }, v;
    int rc = mdb_get(txn, st->dbi, &k, &v); /* only for a chain that exists */
    if (rc)
        return rc;
    pc_meta_rec m = *a->m;
    m.size = sizeof m;
    v.mv_size = sizeof m;
    v.mv_data = &m;
    rc = mdb_put(txn, st->dbi, &k, &v, 0);
    if (!rc && a->audit)
        rc = pcd_st_audit_append(st, txn, a->audit, 0, &a->mark);
    if (!rc)
        pcd_st_memo_stage(st, a->chain, &m);
    return rc;
}

int pcd_store_put_meta(pcd_store *st, const char *chain, const pc_meta_rec *m)
{
    return pcd_store_put_meta_audited(st, chain, m, NULL, NULL);
}

int pcd_store_put_meta_audited(pcd_store *st, const char *chain, const pc_meta_rec *m,
                               const char *audit, uint64_t *seq)
{
    struct meta_arg a = { chain, m, audit, { 0, { 0 } } };
    char what[128];
    snprintf(what, sizeof what, "chain %s: metadata%s not written", chain,
             audit ? " and its audit record" : "");
    int rc = pcd_st_write_logged(st, put_meta_fn, &a, what);
    if (rc == PC_OK && audit)
        pcd_st_audit_done(&a.mark, seq);
    return rc;
}

struct endpoints_arg { const char *events, *control; };

static int endpoints_fn(pcd_store *st, MDB_txn *txn, void *arg)
{
    struct endpoints_arg *a = arg;
    size_t el = strlen(a->events), cl = strlen(a->control);
    char *buf = malloc(el + cl + 2);
    if (!buf)
        return ENOMEM;
    memcpy(buf, a->events, el + 1);
    memcpy(buf + el + 1, a->control, cl + 1);
    uint8_t kb[4];
    MDB_val k = { pc_key_endpoints(kb), kb }, v = { el + cl + 2, buf };
    int rc = mdb_put(txn, st->dbi, &k, &v, 0);
    free(buf);
    return rc;
}

int pcd_store_put_endpoints(pcd_store *st, const char *events, const char *control)
{
    struct endpoints_arg a = { events ? events : "", control ? control : "" };
    return pcd_st_write_logged(st, endpoints_fn, &a, "bus addresses not announced");
}

static int remove_fn(pcd_store *st, MDB_txn *txn, void *arg)
{
    const char *chain = arg;
    size_t clen = strlen(chain);
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_meta(kb, chain, clen), kb }, v;
    int rc = mdb_del(txn, st->dbi, &k, NULL);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    pcd_st_memo_stage(st, chain, NULL);
    rc = pcd_tab_remove(txn, st->dbi, chain, clen);
    if (rc)
        return rc;
    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, st->dbi, &cur);
    if (rc)
        return rc;
    uint8_t prefix[PC_CHAIN_MAX + 2];
    size_t plen = pc_key_chain_prefix(prefix, chain, clen);
    k.mv_size = plen;
    k.mv_data = prefix;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && pcd_st_has_prefix(&k, prefix, plen)) {
        rc = mdb_cursor_del(cur, 0);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

int pcd_store_remove_chain(pcd_store *st, const char *chain, char *err, size_t errlen)
{
    return pcd_st_write_txn(st, remove_fn, (void *)chain, err, errlen);
}

int pcd_store_list_chains(pcd_store *st, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&st->mu);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = pcd_st_begin_read(st, &txn);
    if (rc) {
        pthread_mutex_unlock(&st->mu);
        return pc_err_from_mdb(rc);
    }
    char **list = NULL;
    size_t cnt = 0, cap = 0;
    uint8_t pb[4];
    size_t plen = pc_key_meta_prefix(pb);
    MDB_val k = { plen, pb }, v;
    rc = mdb_cursor_open(txn, st->dbi, &cur);
    if (!rc)
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && pcd_st_has_prefix(&k, pb, plen)) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            char **nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                rc = ENOMEM;
                break;
            }
            list = nl;
        }
        list[cnt] = strndup((const char *)k.mv_data + plen, k.mv_size - plen);
        if (!list[cnt]) {
            rc = ENOMEM;
            break;
        }
        cnt++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    pthread_mutex_unlock(&st->mu);
    if (rc && rc != MDB_NOTFOUND) {
        for (size_t i = 0; i < cnt; i++)
            free(list[i]);
        free(list);
        return pc_err_from_mdb(rc);
    }
    *out = list;
    *n = cnt;
    return PC_OK;
}

int pcd_store_get_daemon(pcd_store *st, pc_daemon_rec *out)
{
    pthread_mutex_lock(&st->mu);
    MDB_txn *txn;
    int rc = pcd_st_begin_read(st, &txn);
    if (!rc) {
        uint8_t kb[8];
        MDB_val k = { pc_key_daemon(kb), kb }, v;
        rc = mdb_get(txn, st->dbi, &k, &v);
        if (!rc && pc_daemon_decode(v.mv_data, v.mv_size, out) != PC_OK)
            rc = MDB_CORRUPTED;
        mdb_txn_abort(txn);
    }
    pthread_mutex_unlock(&st->mu);
    return pc_err_from_mdb(rc);
}

static int put_daemon_fn(pcd_store *st, MDB_txn *txn, void *arg)
{
    pc_daemon_rec d = *(const pc_daemon_rec *)arg;
    uint8_t kb[8];
    MDB_val k = { pc_key_daemon(kb), kb }, v;
    /* The publish sequence belongs to the store: never move it back. */
    int rc = mdb_get(txn, st->dbi, &k, &v);
    pc_daemon_rec old;
    if (!rc && pc_daemon_decode(v.mv_data, v.mv_size, &old) == PC_OK && old.seq > d.seq)
        d.seq = old.seq;
    d.size = sizeof d;
    d.updated_ms = pc_now_ms();
    d.map_size = st->map_size;
    v.mv_size = sizeof d;
    v.mv_data = &d;
    return mdb_put(txn, st->dbi, &k, &v, 0);
}

int pcd_store_put_daemon(pcd_store *st, const pc_daemon_rec *rec)
{
    return pcd_st_write_logged(st, put_daemon_fn, (void *)rec, "daemon record not written");
}

typedef struct sources_arg {
    const pc_source_rec *recs;
    size_t n;
} sources_arg;

static int put_sources_fn(pcd_store *st, MDB_txn *txn, void *arg)
{
    const sources_arg *a = arg;
    struct {
        pc_sources_rec h;
        pc_source_rec e[PC_SOURCES_MAX];
    } rec;
    size_t n = a->n < PC_SOURCES_MAX ? a->n : PC_SOURCES_MAX;
    memset(&rec, 0, sizeof rec);
    rec.h.size = sizeof rec.h;
    rec.h.count = (uint32_t)n;
    rec.h.entry_size = sizeof rec.e[0];
    rec.h.updated_ms = pc_now_ms();
    memcpy(rec.e, a->recs, n * sizeof rec.e[0]);
    for (size_t i = 0; i < n; i++)
        rec.e[i].size = sizeof rec.e[i];
    uint8_t kb[8];
    MDB_val k = { pc_key_sources(kb), kb };
    MDB_val v = { sizeof rec.h + n * sizeof rec.e[0], &rec };
    return mdb_put(txn, st->dbi, &k, &v, 0);
}

int pcd_store_put_sources(pcd_store *st, const pc_source_rec *recs, size_t n)
{
    sources_arg a = { recs, n };
    return pcd_st_write_logged(st, put_sources_fn, &a, "sources record not written");
}

