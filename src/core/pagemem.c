/* pagemem.c: growing arrays as anonymous mappings (see pagemem.h). */
#include "core/pagemem.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_round(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (n > SIZE_MAX - pg)
        return 0;
    return (n + pg - 1) / pg * pg;
}

int pagemem_grow(void **p, size_t *cap_bytes, size_t need_bytes)
{
    if (need_bytes <= *cap_bytes && *p != NULL)
        return 0;
    size_t ncap = page_round(need_bytes ? need_bytes : 1);
    if (ncap == 0)
        return -ENOMEM;
    void *np;
    if (*p == NULL)
        np = mmap(NULL, ncap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    else
        np = mremap(*p, *cap_bytes, ncap, MREMAP_MAYMOVE);
    if (np == MAP_FAILED)
        return -ENOMEM;
    *p = np;
    *cap_bytes = ncap;
    return 0;
}

void pagemem_free(void *p, size_t cap_bytes)
{
    if (p != NULL)
        munmap(p, cap_bytes);
}
