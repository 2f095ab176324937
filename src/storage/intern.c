/* intern.c: the string table behind every label the engine keeps.
 *
 * storage_append() borrows label bytes from the caller's batch; the first
 * time a series is seen its names and values are copied here once, and the
 * registry, the postings and every string handed to readers point into this
 * table. Invariant: a string, once interned, keeps its address and its id
 * until intern_fini() (storage_close()), so strv's given out never dangle;
 * entries sit in fixed pages, so an id resolves without a lock.
 * Ids are dense (0, 1, 2, ...) so postings can index arrays by them.
 * It also numbers distinct (name, value) pairs the same way: a series keeps
 * one 4-byte pair id per label (series.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "storage/engine.h"

int intern_init(struct intern *in)
{
    memset(in, 0, sizeof *in);
    arena_init(&in->arena, 0);
    in->pages = calloc(INTERN_MAX_PAGES, sizeof *in->pages);
    in->pair_pages = calloc(INTERN_MAX_PAGES, sizeof *in->pair_pages);
    return in->pages && in->pair_pages ? 0 : -ENOMEM;
}

void intern_fini(struct intern *in)
{
    arena_fini(&in->arena);
    if (in->pages)
        for (uint32_t i = 0; i < INTERN_MAX_PAGES && in->pages[i]; i++)
            free(in->pages[i]);
    free(in->pages);
    free(in->slots);
    if (in->pair_pages)
        for (uint32_t i = 0; i < INTERN_MAX_PAGES && in->pair_pages[i]; i++)
            free(in->pair_pages[i]);
    free(in->pair_pages);
    free(in->pair_slots);
    memset(in, 0, sizeof *in);
}

static uint32_t hash32(struct strv s)
{
    uint64_t h = hash_bytes(s.p ? s.p : "", s.n);
    return (uint32_t)(h ^ (h >> 32));
}

static uint32_t find_slot(const struct intern *in, struct strv s, uint32_t h)
{
    uint32_t mask = in->nslots - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t v = in->slots[i];
        if (v == 0)
            return i;
        const struct intern_entry *en = intern_ent(in, v - 1);
        if (en->h == h && en->n == s.n && (s.n == 0 || memcmp(en->p, s.p, s.n) == 0))
            return i;
    }
}

static int grow(struct intern *in)
{
    uint32_t nslots = in->nslots ? in->nslots * 2 : 1024;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    uint32_t mask = nslots - 1;
    for (uint32_t id = 0; id < in->nents; id++) {
        uint32_t i = intern_ent(in, id)->h & mask;
        while (slots[i] != 0)
            i = (i + 1) & mask;
        slots[i] = id + 1;
    }
    free(in->slots);
    in->slots = slots;
    in->nslots = nslots;
    return 0;
}

uint32_t intern_find(const struct intern *in, struct strv s)
{
    if (in->nslots == 0)
        return UINT32_MAX;
    uint32_t v = in->slots[find_slot(in, s, hash32(s))];
    return v ? v - 1 : UINT32_MAX;
}

int intern_put(struct intern *in, struct strv s, uint32_t *id)
{
    if (s.n > UINT32_MAX / 2)
        return TIDE_ELIMIT;
    if ((uint64_t)(in->nents + 1) * 2 > in->nslots) {
        int rc = grow(in);
        if (rc)
            return rc;
    }
    uint32_t h = hash32(s);
    uint32_t slot = find_slot(in, s, h);
    if (in->slots[slot] != 0) {
        *id = in->slots[slot] - 1;
        return 0;
    }
    if (in->nents >= INTERN_MAX_PAGES * INTERN_PAGE_SIZE - 1)
        return TIDE_ELIMIT;
    uint32_t pg = in->nents >> INTERN_PAGE_BITS;
    if (!in->pages[pg]) {
        struct intern_entry *page = malloc(INTERN_PAGE_SIZE * sizeof *page);
        if (!page)
            return -ENOMEM;
        __atomic_store_n(&in->pages[pg], page, __ATOMIC_RELEASE);
    }
    char *copy = arena_strndup(&in->arena, s.p ? s.p : "", s.n);
    if (!copy)
        return -ENOMEM;
    struct intern_entry *en = &in->pages[pg][in->nents & (INTERN_PAGE_SIZE - 1)];
    *en = (struct intern_entry){copy, (uint32_t)s.n, h};
    in->slots[slot] = in->nents + 1;
    *id = in->nents++;
    in->bytes += s.n + 1;
    return 0;
}

/* ---- label pairs ---- */

static uint32_t pair_hash(uint32_t name, uint32_t value)
{
    uint64_t x = ((uint64_t)name << 32 | value) * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(x >> 32);
}

static int grow_pairs(struct intern *in)
{
    uint32_t nslots = in->npair_slots ? in->npair_slots * 2 : 1024;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    uint32_t mask = nslots - 1;
    for (uint32_t id = 0; id < in->npairs; id++) {
        struct intern_pair lp = intern_pair(in, id);
        uint32_t i = pair_hash(lp.name, lp.value) & mask;
        while (slots[i] != 0)
            i = (i + 1) & mask;
        slots[i] = id + 1;
    }
    free(in->pair_slots);
    in->pair_slots = slots;
    in->npair_slots = nslots;
    return 0;
}

int intern_pair_put(struct intern *in, uint32_t name, uint32_t value, uint32_t *id)
{
    if ((uint64_t)(in->npairs + 1) * 2 > in->npair_slots) {
        int rc = grow_pairs(in);
        if (rc)
            return rc;
    }
    uint32_t mask = in->npair_slots - 1, i = pair_hash(name, value) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t v = in->pair_slots[i];
        if (v == 0)
            break;
        struct intern_pair lp = intern_pair(in, v - 1);
        if (lp.name == name && lp.value == value) {
            *id = v - 1;
            return 0;
        }
    }
    if (in->npairs >= INTERN_MAX_PAGES * INTERN_PAGE_SIZE - 1)
        return TIDE_ELIMIT;
    uint32_t pg = in->npairs >> INTERN_PAGE_BITS;
    if (!in->pair_pages[pg]) {
        struct intern_pair *page = malloc(INTERN_PAGE_SIZE * sizeof *page);
        if (!page)
            return -ENOMEM;
        __atomic_store_n(&in->pair_pages[pg], page, __ATOMIC_RELEASE);
    }
    in->pair_pages[pg][in->npairs & (INTERN_PAGE_SIZE - 1)] = (struct intern_pair){name, value};
    in->pair_slots[i] = in->npairs + 1;
    *id = in->npairs++;
    return 0;
}
