/* pcformat.c - the cache's format as the upgrade tests need it: what a format 1 release wrote, and whether each chain has its lookup table.
 *
 *   pcformat v1 DIR      make DIR what the previous release (format 1) wrote:
 *                        remove every chain's lookup table, set the format
 *                        record to 1 (format 1's records are format 2's
 *                        others, unchanged: pc_format.h)
 *   pcformat show DIR    print "format N" and a line "table CHAIN ENTRIES"
 *                        or "notable CHAIN" per chain
 *
 * Raw LMDB with the private layout; the daemon must be stopped for v1 (one
 * writer).  Exit 0, or 1 with the reason on stderr.
 */
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "pc_format.h"
#include "pc_table.h"

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pcformat: %s: %s\n", what, mdb_strerror(rc));
    return 1;
}

/* Delete every key that begins with prefix. */
static int del_prefix(MDB_txn *txn, MDB_dbi dbi, const uint8_t *p, size_t plen, size_t *n)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    MDB_val k = { plen, (void *)p }, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, p, plen) == 0) {
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        (*n)++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "v1") != 0 && strcmp(argv[1], "show") != 0)) {
        fprintf(stderr, "usage: pcformat v1|show DIR\n");
        return 2;
    }
    int wr = strcmp(argv[1], "v1") == 0;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    if (!rc)
        rc = mdb_env_set_maxreaders(env, 4096);
    if (!rc)
        rc = mdb_env_open(env, argv[2], wr ? 0 : MDB_RDONLY, 0660);
    if (!rc)
        rc = mdb_txn_begin(env, NULL, wr ? 0 : MDB_RDONLY, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc)
        return fail(argv[2], rc);
    uint8_t kb[PC_KEY_MAX];
    MDB_val k = { pc_key_fmt(kb), kb }, v;
    uint32_t version = 0;
    if ((rc = mdb_get(txn, dbi, &k, &v)) != 0)
        return fail("format record", rc);
    if (pc_fmt_check(v.mv_data, v.mv_size, &version) != PC_OK) {
        fprintf(stderr, "pcformat: %s: not a pricecache format this tool knows\n", argv[2]);
        return 1;
    }
    if (wr) {
        uint8_t p[2] = { 0, 'T' };
        size_t n = 0;
        if ((rc = del_prefix(txn, dbi, p, sizeof p, &n)) != 0)
            return fail("removing the tables", rc);
        pc_fmt_rec fr;
        pc_fmt_init(&fr);
        fr.version = 1;
        v.mv_size = sizeof fr;
        v.mv_data = &fr;
        if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0 || (rc = mdb_txn_commit(txn)) != 0)
            return fail("writing format 1", rc);
        printf("format 1 (%zu table records removed)\n", n);
        mdb_env_close(env);
        return 0;
    }
    printf("format %u\n", version);
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
        return fail("cursor", rc);
    size_t plen = pc_key_meta_prefix(kb);
    uint8_t prefix[2];
    memcpy(prefix, kb, plen);
    k = (MDB_val){ plen, kb };
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size > plen && memcmp(k.mv_data, prefix, plen) == 0) {
        char chain[PC_CHAIN_MAX + 1];
        size_t clen = k.mv_size - plen;
        if (clen > PC_CHAIN_MAX)
            clen = PC_CHAIN_MAX;
        memcpy(chain, (const uint8_t *)k.mv_data + plen, clen);
        chain[clen] = 0;
        uint8_t hk[PC_KEY_MAX];
        MDB_val h = { pc_key_tab_hdr(hk, chain, clen), hk }, hv;
        pc_tab_hdr hdr;
        const uint8_t *gens;
        if (mdb_get(txn, dbi, &h, &hv) == 0 &&
            pc_tab_hdr_check(hv.mv_data, hv.mv_size, &hdr, &gens) == PC_OK)
            printf("table %s %llu\n", chain, (unsigned long long)hdr.entries);
        else
            printf("notable %s\n", chain);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}
