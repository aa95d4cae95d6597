/* reader.c - libpricecache's read path: open the environment read-only, look prices up lock-free. */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fork.h"
#include "pc_format.h"
#include "pricecache.h"
#include "reader_private.h"
#include "stats.h"

#ifndef PC_VERSION
#error "PC_VERSION must be defined by the build (see the Makefile)"
#endif

#define READER_MAGIC 0x70637264u /* "pcrd" */
#define DEAD_MAGIC   0x64656164u /* "dead" */

/* Varnish miniobj style: debug builds catch use-after-close and stray
 * pointers at the API boundary; release builds keep only the NULL check so
 * the hot path stays one load shorter. */
#ifdef NDEBUG
#define READER_BAD(r) ((r) == NULL)
#else
#define READER_BAD(r) ((r) == NULL || (r)->magic != READER_MAGIC)
#endif

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The reader table is sized by the first process to open the environment;
 * if a client happens to be first (daemon stopped), it must not shrink the
 * table below what the daemon asks for by default. */
#define CLIENT_MAX_READERS 4096

/* A daemon that keeps growing the map faster than we adopt it is not worth
 * chasing forever. */
#define MAX_RESIZES 16

/* Not an LMDB code: "no transaction to renew yet, begin one". */
#define RC_BEGIN (-1)

/* One per (thread, reader): the thread's reusable read transaction and a
 * mutex the thread holds during each call.  Only a map resize contends for
 * it (LMDB allows mdb_env_set_mapsize only with no transaction active in
 * the process), so the hot path pays an uncontended lock on a line no other
 * thread writes: a "big reader lock".  Cache-line aligned for that reason. */
typedef struct tslot {
    _Alignas(64) pthread_mutex_t mu;
    MDB_txn           *txn;   /* reset between calls; NULL until first use */
    int                dead;  /* a remap failed: the map is gone */
    struct pc_reader  *r;     /* whose pthread key points here */
    unsigned           gen;   /* pc_fork_gen when made: another value means
                                 this is a forked child's copy of a parent's
                                 slot, never to be touched (fork.h) */
    pthread_t          owner;
    struct tslot      *next, *prev; /* in penv.slots, under g_mu */
    pc_stats_tl        st;    /* this thread's lookup counters (stats.c) */
} tslot;

/* One per environment open in the process.  LMDB forbids two handles on
 * one environment in a process: a second mdb_env_open re-initialises the
 * lock table when no other process holds it (the first handle's live
 * reader slots are forgotten and handed out again), and closing either
 * clears the other's slots and drops its fcntl locks.  So readers of the
 * same files share one MDB_env. */
typedef struct penv {
    MDB_env     *env;         /* NULL: abandoned after a fork, reopen */
    char        *path;        /* to reopen it in a forked child */
    unsigned     gen;         /* pc_fork_gen of env */
    dev_t        dev;
    ino_t        ino;
    unsigned     refs;
    int          broken;      /* a remap failed; every later call is PC_EIO */
    tslot       *slots;       /* of every reader on this env; under g_mu */
    pc_stats_proc *stats;     /* the process's statistics slot; NULL: off */
    struct penv *next;
} penv;

struct pc_reader {
    uint32_t      magic;
    MDB_dbi       dbi;
    pthread_key_t key;
    MDB_env      *env;        /* copy of pe->env for the hot path */
    penv         *pe;
    int           count;      /* count lookups (PRICECACHE_STATS at pc_open) */
};

/* Guards the list of environments and every slot list.  Taken on a
 * thread's first call, at thread exit, by a map resize and by open/close;
 * never on the hot path. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static penv *g_envs;

/* What a forked child inherited and must neither use nor close: closing the
 * MDB_env would clear the parent's reader slots (they carry the pid the
 * handle was opened by), aborting a slot's transaction would free the
 * parent's slot, and detaching the statistics would give the parent's slot
 * away.  Kept on a list (under g_mu) rather than dropped, so that the
 * child's one-off leak stays reachable: a handle, its maps and descriptors,
 * and the slots, per environment and per fork generation. */
typedef struct orphan {
    MDB_env       *env;
    tslot         *slots;
    pc_stats_proc *stats;
    struct orphan *next;
} orphan;
static orphan *g_orphans;

