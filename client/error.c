/* error.c - the one strerror for every PC_* code, and the detail of a thread's failed call (errdetail.h). */
#include "errdetail.h"
#include "pc_format.h"

#include <string.h>

#define PC_X_ERRORS(X)                                                              \
    X(PC_OK,          "success")                                                    \
    X(PC_NOTFOUND,    "no price for this item")                                     \
    X(PC_ENOCHAIN,    "chain not in the cache")                                     \
    X(PC_ENOTREADY,   "cache not ready (no environment yet, or first load not done)") \
    X(PC_EOVERLOADED, "no reader slot free")                                        \
    X(PC_EINVAL,      "invalid argument")                                           \
    X(PC_EIO,         "cache could not be read")                                    \
    X(PC_ETIMEDOUT,   "timed out")                                                  \
    X(PC_EFORMAT,     "unknown cache format (library older than the daemon, or not a pricecache environment)") \
    X(PC_ENOMEM,      "out of memory")                                              \
    X(PC_ENOITEMS,    "basket has no items")                                        \
    X(PC_EQUANTITY,   "basket quantity must be positive")                           \
    X(PC_ETOOMANY,    "basket has too many items or stores")                        \
    X(PC_EOVERFLOW,   "amount out of range (int64 cents)")                          \
    X(PC_EACCES,      "control socket not reachable: permission denied (not in the service group)") \
    X(PC_EREFUSED,    "refused (by the daemon, or by a load guard)")                \
    X(PC_ETAMPERED,   "audit log tampered with (its hash chain is broken)")         \
    X(PC_ECANCELED,   "cancelled")                                                  \
    X(PC_EDB,         "database error")                                             \
    X(PC_ECONFIG,     "bad configuration")                                          \
    X(PC_EMAPFULL,    "cache map full")                                             \
    X(PC_EBREAKER,    "circuit breaker open")                                       \
    X(PC_EDISKFULL,   "cache disk full (no space left on its filesystem)")            \
    X(PC_ECHANGED,    "the chain changed while a load that found it unchanged ran")

const char *pc_strerror(int rc)
{
    switch (rc) {
#define PC_X_CASE(code, text) case code: return text;
    PC_X_ERRORS(PC_X_CASE)
#undef PC_X_CASE
    default: return "unknown error";
    }
}

/* The detail is per thread, like errno: the code it explains, the
 * sentence, and whether the call running recorded it (errdetail.h says
 * why the freshness is settled at failing exits, never at entry).
 * Written only on cold paths: refusals and failing returns. */
static _Thread_local struct {
    int  rc;
    int  fresh;
    char text[256];
} tl_detail;

void pc_detail_set(int rc, const char *text)
{
    if (rc == PC_OK || rc == PC_NOTFOUND)
        return;
    tl_detail.rc = rc;
    tl_detail.fresh = 1;
    strncpy(tl_detail.text, text ? text : "", sizeof tl_detail.text - 1);
    tl_detail.text[sizeof tl_detail.text - 1] = 0;
}

void pc_detail_clear(void)
{
    tl_detail.rc = 0;
    tl_detail.fresh = 0;
    tl_detail.text[0] = 0;
}

void pc_detail_settle(void)
{
    if (!tl_detail.fresh)
        pc_detail_clear(); /* an earlier call's: not this failure's */
    tl_detail.fresh = 0;
}

const char *pc_errdetail(int rc)
{
    if (rc != PC_OK && rc == tl_detail.rc && tl_detail.text[0])
        return tl_detail.text;
    return pc_strerror(rc);
}
