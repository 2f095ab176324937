/* test_postings.c: the inverted index and matcher evaluation (storage/postings.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "storage/engine.h"

/* Five series, indexed in id order. */
static const char *series[][3][2] = {
    {{"__name__", "up"}, {"env", "prod"}, {"job", "a"}},
    {{"__name__", "up"}, {"job", "ab"}, {NULL, NULL}},
    {{"__name__", "up"}, {"env", "dev"}, {"job", "b"}},
    {{"__name__", "down"}, {"job", "a"}, {NULL, NULL}},
    {{"__name__", "down"}, {"env", "prod"}, {NULL, NULL}},
};

struct fixture {
    struct intern in;
    struct postings p;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(intern_init(&f->in), 0);
    postings_init(&f->p);
    for (uint32_t id = 0; id < 5; id++) {
        uint32_t names[3], values[3];
        size_t n = 0;
        for (; n < 3 && series[id][n][0]; n++) {
            assert_int_equal(intern_put(&f->in, strv_c(series[id][n][0]), &names[n]), 0);
            assert_int_equal(intern_put(&f->in, strv_c(series[id][n][1]), &values[n]), 0);
        }
        assert_int_equal(postings_add(&f->p, id, names, values, n), 0);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    postings_fini(&f->p);
    intern_fini(&f->in);
    free(f);
    return 0;
}

struct mcase {
    const char *name;
    const char *selector; /* "name<op>value;..." with op one of = != =~ !~ */
    const char *want;     /* ids, e.g. "0,3" */
};

static void ids_str(const uint32_t *ids, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%u", i ? "," : "", ids[i]);
}

/* Parse the test's "name<op>value;..." syntax (which, unlike an API
 * selector, may consist of matchers that all match the empty string). */
static int parse(const char *sel, struct matcher *m, size_t *nm, struct err *e)
{
    *nm = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", sel);
    for (char *save = NULL, *it = strtok_r(buf, ";", &save); it; it = strtok_r(NULL, ";", &save)) {
        char *op = strpbrk(it, "=!");
        enum matcher_type t = MATCH_EQ;
        size_t oplen = 1;
        if (op[0] == '!' && op[1] == '=')
            t = MATCH_NE, oplen = 2;
        else if (op[0] == '!' && op[1] == '~')
            t = MATCH_NRE, oplen = 2;
        else if (op[0] == '=' && op[1] == '~')
            t = MATCH_RE, oplen = 2;
        struct strv name = {it, (size_t)(op - it)};
        int rc = matcher_init(&m[(*nm)++], t, name, strv_c(op + oplen), e);
        if (rc)
            return rc;
    }
    return 0;
}

static void test_matchers(void **state)
{
    struct fixture *f = *state;
    static const struct mcase cases[] = {
        {"metric name", "__name__=up", "0,1,2"},
        {"equal", "job=a", "0,3"},
        {"regex is anchored", "job=~a", "0,3"},
        {"regex prefix", "job=~a.*", "0,1,3"},
        {"not equal includes absent", "job!=a", "1,2,4"},
        {"not regex includes absent", "job!~a.*", "2,4"},
        {"empty value means absent", "env=", "1,3"},
        {"not empty means present", "env!=", "0,2,4"},
        {"match-all regex", "env=~.*", "0,1,2,3,4"},
        {"regex matching empty adds absent", "env=~prod|", "0,1,3,4"},
        {"regex not matching empty", "env=~.+", "0,2,4"},
        {"intersection", "__name__=up;env=prod", "0"},
        {"intersect and subtract", "__name__=up;job!=b", "0,1"},
        {"unknown label", "x=y", ""},
        {"unknown label negated", "x!=y", "0,1,2,3,4"},
        {"unknown value", "job=zz", ""},
        {"regex alternation", "__name__=~up|down;env!~dev", "0,1,3,4"},
        {"three matchers", "__name__=up;env=~p.*;job=~a|b", "0"},
        {"empty intersection", "__name__=down;env=dev", ""},
        {"only negative matchers", "job!=a;env!=prod", "1,2"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct matcher m[8];
        size_t nm;
        struct err e = {0};
        int rc = parse(cases[c].selector, m, &nm, &e);
        if (rc)
            fail_msg("%s: parse %s: %s", cases[c].name, cases[c].selector, e.msg);
        uint32_t *ids;
        size_t n;
        assert_int_equal(postings_select(&f->p, &f->in, 5, m, nm, &ids, &n, &e), 0);
        char got[64];
        ids_str(ids, n, got, sizeof got);
        if (strcmp(got, cases[c].want) != 0)
            fail_msg("%s: %s: got [%s], want [%s]", cases[c].name, cases[c].selector, got,
                     cases[c].want);
        free(ids);
        for (size_t i = 0; i < nm; i++)
            matcher_fini(&m[i]);
    }
    /* No matchers: everything. */
    uint32_t *ids;
    size_t n;
    assert_int_equal(postings_select(&f->p, &f->in, 5, NULL, 0, &ids, &n, NULL), 0);
    assert_int_equal(n, 5);
    free(ids);
}

typedef int setop_fn(const uint32_t *, size_t, const uint32_t *, size_t, uint32_t **, size_t *);

struct scase {
    const char *name;
    setop_fn *op;
    uint32_t a[8];
    size_t na;
    uint32_t b[8];
    size_t nb;
    uint32_t want[16];
    size_t nwant;
};

static void test_set_ops(void **state)
{
    static const struct scase cases[] = {
        {"intersect", postings_intersect, {1, 3, 5, 7}, 4, {3, 4, 5}, 3, {3, 5}, 2},
        {"intersect empty", postings_intersect, {1, 2}, 2, {0}, 0, {0}, 0},
        {"intersect disjoint", postings_intersect, {1, 2}, 2, {3, 4}, 2, {0}, 0},
        {"union", postings_union, {1, 3}, 2, {2, 3, 9}, 3, {1, 2, 3, 9}, 4},
        {"union empty", postings_union, {0}, 0, {4}, 1, {4}, 1},
        {"subtract", postings_subtract, {1, 2, 3, 4}, 4, {2, 4, 6}, 3, {1, 3}, 2},
        {"subtract all", postings_subtract, {1, 2}, 2, {1, 2}, 2, {0}, 0},
        {"subtract nothing", postings_subtract, {1, 2}, 2, {0}, 0, {1, 2}, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t *out;
        size_t n;
        assert_int_equal(cases[c].op(cases[c].a, cases[c].na, cases[c].b, cases[c].nb, &out, &n), 0);
        if (n != cases[c].nwant || (n && memcmp(out, cases[c].want, n * sizeof *out) != 0))
            fail_msg("%s: got %zu ids, want %zu", cases[c].name, n, cases[c].nwant);
        free(out);
    }
    /* Skewed sizes take the galloping path: compare with a plain model. */
    enum { BIG = 100000 };
    uint32_t *big = malloc(BIG * sizeof *big);
    for (uint32_t i = 0; i < BIG; i++)
        big[i] = i * 3;
    uint32_t small[] = {0, 2, 3, 299997, 299999, 300000, 150000};
    uint32_t sorted_small[] = {0, 2, 3, 150000, 299997, 299999, 300000};
    (void)small;
    uint32_t *out;
    size_t n;
    assert_int_equal(postings_intersect(sorted_small, 7, big, BIG, &out, &n), 0);
    assert_int_equal(n, 4); /* 0, 3, 150000, 299997 */
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 3);
    assert_int_equal(out[2], 150000);
    assert_int_equal(out[3], 299997);
    free(out);
    assert_int_equal(postings_subtract(big, BIG, sorted_small, 7, &out, &n), 0);
    assert_int_equal(n, BIG - 4);
    free(out);
    free(big);
}

/* A regex over many values: 20 000 series, label inst with 2 000 values,
 * value v (v0..v1999) on series v, v+2000, ... (interleaved, so the union
 * must merge, not append). Dense unions (bitmap) and sparse ones (sort)
 * agree with a brute-force scan; ids at or past nseries (indexed by a
 * concurrent series_create) are left out. */
static void test_many_value_union(void **state)
{
    (void)state;
    enum { NS = 20000, NV = 2000 };
    struct intern in;
    struct postings p;
    assert_int_equal(intern_init(&in), 0);
    postings_init(&p);
    uint32_t name;
    assert_int_equal(intern_put(&in, strv_c("inst"), &name), 0);
    for (uint32_t id = 0; id < NS; id++) {
        char v[16];
        snprintf(v, sizeof v, "v%u", id % NV);
        uint32_t value;
        assert_int_equal(intern_put(&in, strv_c(v), &value), 0);
        assert_int_equal(postings_add(&p, id, &name, &value, 1), 0);
    }
    static const struct {
        const char *re;
        uint32_t nseries;
    } cases[] = {
        {".*7", NS},      /* 200 values, 2 000 ids: dense */
        {"v1[0-9]", NS},  /* 10 values, 100 ids: sparse */
        {".*7", 15000},   /* ids >= nseries dropped (dense) */
        {"v1[0-9]", 9000}, /* and sparse */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct matcher m;
        struct err e = {0};
        assert_int_equal(matcher_init(&m, MATCH_RE, strv_c("inst"), strv_c(cases[c].re), &e), 0);
        uint32_t *ids;
        size_t n;
        assert_int_equal(postings_select(&p, &in, cases[c].nseries, &m, 1, &ids, &n, &e), 0);
        size_t k = 0;
        for (uint32_t id = 0; id < cases[c].nseries; id++) {
            char v[16];
            snprintf(v, sizeof v, "v%u", id % NV);
            if (!matcher_matches(&m, strv_c(v)))
                continue;
            if (k >= n || ids[k] != id)
                fail_msg("%s (nseries %u): id %u missing at %zu", cases[c].re, cases[c].nseries,
                         id, k);
            k++;
        }
        if (k != n)
            fail_msg("%s (nseries %u): %zu ids, want %zu", cases[c].re, cases[c].nseries, n, k);
        free(ids);
        matcher_fini(&m);
    }
    postings_fini(&p);
    intern_fini(&in);
}

/* Lists past POSTINGS_PACK_IDS are packed: pushed ids with gaps of every
 * uvarint length read back the same through a cursor and as an array. */
static void test_packed_list(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint32_t first; /* the first id */
        uint32_t gap;   /* between consecutive ids */
        uint32_t n;     /* ids */
    } cases[] = {
        {"runs", 5, 1, 3 * POSTINGS_PACK_IDS},
        {"2-byte gaps", 5, 300, 2 * POSTINGS_PACK_IDS},
        {"3-byte gaps", 5, 70000, POSTINGS_PACK_IDS + 5},
        {"5-byte first gap", 300000000, 2, 5000},
        {"just plain", 0, 7, POSTINGS_PACK_IDS},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct postings_list l = {0};
        uint32_t id = cases[c].first;
        for (uint32_t i = 0; i < cases[c].n; i++, id += cases[c].gap)
            assert_int_equal(postings_list_push(&l, id), 0);
        if (postings_list_packed(&l) != (cases[c].n > POSTINGS_PACK_IDS))
            fail_msg("%s: packed %d", cases[c].name, postings_list_packed(&l));
        const uint32_t *ids;
        uint32_t *owned;
        assert_int_equal(postings_list_ids(&l, &ids, &owned), 0);
        struct postings_cursor cur;
        postings_cursor_init(&cur, &l);
        uint32_t i = 0;
        for (id = cases[c].first; postings_cursor_next(&cur); i++, id += cases[c].gap)
            if (cur.id != id || ids[i] != id)
                fail_msg("%s: id %u at %u, array %u, want %u", cases[c].name, cur.id, i, ids[i],
                         id);
        if (i != cases[c].n)
            fail_msg("%s: %u ids, want %u", cases[c].name, i, cases[c].n);
        free(owned);
        postings_list_free(&l);
    }
}

/* Matchers over packed lists: 60 000 series in hosts of 10 (as a remote
 * write of many hosts sends them), label grp = host % 7, metric = id % 10.
 * Equality, a union of two and of three values, and a negative matcher
 * agree with a brute-force scan. */
static void test_packed_select(void **state)
{
    (void)state;
    enum { NS = 60000 };
    struct intern in;
    struct postings p;
    assert_int_equal(intern_init(&in), 0);
    postings_init(&p);
    uint32_t names[2];
    assert_int_equal(intern_put(&in, strv_c("grp"), &names[0]), 0);
    assert_int_equal(intern_put(&in, strv_c("m"), &names[1]), 0);
    for (uint32_t id = 0; id < NS; id++) {
        char g[16], m[16];
        snprintf(g, sizeof g, "g%u", id / 10 % 7);
        snprintf(m, sizeof m, "m%u", id % 10);
        uint32_t values[2];
        assert_int_equal(intern_put(&in, strv_c(g), &values[0]), 0);
        assert_int_equal(intern_put(&in, strv_c(m), &values[1]), 0);
        assert_int_equal(postings_add(&p, id, names, values, 2), 0);
    }
    static const struct {
        const char *sel;
        const char *grp_re; /* which grp values a series must have */
        const char *m_re;   /* and which m values */
    } cases[] = {
        {"grp=g3", "g3", ".*"},
        {"grp=~g1|g5", "g1|g5", ".*"},
        {"grp=~g[0-2];m=m4", "g[0-2]", "m4"},
        {"grp!=g2;m=~m[13]", "g[013456]", "m[13]"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct matcher m[4], want[2];
        size_t nm;
        struct err e = {0};
        assert_int_equal(parse(cases[c].sel, m, &nm, &e), 0);
        assert_int_equal(matcher_init(&want[0], MATCH_RE, strv_c("grp"), strv_c(cases[c].grp_re),
                                      &e), 0);
        assert_int_equal(matcher_init(&want[1], MATCH_RE, strv_c("m"), strv_c(cases[c].m_re), &e),
                         0);
        uint32_t *ids;
        size_t n;
        assert_int_equal(postings_select(&p, &in, NS, m, nm, &ids, &n, &e), 0);
        size_t k = 0;
        for (uint32_t id = 0; id < NS; id++) {
            char g[16], mv[16];
            snprintf(g, sizeof g, "g%u", id / 10 % 7);
            snprintf(mv, sizeof mv, "m%u", id % 10);
            if (!matcher_matches(&want[0], strv_c(g)) || !matcher_matches(&want[1], strv_c(mv)))
                continue;
            if (k >= n || ids[k] != id)
                fail_msg("%s: id %u missing at %zu", cases[c].sel, id, k);
            k++;
        }
        if (k != n)
            fail_msg("%s: %zu ids, want %zu", cases[c].sel, n, k);
        free(ids);
        for (size_t i = 0; i < nm; i++)
            matcher_fini(&m[i]);
        matcher_fini(&want[0]);
        matcher_fini(&want[1]);
    }
    postings_fini(&p);
    intern_fini(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_matchers, setup, teardown),
        cmocka_unit_test(test_set_ops),
        cmocka_unit_test(test_many_value_union),
        cmocka_unit_test(test_packed_list),
        cmocka_unit_test(test_packed_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
