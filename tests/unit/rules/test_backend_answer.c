/* test_backend_answer.c: a Prometheus-API answer → the query_result rules
 * read (rules/backend_answer.c), table-driven: vectors (labels sorted, empty
 * values dropped, escapes decoded), scalars, NaN/±Inf/-0 values bit for
 * bit, matrices (the for-state restore), strings, exact millisecond times,
 * the API's errors mapped to the engine's codes with their messages, HTTP
 * errors without JSON, and malformed answers. Each case renders the result
 * as text and compares it with the wanted one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/jsontree.h"
#include "rules/backend_answer.h"

/* NaN, +Inf, -Inf, -0 by name; everything else with 17 digits. */
static void put_value(struct buf *b, double v)
{
    if (isnan(v))
        buf_puts(b, "NaN");
    else if (isinf(v))
        buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == 0 && signbit(v))
        buf_puts(b, "-0");
    else
        buf_printf(b, "%.17g", v);
}

static void put_series(struct buf *b, const struct query_series *s)
{
    buf_putc(b, '{');
    for (size_t i = 0; i < s->nlabels; i++)
        buf_printf(b, "%s%.*s=\"%.*s\"", i ? "," : "", (int)s->labels[i].name.n,
                   s->labels[i].name.p, (int)s->labels[i].value.n, s->labels[i].value.p);
    buf_putc(b, '}');
    for (size_t i = 0; i < s->nsamples; i++) {
        buf_putc(b, ' ');
        put_value(b, s->samples[i].v);
        buf_printf(b, "@%lld", (long long)s->samples[i].t_ms);
    }
}

/* "vector: {a="b"} 1@1000; …", "scalar: 1@1000", "matrix: …", "string: x@1000". */
static void render(const struct query_result *r, struct buf *b)
{
    static const char *const names[] = {"?", "scalar", "vector", "matrix", "string"};
    buf_printf(b, "%s:", names[r->type]);
    if (r->type == QUERY_SCALAR) {
        buf_putc(b, ' ');
        put_value(b, r->scalar);
        buf_printf(b, "@%lld", (long long)r->t_ms);
    } else if (r->type == QUERY_STRING) {
        buf_printf(b, " %.*s@%lld", (int)r->str.n, r->str.p, (long long)r->t_ms);
    } else {
        for (size_t i = 0; i < r->nseries; i++) {
            buf_puts(b, i ? "; " : " ");
            put_series(b, &r->series[i]);
        }
    }
}

