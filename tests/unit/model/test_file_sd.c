/* test_file_sd.c: the reader of Prometheus file_sd target groups
 * (model/file_sd.c, scrape_groups_parse): each group from a file gets
 * __meta_filepath = that file, also over a value of its own for that label
 * (Prometheus sets it last), and only once; groups of static_configs (no
 * file) get none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/yaml_tree.h"
#include "model/file_sd.h"

/* Parse text as the groups of file (NULL: static_configs) into *g, *n. */
static void parse(const char *text, const char *file, struct yaml_tree **t,
                  struct scrape_group **g, size_t *n)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(yaml_tree_parse(text, strlen(text), "f.yml", t, &e), 0);
    assert_int_equal(scrape_groups_parse(yaml_tree_root(*t), file, g, n, &e), 0);
}

static size_t count_named(const struct scrape_group *g, const char *name)
{
    size_t c = 0;
    for (size_t k = 0; k < g->nlabels; k++)
        c += strv_eq_c(g->labels[k].name, name);
    return c;
}

static void test_filepath_set_once_over_the_group_own(void **state)
{
    (void)state;
    struct yaml_tree *t;
    struct scrape_group *g;
    size_t n;
    parse("[{\"targets\": [\"1:161\"], \"labels\": {\"s\": \"x\", \"__meta_filepath\": \"b\"}},"
          " {\"targets\": [\"h:9100\"]}]\n",
          "sd/f.yml", &t, &g, &n);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(count_named(&g[i], "__meta_filepath"), 1);
        assert_true(strv_eq_c(labels_get(g[i].labels, g[i].nlabels, STRV_LIT("__meta_filepath")),
                              "sd/f.yml"));
    }
    assert_int_equal(g[0].nlabels, 2);
    assert_true(strv_eq_c(labels_get(g[0].labels, g[0].nlabels, STRV_LIT("s")), "x"));
    assert_int_equal(g[1].nlabels, 1);
    scrape_groups_free(g, n);
    yaml_tree_free(t);
}

static void test_static_groups_get_no_filepath(void **state)
{
    (void)state;
    struct yaml_tree *t;
    struct scrape_group *g;
    size_t n;
    parse("- targets: [\"a:1\"]\n  labels: {__meta_filepath: own}\n", NULL, &t, &g, &n);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].nlabels, 1);
    assert_true(strv_eq_c(labels_get(g[0].labels, g[0].nlabels, STRV_LIT("__meta_filepath")),
                          "own"));
    scrape_groups_free(g, n);
    yaml_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filepath_set_once_over_the_group_own),
        cmocka_unit_test(test_static_groups_get_no_filepath),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
