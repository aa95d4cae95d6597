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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* 1 when the kernel gives THP only to memory advised MADV_HUGEPAGE. */
static int thp_madvise_mode(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return 0;
    char line[128] = "";
    int ok = fgets(line, sizeof line, f) != NULL && strstr(line, "[madvise]") != NULL;
    fclose(f);
    return ok;
}

void pcd_huge_malloc_reexec(char **argv)
{
    const char *opt = getenv("PRICECACHED_MALLOC_THP");
    if (opt && strcmp(opt, "0") == 0)
        return;
    /* Set before the exec, seen after it: never a second exec, even where
     * glibc would drop GLIBC_TUNABLES (a set-user-ID start). */
    if (getenv("PRICECACHED_MALLOC_THP_EXEC")) {
        unsetenv("PRICECACHED_MALLOC_THP_EXEC");
        return;
    }
    const char *old = getenv("GLIBC_TUNABLES");
    if ((old && strstr(old, "glibc.malloc.hugetlb")) || !thp_madvise_mode())
        return;
    char val[1024];
    int n = old && *old ? snprintf(val, sizeof val, "%s:glibc.malloc.hugetlb=1", old)
                        : snprintf(val, sizeof val, "glibc.malloc.hugetlb=1");
    if (n < 0 || (size_t)n >= sizeof val)
        return;
    if (setenv("GLIBC_TUNABLES", val, 1) != 0 || setenv("PRICECACHED_MALLOC_THP_EXEC", "1", 1) != 0)
        return;
    /* The binary's own path, not /proc/self/exe: the process keeps its
     * name ("exe" otherwise, in ps, pgrep and systemd's status). */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = 0;
        execv(self, argv);
    }
    /* Not executed: go on as we are, with the environment as it was. */
    if (old)
        setenv("GLIBC_TUNABLES", old, 1);
    else
        unsetenv("GLIBC_TUNABLES");
    unsetenv("PRICECACHED_MALLOC_THP_EXEC");
}
