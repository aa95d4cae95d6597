/* bus.c - the bus message codec (pc_bus.h): one encoder, one decoder, for every program. */
#include "pc_bus.h"

#include <string.h>

const char *pc_event_kind_name(int kind)
{
    static const char *const names[] = {
#define PC_X_NAME(id, name) name,
        PC_EVENT_KINDS(PC_X_NAME)
#undef PC_X_NAME
    };
    return kind >= 0 && kind < PC_EV__COUNT ? names[kind] : "unknown";
}

static size_t put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return (size_t)n;
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

size_t pc_bus_encode(const pc_event *ev, uint8_t *buf, size_t cap)
{
    size_t clen = strnlen(ev->chain, PC_CHAIN_MAX + 1);
    size_t tlen = strnlen(ev->text, PC_BUS_TEXT_MAX);
    if (ev->kind < 0 || ev->kind >= PC_EV__COUNT || (clen && !pc_slug_valid(ev->chain, clen)))
        return 0;
    const char *topic = clen ? ev->chain : "*";
    size_t tl = clen ? clen : 1;
    size_t need = tl + 1 + 4 + 8 * 4 + 4 + 2 + tlen;
    if (need > cap)
        return 0;
    size_t o = 0;
    memcpy(buf, topic, tl);
    o += tl;
    buf[o++] = 0;
    buf[o++] = 'P';
    buf[o++] = 'C';
    buf[o++] = PC_BUS_VERSION;
    buf[o++] = (uint8_t)ev->kind;
    o += put_le(buf + o, ev->seq, 8);
    o += put_le(buf + o, ev->run, 8);
    o += put_le(buf + o, (uint64_t)ev->ts_ms, 8);
    o += put_le(buf + o, ev->version, 8);
    o += put_le(buf + o, ev->value, 4);
    o += put_le(buf + o, tlen, 2);
    memcpy(buf + o, ev->text, tlen);
    return o + tlen;
}

int pc_bus_decode(const void *msg, size_t len, pc_event *out)
{
    const uint8_t *m = msg;
    const uint8_t *nul = len ? memchr(m, 0, len < PC_CHAIN_MAX + 1 ? len : PC_CHAIN_MAX + 1) : NULL;
    if (!nul || nul == m)
        return PC_EFORMAT;
    size_t tl = (size_t)(nul - m);
    size_t o = tl + 1;
    if (len - o < 4 + 8 * 4 + 4 + 2)
        return PC_EFORMAT;
    if (m[o] != 'P' || m[o + 1] != 'C' || m[o + 2] != PC_BUS_VERSION || m[o + 3] >= PC_EV__COUNT)
        return PC_EFORMAT;
    memset(out, 0, sizeof *out);
    if (!(tl == 1 && m[0] == '*')) {
        if (!pc_slug_valid((const char *)m, tl))
            return PC_EFORMAT;
        memcpy(out->chain, m, tl);
    }
    out->kind = m[o + 3];
    o += 4;
    out->seq = get_le(m + o, 8);
    out->run = get_le(m + o + 8, 8);
    out->ts_ms = (int64_t)get_le(m + o + 16, 8);
    out->version = get_le(m + o + 24, 8);
    out->value = (uint32_t)get_le(m + o + 32, 4);
    size_t tlen = (size_t)get_le(m + o + 36, 2);
    o += 38;
    if (tlen > PC_BUS_TEXT_MAX || len - o != tlen)
        return PC_EFORMAT;
    memcpy(out->text, m + o, tlen);
    out->text[tlen] = 0;
    if (memchr(out->text, 0, tlen))
        return PC_EFORMAT;
    return PC_OK;
}
