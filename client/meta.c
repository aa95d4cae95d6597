/* meta.c - the records beside the prices: a chain's metadata, the daemon record, the list of chains, readiness and the environment's figures. */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errdetail.h"
#include "pc_format.h"
#include "pc_lockfile.h"
#include "pricecache.h"
#include "reader_private.h"

#define WAIT_POLL_MS 5

/* A chain's metadata inside an open transaction. */
int pc_rtxn_meta(const pc_rtxn *t, const char *chain, size_t clen, pc_meta_rec *out)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_meta(kb, chain, clen), kb }, v;
    int rc = mdb_get(t->txn, t->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return PC_ENOCHAIN;
    if (rc != MDB_SUCCESS)
        return pc_err_from_mdb(rc);
    return pc_meta_decode(v.mv_data, v.mv_size, out);
}

int pc_reader_meta(pc_reader *r, const char *chain, pc_meta_rec *out)
{
    size_t clen;
    if (!r || !out || !pc_chain_arg(chain, &clen))
        return PC_EINVAL;
    pc_rtxn s;
    int rc = pc_rtxn_begin(r, &s);
    if (rc != PC_OK)
        return rc;
    rc = pc_rtxn_meta(&s, chain, clen, out);
    pc_rtxn_end(&s);
    return rc;
}

static int chain_info(pc_reader *r, const char *chain, pc_chain_meta *out)
{
    if (!out)
        return PC_EINVAL;
    pc_meta_rec m;
    int rc = pc_reader_meta(r, chain, &m);
    if (rc != PC_OK)
        return rc;
    out->version = m.version;
    out->loaded_at = m.loaded_at_ms;
    out->base_rows = m.base_rows;
    out->store_rows = m.store_rows;
    out->avg_cents = m.avg_cents;
    out->breaker = (int)m.breaker;
    return PC_OK;
}

int pc_chain_info(pc_reader *r, const char *chain, pc_chain_meta *out)
{
    return pc_api_return(chain_info(r, chain, out));
}

/* The daemon record inside an open transaction: PC_OK, PC_NOTFOUND,
 * PC_EFORMAT (a record this library cannot decode), PC_EIO. */
static int daemon_in(const pc_rtxn *t, pc_daemon_rec *out)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_daemon(kb), kb }, v;
    int rc = mdb_get(t->txn, t->dbi, &k, &v);
    return rc != MDB_SUCCESS ? pc_err_from_mdb(rc) : pc_daemon_decode(v.mv_data, v.mv_size, out);
}

int pc_reader_daemon(pc_reader *r, pc_daemon_rec *out)
{
    if (!r || !out)
        return PC_EINVAL;
    pc_rtxn s;
    int rc = pc_rtxn_begin(r, &s);
    if (rc != PC_OK)
        return rc;
    rc = daemon_in(&s, out);
    pc_rtxn_end(&s);
    return rc;
}

