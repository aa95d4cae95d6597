/* store.c - the daemon's write side of the LMDB environment: create, publish snapshots as diffs, metadata. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delta.h"
#include "log.h"
#include "pc_stats_internal.h"

struct pcd_store {
    MDB_env        *env;
    MDB_dbi         dbi;
    int             lock_fd;
    uint64_t        map_size;     /* bytes */
    uint64_t        map_max;      /* bytes */
    char           *path;
    /* Every transaction of the daemon runs under this lock: LMDB allows one
     * writer anyway, and mdb_env_set_mapsize (map growth) is only legal
     * while no transaction is active in the process. */
    pthread_mutex_t mu;
};

static int mdb_fail(int rc, const char *what, char *err, size_t errlen)
{
    if (err)
        snprintf(err, errlen, "%s: %s", what, mdb_strerror(rc));
    return pc_err_from_mdb(rc);
}

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

static int init_format(pcd_store *st, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc)
        return mdb_fail(rc, "cache: cannot begin transaction", err, errlen);
    rc = mdb_dbi_open(txn, NULL, 0, &st->dbi);
    if (rc) {
        mdb_txn_abort(txn);
        return mdb_fail(rc, "cache: cannot open database", err, errlen);
    }
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_fmt(kb), kb }, v;
    rc = mdb_get(txn, st->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        MDB_stat ms;
        mdb_stat(txn, st->dbi, &ms);
        if (ms.ms_entries != 0) {
            mdb_txn_abort(txn);
            snprintf(err, errlen, "cache %s: holds data but no pricecache format record; "
                     "not a pricecache environment, refusing to touch it", st->path);
            return PC_EFORMAT;
        }
        pc_fmt_rec rec;
        pc_fmt_init(&rec);
        v.mv_size = sizeof rec;
        v.mv_data = &rec;
        rc = mdb_put(txn, st->dbi, &k, &v, 0);
        if (!rc)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc)
            return mdb_fail(rc, "cache: cannot write the format record", err, errlen);
        LOG_INFO("cache", "cache %s: created (format %u)", st->path, PC_FORMAT_VERSION);
        return PC_OK;
    }
    if (rc) {
        mdb_txn_abort(txn);
        return mdb_fail(rc, "cache: cannot read the format record", err, errlen);
    }
    rc = pc_fmt_check(v.mv_data, v.mv_size);
    mdb_txn_abort(txn);
    if (rc != PC_OK) {
        snprintf(err, errlen, "cache %s: unknown format (this daemon writes format %u); "
                 "move the directory away or use the matching pricecached", st->path,
                 PC_FORMAT_VERSION);
        return PC_EFORMAT;
    }
    return PC_OK;
}

int pcd_store_open(const pcd_config *cfg, pcd_store **out, char *err, size_t errlen)
{
    *out = NULL;
    pcd_store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(cfg->path))) {
        free(st);
        snprintf(err, errlen, "cache: out of memory");
        return PC_ENOMEM;
    }
    st->lock_fd = -1;
    pthread_mutex_init(&st->mu, NULL);
    st->map_size = cfg->map_size_mb << 20;
    st->map_max = cfg->map_max_mb << 20;

    int rc;
    if (mkdir(cfg->path, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cache %s: cannot create directory: %s", cfg->path, strerror(errno));
        rc = PC_EIO;
        goto fail;
    }
    char lockpath[4096];
    snprintf(lockpath, sizeof lockpath, "%s/daemon.lock", cfg->path);
    st->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (st->lock_fd < 0) {
        snprintf(err, errlen, "cache %s: cannot open %s: %s", cfg->path, lockpath, strerror(errno));
        rc = PC_EIO;
        goto fail;
    }
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "cache %s: another pricecached holds %s; only one writer may run",
                 cfg->path, lockpath);
        rc = PC_EIO;
        goto fail;
    }

    if ((rc = mdb_env_create(&st->env)) ||
        (rc = mdb_env_set_maxreaders(st->env, (unsigned)cfg->max_readers)) ||
        (rc = mdb_env_set_mapsize(st->env, st->map_size))) {
        rc = mdb_fail(rc, "cache: cannot set up the environment", err, errlen);
        goto fail;
    }
    /* lock.mdb 0660 (readers must write their slot), data.mdb 0640. */
    rc = mdb_env_open(st->env, cfg->path, 0, 0660);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof what, "cache %s: cannot open", cfg->path);
        rc = mdb_fail(rc, what, err, errlen);
        goto fail;
    }
    char datapath[4096];
    snprintf(datapath, sizeof datapath, "%s/data.mdb", cfg->path);
    if (chmod(datapath, 0640) != 0)
        LOG_WARN("cache", "cache %s: cannot chmod data.mdb: %s", cfg->path, strerror(errno));
    /* The mode given to mdb_env_open passes through the umask (022 by
     * default turns 0660 into 0640), and group readers could then not
     * take a reader slot: set it outright. */
    snprintf(datapath, sizeof datapath, "%s/lock.mdb", cfg->path);
    if (chmod(datapath, 0660) != 0)
        LOG_WARN("cache", "cache %s: cannot chmod lock.mdb: %s", cfg->path, strerror(errno));

    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    if (info.me_mapsize > st->map_size)
        st->map_size = info.me_mapsize; /* an earlier run grew it */
    int dead = 0;
    mdb_reader_check(st->env, &dead);
    if (dead)
        LOG_INFO("cache", "cache %s: cleared %d reader slots of dead processes", cfg->path, dead);

    rc = init_format(st, err, errlen);
    if (rc != PC_OK)
        goto fail;
    /* Readers count their lookups there; without it they just do not. */
    char serr[512];
    if (pc_stats_create(cfg->path, serr, sizeof serr) != PC_OK)
        LOG_WARN("cache", "%s; lookup statistics are off", serr);
    *out = st;
    return PC_OK;
