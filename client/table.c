/* table.c - encoding and checking of the chains' lookup tables (pc_table.h), shared by the daemon that writes them and the library that reads them. */
#include "pc_table.h"

#include <string.h>

size_t pc_key_tab_hdr(uint8_t *buf, const char *chain, size_t clen)
{
    buf[0] = 0;
    buf[1] = 'T';
    memcpy(buf + 2, chain, clen);
    return 2 + clen;
}

size_t pc_key_tab_seg_prefix(uint8_t *buf, const char *chain, size_t clen)
{
    size_t n = pc_key_tab_hdr(buf, chain, clen);
    buf[n] = 0;
    return n + 1;
}

size_t pc_key_tab_seg(uint8_t *buf, const char *chain, size_t clen, uint32_t seg)
{
    size_t n = pc_key_tab_seg_prefix(buf, chain, clen);
    /* Big-endian, so a chain's segments sort in number order. */
    buf[n] = (uint8_t)(seg >> 24);
    buf[n + 1] = (uint8_t)(seg >> 16);
    buf[n + 2] = (uint8_t)(seg >> 8);
    buf[n + 3] = (uint8_t)seg;
    return n + 4;
}

int pc_tab_hdr_check(const void *val, size_t len, pc_tab_hdr *out, const uint8_t **gens)
{
    if (!val || len < sizeof *out)
        return PC_EFORMAT;
    memcpy(out, val, sizeof *out);
    if (out->magic != PC_TAB_HDR_MAGIC || out->size < sizeof *out || out->size > len ||
        out->segbits > PC_TAB_SEGBITS_MAX ||
        (len - out->size) / sizeof(uint64_t) < ((size_t)1 << out->segbits))
        return PC_EFORMAT;
    /* The generations follow the header at its written size. */
    *gens = (const uint8_t *)val + out->size;
    return PC_OK;
}

int pc_tab_seg_check(const void *val, size_t len, pc_tab_segv *out)
{
    pc_tab_seg h;
    if (!val || len < sizeof h)
        return PC_EFORMAT;
    memcpy(&h, val, sizeof h);
    if (h.magic != PC_TAB_SEG_MAGIC || h.slotbits < 2 || h.slotbits > 24)
        return PC_EFORMAT;
    size_t start = sizeof h + (sizeof(pc_tab_slot) << h.slotbits);
    if (h.bytes < start || h.bytes > len || (uint64_t)h.count * 4 > (3ull << h.slotbits))
        return PC_EFORMAT;
    out->p = val;
    out->mask = (1u << h.slotbits) - 1;
    out->bytes = h.bytes;
    return PC_OK;
}

int pc_tab_ent_hash(pc_tab_ent *e)
{
    const uint8_t *k = e->key;
    if (e->klen < 2)
        return PC_EFORMAT;
    if (k[0] == PC_KEY_BASE) {
        e->ih = pc_tab_hash(k + 1, e->klen - 1);
        e->h = e->ih;
        return PC_OK;
    }
    if (k[0] != PC_KEY_STORE)
        return PC_EFORMAT;
    const uint8_t *nul = memchr(k + 1, 0, e->klen - 1);
    if (!nul || nul == k + 1 || nul == k + e->klen - 1)
        return PC_EFORMAT;
    size_t slen = (size_t)(nul - (k + 1));
    e->ih = pc_tab_hash(nul + 1, e->klen - 2 - slen);
    e->h = pc_tab_mix(e->ih, pc_tab_hash(k + 1, slen));
    return PC_OK;
}

size_t pc_tab_min_bytes(size_t psize)
{
    /* LMDB moves a value to overflow pages when its node would exceed
     * (psize - 16) / 2 bytes; half a page is always beyond that. */
    return psize / 2;
}

/* At most 3/4 full: linear probing then looks at ~3 slots for a miss, all
 * in one or two cache lines, and the slots stay a quarter of a segment. */
