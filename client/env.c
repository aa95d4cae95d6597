/* env.c - the reader's environments: one LMDB handle per cache directory and process, per-thread slots, open and close, fork and map growth. */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errdetail.h"
#include "fork.h"
#include "pc_format.h"
#include "pc_lockfile.h"
#include "pricecache.h"
#include "reader_private.h"
#include "reader_int.h"
#include "stats.h"

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
    pc_tab_free(s);
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
int pc_slot_new(pc_reader *r, tslot **out)
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
    /* The tables' segments are elsewhere in the new map. */
    for (tslot *s = pe->slots; s; s = s->next) {
        pc_tab_forget(s);
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&g_mu);
}

/* Refuse a lock file whose reader count lies beyond the table before LMDB
 * walks the table (a new slot, mdb_reader_check): it would read past its
 * mapping.  mdb_env_info also reads data.mdb's meta pages, so the caller
 * keeps a resize out (a slot's mutex or g_mu held). */
static int readers_ok(MDB_env *env)
{
    char msg[200];
    int rc = pc_lock_check_env(env, msg, sizeof msg);
    if (rc == PC_EFORMAT)
        pc_detail_set(rc, msg);
    return rc;
}

int pc_txnid_slow(pc_reader *r, tslot *s, uint64_t id)
{
    MDB_envinfo info;
    char msg[200];
    /* data.mdb's newest commit, read after the transaction began: a true
     * id is never above it.  s->mu keeps a resize out. */
    int rc = mdb_env_info(r->env, &info) == MDB_SUCCESS
                 ? pc_lock_check_txnid(id, (uint64_t)info.me_last_txnid, s->floor, msg, sizeof msg)
                 : PC_EIO;
    if (rc == PC_OK) {
        s->seen = s->floor = id;
        pc_detail_clear(); /* the refusal it explained is over */
        return PC_OK;
    }
    s->seen = 0;
    if (rc == PC_EFORMAT)
        pc_detail_set(rc, msg);
    end_read(s);
    return rc;
}

/* The rare cases of begin_read, entered with s->mu held and `rc` the result
 * of the renew (or RC_BEGIN).  Returns with s->mu held on PC_OK only. */
