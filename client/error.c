/* error.c - the one strerror for every PC_* code, and the detail of a thread's last refusal. */
#include "pc_format.h"
#include "pc_lockfile.h"

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
    X(PC_EDISKFULL,   "cache disk full (no space left on its filesystem)")

const char *pc_strerror(int rc)
{
    switch (rc) {
#define PC_X_CASE(code, text) case code: return text;
    PC_X_ERRORS(PC_X_CASE)
#undef PC_X_CASE
    default: return "unknown error";
    }
}

/* The detail is per thread, like errno: the code it explains and the
 * sentence.  Written only where the library refuses corrupt shared state
 * (cold paths), never on the lookup path. */
static _Thread_local int tl_detail_rc;
static _Thread_local char tl_detail[256];

void pc_detail_set(int rc, const char *text)
{
    tl_detail_rc = rc;
    strncpy(tl_detail, text ? text : "", sizeof tl_detail - 1);
    tl_detail[sizeof tl_detail - 1] = 0;
}

void pc_detail_clear(void)
{
    tl_detail_rc = 0;
    tl_detail[0] = 0;
}

const char *pc_errdetail(int rc)
{
    if (rc != PC_OK && rc == tl_detail_rc && tl_detail[0])
        return tl_detail;
    return pc_strerror(rc);
}
