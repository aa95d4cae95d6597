/* control.h - the daemon's control channel: a nanomsg REP socket answering operators (status, reload, breaker reset, accept, metrics). */
#ifndef PCD_CONTROL_H
#define PCD_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "pc_format.h"

/* Who asked, as the request states it: nanomsg cannot tell the daemon
 * which process is on the other end of an IPC socket. */
typedef struct pcd_actor {
    char     id[33];     /* the request id */
    unsigned uid;
    long     pid;
    char     user[64];
    char     text[256];  /* "ts=... uid=N user=NAME pid=N (stated) req=ID",
                            the head of every audit record */
} pcd_actor;

/* Shortest time between two reload requests of one chain (or of "all"). */
#define PCD_RELOAD_MIN_INTERVAL_MS 5000

/* What the engine does for each request.  Each writes its answer text to
 * `out` (cap bytes) and returns PC_OK, or an error with `out` holding
 * "<reason>: <message>" (reasons as documented in pricecache.h).  `chain`
 * is a valid slug, or "all" for reload. */
typedef struct pcd_control_ops {
    void *ctx;
    int (*status)(void *ctx, char *out, size_t cap);
    int (*metrics)(void *ctx, char *out, size_t cap);
    int (*reload)(void *ctx, const char *chain, const pcd_actor *who, char *out, size_t cap);
    int (*breaker_reset)(void *ctx, const char *chain, const pcd_actor *who, char *out,
                         size_t cap);
    int (*accept)(void *ctx, const char *chain, const pcd_actor *who, char *out, size_t cap);
    /* May be NULL.  The audit record number of an action this request id
     * (from the same stated uid) already carried out, found in the audit
     * log: PC_OK, else PC_NOTFOUND.  The replies kept for resends live
     * in memory and die with the daemon; the log does not. */
    int (*done_before)(void *ctx, const pcd_actor *who, uint64_t *seq);
    /* May be NULL (then "readers" is an unknown command).  The reader
     * slots as the daemon's watcher last sampled them, with how long each
     * has held an old snapshot. */
    int (*readers)(void *ctx, char *out, size_t cap);
} pcd_control_ops;

typedef struct pcd_control pcd_control;

/* Bind a REP socket to `addr`.  For ipc://, the socket's directory is
 * created with mode 0750 when missing (group: the daemon's), and the
 * socket is made 0660 after bind (nanomsg cannot set it at bind).
 * PC_OK, PC_EINVAL (bad address), PC_EIO with the cause in err. */
int  pcd_control_open(const char *addr, const pcd_control_ops *ops, pcd_control **out,
                      char *err, size_t errlen);
void pcd_control_close(pcd_control *c);

/* A descriptor that polls readable when a request may be waiting. */
int  pcd_control_fd(pcd_control *c);

/* Answer every request waiting, without blocking.  One thread only: the
 * one that polls the descriptor. */
void pcd_control_serve(pcd_control *c);

/* The answer to one raw request (exposed for the unit tests): the reply
 * text, "OK ..." or "ERR <reason>: <message>", in out (cap bytes);
 * returns its length.  Applies the replay cache and the rate limit. */
size_t pcd_control_handle(pcd_control *c, const char *msg, size_t len, char *out, size_t cap);

/* A control handle with no socket, for tests of pcd_control_handle. */
int  pcd_control_new(const pcd_control_ops *ops, pcd_control **out);

#endif
