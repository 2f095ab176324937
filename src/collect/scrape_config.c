/* scrape_config.c: the `scrape_configs:` section, read as Prometheus 2.42
 * reads it (config.ScrapeConfig with its HTTPClientConfig), into struct
 * scrape_job (scrape.h); target groups and file_sd files are read by
 * model/file_sd.c. Defaults
 * come from `global:` scrape_interval/scrape_timeout (the section itself
 * belongs to rules/rules_config.c; only these two keys are read here).
 * Every unknown key is refused with its line:col, as Prometheus refuses
 * unknown fields. Secrets (password_file, credentials_file) are read once,
 * when the configuration is loaded, trimmed of surrounding white space.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/scrape.h"
#include "core/yaml_tree.h"

static int oom(struct err *e)
{
    return ERR_SET(e, -ENOMEM, "scrape: out of memory");
}

/* The contents of a secret file, trimmed (malloc'd). */
static int read_secret_file(const struct yaml_node *at, const char *base_dir, const char *path,
                            char **out, struct err *e)
{
    *out = NULL;
    char *full = scrape_path_resolve(base_dir, path);
    if (full == NULL)
        return oom(e);
    FILE *f = fopen(full, "re");
    if (f == NULL) {
        int rc = -errno;
        yaml_tree_err(at, rc, e, "cannot read %s: %s", full, strerror(-rc));
        free(full);
        return rc;
    }
    free(full);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = buf;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' ||
                       p[len - 1] == '\r'))
        len--;
    *out = strndup(p, len);
    memset(buf, 0, sizeof buf);
    return *out ? 0 : oom(e);
}

/* One of `key` and `file_key` (or neither): the secret's value, malloc'd. */
static int read_secret(const struct yaml_node *m, const char *key, const char *file_key,
                       const char *base_dir, char **out, struct err *e)
{
    const char *v = NULL, *path = NULL;
    *out = NULL;
    if (yaml_tree_get_str(m, key, &v, e) != 0 || yaml_tree_get_str(m, file_key, &path, e) != 0)
        return e->code;
    if (v && v[0] && path && path[0])
        return yaml_tree_err(m, TIDE_EINVAL, e, "at most one of %s & %s must be configured", key,
                             file_key);
    if (path && path[0])
        return read_secret_file(yaml_tree_get(m, file_key), base_dir, path, out, e);
    if (v) {
        *out = strdup(v);
        if (*out == NULL)
            return oom(e);
    }
    return 0;
}

/* ---- jobs ---- */

static void job_fini(struct scrape_job *j)
{
    free(j->name);
    free(j->metrics_path);
    free(j->scheme);
    for (size_t i = 0; i < j->nparams; i++) {
        free(j->params[i].name);
        for (size_t k = 0; k < j->params[i].nvalues; k++)
            free(j->params[i].values[k]);
        free(j->params[i].values);
    }
    free(j->params);
    if (j->basic_password)
        memset(j->basic_password, 0, strlen(j->basic_password));
    if (j->auth_header)
        memset(j->auth_header, 0, strlen(j->auth_header));
    free(j->basic_user);
    free(j->basic_password);
    free(j->auth_header);
    relabel_config_fini(&j->relabel);
    relabel_config_fini(&j->metric_relabel);
    scrape_groups_free(j->static_groups, j->nstatic);
    for (size_t i = 0; i < j->nfile_sd; i++)
        scrape_file_sd_fini(&j->file_sd[i]);
    free(j->file_sd);
    for (size_t i = 0; i < j->ncurrent; i++)
        free(j->current[i].name);
    free(j->current);
}

void scrape_jobs_free(struct scrape_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        job_fini(&jobs[i]);
    free(jobs);
}

