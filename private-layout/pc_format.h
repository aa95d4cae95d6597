/* pc_format.h - the on-disk layout of the LMDB environment, shared by the
 * daemon (writer) and libpricecache (reader).  Private: not installed,
 * symbols not exported from the shared library; programs (the CLI, the
 * console, the bindings) read these records through pricecache.h.
 *
 * One unnamed LMDB database holds everything; keys carry a prefix.  (Named
 * DBIs are looked up again in the main DB after every mdb_txn_renew, which
 * costs ~100 ns per lookup; prefixes do not.)
 *
 *   "\0F"                         format record      (pc_fmt_rec)
 *   "\0D"                         daemon record      (pc_daemon_rec)
 *   "\0C" chain                   chain metadata     (pc_meta_rec)
 *   "\0E"                         bus endpoints      (two NUL-terminated addresses)
 *   "\0R"                         sources            (pc_sources_rec + pc_source_rec[])
 *   "\0T" chain ...               lookup table       (pc_table.h; format 2)
 *   "\0A" u64 big-endian seq      audit record       (pc_audit_rec)
 *   chain "\0B" item              base price         (pc_price_rec)
 *   chain "\0S" store "\0" item   store exception    (pc_price_rec)
 *
 * Slugs never start with NUL, so global records sort first.  Within a chain
 * every base key sorts before every store key ('B' < 'S'), base keys sort by
 * item bytes, store keys by (store, item) bytes, which is the order of
 * PostgreSQL's ORDER BY ... COLLATE "C".  Ids never contain NUL (PostgreSQL
 * text cannot), so NUL is a safe separator.
 *
 * Records are fixed-layout structs in the host's byte order (the environment
 * is local to one host by design) and begin with their own size so that a
 * newer writer may append fields; a reader accepts a record at least as long
 * as the fields it knows.  Any incompatible change bumps PC_FORMAT_VERSION.
 */
#ifndef PC_FORMAT_H
#define PC_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "pricecache.h"

#define PC_FORMAT_MAGIC   "PRCCACHE"
/* Format 2 adds the chains' lookup tables (pc_table.h) beside format 1's
 * records, which are unchanged: the library reads both (a chain without a
 * table is looked up in the B-tree), the daemon converts a format 1 cache
 * at start by rewriting this record; its loads then write the tables.  A
 * library of format 1 refuses a format 2 cache (PC_EFORMAT). */
#define PC_FORMAT_VERSION     2u
#define PC_FORMAT_VERSION_MIN 1u

/* Longest key: chain "\0S" store "\0" item.  LMDB's default limit is 511. */
#define PC_KEY_MAX (PC_CHAIN_MAX + 3 + PC_ID_MAX + PC_ID_MAX)

/* Internal codes, in the PC_* band so that pc_strerror knows them too. */
enum {
    PC_ECANCELED = -7050, /* the operation was cancelled (shutdown) */
    PC_EDB       = -7051, /* the database answered an error or went away */
    /* -7052 was PC_EREFUSED, public now (pricecache.h) */
    PC_ECONFIG   = -7053, /* bad configuration */
    PC_EMAPFULL  = -7054, /* the LMDB map is full and cannot grow further */
    PC_EBREAKER  = -7055, /* refused at once: the chain's circuit breaker is open */
    PC_EDISKFULL = -7056, /* the filesystem under the cache has no space left */
    PC_ECHANGED  = -7057  /* the chain changed under a load that found its rows
                             unchanged: nothing written, the next load compares */
};

/* The load results, reject reasons and daemon states recorded below, and
 * their names, are public (pricecache.h, "Administration"): the records
 * store their values. */

typedef struct pc_fmt_rec {
    char     magic[8];      /* PC_FORMAT_MAGIC, not NUL-terminated */
    uint32_t version;       /* PC_FORMAT_VERSION */
    uint32_t reserved;
} pc_fmt_rec;

