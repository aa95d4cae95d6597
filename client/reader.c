/* reader.c - libpricecache's read path: open the environment read-only, look prices up lock-free. */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pc_format.h"
#include "pc_reader_internal.h"
#include "pricecache.h"

#define READER_MAGIC 0x70637264u /* "pcrd" */
#define DEAD_MAGIC   0xdeadbeefu

/* The reader table is sized by the first process to open the environment;
 * if a client happens to be first, it must not shrink the table the
 * daemon asks for. */
#define CLIENT_MAX_READERS 4096

/* One per thread that uses a reader: its reusable read transaction, and a
 * mutex held during each call.  The mutex is only ever contended by a map
 * resize, which must stop every reader of the process (LMDB allows
 * mdb_env_set_mapsize only with no transaction active). */
typedef struct tslot {
    pthread_mutex_t mu;
    MDB_txn        *txn;
    struct pc_reader *r;
    struct tslot   *next, *prev;
} tslot;

struct pc_reader {
    uint32_t        magic;
    MDB_env        *env;
    MDB_dbi         dbi;
    pthread_key_t   key;
    pthread_mutex_t reg_mu;   /* guards the slot list */
    tslot          *slots;
};

static int reader_ok(const pc_reader *r)
{
    return r && r->magic == READER_MAGIC;
}

static void unlink_slot(pc_reader *r, tslot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        r->slots = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

/* Thread exit: give the reader slot back. */
static void slot_destroy(void *arg)
{
    tslot *s = arg;
    pc_reader *r = s->r;
    pthread_mutex_lock(&r->reg_mu);
    unlink_slot(r, s);
    pthread_mutex_unlock(&r->reg_mu);
    if (s->txn)
        mdb_txn_abort(s->txn);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static tslot *get_slot(pc_reader *r)
{
    tslot *s = pthread_getspecific(r->key);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->r = r;
    pthread_mutex_lock(&r->reg_mu);
    s->next = r->slots;
    if (r->slots)
        r->slots->prev = s;
    r->slots = s;
    pthread_mutex_unlock(&r->reg_mu);
    if (pthread_setspecific(r->key, s) != 0) {
        pthread_mutex_lock(&r->reg_mu);
        unlink_slot(r, s);
        pthread_mutex_unlock(&r->reg_mu);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

/* Adopt a map the daemon grew: stop every thread of this reader first. */
static int adopt_new_map(pc_reader *r)
{
    pthread_mutex_lock(&r->reg_mu);
    for (tslot *s = r->slots; s; s = s->next)
        pthread_mutex_lock(&s->mu);
    int rc = mdb_env_set_mapsize(r->env, 0);
    for (tslot *s = r->slots; s; s = s->next)
        pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&r->reg_mu);
    return rc;
}

/* Start this thread's read transaction; on PC_OK the slot's mutex is held
 * and end_read must follow. */
static int begin_read(pc_reader *r, tslot **out)
{
    tslot *s = get_slot(r);
    if (!s)
        return PC_ENOMEM;
    int cleared = 0, resized = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int rc;
        if (s->txn) {
            rc = mdb_txn_renew(s->txn);
            if (rc) {
                mdb_txn_abort(s->txn);
                s->txn = NULL;
            }
        } else {
            rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &s->txn);
            if (rc)
                s->txn = NULL;
        }
        if (rc == MDB_SUCCESS) {
            *out = s;
            return PC_OK;
        }
        pthread_mutex_unlock(&s->mu);
        if (rc == MDB_READERS_FULL && !cleared) {
            int dead = 0;
            mdb_reader_check(r->env, &dead);
            cleared = 1;
            continue;
        }
        if (rc == MDB_MAP_RESIZED && resized < 3) {
            resized++;
            if (adopt_new_map(r) != MDB_SUCCESS)
                return PC_EIO;
            continue;
        }
        return pc_err_from_mdb(rc);
    }
}

static void end_read(tslot *s)
{
    mdb_txn_reset(s->txn);
    pthread_mutex_unlock(&s->mu);
}

int pc_open(const char *path, pc_reader **out)
{
    if (!out)
        return PC_EINVAL;
    *out = NULL;
    if (!path || !*path)
        return PC_EINVAL;
    struct stat st;
    char data[4096];
    if (strlen(path) > sizeof data - 16)
        return PC_EINVAL;
    strcpy(data, path);
    strcat(data, "/data.mdb");
    if (stat(path, &st) != 0)
        return errno == ENOENT ? PC_ENOTREADY : PC_EIO;
    if (stat(data, &st) != 0)
        return errno == ENOENT ? PC_ENOTREADY : PC_EIO;

    pc_reader *r = calloc(1, sizeof *r);
    if (!r)
        return PC_ENOMEM;
    int rc = mdb_env_create(&r->env);
    if (rc) {
        free(r);
        return pc_err_from_mdb(rc);
    }
    mdb_env_set_maxreaders(r->env, CLIENT_MAX_READERS);
    rc = mdb_env_open(r->env, path, MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD, 0);
    if (rc) {
        mdb_env_close(r->env);
        free(r);
        return rc == ENOENT ? PC_ENOTREADY : rc == EACCES ? PC_EIO : pc_err_from_mdb(rc);
    }
    int dead = 0;
    mdb_reader_check(r->env, &dead);

    MDB_txn *txn;
    rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn);
    if (!rc) {
        rc = mdb_dbi_open(txn, NULL, 0, &r->dbi);
        if (!rc) {
            uint8_t kb[4];
            MDB_val k = { pc_key_fmt(kb), kb }, v;
            rc = mdb_get(txn, r->dbi, &k, &v);
            if (rc == MDB_NOTFOUND)
                rc = -1; /* no format record: not ours (or not initialised) */
            else if (!rc && pc_fmt_check(v.mv_data, v.mv_size) != PC_OK)
                rc = -1;
        }
        mdb_txn_abort(txn);
    }
    if (rc) {
        mdb_env_close(r->env);
        free(r);
        return rc == -1 ? PC_EFORMAT : pc_err_from_mdb(rc);
    }
    if (pthread_key_create(&r->key, slot_destroy) != 0) {
        mdb_env_close(r->env);
        free(r);
        return PC_ENOMEM;
    }
    pthread_mutex_init(&r->reg_mu, NULL);
    r->magic = READER_MAGIC;
    *out = r;
    return PC_OK;
}

