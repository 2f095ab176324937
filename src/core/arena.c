/* arena.c: bump allocation in chained blocks (see arena.h). */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next; /* older block */
    size_t size, used;        /* bytes in data[], bytes handed out */
    _Alignas(16) char data[];
};

enum { ARENA_BLOCK_MIN = 16 * 1024 };

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
        free(b);
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
        free(b);
        b = n;
    }
    keep->next = NULL;
    keep->used = 0;
    a->total = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    if (a->max && (n > a->max || a->total > a->max - n))
        return NULL;
    struct arena_block *b = a->head;
    if (b == NULL || b->size - b->used < n) {
        size_t size = ARENA_BLOCK_MIN;
        if (b && b->size < 1024 * 1024)
            size = b->size * 2;
        if (size < n)
            size = n;
        struct arena_block *nb = malloc(sizeof *nb + size);
        if (nb == NULL)
            return NULL;
        nb->size = size;
        nb->used = 0;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    return p;
}

char *arena_strndup(struct arena *a, const char *p, size_t n)
{
    char *s = arena_alloc(a, n + 1);
    if (s == NULL)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = 0;
    return s;
}
