/* http.h - the daemon's HTTP surface (libmicrohttpd): /metrics, /livez, /startupz, /readyz. */
#ifndef PCD_HTTP_H
#define PCD_HTTP_H

#include <stddef.h>

#include "metrics.h"

/* Fill `v` with the daemon's state now; the server frees
 * it with pcd_view_free.  Called from the server's thread. */
typedef int (*pcd_view_fn)(void *ctx, pcd_view *v);

typedef struct pcd_http pcd_http;

/* Listen on `listen` ("host:port", "[v6addr]:port"), answering GET on the
 * four paths.  PC_OK, or PC_EINVAL / PC_EIO with the cause in err. */
int  pcd_http_start(const char *listen, pcd_view_fn fn, void *ctx, pcd_http **out,
                    char *err, size_t errlen);
void pcd_http_stop(pcd_http *h);

#endif
