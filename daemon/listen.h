/* listen.h - LISTEN on the primary for the NOTIFYs of the source tables' triggers. */
#ifndef PCD_LISTEN_H
#define PCD_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sources.h"

/* The channel the migrations' triggers notify on. */
#define PCD_NOTIFY_CHANNEL "pricecache"

/* Most keys one notification can name (a payload is at most 8000 bytes). */
#define PCD_NOTICE_MAX_KEYS 2048

typedef struct pcd_notice_key {
    const char *store;   /* NULL for a base price */
    const char *item;
} pcd_notice_key;

/* One decoded notification.  Strings point into the caller's buffer; NULL
 * for JSON null or an absent key. */
typedef struct pcd_notice {
    const char *table;   /* chains, chain_prices, store_prices */
    const char *op;      /* INSERT, UPDATE, DELETE, TRUNCATE */
    const char *chain;
    long long   txid;     /* the source transaction, 0 when not given */
    int         has_keys; /* 1: keys[] is every key the statement changed;
                             0: unknown ("keys" null or absent): whole chain */
    size_t      nkeys;
    uint64_t    recv_us;  /* pcd_mono_us (snapshot.h) when the listener read it; set by the
                             listener, not by pcd_notice_parse */
    pcd_notice_key keys[PCD_NOTICE_MAX_KEYS];
} pcd_notice;

/* The table name of the commit marker (sql/0003_commit_marker.sql). */
#define PCD_NOTICE_COMMIT_TABLE "pricecache_txn"

/* Decode a payload such as
 *   {"table":"store_prices","op":"UPDATE","chain":"acme","keys":[["s1","x"],[null,"y"]]}
 * into `out`, copying strings into buf.  PC_OK, or PC_EINVAL for anything
 * else: values must be strings or null, "keys" null or an array of
 * [store|null, item] pairs. */
int pcd_notice_parse(const char *payload, pcd_notice *out, char *buf, size_t buflen);

/* Called from the listener thread: for each notice, and with n == NULL
 * after every (re)connect, when notifications may have been lost and every
 * chain must be resynchronised. */
typedef void (*pcd_notice_fn)(void *ctx, const pcd_notice *n);

/* Called from the listener thread with what the continuous check sees:
 * up 1 each time LISTEN is in force on a (re)made connection; up 0 with
 * the error when the database is unreachable (a connect failed, a round
 * trip went unanswered, or a lost connection could not be made again at
 * once), and again at every failed reconnect.  Repeats are the callee's
 * to ignore. */
typedef void (*pcd_dbstate_fn)(void *ctx, int up, const char *error);

typedef struct pcd_listen pcd_listen;

/* Start the listener thread: connect with cfg->dsn (pcd_pg_connect_watch:
 * short TCP keepalives), LISTEN, dispatch, and check the database with a
 * round trip every second (dbwatch.h), never blocking on the server.  A
 * connection the server closes is made again at once (a terminated
 * backend is not an outage); otherwise reconnects follow a jittered
 * backoff of 0.25 s .. 2 s.  Stops when stop_fd becomes readable.  `cfg`
 * must outlive the listener.  With `src` (may be NULL) replicated, every
 * notification is counted there first, and the round trips also read the
 * primary's WAL position into it (pcd_sources_primary_lsn), at least every
 * lag_sample_ms and right after a notification. */
int  pcd_listen_start(const pcd_config *cfg, int stop_fd, pcd_notice_fn fn, pcd_dbstate_fn on_db,
                      void *ctx, pcd_sources *src, pcd_listen **out);
/* Join the thread (after stop_fd became readable) and free. */
void pcd_listen_stop(pcd_listen *l);

#endif
