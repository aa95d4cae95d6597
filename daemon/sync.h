/* sync.h - which chains the engine serves: the listing of active chains, warm-up, dropping chains gone from the source. */
#ifndef PCD_SYNC_H
#define PCD_SYNC_H

#include "engine.h"
#include "pgsource.h"

/* List the active chains over `*conn` (made or remade as needed; the
 * configuration generation it was made with in *conn_gen), drop vanished
 * ones from the cache, queue a load of every active one.  When the listing
 * fails the database counts as down and the known chains still try their
 * loads.  PC_OK or the listing's error.  Takes mu. */
int  pcd_sync_chains(engine *d, pg_conn **conn, unsigned *conn_gen);
/* Remove from the cache the chains that left the listing once their
 * worker is done with them.  Takes mu. */
void pcd_sync_reap(engine *d);
/* Warm-up is done once every active chain was loaded (or failed) once.
 * Caller holds mu. */
void pcd_sync_check_warm(engine *d);

#endif
