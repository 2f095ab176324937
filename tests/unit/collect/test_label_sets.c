/* test_label_sets.c: the compact list of label sets (collect/label_sets.c):
 * every set comes back with its labels in order, byte for byte (empty,
 * binary and long values, names shared between sets), with the hash it was
 * given; reset forgets the sets and keeps working. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/label_sets.h"

#define L(n, v)                                                                                    \
    {                                                                                              \
        {(n), sizeof(n) - 1},                                                                      \
        {                                                                                          \
            (v), sizeof(v) - 1                                                                     \
        }                                                                                          \
    }

static const struct label set_a[] = {L("__name__", "ifOperStatus"),
                                     L("ifAlias", "ISP:Magti uplink1"), L("ifIndex", "1"),
                                     L("job", "snmp")};
static const struct label set_b[] = {L("__name__", "up"), L("job", "snmp")};
static const struct label set_c[] = {L("__name__", "x"), L("bin", "a\0b\xff"), L("e", "")};

static const struct {
    const char *name;
    const struct label *v;
    size_t n;
    uint64_t hash;
} cases[] = {
    {"four labels", set_a, 4, 0x1111},
    {"names shared with the first", set_b, 2, 0x2222},
    {"binary and empty values", set_c, 3, UINT64_MAX},
    {"no labels", NULL, 0, 0},
    {"the first again", set_a, 4, 0x1111},
};
#define NCASES (sizeof cases / sizeof cases[0])

static void check_all(const struct label_sets *ls, size_t ncases)
{
    struct label *v = NULL;
    size_t cap = 0, n = 99;
    assert_int_equal(ls->n, ncases);
    for (size_t i = 0; i < ncases; i++) {
        assert_int_equal(label_sets_get(ls, i, &v, &cap, &n), 0);
        if (n != cases[i].n)
            fail_msg("%s: %zu labels, want %zu", cases[i].name, n, cases[i].n);
        for (size_t k = 0; k < n; k++)
            if (!strv_eq(v[k].name, cases[i].v[k].name) ||
                !strv_eq(v[k].value, cases[i].v[k].value))
                fail_msg("%s: label %zu is %.*s=%.*s", cases[i].name, k, (int)v[k].name.n,
                         v[k].name.p, (int)v[k].value.n, v[k].value.p);
        if (label_sets_hash(ls, i) != cases[i].hash)
            fail_msg("%s: hash %llx", cases[i].name, (unsigned long long)label_sets_hash(ls, i));
    }
    free(v);
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct label_sets ls;
    label_sets_init(&ls);
    for (size_t i = 0; i < NCASES; i++)
        assert_int_equal(label_sets_add(&ls, cases[i].v, cases[i].n, cases[i].hash), 0);
    check_all(&ls, NCASES);
    /* set_a's four names, then set_c's "bin" and "e": each kept once */
    assert_int_equal(ls.nnames, 6);
    label_sets_reset(&ls);
    assert_int_equal(ls.n, 0);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(label_sets_add(&ls, cases[i].v, cases[i].n, cases[i].hash), 0);
    check_all(&ls, 2);
    label_sets_fini(&ls);
}

/* Many sets with long values: growth of every array and buffer. */
static void test_many(void **state)
{
    (void)state;
    struct label_sets ls;
    label_sets_init(&ls);
    char val[300];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 5000; i++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        struct label v[3] = {L("__name__", "ifHCInOctets"),
                             {STRV_LIT("ifDescr"), {val, (size_t)(i % 300)}},
                             {STRV_LIT("ifIndex"), strv_c(idx)}};
        assert_int_equal(label_sets_add(&ls, v, 3, (uint64_t)i * 7), 0);
    }
    struct label *v = NULL;
    size_t cap = 0, n = 0;
    for (int i = 0; i < 5000; i += 499) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        assert_int_equal(label_sets_get(&ls, (size_t)i, &v, &cap, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(v[1].value.n, (size_t)(i % 300));
        assert_true(strv_eq(v[2].value, strv_c(idx)));
        assert_true(label_sets_hash(&ls, (size_t)i) == (uint64_t)i * 7);
    }
    free(v);
    label_sets_fini(&ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
