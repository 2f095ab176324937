/* arena.c: bump allocation in chained blocks (see arena.h).
 * Blocks of ARENA_MAP_MIN bytes or more are mappings of their own
 * (core/pagemem.h), not heap memory: a query's arena of many MiB is handed
 * back to the system at arena_fini() (a thread heap's top is not, whatever
 * malloc_trim() does), and long-lived arenas leave no holes in the heap. */
#include "core/arena.h"
#include "core/pagemem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next; /* older block */
    size_t size, used;        /* bytes in data[], bytes handed out */
    _Alignas(16) char data[];
};

enum { ARENA_BLOCK_MIN = 16 * 1024, ARENA_MAP_MIN = 64 * 1024 };

static struct arena_block *block_new(size_t size)
{
    size_t bytes = sizeof(struct arena_block) + size;
    if (bytes < ARENA_MAP_MIN)
        return malloc(bytes);
    void *p = NULL;
    size_t cap = 0;
    return pagemem_grow(&p, &cap, bytes) == 0 ? p : NULL;
}

static void block_free(struct arena_block *b)
{
    size_t bytes = sizeof *b + b->size;
    if (bytes < ARENA_MAP_MIN)
        free(b);
    else
        pagemem_free(b, bytes);
}

void arena_init(struct arena *a, size_t max_bytes)
{
    a->head = NULL;
    a->total = 0;
    a->max = max_bytes;
}

void arena_fini(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        block_free(b);
        b = n;
    }
    a->head = NULL;
    a->total = 0;
}

void arena_reset(struct arena *a)
{
    if (a->head == NULL)
        return;
    struct arena_block *keep = a->head;
    struct arena_block *b = keep->next;
    while (b) {
        struct arena_block *n = b->next;
        block_free(b);
        b = n;
    }
    keep->next = NULL;
    keep->used = 0;
    a->total = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
    return arena_alloc_align(a, n, 8);
}

void *arena_alloc_align(struct arena *a, size_t n, size_t align)
{
    n = (n + align - 1) & ~(align - 1);
    if (n == 0)
        n = align;
    if (a->max && (n > a->max || a->total > a->max - n))
        return NULL;
    struct arena_block *b = a->head;
    size_t off = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (b == NULL || off > b->size || b->size - off < n) {
        size_t size = ARENA_BLOCK_MIN;
        if (b && b->size < 1024 * 1024)
            size = b->size * 2;
        if (size < n)
            size = n;
        struct arena_block *nb = block_new(size);
        if (nb == NULL)
            return NULL;
        nb->size = size;
        nb->used = 0;
        nb->next = b;
        a->head = nb;
        b = nb;
        off = 0;
    }
    void *p = b->data + off;
    b->used = off + n;
    a->total += n;
    return p;
}

char *arena_strndup(struct arena *a, const char *p, size_t n)
{
    char *s = arena_alloc_align(a, n + 1, 1);
    if (s == NULL)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = 0;
    return s;
}
