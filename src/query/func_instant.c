/* func_instant.c: PromQL functions over instant vectors and scalars, applied
 * one step at a time by eval.c: the math functions, round, clamp*, time,
 * timestamp, vector, scalar, sort*, absent, label_replace, label_join and the
 * date functions. histogram_quantile is in histogram.c.
 *
 * Like Prometheus 2.42, the math and date functions drop __name__; sort,
 * label_replace and label_join keep it. label_replace compiles its regex
 * once per call, anchored as ^(?:re)$ (PCRE2 standing in for Go's RE2), and
 * expands $1, ${1}, $name and ${name} by Go's Regexp.Expand rules. Output
 * label sets built per input series are memoised for the whole call, keyed
 * by the series' index in the argument (vsample.src). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "query/eval.h"
#include "query/gomath.h"

#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void func_instant_fini(struct fstate *st)
{
    if (st->md)
        pcre2_match_data_free(st->md);
    if (st->re)
        pcre2_code_free(st->re);
    u64map_fini(&st->cache);
    free(st->memo.s);
    *st = (struct fstate){0};
}

/* The memo: input series -> output label set. The key is the sample's
 * `src`, its series' index in the argument matrix that eval_call() steps
 * through: that matrix lives for the whole call and a series' labels do not
 * change between steps, so the output labels are computed once per series
 * and no step hashes a label set. memo.s[i].ls is the input (kept for
 * debugging); the output is an arena pointer pair kept in memo.s[i].pts. */
struct memo_out {
    const struct label *ls;
    size_t nls;
};

static struct memo_out *memo_get(struct fstate *st, size_t src)
{
    size_t i = u64map_get(&st->cache, (uint64_t)src);
    if (i == SIZE_MAX)
        return NULL;
    return (struct memo_out *)(void *)st->memo.s[i].pts;
}

static int memo_put(struct eval *ev, struct fstate *st, const struct label *ls, size_t n,
                    size_t src, const struct label *out, size_t nout)
{
    struct memo_out *mo = arena_alloc(ev->a, sizeof *mo);
    if (mo == NULL)
        return eval_nomem(ev);
    mo->ls = out;
    mo->nls = nout;
    long i = matrix_add_series(&st->memo, ls, n);
    if (i < 0)
        return eval_nomem(ev);
    st->memo.s[i].pts = (struct sample *)(void *)mo;
    return u64map_put(&st->cache, (uint64_t)src, (size_t)i) ? eval_nomem(ev) : 0;
}

/* Push input sample s to out with labels ls. */
static int push_as(struct eval *ev, struct vector *out, const struct vsample *s,
                   const struct label *ls, size_t n)
{
    return vector_push(out, ls, n, s->v, s->t, s->src) ? eval_nomem(ev) : 0;
}

/* Memoise ls as s's output labels and push s with them. */
static int push_memo(struct eval *ev, struct fstate *st, const struct vsample *s,
                     const struct label *ls, size_t n, struct vector *out)
{
    int rc = memo_put(ev, st, s->ls, s->nls, s->src, ls, n);
    return rc != 0 ? rc : push_as(ev, out, s, ls, n);
}

/* Set label `name` to the bytes v[0..n) in b, both copied into the arena. */
static int set_label_copy(struct eval *ev, struct lbuild *b, struct strv name, const char *v,
                           size_t n)
{
    char *vc = arena_strndup(ev->a, v, n);
    char *nc = arena_strndup(ev->a, name.p, name.n);
    if (vc == NULL || nc == NULL || lbuild_set(b, (struct strv){nc, name.n}, (struct strv){vc, n}))
        return eval_nomem(ev);
    return 0;
}

static struct strv arg_str(const struct ast_node *n, size_t i)
{
    return ast_unparen(n->u.call.args[i])->u.str;
}

/* ---- label_replace ---- */

static bool is_name_char(unsigned char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c >= 0x80;
}

