/* durable.h - commits visible at once, on disk right after: the sync thread and the unsynced marker of the cache. */
#ifndef PCD_DURABLE_H
#define PCD_DURABLE_H

#include <pthread.h>
#include <stddef.h>

struct MDB_env;
typedef struct pcd_syncer pcd_syncer;

/* Before the environment is opened, with the daemon's lock held.  A marker
 * left in dir by a daemon of an earlier boot means the system went down
 * while commits were not yet on disk: data.mdb and lock.mdb are removed
 * (every chain is reloaded from the database) and *rebuilt is set.  Then
 * the marker is written for this boot and made durable.  PC_OK or PC_EIO. */
int pcd_durable_begin(const char *dir, int *rebuilt, char *err, size_t errlen);

/* The sync thread of env (opened MDB_NOSYNC).  map_lock is the store's
 * lock against a resize of the map (mdb_env_sync reads the meta pages
 * through it): held for reading around each sync.  NULL on failure. */
pcd_syncer *pcd_syncer_start(struct MDB_env *env, pthread_rwlock_t *map_lock, const char *dir,
                             char *err, size_t errlen);
/* A write transaction committed: have it synced soon.  Never blocks. */
void pcd_syncer_kick(pcd_syncer *s);
/* Commits made, and commits known to be on disk (for /metrics and tests). */
void pcd_syncer_counts(pcd_syncer *s, unsigned long long *committed, unsigned long long *synced);
/* Stop the thread, sync a last time and, if every commit is on disk,
 * remove the marker: the next start, whatever the boot, trusts the cache.
 * NULL is a no-op. */
void pcd_syncer_stop(pcd_syncer *s);

#endif