static const struct {
    const char *name;
    int status;
    const char *body;
    int rc;
    const char *want; /* rendered result, or the error message (a prefix of it) */
} cases[] = {
    {"vector", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{\"job\":\"b\",\"__name__\":\"up\",\"instance\":\"h:1\"},"
     "\"value\":[1435781451.781,\"1\"]},"
     "{\"metric\":{},\"value\":[1435781451.781,\"0.25\"]}]}}",
     0,
     "vector: {__name__=\"up\",instance=\"h:1\",job=\"b\"} 1@1435781451781; {} 0.25@1435781451781"},
    {"empty vector", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", 0, "vector:"},
    {"warnings ignored", 200,
     "{\"status\":\"success\",\"warnings\":[\"w\"],\"data\":{\"result\":[{\"value\":[1,\"2\"],"
     "\"metric\":{\"a\":\"x\"}}],\"resultType\":\"vector\"}}",
     0, "vector: {a=\"x\"} 2@1000"},
    {"scalar", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1700000000.5,\"42\"]}"
     "}",
     0, "scalar: 42@1700000000500"},
    {"special values", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{\"v\":\"nan\"},\"value\":[1,\"NaN\"]},"
     "{\"metric\":{\"v\":\"pinf\"},\"value\":[1,\"+Inf\"]},"
     "{\"metric\":{\"v\":\"ninf\"},\"value\":[1,\"-Inf\"]},"
     "{\"metric\":{\"v\":\"nzero\"},\"value\":[1,\"-0\"]},"
     "{\"metric\":{\"v\":\"big\"},\"value\":[1,\"1e+21\"]},"
     "{\"metric\":{\"v\":\"tiny\"},\"value\":[1,\"5e-324\"]},"
     "{\"metric\":{\"v\":\"long\"},\"value\":[1,\"0.30000000000000004\"]}]}}",
     0,
     "vector: {v=\"nan\"} NaN@1000; {v=\"pinf\"} +Inf@1000; {v=\"ninf\"} -Inf@1000; "
     "{v=\"nzero\"} -0@1000; {v=\"big\"} 1e+21@1000; {v=\"tiny\"} 4.9406564584124654e-324@1000; "
     "{v=\"long\"} 0.30000000000000004@1000"},
    {"scalar NaN", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"NaN\"]}}", 0,
     "scalar: NaN@1000"},
    {"labels: escapes decoded, empty values dropped", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{\"q\":\"a\\\"b\\u00e9\\ud83d\\ude00\",\"e\":\"\"},\"value\":[1,\"1\"]}]}}",
     0, "vector: {q=\"a\"b\xc3\xa9\xf0\x9f\x98\x80\"} 1@1000"},
    {"times: integer, one and two decimals, negative", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
     "{\"metric\":{\"__name__\":\"ALERTS_FOR_STATE\",\"alertname\":\"A\"},"
     "\"values\":[[-1.5,\"1\"],[7,\"2\"],[7.1,\"3\"],[7.12,\"4\"],[7.123,\"5\"]]}]}}",
     0,
     "matrix: {__name__=\"ALERTS_FOR_STATE\",alertname=\"A\"} 1@-1500 2@7000 3@7100 4@7120 "
     "5@7123"},
    {"time with an exponent", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1.5e3,\"1\"]}}", 0,
     "scalar: 1@1500000"},
    {"string", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[3,\"hello\"]}}", 0,
     "string: hello@3000"},
    {"empty matrix", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", 0, "matrix:"},

    /* the API's errors, with their own messages */
    {"execution error", 422,
     "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"found duplicate series for "
     "the match group\"}",
     QUERY_EEXEC, "found duplicate series for the match group"},
    {"bad_data", 400,
     "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error: "
     "unexpected end of input\"}",
     TIDE_EINVAL, "1:5: parse error: unexpected end of input"},
    {"timeout", 503,
     "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in expression "
     "evaluation\"}",
     QUERY_ETIMEOUT, "query timed out in expression evaluation"},
    {"canceled", 503, "{\"status\":\"error\",\"errorType\":\"canceled\",\"error\":\"x\"}",
     -ECANCELED, "x"},
    {"unavailable", 503, "{\"status\":\"error\",\"errorType\":\"unavailable\",\"error\":\"down\"}",
     -EIO, "down"},
    {"error with status 200", 200,
     "{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"boom\"}", -EIO, "boom"},
    {"error without a message", 500, "{\"status\":\"error\",\"errorType\":\"internal\"}", -EIO,
     "query_backend: an error without a message"},
    {"HTTP error, text body", 502, "Bad Gateway\n", -EIO, "query_backend: HTTP 502: Bad Gateway"},
    {"HTTP error, empty body", 500, "", -EIO, "query_backend: HTTP 500"},
    {"HTTP error, JSON without status", 404, "{\"a\":1}", -EIO,
     "query_backend: HTTP 404: {\"a\":1}"},

    /* malformed answers */
    {"truncated JSON", 200, "{\"status\":\"success\",\"data\":", TIDE_EPARSE,
     "query_backend: malformed answer: not JSON"},
    {"not JSON", 200, "<html>hello</html>", TIDE_EPARSE,
     "query_backend: malformed answer: not JSON"},
    {"trailing garbage", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}} x", TIDE_EPARSE,
     "query_backend: malformed answer: not JSON"},
    {"no status", 200, "{\"data\":{\"resultType\":\"vector\",\"result\":[]}}", TIDE_EPARSE,
     "query_backend: malformed answer: no \"status\":\"success\""},
    {"no data", 200, "{\"status\":\"success\"}", TIDE_EPARSE,
     "query_backend: malformed answer: no data"},
    {"no resultType", 200, "{\"status\":\"success\",\"data\":{\"result\":[]}}", TIDE_EPARSE,
     "query_backend: malformed answer: no data.resultType"},
    {"unknown resultType", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"histogram\",\"result\":[]}}", TIDE_EPARSE,
     "query_backend: malformed answer: unknown resultType"},
    {"result not an array", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}", TIDE_EPARSE,
     "query_backend: malformed answer: \"result\" is not an array"},
    {"value a number", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{},\"value\":[1,1]}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a vector sample"},
    {"value not a number", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{},\"value\":[1,\"1x\"]}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a vector sample"},
    {"value with a blank", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{},\"value\":[1,\" 1\"]}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a vector sample"},
    {"value empty", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"\"]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a scalar"},
    {"time a string", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[\"1\",\"1\"]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a scalar"},
    {"three-element point", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{},\"value\":[1,\"1\",2]}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a vector sample"},
    {"no value", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{}}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a vector sample"},
    {"label value a number", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{\"a\":1},\"value\":[1,\"1\"]}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a label value is not a string"},
    {"label name twice", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{\"a\":\"1\",\"a\":\"2\"},\"value\":[1,\"1\"]}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a label name appears twice"},
    {"metric not an object", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":[],\"value\":[1,\"1\"]}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: \"metric\" is not an object"},
    {"matrix without values", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{}}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: a matrix series without"},
    {"matrix out of order", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
     "{\"metric\":{},\"values\":[[2,\"1\"],[1,\"1\"]]}]}}",
     TIDE_EPARSE, "query_backend: malformed answer: matrix samples out of time order"},
    {"string not a string", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1,2]}}", TIDE_EPARSE,
     "query_backend: malformed answer: a string"},
};

static void test_cases(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct arena a;
        arena_init(&a, 0);
        struct query_result r;
        memset(&r, 0x5a, sizeof r);
        struct err e = {0};
        int rc =
            backend_answer_parse(cases[i].status, cases[i].body, strlen(cases[i].body), &a, &r, &e);
        struct buf got;
        buf_init(&got, 0);
        if (rc == 0)
            render(&r, &got);
        else
            buf_puts(&got, e.msg);
        const char *g = got.p ? got.p : "";
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d (%s), want %d", cases[i].name, rc, g, cases[i].rc);
        if (rc == 0 && strcmp(g, cases[i].want) != 0)
            fail_msg("%s:\n got  %s\n want %s", cases[i].name, g, cases[i].want);
        if (rc != 0 && strncmp(g, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("%s: message [%s], want it to start with [%s]", cases[i].name, g,
                     cases[i].want);
        if (rc != 0 && (r.type != 0 || r.nseries != 0 || r.series != NULL))
            fail_msg("%s: a failed parse left a result behind", cases[i].name);
        buf_fini(&got);
        arena_fini(&a);
    }
}

/* The result outlives the body: everything it points to is in the arena. */
static void test_owns_copies(void **st)
{
    (void)st;
    char body[] = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
                  "{\"metric\":{\"k\":\"v\"},\"value\":[1,\"3\"]}]}}";
    struct arena a;
    arena_init(&a, 0);
    struct query_result r;
    struct err e = {0};
    assert_int_equal(backend_answer_parse(200, body, strlen(body), &a, &r, &e), 0);
    memset(body, 'x', sizeof body - 1);
    assert_int_equal(r.nseries, 1);
    assert_true(strv_eq_c(r.series[0].labels[0].name, "k"));
    assert_true(strv_eq_c(r.series[0].labels[0].value, "v"));
    assert_true(r.series[0].samples[0].v == 3);
    arena_fini(&a);
}

/* Nesting past the tree reader's depth is refused; at the limit it reads. */
static void test_depth(void **st)
{
    (void)st;
    for (int depth = JV_MAX_DEPTH; depth <= JV_MAX_DEPTH + 1; depth++) {
        char body[512];
        int n = snprintf(body, sizeof body, "{\"status\":\"error\",\"x\":");
        for (int i = 0; i < depth - 1; i++)
            body[n++] = '[';
        for (int i = 0; i < depth - 1; i++)
            body[n++] = ']';
        n += snprintf(body + n, sizeof body - (size_t)n,
                      ",\"errorType\":\"execution\",\"error\":\"e\"}");
        struct arena a;
        arena_init(&a, 0);
        struct query_result r;
        struct err e = {0};
        int rc = backend_answer_parse(200, body, (size_t)n, &a, &r, &e);
        assert_int_equal(rc, depth <= JV_MAX_DEPTH ? QUERY_EEXEC : TIDE_EPARSE);
        arena_fini(&a);
    }
}

/* An arena too small for the answer is -ENOMEM, not a crash. */
static void test_arena_cap(void **st)
{
    (void)st;
    const char *body = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
                       "{\"metric\":{\"k\":\"v\"},\"value\":[1,\"3\"]}]}}";
    struct arena a;
    arena_init(&a, 16);
    struct query_result r;
    struct err e = {0};
    assert_int_equal(backend_answer_parse(200, body, strlen(body), &a, &r, &e), -ENOMEM);
    assert_int_equal(r.nseries, 0);
    arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_owns_copies),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_arena_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
