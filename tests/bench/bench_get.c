/* bench_get.c - pc_get beside a raw LMDB loop doing the same reads and an in-process hash table of the same rows, on the same keys, in one run.
 *
 *   bench_get DIR CHAIN [LOOKUPS]
 *
 * The keys are issue 15's mix: 80% ask a store for an item it has no
 * exception for (the base price through a store), 10% hit a store's
 * exception, 10% ask for an item the chain does not have.
 *
 * Three ways to answer each key:
 * - pc_get, the library;
 * - raw: what the library does at its core on today's layout (renew, get
 *   the store key, the base key on a miss, the chain's record on a second
 *   miss, reset) without argument checks, key building or the per-thread
 *   slot; pc_get / raw is the library's overhead;
 * - hash: the chain's rows in an open-addressing hash table in this
 *   process (bench_hash.h: exceptions, then base, keys compared in full);
 *   pc_get / hash is issue 15's goal (<= 2x random keys, <= 3x hot set).
 * Every answer is checked against the hash table's once before timing, and
 * its kind (found or not) during it.  Rounds rotate the order so that
 * machine noise hits all; medians reported.
 *
 * A second table times prototypes of other layouts of the same rows, built
 * in scratch environments (bench_proto.h), beside the hash table and
 * pc_get on the same keys: what a format change would buy (issue 15).
 *
 * A third table puts pc_get counting its lookups (statistics files)
 * beside pc_get with them off (a reader opened under PRICECACHE_STATS=0):
 * the cost of the statistics.
 *
 * BENCH_GET_PROFILE=MODE[,hot] (a name of mode_name below): run that one
 * loop for LOOKUPS x 20 lookups and print its time, nothing else (for perf
 * record).  BENCH_GET_BREAKDOWN=1: only the parts of pc_get's time (renew
 * and reset alone, each probe alone, argument checks, key building, raw
 * with and without the library's comparator) beside the prototypes. */
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_hash.h"
#include "bench_keys.h"
#include "bench_proto.h"

typedef struct lookup {
    char store[PC_ID_MAX + 1];
    char item[PC_ID_MAX + 1];
    uint8_t skey[PC_KEY_MAX], bkey[PC_KEY_MAX];
    size_t sklen, bklen;
    int64_t cents; /* expected; want_ok 0: not found */
    int want_ok;
} lookup;

static const char *chain;
static size_t clen;
static lookup *lk;
static size_t nlk;
static bh_chain hc;

static double cpu_ns(void) { return bk_clock_ns(CLOCK_THREAD_CPUTIME_ID); }

static pc_reader *reader, *reader_nostats, *reader_btree;
static MDB_env *env, *env_cmp; /* env_cmp: searched with pc_key_cmp */
static MDB_dbi dbi;
static uint8_t metakey[PC_KEY_MAX];
static size_t metaklen;
static volatile int64_t sink;

enum { MODE_PC, MODE_RAW, MODE_HASH, MODE_PC_NOSTATS,
       /* the breakdown's parts (BENCH_GET_BREAKDOWN) */
       MODE_TXN, MODE_EXC, MODE_BASE, MODE_KEYS, MODE_ARGS, MODE_RAWCMP,
       /* the prototype layout (bench_proto.h), ~1 and ~8 items a bucket */
       MODE_PROTO1, MODE_PROTO8,
       /* today's layout written in key order, without and with per-store summaries */
       MODE_PACKED, MODE_SUMMARY,
       /* pc_get with PRICECACHE_TABLES=0: the B-tree, format 1's lookups */
       MODE_PC_BTREE, NMODES };
static const char *const mode_name[NMODES] = { "pc_get", "raw_mdb", "hash", "pc_nostats",
                                               "txn", "exc", "base", "keys", "args", "raw+cmp",
                                               "proto1", "proto8", "packed", "summary",
                                               "pc_btree" };
static int proto_bad[NMODES];
/* proto1, proto8, today's layout packed + summaries.  (The prototype of
 * the chain's hash table as LMDB values is pc_get itself now.) */
enum { NPROTO = 3 };
static bp_db proto[NPROTO];

typedef struct job {
    int mode;
    size_t from, count;
    double ns, cpu_ns;  /* wall and this thread's CPU time */
    size_t errors;
} job;

