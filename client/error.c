/* error.c - the one strerror for every PC_* code. */
#include "pc_format.h"

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
