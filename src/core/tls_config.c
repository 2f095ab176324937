/* tls_config.c: Prometheus' `tls_config`, parsed once for scrape jobs,
 * remote_write endpoints and Alertmanagers (tls_config.h), with the keys
 * and errors Prometheus 2.42 has. */
#include <stdio.h>
#include <string.h>

#include "core/http_client.h"
#include "core/tls_config.h"
#include "core/yaml_tree.h"

/* A file name of the config: relative ones against base_dir, as
 * Prometheus resolves every file of its config. */
static int read_path(const struct yaml_node *m, const char *key, const char *base_dir, char *out,
                     size_t cap, struct err *e)
{
    const char *v = NULL;
    if (yaml_tree_get_str(m, key, &v, e) != 0)
        return e->code;
    int n;
    if (v == NULL || v[0] == 0)
        n = snprintf(out, cap, "%s", "");
    else if (v[0] == '/' || base_dir == NULL || base_dir[0] == 0)
        n = snprintf(out, cap, "%s", v);
    else
        n = snprintf(out, cap, "%s/%s", base_dir, v);
    if (n < 0 || (size_t)n >= cap)
        return yaml_tree_err(yaml_tree_get(m, key), TIDE_ELIMIT, e, "%s: path too long", key);
    return 0;
}

/* min_version or max_version: TLS10…TLS13 as 10…13. */
static int read_version(const struct yaml_node *m, const char *key, int *out, struct err *e)
{
    static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    const char *v = NULL;
    if (yaml_tree_get_str(m, key, &v, e) != 0)
        return e->code;
    if (v == NULL || v[0] == 0)
        return 0;
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = 10 + i;
            return 0;
        }
    return yaml_tree_err(yaml_tree_get(m, key), TIDE_EINVAL, e,
                         "%s: unknown TLS version \"%s\" (TLS10, TLS11, TLS12 or TLS13)", key, v);
}

int tls_config_parse(const struct yaml_node *tc, const char *base_dir, struct tls_config *out,
                     struct err *e)
{
    memset(out, 0, sizeof *out);
    if (tc == NULL || yaml_tree_is_null(tc))
        return 0;
    const char *sn = NULL;
    if (yaml_tree_expect(tc, YAML_TREE_MAP, e) != 0 ||
        read_path(tc, "ca_file", base_dir, out->ca_file, sizeof out->ca_file, e) != 0 ||
        read_path(tc, "cert_file", base_dir, out->cert_file, sizeof out->cert_file, e) != 0 ||
        read_path(tc, "key_file", base_dir, out->key_file, sizeof out->key_file, e) != 0 ||
        yaml_tree_get_str(tc, "server_name", &sn, e) != 0 ||
        yaml_tree_get_bool(tc, "insecure_skip_verify", &out->insecure_skip_verify, e) != 0 ||
        read_version(tc, "min_version", &out->min_version, e) != 0 ||
        read_version(tc, "max_version", &out->max_version, e) != 0 ||
        yaml_tree_check_keys(tc, e) != 0)
        return e->code;
    if ((out->cert_file[0] != 0) != (out->key_file[0] != 0))
        return yaml_tree_err(tc, TIDE_EINVAL, e,
                             "tls_config: cert_file and key_file must be set together");
    if (out->min_version && out->max_version && out->min_version > out->max_version)
        return yaml_tree_err(yaml_tree_get(tc, "max_version"), TIDE_EINVAL, e,
                             "tls_config: max_version is below min_version");
    if (sn != NULL &&
        snprintf(out->server_name, sizeof out->server_name, "%s", sn) >= (int)sizeof out->server_name)
        return yaml_tree_err(yaml_tree_get(tc, "server_name"), TIDE_ELIMIT, e,
                             "server_name: too long");
    return 0;
}

void tls_config_client_opts(const struct tls_config *t, struct http_client_opts *o)
{
    o->ca_file = t->ca_file[0] ? t->ca_file : NULL;
    o->cert_file = t->cert_file[0] ? t->cert_file : NULL;
    o->key_file = t->key_file[0] ? t->key_file : NULL;
    o->server_name = t->server_name[0] ? t->server_name : NULL;
    o->insecure_skip_verify = t->insecure_skip_verify;
    o->tls_min_version = t->min_version;
    o->tls_max_version = t->max_version;
}