fail:
    pcd_store_close(st);
    return rc;
}

void pcd_store_close(pcd_store *st)
{
    if (!st)
        return;
    if (st->env)
        mdb_env_close(st->env);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&st->mu);
    free(st->path);
    free(st);
}

/* Double the map (bounded by map_max).  Caller holds st->mu and has no
 * transaction open. */
static int grow_map(pcd_store *st, char *err, size_t errlen)
{
    if (st->map_size >= st->map_max) {
        snprintf(err, errlen, "cache %s: map full at %llu MiB and [cache] map_max_mb reached; "
                 "raise map_max_mb", st->path, (unsigned long long)(st->map_size >> 20));
        return PC_EMAPFULL;
    }
    uint64_t next = st->map_size * 2;
    if (next > st->map_max)
        next = st->map_max;
    int rc = mdb_env_set_mapsize(st->env, next);
    if (rc)
        return mdb_fail(rc, "cache: cannot grow the map", err, errlen);
    LOG_INFO("cache", "cache %s: map grown from %llu to %llu MiB", st->path,
             (unsigned long long)(st->map_size >> 20), (unsigned long long)(next >> 20));
    st->map_size = next;
    return PC_OK;
}

/* Run `attempt` (one whole transaction) under the store lock; when the map
 * fills, grow it and run the attempt again.  Nothing of a failed attempt
 * is visible: LMDB aborted it. */