typedef struct pc_daemon_rec {
    uint32_t size;          /* sizeof(pc_daemon_rec) as written */
    uint32_t state;         /* enum pc_daemon_state */
    uint32_t ready;         /* 1 once every chain has a snapshot or failed */
    uint32_t pid;           /* of the daemon that last wrote */
    int64_t  started_ms;    /* unix ms the daemon started */
    int64_t  ready_ms;      /* unix ms it became ready, 0 if not yet */
    int64_t  updated_ms;    /* unix ms of this record's last write */
    uint64_t seq;           /* global publish sequence; chain versions come from it */
    uint64_t map_size;      /* bytes, as set by the daemon */
    /* Appended for the database state (issue 13 makes the daemon write
     * them).  A record without them, or with db_state 0, has not said:
     * readers derive the state from the chains' last load attempts. */
    uint32_t db_state;      /* enum pc_db_state; PC_DB_UNKNOWN: not recorded */
    uint32_t db_reserved;
    int64_t  db_since_ms;   /* unix ms of the last change of db_state */
    char     db_error[PC_ERROR_TEXT_MAX]; /* last error from the database */
} pc_daemon_rec;


/* The sources the daemon reads from (issue 14): a header, then `count`
 * entries of `entry_size` bytes each (a newer writer may append fields to
 * an entry; a reader takes what it knows).  The primary is entry 0. */
typedef struct pc_sources_rec {
    uint32_t size;          /* sizeof(pc_sources_rec) as written */
    uint32_t count;         /* entries that follow */
    uint32_t entry_size;    /* sizeof(pc_source_rec) as written */
    uint32_t reserved;
    int64_t  updated_ms;    /* unix ms of this record's write */
} pc_sources_rec;

typedef struct pc_source_rec {
    uint32_t size;          /* sizeof(pc_source_rec) as written */
    uint32_t state;         /* enum pc_source_state */
    uint32_t up;            /* can serve reads now */
    uint32_t breaker;       /* PC_BREAKER_* (0 for the primary) */
    int64_t  lag_bytes;     /* -1: not measured */
    int64_t  lag_ms;        /* -1: not measured */
    uint64_t reads_load, reads_delta;
    char     name[16];      /* "primary", "replica1", ... */
    char     where[128];    /* host:port, never a password */
    char     why[PC_ERROR_TEXT_MAX];
} pc_source_rec;

/* Most entries a sources record holds (the primary and 15 replicas). */
#define PC_SOURCES_MAX 16

typedef struct pc_meta_rec {
    uint32_t size;          /* sizeof(pc_meta_rec) as written */
    uint32_t breaker;       /* PC_BREAKER_* */
    uint64_t version;       /* of the published snapshot */
    int64_t  loaded_at_ms;  /* unix ms of the publish */
    uint64_t base_rows;
    uint64_t store_rows;
    int64_t  avg_cents;     /* mean base price, rounded half away from zero */
    int64_t  breaker_since_ms;  /* unix ms of the last breaker transition */
    int64_t  last_attempt_ms;   /* unix ms the last load attempt ended */
    uint32_t last_duration_ms;  /* of the last load attempt */
    uint32_t last_result;       /* enum pc_load_result */
    uint32_t consecutive_failures;
    uint32_t reserved;
    uint64_t loads_ok;
    uint64_t loads_failed;      /* failed, timed out or refused */
    uint64_t rows_written;      /* keys put or deleted by the last publish */
    uint64_t rejected[PC_REJ__COUNT]; /* rows rejected by the last load */
    char     last_error[160];   /* of the last failed attempt, NUL-terminated */
    double   base_sum;          /* sum of base cents, kept so deltas can update avg */
    int64_t  probe_at_ms;       /* unix ms an open breaker lets its next probe
                                   through (jitter included); 0 unless open */
} pc_meta_rec;

