/* mem.h: growing a malloc'd array, the one helper every module that keeps
 * (pointer, count, capacity) triples uses.
 *
 * Ownership: *p is the caller's array (realloc'd here, freed by the caller).
 */
#ifndef TIDE_CORE_MEM_H
#define TIDE_CORE_MEM_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Make *p (capacity *cap elements of elem bytes) hold at least `need`
 * elements, doubling from 16. 0, or -ENOMEM (also on size overflow) with *p
 * and *cap unchanged. */
static inline int mem_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -ENOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return -ENOMEM;
    void *np = realloc(*p, ncap * elem);
    if (np == NULL)
        return -ENOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

#endif
