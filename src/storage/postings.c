/* postings.c: the in-memory inverted index, label name -> value -> sorted
 * list of series ids, and the evaluation of matchers over it.
 *
 * series.c indexes every new series here; querier.c resolves a selector to
 * ids here before touching any sample. Matchers follow Prometheus: a matcher
 * that does not match the empty string selects the union of the postings of
 * the values it matches (intersected with the rest); one that matches ""
 * also selects series without the label, so it is applied as "all minus the
 * union of the values it does NOT match". Positive sets are intersected
 * smallest first; negative ones subtracted last.
 * Invariant: every list is sorted ascending and unique, because ids are
 * handed out in increasing order and a series is indexed once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"

void postings_init(struct postings *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->order_mu, NULL);
}

void postings_fini(struct postings *p)
{
    for (uint32_t i = 0; i < p->nnames; i++) {
        struct postings_name *pn = p->by_intern[p->names[i]];
        for (uint32_t j = 0; j < pn->nvalues; j++)
            postings_list_free(&pn->values[j].list);
        free(pn->values);
        free(pn->slots);
        free(pn->order);
        free(pn);
    }
    free(p->by_intern);
    free(p->names);
    pthread_mutex_destroy(&p->order_mu);
    memset(p, 0, sizeof *p);
}

static uint32_t hash_id(uint32_t v)
{
    v ^= v >> 16;
    v *= 0x7feb352dU;
    v ^= v >> 15;
    v *= 0x846ca68bU;
    v ^= v >> 16;
    return v;
}

static int name_grow_slots(struct postings_name *pn)
{
    uint32_t nslots = pn->nslots ? pn->nslots * 2 : 8;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (uint32_t j = 0; j < pn->nvalues; j++) {
        uint32_t i = hash_id(pn->values[j].value) & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = j + 1;
    }
    free(pn->slots);
    pn->slots = slots;
    pn->nslots = nslots;
    return 0;
}

static uint32_t name_find(const struct postings_name *pn, uint32_t value_id)
{
    if (pn->nslots == 0)
        return UINT32_MAX;
    uint32_t mask = pn->nslots - 1;
    for (uint32_t i = hash_id(value_id) & mask;; i = (i + 1) & mask) {
        uint32_t v = pn->slots[i];
        if (v == 0)
            return UINT32_MAX;
        if (pn->values[v - 1].value == value_id)
            return v - 1;
    }
}

static struct postings_name *name_get_or_add(struct postings *p, uint32_t name_id)
{
    if (name_id >= p->cap_by_intern) {
        uint32_t cap = p->cap_by_intern ? p->cap_by_intern : 1024;
        while (cap <= name_id)
            cap *= 2;
        struct postings_name **v = realloc(p->by_intern, cap * sizeof *v);
        if (!v)
            return NULL;
        memset(v + p->cap_by_intern, 0, (cap - p->cap_by_intern) * sizeof *v);
        p->by_intern = v;
        p->cap_by_intern = cap;
    }
    if (p->by_intern[name_id])
        return p->by_intern[name_id];
    if (p->nnames == p->cap_names) {
        uint32_t cap = p->cap_names ? p->cap_names * 2 : 64;
        uint32_t *v = realloc(p->names, cap * sizeof *v);
        if (!v)
            return NULL;
        p->names = v;
        p->cap_names = cap;
    }
    struct postings_name *pn = calloc(1, sizeof *pn);
    if (!pn)
        return NULL;
    pn->name = name_id;
    p->by_intern[name_id] = pn;
    p->names[p->nnames++] = name_id;
    return pn;
}

int postings_add(struct postings *p, uint32_t id, const uint32_t *name_ids,
                 const uint32_t *value_ids, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct postings_name *pn = name_get_or_add(p, name_ids[k]);
        if (!pn)
            return -ENOMEM;
        /* Series often come in label order (block loads, sorted batches):
         * the value of the previous one is the first guess. */
        uint32_t j = pn->last < pn->nvalues && pn->values[pn->last].value == value_ids[k]
                         ? pn->last
                         : name_find(pn, value_ids[k]);
        if (j == UINT32_MAX) {
            if ((uint64_t)(pn->nvalues + 1) * 2 > pn->nslots && name_grow_slots(pn))
                return -ENOMEM;
            if (pn->nvalues == pn->cap_values) {
                uint32_t cap = pn->cap_values ? pn->cap_values * 2 : 4;
                struct postings_value *v = realloc(pn->values, cap * sizeof *v);
                if (!v)
                    return -ENOMEM;
                pn->values = v;
                pn->cap_values = cap;
            }
            j = pn->nvalues++;
            pn->values[j] = (struct postings_value){.value = value_ids[k]};
            uint32_t mask = pn->nslots - 1, i = hash_id(value_ids[k]) & mask;
            while (pn->slots[i])
                i = (i + 1) & mask;
            pn->slots[i] = j + 1;
        }
        pn->last = j;
        int rc = postings_list_push(&pn->values[j].list, id);
        if (rc)
            return rc;
        pn->series++;
    }
    return 0;
}

