/* test_tls_config.c: Prometheus' tls_config (core/tls_config.c): every
 * key, relative files against the config's directory, the TLS version
 * range, the refusals with their positions, and the mapping onto
 * http_client's options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/fs.h"
#include "core/http_client.h"
#include "core/tls_config.h"
#include "core/yaml_tree.h"

/* Parse `text` (a mapping holding tls_config) into *t. */
static int from_yaml(const char *text, const char *dir, struct tls_config *t, struct err *e)
{
    struct yaml_tree *y = NULL;
    int rc = yaml_tree_parse(text, strlen(text), "t.yml", &y, e);
    if (rc == 0)
        rc = tls_config_parse(yaml_tree_get(yaml_tree_root(y), "tls_config"), dir, t, e);
    yaml_tree_free(y);
    return rc;
}

static void test_keys(void **state)
{
    (void)state;
    struct tls_config t;
    struct err e = {0};
    assert_int_equal(from_yaml("tls_config:\n  ca_file: ca.pem\n  cert_file: /abs/c.pem\n"
                               "  key_file: k.key\n  server_name: m.example.net\n"
                               "  insecure_skip_verify: true\n  min_version: TLS12\n"
                               "  max_version: TLS13\n",
                               "/etc/tide", &t, &e),
                     0);
    assert_string_equal(t.ca_file, "/etc/tide/ca.pem");
    assert_string_equal(t.cert_file, "/abs/c.pem");
    assert_string_equal(t.key_file, "/etc/tide/k.key");
    assert_string_equal(t.server_name, "m.example.net");
    assert_true(t.insecure_skip_verify);
    assert_int_equal(t.min_version, 12);
    assert_int_equal(t.max_version, 13);

    struct http_client_opts o = {0};
    tls_config_client_opts(&t, &o);
    assert_string_equal(o.ca_file, "/etc/tide/ca.pem");
    assert_string_equal(o.server_name, "m.example.net");
    assert_true(o.insecure_skip_verify);
    assert_int_equal(o.tls_min_version, 12);
    assert_int_equal(o.tls_max_version, 13);

    /* No base directory: names as given. Absent or null: all defaults. */
    assert_int_equal(from_yaml("tls_config: {ca_file: ca.pem}\n", "", &t, &e), 0);
    assert_string_equal(t.ca_file, "ca.pem");
    assert_int_equal(from_yaml("x: 1\n", "/etc", &t, &e), 0);
    assert_string_equal(t.ca_file, "");
    assert_int_equal(from_yaml("tls_config:\n", "/etc", &t, &e), 0);
    tls_config_client_opts(&t, &o);
    assert_null(o.ca_file);
    assert_null(o.cert_file);
    assert_null(o.server_name);
    assert_false(o.insecure_skip_verify);
    assert_int_equal(o.tls_min_version, 0);
}

static void test_refused(void **state)
{
    (void)state;
    struct tls_config t;
    struct err e = {0};
    assert_int_equal(from_yaml("tls_config:\n  min_version: TLS14\n", "", &t, &e), TIDE_EINVAL);
    assert_int_equal(e.line, 2);
    assert_non_null(strstr(e.msg, "unknown TLS version \"TLS14\""));
    assert_int_equal(from_yaml("tls_config:\n  cert_file: c.pem\n", "", &t, &e), TIDE_EINVAL);
    assert_non_null(strstr(e.msg, "cert_file and key_file must be set together"));
    assert_int_equal(
        from_yaml("tls_config:\n  min_version: TLS13\n  max_version: TLS12\n", "", &t, &e),
        TIDE_EINVAL);
    assert_int_equal(e.line, 3);
    assert_int_equal(from_yaml("tls_config:\n  ca_fil: x\n", "", &t, &e), TIDE_ENOTFOUND);
    assert_int_equal(e.line, 2);
    assert_non_null(strstr(e.msg, "ca_fil"));
    assert_int_equal(from_yaml("tls_config: [a]\n", "", &t, &e), TIDE_EINVAL);
}

static void test_dir_of(void **state)
{
    (void)state;
    char d[64];
    fs_dir_of("/etc/tide/tide.yml", d, sizeof d);
    assert_string_equal(d, "/etc/tide");
    fs_dir_of("/tide.yml", d, sizeof d);
    assert_string_equal(d, "/");
    fs_dir_of("tide.yml", d, sizeof d);
    assert_string_equal(d, "");
    fs_dir_of(NULL, d, sizeof d);
    assert_string_equal(d, "");
    fs_dir_of("conf/tide.yml", d, sizeof d);
    assert_string_equal(d, "conf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_dir_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
