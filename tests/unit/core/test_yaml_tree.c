/* test_yaml_tree.c: the YAML document tree (core/yaml_tree.c): shapes,
 * positions, typed readers, errors with their exact "file:line:col: msg",
 * duplicate and unknown keys, and a real prometheus.yml read section by
 * section. Each table row is one case; failures name the case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/yaml_tree.h"

static struct yaml_tree *parse_ok(const char *name, const char *text)
{
    struct yaml_tree *t = NULL;
    struct err e = {0};
    int rc = yaml_tree_parse(text, strlen(text), "t.yml", &t, &e);
    if (rc != 0)
        fail_msg("%s: rc=%d %d:%d %s", name, rc, e.line, e.col, e.msg);
    return t;
}

/* A compact rendering: {k: v, ...}, [a, ...], plain text, "quoted", ~ null. */
static void dump(const struct yaml_node *n, char *out, size_t cap)
{
    size_t len = strlen(out);
    char *p = out + len;
    size_t room = cap - len;
    switch (yaml_tree_kind(n)) {
    case YAML_TREE_SCALAR:
        snprintf(p, room, "%s", yaml_tree_is_null(n) ? "~" : yaml_tree_text(n));
        return;
    case YAML_TREE_SEQ:
        snprintf(p, room, "[");
        for (size_t i = 0; i < yaml_tree_len(n); i++) {
            if (i > 0)
                strncat(out, ", ", cap - strlen(out) - 1);
            dump(yaml_tree_item(n, i), out, cap);
        }
        strncat(out, "]", cap - strlen(out) - 1);
        return;
    case YAML_TREE_MAP:
        snprintf(p, room, "{");
        for (size_t i = 0; i < yaml_tree_len(n); i++) {
            const struct yaml_node *v;
            const struct yaml_node *k = yaml_tree_pair(n, i, &v);
            if (i > 0)
                strncat(out, ", ", cap - strlen(out) - 1);
            dump(k, out, cap);
            strncat(out, ": ", cap - strlen(out) - 1);
            dump(v, out, cap);
        }
        strncat(out, "}", cap - strlen(out) - 1);
        return;
    default:
        snprintf(p, room, "NULL");
    }
}

