/* test_block.c: block files (storage/block.c): write series, reopen, read
 * back bit for bit, whole and by time range (series split into several
 * chunks); truncated and bit-flipped files give TIDE_ECORRUPT and never
 * crash; ref counting, deletion, concurrent readers; the page cache's
 * budget shared by all blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fs.h"
#include "storage/block.h"

static uint64_t rng_state = 0x13198a2e03707344ULL;

static uint64_t rnd(void)
{
    return test_rnd(&rng_state);
}

enum { NSERIES = 300, CHUNK = 100 }; /* up to 720 samples a series: up to 8 chunks */

struct fixture {
    char dir[256];
    char path[300];
    char names[NSERIES][32];
    struct sample *samples[NSERIES];
    size_t nsamples[NSERIES];
};

/* Series i: {__name__="cpu_usage", host="host_<i>", region="r<i%3>"} in label order. */
static void series_labels(struct fixture *f, size_t i, struct label ls[3])
{
    snprintf(f->names[i], sizeof f->names[i], "host_%04zu", i);
    static const char *regions[] = {"eu", "us", "ap"};
    ls[0] = (struct label){STRV_LIT("__name__"), STRV_LIT("cpu_usage")};
    ls[1] = (struct label){STRV_LIT("host"), strv_c(f->names[i])};
    ls[2] = (struct label){STRV_LIT("region"), strv_c(regions[i % 3])};
}

static void make_samples(struct fixture *f)
{
    for (size_t i = 0; i < NSERIES; i++) {
        size_t n = 1 + rnd() % 720;
        f->nsamples[i] = n;
        f->samples[i] = malloc(n * sizeof(struct sample));
        int64_t t = 1700000000000LL + (int64_t)(rnd() % 100000);
        double w = (double)(rnd() % 1000);
        for (size_t j = 0; j < n; j++) {
            f->samples[i][j].t_ms = t;
            t += 10000 + (int64_t)(rnd() % 5);
            w += (double)(rnd() % 200) / 100.0 - 1.0;
            switch (i % 4) {
            case 0: f->samples[i][j].v = (double)(int64_t)(w * 100) / 100; break;
            case 1: f->samples[i][j].v = w; break;
            case 2: /* constant: 1.0, or (every other one) all stale markers */
                f->samples[i][j].v = i % 8 == 6 ? from_bits(0x7ff0000000000002ULL) : 1.0;
                break;
            default: {
                uint64_t u = j % 50 == 7 ? 0x7ff0000000000002ULL : bits(w);
                memcpy(&f->samples[i][j].v, &u, 8);
            }
            }
        }
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/tide-block-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/0001.blk", f->dir);
    make_samples(f);
    struct block_writer *w;
    struct err e = {0};
    assert_int_equal(block_writer_new(&w, f->path, &e), 0);
    block_writer_set_chunk_samples(w, CHUNK);
    for (size_t i = 0; i < NSERIES; i++) {
        struct label ls[3];
        series_labels(f, i, ls);
        int rc = block_writer_add(w, ls, 3, f->samples[i], f->nsamples[i], &e);
        if (rc != 0)
            fail_msg("add %zu: %d %s", i, rc, e.msg);
    }
    assert_int_equal(block_writer_finish(w, &e), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < NSERIES; i++)
        free(f->samples[i]);
    fs_rm_rf(f->dir);
    free(f);
    return 0;
}

static void check_block(struct fixture *f, struct block *b)
{
    const struct block_meta *m = block_meta(b);
    assert_int_equal(m->nseries, NSERIES);
    uint64_t total = 0;
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    struct sample *v = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < NSERIES; i++) {
        const struct label *ls;
        size_t nls;
        block_series_labels(b, i, &ls, &nls);
        struct label want[3];
        series_labels(f, i, want);
        if (labels_cmp(ls, nls, want, 3) != 0)
            fail_msg("series %zu: labels differ", i);
        size_t n = 0;
        struct err e = {0};
        int rc = block_series_samples(b, i, &v, &n, &cap, &e);
        if (rc != 0)
            fail_msg("series %zu: rc=%d %s", i, rc, e.msg);
        if (n != f->nsamples[i])
            fail_msg("series %zu: %zu samples, want %zu", i, n, f->nsamples[i]);
        for (size_t j = 0; j < n; j++)
            if (v[j].t_ms != f->samples[i][j].t_ms || bits(v[j].v) != bits(f->samples[i][j].v))
                fail_msg("series %zu sample %zu differs", i, j);
        int64_t lo, hi;
        block_series_range(b, i, &lo, &hi);
        assert_true(lo == v[0].t_ms && hi == v[n - 1].t_ms);
        total += n;
        mint = lo < mint ? lo : mint;
        maxt = hi > maxt ? hi : maxt;
    }
    free(v);
    assert_int_equal(m->nsamples, total);
    assert_true(m->mint_ms == mint && m->maxt_ms == maxt);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(m->bytes, (uint64_t)st.st_size);
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct block *b;
    struct err e = {0};
    assert_int_equal(block_open(&b, f->path, &e), 0);
    assert_string_equal(block_path(b), f->path);
    check_block(f, b);
    /* Reading again in reverse order exercises the page cache both ways. */
    struct sample *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = NSERIES; i-- > 0;) {
        n = 0;
        assert_int_equal(block_series_samples(b, i, &v, &n, &cap, NULL), 0);
        assert_int_equal(n, f->nsamples[i]);
    }
    free(v);
    assert_int_equal(block_series_samples(b, NSERIES, &v, &n, &cap, NULL), TIDE_EINVAL);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    assert_int_not_equal(access(tmp, F_OK), 0);
    block_unref(b);
}

