/* admin.c - the public records of the administration API: the daemon (with the database state), a chain's full load record, the environment's figures, the sources the daemon reads from. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "errdetail.h"
#include "pc_format.h"
#include "pricecache.h"
#include "reader_private.h"

/* The caller's structure is `have` bytes (its size member); ours is `full`
 * bytes in `src`.  Copy what both know, zero what only the caller knows,
 * keep the caller's size.  PC_EINVAL when `have` is below the first
 * version of the structure (`min`). */
static int fill_sized(void *out, uint32_t have, const void *src, size_t full, size_t min)
{
    if (have < min)
        return PC_EINVAL;
    size_t n = have < full ? have : full;
    memcpy((char *)out + sizeof(uint32_t), (const char *)src + sizeof(uint32_t),
           n - sizeof(uint32_t));
    if (have > full)
        memset((char *)out + full, 0, have - full);
    return PC_OK;
}

/* Sizes of the first version of each structure: a caller's size below
 * these cannot hold what version 1 promised. */
#define DAEMON_V1 sizeof(pc_daemon_status)
#define CHAIN_V1  sizeof(pc_chain_status)
#define ENV_V1    sizeof(pc_env_status)

/* ---- the daemon ------------------------------------------------------ */

/* A record that says running is not enough: a daemon killed with -9 never
 * wrote "stopped".  EPERM means the pid exists under another user. */
static int daemon_running(const pc_daemon_rec *d)
{
    if (d->state == PC_DAEMON_STOPPED || d->pid == 0)
        return 0;
    return !(kill((pid_t)d->pid, 0) != 0 && errno == ESRCH);
}

typedef struct newest {
    int         found;
    int64_t     at_ms;
    uint32_t    result;
    char        error[PC_ERROR_TEXT_MAX];
} newest;

/* The newest load attempt of any chain (the first of equals in key order). */
static int on_meta(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    newest *nw = ctx;
    pc_meta_rec m;
    if (pc_meta_decode(val, vlen, &m) != PC_OK)
        return 0; /* pc_chain_read reports such a record; the state does without */
    if (m.last_attempt_ms > 0 && (!nw->found || m.last_attempt_ms > nw->at_ms)) {
        nw->found = 1;
        nw->at_ms = m.last_attempt_ms;
        nw->result = m.last_result;
        snprintf(nw->error, sizeof nw->error, "%s", m.last_error);
    }
    return 0;
}

/* The database state of a daemon that did not record it, as the console
 * always derived it: the newest load attempt of any chain says whether
 * PostgreSQL answered; a load refused by a guard got its rows. */
static void derive_db(const newest *nw, pc_daemon_status *st)
{
    st->db_derived = 1;
    st->db_since_ms = 0;
    st->db_error[0] = '\0';
    if (!nw->found) {
        st->db_state = PC_DB_UNKNOWN;
    } else if (nw->result == PC_LOAD_FAILED || nw->result == PC_LOAD_TIMEOUT) {
        st->db_state = PC_DB_DOWN;
        snprintf(st->db_error, sizeof st->db_error, "%s", nw->error);
    } else {
        st->db_state = PC_DB_UP;
    }
}

static int daemon_read(pc_reader *r, pc_daemon_status *out)
{
    if (!r || !out)
        return PC_EINVAL;
    uint32_t have = out->size;
    if (have < DAEMON_V1)
        return PC_EINVAL;
    pc_rtxn t;
    int rc = pc_rtxn_begin(r, &t);
    if (rc != PC_OK)
        return rc;
    pc_daemon_rec d;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_daemon(kb), kb }, v;
    rc = mdb_get(t.txn, t.dbi, &k, &v);
    rc = rc != MDB_SUCCESS ? pc_err_from_mdb(rc) : pc_daemon_decode(v.mv_data, v.mv_size, &d);
    newest nw = { 0, 0, 0, "" };
    if (rc == PC_OK && d.db_state == PC_DB_UNKNOWN) {
        size_t plen = pc_key_meta_prefix(kb);
        rc = pc_rtxn_scan(&t, kb, plen, on_meta, &nw);
    }
    pc_rtxn_end(&t);
    pc_daemon_status st;
    memset(&st, 0, sizeof st);
    if (rc == PC_OK) {
        st.state = d.state;
        st.running = (uint32_t)daemon_running(&d);
        st.pid = d.pid;
        st.started_ms = d.started_ms;
        st.ready = d.ready;
        st.ready_ms = d.ready_ms;
        st.updated_ms = d.updated_ms;
        st.map_size = d.map_size;
        if (d.db_state != PC_DB_UNKNOWN) {
            st.db_state = d.db_state;
            st.db_since_ms = d.db_since_ms;
            memcpy(st.db_error, d.db_error, sizeof st.db_error);
            st.db_error[sizeof st.db_error - 1] = '\0';
        } else {
            derive_db(&nw, &st);
        }
        /* What a daemon that is gone last saw may be stale. */
        if (!st.running) {
            st.db_state = PC_DB_UNKNOWN;
            st.db_since_ms = 0;
            st.db_error[0] = '\0';
        }
    } else if (rc != PC_NOTFOUND) {
        return rc;
    }
    fill_sized(out, have, &st, sizeof st, DAEMON_V1);
    return rc;
}

