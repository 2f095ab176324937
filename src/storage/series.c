/* series.c: the series registry, label set -> dense uint32 id.
 *
 * storage_append() looks every batch series up here by labels_hash() (full
 * compare on collision) and creates the missing ones, interning their
 * strings and indexing them in postings.c. Ids are dense and never reused
 * while the storage is open, so the postings, the WAL records and the block
 * maps can all speak in ids. Series structs live in fixed pages that never
 * move: a `struct series *` stays valid until storage_close().
 * Invariant: only a holder of append_mu adds series, and it also holds
 * lock(write) while doing so; appenders may therefore look up without `lock`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pagemem.h"
#include "storage/engine.h"

/* A slot holds id + 1 in its low bits (SLOT_ID_MASK) and the top bits of
 * the series' hash above them, so a probe skips most other series without
 * reading their struct series (a cache miss each: at a million series,
 * those misses were most of a lookup's time in a WAL replay). */
#define SLOT_ID_MASK SERIES_SLOT_ID_MASK
_Static_assert((uint64_t)SERIES_MAX_PAGES * SERIES_PAGE_SIZE <= SLOT_ID_MASK + 1ull,
               "a series id + 1 fits a slot's id bits");

static uint32_t slot_of(uint32_t hash, uint32_t id)
{
    return (hash & ~SLOT_ID_MASK) | (id + 1);
}

/* The slot table is rebuilt at each doubling (8 MiB at a million series):
 * in a mapping of its own (core/pagemem.h), so old tables leave no holes in
 * the heap and the new one comes zeroed by the kernel. */
static uint32_t *slots_new(uint32_t nslots)
{
    void *p = NULL;
    size_t bytes = 0;
    return pagemem_grow(&p, &bytes, (size_t)nslots * sizeof(uint32_t)) == 0 ? p : NULL;
}

static void slots_free(uint32_t *slots, uint32_t nslots)
{
    pagemem_free(slots, (size_t)nslots * sizeof *slots);
}

int series_reg_init(struct series_reg *r, const struct intern *in)
{
    memset(r, 0, sizeof *r);
    r->in = in;
    r->pages = calloc(SERIES_MAX_PAGES, sizeof *r->pages);
    return r->pages ? 0 : -ENOMEM;
}

void series_reg_fini(struct series_reg *r)
{
    uint32_t n = series_count(r);
    for (uint32_t id = 0; id < n; id++) {
        struct series *sr = series_get(r, id);
        head_data_fini(&sr->head);
    }
    if (r->pages)
        for (uint32_t i = 0; i < SERIES_MAX_PAGES && r->pages[i]; i++)
            free(r->pages[i]);
    free(r->pages);
    slots_free(r->slots, r->nslots);
    memset(r, 0, sizeof *r);
}

/* What a lookup compares a candidate series with: a label set or a key. */
struct probe {
    bool by_key; /* compare key/keylen, not ls/n */
    const struct label *ls;
    size_t n;
    const char *key;
    size_t keylen;
};

