/* test_config.c: `tide serve` settings from flags and YAML (core/config.c):
 * every key's syntax, and errors that name the line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/yaml_tree.h"

static void test_set(void **state)
{
    static const struct {
        const char *key, *value;
        int want_rc;
    } cases[] = {
        {"data", "/var/lib/tide", 0},
        {"data", "", TIDE_EINVAL},
        {"listen", ":9470", 0},
        {"listen", "0.0.0.0:1", 0},
        {"listen", "[::1]:9470", 0},
        {"listen", "::1:9470", TIDE_EINVAL},
        {"listen", "localhost", TIDE_EINVAL},
        {"listen", "h:65536", TIDE_EINVAL},
        {"retention", "30d", 0},
        {"retention", "0", 0},
        {"retention", "1s", TIDE_EINVAL},
        {"retention", "forever", TIDE_EINVAL},
        {"fsync", "always", 0},
        {"fsync", "sometimes", TIDE_EINVAL},
        {"fsync-interval", "250ms", 0},
        {"fsync_interval", "0", TIDE_EINVAL},
        {"log-level", "debug", 0},
        {"log_level", "loud", TIDE_EINVAL},
        {"max_series", "1000000", 0},
        {"max_series", "-1", TIDE_EINVAL},
        {"max_series", "12x", TIDE_EINVAL},
        {"max_labels_per_series", "0", TIDE_EINVAL},
        {"max_label_value_length", "8192", 0},
        {"max_request_bytes", "64MiB", 0},
        {"max_request_bytes", "10MB", 0},
        {"max_request_bytes", "1048576", 0},
        {"max_request_bytes", "12", TIDE_EINVAL},
        {"max_request_bytes", "5 parsecs", TIDE_EINVAL},
        {"http_threads", "0", TIDE_EINVAL},
        {"http_threads", "8", 0},
        {"auth_write_bearer_token", "s3cret", 0},
        {"auth-read-bearer-token", "", 0},
        {"auth_read_bearer_token", "has space", TIDE_EINVAL},
        {"auth_write_basic", "alice:pw", 0},
        {"auth_read_basic", "nocolon", TIDE_EINVAL},
        {"auth_write_basic_file", "/nonexistent/tide-secret", TIDE_EINVAL},
        {"auth_write_bearer", "x", TIDE_ENOTFOUND},
        {"auth_write_basic_files", "x", TIDE_ENOTFOUND},
        {"query_timeout", "30s", 0},
        {"query-timeout", "0", TIDE_EINVAL},
        {"query_max_samples", "1000", 0},
        {"query_max_samples", "0", TIDE_EINVAL},
        {"query_max_concurrency", "0", 0},
        {"query_max_concurrency", "2000", TIDE_EINVAL},
        {"query_lookback_delta", "1m", 0},
        {"query_lookback_delta", "soon", TIDE_EINVAL},
        {"no_such_key", "1", TIDE_ENOTFOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config c;
        config_defaults(&c);
        struct err e = {0};
        int rc = config_set(&c, cases[i].key, cases[i].value, &e);
        if (rc != cases[i].want_rc)
            fail_msg("case %zu %s=\"%s\": rc=%d want %d (%s)", i, cases[i].key, cases[i].value, rc,
                     cases[i].want_rc, e.msg);
        if (rc != 0 && e.msg[0] == 0)
            fail_msg("case %zu %s=\"%s\": error without a message", i, cases[i].key,
                     cases[i].value);
    }
}

static void test_values(void **state)
{
    struct config c;
    config_defaults(&c);
    assert_int_equal(c.listen_port, CONFIG_DEFAULT_PORT);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.retention_ms, 30LL * 86400000);
    assert_int_equal(c.max_request_bytes, 64u << 20);
    struct err e = {0};
    assert_int_equal(config_set(&c, "listen", ":8080", &e), 0);
    assert_string_equal(c.listen_host, "");
    assert_int_equal(c.listen_port, 8080);
    assert_int_equal(config_set(&c, "listen", "[::1]:99", &e), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(config_set(&c, "max-request-bytes", "2KiB", &e), 0);
    assert_int_equal(c.max_request_bytes, 2048);
    assert_int_equal(config_set(&c, "fsync", "never", &e), 0);
    assert_int_equal(c.fsync, CONFIG_FSYNC_NEVER);
    assert_int_equal(config_set(&c, "log_level", "warn", &e), 0);
    assert_int_equal(c.log_level, LOG_WARN);
}

/* config_format() writes every key so that config_set() reads it back. */
static void test_format(void **state)
{
    struct config c;
    config_defaults(&c);
    struct err e = {0};
    assert_int_equal(config_set(&c, "query_timeout", "90s", &e), 0);
    assert_int_equal(config_set(&c, "auth_read_basic", "u:p", &e), 0);
    static const struct {
        const char *key, *want;
    } cases[] = {
        {"retention", "30d"}, {"query_timeout", "90s"}, {"query_lookback_delta", "5m"},
        {"query_max_samples", "50000000"}, {"query_max_concurrency", "0"},
        {"listen", "127.0.0.1:9470"}, {"fsync_interval", "1s"}, {"log_level", "info"},
        {"collect_host", "true"}, {"auth_read_basic", "<secret>"}, {"auth_write_basic", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char v[256];
        assert_true(config_format(&c, cases[i].key, v, sizeof v) >= 0);
        if (strcmp(v, cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].key, v, cases[i].want);
    }
    for (const struct config_key *k = config_keys; k->name; k++) {
        char v[1100];
        if (config_format(&c, k->name, v, sizeof v) < 0)
            fail_msg("config_format does not know %s", k->name);
        if (strncmp(k->name, "auth_", 5) == 0 || strcmp(k->name, "collect_services") == 0)
            continue;
        struct config back;
        config_defaults(&back);
        if (config_set(&back, k->name, v, &e) != 0)
            fail_msg("%s: \"%s\" does not read back: %s", k->name, v, e.msg);
    }
    char small[4];
    assert_int_equal(config_format(&c, "data", small, sizeof small), 3);
    assert_int_equal(config_format(&c, "nope", small, sizeof small), TIDE_ENOTFOUND);
}

/* Write `text` to a temp file and load it into c (defaults first unless
 * keep is set, so that registered sections survive). */
static int load_into(const char *text, struct config *c, struct err *e, int keep)
{
    char path[] = "/tmp/tide-test-config-XXXXXX";
    const char *dir = getenv("TMPDIR");
    char buf[512];
    snprintf(buf, sizeof buf, "%s/tide-test-config-XXXXXX", dir ? dir : "/tmp");
    char *p = dir ? buf : path;
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    ssize_t w = write(fd, text, strlen(text));
    assert_int_equal(w, (ssize_t)strlen(text));
    close(fd);
    if (!keep)
        config_defaults(c);
    int rc = config_load_file(c, p, e);
    unlink(p);
    return rc;
}

static int load(const char *text, struct config *c, struct err *e)
{
    return load_into(text, c, e, 0);
}

static void test_file(void **state)
{
    static const struct {
        const char *name, *text;
        int want_rc, want_line;
        const char *want_msg; /* substring of the message */
    } cases[] = {
        {"good",
         "# Tide\ndata: /srv/tide\nretention: 90d\nfsync: always\n"
         "max_request_bytes: 16MiB\nlisten: \":9471\"\n",
         0, 0, NULL},
        {"empty", "", 0, 0, NULL},
        {"unknown key", "data: /x\nretenion: 30d\n", TIDE_ENOTFOUND, 2, "retenion"},
        {"bad value", "data: /x\n\nfsync: sometimes\n", TIDE_EINVAL, 3, "fsync"},
        {"nested", "data:\n  dir: /x\n", TIDE_EPARSE, 2, "nested"},
        {"list", "listen:\n  - :1\n", TIDE_EPARSE, 2, "list"},
        {"syntax", "data: /x\nretention: 30d: x\n", TIDE_EPARSE, 2, "invalid YAML"},
        {"not a mapping", "- a\n- b\n", TIDE_EPARSE, 1, "mapping"},
        {"not a mapping, a scalar", "just text\n", TIDE_EPARSE, 1, "not \"just text\""},
        {"empty value", "retention: 1d\ndata:\n", TIDE_EINVAL, 2, "data: empty path"},
        {"two documents", "data: /x\n---\ndata: /y\n", TIDE_EPARSE, 2, "only one YAML document"},
        {"alias", "data: &d /x\nlisten: *d\n", TIDE_EPARSE, 2, "aliases are not allowed"},
        {"dashes in keys", "fsync-interval: 2s\nlog-level: debug\n", 0, 0, NULL},
        {"long unknown key",
         "a_key_that_is_much_longer_than_any_key_tide_knows_of_and_then_some: 1\n",
         TIDE_ENOTFOUND, 1, "unknown key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config c;
        struct err e = {0};
        int rc = load(cases[i].text, &c, &e);
        if (rc != cases[i].want_rc)
            fail_msg("%s: rc=%d want %d (%d:%d %s)", cases[i].name, rc, cases[i].want_rc, e.line,
                     e.col, e.msg);
        if (cases[i].want_line && e.line != cases[i].want_line)
            fail_msg("%s: error on line %d, want line %d (%s)", cases[i].name, e.line,
                     cases[i].want_line, e.msg);
        if (cases[i].want_msg && strstr(e.msg, cases[i].want_msg) == NULL)
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, e.msg, cases[i].want_msg);
        if (strcmp(cases[i].name, "good") == 0) {
            assert_string_equal(c.data_dir, "/srv/tide");
            assert_int_equal(c.retention_ms, 90LL * 86400000);
            assert_int_equal(c.fsync, CONFIG_FSYNC_ALWAYS);
            assert_int_equal(c.max_request_bytes, 16u << 20);
            assert_int_equal(c.listen_port, 9471);
        }
    }
    struct config c;
    config_defaults(&c);
    struct err e = {0};
    assert_true(config_load_file(&c, "/nonexistent/tide.yml", &e) < 0);
    assert_non_null(strstr(e.msg, "/nonexistent/tide.yml"));
}

/* A section parser as a subsystem registers it: reads `targets:` and counts. */
struct targets_cfg {
    int calls;
    size_t n;
    int64_t interval_ms;
};

static int parse_targets(void *ctx, const struct yaml_node *sec, struct err *e)
{
    struct targets_cfg *tc = ctx;
    tc->calls++;
    int rc = yaml_tree_expect(sec, YAML_TREE_SEQ, e);
    for (size_t i = 0; rc == 0 && i < yaml_tree_len(sec); i++) {
        const struct yaml_node *m = yaml_tree_item(sec, i);
        const char *addr;
        rc = yaml_tree_require_str(m, "address", &addr, e);
        if (rc == 0)
            rc = yaml_tree_get_duration(m, "interval", &tc->interval_ms, e);
        if (rc == 0)
            rc = yaml_tree_check_keys(m, e);
        tc->n++;
    }
    return rc;
}

static void test_sections(void **state)
{
    static const struct {
        const char *name, *text;
        int want_rc;
        const char *want; /* "line:col: msg", "" for success */
        size_t want_targets;
    } cases[] = {
        {"flat and sections",
         "data: /srv/tide\n"
         "targets:\n"
         "  - address: 10.0.0.1\n"
         "    interval: 30s\n"
         "  - address: 10.0.0.2\n"
         "rule_files: [a.yml]\n"
         "retention: 90d\n",
         0, "", 2},
        {"unregistered section", "data: /x\nscrape_configs:\n  - job_name: x\n", TIDE_ENOTFOUND,
         "2:1: unknown key \"scrape_configs\" (see docs/config.md)", 0},
        {"error inside a section", "targets:\n  - address: a\n    adress: b\n", TIDE_ENOTFOUND,
         "3:5: unknown key \"adress\" in targets", 1},
        {"bad value inside a section", "targets:\n  - {address: a, interval: soon}\n",
         TIDE_EINVAL, "2:28: interval: invalid duration \"soon\" (e.g. 30s, 5m, 1h30m)", 1},
        {"flat keys first", "targets: [{}]\nfsync: sometimes\n", TIDE_EINVAL,
         "2:8: fsync: \"sometimes\" is not one of always, interval, never", 0},
        {"duplicate key", "data: /a\nretention: 1d\ndata: /b\n", TIDE_EPARSE,
         "3:1: duplicate key \"data\" (first given at 1:1)", 0},
        {"empty section", "targets:\n", 0, "", 0},
        {"no sections", "data: /x\n", 0, "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config c;
        config_defaults(&c);
        struct targets_cfg tc = {0};
        assert_int_equal(config_section_register(&c, "targets", parse_targets, &tc), 0);
        assert_int_equal(config_section_register(&c, "rule_files", NULL, NULL), 0);
        struct err e = {0};
        int rc = load_into(cases[i].text, &c, &e, 1);
        char got[300] = "";
        if (rc != 0)
            snprintf(got, sizeof got, "%d:%d: %s", e.line, e.col, e.msg);
        if (rc != cases[i].want_rc || strcmp(got, cases[i].want) != 0 ||
            tc.n != cases[i].want_targets)
            fail_msg("%s: rc=%d `%s` targets=%zu, want rc=%d `%s` targets=%zu", cases[i].name, rc,
                     got, tc.n, cases[i].want_rc, cases[i].want, cases[i].want_targets);
        /* the tree is kept only from a file that loaded and had a section; the
         * section parser runs once, after every flat key was applied */
        bool has_targets = strstr(cases[i].text, "targets:") != NULL;
        assert_int_equal(c.tree != NULL, has_targets && rc == 0);
        bool flat_ok = rc == 0 || tc.n > 0;
        assert_int_equal(tc.calls, has_targets && flat_ok);
        if (i == 0) {
            assert_string_equal(c.data_dir, "/srv/tide");
            assert_int_equal(c.retention_ms, 90LL * 86400000);
            assert_int_equal(tc.interval_ms, 30000);
            const struct yaml_node *rf = config_section(&c, "rule_files");
            assert_int_equal(yaml_tree_kind(rf), YAML_TREE_SEQ);
            assert_int_equal(yaml_tree_line(rf), 6);
            assert_string_equal(yaml_tree_text(yaml_tree_item(rf, 0)), "a.yml");
            assert_non_null(config_file(&c));
            assert_null(config_section(&c, "tiers"));     /* not registered */
            assert_null(config_section(&c, "retention")); /* a flat key */
        }
        config_fini(&c);
        assert_null(c.tree);
        assert_null(config_section(&c, "targets"));
        assert_null(config_file(&c));
        config_fini(&c);
    }

    struct config c;
    config_defaults(&c);
    assert_int_equal(config_section_register(&c, "retention", NULL, NULL), TIDE_EINVAL);
    assert_int_equal(config_section_register(&c, "", NULL, NULL), TIDE_EINVAL);
    assert_int_equal(config_section_register(&c, "tiers", NULL, NULL), 0);
    assert_int_equal(config_section_register(&c, "tiers", NULL, NULL), TIDE_EINVAL);
    static const char *const names[] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
                                        "a8", "a9", "b0", "b1", "b2", "b3", "b4", "b5",
                                        "b6", "b7", "b8", "b9", "c0", "c1", "c2", "c3",
                                        "c4", "c5", "c6", "c7", "c8", "c9", "d0", "d1"};
    int rc = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && rc == 0; i++)
        rc = config_section_register(&c, names[i], NULL, NULL);
    assert_int_equal(rc, TIDE_ELIMIT);
    assert_int_equal(c.nsections, CONFIG_SECTIONS_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
