/* test_scrape_config.c: scrape_configs parsing (collect/scrape_config.c)
 * and target resolution (scrape_resolve in scrape_discovery.c) against
 * Prometheus 2.42's PopulateLabels: global defaults, the default port,
 * params and __param_ overrides in the URL (sorted, query-escaped),
 * __meta_ and other __ labels kept out of the target labels, instance
 * defaulting to the address, a relabelled interval, dropped targets; and
 * the configuration errors with their line:col. Table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/scrape.h"
#include "core/buf.h"
#include "core/yaml_tree.h"

struct resolve_case {
    const char *name;
    const char *yaml; /* a whole config: global + scrape_configs with one job */
    int want_rc;      /* 1 resolved, 0 dropped */
    const char *url;
    const char *labels; /* sorted "a=1,b=2" */
    int64_t interval_ms, timeout_ms;
};

static const struct resolve_case resolve_cases[] = {
    {"defaults", "scrape_configs:\n- job_name: node\n  static_configs: [{targets: ['h:9100']}]\n",
     1, "http://h:9100/metrics", "instance=h:9100,job=node", 60000, 10000},
    {"global defaults, timeout capped by interval",
     "global: {scrape_interval: 1m, scrape_timeout: 20s}\n"
     "scrape_configs:\n- job_name: j\n  scrape_interval: 15s\n"
     "  static_configs: [{targets: ['h:1']}]\n",
     1, "http://h:1/metrics", "instance=h:1,job=j", 15000, 15000},
    {"global timeout defaults to at most the global interval",
     "global: {scrape_interval: 5s}\n"
     "scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['h:1']}]\n",
     1, "http://h:1/metrics", "instance=h:1,job=j", 5000, 5000},
    {"default port for http", "scrape_configs:\n- job_name: j\n  static_configs: [{targets: [h]}]\n",
     1, "http://h:80/metrics", "instance=h:80,job=j", 60000, 10000},
    {"default port for a bracketed IPv6 address",
     "scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['[::1]', '[::1]:9']}]\n",
     1, "http://[::1]:80/metrics", "instance=[::1]:80,job=j", 60000, 10000},
    {"default port for https, path",
     "scrape_configs:\n- job_name: j\n  scheme: https\n  metrics_path: /x/y\n"
     "  static_configs: [{targets: [h]}]\n",
     1, "https://h:443/x/y", "instance=h:443,job=j", 60000, 10000},
    {"group labels, a target's own address wins",
     "scrape_configs:\n- job_name: j\n  static_configs:\n"
     "  - {targets: ['a:1'], labels: {__address__: 'b:2', env: prod, __meta_x: y}}\n",
     1, "http://a:1/metrics", "env=prod,instance=a:1,job=j", 60000, 10000},
    {"params and a __param_ override, sorted and escaped",
     "scrape_configs:\n- job_name: snmp\n  params: {module: [if_mib, x y], auth: [pub]}\n"
     "  static_configs: [{targets: ['192.0.2.1']}]\n"
     "  relabel_configs:\n"
     "  - {source_labels: [__address__], target_label: __param_target}\n"
     "  - {source_labels: [__param_target], target_label: instance}\n"
     "  - {target_label: __address__, replacement: 'exporter:9116'}\n",
     1, "http://exporter:9116/metrics?auth=pub&module=if_mib&module=x+y&target=192.0.2.1",
     "instance=192.0.2.1,job=snmp", 60000, 10000},
    {"__meta_ labels serve relabelling, then go",
     "scrape_configs:\n- job_name: j\n  static_configs:\n"
     "  - {targets: ['h:1'], labels: {__meta_zone: z1}}\n"
     "  relabel_configs:\n  - {action: labelmap, regex: '__meta_(.+)'}\n",
     1, "http://h:1/metrics", "instance=h:1,job=j,zone=z1", 60000, 10000},
    {"relabelled interval and path",
     "scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['h:1']}]\n"
     "  relabel_configs:\n  - {target_label: __scrape_interval__, replacement: 5s}\n"
     "  - {target_label: __scrape_timeout__, replacement: 2s}\n"
     "  - {target_label: __metrics_path__, replacement: /probe}\n",
     1, "http://h:1/probe", "instance=h:1,job=j", 5000, 2000},
    {"dropped by relabelling",
     "scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['h:1']}]\n"
     "  relabel_configs:\n  - {source_labels: [__address__], regex: 'h:.*', action: drop}\n",
     0, NULL, NULL, 0, 0},
    {"empty address: dropped",
     "scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['h:1']}]\n"
     "  relabel_configs:\n  - {target_label: __address__, replacement: ''}\n",
     0, NULL, NULL, 0, 0},
    {"job label relabelled",
     "scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['h:1']}]\n"
     "  relabel_configs:\n  - {target_label: job, replacement: other}\n"
     "  - {target_label: instance, replacement: mine}\n",
     1, "http://h:1/metrics", "instance=mine,job=other", 60000, 10000},
};

static struct yaml_tree *parse_yaml(const char *text)
{
    struct yaml_tree *t = NULL;
    struct err e;
    err_clear(&e);
    if (yaml_tree_parse(text, strlen(text), "t.yml", &t, &e) != 0)
        fail_msg("yaml: %d:%d %s", e.line, e.col, e.msg);
    return t;
}

