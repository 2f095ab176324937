/* test_batch.c: building batches and label normalisation (model/batch.c, labels.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "model/batch.h"

static void test_sort_and_normalize(void **state)
{
    struct batch b;
    batch_init(&b);
    assert_int_equal(batch_begin_series(&b), 0);
    batch_add_label(&b, STRV_LIT("zone"), STRV_LIT("z"));
    batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("cpu"));
    batch_add_label(&b, STRV_LIT("host"), STRV_LIT("a"));
    batch_add_label(&b, STRV_LIT("empty"), STRV_LIT(""));
    batch_add_label(&b, STRV_LIT("host"), STRV_LIT("b"));
    batch_add_sample(&b, 1000, 1.5);
    batch_end_series(&b);
    assert_int_equal(b.nseries, 1);
    assert_int_equal(b.series[0].nlabels, 3);
    const struct label *l = b.labels + b.series[0].label_off;
    assert_true(strv_eq_c(l[0].name, "__name__"));
    assert_true(strv_eq_c(l[1].name, "host"));
    assert_true(strv_eq_c(l[1].value, "b")); /* the last duplicate wins */
    assert_true(strv_eq_c(l[2].name, "zone"));

    /* A series without samples is dropped; an aborted one leaves no trace. */
    batch_begin_series(&b);
    batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("x"));
    batch_end_series(&b);
    batch_begin_series(&b);
    batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("y"));
    batch_add_sample(&b, 1, 1);
    batch_abort_series(&b);
    assert_int_equal(b.nseries, 1);
    assert_int_equal(b.nlabels, 3);
    assert_int_equal(b.nsamples, 1);
    batch_fini(&b);
}

static void test_hash_and_cmp(void **state)
{
    struct label a[] = {{STRV_LIT("__name__"), STRV_LIT("up")}, {STRV_LIT("job"), STRV_LIT("x")}};
    struct label b[] = {{STRV_LIT("__name__"), STRV_LIT("up")}, {STRV_LIT("job"), STRV_LIT("y")}};
    assert_int_equal(labels_hash(a, 2), labels_hash(a, 2));
    assert_int_not_equal(labels_hash(a, 2), labels_hash(b, 2));
    assert_true(labels_cmp(a, 2, b, 2) < 0);
    assert_true(labels_cmp(a, 1, a, 2) < 0);
    assert_int_equal(labels_cmp(a, 2, a, 2), 0);
    /* The canonical key: equal sets, equal keys; and the hash is the key's. */
    char ka[64], kb[64];
    size_t la = labels_key(a, 2, ka, sizeof ka), lb = labels_key(b, 2, kb, sizeof kb);
    assert_true(la == lb && memcmp(ka, kb, la) != 0);
    assert_int_equal(labels_hash(a, 2), hash_bytes(ka, la));
    assert_int_equal(labels_key(a, 2, NULL, 0), la); /* the length alone */
    /* No ambiguity where a value ends and a name starts. */
    struct label c[] = {{STRV_LIT("a"), STRV_LIT("bc")}};
    struct label d[] = {{STRV_LIT("ab"), STRV_LIT("c")}};
    char kc[16], kd[16];
    size_t lc = labels_key(c, 1, kc, sizeof kc), ld = labels_key(d, 1, kd, sizeof kd);
    assert_false(lc == ld && memcmp(kc, kd, lc) == 0);
    /* A long set hashes through the streaming path to the same value. */
    static char big[5000];
    memset(big, 'x', sizeof big - 1);
    struct label e[] = {{STRV_LIT("__name__"), STRV_LIT("m")}, {STRV_LIT("v"), strv_c(big)}};
    char *ke = malloc(6000);
    size_t le = labels_key(e, 2, ke, 6000);
    assert_true(le > 2048 && le <= 6000);
    assert_int_equal(labels_hash(e, 2), hash_bytes(ke, le));
    free(ke);
    assert_true(labels_valid_metric_name(STRV_LIT("a:b_c1")));
    assert_false(labels_valid_label_name(STRV_LIT("a:b")));
    assert_false(labels_valid_metric_name(STRV_LIT("1a")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_and_normalize),
        cmocka_unit_test(test_hash_and_cmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