/* ---- per-thread slots ------------------------------------------------ */

static void slot_unlink(penv *pe, tslot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        pe->slots = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

static void slot_free(tslot *s)
{
    pc_stats_tl_release(&s->st);
    if (s->txn)
        mdb_txn_abort(s->txn);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Thread exit.  pc_close may have freed `arg` already (a thread can exit
 * while another closes the reader), so it is only dereferenced once found
 * in a live list, and only freed if this thread owns it: a freed slot's
 * address may have been reused by another thread's slot. */
static void slot_destructor(void *arg)
{
    pthread_mutex_lock(&g_mu);
    for (penv *pe = g_envs; pe; pe = pe->next) {
        for (tslot *s = pe->slots; s; s = s->next) {
            if (s != arg)
                continue;
            if (pthread_equal(s->owner, pthread_self())) {
                slot_unlink(pe, s);
                slot_free(s); /* under g_mu: the env cannot close meanwhile */
            }
            pthread_mutex_unlock(&g_mu);
            return;
        }
    }
    pthread_mutex_unlock(&g_mu);
}

static int env_current(penv *pe);

/* This thread's first call on r, or its first in a forked child (the slot
 * it finds then is the parent's copy: left alone, replaced). */
static int slot_new(pc_reader *r, tslot **out)
{
    tslot *s = aligned_alloc(_Alignof(tslot), sizeof *s);
    if (!s)
        return PC_ENOMEM;
    memset(s, 0, sizeof *s);
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return PC_ENOMEM;
    }
    s->r = r;
    s->owner = pthread_self();
    pthread_mutex_lock(&g_mu);
    penv *pe = r->pe;
    int rc = env_current(pe);
    if (rc != PC_OK) {
        pthread_mutex_unlock(&g_mu);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return rc;
    }
    /* Written once per fork generation, by the child's first thread to get
     * here; the others read it after taking g_mu below this write.  r->dbi
     * stays valid: the unnamed database is MAIN_DBI in every handle. */
    if (r->env != pe->env)
        r->env = pe->env;
    s->gen = pe->gen;
    s->dead = pe->broken;
    pc_stats_tl_init(&s->st, r->count ? pe->stats : NULL);
    s->next = pe->slots;
    if (pe->slots)
        pe->slots->prev = s;
    pe->slots = s;
    pthread_mutex_unlock(&g_mu);
    if (pthread_setspecific(r->key, s) != 0) {
        pthread_mutex_lock(&g_mu);
        slot_unlink(pe, s);
        pthread_mutex_unlock(&g_mu);
        slot_free(s);
        return PC_ENOMEM;
    }
    *out = s;
    return PC_OK;
}

/* Adopt a map the daemon grew.  Every thread of every reader on this env is
 * stopped between calls first: each slot's mutex is taken in list order
 * (g_mu keeps the list still, so no deadlock between two resizers).  The
 * caller must hold no slot mutex. */
static void adopt_map(penv *pe)
{
    pthread_mutex_lock(&g_mu);
    for (tslot *s = pe->slots; s; s = s->next)
        pthread_mutex_lock(&s->mu);
    if (!pe->broken && mdb_env_set_mapsize(pe->env, 0) != MDB_SUCCESS) {
        /* LMDB unmapped the old map and could not map the new one: any
         * further access would fault.  Retire every transaction now (a reset
         * one touches only the lock file) and refuse from here on. */
        pe->broken = 1;
        for (tslot *s = pe->slots; s; s = s->next) {
            s->dead = 1;
            if (s->txn) {
                mdb_txn_abort(s->txn);
                s->txn = NULL;
            }
        }
    }
    for (tslot *s = pe->slots; s; s = s->next)
        pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&g_mu);
}

/* The rare cases of begin_read, entered with s->mu held and `rc` the result
 * of the renew (or RC_BEGIN).  Returns with s->mu held on PC_OK only. */
