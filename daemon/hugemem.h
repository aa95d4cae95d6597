/* hugemem.h - the loader's big arrays on transparent huge pages: one page fault per 2 MiB instead of one per 4 KiB. */
#ifndef PCD_HUGEMEM_H
#define PCD_HUGEMEM_H

#include <stddef.h>

/* Ask the kernel for transparent huge pages under the block [p, p + len)
 * that malloc or realloc just gave (a hint: nothing happens for blocks
 * under 2 MiB, on kernels without THP or with it off, and no error is
 * ever reported).  Call it before the block is written. */
void pcd_huge_advise(void *p, size_t len);

#endif
