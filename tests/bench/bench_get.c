/* bench_get.c - pc_get beside a raw LMDB loop doing the same reads, on the same keys, in one run.
 *
 *   bench_get DIR CHAIN [LOOKUPS]
 *
 * The raw loop is what the library does at its core (renew, get the store
 * key, get the base key on a miss, reset) without argument checks, key
 * building or the per-thread slot; the ratio is the library's overhead.
 * Rounds alternate A/B so that machine noise hits both; medians reported.
 * A second table puts pc_get counting its lookups (statistics files)
 * beside pc_get with them off (a reader opened under PRICECACHE_STATS=0):
 * the cost of the statistics. */
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_keys.h"

typedef struct lookup {
    char store[PC_ID_MAX + 1];
    char item[PC_ID_MAX + 1];
    uint8_t skey[PC_KEY_MAX], bkey[PC_KEY_MAX];
    size_t sklen, bklen;
} lookup;

static const char *chain;
static lookup *lk;
static size_t nlk;

static double cpu_ns(void) { return bk_clock_ns(CLOCK_THREAD_CPUTIME_ID); }

static pc_reader *reader, *reader_nostats;
static MDB_env *env;
static MDB_dbi dbi;
static volatile int64_t sink;

enum { MODE_PC, MODE_RAW, MODE_PC_NOSTATS };

typedef struct job {
    int raw;  /* MODE_* */
    size_t from, count;
    double ns, cpu_ns;  /* wall and this thread's CPU time */
    int errors;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    MDB_txn *txn = NULL;
    if (j->raw == MODE_RAW && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0)
        mdb_txn_reset(txn);
    double t0 = bk_now_ns(), c0 = cpu_ns();
    for (size_t i = 0; i < j->count; i++) {
        const lookup *l = &lk[(j->from + i) % nlk];
        if (j->raw == MODE_RAW) {
            MDB_val k = { l->sklen, (void *)l->skey }, v;
            mdb_txn_renew(txn);
            int rc = mdb_get(txn, dbi, &k, &v);
            if (rc == MDB_NOTFOUND) {
                k.mv_size = l->bklen;
                k.mv_data = (void *)l->bkey;
                rc = mdb_get(txn, dbi, &k, &v);
            }
            if (rc == 0)
                sink += ((const pc_price_rec *)v.mv_data)->cents;
            else
                j->errors++;
            mdb_txn_reset(txn);
        } else {
            pc_price p;
            if (pc_get(j->raw == MODE_PC ? reader : reader_nostats, chain, l->store, l->item,
                       &p) == PC_OK)
                sink += p.cents;
            else
                j->errors++;
        }
    }
    j->ns = bk_now_ns() - t0;
    j->cpu_ns = cpu_ns() - c0;
    if (txn)
        mdb_txn_abort(txn);
    return NULL;
}

/* On a machine shared with other work, wall time also counts the time the
 * thread was descheduled; CPU time does not.  The statistics table, whose
 * differences are a few ns, uses CPU time. */
static int use_cpu;

/* ns per lookup with `threads` threads, each doing `per` lookups. */
static double measure(int raw, int threads, size_t per, size_t offset)
{
    pthread_t t[8];
    job j[8];
    for (int i = 0; i < threads; i++) {
        j[i] = (job){ raw, offset + (size_t)i * per, per, 0, 0, 0 };
        pthread_create(&t[i], NULL, run_job, &j[i]);
    }
    double worst = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (j[i].errors) {
            fprintf(stderr, "bench_get: %d failed lookups\n", j[i].errors);
            exit(1);
        }
        double ns = use_cpu ? j[i].cpu_ns : j[i].ns;
        if (ns > worst)
            worst = ns;
    }
    return worst / (double)per; /* per-thread latency; throughput = threads / this */
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void compare2(const char *label, int ma_mode, int mb_mode, int threads, size_t per,
                     int rounds)
{
    double a[32], b[32];
    for (int r = 0; r < rounds; r++) {
        size_t off = (size_t)r * 7919;
        if (r & 1) {
            b[r] = measure(mb_mode, threads, per, off);
            a[r] = measure(ma_mode, threads, per, off);
        } else {
            a[r] = measure(ma_mode, threads, per, off);
            b[r] = measure(mb_mode, threads, per, off);
        }
    }
    qsort(a, (size_t)rounds, sizeof *a, cmp_d);
    qsort(b, (size_t)rounds, sizeof *b, cmp_d);
    double ma = a[rounds / 2], mb = b[rounds / 2];
    printf("%-34s %9.0f %9.0f %7.2fx\n", label, ma, mb, ma / mb);
}