static int run_growing(pcd_store *st, int (*attempt)(pcd_store *st, void *arg), void *arg,
                       const char *what, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->mu);
    int rc, grc = PC_OK;
    while ((rc = attempt(st, arg)) == MDB_MAP_FULL && (grc = grow_map(st, err, errlen)) == PC_OK)
        ;
    pthread_mutex_unlock(&st->mu);
    if (rc == MDB_MAP_FULL)
        return grc;
    if (rc == MDB_NOTFOUND) {
        /* An answer, not a failure (e.g. metadata of a chain not cached);
         * err still says it, so that no caller prints an unset buffer. */
        snprintf(err, errlen, "%s: not found", what);
        return PC_NOTFOUND;
    }
    return rc ? mdb_fail(rc, what, err, errlen) : PC_OK;
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int has_prefix(const MDB_val *k, const uint8_t *p, size_t plen)
{
    return k->mv_size >= plen && memcmp(k->mv_data, p, plen) == 0;
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

/* What an append wrote: logged once committed, so that the journal holds
 * every record's hash outside the cache (a truncated or rewritten log then
 * disagrees with it). */
typedef struct audit_mark {
    uint64_t seq;
    uint8_t  hash[PC_AUDIT_HASH];
} audit_mark;

static void audit_logged(const audit_mark *m)
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
static void audit_done(const audit_mark *m, uint64_t *seq)
{
    audit_logged(m);
    if (seq)
        *seq = m->seq;
}

/* Append an audit record in `txn`, chained to the last one.  `version`,
 * when not 0, is appended to the text (known only inside a publish).
 * Returns an LMDB code; MDB_CORRUPTED when the last record cannot be
 * read: the log must not silently start a new chain. */
static int audit_append(pcd_store *st, MDB_txn *txn, const char *text, uint64_t version,
                        audit_mark *mark)
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

/* One attempt at the diff-publish; returns an LMDB code. */
static int publish_txn(pcd_store *st, const pcd_snapshot *snap, pc_meta_rec *meta,
                       pcd_publish_stats *stats, const char *audit, audit_mark *mark)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, st->dbi, &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    memset(stats, 0, sizeof *stats);

    uint8_t prefix[PC_CHAIN_MAX + 2];
    size_t plen = pc_key_chain_prefix(prefix, snap->chain, snap->clen);
    MDB_val k = { plen, prefix }, v;

    /* Merge the sorted snapshot with the chain's sorted keys: equal keys
     * with equal values are left alone, so an unchanged reload dirties no
     * page; new keys are put, keys gone from the source deleted. */
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    int have = rc == MDB_SUCCESS && has_prefix(&k, prefix, plen);
    /* Past the last key of the whole database, appends are safe and keep
     * pages full. */
    int at_end = rc == MDB_NOTFOUND;
    if (rc && rc != MDB_NOTFOUND)
        goto out;
    rc = MDB_SUCCESS;
    size_t i = 0;
    while (i < snap->n || have) {
        if (!have) {
            const pcd_rec *r = &snap->recs[i++];
            MDB_val nk = { r->klen, (void *)r->key }, nv = { sizeof r->val, (void *)&r->val };
            rc = mdb_cursor_put(cur, &nk, &nv, at_end ? MDB_APPEND : 0);
            if (rc)
                goto out;
            stats->put++;
            continue;
        }
        int c = i < snap->n ? key_cmp(snap->recs[i].key, snap->recs[i].klen,
                                      k.mv_data, k.mv_size) : 1;
        if (c < 0) {
            const pcd_rec *r = &snap->recs[i++];
            MDB_val nk = { r->klen, (void *)r->key }, nv = { sizeof r->val, (void *)&r->val };
            rc = mdb_cursor_put(cur, &nk, &nv, 0);
            if (rc)
                goto out;
            stats->put++;
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
            } else {
                stats->unchanged++;
            }
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        } else {
            rc = mdb_cursor_del(cur, 0);
            if (rc)
                goto out;
            stats->deleted++;
            /* After a delete LMDB leaves the cursor on the following key
             * and MDB_NEXT returns it without advancing. */
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (rc == MDB_NOTFOUND) {
            have = 0;
            at_end = 1; /* we passed the database's last key */
            rc = MDB_SUCCESS;
        } else if (rc) {
            goto out;
        } else {
            have = has_prefix(&k, prefix, plen);
        }
    }

    rc = bump_seq(st, txn, &stats->version);
    if (rc)
        goto out;
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
    rc = mdb_put(txn, st->dbi, &key, &val, 0);
    if (!rc && audit)
        rc = audit_append(st, txn, audit, stats->version, mark);
    if (rc)
        goto out;
    mdb_cursor_close(cur);
    uint64_t w0 = proc_wchar();
    rc = mdb_txn_commit(txn);
    stats->pages_written = (proc_wchar() - w0) / 4096;
    return rc;
out:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

struct publish_arg {
    const pcd_snapshot *snap;
    pc_meta_rec *meta;
    pcd_publish_stats *stats;
    const char *audit;
    audit_mark mark;
};

static int publish_attempt(pcd_store *st, void *arg)
{
    struct publish_arg *a = arg;
    int dead = 0;
    mdb_reader_check(st->env, &dead); /* dead readers would pin old pages */
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
    int rc = run_growing(st, publish_attempt, &a, what, err, errlen);
    if (rc == PC_OK && audit)
        audit_done(&a.mark, NULL);
    return rc;
}

static const pcd_rec *find_rec(const pcd_snapshot *s, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(s->recs[mid].key, s->recs[mid].klen, key, klen);
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
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc)
        return rc;
    memset(stats, 0, sizeof *stats);
    size_t clen = strlen(chain);
    uint8_t mk[PC_KEY_MAX];
    MDB_val mkey = { pc_key_meta(mk, chain, clen), mk }, v;
    pc_meta_rec cur;
    rc = mdb_get(txn, st->dbi, &mkey, &v);
    if (!rc && pc_meta_decode(v.mv_data, v.mv_size, &cur) != PC_OK)
        rc = MDB_CORRUPTED;
    if (rc)
        goto out;
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
    return mdb_txn_commit(txn);
out:
    mdb_txn_abort(txn);
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
    return run_growing(st, delta_attempt, &a, what, err, errlen);
}