/* Go's Regexp.ExpandString(dst, template, src, match). */
static int expand(struct buf *dst, struct strv tmpl, struct strv src, const pcre2_code *re,
                  const PCRE2_SIZE *ov, uint32_t npairs)
{
    size_t i = 0;
    int rc = 0;
    while (i < tmpl.n) {
        const char *d = memchr(tmpl.p + i, '$', tmpl.n - i);
        if (d == NULL)
            break;
        size_t at = (size_t)(d - tmpl.p);
        rc |= buf_append(dst, tmpl.p + i, at - i);
        i = at + 1;
        if (i < tmpl.n && tmpl.p[i] == '$') {
            rc |= buf_putc(dst, '$');
            i++;
            continue;
        }
        /* extract(): name or {name} */
        size_t j = i;
        bool brace = false;
        if (j < tmpl.n && tmpl.p[j] == '{') {
            brace = true;
            j++;
        }
        size_t ns = j;
        while (j < tmpl.n && is_name_char((unsigned char)tmpl.p[j]))
            j++;
        size_t nlen = j - ns;
        bool ok = nlen > 0;
        if (ok && brace) {
            if (j >= tmpl.n || tmpl.p[j] != '}')
                ok = false;
            else
                j++;
        }
        if (!ok) {
            rc |= buf_putc(dst, '$');
            continue;
        }
        const char *name = tmpl.p + ns;
        long num = 0;
        for (size_t k = 0; k < nlen; k++) {
            if (name[k] < '0' || name[k] > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (name[k] - '0');
        }
        if (name[0] == '0' && nlen > 1)
            num = -1;
        if (num < 0) {
            char nm[256];
            if (nlen < sizeof nm) {
                memcpy(nm, name, nlen);
                nm[nlen] = 0;
                int g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)nm);
                num = g > 0 ? g : -1;
            }
        }
        if (num >= 0 && (uint32_t)num < npairs && ov[2 * num] != PCRE2_UNSET)
            rc |= buf_append(dst, src.p + ov[2 * num], ov[2 * num + 1] - ov[2 * num]);
        i = j;
    }
    if (i < tmpl.n)
        rc |= buf_append(dst, tmpl.p + i, tmpl.n - i);
    return rc;
}

static int label_replace(struct eval *ev, const struct ast_node *n, struct fstate *st,
                         const struct vector *in, struct vector *out)
{
    struct strv dst = arg_str(n, 1), repl = arg_str(n, 2), src = arg_str(n, 3),
                rx = arg_str(n, 4);
    if (st->re == NULL) {
        struct buf pat;
        buf_init(&pat, 0);
        if (buf_puts(&pat, "^(?:") || buf_append(&pat, rx.p, rx.n) || buf_puts(&pat, ")$")) {
            buf_fini(&pat);
            return eval_nomem(ev);
        }
        int ec;
        PCRE2_SIZE off;
        st->re = pcre2_compile((PCRE2_SPTR)pat.p, pat.len, PCRE2_UTF, &ec, &off, NULL);
        buf_fini(&pat);
        if (st->re == NULL)
            return EVAL_EXEC(ev, "invalid regular expression in label_replace(): %.*s", (int)rx.n,
                             rx.p);
        if (!labels_valid_label_name(dst))
            return EVAL_EXEC(ev, "invalid destination label name in label_replace(): %.*s",
                             (int)dst.n, dst.p);
        pcre2_jit_compile(st->re, PCRE2_JIT_COMPLETE);
        st->md = pcre2_match_data_create_from_pattern(st->re, NULL);
        if (st->md == NULL)
            return eval_nomem(ev);
    }
    struct lbuild lb = {0};
    struct buf res;
    buf_init(&res, 0);
    int rc = 0;
    for (size_t i = 0; i < in->n && rc == 0; i++) {
        const struct vsample *s = &in->s[i];
        struct memo_out *mo = memo_get(st, s->src);
        if (mo) {
            rc = push_as(ev, out, s, mo->ls, mo->nls);
            continue;
        }
        long li = value_label_find(s->ls, s->nls, src);
        struct strv sv = li >= 0 ? s->ls[li].value : (struct strv){"", 0};
        int m = pcre2_match(st->re, (PCRE2_SPTR)(sv.p ? sv.p : ""), sv.n, 0, 0, st->md, NULL);
        const struct label *ols = s->ls;
        size_t onls = s->nls;
        if (m > 0) {
            buf_reset(&res);
            const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
            uint32_t np = pcre2_get_ovector_count(st->md);
            if (expand(&res, repl, sv, st->re, ov, (uint32_t)m < np ? np : np) != 0 ||
                lbuild_reset(&lb, s->ls, s->nls) != 0) {
                rc = eval_nomem(ev);
                break;
            }
            lbuild_del(&lb, dst);
            if (res.len > 0 && (rc = set_label_copy(ev, &lb, dst, res.p, res.len)) != 0)
                break;
            ols = value_labels_copy(ev, lb.v, lb.n);
            onls = lb.n;
            if (ols == NULL) {
                rc = eval_nomem(ev);
                break;
            }
        }
        rc = push_memo(ev, st, s, ols, onls, out);
    }
    lbuild_fini(&lb);
    buf_fini(&res);
    return rc;
}

