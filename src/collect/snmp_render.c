/* snmp_render.c: one poll's varbinds turned into series of a module
 * (snmp.h), the step between the engine and the targets manager's batch.
 *
 * The result is sorted by OID, so a column is a contiguous run found by
 * binary search, and a row of another column (a fallback) is one exact
 * search: O((rows × columns) log n) per poll, no hashing, no copies beyond
 * the label strings the batch keeps. A lookup column is read in the order
 * of the metric's rows, so each lookup keeps a cursor (the entry after its
 * last hit) and tries it before searching: O(1) per row when the columns
 * share their rows, as an ifTable's do.
 *
 * Every column of a table has the same rows, so a row's labels (its index
 * text and lookups) are made once per render: the row's n-th metric
 * reuses the strings the first one put in the batch (struct row_memo,
 * keyed by the row's place in its column and checked against its index).
 *
 * Per indexed metric, per row of its column with a numeric value: labels
 * __name__, <index>=<row suffix, dotted> and every lookup on that index
 * whose value is not empty. Rows only the fallback column has use its
 * value. Values without a number (noSuchInstance, strings) give no series.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect/snmp.h"
#include "core/mem.h"

#define TEXT_MAX 1024 /* bytes of a label value read from a device */
#define CURSORS 16    /* lookups with a cursor; more are searched each time */

/* The labels of the rows rendered so far, by their place in their column:
 * row k's index label and lookups, strings in the batch's arena. One render
 * owns it (malloc'd arrays, freed at its end). */
struct row_memo {
    struct row {
        const char *index;      /* the index label's name */
        const uint32_t *suffix; /* the row's index (in the result) */
        size_t sn;
        size_t off, n; /* labels[off ..+n] */
    } *rows;
    size_t nrows, cap_rows;
    struct label *labels;
    size_t nlabels, cap_labels;
};

void snmp_module_request(const struct snmp_module *m, int max_repetitions, struct snmp_request *out)
{
    out->get = m->get;
    out->nget = m->nget;
    out->walk = m->walk;
    out->nwalk = m->nwalk;
    out->max_repetitions = max_repetitions;
}

