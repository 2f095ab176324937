/* ast.h: the PromQL syntax tree, shared by the parser (parse.c), the printer
 * (ast.c) and the evaluator (eval.c and the func_*, aggr, binop files).
 *
 * Ownership: every node, label list and string of a tree lives in the arena
 * given to promql_parse(); nothing is freed on its own. The one exception is
 * the compiled label matchers of vector selectors (PCRE2 code is malloc'd):
 * promql_parse() records every selector in `struct promql_expr.sels` and
 * promql_expr_fini() runs matcher_fini() on them. Strings (struct strv) point
 * into the arena and are NUL-terminated there.
 *
 * Types follow Prometheus: every node has the value type it evaluates to
 * (scalar, instant vector, range vector, string), checked at parse time the
 * way Prometheus' checkAST does, so the evaluator may rely on them.
 *
 * Adding a function: add an id to enum promql_func_id, a row to the table in
 * ast.c (name, argument types, variadic count, return type), and its case in
 * func_instant.c or func_range.c. Thread: a tree is read-only after parsing
 * and may be evaluated by one thread at a time (matchers hold match data).
 */
#ifndef TIDE_QUERY_AST_H
#define TIDE_QUERY_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/strv.h"
#include "model/matcher.h"

/* The value types of PromQL (Prometheus' parser.ValueType). */
enum promql_type {
    PROMQL_NONE = 0,
    PROMQL_SCALAR,  /* "scalar" */
    PROMQL_VECTOR,  /* "instant vector" */
    PROMQL_MATRIX,  /* "range vector" */
    PROMQL_STRING,  /* "string" */
};

/* "scalar", "instant vector", "range vector", "string" (Prometheus' DocumentedType). */
const char *promql_type_name(enum promql_type t);

enum ast_kind {
    AST_NUMBER,   /* num */
    AST_STRING,   /* str */
    AST_SELECTOR, /* sel: instant vector selector */
    AST_MATRIX,   /* mat: range vector selector, sel[range] */
    AST_SUBQUERY, /* sub: expr[range:step] */
    AST_UNARY,    /* unary: -expr, +expr */
    AST_BINARY,   /* bin */
    AST_AGGR,     /* aggr: sum by (x) (expr), topk(k, expr) ... */
    AST_CALL,     /* call: f(args) */
    AST_PAREN,    /* paren: (expr) */
};

/* Binary operators, in the order of ast_op_names[] in ast.c. */
enum ast_op {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_POW, OP_ATAN2,
    OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE,
    OP_AND, OP_OR, OP_UNLESS,
};

static inline bool ast_op_is_comparison(enum ast_op op) { return op >= OP_EQ && op <= OP_LE; }
static inline bool ast_op_is_set(enum ast_op op) { return op >= OP_AND; }
/* "+", "atan2", "==", "unless" ... */
const char *ast_op_name(enum ast_op op);

/* Aggregation operators, in the order of the names in ast.c. */
enum aggr_op {
    AGGR_SUM, AGGR_AVG, AGGR_COUNT, AGGR_MIN, AGGR_MAX, AGGR_GROUP,
    AGGR_STDDEV, AGGR_STDVAR, AGGR_TOPK, AGGR_BOTTOMK, AGGR_COUNT_VALUES, AGGR_QUANTILE,
};

static inline bool aggr_op_has_param(enum aggr_op op)
{
    return op == AGGR_TOPK || op == AGGR_BOTTOMK || op == AGGR_COUNT_VALUES || op == AGGR_QUANTILE;
}
const char *ast_aggr_name(enum aggr_op op);

/* `@` modifier: none, a fixed time, or the query's start()/end(). The parser
 * keeps what was written (for printing); the evaluator resolves start/end. */
enum ast_at { AT_NONE, AT_TIME, AT_START, AT_END };

/* Functions. */
enum promql_func_id {
    FN_ABS, FN_ABSENT, FN_ABSENT_OVER_TIME, FN_ACOS, FN_ACOSH, FN_ASIN, FN_ASINH, FN_ATAN,
    FN_ATANH, FN_AVG_OVER_TIME, FN_CEIL, FN_CHANGES, FN_CLAMP, FN_CLAMP_MAX, FN_CLAMP_MIN,
    FN_COS, FN_COSH, FN_COUNT_OVER_TIME, FN_DAYS_IN_MONTH, FN_DAY_OF_MONTH, FN_DAY_OF_WEEK,
    FN_DAY_OF_YEAR, FN_DEG, FN_DELTA, FN_DERIV, FN_EXP, FN_FLOOR, FN_HISTOGRAM_COUNT,
    FN_HISTOGRAM_FRACTION, FN_HISTOGRAM_QUANTILE,
    FN_HISTOGRAM_SUM,
    FN_HOLT_WINTERS, FN_HOUR, FN_IDELTA, FN_INCREASE, FN_IRATE, FN_LABEL_JOIN, FN_LABEL_REPLACE,
    FN_LAST_OVER_TIME, FN_LN, FN_LOG10, FN_LOG2, FN_MAX_OVER_TIME, FN_MIN_OVER_TIME, FN_MINUTE,
    FN_MONTH, FN_PI, FN_PREDICT_LINEAR, FN_PRESENT_OVER_TIME, FN_QUANTILE_OVER_TIME, FN_RAD,
    FN_RATE, FN_RESETS, FN_ROUND, FN_SCALAR, FN_SGN, FN_SIN, FN_SINH, FN_SORT, FN_SORT_DESC,
    FN_SQRT, FN_STDDEV_OVER_TIME, FN_STDVAR_OVER_TIME, FN_SUM_OVER_TIME, FN_TAN, FN_TANH,
    FN_TIME, FN_TIMESTAMP, FN_VECTOR, FN_YEAR,
    FN__COUNT
};

