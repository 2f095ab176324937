/* query.c: the query engine's entry points (query.h): parse, plan and load
 * (eval_prepare), evaluate the root over the requested steps, and shape the
 * result as /api/v1/query or /api/v1/query_range returns it. A query owns its
 * arena (tree, labels), its result points and nothing else once it returns:
 * the data read from storage is released before query_instant/query_range
 * return. */
#include "query/query.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/time.h"
#include "query/ast.h"
#include "query/eval.h"
#include "storage/storage.h"

/* Samples read by one query past which its memory is handed back. */
#define QUERY_TRIM_SAMPLES 65536

struct query {
    struct arena a;             /* tree, labels, strings */
    struct promql_expr x;
    struct matrix m;            /* result points */
    struct query_series *series;
    struct query_result res;
};

void query_free(struct query *q)
{
    if (q == NULL)
        return;
    promql_expr_fini(&q->x);
    matrix_free(NULL, &q->m);
    free(q->series);
    arena_fini(&q->a);
    free(q);
}

const struct query_result *query_result(const struct query *q) { return &q->res; }

int query_format_float(struct buf *dst, double v) { return ast_print_float(dst, v); }

int query_format(struct buf *dst, const char *expr, size_t len, struct err *e)
{
    struct arena a;
    arena_init(&a, QUERY_DEFAULT_MAX_BYTES);
    struct promql_expr x;
    int rc = promql_parse(&a, expr, len, &x, e);
    if (rc == 0) {
        rc = ast_print(dst, x.root);
        promql_expr_fini(&x);
        if (rc != 0)
            ERR_SET(e, rc, "out of memory printing the query");
    }
    arena_fini(&a);
    return rc;
}

const char *query_error_type(int code)
{
    switch (code) {
    case TIDE_EPARSE:
    case TIDE_EINVAL:
        return "bad_data";
    case QUERY_EEXEC:
    case TIDE_ELIMIT:
        return "execution";
    case QUERY_ETIMEOUT:
        return "timeout";
    default:
        return "internal";
    }
}

static int run(struct query **out, struct storage *st, const char *expr, size_t len,
               int64_t start, int64_t end, int64_t step, bool range, const struct query_opts *o,
               struct err *e)
{
    *out = NULL;
    struct query_opts opts = o ? *o : (struct query_opts){0};
    if (opts.lookback_ms <= 0)
        opts.lookback_ms = QUERY_DEFAULT_LOOKBACK_MS;
    if (opts.max_samples == 0)
        opts.max_samples = QUERY_DEFAULT_MAX_SAMPLES;
    if (opts.timeout_ms == 0)
        opts.timeout_ms = QUERY_DEFAULT_TIMEOUT_MS;
    if (opts.subquery_step_ms <= 0)
        opts.subquery_step_ms = QUERY_DEFAULT_SUBQUERY_STEP_MS;
    if (opts.max_bytes == 0)
        opts.max_bytes = QUERY_DEFAULT_MAX_BYTES;
    if (range) {
        if (step <= 0)
            return ERR_INVAL(e, "zero or negative query resolution step widths are not accepted. "
                                "Try a positive integer");
        if (end < start)
            return ERR_INVAL(e, "end timestamp must not be before start time");
    }