int pc_begin_slow(pc_reader *r, tslot *s, int rc)
{
    int cleared = 0, resizes = 0;
    for (;;) {
        if (s->dead) {
            rc = MDB_PANIC;
        } else if (rc == RC_BEGIN) {
            if (s->txn) {
                rc = mdb_txn_renew(s->txn);
            } else if ((rc = readers_ok(r->env)) != PC_OK) {
                /* A new transaction takes a new slot: LMDB would walk
                 * the table by the count lock.mdb gives. */
                pthread_mutex_unlock(&s->mu);
                return rc;
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
            int dead, lrc;
            cleared = 1;
            pthread_mutex_lock(&g_mu);
            lrc = readers_ok(r->env);
            if (lrc == PC_OK)
                mdb_reader_check(r->env, &dead);
            pthread_mutex_unlock(&g_mu);
            if (lrc != PC_OK)
                return lrc;
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

/* ---- open / close ---------------------------------------------------- */

/* LMDB refused the files at open (MDB_INVALID, MDB_VERSION_MISMATCH): say
 * which file, since lock.mdb is writable by every member. */
static void open_refused(const char *path, int mrc)
{
    uint32_t magic = PC_LMDB_MAGIC, format = 0;
    char msg[200], lock[4200];
    /* Opened and closed here, which drops this process's fcntl locks on
     * lock.mdb (pc_lockfile.h): harmless, as the process holds none (the
     * library opens an environment once per process; a forked child's
     * inherited handle holds no lock of its own). */
    snprintf(lock, sizeof lock, "%s/lock.mdb", path);
    int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    int hrc = fd >= 0 ? pc_lock_read_header(fd, &magic, &format) : PC_EIO;
    if (fd >= 0)
        close(fd);
    if (hrc == PC_OK && pc_lock_check_header(magic, format, 0, msg, sizeof msg) != PC_OK)
        pc_detail_set(PC_EFORMAT, msg);
    else if (mrc == MDB_VERSION_MISMATCH)
        pc_detail_set(PC_EFORMAT, "lock.mdb or data.mdb: written by another LMDB version, or "
                      "lock.mdb's format word corrupt");
    else
        pc_detail_set(PC_EFORMAT, "data.mdb: not an LMDB file this library reads");
}

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
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            open_refused(path, rc);
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
        rc = readers_ok(pe->env); /* g_mu held: no resize meanwhile */
        if (rc == PC_OK) {
            MDB_txn *t;
            MDB_dbi dbi;
            int mrc = mdb_txn_begin(pe->env, NULL, MDB_RDONLY, &t);
            if (mrc == MDB_SUCCESS) {
                mrc = mdb_dbi_open(t, NULL, 0, &dbi);
                if (mrc == MDB_SUCCESS)
                    mrc = mdb_set_compare(t, dbi, pc_key_cmp);
                mdb_txn_abort(t);
            }
            rc = pc_err_from_mdb(mrc);
        }
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
    MDB_stat ms;
    pe->tab_min = mdb_env_stat(pe->env, &ms) == MDB_SUCCESS ? pc_tab_min_bytes(ms.ms_psize)
                                                            : SIZE_MAX;
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
    /* The handle's comparator for the database (shared by every
     * transaction of the handle): LMDB's order, cheaper (pc_format.h).
     * mdb_dbi_open above put back the default, which sorts alike, so a
     * lookup of another reader on this handle meanwhile finds the same. */
    if (rc == MDB_SUCCESS)
        rc = mdb_set_compare(s->txn, dbi, pc_key_cmp);
    if (rc == MDB_SUCCESS) {
        uint8_t kb[PC_KEY_MAX];
        MDB_val k = { pc_key_fmt(kb), kb }, v;
        rc = mdb_get(s->txn, dbi, &k, &v);
        if (rc == MDB_SUCCESS) {
            rc = pc_fmt_check(v.mv_data, v.mv_size, NULL);
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

static int open_reader(const char *path, pc_reader **out)
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
    /* A cache the system went down on while the daemon wrote it may be
     * torn (its commits reach the disk just after readers see them): not
     * read until the daemon has rebuilt it.  One small read per open. */
    if (pc_unsynced_check(path, NULL, 0) == PC_ENOTREADY)
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
    /* PRICECACHE_TABLES=0: look every price up in the B-tree (format 1's
     * way), for comparing the two and as a way around a table suspected
     * wrong; read at pc_open, per reader, like PRICECACHE_STATS. */
    const char *tables = getenv("PRICECACHE_TABLES");
    r->tables = !(tables && strcmp(tables, "0") == 0);
    if (r->count) {
        /* Tried again at each open: the daemon may have created the area
         * since the environment was first opened in this process. */
        pthread_mutex_lock(&g_mu);
        if (!r->pe->stats)
            r->pe->stats = pc_stats_attach(path);
        pthread_mutex_unlock(&g_mu);
    }
    /* Clearing dead slots walks the table by lock.mdb's count: refuse a
     * count beyond it first (g_mu keeps a resize out of mdb_env_info). */
    int dead;
    pthread_mutex_lock(&g_mu);
    rc = readers_ok(r->env);
    if (rc == PC_OK)
        mdb_reader_check(r->env, &dead);
    pthread_mutex_unlock(&g_mu);
    if (rc == PC_OK)
        rc = check_format(r);
    if (rc != PC_OK) {
        reader_destroy(r);
        return rc;
    }
    r->magic = READER_MAGIC;
    *out = r;
    return PC_OK;
}

int pc_open(const char *path, pc_reader **out)
{
    return pc_api_return(open_reader(path, out));
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

