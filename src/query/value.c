/* value.c: the evaluator's value types (see eval.h): series and matrices of
 * points, per-step vectors, label-set editing, signatures and the hash maps
 * that group step outputs back into series. Also the guards every loop
 * calls: the sample budget (max_samples) and the deadline.
 * Invariant: a matrix's points are time-ordered within each series, and
 * ev->cur_samples equals the points held by live matrices and slots. */
#include "query/eval.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/time.h"

int eval_errorf(struct eval *ev, int code, const char *fmt, ...)
{
    if (ev->e == NULL)
        return code;
    ev->e->code = code;
    ev->e->line = ev->e->col = 0;
    ev->e->where = ERR_WHERE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->e->msg, sizeof ev->e->msg, fmt, ap);
    va_end(ap);
    return code;
}

int eval_nomem(struct eval *ev)
{
    return eval_errorf(ev, -ENOMEM, "out of memory in query execution");
}

int eval_account(struct eval *ev, long long n)
{
    if (n < 0 && (size_t)-n > ev->cur_samples)
        ev->cur_samples = 0;
    else
        ev->cur_samples = (size_t)((long long)ev->cur_samples + n);
    if (ev->cur_samples > ev->peak_samples)
        ev->peak_samples = ev->cur_samples;
    if (n > 0 && ev->cur_samples > ev->max_samples)
        return eval_errorf(ev, TIDE_ELIMIT,
                           "query processing would load too many samples into memory in query "
                           "execution");
    return 0;
}

int eval_check(struct eval *ev)
{
    if (ev->deadline_ns == 0 || (++ev->tick & 255) != 0)
        return 0;
    if (time_mono_ns() > ev->deadline_ns)
        return eval_errorf(ev, QUERY_ETIMEOUT, "query timed out in expression evaluation");
    return 0;
}

/* ---- matrices ---- */

void matrix_free(struct eval *ev, struct matrix *m)
{
    size_t pts = 0;
    for (size_t i = 0; i < m->n; i++) {
        pts += m->s[i].npts;
        free(m->s[i].pts);
    }
    free(m->s);
    if (ev)
        eval_account(ev, -(long long)pts);
    *m = (struct matrix){0};
}

long matrix_add_series(struct matrix *m, const struct label *ls, size_t nls)
{
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 8;
        struct series *ns = realloc(m->s, nc * sizeof *ns);
        if (ns == NULL)
            return -1;
        m->s = ns;
        m->cap = nc;
    }
    m->s[m->n] = (struct series){.ls = ls, .nls = nls};
    return (long)m->n++;
}

int value_push(struct eval *ev, struct series *s, int64_t t, double v)
{
    if (s->npts == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 4;
        struct sample *np = realloc(s->pts, nc * sizeof *np);
        if (np == NULL)
            return eval_nomem(ev);
        s->pts = np;
        s->cap = nc;
    }
    s->pts[s->npts++] = (struct sample){t, v};
    return eval_account(ev, 1);
}

int value_reserve(struct eval *ev, struct series *s, size_t n)
{
    if (s->cap - s->npts >= n)
        return 0;
    struct sample *np = realloc(s->pts, (s->npts + n) * sizeof *np);
    if (np == NULL)
        return eval_nomem(ev);
    s->pts = np;
    s->cap = s->npts + n;
    return 0;
}

static int cmp_series(const void *a, const void *b)
{
    const struct series *x = a, *y = b;
    return labels_cmp(x->ls, x->nls, y->ls, y->nls);
}

void matrix_sort(struct matrix *m)
{
    if (m->n > 1)
        qsort(m->s, m->n, sizeof *m->s, cmp_series);
}

int vector_push(struct vector *v, const struct label *ls, size_t nls, double val, int64_t t,
                size_t src)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 16;
        struct vsample *ns = realloc(v->s, nc * sizeof *ns);
        if (ns == NULL)
            return -ENOMEM;
        v->s = ns;
        v->cap = nc;
    }
    v->s[v->n++] = (struct vsample){ls, nls, val, t, src};
    return 0;
}

void vector_fini(struct vector *v)
{
    free(v->s);
    *v = (struct vector){0};
}

/* ---- labels ---- */

