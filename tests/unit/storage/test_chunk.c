/* test_chunk.c: Gorilla head chunks (storage/chunk.c): bit-exact round trips
 * of random and special values, irregular/negative/huge timestamps, resume,
 * and garbage input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "storage/chunk.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    return test_rnd(&rng_state);
}

enum tgen { T_REGULAR, T_JITTER, T_IRREGULAR, T_NEGATIVE, T_HUGE_GAPS, T_EXTREMES };
enum vgen { V_RANDOM_BITS, V_WALK, V_CONST, V_SPECIAL, V_INTS, V_ROUNDED };

static const uint64_t special_bits[] = {
    0x7ff0000000000002ULL, /* Prometheus stale marker */
    0x7ff8000000000001ULL, /* quiet NaN with payload */
    0xfff8000000000000ULL, /* negative NaN */
    0x7ff0000000000001ULL, /* signalling NaN */
    0x7ff0000000000000ULL, /* +Inf */
    0xfff0000000000000ULL, /* -Inf */
    0x8000000000000000ULL, /* -0.0 */
    0x0000000000000000ULL, /* +0.0 */
    0x0000000000000001ULL, /* smallest subnormal */
    0x7fefffffffffffffULL, /* DBL_MAX */
};

struct ts {
    int64_t t;
    double v;
};

static void gen(struct ts *s, size_t n, enum tgen tg, enum vgen vg)
{
    int64_t t;
    switch (tg) {
    case T_NEGATIVE: t = -1700000000000LL; break;
    case T_EXTREMES: t = INT64_MIN; break;
    default: t = 1700000000000LL; break;
    }
    double walk = 100.0;
    for (size_t i = 0; i < n; i++) {
        s[i].t = t;
        switch (tg) {
        case T_REGULAR: t += 10000; break;
        case T_JITTER: t += 10000 + (int64_t)(rnd() % 41) - 20; break;
        case T_IRREGULAR: t += 1 + (int64_t)(rnd() % 1000000); break;
        case T_NEGATIVE: t += 1 + (int64_t)(rnd() % 30000); break;
        case T_HUGE_GAPS: t += 1 + (int64_t)(rnd() >> (rnd() % 60 + 4)); break;
        case T_EXTREMES: t += (int64_t)(rnd() >> 4) + 1; break; /* may stop early, see below */
        }
        switch (vg) {
        case V_RANDOM_BITS: s[i].v = from_bits(rnd()); break;
        case V_WALK: walk += ((double)(rnd() % 2001) - 1000.0) / 997.0; s[i].v = walk; break;
        case V_CONST: s[i].v = 42.5; break;
        case V_SPECIAL: s[i].v = from_bits(special_bits[rnd() % 10]); break;
        case V_INTS: s[i].v = (double)(rnd() % 1000); break;
        case V_ROUNDED:
            walk += (double)(rnd() % 200) / 100.0 - 1.0;
            s[i].v = round(walk * 100) / 100;
            break;
        }
    }
}

static void test_round_trips(void **state)
{
    static const struct {
        const char *name;
        enum tgen t;
        enum vgen v;
        size_t n;
    } cases[] = {
        {"regular walk", T_REGULAR, V_WALK, 240},
        {"jitter random bits", T_JITTER, V_RANDOM_BITS, 240},
        {"irregular special", T_IRREGULAR, V_SPECIAL, 240},
        {"negative ints", T_NEGATIVE, V_INTS, 240},
        {"huge gaps const", T_HUGE_GAPS, V_CONST, 120},
        {"extremes rounded", T_EXTREMES, V_ROUNDED, 14},
        {"one sample", T_REGULAR, V_SPECIAL, 1},
        {"two samples", T_IRREGULAR, V_RANDOM_BITS, 2},
        {"long", T_JITTER, V_WALK, 5000},
    };
    struct ts s[5000];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int rep = 0; rep < 20; rep++) {
            gen(s, cases[c].n, cases[c].t, cases[c].v);
            struct buf b;
            buf_init(&b, 0);
            struct chunk_enc e;
            chunk_enc_init(&e, &b);
            size_t n = 0;
            for (; n < cases[c].n; n++) {
                if (n > 0 && s[n].t <= s[n - 1].t)
                    break; /* T_EXTREMES wrapped: stop there */
                int rc = chunk_enc_append(&e, s[n].t, s[n].v);
                if (rc == TIDE_ELIMIT)
                    break; /* gap wider than INT64_MAX */
                if (rc != 0)
                    fail_msg("case %s: append %zu rc=%d", cases[c].name, n, rc);
            }
            struct chunk_dec d;
            chunk_dec_init(&d, b.p, b.len, (uint32_t)n);
            size_t i = 0;
            while (chunk_dec_next(&d)) {
                int64_t t;
                double v;
                chunk_dec_at(&d, &t, &v);
                if (i >= n || t != s[i].t || bits(v) != bits(s[i].v))
                    fail_msg("case %s rep %d: sample %zu differs", cases[c].name, rep, i);
                i++;
            }
            if (i != n || chunk_dec_err(&d) != 0)
                fail_msg("case %s: decoded %zu of %zu, err %d", cases[c].name, i, n,
                         chunk_dec_err(&d));
            int64_t first = 42;
            if (n > 0 && (!chunk_first_t(b.p, b.len, &first) || first != s[0].t))
                fail_msg("case %s: chunk_first_t %lld, want %lld", cases[c].name,
                         (long long)first, (long long)s[0].t);
            if (chunk_first_t(b.p, 0, &first) || first != (n > 0 ? s[0].t : 42))
                fail_msg("case %s: chunk_first_t of no bytes", cases[c].name);
            buf_fini(&b);
        }
    }
}