/* Today's layout read straight: store key, base key, chain record. */
static int raw_get(MDB_txn *txn, const lookup *l, int64_t *cents)
{
    MDB_val k = { l->sklen, (void *)l->skey }, v;
    mdb_txn_renew(txn);
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        k.mv_size = l->bklen;
        k.mv_data = (void *)l->bkey;
        rc = mdb_get(txn, dbi, &k, &v);
    }
    if (rc == 0) {
        pc_price_rec pr;
        memcpy(&pr, v.mv_data, sizeof pr);
        *cents = pr.cents;
    } else {
        MDB_val mk = { metaklen, metakey };
        rc = mdb_get(txn, dbi, &mk, &v) == 0 ? MDB_NOTFOUND : -1;
    }
    mdb_txn_reset(txn);
    return rc == 0 ? PC_OK : rc == MDB_NOTFOUND ? PC_NOTFOUND : PC_EIO;
}

/* The breakdown's parts, each a piece of what pc_get does. */
static int part(int mode, MDB_txn *txn, const lookup *l, int64_t *cents)
{
    MDB_val k = { l->sklen, (void *)l->skey }, v;
    int rc = 0;
    switch (mode) {
    case MODE_RAWCMP: /* raw_mdb with the library's comparator */
        return raw_get(txn, l, cents);
    case MODE_TXN: /* renew and reset alone */
        mdb_txn_renew(txn);
        *cents = (int64_t)mdb_txn_id(txn);
        mdb_txn_reset(txn);
        return l->want_ok ? PC_OK : PC_NOTFOUND;
    case MODE_EXC: /* the exception probe alone */
    case MODE_BASE: /* the base probe alone */
        if (mode == MODE_BASE) {
            k.mv_size = l->bklen;
            k.mv_data = (void *)l->bkey;
        }
        mdb_txn_renew(txn);
        rc = mdb_get(txn, dbi, &k, &v);
        *cents = rc == 0 ? (int64_t)v.mv_size : 0;
        mdb_txn_reset(txn);
        return l->want_ok ? PC_OK : PC_NOTFOUND;
    case MODE_KEYS: { /* pc_get's argument checks and both keys, no read */
        uint8_t sk[PC_KEY_MAX], bk[PC_KEY_MAX];
        size_t sl = strnlen(l->store, PC_ID_MAX + 1), il = strnlen(l->item, PC_ID_MAX + 1);
        size_t cl = strnlen(chain, PC_CHAIN_MAX + 1);
        rc = pc_slug_valid(chain, cl);
        size_t a = pc_key_store(sk, chain, cl, l->store, sl, l->item, il);
        size_t b = pc_key_base(bk, chain, cl, l->item, il);
        *cents = sk[a - 1] + bk[b - 1] + rc;
        return l->want_ok ? PC_OK : PC_NOTFOUND;
    }
    default: { /* MODE_ARGS: the argument checks alone */
        size_t sl = strnlen(l->store, PC_ID_MAX + 1), il = strnlen(l->item, PC_ID_MAX + 1);
        size_t cl = strnlen(chain, PC_CHAIN_MAX + 1);
        *cents = (int64_t)(sl + il) + pc_slug_valid(chain, cl);
        return l->want_ok ? PC_OK : PC_NOTFOUND;
    }
    }
}

static int one(int mode, MDB_txn *txn, const lookup *l, int64_t *cents)
{
    pc_price p;
    uint32_t fl;
    int rc;
    if (mode == MODE_PC_BTREE) {
        rc = pc_get(reader_btree, chain, l->store, l->item, &p);
        if (rc == PC_OK)
            *cents = p.cents;
        return rc;
    }
    if (mode >= MODE_PACKED)
        return bp_get_today(&proto[2], txn, mode == MODE_SUMMARY, chain, clen, l->store, l->item,
                            cents, &fl);
    if (mode >= MODE_PROTO1)
        return bp_get(&proto[mode - MODE_PROTO1], txn, l->store, l->item, cents, &fl);
    if (mode >= MODE_TXN)
        return part(mode, txn, l, cents);
    switch (mode) {
    case MODE_RAW:
        return raw_get(txn, l, cents);
    case MODE_HASH:
        return bh_get(&hc, l->store, l->item, cents, &fl);
    default:
        rc = pc_get(mode == MODE_PC ? reader : reader_nostats, chain, l->store, l->item, &p);
        if (rc == PC_OK)
            *cents = p.cents;
        return rc;
    }
}

