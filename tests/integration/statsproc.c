/* statsproc.c - a client process for the statistics scenarios: opens the
 * reader (taking its statistics slot), waits until GOFILE exists, so that
 * many of them hold their slots at once, then makes N lookups of ITEM.
 * Usage: statsproc DIR CHAIN ITEM N GOFILE; exit 0 when every lookup
 * answered PC_OK. */
#include <pricecache.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: statsproc DIR CHAIN ITEM N GOFILE\n");
        return 2;
    }
    pc_reader *r;
    int rc = pc_open(argv[1], &r);
    if (rc != PC_OK) {
        fprintf(stderr, "statsproc: pc_open: %s\n", pc_strerror(rc));
        return 1;
    }
    struct timespec nap = { 0, 20 * 1000 * 1000 };
    for (int i = 0; i < 3000 && access(argv[5], F_OK) != 0; i++)
        nanosleep(&nap, NULL);
    long n = strtol(argv[4], NULL, 10), bad = 0;
    for (long i = 0; i < n; i++) {
        pc_price p;
        if (pc_get(r, argv[2], "", argv[3], &p) != PC_OK)
            bad++;
    }
    pc_close(r);
    if (bad)
        fprintf(stderr, "statsproc: %ld lookups failed\n", bad);
    return bad ? 1 : 0;
}
