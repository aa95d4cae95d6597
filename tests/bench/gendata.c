/* gendata.c - realistic price data for the benchmarks, as COPY text on stdout.
 *
 *   gendata base  CHAIN NBASE SEED           chain_slug item_id price_cents updated_at
 *   gendata store CHAIN NBASE NSTORE NSHOPS SEED
 *
 * Item ids are shaped like CUID2 (24 characters, lowercase base36, first a
 * letter), prices roughly log-normal, updated_at spread over a year.  The
 * same SEED gives the same ids in both modes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double unit(void)
{
    return (double)(next() >> 11) / 9007199254740992.0;
}

/* The id of item k: a hash of (seed, k), so both modes agree. */
static void item_id(char *out, uint64_t seed, uint64_t k)
{
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint64_t h = seed * 0x9e3779b97f4a7c15ull + k * 0xbf58476d1ce4e5b9ull + 1;
    out[0] = (char)('a' + (h % 26));
    for (int i = 1; i < 24; i++) {
        h ^= h >> 31;
        h *= 0x94d049bb133111ebull;
        h ^= h >> 29;
        out[i] = b36[h % 36];
    }
    out[24] = 0;
}

static long long price(void)
{
    double g = sqrt(-2.0 * log(unit() + 1e-12)) * cos(2 * M_PI * unit());
    long long c = (long long)exp(6.0 + 1.1 * g);
    return c < 1 ? 1 : c;
}

/* An updated_at in the last year, as COPY text accepts it. */
static const char *stamp(void)
{
    static char buf[40];
    time_t t = (time_t)(1732000000LL + (long long)(unit() * 31536000.0));
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+00", &tm);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "base") == 0) {
        uint64_t n = strtoull(argv[3], NULL, 10), seed = strtoull(argv[4], NULL, 10);
        rng = seed * 2654435761u + 7;
        char id[32];
        for (uint64_t k = 0; k < n; k++) {
            item_id(id, seed, k);
            printf("%s\t%s\t%lld\t%s\n", argv[2], id, price(), stamp());
        }
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "store") == 0) {
        uint64_t nbase = strtoull(argv[3], NULL, 10), n = strtoull(argv[4], NULL, 10);
        uint64_t shops = strtoull(argv[5], NULL, 10), seed = strtoull(argv[6], NULL, 10);
        rng = seed * 40503u + 11;
        char id[32];
        /* i -> (i * P mod nbase, i mod shops): distinct pairs, P prime. */
        const uint64_t P = 1000003;
        for (uint64_t i = 0; i < n; i++) {
            item_id(id, seed, (i * P) % nbase);
            printf("%s\tst%05llu\t%s\t%lld\t%s\n", argv[2], (unsigned long long)(i % shops), id,
                   price(), stamp());
        }
        return 0;
    }
    fprintf(stderr, "usage: gendata base CHAIN NBASE SEED | store CHAIN NBASE NSTORE NSHOPS SEED\n");
    return 2;
}