static int parse_params(const struct yaml_node *m, struct scrape_job *j, struct err *e)
{
    const struct yaml_node *p = yaml_tree_get(m, "params");
    if (yaml_tree_expect(p, YAML_TREE_MAP, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(p);
    if (n == 0)
        return 0;
    j->params = calloc(n, sizeof *j->params);
    if (j->params == NULL)
        return oom(e);
    for (size_t i = 0; i < n; i++) {
        const struct yaml_node *v = NULL;
        const struct yaml_node *k = yaml_tree_pair(p, i, &v);
        const char *const *vals = NULL;
        size_t nv = 0;
        if (yaml_tree_strings(v, &vals, &nv, e) != 0)
            return e->code;
        struct scrape_param *sp = &j->params[i];
        j->nparams = i + 1;
        sp->name = strdup(yaml_tree_text(k));
        sp->values = calloc(nv ? nv : 1, sizeof *sp->values);
        if (sp->name == NULL || sp->values == NULL)
            return oom(e);
        for (size_t x = 0; x < nv; x++) {
            sp->values[x] = strdup(vals[x]);
            if (sp->values[x] == NULL)
                return oom(e);
            sp->nvalues = x + 1;
        }
    }
    return 0;
}

static int parse_auth(const struct yaml_node *m, const char *base_dir, struct scrape_job *j,
                      struct err *e)
{
    const struct yaml_node *ba = yaml_tree_get(m, "basic_auth");
    const struct yaml_node *az = yaml_tree_get(m, "authorization");
    char *bearer = NULL, *cred = NULL;
    if (read_secret(m, "bearer_token", "bearer_token_file", base_dir, &bearer, e) != 0)
        return e->code;
    if (yaml_tree_expect(ba, YAML_TREE_MAP, e) != 0 || yaml_tree_expect(az, YAML_TREE_MAP, e) != 0)
        goto fail;
    int set = (ba && !yaml_tree_is_null(ba)) + (az && !yaml_tree_is_null(az)) + (bearer != NULL);
    if (set > 1) {
        yaml_tree_err(m, TIDE_EINVAL, e,
                      "at most one of basic_auth, authorization & bearer_token must be configured");
        goto fail;
    }
    if (ba && !yaml_tree_is_null(ba)) {
        const char *user = NULL;
        if (yaml_tree_get_str(ba, "username", &user, e) != 0 ||
            read_secret(ba, "password", "password_file", base_dir, &j->basic_password, e) != 0 ||
            yaml_tree_check_keys(ba, e) != 0)
            goto fail;
        j->basic_user = strdup(user ? user : "");
        if (j->basic_user == NULL) {
            oom(e);
            goto fail;
        }
    }
    const char *type = "Bearer";
    cred = bearer;
    bearer = NULL;
    if (az && !yaml_tree_is_null(az)) {
        if (yaml_tree_get_str(az, "type", &type, e) != 0 ||
            read_secret(az, "credentials", "credentials_file", base_dir, &cred, e) != 0 ||
            yaml_tree_check_keys(az, e) != 0)
            goto fail;
        if (type[0] == 0)
            type = "Bearer";
        if (strcasecmp(type, "basic") == 0) {
            yaml_tree_err(yaml_tree_get(az, "type"), TIDE_EINVAL, e,
                          "authorization type cannot be set to \"basic\", use \"basic_auth\" "
                          "instead");
            goto fail;
        }
    }
    if (cred) {
        size_t n = strlen(type) + strlen(cred) + 32;
        j->auth_header = malloc(n);
        if (j->auth_header == NULL) {
            free(cred);
            return oom(e);
        }
        snprintf(j->auth_header, n, "Authorization: %s %s", type, cred);
        memset(cred, 0, strlen(cred));
        free(cred);
        if (strpbrk(j->auth_header, "\r\n"))
            return yaml_tree_err(az ? az : m, TIDE_EINVAL, e,
                                 "credentials must not contain a newline");
    }
    return 0;
fail:
    free(bearer);
    if (cred)
        memset(cred, 0, strlen(cred));
    free(cred);
    return e->code;
}

static int parse_file_sd(const struct yaml_node *m, const char *base_dir, struct scrape_job *j,
                         struct err *e)
{
    const struct yaml_node *l = yaml_tree_get(m, "file_sd_configs");
    if (yaml_tree_expect(l, YAML_TREE_SEQ, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(l);
    if (n == 0)
        return 0;
    j->file_sd = calloc(n, sizeof *j->file_sd);
    if (j->file_sd == NULL)
        return oom(e);
    for (size_t i = 0; i < n; i++) {
        const struct yaml_node *f = yaml_tree_item(l, i);
        j->nfile_sd = i + 1;
        if (scrape_file_sd_parse(f, base_dir, &j->file_sd[i], e) != 0 ||
            yaml_tree_check_keys(f, e) != 0)
            return e->code;
    }
    return 0;
}

static int parse_job(const struct yaml_node *m, int64_t g_interval, int64_t g_timeout,
                     const char *base_dir, struct scrape_job *j, struct err *e)
{
    const char *name = NULL, *path = "/metrics", *scheme = "http";
    int64_t interval = 0, timeout = 0;
    int64_t sample_limit = 0, label_limit = 0, name_len = 0, value_len = 0, target_limit = 0;
    uint64_t body_limit = 0;
    bool http2 = true;
    j->honor_timestamps = true;
    j->follow_redirects = true;
    if (yaml_tree_kind(m) != YAML_TREE_MAP)
        return yaml_tree_err(m, TIDE_EINVAL, e, "expected a mapping (job_name, static_configs, ...)");
    if (yaml_tree_require_str(m, "job_name", &name, e) != 0 ||
        yaml_tree_get_duration(m, "scrape_interval", &interval, e) != 0 ||
        yaml_tree_get_duration(m, "scrape_timeout", &timeout, e) != 0 ||
        yaml_tree_get_str(m, "metrics_path", &path, e) != 0 ||
        yaml_tree_get_str(m, "scheme", &scheme, e) != 0 ||
        yaml_tree_get_bool(m, "honor_labels", &j->honor_labels, e) != 0 ||
        yaml_tree_get_bool(m, "honor_timestamps", &j->honor_timestamps, e) != 0 ||
        yaml_tree_get_bool(m, "follow_redirects", &j->follow_redirects, e) != 0 ||
        yaml_tree_get_bool(m, "enable_http2", &http2, e) != 0 ||
        yaml_tree_get_int(m, "sample_limit", 0, INT64_MAX, &sample_limit, e) != 0 ||
        yaml_tree_get_int(m, "label_limit", 0, INT64_MAX, &label_limit, e) != 0 ||
        yaml_tree_get_int(m, "label_name_length_limit", 0, INT64_MAX, &name_len, e) != 0 ||
        yaml_tree_get_int(m, "label_value_length_limit", 0, INT64_MAX, &value_len, e) != 0 ||
        yaml_tree_get_int(m, "target_limit", 0, INT64_MAX, &target_limit, e) != 0 ||
        yaml_tree_get_size(m, "body_size_limit", &body_limit, e) != 0)
        return e->code;
    if (name[0] == 0)
        return yaml_tree_err(yaml_tree_get(m, "job_name"), TIDE_EINVAL, e,
                             "job_name is empty");
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        return yaml_tree_err(yaml_tree_get(m, "scheme"), TIDE_EINVAL, e,
                             "scheme must be http or https, not \"%s\"", scheme);
    if (interval == 0)
        interval = g_interval;
    if (timeout == 0)
        timeout = g_timeout > interval ? interval : g_timeout;
    if (timeout > interval)
        return yaml_tree_err(yaml_tree_get(m, "scrape_timeout"), TIDE_EINVAL, e,
                             "scrape timeout greater than scrape interval for scrape config with "
                             "job name \"%s\"",
                             name);
    if (interval < 100)
        return yaml_tree_err(yaml_tree_get(m, "scrape_interval"), TIDE_EINVAL, e,
                             "scrape_interval must be at least 100ms");
    j->interval_ms = interval;
    j->timeout_ms = timeout;
    j->sample_limit = (uint64_t)sample_limit;
    j->label_limit = (uint64_t)label_limit;
    j->label_name_length_limit = (uint64_t)name_len;
    j->label_value_length_limit = (uint64_t)value_len;
    j->target_limit = (uint64_t)target_limit;
    j->body_size_limit = body_limit;
    j->name = strdup(name);
    j->metrics_path = strdup(path);
    j->scheme = strdup(scheme);
    if (j->name == NULL || j->metrics_path == NULL || j->scheme == NULL)
        return oom(e);
    if (parse_params(m, j, e) != 0 || parse_auth(m, base_dir, j, e) != 0 ||
        tls_config_parse(yaml_tree_get(m, "tls_config"), base_dir, &j->tls, e) != 0 || parse_file_sd(m, base_dir, j, e) != 0 ||
        scrape_groups_parse(yaml_tree_get(m, "static_configs"), NULL, &j->static_groups, &j->nstatic,
                     e) != 0 ||
        relabel_config_parse(yaml_tree_get(m, "relabel_configs"), &j->relabel, e) != 0 ||
        relabel_config_parse(yaml_tree_get(m, "metric_relabel_configs"), &j->metric_relabel, e) !=
            0 ||
        yaml_tree_check_keys(m, e) != 0)
        return e->code;
    return 0;
}

int scrape_config_parse(const struct yaml_node *global, const struct yaml_node *list,
                        const char *base_dir, struct scrape_job **jobs, size_t *njobs,
                        struct err *e)
{
    *jobs = NULL;
    *njobs = 0;
    int64_t g_interval = SCRAPE_INTERVAL_DEFAULT_MS, g_timeout = SCRAPE_TIMEOUT_DEFAULT_MS;
    /* global: belongs to rules_config.c, which checks its keys; these two
     * are only read. yaml_tree_get marks them consumed, which is harmless. */
    if (yaml_tree_kind(global) == YAML_TREE_MAP &&
        (yaml_tree_get_duration(global, "scrape_interval", &g_interval, e) != 0 ||
         yaml_tree_get_duration(global, "scrape_timeout", &g_timeout, e) != 0))
        return e->code;
    if (g_interval <= 0)
        g_interval = SCRAPE_INTERVAL_DEFAULT_MS;
    if (yaml_tree_get(global, "scrape_timeout") == NULL || g_timeout <= 0)
        g_timeout = SCRAPE_TIMEOUT_DEFAULT_MS < g_interval ? SCRAPE_TIMEOUT_DEFAULT_MS : g_interval;
    else if (g_timeout > g_interval)
        return yaml_tree_err(yaml_tree_get(global, "scrape_timeout"), TIDE_EINVAL, e,
                             "global scrape timeout greater than scrape interval");
    if (yaml_tree_is_null(list))
        return 0;
    if (yaml_tree_expect(list, YAML_TREE_SEQ, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(list);
    if (n == 0)
        return 0;
    struct scrape_job *v = calloc(n, sizeof *v);
    if (v == NULL)
        return oom(e);
    for (size_t i = 0; i < n; i++) {
        const struct yaml_node *item = yaml_tree_item(list, i);
        int rc = parse_job(item, g_interval, g_timeout, base_dir, &v[i], e);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (strcmp(v[k].name, v[i].name) == 0)
                rc = yaml_tree_err(yaml_tree_get(item, "job_name"), TIDE_EINVAL, e,
                                   "found multiple scrape configs with job name \"%s\"",
                                   v[i].name);
        if (rc != 0) {
            scrape_jobs_free(v, i + 1);
            return rc;
        }
    }
    *jobs = v;
    *njobs = n;
    return 0;
}