static int begin_slow(pc_reader *r, tslot *s, int rc)
{
    int cleared = 0, resizes = 0;
    for (;;) {
        if (s->dead) {
            rc = MDB_PANIC;
        } else if (rc == RC_BEGIN) {
            if (s->txn) {
                rc = mdb_txn_renew(s->txn);
            } else {
                MDB_txn *t;
                rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &t);
                if (rc == MDB_SUCCESS)
                    s->txn = t;
            }
        }
        if (rc == MDB_SUCCESS)
            return PC_OK;
        /* After MDB_MAP_RESIZED a renewed txn is finished and keeps its
         * reader slot, ready to renew again; after anything else its state
         * is not worth reasoning about. */
        if (rc != MDB_MAP_RESIZED && s->txn) {
            mdb_txn_abort(s->txn);
            s->txn = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        if (rc == MDB_READERS_FULL && !cleared) {
            int dead;
            cleared = 1;
            mdb_reader_check(r->env, &dead);
        } else if (rc == MDB_MAP_RESIZED && resizes < MAX_RESIZES) {
            resizes++;
            adopt_map(r->pe);
        } else {
            return pc_err_from_mdb(rc);
        }
        pthread_mutex_lock(&s->mu);
        rc = RC_BEGIN;
    }
}

/* Start this thread's read transaction.  On PC_OK, s->mu is held and
 * end_read must follow on every path.  *out is set whenever the thread has
 * a slot, also on failure, so that the failure can be counted.  A lookup
 * passes t0: the start of the timing when this one is sampled, else 0. */
static inline int begin_read_t(pc_reader *r, tslot **out, uint64_t *t0)
{
    tslot *s = pthread_getspecific(r->key);
    /* One load and compare detects a fork (fork.h): no getpid here. */
    if (UNLIKELY(!s || s->gen != pc_fork_gen)) {
        int rc = slot_new(r, &s);
        if (rc != PC_OK)
            return rc;
    }
    *out = s;
    if (t0)
        *t0 = pc_stats_begin(&s->st);
    pthread_mutex_lock(&s->mu);
    int rc = LIKELY(s->txn != NULL) ? mdb_txn_renew(s->txn) : RC_BEGIN;
    if (UNLIKELY(rc != MDB_SUCCESS) && (rc = begin_slow(r, s, rc)) != PC_OK)
        return rc;
    return PC_OK;
}

static inline int begin_read(pc_reader *r, tslot **out)
{
    return begin_read_t(r, out, NULL);
}

/* A lookup refused before any read (bad argument): counted as an error
 * when this thread already counts on this reader. */
static void count_refused(pc_reader *r, uint64_t n)
{
    tslot *s = pthread_getspecific(r->key);
    if (s && s->gen == pc_fork_gen)
        pc_stats_add(&s->st, 0, 0, n, 0, 0);
}

/* Never leave a transaction active between calls: a live one pins pages
 * and makes the file grow under the writer. */
static inline void end_read(tslot *s)
{
    mdb_txn_reset(s->txn);
    pthread_mutex_unlock(&s->mu);
}

/* ---- open / close ---------------------------------------------------- */

/* A new read-only handle on the environment in `path`. */
static int env_open_at(const char *path, MDB_env **out)
{
    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxreaders(env, CLIENT_MAX_READERS);
    /* Mode 0660: if no other process has the environment open, LMDB creates
     * lock.mdb with this mode, and the daemon and the group's other readers
     * must still be able to open it. */
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD, 0660);
    if (rc != MDB_SUCCESS) {
        if (env)
            mdb_env_close(env);
        return pc_err_from_mdb(rc);
    }
    *out = env;
    return PC_OK;
}

/* In a forked child, put the parent's handle, slots and statistics slot
 * of pe on the orphan list, untouched.  Called with g_mu held. */
static void env_abandon(penv *pe)
{
    if (pe->gen == pc_fork_gen)
        return;
    pc_stats_forget(pe->stats); /* the parent's file: closed here, never written */
    orphan *o = malloc(sizeof *o);
    if (o) { /* else leaked outright: the child is short of memory anyway */
        *o = (orphan){ pe->env, pe->slots, pe->stats, g_orphans };
        g_orphans = o;
    }
    pe->env = NULL;
    pe->slots = NULL;
    pe->stats = NULL;
    pe->broken = 0;
    pe->gen = pc_fork_gen;
}

/* The handle of pe for this process: after a fork, a fresh one (the
 * child's first call pays one mdb_env_open).  Called with g_mu held. */