void pc_close(pc_reader *r)
{
    if (!reader_ok(r))
        return;
    r->magic = DEAD_MAGIC;
    /* Deleting the key first means no destructor can race with us. */
    pthread_key_delete(r->key);
    tslot *s = r->slots;
    while (s) {
        tslot *n = s->next;
        if (s->txn)
            mdb_txn_abort(s->txn);
        pthread_mutex_destroy(&s->mu);
        free(s);
        s = n;
    }
    pthread_mutex_destroy(&r->reg_mu);
    mdb_env_close(r->env);
    free(r);
}

static int id_ok(const char *s, size_t *len)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, PC_ID_MAX + 1);
    *len = n;
    return n > 0 && n <= PC_ID_MAX;
}

static int chain_ok(const char *chain, size_t *len)
{
    if (!chain)
        return 0;
    *len = strnlen(chain, PC_CHAIN_MAX + 1);
    return pc_slug_valid(chain, *len);
}

/* The chain has no key we looked for: is it cached at all? */
static int chain_missing_code(pc_reader *r, MDB_txn *txn, const char *chain, size_t clen)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_meta(kb, chain, clen), kb }, v;
    int rc = mdb_get(txn, r->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return PC_ENOCHAIN;
    return rc ? pc_err_from_mdb(rc) : PC_NOTFOUND;
}

static int read_price(const MDB_val *v, pc_price *out, uint32_t flags)
{
    pc_price_rec rec;
    if (v->mv_size != sizeof rec)
        return PC_EFORMAT;
    memcpy(&rec, v->mv_data, sizeof rec);
    out->cents = rec.cents;
    out->updated_at = rec.updated_at;
    out->flags = flags;
    return PC_OK;
}

