/* eval.h: the evaluator's internals, shared by eval.c (driver, selectors,
 * subqueries), binop.c, aggr.c, func_range.c, func_instant.c, histogram.c and
 * value.c (the value types below). Not included outside query/.
 *
 * Model (Prometheus' engine): every scalar- or vector-typed node evaluates,
 * over the evaluator's current steps start, start+interval, ... <= end, to a
 * `struct matrix` whose points sit at step timestamps; a scalar is one
 * unlabelled series with a point at every step. Operators and functions on
 * instant vectors run step by step on `struct vector`s cut from their
 * arguments' matrices (stepper_*) and append their output to an `accum`,
 * which groups it back into series and rejects two outputs with the same
 * label set at one step ("vector cannot contain metrics with the same
 * labelset").
 *
 * Memory: label arrays live in the query arena (their strings are interned
 * by storage or copied into the arena); point and series arrays are malloc'd
 * and freed with matrix_free() as soon as the parent node consumed them.
 * Every point held is counted in ev->cur_samples against max_samples.
 */
#ifndef TIDE_QUERY_EVAL_H
#define TIDE_QUERY_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/batch.h"
#include "model/labels.h"
#include "query/ast.h"
#include "query/query.h"

struct series {
    const struct label *ls; /* sorted; arena or storage-interned */
    size_t nls;
    struct sample *pts;     /* malloc'd, time-ordered */
    size_t npts, cap;
};

struct matrix {
    struct series *s; /* malloc'd */
    size_t n, cap;
};

/* One element of an instant vector at one step. */
struct vsample {
    const struct label *ls;
    size_t nls;
    double v;
    int64_t t;  /* step time, or the sample's own time for timestamp() */
    size_t src; /* index of the series in the matrix it was cut from */
};

struct vector {
    struct vsample *s; /* malloc'd, reused across steps */
    size_t n, cap;
};

/* Data of one selector. An instant selector's series are read from
 * storage once, before evaluation, and kept (s, n). A range selector's are
 * read one series at a time while its function runs (lazy): the open
 * selection, and the current series in the selection's reused buffer, so a
 * query over many series holds one series' samples, not all of them. */
struct slot {
    struct series *s;   /* instant: all samples in [mint, maxt], stale markers kept */
    size_t n;           /* series: loaded (instant) or selected (lazy) */
    int64_t mint, maxt; /* the range to read, widened by plan() */
    bool used, loaded;
    bool lazy;                 /* a range selector's */
    struct storage_set *set;   /* lazy: the selection, positioned at series `next` */
    size_t next;               /* lazy: index of the series the set gives next */
    struct series cur;         /* lazy: the current series, stale markers dropped */
    struct sample *scratch;    /* lazy: cur's points when markers had to be dropped */
    size_t scratch_cap;
    struct sample *merged;     /* lazy: cur's points merged with the overlay (malloc'd) */
};

struct eval {
    struct storage *st;
    struct arena *a;
    struct err *e;
    int64_t start, end, interval; /* current steps; interval >= 1 */
    int64_t q_start, q_end;       /* the query's range, for @ start()/end() */
    int64_t lookback_ms;
    int64_t subquery_step_ms;
    size_t max_samples, cur_samples, peak_samples, loaded_samples;
    int64_t deadline_ns;          /* monotonic; 0 = none */
    unsigned tick;
    struct slot *slots;           /* one per selector of the tree (ast sel.slot) */
    size_t nslots;
    int tier_max;                 /* coarsest rollup tier allowed (query_opts.tier): -1 raw
                                     only; tier_eval.c picks the coarsest that is exact */
    unsigned tiers_used;          /* bit 0: raw samples read; bit t+1: tier t read */
    query_overlay_fn *overlay;    /* query_opts.overlay; NULL = none */
    void *overlay_ctx;
};

/* ---- value.c ---- */

/* Steps in the current window. */
static inline size_t eval_nsteps(const struct eval *ev)
{
    return (size_t)((ev->end - ev->start) / ev->interval) + 1;
}

