/* stats.c - `pricecache stats`: the readers' shared lookup statistics, as KEY: VALUE lines. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pricecache.h"

int pc_cli_stats(const char *dir, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return -1;
    pc_stats st;
    int rc = pc_stats_read(dir, &st);
    if (rc != PC_OK) {
        /* PC_EFORMAT's own text speaks of the cache; here it is stats/. */
        fprintf(stderr, "pricecache: stats %s: %s%s\n", dir, pc_strerror(rc),
                rc == PC_ENOTREADY ? " (no statistics directory: the daemon has not run yet)"
                : rc == PC_EFORMAT ? " (stats/ is not a statistics directory of this version, "
                                     "or its totals are not the daemon's: the daemon makes "
                                     "them right when it starts)" : "");
        return rc == PC_ENOTREADY ? 4 : rc == PC_EINVAL ? 2 : 5;
    }
    uint64_t total = st.hits + st.misses + st.errors;
    printf("lookups: %" PRIu64 "\nhits: %" PRIu64 "\nmisses: %" PRIu64 "\nerrors: %" PRIu64 "\n",
           total, st.hits, st.misses, st.errors);
    printf("hit_ratio: %.4f\n", total ? (double)st.hits / (double)total : 0.0);
    printf("processes: %" PRIu32 "\nslots: %" PRIu32 "\n", st.processes, st.slots);
    /* Bucket i counts sampled lookups under 2^(i+7) ns; the last, the rest. */
    uint64_t sampled = 0;
    for (int i = 0; i < PC_STATS_BUCKETS; i++)
        sampled += st.latency[i];
    printf("latency_sampled: %" PRIu64 "\n", sampled);
    for (int i = 0; i < PC_STATS_BUCKETS - 1; i++)
        printf("latency_lt_%" PRIu64 "ns: %" PRIu64 "\n", (uint64_t)1 << (i + 7), st.latency[i]);
    printf("latency_ge_%" PRIu64 "ns: %" PRIu64 "\n", (uint64_t)1 << (PC_STATS_BUCKETS + 5),
           st.latency[PC_STATS_BUCKETS - 1]);
    return 0;
}