static int env_current(penv *pe)
{
    int had_stats = pe->stats != NULL;
    env_abandon(pe);
    if (pe->env)
        return PC_OK;
    int rc = env_open_at(pe->path, &pe->env);
    if (rc == PC_OK) {
        /* A new handle knows no comparator for the unnamed database until
         * mdb_dbi_open names it (pc_open's check_format did that for the
         * parent's); the handle number it answers is r->dbi's. */
        MDB_txn *t;
        MDB_dbi dbi;
        int mrc = mdb_txn_begin(pe->env, NULL, MDB_RDONLY, &t);
        if (mrc == MDB_SUCCESS) {
            mrc = mdb_dbi_open(t, NULL, 0, &dbi);
            mdb_txn_abort(t);
        }
        rc = pc_err_from_mdb(mrc);
        if (rc != PC_OK) { /* our own handle: closing it is safe */
            mdb_env_close(pe->env);
            pe->env = NULL;
        }
    }
    if (rc == PC_OK && had_stats)
        pe->stats = pc_stats_attach(pe->path);
    return rc;
}

/* Find or open the shared handle of the environment whose data file is
 * `st`.  Called with g_mu held. */
static int env_acquire(const char *path, const struct stat *st, penv **out)
{
    for (penv *pe = g_envs; pe; pe = pe->next) {
        /* Shared even when broken: a second handle on the same files is
         * exactly what LMDB forbids; callers get PC_EIO until all close. */
        if (pe->dev == st->st_dev && pe->ino == st->st_ino) {
            int rc = env_current(pe);
            if (rc != PC_OK)
                return rc;
            pe->refs++;
            *out = pe;
            return PC_OK;
        }
    }
    penv *pe = calloc(1, sizeof *pe);
    if (!pe || !(pe->path = strdup(path))) {
        free(pe);
        return PC_ENOMEM;
    }
    int rc = env_open_at(path, &pe->env);
    if (rc != PC_OK) {
        free(pe->path);
        free(pe);
        return rc;
    }
    pe->gen = pc_fork_gen;
    pe->dev = st->st_dev;
    pe->ino = st->st_ino;
    pe->refs = 1;
    pe->next = g_envs;
    g_envs = pe;
    *out = pe;
    return PC_OK;
}

/* Called with g_mu held. */
static void env_release(penv *pe)
{
    if (--pe->refs > 0)
        return;
    for (penv **pp = &g_envs; *pp; pp = &(*pp)->next) {
        if (*pp == pe) {
            *pp = pe->next;
            break;
        }
    }
    if (pe->env) /* NULL: abandoned in a forked child, never reopened */
        mdb_env_close(pe->env);
    pc_stats_detach(pe->stats);
    free(pe->path);
    free(pe);
}

/* Free a reader that is (or was never) published to the caller. */
static void reader_destroy(pc_reader *r)
{
    r->magic = DEAD_MAGIC;
    pthread_mutex_lock(&g_mu);
    /* After this no destructor of ours starts for this key; one already
     * running finds its slot gone from the list below and leaves it. */
    pthread_key_delete(r->key);
    if (r->pe) {
        /* Closed in a forked child: the inherited slots and handle are the
         * parent's; leave them (fork.h). */
        env_abandon(r->pe);
        tslot *s = r->pe->slots;
        while (s) {
            tslot *next = s->next;
            if (s->r == r) {
                /* Waits out a call still in flight (a caller's bug, but
                 * cheap to survive) and orders its last use before the free. */
                pthread_mutex_lock(&s->mu);
                pthread_mutex_unlock(&s->mu);
                slot_unlink(r->pe, s);
                slot_free(s);
            }
            s = next;
        }
        env_release(r->pe);
    }
    pthread_mutex_unlock(&g_mu);
    free(r);
}

/* The format record decides whether we may read this environment at all.
 * An empty database is the daemon between creating the files and
 * committing its first transaction: not ready, rather than foreign. */