const struct postings_name *postings_name_get(const struct postings *p, uint32_t name_id)
{
    if (name_id >= p->cap_by_intern)
        return NULL;
    return p->by_intern[name_id];
}

const struct postings_list *postings_get(const struct postings *p, uint32_t name_id,
                                         uint32_t value_id)
{
    const struct postings_name *pn = postings_name_get(p, name_id);
    if (!pn)
        return NULL;
    uint32_t j = name_find(pn, value_id);
    return j == UINT32_MAX ? NULL : &pn->values[j].list;
}

static int cmp_value_at(const void *a, const void *b, void *ctx)
{
    const struct postings_name *pn = ((const void **)ctx)[0];
    const struct intern *in = ((const void **)ctx)[1];
    return strv_cmp(intern_str(in, pn->values[*(const uint32_t *)a].value),
                    intern_str(in, pn->values[*(const uint32_t *)b].value));
}

int postings_value_order(struct postings *p, const struct intern *in, uint32_t name_id,
                         const uint32_t **order)
{
    struct postings_name *pn = name_id < p->cap_by_intern ? p->by_intern[name_id] : NULL;
    *order = NULL;
    if (!pn)
        return 0;
    if (pn->norder < pn->nvalues) {
        /* Sort the values added since, then merge them into the order. */
        uint32_t old = pn->norder, n = pn->nvalues;
        uint32_t *v = malloc((size_t)n * 2 * sizeof *v);
        if (!v)
            return -ENOMEM;
        uint32_t *fresh = v + n;
        for (uint32_t j = old; j < n; j++)
            fresh[j - old] = j;
        const void *ctx[2] = {pn, in};
        qsort_r(fresh, n - old, sizeof *fresh, cmp_value_at, ctx);
        uint32_t a = 0, b = 0, k = 0;
        while (a < old || b < n - old) {
            if (b == n - old || (a < old && cmp_value_at(&pn->order[a], &fresh[b], ctx) < 0))
                v[k++] = pn->order[a++];
            else
                v[k++] = fresh[b++];
        }
        uint32_t *fit = realloc(v, (size_t)n * sizeof *v);
        free(pn->order);
        pn->order = fit ? fit : v;
        pn->norder = n;
    }
    *order = pn->order;
    return 0;
}

/* ---- sorted set operations ---- */

/* First index i >= lo with a[i] >= x, galloping from lo. */
static size_t gallop(const uint32_t *a, size_t lo, size_t n, uint32_t x)
{
    size_t step = 1, hi = lo;
    while (hi < n && a[hi] < x) {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    if (hi > n)
        hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t *alloc_ids(size_t n)
{
    return malloc((n ? n : 1) * sizeof(uint32_t));
}

int postings_intersect(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t **out,
                       size_t *n)
{
    if (na > nb) {
        const uint32_t *t = a;
        a = b;
        b = t;
        size_t tn = na;
        na = nb;
        nb = tn;
    }
    uint32_t *o = alloc_ids(na);
    if (!o)
        return -ENOMEM;
    size_t k = 0, j = 0;
    bool skewed = nb > 16 * na;
    for (size_t i = 0; i < na && j < nb; i++) {
        if (skewed) {
            j = gallop(b, j, nb, a[i]);
        } else {
            while (j < nb && b[j] < a[i])
                j++;
        }
        if (j < nb && b[j] == a[i])
            o[k++] = a[i];
    }
    *out = o;
    *n = k;
    return 0;
}

int postings_union(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t **out,
                   size_t *n)
{
    uint32_t *o = alloc_ids(na + nb);
    if (!o)
        return -ENOMEM;
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) {
            o[k++] = a[i++];
        } else if (b[j] < a[i]) {
            o[k++] = b[j++];
        } else {
            o[k++] = a[i++];
            j++;
        }
    }
    while (i < na)
        o[k++] = a[i++];
    while (j < nb)
        o[k++] = b[j++];
    *out = o;
    *n = k;
    return 0;
}

