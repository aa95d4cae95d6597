/* hugemem.c - the loader's big arrays on transparent huge pages: one page fault per 2 MiB instead of one per 4 KiB. */
#include "hugemem.h"

/* Owns: the THP advice on the loader's arrays.  May call: nothing of
 * daemon/.
 *
 * Why: a load fills ~200 MB of fresh memory (records, sort items, keys,
 * their sorted copies) and the daemon gives it back after each load
 * (jobs.c: malloc_trim).  Every 4 KiB page touched again costs a fault:
 * ~0.5 us on bare metal, 14 us measured on this project's VMs (the host
 * backs guest memory lazily and takes free pages back), i.e. 0.5 s of a
 * 1.2 M-row load.  With THP in `madvise` mode (Debian's default) a
 * block advised MADV_HUGEPAGE faults once per 2 MiB. */

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_MIN ((size_t)2 << 20)

void pcd_huge_advise(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    if (!p || len < HUGE_MIN)
        return;
    /* The whole pages under the block: for a block malloc mapped apart
     * (these sizes are), its mapping, which so stays one mapping that
     * realloc can grow with mremap. */
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
    uintptr_t e = ((uintptr_t)p + len + 4095) & ~(uintptr_t)4095;
    (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}
