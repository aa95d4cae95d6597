/* hugemem.h - the loader's big arrays on transparent huge pages: one page fault per 2 MiB instead of one per 4 KiB. */
#ifndef PCD_HUGEMEM_H
#define PCD_HUGEMEM_H

#include <stddef.h>

/* Ask the kernel for transparent huge pages under the block [p, p + len)
 * that malloc or realloc just gave (a hint: nothing happens for blocks
 * under 2 MiB, on kernels without THP or with it off, and no error is
 * ever reported).  Call it before the block is written. */
void pcd_huge_advise(void *p, size_t len);

/* Run this program again (execv of its own binary, same arguments) with
 * glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES, so that malloc itself
 * puts its heaps and big blocks on transparent huge pages — LMDB's dirty
 * pages among them, which a load writing every row allocates by the tens
 * of thousands, a page each.  glibc reads its tunables only at start,
 * hence the exec.  Returns (and the program goes on as it is) when THP is
 * not in `madvise` mode (`always` needs no advice, `never` takes none),
 * when GLIBC_TUNABLES already names the tunable (the administrator's
 * choice, or this was the second start), when PRICECACHED_MALLOC_THP is
 * "0", or when the exec fails.  Call it first thing in main, before any
 * thread or file exists. */
void pcd_huge_malloc_reexec(char **argv);

#endif