static int check_format(pc_reader *r)
{
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc != PC_OK)
        return rc;
    MDB_dbi dbi;
    rc = mdb_dbi_open(s->txn, NULL, 0, &dbi);
    if (rc == MDB_SUCCESS) {
        uint8_t kb[PC_KEY_MAX];
        MDB_val k = { pc_key_fmt(kb), kb }, v;
        rc = mdb_get(s->txn, dbi, &k, &v);
        if (rc == MDB_SUCCESS) {
            rc = pc_fmt_check(v.mv_data, v.mv_size);
        } else if (rc == MDB_NOTFOUND) {
            MDB_stat ms;
            rc = mdb_stat(s->txn, dbi, &ms);
            rc = rc != MDB_SUCCESS ? pc_err_from_mdb(rc)
                                   : ms.ms_entries == 0 ? PC_ENOTREADY : PC_EFORMAT;
        } else {
            rc = pc_err_from_mdb(rc);
        }
        r->dbi = dbi;
    } else {
        rc = pc_err_from_mdb(rc);
    }
    end_read(s);
    return rc;
}

int pc_open(const char *path, pc_reader **out)
{
    if (!out)
        return PC_EINVAL;
    *out = NULL;
    if (!path || !*path)
        return PC_EINVAL;
    char data[4096];
    if ((size_t)snprintf(data, sizeof data, "%s/data.mdb", path) >= sizeof data)
        return PC_EINVAL;
    /* Check first so that "not created yet" is PC_ENOTREADY rather than
     * whatever LMDB makes of a missing or half-created file. */
    struct stat st;
    if (stat(path, &st) != 0 || stat(data, &st) != 0)
        return pc_err_from_mdb(errno);
    if (st.st_size == 0)
        return PC_ENOTREADY;

    pc_reader *r = calloc(1, sizeof *r);
    if (!r)
        return PC_ENOMEM;
    if (pthread_key_create(&r->key, slot_destructor) != 0) {
        free(r);
        return PC_ENOMEM;
    }
    pthread_mutex_lock(&g_mu);
    int rc = pc_fork_watch(&g_mu) == 0 ? env_acquire(path, &st, &r->pe) : PC_ENOMEM;
    pthread_mutex_unlock(&g_mu);
    if (rc != PC_OK) {
        reader_destroy(r);
        return rc;
    }
    r->env = r->pe->env;
    r->count = pc_stats_wanted();
    if (r->count) {
        /* Tried again at each open: the daemon may have created the area
         * since the environment was first opened in this process. */
        pthread_mutex_lock(&g_mu);
        if (!r->pe->stats)
            r->pe->stats = pc_stats_attach(path);
        pthread_mutex_unlock(&g_mu);
    }
    int dead;
    mdb_reader_check(r->env, &dead);
    rc = check_format(r);
    if (rc != PC_OK) {
        reader_destroy(r);
        return rc;
    }
    r->magic = READER_MAGIC;
    *out = r;
    return PC_OK;
}

void pc_close(pc_reader *r)
{
    if (READER_BAD(r))
        return;
    reader_destroy(r);
}

/* ---- statistics written out ----------------------------------------- */

void pc_stats_flush_own(void)
{
    pthread_mutex_lock(&g_mu);
    for (penv *pe = g_envs; pe; pe = pe->next)
        if (pe->gen == pc_fork_gen)
            pc_stats_flush(pe->stats);
    pthread_mutex_unlock(&g_mu);
}

/* At exit (or dlclose) the counts since the last write reach the files,
 * so a short-lived process that never closed its reader is counted whole.
 * Another thread may hold g_mu while the process exits: then skip. */
__attribute__((destructor)) static void flush_at_exit(void)
{
    if (pthread_mutex_trylock(&g_mu) != 0)
        return;
    for (penv *pe = g_envs; pe; pe = pe->next)
        if (pe->gen == pc_fork_gen)
            pc_stats_flush_try(pe->stats);
    pthread_mutex_unlock(&g_mu);
}

/* ---- lookups --------------------------------------------------------- */

static inline int id_ok(const char *s, size_t *len)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, PC_ID_MAX + 1);
    *len = n;
    return n > 0 && n <= PC_ID_MAX;
}

static inline int chain_ok(const char *chain, size_t *len)
{
    if (!chain)
        return 0;
    *len = strnlen(chain, PC_CHAIN_MAX + 1);
    return pc_slug_valid(chain, *len);
}

