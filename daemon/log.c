/* log.c - JSON-lines logging on stderr, one object per line, one write(2) per line. */
#include "log.h"

/* Owns: the JSON log line and the level.  May call: nothing of daemon/. */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

atomic_int pcd_log_level = PCD_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int pcd_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
             : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    /* overlong 3- and 4-byte forms, surrogates, beyond U+10FFFF */
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

/* JSON string escaping; truncates rather than splitting an escape. */
static size_t json_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        size_t n;
        switch (*p) {
        case '"':  memcpy(tmp, "\\\"", 2); n = 2; break;
        case '\\': memcpy(tmp, "\\\\", 2); n = 2; break;
        case '\n': memcpy(tmp, "\\n", 2); n = 2; break;
        case '\r': memcpy(tmp, "\\r", 2); n = 2; break;
        case '\t': memcpy(tmp, "\\t", 2); n = 2; break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                n = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", *p);
            } else if (*p < 0x80) {
                tmp[0] = (char)*p;
                n = 1;
            } else if ((n = utf8_len(p)) > 0) {
                memcpy(tmp, p, n);
                p += n - 1;
            } else {
                /* JSON is UTF-8: a stray byte (a config value in Latin-1, a
                 * truncated message) becomes U+FFFD, not an unparsable line. */
                memcpy(tmp, "\\ufffd", 6);
                n = 6;
            }
        }
        if (o + n >= cap)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = 0;
    return o;
}

void pcd_log_write(int level, const char *sub, const char *fmt, ...)
{
    char msg[2048], esc[4096], line[4608];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_escape(esc, sizeof esc, msg);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

    if (level < 0) level = 0;
    if (level > 3) level = 3;
    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"sub\":\"%s\",\"msg\":\"%s\"}\n",
                     when, ts.tv_nsec / 1000000, level_names[level], sub, esc);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    /* One write keeps lines from different threads whole. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