static void test_resume(void **state)
{
    struct ts s[300];
    for (size_t cut = 0; cut <= 120; cut += 7) {
        gen(s, 300, T_JITTER, cut % 2 ? V_SPECIAL : V_WALK);
        struct buf whole, part;
        buf_init(&whole, 0);
        buf_init(&part, 0);
        struct chunk_enc e;
        chunk_enc_init(&e, &whole);
        for (size_t i = 0; i < 200; i++)
            assert_int_equal(chunk_enc_append(&e, s[i].t, s[i].v), 0);
        chunk_enc_init(&e, &part);
        for (size_t i = 0; i < cut; i++)
            assert_int_equal(chunk_enc_append(&e, s[i].t, s[i].v), 0);
        /* Stale garbage past the end must be dropped by resume. */
        buf_append(&part, "\xff\xff", 2);
        struct chunk_enc r;
        if (chunk_enc_resume(&r, &part, (uint32_t)cut) != 0)
            fail_msg("cut %zu: resume failed", cut);
        for (size_t i = cut; i < 200; i++)
            assert_int_equal(chunk_enc_append(&r, s[i].t, s[i].v), 0);
        if (part.len != whole.len || memcmp(part.p, whole.p, whole.len) != 0)
            fail_msg("cut %zu: resumed chunk differs from the one-pass chunk", cut);
        buf_fini(&whole);
        buf_fini(&part);
    }
}

static void test_errors(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    struct chunk_enc e;
    chunk_enc_init(&e, &b);
    assert_int_equal(chunk_enc_append(&e, 1000, 1.0), 0);
    size_t len = b.len;
    assert_int_equal(chunk_enc_append(&e, 1000, 2.0), TIDE_EINVAL);
    assert_int_equal(chunk_enc_append(&e, 999, 2.0), TIDE_EINVAL);
    assert_int_equal(b.len, len);
    assert_int_equal(e.n, 1);
    /* A gap wider than INT64_MAX. */
    chunk_enc_init(&e, &b);
    assert_int_equal(chunk_enc_append(&e, INT64_MIN, 1.0), 0);
    assert_int_equal(chunk_enc_append(&e, INT64_MAX, 1.0), TIDE_ELIMIT);
    assert_int_equal(chunk_enc_append(&e, -1, 1.0), 0); /* delta INT64_MAX */
    assert_int_equal(chunk_enc_append(&e, INT64_MAX, 1.0), TIDE_ELIMIT);
    assert_int_equal(chunk_enc_append(&e, 0, 1.0), 0);
    assert_int_equal(chunk_enc_append(&e, INT64_MAX, 1.0), 0); /* 64-bit dod */
    {
        static const int64_t want[] = {INT64_MIN, -1, 0, INT64_MAX};
        struct chunk_dec d;
        chunk_dec_init(&d, b.p, b.len, 4);
        for (size_t i = 0; i < 4; i++) {
            int64_t t;
            double v;
            assert_true(chunk_dec_next(&d));
            chunk_dec_at(&d, &t, &v);
            assert_true(t == want[i]);
        }
    }
    /* Resume of a chunk claiming more samples than it holds. */
    struct buf c;
    buf_init(&c, 0);
    buf_append(&c, b.p, b.len);
    assert_int_equal(chunk_enc_resume(&e, &c, 9), TIDE_ECORRUPT);
    buf_fini(&c);
    /* A buffer cap is TIDE_ELIMIT and leaves the chunk as it was. */
    struct buf small;
    buf_init(&small, 16);
    chunk_enc_init(&e, &small);
    int rc = 0;
    int64_t t = 0;
    while (rc == 0)
        rc = chunk_enc_append(&e, t += 1000, from_bits(rnd()));
    assert_int_equal(rc, TIDE_ELIMIT);
    struct chunk_dec d;
    chunk_dec_init(&d, small.p, small.len, e.n);
    while (chunk_dec_next(&d))
        ;
    assert_int_equal(chunk_dec_err(&d), 0);
    assert_int_equal(d.i, e.n);
    buf_fini(&small);
    buf_fini(&b);
}

static void test_garbage(void **state)
{
    uint8_t junk[64];
    for (int rep = 0; rep < 20000; rep++) {
        size_t len = rnd() % sizeof junk;
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)rnd();
        uint32_t n = (uint32_t)(rnd() % 600);
        /* Exactly-sized heap copy so ASan sees any overread. */
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, junk, len);
        struct chunk_dec d;
        chunk_dec_init(&d, p, len, n);
        int64_t last = INT64_MIN;
        while (chunk_dec_next(&d)) {
            int64_t t;
            double v;
            chunk_dec_at(&d, &t, &v);
            if (d.i > 1 && t <= last)
                fail_msg("rep %d: timestamps not increasing", rep);
            last = t;
        }
        assert_true(d.i <= n);
        assert_true(d.i == n || chunk_dec_err(&d) == TIDE_ECORRUPT);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
