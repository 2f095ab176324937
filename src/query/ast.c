/* ast.c: the PromQL syntax tree's tables and printer (see ast.h).
 *
 * The function table mirrors Prometheus 2.42's parser/functions.go: name,
 * argument types, variadic count and return type; the parser checks calls
 * against it and the evaluator dispatches on the id.
 *
 * The printer writes Prometheus' String() form (sorted matchers, durations
 * as model.Duration prints them, numbers in Go's shortest 'f' format), so
 * that parse -> print -> parse -> print is a fixed point, which
 * fuzz/promql.c checks. */
#include "query/ast.h"

#include "core/fmtfloat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S PROMQL_SCALAR
#define V PROMQL_VECTOR
#define M PROMQL_MATRIX
#define STR PROMQL_STRING

static const struct promql_func funcs[] = {
    {"abs", FN_ABS, 1, 0, {V}, V},
    {"absent", FN_ABSENT, 1, 0, {V}, V},
    {"absent_over_time", FN_ABSENT_OVER_TIME, 1, 0, {M}, V},
    {"acos", FN_ACOS, 1, 0, {V}, V},
    {"acosh", FN_ACOSH, 1, 0, {V}, V},
    {"asin", FN_ASIN, 1, 0, {V}, V},
    {"asinh", FN_ASINH, 1, 0, {V}, V},
    {"atan", FN_ATAN, 1, 0, {V}, V},
    {"atanh", FN_ATANH, 1, 0, {V}, V},
    {"avg_over_time", FN_AVG_OVER_TIME, 1, 0, {M}, V},
    {"ceil", FN_CEIL, 1, 0, {V}, V},
    {"changes", FN_CHANGES, 1, 0, {M}, V},
    {"clamp", FN_CLAMP, 3, 0, {V, S, S}, V},
    {"clamp_max", FN_CLAMP_MAX, 2, 0, {V, S}, V},
    {"clamp_min", FN_CLAMP_MIN, 2, 0, {V, S}, V},
    {"cos", FN_COS, 1, 0, {V}, V},
    {"cosh", FN_COSH, 1, 0, {V}, V},
    {"count_over_time", FN_COUNT_OVER_TIME, 1, 0, {M}, V},
    {"day_of_month", FN_DAY_OF_MONTH, 1, 1, {V}, V},
    {"day_of_week", FN_DAY_OF_WEEK, 1, 1, {V}, V},
    {"day_of_year", FN_DAY_OF_YEAR, 1, 1, {V}, V},
    {"days_in_month", FN_DAYS_IN_MONTH, 1, 1, {V}, V},
    {"deg", FN_DEG, 1, 0, {V}, V},
    {"delta", FN_DELTA, 1, 0, {M}, V},
    {"deriv", FN_DERIV, 1, 0, {M}, V},
    {"exp", FN_EXP, 1, 0, {V}, V},
    {"floor", FN_FLOOR, 1, 0, {V}, V},
    {"histogram_count", FN_HISTOGRAM_COUNT, 1, 0, {V}, V},
    {"histogram_fraction", FN_HISTOGRAM_FRACTION, 3, 0, {S, S, V}, V},
    {"histogram_quantile", FN_HISTOGRAM_QUANTILE, 2, 0, {S, V}, V},
    {"histogram_sum", FN_HISTOGRAM_SUM, 1, 0, {V}, V},
    {"holt_winters", FN_HOLT_WINTERS, 3, 0, {M, S, S}, V},
    {"hour", FN_HOUR, 1, 1, {V}, V},
    {"idelta", FN_IDELTA, 1, 0, {M}, V},
    {"increase", FN_INCREASE, 1, 0, {M}, V},
    {"irate", FN_IRATE, 1, 0, {M}, V},
    {"label_join", FN_LABEL_JOIN, 4, -1, {V, STR, STR, STR}, V},
    {"label_replace", FN_LABEL_REPLACE, 5, 0, {V, STR, STR, STR, STR}, V},
    {"last_over_time", FN_LAST_OVER_TIME, 1, 0, {M}, V},
    {"ln", FN_LN, 1, 0, {V}, V},
    {"log10", FN_LOG10, 1, 0, {V}, V},
    {"log2", FN_LOG2, 1, 0, {V}, V},
    {"max_over_time", FN_MAX_OVER_TIME, 1, 0, {M}, V},
    {"min_over_time", FN_MIN_OVER_TIME, 1, 0, {M}, V},
    {"minute", FN_MINUTE, 1, 1, {V}, V},
    {"month", FN_MONTH, 1, 1, {V}, V},
    {"pi", FN_PI, 0, 0, {0}, S},
    {"predict_linear", FN_PREDICT_LINEAR, 2, 0, {M, S}, V},
    {"present_over_time", FN_PRESENT_OVER_TIME, 1, 0, {M}, V},
    {"quantile_over_time", FN_QUANTILE_OVER_TIME, 2, 0, {S, M}, V},
    {"rad", FN_RAD, 1, 0, {V}, V},
    {"rate", FN_RATE, 1, 0, {M}, V},
    {"resets", FN_RESETS, 1, 0, {M}, V},
    {"round", FN_ROUND, 2, 1, {V, S}, V},
    {"scalar", FN_SCALAR, 1, 0, {V}, S},
    {"sgn", FN_SGN, 1, 0, {V}, V},
    {"sin", FN_SIN, 1, 0, {V}, V},
    {"sinh", FN_SINH, 1, 0, {V}, V},
    {"sort", FN_SORT, 1, 0, {V}, V},
    {"sort_desc", FN_SORT_DESC, 1, 0, {V}, V},
    {"sqrt", FN_SQRT, 1, 0, {V}, V},
    {"stddev_over_time", FN_STDDEV_OVER_TIME, 1, 0, {M}, V},
    {"stdvar_over_time", FN_STDVAR_OVER_TIME, 1, 0, {M}, V},
    {"sum_over_time", FN_SUM_OVER_TIME, 1, 0, {M}, V},
    {"tan", FN_TAN, 1, 0, {V}, V},
    {"tanh", FN_TANH, 1, 0, {V}, V},
    {"time", FN_TIME, 0, 0, {0}, S},
    {"timestamp", FN_TIMESTAMP, 1, 0, {V}, V},
    {"vector", FN_VECTOR, 1, 0, {S}, V},
    {"year", FN_YEAR, 1, 1, {V}, V},
};

