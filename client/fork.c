/* fork.c - fork detection: pthread_atfork handlers that bump a generation counter in the child. */
#include <pthread.h>

#include "fork.h"

unsigned pc_fork_gen;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t *held; /* the reader's global lock, set before once */
static int watch_err;

static void prepare(void)
{
    pthread_mutex_lock(held);
}

static void in_parent(void)
{
    pthread_mutex_unlock(held);
}

/* The child has one thread (this one, which took `held` in prepare): the
 * write cannot race with a reader of pc_fork_gen. */
static void in_child(void)
{
    pc_fork_gen++;
    pthread_mutex_unlock(held);
}

static void watch_once(void)
{
    watch_err = pthread_atfork(prepare, in_parent, in_child);
}

int pc_fork_watch(pthread_mutex_t *mu)
{
    /* Called with mu held (see fork.h), which orders the store; every
     * caller passes the same lock, reader.c's g_mu. */
    held = mu;
    pthread_once(&once, watch_once);
    return watch_err;
}
