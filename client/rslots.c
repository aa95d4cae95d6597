/* rslots.c - LMDB's reader table slot by slot (pid, thread, open transaction): the parser the daemon and the library share, and pc_readers_list. */
#include <errno.h>
#include <lmdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "errdetail.h"
#include "pc_format.h"
#include "pc_lockfile.h"
#include "pricecache.h"
#include "reader_private.h"

typedef struct acc {
    pc_rslot *out;
    size_t    cap, n;
    int       bad;
} acc;

/* mdb_reader_list (LMDB 0.9) sends a header line, then one line per used
 * slot: "%10d %zx %zu\n" (pid, thread, txnid) or "%10d %zx -\n" when the
 * slot holds no transaction; "(no active readers)" when none is used. */
static int on_line(const char *msg, void *ctx)
{
    acc *a = ctx;
    msg += strspn(msg, " ");
    if (*msg < '0' || *msg > '9')
        return 0; /* the header or "(no active readers)" */
    char *end;
    errno = 0;
    unsigned long pid = strtoul(msg, &end, 10);
    unsigned long long tid = strtoull(end, &end, 16);
    while (*end == ' ')
        end++;
    unsigned long long txn = 0;
    if (*end != '-') {
        if (*end < '0' || *end > '9') {
            a->bad = 1;
            return 0;
        }
        txn = strtoull(end, &end, 10);
    }
    if (errno || pid == 0 || pid > UINT32_MAX) {
        a->bad = 1;
        return 0;
    }
    if (a->n < a->cap) {
        a->out[a->n].pid = (uint32_t)pid;
        a->out[a->n].thread = tid;
        a->out[a->n].txnid = txn;
    }
    a->n++;
    return 0;
}

int pc_rslots_read(struct MDB_env *env, pc_rslot *out, size_t cap, size_t *n)
{
    acc a = { out, out ? cap : 0, 0, 0 };
    *n = 0;
    /* mdb_reader_list walks as many slots as lock.mdb counts. */
    char msg[200];
    int rc = pc_lock_check_env(env, msg, sizeof msg);
    if (rc != PC_OK) {
        if (rc == PC_EFORMAT)
            pc_detail_set(rc, msg);
        return rc;
    }
    if (mdb_reader_list(env, on_line, &a) < 0 || a.bad)
        return PC_EIO;
    *n = a.n;
    return PC_OK;
}

/* A slot's process: EPERM means it exists under another user. */
static int alive(uint32_t pid)
{
    return !(kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

static int readers_list(pc_reader *r, pc_reader_slot *out, size_t cap, size_t *n,
                        uint64_t *last_txnid)
{
    if (!r || !n || (cap && !out))
        return PC_EINVAL;
    *n = 0;
    pc_rslot *tmp = NULL;
    if (cap) {
        tmp = calloc(cap, sizeof *tmp);
        if (!tmp)
            return PC_ENOMEM;
    }
    /* Inside a read transaction of ours, like pc_env_read: a concurrent
     * resize cannot unmap what mdb_env_info reads meanwhile.  Our own slot
     * shows as current (behind 0). */
    pc_rtxn t;
    int rc = pc_rtxn_begin(r, &t);
    if (rc != PC_OK) {
        free(tmp);
        return rc;
    }
    MDB_envinfo info;
    size_t used = 0;
    int mrc = mdb_env_info(t.env, &info);
    if (mrc == MDB_SUCCESS)
        rc = pc_rslots_read(t.env, tmp, cap, &used);
    else
        rc = pc_err_from_mdb(mrc);
    pc_rtxn_end(&t);
    if (rc == PC_OK) {
        uint64_t last = (uint64_t)info.me_last_txnid;
        for (size_t i = 0; i < used && i < cap; i++) {
            pc_reader_slot *s = &out[i];
            memset(s, 0, sizeof *s);
            s->pid = tmp[i].pid;
            s->alive = (uint32_t)alive(tmp[i].pid);
            s->thread = tmp[i].thread;
            s->txnid = tmp[i].txnid;
            s->behind = s->txnid && s->txnid < last ? last - s->txnid : 0;
        }
        *n = used;
        if (last_txnid)
            *last_txnid = last;
    }
    free(tmp);
    return rc;
}

int pc_readers_list(pc_reader *r, pc_reader_slot *out, size_t cap, size_t *n,
                    uint64_t *last_txnid)
{
    return pc_api_return(readers_list(r, out, cap, n, last_txnid));
}