#undef S
#undef V
#undef M
#undef STR

const struct promql_func *promql_func_lookup(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strlen(funcs[i].name) == n && memcmp(funcs[i].name, name, n) == 0)
            return &funcs[i];
    return NULL;
}

const struct promql_func *promql_func_at(size_t i)
{
    return i < sizeof funcs / sizeof funcs[0] ? &funcs[i] : NULL;
}

const char *promql_type_name(enum promql_type t)
{
    switch (t) {
    case PROMQL_SCALAR: return "scalar";
    case PROMQL_VECTOR: return "instant vector";
    case PROMQL_MATRIX: return "range vector";
    case PROMQL_STRING: return "string";
    default: return "none";
    }
}

static const char *const op_names[] = {
    "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless",
};

const char *ast_op_name(enum ast_op op) { return op_names[op]; }

static const char *const aggr_names[] = {
    "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
    "count_values", "quantile",
};

const char *ast_aggr_name(enum aggr_op op) { return aggr_names[op]; }

/* ---- printer ---- */

/* Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read
 * back as v, written without an exponent; +Inf is "+Inf". */
int ast_print_float(struct buf *b, double v)
{
    return fmtfloat_f(b, v);
}

/* Prometheus' model.Duration.String(). */
int ast_print_duration(struct buf *b, int64_t ms)
{
    if (ms == 0)
        return buf_puts(b, "0s");
    static const struct {
        const char *unit;
        int64_t mult;
        bool exact;
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000, true}, {"w", 7LL * 24 * 3600 * 1000, true},
        {"d", 24LL * 3600 * 1000, false}, {"h", 3600LL * 1000, false}, {"m", 60LL * 1000, false},
        {"s", 1000, false}, {"ms", 1, false},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (units[i].exact && ms % units[i].mult != 0)
            continue;
        int64_t v = ms / units[i].mult;
        if (v > 0) {
            rc |= buf_printf(b, "%lld%s", (long long)v, units[i].unit);
            ms -= v * units[i].mult;
        }
    }
    return rc;
}