uint32_t pc_tab_slotbits_for(size_t n)
{
    uint32_t b = 2;
    while (((size_t)3 << b) < 4 * n)
        b++;
    return b;
}

size_t pc_tab_seg_size(const pc_tab_ent *ents, size_t n, size_t min_bytes)
{
    size_t bytes = sizeof(pc_tab_seg) + (sizeof(pc_tab_slot) << pc_tab_slotbits_for(n));
    for (size_t i = 0; i < n; i++)
        bytes += PC_TAB_ENT_FIXED + ents[i].klen;
    return bytes < min_bytes ? min_bytes : bytes;
}

void pc_tab_slot_put(uint8_t *seg, uint32_t mask, uint64_t h, uint32_t pos)
{
    uint8_t *slots = seg + sizeof(pc_tab_seg);
    uint32_t s = (uint32_t)h & mask;
    pc_tab_slot sl;
    for (;; s = (s + 1) & mask) {
        memcpy(&sl, slots + (size_t)s * sizeof sl, sizeof sl);
        if (!sl.off)
            break;
    }
    sl.tag = pc_tab_tag(h);
    sl.off = pos;
    memcpy(slots + (size_t)s * sizeof sl, &sl, sizeof sl);
}

size_t pc_tab_ent_put(uint8_t *seg, size_t pos, const pc_tab_ent *e)
{
    memcpy(seg + pos, &e->cents, 8);
    memcpy(seg + pos + 8, &e->updated_at, 8);
    uint16_t kl = (uint16_t)e->klen;
    memcpy(seg + pos + 16, &kl, sizeof kl);
    memcpy(seg + pos + PC_TAB_ENT_FIXED, e->key, e->klen);
    return pos + PC_TAB_ENT_FIXED + e->klen;
}

size_t pc_tab_seg_encode(uint8_t *out, const pc_tab_ent *ents, size_t n, size_t min_bytes)
{
    size_t total = pc_tab_seg_size(ents, n, min_bytes);
    memset(out, 0, total);
    uint32_t bits = pc_tab_slotbits_for(n), mask = (1u << bits) - 1;
    size_t pos = sizeof(pc_tab_seg) + (sizeof(pc_tab_slot) << bits);
    for (size_t i = 0; i < n; i++) {
        pc_tab_slot_put(out, mask, ents[i].h, (uint32_t)pos);
        pos = pc_tab_ent_put(out, pos, &ents[i]);
    }
    pc_tab_seg h = { PC_TAB_SEG_MAGIC, bits, (uint32_t)n, (uint32_t)pos };
    memcpy(out, &h, sizeof h);
    return total;
}

int pc_tab_seg_next(const pc_tab_segv *sv, uint32_t *pos, pc_tab_ent *e)
{
    if (*pos == 0)
        *pos = (uint32_t)(sizeof(pc_tab_seg) + sizeof(pc_tab_slot) * ((size_t)sv->mask + 1));
    if (*pos >= sv->bytes)
        return PC_NOTFOUND;
    if (sv->bytes - *pos < PC_TAB_ENT_FIXED)
        return PC_EFORMAT;
    const uint8_t *p = sv->p + *pos;
    uint16_t kl;
    memcpy(&kl, p + 16, sizeof kl);
    e->klen = kl;
    if (sv->bytes - *pos - PC_TAB_ENT_FIXED < e->klen)
        return PC_EFORMAT;
    memcpy(&e->cents, p, 8);
    memcpy(&e->updated_at, p + 8, 8);
    e->key = p + PC_TAB_ENT_FIXED;
    *pos += PC_TAB_ENT_FIXED + e->klen;
    return pc_tab_ent_hash(e);
}

uint32_t pc_tab_segbits_for(uint64_t n)
{
    uint32_t b = 0;
    while (b < PC_TAB_SEGBITS_MAX && ((uint64_t)PC_TAB_SEG_ENTRIES << b) < n)
        b++;
    return b;
}
