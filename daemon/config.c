/* config.c - pricecached's configuration: INI file (libinih) plus PRICECACHE_<SECTION>_<KEY> overrides. */
#include "config.h"

/* Owns: the key table, parsing, overrides, defaults.  May call: dsn (to check
 * [database] dsn), log.  Knows nothing of pgsource. */

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsn.h"
#include "log.h"
#include "pc_format.h"

enum key_type { T_STR, T_INT, T_U64, T_RATIO, T_LOGLEVEL, T_HOSTPORT, T_NNADDR, T_DSN,
                T_DSNLIST };

/* The one table of keys: parsing, env overrides and defaults all come from
 * it, so a key cannot be known to one and missing from another. */
typedef struct key_def {
    const char *section, *name;
    enum key_type type;
    size_t off;
    const char *def;       /* default, as it would be written in the file */
    long long min, max;    /* for integers */
} key_def;

#define OFF(f) offsetof(pcd_config, f)
static const key_def keys[] = {
    { "database", "dsn",                 T_DSN,   OFF(dsn),               NULL, 0, 0 },
    { "database", "connect_timeout_s",   T_INT,   OFF(connect_timeout_s), "5", 1, 3600 },
    { "database", "replicas",            T_DSNLIST, OFF(replicas),        "", 0, 0 },
    { "database", "max_lag_s",           T_INT,   OFF(max_lag_s),         "60", 1, 86400 },
    { "database", "replica_wait_ms",     T_INT,   OFF(replica_wait_ms),   "200", 0, 60000 },
    { "database", "lag_sample_ms",       T_INT,   OFF(lag_sample_ms),     "1000", 50, 60000 },
    { "cache",    "path",                T_STR,   OFF(path),              NULL, 0, 0 },
    { "cache",    "map_size_mb",         T_U64,   OFF(map_size_mb),       "1024", 1, 1LL << 24 },
    { "cache",    "map_max_mb",          T_U64,   OFF(map_max_mb),        "65536", 1, 1LL << 24 },
    { "cache",    "max_readers",         T_INT,   OFF(max_readers),       "1024", 16, 1 << 20 },
    { "cache",    "reader_warn_s",       T_INT,   OFF(reader_warn_s),     "30", 1, 86400 },
    { "load",     "concurrency",         T_INT,   OFF(concurrency),       "3", 1, 64 },
    { "load",     "timeout_s",           T_INT,   OFF(timeout_s),         "30", 1, 86400 },
    { "load",     "refresh_s",           T_INT,   OFF(refresh_s),         "300", 0, 86400 * 7 },
    { "load",     "max_reject_ratio",    T_RATIO, OFF(max_reject_ratio),  "0.05", 0, 0 },
    { "load",     "max_shrink_ratio",    T_RATIO, OFF(max_shrink_ratio),  "0.5", 0, 0 },
    { "load",     "debounce_ms",         T_INT,   OFF(debounce_ms),       "5", 0, 60000 },
    { "load",     "delta_max_keys",      T_INT,   OFF(delta_max_keys),    "1000", 0, 10000000 },
    { "load",     "chains_query",        T_STR,   OFF(chains_query),
      "SELECT slug FROM chains WHERE active ORDER BY slug", 0, 0 },
    { "load",     "base_query",          T_STR,   OFF(base_query),
      "SELECT item_id, price_cents, updated_at FROM chain_prices WHERE chain_slug = $1", 0, 0 },
    { "load",     "store_query",         T_STR,   OFF(store_query),
      "SELECT store_id, item_id, price_cents, updated_at FROM store_prices WHERE chain_slug = $1", 0, 0 },
    { "breaker",  "failures",            T_INT,   OFF(breaker_failures),  "5", 1, 1000000 },
    { "breaker",  "reset_s",             T_INT,   OFF(breaker_reset_s),   "30", 1, 86400 },
    { "breaker",  "half_open_successes", T_INT,   OFF(breaker_half_open_successes), "3", 1, 1000000 },
    { "bus",      "events",              T_NNADDR, OFF(bus_events),       "", 0, 0 },
    { "bus",      "control",             T_NNADDR, OFF(bus_control),      "", 0, 0 },
    { "http",     "listen",              T_HOSTPORT, OFF(http_listen),    "127.0.0.1:9187", 0, 0 },
    { "health",   "max_age_s",           T_INT,   OFF(health_max_age_s),  "900", 1, 86400 * 365 },
    { "health",   "stall_s",             T_INT,   OFF(health_stall_s),    "10", 2, 3600 },
    { "log",      "level",               T_LOGLEVEL, OFF(log_level),      "info", 0, 0 },
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* Types stored as a malloc'ed string. */
static int is_string(enum key_type t)
{
    return t == T_STR || t == T_HOSTPORT || t == T_NNADDR || t == T_DSN || t == T_DSNLIST;
}

void pcd_config_replicas_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int pcd_config_replicas(const char *value, char ***out, size_t *n, char *why, size_t whylen)
{
    *out = NULL;
    *n = 0;
    char **v = calloc(PCD_REPLICAS_MAX, sizeof *v);
    if (!v) {
        snprintf(why, whylen, "out of memory");
        return PC_ENOMEM;
    }
    size_t k = 0, entry = 0;
    const char *p = value;
    while (*p) {
        size_t len = strcspn(p, ";");
        const char *s = p, *e = p + len;
        p = *e ? e + 1 : e;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (s == e)
            continue; /* "a; ;b" and a trailing ';' name no replica */
        entry++;
        if (k == PCD_REPLICAS_MAX) {
            snprintf(why, whylen, "more than %d replicas", PCD_REPLICAS_MAX);
            pcd_config_replicas_free(v, k);
            return PC_ECONFIG;
        }
        char *dsn = strndup(s, (size_t)(e - s));
        if (!dsn) {
            snprintf(why, whylen, "out of memory");
            pcd_config_replicas_free(v, k);
            return PC_ENOMEM;
        }
        /* Continuation lines joined by '\n': libpq takes any space. */
        for (char *q = dsn; *q; q++)
            if (*q == '\n' || *q == '\r' || *q == '\t')
                *q = ' ';
        char pwhy[400];
        if (pcd_pg_dsn_check(dsn, pwhy, sizeof pwhy) != PC_OK) {
            snprintf(why, whylen, "entry %zu (replica%zu): %s", entry, entry, pwhy);
            free(dsn);
            pcd_config_replicas_free(v, k);
            return PC_ECONFIG;
        }
        v[k++] = dsn;
    }
    *out = v;
    *n = k;
    return PC_OK;
}

static const key_def *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int section_known(const char *section)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0)
            return 1;
    return 0;
}