int pc_daemon_read(pc_reader *r, pc_daemon_status *out)
{
    return pc_api_return(daemon_read(r, out));
}

/* ---- a chain --------------------------------------------------------- */

static int chain_read(pc_reader *r, const char *chain, pc_chain_status *out)
{
    if (!out || out->size < CHAIN_V1)
        return PC_EINVAL;
    pc_meta_rec m;
    int rc = pc_reader_meta(r, chain, &m);
    if (rc != PC_OK)
        return rc;
    pc_chain_status st;
    memset(&st, 0, sizeof st);
    st.breaker = m.breaker;
    st.version = m.version;
    st.loaded_at_ms = m.loaded_at_ms;
    st.base_rows = m.base_rows;
    st.store_rows = m.store_rows;
    st.avg_cents = m.avg_cents;
    st.breaker_since_ms = m.breaker_since_ms;
    st.probe_at_ms = m.probe_at_ms;
    st.last_attempt_ms = m.last_attempt_ms;
    st.last_duration_ms = m.last_duration_ms;
    st.last_result = m.last_result;
    st.consecutive_failures = m.consecutive_failures;
    _Static_assert(PC_REJ__COUNT <= PC_REJECT_SLOTS, "rejected[] holds every reason");
    st.nrejected = PC_REJ__COUNT;
    for (int i = 0; i < PC_REJ__COUNT; i++)
        st.rejected[i] = m.rejected[i];
    st.loads_ok = m.loads_ok;
    st.loads_failed = m.loads_failed;
    st.rows_written = m.rows_written;
    _Static_assert(sizeof st.last_error == sizeof m.last_error, "same error text room");
    memcpy(st.last_error, m.last_error, sizeof st.last_error);
    return fill_sized(out, out->size, &st, sizeof st, CHAIN_V1);
}

int pc_chain_read(pc_reader *r, const char *chain, pc_chain_status *out)
{
    return pc_api_return(chain_read(r, chain, out));
}

/* ---- the environment ------------------------------------------------- */

static int env_read(pc_reader *r, pc_env_status *out)
{
    if (!out || out->size < ENV_V1)
        return PC_EINVAL;
    pc_env_status st;
    memset(&st, 0, sizeof st);
    unsigned used, max;
    int rc = pc_reader_env_info(r, &st.map_used, &st.map_size, &used, &max);
    if (rc != PC_OK)
        return rc;
    st.readers_used = used;
    st.readers_max = max;
    return fill_sized(out, out->size, &st, sizeof st, ENV_V1);
}

int pc_env_read(pc_reader *r, pc_env_status *out)
{
    return pc_api_return(env_read(r, out));
}

#define SOURCE_V1 sizeof(pc_source_status)

static int source_read(pc_reader *r, size_t index, pc_source_status *out)
{
    if (!r || !out || out->size < SOURCE_V1)
        return PC_EINVAL;
    pc_rtxn t;
    int rc = pc_rtxn_begin(r, &t);
    if (rc != PC_OK)
        return rc;
    uint8_t kb[8];
    MDB_val k = { pc_key_sources(kb), kb }, v;
    pc_source_rec e;
    int64_t updated = 0;
    rc = mdb_get(t.txn, t.dbi, &k, &v);
    rc = rc != MDB_SUCCESS ? pc_err_from_mdb(rc)
                           : pc_sources_decode(v.mv_data, v.mv_size, index, &e, NULL, &updated);
    pc_rtxn_end(&t);
    if (rc != PC_OK)
        return rc;
    pc_source_status st;
    memset(&st, 0, sizeof st);
    st.state = e.state < PC_SOURCE__COUNT ? e.state : PC_SOURCE_UNKNOWN;
    st.up = e.up;
    st.breaker = e.breaker;
    st.lag_bytes = e.lag_bytes;
    st.lag_ms = e.lag_ms;
    st.reads_load = e.reads_load;
    st.reads_delta = e.reads_delta;
    st.updated_ms = updated;
    memcpy(st.name, e.name, sizeof st.name);
    memcpy(st.where, e.where, sizeof st.where);
    memcpy(st.why, e.why, sizeof st.why);
    return fill_sized(out, out->size, &st, sizeof st, SOURCE_V1);
}

int pc_source_read(pc_reader *r, size_t index, pc_source_status *out)
{
    return pc_api_return(source_read(r, index, out));
}
