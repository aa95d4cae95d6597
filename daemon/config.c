/* config.c - pricecached's configuration: INI file (libinih) plus PRICECACHE_<SECTION>_<KEY> overrides. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "pc_format.h"

enum key_type { T_STR, T_INT, T_U64, T_RATIO, T_LOGLEVEL };

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
    { "database", "dsn",                 T_STR,   OFF(dsn),               NULL, 0, 0 },
    { "database", "connect_timeout_s",   T_INT,   OFF(connect_timeout_s), "5", 1, 3600 },
    { "cache",    "path",                T_STR,   OFF(path),              NULL, 0, 0 },
    { "cache",    "map_size_mb",         T_U64,   OFF(map_size_mb),       "1024", 1, 1LL << 24 },
    { "cache",    "map_max_mb",          T_U64,   OFF(map_max_mb),        "65536", 1, 1LL << 24 },
    { "cache",    "max_readers",         T_INT,   OFF(max_readers),       "1024", 16, 1 << 20 },
    { "load",     "concurrency",         T_INT,   OFF(concurrency),       "3", 1, 64 },
    { "load",     "timeout_s",           T_INT,   OFF(timeout_s),         "30", 1, 86400 },
    { "load",     "refresh_s",           T_INT,   OFF(refresh_s),         "300", 0, 86400 * 7 },
    { "load",     "max_reject_ratio",    T_RATIO, OFF(max_reject_ratio),  "0.05", 0, 0 },
    { "load",     "max_shrink_ratio",    T_RATIO, OFF(max_shrink_ratio),  "0.5", 0, 0 },
    { "load",     "debounce_ms",         T_INT,   OFF(debounce_ms),       "10", 0, 60000 },
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
    { "bus",      "events",              T_STR,   OFF(bus_events),        "", 0, 0 },
    { "bus",      "control",             T_STR,   OFF(bus_control),       "", 0, 0 },
    { "http",     "listen",              T_STR,   OFF(http_listen),       "127.0.0.1:9187", 0, 0 },
    { "health",   "max_age_s",           T_INT,   OFF(health_max_age_s),  "900", 1, 86400 * 365 },
    { "log",      "level",               T_LOGLEVEL, OFF(log_level),      "info", 0, 0 },
};
#define NKEYS (sizeof keys / sizeof keys[0])

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

/* Parse `value` into the field of `k`; on failure write what was expected
 * into `why`. */
static int set_value(pcd_config *cfg, const key_def *k, const char *value,
                     char *why, size_t whylen)
{
    char *field = (char *)cfg + k->off;
    char *end;
    switch (k->type) {
    case T_STR: {
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
        if (keys[i].type == T_STR) {
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
    } else if (k == px->last && k->type == T_STR) {
        /* inih hands indented continuation lines over under the same key:
         * long queries may span lines. */
        char **slot = (char **)(void *)((char *)px->cfg + k->off);
        size_t a = strlen(*slot), b = strlen(value);
        char *joined = realloc(*slot, a + b + 2);
        if (joined) {
            joined[a] = ' ';
            memcpy(joined + a + 1, value, b + 1);
            *slot = joined;
            return 1;
        }
        snprintf(px->why, sizeof px->why, "out of memory");
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
    int lineno = 0;
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
    }
    free(buf);
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
    if (!cfg->path || !*cfg->path) {
        snprintf(err, errlen, "%s: [cache] path is required (the LMDB directory, "
                 "e.g. /var/lib/pricecache)", file);
        return PC_ECONFIG;
    }
    if (cfg->map_max_mb < cfg->map_size_mb) {
        snprintf(err, errlen, "%s: [cache] map_max_mb (%llu) is below map_size_mb (%llu)",
                 file, (unsigned long long)cfg->map_max_mb,
                 (unsigned long long)cfg->map_size_mb);
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
            snprintf(err, errlen, "%s: [load] %s must not be empty", file, queries[i].name);
            return PC_ECONFIG;
        }
    }
    return PC_OK;
}

/* Handles both key=value strings and URIs: the value after "password=" up
 * to the next space (or the quoted value), and the password part of
 * "scheme://user:password@host". */
char *pcd_dsn_redact(const char *dsn)
{
    size_t n = strlen(dsn);
    char *out = malloc(2 * n + 16); /* "password=" (9) becomes "password=***" (12) */
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = dsn;
    const char *scheme = strstr(dsn, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    if (scheme && at) {
        const char *colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
        if (colon) {
            size_t keep = (size_t)(colon - dsn) + 1;
            memcpy(out, dsn, keep);
            o = keep;
            memcpy(out + o, "***", 3);
            o += 3;
            p = at;
        }
    }
    while (*p) {
        if (strncasecmp(p, "password", 8) == 0 && (p == dsn || isspace((unsigned char)p[-1])
                                                   || p[-1] == '&' || p[-1] == '?')) {
            const char *q = p + 8;
            while (*q == ' ')
                q++;
            if (*q == '=') {
                q++;
                while (*q == ' ')
                    q++;
                memcpy(out + o, "password=***", 12);
                o += 12;
                if (*q == '\'') {
                    for (q++; *q && *q != '\''; q++)
                        if (*q == '\\' && q[1])
                            q++;
                    if (*q)
                        q++;
                } else {
                    while (*q && !isspace((unsigned char)*q) && *q != '&')
                        q++;
                }
                p = q;
                continue;
            }
        }
        out[o++] = *p++;
    }
    out[o] = 0;
    return out;
}
