/* pgreplica.h - what a PostgreSQL streaming replica says of itself: its replay position and time, its WAL receiver; and LSN text. */
#ifndef PCD_PGREPLICA_H
#define PCD_PGREPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "pgsource.h"

/* One sample of a replica, from one statement on its connection. */
typedef struct pcd_replica_sample {
    int      in_recovery;    /* 0: not a standby (promoted, or a primary by mistake) */
    int      receiving;      /* a WAL receiver runs and streams (pg_stat_wal_receiver) */
    char     receiver[32];   /* its status ("streaming", "waiting", ...; "?" when the
                                role may not see it, "none" when there is none) */
    uint64_t replay_lsn;     /* pg_last_wal_replay_lsn(), 0 when NULL */
    uint64_t receive_lsn;    /* pg_last_wal_receive_lsn(), 0 when NULL */
    double   replay_age_s;   /* now - pg_last_xact_replay_timestamp(); -1 when NULL */
} pcd_replica_sample;

/* Sample the replica on `c` within cx.  PC_OK, or PC_EDB / PC_ETIMEDOUT /
 * PC_ECANCELED with the cause in err. */
int pcd_pg_replica_sample(pg_conn *c, const pcd_cancel *cx, pcd_replica_sample *out,
                          char *err, size_t errlen);

/* pg_last_wal_replay_lsn() on `c` (0 when NULL), for read-your-writes. */
int pcd_pg_replay_lsn(pg_conn *c, const pcd_cancel *cx, uint64_t *lsn, char *err, size_t errlen);

/* "16/B374D848" -> 0x16B374D848.  0 on success, -1 when it is no LSN. */
int pcd_lsn_parse(const char *s, uint64_t *out);

#endif