/* One item inside an open transaction: exception, then base. */
static int lookup(pc_reader *r, MDB_txn *txn, const char *chain, size_t clen,
                  const char *store, size_t slen, const char *item, size_t ilen, pc_price *out)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k, v;
    int rc;
    k.mv_data = kb;
    if (slen) {
        k.mv_size = pc_key_store(kb, chain, clen, store, slen, item, ilen);
        rc = mdb_get(txn, r->dbi, &k, &v);
        if (rc == MDB_SUCCESS)
            return read_price(&v, out, PC_PRICE_STORE);
        if (rc != MDB_NOTFOUND)
            return pc_err_from_mdb(rc);
    }
    k.mv_size = pc_key_base(kb, chain, clen, item, ilen);
    rc = mdb_get(txn, r->dbi, &k, &v);
    if (rc == MDB_SUCCESS)
        return read_price(&v, out, 0);
    return rc == MDB_NOTFOUND ? PC_NOTFOUND : pc_err_from_mdb(rc);
}

int pc_get(pc_reader *r, const char *chain, const char *store, const char *item, pc_price *out)
{
    size_t clen, slen = 0, ilen;
    if (!reader_ok(r) || !out || !chain_ok(chain, &clen) || !id_ok(item, &ilen))
        return PC_EINVAL;
    if (store && *store && !id_ok(store, &slen))
        return PC_EINVAL;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc)
        return rc;
    pc_price p;
    rc = lookup(r, s->txn, chain, clen, store, slen, item, ilen, &p);
    if (rc == PC_NOTFOUND)
        rc = chain_missing_code(r, s->txn, chain, clen);
    end_read(s);
    if (rc == PC_OK)
        *out = p;
    return rc;
}

int pc_get_many(pc_reader *r, const char *chain, const char *store, size_t n,
                const char *const items[], pc_price out[], int status[])
{
    size_t clen, slen = 0;
    if (n > 0 && (!items || !out || !status))
        return PC_EINVAL;
    int rc = PC_OK;
    if (!reader_ok(r) || !chain_ok(chain, &clen) || (store && *store && !id_ok(store, &slen)))
        rc = PC_EINVAL;
    tslot *s = NULL;
    if (rc == PC_OK)
        rc = begin_read(r, &s);
    if (rc == PC_OK) {
        uint8_t kb[PC_KEY_MAX];
        MDB_val k = { pc_key_meta(kb, chain, clen), kb }, v;
        int mrc = mdb_get(s->txn, r->dbi, &k, &v);
        if (mrc)
            rc = mrc == MDB_NOTFOUND ? PC_ENOCHAIN : pc_err_from_mdb(mrc);
    }
    if (rc != PC_OK) {
        if (s)
            end_read(s);
        for (size_t i = 0; i < n; i++)
            status[i] = rc;
        return rc;
    }
    /* One transaction for all: every answer comes from one version. */
    for (size_t i = 0; i < n; i++) {
        size_t ilen;
        if (!id_ok(items[i], &ilen)) {
            status[i] = PC_EINVAL;
            continue;
        }
        status[i] = lookup(r, s->txn, chain, clen, store, slen, items[i], ilen, &out[i]);
    }
    end_read(s);
    return PC_OK;
}

int pc_reader_meta(pc_reader *r, const char *chain, pc_meta_rec *out)
{
    size_t clen;
    if (!reader_ok(r) || !out || !chain_ok(chain, &clen))
        return PC_EINVAL;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc)
        return rc;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_meta(kb, chain, clen), kb }, v;
    rc = mdb_get(s->txn, r->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        rc = PC_ENOCHAIN;
    else if (rc)
        rc = pc_err_from_mdb(rc);
    else
        rc = pc_meta_decode(v.mv_data, v.mv_size, out);
    end_read(s);
    return rc;
}

int pc_chain_info(pc_reader *r, const char *chain, pc_chain_meta *out)
{
    if (!out)
        return PC_EINVAL;
    pc_meta_rec m;
    int rc = pc_reader_meta(r, chain, &m);
    if (rc)
        return rc;
    out->version = m.version;
    out->loaded_at = m.loaded_at_ms;
    out->base_rows = m.base_rows;
    out->store_rows = m.store_rows;
    out->avg_cents = m.avg_cents;
    out->breaker = (int)m.breaker;
    return PC_OK;
}

int pc_reader_daemon(pc_reader *r, pc_daemon_rec *out)
{
    if (!reader_ok(r) || !out)
        return PC_EINVAL;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc)
        return rc;
    uint8_t kb[4];
    MDB_val k = { pc_key_daemon(kb), kb }, v;
    rc = mdb_get(s->txn, r->dbi, &k, &v);
    rc = rc ? pc_err_from_mdb(rc) : pc_daemon_decode(v.mv_data, v.mv_size, out);
    end_read(s);
    return rc;
}

