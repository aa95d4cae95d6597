/* unsynced.c - the marker of a cache whose last commits may not be on disk (private-layout/pc_format.h): the boot id, and whether a cache may be read. */
#include "pc_format.h"

/* Owns: reading the marker and the boot id.  The daemon writes the marker
 * (daemon/durable.c); the library and the daemon both judge it here, so
 * that they cannot disagree on what an unclean stop means. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pricecache.h"

static size_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return (size_t)-1;
    ssize_t n;
    do
        n = read(fd, buf, cap - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return (size_t)-1;
    buf[n] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
    return strlen(buf);
}

void pc_boot_id(char *out)
{
    if (read_small("/proc/sys/kernel/random/boot_id", out, PC_BOOT_ID_MAX) == (size_t)-1)
        out[0] = 0;
}

int pc_unsynced_check(const char *dir, char *why, size_t len)
{
    char path[4200], mark[PC_BOOT_ID_MAX], boot[PC_BOOT_ID_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/" PC_UNSYNCED_FILE, dir) >= sizeof path)
        return PC_EINVAL;
    if (read_small(path, mark, sizeof mark) == (size_t)-1)
        return PC_OK; /* absent (a clean stop, or no daemon yet) */
    pc_boot_id(boot);
    if (!boot[0] || strcmp(mark, boot) == 0)
        return PC_OK;
    if (why)
        snprintf(why, len, "cache %s: pricecached was writing it when the system went down "
                 "(boot %s); its last commits may be half on disk, and it is rebuilt from "
                 "the database when pricecached starts", dir, mark[0] ? mark : "?");
    return PC_ENOTREADY;
}
