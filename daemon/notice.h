/* notice.h - what the engine makes of LISTEN notices: pending keys per chain, transactions' commit markers, the debounce before a delta. */
#ifndef PCD_NOTICE_H
#define PCD_NOTICE_H

#include "engine.h"
#include "listen.h"

/* The listener thread's callback (pcd_notice_fn; ctx is the engine).
 * n == NULL after a reconnect: notifications were lost, every chain is
 * listed again.  Takes mu. */
void pcd_notice_on(void *ctx, const pcd_notice *n);

/* Schedule the delta of a chain's pending keys: after its transactions'
 * commit markers (at most a short wait, then a full reload), else after a
 * short debounce.  Caller holds mu. */
void pcd_notice_schedule(engine *d, chain *c);

#endif
