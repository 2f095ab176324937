/* test_forward_config.c: the `remote_write:` section (remote/forward_config.c):
 * a prometheus.yml section is read with Prometheus 2.42's defaults, auth,
 * headers, TLS and queue_config; secrets from files lose their trailing
 * newline; the default name is stable per URL; unsupported keys
 * (sigv4, ...), bad values and bad write_relabel_configs rules are refused
 * with their position; a refusal leaves no endpoint. */
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
#include "remote/forward.h"
#include "remote/queue.h"

static int parse(const char *text, struct forward_config *c, struct err *e)
{
    struct yaml_tree *t = NULL;
    memset(c, 0, sizeof *c);
    forward_config_set_file(c, "/etc/tide/tide.yml");
    err_clear(e);
    assert_int_equal(yaml_tree_parse(text, strlen(text), "t.yml", &t, e), 0);
    int rc = forward_config_parse(c, yaml_tree_root(t), e);
    yaml_tree_free(t);
    return rc;
}

static void test_defaults_and_keys(void **state)
{
    (void)state;
    char path[] = "/tmp/tide-fwd-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\n", 7), 7);
    close(fd);
    char text[1024];
    snprintf(text, sizeof text,
             "- url: http://vm:8428/api/v1/write\n"
             "- url: https://mimir/api/v1/push\n"
             "  name: mimir\n"
             "  remote_timeout: 10s\n"
             "  headers: {X-Scope-OrgID: t1}\n"
             "  basic_auth: {username: u, password_file: %s}\n"
             "  tls_config: {ca_file: ca.pem, insecure_skip_verify: true, server_name: m.local,\n"
             "               min_version: TLS12}\n"
             "  queue_config: {capacity: 10000, max_shards: 5, max_samples_per_send: 2000,\n"
             "                 batch_send_deadline: 1s, min_backoff: 10ms, max_backoff: 2s,\n"
             "                 max_bytes: 2GiB}\n"
             "  metadata_config: {send: false}\n"
             "  send_exemplars: true\n",
             path);
    struct forward_config c;
    struct err e;
    assert_int_equal(parse(text, &c, &e), 0);
    unlink(path);
    assert_int_equal(c.n, 2);
    const struct forward_endpoint *a = &c.ep[0], *b = &c.ep[1];
    assert_string_equal(a->url, "http://vm:8428/api/v1/write");
    assert_int_equal(strncmp(a->name, "rw-", 3), 0);
    assert_int_equal(strlen(a->name), 11);
    assert_int_equal(a->max_samples_per_send, 500);
    assert_int_equal(a->batch_send_deadline_ms, 5000);
    assert_int_equal(a->min_backoff_ms, 30);
    assert_int_equal(a->max_backoff_ms, 5000);
    assert_int_equal(a->remote_timeout_ms, 30000);
    assert_string_equal(b->name, "mimir");
    assert_string_equal(b->headers[0], "X-Scope-OrgID: t1");
    assert_null(b->headers[1]);
    assert_string_equal(b->basic_user, "u");
    assert_string_equal(b->basic_password, "s3cret");
    assert_string_equal(b->tls.ca_file, "/etc/tide/ca.pem"); /* against the config's dir */
    assert_string_equal(b->tls.server_name, "m.local");
    assert_int_equal(b->tls.min_version, 12);
    assert_true(b->tls.insecure_skip_verify);
    assert_int_equal(b->max_samples_per_send, 2000);
    assert_int_equal(b->batch_send_deadline_ms, 1000);
    assert_int_equal(b->remote_timeout_ms, 10000);
    assert_true(b->max_bytes == (2ull << 30));
    assert_true(a->max_bytes == QUEUE_MAX_BYTES_DEFAULT);
    char name0[FORWARD_NAME_MAX + 1];
    strcpy(name0, a->name);
    forward_config_fini(&c);
    assert_int_equal(parse("- url: http://vm:8428/api/v1/write\n", &c, &e), 0);
    assert_string_equal(c.ep[0].name, name0); /* the same URL, the same queue directory */
    forward_config_fini(&c);
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *yml, *msg;
        int line;
    } cases[] = {
        {"- url: http://a/\n  write_relabel_configs:\n    - {action: hashmod, source_labels: [a], target_label: b}\n",
         "requires non-zero modulus", 3},
        {"- url: http://a/\n  sigv4: {region: x}\n", "sigv4 is not supported", 2},
        {"- name: x\n", "url is required", 1},
        {"- url: ftp://a/\n", "http:// or https://", 1},
        {"- url: http://a/\n  name: ../x\n", "name must be", 2},
        {"- url: http://a/\n  name: x\n- url: http://b/\n  name: x\n", "two endpoints named", 3},
        {"- url: http://a/\n  headers: {Authorization: x}\n", "reserved header", 2},
        {"- url: http://a/\n  queue_config: {max_samples_per_send: 0}\n", "", 2},
        {"- url: http://a/\n  queue_config: {min_backoff: 2s, max_backoff: 1s}\n", "max_backoff", 2},
        {"- url: http://a/\n  authorization: {type: Basic, credentials: x}\n", "Bearer only", 2},
        {"- url: http://a/\n  bearer_token: x\n  basic_auth: {username: u}\n", "at most one", 1},
        {"- url: http://a/\n  remote_timout: 1s\n", "unknown key", 2},
        {"url: http://a/\n", "expected a list", 1},
        {"- url: http://a/\n  queue_config: {max_bytes: 1000}\n", "at least 1MiB", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct forward_config c;
        struct err e;
        int rc = parse(cases[i].yml, &c, &e);
        if (rc == 0 || strstr(e.msg, cases[i].msg) == NULL || e.line != cases[i].line)
            fail_msg("case %zu: rc %d line %d msg \"%s\"", i, rc, e.line, e.msg);
        assert_int_equal(c.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_keys),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
