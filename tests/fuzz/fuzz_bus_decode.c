/* fuzz_bus_decode.c - libFuzzer target: pc_bus_decode on any bytes; what decodes must encode back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes: ASan then catches any read past it. */
    uint8_t *msg = malloc(size ? size : 1);
    if (!msg)
        return 0;
    memcpy(msg, data, size);
    pc_event ev;
    if (pc_bus_decode(msg, size, &ev) == PC_OK) {
        /* The wire format is canonical: one message per event. */
        uint8_t buf[PC_BUS_MSG_MAX];
        size_t n = pc_bus_encode(&ev, buf, sizeof buf);
        if (n != size || memcmp(buf, msg, size) != 0)
            abort();
        if (strlen(ev.chain) > PC_CHAIN_MAX || strlen(ev.text) > PC_BUS_TEXT_MAX ||
            ev.kind < 0 || ev.kind >= PC_EV__COUNT)
            abort();
    }
    free(msg);
    return 0;
}