/* NULL and "" both mean "base price only". */
static inline int store_ok(const char *store, size_t *len)
{
    *len = 0;
    return !store || !*store || id_ok(store, len);
}

/* A lookup missed: is the chain cached at all?  Same transaction, so the
 * answer belongs to the same version as the miss. */
static int chain_code(const pc_reader *r, MDB_txn *txn, const char *chain, size_t clen,
                      int found_code)
{
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_meta(kb, chain, clen), kb }, v;
    int rc = mdb_get(txn, r->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return PC_ENOCHAIN;
    return rc == MDB_SUCCESS ? found_code : pc_err_from_mdb(rc);
}

static inline int read_price(const MDB_val *v, pc_price *out, uint32_t flags)
{
    pc_price_rec rec;
    if (UNLIKELY(v->mv_size != sizeof rec))
        return PC_EFORMAT;
    memcpy(&rec, v->mv_data, sizeof rec);
    out->cents = rec.cents;
    out->updated_at = rec.updated_at;
    out->flags = flags;
    return PC_OK;
}

/* Keys of one (chain, store) with the item left off, built once per call so
 * that pc_get_many only appends each item. */
typedef struct keys {
    uint8_t skey[PC_KEY_MAX], bkey[PC_KEY_MAX];
    size_t  sprefix, bprefix; /* sprefix 0: base only */
} keys;

static inline void keys_init(keys *k, const char *chain, size_t clen,
                             const char *store, size_t slen)
{
    k->sprefix = slen ? pc_key_store(k->skey, chain, clen, store, slen, "", 0) : 0;
    k->bprefix = pc_key_base(k->bkey, chain, clen, "", 0);
}

/* One item inside an open transaction: the store's exception, then base. */
static inline int lookup(const pc_reader *r, MDB_txn *txn, keys *ks,
                         const char *item, size_t ilen, pc_price *out)
{
    MDB_val k, v;
    int rc;
    if (ks->sprefix) {
        memcpy(ks->skey + ks->sprefix, item, ilen);
        k.mv_size = ks->sprefix + ilen;
        k.mv_data = ks->skey;
        rc = mdb_get(txn, r->dbi, &k, &v);
        if (rc == MDB_SUCCESS)
            return read_price(&v, out, PC_PRICE_STORE);
        if (rc != MDB_NOTFOUND)
            return pc_err_from_mdb(rc);
    }
    memcpy(ks->bkey + ks->bprefix, item, ilen);
    k.mv_size = ks->bprefix + ilen;
    k.mv_data = ks->bkey;
    rc = mdb_get(txn, r->dbi, &k, &v);
    if (rc == MDB_SUCCESS)
        return read_price(&v, out, 0);
    return rc == MDB_NOTFOUND ? PC_NOTFOUND : pc_err_from_mdb(rc);
}

int pc_get(pc_reader *r, const char *chain, const char *store, const char *item, pc_price *out)
{
    size_t clen, slen, ilen;
    if (READER_BAD(r))
        return PC_EINVAL;
    if (!out || !chain_ok(chain, &clen) || !id_ok(item, &ilen) || !store_ok(store, &slen)) {
        count_refused(r, 1);
        return PC_EINVAL;
    }
    keys ks;
    keys_init(&ks, chain, clen, store, slen);
    tslot *s = NULL;
    uint64_t t0;
    int rc = begin_read_t(r, &s, &t0);
    if (UNLIKELY(rc != PC_OK)) {
        if (s)
            pc_stats_count(&s->st, rc, 0);
        return rc;
    }
    pc_price p;
    rc = lookup(r, s->txn, &ks, item, ilen, &p);
    if (rc == PC_NOTFOUND)
        rc = chain_code(r, s->txn, chain, clen, PC_NOTFOUND);
    pc_stats_count(&s->st, rc, t0);
    end_read(s);
    if (rc == PC_OK)
        *out = p;
    return rc;
}

