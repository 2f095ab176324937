/* test_prom_matrix.c: a matrix answer's series (api/prom_matrix.c): the
 * same bytes whether it is written on one thread or in chunks by two (sizes
 * around PROM_MATRIX_SPLIT_POINTS, lopsided series, empty ones, labels that
 * need escaping; big answers written many times, so the two threads meet
 * at many chunks), and a capped buffer failing with TIDE_ELIMIT and a
 * prefix of the answer. The reference is written series by series with
 * prom_metric_append() and prom_points_append(). The helper's chunks come
 * back spliced (http.h), as a response sends them in place: they are put
 * together here, where the cap must count them too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/prom_matrix.h"
#include "core/err.h"

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void reference(struct buf *b, const struct query_series *s, size_t n,
                      const struct prom_times *pt)
{
    assert_int_equal(buf_putc(b, '['), 0);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_int_equal(buf_putc(b, ','), 0);
        assert_int_equal(prom_metric_append(b, &s[i]), 0);
        assert_int_equal(buf_puts(b, "\"values\":["), 0);
        assert_int_equal(prom_points_append(b, s[i].samples, s[i].nsamples, pt), 0);
        assert_int_equal(buf_puts(b, "]}"), 0);
    }
    assert_int_equal(buf_putc(b, ']'), 0);
}

static const char *const values[] = {"a", "host-17", "quo\"te", "back\\slash", "tab\there",
                                     "\xc3\xa9t\xc3\xa9", "ctl\x01"};

/* A random matrix of n series with about `points` points in all; `shape`
 * 0 spreads them evenly, 1 puts nearly all in the first series, 2 in the
 * last, 3 leaves every other series empty. */
static struct query_series *matrix(uint64_t *st, size_t n, size_t points, int shape,
                                   struct label *ls, struct sample **pool)
{
    struct query_series *s = calloc(n ? n : 1, sizeof *s);
    assert_non_null(s);
    *pool = calloc(points + n + 1, sizeof **pool);
    assert_non_null(*pool);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t np = points / n;
        if (shape == 1)
            np = i == 0 ? points - (n - 1) : 1;
        else if (shape == 2)
            np = i == n - 1 ? points - (n - 1) : 1;
        else if (shape == 3)
            np = i % 2 ? 0 : 2 * points / n;
        if (used + np > points + n)
            np = points + n - used;
        struct sample *p = *pool + used;
        for (size_t j = 0; j < np; j++)
            p[j] = (struct sample){1796515200000LL + 3600000LL * (int64_t)j,
                                   (double)(int64_t)(rnd(st) % 1000000) / 100};
        ls[2 * i] = (struct label){STRV_LIT("host"), strv_c(values[i % 7])};
        ls[2 * i + 1] = (struct label){STRV_LIT("i"), STRV_LIT("x")};
        s[i] = (struct query_series){&ls[2 * i], 2, p, np};
        used += np;
    }
    return s;
}

/* The matrix appended to out (its cap applies) as a response sends it: b
 * up to the splice, the helper's pieces, the rest of b; *spliced 1 when
 * there were pieces. On error the splice is unused and out gets b, a
 * prefix of the answer. */
static int append_joined(struct buf *out, const struct query_series *s, size_t n,
                         const struct prom_times *pt, int *spliced)
{
    struct buf b;
    buf_init(&b, out->max);
    struct http_splice sp = {0};
    int rc = prom_matrix_append(&b, s, n, pt, &sp);
    *spliced = sp.npieces > 0;
    if (rc != 0) {
        assert_int_equal(sp.npieces, 0); /* unused on error */
        assert_null(sp.buf);
        assert_int_equal(buf_append(out, b.p, b.len), 0);
    } else {
        assert_true(sp.at <= b.len);
        assert_int_equal(buf_append(out, b.p, sp.at), 0);
        for (size_t i = 0; i < sp.npieces; i++)
            assert_int_equal(buf_append(out, sp.buf + sp.pieces[i].off, sp.pieces[i].len), 0);
        assert_int_equal(buf_append(out, b.p + sp.at, b.len - sp.at), 0);
    }
    http_splice_release(&sp);
    buf_fini(&b);
    return rc;
}