/* `host:port` (host may be a [bracketed] IPv6 address), port 1..65535 in
 * decimal.  Checked here so that a typo is a configuration error naming
 * the line, not a log line at start-up after which the daemon runs without
 * metrics and probes (and "127.0.0.1:99999" silently listened on port
 * 34463: getaddrinfo takes the number modulo 65536). */
static int hostport_ok(const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || !colon[1] || strlen(colon + 1) > 5)
        return 0;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    long port = strtol(colon + 1, NULL, 10);
    if (port < 1 || port > 65535)
        return 0;
    if (v[0] == '[')
        return colon[-1] == ']' && colon - v > 2;
    return memchr(v, ':', (size_t)(colon - v)) == NULL; /* bare IPv6 needs [] */
}

/* A nanomsg address: a transport nanomsg knows and something after it.
 * The bind itself can still fail at start-up (in use, no such directory). */
static int nnaddr_ok(const char *v)
{
    static const char *const schemes[] = { "ipc://", "tcp://", "ws://", "inproc://" };
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(v, schemes[i], n) == 0)
            return v[n] != 0;
    }
    return 0;
}

/* Parse `value` into the field of `k`; on failure write what was expected
 * into `why`. */
static int set_value(pcd_config *cfg, const key_def *k, const char *value,
                     char *why, size_t whylen)
{
    char *field = (char *)cfg + k->off;
    char *end;
    switch (k->type) {
    case T_DSN:
    case T_DSNLIST:
    case T_HOSTPORT:
    case T_NNADDR:
    case T_STR: {
        /* A DSN libpq cannot parse is a bad value of this line, not a
         * connection failure retried forever. */
        if (k->type == T_DSN && *value && pcd_pg_dsn_check(value, why, whylen) != PC_OK)
            return PC_ECONFIG;
        if (k->type == T_DSNLIST) {
            char **list;
            size_t n;
            int rc = pcd_config_replicas(value, &list, &n, why, whylen);
            if (rc != PC_OK)
                return rc;
            pcd_config_replicas_free(list, n);
        }
        if (k->type == T_HOSTPORT && *value && !hostport_ok(value)) {
            snprintf(why, whylen, "expected host:port (port 1 to 65535; an IPv6 host in "
                     "brackets) or nothing to turn it off, got \"%s\"", value);
            return PC_ECONFIG;
        }
        if (k->type == T_NNADDR && *value && !nnaddr_ok(value)) {
            snprintf(why, whylen, "expected a nanomsg address (ipc://PATH, tcp://HOST:PORT, "
                     "ws://HOST:PORT, inproc://NAME) or nothing to turn it off, got \"%s\"",
                     value);
            return PC_ECONFIG;
        }
        char *dup = strdup(value);
        if (!dup) {
            snprintf(why, whylen, "out of memory");
            return PC_ENOMEM;
        }
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = dup;
        return PC_OK;
    }
    case T_INT:
    case T_U64: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < k->min || v > k->max) {
            snprintf(why, whylen, "expected a whole number from %lld to %lld, got \"%s\"",
                     k->min, k->max, value);
            return PC_ECONFIG;
        }
        if (k->type == T_INT)
            *(int *)(void *)field = (int)v;
        else
            *(uint64_t *)(void *)field = (uint64_t)v;
        return PC_OK;
    }
    case T_RATIO: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v) || v < 0.0 || v > 1.0) {
            snprintf(why, whylen, "expected a ratio from 0 to 1, got \"%s\"", value);
            return PC_ECONFIG;
        }
        *(double *)(void *)field = v;
        return PC_OK;
    }
    case T_LOGLEVEL: {
        int lvl = pcd_log_level_parse(value);
        if (lvl < 0) {
            snprintf(why, whylen, "expected error, warn, info or debug, got \"%s\"", value);
            return PC_ECONFIG;
        }
        *(int *)(void *)field = lvl;
        return PC_OK;
    }
    }
    return PC_ECONFIG;
}