/* First index whose OID is >= o. */
static size_t lower(const struct snmp_result *r, const uint32_t *o, size_t on)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (snmp_oid_cmp(r->v[mid].oid, r->v[mid].oid_n, o, on) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The varbind at column.suffix, NULL when absent. `cursor` (NULL = none)
 * is the index to try first; it is left just past the answer, or at the
 * place the row would be. */
static const struct snmp_vb *at_from(const struct snmp_result *r, const struct snmp_oid *col,
                                     const uint32_t *suffix, size_t sn, size_t *cursor)
{
    uint32_t key[SNMP_OID_MAX * 2];
    if (col->n + sn > sizeof key / sizeof key[0])
        return NULL;
    memcpy(key, col->v, col->n * sizeof *key);
    memcpy(key + col->n, suffix, sn * sizeof *key);
    size_t kn = col->n + sn;
    if (cursor && *cursor < r->n &&
        snmp_oid_cmp(r->v[*cursor].oid, r->v[*cursor].oid_n, key, kn) == 0)
        return &r->v[(*cursor)++];
    size_t i = lower(r, key, kn);
    bool hit = i < r->n && snmp_oid_cmp(r->v[i].oid, r->v[i].oid_n, key, kn) == 0;
    if (cursor)
        *cursor = hit ? i + 1 : i;
    return hit ? &r->v[i] : NULL;
}

static const struct snmp_vb *at(const struct snmp_result *r, const struct snmp_oid *col,
                                const uint32_t *suffix, size_t sn)
{
    return at_from(r, col, suffix, sn, NULL);
}

static int label(struct batch *b, const char *name, const char *value, size_t n)
{
    char *v = batch_strdup(b, value, n);
    if (v == NULL)
        return -ENOMEM;
    return batch_add_label(b, strv_c(name), (struct strv){v, n});
}

static int label_from(struct batch *b, const char *name, const struct snmp_vb *vb)
{
    char text[TEXT_MAX];
    size_t n = vb ? snmp_value_text(vb, text, sizeof text) : 0;
    return n > 0 ? label(b, name, text, n) : 0;
}

/* Row k's memo entry when it is this row of this index, else NULL. */
static const struct row *memo_find(const struct row_memo *mm, size_t k, const char *index,
                                   const uint32_t *suffix, size_t sn)
{
    if (mm == NULL || k >= mm->nrows)
        return NULL;
    const struct row *w = &mm->rows[k];
    if (w->index == NULL || strcmp(w->index, index) != 0 ||
        snmp_oid_cmp(w->suffix, w->sn, suffix, sn) != 0)
        return NULL;
    return w;
}

/* Remember the labels of out's open series from label `from` on as row k.
 * A failed allocation only leaves the row unremembered. */
static void memo_put(struct row_memo *mm, size_t k, const char *index, const uint32_t *suffix,
                     size_t sn, const struct batch *out, size_t from)
{
    size_t n = out->nlabels - from;
    if (mm == NULL || mem_grow((void **)&mm->rows, &mm->cap_rows, k + 1, sizeof *mm->rows) != 0 ||
        mem_grow((void **)&mm->labels, &mm->cap_labels, mm->nlabels + n, sizeof *mm->labels) != 0)
        return;
    while (mm->nrows <= k)
        mm->rows[mm->nrows++] = (struct row){0};
    memcpy(&mm->labels[mm->nlabels], &out->labels[from], n * sizeof *mm->labels);
    mm->rows[k] = (struct row){index, suffix, sn, mm->nlabels, n};
    mm->nlabels += n;
}

/* The row's labels: its index as text and its lookups, made once per row
 * (k: its place in its column; mm NULL: no memo). */
static int row_labels(const struct snmp_module *m, const char *index, const struct snmp_result *r,
                      const uint32_t *suffix, size_t sn, size_t k, size_t *cursor,
                      struct row_memo *mm, struct batch *out)
{
    const struct row *w = memo_find(mm, k, index, suffix, sn);
    if (w != NULL) {
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < w->n; i++)
            rc = batch_add_label(out, mm->labels[w->off + i].name, mm->labels[w->off + i].value);
        return rc;
    }
    size_t from = out->nlabels;
    char idx[SNMP_OID_MAX * 11];
    snmp_oid_format(suffix, sn, idx, sizeof idx);
    int rc = label(out, index, idx, strlen(idx));
    for (size_t i = 0; rc == 0 && i < m->nlookups; i++) {
        const struct snmp_lookup *l = &m->lookups[i];
        if (strcmp(l->index, index) == 0 && strcmp(l->label, index) != 0)
            rc = label_from(
                out, l->label,
                at_from(r, &l->oid, suffix, sn, cursor && i < CURSORS ? &cursor[i] : NULL));
    }
    if (rc == 0)
        memo_put(mm, k, index, suffix, sn, out, from);
    return rc;
}

/* One series: name, index row (NULL for a scalar; k its place in its
 * column), lookups, value. cursor[i] is lookup i's cursor (i < CURSORS),
 * NULL for none. */
