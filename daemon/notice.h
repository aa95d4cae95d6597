/* notice.h - what the engine makes of LISTEN notices: pending keys per chain, transactions' commit markers, when a delta is queued. */
#ifndef PCD_NOTICE_H
#define PCD_NOTICE_H

#include "engine.h"
#include "listen.h"

/* The listener thread's callback (pcd_notice_fn; ctx is the engine).
 * n == NULL after a reconnect: notifications were lost, every chain is
 * listed again.  Takes mu. */
void pcd_notice_on(void *ctx, const pcd_notice *n);

/* Queue the job for a chain's pending changes (pcd_coalesce_due): at once
 * after a quiet spell; after its transactions' commit markers (at most a
 * short wait, then a full reload); while the chain is busy, at its job's
 * end and at least debounce_ms after that job began.  Caller holds mu. */
void pcd_notice_schedule(engine *d, chain *c);

#endif
