/* statsload.c - a reader for the statistics fault scenario: looks ITEM up
 * in a loop until STOPFILE exists, checking every answer against CENTS.
 * Usage: statsload DIR CHAIN ITEM CENTS STOPFILE.  Prints "lookups=N bad=M"
 * and exits 0 when every lookup answered PC_OK with CENTS (a reader killed
 * by a signal - SIGBUS from a truncated mapping - never prints). */
#include <inttypes.h>
#include <pricecache.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: statsload DIR CHAIN ITEM CENTS STOPFILE\n");
        return 2;
    }
    pc_reader *r;
    int rc = pc_open(argv[1], &r);
    if (rc != PC_OK) {
        fprintf(stderr, "statsload: pc_open: %s\n", pc_strerror(rc));
        return 2;
    }
    long long want = strtoll(argv[4], NULL, 10);
    uint64_t n = 0, bad = 0;
    for (;;) {
        /* The stop file is looked at every 4096 lookups: it is a syscall. */
        if ((n & 4095) == 0 && access(argv[5], F_OK) == 0)
            break;
        pc_price p;
        rc = pc_get(r, argv[2], "", argv[3], &p);
        n++;
        if (rc != PC_OK || p.cents != want) {
            if (bad++ < 5)
                fprintf(stderr, "statsload: lookup %" PRIu64 ": %s, %lld cents\n", n,
                        pc_strerror(rc), rc == PC_OK ? (long long)p.cents : -1LL);
        }
    }
    pc_close(r);
    printf("lookups=%" PRIu64 " bad=%" PRIu64 "\n", n, bad);
    return bad ? 1 : 0;
}
