/* jobs.h - the engine's worker threads: each takes a chain off the run queue and runs its load or delta job. */
#ifndef PCD_JOBS_H
#define PCD_JOBS_H

#include "engine.h"

/* Start `n` workers ([load] concurrency).  PC_OK; PC_ENOMEM (none
 * started, d->jobs NULL); PC_EIO when a thread could not be started (the
 * ones started run until pcd_jobs_join).  Logged either way. */
int  pcd_jobs_start(engine *d, int n);
/* Wait for every started worker to end (after d->stopping is set and
 * broadcast) and release them.  Each closes its database connection. */
void pcd_jobs_join(engine *d);

#endif