/* Read series i over [lo, hi] after two sentinel samples already in the
 * buffer; the result must be exactly the series' samples in the range. */
static void check_range(struct fixture *f, struct block *b, size_t i, int64_t lo, int64_t hi,
                        struct sample **v, size_t *cap)
{
    size_t n = 2;
    if (*cap < 2) {
        *v = realloc(*v, 2 * sizeof **v);
        *cap = 2;
    }
    (*v)[0] = (struct sample){-7, 7.0};
    (*v)[1] = (struct sample){-8, 8.0};
    struct err e = {0};
    bool maybe_nan = false;
    int rc = block_series_samples_range(b, i, lo, hi, v, &n, cap, &maybe_nan, &e);
    if (rc != 0)
        fail_msg("series %zu [%lld, %lld]: rc=%d %s", i, (long long)lo, (long long)hi, rc, e.msg);
    assert_true((*v)[0].t_ms == -7 && (*v)[1].t_ms == -8);
    /* "No NaN" must be true when claimed. */
    for (size_t j = 2; j < n && !maybe_nan; j++)
        if (isnan((*v)[j].v))
            fail_msg("series %zu [%lld, %lld]: NaN at %zu but maybe_nan false", i, (long long)lo,
                     (long long)hi, j);
    size_t k = 2;
    for (size_t j = 0; j < f->nsamples[i]; j++) {
        const struct sample *want = &f->samples[i][j];
        if (want->t_ms < lo || want->t_ms > hi)
            continue;
        if (k >= n || (*v)[k].t_ms != want->t_ms || bits((*v)[k].v) != bits(want->v))
            fail_msg("series %zu [%lld, %lld]: sample %zu differs", i, (long long)lo,
                     (long long)hi, j);
        k++;
    }
    if (k != n)
        fail_msg("series %zu [%lld, %lld]: %zu samples, want %zu", i, (long long)lo,
                 (long long)hi, n - 2, k - 2);
}