/* Read one uvarint length of a labels_key() at *at; SIZE_MAX when cut short. */
static size_t key_len(const char *key, size_t keylen, size_t *at)
{
    size_t n = 0;
    for (unsigned shift = 0; *at < keylen && shift < 64; shift += 7) {
        uint8_t c = (uint8_t)key[(*at)++];
        n |= (size_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return n;
    }
    return SIZE_MAX;
}

/* Does labels_key() of sr's labels equal key? Walks the key against the
 * interned strings, so a series needs no copy of its key. */
static bool key_eq(const struct intern *in, const struct series *sr, const char *key,
                   size_t keylen)
{
    size_t at = 0;
    for (uint32_t i = 0; i < sr->nlabels; i++) {
        const struct label l = series_label(in, sr, i);
        const struct strv parts[2] = {l.name, l.value};
        for (int k = 0; k < 2; k++) {
            size_t len = key_len(key, keylen, &at);
            if (len != parts[k].n || keylen - at < len ||
                (len && memcmp(key + at, parts[k].p, len) != 0))
                return false;
            at += len;
        }
    }
    return at == keylen;
}

static bool probe_eq(const struct series_reg *r, const struct series *sr, const struct probe *q)
{
    if (q->by_key)
        return key_eq(r->in, sr, q->key, q->keylen);
    if (sr->nlabels != q->n)
        return false;
    for (size_t i = 0; i < q->n; i++) {
        const struct label l = series_label(r->in, sr, (uint32_t)i);
        if (!strv_eq(l.name, q->ls[i].name) || !strv_eq(l.value, q->ls[i].value))
            return false;
    }
    return true;
}

/* The id of the series with this hash that matches q, or SERIES_NONE. */
static uint32_t lookup(const struct series_reg *r, uint64_t hash, const struct probe *q)
{
    if (r->nslots == 0)
        return SERIES_NONE;
    uint32_t mask = r->nslots - 1;
    uint32_t tag = (uint32_t)hash & ~SLOT_ID_MASK;
    for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
        uint32_t v = r->slots[i];
        if (v == 0)
            return SERIES_NONE;
        if ((v & ~SLOT_ID_MASK) != tag)
            continue;
        uint32_t id = (v & SLOT_ID_MASK) - 1;
        const struct series *sr = series_get(r, id);
        if (sr->hash == (uint32_t)hash && probe_eq(r, sr, q))
            return id;
    }
}

uint32_t series_lookup(const struct series_reg *r, uint64_t hash, const struct label *ls, size_t n)
{
    return lookup(r, hash, &(struct probe){.ls = ls, .n = n});
}

uint32_t series_lookup_key(const struct series_reg *r, uint64_t hash, const char *key,
                           size_t keylen)
{
    return lookup(r, hash, &(struct probe){.by_key = true, .key = key, .keylen = keylen});
}

static int grow_slots(struct series_reg *r)
{
    uint32_t nslots = r->nslots ? r->nslots * 2 : 4096;
    uint32_t *slots = slots_new(nslots);
    if (!slots)
        return -ENOMEM;
    uint32_t mask = nslots - 1, n = series_count(r);
    for (uint32_t id = 0; id < n; id++) {
        uint32_t hash = series_get(r, id)->hash, i = hash & mask;
        while (slots[i] != 0)
            i = (i + 1) & mask;
        slots[i] = slot_of(hash, id);
    }
    slots_free(r->slots, r->nslots);
    r->slots = slots;
    r->nslots = nslots;
    return 0;
}