static void test_resolve(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof resolve_cases / sizeof resolve_cases[0]; i++) {
        const struct resolve_case *c = &resolve_cases[i];
        struct yaml_tree *t = parse_yaml(c->yaml);
        const struct yaml_node *root = yaml_tree_root(t);
        struct scrape_job *jobs = NULL;
        size_t n = 0;
        struct err e;
        err_clear(&e);
        if (scrape_config_parse(yaml_tree_get(root, "global"), yaml_tree_get(root, "scrape_configs"),
                                NULL, &jobs, &n, &e) != 0)
            fail_msg("%s: parse: %d:%d %s", c->name, e.line, e.col, e.msg);
        assert_int_equal(n, 1);
        struct relabel_set set;
        relabel_set_init(&set);
        struct scrape_resolved r;
        int rc = scrape_resolve(&jobs[0], &jobs[0].static_groups[0], 0, &set, &r, &e);
        if (rc != c->want_rc)
            fail_msg("%s: rc %d (%s), want %d", c->name, rc, e.msg, c->want_rc);
        if (rc == 1) {
            struct buf b;
            buf_init(&b, 0);
            buf_puts(&b, "");
            for (size_t k = 0; k < r.nlabels; k++)
                buf_printf(&b, "%s%.*s=%.*s", k ? "," : "", (int)r.labels[k].name.n,
                           r.labels[k].name.p, (int)r.labels[k].value.n, r.labels[k].value.p);
            if (strcmp(r.url, c->url) != 0)
                fail_msg("%s: url %s, want %s", c->name, r.url, c->url);
            if (strcmp(b.p, c->labels) != 0)
                fail_msg("%s: labels %s, want %s", c->name, b.p, c->labels);
            if (r.interval_ms != c->interval_ms || r.timeout_ms != c->timeout_ms)
                fail_msg("%s: interval %lld timeout %lld", c->name, (long long)r.interval_ms,
                         (long long)r.timeout_ms);
            buf_fini(&b);
        }
        relabel_set_fini(&set);
        scrape_jobs_free(jobs, n);
        yaml_tree_free(t);
    }
}

struct bad_case {
    const char *yaml;
    int line, col;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    {"scrape_configs:\n- job_name: j\n  scrape_intervall: 1s\n", 3, 3, "scrape_intervall"},
    {"scrape_configs:\n- job_name: j\n- job_name: j\n", 3, 13, "multiple scrape configs"},
    {"scrape_configs:\n- job_name: j\n  scrape_interval: 5s\n  scrape_timeout: 10s\n", 4, 19,
     "timeout greater than scrape interval"},
    {"scrape_configs:\n- job_name: j\n  scheme: ftp\n", 3, 11, "http or https"},
    {"scrape_configs:\n- job_name: j\n  basic_auth: {username: u}\n"
     "  authorization: {credentials: x}\n",
     2, 3, "at most one of basic_auth"},
    {"scrape_configs:\n- job_name: j\n  basic_auth: {username: u, pasword: x}\n", 3, 29,
     "pasword"},
    {"scrape_configs:\n- job_name: j\n  file_sd_configs: [{files: ['d*/x.json']}]\n", 3, 30,
     "last element"},
    {"scrape_configs:\n- job_name: j\n  file_sd_configs: [{files: ['x.txt']}]\n", 3, 30,
     "only json, yml, or yaml"},
    {"scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['a/b']}]\n", 3, 31,
     "not a valid hostname"},
    {"scrape_configs:\n- job_name: j\n  relabel_configs: [{action: bogus}]\n", 3, 30,
     "unknown relabel action"},
    {"scrape_configs:\n- job_name: j\n  tls_config: {ca_file: x, min_version: TLS9}\n", 3, 41,
     "unknown TLS version"},
    {"scrape_configs:\n- scrape_interval: 1s\n", 2, 3, "job_name"},
    {"scrape_configs:\n- job_name: j\n  authorization: {type: Basic, credentials: x}\n", 3, 25,
     "basic_auth"},
};

static void test_bad_global(void **state)
{
    (void)state;
    const char *text = "global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\nscrape_configs:\n";
    struct yaml_tree *t = parse_yaml(text);
    const struct yaml_node *root = yaml_tree_root(t);
    struct scrape_job *jobs = NULL;
    size_t n = 0;
    struct err e;
    err_clear(&e);
    assert_int_equal(scrape_config_parse(yaml_tree_get(root, "global"),
                                         yaml_tree_get(root, "scrape_configs"), NULL, &jobs, &n,
                                         &e),
                     TIDE_EINVAL);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.col, 19);
    assert_non_null(strstr(e.msg, "global scrape timeout greater than scrape interval"));
    yaml_tree_free(t);
}

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct yaml_tree *t = parse_yaml(c->yaml);
        const struct yaml_node *root = yaml_tree_root(t);
        struct scrape_job *jobs = NULL;
        size_t n = 0;
        struct err e;
        err_clear(&e);
        int rc = scrape_config_parse(NULL, yaml_tree_get(root, "scrape_configs"), NULL, &jobs, &n,
                                     &e);
        if (rc == 0)
            fail_msg("case %zu (%s): accepted", i, c->msg);
        if (strstr(e.msg, c->msg) == NULL || e.line != c->line || e.col != c->col)
            fail_msg("case %zu: got %d:%d \"%s\", want %d:%d \"%s\"", i, e.line, e.col, e.msg,
                     c->line, c->col, c->msg);
        assert_null(jobs);
        yaml_tree_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_bad_global),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