void pcd_config_free(pcd_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        if (is_string(keys[i].type)) {
            char **slot = (char **)(void *)((char *)cfg + keys[i].off);
            free(*slot);
            *slot = NULL;
        }
    free(cfg->file);
    cfg->file = NULL;
}

int pcd_config_defaults(pcd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char why[256];
    for (size_t i = 0; i < NKEYS; i++) {
        if (!keys[i].def)
            continue;
        int rc = set_value(cfg, &keys[i], keys[i].def, why, sizeof why);
        if (rc != PC_OK)
            return rc;
    }
    return PC_OK;
}

typedef struct parse_ctx {
    pcd_config *cfg;
    int   failed;
    char  section[64], name[64];
    char  why[512];
    const key_def *last;            /* the key of the previous line */
    unsigned char seen[64];         /* keys given so far (index into keys[]) */
} parse_ctx;

/* inih takes a ';' after whitespace for the start of a comment, so
 * `replicas = A ; B` would reach us as `A`: one replica, silently.  On the
 * raw lines, a `replicas` line or its indented continuation that holds
 * " ;" with anything after it is refused instead.  *in tracks whether the line continues a
 * replicas value.  1 when the line would lose a part. */
static int cut_replicas_line(const char *line, int *in)
{
    const char *p = line + strspn(line, " \t");
    int cont = p != line && *p;
    if (!cont) {
        size_t k = strlen("replicas");
        *in = strncmp(p, "replicas", k) == 0 && (p[k] == '=' || p[k] == ' ' || p[k] == '\t');
    } else if (*p == ';' || *p == '#') {
        return 0; /* a comment line */
    }
    if (!*in)
        return 0;
    for (const char *q = p; (q = strchr(q, ';')) != NULL; q++)
        if (q > p && (q[-1] == ' ' || q[-1] == '\t') && q[1 + strspn(q + 1, " \t;")])
            return 1; /* an entry follows the comment's start: lost */
    return 0;
}