const struct label *value_labels_copy(struct eval *ev, const struct label *ls, size_t n)
{
    struct label *d = arena_alloc(ev->a, (n ? n : 1) * sizeof *d);
    if (d == NULL)
        return NULL;
    if (n)
        memcpy(d, ls, n * sizeof *d);
    return d;
}

long value_label_find(const struct label *ls, size_t n, struct strv name)
{
    for (size_t i = 0; i < n; i++)
        if (strv_eq(ls[i].name, name))
            return (long)i;
    return -1;
}

int lbuild_reset(struct lbuild *b, const struct label *ls, size_t n)
{
    if (n + 1 > b->cap) {
        size_t nc = (n + 1) * 2;
        struct label *nv = realloc(b->v, nc * sizeof *nv);
        if (nv == NULL)
            return -ENOMEM;
        b->v = nv;
        b->cap = nc;
    }
    if (n)
        memcpy(b->v, ls, n * sizeof *ls);
    b->n = n;
    return 0;
}

void lbuild_del(struct lbuild *b, struct strv name)
{
    for (size_t i = 0; i < b->n; i++) {
        if (strv_eq(b->v[i].name, name)) {
            memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof *b->v);
            b->n--;
            return;
        }
    }
}

int lbuild_set(struct lbuild *b, struct strv name, struct strv value)
{
    if (value.n == 0) {
        lbuild_del(b, name);
        return 0;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (strv_eq(b->v[i].name, name)) {
            b->v[i].value = value;
            return 0;
        }
    }
    if (b->n + 1 > b->cap) {
        size_t nc = (b->n + 1) * 2;
        struct label *nv = realloc(b->v, nc * sizeof *nv);
        if (nv == NULL)
            return -ENOMEM;
        b->v = nv;
        b->cap = nc;
    }
    /* Insert in order. */
    size_t i = b->n;
    while (i > 0 && strv_cmp(b->v[i - 1].name, name) > 0) {
        b->v[i] = b->v[i - 1];
        i--;
    }
    b->v[i] = (struct label){name, value};
    b->n++;
    return 0;
}

void lbuild_keep(struct lbuild *b, const struct strv *names, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < b->n; i++) {
        bool keep = false;
        for (size_t k = 0; k < n && !keep; k++)
            keep = strv_eq(b->v[i].name, names[k]);
        if (keep)
            b->v[j++] = b->v[i];
    }
    b->n = j;
}

void lbuild_sort(struct lbuild *b) { labels_sort(b->v, b->n); }

void lbuild_fini(struct lbuild *b)
{
    free(b->v);
    *b = (struct lbuild){0};
}

static bool in_names(struct strv s, const struct strv *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strv_eq(s, names[i]))
            return true;
    return false;
}

uint64_t value_labels_sig(const struct label *ls, size_t n, const struct strv *names, size_t nnames,
                    bool on)
{
    static const char sep = (char)0xff;
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        bool listed = in_names(ls[i].name, names, nnames);
        if (on ? !listed : (listed || strv_eq_c(ls[i].name, LABEL_METRIC_NAME)))
            continue;
        h = hash_combine(h, ls[i].name.p, ls[i].name.n);
        h = hash_combine(h, &sep, 1);
        h = hash_combine(h, ls[i].value.p, ls[i].value.n);
        h = hash_combine(h, &sep, 1);
    }
    return h;
}

void value_labels_format(const struct label *ls, size_t n, char *dst, size_t cap)
{
    struct buf b;
    buf_init(&b, cap > 1 ? cap - 1 : 1);
    buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_puts(&b, ", ");
        buf_append(&b, ls[i].name.p, ls[i].name.n);
        buf_putc(&b, '=');
        ast_print_quoted(&b, ls[i].value);
    }
    buf_putc(&b, '}');
    snprintf(dst, cap, "%s", b.p ? b.p : "{}");
    buf_fini(&b);
}

/* ---- maps ---- */

size_t lsmap_get(const struct lsmap *mp, const struct matrix *m, const struct label *ls, size_t n,
                 uint64_t h)
{
    if (mp->cap == 0)
        return SIZE_MAX;
    for (size_t i = h & (mp->cap - 1);; i = (i + 1) & (mp->cap - 1)) {
        const struct lsmap_ent *e = &mp->t[i];
        if (e->idx == SIZE_MAX)
            return SIZE_MAX;
        if (e->h == h && labels_cmp(m->s[e->idx].ls, m->s[e->idx].nls, ls, n) == 0)
            return e->idx;
    }
}

