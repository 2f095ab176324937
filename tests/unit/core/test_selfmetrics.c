/* test_selfmetrics.c: the self-metrics registry and its text-format writer
 * (core/selfmetrics.c): exact output, escaping, numbers, registration order,
 * unregistering, and a capped buffer's error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/selfmetrics.h"

static void write_a(void *ctx, struct sm_out *o)
{
    const double *v = ctx;
    sm_family(o, "a_total", SM_COUNTER, "Things, with a \\ and a\nnewline.");
    sm_sample(o, *v, NULL);
    sm_sample(o, 2, "path", "/x\"y\\z\n", "code", "200", NULL);
}

static void write_b(void *ctx, struct sm_out *o)
{
    (void)ctx;
    sm_family(o, "b", SM_GAUGE, "B.");
    sm_sample(o, 0.25, NULL);
    sm_sample(o, NAN, "k", NULL, NULL);
    sm_sample(o, -INFINITY, NULL);
    sm_sample(o, 1e300, NULL);
    sm_family(o, "h", SM_UNTYPED, "H.");
    sm_sample_suffix(o, "_count", 7, NULL);
}

static void test_output(void **state)
{
    struct selfmetrics *r;
    assert_int_equal(selfmetrics_new(&r), 0);
    double a = 12345678;
    assert_int_equal(selfmetrics_register(r, write_a, &a), 0);
    assert_int_equal(selfmetrics_register(r, write_b, NULL), 0);
    assert_int_equal(selfmetrics_register(r, write_a, &a), TIDE_EINVAL);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(selfmetrics_write(r, &b), 0);
    assert_string_equal(b.p, "# HELP a_total Things, with a \\\\ and a\\nnewline.\n"
                             "# TYPE a_total counter\n"
                             "a_total 12345678\n"
                             "a_total{path=\"/x\\\"y\\\\z\\n\",code=\"200\"} 2\n"
                             "# HELP b B.\n"
                             "# TYPE b gauge\n"
                             "b 0.25\n"
                             "b{k=\"\"} NaN\n"
                             "b -Inf\n"
                             "b 1e+300\n"
                             "# HELP h H.\n"
                             "# TYPE h untyped\n"
                             "h_count 7\n");

    /* Unregistered: gone; the other stays. */
    selfmetrics_unregister(r, write_a, &a);
    selfmetrics_unregister(r, write_a, &a); /* absent: no-op */
    buf_reset(&b);
    assert_int_equal(selfmetrics_write(r, &b), 0);
    assert_non_null(strstr(b.p, "# TYPE b gauge"));
    assert_null(strstr(b.p, "a_total"));
    buf_fini(&b);

    /* A capped buffer: the error comes back. */
    buf_init(&b, 16);
    assert_int_equal(selfmetrics_write(r, &b), TIDE_ELIMIT);
    buf_fini(&b);
    selfmetrics_free(r);
    assert_int_equal(selfmetrics_write(NULL, &b), 0);
}

static void noop(void *ctx, struct sm_out *o)
{
    (void)ctx;
    (void)o;
}

static void test_limit(void **state)
{
    struct selfmetrics *r;
    assert_int_equal(selfmetrics_new(&r), 0);
    static char ctxs[SELFMETRICS_MAX + 1];
    for (int i = 0; i < SELFMETRICS_MAX; i++)
        assert_int_equal(selfmetrics_register(r, noop, &ctxs[i]), 0);
    assert_int_equal(selfmetrics_register(r, noop, &ctxs[SELFMETRICS_MAX]), TIDE_ELIMIT);
    selfmetrics_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