static int chains_list(pc_reader *r, char ***out, size_t *count)
{
    if (!r || !out)
        return PC_EINVAL;
    *out = NULL;
    if (count)
        *count = 0;
    pc_rtxn s;
    int rc = pc_rtxn_begin(r, &s);
    if (rc != PC_OK)
        return rc;
    MDB_cursor *cur;
    rc = mdb_cursor_open(s.txn, s.dbi, &cur);
    if (rc != MDB_SUCCESS) {
        pc_rtxn_end(&s);
        return pc_err_from_mdb(rc);
    }
    uint8_t pb[PC_KEY_MAX];
    size_t plen = pc_key_meta_prefix(pb);
    /* Two passes in one transaction (so both see the same chains): count
     * and size, then fill one allocation of pointers followed by strings. */
    size_t n = 0, bytes = 0;
    char **arr = NULL;
    for (int pass = 0; pass < 2 && rc == MDB_SUCCESS; pass++) {
        MDB_val k = { plen, pb }, v;
        char *strs = arr ? (char *)(arr + n + 1) : NULL;
        size_t i = 0;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (rc == MDB_SUCCESS && k.mv_size > plen && memcmp(k.mv_data, pb, plen) == 0) {
            size_t len = k.mv_size - plen;
            if (pass == 0) {
                n++;
                bytes += len + 1;
            } else {
                memcpy(strs, (const char *)k.mv_data + plen, len);
                strs[len] = 0;
                arr[i++] = strs;
                strs += len + 1;
            }
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            break;
        rc = MDB_SUCCESS;
        if (pass == 0) {
            arr = malloc((n + 1) * sizeof *arr + bytes);
            if (!arr)
                rc = ENOMEM;
        } else {
            arr[i] = NULL;
        }
    }
    mdb_cursor_close(cur);
    pc_rtxn_end(&s);
    if (rc != MDB_SUCCESS) {
        free(arr);
        return pc_err_from_mdb(rc);
    }
    *out = arr;
    if (count)
        *count = n;
    return PC_OK;
}

int pc_chains(pc_reader *r, char ***out, size_t *count)
{
    return pc_api_return(chains_list(r, out, count));
}

void pc_free_chains(char **chains)
{
    free(chains);
}

static int wait_ready(pc_reader *r, int timeout_ms)
{
    if (!r)
        return PC_EINVAL;
    int64_t deadline = pc_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        /* A transaction refused is the answer, at once, whatever its code:
         * its PC_EFORMAT is lock.mdb obviously corrupt (pc_errdetail names
         * the check), which no waiting mends.  The transaction is begun
         * here, not through pc_reader_daemon, whose PC_EFORMAT cannot tell
         * that from the undecodable record below, which is waited out. */
        pc_rtxn t;
        int rc = pc_rtxn_begin(r, &t);
        if (rc != PC_OK)
            return rc;
        pc_daemon_rec d;
        rc = daemon_in(&t, &d);
        pc_rtxn_end(&t);
        if (rc == PC_OK && d.ready)
            return PC_OK;
        /* No record, or one we cannot decode: the daemon has not said it is
         * ready, which is all this call answers. */
        if (rc != PC_OK && rc != PC_NOTFOUND && rc != PC_EFORMAT)
            return rc;
        /* Waited out, not returned: a detail is not this call's. */
        if (rc == PC_EFORMAT)
            pc_detail_clear();
        int64_t left = deadline - pc_mono_ms();
        if (timeout_ms >= 0 && left <= 0)
            return PC_ETIMEDOUT;
        int64_t nap = timeout_ms >= 0 && left < WAIT_POLL_MS ? left : WAIT_POLL_MS;
        struct timespec ts = { 0, (long)nap * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

int pc_wait_ready(pc_reader *r, int timeout_ms)
{
    return pc_api_return(wait_ready(r, timeout_ms));
}

static int count_reader(const char *msg, void *ctx)
{
    /* mdb_reader_list sends a header, then one line per live slot that
     * starts with its pid; "(no active readers)" when there is none. */
    msg += strspn(msg, " ");
    if (*msg >= '0' && *msg <= '9')
        ++*(unsigned *)ctx;
    return 0;
}

int pc_reader_env_info(pc_reader *r, uint64_t *map_used, uint64_t *map_size,
                       unsigned *readers_used, unsigned *readers_max)
{
    if (!r)
        return PC_EINVAL;
    /* Inside a call so that a concurrent resize cannot unmap the meta pages
     * mdb_env_info reads. */
    pc_rtxn s;
    int rc = pc_rtxn_begin(r, &s);
    if (rc != PC_OK)
        return rc;
    MDB_envinfo info;
    MDB_stat ms;
    unsigned used = 0;
    rc = mdb_env_info(s.env, &info);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_stat(s.env, &ms);
    int lrc = PC_OK;
    char msg[200];
    /* mdb_reader_list walks as many slots as lock.mdb counts. */
    if (rc == MDB_SUCCESS &&
        (lrc = pc_lock_check_readers(info.me_numreaders, info.me_maxreaders, msg, sizeof msg)) ==
            PC_OK)
        rc = mdb_reader_list(s.env, count_reader, &used) < 0 ? EIO : MDB_SUCCESS;
    pc_rtxn_end(&s);
    if (lrc != PC_OK) {
        pc_detail_set(lrc, msg);
        return lrc;
    }
    if (rc != MDB_SUCCESS)
        return pc_err_from_mdb(rc);
    if (map_used)
        *map_used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
    if (map_size)
        *map_size = info.me_mapsize;
    if (readers_used)
        *readers_used = used;
    if (readers_max)
        *readers_max = info.me_maxreaders;
    return PC_OK;
}

