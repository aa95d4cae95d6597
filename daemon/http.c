/* http.c - the daemon's HTTP surface (libmicrohttpd): /metrics, /livez, /startupz, /readyz. */
#include "http.h"

/* Owns: the libmicrohttpd server and its four paths; reads a pcd_view through a
 * callback, never the engine.  May call: metrics, view, log. */

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "pc_format.h"

/* libmicrohttpd 0.9.71 changed handler results from int to an enum. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

struct pcd_http {
    struct MHD_Daemon *mhd;
    pcd_view_fn fn;
    void *ctx;
};

static mhd_result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                        char *body, size_t len, int owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    mhd_result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static mhd_result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_len, void **state)
{
    (void)version;
    (void)upload;
    pcd_http *h = cls;
    /* Answer on the first call: GET has no body to wait for. */
    (void)state;
    if (*upload_len)
        *upload_len = 0;
    char small[512];
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        snprintf(small, sizeof small, "{\"error\":\"method %s not allowed\"}\n", method);
        return reply(conn, 405, "application/json", small, strlen(small), 0);
    }
    const char *paths[] = { "/metrics", "/livez", "/startupz", "/readyz" };
    int which = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(url, paths[i]) == 0)
            which = i;
    if (which < 0) {
        snprintf(small, sizeof small, "{\"error\":\"no such path; try /metrics, /livez, "
                 "/startupz, /readyz\"}\n");
        return reply(conn, 404, "application/json", small, strlen(small), 0);
    }
    pcd_view v;
    memset(&v, 0, sizeof v);
    if (h->fn(h->ctx, &v) != PC_OK) {
        pcd_view_free(&v);
        snprintf(small, sizeof small, "{\"error\":\"state unavailable\"}\n");
        return reply(conn, 500, "application/json", small, strlen(small), 0);
    }
    mhd_result rc;
    if (which == 0) {
        size_t len;
        char *text = pcd_metrics_render(&v, &len);
        rc = text ? reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, 1)
                  : MHD_NO;
    } else {
        int status = which == 1 ? pcd_health_live(&v, small, sizeof small)
                   : which == 2 ? pcd_health_startup(&v, small, sizeof small)
                                : pcd_health_ready(&v, small, sizeof small);
        rc = reply(conn, (unsigned)status, "application/json", small, strlen(small), 0);
    }
    pcd_view_free(&v);
    return rc;
}

/* libmicrohttpd's own messages ("Failed to bind to port ...") would go to
 * stderr as bare text lines among the JSON ones: route them to the log. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    LOG_WARN("http", "libmicrohttpd: %.*s", (int)strcspn(msg, "\n"), msg);
}

int pcd_http_start(const char *listen, pcd_view_fn fn, void *ctx, pcd_http **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1] || (size_t)(colon - listen) >= sizeof host) {
        snprintf(err, errlen, "[http] listen \"%s\": expected host:port", listen);
        return PC_EINVAL;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int grc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (grc != 0) {
        snprintf(err, errlen, "[http] listen \"%s\": %s", listen, gai_strerror(grc));
        return PC_EINVAL;
    }
    pcd_http *h = calloc(1, sizeof *h);
    if (!h) {
        freeaddrinfo(ai);
        return PC_ENOMEM;
    }
    h->fn = fn;
    h->ctx = ctx;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                              MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                              MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->mhd) {
        free(h);
        snprintf(err, errlen, "[http] listen \"%s\": cannot listen (address in use or not "
                 "local?)", listen);
        return PC_EIO;
    }
    *out = h;
    return PC_OK;
}

void pcd_http_stop(pcd_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->mhd);
    free(h);
}
