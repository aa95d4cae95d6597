/* dsn.c - PostgreSQL connection strings: syntax check with libpq's own parser, password redaction and scrubbing for logs. */
#include "dsn.h"

/* Owns: connection string syntax and secrets.  May call: libpq's parser only. */

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"

int pcd_pg_dsn_check(const char *dsn, char *why, size_t whylen)
{
    /* As libpq's expand_dbname: a string with no '=' that is not a URI is
     * a plain database name ("dsn = prices" is valid). */
    if (!strchr(dsn, '=') && strncmp(dsn, "postgresql://", 13) != 0 &&
        strncmp(dsn, "postgres://", 11) != 0)
        return PC_OK;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (opts) {
        PQconninfoFree(opts);
        return PC_OK;
    }
    /* libpq's first line only, as pgsource's pg_err words its messages. */
    const char *msg = perr && *perr ? perr : perr ? "no message" : "out of memory";
    snprintf(why, whylen, "libpq cannot parse it: %.*s", (int)strcspn(msg, "\n"), msg);
    pcd_dsn_scrub(dsn, why);
    PQfreemem(perr);
    return PC_ECONFIG;
}

/* The secrets of a DSN: the value after "password=" (quoted, or up to the
 * next unescaped space: libpq takes "\ " inside an unquoted value, so
 * "password=ab\ cd" is one password), and the password part of
 * "scheme://user:password@host" (the '@' searched before the path only).
 * Each span covers what redaction replaces; [vs, ve) is the secret itself. */
typedef struct secret_span {
    const char *start, *end;   /* replaced in redacted copies */
    const char *vs, *ve;       /* the secret text */
    int         keyval;        /* "password=***" rather than "***" */
} secret_span;

static size_t find_secrets(const char *dsn, secret_span *out, size_t max)
{
    size_t n = 0;
    const char *p = dsn;
    const char *scheme = strstr(dsn, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        size_t alen = strcspn(auth, "/?");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                at = q; /* the last '@' of the authority ends the user info */
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon && n < max) {
            out[n++] = (secret_span){ colon + 1, at, colon + 1, at, 0 };
            p = at;
        }
    }
    for (; *p; p++) {
        if (strncasecmp(p, "password", 8) != 0 ||
            !(p == dsn || isspace((unsigned char)p[-1]) || p[-1] == '&' || p[-1] == '?'))
            continue;
        const char *q = p + 8;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        const char *vs = q, *ve;
        if (*q == '\'') {
            vs = ++q;
            for (; *q && *q != '\''; q++)
                if (*q == '\\' && q[1])
                    q++;
            ve = q;
            if (*q)
                q++;
        } else {
            while (*q && !isspace((unsigned char)*q) && *q != '&') {
                if (*q == '\\' && q[1])
                    q++;
                q++;
            }
            ve = q;
        }
        if (n < max)
            out[n++] = (secret_span){ p, q, vs, ve, 1 };
        p = q - 1;
        if (!*q)
            break;
    }
    return n;
}

char *pcd_dsn_redact(const char *dsn)
{
    secret_span sp[16];
    size_t ns = find_secrets(dsn, sp, 16);
    char *out = malloc(strlen(dsn) + 12 * ns + 1); /* a span becomes at most "password=***" */
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = dsn;
    for (size_t i = 0; i < ns; i++) {
        memcpy(out + o, p, (size_t)(sp[i].start - p));
        o += (size_t)(sp[i].start - p);
        const char *rep = sp[i].keyval ? "password=***" : "***";
        memcpy(out + o, rep, strlen(rep));
        o += strlen(rep);
        p = sp[i].end;
    }
    strcpy(out + o, p);
    return out;
}

/* libpq's messages may quote part of the DSN (a malformed URI is quoted
 * whole, password included): replace every occurrence of a secret of
 * `dsn` in `msg`, in place. */
void pcd_dsn_scrub(const char *dsn, char *msg)
{
    secret_span sp[16];
    size_t ns = find_secrets(dsn, sp, 16);
    for (size_t i = 0; i < ns; i++) {
        size_t len = (size_t)(sp[i].ve - sp[i].vs);
        if (len == 0)
            continue;
        char *from = msg, *hit;
        while ((hit = memmem(from, strlen(from), sp[i].vs, len)) != NULL) {
            /* "***" is never longer than a secret of 3+ bytes; shorter
             * secrets become as many '*'.  The search goes on after the
             * stars, in case the secret is made of stars. */
            size_t rl = len < 3 ? len : 3;
            memset(hit, '*', rl);
            memmove(hit + rl, hit + len, strlen(hit + len) + 1);
            from = hit + rl;
        }
    }
}

void pcd_dsn_where(const char *dsn, char *buf, size_t len)
{
    const char *host = NULL, *port = NULL;
    char *perr = NULL;
    PQconninfoOption *opts = strchr(dsn, '=') || strstr(dsn, "://")
                                 ? PQconninfoParse(dsn, &perr) : NULL;
    PQfreemem(perr);
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0 || (!host && strcmp(o->keyword, "hostaddr") == 0))
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    if (!host)
        host = getenv("PGHOST");
    if (!port)
        port = getenv("PGPORT");
    snprintf(buf, len, "%s:%s", host && *host ? host : "local", port && *port ? port : "5432");
    /* A value with a space or quote would break status's key=value form. */
    for (char *p = buf; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '\\' || *p == '\n')
            *p = '_';
    PQconninfoFree(opts);
}
