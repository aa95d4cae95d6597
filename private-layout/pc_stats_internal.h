/* pc_stats_internal.h - the layout of the lookup statistics directory (<cache>/stats/: one file per client process, the daemon's totals), shared by the daemon and libpricecache; not installed.
 *
 * Why files and not one shared mapping: a file that many processes map
 * can be truncated by any of them, and every process that touches the
 * mapping afterwards dies of SIGBUS.  So nothing here is ever mapped:
 *
 *   - the directory <cache>/stats is made by the daemon, mode 01770 (the
 *     service group may create files; the sticky bit keeps members from
 *     removing or replacing each other's files, as in /tmp);
 *   - each client process keeps its counters in private memory (a cache
 *     line per thread, as before) and writes their sums with pwrite into a
 *     file of its own: created by that process with O_EXCL, mode 0644,
 *     named "<pid>-<random>.st" (renamed in from a dot-name once it is
 *     locked and written), held with an OFD write lock for as long as the
 *     process has it open.  The lock is the liveness test: the kernel drops
 *     it when the process dies (kill -9 too), no /proc needed (the unit's
 *     ProtectProc=invisible hides other users' processes from the daemon);
 *   - readers (the daemon, pc_stats_read) open each file read-only, read it
 *     with pread and validate it (regular file, exact size, magic,
 *     version, checksum, bounds); a file that does not validate is
 *     skipped, never trusted;
 *   - the daemon folds the counts of dead processes' files into
 *     "totals" (its own file, 0644, replaced by rename) and removes them,
 *     so that the sums never go backwards and the directory stays small.
 *
 * Layout: native endianness (the files never leave the host), fixed size.
 */
#ifndef PC_STATS_INTERNAL_H
#define PC_STATS_INTERNAL_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pricecache.h"

#define PC_STATS_DIR        "stats"
#define PC_STATS_TOTALS     "totals"
#define PC_STATS_SUFFIX     ".st"
#define PC_STATS_OLD_FILE   "stats.shm"   /* the mapped area of earlier versions */
#define PC_STATS_MAGIC      0x3273746174736370ull /* "pcstats2" */
#define PC_STATS_TMAGIC     0x316c746f74736370ull /* "pcstotl1" */
#define PC_STATS_VERSION    2u
#define PC_STATS_LINES      16u       /* per process: 15 threads alone, the rest share */
#define PC_STATS_SAMPLE     64u       /* one lookup in this many is timed */
#define PC_STATS_FLUSH_MS   100u      /* a counting process writes its file this often */
#define PC_STATS_MAX_FILES  16384u    /* process files read per scan; "slots" */
#define PC_STATS_FOLD_MAX   256u      /* files folded into one totals generation */
#define PC_STATS_NAME_MAX   48u       /* room for a file name in totals */
#define PC_STATS_COUNT_MAX  (1ull << 60) /* a larger counter is not believed */

/* What a process counted (sums over its threads), or the totals. */
typedef struct pc_stats_counts {
    uint64_t hits, misses, errors;
    uint64_t latency[PC_STATS_BUCKETS];
} pc_stats_counts;

/* <cache>/stats/<pid>-<random>.st, written whole by its process. */
typedef struct pc_stats_file {
    uint64_t        magic;     /* PC_STATS_MAGIC */
    uint32_t        version;   /* PC_STATS_VERSION */
    uint32_t        size;      /* sizeof(pc_stats_file) */
    uint64_t        pid;       /* the writer's pid, for operators */
    uint64_t        seq;       /* writes so far */
    pc_stats_counts c;
    uint64_t        check;     /* pc_stats_check of every byte before it */
} pc_stats_file;

/* <cache>/stats/totals: counts of every folded file, written by the daemon
 * (aside, then renamed in).  `folded` names the files folded into this
 * generation: the daemon removes them after writing it, and a reader that
 * still finds one of them skips it (its counts are in c already). */
typedef struct pc_stats_totals {
    uint64_t        magic;     /* PC_STATS_TMAGIC */
    uint32_t        version;   /* PC_STATS_VERSION */
    uint32_t        size;      /* sizeof(pc_stats_totals) */
    uint64_t        gen;       /* grows by one with every write */
    pc_stats_counts c;
    uint32_t        nfolded, pad;
    char            folded[PC_STATS_FOLD_MAX][PC_STATS_NAME_MAX];
    uint64_t        check;
} pc_stats_totals;

/* FNV-1a over n bytes: catches torn reads and random bytes, not forgery
 * (a member may write any counts into a file of their own anyway). */
uint64_t pc_stats_check(const void *p, size_t n);

/* Validate a process file's bytes (n read from a file of `size` bytes).
 * 0 when valid, else -1 with the reason in why. */
int pc_stats_file_valid(const void *buf, size_t n, uint64_t size, char *why, size_t whylen);
/* The same for the totals. */
int pc_stats_totals_valid(const void *buf, size_t n, uint64_t size, char *why, size_t whylen);
/* Seal an image: set magic, version, size and the checksum. */
void pc_stats_file_seal(pc_stats_file *f);
void pc_stats_totals_seal(pc_stats_totals *t);

/* a += b, saturating at PC_STATS_COUNT_MAX. */
void pc_stats_counts_add(pc_stats_counts *a, const pc_stats_counts *b);
/* 1 when every counter of b >= a's. */
int  pc_stats_counts_ge(const pc_stats_counts *b, const pc_stats_counts *a);

/* One entry of the directory as a reader found it. */
enum { PC_STATS_E_VALID, PC_STATS_E_BAD, PC_STATS_E_FOLDED };
typedef struct pc_stats_entry {
    const char     *name;
    int             kind;      /* PC_STATS_E_* */
    int             alive;     /* held (locked) by a live process */
    int             dead;      /* surely nobody's: unlocked, or a link, or
                                  unreadable (neither: could not tell) */
    uint64_t        dev, ino, size;
    int64_t         mtime_ns;
    pc_stats_counts c;         /* when valid */
    char            why[128];  /* when bad */
} pc_stats_entry;

/* Read a process file at dfd/name without following links, blocking or
 * mapping: fills e (never crashes on any content, type or size). */
void pc_stats_entry_read(int dfd, const char *name, pc_stats_entry *e);
/* Read the totals at dfd; PC_OK, PC_ENOTREADY (none yet), PC_EFORMAT (not
 * ours: foreign owner, size, magic, checksum; why says which). */
int  pc_stats_totals_read(int dfd, uid_t owner, pc_stats_totals *t, char *why, size_t whylen);
/* Is `name` a process file name a reader should look at? (not ".",
 * "..", dot-names or the totals) */
int  pc_stats_name_is_proc(const char *name);
/* Open <path>/stats read-only as a directory, without following a link:
 * the descriptor, or -1 with errno. */
int  pc_stats_dir_open(const char *path);
/* A listing of the open directory `dfd` from its start, on a descriptor of
 * its own (dfd stays open and usable): closedir() it.  NULL with errno. */
DIR *pc_stats_dir_list(int dfd);
/* Write this process's pending counts into its files now (every
 * environment it counts in).  Used before reading the sums in-process. */
void pc_stats_flush_own(void);

/* The latency bucket of `ns` (exposed for the tests). */
static inline int pc_stats_bucket(uint64_t ns)
{
    if (ns < 128)
        return 0;
    int b = 64 - __builtin_clzll(ns) - 7; /* [2^(b+6), 2^(b+7)) -> b */
    return b < (int)PC_STATS_BUCKETS - 1 ? b : (int)PC_STATS_BUCKETS - 1;
}

#endif