/* Go's %q for a string, keeping valid UTF-8 as is. */
int ast_print_quoted(struct buf *b, struct strv s)
{
    int rc = buf_putc(b, '"');
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        switch (c) {
        case '"': rc |= buf_puts(b, "\\\""); continue;
        case '\\': rc |= buf_puts(b, "\\\\"); continue;
        case '\a': rc |= buf_puts(b, "\\a"); continue;
        case '\b': rc |= buf_puts(b, "\\b"); continue;
        case '\f': rc |= buf_puts(b, "\\f"); continue;
        case '\n': rc |= buf_puts(b, "\\n"); continue;
        case '\r': rc |= buf_puts(b, "\\r"); continue;
        case '\t': rc |= buf_puts(b, "\\t"); continue;
        case '\v': rc |= buf_puts(b, "\\v"); continue;
        }
        if (c < 0x20 || c == 0x7f) {
            rc |= buf_printf(b, "\\x%02x", c);
            continue;
        }
        if (c < 0x80) {
            rc |= buf_putc(b, (char)c);
            continue;
        }
        /* A valid multi-byte sequence is copied; anything else is \x escaped. */
        int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = len > 0 && i + (size_t)len <= s.n;
        uint32_t r = len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (int k = 1; ok && k < len; k++) {
            unsigned char cc = (unsigned char)s.p[i + (size_t)k];
            if ((cc & 0xC0) != 0x80)
                ok = false;
            r = (r << 6) | (cc & 0x3Fu);
        }
        if (ok) {
            static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
            if (r < min[len] || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000))
                ok = false;
        }
        if (ok && r == 0xFFFD) {
            rc |= buf_puts(b, "\\ufffd");
            i += (size_t)len - 1;
        } else if (ok) {
            rc |= buf_append(b, s.p + i, (size_t)len);
            i += (size_t)len - 1;
        } else {
            rc |= buf_printf(b, "\\x%02x", c);
        }
    }
    return rc | buf_putc(b, '"');
}

static int print_at_offset(struct buf *b, enum ast_at at, int64_t at_ms, int64_t offset_ms)
{
    int rc = 0;
    if (at == AT_TIME) {
        int64_t ms = at_ms;
        const char *sign = "";
        uint64_t u = (uint64_t)ms;
        if (ms < 0) {
            sign = "-";
            u = (uint64_t)0 - (uint64_t)ms;
        }
        rc |= buf_printf(b, " @ %s%llu.%03llu", sign, (unsigned long long)(u / 1000),
                         (unsigned long long)(u % 1000));
    } else if (at == AT_START) {
        rc |= buf_puts(b, " @ start()");
    } else if (at == AT_END) {
        rc |= buf_puts(b, " @ end()");
    }
    if (offset_ms > 0) {
        rc |= buf_puts(b, " offset ");
        rc |= ast_print_duration(b, offset_ms);
    } else if (offset_ms < 0) {
        rc |= buf_puts(b, " offset -");
        rc |= ast_print_duration(b, -offset_ms);
    }
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    const struct buf *x = a, *y = b;
    return strcmp(x->p ? x->p : "", y->p ? y->p : "");
}

static int print_selector_core(struct buf *b, const struct ast_selector *s)
{
    int rc = 0;
    if (s->name.p)
        rc |= buf_append(b, s->name.p, s->name.n);
    size_t n = 0;
    struct buf *parts = calloc(s->nmatchers ? s->nmatchers : 1, sizeof *parts);
    if (parts == NULL)
        return -12;
    for (size_t i = 0; i < s->nmatchers; i++) {
        const struct matcher *m = &s->matchers[i];
        if (s->name.p && m->type == MATCH_EQ && strcmp(m->name, LABEL_METRIC_NAME) == 0 &&
            m->value_len == s->name.n && memcmp(m->value, s->name.p, s->name.n) == 0)
            continue;
        buf_init(&parts[n], 0);
        rc |= buf_puts(&parts[n], m->name);
        rc |= buf_puts(&parts[n], matcher_op(m->type));
        rc |= ast_print_quoted(&parts[n], (struct strv){m->value, m->value_len});
        n++;
    }
    if (n > 0) {
        qsort(parts, n, sizeof *parts, cmp_str);
        rc |= buf_putc(b, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                rc |= buf_putc(b, ',');
            rc |= buf_append(b, parts[i].p, parts[i].len);
        }
        rc |= buf_putc(b, '}');
    }
    for (size_t i = 0; i < n; i++)
        buf_fini(&parts[i]);
    free(parts);
    return rc;
}

static int print_labels(struct buf *b, const struct strv *l, size_t n)
{
    int rc = buf_putc(b, '(');
    for (size_t i = 0; i < n; i++) {
        if (i)
            rc |= buf_puts(b, ", ");
        rc |= buf_append(b, l[i].p, l[i].n);
    }
    return rc | buf_putc(b, ')');
}