/* inih calls this per key; returning 0 makes ini_parse report the line. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *px = user;
    if (px->failed)
        return 1; /* keep the first error: later lines may only be its echo */
    const key_def *k = find_key(section, name);
    if (!k) {
        snprintf(px->why, sizeof px->why, section_known(section)
                 ? "unknown key" : "unknown section");
    } else if (k == px->last && (k->type == T_STR || k->type == T_DSN || k->type == T_DSNLIST)) {
        /* inih hands indented continuation lines over under the same key:
         * long queries (and DSNs) may span lines.  Joined by a newline, so
         * that an SQL "-- comment" ends with its line, as it was written. */
        char **slot = (char **)(void *)((char *)px->cfg + k->off);
        size_t a = strlen(*slot), b = strlen(value);
        char *joined = realloc(*slot, a + b + 2);
        if (joined) {
            joined[a] = '\n';
            memcpy(joined + a + 1, value, b + 1);
            *slot = joined;
            char **list;
            size_t nl;
            if (k->type == T_DSNLIST) {
                if (pcd_config_replicas(joined, &list, &nl, px->why, sizeof px->why) == PC_OK) {
                    pcd_config_replicas_free(list, nl);
                    return 1;
                }
            } else if (k->type != T_DSN ||
                       pcd_pg_dsn_check(joined, px->why, sizeof px->why) == PC_OK)
                return 1;
        } else {
            snprintf(px->why, sizeof px->why, "out of memory");
        }
    } else if (px->seen[k - keys]) {
        snprintf(px->why, sizeof px->why, "given twice");
    } else if (set_value(px->cfg, k, value, px->why, sizeof px->why) == PC_OK) {
        px->seen[k - keys] = 1;
        px->last = k;
        return 1;
    }
    px->failed = 1;
    snprintf(px->section, sizeof px->section, "%s", section);
    snprintf(px->name, sizeof px->name, "%s", name);
    return 0;
}

static void env_name(char *buf, size_t len, const key_def *k)
{
    snprintf(buf, len, "PRICECACHE_%s_%s", k->section, k->name);
    for (char *p = buf; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* A variable PRICECACHE_<SECTION>_<KEY> of a known section but no known key
 * (PRICECACHE_LOAD_CONCURENCY) is a typo that would silently change
 * nothing: an error, as an unknown key in the file is.  Other PRICECACHE_
 * variables (PRICECACHE_PATH, PRICECACHE_CONTROL, ...) belong to the
 * clients and are left alone. */
static int env_unknown(char *err, size_t errlen)
{
    extern char **environ;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "PRICECACHE_", 11) != 0)
            continue;
        const char *rest = *e + 11, *eq = strchr(rest, '=');
        if (!eq)
            continue;
        for (size_t i = 0; i < NKEYS; i++) {
            size_t sl = strlen(keys[i].section);
            if (strncasecmp(rest, keys[i].section, sl) != 0 || rest[sl] != '_')
                continue;
            const char *name = rest + sl + 1;
            size_t nl = (size_t)(eq - name);
            int known = 0;
            for (size_t j = 0; j < NKEYS && !known; j++)
                known = strcmp(keys[j].section, keys[i].section) == 0 &&
                        strlen(keys[j].name) == nl && strncasecmp(keys[j].name, name, nl) == 0;
            if (!known) {
                snprintf(err, errlen, "environment %.*s: unknown key in [%s]",
                         (int)(eq - *e), *e, keys[i].section);
                return PC_ECONFIG;
            }
            break;
        }
    }
    return PC_OK;
}

/* " (set by PRICECACHE_S_K)" when the environment gave the key, else "". */
static const char *env_origin(const char *section, const char *name, char *buf, size_t len)
{
    const key_def *k = find_key(section, name);
    char var[128];
    if (!k)
        return "";
    env_name(var, sizeof var, k);
    if (!getenv(var))
        return "";
    snprintf(buf, len, " (set by %s)", var);
    return buf;
}