void series_widen(struct series *sr, int64_t mint_ms, int64_t maxt_ms)
{
    int64_t cur = atomic_load_explicit(&sr->mint, memory_order_relaxed);
    while (mint_ms < cur &&
           !atomic_compare_exchange_weak_explicit(&sr->mint, &cur, mint_ms, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
    cur = atomic_load_explicit(&sr->maxt, memory_order_relaxed);
    while (maxt_ms > cur &&
           !atomic_compare_exchange_weak_explicit(&sr->maxt, &cur, maxt_ms, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

void series_narrow(struct series *sr, int64_t mint_ms, int64_t maxt_ms)
{
    int64_t smin = atomic_load_explicit(&sr->mint, memory_order_relaxed);
    int64_t smax = atomic_load_explicit(&sr->maxt, memory_order_relaxed);
    if (smin > smax || maxt_ms < smin || mint_ms > smax)
        return;
    if (mint_ms <= smin && maxt_ms >= smax) {
        smin = INT64_MAX;
        smax = INT64_MIN;
    } else if (mint_ms <= smin) {
        smin = maxt_ms + 1;
    } else if (maxt_ms >= smax) {
        smax = mint_ms - 1;
    }
    atomic_store_explicit(&sr->mint, smin, memory_order_relaxed);
    atomic_store_explicit(&sr->maxt, smax, memory_order_relaxed);
}

void series_format(char *out, size_t cap, const struct label *ls, size_t n)
{
    size_t o = 0;
    int w = snprintf(out, cap, "{");
    o = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        w = snprintf(out + o, cap - o, "%s%.*s=\"%.*s\"", i ? ", " : "", (int)ls[i].name.n,
                     ls[i].name.p, (int)(ls[i].value.n > 64 ? 64 : ls[i].value.n), ls[i].value.p);
        if (w < 0)
            return;
        o += (size_t)w;
    }
    if (o < cap)
        snprintf(out + o, cap - o, "}");
}

int series_check_limits(const struct storage *s, const struct label *ls, size_t n, bool creating,
                        struct err *e)
{
    char desc[120];
    const struct storage_opts *o = &s->o;
    if (creating && o->max_series && series_count(&s->reg) >= o->max_series) {
        series_format(desc, sizeof desc, ls, n);
        return ERR_LIMIT(e, "series limit max_series=%zu reached; refused new series %s",
                         o->max_series, desc);
    }
    if (o->max_labels_per_series && n > o->max_labels_per_series) {
        series_format(desc, sizeof desc, ls, n);
        return ERR_LIMIT(e, "series has %zu labels, over max_labels_per_series=%zu: %s", n,
                         o->max_labels_per_series, desc);
    }
    for (size_t i = 0; i < n; i++) {
        if (o->max_label_name_len && ls[i].name.n > o->max_label_name_len) {
            series_format(desc, sizeof desc, ls, n);
            return ERR_LIMIT(e, "label name of %zu bytes over max_label_name_len=%zu in %s",
                             ls[i].name.n, o->max_label_name_len, desc);
        }
        if (o->max_label_value_len && ls[i].value.n > o->max_label_value_len) {
            series_format(desc, sizeof desc, ls, n);
            return ERR_LIMIT(e, "value of label %.*s is %zu bytes, over max_label_value_len=%zu in %s",
                             (int)(ls[i].name.n > 64 ? 64 : ls[i].name.n), ls[i].name.p,
                             ls[i].value.n, o->max_label_value_len, desc);
        }
    }
    return 0;
}

int series_cmp(const struct intern *in, const struct series *x, const struct series *y)
{
    size_t n = x->nlabels < y->nlabels ? x->nlabels : y->nlabels;
    for (size_t i = 0; i < n; i++) {
        /* Interned: the same id is the same pair (or string), another id
         * another one, so only labels that differ are compared. */
        if (x->pids[i] == y->pids[i])
            continue;
        struct intern_pair a = intern_pair(in, x->pids[i]), b = intern_pair(in, y->pids[i]);
        if (a.name != b.name)
            return strv_cmp(intern_str(in, a.name), intern_str(in, b.name));
        return strv_cmp(intern_str(in, a.value), intern_str(in, b.value));
    }
    return x->nlabels < y->nlabels ? -1 : x->nlabels > y->nlabels ? 1 : 0;
}

void series_labels(const struct intern *in, const struct series *sr, struct label *out)
{
    for (uint32_t i = 0; i < sr->nlabels; i++)
        out[i] = series_label(in, sr, i);
}

int series_labels_buf(const struct intern *in, const struct series *sr, struct label **buf,
                      size_t *cap)
{
    if (*cap < sr->nlabels || *buf == NULL) {
        size_t nc = sr->nlabels > 16 ? sr->nlabels : 16;
        struct label *nb = realloc(*buf, nc * sizeof *nb);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = nc;
    }
    series_labels(in, sr, *buf);
    return 0;
}

struct strv series_value_of(const struct intern *in, const struct series *sr, uint32_t name_id)
{
    for (uint32_t i = 0; i < sr->nlabels; i++) {
        struct intern_pair lp = intern_pair(in, sr->pids[i]);
        if (lp.name == name_id)
            return intern_str(in, lp.value);
    }
    return (struct strv){NULL, 0};
}

int series_create(struct storage *s, const struct label *ls, size_t n, uint64_t hash, uint32_t *id)
{
    uint32_t ids_stack[2 * 64], *name_ids = ids_stack;
    if (n > 64) {
        name_ids = malloc(2 * n * sizeof *name_ids);
        if (!name_ids)
            return -ENOMEM;
    }
    uint32_t *value_ids = name_ids + (n > 64 ? n : 64);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* The previous series' string at the same place is the first guess. */
        if (i < s->memo.n && strv_eq(ls[i].name, intern_str(&s->intern, s->memo.name_ids[i])))
            name_ids[i] = s->memo.name_ids[i];
        else
            rc = intern_put(&s->intern, ls[i].name, &name_ids[i]);
        if (rc)
            break;
        if (i < s->memo.n && strv_eq(ls[i].value, intern_str(&s->intern, s->memo.value_ids[i])))
            value_ids[i] = s->memo.value_ids[i];
        else
            rc = intern_put(&s->intern, ls[i].value, &value_ids[i]);
    }
    if (!rc)
        rc = series_create_ids(s, n, hash, name_ids, value_ids, id);
    if (name_ids != ids_stack)
        free(name_ids);
    return rc;
}

int series_create_ids(struct storage *s, size_t n, uint64_t hash, const uint32_t *name_ids,
                      const uint32_t *value_ids, uint32_t *id)
{
    struct series_reg *r = &s->reg;
    uint32_t nid = series_count(r);
    if (nid >= SERIES_MAX_PAGES * SERIES_PAGE_SIZE - 1)
        return TIDE_ELIMIT;
    if ((uint64_t)(nid + 1) * 2 > r->nslots) {
        int rc = grow_slots(r);
        if (rc)
            return rc;
    }
    uint32_t pg = nid >> SERIES_PAGE_BITS;
    if (!r->pages[pg]) {
        struct series *page = calloc(SERIES_PAGE_SIZE, sizeof *page);
        if (!page)
            return -ENOMEM;
        __atomic_store_n(&r->pages[pg], page, __ATOMIC_RELEASE);
    }
    uint32_t *pids = arena_alloc_align(&s->intern.arena, (n ? n : 1) * sizeof *pids,
                                       sizeof *pids);
    if (!pids)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (i < s->memo.n && s->memo.name_ids[i] == name_ids[i] &&
            s->memo.value_ids[i] == value_ids[i]) {
            pids[i] = s->memo.pids[i];
            continue;
        }
        int rc = intern_pair_put(&s->intern, name_ids[i], value_ids[i], &pids[i]);
        if (rc)
            return rc;
    }
    if (!s->postings_deferred) {
        int rc = postings_add(&s->postings, nid, name_ids, value_ids, n);
        if (rc)
            return rc;
    }
    struct series *sr = series_get(r, nid);
    sr->pids = pids;
    sr->nlabels = (uint32_t)n;
    sr->id = nid;
    sr->hash = (uint32_t)hash;
    sr->wal_gen = 0;
    atomic_init(&sr->mint, INT64_MAX);
    atomic_init(&sr->maxt, INT64_MIN);
    head_data_init(&sr->head);
    uint32_t mask = r->nslots - 1, i = (uint32_t)hash & mask;
    while (r->slots[i] != 0)
        i = (i + 1) & mask;
    r->slots[i] = slot_of((uint32_t)hash, nid);
    atomic_store_explicit(&r->n, nid + 1, memory_order_release);
    atomic_fetch_add_explicit(&s->series_created, 1, memory_order_relaxed);
    s->memo.n = n <= SERIES_MEMO_LABELS ? (uint32_t)n : 0;
    for (uint32_t k = 0; k < s->memo.n; k++) {
        s->memo.name_ids[k] = name_ids[k];
        s->memo.value_ids[k] = value_ids[k];
        s->memo.pids[k] = pids[k];
    }
    *id = nid;
    return 0;
}