static int emit(const struct snmp_module *m, const struct snmp_metric *mt,
                const struct snmp_result *r, const uint32_t *suffix, size_t sn, size_t k,
                int64_t now_ms, double v, size_t *cursor, struct row_memo *mm, struct batch *out)
{
    int rc = batch_begin_series(out);
    if (rc == 0)
        rc = batch_add_label(out, STRV_LIT("__name__"), strv_c(mt->name));
    if (rc == 0 && mt->index)
        rc = row_labels(m, mt->index, r, suffix, sn, k, cursor, mm, out);
    if (rc == 0 && mt->type == SNMP_INFO) {
        static const uint32_t zero[1] = {0};
        for (size_t i = 0; rc == 0 && i < mt->nlabels; i++)
            rc = label_from(out, mt->labels[i].label,
                            mt->index ? at(r, &mt->labels[i].oid, suffix, sn)
                                      : at(r, &mt->labels[i].oid, zero, 1));
    }
    if (rc == 0)
        rc = batch_add_sample(out, now_ms, v);
    if (rc == 0)
        rc = batch_end_series(out);
    if (rc != 0) {
        batch_abort_series(out);
        return rc == -ENOMEM ? rc : 0; /* a label the batch refuses drops the series */
    }
    return 1;
}

static int render_metric(const struct snmp_module *m, const struct snmp_metric *mt,
                         const struct snmp_result *r, int64_t now_ms, struct row_memo *mm,
                         struct batch *out)
{
    int n = 0, rc;
    double v;
    if (mt->index == NULL) {
        static const uint32_t zero[1] = {0};
        if (mt->type == SNMP_INFO) {
            bool any = false;
            for (size_t i = 0; i < mt->nlabels; i++)
                any |= at(r, &mt->labels[i].oid, zero, 1) != NULL;
            return any ? emit(m, mt, r, NULL, 0, 0, now_ms, 1, NULL, NULL, out) : 0;
        }
        const struct snmp_vb *vb = at(r, &mt->oid, zero, 1);
        if (vb == NULL || snmp_value_number(vb, &v) != 0)
            return 0;
        return emit(m, mt, r, NULL, 0, 0, now_ms, v, NULL, NULL, out);
    }
    size_t cursor[CURSORS] = {0};
    size_t k = 0; /* the row's place in the column */
    const struct snmp_oid *col = mt->type == SNMP_INFO ? &mt->labels[0].oid : &mt->oid;
    for (size_t i = lower(r, col->v, col->n); i < r->n; i++) {
        const struct snmp_vb *vb = &r->v[i];
        if (!snmp_oid_under(vb->oid, vb->oid_n, col) || vb->oid_n == col->n)
            break;
        size_t row = k++;
        if (mt->type == SNMP_INFO)
            v = 1;
        else if (snmp_value_number(vb, &v) != 0)
            continue;
        rc = emit(m, mt, r, vb->oid + col->n, vb->oid_n - col->n, row, now_ms, v, cursor, mm, out);
        if (rc < 0)
            return rc;
        n += rc;
    }
    if (!mt->has_fallback)
        return n;
    const struct snmp_oid *fb = &mt->fallback;
    for (size_t i = lower(r, fb->v, fb->n); i < r->n; i++) {
        const struct snmp_vb *vb = &r->v[i];
        if (!snmp_oid_under(vb->oid, vb->oid_n, fb) || vb->oid_n == fb->n)
            break;
        double pv;
        const struct snmp_vb *p = at(r, col, vb->oid + fb->n, vb->oid_n - fb->n);
        if ((p != NULL && snmp_value_number(p, &pv) == 0) || snmp_value_number(vb, &v) != 0)
            continue;
        /* rows only the fallback has: rare, not worth a memo entry */
        rc = emit(m, mt, r, vb->oid + fb->n, vb->oid_n - fb->n, 0, now_ms, v, cursor, NULL, out);
        if (rc < 0)
            return rc;
        n += rc;
    }
    return n;
}

int snmp_render(const struct snmp_module *m, const struct snmp_result *res, int64_t now_ms,
                struct batch *out)
{
    int total = 0;
    struct row_memo mm = {0};
    for (size_t i = 0; i < m->nmetrics; i++) {
        int rc = render_metric(m, &m->metrics[i], res, now_ms, &mm, out);
        if (rc < 0) {
            total = rc;
            break;
        }
        total += rc;
    }
    free(mm.rows);
    free(mm.labels);
    return total;
}
