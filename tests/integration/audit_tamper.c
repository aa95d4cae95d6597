/* audit_tamper.c - alter one audit record in a cache directory, as an intruder with write access would (scenario t_audit).
 *   audit_tamper DIR SEQ TEXT     the text changes, the stored hash stays
 *   audit_tamper DIR SEQ --reseal the record's hash is recomputed over its
 *                                 (altered) text, as a smarter intruder would
 *   audit_tamper DIR SEQ --delete the record is removed (t_contract_ops_audit) */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: audit_tamper DIR SEQ TEXT|--reseal|--delete\n");
        return 2;
    }
    uint64_t seq = strtoull(argv[2], NULL, 10);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    if (!rc)
        rc = mdb_env_set_mapsize(env, 0);
    if (!rc)
        rc = mdb_env_open(env, argv[1], 0, 0640);
    if (!rc)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc) {
        fprintf(stderr, "audit_tamper: %s: %s\n", argv[1], mdb_strerror(rc));
        return 1;
    }
    uint8_t kb[16];
    MDB_val k = { pc_key_audit(kb, seq), kb }, v;
    pc_audit_rec rec;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc || pc_audit_decode(seq, v.mv_data, v.mv_size, &rec) != PC_OK) {
        fprintf(stderr, "audit_tamper: no audit record %s\n", argv[2]);
        return 1;
    }
    if (strcmp(argv[3], "--delete") == 0) {
        rc = mdb_del(txn, dbi, &k, NULL);
        if (!rc)
            rc = mdb_txn_commit(txn);
        mdb_env_close(env);
        if (rc)
            fprintf(stderr, "audit_tamper: %s\n", mdb_strerror(rc));
        return rc ? 1 : 0;
    }
    if (strcmp(argv[3], "--reseal") == 0) {
        pc_audit_seal(&rec);
    } else {
        rec.len = strlen(argv[3]) < PC_AUDIT_TEXT_MAX ? strlen(argv[3]) : PC_AUDIT_TEXT_MAX;
        memcpy(rec.text, argv[3], rec.len);
    }
    uint8_t buf[4 + 2 * PC_AUDIT_HASH + PC_AUDIT_TEXT_MAX];
    MDB_val nv = { pc_audit_encode(&rec, buf, sizeof buf), buf };
    rc = mdb_put(txn, dbi, &k, &nv, 0);
    if (!rc)
        rc = mdb_txn_commit(txn);
    mdb_env_close(env);
    if (rc) {
        fprintf(stderr, "audit_tamper: %s\n", mdb_strerror(rc));
        return 1;
    }
    return 0;
}
