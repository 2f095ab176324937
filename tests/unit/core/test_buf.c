/* test_buf.c: the capped buffer and its varint/little-endian codecs (core/buf.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

static void test_cap(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "12345678", 8), 0);
    assert_int_equal(buf_putc(&b, 'x'), TIDE_ELIMIT);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.p, "12345678", 9); /* still NUL-terminated */
    buf_fini(&b);
}

static void test_varints(void **state)
{
    static const int64_t vals[] = {0, 1, -1, 63, -64, 64, 300, -300, INT64_MAX, INT64_MIN,
                                   1700000000000LL};
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        buf_put_varint(&b, vals[i]);
        buf_put_uvarint(&b, (uint64_t)vals[i]);
        buf_put_u32le(&b, (uint32_t)vals[i]);
        buf_put_f64(&b, (double)vals[i]);
    }
    buf_put_bytes(&b, "hello", 5);
    struct rd r;
    rd_init(&r, b.p, b.len);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        assert_int_equal(rd_varint(&r), vals[i]);
        assert_int_equal(rd_uvarint(&r), (uint64_t)vals[i]);
        assert_int_equal(rd_u32le(&r), (uint32_t)vals[i]);
        assert_true(rd_f64(&r) == (double)vals[i]);
    }
    size_t n;
    const void *p = rd_bytes(&r, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(p, "hello", 5);
    assert_false(r.bad);
    assert_int_equal(rd_left(&r), 0);
    rd_u8(&r);
    assert_true(r.bad);
    buf_fini(&b);
}

static void test_truncated_reads(void **state)
{
    const uint8_t bytes[] = {0x80, 0x80};
    struct rd r;
    rd_init(&r, bytes, sizeof bytes);
    rd_uvarint(&r);
    assert_true(r.bad);
    rd_init(&r, bytes, 1);
    rd_u32le(&r);
    assert_true(r.bad);
    const uint8_t lenbig[] = {0x05, 'a'};
    rd_init(&r, lenbig, sizeof lenbig);
    size_t n;
    assert_null(rd_bytes(&r, &n));
    assert_true(r.bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_varints),
        cmocka_unit_test(test_truncated_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
