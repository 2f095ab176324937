/* func_range.c: PromQL functions over range vectors, one window at a time:
 * rate irate increase delta idelta deriv predict_linear resets changes
 * holt_winters and the *_over_time family. eval.c cuts the windows (stale
 * markers removed, never empty) and groups the outputs into series.
 *
 * rate/increase/delta extrapolate as Prometheus 2.42's extrapolatedRate():
 * the sampled interval is stretched towards the window's ends by up to half
 * an average sample interval (or all the way when the gap is shorter than
 * 1.1 intervals), and a counter is never extrapolated below zero. Counter
 * resets (a drop in value) add the value before the drop. */
#include "query/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool func_range_keeps_name(enum promql_func_id f) { return f == FN_LAST_OVER_TIME; }

static void kahan_inc(double inc, double *sum, double *c)
{
    double t = *sum + inc;
    if (fabs(*sum) >= fabs(inc))
        *c += (*sum - t) + inc;
    else
        *c += (inc - t) + *sum;
    *sum = t;
}

double func_range_extrapolate(double result, int64_t first_t, double first_v, int64_t last_t,
                              size_t n, int64_t range_start_ms, int64_t range_end_ms,
                              int64_t range_ms, bool counter, bool rate)
{
    double to_start = (double)(first_t - range_start_ms) / 1000;
    double to_end = (double)(range_end_ms - last_t) / 1000;
    double sampled = (double)(last_t - first_t) / 1000;
    double avg = sampled / (double)(n - 1);
    if (counter && result > 0 && first_v >= 0) {
        double to_zero = sampled * (first_v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    double threshold = avg * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg / 2;
    interval += to_end < threshold ? to_end : avg / 2;
    double factor = interval / sampled;
    if (rate)
        factor /= (double)range_ms / 1000;
    return result * factor;
}

static double extrapolated_rate(const struct window *w, bool counter, bool rate)
{
    const struct sample *p = w->p;
    size_t n = w->n;
    double result = p[n - 1].v - p[0].v;
    if (counter) {
        double prev = p[0].v;
        for (size_t i = 1; i < n; i++) {
            if (p[i].v < prev)
                result += prev;
            prev = p[i].v;
        }
    }
    return func_range_extrapolate(result, p[0].t_ms, p[0].v, p[n - 1].t_ms, n, w->range_start_ms,
                                  w->range_end_ms, w->range_ms, counter, rate);
}

/* Least squares fit of the points, x in seconds from intercept_ms. */
static void linear_regression(const struct window *w, int64_t intercept_ms, double *slope,
                              double *intercept)
{
    double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    double init = w->p[0].v;
    bool const_y = true;
    for (size_t i = 0; i < w->n; i++) {
        if (const_y && i > 0 && w->p[i].v != init)
            const_y = false;
        n += 1;
        double x = (double)(w->p[i].t_ms - intercept_ms) / 1e3;
        kahan_inc(x, &sx, &cx);
        kahan_inc(w->p[i].v, &sy, &cy);
        kahan_inc(x * w->p[i].v, &sxy, &cxy);
        kahan_inc(x * x, &sx2, &cx2);
    }
    if (const_y) {
        if (isinf(init)) {
            *slope = *intercept = NAN;
            return;
        }
        *slope = 0;
        *intercept = init;
        return;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double cov = sxy - sx * sy / n;
    double var = sx2 - sx * sx / n;
    *slope = cov / var;
    *intercept = sy / n - *slope * sx / n;
}

static double trend(size_t i, double tf, double s0, double s1, double b)
{
    if (i == 0)
        return b;
    return tf * (s1 - s0) + (1 - tf) * b;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    /* NaN first, as Go's vectorByValueHeap Less() */
    if (isnan(x))
        return isnan(y) ? 0 : -1;
    if (isnan(y))
        return 1;
    return x < y ? -1 : x > y ? 1 : 0;
}

double func_quantile(double q, double *v, size_t n)
{
    if (n == 0)
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    if (isnan(q))
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    double rank = q * ((double)n - 1);
    double lower = fmax(0, floor(rank));
    double upper = fmin((double)n - 1, lower + 1);
    double weight = rank - floor(rank);
    return v[(size_t)lower] * (1 - weight) + v[(size_t)upper] * weight;
}

/* One sample of avg_over_time's running mean (Prometheus 2.42: incremental
 * mean with Kahan compensation; an infinite mean stays unless a NaN or the
 * opposite infinity comes). */
static inline void avg_inc(double v, double *mean, double *c, double *count)
{
    *count += 1;
    if (isinf(*mean)) {
        if (isinf(v) && (*mean > 0) == (v > 0))
            return;
        if (!isinf(v) && !isnan(v))
            return;
    }
    kahan_inc(v / *count - *mean / *count, mean, c);
}

#define AVG_LANES 4

/* Doubles side by side (GCC/clang vector extension): two in one SSE2
 * register on baseline x86-64, four in one AVX register where the CPU has
 * it. IEEE division and addition are exactly rounded per lane, and no
 * multiply-add is fused, so each lane computes bit for bit what the scalar
 * avg_inc() would. */
typedef double v2d __attribute__((vector_size(2 * sizeof(double))));
typedef long long v2l __attribute__((vector_size(2 * sizeof(long long))));
typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
typedef long long v4l __attribute__((vector_size(4 * sizeof(long long))));

/* Per lane, for vector types VT with mask type LT: mask ? a : b (mask lanes
 * all ones or all zeros), and |x|. Macros, not functions: a vector argument
 * changes the ABI between SSE2 and AVX code (-Wpsabi). */
#define V_PICK(LT, VT, mask, a, b) ((VT)(((LT)(a) & (mask)) | ((LT)(b) & ~(mask))))
#define V_ABS(LT, VT, x) ((VT)((LT)(x) & ((LT){0} + INT64_MAX)))

/* One avg_inc() step on every lane while no lane's mean is infinite:
 * kahan_inc() with both branches computed and the right one picked. */
#define AVG_STEP(LT, VT, v, mean, c, count)                                           \
    do {                                                                              \
        VT inc_ = (v) / (count) - (mean) / (count);                                   \
        VT t_ = (mean) + inc_;                                                        \
        (c) += V_PICK(LT, VT, (LT)(V_ABS(LT, VT, mean) >= V_ABS(LT, VT, inc_)),       \
                      ((mean) - t_) + inc_, (inc_ - t_) + (mean));                    \
        (mean) = t_;                                                                  \
    } while (0)

/* The same once some lane's mean is infinite: a lane avg_inc() would skip
 * (v infinite of the mean's sign, or any number) keeps its state. */
#define AVG_STEP_INF(LT, VT, v, mean, c, count)                                       \
    do {                                                                              \
        const VT zero_ = {0};                                                         \
        VT m0_ = (mean), c0_ = (c);                                                   \
        LT v_inf_ = (LT)(V_ABS(LT, VT, v) == zero_ + INFINITY);                       \
        LT same_sign_ = ~((LT)(m0_ > zero_) ^ (LT)((v) > zero_));                     \
        LT keep_ = (LT)(V_ABS(LT, VT, m0_) == zero_ + INFINITY) &                     \
                   ((v_inf_ & same_sign_) | ((LT)((v) == (v)) & ~v_inf_));            \
        AVG_STEP(LT, VT, v, mean, c, count);                                          \
        (c) = V_PICK(LT, VT, keep_, c0_, (c));                                        \
        (mean) = V_PICK(LT, VT, keep_, m0_, (mean));                                  \
    } while (0)

/* True when some lane of a mean is infinite. */
#define ANY_INF(LT, VT, mean, lanes)                                                  \
    ({                                                                                \
        LT m_ = (LT)(V_ABS(LT, VT, mean) == (VT){0} + INFINITY);                      \
        bool any_ = false;                                                            \
        for (int l_ = 0; l_ < (lanes); l_++)                                          \
            any_ |= m_[l_] != 0;                                                      \
        any_;                                                                         \
    })

static void avg_finish(const double *mean, const double *c, double *out)
{
    for (size_t j = 0; j < 4; j++)
        out[j] = isinf(mean[j]) ? mean[j] : mean[j] + c[j];
}

/* avg_over_time of four windows of equal length at once, as two pairs of
 * lanes: the four chains of dependent divisions overlap, two to an
 * instruction. */
static void avg_lanes4_sse2(const struct window *w, double *out)
{
    const struct sample *p0 = w[0].p, *p1 = w[1].p, *p2 = w[2].p, *p3 = w[3].p;
    v2d ma = {0}, ca = {0}, mb = {0}, cb = {0}, count = {0};
    size_t i = 0, n = w[0].n;
    for (; i < n && !ANY_INF(v2l, v2d, ma, 2) && !ANY_INF(v2l, v2d, mb, 2); i++) {
        v2d va = {p0[i].v, p1[i].v}, vb = {p2[i].v, p3[i].v};
        count += 1;
        AVG_STEP(v2l, v2d, va, ma, ca, count);
        AVG_STEP(v2l, v2d, vb, mb, cb, count);
    }
    for (; i < n; i++) {
        v2d va = {p0[i].v, p1[i].v}, vb = {p2[i].v, p3[i].v};
        count += 1;
        AVG_STEP_INF(v2l, v2d, va, ma, ca, count);
        AVG_STEP_INF(v2l, v2d, vb, mb, cb, count);
    }
    avg_finish((double[]){ma[0], ma[1], mb[0], mb[1]}, (double[]){ca[0], ca[1], cb[0], cb[1]},
               out);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVG_AVX 1
/* The same four lanes in one AVX register: one division instruction per
 * division, where SSE2 needs two. */
__attribute__((target("avx"))) static void avg_lanes4_avx(const struct window *w, double *out)
{
    const struct sample *p0 = w[0].p, *p1 = w[1].p, *p2 = w[2].p, *p3 = w[3].p;
    v4d m = {0}, c = {0}, count = {0};
    size_t i = 0, n = w[0].n;
    for (; i < n && !ANY_INF(v4l, v4d, m, 4); i++) {
        v4d v = {p0[i].v, p1[i].v, p2[i].v, p3[i].v};
        count += 1;
        AVG_STEP(v4l, v4d, v, m, c, count);
    }
    for (; i < n; i++) {
        v4d v = {p0[i].v, p1[i].v, p2[i].v, p3[i].v};
        count += 1;
        AVG_STEP_INF(v4l, v4d, v, m, c, count);
    }
    avg_finish((double[]){m[0], m[1], m[2], m[3]}, (double[]){c[0], c[1], c[2], c[3]}, out);
}
#endif

bool func_range_baseline_only;

static void avg_lanes4(const struct window *w, double *out)
{
#ifdef HAVE_AVG_AVX
    if (!func_range_baseline_only && __builtin_cpu_supports("avx")) {
        avg_lanes4_avx(w, out);
        return;
    }
#endif
    avg_lanes4_sse2(w, out);
}

/* avg_over_time of one window. */
static double avg_one(const struct window *w)
{
    double mean = 0, c = 0, count = 0;
    for (size_t i = 0; i < w->n; i++)
        avg_inc(w->p[i].v, &mean, &c, &count);
    return isinf(mean) ? mean : mean + c;
}

int func_range_apply_all(struct eval *ev, enum promql_func_id f, const struct window *w,
                         size_t n, double *out, int *got)
{
    size_t i = 0;
    if (f == FN_AVG_OVER_TIME) {
        for (; i < n; i += AVG_LANES) {
            size_t k = n - i < AVG_LANES ? n - i : AVG_LANES;
            bool same = k == AVG_LANES;
            for (size_t j = 1; j < k && same; j++)
                same = w[i + j].n == w[i].n;
            if (same) {
                avg_lanes4(w + i, out + i);
            } else {
                for (size_t j = 0; j < k; j++)
                    out[i + j] = avg_one(&w[i + j]);
            }
            for (size_t j = 0; j < k; j++)
                got[i + j] = 1;
        }
        return 0;
    }
    for (; i < n; i++) {
        int g = func_range_apply(ev, f, &w[i], &out[i]);
        if (g < 0)
            return g;
        got[i] = g;
    }
    return 0;
}

int func_range_apply(struct eval *ev, enum promql_func_id f, const struct window *w, double *out)
{
    const struct sample *p = w->p;
    size_t n = w->n;
    switch (f) {
    case FN_RATE:
    case FN_INCREASE:
    case FN_DELTA:
        if (n < 2)
            return 0;
        *out = extrapolated_rate(w, f != FN_DELTA, f == FN_RATE);
        return 1;
    case FN_IRATE:
    case FN_IDELTA: {
        if (n < 2)
            return 0;
        const struct sample *last = &p[n - 1], *prev = &p[n - 2];
        double v;
        if (f == FN_IRATE && last->v < prev->v)
            v = last->v;
        else
            v = last->v - prev->v;
        int64_t dt = last->t_ms - prev->t_ms;
        if (dt == 0)
            return 0;
        if (f == FN_IRATE)
            v /= (double)dt / 1000;
        *out = v;
        return 1;
    }
    case FN_DERIV: {
        if (n < 2)
            return 0;
        double slope, icpt;
        linear_regression(w, p[0].t_ms, &slope, &icpt);
        *out = slope;
        return 1;
    }
    case FN_PREDICT_LINEAR: {
        if (n < 2)
            return 0;
        double slope, icpt;
        linear_regression(w, w->ts, &slope, &icpt);
        *out = slope * w->arg + icpt;
        return 1;
    }
    case FN_RESETS: {
        int resets = 0;
        for (size_t i = 1; i < n; i++)
            if (p[i].v < p[i - 1].v)
                resets++;
        *out = resets;
        return 1;
    }
    case FN_CHANGES: {
        int changes = 0;
        for (size_t i = 1; i < n; i++)
            if (p[i].v != p[i - 1].v && !(isnan(p[i].v) && isnan(p[i - 1].v)))
                changes++;
        *out = changes;
        return 1;
    }
    case FN_HOLT_WINTERS: {
        double sf = w->arg, tf = w->arg2;
        if (sf <= 0 || sf >= 1)
            return EVAL_EXEC(ev, "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf);
        if (tf <= 0 || tf >= 1)
            return EVAL_EXEC(ev, "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
        if (n < 2)
            return 0;
        double s0 = 0, s1 = p[0].v, b = p[1].v - p[0].v;
        for (size_t i = 1; i < n; i++) {
            double x = sf * p[i].v;
            b = trend(i - 1, tf, s0, s1, b);
            double y = (1 - sf) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        *out = s1;
        return 1;
    }
    case FN_AVG_OVER_TIME:
        *out = avg_one(w);
        return 1;
    case FN_SUM_OVER_TIME: {
        double sum = 0, c = 0;
        for (size_t i = 0; i < n; i++)
            kahan_inc(p[i].v, &sum, &c);
        *out = isinf(sum) ? sum : sum + c;
        return 1;
    }
    case FN_COUNT_OVER_TIME:
        *out = (double)n;
        return 1;
    case FN_MIN_OVER_TIME:
    case FN_MAX_OVER_TIME: {
        double m = p[0].v;
        for (size_t i = 1; i < n; i++) {
            double v = p[i].v;
            if (f == FN_MAX_OVER_TIME ? (v > m || isnan(m)) : (v < m || isnan(m)))
                m = v;
        }
        *out = m;
        return 1;
    }
    case FN_STDDEV_OVER_TIME:
    case FN_STDVAR_OVER_TIME: {
        double count = 0, mean = 0, cm = 0, aux = 0, ca = 0;
        for (size_t i = 0; i < n; i++) {
            count++;
            double delta = p[i].v - (mean + cm);
            kahan_inc(delta / count, &mean, &cm);
            kahan_inc(delta * (p[i].v - (mean + cm)), &aux, &ca);
        }
        double var = (aux + ca) / count;
        *out = f == FN_STDDEV_OVER_TIME ? sqrt(var) : var;
        return 1;
    }
    case FN_QUANTILE_OVER_TIME: {
        double *v = malloc(n * sizeof *v);
        if (v == NULL)
            return eval_nomem(ev);
        for (size_t i = 0; i < n; i++)
            v[i] = p[i].v;
        *out = func_quantile(w->arg, v, n);
        free(v);
        return 1;
    }
    case FN_LAST_OVER_TIME:
        *out = p[n - 1].v;
        return 1;
    case FN_PRESENT_OVER_TIME:
    case FN_ABSENT_OVER_TIME:
        *out = 1;
        return 1;
    default:
        return EVAL_EXEC(ev, "function does not take a range vector");
    }
}
