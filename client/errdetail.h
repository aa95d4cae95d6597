/* errdetail.h - the detail of a thread's failed call (pc_errdetail): recorded where the library refuses, kept or dropped as each public call fails (client/error.c); not installed, not exported.
 *
 * pc_errdetail must answer only for the call that recorded the sentence:
 * a later call that fails with the same code for another reason must not
 * inherit it.  Forgetting the detail at every call's entry would put a
 * thread-local write (a __tls_get_addr call, in a shared library) on the
 * lookup path, so the work is done at the failing exits, which are cold:
 *
 *   - pc_detail_set marks the detail fresh: recorded by the call running;
 *   - every public call that fails leaves through pc_api_return (or calls
 *     pc_detail_settle itself), which keeps a fresh detail, no longer
 *     fresh, and drops one left by an earlier call;
 *   - success and PC_NOTFOUND (an ordinary answer, never given a detail)
 *     touch nothing: an old detail may stay behind them, but pc_errdetail
 *     is only asked about a code the thread's last call returned, and
 *     any failure drops it before it could be taken for that call's.
 *
 * So a call that records a detail must fail through pc_api_return, or
 * drop the detail (pc_detail_clear) when it recovers from what the detail
 * explained; left fresh behind a success, the next failure would keep it.
 * A public call that fails because another public call it made failed
 * (pc_bus_resolve) returns that code as it is: settling it again would
 * drop the inner call's detail. */
#ifndef PC_CLIENT_ERRDETAIL_H
#define PC_CLIENT_ERRDETAIL_H

#include "pricecache.h"

/* Record the sentence that explains rc (never PC_OK or PC_NOTFOUND), for
 * the call running on this thread. */
void pc_detail_set(int rc, const char *text);
/* Forget the detail: what it explained is over. */
void pc_detail_clear(void);
/* A public call is failing: keep the detail it recorded, drop an older
 * one.  Out of line and cold, off the lookup path. */
__attribute__((cold)) void pc_detail_settle(void);

/* The return of a public call: a failure settles the detail; success
 * and PC_NOTFOUND cost one compare of a value the caller has in hand. */
static inline int pc_api_return(int rc)
{
    if (__builtin_expect(rc < 0 && rc != PC_NOTFOUND, 0))
        pc_detail_settle();
    return rc;
}

#endif /* PC_CLIENT_ERRDETAIL_H */
