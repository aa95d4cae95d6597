/* format.c - key encoding and record decoding of the LMDB layout (pc_format.h). */
#include "pc_format.h"

#include <errno.h>
#include <lmdb.h>
#include <string.h>
#include <time.h>

size_t pc_key_fmt(uint8_t *buf)
{
    buf[0] = 0;
    buf[1] = 'F';
    return 2;
}

size_t pc_key_daemon(uint8_t *buf)
{
    buf[0] = 0;
    buf[1] = 'D';
    return 2;
}

size_t pc_key_meta_prefix(uint8_t *buf)
{
    buf[0] = 0;
    buf[1] = 'C';
    return 2;
}

size_t pc_key_meta(uint8_t *buf, const char *chain, size_t clen)
{
    size_t n = pc_key_meta_prefix(buf);
    memcpy(buf + n, chain, clen);
    return n + clen;
}

size_t pc_key_chain_prefix(uint8_t *buf, const char *chain, size_t clen)
{
    memcpy(buf, chain, clen);
    buf[clen] = 0;
    return clen + 1;
}

size_t pc_key_base(uint8_t *buf, const char *chain, size_t clen,
                   const char *item, size_t ilen)
{
    size_t n = pc_key_chain_prefix(buf, chain, clen);
    buf[n++] = PC_KEY_BASE;
    memcpy(buf + n, item, ilen);
    return n + ilen;
}

size_t pc_key_store(uint8_t *buf, const char *chain, size_t clen,
                    const char *store, size_t slen,
                    const char *item, size_t ilen)
{
    size_t n = pc_key_chain_prefix(buf, chain, clen);
    buf[n++] = PC_KEY_STORE;
    memcpy(buf + n, store, slen);
    n += slen;
    buf[n++] = 0;
    memcpy(buf + n, item, ilen);
    return n + ilen;
}

int pc_key_cmp(const MDB_val *a, const MDB_val *b)
{
    const uint8_t *x = a->mv_data, *y = b->mv_data;
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    for (; n >= 8; n -= 8, x += 8, y += 8) {
        uint64_t u, v;
        memcpy(&u, x, 8);
        memcpy(&v, y, 8);
        if (u != v) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            u = __builtin_bswap64(u);
            v = __builtin_bswap64(v);
#endif
            return u < v ? -1 : 1;
        }
    }
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

int pc_key_parse(const void *key, size_t len, pc_key_view *out)
{
    const char *k = key;
    const char *nul = len ? memchr(k, 0, len) : NULL;
    if (!nul || nul == k)
        return PC_EFORMAT;
    size_t clen = (size_t)(nul - k);
    if (clen + 2 > len)
        return PC_EFORMAT;
    memset(out, 0, sizeof *out);
    out->chain = k;
    out->clen = clen;
    const char *rest = nul + 2;
    size_t rlen = len - clen - 2;
    switch (nul[1]) {
    case PC_KEY_BASE:
        out->kind = PC_KEY_BASE;
        out->store = rest;
        out->item = rest;
        out->ilen = rlen;
        return rlen ? PC_OK : PC_EFORMAT;
    case PC_KEY_STORE: {
        const char *sep = rlen ? memchr(rest, 0, rlen) : NULL;
        if (!sep || sep == rest || sep + 1 == rest + rlen)
            return PC_EFORMAT;
        out->kind = PC_KEY_STORE;
        out->store = rest;
        out->slen = (size_t)(sep - rest);
        out->item = sep + 1;
        out->ilen = rlen - out->slen - 1;
        return PC_OK;
    }
    default:
        return PC_EFORMAT;
    }
}

int pc_slug_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > PC_CHAIN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void pc_fmt_init(pc_fmt_rec *rec)
{
    memset(rec, 0, sizeof *rec);
    memcpy(rec->magic, PC_FORMAT_MAGIC, sizeof rec->magic);
    rec->version = PC_FORMAT_VERSION;
}

int pc_fmt_check(const void *val, size_t len, uint32_t *version)
{
    pc_fmt_rec rec;
    if (!val || len < sizeof rec)
        return PC_EFORMAT;
    memcpy(&rec, val, sizeof rec);
    if (memcmp(rec.magic, PC_FORMAT_MAGIC, sizeof rec.magic) != 0)
        return PC_EFORMAT;
    if (rec.version < PC_FORMAT_VERSION_MIN || rec.version > PC_FORMAT_VERSION)
        return PC_EFORMAT;
    if (version)
        *version = rec.version;
    return PC_OK;
}

/* Records start with their own size; accept older (shorter) ones by
 * zero-filling and newer (longer) ones by ignoring the tail. */
