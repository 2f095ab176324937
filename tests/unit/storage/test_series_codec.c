/* test_series_codec.c: the block column codec (storage/series_codec.c):
 * the value mode picked for each kind of series, bit-exact round trips,
 * timestamp cost, and damaged input -> TIDE_ECORRUPT, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "storage/block.h"

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
    return test_rnd(&rng_state);
}

enum vgen {
    V_CONST, V_CONST_NAN, V_COUNTER, V_GAUGE_INT, V_WALK2, V_WALK_FULL, V_RANDOM_BITS,
    V_WITH_NAN, V_WITH_STALE, V_WITH_NEGZERO, V_WITH_INF, V_TENTHS, V_WALK_INT, V_HUGE
};

static void gen(struct sample *s, size_t n, enum vgen vg, bool jitter)
{
    int64_t t = 1700000000000LL;
    double w = 50.0;
    for (size_t i = 0; i < n; i++) {
        s[i].t_ms = t;
        t += jitter ? 10000 + (int64_t)(rnd() % 21) - 10 : 10000;
        w += ((double)(rnd() % 2001) - 1000.0) / 1000.0;
        switch (vg) {
        case V_CONST: s[i].v = 3.25; break;
        case V_CONST_NAN: s[i].v = from_bits(0x7ff0000000000002ULL); break;
        case V_COUNTER: s[i].v = (double)(i * 1500 + 7); break;
        case V_GAUGE_INT: s[i].v = (double)(rnd() % 100000); break;
        case V_WALK2: s[i].v = round(w * 100) / 100; break;
        case V_WALK_INT: s[i].v = (double)(int64_t)w; break;
        case V_WALK_FULL: s[i].v = w + 1e-9 * (double)(rnd() % 1000); break;
        case V_RANDOM_BITS: s[i].v = from_bits(rnd()); break;
        case V_WITH_NAN: s[i].v = i == n / 2 ? NAN : (double)i; break;
        case V_WITH_STALE:
            s[i].v = i == n - 1 ? from_bits(0x7ff0000000000002ULL) : (double)i;
            break;
        case V_WITH_NEGZERO: s[i].v = i == 3 ? -0.0 : (double)(i % 7); break;
        case V_WITH_INF: s[i].v = i == 5 ? -INFINITY : 1.5; break;
        case V_TENTHS: s[i].v = (double)(rnd() % 1000) / 10.0; break;
        case V_HUGE: s[i].v = i % 2 ? 9.2e18 : -9.2e18; break;
        }
    }
}

static void check_round_trip(const char *name, const struct sample *s, size_t n, struct buf *enc)
{
    buf_reset(enc);
    int rc = series_codec_encode(enc, s, n);
    if (rc != 0)
        fail_msg("case %s: encode rc=%d", name, rc);
    /* Decode after two samples already in the output: append semantics. */
    struct sample *v = malloc(2 * sizeof *v);
    size_t got = 2, cap = 2;
    v[0] = v[1] = (struct sample){-1, -1};
    struct err e = {0};
    rc = series_codec_decode(enc->p, enc->len, &v, &got, &cap, &e);
    if (rc != 0)
        fail_msg("case %s: decode rc=%d (%s at %s)", name, rc, e.msg, e.where);
    if (got != n + 2)
        fail_msg("case %s: decoded %zu samples, want %zu", name, got - 2, n);
    for (size_t i = 0; i < n; i++)
        if (v[i + 2].t_ms != s[i].t_ms || bits(v[i + 2].v) != bits(s[i].v))
            fail_msg("case %s: sample %zu differs", name, i);
    free(v);
}

static void test_modes(void **state)
{
    static const struct {
        const char *name;
        enum vgen v;
        int want_mode; /* 0: any decimal mode; -1: any */
        double max_bytes_per_sample;
    } cases[] = {
        {"const", V_CONST, SERIES_CODEC_CONST, 0.1},
        {"const stale NaN", V_CONST_NAN, SERIES_CODEC_CONST, 0.1},
        {"counter", V_COUNTER, SERIES_CODEC_DEC_DOD, 0.1},
        {"uniform int gauge", V_GAUGE_INT, -1, 4.0}, /* XOR and delta run close */
        {"2-decimal walk", V_WALK2, 0, 3.0},
        {"integer walk (TSBS)", V_WALK_INT, SERIES_CODEC_DEC_PACK, 0.5},
        {"tenths", V_TENTHS, 0, 3.0},
        {"full-precision walk", V_WALK_FULL, SERIES_CODEC_XOR, 9.0},
        {"random bits", V_RANDOM_BITS, SERIES_CODEC_XOR, 10.0},
        {"with NaN", V_WITH_NAN, SERIES_CODEC_XOR, 9.0},
        {"with stale", V_WITH_STALE, SERIES_CODEC_XOR, 9.0},
        {"with -0.0", V_WITH_NEGZERO, SERIES_CODEC_XOR, 9.0},
        {"with -Inf", V_WITH_INF, SERIES_CODEC_XOR, 9.0},
        {"near int64 limits", V_HUGE, -1, 10.0},
    };
    enum { N = 720 };
    struct sample s[N];
    struct buf enc;
    buf_init(&enc, 0);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gen(s, N, cases[c].v, false);
        check_round_trip(cases[c].name, s, N, &enc);
        int mode = series_codec_mode(enc.p, enc.len);
        int want = cases[c].want_mode;
        bool ok = want < 0 ? mode != 0
                  : want ? mode == want
                       : mode == SERIES_CODEC_DEC_DELTA || mode == SERIES_CODEC_DEC_DOD ||
                             mode == SERIES_CODEC_DEC_PACK;
        if (!ok)
            fail_msg("case %s: mode %d, want %d", cases[c].name, mode, want);
        double bps = (double)enc.len / N;
        if (bps > cases[c].max_bytes_per_sample)
            fail_msg("case %s: %.2f bytes/sample > %.2f", cases[c].name, bps,
                     cases[c].max_bytes_per_sample);
    }
    buf_fini(&enc);
}

