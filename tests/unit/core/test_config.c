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

/* Write `text` to a temp file and load it. */
static int load(const char *text, struct config *c, struct err *e)
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
    config_defaults(c);
    int rc = config_load_file(c, p, e);
    unlink(p);
    return rc;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