#define PROMQL_FUNC_MAX_ARGS 5

/* One row of the function table (Prometheus' parser.Function). */
struct promql_func {
    const char *name;
    enum promql_func_id id;
    uint8_t nargs;                               /* entries used in arg[] */
    int8_t variadic;                             /* 0: exactly nargs; n>0: last arg optional,
                                                    up to n more; -1: unbounded */
    enum promql_type arg[PROMQL_FUNC_MAX_ARGS]; /* argument types */
    enum promql_type ret;                        /* return type */
};

/* The table row named `name` (n bytes), or NULL. */
const struct promql_func *promql_func_lookup(const char *name, size_t n);

struct ast_node;

/* An instant vector selector: metric{l="v", ...} offset 5m @ 123. */
struct ast_selector {
    struct strv name;          /* metric name as written, or {NULL,0} */
    struct matcher *matchers;  /* every matcher, incl. __name__="name"; arena array */
    size_t nmatchers;
    int64_t offset_ms;         /* offset modifier (may be negative); 0 = none */
    enum ast_at at;            /* `@` modifier */
    int64_t at_ms;             /* for AT_TIME */
    int slot;                  /* evaluator: index of the loaded data; -1 until planned */
};

/* A range vector selector: sel[range]. `vs` is an AST_SELECTOR node, which
 * carries the offset and @ modifiers (as in Prometheus). */
struct ast_matrix {
    struct ast_node *vs;
    int64_t range_ms;
};

/* A subquery: expr[range:step] offset x @ t. step_ms 0 = the default
 * resolution (query_opts.subquery_step_ms, Prometheus' global evaluation
 * interval). */
struct ast_subquery {
    struct ast_node *expr;
    int64_t range_ms, step_ms;
    int64_t offset_ms;
    enum ast_at at;
    int64_t at_ms;
};

struct ast_unary {
    enum ast_op op; /* OP_ADD or OP_SUB */
    struct ast_node *expr;
};

enum ast_card { CARD_ONE_TO_ONE, CARD_MANY_TO_ONE, CARD_ONE_TO_MANY, CARD_MANY_TO_MANY };

/* Vector matching of a binary expression between two instant vectors. */
struct ast_vmatch {
    enum ast_card card;     /* MANY_TO_ONE for group_left, ONE_TO_MANY for group_right */
    bool on;                /* on(...) rather than ignoring(...) */
    bool explicit_match;    /* on/ignoring written, even with an empty list */
    struct strv *labels;    /* on/ignoring labels */
    size_t nlabels;
    struct strv *include;   /* group_left/group_right extra labels */
    size_t ninclude;
    bool explicit_include;  /* group_x list written, even empty "()" */
};

struct ast_binary {
    enum ast_op op;
    bool return_bool;       /* comparison with the `bool` modifier */
    struct ast_node *lhs, *rhs;
    struct ast_vmatch vm;   /* meaningful when both sides are instant vectors */
};

struct ast_aggr {
    enum aggr_op op;
    struct ast_node *expr;
    struct ast_node *param; /* topk/bottomk/quantile/count_values, else NULL */
    bool without;           /* without(...) rather than by(...) */
    bool has_grouping;      /* by/without was written */
    struct strv *grouping;
    size_t ngrouping;
};

struct ast_call {
    const struct promql_func *func;
    struct ast_node **args;
    size_t nargs;
};

struct ast_node {
    enum ast_kind kind;
    enum promql_type type; /* the value type the node evaluates to */
    uint32_t pos, end;     /* byte range [pos, end) in the query text */
    uint32_t depth;        /* 1 + the deepest child's depth (parse caps it) */
    union {
        double num;
        struct strv str;   /* unquoted, unescaped */
        struct ast_selector sel;
        struct ast_matrix mat;
        struct ast_subquery sub;
        struct ast_unary unary;
        struct ast_binary bin;
        struct ast_aggr aggr;
        struct ast_call call;
        struct ast_node *paren;
    } u;
};

/* A parsed query: the root and the selectors whose matchers need freeing. */
struct promql_expr {
    struct ast_node *root;
    struct ast_node **sels; /* every AST_SELECTOR node, in parse order */
    size_t nsels;
};

/* Parse `n` bytes of PromQL into a tree allocated from `a`. On success
 * out->root is set; the caller runs promql_expr_fini() before arena_fini().
 * On failure returns TIDE_EPARSE (or -ENOMEM / TIDE_ELIMIT when the arena is
 * exhausted) with e->line/col and e->msg in Prometheus' form
 * "1:5: parse error: unexpected ..."; nothing needs freeing then. */
int promql_parse(struct arena *a, const char *s, size_t n, struct promql_expr *out,
                 struct err *e);
void promql_expr_fini(struct promql_expr *x);

/* Print the tree in canonical PromQL (Prometheus' String() form), such that
 * parsing the output gives a tree printing the same text. Appends to `dst`. */
int ast_print(struct buf *dst, const struct ast_node *n);

/* Row i of the function table (alphabetical), NULL past the end. */
const struct promql_func *promql_func_at(size_t i);

/* Printer pieces, shared with the evaluator's error messages and tests:
 * Go's FormatFloat(v, 'f', -1), model.Duration.String() and %q. */
int ast_print_float(struct buf *b, double v);
int ast_print_duration(struct buf *b, int64_t ms);
int ast_print_quoted(struct buf *b, struct strv s);

/* Skip AST_PAREN wrappers. */
static inline const struct ast_node *ast_unparen(const struct ast_node *n)
{
    while (n->kind == AST_PAREN)
        n = n->u.paren;
    return n;
}

#endif
