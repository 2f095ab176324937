/* test_targets_config.c: the `targets:` section (collect/targets_config.c):
 * good entries added with their name, address, module, labels, interval and
 * enabled; a kind seeing its own keys through spec->config and refusing an
 * unknown one; keys nobody read refused for a passive kind (and the target
 * removed again); and every kind of error with its line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/targets.h"
#include "collect/targets_config.h"
#include "core/yaml_tree.h"

/* The fake kind: its own keys are `community` (optional) and `port`. */
static char seen_community[64];
static int seen_opens;

static int fake_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    (void)kind_ctx;
    const char *community = "public";
    int64_t port = 161;
    if (spec->config == NULL)
        return ERR_INVAL(e, "fake: no config");
    if (yaml_tree_get_str(spec->config, "community", &community, e) != 0 ||
        yaml_tree_get_int(spec->config, "port", 1, 65535, &port, e) != 0 ||
        yaml_tree_check_keys(spec->config, e) != 0)
        return e->code;
    snprintf(seen_community, sizeof seen_community, "%s", community);
    seen_opens++;
    *state = NULL;
    return 0;
}

static int fake_collect(void *state, int64_t now_ms, struct batch *out, struct err *e)
{
    (void)state, (void)e;
    batch_begin_series(out);
    batch_add_label(out, STRV_LIT("__name__"), STRV_LIT("x"));
    batch_add_sample(out, now_ms, 1);
    batch_end_series(out);
    return 0;
}

static const struct target_kind fake_kind = {
    .name = "fake", .open = fake_open, .collect = fake_collect};
static const struct target_kind push_kind = {.name = "push", .passive = true};

/* Set when a delivered series carried site="tbilisi" (a target label). */
static atomic_int saw_site;

static int sink(void *ctx, struct batch *b, struct err *e)
{
    (void)ctx, (void)e;
    for (size_t i = 0; i < b->nlabels; i++)
        if (strv_eq(b->labels[i].name, STRV_LIT("site")) &&
            strv_eq(b->labels[i].value, STRV_LIT("tbilisi")))
            atomic_store(&saw_site, 1);
    return 0;
}

static struct targets *manager(void)
{
    struct targets *m = NULL;
    struct targets_opts o = {.workers = 1, .sink = sink};
    assert_int_equal(targets_new(&m, &o), 0);
    assert_int_equal(targets_register_kind(m, &fake_kind, NULL), 0);
    assert_int_equal(targets_register_kind(m, &push_kind, NULL), 0);
    return m;
}

/* Parse `yaml`, add its targets: section to a fresh manager. */
static int load(const char *yaml, struct targets **mp, struct err *e)
{
    struct yaml_tree *t = NULL;
    struct err pe = {0};
    assert_int_equal(yaml_tree_parse(yaml, strlen(yaml), "t.yml", &t, &pe), 0);
    const struct yaml_node *root = yaml_tree_root(t);
    *mp = manager();
    int rc = targets_config_add(*mp, yaml_tree_get(root, "targets"), e);
    yaml_tree_free(t);
    return rc;
}

static void test_good(void **state)
{
    (void)state;
    seen_opens = 0;
    const char *y = "targets:\n"
                    "  - kind: fake\n"
                    "    address: 192.0.2.1:161\n"
                    "    module: if_mib\n"
                    "    interval: 30s\n"
                    "    community: s3cret\n"
                    "    labels: {site: tbilisi, role: branch}\n"
                    "  - kind: fake\n"
                    "    name: core-2\n"
                    "    enabled: false\n"
                    "  - kind: fake\n"
                    "  - kind: push\n"
                    "    name: laptop\n"
                    "    interval: 5s\n";
    struct targets *m;
    struct err e = {0};
    assert_int_equal(load(y, &m, &e), 0);
    assert_int_equal(seen_opens, 3);
    struct target_status *v = NULL;
    size_t n = 0;
    assert_int_equal(targets_list(m, NULL, &v, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].name, "192.0.2.1:161"); /* default name: the address */
    assert_string_equal(v[0].address, "192.0.2.1:161");
    assert_string_equal(v[0].module, "if_mib");
    assert_int_equal(v[0].interval_ms, 30000);
    assert_true(v[0].enabled);
    assert_string_equal(v[1].name, "core-2");
    assert_false(v[1].enabled);
    assert_int_equal(v[1].interval_ms, TARGETS_CONFIG_INTERVAL_MS);
    assert_string_equal(v[2].name, "fake/2"); /* no address: kind/index */
    assert_string_equal(v[3].kind, "push");
    assert_int_equal(v[3].interval_ms, 5000);
    free(v);
    /* The kind read its own key from spec->config (the last fake had none). */
    assert_string_equal(seen_community, "public");
    targets_free(m);

    /* The labels reach the series the target produces. */
    assert_int_equal(load("targets:\n  - {kind: fake, labels: {site: tbilisi}}\n", &m, &e), 0);
    assert_int_equal(targets_start(m, &e), 0);
    for (int i = 0; i < 1000 && !atomic_load(&saw_site); i++)
        usleep(10000);
    assert_true(atomic_load(&saw_site));
    targets_free(m);

    /* The kind's own key through spec->config. */
    seen_community[0] = 0;
    assert_int_equal(load("targets:\n  - {kind: fake, community: x}\n", &m, &e), 0);
    assert_string_equal(seen_community, "x");
    targets_free(m);

    /* An empty or absent section adds nothing. */
    assert_int_equal(load("targets:\n", &m, &e), 0);
    targets_free(m);
    assert_int_equal(load("other: 1\n", &m, &e), 0);
    targets_free(m);
}