static void *run_job(void *arg)
{
    job *j = arg;
    MDB_txn *txn = NULL;
    MDB_env *e = j->mode >= MODE_PACKED ? proto[2].env
                 : j->mode >= MODE_PROTO1 ? proto[j->mode - MODE_PROTO1].env
                 : j->mode == MODE_RAWCMP ? env_cmp : env;
    if ((j->mode == MODE_RAW || (j->mode >= MODE_TXN && j->mode != MODE_PC_BTREE)) &&
        mdb_txn_begin(e, NULL, MDB_RDONLY, &txn) == 0)
        mdb_txn_reset(txn);
    double t0 = bk_now_ns(), c0 = cpu_ns();
    for (size_t i = 0; i < j->count; i++) {
        const lookup *l = &lk[(j->from + i) % nlk];
        int64_t c = 0;
        int rc = one(j->mode, txn, l, &c);
        if (rc == PC_OK)
            sink += c;
        j->errors += (rc == PC_OK) != l->want_ok || (rc != PC_OK && rc != PC_NOTFOUND);
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
static double measure(int mode, int threads, size_t per, size_t offset)
{
    pthread_t t[8];
    job j[8];
    for (int i = 0; i < threads; i++) {
        j[i] = (job){ mode, offset + (size_t)i * per, per, 0, 0, 0 };
        pthread_create(&t[i], NULL, run_job, &j[i]);
    }
    double worst = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (j[i].errors) {
            fprintf(stderr, "bench_get: %s: %zu answers of the wrong kind\n", mode_name[mode],
                    j[i].errors);
            if (mode < MODE_PROTO1) /* a prototype's failure is reported, not fatal */
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

/* Medians over `rounds` of each of n modes, the order rotated per round. */
static void medians(const int *modes, int n, int threads, size_t per, int rounds, double *med)
{
    double t[NMODES][32];
    for (int r = 0; r < rounds; r++) {
        size_t off = (size_t)r * 7919;
        for (int k = 0; k < n; k++) {
            int m = (r + k) % n;
            t[m][r] = measure(modes[m], threads, per, off);
        }
    }
    for (int m = 0; m < n; m++) {
        qsort(t[m], (size_t)rounds, sizeof t[m][0], cmp_d);
        med[m] = t[m][rounds / 2];
    }
}

static void compare4(const char *label, int threads, size_t per, int rounds)
{
    static const int modes[4] = { MODE_PC, MODE_PC_BTREE, MODE_RAW, MODE_HASH };
    double m[4];
    medians(modes, 4, threads, per, rounds, m);
    printf("%-34s %9.0f %9.0f %9.0f %9.0f %8.2fx %8.2fx %7.2fx\n", label, m[0], m[1], m[2], m[3],
           m[0] / m[3], m[1] / m[3], m[0] / m[2]);
    fflush(stdout);
}

/* The prototype layouts beside the hash table and pc_get, same keys. */
static void compare_proto(const char *label, int threads, size_t per, int rounds)
{
    static const int modes[6] = { MODE_PROTO1, MODE_PROTO8, MODE_PACKED, MODE_SUMMARY,
                                  MODE_HASH, MODE_PC };
    double m[6];
    medians(modes, 6, threads, per, rounds, m);
    printf("%-34s %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f %6.2fx %6.2fx %6.2fx %6.2fx\n", label,
           m[0], m[1], m[2], m[3], m[4], m[5], m[0] / m[4], m[1] / m[4], m[3] / m[4],
           m[5] / m[4]);
    fflush(stdout);
}

static void compare2(const char *label, int ma, int mb, int threads, size_t per, int rounds)
{
    const int modes[2] = { ma, mb };
    double m[2];
    medians(modes, 2, threads, per, rounds, m);
    printf("%-34s %9.0f %9.0f %7.2fx\n", label, m[0], m[1], m[0] / m[1]);
    fflush(stdout);
}

/* ---- the chain's rows, the hash table, the keys ------------------------ */

typedef struct rows {
    char (*items)[PC_ID_MAX + 1];
    size_t nitems, icap;
    bk_lookup *pairs;
    size_t npairs, pcap;
    int full; /* an arena ran out */
} rows;

static int on_row(void *ctx, const pc_key_view *k, const pc_price_rec *v)
{
    rows *c = ctx;
    if (k->kind == PC_KEY_BASE) {
        if (bk_grow((void **)&c->items, &c->icap, c->nitems, sizeof *c->items))
            return PC_ENOMEM;
        memcpy(c->items[c->nitems], k->item, k->ilen);
        c->items[c->nitems++][k->ilen] = 0;
        c->full |= bh_put(&hc.base, k->item, k->ilen, v->cents, v->updated_at);
    } else {
        if (bk_grow((void **)&c->pairs, &c->pcap, c->npairs, sizeof *c->pairs))
            return PC_ENOMEM;
        bk_lookup *l = &c->pairs[c->npairs++];
        char kb[2 * PC_ID_MAX + 2];
        memcpy(l->store, k->store, k->slen);
        l->store[k->slen] = 0;
        memcpy(l->item, k->item, k->ilen);
        l->item[k->ilen] = 0;
        memcpy(kb, k->store, k->slen);
        kb[k->slen] = 0;
        memcpy(kb + k->slen + 1, k->item, k->ilen);
        c->full |= bh_put(&hc.store, kb, k->slen + 1 + k->ilen, v->cents, v->updated_at);
    }
    return 0;
}

/* An id shaped like the chain's (CUID2-like) that it does not have. */
static void absent_id(char *out)
{
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    do {
        out[0] = (char)('a' + bk_rnd() % 26);
        for (int i = 1; i < 24; i++)
            out[i] = b36[bk_rnd() % 36];
        out[24] = 0;
    } while (bh_find(&hc.base, out, 24));
}

/* The same rows in the prototype layout, two bucket sizes. */
static int build_proto(const rows *c)
{
    size_t n = c->nitems + c->npairs;
    bp_row *r = calloc(n, sizeof *r);
    if (!r)
        return 1;
    unsigned bits = 0;
    while (((size_t)1 << bits) < c->nitems)
        bits++;
    for (int v = 0; v < 2; v++) {
        unsigned shift = 64 - (v ? bits - 3 : bits);
        size_t k = 0;
        for (size_t i = 0; i < c->nitems; i++, k++) {
            const char *it = c->items[i];
            size_t il = strlen(it);
            const bh_slot *hs = bh_find(&hc.base, it, il);
            r[k] = (bp_row){ bh_hash(it, il) >> shift, "", it, 0, (uint8_t)il, hs->cents,
                             hs->updated_at };
        }
        for (size_t i = 0; i < c->npairs; i++, k++) {
            const bk_lookup *p = &c->pairs[i];
            char kb[2 * PC_ID_MAX + 2];
            size_t sl = strlen(p->store), il = strlen(p->item);
            memcpy(kb, p->store, sl + 1);
            memcpy(kb + sl + 1, p->item, il);
            const bh_slot *hs = bh_find(&hc.store, kb, sl + 1 + il);
            r[k] = (bp_row){ bh_hash(p->item, il) >> shift, p->store, p->item, (uint8_t)sl,
                             (uint8_t)il, hs->cents, hs->updated_at };
        }
        if (bp_build(&proto[v], r, n, shift))
            return 1;
    }
    if (bp_build_today(&proto[2], r, n, chain, clen))
        return 1;
    free(r);
    return 0;
}

static int load(const char *dir)
{
    pc_chain_meta meta;
    int rc = pc_chain_info(reader, chain, &meta);
    if (rc != PC_OK) {
        fprintf(stderr, "bench_get: chain %s: %s\n", chain, pc_strerror(rc));
        return 1;
    }
    if (bh_init(&hc.base, meta.base_rows, PC_ID_MAX / 2) ||
        bh_init(&hc.store, meta.store_rows, PC_ID_MAX))
        return 1;
    rows c = { 0 };
    rc = pc_reader_scan(reader, chain, on_row, &c);
    if (rc != PC_OK || !c.nitems || !c.npairs || c.full) {
        fprintf(stderr, "bench_get: chain %s: %s\n", chain,
                rc != PC_OK ? pc_strerror(rc) : c.full ? "ids longer than expected"
                                                       : "has no base or no store keys");
        return 1;
    }
    if (!(lk = calloc(nlk, sizeof *lk)))
        return 1;
    size_t kinds[3] = { 0 };
    for (size_t i = 0; i < nlk; i++) {
        lookup *l = &lk[i];
        unsigned d = (unsigned)(bk_rnd() % 10);
        const bk_lookup *p = &c.pairs[bk_rnd() % c.npairs];
        strcpy(l->store, p->store);
        if (d == 0)
            strcpy(l->item, p->item);
        else if (d == 1)
            absent_id(l->item);
        else
            strcpy(l->item, c.items[bk_rnd() % c.nitems]);
        uint32_t fl = 0;
        l->want_ok = bh_get(&hc, l->store, l->item, &l->cents, &fl) == PC_OK;
        kinds[!l->want_ok ? 2 : fl ? 1 : 0]++;
        l->sklen = pc_key_store(l->skey, chain, clen, l->store, strlen(l->store), l->item,
                                strlen(l->item));
        l->bklen = pc_key_base(l->bkey, chain, clen, l->item, strlen(l->item));
    }
    printf("%zu base items, %zu store exceptions; keys: %.1f%% base through a store, %.1f%% "
           "exception, %.1f%% miss\n", c.nitems, c.npairs, 100.0 * (double)kinds[0] / (double)nlk,
           100.0 * (double)kinds[1] / (double)nlk, 100.0 * (double)kinds[2] / (double)nlk);
    if (build_proto(&c))
        return 1;
    free(c.items);
    free(c.pairs);

    mdb_env_create(&env);
    mdb_env_set_maxreaders(env, 4096);
    if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD, 0) != 0)
        return 1;
    MDB_txn *txn;
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    mdb_dbi_open(txn, NULL, 0, &dbi);
    mdb_txn_abort(txn);
    /* A third handle on the files (as the raw one, only for measuring;
     * the library shares one per process), searching with pc_key_cmp. */
    mdb_env_create(&env_cmp);
    mdb_env_set_maxreaders(env_cmp, 4096);
    if (mdb_env_open(env_cmp, dir, MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD, 0) != 0)
        return 1;
    MDB_dbi d2;
    mdb_txn_begin(env_cmp, NULL, MDB_RDONLY, &txn);
    mdb_dbi_open(txn, NULL, 0, &d2);
    mdb_set_compare(txn, d2, pc_key_cmp);
    mdb_txn_abort(txn);
    metaklen = pc_key_meta(metakey, chain, clen);

    /* Every way answers every key as the hash table does. */
    MDB_txn *ptxn[NPROTO];
    for (int v = 0; v < NPROTO; v++) {
        mdb_txn_begin(proto[v].env, NULL, MDB_RDONLY, &ptxn[v]);
        mdb_txn_reset(ptxn[v]);
    }
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    mdb_txn_reset(txn);
    static const int check[] = { MODE_PC, MODE_RAW, MODE_PROTO1, MODE_PROTO8, MODE_PACKED,
                                 MODE_SUMMARY };
    for (size_t i = 0; i < nlk; i++) {
        for (int ci = 0; ci < 6; ci++) {
            int m = check[ci];
            int64_t cents = 0;
            MDB_txn *t = m >= MODE_PACKED ? ptxn[2]
                         : m >= MODE_PROTO1 ? ptxn[m - MODE_PROTO1] : txn;
            int got = one(m, t, &lk[i], &cents);
            if ((got != (lk[i].want_ok ? PC_OK : PC_NOTFOUND) ||
                 (got == PC_OK && cents != lk[i].cents)) && !proto_bad[m]) {
                fprintf(stderr, "bench_get: %s %s/%s: %d %lld, hash table says %lld\n",
                        mode_name[m], lk[i].store, lk[i].item, got, (long long)cents,
                        lk[i].want_ok ? (long long)lk[i].cents : -1LL);
                if (m < MODE_PROTO1)
                    return 1;
                proto_bad[m] = 1; /* reported once, timed anyway */
            }
        }
    }
    mdb_txn_abort(txn);
    for (int v = 0; v < NPROTO; v++)
        mdb_txn_abort(ptxn[v]);
    return 0;
}

/* Where pc_get's time goes, part by part, 1 thread, same keys. */
static void breakdown(size_t per)
{
    static const int modes[] = { MODE_PC, MODE_PC_NOSTATS, MODE_RAW, MODE_RAWCMP, MODE_TXN, MODE_EXC,
                                 MODE_BASE, MODE_KEYS, MODE_ARGS, MODE_HASH, MODE_PROTO1,
                                 MODE_PROTO8, MODE_PACKED, MODE_SUMMARY };
    enum { N = sizeof modes / sizeof modes[0] };
    size_t full = nlk;
    for (int hot = 0; hot < 2; hot++) {
        double m[N];
        nlk = hot ? 1000 : full;
        medians(modes, N, 1, per, 5, m);
        printf("breakdown, %s, 1 thread (ns/lookup, median of 5):\n", hot ? "hot set" : "random keys");
        for (int i = 0; i < N; i++)
            printf("  %-10s %7.0f\n", mode_name[modes[i]], m[i]);
    }
    nlk = full;
}

static void profile(const char *what, size_t per)
{
    int mode = MODE_PC;
    for (int m = 0; m < NMODES; m++)
        if (strncmp(what, mode_name[m], strlen(mode_name[m])) == 0)
            mode = m;
    if (strstr(what, ",hot"))
        nlk = 1000;
    double ns = measure(mode, 1, per * 20, 0);
    printf("profile %s: %.0f ns/lookup over %zu lookups\n", what, ns, per * 20);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_get DIR CHAIN [LOOKUPS]\n");
        return 2;
    }
    chain = argv[2];
    clen = strlen(chain);
    size_t per = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
    if (pc_open(argv[1], &reader) != PC_OK) {
        fprintf(stderr, "bench_get: cannot open %s\n", argv[1]);
        return 1;
    }
    nlk = 2000000;
    if (load(argv[1]))
        return 1;
    if (getenv("BENCH_GET_BREAKDOWN")) {
        setenv("PRICECACHE_STATS", "0", 1);
        if (pc_open(argv[1], &reader_nostats) != PC_OK)
            return 1;
        unsetenv("PRICECACHE_STATS");
        breakdown(per);
        for (int v = 0; v < NPROTO; v++)
            bp_destroy(&proto[v]);
        return 0;
    }
    const char *prof = getenv("BENCH_GET_PROFILE");
    if (prof && *prof) {
        profile(prof, per);
        for (int v = 0; v < NPROTO; v++)
            bp_destroy(&proto[v]);
        return 0;
    }

    /* The old layout's figure, from the same cache: pc_get walking the
     * B-tree as format 1 did (PRICECACHE_TABLES=0). */
    setenv("PRICECACHE_TABLES", "0", 1);
    if (pc_open(argv[1], &reader_btree) != PC_OK) {
        fprintf(stderr, "bench_get: cannot open %s\n", argv[1]);
        return 1;
    }
    unsetenv("PRICECACHE_TABLES");
    printf("%zu lookups per thread per round, median of 5 rounds; pc_get: through the "
           "chain's lookup table (format 2); pc_btree: pc_get with PRICECACHE_TABLES=0, the "
           "B-tree walks of format 1; raw_mdb: format 1's two mdb_get\n", per);
    printf("%-34s %9s %9s %9s %9s %9s %9s %8s\n", "lookup (ns/lookup)", "pc_get", "pc_btree",
           "raw_mdb", "hash", "pc/hash", "btree/hash", "pc/raw");
    measure(MODE_PC, 1, per / 4, 0); /* warm the page cache */
    measure(MODE_PC_BTREE, 1, per / 4, 0);
    compare4("random keys, 1 thread", 1, per, 5);
    compare4("random keys, 2 threads", 2, per, 5);
    size_t full = nlk;
    nlk = 1000; /* a hot set that fits in the CPU caches */
    compare4("hot set (1,000 keys), 1 thread", 1, per, 5);
    compare4("hot set (1,000 keys), 2 threads", 2, per, 5);

    printf("\nprototype layouts, bench-only (bench_proto.h; scratch environments, same rows, "
           "same keys): proto1/proto8: one 8-byte key per item-hash bucket holding the base "
           "price and every exception, ~1 or ~8 items a bucket (%zu / %zu buckets, depth "
           "%zu / %zu); packed: today's keys written in key order (depth %zu, %zu leaf pages); "
           "summary: packed plus a Bloom filter of each store's exception items (%zu stores); "
           "pc_get: through the chain's lookup table, the layout these led to\n",
           proto[0].buckets, proto[1].buckets, proto[0].depth, proto[1].depth, proto[2].depth,
           proto[2].leaf_pages, proto[2].buckets);
    printf("%-34s %8s %8s %8s %8s %8s %8s %7s %7s %7s %7s\n", "lookup (ns/lookup)", "proto1",
           "proto8", "packed", "summary", "hash", "pc_get", "p1/hash", "p8/hash", "sum/hash",
           "pc/hash");
    nlk = full;
    compare_proto("random keys, 1 thread", 1, per, 5);
    compare_proto("random keys, 2 threads", 2, per, 5);
    nlk = 1000;
    compare_proto("hot set (1,000 keys), 1 thread", 1, per, 5);
    compare_proto("hot set (1,000 keys), 2 threads", 2, per, 5);

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
    bh_free(&hc.base);
    bh_free(&hc.store);
    for (int v = 0; v < NPROTO; v++)
        bp_destroy(&proto[v]);
    mdb_env_close(env_cmp);
    mdb_env_close(env);
    pc_close(reader_btree);
    pc_close(reader);
    return 0;
}
