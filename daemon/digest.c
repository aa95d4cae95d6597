/* digest.c - the keyed hash of one row, for a chain's order-independent digest (digest.h). */
#include "digest.h"

/* Owns: the process's digest key.  May call: nothing of the daemon's. */

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

static uint64_t seed[6];
static int keyed;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void seed_init(void)
{
    keyed = getrandom(seed, sizeof seed, 0) == (ssize_t)sizeof seed;
}

int pcd_digest_keyed(void)
{
    pthread_once(&seed_once, seed_init);
    return keyed;
}

/* The folded 128-bit product: wyhash's mixing step, two lanes of it
 * with keys of their own, independent and run side by side. */
static inline uint64_t mum(uint64_t x, uint64_t y)
{
    __extension__ unsigned __int128 r = (unsigned __int128)x * y;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t word(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

pcd_digest pcd_digest_row(const uint8_t *key, size_t klen, const pc_price_rec *val)
{
    pthread_once(&seed_once, seed_init);
    uint64_t a = seed[0] ^ klen, b = seed[1] ^ klen;
    size_t i = 0;
    for (; i + 8 <= klen; i += 8) {
        uint64_t w = word(key + i);
        a = mum(w ^ seed[2], a ^ seed[3]);
        b = mum(w ^ seed[4], b ^ seed[5]);
    }
    if (i < klen) {
        /* The tail, zero-padded: the length went in first, so "ab" and
         * "ab\0" differ. */
        uint8_t t[8] = { 0 };
        memcpy(t, key + i, klen - i);
        uint64_t w = word(t);
        a = mum(w ^ seed[2], a ^ seed[3]);
        b = mum(w ^ seed[4], b ^ seed[5]);
    }
    uint64_t c = (uint64_t)val->cents, u = (uint64_t)val->updated_at;
    a = mum(c ^ seed[3], a ^ seed[2]);
    b = mum(c ^ seed[5], b ^ seed[4]);
    a = mum(u ^ seed[2], a ^ seed[0]);
    b = mum(u ^ seed[4], b ^ seed[1]);
    return (pcd_digest){ mum(a, seed[0] ^ seed[5]), mum(b, seed[1] ^ seed[3]) };
}
