/* statsdir.h - the daemon's side of the lookup statistics directory: make it, read every process file with pread, reject and log bad ones, fold dead processes' counts into the totals. */
#ifndef PCD_STATSDIR_H
#define PCD_STATSDIR_H

/* Owns: <cache>/stats (mode 01770), its totals file, what the daemon
 * remembers of each process file.  May call: log, the library's codec
 * (pc_stats_internal.h).  Never maps a file: a member may truncate or
 * rewrite a file of their own at any moment. */

#include <stdint.h>

#include "pricecache.h"

typedef struct pcd_statsdir pcd_statsdir;

/* Make <cache>/stats (or take the one there, fixing its mode), remove the
 * mapped stats.shm of earlier versions, read the totals (a bad one is
 * logged and started again from zero).  PC_OK, or PC_EIO with the cause in
 * err: the daemon runs on without statistics. */
int  pcd_statsdir_open(const char *cache, pcd_statsdir **out, char *err, size_t errlen);
void pcd_statsdir_close(pcd_statsdir *s);

/* Read every file: out gets the totals plus, per file, the largest counts
 * it ever showed (so the sums never go backwards, whatever a member writes
 * into their file); a file that does not validate is skipped and logged
 * (once per change of it) and counted in *rejected (since start); files of
 * dead processes are folded into the totals and removed.  Thread-safe. */
int  pcd_statsdir_collect(pcd_statsdir *s, pc_stats *out, uint64_t *rejected);

#endif