static int label_join(struct eval *ev, const struct ast_node *n, struct fstate *st,
                      const struct vector *in, struct vector *out)
{
    struct strv dst = arg_str(n, 1), sep = arg_str(n, 2);
    size_t nsrc = n->u.call.nargs - 3;
    for (size_t i = 0; i < nsrc; i++) {
        struct strv s = arg_str(n, 3 + i);
        if (!labels_valid_label_name(s))
            return EVAL_EXEC(ev, "invalid source label name in label_join(): %.*s", (int)s.n, s.p);
    }
    if (!labels_valid_label_name(dst))
        return EVAL_EXEC(ev, "invalid destination label name in label_join(): %.*s", (int)dst.n,
                         dst.p);
    struct lbuild lb = {0};
    struct buf val;
    buf_init(&val, 0);
    int rc = 0;
    for (size_t i = 0; i < in->n && rc == 0; i++) {
        const struct vsample *s = &in->s[i];
        struct memo_out *mo = memo_get(st, s->src);
        if (mo) {
            rc = push_as(ev, out, s, mo->ls, mo->nls);
            continue;
        }
        buf_reset(&val);
        for (size_t k = 0; k < nsrc; k++) {
            if (k)
                buf_append(&val, sep.p, sep.n);
            long li = value_label_find(s->ls, s->nls, arg_str(n, 3 + k));
            if (li >= 0)
                buf_append(&val, s->ls[li].value.p, s->ls[li].value.n);
        }
        if (lbuild_reset(&lb, s->ls, s->nls) != 0) {
            rc = eval_nomem(ev);
            break;
        }
        if (val.len == 0)
            lbuild_del(&lb, dst);
        else if ((rc = set_label_copy(ev, &lb, dst, val.p, val.len)) != 0)
            break;
        const struct label *ols = value_labels_copy(ev, lb.v, lb.n);
        if (ols == NULL) {
            rc = eval_nomem(ev);
            break;
        }
        rc = push_memo(ev, st, s, ols, lb.n, out);
    }
    lbuild_fini(&lb);
    buf_fini(&val);
    return rc;
}

/* ---- dates ----
 * Go's time package arithmetic, so that every input, even one that
 * overflows (NaN becomes math.MinInt64 seconds), gives Prometheus' answer:
 * time.Unix(sec, 0).UTC() keeps sec, and the calendar is computed from
 * "absolute" seconds counted from the year -292277022399 in uint64. */

#define GO_SECONDS_PER_DAY 86400ULL
#define GO_DAYS_PER_400Y (365ULL * 400 + 97)
#define GO_DAYS_PER_100Y (365ULL * 100 + 24)
#define GO_DAYS_PER_4Y (365ULL * 4 + 1)
#define GO_ABSOLUTE_ZERO_YEAR (-292277022399LL)
#define GO_UNIX_TO_INTERNAL 62135596800LL
#define GO_INTERNAL_TO_ABSOLUTE 9223371966579724800LL

struct civil {
    long long year;
    int month, day, yday, wday, hour, minute;
};

