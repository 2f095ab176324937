/* pagemem.h: big arrays that only grow and live long (postings lists of a
 * million ids), kept in their own anonymous mappings instead of the malloc
 * heap.
 *
 * Why: tide keeps request-sized buffers on the heap (main.c raises the mmap
 * threshold to 64 MiB), so a big array grown by realloc there is copied at
 * each doubling and leaves its old copy as a hole between the small,
 * long-lived allocations of new series (at a million series, moving the
 * postings lists and the registry's slot table here took 17 MiB, 4 %, off
 * the peak). A mapping grows with mremap (no copy, no hole), and capacity
 * never written costs no resident memory. core/arena.c puts its big blocks
 * here too, and the WAL replay its segment buffer.
 *
 * Ownership: *p belongs to the caller, who releases it with pagemem_free()
 * and the same capacity. Not thread-safe per array (callers lock).
 */
#ifndef TIDE_CORE_PAGEMEM_H
#define TIDE_CORE_PAGEMEM_H

#include <stddef.h>

/* Make the mapping *p (*cap_bytes bytes, 0 when *p is NULL) hold at least
 * need_bytes, rounded up to pages; new bytes read as zero. 0, or -ENOMEM
 * with *p and *cap_bytes unchanged. */
int pagemem_grow(void **p, size_t *cap_bytes, size_t need_bytes);
/* Unmap p (NULL is fine); cap_bytes as pagemem_grow() left it. */
void pagemem_free(void *p, size_t cap_bytes);

#endif