int pc_get_many(pc_reader *r, const char *chain, const char *store, size_t n,
                const char *const items[], pc_price out[], int status[])
{
    size_t clen, slen;
    if (n > 0 && (!items || !out || !status))
        return PC_EINVAL;
    int rc = PC_OK;
    if (READER_BAD(r) || !chain_ok(chain, &clen) || !store_ok(store, &slen))
        rc = PC_EINVAL;
    tslot *s = NULL;
    uint64_t t0 = 0;
    if (rc == PC_OK && n > 0)
        rc = begin_read_t(r, &s, &t0);
    if (rc == PC_OK && n > 0) {
        rc = chain_code(r, s->txn, chain, clen, PC_OK);
        if (rc != PC_OK)
            end_read(s);
    }
    if (rc != PC_OK) {
        for (size_t i = 0; i < n; i++)
            status[i] = rc;
        if (s)
            pc_stats_add(&s->st, 0, 0, n, 0, 0);
        else if (!READER_BAD(r))
            count_refused(r, n);
        return rc;
    }
    if (n == 0)
        return PC_OK;
    /* One transaction for all: every answer comes from one version. */
    keys ks;
    keys_init(&ks, chain, clen, store, slen);
    uint64_t hits = 0, misses = 0;
    for (size_t i = 0; i < n; i++) {
        size_t ilen;
        status[i] = id_ok(items[i], &ilen) ? lookup(r, s->txn, &ks, items[i], ilen, &out[i])
                                           : PC_EINVAL;
        hits += status[i] == PC_OK;
        misses += status[i] == PC_NOTFOUND;
    }
    pc_stats_add(&s->st, hits, misses, n - hits - misses, t0, n);
    end_read(s);
    return PC_OK;
}

/* ---- for the library's other files (reader_private.h) ----------------- */

int pc_chain_arg(const char *chain, size_t *len)
{
    return chain_ok(chain, len);
}

int pc_rtxn_begin(pc_reader *r, pc_rtxn *t)
{
    if (READER_BAD(r))
        return PC_EINVAL;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc != PC_OK)
        return rc;
    t->txn = s->txn;
    t->dbi = r->dbi;
    t->env = r->env;
    t->slot = s;
    return PC_OK;
}

void pc_rtxn_end(pc_rtxn *t)
{
    end_read(t->slot);
    t->txn = NULL;
    t->slot = NULL;
}

/* ---- one transaction for a caller's many lookups ---------------------- */

/* Behind pc_txn_view.impl: what view_lookup needs of the open transaction. */
typedef struct txn_impl {
    const pc_reader *r;
    MDB_txn         *txn;
    const char      *chain;
    size_t           clen;
} txn_impl;

static int view_lookup(const pc_txn_view *v, const char *store, const char *item,
                       unsigned flags, pc_price *out)
{
    const txn_impl *t = v->impl;
    size_t slen, ilen;
    if (!out || !id_ok(item, &ilen) || !store_ok(store, &slen))
        return PC_EINVAL;
    if (!(flags & PC_TXN_EXCEPTION_ONLY)) {
        keys ks;
        keys_init(&ks, t->chain, t->clen, store, slen);
        return lookup(t->r, t->txn, &ks, item, ilen, out);
    }
    if (slen == 0)
        return PC_NOTFOUND;
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_store(kb, t->chain, t->clen, store, slen, item, ilen), kb }, val;
    int rc = mdb_get(t->txn, t->r->dbi, &k, &val);
    if (rc == MDB_SUCCESS)
        return read_price(&val, out, PC_PRICE_STORE);
    return rc == MDB_NOTFOUND ? PC_NOTFOUND : pc_err_from_mdb(rc);
}

int pc_reader_with_txn(pc_reader *r, const char *chain,
                       int (*fn)(void *ctx, const pc_txn_view *v), void *ctx)
{
    size_t clen;
    if (READER_BAD(r) || !fn || !chain_ok(chain, &clen))
        return PC_EINVAL;
    tslot *s;
    int rc = begin_read(r, &s);
    if (rc != PC_OK)
        return rc;
    txn_impl t = { r, s->txn, chain, clen };
    pc_txn_view view = { .lookup = view_lookup, .impl = &t };
    pc_rtxn rt = { s->txn, r->dbi, r->env, s };
    rc = pc_rtxn_meta(&rt, chain, clen, &view.meta);
    if (rc == PC_OK)
        rc = fn(ctx, &view);
    end_read(s);
    return rc;
}

const char *pc_version(void)
{
    return PC_VERSION;
}
