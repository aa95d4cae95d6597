/* audit.c - the audit log's record format and SHA-256 hash chain, shared by the daemon (writer) and the CLI (verify). */
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "pc_format.h"

#define AUDIT_MAGIC "PCA1"
#define AUDIT_HEAD (4 + 2 * PC_AUDIT_HASH)

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

size_t pc_key_audit_prefix(uint8_t *buf)
{
    buf[0] = 0;
    buf[1] = 'A';
    return 2;
}

size_t pc_key_audit(uint8_t *buf, uint64_t seq)
{
    size_t n = pc_key_audit_prefix(buf);
    put_be64(buf + n, seq);
    return n + 8;
}

uint64_t pc_audit_key_seq(const void *key, size_t len)
{
    const uint8_t *k = key;
    if (len != 10 || k[0] != 0 || k[1] != 'A')
        return 0;
    uint64_t v = 0;
    for (int i = 2; i < 10; i++)
        v = v << 8 | k[i];
    return v;
}

static void audit_hash(const pc_audit_rec *rec, uint8_t out[PC_AUDIT_HASH])
{
    struct sha256_ctx ctx;
    uint8_t seq[8];
    put_be64(seq, rec->seq);
    sha256_init(&ctx);
    sha256_update(&ctx, sizeof seq, seq);
    sha256_update(&ctx, PC_AUDIT_HASH, rec->prev);
    sha256_update(&ctx, rec->len, (const uint8_t *)rec->text);
    sha256_digest(&ctx, PC_AUDIT_HASH, out);
}

void pc_audit_seal(pc_audit_rec *rec)
{
    audit_hash(rec, rec->hash);
}

size_t pc_audit_encode(const pc_audit_rec *rec, uint8_t *buf, size_t cap)
{
    if (rec->len > PC_AUDIT_TEXT_MAX || cap < AUDIT_HEAD + rec->len)
        return 0;
    memcpy(buf, AUDIT_MAGIC, 4);
    memcpy(buf + 4, rec->prev, PC_AUDIT_HASH);
    memcpy(buf + 4 + PC_AUDIT_HASH, rec->hash, PC_AUDIT_HASH);
    memcpy(buf + AUDIT_HEAD, rec->text, rec->len);
    return AUDIT_HEAD + rec->len;
}

int pc_audit_decode(uint64_t seq, const void *val, size_t len, pc_audit_rec *out)
{
    const uint8_t *v = val;
    if (len < AUDIT_HEAD || len > AUDIT_HEAD + PC_AUDIT_TEXT_MAX || memcmp(v, AUDIT_MAGIC, 4) != 0)
        return PC_EFORMAT;
    out->seq = seq;
    memcpy(out->prev, v + 4, PC_AUDIT_HASH);
    memcpy(out->hash, v + 4 + PC_AUDIT_HASH, PC_AUDIT_HASH);
    out->len = len - AUDIT_HEAD;
    memcpy(out->text, v + AUDIT_HEAD, out->len);
    out->text[out->len] = 0;
    return PC_OK;
}

int pc_audit_check(const pc_audit_rec *rec, uint64_t want_seq, const uint8_t *prev_hash,
                   char *why, size_t len)
{
    static const uint8_t zero[PC_AUDIT_HASH];
    if (rec->seq != want_seq) {
        snprintf(why, len, "sequence %llu where %llu was due (a record is missing)",
                 (unsigned long long)rec->seq, (unsigned long long)want_seq);
        return PC_EFORMAT;
    }
    if (memcmp(rec->prev, prev_hash ? prev_hash : zero, PC_AUDIT_HASH) != 0) {
        snprintf(why, len, "its link to the previous record does not match that record's hash");
        return PC_EFORMAT;
    }
    uint8_t h[PC_AUDIT_HASH];
    audit_hash(rec, h);
    if (memcmp(h, rec->hash, PC_AUDIT_HASH) != 0) {
        snprintf(why, len, "its content does not match its hash (altered)");
        return PC_EFORMAT;
    }
    return PC_OK;
}