struct bad {
    const char *yaml;
    int code;
    int line, col;
    const char *msg_part;
};

static void test_errors(void **state)
{
    (void)state;
    const struct bad cases[] = {
        {"targets: {kind: fake}\n", TIDE_EINVAL, 1, 10, "expected a list"},
        {"targets:\n  - fake\n", TIDE_EINVAL, 2, 5, "expected a mapping"},
        {"targets:\n  - address: a\n", TIDE_EINVAL, 2, 5, "missing key \"kind\""},
        {"targets:\n  - kind: snmp9\n", TIDE_ENOTFOUND, 2, 11, "unknown kind \"snmp9\""},
        {"targets:\n  - kind: host\n", TIDE_EINVAL, 2, 11, "collect_*"},
        {"targets:\n  - kind: agent\n", TIDE_EINVAL, 2, 11, "agent/config"},
        {"targets:\n  - kind: fake\n    interval: 5x\n", TIDE_EINVAL, 3, 15, "interval"},
        {"targets:\n  - kind: fake\n    interval: 10ms\n", TIDE_EINVAL, 3, 15, "outside"},
        {"targets:\n  - kind: fake\n    enabled: maybe\n", TIDE_EINVAL, 3, 14, "enabled"},
        {"targets:\n  - kind: fake\n    labels: [a]\n", TIDE_EINVAL, 3, 13, "expected a mapping"},
        {"targets:\n  - kind: fake\n    labels: {9x: a}\n", TIDE_EINVAL, 3, 14, "label name"},
        {"targets:\n  - kind: fake\n    labels: {__x: a}\n", TIDE_EINVAL, 3, 14, "label name"},
        {"targets:\n  - kind: fake\n    labels: {a: {b: c}}\n", TIDE_EINVAL, 3, 17, "label a"},
        {"targets:\n  - kind: fake\n    labels: {a: \"\"}\n", TIDE_EINVAL, 3, 17, "label a"},
        /* the kind's own reader and its unknown-key check */
        {"targets:\n  - kind: fake\n    port: 70000\n", TIDE_EINVAL, 3, 11, "port"},
        {"targets:\n  - kind: fake\n    comunity: x\n", TIDE_ENOTFOUND, 3, 5,
         "unknown key \"comunity\""},
        /* a passive kind reads nothing: left-over keys are refused here */
        {"targets:\n  - kind: push\n    name: p\n    extra: 1\n", TIDE_ENOTFOUND, 4, 5,
         "unknown key \"extra\""},
        /* a name taken: the manager's error, placed at the entry */
        {"targets:\n  - {kind: fake, name: a}\n  - {kind: fake, name: a}\n", TIDE_EINVAL, 3, 5,
         "already exists"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct targets *m;
        struct err e = {0};
        int rc = load(cases[i].yaml, &m, &e);
        print_message("case %zu: rc %d at %d:%d: %s\n", i, rc, e.line, e.col, e.msg);
        assert_int_equal(rc, cases[i].code);
        assert_int_equal(e.line, cases[i].line);
        assert_int_equal(e.col, cases[i].col);
        assert_non_null(strstr(e.msg, cases[i].msg_part));
        targets_free(m);
    }
}

/* A refused passive entry is not left behind in the manager. */
static void test_refused_entry_removed(void **state)
{
    (void)state;
    struct targets *m;
    struct err e = {0};
    assert_int_equal(load("targets:\n  - {kind: push, name: p, extra: 1}\n", &m, &e),
                     TIDE_ENOTFOUND);
    struct target_status st;
    assert_int_equal(targets_get(m, "push", "p", &st), TIDE_ENOTFOUND);
    targets_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_refused_entry_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
