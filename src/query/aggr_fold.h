/* aggr_fold.h: how one group of an aggregation folds its values at one
 * step, for the ops whose result is one number per group (sum avg count
 * min max group stddev stdvar): Prometheus 2.42's aggregation() arithmetic,
 * shared by the step-by-step fold (aggr.c) and the series-by-series one
 * (aggr_series.c) so that both give the same bits. Values are folded in
 * the order the group's input series come in the step's vector.
 */
#ifndef TIDE_QUERY_AGGR_FOLD_H
#define TIDE_QUERY_AGGR_FOLD_H

#include <math.h>
#include <stddef.h>

#include "query/ast.h"

struct aggr_fold {
    double value, mean;
    size_t count; /* values folded; 0: none yet */
};

/* Does op fold into one aggr_fold (no heap, no parameter)? */
static inline bool aggr_fold_op(enum aggr_op op)
{
    switch (op) {
    case AGGR_SUM:
    case AGGR_AVG:
    case AGGR_COUNT:
    case AGGR_MIN:
    case AGGR_MAX:
    case AGGR_GROUP:
    case AGGR_STDDEV:
    case AGGR_STDVAR: return true;
    default: return false;
    }
}

/* The group's first value. */
static inline void aggr_fold_open(struct aggr_fold *g, enum aggr_op op, double x)
{
    g->value = x;
    g->mean = x;
    g->count = 1;
    if (op == AGGR_STDDEV || op == AGGR_STDVAR)
        g->value = 0;
    else if (op == AGGR_GROUP)
        g->value = 1;
}

/* A later value (aggr_fold_op(op) only). */
static inline void aggr_fold_add(struct aggr_fold *g, enum aggr_op op, double x)
{
    switch (op) {
    case AGGR_SUM: g->value += x; break;
    case AGGR_AVG:
        g->count++;
        if (isinf(g->mean)) {
            if (isinf(x) && (g->mean > 0) == (x > 0))
                break;
            if (!isinf(x) && !isnan(x))
                break;
        }
        g->mean += x / (double)g->count - g->mean / (double)g->count;
        break;
    case AGGR_MAX:
        if (g->value < x || isnan(g->value))
            g->value = x;
        break;
    case AGGR_MIN:
        if (g->value > x || isnan(g->value))
            g->value = x;
        break;
    case AGGR_STDVAR:
    case AGGR_STDDEV: {
        g->count++;
        double delta = x - g->mean;
        g->mean += delta / (double)g->count;
        g->value += delta * (x - g->mean);
        break;
    }
    default: g->count++; break; /* count, group */
    }
}

/* The group's result (aggr_fold_op(op) only). */
static inline double aggr_fold_value(const struct aggr_fold *g, enum aggr_op op)
{
    switch (op) {
    case AGGR_AVG: return g->mean;
    case AGGR_COUNT: return (double)g->count;
    case AGGR_STDVAR: return g->value / (double)g->count;
    case AGGR_STDDEV: return sqrt(g->value / (double)g->count);
    default: return g->value;
    }
}

#endif