static void test_same_bytes(void **state)
{
    (void)state;
    uint64_t st = 0x2545f4914f6cdd1dULL;
    static const size_t sizes[][2] = {
        {0, 0},        {1, 10},       {1, 50000},    {2, 40000},    {3, 32767},
        {3, 32768},    {100, 72100},  {100, 216100}, {7, 100000},   {64, 70000},
    };
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        for (int shape = 0; shape < 4; shape++) {
            size_t n = sizes[c][0], points = sizes[c][1];
            struct label *ls = calloc(2 * n + 2, sizeof *ls);
            assert_non_null(ls);
            struct sample *pool;
            struct query_series *s = matrix(&st, n, points, shape, ls, &pool);
            struct prom_times pt;
            assert_int_equal(prom_times_init(&pt, 1796515200000LL, 1796515200000LL +
                                             3600000LL * 11000, 3600000, 11001), 0);
            for (int with_pt = 0; with_pt < 2; with_pt++) {
                const struct prom_times *p = with_pt ? &pt : NULL;
                struct buf want, got;
                buf_init(&want, 0);
                buf_init(&got, 0);
                reference(&want, s, n, p);
                int spliced;
                assert_int_equal(append_joined(&got, s, n, p, &spliced), 0);
                if (want.len != got.len || memcmp(want.p, got.p, want.len) != 0)
                    fail_msg("%zu series, %zu points, shape %d, steps %d: %zu bytes, want %zu",
                             n, points, shape, with_pt, got.len, want.len);
                buf_fini(&want);
                buf_fini(&got);
            }
            prom_times_fini(&pt);
            free(pool);
            free(s);
            free(ls);
        }
    }
}

/* A 90-day chart's answer (100 series x 2 161 points) and a lopsided one,
 * written again and again: wherever the caller and the helper meet, the
 * bytes are the one-thread bytes. */
static void test_chunks_meet(void **state)
{
    (void)state;
    uint64_t st = 0x853c49e6748fea9bULL;
    for (int shape = 0; shape < 2; shape++) {
        size_t n = 100, points = 216100;
        struct label *ls = calloc(2 * n, sizeof *ls);
        assert_non_null(ls);
        struct sample *pool;
        struct query_series *s = matrix(&st, n, points, shape, ls, &pool);
        struct buf want;
        buf_init(&want, 0);
        reference(&want, s, n, NULL);
        int spliced = 0;
        for (int k = 0; k < 25; k++) {
            struct buf got;
            buf_init(&got, 0);
            int sp;
            assert_int_equal(append_joined(&got, s, n, NULL, &sp), 0);
            spliced += sp;
            if (want.len != got.len || memcmp(want.p, got.p, want.len) != 0)
                fail_msg("shape %d, round %d: %zu bytes, want %zu", shape, k, got.len, want.len);
            buf_fini(&got);
        }
        assert_true(spliced > 0); /* the helper wrote chunks at least once */
        buf_fini(&want);
        free(pool);
        free(s);
        free(ls);
    }
}

/* Under a cap: TIDE_ELIMIT, and what was written is a prefix of the whole,
 * whether the cap falls in the first half, the second or the joint. */
static void test_cap(void **state)
{
    (void)state;
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    size_t n = 20, points = 60000;
    struct label *ls = calloc(2 * n, sizeof *ls);
    assert_non_null(ls);
    struct sample *pool;
    struct query_series *s = matrix(&st, n, points, 0, ls, &pool);
    struct buf full;
    buf_init(&full, 0);
    int spliced;
    assert_int_equal(append_joined(&full, s, n, NULL, &spliced), 0);
    const size_t caps[] = {1, 100, full.len / 3, full.len / 2 - 10, full.len / 2,
                           full.len / 2 + 10, full.len - 1, full.len, full.len + 1};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        /* The cap counts the helper's spliced chunks too. */
        struct buf b;
        buf_init(&b, caps[c]);
        int rc = append_joined(&b, s, n, NULL, &spliced);
        if (caps[c] >= full.len) {
            assert_int_equal(rc, 0);
        } else {
            if (rc != TIDE_ELIMIT)
                fail_msg("cap %zu of %zu: rc %d", caps[c], full.len, rc);
        }
        assert_true(b.len <= caps[c]);
        if (b.len > 0 && memcmp(b.p, full.p, b.len) != 0)
            fail_msg("cap %zu: not a prefix", caps[c]);
        if (rc == 0 && b.len != full.len)
            fail_msg("cap %zu: %zu bytes of %zu", caps[c], b.len, full.len);
        buf_fini(&b);
    }
    buf_fini(&full);
    free(pool);
    free(s);
    free(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes),
        cmocka_unit_test(test_chunks_meet),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