int postings_subtract(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t **out,
                      size_t *n)
{
    uint32_t *o = alloc_ids(na);
    if (!o)
        return -ENOMEM;
    size_t k = 0, j = 0;
    bool skewed = na > 16 * nb;
    for (size_t i = 0; i < na; i++) {
        if (skewed) {
            if (j < nb && b[j] < a[i])
                j = gallop(b, j, nb, a[i]);
        } else {
            while (j < nb && b[j] < a[i])
                j++;
        }
        if (j < nb && b[j] == a[i])
            continue;
        o[k++] = a[i];
    }
    *out = o;
    *n = k;
    return 0;
}

/* ---- matcher evaluation ---- */

/* A set of ids owned (malloc'd) or borrowed from a postings list. */
struct idset {
    uint32_t *ids;
    size_t n;
    bool owned;
};

static void idset_free(struct idset *s)
{
    if (s->owned)
        free(s->ids);
    *s = (struct idset){0};
}

/* The ids of list l as an idset: borrowed when plain, decoded when packed. */
static int idset_of(const struct postings_list *l, struct idset *s)
{
    const uint32_t *ids;
    uint32_t *owned;
    int rc = postings_list_ids(l, &ids, &owned);
    if (rc)
        return rc;
    *s = (struct idset){(uint32_t *)ids, l->n, owned != NULL};
    return 0;
}

/* The signature postings_intersect/union/subtract share. */
typedef int setop_fn(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t **out,
                     size_t *n);

