/* schedule.h - the engine's run queue: single-flight enqueue, what a worker takes next, due times and retry backoff. */
#ifndef PCD_SCHEDULE_H
#define PCD_SCHEDULE_H

#include "engine.h"

/* Single-flight: a chain is queued at most once; asked for while it runs,
 * it gets exactly one more load after the running one.  Caller holds mu. */
void   pcd_sched_enqueue(engine *d, chain *c);
/* A full reload (pending changed keys ride along).  Caller holds mu. */
void   pcd_sched_load(engine *d, chain *c);
/* Wait for a queued chain and mark it running; NULL once stopping.
 * Caller holds mu (released while waiting). */
chain *pcd_sched_take(engine *d);
/* After a job's `result` (pc_load_result, PC_LOAD_NONE or
 * PC_LOAD_NEED_FULL): warm-up, failure count, the next due time (half-open
 * probes, breaker open, jittered backoff).  Caller holds mu. */
void   pcd_sched_after(engine *d, chain *c, int result, const pcd_config *cfg);
/* The earliest due time of an active chain, at most `limit`.  Takes mu. */
int64_t pcd_sched_next_due(engine *d, int64_t limit);
/* Queue every active chain whose due time has come.  Takes mu. */
void   pcd_sched_queue_due(engine *d, int64_t now);
/* Nothing queued and nothing running.  Takes mu. */
int    pcd_sched_idle(engine *d);

#endif