static void test_shapes(void **state)
{
    static const struct {
        const char *name, *yaml, *want;
    } cases[] = {
        {"empty", "", "NULL"},
        {"comments only", "# nothing\n\n", "NULL"},
        {"bare document", "---\n", "~"},
        {"flat", "a: 1\nb: two\n", "{a: 1, b: two}"},
        {"nulls", "a:\nb: ~\nc: null\nd: ''\n", "{a: ~, b: ~, c: ~, d: }"},
        {"nested", "a:\n  b:\n    c: [1, 2]\n", "{a: {b: {c: [1, 2]}}}"},
        {"block list of maps", "t:\n- x: 1\n  y: 2\n- x: 3\n", "{t: [{x: 1, y: 2}, {x: 3}]}"},
        {"flow", "{a: [x, {b: c}], d: {}}", "{a: [x, {b: c}], d: {}}"},
        {"quoted", "a: \"x: y\"\nb: 'it''s'\n", "{a: x: y, b: it's}"},
        {"multi-line", "a: |\n  l1\n  l2\nb: >\n  f1\n  f2\n", "{a: l1\nl2\n, b: f1 f2\n}"},
        {"anchor ignored", "a: &x 5\n", "{a: 5}"},
        {"std tags", "a: !!str 5\nb: !!int 6\n", "{a: 5, b: 6}"},
        {"top list", "- 1\n- [2]\n", "[1, [2]]"},
        {"top scalar", "hello", "hello"},
        {"explicit end", "a: 1\n...\n", "{a: 1}"},
        {"utf8", "k: \"\\u00e9t\xc3\xa9\"\n", "{k: \xc3\xa9t\xc3\xa9}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct yaml_tree *t = parse_ok(cases[i].name, cases[i].yaml);
        char out[512] = "";
        dump(yaml_tree_root(t), out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%s: got `%s`, want `%s`", cases[i].name, out, cases[i].want);
        assert_string_equal(yaml_tree_file(t), "t.yml");
        yaml_tree_free(t);
    }
}

/* The node at a dotted path: map keys by name, list items by index. */
static const struct yaml_node *at(const struct yaml_node *n, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && n; tok = strtok_r(NULL, ".", &save)) {
        if (yaml_tree_kind(n) == YAML_TREE_SEQ)
            n = yaml_tree_item(n, (size_t)atoi(tok));
        else
            n = yaml_tree_get(n, tok);
    }
    return n;
}

static const char prometheus_yml[] = "# my global config\n"
                                     "global:\n"
                                     "  scrape_interval: 15s\n"
                                     "  evaluation_interval: 15s\n"
                                     "  external_labels:\n"
                                     "    monitor: 'codelab-monitor'\n"
                                     "\n"
                                     "alerting:\n"
                                     "  alertmanagers:\n"
                                     "    - static_configs:\n"
                                     "        - targets:\n"
                                     "          - alertmanager:9093\n"
                                     "      timeout: 10s\n"
                                     "\n"
                                     "rule_files:\n"
                                     "  - \"first_rules.yml\"\n"
                                     "  - 'rules/*.yml'\n"
                                     "\n"
                                     "scrape_configs:\n"
                                     "  - job_name: \"prometheus\"\n"
                                     "    static_configs:\n"
                                     "      - targets: [\"localhost:9090\"]\n"
                                     "  - job_name: node\n"
                                     "    scrape_interval: 1m30s\n"
                                     "    honor_labels: true\n"
                                     "    static_configs:\n"
                                     "      - targets: ['n1:9100', 'n2:9100']\n"
                                     "        labels:\n"
                                     "          env: prod\n"
                                     "    relabel_configs:\n"
                                     "      - source_labels: [__address__]\n"
                                     "        regex: '(.*):9100'\n"
                                     "        target_label: host\n"
                                     "        replacement: '$1'\n"
                                     "\n"
                                     "remote_write:\n"
                                     "  - url: http://vm:8428/api/v1/write\n"
                                     "    queue_config:\n"
                                     "      max_shards: 10\n"
                                     "      capacity: 2500\n";

static void test_positions(void **state)
{
    static const struct {
        const char *path;
        int line, col;
        const char *key_of;
    } cases[] = {
        {"global", 3, 3, "global"},
        {"global.scrape_interval", 3, 20, "scrape_interval"},
        {"global.external_labels.monitor", 6, 14, "monitor"},
        {"alerting.alertmanagers.0", 10, 7, "alertmanagers"},
        {"alerting.alertmanagers.0.static_configs.0.targets.0", 12, 13, "targets"},
        {"alerting.alertmanagers.0.timeout", 13, 16, "timeout"},
        {"rule_files", 16, 3, "rule_files"},
        {"rule_files.1", 17, 5, "rule_files"},
        {"scrape_configs.1.job_name", 23, 15, "job_name"},
        {"scrape_configs.1.static_configs.0.targets.1", 27, 30, "targets"},
        {"scrape_configs.1.relabel_configs.0.regex", 32, 16, "regex"},
        {"remote_write.0.queue_config.capacity", 40, 17, "capacity"},
    };
    struct yaml_tree *t = parse_ok("prometheus.yml", prometheus_yml);
    const struct yaml_node *root = yaml_tree_root(t);
    assert_int_equal(yaml_tree_line(root), 2);
    assert_int_equal(yaml_tree_col(root), 1);
    assert_null(yaml_tree_key_of(root));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct yaml_node *n = at(root, cases[i].path);
        if (n == NULL)
            fail_msg("%s: not found", cases[i].path);
        if (yaml_tree_line(n) != cases[i].line || yaml_tree_col(n) != cases[i].col)
            fail_msg("%s: at %d:%d, want %d:%d", cases[i].path, yaml_tree_line(n), yaml_tree_col(n),
                     cases[i].line, cases[i].col);
        if (strcmp(yaml_tree_key_of(n), cases[i].key_of) != 0)
            fail_msg("%s: key_of %s, want %s", cases[i].path, yaml_tree_key_of(n), cases[i].key_of);
    }
    yaml_tree_free(t);
}

