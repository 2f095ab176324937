/* postings_list.c: one postings list, the sorted ids of the series that
 * carry one label value, as postings.c keeps it for the inverted index.
 *
 * A list of up to POSTINGS_PACK_IDS ids is a plain uint32_t array on the
 * heap. Past that it is packed: the gaps between consecutive ids as
 * uvarints (the first id as its gap from 0), in its own mapping
 * (core/pagemem.h), behind a struct postings_packed header. Ids are handed
 * out in increasing order and series arrive in batches of related labels, so
 * the gaps of a common value's list are small: at a million series of 11
 * labels a packed id takes about one byte instead of four, and the lists of
 * common values (a metric name, a region) are nearly all of the index.
 * Readers walk a list with a cursor, or get it as an array
 * (postings_list_ids(), which decodes a packed list).
 *
 * Byte layout of a packed list (host order, in memory only):
 *   uint32 len   bytes of gaps that follow
 *   uint32 last  the last id
 *   gaps         uvarint (7 bits a byte, low groups first), one per id
 * Invariant: ids strictly ascend, so every gap but the first is >= 1.
 * Thread: pushes under lock(write); reads under lock(read).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/pagemem.h"
#include "storage/engine.h"

/* Bytes one uvarint of a uint32_t takes at most. */
#define GAP_MAX_BYTES 5

/* Append one gap to the packed list's bytes (room already made). */
static void put_gap(struct postings_packed *pk, uint32_t gap)
{
    pk->len = (uint32_t)(uvarint_put(pk->b + pk->len, gap) - pk->b);
}

/* Room in the packed list for one more gap: doubles the mapping (capacity
 * never written costs no resident memory). 0 or -ENOMEM. */
static int packed_reserve(struct postings_list *l, size_t more)
{
    size_t need = sizeof(struct postings_packed) + (size_t)l->pk->len + more;
    if (need <= l->cap)
        return 0;
    if ((size_t)l->cap * 2 > UINT32_MAX)
        return TIDE_ELIMIT;
    void *p = l->pk;
    size_t cap = l->cap;
    int rc = pagemem_grow(&p, &cap, (size_t)l->cap * 2);
    if (rc)
        return rc;
    l->pk = p;
    l->cap = (uint32_t)cap;
    return 0;
}

/* Turn a full plain list (POSTINGS_PACK_IDS ids) into a packed one. */
static int pack(struct postings_list *l)
{
    size_t len = 0;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        len += uvarint_len(l->ids[i] - prev);
        prev = l->ids[i];
    }
    void *p = NULL;
    size_t cap = 0;
    int rc = pagemem_grow(&p, &cap, 2 * (sizeof(struct postings_packed) + len));
    if (rc)
        return rc;
    struct postings_packed *pk = p;
    prev = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        put_gap(pk, l->ids[i] - prev);
        prev = l->ids[i];
    }
    pk->last = prev;
    free(l->ids);
    l->pk = pk;
    l->cap = (uint32_t)cap;
    return 0;
}

int postings_list_push(struct postings_list *l, uint32_t id)
{
    if (l->n == UINT32_MAX)
        return TIDE_ELIMIT;
    if (l->n == POSTINGS_PACK_IDS) {
        /* Packed from here on, though n says so only after this push; pack()
         * maps twice the bytes it needs, so the reserve below cannot fail
         * and leave a packed list that n calls plain. */
        int rc = pack(l);
        if (rc)
            return rc;
    }
    if (l->n >= POSTINGS_PACK_IDS) {
        int rc = packed_reserve(l, GAP_MAX_BYTES);
        if (rc)
            return rc;
        struct postings_packed *pk = l->pk;
        put_gap(pk, id - pk->last);
        pk->last = id;
        l->n++;
        return 0;
    }
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        uint32_t *v = realloc(l->ids, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->ids = v;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return 0;
}

void postings_list_free(struct postings_list *l)
{
    if (postings_list_packed(l))
        pagemem_free(l->pk, l->cap);
    else
        free(l->ids);
    memset(l, 0, sizeof *l);
}

void postings_cursor_init(struct postings_cursor *c, const struct postings_list *l)
{
    *c = (struct postings_cursor){.n = l->n};
    if (postings_list_packed(l))
        c->p = l->pk->b;
    else
        c->ids = l->ids;
}

bool postings_cursor_next(struct postings_cursor *c)
{
    if (c->i == c->n)
        return false;
    if (c->ids) {
        c->id = c->ids[c->i++];
        return true;
    }
    uint32_t gap = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = *c->p++;
        gap |= (uint32_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    c->id += gap;
    c->i++;
    return true;
}

int postings_list_ids(const struct postings_list *l, const uint32_t **ids, uint32_t **owned)
{
    *owned = NULL;
    if (!postings_list_packed(l)) {
        *ids = l->ids;
        return 0;
    }
    *ids = NULL;
    uint32_t *v = malloc((size_t)l->n * sizeof *v);
    if (!v)
        return -ENOMEM;
    struct postings_cursor c;
    postings_cursor_init(&c, l);
    for (uint32_t i = 0; postings_cursor_next(&c); i++)
        v[i] = c.id;
    *ids = v;
    *owned = v;
    return 0;
}
