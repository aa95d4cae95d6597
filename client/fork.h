/* fork.h - fork detection for libpricecache: a generation counter bumped in every forked child; not installed, not exported.
 *
 * LMDB forbids using an environment in a child after fork (lmdb.h,
 * Caveats): the child's copies of the parent's read transactions point at
 * the parent's reader slots, so a renew in the child takes over a slot the
 * parent is using (the parent then fails with MDB_BAD_RSLOT), and
 * mdb_env_close in the child clears every slot of the parent's pid.  The
 * reader compares the generation it opened (or last reopened) an
 * environment in with pc_fork_gen on each call; a mismatch means "this
 * process is a child of the one that opened it": abandon the inherited
 * handle, untouched, and open a fresh one.
 *
 * Reading pc_fork_gen costs one load and no system call (no getpid on the
 * hot path).  It is written only by the child-side fork handler, while the
 * child has a single thread, so plain loads never race with the write.
 */
#ifndef PC_CLIENT_FORK_H
#define PC_CLIENT_FORK_H

#include <pthread.h>

/* The number of forks between the first pc_fork_watch and this process:
 * 0 in the process that registered the handlers, +1 in each child, +2 in a
 * grandchild... */
extern unsigned pc_fork_gen;

/* Register the fork handlers once per process (later calls do nothing).
 * Call with `mu` held: it serialises the first registration.
 * `mu` is held across fork() (taken in prepare, released in the parent and
 * in the child), so that the child never inherits it locked by a thread
 * that does not exist there.  Returns 0, or an errno value from
 * pthread_atfork (the reader then reports PC_ENOMEM). */
int pc_fork_watch(pthread_mutex_t *mu);

#endif /* PC_CLIENT_FORK_H */
