/* test_rules_config.c: the `alerting:` section (rules/rules_config.c) as
 * prometheus.yml writes it: tls_config's keys reach the target (relative
 * files against the config's directory), the HTTP keys Prometheus 2.42
 * accepts are accepted, and what Tide refuses is refused with line:col. */
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
#include "rules/rules_config.h"

/* Load `yaml` as a config file in $TMPDIR; 0 or the error (message in e). */
static int load(const char *yaml, struct rules_config *rc, struct err *e)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/rcfgXXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tide.yml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    struct config cfg;
    config_defaults(&cfg);
    rules_config_init(rc);
    rules_config_set_file(rc, path);
    assert_int_equal(rules_config_register(rc, &cfg), 0);
    int r = config_load_file(&cfg, path, e);
    config_fini(&cfg);
    remove(path);
    rmdir(dir);
    return r;
}

static void test_tls_config(void **state)
{
    (void)state;
    struct rules_config rc;
    struct err e = {0};
    int r = load("alerting:\n"
                 "  alertmanagers:\n"
                 "    - scheme: https\n"
                 "      follow_redirects: false\n"
                 "      enable_http2: true\n"
                 "      static_configs: [{targets: [\"a:9093\"]}]\n"
                 "      tls_config:\n"
                 "        ca_file: ca.crt\n"
                 "        cert_file: /abs/c.crt\n"
                 "        key_file: c.key\n"
                 "        server_name: am.test\n"
                 "        insecure_skip_verify: true\n"
                 "        min_version: TLS12\n"
                 "        max_version: TLS13\n"
                 "  webhooks:\n"
                 "    - url: https://h/x\n"
                 "      bearer_token: tok\n",
                 &rc, &e);
    assert_int_equal(r, 0);
    assert_int_equal(rc.ntargets, 2);
    const struct notify_target *t = &rc.targets[0];
    assert_string_equal(t->url, "https://a:9093/api/v2/alerts");
    assert_non_null(strstr(t->tls.ca_file, "/ca.crt"));
    assert_true(t->tls.ca_file[0] == '/'); /* against the config's directory */
    assert_string_equal(t->tls.cert_file, "/abs/c.crt");
    assert_string_equal(t->tls.server_name, "am.test");
    assert_true(t->tls.insecure_skip_verify);
    assert_int_equal(t->tls.min_version, 12);
    assert_int_equal(t->tls.max_version, 13);
    assert_int_equal(t->max_redirects, 0);
    assert_int_equal(rc.targets[1].max_redirects, 10); /* Prometheus' default: follow */
    assert_string_equal(rc.targets[1].bearer, "tok");
    rules_config_fini(&rc);
}

/* Each refusal: the YAML, the line, and a piece of the message. */
static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        int line;
        const char *msg;
    } cases[] = {
        {"alerting:\n  alertmanagers:\n    - static_configs: []\n      tls_config:\n"
         "        ca: x\n",
         5, "ca"},
        {"alerting:\n  alertmanagers:\n    - tls_config: {cert_file: c}\n", 3,
         "cert_file and key_file"},
        {"alerting:\n  alertmanagers:\n    - tls_config: {min_version: TLS9}\n", 3,
         "unknown TLS version"},
        {"alerting:\n  alertmanagers:\n    - proxy_url: http://p:3128\n", 3,
         "not supported"},
        {"alerting:\n  webhooks:\n    - url: https://h/\n      oauth2: {client_id: a}\n", 4,
         "not supported"},
        {"alerting:\n  alertmanagers:\n    - sigv4: {region: x}\n", 3, "sigv4"},
        {"alerting:\n  alertmanagers:\n    - bearer_token: a\n      authorization: "
         "{credentials: b}\n",
         3, "at most one"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct rules_config rc;
        struct err e = {0};
        int r = load(cases[i].yaml, &rc, &e);
        if (r == 0 || e.line != cases[i].line || strstr(e.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: rc %d line %d: %s", i, r, e.line, e.msg);
        rules_config_fini(&rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_config),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
