/* backend_answer.c (fuzz): a query_backend answer → query_result
 * (rules/backend_answer.c), with core/jsontree.c underneath.
 * Invariants: the return is one of the documented codes, and a failure
 * leaves a zeroed result; a non-2xx status never succeeds; a success has
 * labels sorted with distinct names and no empty value, one sample per
 * vector series, matrix samples in strictly increasing time; and the
 * result written back as Prometheus JSON parses to the same result (times
 * to the millisecond, values bit for bit, any NaN for a NaN). */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "rules/backend_answer.h"

static void put_str(struct buf *b, const char *p, size_t n)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_putc(b, (char)c);
    }
    buf_putc(b, '"');
}

static void put_point(struct buf *b, int64_t t_ms, double v)
{
    uint64_t a = t_ms < 0 ? (uint64_t)0 - (uint64_t)t_ms : (uint64_t)t_ms;
    buf_printf(b, "[%s%llu.%03llu,", t_ms < 0 ? "-" : "", (unsigned long long)(a / 1000),
               (unsigned long long)(a % 1000));
    if (isnan(v))
        buf_puts(b, "\"NaN\"]");
    else if (isinf(v))
        buf_puts(b, v > 0 ? "\"+Inf\"]" : "\"-Inf\"]");
    else
        buf_printf(b, "\"%.17g\"]", v);
}

static void write_back(const struct query_result *r, struct buf *b)
{
    static const char *const names[] = {"?", "scalar", "vector", "matrix", "string"};
    buf_printf(
        b, "{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":", names[r->type]);
    if (r->type == QUERY_SCALAR) {
        put_point(b, r->t_ms, r->scalar);
    } else if (r->type == QUERY_STRING) {
        put_point(b, r->t_ms, 0);
        b->len -= 4; /* "0"] */
        put_str(b, r->str.p, r->str.n);
        buf_putc(b, ']');
    } else {
        buf_putc(b, '[');
        for (size_t i = 0; i < r->nseries; i++) {
            const struct query_series *s = &r->series[i];
            buf_puts(b, i ? ",{\"metric\":{" : "{\"metric\":{");
            for (size_t k = 0; k < s->nlabels; k++) {
                if (k)
                    buf_putc(b, ',');
                put_str(b, s->labels[k].name.p, s->labels[k].name.n);
                buf_putc(b, ':');
                put_str(b, s->labels[k].value.p, s->labels[k].value.n);
            }
            buf_puts(b, r->type == QUERY_VECTOR ? "},\"value\":" : "},\"values\":[");
            for (size_t k = 0; k < s->nsamples; k++) {
                if (k)
                    buf_putc(b, ',');
                put_point(b, s->samples[k].t_ms, s->samples[k].v);
            }
            buf_puts(b, r->type == QUERY_VECTOR ? "}" : "]}");
        }
        buf_putc(b, ']');
    }
    buf_puts(b, "}}");
}

static void check_shape(const struct query_result *r)
{
    assert(r->type >= QUERY_SCALAR && r->type <= QUERY_STRING);
    for (size_t i = 0; i < r->nseries; i++) {
        const struct query_series *s = &r->series[i];
        for (size_t k = 0; k < s->nlabels; k++) {
            assert(s->labels[k].value.n > 0);
            if (k > 0)
                assert(strv_cmp(s->labels[k - 1].name, s->labels[k].name) < 0);
        }
        if (r->type == QUERY_VECTOR)
            assert(s->nsamples == 1);
        for (size_t k = 1; k < s->nsamples; k++)
            assert(s->samples[k - 1].t_ms < s->samples[k].t_ms);
    }
}

static void check_same(const struct query_result *a, const struct query_result *b)
{
    assert(a->type == b->type && a->nseries == b->nseries);
    if (a->type == QUERY_SCALAR || a->type == QUERY_STRING)
        assert(a->t_ms == b->t_ms);
    if (a->type == QUERY_SCALAR)
        assert(isnan(a->scalar) ? isnan(b->scalar) : memcmp(&a->scalar, &b->scalar, 8) == 0);
    if (a->type == QUERY_STRING)
        assert(a->str.n == b->str.n && memcmp(a->str.p, b->str.p, a->str.n) == 0);
    for (size_t i = 0; i < a->nseries; i++) {
        const struct query_series *x = &a->series[i], *y = &b->series[i];
        assert(labels_cmp(x->labels, x->nlabels, y->labels, y->nlabels) == 0);
        assert(x->nsamples == y->nsamples);
        for (size_t k = 0; k < x->nsamples; k++) {
            const struct sample *s = &x->samples[k], *t = &y->samples[k];
            assert(s->t_ms == t->t_ms);
            assert(isnan(s->v) ? isnan(t->v) : memcmp(&s->v, &t->v, 8) == 0);
        }
    }
}

static bool documented(int rc)
{
    return rc == 0 || rc == TIDE_EPARSE || rc == TIDE_EINVAL || rc == QUERY_EEXEC ||
           rc == QUERY_ETIMEOUT || rc == -ECANCELED || rc == TIDE_ENOTFOUND || rc == -EIO ||
           rc == -ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct arena a;
    arena_init(&a, (size_t)64 << 20);
    struct query_result r;
    struct err e = {0};
    int rc = backend_answer_parse(200, body, size, &a, &r, &e);
    assert(documented(rc));
    if (rc != 0) {
        assert(r.type == 0 && r.nseries == 0 && r.series == NULL && e.msg[0] != 0);
    } else {
        check_shape(&r);
        struct buf b;
        buf_init(&b, 0);
        write_back(&r, &b);
        struct arena a2;
        arena_init(&a2, (size_t)64 << 20);
        struct query_result r2;
        int rc2 = backend_answer_parse(200, b.p, b.len, &a2, &r2, &e);
        assert(rc2 == 0);
        check_same(&r, &r2);
        arena_fini(&a2);
        buf_fini(&b);
    }
    arena_fini(&a);

    arena_init(&a, (size_t)64 << 20);
    rc = backend_answer_parse(503, body, size, &a, &r, &e);
    assert(rc != 0 && documented(rc));
    arena_fini(&a);
    return 0;
}