int pcd_store_get_meta(pcd_store *st, const char *chain, pc_meta_rec *out)
{
    pthread_mutex_lock(&st->mu);
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (!rc) {
        uint8_t kb[PC_KEY_MAX];
        MDB_val k = { pc_key_meta(kb, chain, strlen(chain)), kb }, v;
        rc = mdb_get(txn, st->dbi, &k, &v);
        if (!rc && pc_meta_decode(v.mv_data, v.mv_size, out) != PC_OK)
            rc = MDB_CORRUPTED;
        mdb_txn_abort(txn);
    }
    pthread_mutex_unlock(&st->mu);
    return pc_err_from_mdb(rc);
}

struct txn_arg {
    int (*fn)(pcd_store *, MDB_txn *, void *);
    void *arg;
};

static int txn_attempt(pcd_store *st, void *arg)
{
    struct txn_arg *a = arg;
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc)
        return rc;
    rc = a->fn(st, txn, a->arg);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* Run `fn` in a write transaction of its own. */
static int write_txn(pcd_store *st, int (*fn)(pcd_store *, MDB_txn *, void *), void *arg,
                     char *err, size_t errlen)
{
    struct txn_arg a = { fn, arg };
    return run_growing(st, txn_attempt, &a, "cache: write failed", err, errlen);
}

/* write_txn for callers that take only the code: the cause goes to the
 * log, naming what was being written, instead of being dropped. */
static int write_logged(pcd_store *st, int (*fn)(pcd_store *, MDB_txn *, void *), void *arg,
                        const char *what)
{
    char err[512];
    int rc = write_txn(st, fn, arg, err, sizeof err);
    if (rc != PC_OK && rc != PC_NOTFOUND) /* not found: nothing to write to, the caller's answer */
        LOG_ERR("cache", "%s: %s", what, err);
    return rc;
}

struct meta_arg { const char *chain; const pc_meta_rec *m; const char *audit; audit_mark mark; };

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
        rc = audit_append(st, txn, a->audit, 0, &a->mark);
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
    int rc = write_logged(st, put_meta_fn, &a, what);
    if (rc == PC_OK && audit)
        audit_done(&a.mark, seq);
    return rc;
}

struct audit_arg { const char *text; audit_mark mark; };

static int audit_fn(pcd_store *st, MDB_txn *txn, void *arg)
{
    struct audit_arg *a = arg;
    return audit_append(st, txn, a->text, 0, &a->mark);
}

int pcd_store_audit(pcd_store *st, const char *text, uint64_t *seq)
{
    struct audit_arg a = { text, { 0, { 0 } } };
    int rc = write_logged(st, audit_fn, &a, "audit record not written");
    if (rc == PC_OK)
        audit_done(&a.mark, seq);
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
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
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
    return write_logged(st, endpoints_fn, &a, "bus addresses not announced");
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
    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, st->dbi, &cur);
    if (rc)
        return rc;
    uint8_t prefix[PC_CHAIN_MAX + 2];
    size_t plen = pc_key_chain_prefix(prefix, chain, clen);
    k.mv_size = plen;
    k.mv_data = prefix;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && has_prefix(&k, prefix, plen)) {
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
    return write_txn(st, remove_fn, (void *)chain, err, errlen);
}

int pcd_store_list_chains(pcd_store *st, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&st->mu);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
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
    while (rc == MDB_SUCCESS && has_prefix(&k, pb, plen)) {
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
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
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
    return write_logged(st, put_daemon_fn, (void *)rec, "daemon record not written");
}

int pcd_store_lookups(pcd_store *st, pc_stats *out)
{
    return pc_stats_read(st->path, out);
}

int pcd_store_usage(pcd_store *st, uint64_t *used, uint64_t *size, int *readers)
{
    MDB_envinfo info;
    MDB_stat ms;
    pthread_mutex_lock(&st->mu);
    int rc = mdb_env_info(st->env, &info);
    if (!rc)
        rc = mdb_env_stat(st->env, &ms);
    pthread_mutex_unlock(&st->mu);
    if (rc)
        return pc_err_from_mdb(rc);
    if (used)
        *used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
    if (size)
        *size = info.me_mapsize;
    if (readers)
        *readers = (int)info.me_numreaders;
    return PC_OK;
}