/* Parse errors, printed as the user sees them. */
static void test_errors(void **state)
{
    static const struct {
        const char *name, *yaml;
        int want_rc;
        const char *want; /* yaml_tree_format_err() output */
    } cases[] = {
        {"duplicate", "a: 1\nb: 2\na: 3\n", TIDE_EPARSE,
         "t.yml:3:1: duplicate key \"a\" (first given at 1:1)"},
        {"duplicate nested, earliest second reported",
         "s:\n  - x: 1\n    y: 2\n    y: 3\n    x: 4\n", TIDE_EPARSE,
         "t.yml:4:5: duplicate key \"y\" (first given at 3:5)"},
        {"duplicate in flow", "{k: 1, k: 2}", TIDE_EPARSE,
         "t.yml:1:8: duplicate key \"k\" (first given at 1:2)"},
        {"alias", "a: &x 1\nb: *x\n", TIDE_EPARSE,
         "t.yml:2:4: aliases are not allowed (*x): repeat the value"},
        {"merge key", "base: &b {x: 1}\njob:\n  <<: *b\n", TIDE_EPARSE,
         "t.yml:3:7: aliases are not allowed (*b): repeat the value"},
        {"two documents", "a: 1\n---\nb: 2\n", TIDE_EPARSE,
         "t.yml:2:1: only one YAML document is allowed"},
        {"map as key", "? {a: 1}\n: 2\n", TIDE_EPARSE,
         "t.yml:1:3: a key must be a scalar, not a mapping"},
        {"list as key", "{[1]: 2}", TIDE_EPARSE, "t.yml:1:2: a key must be a scalar, not a list"},
        {"app tag", "a: !vault secret\n", TIDE_EPARSE, "t.yml:1:4: unsupported tag \"!vault\""},
        {"nul", "a: \"x\\0y\"\n", TIDE_EPARSE,
         "t.yml:1:4: a NUL character is not allowed in a value"},
        {"syntax", "a: 1\nb: c: d\n", TIDE_EPARSE,
         "t.yml:2:5: invalid YAML: mapping values are not allowed in this context"},
        {"bad indent", "a:\n  - 1\n - 2\n", TIDE_EPARSE,
         "t.yml:3:2: invalid YAML: did not find expected key while parsing a block mapping"},
        {"bad utf8", "a: 1\nb: \xff\n", TIDE_EPARSE,
         "t.yml:2:4: invalid YAML: invalid leading UTF-8 octet"},
        {"too deep",
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
         TIDE_ELIMIT, "t.yml:1:65: nested deeper than 64 levels"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct yaml_tree *t = (struct yaml_tree *)1;
        struct err e = {0};
        int rc = yaml_tree_parse(cases[i].yaml, strlen(cases[i].yaml), "t.yml", &t, &e);
        char got[320]; /* as yaml_tree_format_err() writes it (tested in test_load) */
        snprintf(got, sizeof got, "t.yml:%d:%d: %s", e.line, e.col, e.msg);
        if (rc != cases[i].want_rc || strcmp(got, cases[i].want) != 0)
            fail_msg("%s: rc=%d `%s`, want rc=%d `%s`", cases[i].name, rc, got, cases[i].want_rc,
                     cases[i].want);
        assert_null(t);
        assert_non_null(e.where);
    }
}

/* Write text to a temp file; the path is in `path`. */
static void temp_file(const char *text, char *path, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/tide-test-yaml-XXXXXX", dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_load(void **state)
{
    char path[512];
    temp_file("a: 1\nb: [x\n", path, sizeof path);
    struct yaml_tree *t;
    struct err e = {0};
    assert_int_equal(yaml_tree_load(path, &t, &e), TIDE_EPARSE);
    assert_null(t);
    char out[700], want[700];
    assert_int_equal(e.line, 3);
    unlink(path);

    temp_file("k: v\n", path, sizeof path);
    assert_int_equal(yaml_tree_load(path, &t, &e), 0);
    assert_string_equal(yaml_tree_file(t), path);
    assert_string_equal(yaml_tree_text(yaml_tree_get(yaml_tree_root(t), "k")), "v");
    struct err e2 = {0};
    yaml_tree_err(yaml_tree_get(yaml_tree_root(t), "k"), TIDE_EINVAL, &e2, "bad %s", "v");
    yaml_tree_format_err(t, &e2, out, sizeof out);
    snprintf(want, sizeof want, "%s:1:4: bad v", path);
    assert_string_equal(out, want);
    yaml_tree_free(t);
    unlink(path);

    assert_true(yaml_tree_load("/nonexistent/x.yml", &t, &e) < 0);
    assert_null(t);
    assert_int_equal(e.line, 0);
    assert_string_equal(e.msg, "/nonexistent/x.yml: No such file or directory");
    yaml_tree_free(NULL);
}

enum reader { R_STR, R_BOOL, R_INT, R_DUR, R_SIZE, R_STRINGS };

/* Each reader on the value of `v:` in a one-line document. */
static void test_readers(void **state)
{
    static const struct {
        const char *yaml;
        enum reader r;
        int want_rc;
        const char *want; /* value as text, or the exact error "line:col: msg" */
    } cases[] = {
        {"v: hello", R_STR, 0, "hello"},
        {"v: 5", R_STR, 0, "5"},
        {"v: 'a b'", R_STR, 0, "a b"},
        {"v: {a: 1}", R_STR, TIDE_EINVAL, "1:4: v: expected a string, got a mapping"},
        {"v: [a]", R_STR, TIDE_EINVAL, "1:4: v: expected a string, got a list"},
        {"v: true", R_BOOL, 0, "1"},
        {"v: False", R_BOOL, 0, "0"},
        {"v: TRUE", R_BOOL, 0, "1"},
        {"v: yes", R_BOOL, 0, "1"},
        {"v: off", R_BOOL, 0, "0"},
        {"v: 'true'", R_BOOL, TIDE_EINVAL,
         "1:4: v: expected true or false, got the quoted string \"true\""},
        {"v: maybe", R_BOOL, TIDE_EINVAL, "1:4: v: expected true or false, got \"maybe\""},
        {"v: 1", R_BOOL, TIDE_EINVAL, "1:4: v: expected true or false, got \"1\""},
        {"v: 42", R_INT, 0, "42"},
        {"v: -7", R_INT, 0, "-7"},
        {"v: 0x1f", R_INT, 0, "31"},
        {"v: 1001", R_INT, TIDE_EINVAL, "1:4: v: 1001 is out of range -1000..1000"},
        {"v: 99999999999999999999", R_INT, TIDE_EINVAL,
         "1:4: v: 99999999999999999999 is out of range -1000..1000"},
        {"v: 1.5", R_INT, TIDE_EINVAL, "1:4: v: expected an integer, got \"1.5\""},
        {"v: \"5\"", R_INT, TIDE_EINVAL,
         "1:4: v: expected an integer, got the quoted string \"5\""},
        {"v: 1m30s", R_DUR, 0, "90000"},
        {"v: 5m", R_DUR, 0, "300000"},
        {"v: '250ms'", R_DUR, 0, "250"},
        {"v: 0", R_DUR, 0, "0"},
        {"v: 5x", R_DUR, TIDE_EINVAL, "1:4: v: invalid duration \"5x\" (e.g. 30s, 5m, 1h30m)"},
        {"v: [1m]", R_DUR, TIDE_EINVAL, "1:4: v: expected a duration (e.g. 1m30s), got a list"},
        {"v: 64MiB", R_SIZE, 0, "67108864"},
        {"v: 10MB", R_SIZE, 0, "10000000"},
        {"v: 5 parsecs", R_SIZE, TIDE_EINVAL,
         "1:4: v: \"5 parsecs\" has an unknown unit (B, KiB, MiB, GiB, kB, MB, GB)"},
        {"v: [a, 'b c', 3]", R_STRINGS, 0, "a|b c|3|"},
        {"v: []", R_STRINGS, 0, ""},
        {"v:", R_STRINGS, 0, ""},
        {"v: a", R_STRINGS, TIDE_EINVAL, "1:4: v: expected a list of strings, got \"a\""},
        {"v:\n  - a\n  - {b: 1}", R_STRINGS, TIDE_EINVAL,
         "3:5: v: expected a string, got a mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct yaml_tree *t = parse_ok(cases[i].yaml, cases[i].yaml);
        const struct yaml_node *v = yaml_tree_get(yaml_tree_root(t), "v");
        struct err e = {0};
        char got[300] = "";
        int rc = 0;
        switch (cases[i].r) {
        case R_STR: {
            const char *s = NULL;
            rc = yaml_tree_str(v, &s, &e);
            if (rc == 0)
                snprintf(got, sizeof got, "%s", s);
            break;
        }
        case R_BOOL: {
            bool b = false;
            rc = yaml_tree_bool(v, &b, &e);
            snprintf(got, sizeof got, "%d", b);
            break;
        }
        case R_INT: {
            int64_t n = 0;
            rc = yaml_tree_int(v, -1000, 1000, &n, &e);
            snprintf(got, sizeof got, "%lld", (long long)n);
            break;
        }
        case R_DUR: {
            int64_t ms = 0;
            rc = yaml_tree_duration(v, &ms, &e);
            snprintf(got, sizeof got, "%lld", (long long)ms);
            break;
        }
        case R_SIZE: {
            uint64_t b = 0;
            rc = yaml_tree_size(v, &b, &e);
            snprintf(got, sizeof got, "%llu", (unsigned long long)b);
            break;
        }
        case R_STRINGS: {
            const char *const *list = NULL;
            size_t n = 99;
            rc = yaml_tree_strings(v, &list, &n, &e);
            if (rc == 0) {
                for (size_t j = 0; j < n; j++) {
                    strncat(got, list[j], sizeof got - strlen(got) - 1);
                    strncat(got, "|", sizeof got - strlen(got) - 1);
                }
                assert_null(list[n]);
            }
            break;
        }
        }
        if (rc != 0)
            snprintf(got, sizeof got, "%d:%d: %s", e.line, e.col, e.msg);
        if (rc != cases[i].want_rc || strcmp(got, cases[i].want) != 0)
            fail_msg("`%s` reader %d: rc=%d `%s`, want rc=%d `%s`", cases[i].yaml, cases[i].r, rc,
                     got, cases[i].want_rc, cases[i].want);
        yaml_tree_free(t);
    }
}

/* A section parser for `targets:` as a subsystem would write it. */
struct target {
    const char *kind, *address;
    int64_t interval_ms;
    bool enabled;
    size_t nlabels;
};

static int parse_targets(const struct yaml_node *sec, struct target *out, size_t cap, size_t *n,
                         struct err *e)
{
    int rc = yaml_tree_expect(sec, YAML_TREE_SEQ, e);
    *n = 0;
    for (size_t i = 0; rc == 0 && i < yaml_tree_len(sec) && i < cap; i++) {
        const struct yaml_node *m = yaml_tree_item(sec, i);
        struct target *t = &out[(*n)++];
        *t = (struct target){.kind = "host", .interval_ms = 60000, .enabled = true};
        rc = yaml_tree_expect(m, YAML_TREE_MAP, e);
        if (rc == 0)
            rc = yaml_tree_get_str(m, "kind", &t->kind, e);
        if (rc == 0)
            rc = yaml_tree_require_str(m, "address", &t->address, e);
        if (rc == 0)
            rc = yaml_tree_get_duration(m, "interval", &t->interval_ms, e);
        if (rc == 0)
            rc = yaml_tree_get_bool(m, "enabled", &t->enabled, e);
        const struct yaml_node *labels = yaml_tree_get(m, "labels");
        if (rc == 0)
            rc = yaml_tree_expect(labels, YAML_TREE_MAP, e);
        for (size_t j = 0; rc == 0 && j < yaml_tree_len(labels); j++) {
            const struct yaml_node *v;
            yaml_tree_pair(labels, j, &v);
            const char *s;
            rc = yaml_tree_str(v, &s, e);
            t->nlabels++;
        }
        if (rc == 0)
            rc = yaml_tree_check_keys(m, e);
    }
    return rc;
}

static void test_sections(void **state)
{
    static const struct {
        const char *name, *yaml;
        int want_rc;
        const char *want; /* "line:col: msg" or "" */
        size_t want_n;
    } cases[] = {
        {"good",
         "targets:\n"
         "  - kind: snmp\n"
         "    address: 10.0.0.1:161\n"
         "    interval: 1m\n"
         "    labels: {site: ams, rack: '4'}\n"
         "    enabled: false\n"
         "  - address: localhost\n",
         0, "", 2},
        {"empty section", "targets:\n", 0, "", 0},
        {"unknown key", "targets:\n  - address: a\n    adress: b\n    module: x\n", TIDE_ENOTFOUND,
         "3:5: unknown key \"adress\" in targets", 1},
        {"missing key", "targets:\n  - kind: snmp\n", TIDE_EINVAL,
         "2:5: targets: missing key \"address\"", 1},
        {"null value", "targets:\n  - address:\n", TIDE_EINVAL, "2:13: address: missing value", 1},
        {"wrong type", "targets:\n  address: x\n", TIDE_EINVAL,
         "2:3: targets: expected a list, got a mapping", 0},
        {"bad bool", "targets:\n  - address: a\n    enabled: 'no'\n", TIDE_EINVAL,
         "3:14: enabled: expected true or false, got the quoted string \"no\"", 1},
        {"bad label value", "targets:\n  - address: a\n    labels: {a: [1]}\n", TIDE_EINVAL,
         "3:17: a: expected a string, got a list", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct yaml_tree *t = parse_ok(cases[i].name, cases[i].yaml);
        struct target tg[4];
        size_t n = 0;
        struct err e = {0};
        int rc = parse_targets(yaml_tree_get(yaml_tree_root(t), "targets"), tg, 4, &n, &e);
        char got[300] = "";
        if (rc != 0)
            snprintf(got, sizeof got, "%d:%d: %s", e.line, e.col, e.msg);
        if (rc != cases[i].want_rc || strcmp(got, cases[i].want) != 0 || n != cases[i].want_n)
            fail_msg("%s: rc=%d `%s` n=%zu, want rc=%d `%s` n=%zu", cases[i].name, rc, got, n,
                     cases[i].want_rc, cases[i].want, cases[i].want_n);
        if (i == 0) {
            assert_string_equal(tg[0].kind, "snmp");
            assert_string_equal(tg[0].address, "10.0.0.1:161");
            assert_int_equal(tg[0].interval_ms, 60000);
            assert_false(tg[0].enabled);
            assert_int_equal(tg[0].nlabels, 2);
            assert_string_equal(tg[1].kind, "host");
            assert_true(tg[1].enabled);
            assert_int_equal(yaml_tree_check_keys(yaml_tree_root(t), &e), 0);
        }
        yaml_tree_free(t);
    }
}

/* A real prometheus.yml: every section read with the typed readers, every
 * mapping then checked for unknown keys (none). */
static void test_prometheus(void **state)
{
    struct yaml_tree *t = parse_ok("prometheus.yml", prometheus_yml);
    const struct yaml_node *root = yaml_tree_root(t);
    struct err e = {0};

    const struct yaml_node *g = yaml_tree_get(root, "global");
    int64_t scrape_ms = 60000, eval_ms = 60000;
    assert_int_equal(yaml_tree_get_duration(g, "scrape_interval", &scrape_ms, &e), 0);
    assert_int_equal(yaml_tree_get_duration(g, "evaluation_interval", &eval_ms, &e), 0);
    assert_int_equal(scrape_ms, 15000);
    const char *monitor = NULL;
    assert_int_equal(
        yaml_tree_get_str(yaml_tree_get(g, "external_labels"), "monitor", &monitor, &e), 0);
    assert_string_equal(monitor, "codelab-monitor");
    assert_int_equal(yaml_tree_check_keys(g, &e), 0);

    const char *const *rules;
    size_t nrules;
    assert_int_equal(yaml_tree_get_strings(root, "rule_files", &rules, &nrules, &e), 0);
    assert_int_equal(nrules, 2);
    assert_string_equal(rules[0], "first_rules.yml");
    assert_string_equal(rules[1], "rules/*.yml");

    const struct yaml_node *am = yaml_tree_get(yaml_tree_get(root, "alerting"), "alertmanagers");
    assert_int_equal(yaml_tree_len(am), 1);
    const struct yaml_node *am0 = yaml_tree_item(am, 0);
    int64_t timeout_ms = 0;
    assert_int_equal(yaml_tree_get_duration(am0, "timeout", &timeout_ms, &e), 0);
    assert_int_equal(timeout_ms, 10000);
    const struct yaml_node *sc = yaml_tree_item(yaml_tree_get(am0, "static_configs"), 0);
    const char *const *targets;
    size_t ntargets;
    assert_int_equal(yaml_tree_get_strings(sc, "targets", &targets, &ntargets, &e), 0);
    assert_int_equal(ntargets, 1);
    assert_string_equal(targets[0], "alertmanager:9093");
    assert_int_equal(yaml_tree_check_keys(am0, &e), 0);

    const struct yaml_node *jobs = yaml_tree_get(root, "scrape_configs");
    assert_int_equal(yaml_tree_expect(jobs, YAML_TREE_SEQ, &e), 0);
    assert_int_equal(yaml_tree_len(jobs), 2);
    const struct yaml_node *node = yaml_tree_item(jobs, 1);
    const char *job;
    bool honor = false;
    int64_t every_ms = scrape_ms;
    assert_int_equal(yaml_tree_require_str(node, "job_name", &job, &e), 0);
    assert_int_equal(yaml_tree_get_bool(node, "honor_labels", &honor, &e), 0);
    assert_int_equal(yaml_tree_get_duration(node, "scrape_interval", &every_ms, &e), 0);
    assert_string_equal(job, "node");
    assert_true(honor);
    assert_int_equal(every_ms, 90000);
    const struct yaml_node *rc0 = yaml_tree_item(yaml_tree_get(node, "relabel_configs"), 0);
    const char *regex, *repl;
    assert_int_equal(yaml_tree_get_str(rc0, "regex", &regex, &e), 0);
    assert_int_equal(yaml_tree_get_str(rc0, "replacement", &repl, &e), 0);
    assert_string_equal(regex, "(.*):9100");
    assert_string_equal(repl, "$1");
    /* static_configs was not read: the job's check reports nothing (it was
     * fetched), its inner mapping's unread keys are reported there. */
    const struct yaml_node *st = yaml_tree_item(yaml_tree_get(node, "static_configs"), 0);
    assert_int_equal(yaml_tree_check_keys(node, &e), 0);
    assert_int_equal(yaml_tree_check_keys(st, &e), TIDE_ENOTFOUND);
    assert_string_equal(e.msg, "unknown key \"targets\" in static_configs");
    assert_int_equal(e.line, 27);

    int64_t shards = 0;
    const struct yaml_node *qc =
        yaml_tree_get(yaml_tree_item(yaml_tree_get(root, "remote_write"), 0), "queue_config");
    assert_int_equal(yaml_tree_get_int(qc, "max_shards", 1, 1000, &shards, &e), 0);
    assert_int_equal(shards, 10);
    yaml_tree_consume(qc, "capacity");
    assert_int_equal(yaml_tree_check_keys(qc, &e), 0);
    assert_int_equal(yaml_tree_check_keys(root, &e), 0);
    yaml_tree_free(t);
}

/* Absent keys and sections keep the defaults; null counts as absent. */
static void test_defaults(void **state)
{
    struct yaml_tree *t = parse_ok("defaults", "a: ~\nb:\n");
    const struct yaml_node *root = yaml_tree_root(t);
    struct err e = {0};
    const char *s = "dflt";
    int64_t ms = 7;
    bool b = true;
    assert_int_equal(yaml_tree_get_str(root, "a", &s, &e), 0);
    assert_int_equal(yaml_tree_get_duration(root, "b", &ms, &e), 0);
    assert_int_equal(yaml_tree_get_bool(root, "c", &b, &e), 0);
    assert_int_equal(yaml_tree_get_duration(NULL, "x", &ms, &e), 0);
    assert_string_equal(s, "dflt");
    assert_int_equal(ms, 7);
    assert_true(b);
    assert_string_equal(yaml_tree_text(yaml_tree_get(root, "a")), "~");
    assert_true(yaml_tree_is_null(yaml_tree_get(root, "b")));
    assert_null(yaml_tree_get(root, "c"));
    assert_int_equal(yaml_tree_require(NULL, "x", &(const struct yaml_node *){0}, &e), TIDE_EINVAL);
    assert_string_equal(e.msg, "missing key \"x\"");
    assert_int_equal(yaml_tree_kind(NULL), 0);
    assert_int_equal(yaml_tree_len(yaml_tree_get(root, "a")), 0);
    assert_null(yaml_tree_item(root, 0));
    yaml_tree_free(t);
}

/* Many keys: lookup by binary search finds each, duplicates far apart found. */
static void test_many_keys(void **state)
{
    size_t n = 5000, cap = n * 24 + 64;
    char *text = malloc(cap);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "k%zu: %zu\n", (i * 7919) % n, i);
    struct yaml_tree *t = parse_ok("many", text);
    const struct yaml_node *root = yaml_tree_root(t);
    assert_int_equal(yaml_tree_len(root), n);
    for (size_t i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%zu", i);
        if (yaml_tree_get(root, k) == NULL)
            fail_msg("%s not found", k);
    }
    struct err e = {0};
    assert_int_equal(yaml_tree_check_keys(root, &e), 0);
    yaml_tree_free(t);
    snprintf(text + len, cap - len, "k17: again\n");
    assert_int_equal(yaml_tree_parse(text, strlen(text), "many", &t, &e), TIDE_EPARSE);
    assert_int_equal(e.line, (int)n + 1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),     cmocka_unit_test(test_positions),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_load),
        cmocka_unit_test(test_readers),    cmocka_unit_test(test_sections),
        cmocka_unit_test(test_prometheus), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_many_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