int lsmap_put(struct lsmap *mp, uint64_t h, size_t idx)
{
    if ((mp->n + 1) * 2 > mp->cap) {
        size_t nc = mp->cap ? mp->cap * 2 : 16;
        struct lsmap_ent *nt = malloc(nc * sizeof *nt);
        if (nt == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < nc; i++)
            nt[i].idx = SIZE_MAX;
        for (size_t i = 0; i < mp->cap; i++) {
            if (mp->t[i].idx == SIZE_MAX)
                continue;
            size_t j = mp->t[i].h & (nc - 1);
            while (nt[j].idx != SIZE_MAX)
                j = (j + 1) & (nc - 1);
            nt[j] = mp->t[i];
        }
        free(mp->t);
        mp->t = nt;
        mp->cap = nc;
    }
    size_t j = h & (mp->cap - 1);
    while (mp->t[j].idx != SIZE_MAX)
        j = (j + 1) & (mp->cap - 1);
    mp->t[j] = (struct lsmap_ent){h, idx};
    mp->n++;
    return 0;
}

void lsmap_fini(struct lsmap *mp)
{
    free(mp->t);
    *mp = (struct lsmap){0};
}

size_t u64map_get(const struct u64map *m, uint64_t k)
{
    if (m->cap == 0)
        return SIZE_MAX;
    for (size_t i = (k * 0x9e3779b97f4a7c15ULL) >> 7 & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->v[i] == SIZE_MAX)
            return SIZE_MAX;
        if (m->k[i] == k)
            return m->v[i];
    }
}

