/* sync.h - which chains the engine serves: the listing of active chains, warm-up, dropping chains gone from the source. */
#ifndef PCD_SYNC_H
#define PCD_SYNC_H

#include "engine.h"
#include "pgsource.h"

/* The main loop's connection for listings: to the source the choice gave
 * (sources.h), remade when the configuration or the choice changes. */
typedef struct pcd_listing_conn {
    pg_conn *conn;
    unsigned conn_gen;   /* engine.conn_gen when made */
    unsigned src_gen;    /* the sources' list generation when made */
    int      src;        /* the source it goes to (0 the primary) */
} pcd_listing_conn;

/* List the active chains over lc (from a replica when one serves, else
 * the primary; a replica's failure hands it to the primary), drop vanished
 * ones from the cache, queue a load of every active one.  When the listing
 * fails the database counts as down and the known chains still try their
 * loads.  PC_OK or the listing's error.  Takes mu. */
int  pcd_sync_chains(engine *d, pcd_listing_conn *lc);
/* Remove from the cache the chains that left the listing once their
 * worker is done with them.  Takes mu. */
void pcd_sync_reap(engine *d);
/* Warm-up is done once every active chain was loaded (or failed) once.
 * Caller holds mu. */
void pcd_sync_check_warm(engine *d);

#endif