static void test_round_trips(void **state)
{
    struct sample s[3000];
    struct buf enc;
    buf_init(&enc, 0);
    for (int rep = 0; rep < 300; rep++) {
        size_t n = rnd() % 3000;
        enum vgen vg = (enum vgen)(rnd() % (V_HUGE + 1));
        gen(s, n, vg, rep % 2);
        if (rep % 5 == 0) /* irregular, negative timestamps */
            for (size_t i = 0; i < n; i++)
                s[i].t_ms = -5000000000LL + (int64_t)i * 977 + (int64_t)(i * i % 13);
        char name[64];
        snprintf(name, sizeof name, "rep %d mode-gen %d n %zu", rep, vg, n);
        check_round_trip(name, s, n, &enc);
    }
    /* Extreme timestamps. */
    struct sample x[] = {{INT64_MIN, 1}, {-1, 2}, {0, 3}, {INT64_MAX - 1, 4}, {INT64_MAX, 5}};
    check_round_trip("extreme timestamps", x, 5, &enc);
    check_round_trip("empty", x, 0, &enc);
    check_round_trip("single", x + 2, 1, &enc);
    buf_fini(&enc);
}

static void test_regular_timestamps_cost(void **state)
{
    enum { N = 8640 };
    static struct sample s[N];
    gen(s, N, V_CONST, false);
    struct buf enc;
    buf_init(&enc, 0);
    assert_int_equal(series_codec_encode(&enc, s, N), 0);
    if (enc.len > 32)
        fail_msg("a day of regular constant samples took %zu bytes", enc.len);
    buf_fini(&enc);
}

static void test_encode_errors(void **state)
{
    struct sample s[] = {{10, 1}, {20, 2}, {20, 3}};
    struct buf enc;
    buf_init(&enc, 0);
    assert_int_equal(series_codec_encode(&enc, s, 3), TIDE_EINVAL);
    assert_int_equal(enc.len, 0);
    s[2].t_ms = 15;
    assert_int_equal(series_codec_encode(&enc, s, 3), TIDE_EINVAL);
    assert_int_equal(series_codec_encode(&enc, s, (size_t)SERIES_CODEC_MAX_SAMPLES + 1),
                     TIDE_ELIMIT);
    assert_int_equal(enc.len, 0);
    buf_fini(&enc);
}

static int decode_quiet(const uint8_t *p, size_t len, size_t *n_out)
{
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
    memcpy(copy, p, len);
    struct sample *v = NULL;
    size_t n = 0, cap = 0;
    int rc = series_codec_decode(copy, len, &v, &n, &cap, NULL);
    if (rc != 0 && n != 0)
        fail_msg("failed decode changed n to %zu", n);
    for (size_t i = 1; i < n; i++)
        if (v[i].t_ms <= v[i - 1].t_ms)
            fail_msg("decoded timestamps not increasing");
    *n_out = n;
    free(v);
    free(copy);
    return rc;
}

static void test_corrupt(void **state)
{
    static const enum vgen kinds[] = {V_CONST, V_COUNTER, V_WALK2, V_WALK_FULL, V_WITH_NAN,
                                      V_WALK_INT};
    struct sample s[200];
    struct buf enc;
    buf_init(&enc, 0);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        gen(s, 200, kinds[k], true);
        buf_reset(&enc);
        assert_int_equal(series_codec_encode(&enc, s, 200), 0);
        size_t n;
        /* Every strict prefix is damage. */
        for (size_t len = 0; len < enc.len; len++)
            if (decode_quiet((const uint8_t *)enc.p, len, &n) != TIDE_ECORRUPT)
                fail_msg("kind %zu: prefix of %zu/%zu bytes accepted", k, len, enc.len);
        /* So is a trailing byte. */
        buf_putc(&enc, 0);
        if (decode_quiet((const uint8_t *)enc.p, enc.len, &n) != TIDE_ECORRUPT)
            fail_msg("kind %zu: trailing byte accepted", k);
        enc.len--;
        /* Bit flips: ok or TIDE_ECORRUPT, never more samples than declared. */
        for (size_t bit = 0; bit < enc.len * 8; bit++) {
            enc.p[bit / 8] ^= (char)(1 << (bit % 8));
            int rc = decode_quiet((const uint8_t *)enc.p, enc.len, &n);
            if (rc != 0 && rc != TIDE_ECORRUPT)
                fail_msg("kind %zu bit %zu: rc=%d", k, bit, rc);
            if (n > SERIES_CODEC_MAX_SAMPLES)
                fail_msg("kind %zu bit %zu: %zu samples", k, bit, n);
            enc.p[bit / 8] ^= (char)(1 << (bit % 8));
        }
    }
    /* Random garbage. */
    uint8_t junk[48];
    for (int rep = 0; rep < 50000; rep++) {
        size_t len = rnd() % sizeof junk;
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)rnd();
        if (len > 0 && rep % 2)
            junk[0] = (uint8_t)(1 + rnd() % 5); /* a valid mode more often */
        size_t n;
        int rc = decode_quiet(junk, len, &n);
        if (rc != 0 && rc != TIDE_ECORRUPT)
            fail_msg("garbage rep %d: rc=%d", rep, rc);
    }
    buf_fini(&enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_regular_timestamps_cost),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
