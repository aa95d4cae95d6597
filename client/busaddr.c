/* busaddr.c - which bus address a tool uses: the one it was given, the environment, what the daemon announced, the default (pc_bus_resolve). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errdetail.h"
#include "pricecache.h"

/* Longest address the daemon announces (its [bus] values are checked
 * against nanomsg's own limit, 128 bytes; room to spare). */
#define ANNOUNCED_MAX 1024

static int put(char *out, size_t cap, const char *addr, int *source, int src)
{
    size_t len = strlen(addr);
    if (len >= cap)
        return PC_EINVAL;
    memcpy(out, addr, len + 1);
    if (source)
        *source = src;
    return PC_OK;
}

/* Step 3: what the daemon of `path` announced.  PC_OK with a non-empty
 * address, PC_NOTFOUND when it announced none of this kind, or the error
 * of opening or reading the cache. */
static int announced(const char *path, int which, char *addr, size_t cap)
{
    pc_reader *r = NULL;
    int rc = pc_open(path, &r);
    if (rc == PC_OK) {
        rc = which == PC_BUS_EVENTS ? pc_bus_addrs(r, addr, cap, NULL, 0)
                                    : pc_bus_addrs(r, NULL, 0, addr, cap);
        if (rc == PC_OK && !*addr)
            rc = PC_NOTFOUND;
    }
    pc_close(r);
    return rc;
}

int pc_bus_resolve(const char *path, int which, const char *given, unsigned flags,
                   char *out, size_t cap, int *source)
{
    if (!out || cap == 0 || (which != PC_BUS_EVENTS && which != PC_BUS_CONTROL) ||
        (flags & ~PC_BUS_NO_DEFAULT))
        return pc_api_return(PC_EINVAL);
    out[0] = '\0';
    if (given && *given)
        return pc_api_return(put(out, cap, given, source, PC_ADDR_GIVEN));
    const char *env = getenv(which == PC_BUS_EVENTS ? "PRICECACHE_EVENTS" : "PRICECACHE_CONTROL");
    if (env && *env)
        return pc_api_return(put(out, cap, env, source, PC_ADDR_ENV));
    int rc = PC_NOTFOUND;
    if (path) {
        char addr[ANNOUNCED_MAX];
        rc = announced(path, which, addr, sizeof addr);
        if (rc == PC_OK)
            return pc_api_return(put(out, cap, addr, source, PC_ADDR_ANNOUNCED));
    }
    /* pc_open's or pc_bus_addrs's failure, its detail settled by them
     * (errdetail.h): settling it again would drop it. */
    if (flags & PC_BUS_NO_DEFAULT)
        return rc;
    return pc_api_return(put(out, cap,
                             which == PC_BUS_EVENTS ? PC_BUS_DEFAULT_EVENTS : PC_BUS_DEFAULT_CONTROL,
                             source, PC_ADDR_DEFAULT));
}