/* *s = op(*s, b), the old ids freed when owned. On error *s is unchanged. */
static int idset_apply(struct idset *s, setop_fn *op, const uint32_t *b, size_t nb)
{
    uint32_t *r;
    size_t nr;
    int rc = op(s->ids, s->n, b, nb, &r, &nr);
    if (rc)
        return rc;
    idset_free(s);
    *s = (struct idset){r, nr, true};
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Union of k sorted lists (k > 2, `total` ids in all) in one pass rather
 * than k pairwise merges (quadratic in k: a regex over 8 000 instances made
 * that most of a rule evaluation). Dense unions mark a bitmap of `nseries`
 * bits and read it back in order; sparse ones sort the concatenation. Ids
 * >= nseries (indexed by a concurrent series_create) are dropped, as
 * postings_select drops them anyway. */
static int union_many(const struct postings_list **ls, size_t k, size_t total, uint32_t nseries,
                      struct idset *out)
{
    uint32_t *o = alloc_ids(total);
    if (!o)
        return -ENOMEM;
    size_t n = 0;
    size_t words = ((size_t)nseries + 63) / 64;
    if (words <= 2 * total) {
        uint64_t *bits = calloc(words ? words : 1, sizeof *bits);
        if (!bits) {
            free(o);
            return -ENOMEM;
        }
        for (size_t i = 0; i < k; i++) {
            struct postings_cursor c;
            postings_cursor_init(&c, ls[i]);
            while (postings_cursor_next(&c))
                if (c.id < nseries)
                    bits[c.id / 64] |= UINT64_C(1) << (c.id % 64);
        }
        for (size_t w = 0; w < words; w++)
            for (uint64_t b = bits[w]; b; b &= b - 1)
                o[n++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(b));
        free(bits);
    } else {
        for (size_t i = 0; i < k; i++) {
            struct postings_cursor c;
            postings_cursor_init(&c, ls[i]);
            while (postings_cursor_next(&c))
                if (c.id < nseries)
                    o[n++] = c.id;
        }
        qsort(o, n, sizeof *o, cmp_u32);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (u == 0 || o[u - 1] != o[i])
                o[u++] = o[i];
        n = u;
    }
    *out = (struct idset){o, n, true};
    return 0;
}

/* Union of the postings of the values of `pn` for which m matches == want:
 * borrowed when one value matches, merged when two do, else built by
 * union_many(). */
static int union_values(const struct postings_name *pn, const struct intern *in,
                        const struct matcher *m, bool want, uint32_t nseries, struct idset *out)
{
    *out = (struct idset){0};
    if (!pn)
        return 0;
    const struct postings_list *one[1], **ls = one;
    size_t k = 0, cap = 1, total = 0;
    int rc = 0;
    for (uint32_t j = 0; j < pn->nvalues; j++) {
        const struct postings_value *pv = &pn->values[j];
        if (matcher_matches(m, intern_str(in, pv->value)) != want)
            continue;
        if (k == cap) {
            size_t ncap = cap * 2 < 16 ? 16 : cap * 2;
            const struct postings_list **nl = malloc(ncap * sizeof *nl);
            if (!nl) {
                rc = -ENOMEM;
                goto done;
            }
            memcpy(nl, ls, k * sizeof *nl);
            if (ls != one)
                free(ls);
            ls = nl;
            cap = ncap;
        }
        ls[k++] = &pv->list;
        total += pv->list.n;
    }
    if (k == 1) {
        rc = idset_of(ls[0], out);
    } else if (k == 2) { /* a|b: one merge */
        struct idset a, b;
        rc = idset_of(ls[0], &a);
        if (rc == 0) {
            rc = idset_of(ls[1], &b);
            if (rc == 0) {
                uint32_t *ids;
                size_t n;
                rc = postings_union(a.ids, a.n, b.ids, b.n, &ids, &n);
                if (rc == 0)
                    *out = (struct idset){ids, n, true};
                idset_free(&b);
            }
            idset_free(&a);
        }
    } else if (k > 2) {
        rc = union_many(ls, k, total, nseries, out);
    }
done:
    if (ls != one)
        free(ls);
    return rc;
}

/* The series a matcher selects, as a positive set (`*neg` false) or as a set
 * to subtract from everything (`*neg` true). */
static int eval_matcher(const struct postings *p, const struct intern *in, uint32_t nseries,
                        const struct matcher *m, struct idset *out, bool *neg)
{
    struct strv name = {m->name, strlen(m->name)};
    struct strv value = {m->value, m->value_len};
    uint32_t nid = intern_find(in, name);
    const struct postings_name *pn = nid == UINT32_MAX ? NULL : postings_name_get(p, nid);
    bool empty_ok = matcher_matches(m, (struct strv){"", 0});
    *neg = empty_ok;
    *out = (struct idset){0};
    if ((m->type == MATCH_EQ && value.n > 0) || (m->type == MATCH_NE && value.n > 0)) {
        /* One value: =x selects its list; !=x subtracts it. */
        uint32_t vid = intern_find(in, value);
        const struct postings_list *l = (pn && vid != UINT32_MAX) ? postings_get(p, nid, vid) : NULL;
        return l ? idset_of(l, out) : 0;
    }
    /* Positive: values it matches. Negative: values it does not match. */
    return union_values(pn, in, m, !empty_ok, nseries, out);
}

int postings_select(const struct postings *p, const struct intern *in, uint32_t nseries,
                    const struct matcher *m, size_t nm, uint32_t **out, size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    struct idset *pos = calloc(nm ? nm : 1, sizeof *pos), *negs = calloc(nm ? nm : 1, sizeof *negs);
    size_t npos = 0, nneg = 0;
    struct idset acc = {0};
    int rc = 0;
    if (!pos || !negs) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nm; i++) {
        struct idset s;
        bool neg;
        rc = eval_matcher(p, in, nseries, &m[i], &s, &neg);
        if (rc)
            goto done;
        if (neg)
            negs[nneg++] = s;
        else
            pos[npos++] = s;
    }
    if (npos > 0) {
        /* Start from the most selective positive set. */
        size_t best = 0;
        for (size_t i = 1; i < npos; i++)
            if (pos[i].n < pos[best].n)
                best = i;
        uint32_t *ids = alloc_ids(pos[best].n);
        if (!ids) {
            rc = -ENOMEM;
            goto done;
        }
        if (pos[best].n > 0)
            memcpy(ids, pos[best].ids, pos[best].n * sizeof *ids);
        acc = (struct idset){ids, pos[best].n, true};
        for (size_t i = 0; i < npos && acc.n > 0; i++) {
            if (i == best)
                continue;
            rc = idset_apply(&acc, postings_intersect, pos[i].ids, pos[i].n);
            if (rc)
                goto done;
        }
    } else {
        uint32_t *ids = alloc_ids(nseries);
        if (!ids) {
            rc = -ENOMEM;
            goto done;
        }
        for (uint32_t i = 0; i < nseries; i++)
            ids[i] = i;
        acc = (struct idset){ids, nseries, true};
    }
    for (size_t i = 0; i < nneg && acc.n > 0; i++) {
        if (negs[i].n == 0)
            continue;
        rc = idset_apply(&acc, postings_subtract, negs[i].ids, negs[i].n);
        if (rc)
            goto done;
    }
    /* A concurrent series_create() may have indexed ids >= nseries already. */
    while (acc.n > 0 && acc.ids[acc.n - 1] >= nseries)
        acc.n--;
    *out = acc.ids;
    *n = acc.n;
    acc = (struct idset){0};
done:
    if (rc == -ENOMEM)
        ERR_SET(e, rc, "out of memory resolving matchers");
    for (size_t i = 0; pos && i < npos; i++)
        idset_free(&pos[i]);
    for (size_t i = 0; negs && i < nneg; i++)
        idset_free(&negs[i]);
    idset_free(&acc);
    free(pos);
    free(negs);
    return rc;
}