static bool go_is_leap(long long y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

static struct civil civil_from_unix(long long t)
{
    /* uint64(sec + (unixToInternal + internalToAbsolute)), wrapping */
    uint64_t abs = (uint64_t)t + (uint64_t)(GO_UNIX_TO_INTERNAL + GO_INTERNAL_TO_ABSOLUTE);
    struct civil c;
    c.hour = (int)(abs % GO_SECONDS_PER_DAY / 3600);
    c.minute = (int)(abs % 3600 / 60);
    /* absWeekday: January 1 of the absolute year was a Monday. */
    c.wday = (int)((abs + 1 * GO_SECONDS_PER_DAY) % (7 * GO_SECONDS_PER_DAY) / GO_SECONDS_PER_DAY);
    uint64_t d = abs / GO_SECONDS_PER_DAY;
    uint64_t n = d / GO_DAYS_PER_400Y;
    uint64_t y = 400 * n;
    d -= GO_DAYS_PER_400Y * n;
    n = d / GO_DAYS_PER_100Y;
    n -= n >> 2;
    y += 100 * n;
    d -= GO_DAYS_PER_100Y * n;
    n = d / GO_DAYS_PER_4Y;
    y += 4 * n;
    d -= GO_DAYS_PER_4Y * n;
    n = d / 365;
    n -= n >> 2;
    y += n;
    d -= 365 * n;
    c.year = (long long)y + GO_ABSOLUTE_ZERO_YEAR;
    c.yday = (int)d + 1;
    int day = (int)d;
    if (go_is_leap(c.year)) {
        if (day > 31 + 29 - 1) {
            day--;
        } else if (day == 31 + 29 - 1) {
            c.month = 2;
            c.day = 29;
            return c;
        }
    }
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
    int month = day / 31;
    int begin;
    if (day >= before[month + 1]) {
        month++;
        begin = before[month];
    } else {
        begin = before[month];
    }
    c.month = month + 1;
    c.day = day - begin + 1;
    return c;
}

static double date_part(enum promql_func_id f, long long t)
{
    struct civil c = civil_from_unix(t);
    switch (f) {
    case FN_DAY_OF_MONTH: return c.day;
    case FN_DAY_OF_WEEK: return c.wday;
    case FN_DAY_OF_YEAR: return c.yday;
    case FN_DAYS_IN_MONTH: {
        static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        return dim[c.month - 1] + (c.month == 2 && go_is_leap(c.year));
    }
    case FN_HOUR: return c.hour;
    case FN_MINUTE: return c.minute;
    case FN_MONTH: return c.month;
    case FN_YEAR: return (double)c.year;
    default: return NAN;
    }
}

/* Go's int64(v) on amd64: out of range and NaN give math.MinInt64. */
static long long go_int64(double v)
{
    if (isnan(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0)
        return INT64_MIN;
    return (long long)v;
}

/* ---- sorting ---- */

static int cmp_sort(const void *a, const void *b)
{
    double x = ((const struct vsample *)a)->v, y = ((const struct vsample *)b)->v;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return x < y ? -1 : x > y ? 1 : 0;
}

static int cmp_sort_desc(const void *a, const void *b)
{
    double x = ((const struct vsample *)a)->v, y = ((const struct vsample *)b)->v;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return x > y ? -1 : x < y ? 1 : 0;
}

/* The math functions. Those Go's math package computes inexactly come from
 * gomath.c, so their last bits are Prometheus'; fabs, ceil, floor and sqrt
 * are exact in both and stay with libm. */
static double simple(enum promql_func_id f, double v)
{
    switch (f) {
    case FN_ABS: return fabs(v);
    case FN_CEIL: return ceil(v);
    case FN_FLOOR: return floor(v);
    case FN_EXP: return gomath_exp(v);
    case FN_SQRT: return sqrt(v);
    case FN_LN: return gomath_log(v);
    case FN_LOG2: return gomath_log2(v);
    case FN_LOG10: return gomath_log10(v);
    case FN_SIN: return gomath_sin(v);
    case FN_COS: return gomath_cos(v);
    case FN_TAN: return gomath_tan(v);
    case FN_ASIN: return gomath_asin(v);
    case FN_ACOS: return gomath_acos(v);
    case FN_ATAN: return gomath_atan(v);
    case FN_SINH: return gomath_sinh(v);
    case FN_COSH: return gomath_cosh(v);
    case FN_TANH: return gomath_tanh(v);
    case FN_ASINH: return gomath_asinh(v);
    case FN_ACOSH: return gomath_acosh(v);
    case FN_ATANH: return gomath_atanh(v);
    case FN_DEG: return v * 180 / M_PI;
    case FN_RAD: return v * M_PI / 180;
    case FN_SGN: return v < 0 ? -1 : v > 0 ? 1 : v;
    default: return NAN;
    }
}

/* Push a sample with __name__ dropped. */
static int push_dropped(struct eval *ev, struct vector *out, const struct vsample *s, double v)
{
    const struct label *ls;
    size_t n;
    int rc = eval_drop_name(ev, s->ls, s->nls, &ls, &n);
    if (rc != 0)
        return rc;
    return vector_push(out, ls, n, v, s->t, s->src) ? eval_nomem(ev) : 0;
}

bool func_instant_per_series(const struct ast_node *n)
{
    switch (n->u.call.func->id) {
    case FN_TIME:
    case FN_PI:
    case FN_VECTOR:
    case FN_SCALAR:
    case FN_ABSENT:
    case FN_HISTOGRAM_QUANTILE:
    case FN_HISTOGRAM_COUNT:
    case FN_HISTOGRAM_SUM:
    case FN_HISTOGRAM_FRACTION:
        return false;
    default:
        /* The date functions without an argument read the step time. */
        return n->u.call.nargs > 0 && n->u.call.args[0]->type == PROMQL_VECTOR;
    }
}

int func_instant_apply(struct eval *ev, const struct ast_node *n, struct fstate *st,
                       struct vector *args, int64_t ts, struct vector *out)
{
    enum promql_func_id f = n->u.call.func->id;
    const struct vector *in = &args[0];
    int rc = 0;
    switch (f) {
    case FN_TIME:
        return vector_push(out, NULL, 0, (double)ts / 1000, ts, 0) ? eval_nomem(ev) : 0;
    case FN_PI:
        return vector_push(out, NULL, 0, M_PI, ts, 0) ? eval_nomem(ev) : 0;
    case FN_VECTOR:
        return vector_push(out, NULL, 0, in->s[0].v, ts, 0) ? eval_nomem(ev) : 0;
    case FN_SCALAR:
        return vector_push(out, NULL, 0, in->n == 1 ? in->s[0].v : NAN, ts, 0) ? eval_nomem(ev)
                                                                               : 0;
    case FN_ROUND: {
        double to = n->u.call.nargs >= 2 ? args[1].s[0].v : 1;
        double inv = 1.0 / to;
        for (size_t i = 0; i < in->n && rc == 0; i++)
            rc = push_dropped(ev, out, &in->s[i], floor(in->s[i].v * inv + 0.5) / inv);
        return rc;
    }
    case FN_CLAMP: {
        double lo = args[1].s[0].v, hi = args[2].s[0].v;
        if (hi < lo)
            return 0;
        for (size_t i = 0; i < in->n && rc == 0; i++)
            rc = push_dropped(ev, out, &in->s[i], value_go_max(lo, value_go_min(hi, in->s[i].v)));
        return rc;
    }
    case FN_CLAMP_MAX:
        for (size_t i = 0; i < in->n && rc == 0; i++)
            rc = push_dropped(ev, out, &in->s[i], value_go_min(args[1].s[0].v, in->s[i].v));
        return rc;
    case FN_CLAMP_MIN:
        for (size_t i = 0; i < in->n && rc == 0; i++)
            rc = push_dropped(ev, out, &in->s[i], value_go_max(args[1].s[0].v, in->s[i].v));
        return rc;
    case FN_TIMESTAMP:
        for (size_t i = 0; i < in->n && rc == 0; i++)
            rc = push_dropped(ev, out, &in->s[i], (double)in->s[i].t / 1000);
        return rc;
    case FN_SORT:
    case FN_SORT_DESC:
        for (size_t i = 0; i < in->n; i++)
            if (vector_push(out, in->s[i].ls, in->s[i].nls, in->s[i].v, in->s[i].t, in->s[i].src))
                return eval_nomem(ev);
        if (out->n > 1)
            qsort(out->s, out->n, sizeof *out->s, f == FN_SORT ? cmp_sort : cmp_sort_desc);
        return 0;
    case FN_ABSENT: {
        if (in->n > 0)
            return 0;
        const struct label *ls;
        size_t nls;
        if ((rc = eval_absent_labels(ev, ast_unparen(n->u.call.args[0]), &ls, &nls)) != 0)
            return rc;
        return vector_push(out, ls, nls, 1, ts, 0) ? eval_nomem(ev) : 0;
    }
    case FN_LABEL_REPLACE:
        return label_replace(ev, n, st, in, out);
    case FN_LABEL_JOIN:
        return label_join(ev, n, st, in, out);
    case FN_HISTOGRAM_QUANTILE:
        return histogram_quantile_apply(ev, args[0].s[0].v, &args[1], out);
    case FN_HISTOGRAM_COUNT:
    case FN_HISTOGRAM_SUM:
    case FN_HISTOGRAM_FRACTION:
        return 0; /* native histograms only; Tide stores none */
    case FN_DAY_OF_MONTH:
    case FN_DAY_OF_WEEK:
    case FN_DAY_OF_YEAR:
    case FN_DAYS_IN_MONTH:
    case FN_HOUR:
    case FN_MINUTE:
    case FN_MONTH:
    case FN_YEAR:
        if (n->u.call.nargs == 0) {
            double v = date_part(f, ts / 1000);
            return vector_push(out, NULL, 0, v, ts, 0) ? eval_nomem(ev) : 0;
        }
        for (size_t i = 0; i < in->n && rc == 0; i++)
            rc = push_dropped(ev, out, &in->s[i], date_part(f, go_int64(in->s[i].v)));
        return rc;
    default:
        for (size_t i = 0; i < in->n && rc == 0; i++)
            rc = push_dropped(ev, out, &in->s[i], simple(f, in->s[i].v));
        return rc;
    }
}