static void test_range_reads(void **state)
{
    struct fixture *f = *state;
    struct block *b;
    struct err e = {0};
    assert_int_equal(block_open(&b, f->path, &e), 0);
    struct sample *v = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < NSERIES; i += 7) {
        const struct sample *p = f->samples[i];
        size_t n = f->nsamples[i];
        int64_t first = p[0].t_ms, last = p[n - 1].t_ms;
        /* Whole, unbounded, out of range on either side, empty. */
        check_range(f, b, i, first, last, &v, &cap);
        check_range(f, b, i, INT64_MIN, INT64_MAX, &v, &cap);
        check_range(f, b, i, INT64_MIN, first - 1, &v, &cap);
        check_range(f, b, i, last + 1, INT64_MAX, &v, &cap);
        check_range(f, b, i, last, first, &v, &cap);
        /* Every chunk boundary (the writer splits n evenly into
         * ceil(n / CHUNK) chunks), from both sides, exactly and in the gaps
         * between samples. */
        size_t nch = (n + CHUNK - 1) / CHUNK;
        for (size_t c = 1; c < nch; c++) {
            size_t a = n * c / nch; /* first sample of chunk c */
            check_range(f, b, i, p[a].t_ms, p[a].t_ms, &v, &cap);
            check_range(f, b, i, p[a - 1].t_ms, p[a - 1].t_ms, &v, &cap);
            check_range(f, b, i, p[a - 1].t_ms, p[a].t_ms, &v, &cap);
            check_range(f, b, i, p[a - 1].t_ms + 1, p[a].t_ms - 1, &v, &cap); /* none */
            check_range(f, b, i, first, p[a].t_ms, &v, &cap);
            check_range(f, b, i, p[a].t_ms, last, &v, &cap);
            check_range(f, b, i, p[a - 1].t_ms + 1, INT64_MAX, &v, &cap);
        }
        /* Random windows: within one chunk, across several. */
        for (int r = 0; r < 20; r++) {
            size_t x = (size_t)(rnd() % n), y = (size_t)(rnd() % n);
            if (x > y) {
                size_t t = x;
                x = y;
                y = t;
            }
            check_range(f, b, i, p[x].t_ms - (int64_t)(rnd() % 3), p[y].t_ms + (int64_t)(rnd() % 3),
                        &v, &cap);
        }
    }
    size_t n = 0;
    assert_int_equal(block_series_samples_range(b, NSERIES, 0, 1, &v, &n, &cap, NULL, NULL), TIDE_EINVAL);
    free(v);
    block_unref(b);
}

/* Every series read through one block_pin, in order and in a shuffled
 * order (pages held, changed, taken back), three ranges at once (two
 * ascending, then one back): the same samples as one range at a time; a
 * series index past the end fails without touching the pin's page. */
static void test_pinned_reads(void **state)
{
    struct fixture *f = *state;
    struct block *b;
    struct err e = {0};
    assert_int_equal(block_open(&b, f->path, &e), 0);
    struct sample *v = NULL, *w = NULL;
    size_t cap = 0, capw = 0;
    size_t order[NSERIES];
    for (size_t i = 0; i < NSERIES; i++)
        order[i] = i;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 2)
            for (size_t i = NSERIES - 1; i > 0; i--) {
                size_t j = (size_t)(rnd() % (i + 1)), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        struct block_pin pin = {0};
        for (size_t k = 0; k < NSERIES; k++) {
            size_t i = order[k];
            const struct sample *p = f->samples[i];
            size_t ns = f->nsamples[i];
            /* Ascending ranges (a later one looks for its chunks from
             * where the one before found its first), then descending. */
            int64_t ranges[3][2] = {{p[0].t_ms, p[ns / 3].t_ms},
                                    {p[ns / 2].t_ms + 1, pass == 1 ? INT64_MAX : p[ns - 1].t_ms},
                                    {p[ns / 4].t_ms, p[ns / 2].t_ms}};
            size_t n = 0, nw = 0;
            assert_int_equal(block_series_samples_ranges_pin(b, i, (const int64_t(*)[2])ranges, 3,
                                                             &v, &n, &cap, NULL, &pin, &e),
                             0);
            assert_ptr_equal(pin.b, b);
            for (int r = 0; r < 3; r++)
                assert_int_equal(block_series_samples_range(b, i, ranges[r][0], ranges[r][1], &w,
                                                            &nw, &capw, NULL, &e),
                                 0);
            if (n != nw || memcmp(v, w, n * sizeof *v) != 0)
                fail_msg("pass %d series %zu: %zu samples through the pin, %zu alone", pass, i,
                         n, nw);
        }
        size_t n = 0;
        int64_t all[1][2] = {{INT64_MIN, INT64_MAX}};
        assert_int_equal(block_series_samples_ranges_pin(b, NSERIES, (const int64_t(*)[2])all, 1,
                                                         &v, &n, &cap, NULL, &pin, &e),
                         TIDE_EINVAL);
        assert_ptr_equal(pin.b, b); /* still the last page, still pinned */
        block_pin_release(&pin);
        assert_null(pin.b);
        block_pin_release(&pin); /* nothing held: a no-op */
    }
    free(v);
    free(w);
    block_unref(b);
}

