/* listen.h - LISTEN on the primary for the NOTIFYs of the source tables' triggers. */
#ifndef PCD_LISTEN_H
#define PCD_LISTEN_H

#include <stddef.h>

#include "config.h"

/* The channel the migrations' triggers notify on. */
#define PCD_NOTIFY_CHANNEL "pricecache"

/* One decoded notification.  Strings point into the caller's buffer; NULL
 * for JSON null or an absent key. */
typedef struct pcd_notice {
    const char *table;   /* chains, chain_prices, store_prices */
    const char *op;      /* INSERT, UPDATE, DELETE, TRUNCATE */
    const char *chain;
    const char *store;
    const char *item;
} pcd_notice;

/* Decode a payload such as
 *   {"table":"store_prices","op":"UPDATE","chain":"acme","store":"s1","item":"x"}
 * into `out`, copying strings into buf.  PC_OK, or PC_EINVAL for anything
 * that is not a flat JSON object of strings and nulls. */
int pcd_notice_parse(const char *payload, pcd_notice *out, char *buf, size_t buflen);

/* Called from the listener thread: for each notice, and with n == NULL
 * after every (re)connect, when notifications may have been lost and every
 * chain must be resynchronised. */
typedef void (*pcd_notice_fn)(void *ctx, const pcd_notice *n);

typedef struct pcd_listen pcd_listen;

/* Start the listener thread: connect with cfg->dsn, LISTEN, dispatch;
 * reconnect with jittered exponential backoff (0.5 s .. 30 s) when the
 * connection is lost.  Stops when stop_fd becomes readable.  `cfg` must
 * outlive the listener. */
int  pcd_listen_start(const pcd_config *cfg, int stop_fd, pcd_notice_fn fn, void *ctx,
                      pcd_listen **out);
/* Join the thread (after stop_fd became readable) and free. */
void pcd_listen_stop(pcd_listen *l);

#endif
