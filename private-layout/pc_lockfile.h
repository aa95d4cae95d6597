/* pc_lockfile.h - cheap checks of LMDB's lock file (lock.mdb), which every member of the service group can write: the library and the daemon refuse what is obviously corrupt before LMDB trusts it.
 *
 * LMDB 0.9 reads three things of lock.mdb that a member can rewrite:
 *   - the reader count (mti_numreaders): LMDB loops over that many slots
 *     when a thread takes a slot, in mdb_reader_check, mdb_reader_list and
 *     in the writer's search for the oldest reader (every write): a count
 *     beyond the table reads past the mapping (SIGSEGV), or, at 2^31 and
 *     above (an int in mdb_find_oldest), makes the writer ignore every
 *     reader and reuse pages they still read;
 *   - the last transaction id (mti_txnid): a read transaction takes its
 *     snapshot from it, and the writer builds its next transaction on the
 *     meta page it names; the data file's meta pages (data.mdb, writable by
 *     the daemon alone) say what it must be;
 *   - the header words (magic 0xBEEFC0DE, lock format), checked by LMDB at
 *     mdb_env_open only.
 * The table size (me_maxreaders) comes from the file's size at open, not
 * from a field, so it is the bound to hold the count to.  These checks are
 * cheap and catch a corrupt value, not a member who rewrites a field
 * between the check and LMDB's read: the group is for trusted services
 * (README, Security).  The checkers only read; nothing here repairs. */
#ifndef PC_LOCKFILE_H
#define PC_LOCKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "pricecache.h"

/* LMDB 0.9's MDB_MAGIC, the first 32-bit word of lock.mdb (and of each
 * meta page of data.mdb), in the host's byte order. */
#define PC_LMDB_MAGIC 0xBEEFC0DEu

/* The pure checks: PC_OK, or PC_EFORMAT with a sentence naming lock.mdb
 * and the values in msg (msg may be NULL). */
int pc_lock_check_readers(uint64_t numreaders, uint64_t maxreaders, char *msg, size_t cap);
/* A read transaction's id (taken from lock.mdb) against the newest commit
 * of data.mdb read AFTER the transaction began (it only grows, so a true
 * id is never above it), and the id this handle last saw (ids never go
 * back; 0: none yet). */
int pc_lock_check_txnid(uint64_t txnid, uint64_t data_last, uint64_t seen, char *msg, size_t cap);
/* The writer's new transaction (its id is lock.mdb's last id + 1) must
 * follow data.mdb's newest commit exactly: the writer is the only one. */
int pc_lock_check_wtxnid(uint64_t wtxnid, uint64_t data_last, char *msg, size_t cap);
/* The header words against LMDB's magic and the lock format seen when the
 * environment was opened (want_format 0: not checked). */
int pc_lock_check_header(uint32_t magic, uint32_t format, uint32_t want_format, char *msg,
                         size_t cap);

/* The first two words of lock.mdb by pread on `fd`: PC_OK, PC_EIO (cannot
 * be read), PC_EFORMAT (shorter than 8 bytes).
 *
 * Beware: closing ANY descriptor of lock.mdb drops every fcntl lock the
 * process holds on it (POSIX), and LMDB's locks there say "this process
 * is alive" (its pid lock; without it mdb_reader_check frees its slots)
 * and "the file is in use" (without any, the next opener re-initialises
 * the table under everyone).  A process with the environment open keeps
 * one descriptor for the header open until after mdb_env_close. */
int pc_lock_read_header(int fd, uint32_t *magic, uint32_t *format);

/* mdb_env_info's reader count against the table: call before anything
 * that makes LMDB walk the table (a thread's first transaction,
 * mdb_reader_check, mdb_reader_list, a write).  The caller keeps the map
 * from being resized meanwhile, as for any mdb_env_info.  PC_OK,
 * PC_EFORMAT with msg, PC_EIO. */
struct MDB_env;
int pc_lock_check_env(struct MDB_env *env, char *msg, size_t cap);

#endif /* PC_LOCKFILE_H */