static void compare(const char *label, int threads, size_t per, int rounds)
{
    compare2(label, MODE_PC, MODE_RAW, threads, per, rounds);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_get DIR CHAIN [LOOKUPS]\n");
        return 2;
    }
    chain = argv[2];
    size_t per = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
    if (pc_open(argv[1], &reader) != PC_OK) {
        fprintf(stderr, "bench_get: cannot open %s\n", argv[1]);
        return 1;
    }
    nlk = 2000000;
    size_t nitems, npairs;
    bk_lookup *drawn = bk_draw("bench_get", reader, chain, nlk, &nitems, &npairs);
    if (!drawn || !(lk = calloc(nlk, sizeof *lk)))
        return 1;
    for (size_t i = 0; i < nlk; i++) {
        lookup *l = &lk[i];
        strcpy(l->store, drawn[i].store);
        strcpy(l->item, drawn[i].item);
        size_t clen = strlen(chain);
        l->sklen = pc_key_store(l->skey, chain, clen, l->store, strlen(l->store), l->item,
                                strlen(l->item));
        l->bklen = pc_key_base(l->bkey, chain, clen, l->item, strlen(l->item));
    }
    free(drawn);
    mdb_env_create(&env);
    mdb_env_set_maxreaders(env, 4096);
    if (mdb_env_open(env, argv[1], MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD, 0) != 0)
        return 1;
    MDB_txn *txn;
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    mdb_dbi_open(txn, NULL, 0, &dbi);
    mdb_txn_abort(txn);

    printf("%zu base items, %zu store exceptions; %zu lookups per thread per round, "
           "median of 5 rounds\n", nitems, npairs, per);
    printf("%-34s %9s %9s %8s\n", "lookup (ns/lookup)", "pc_get", "raw_mdb", "ratio");
    measure(0, 1, per / 4, 0); /* warm the page cache */
    compare("random keys, 1 thread", 1, per, 5);
    compare("random keys, 2 threads", 2, per, 5);
    size_t full = nlk;
    nlk = 1000; /* a hot set that fits in the CPU caches */
    compare("hot set (1,000 keys), 1 thread", 1, per, 5);
    compare("hot set (1,000 keys), 2 threads", 2, per, 5);

    /* The statistics' cost: the same pc_get loops, counting and not.  The
     * environment variable is read at pc_open, per reader. */
    setenv("PRICECACHE_STATS", "0", 1);
    if (pc_open(argv[1], &reader_nostats) != PC_OK) {
        fprintf(stderr, "bench_get: cannot open %s\n", argv[1]);
        return 1;
    }
    unsetenv("PRICECACHE_STATS");
    pc_stats st0, st1;
    int have_stats = pc_stats_read(argv[1], &st0) == PC_OK;
    printf("\nstatistics on vs off: CPU time per lookup, %zu lookups per round, median of 21 "
           "rounds\n", per / 4);
    printf("%-34s %9s %9s %8s\n", "lookup statistics (CPU ns/lookup)", "stats on", "off",
           "ratio");
    use_cpu = 1;
    compare2("hot set (1,000 keys), 1 thread", MODE_PC, MODE_PC_NOSTATS, 1, per / 4, 21);
    compare2("hot set (1,000 keys), 2 threads", MODE_PC, MODE_PC_NOSTATS, 2, per / 4, 21);
    nlk = full;
    compare2("random keys, 1 thread", MODE_PC, MODE_PC_NOSTATS, 1, per / 4, 21);
    use_cpu = 0;
    if (have_stats && pc_stats_read(argv[1], &st1) == PC_OK)
        printf("counted meanwhile: %llu hits, %llu misses, %llu errors (stats/, %u processes)\n",
               (unsigned long long)(st1.hits - st0.hits),
               (unsigned long long)(st1.misses - st0.misses),
               (unsigned long long)(st1.errors - st0.errors), st1.processes);
    else
        printf("no statistics directory (stats/): the \"on\" column did not count\n");
    pc_close(reader_nostats);
    free(lk);
    mdb_env_close(env);
    pc_close(reader);
    return 0;
}