/* Error helpers: fill ev->e, return the code. */
int eval_errorf(struct eval *ev, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define EVAL_EXEC(ev, ...) eval_errorf((ev), QUERY_EEXEC, __VA_ARGS__)
int eval_nomem(struct eval *ev);
/* Account n more (or fewer, n < 0) points held; TIDE_ELIMIT past the cap. */
int eval_account(struct eval *ev, long long n);
/* Check the deadline every so often; QUERY_ETIMEOUT when it passed. */
int eval_check(struct eval *ev);

void matrix_free(struct eval *ev, struct matrix *m);
/* Append a series (labels borrowed) and return its index, or -1 on ENOMEM. */
long matrix_add_series(struct matrix *m, const struct label *ls, size_t nls);
int value_push(struct eval *ev, struct series *s, int64_t t, double v);
/* Room for n more points in s (no growing while they are pushed). 0 or
 * the eval's out-of-memory error. */
int value_reserve(struct eval *ev, struct series *s, size_t n);
/* Sort series by label set. */
void matrix_sort(struct matrix *m);

int vector_push(struct vector *v, const struct label *ls, size_t nls, double val, int64_t t,
                size_t src);
void vector_fini(struct vector *v);

/* Label sets. */
const struct label *value_labels_copy(struct eval *ev, const struct label *ls, size_t n);
/* Does `ls` have label `name`? Index or -1. */
long value_label_find(const struct label *ls, size_t n, struct strv name);

/* A scratch label set being edited (Prometheus' labels.Builder). malloc'd. */
struct lbuild {
    struct label *v;
    size_t n, cap;
};
int lbuild_reset(struct lbuild *b, const struct label *ls, size_t n);
void lbuild_del(struct lbuild *b, struct strv name);
int lbuild_set(struct lbuild *b, struct strv name, struct strv value); /* empty value deletes */
void lbuild_keep(struct lbuild *b, const struct strv *names, size_t n);
void lbuild_sort(struct lbuild *b);
void lbuild_fini(struct lbuild *b);

/* Hash of a label set restricted to `names` (on=true) or without `names` and
 * __name__ (on=false): Prometheus' HashForLabels/HashWithoutLabels. */
uint64_t value_labels_sig(const struct label *ls, size_t n, const struct strv *names, size_t nnames,
                    bool on);

/* Prometheus' labels.String(): {a="b", c="d"}. Into a caller buffer. */
void value_labels_format(const struct label *ls, size_t n, char *dst, size_t cap);

/* A hash map from label sets (by labels_hash, then equality) to indices. */
struct lsmap {
    struct lsmap_ent *t;
    size_t cap, n;
};
struct lsmap_ent {
    uint64_t h;
    size_t idx; /* SIZE_MAX = empty */
};
/* Find the index stored for a set equal to `ls` in matrix `m`; SIZE_MAX when absent. */
size_t lsmap_get(const struct lsmap *mp, const struct matrix *m, const struct label *ls, size_t n,
                 uint64_t h);
int lsmap_put(struct lsmap *mp, uint64_t h, size_t idx);
void lsmap_fini(struct lsmap *mp);

/* A map of 64-bit keys to indices (signatures, grouping keys). */
struct u64map {
    uint64_t *k;
    size_t *v;
    size_t cap, n;
};
size_t u64map_get(const struct u64map *m, uint64_t k); /* SIZE_MAX when absent */
int u64map_put(struct u64map *m, uint64_t k, size_t v);
void u64map_clear(struct u64map *m);
void u64map_fini(struct u64map *m);

/* The output of a step-by-step operation, grouped into series. */
struct accum {
    struct matrix m;
    struct lsmap map;
};
/* Index of the output series with labels `ls` (copied into the arena when
 * new), or a negative error. */
long accum_series(struct eval *ev, struct accum *ac, const struct label *ls, size_t n);
/* Append (t, v) to output series idx; a second point at the same t is
 * "vector cannot contain metrics with the same labelset". */
int accum_point(struct eval *ev, struct accum *ac, size_t idx, int64_t t, double v);
/* Add one input series' points p[0..n) (times strictly increasing) to
 * output series idx. Two inputs that give the same output labels (once
 * __name__ is dropped) may not have a point at the same time: the points
 * are merged in time order, and a shared time is Prometheus' duplicate-
 * labelset error. */
int accum_add_points(struct eval *ev, struct accum *ac, size_t idx, const struct sample *p,
                     size_t n);
/* The same, taking pts (malloc'd) over: it becomes the series' array when
 * the series has none yet, else is copied and freed; freed on error too. */
int accum_take_points(struct eval *ev, struct accum *ac, size_t idx, struct sample *pts,
                      size_t n);
/* Both at once. */
int accum_add(struct eval *ev, struct accum *ac, const struct label *ls, size_t n, int64_t t,
              double v);
/* Hand the matrix over to *out and release the map. */
void accum_take(struct accum *ac, struct matrix *out);
void accum_fini(struct eval *ev, struct accum *ac);

/* Cuts the vectors at each step out of a matrix whose points sit at steps. */
struct stepper {
    const struct matrix *m;
    size_t *cur;
    struct vector v;
};
int stepper_init(struct stepper *s, const struct matrix *m);
int stepper_at(struct stepper *s, int64_t ts); /* fills s->v */
void stepper_fini(struct stepper *s);

/* The value of a scalar matrix at step ts (NaN when absent). */
double value_scalar_at(const struct matrix *m, size_t step);

/* Go's math.Max/Min (NaN-propagating, +0 > -0). */
double value_go_max(double a, double b);
double value_go_min(double a, double b);

/* ---- eval.c ---- */

/* Plan the tree (x->root, over ev's steps) and read every selector's data. */
int eval_prepare(struct eval *ev, const struct promql_expr *x);
void eval_slots_free(struct eval *ev);
/* Drop __name__ (no copy when it is the first label). */
int eval_drop_name(struct eval *ev, const struct label *ls, size_t n, const struct label **out,
                   size_t *nout);
/* Labels absent()/absent_over_time() give for their argument node. */
int eval_absent_labels(struct eval *ev, const struct ast_node *arg, const struct label **out,
                       size_t *nout);

/* Evaluate a scalar- or vector-typed node (or, at the top of an instant
 * query, a matrix-typed one) over ev's current steps into *out. */
int eval_node(struct eval *ev, const struct ast_node *n, struct matrix *out);

/* ---- binop.c, aggr.c ---- */
int binop_eval(struct eval *ev, const struct ast_node *n, struct matrix *out);
int aggr_eval(struct eval *ev, const struct ast_node *n, struct matrix *out);
/* The aggregation ag of the evaluated input `in` (param: its evaluated
 * parameter, or empty) into *out, step by step (aggr.c: every op) or series
 * by series (aggr_series.c: the ops of aggr_fold_op(), the same result).
 * 0 or an error (ev->e set). aggr_steps() only reads in and param.
 * aggr_series() may take over the point array of an input series that is
 * a group of its own (the series is left empty) and adds those points to
 * *moved: they were counted once for the input and once for the output,
 * so the caller takes *moved off the count after freeing in. */
int aggr_steps(struct eval *ev, const struct ast_aggr *ag, const struct matrix *in,
               const struct matrix *param, struct matrix *out);
int aggr_series(struct eval *ev, const struct ast_aggr *ag, struct matrix *in, struct matrix *out,
                size_t *moved);
/* The output labels of a group whose input series has labels ls: lb reset
 * to them, then `by` keeps the grouping labels, `without` drops them and
 * __name__. 0 or -ENOMEM. */
int aggr_group_labels(struct lbuild *lb, const struct label *ls, size_t nls,
                      const struct strv *grouping, size_t ngrouping, bool without);

/* ---- tier_points.c: a rollup set's series to points, on up to two threads ---- */

struct storage_set;
struct storage_rollup;

/* Turns the rollups r[0..nr) (nr > 0) of one series into at most max_pts
 * points at out; returns how many. Called on any thread, concurrently:
 * ctx is only read. */
typedef size_t tier_points_fn(const void *ctx, const struct storage_rollup *r, size_t nr,
                              struct sample *out);
/* One series' points (malloc'd, owned by the caller; NULL and 0 for none). */
struct tier_series_points {
    struct sample *pts;
    size_t n;
};
/* fn over every series of rollup set `set` into out[0..storage_set_count(set)),
 * on this thread and, when two_threads, a helper (core/assist.h); each
 * series' points in out[i] whichever thread made them. The set is read with
 * storage_set_read_rollups() and not moved. Points and rollups held count
 * against ev's sample cap, the deadline is ev's; *sources |= the rollups'
 * sources (storage_set_read_rollups()' bits). 0, or an error (ev->e set) with
 * out[] all empty. */
int tier_points_run(struct eval *ev, struct storage_set *set, tier_points_fn *fn, const void *ctx,
                    size_t max_pts, bool two_threads, struct tier_series_points *out,
                    unsigned *sources);

/* ---- func_range.c: functions over range vectors ---- */

/* The points of one series in one window, and what the function needs. */
struct window {
    const struct sample *p;
    size_t n;
    int64_t ts;              /* the step's evaluation time */
    int64_t range_start_ms;  /* window bounds after offset/@ */
    int64_t range_end_ms;
    int64_t range_ms;
    double arg;              /* the scalar argument (quantile, predict duration) */
    double arg2;             /* holt_winters' trend factor */
};
/* Compute f over one non-empty window. Returns 1 with *out set, 0 for no
 * output, or a negative error. */
int func_range_apply(struct eval *ev, enum promql_func_id f, const struct window *w, double *out);
/* Set by tests: use only baseline x86-64 instructions (no AVX) so both
 * variants of the vectorised functions are checked on one machine. */
extern bool func_range_baseline_only;
/* func_range_apply() over n non-empty windows of one series (one per step):
 * out[i] and got[i] (1 = a value, 0 = none) for each; a negative error stops
 * it. Lets a function evaluate several windows side by side (avg_over_time
 * does). */
int func_range_apply_all(struct eval *ev, enum promql_func_id f, const struct window *w,
                         size_t n, double *out, int *got);
bool func_range_keeps_name(enum promql_func_id f);
/* rate/increase/delta's extrapolation (Prometheus' extrapolatedRate) of
 * `result` (last - first, plus resets for counters) over n samples. */
double func_range_extrapolate(double result, int64_t first_t, double first_v, int64_t last_t,
                              size_t n, int64_t range_start_ms, int64_t range_end_ms,
                              int64_t range_ms, bool counter, bool rate);

/* ---- tier_eval.c: range functions answered from rollup tiers ---- */

/* The rollup tier that answers call n (its range argument at index marg)
 * exactly at the current steps, or -1 to read raw samples. */
int tier_eval_pick(struct eval *ev, const struct ast_node *n, size_t marg);
/* Evaluate call n from tier `tier`, output series into ac (labels as
 * eval_range_call() gives them). */
int tier_eval_call(struct eval *ev, const struct ast_node *n, size_t marg, int tier,
                   struct accum *ac);

/* ---- func_instant.c, histogram.c: functions on instant vectors ---- */

/* Per-call state kept across steps (regex, caches). */
struct fstate {
    void *re;       /* pcre2_code * for label_replace */
    void *md;
    struct u64map cache; /* input series (vsample.src) -> index in `memo` */
    struct matrix memo;  /* output label sets computed once per input set */
    struct strv *srcs;   /* label_join sources */
    size_t nsrcs;
};
/* Apply instant function `n` (an AST_CALL) at step ts to args (vectors of
 * vector-typed args; scalar args are at args[i].s[0].v), appending to `out`. */
int func_instant_apply(struct eval *ev, const struct ast_node *n, struct fstate *st,
                       struct vector *args, int64_t ts, struct vector *out);
void func_instant_fini(struct fstate *st);
/* Does every output sample of call `n` come from one sample of its first
 * argument, with labels that depend only on that sample's series? Then
 * eval_call() maps input series to output series once, not per step. */
bool func_instant_per_series(const struct ast_node *n);
int histogram_quantile_apply(struct eval *ev, double q, const struct vector *in,
                             struct vector *out);

/* Quantile of values (sorted in place), Prometheus' quantile(). */
double func_quantile(double q, double *v, size_t n);

#endif