static int sized_decode(const void *val, size_t len, void *out, size_t outsz)
{
    uint32_t size;
    if (!val || len < sizeof size)
        return PC_EFORMAT;
    memcpy(&size, val, sizeof size);
    if (size != len || size < 2 * sizeof(uint32_t))
        return PC_EFORMAT;
    memset(out, 0, outsz);
    memcpy(out, val, len < outsz ? len : outsz);
    return PC_OK;
}

int pc_meta_decode(const void *val, size_t len, pc_meta_rec *out)
{
    int rc = sized_decode(val, len, out, sizeof *out);
    if (rc == PC_OK)
        out->last_error[sizeof out->last_error - 1] = 0;
    return rc;
}

int pc_daemon_decode(const void *val, size_t len, pc_daemon_rec *out)
{
    return sized_decode(val, len, out, sizeof *out);
}

size_t pc_key_sources(uint8_t *buf)
{
    buf[0] = 0;
    buf[1] = 'R';
    return 2;
}

int pc_sources_decode(const void *val, size_t len, size_t i, pc_source_rec *out,
                      size_t *count, int64_t *updated_ms)
{
    pc_sources_rec h;
    uint32_t hsize;
    if (!val || len < sizeof hsize)
        return PC_EFORMAT;
    memcpy(&hsize, val, sizeof hsize);
    /* The header may grow too: at least the fields known here. */
    if (hsize < sizeof h || hsize > len)
        return PC_EFORMAT;
    memcpy(&h, val, sizeof h);
    if (h.count > PC_SOURCES_MAX || h.entry_size < 2 * sizeof(uint32_t) ||
        (size_t)h.count * h.entry_size != len - hsize)
        return PC_EFORMAT;
    if (count)
        *count = h.count;
    if (updated_ms)
        *updated_ms = h.updated_ms;
    if (i >= h.count)
        return PC_NOTFOUND;
    const uint8_t *e = (const uint8_t *)val + hsize + i * h.entry_size;
    memset(out, 0, sizeof *out);
    memcpy(out, e, h.entry_size < sizeof *out ? h.entry_size : sizeof *out);
    out->name[sizeof out->name - 1] = 0;
    out->where[sizeof out->where - 1] = 0;
    out->why[sizeof out->why - 1] = 0;
    return PC_OK;
}

int pc_err_from_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:        return PC_OK;
    case MDB_NOTFOUND:       return PC_NOTFOUND;
    case MDB_READERS_FULL:   return PC_EOVERLOADED;
    case MDB_MAP_FULL:       return PC_EMAPFULL;
    case ENOSPC:
    case EDQUOT:             return PC_EDISKFULL;
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
    case MDB_INCOMPATIBLE:   return PC_EFORMAT;
    case ENOMEM:             return PC_ENOMEM;
    case ENOENT:             return PC_ENOTREADY;
    case EINVAL:             return PC_EINVAL;
    default:                 return PC_EIO;
    }
}

const char *pc_reject_name(int reason)
{
    static const char *const names[] = {
#define PC_X_NAME(id, name) name,
        PC_REJECT_REASONS(PC_X_NAME)
#undef PC_X_NAME
    };
    return reason >= 0 && reason < PC_REJ__COUNT ? names[reason] : "unknown";
}

const char *pc_load_result_name(int result)
{
    static const char *const names[] = {
#define PC_X_NAME(id, name) name,
        PC_LOAD_RESULTS(PC_X_NAME)
#undef PC_X_NAME
    };
    return result >= 0 && result < PC_LOAD__COUNT ? names[result] : "unknown";
}

const char *pc_daemon_state_name(int state)
{
    static const char *const names[] = {
#define PC_X_NAME(id, name) name,
        PC_DAEMON_STATES(PC_X_NAME)
#undef PC_X_NAME
    };
    return state >= 0 && state < PC_DAEMON__COUNT ? names[state] : "unknown";
}

const char *pc_breaker_name(int state)
{
    switch (state) {
    case PC_BREAKER_CLOSED:    return "closed";
    case PC_BREAKER_OPEN:      return "open";
    case PC_BREAKER_HALF_OPEN: return "half-open";
    default:                   return "unknown";
    }
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pc_now_ms(void)  { return clock_ms(CLOCK_REALTIME); }
int64_t pc_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

const char *pc_db_state_name(int state)
{
    switch (state) {
    case PC_DB_UNKNOWN: return "unknown";
    case PC_DB_UP:      return "up";
    case PC_DB_DOWN:    return "down";
    default:            return "unknown";
    }
}

const char *pc_source_state_name(int state)
{
    static const char *const names[] = {
#define PC_X_NAME(id, name) name,
        PC_SOURCE_STATES(PC_X_NAME)
#undef PC_X_NAME
    };
    return state >= 0 && state < PC_SOURCE__COUNT ? names[state] : "unknown";
}
