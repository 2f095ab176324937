/* arena.h: a bump allocator for memory that dies together (one request, one
 * parsed batch, one query). Nothing in an arena is freed on its own;
 * arena_reset() keeps the first block for reuse, arena_fini() frees all.
 * Thread: none. */
#ifndef TIDE_CORE_ARENA_H
#define TIDE_CORE_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head; /* newest block; older ones chained behind */
    size_t total;             /* bytes handed out since init/reset */
    size_t max;               /* cap on `total`; allocations past it fail (0 = none) */
};

void arena_init(struct arena *a, size_t max_bytes);
void arena_fini(struct arena *a);
void arena_reset(struct arena *a);
/* 8-byte aligned memory, or NULL when out of memory or over `max`. */
void *arena_alloc(struct arena *a, size_t n);
/* The same aligned to `align` (a power of two, 1..16) and rounded up to a
 * multiple of it: small arrays of uint32_t or char waste no bytes to 8-byte
 * steps (the storage's label ids, a million series' worth). */
void *arena_alloc_align(struct arena *a, size_t n, size_t align);
/* A NUL-terminated copy of n bytes of p (1-byte aligned). */
char *arena_strndup(struct arena *a, const char *p, size_t n);

#endif
