/* fuzz_config.c - libFuzzer target: the daemon's configuration parser (daemon/config.c) on any file contents; every input is accepted or refused with a message, nothing leaks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "pricecache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* pcd_config_load reads a file by name: an in-memory file, reached by
     * its /proc path, costs no disk write per input. */
    int fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    pcd_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[1024];
    err[0] = 0;
    int rc = pcd_config_load(&cfg, path, err, sizeof err);
    /* A refusal always says what was wrong. */
    if (rc != PC_OK && err[0] == 0)
        abort();
    pcd_config_free(&cfg);
    close(fd);
    return 0;
}