    struct query *q = calloc(1, sizeof *q);
    if (q == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    arena_init(&q->a, opts.max_bytes);
    int rc = promql_parse(&q->a, expr, len, &q->x, e);
    if (rc != 0) {
        query_free(q);
        return rc;
    }
    const struct ast_node *root = q->x.root;
    if (range && root->type != PROMQL_SCALAR && root->type != PROMQL_VECTOR) {
        rc = ERR_INVAL(e, "invalid expression type \"%s\" for range query, must be Scalar or "
                          "instant Vector", promql_type_name(root->type));
        query_free(q);
        return rc;
    }

    struct eval ev = {
        .st = st, .a = &q->a, .e = e,
        .start = start, .end = range ? end : start, .interval = range ? step : 1,
        .q_start = start, .q_end = range ? end : start,
        .lookback_ms = opts.lookback_ms, .subquery_step_ms = opts.subquery_step_ms,
        .max_samples = opts.max_samples,
    };
    if (opts.timeout_ms > 0)
        ev.deadline_ns = time_mono_ns() + opts.timeout_ms * 1000000;
    ev.tier_max = opts.overlay ? -1 : STORAGE_MAX_TIERS;
    ev.overlay = opts.overlay;
    ev.overlay_ctx = opts.overlay_ctx;
    if (opts.tier && opts.tier[0] && strcmp(opts.tier, "auto") != 0 && !opts.overlay) {
        ev.tier_max = strcmp(opts.tier, "raw") == 0 ? -1 : storage_tier_find(st, opts.tier);
        if (ev.tier_max < 0 && strcmp(opts.tier, "raw") != 0) {
            rc = ERR_INVAL(e, "unknown tier \"%s\" (auto, raw or a tier of the tiers: "
                              "configuration)", opts.tier);
            query_free(q);
            return rc;
        }
    }
    struct query_result *res = &q->res;
    res->t_ms = start;

    if (ast_unparen(root)->kind == AST_STRING) {
        res->type = QUERY_STRING;
        res->str = ast_unparen(root)->u.str;
        *out = q;
        return 0;
    }
    rc = eval_prepare(&ev, &q->x);
    if (rc == 0)
        rc = eval_node(&ev, root, &q->m);
    eval_slots_free(&ev);
    /* The series read were freed just now, in this thread's malloc arena,
     * which glibc does not shrink on its own: after a large read, give the
     * free pages back (one pass over the free lists, ~ms) so a big query
     * does not raise the server's resident memory for good. */
    if (ev.loaded_samples >= QUERY_TRIM_SAMPLES)
        malloc_trim(0);
    res->samples_loaded = ev.loaded_samples;
    res->peak_samples = ev.peak_samples;
    for (int t = STORAGE_MAX_TIERS - 1; t >= -1; t--) {
        if (!(ev.tiers_used & (1u << (t + 1))))
            continue;
        size_t l = strlen(res->tier);
        snprintf(res->tier + l, sizeof res->tier - l, "%s%s", l ? "+" : "",
                 storage_tier_name(st, t));
    }
    if (res->tier[0] == 0)
        snprintf(res->tier, sizeof res->tier, "raw");
    if (rc != 0) {
        query_free(q);
        return rc;
    }

    struct matrix *m = &q->m;
    if (range || root->type == PROMQL_MATRIX)
        res->type = QUERY_MATRIX;
    else if (root->type == PROMQL_SCALAR)
        res->type = QUERY_SCALAR;
    else
        res->type = QUERY_VECTOR;
    if (res->type == QUERY_SCALAR) {
        res->scalar = m->n && m->s[0].npts ? m->s[0].pts[0].v : 0;
        *out = q;
        return 0;
    }
    if (range)
        matrix_sort(m);
    q->series = calloc(m->n ? m->n : 1, sizeof *q->series);
    if (q->series == NULL) {
        query_free(q);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < m->n; i++) {
        q->series[i] = (struct query_series){
            .labels = m->s[i].ls, .nlabels = m->s[i].nls,
            .samples = m->s[i].pts, .nsamples = m->s[i].npts,
        };
    }
    res->series = q->series;
    res->nseries = m->n;
    *out = q;
    return 0;
}

int query_instant(struct query **out, struct storage *s, const char *expr, size_t len,
                  int64_t t_ms, const struct query_opts *o, struct err *e)
{
    return run(out, s, expr, len, t_ms, t_ms, 0, false, o, e);
}

int query_range(struct query **out, struct storage *s, const char *expr, size_t len,
                int64_t start_ms, int64_t end_ms, int64_t step_ms, const struct query_opts *o,
                struct err *e)
{
    return run(out, s, expr, len, start_ms, end_ms, step_ms, true, o, e);
}