int pcd_config_load(pcd_config *cfg, const char *file, char *err, size_t errlen)
{
    int rc = pcd_config_defaults(cfg);
    if (rc != PC_OK) {
        snprintf(err, errlen, "%s: out of memory", file);
        return rc;
    }
    cfg->file = strdup(file);
    if (!cfg->file) {
        snprintf(err, errlen, "%s: out of memory", file);
        return PC_ENOMEM;
    }

    FILE *f = fopen(file, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
        return PC_ECONFIG;
    }
    /* inih reads at most INI_MAX_LINE (200) bytes a line and would parse
     * the rest of a longer line as a line of its own: refuse it plainly. */
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, in_replicas = 0;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        if (n > 0 && buf[n - 1] == '\n')
            n--;
        if (n > 198) {
            free(buf);
            fclose(f);
            snprintf(err, errlen, "%s:%d: line longer than 198 characters; continue a long "
                     "value on following lines indented by a space", file, lineno);
            return PC_ECONFIG;
        }
        buf[n] = 0;
        if (cut_replicas_line(buf, &in_replicas)) {
            free(buf);
            fclose(f);
            snprintf(err, errlen, "%s:%d: [database] replicas: ' ;' starts a comment in this "
                     "file and would drop the replicas after it; separate them with ';' right "
                     "after a DSN, e.g. 'host=r1 port=5432; host=r2 port=5432'", file, lineno);
            return PC_ECONFIG;
        }
    }
    int read_errno = ferror(f) ? errno : 0;
    free(buf);
    if (read_errno) {
        /* e.g. -c /etc/pricecache: fopen succeeds on a directory, and the
         * error would otherwise surface as "dsn is required" */
        fclose(f);
        snprintf(err, errlen, "%s: cannot read: %s", file, strerror(read_errno));
        return PC_ECONFIG;
    }
    rewind(f);
    parse_ctx px = { .cfg = cfg };
    int line = ini_parse_file(f, on_key, &px);
    fclose(f);
    if (px.failed) {
        snprintf(err, errlen, "%s:%d: [%s] %s: %s", file, line, px.section, px.name, px.why);
        return PC_ECONFIG;
    }
    if (line != 0) {
        snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
                 file, line);
        return PC_ECONFIG;
    }

    if (env_unknown(err, errlen) != PC_OK)
        return PC_ECONFIG;
    for (size_t i = 0; i < NKEYS; i++) {
        char var[128], why[512];
        env_name(var, sizeof var, &keys[i]);
        const char *v = getenv(var);
        if (!v)
            continue;
        if (set_value(cfg, &keys[i], v, why, sizeof why) != PC_OK) {
            snprintf(err, errlen, "environment %s ([%s] %s): %s", var,
                     keys[i].section, keys[i].name, why);
            return PC_ECONFIG;
        }
    }

    if (!cfg->dsn || !*cfg->dsn) {
        snprintf(err, errlen, "%s: [database] dsn is required: set it there or in "
                 "PRICECACHE_DATABASE_DSN (a libpq connection string, "
                 "e.g. \"host=/run/postgresql dbname=prices user=pricecache\"; the password "
                 "comes from PGPASSFILE or PGPASSWORD)", file);
        return PC_ECONFIG;
    }
    /* The checks below span keys: each message also names the environment
     * variables that set them, since the file may not be where it came from. */
    char o1[160], o2[160];
    if (!cfg->path || !*cfg->path) {
        snprintf(err, errlen, "%s: [cache] path is required (the LMDB directory, "
                 "e.g. /var/lib/pricecache)%s", file, env_origin("cache", "path", o1, sizeof o1));
        return PC_ECONFIG;
    }
    if (cfg->map_max_mb < cfg->map_size_mb) {
        snprintf(err, errlen, "%s: [cache] map_max_mb (%llu)%s is below map_size_mb (%llu)%s",
                 file, (unsigned long long)cfg->map_max_mb,
                 env_origin("cache", "map_max_mb", o1, sizeof o1),
                 (unsigned long long)cfg->map_size_mb,
                 env_origin("cache", "map_size_mb", o2, sizeof o2));
        return PC_ECONFIG;
    }
    /* One address cannot be bound twice: the second socket would fail at
     * start-up and run with that half of the bus off. */
    if (cfg->bus_events[0] && strcmp(cfg->bus_events, cfg->bus_control) == 0) {
        snprintf(err, errlen, "%s: [bus] events%s and [bus] control%s are both \"%s\"; they "
                 "need two addresses", file, env_origin("bus", "events", o1, sizeof o1),
                 env_origin("bus", "control", o2, sizeof o2), cfg->bus_events);
        return PC_ECONFIG;
    }
    static const struct { size_t off; const char *name; } queries[] = {
        { OFF(chains_query), "chains_query" },
        { OFF(base_query), "base_query" },
        { OFF(store_query), "store_query" },
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        const char *q = *(char **)(void *)((char *)cfg + queries[i].off);
        if (!q || !*q) {
            snprintf(err, errlen, "%s: [load] %s must not be empty%s", file, queries[i].name,
                     env_origin("load", queries[i].name, o1, sizeof o1));
            return PC_ECONFIG;
        }
    }
    return PC_OK;
}
