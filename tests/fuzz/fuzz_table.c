/* fuzz_table.c - libFuzzer target: a lookup table's segment and header (pc_table.h) as a reader meets them, any bytes: the checks refuse what would send a probe or a walk outside the value, and what they accept is probed and walked without a read past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes: ASan then catches any read past it. */
    uint8_t *v = malloc(size ? size : 1);
    if (!v)
        return 0;
    memcpy(v, data, size);
    pc_tab_segv sv;
    if (pc_tab_seg_check(v, size, &sv) == PC_OK) {
        /* Every entry the walk returns, and a few others, probed. */
        uint32_t pos = 0;
        pc_tab_ent e;
        int n = 0;
        while (n++ < 100000 && pc_tab_seg_next(&sv, &pos, &e) == PC_OK) {
            if (e.klen < 2 || (const uint8_t *)e.key + e.klen > v + size)
                abort();
            const char *k = (const char *)e.key;
            /* A damaged slot may hide an entry (not found): never a crash. */
            if (k[0] == PC_KEY_BASE) {
                (void)pc_tab_probe(&sv, e.h, PC_KEY_BASE, NULL, 0, k + 1, e.klen - 1);
            } else {
                size_t slen = strnlen(k + 1, e.klen - 1);
                (void)pc_tab_probe(&sv, e.h, PC_KEY_STORE, k + 1, slen, k + 2 + slen,
                                   e.klen - 2 - slen);
            }
        }
        static const char *items[] = { "a", "item-1", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" };
        for (size_t i = 0; i < 3; i++) {
            size_t il = strlen(items[i]);
            uint64_t ih = pc_tab_hash(items[i], il);
            (void)pc_tab_probe(&sv, ih, PC_KEY_BASE, NULL, 0, items[i], il);
            (void)pc_tab_probe(&sv, pc_tab_mix(ih, pc_tab_hash("s1", 2)), PC_KEY_STORE, "s1", 2,
                               items[i], il);
        }
    }
    pc_tab_hdr h;
    const uint8_t *gens;
    if (pc_tab_hdr_check(v, size, &h, &gens) == PC_OK) {
        size_t nseg = (size_t)1 << h.segbits;
        if (gens + nseg * 8 > v + size)
            abort();
        volatile uint64_t sum = 0;
        for (uint32_t s = 0; s < nseg; s++)
            sum += pc_tab_gen(gens, s);
        (void)sum;
    }
    free(v);
    return 0;
}