int pc_chains(pc_reader *r, char ***out, size_t *count)
{
    if (!reader_ok(r) || !out)
        return PC_EINVAL;
    *out = NULL;
    if (count)
        *count = 0;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc)
        return rc;
    MDB_cursor *cur;
    rc = mdb_cursor_open(s->txn, r->dbi, &cur);
    if (rc) {
        end_read(s);
        return pc_err_from_mdb(rc);
    }
    uint8_t pb[4];
    size_t plen = pc_key_meta_prefix(pb);
    /* Two passes over the meta keys: size, then fill one allocation. */
    size_t n = 0, bytes = 0;
    char **arr = NULL;
    for (int pass = 0; pass < 2; pass++) {
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
            if (!arr) {
                rc = ENOMEM;
                break;
            }
        } else {
            arr[i] = NULL;
        }
    }
    mdb_cursor_close(cur);
    end_read(s);
    if (rc) {
        free(arr);
        return pc_err_from_mdb(rc);
    }
    *out = arr;
    if (count)
        *count = n;
    return PC_OK;
}

void pc_free_chains(char **chains)
{
    free(chains);
}

int pc_wait_ready(pc_reader *r, int timeout_ms)
{
    if (!reader_ok(r))
        return PC_EINVAL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pc_daemon_rec d;
        int rc = pc_reader_daemon(r, &d);
        if (rc == PC_OK && d.ready)
            return PC_OK;
        if (rc != PC_OK && rc != PC_NOTFOUND && rc != PC_EFORMAT)
            return rc;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (timeout_ms >= 0 && elapsed >= timeout_ms)
            return PC_ETIMEDOUT;
        struct timespec nap = { 0, 5 * 1000000 };
        nanosleep(&nap, NULL);
    }
}

int pc_reader_scan(pc_reader *r, const char *chain,
                   int (*cb)(void *ctx, const pc_key_view *k, const pc_price_rec *v), void *ctx)
{
    size_t clen;
    if (!reader_ok(r) || !cb || !chain_ok(chain, &clen))
        return PC_EINVAL;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc)
        return rc;
    uint8_t kb[PC_KEY_MAX];
    MDB_val mk = { pc_key_meta(kb, chain, clen), kb }, v;
    rc = mdb_get(s->txn, r->dbi, &mk, &v);
    if (rc) {
        end_read(s);
        return rc == MDB_NOTFOUND ? PC_ENOCHAIN : pc_err_from_mdb(rc);
    }
    MDB_cursor *cur;
    rc = mdb_cursor_open(s->txn, r->dbi, &cur);
    if (rc) {
        end_read(s);
        return pc_err_from_mdb(rc);
    }
    size_t plen = pc_key_chain_prefix(kb, chain, clen);
    MDB_val k = { plen, kb };
    int ret = PC_OK;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && k.mv_size >= plen && memcmp(k.mv_data, kb, plen) == 0) {
        pc_key_view kv;
        pc_price_rec pr;
        if (pc_key_parse(k.mv_data, k.mv_size, &kv) != PC_OK || v.mv_size != sizeof pr) {
            ret = PC_EFORMAT;
            break;
        }
        memcpy(&pr, v.mv_data, sizeof pr);
        ret = cb(ctx, &kv, &pr);
        if (ret)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (ret == PC_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        ret = pc_err_from_mdb(rc);
    mdb_cursor_close(cur);
    end_read(s);
    return ret;
}

int pc_reader_env_info(pc_reader *r, uint64_t *map_used, uint64_t *map_size,
                       unsigned *readers_used, unsigned *readers_max)
{
    if (!reader_ok(r))
        return PC_EINVAL;
    MDB_envinfo info;
    MDB_stat ms;
    int rc = mdb_env_info(r->env, &info);
    if (!rc)
        rc = mdb_env_stat(r->env, &ms);
    if (rc)
        return pc_err_from_mdb(rc);
    if (map_used)
        *map_used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
    if (map_size)
        *map_size = info.me_mapsize;
    if (readers_used)
        *readers_used = info.me_numreaders;
    if (readers_max)
        *readers_max = info.me_maxreaders;
    return PC_OK;
}

const char *pc_version(void)
{
    return PC_VERSION;
}
