/* store_scan.c - the unchanged run at the start of a snapshot's second half, found on a thread of its own while the diff walks the first half. */
#include "store_scan.h"

/* Owns: the second diff thread of a publish.  May call: nothing of
 * daemon/ but the snapshot's records and the key order of store.c. */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"
#include "store_int.h"

/* Below this many records the thread costs more than half a diff saves
 * (a diff compares ~25 M records a second; a thread and a read
 * transaction cost tens of microseconds). */
#define SCAN_MIN_RECORDS 65536

struct pcd_scan {
    pthread_t          th;
    MDB_env           *env;
    MDB_dbi            dbi;
    const pcd_snapshot *snap;
    size_t             from, upto;
    int                joined;
};

static int same_value(const MDB_val *v, const pcd_rec *r)
{
    return v->mv_size == sizeof r->val && memcmp(v->mv_data, &r->val, sizeof r->val) == 0;
}

static void *scan_main(void *arg)
{
    pcd_scan *sc = arg;
    const pcd_snapshot *snap = sc->snap;
    MDB_txn *txn;
    MDB_cursor *cur;
    if (mdb_txn_begin(sc->env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
        return NULL;
    if (mdb_cursor_open(txn, sc->dbi, &cur) != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return NULL;
    }
    size_t i = sc->from;
    const pcd_rec *r = &snap->recs[i];
    MDB_val k = { r->klen, (void *)r->key }, v;
    /* The records' keys are all of one chain: the next LMDB key being the
     * next record's key means no key of the chain lies between them. */
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    while (rc == MDB_SUCCESS && same_value(&v, r)) {
        if (++i == snap->n)
            break;
        if (i + 8 < snap->n)
            __builtin_prefetch(snap->recs[i + 8].key);
        r = &snap->recs[i];
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        if (rc != MDB_SUCCESS || pcd_st_key_cmp(k.mv_data, k.mv_size, r->key, r->klen) != 0)
            break;
    }
    sc->upto = i;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return NULL;
}

pcd_scan *pcd_scan_start(MDB_env *env, MDB_dbi dbi, const pcd_snapshot *snap)
{
    if (snap->n < 2 * SCAN_MIN_RECORDS)
        return NULL;
    pcd_scan *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->env = env;
    sc->dbi = dbi;
    sc->snap = snap;
    sc->from = sc->upto = snap->n / 2;
    if (pthread_create(&sc->th, NULL, scan_main, sc) != 0) {
        free(sc);
        return NULL;
    }
    return sc;
}

size_t pcd_scan_from(const pcd_scan *sc)
{
    return sc->from;
}

size_t pcd_scan_wait(pcd_scan *sc)
{
    if (!sc->joined) {
        pthread_join(sc->th, NULL);
        sc->joined = 1;
    }
    return sc->upto;
}

void pcd_scan_free(pcd_scan *sc)
{
    if (!sc)
        return;
    pcd_scan_wait(sc);
    free(sc);
}
