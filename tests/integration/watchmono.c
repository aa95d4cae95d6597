/* watchmono.c - a reader that must never see time go backwards while the daemon applies changes.
 *
 *   watchmono DIR CHAIN ITEM STOPFILE
 *
 * Polls, until STOPFILE exists: the chain's version (pc_chain_info) must
 * never decrease; the base price of ITEM — which one writer only ever
 * raises, one commit at a time — must never decrease either: a change
 * applied out of order, or an older value republished after a newer one,
 * shows as a step down.  Prints "polls=N versions=V last=CENTS" and exits 1
 * on the first step back (naming it), 2 on a usage or open error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pricecache.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: watchmono DIR CHAIN ITEM STOPFILE\n");
        return 2;
    }
    pc_reader *r;
    int rc = pc_open(argv[1], &r);
    if (rc != PC_OK) {
        fprintf(stderr, "watchmono: %s: %s\n", argv[1], pc_strerror(rc));
        return 2;
    }
    uint64_t polls = 0, versions = 0, last_v = 0;
    int64_t last_c = INT64_MIN;
    int bad = 0;
    while (access(argv[4], F_OK) != 0) {
        pc_chain_meta m;
        pc_price p;
        if (pc_chain_info(r, argv[2], &m) == PC_OK) {
            if (m.version < last_v) {
                fprintf(stderr, "watchmono: version went back from %" PRIu64 " to %" PRIu64 "\n",
                        last_v, m.version);
                bad = 1;
                break;
            }
            versions += m.version != last_v;
            last_v = m.version;
        }
        rc = pc_get(r, argv[2], NULL, argv[3], &p);
        if (rc == PC_OK) {
            if (p.cents < last_c) {
                fprintf(stderr, "watchmono: %s went back from %" PRId64 " to %" PRId64 "\n", argv[3],
                        last_c, p.cents);
                bad = 1;
                break;
            }
            last_c = p.cents;
        } else if (rc != PC_NOTFOUND && rc != PC_ENOCHAIN) {
            fprintf(stderr, "watchmono: pc_get: %s\n", pc_strerror(rc));
            bad = 1;
            break;
        }
        polls++;
        struct timespec nap = { 0, 200000 };
        nanosleep(&nap, NULL);
    }
    printf("polls=%" PRIu64 " versions=%" PRIu64 " last=%" PRId64 "\n", polls, versions, last_c);
    pc_close(r);
    return bad;
}