typedef struct pc_price_rec {
    int64_t cents;
    int64_t updated_at;     /* unix seconds */
} pc_price_rec;

/* Key kinds, the byte after the chain's NUL. */
#define PC_KEY_BASE  'B'
#define PC_KEY_STORE 'S'

/* Key builders.  `buf` must hold PC_KEY_MAX bytes; lengths are not checked
 * here (callers validate first).  They return the key's length. */
size_t pc_key_fmt(uint8_t *buf);
size_t pc_key_daemon(uint8_t *buf);
size_t pc_key_meta(uint8_t *buf, const char *chain, size_t clen);
size_t pc_key_chain_prefix(uint8_t *buf, const char *chain, size_t clen);
size_t pc_key_base(uint8_t *buf, const char *chain, size_t clen,
                   const char *item, size_t ilen);
size_t pc_key_store(uint8_t *buf, const char *chain, size_t clen,
                    const char *store, size_t slen,
                    const char *item, size_t ilen);

/* LMDB's own order of the unnamed database's keys (memcmp over the
 * shorter length, then the shorter key first), computed eight bytes at a
 * time and without a call into libc: the library sets it as the database's
 * comparator (mdb_set_compare), the daemon keeps LMDB's default, and both
 * sort every pair of keys alike (test_format checks it).  A lookup's B-tree
 * walk compares ~30 keys that share the chain's prefix; memcmp through the
 * PLT was a tenth of its time. */
struct MDB_val;
int pc_key_cmp(const struct MDB_val *a, const struct MDB_val *b);

/* The prefix of every meta key ("\0C"), for listing chains. */
size_t pc_key_meta_prefix(uint8_t *buf);

/* A decoded data key; pointers into the key bytes, not NUL-terminated. */
typedef struct pc_key_view {
    int kind;                       /* PC_KEY_BASE or PC_KEY_STORE */
    const char *chain; size_t clen;
    const char *store; size_t slen; /* slen 0 for base keys */
    const char *item;  size_t ilen;
} pc_key_view;

/* Decode a data key.  PC_OK, or PC_EFORMAT when it is not a data key. */
int pc_key_parse(const void *key, size_t len, pc_key_view *out);

/* 1 when s[0..len) is a valid chain slug: [a-z0-9_-]{1,64}. */
int pc_slug_valid(const char *s, size_t len);

/* Check a format record: PC_OK (the version, PC_FORMAT_VERSION_MIN up to
 * PC_FORMAT_VERSION, into *version when not NULL), or PC_EFORMAT. */
int pc_fmt_check(const void *val, size_t len, uint32_t *version);
void pc_fmt_init(pc_fmt_rec *rec);

/* Copy a stored meta/daemon record into `out`, zero-filling fields an older
 * writer did not have.  PC_OK, or PC_EFORMAT when too short to be one. */
int pc_meta_decode(const void *val, size_t len, pc_meta_rec *out);
int pc_daemon_decode(const void *val, size_t len, pc_daemon_rec *out);

/* Bus endpoints the daemon announces: "events\0control\0". */
size_t pc_key_endpoints(uint8_t *buf);

/* The sources record ("\0R").  pc_sources_decode checks the header and
 * copies entry `i` into *out (zero-filling fields an older writer did not
 * have; strings NUL-terminated); *count gets the number of entries.
 * PC_OK; PC_NOTFOUND when i >= count; PC_EFORMAT when malformed. */
size_t pc_key_sources(uint8_t *buf);
int pc_sources_decode(const void *val, size_t len, size_t i, pc_source_rec *out,
                      size_t *count, int64_t *updated_ms);

/* ---- audit log (client/audit.c) ----
 *
 * Key "\0A" + seq (u64 big-endian, from 1, so keys sort in seq order).
 * Value: "PCA1", prev[32], hash[32], then the record's text (no NUL).
 * hash = SHA-256(seq as 8 big-endian bytes || prev || text); prev is the
 * previous record's hash (32 zero bytes for seq 1).  Changing, removing or
 * reordering a record breaks the chain at that record or the next. */
