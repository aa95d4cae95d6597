/* slowsub.c - a subscriber that is deliberately too slow: it must be told to resync, and never believe stale data fresh.
 *
 *   slowsub DIR ADDR SLOW_MS DELAY_MS NCHAINS
 *
 * Follows every chain's events through the public API (pc_sub_*).  For
 * SLOW_MS it sleeps DELAY_MS after each event, so that the bus drops
 * events for it; then it keeps up.  Per chain it holds the version it
 * believes current: taken from LMDB on first sight and on every resync,
 * raised by publish events.  After every event it checks that LMDB has at
 * least the event's version (the daemon sends only after the commit) and
 * reads a price of the chain.
 *
 * SIGUSR1 says "the writer has stopped": from then on, once every chain
 * has sent a heartbeat stamped after that moment, each believed version
 * must equal LMDB's - a missed publish that was never repaired by a
 * resync would show here.  The final check waits for NCHAINS chains.  Prints
 *   "events=N publishes=P resyncs=R chains=C lookups=L"
 * and exits 0; 1 on a violation (with the reason on stderr), 2 on usage
 * or setup errors, 3 when the final check could not complete in 30 s.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pricecache.h"

typedef struct belief {
    char     chain[PC_CHAIN_MAX + 1];
    uint64_t version;
    int64_t  last_beat_ms;  /* ts of the last heartbeat seen */
} belief;

static belief *chains;
static size_t nchains, cap;
static volatile sig_atomic_t writer_done;

static void on_usr1(int sig)
{
    (void)sig;
    writer_done = 1;
}

static int64_t now_ms(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static belief *find(const char *chain, int *fresh)
{
    *fresh = 0;
    for (size_t i = 0; i < nchains; i++)
        if (strcmp(chains[i].chain, chain) == 0)
            return &chains[i];
    if (nchains == cap) {
        cap = cap ? cap * 2 : 256;
        chains = realloc(chains, cap * sizeof *chains);
        if (!chains) {
            fprintf(stderr, "slowsub: out of memory\n");
            exit(2);
        }
    }
    belief *b = &chains[nchains++];
    memset(b, 0, sizeof *b);
    snprintf(b->chain, sizeof b->chain, "%s", chain);
    *fresh = 1;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: slowsub DIR ADDR SLOW_MS DELAY_MS NCHAINS\n");
        return 2;
    }
    long slow_ms = atol(argv[3]), delay_ms = atol(argv[4]);
    size_t want = (size_t)atol(argv[5]);
    pc_reader *r;
    pc_sub *s;
    int rc = pc_open(argv[1], &r);
    if (rc != PC_OK) {
        fprintf(stderr, "slowsub: open %s: %s\n", argv[1], pc_strerror(rc));
        return 2;
    }
    if ((rc = pc_sub_open(argv[2], NULL, 0, &s)) != PC_OK) {
        fprintf(stderr, "slowsub: subscribe %s: %s\n", argv[2], pc_strerror(rc));
        return 2;
    }
    signal(SIGUSR1, on_usr1);
    int64_t t0 = now_ms(CLOCK_MONOTONIC), done_at = 0;
    uint64_t events = 0, publishes = 0, resyncs = 0, lookups = 0;
    for (;;) {
        if (writer_done && !done_at)
            done_at = now_ms(CLOCK_REALTIME);
        if (done_at) {
            size_t caught = 0;
            for (size_t i = 0; i < nchains; i++)
                caught += chains[i].last_beat_ms > done_at;
            if (nchains >= want && caught == nchains)
                break;
            if (now_ms(CLOCK_REALTIME) - done_at > 30000) {
                fprintf(stderr, "slowsub: %zu of %zu chains sent no heartbeat in 30 s\n",
                        want > caught ? want - caught : nchains - caught,
                        want > nchains ? want : nchains);
                return 3;
            }
        }
        pc_event e;
        rc = pc_sub_next(s, 200, &e);
        if (rc == PC_ETIMEDOUT || rc == PC_EFORMAT)
            continue;
        if (rc != PC_OK) {
            fprintf(stderr, "slowsub: next: %s\n", pc_strerror(rc));
            return 2;
        }
        events++;
        if (!e.chain[0])
            continue;
        int fresh;
        belief *b = find(e.chain, &fresh);
        pc_chain_meta m;
        rc = pc_chain_info(r, e.chain, &m);
        if (rc != PC_OK && !(rc == PC_ENOCHAIN && e.kind == PC_EV_REMOVED)) {
            fprintf(stderr, "slowsub: chain %s after a %s event: %s\n", e.chain,
                    pc_event_kind_name(e.kind), pc_strerror(rc));
            return 1;
        }
        if (rc == PC_OK && m.version < e.version) {
            fprintf(stderr, "slowsub: chain %s: %s event of version %" PRIu64
                    " but LMDB has %" PRIu64 "\n", e.chain, pc_event_kind_name(e.kind),
                    e.version, m.version);
            return 1;
        }
        if (fresh || e.kind == PC_EV_RESYNC) {
            /* The truth, not the event: the metadata as it is now. */
            b->version = m.version;
            resyncs += e.kind == PC_EV_RESYNC;
        } else if (e.kind == PC_EV_PUBLISH && e.version > b->version) {
            b->version = e.version;
        }
        publishes += e.kind == PC_EV_PUBLISH;
        if (e.kind == PC_EV_HEARTBEAT)
            b->last_beat_ms = e.ts_ms;
        pc_price p;
        rc = pc_get(r, e.chain, NULL, "i1", &p);
        if (rc != PC_OK && rc != PC_NOTFOUND) {
            fprintf(stderr, "slowsub: get %s i1: %s\n", e.chain, pc_strerror(rc));
            return 1;
        }
        lookups++;
        if (now_ms(CLOCK_MONOTONIC) - t0 < slow_ms) {
            struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000 };
            nanosleep(&ts, NULL);
        }
    }
    /* Every chain has sent a heartbeat after the writer stopped, and
     * heartbeats reveal any publish we missed: beliefs must be current. */
    int bad = 0;
    for (size_t i = 0; i < nchains; i++) {
        pc_chain_meta m;
        if (pc_chain_info(r, chains[i].chain, &m) == PC_OK && m.version != chains[i].version) {
            fprintf(stderr, "slowsub: chain %s: believes version %" PRIu64 ", LMDB has %" PRIu64
                    "\n", chains[i].chain, chains[i].version, m.version);
            bad = 1;
        }
    }
    printf("events=%" PRIu64 " publishes=%" PRIu64 " resyncs=%" PRIu64 " chains=%zu lookups=%"
           PRIu64 "\n", events, publishes, resyncs, nchains, lookups);
    free(chains);
    pc_sub_close(s);
    pc_close(r);
    return bad;
}
