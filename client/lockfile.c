/* lockfile.c - the cheap checks of LMDB's lock file (pc_lockfile.h) that the library and the daemon make before LMDB trusts it. */
#include "pc_lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "pc_format.h"

__attribute__((format(printf, 3, 4)))
static void say(char *msg, size_t cap, const char *fmt, ...)
{
    if (!msg || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

int pc_lock_check_readers(uint64_t numreaders, uint64_t maxreaders, char *msg, size_t cap)
{
    if (numreaders <= maxreaders)
        return PC_OK;
    say(msg, cap, "lock.mdb: reader count %llu beyond the table of %llu (lock file corrupt)",
        (unsigned long long)numreaders, (unsigned long long)maxreaders);
    return PC_EFORMAT;
}

int pc_lock_check_txnid(uint64_t txnid, uint64_t data_last, uint64_t seen, char *msg, size_t cap)
{
    if (txnid > data_last) {
        say(msg, cap, "lock.mdb: transaction id %llu beyond data.mdb's last commit %llu "
            "(lock file corrupt)", (unsigned long long)txnid, (unsigned long long)data_last);
        return PC_EFORMAT;
    }
    if (txnid < seen) {
        say(msg, cap, "lock.mdb: transaction id %llu went back (%llu seen before; lock file "
            "corrupt)", (unsigned long long)txnid, (unsigned long long)seen);
        return PC_EFORMAT;
    }
    return PC_OK;
}

int pc_lock_check_wtxnid(uint64_t wtxnid, uint64_t data_last, char *msg, size_t cap)
{
    if (wtxnid == data_last + 1)
        return PC_OK;
    say(msg, cap, "lock.mdb: last transaction id %llu, but data.mdb's last commit is %llu "
        "(lock file corrupt)", (unsigned long long)(wtxnid - 1), (unsigned long long)data_last);
    return PC_EFORMAT;
}

int pc_lock_check_header(uint32_t magic, uint32_t format, uint32_t want_format, char *msg,
                         size_t cap)
{
    if (magic != PC_LMDB_MAGIC) {
        say(msg, cap, "lock.mdb: magic 0x%08llx is not LMDB's 0x%08llx (lock file corrupt)",
            (unsigned long long)magic, (unsigned long long)PC_LMDB_MAGIC);
        return PC_EFORMAT;
    }
    if (want_format && format != want_format) {
        say(msg, cap, "lock.mdb: lock format 0x%08llx, not 0x%08llx (lock file corrupt, or "
            "written by another LMDB)", (unsigned long long)format, (unsigned long long)want_format);
        return PC_EFORMAT;
    }
    return PC_OK;
}

int pc_lock_read_header(int fd, uint32_t *magic, uint32_t *format)
{
    uint32_t w[2];
    ssize_t n = pread(fd, w, sizeof w, 0);
    if (n < 0)
        return PC_EIO;
    if ((size_t)n < sizeof w)
        return PC_EFORMAT;
    *magic = w[0];
    *format = w[1];
    return PC_OK;
}

int pc_lock_check_env(struct MDB_env *env, char *msg, size_t cap)
{
    MDB_envinfo info;
    int rc = mdb_env_info(env, &info);
    if (rc != MDB_SUCCESS)
        return pc_err_from_mdb(rc);
    return pc_lock_check_readers(info.me_numreaders, info.me_maxreaders, msg, cap);
}
