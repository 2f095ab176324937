/* test_parse.c: the PromQL parser and printer (query/lex.c, parse.c, ast.c).
 * Each case is an input and either its printed tree (Prometheus' String()
 * form) or the exact error, "line:col: parse error: message" as Prometheus
 * reports it. Every printed form must parse back to itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "query/ast.h"

static const struct {
    const char *in;
    const char *want; /* printed tree, or NULL when an error is expected */
    const char *err;  /* the error message */
} cases[] = {
    {"1", "1", NULL},
    {"-1", "-1", NULL},
    {"0x1F", "31", NULL},
    {"010", "8", NULL},
    {"1e3", "1000", NULL},
    {"Inf", "Inf", NULL},
    {"-inf", "-Inf", NULL},
    {"NaN", "NaN", NULL},
    {".5", "0.5", NULL},
    {"1.5e-3", "0.0015", NULL},
    {"\"a\\\"b\"", "\"a\\\"b\"", NULL},
    {"'x'", "\"x\"", NULL},
    {"`r\\n`", "\"r\\\\n\"", NULL},
    {"foo", "foo", NULL},
    {"foo{a=\"b\",c!=\"d\",e=~\"f.*\",g!~\"h\"}", "foo{a=\"b\",c!=\"d\",e=~\"f.*\",g!~\"h\"}", NULL},
    {"{__name__=\"x\"}", "{__name__=\"x\"}", NULL},
    {"{a=\"\"}", NULL, "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"foo offset 5m", "foo offset 5m", NULL},
    {"foo offset -1h30m", "foo offset -1h30m", NULL},
    {"foo @ 100", "foo @ 100.000", NULL},
    {"foo @ -1.5", "foo @ -1.500", NULL},
    {"foo @ start()", "foo @ start()", NULL},
    {"foo[5m] @ end() offset 1m", "foo[5m] @ end() offset 1m", NULL},
    {"rate(foo[5m])", "rate(foo[5m])", NULL},
    {"foo[5m:]", "foo[5m:]", NULL},
    {"foo[1h:5m] offset 1w", "foo[1h:5m] offset 1w", NULL},
    {"sum by (a,b) (foo)", "sum by (a, b) (foo)", NULL},
    {"sum(foo) without (a)", "sum without (a) (foo)", NULL},
    {"sum without () (foo)", "sum without () (foo)", NULL},
    {"sum by () (foo)", "sum(foo)", NULL},
    {"topk(3, foo)", "topk(3, foo)", NULL},
    {"count_values(\"v\", foo)", "count_values(\"v\", foo)", NULL},
    {"quantile(0.9, foo)", "quantile(0.9, foo)", NULL},
    {"a + b * c", "a + b * c", NULL},
    {"a * b + c", "a * b + c", NULL},
    {"a - b - c", "a - b - c", NULL},
    {"a ^ b ^ c", "a ^ b ^ c", NULL},
    {"(a ^ b) ^ c", "(a ^ b) ^ c", NULL},
    {"-a ^ b", "-a ^ b", NULL},
    {"-a * b", "-a * b", NULL},
    {"2 ^ -1", "2 ^ -1", NULL},
    {"- -1", "1", NULL},
    {"a == bool b", "a == bool b", NULL},
    {"a * on(x) group_left(y) b", "a * on (x) group_left (y) b", NULL},
    {"a / ignoring(x) group_right b", "a / ignoring (x) group_right () b", NULL},
    {"a and on() b", "a and on () b", NULL},
    {"a or b unless c", "a or b unless c", NULL},
    {"a or b and c", "a or b and c", NULL},
    {"a > b + c", "a > b + c", NULL},
    {"1 < bool 2", "1 < bool 2", NULL},
    {"a atan2 b", "a atan2 b", NULL},
    {"label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")", "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")", NULL},
    {"label_join(up, \"a\", \",\", \"b\", \"c\")", "label_join(up, \"a\", \",\", \"b\", \"c\")", NULL},
    {"sum", "sum", NULL},
    {"sum + 1", "sum + 1", NULL},
    {"by", "by", NULL},
    {"offset offset 5m", "offset offset 5m", NULL},
    {"time()", "time()", NULL},
    {"pi()", "pi()", NULL},
    {"round(foo)", "round(foo)", NULL},
    {"round(foo, 5)", "round(foo, 5)", NULL},
    {"vector(1)", "vector(1)", NULL},
    {"scalar(foo)", "scalar(foo)", NULL},
    {"histogram_quantile(0.9, rate(x[5m]))", "histogram_quantile(0.9, rate(x[5m]))", NULL},
    {"foo{a=\"b\",}", "foo{a=\"b\"}", NULL},
    {"SUM(x) BY (a)", "sum by (a) (x)", NULL},
    {"x @ 1.5", "x @ 1.500", NULL},
    {"x[90m]", "x[1h30m]", NULL},
    {"x[7d]", "x[1w]", NULL},
    {"x[100ms]", "x[100ms]", NULL},
    {"x[1h1ms]", "x[1h1ms]", NULL},
    {"foo # comment", "foo", NULL},
    {"abs(-foo)", "abs(-foo)", NULL},
    {"Y  ^Inf ^sum ++q atan2 d", "Y ^ Inf ^ sum + +q atan2 d", NULL},
    {"+Inf ^ x", "+Inf ^ x", NULL},
    {"1e30 > bool 1e-5", "1000000000000000000000000000000 > bool 0.00001", NULL},
    {"\"\\x41\\u00e9\\101\"", "\"AéA\"", NULL},
    {"min_over_time(rate(x[5m])[30m:1m])", "min_over_time(rate(x[5m])[30m:1m])", NULL},
    {"", NULL, "1:1: parse error: no expression found in input"},
    {"1e400", NULL, "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": value out of range"},
    {"foo bar", NULL, "1:5: parse error: unexpected identifier \"bar\""},
    {"1 +", NULL, "1:4: parse error: unexpected end of input"},
    {"foo{", NULL, "1:5: parse error: unexpected end of input inside braces"},
    {"foo{a}", NULL, "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator"},
    {"foo{a=}", NULL, "1:7: parse error: unexpected \"}\" in label matching, expected string"},
    {"foo{a=\"b\"", NULL, "1:10: parse error: unexpected end of input inside braces"},
    {"foo{a=\"b\" c=\"d\"}", NULL, "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\""},
    {"{}", NULL, "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"foo[5]", NULL, "1:5: parse error: missing unit character in duration"},
    {"foo[]", NULL, "1:5: parse error: missing unit character in duration"},
    {"foo[5m", NULL, "1:7: parse error: unclosed left bracket"},
    {"foo[5m:1m:2m]", NULL, "1:10: parse error: unexpected colon ':'"},
    {"(foo)[5m]", NULL, "1:6: parse error: ranges only allowed for vector selectors"},
    {"foo offset 5m[5m]", NULL, "1:14: parse error: no offset modifiers allowed before range"},
    {"sum(foo)[5m]", NULL, "1:9: parse error: ranges only allowed for vector selectors"},
    {"rate(foo)", NULL, "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"},
    {"rate(foo[5m], 1)", NULL, "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2"},
    {"nosuch(x)", NULL, "1:1: parse error: unknown function with name \"nosuch\""},
    {"round()", NULL, "1:1: parse error: expected at least 1 argument(s) in call to \"round\", got 0"},
    {"round(x,1,2)", NULL, "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"},
    {"label_join(x)", NULL, "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1"},
    {"sum(1)", NULL, "1:5: parse error: expected type instant vector in aggregation expression, got scalar"},
    {"topk(foo)", NULL, "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"},
    {"topk(foo, 3)", NULL, "1:11: parse error: expected type instant vector in aggregation expression, got scalar"},
    {"count_values(1, foo)", NULL, "1:14: parse error: expected type string in aggregation parameter, got scalar"},
    {"sum()", NULL, "1:1: parse error: no arguments for aggregate expression provided"},
    {"sum(a, b)", NULL, "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"},
    {"1 == 1", NULL, "1:3: parse error: comparisons between scalars must use BOOL modifier"},
    {"1 and 1", NULL, "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"foo and 1", NULL, "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"a + on(x) 1", NULL, "1:1: parse error: vector matching only allowed between instant vectors"},
    {"a and on(x) group_left b", NULL, "1:1: parse error: no grouping allowed for \"and\" operation"},
    {"a + bool b", NULL, "1:3: parse error: bool modifier can only be used on comparison operators"},
    {"foo + group_left(baz) bar", NULL, "1:7: parse error: unexpected <group_left>"},
    {"-foo[5m]", NULL, "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""},
    {"\"a\" + 1", NULL, "1:1: parse error: binary expression must contain only scalar and instant vector types"},
    {"foo offset 5m offset 1m", NULL, "1:1: parse error: offset may not be set multiple times"},
    {"foo @ 1 @ 2", NULL, "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"1 offset 5m", NULL, "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"sum(x) @ 5", NULL, "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"foo offset", NULL, "1:11: parse error: unexpected end of input in offset, expected duration"},
    {"foo @", NULL, "1:6: parse error: unexpected end of input in @, expected timestamp"},
    {"foo @ bar", NULL, "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp"},
    {"'unterminated", NULL, "1:1: parse error: unterminated quoted string"},
    {"\"\\q\"", NULL, "1:1: parse error: unknown escape sequence U+0071 'q'"},
    {"a)", NULL, "1:3: parse error: unexpected right parenthesis ')'"},
    {"(a", NULL, "1:3: parse error: unclosed left parenthesis"},
    {"foo{a=\"b\"}{c=\"d\"}", NULL, "1:11: parse error: unexpected \"{\""},
    {"foo{__name__=\"bar\"}", NULL, "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
    {"rate(x[5m],)", NULL, "1:11: parse error: trailing commas not allowed in function call args"},
    {"x[0s]", NULL, "1:3: parse error: duration must be greater than 0"},
    {"x offset 0s", NULL, "1:10: parse error: duration must be greater than 0"},
    {"x[5mh]", NULL, "1:3: parse error: bad duration syntax: \"5mh\""},
    {"x[1m2h]", NULL, "1:3: parse error: not a valid duration string: \"1m2h\""},
    {"sum by (a:b) (x)", NULL, "1:9: parse error: unexpected metric identifier \"a:b\" in grouping opts, expected label"},
    {"sum by (1) (x)", NULL, "1:9: parse error: unexpected number \"1\" in grouping opts, expected label"},
    {"sum 1", NULL, "1:5: parse error: unexpected number \"1\" in aggregation"},
    {"a + on(x) group_left(x) b", NULL, "1:3: parse error: label \"x\" must not occur in ON and GROUP clause at once"},
    {"x[5m:] [1m:]", NULL, "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
    {"rate(x[5m])[5m]", NULL, "1:12: parse error: ranges only allowed for vector selectors"},
    {"abc$", NULL, "1:4: parse error: unexpected character: '$'"},
    {"foo !~ bar", NULL, "1:5: parse error: unexpected character after '!': '~'"},
    {"1 = 2", NULL, "1:3: parse error: unexpected \"=\""},
    {"sum(rate(x[5m]) by (a)", NULL, "1:17: parse error: unexpected <by>"},
};

static int print_of(const char *in, char *out, size_t cap, struct err *e)
{
    struct arena a;
    arena_init(&a, 0);
    struct promql_expr x;
    int rc = promql_parse(&a, in, strlen(in), &x, e);
    if (rc == 0) {
        struct buf b;
        buf_init(&b, 0);
        ast_print(&b, x.root);
        snprintf(out, cap, "%s", b.p ? b.p : "");
        buf_fini(&b);
        promql_expr_fini(&x);
    }
    arena_fini(&a);
    return rc;
}

static void test_cases(void **state)
{
    char got[512], again[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct err e = {0};
        int rc = print_of(cases[i].in, got, sizeof got, &e);
        if (cases[i].want) {
            if (rc != 0)
                fail_msg("case %zu %s: unexpected error %s", i, cases[i].in, e.msg);
            if (strcmp(got, cases[i].want) != 0)
                fail_msg("case %zu %s: printed %s, want %s", i, cases[i].in, got, cases[i].want);
            if (print_of(got, again, sizeof again, &e) != 0 || strcmp(got, again) != 0)
                fail_msg("case %zu %s: %s does not round-trip (%s)", i, cases[i].in, got, e.msg);
        } else {
            if (rc != TIDE_EPARSE)
                fail_msg("case %zu %s: parsed as %s, want error %s", i, cases[i].in,
                         rc == 0 ? got : "(other error)", cases[i].err);
            if (strcmp(e.msg, cases[i].err) != 0)
                fail_msg("case %zu %s: error %s, want %s", i, cases[i].in, e.msg, cases[i].err);
            if (e.line < 1 || e.col < 1)
                fail_msg("case %zu: no position in the error", i);
        }
    }
}

static void test_types(void **state)
{
    static const struct {
        const char *in;
        enum promql_type t;
    } tc[] = {
        {"1", PROMQL_SCALAR},       {"\"s\"", PROMQL_STRING},  {"x", PROMQL_VECTOR},
        {"x[1m]", PROMQL_MATRIX},   {"x[1m:]", PROMQL_MATRIX}, {"1 + 2", PROMQL_SCALAR},
        {"1 + x", PROMQL_VECTOR},   {"time()", PROMQL_SCALAR}, {"(1)", PROMQL_SCALAR},
        {"-x", PROMQL_VECTOR},      {"scalar(x)", PROMQL_SCALAR},
    };
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        struct arena a;
        arena_init(&a, 0);
        struct promql_expr x;
        assert_int_equal(promql_parse(&a, tc[i].in, strlen(tc[i].in), &x, NULL), 0);
        if (x.root->type != tc[i].t)
            fail_msg("%s: type %s", tc[i].in, promql_type_name(x.root->type));
        promql_expr_fini(&x);
        arena_fini(&a);
    }
}

static void test_limits(void **state)
{
    /* Deep nesting is refused, not a stack overflow. */
    static char deep[6000];
    size_t n = 0;
    for (int i = 0; i < 2500; i++)
        deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 2500; i++)
        deep[n++] = ')';
    struct arena a;
    arena_init(&a, 0);
    struct promql_expr x;
    struct err e = {0};
    assert_int_equal(promql_parse(&a, deep, n, &x, &e), TIDE_EPARSE);
    arena_fini(&a);
    /* So are long left-leaning chains, which the parser builds without
     * recursion but every later walk would recurse through. */
    struct buf chain;
    buf_init(&chain, 0);
    buf_puts(&chain, "x");
    for (int i = 0; i < 5000; i++)
        buf_puts(&chain, " + x");
    assert_int_equal(promql_parse(&a, chain.p, chain.len, &x, &e), TIDE_EPARSE);
    assert_non_null(strstr(e.msg, "nested too deeply"));
    buf_reset(&chain);
    buf_puts(&chain, "x");
    for (int i = 0; i < 5000; i++)
        buf_puts(&chain, "[1m:]");
    assert_int_equal(promql_parse(&a, chain.p, chain.len, &x, &e), TIDE_EPARSE);
    buf_fini(&chain);
    arena_fini(&a);
    /* A small arena cap turns into TIDE_ELIMIT. */
    arena_init(&a, 64);
    assert_int_equal(promql_parse(&a, "sum(rate(foo[5m]))", 18, &x, &e), TIDE_ELIMIT);
    arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