int u64map_put(struct u64map *m, uint64_t k, size_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        uint64_t *nk = malloc(nc * sizeof *nk);
        size_t *nv = malloc(nc * sizeof *nv);
        if (nk == NULL || nv == NULL) {
            free(nk);
            free(nv);
            return -ENOMEM;
        }
        for (size_t i = 0; i < nc; i++)
            nv[i] = SIZE_MAX;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->v[i] == SIZE_MAX)
                continue;
            size_t j = (m->k[i] * 0x9e3779b97f4a7c15ULL) >> 7 & (nc - 1);
            while (nv[j] != SIZE_MAX)
                j = (j + 1) & (nc - 1);
            nk[j] = m->k[i];
            nv[j] = m->v[i];
        }
        free(m->k);
        free(m->v);
        m->k = nk;
        m->v = nv;
        m->cap = nc;
    }
    size_t j = (k * 0x9e3779b97f4a7c15ULL) >> 7 & (m->cap - 1);
    while (m->v[j] != SIZE_MAX) {
        if (m->k[j] == k) {
            m->v[j] = v;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->k[j] = k;
    m->v[j] = v;
    m->n++;
    return 0;
}

void u64map_clear(struct u64map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        m->v[i] = SIZE_MAX;
    m->n = 0;
}

void u64map_fini(struct u64map *m)
{
    free(m->k);
    free(m->v);
    *m = (struct u64map){0};
}

/* ---- accumulating step outputs ---- */

long accum_series(struct eval *ev, struct accum *ac, const struct label *ls, size_t n)
{
    uint64_t h = labels_hash(ls, n);
    size_t idx = lsmap_get(&ac->map, &ac->m, ls, n, h);
    if (idx != SIZE_MAX)
        return (long)idx;
    const struct label *c = value_labels_copy(ev, ls, n);
    if (c == NULL)
        return eval_nomem(ev);
    long i = matrix_add_series(&ac->m, c, n);
    if (i < 0 || lsmap_put(&ac->map, h, (size_t)i) != 0)
        return eval_nomem(ev);
    return i;
}

int accum_point(struct eval *ev, struct accum *ac, size_t idx, int64_t t, double v)
{
    struct series *s = &ac->m.s[idx];
    if (s->npts > 0 && s->pts[s->npts - 1].t_ms == t)
        return EVAL_EXEC(ev, "vector cannot contain metrics with the same labelset");
    return value_push(ev, s, t, v);
}

/* Points p[0..n) (times ascending) merged into series o in time order,
 * when some of them do not come after o's last. */
static int merge_points(struct eval *ev, struct series *o, const struct sample *p, size_t n)
{
    struct sample *m = malloc((o->npts + n) * sizeof *m);
    if (m == NULL)
        return eval_nomem(ev);
    size_t a = 0, b = 0, k = 0;
    while (a < o->npts || b < n) {
        if (a < o->npts && b < n && o->pts[a].t_ms == p[b].t_ms) {
            free(m);
            return EVAL_EXEC(ev, "vector cannot contain metrics with the same labelset");
        }
        if (b == n || (a < o->npts && o->pts[a].t_ms < p[b].t_ms))
            m[k++] = o->pts[a++];
        else
            m[k++] = p[b++];
    }
    free(o->pts);
    o->pts = m;
    o->npts = o->cap = k;
    return eval_account(ev, (long long)n);
}

int accum_add_points(struct eval *ev, struct accum *ac, size_t idx, const struct sample *p,
                     size_t n)
{
    struct series *s = &ac->m.s[idx];
    if (n == 0)
        return 0;
    if (s->npts > 0 && s->pts[s->npts - 1].t_ms >= p[0].t_ms)
        return merge_points(ev, s, p, n);
    int rc = value_reserve(ev, s, n);
    if (rc != 0)
        return rc;
    memcpy(s->pts + s->npts, p, n * sizeof *p);
    s->npts += n;
    return eval_account(ev, (long long)n);
}

int accum_take_points(struct eval *ev, struct accum *ac, size_t idx, struct sample *pts, size_t n)
{
    struct series *s = &ac->m.s[idx];
    if (n > 0 && s->pts == NULL) {
        s->pts = pts;
        s->npts = s->cap = n;
        return eval_account(ev, (long long)n);
    }
    int rc = accum_add_points(ev, ac, idx, pts, n);
    free(pts);
    return rc;
}

int accum_add(struct eval *ev, struct accum *ac, const struct label *ls, size_t n, int64_t t,
              double v)
{
    long i = accum_series(ev, ac, ls, n);
    if (i < 0)
        return (int)i;
    return accum_point(ev, ac, (size_t)i, t, v);
}

void accum_take(struct accum *ac, struct matrix *out)
{
    /* Series created but never given a point (a later error) stay empty; drop them. */
    size_t j = 0;
    for (size_t i = 0; i < ac->m.n; i++) {
        if (ac->m.s[i].npts == 0) {
            free(ac->m.s[i].pts);
            continue;
        }
        ac->m.s[j++] = ac->m.s[i];
    }
    ac->m.n = j;
    *out = ac->m;
    ac->m = (struct matrix){0};
    lsmap_fini(&ac->map);
}

void accum_fini(struct eval *ev, struct accum *ac)
{
    matrix_free(ev, &ac->m);
    lsmap_fini(&ac->map);
}

/* ---- steppers ---- */

int stepper_init(struct stepper *s, const struct matrix *m)
{
    *s = (struct stepper){.m = m};
    s->cur = calloc(m->n ? m->n : 1, sizeof *s->cur);
    return s->cur ? 0 : -ENOMEM;
}

int stepper_at(struct stepper *s, int64_t ts)
{
    s->v.n = 0;
    for (size_t i = 0; i < s->m->n; i++) {
        const struct series *se = &s->m->s[i];
        size_t c = s->cur[i];
        while (c < se->npts && se->pts[c].t_ms < ts)
            c++;
        s->cur[i] = c;
        if (c < se->npts && se->pts[c].t_ms == ts) {
            if (vector_push(&s->v, se->ls, se->nls, se->pts[c].v, ts, i) != 0)
                return -ENOMEM;
        }
    }
    return 0;
}

void stepper_fini(struct stepper *s)
{
    free(s->cur);
    vector_fini(&s->v);
}

double value_scalar_at(const struct matrix *m, size_t step)
{
    if (m->n == 0 || step >= m->s[0].npts)
        return NAN;
    return m->s[0].pts[step].v;
}

double value_go_max(double a, double b)
{
    if (isinf(a) && a > 0)
        return a;
    if (isinf(b) && b > 0)
        return b;
    if (isnan(a) || isnan(b))
        return NAN;
    if (a == 0 && b == 0)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

double value_go_min(double a, double b)
{
    if (isinf(a) && a < 0)
        return a;
    if (isinf(b) && b < 0)
        return b;
    if (isnan(a) || isnan(b))
        return NAN;
    if (a == 0 && b == 0)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}