/* PC_AUDIT_TEXT_MAX and PC_AUDIT_HASH: pricecache.h. */
typedef struct pc_audit_rec {
    uint64_t seq;
    uint8_t  prev[PC_AUDIT_HASH];
    uint8_t  hash[PC_AUDIT_HASH];
    size_t   len;
    char     text[PC_AUDIT_TEXT_MAX + 1]; /* NUL-terminated copy */
} pc_audit_rec;

size_t pc_key_audit(uint8_t *buf, uint64_t seq);   /* 10 bytes */
size_t pc_key_audit_prefix(uint8_t *buf);          /* "\0A" */
/* seq of an audit key, 0 when it is not one. */
uint64_t pc_audit_key_seq(const void *key, size_t len);
/* Compute rec->hash from seq, prev and text. */
void pc_audit_seal(pc_audit_rec *rec);
/* Encode into buf (cap >= 4 + 64 + len); returns the length, 0 if it does
 * not fit. */
size_t pc_audit_encode(const pc_audit_rec *rec, uint8_t *buf, size_t cap);
/* Decode a value (seq given from the key).  PC_OK or PC_EFORMAT. */
int pc_audit_decode(uint64_t seq, const void *val, size_t len, pc_audit_rec *out);
/* Check one record against its predecessor's hash (NULL for none):
 * PC_OK, or PC_EFORMAT with the fault in why. */
int pc_audit_check(const pc_audit_rec *rec, uint64_t want_seq, const uint8_t *prev_hash,
                   char *why, size_t len);

/* One used slot of LMDB's reader table, as mdb_reader_list shows it. */
typedef struct pc_rslot {
    uint32_t pid;
    uint64_t thread;
    uint64_t txnid;   /* snapshot its open read transaction sees; 0: none open */
} pc_rslot;

/* The used slots of env's reader table (no lock taken: LMDB's own listing
 * of the lock file).  Up to cap into out; *n gets how many are used (may
 * exceed cap).  PC_OK, PC_EIO, or PC_EFORMAT when lock.mdb counts more
 * slots than the table holds (pc_errdetail has the sentence; the caller
 * keeps a map resize out, as for mdb_env_info).  client/rslots.c; the daemon and the
 * library share it. */
struct MDB_env;
int pc_rslots_read(struct MDB_env *env, pc_rslot *out, size_t cap, size_t *n);

/* <cache>/unsynced: present while a daemon runs, whose commits reach the
 * disk after readers see them (MDB_NOSYNC, a sync thread right behind:
 * daemon/durable.c).  It holds the id of the boot it was written in
 * (/proc/sys/kernel/random/boot_id).  Left by a daemon that did not stop
 * cleanly: from the same boot (kill -9) the page cache holds every commit
 * and the environment is whole; from an earlier boot (the system crashed
 * or lost power) its last commits may be half on disk, and nobody may
 * read it until the daemon has rebuilt it.  client/unsynced.c. */
#define PC_UNSYNCED_FILE "unsynced"
#define PC_BOOT_ID_MAX   64
/* This boot's id into out (PC_BOOT_ID_MAX bytes, NUL-terminated); "" when
 * the system does not say (then every marker counts as this boot's). */
void pc_boot_id(char *out);
/* PC_OK: the environment in dir may be read; PC_ENOTREADY: it was being
 * written when the system went down (a marker from another boot); why
 * says so when not NULL. */
int pc_unsynced_check(const char *dir, char *why, size_t len);

/* The single place that translates LMDB return codes to PC_* codes. */
int pc_err_from_mdb(int mdb_rc);

/* Milliseconds: wall clock (unix) and monotonic. */
int64_t pc_now_ms(void);
int64_t pc_mono_ms(void);

#endif /* PC_FORMAT_H */
