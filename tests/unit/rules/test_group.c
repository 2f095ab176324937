/* test_group.c: the parts of rules/group.c and rules/rules.c that need no
 * storage: Prometheus' evaluation-time alignment (the same offset for the
 * same group at any time, timestamps on the interval grid, within one
 * interval before now, different phases for different groups) and the
 * expansion of rule_files globs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "rules/group.h"
#include "rules/rules.h"

static void test_alignment(void **st)
{
    (void)st;
    static const struct {
        const char *file, *name;
        int64_t interval_ms;
    } groups[] = {
        {"rules/a.yml", "node", 60000},
        {"rules/a.yml", "pods", 60000},
        {"/etc/tide/b.yml", "node", 15000},
        {"x.yml", "g", 1000},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        int64_t iv = groups[i].interval_ms;
        int64_t first = 0;
        for (int64_t now = 1700000000000; now < 1700000000000 + 5 * iv; now += iv / 7 + 1) {
            int64_t t = group_eval_timestamp(groups[i].file, groups[i].name, iv, now);
            if (t > now || now - t >= iv)
                fail_msg("%s;%s: eval time %lld not within one interval before %lld",
                         groups[i].file, groups[i].name, (long long)t, (long long)now);
            if (first == 0)
                first = t;
            if (((t - first) % iv) != 0)
                fail_msg("%s;%s: %lld is off the grid of %lld", groups[i].file, groups[i].name,
                         (long long)t, (long long)first);
        }
    }
    /* Two groups with the same interval land on different phases (for these
     * names; a collision is possible in general, as in Prometheus). */
    int64_t a = group_eval_timestamp("rules/a.yml", "node", 60000, 1700000000000);
    int64_t b = group_eval_timestamp("rules/a.yml", "pods", 60000, 1700000000000);
    assert_true(a % 60000 != b % 60000);
}

static void test_globs(void **st)
{
    (void)st;
    char dir[] = "/tmp/tide-rules-globXXXXXX";
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/tide-rules-globXXXXXX", tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(path));
    (void)dir;
    char sub[600], f[700];
    snprintf(sub, sizeof sub, "%s/rules", path);
    assert_int_equal(fs_mkdir_p(sub), 0);
    const char *names[] = {"b.yml", "a.yml", "c.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s/%s", sub, names[i]);
        assert_int_equal(fs_write_file_atomic(f, "", 0), 0);
    }
    const char *pats[] = {"rules/*.yml", "rules/a.yml", "none/*.yml"};
    char **out = NULL;
    size_t n = 0;
    struct err e = {0};
    assert_int_equal(rules_expand_globs(path, pats, 3, &out, &n, &e), 0);
    assert_int_equal(n, 2);
    snprintf(f, sizeof f, "%s/rules/a.yml", path);
    assert_string_equal(out[0], f);
    snprintf(f, sizeof f, "%s/rules/b.yml", path);
    assert_string_equal(out[1], f);
    rules_paths_free(out, n);
    fs_rm_rf(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_globs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