struct reader_arg {
    struct fixture *f;
    struct block *b;
    int start;
    int failures;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    struct sample *v = NULL;
    size_t cap = 0;
    for (int rep = 0; rep < 3; rep++)
        for (size_t i = (size_t)a->start; i < NSERIES; i += 2) {
            size_t n = 0;
            if (block_series_samples(a->b, i, &v, &n, &cap, NULL) != 0 || n != a->f->nsamples[i] ||
                v[n - 1].t_ms != a->f->samples[i][n - 1].t_ms)
                a->failures++;
        }
    free(v);
    block_unref(a->b);
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    struct fixture *f = *state;
    struct block *b;
    assert_int_equal(block_open(&b, f->path, NULL), 0);
    pthread_t th[2];
    struct reader_arg args[2];
    for (int i = 0; i < 2; i++) {
        args[i] = (struct reader_arg){f, b, i, 0};
        block_ref(b);
        pthread_create(&th[i], NULL, reader, &args[i]);
    }
    block_unref(b); /* the readers hold the last refs */
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
}

/* Four readers of four blocks under a budget of about one page: each page
 * load drops another block's page (their locks taken in turn by trylock),
 * every read still gives the series whole, and each block closes while
 * the others read (it leaves the list of blocks the eviction walks). */
static void test_concurrent_blocks_small_cache(void **state)
{
    struct fixture *f = *state;
    size_t old = block_cache_set_max(1);
    pthread_t th[4];
    struct reader_arg args[4];
    for (int i = 0; i < 4; i++) {
        struct block *b;
        assert_int_equal(block_open(&b, f->path, NULL), 0);
        args[i] = (struct reader_arg){f, b, i % 2, 0};
        pthread_create(&th[i], NULL, reader, &args[i]); /* owns b's ref */
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    block_cache_set_max(old);
}

/* Copy the block with a mutation; open and read it all: ok or TIDE_ECORRUPT. */
static int open_damaged(struct fixture *f, const char *bytes, size_t len, bool *data_ok)
{
    char path[320];
    snprintf(path, sizeof path, "%s/damaged.blk", f->dir);
    FILE *fp = fopen(path, "wb"); /* no fsync: a scratch copy */
    assert_non_null(fp);
    assert_int_equal(fwrite(bytes, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    struct block *b;
    struct err e = {0};
    int rc = block_open(&b, path, &e);
    *data_ok = false;
    if (rc != 0)
        return rc;
    struct sample *v = NULL;
    size_t cap = 0;
    *data_ok = true;
    for (size_t i = 0; i < block_meta(b)->nseries && rc == 0; i++) {
        size_t n = 0;
        rc = block_series_samples(b, i, &v, &n, &cap, &e);
        if (rc == 0 && (i >= NSERIES || n != f->nsamples[i]))
            *data_ok = false;
    }
    free(v);
    block_unref(b);
    return rc;
}

static void test_damage(void **state)
{
    struct fixture *f = *state;
    char *p;
    size_t len;
    assert_int_equal(fs_read_file(f->path, &p, &len), 0);
    bool ok;
    assert_int_equal(open_damaged(f, p, len, &ok), 0);
    assert_true(ok);
    /* Truncation anywhere. */
    for (size_t cut = 0; cut < len; cut += (cut < 100 || len - cut < 300) ? 1 : 1999) {
        int rc = open_damaged(f, p, cut, &ok);
        if (rc != TIDE_ECORRUPT)
            fail_msg("truncated to %zu of %zu: rc=%d", cut, len, rc);
    }
    /* Bit flips: the header, pages (sampled), the whole index and footer. */
    for (size_t off = 0; off < len;
         off += (off < 64 || len - off < 400) ? 1 : (len - off < 8000 ? 37 : 499)) {
        unsigned bit = (unsigned)(rnd() % 8);
        p[off] ^= (char)(1u << bit);
        int rc = open_damaged(f, p, len, &ok);
        p[off] ^= (char)(1u << bit);
        if (rc != TIDE_ECORRUPT)
            fail_msg("bit %u of byte %zu/%zu flipped: rc=%d", bit, off, len, rc);
    }
    free(p);
}

static void test_writer_errors(void **state)
{
    struct fixture *f = *state;
    char path[320];
    snprintf(path, sizeof path, "%s/bad.blk", f->dir);
    struct block_writer *w;
    struct err e = {0};
    struct label ls[3];
    assert_int_equal(block_writer_new(&w, path, &e), 0);
    series_labels(f, 5, ls);
    assert_int_equal(block_writer_add(w, ls, 3, f->samples[5], f->nsamples[5], &e), 0);
    series_labels(f, 4, ls);
    assert_int_equal(block_writer_add(w, ls, 3, f->samples[4], f->nsamples[4], &e), TIDE_EINVAL);
    series_labels(f, 5, ls);
    assert_int_equal(block_writer_add(w, ls, 3, f->samples[5], f->nsamples[5], &e), TIDE_EINVAL);
    struct sample unsorted[] = {{2, 1}, {1, 1}};
    series_labels(f, 6, ls);
    assert_int_not_equal(block_writer_add(w, ls, 3, unsorted, 2, &e), 0);
    block_writer_set_chunk_samples(w, 1); /* the pair split across two chunks */
    assert_int_equal(block_writer_add(w, ls, 3, unsorted, 2, &e), TIDE_EINVAL);
    block_writer_set_chunk_samples(w, 0);
    assert_int_equal(block_writer_add(w, ls, 3, unsorted, 0, &e), 0); /* skipped */
    block_writer_abort(w);
    char tmp[340];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_not_equal(access(path, F_OK), 0);

    /* An empty block opens; mark_deleted removes the file on the last unref. */
    assert_int_equal(block_writer_new(&w, path, &e), 0);
    assert_int_equal(block_writer_finish(w, &e), 0);
    struct block *b;
    assert_int_equal(block_open(&b, path, &e), 0);
    assert_int_equal(block_meta(b)->nseries, 0);
    block_ref(b);
    block_mark_deleted(b);
    block_unref(b);
    assert_int_equal(access(path, F_OK), 0);
    block_unref(b);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(block_open(&b, path, &e), -ENOENT);
    assert_null(b);
}

/* Series i of b read whole; the cache's page loads it took. */
static uint64_t read_loads(struct block *b, size_t i)
{
    size_t bytes;
    uint64_t l0, l1;
    block_cache_stats(&bytes, &l0);
    struct sample *v = NULL;
    size_t n = 0, cap = 0;
    struct err e = {0};
    assert_int_equal(block_series_samples(b, i, &v, &n, &cap, &e), 0);
    free(v);
    block_cache_stats(&bytes, &l1);
    return l1 - l0;
}

/* Past the page cache's budget, a block reading two pages in turn keeps
 * both, dropping the older pages of another block, instead of replacing
 * one of its own with the other at every read. */
static void test_cache_evicts_across_blocks(void **state)
{
    struct fixture *f = *state;
    struct block *a, *b, *c;
    struct err e = {0};
    size_t first = 0, last = NSERIES - 1, before, after;
    uint64_t loads;
    /* The two pages' sizes, from a block of their own. */
    assert_int_equal(block_open(&c, f->path, &e), 0);
    block_cache_stats(&before, &loads);
    assert_int_equal(read_loads(c, first), 1);
    assert_int_equal(read_loads(c, last), 1); /* another page */
    block_cache_stats(&after, &loads);
    block_unref(c);
    size_t old = block_cache_set_max(after - before);
    /* Block a fills the budget, then b reads its two pages in turn. */
    assert_int_equal(block_open(&a, f->path, &e), 0);
    assert_int_equal(block_open(&b, f->path, &e), 0);
    for (size_t i = 0; i < NSERIES; i++)
        (void)read_loads(a, i);
    uint64_t n = 0;
    for (int k = 0; k < 10; k++)
        n += read_loads(b, k % 2 ? last : first);
    assert_int_equal(n, 2);
    block_cache_stats(&after, &loads);
    assert_true(after <= before + block_cache_set_max(old));
    block_unref(a);
    block_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_range_reads),
        cmocka_unit_test(test_pinned_reads),
        cmocka_unit_test(test_concurrent_readers),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_cache_evicts_across_blocks),
        cmocka_unit_test(test_concurrent_blocks_small_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