int ast_print(struct buf *b, const struct ast_node *n)
{
    int rc = 0;
    switch (n->kind) {
    case AST_NUMBER:
        /* Prometheus prints "+Inf"; "Inf" keeps "+(Inf ^ x)" from reading
         * back as "+(+Inf ^ x)". */
        if (isinf(n->u.num) && n->u.num > 0)
            return buf_puts(b, "Inf");
        return ast_print_float(b, n->u.num);
    case AST_STRING:
        return ast_print_quoted(b, n->u.str);
    case AST_SELECTOR:
        rc |= print_selector_core(b, &n->u.sel);
        return rc | print_at_offset(b, n->u.sel.at, n->u.sel.at_ms, n->u.sel.offset_ms);
    case AST_MATRIX: {
        const struct ast_selector *s = &n->u.mat.vs->u.sel;
        rc |= print_selector_core(b, s);
        rc |= buf_putc(b, '[');
        rc |= ast_print_duration(b, n->u.mat.range_ms);
        rc |= buf_putc(b, ']');
        return rc | print_at_offset(b, s->at, s->at_ms, s->offset_ms);
    }
    case AST_SUBQUERY:
        rc |= ast_print(b, n->u.sub.expr);
        rc |= buf_putc(b, '[');
        rc |= ast_print_duration(b, n->u.sub.range_ms);
        rc |= buf_putc(b, ':');
        if (n->u.sub.step_ms)
            rc |= ast_print_duration(b, n->u.sub.step_ms);
        rc |= buf_putc(b, ']');
        return rc | print_at_offset(b, n->u.sub.at, n->u.sub.at_ms, n->u.sub.offset_ms);
    case AST_UNARY:
        rc |= buf_puts(b, n->u.unary.op == OP_SUB ? "-" : "+");
        return rc | ast_print(b, n->u.unary.expr);
    case AST_PAREN:
        rc |= buf_putc(b, '(');
        rc |= ast_print(b, n->u.paren);
        return rc | buf_putc(b, ')');
    case AST_CALL:
        rc |= buf_puts(b, n->u.call.func->name);
        rc |= buf_putc(b, '(');
        for (size_t i = 0; i < n->u.call.nargs; i++) {
            if (i)
                rc |= buf_puts(b, ", ");
            rc |= ast_print(b, n->u.call.args[i]);
        }
        return rc | buf_putc(b, ')');
    case AST_AGGR: {
        const struct ast_aggr *ag = &n->u.aggr;
        rc |= buf_puts(b, ast_aggr_name(ag->op));
        if (ag->without) {
            rc |= buf_puts(b, " without ");
            rc |= print_labels(b, ag->grouping, ag->ngrouping);
            rc |= buf_putc(b, ' ');
        } else if (ag->ngrouping > 0) {
            rc |= buf_puts(b, " by ");
            rc |= print_labels(b, ag->grouping, ag->ngrouping);
            rc |= buf_putc(b, ' ');
        }
        rc |= buf_putc(b, '(');
        if (ag->param) {
            rc |= ast_print(b, ag->param);
            rc |= buf_puts(b, ", ");
        }
        rc |= ast_print(b, ag->expr);
        return rc | buf_putc(b, ')');
    }
    case AST_BINARY: {
        const struct ast_binary *bin = &n->u.bin;
        rc |= ast_print(b, bin->lhs);
        rc |= buf_putc(b, ' ');
        rc |= buf_puts(b, ast_op_name(bin->op));
        if (bin->return_bool)
            rc |= buf_puts(b, " bool");
        const struct ast_vmatch *vm = &bin->vm;
        bool vectors = bin->lhs->type == PROMQL_VECTOR && bin->rhs->type == PROMQL_VECTOR;
        bool grouped = vm->card == CARD_MANY_TO_ONE || vm->card == CARD_ONE_TO_MANY;
        if (vectors && (vm->nlabels > 0 || vm->on || grouped)) {
            rc |= buf_puts(b, vm->on ? " on " : " ignoring ");
            rc |= print_labels(b, vm->labels, vm->nlabels);
            if (grouped) {
                rc |= buf_puts(b, vm->card == CARD_MANY_TO_ONE ? " group_left " : " group_right ");
                rc |= print_labels(b, vm->include, vm->ninclude);
            }
        }
        rc |= buf_putc(b, ' ');
        return rc | ast_print(b, bin->rhs);
    }
    }
    return rc;
}
