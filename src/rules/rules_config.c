/* rules_config.c: the rule_files, global, external_url and alerting
 * sections of the configuration file (rules_config.h), read from
 * core/yaml_tree.h nodes with unknown keys refused, as Prometheus does.
 */
#include "rules/rules_config.h"

#include "model/relabel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "core/fs.h"
#include "core/yaml_tree.h"
#include "rules/alert.h"

void rules_config_init(struct rules_config *c)
{
    memset(c, 0, sizeof *c);
    c->evaluation_interval_ms = 60000;
    c->resend_delay_ms = 60000;
    c->outage_tolerance_ms = 3600000;
    c->for_grace_period_ms = 600000;
}

static void free_files(struct rules_config *c)
{
    for (size_t i = 0; i < c->nrule_files; i++)
        free(c->rule_files[i]);
    free(c->rule_files);
    c->rule_files = NULL;
    c->nrule_files = 0;
}

static void free_sd(struct rules_config *c)
{
    for (size_t i = 0; i < c->nsd; i++)
        notify_sd_fini(&c->sd[i]);
    c->nsd = 0;
}

void rules_config_fini(struct rules_config *c)
{
    free_sd(c);
    free(c->sd);
    c->sd = NULL;
    free_files(c);
    free(c->external_labels);
    c->external_labels = NULL;
    c->nexternal_labels = 0;
    if (c->alert_relabel) {
        relabel_config_fini(c->alert_relabel);
        free(c->alert_relabel);
        c->alert_relabel = NULL;
    }
}

void rules_config_set_file(struct rules_config *c, const char *path)
{
    fs_dir_of(path, c->dir, sizeof c->dir);
}

static int parse_rule_files(void *ctx, const struct yaml_node *n, struct err *e)
{
    struct rules_config *c = ctx;
    const char *const *v = NULL;
    size_t cnt = 0;
    if (yaml_tree_strings(n, &v, &cnt, e) != 0)
        return e->code;
    free_files(c);
    c->rule_files = calloc(cnt ? cnt : 1, sizeof *c->rule_files);
    if (c->rule_files == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        c->rule_files[i] = strdup(v[i]);
        if (c->rule_files[i] == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        c->nrule_files = i + 1;
    }
    return 0;
}

static int parse_global(void *ctx, const struct yaml_node *n, struct err *e)
{
    struct rules_config *c = ctx;
    int64_t unused = 0;
    if (yaml_tree_expect(n, YAML_TREE_MAP, e) != 0 ||
        yaml_tree_get_duration(n, "evaluation_interval", &c->evaluation_interval_ms, e) != 0 ||
        yaml_tree_get_duration(n, "scrape_interval", &unused, e) != 0 ||
        yaml_tree_get_duration(n, "scrape_timeout", &unused, e) != 0)
        return e->code;
    if (c->evaluation_interval_ms <= 0)
        return yaml_tree_err(yaml_tree_get(n, "evaluation_interval"), TIDE_EINVAL, e,
                             "evaluation_interval: must be greater than 0");
    const struct yaml_node *el = yaml_tree_get(n, "external_labels");
    if (yaml_tree_expect(el, YAML_TREE_MAP, e) != 0)
        return e->code;
    size_t len = yaml_tree_len(el);
    struct label *v = calloc(len ? len : 1, sizeof *v);
    if (v == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < len; i++) {
        const struct yaml_node *val = NULL;
        const struct yaml_node *k = yaml_tree_pair(el, i, &val);
        const char *name = yaml_tree_text(k), *text = NULL;
        if (!labels_valid_label_name(strv_c(name))) {
            free(v);
            return yaml_tree_err(k, TIDE_EINVAL, e, "\"%s\" is not a valid label name", name);
        }
        if (yaml_tree_str(val, &text, e) != 0) {
            free(v);
            return e->code;
        }
        v[i] = (struct label){strv_c(name), strv_c(text)};
    }
    labels_sort(v, len);
    free(c->external_labels);
    c->external_labels = alert_labels_dup(v, len);
    c->nexternal_labels = len;
    free(v);
    if (c->external_labels == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    return yaml_tree_check_keys(n, e) != 0 ? e->code : 0;
}

static int parse_external_url(void *ctx, const struct yaml_node *n, struct err *e)
{
    struct rules_config *c = ctx;
    const char *s = NULL;
    if (yaml_tree_str(n, &s, e) != 0)
        return e->code;
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == '/')
        len--;
    snprintf(c->external_url, sizeof c->external_url, "%.*s", (int)len, s);
    return 0;
}

static int read_secret(const struct yaml_node *m, const char *key, const char *file_key, char *out,
                       size_t cap, struct err *e)
{
    const char *v = NULL, *path = NULL;
    if (yaml_tree_get_str(m, key, &v, e) != 0 || yaml_tree_get_str(m, file_key, &path, e) != 0)
        return e->code;
    if (v && path)
        return yaml_tree_err(m, TIDE_EINVAL, e, "at most one of %s and %s must be set", key,
                             file_key);
    if (path) {
        char *text = NULL;
        size_t n = 0;
        int rc = fs_read_file(path, &text, &n);
        if (rc != 0)
            return yaml_tree_err(yaml_tree_get(m, file_key), rc, e, "%s: cannot read %s: %s",
                                 file_key, path, tide_strerror(rc));
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
            n--;
        snprintf(out, cap, "%.*s", (int)n, text);
        free(text);
    } else if (v) {
        snprintf(out, cap, "%s", v);
    }
    return 0;
}

/* basic_auth and authorization of one target. */
static int read_auth(const struct yaml_node *m, struct notify_target *t, struct err *e)
{
    const struct yaml_node *ba = yaml_tree_get(m, "basic_auth");
    const struct yaml_node *au = yaml_tree_get(m, "authorization");
    if (yaml_tree_expect(ba, YAML_TREE_MAP, e) != 0 || yaml_tree_expect(au, YAML_TREE_MAP, e) != 0)
        return e->code;
    if (ba && !yaml_tree_is_null(ba)) {
        const char *user = NULL;
        if (yaml_tree_get_str(ba, "username", &user, e) != 0 ||
            read_secret(ba, "password", "password_file", t->basic_password,
                        sizeof t->basic_password, e) != 0 ||
            yaml_tree_check_keys(ba, e) != 0)
            return e->code;
        snprintf(t->basic_user, sizeof t->basic_user, "%s", user ? user : "");
    }
    if (au && !yaml_tree_is_null(au)) {
        const char *type = "Bearer";
        if (yaml_tree_get_str(au, "type", &type, e) != 0 ||
            read_secret(au, "credentials", "credentials_file", t->bearer, sizeof t->bearer, e) !=
                0 ||
            yaml_tree_check_keys(au, e) != 0)
            return e->code;
        if (strcmp(type, "Bearer") != 0)
            return yaml_tree_err(yaml_tree_get(au, "type"), TIDE_EINVAL, e,
                                 "authorization: only type Bearer is supported");
    }
    if (ba && au && !yaml_tree_is_null(ba) && !yaml_tree_is_null(au))
        return yaml_tree_err(m, TIDE_EINVAL, e,
                             "at most one of basic_auth and authorization must be configured");
    return 0;
}

/* The HTTP client settings Prometheus' alertmanager_config shares with
 * every HTTP client config (Prometheus 2.42): auth, tls_config,
 * follow_redirects, enable_http2 (accepted; libcurl negotiates HTTP/2 over
 * TLS when the server offers it). proxy_url and oauth2, which Prometheus
 * accepts, are refused by name. */
static int read_http(const struct rules_config *c, const struct yaml_node *m,
                     struct notify_target *t, struct err *e)
{
    static const char *const unsupported[] = {"proxy_url", "oauth2"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (yaml_tree_get(m, unsupported[i]) != NULL)
            return yaml_tree_err(yaml_tree_get(m, unsupported[i]), TIDE_EINVAL, e,
                                 "%s: not supported by Tide", unsupported[i]);
    bool follow = true, http2 = true;
    if (read_auth(m, t, e) != 0 || tls_config_parse(yaml_tree_get(m, "tls_config"), c->dir, &t->tls, e) != 0 ||
        yaml_tree_get_bool(m, "follow_redirects", &follow, e) != 0 ||
        yaml_tree_get_bool(m, "enable_http2", &http2, e) != 0)
        return e->code;
    t->max_redirects = follow ? 10 : 0;
    /* bearer_token / bearer_token_file: the older spelling of authorization */
    const struct yaml_node *bt = yaml_tree_get(m, "bearer_token");
    const struct yaml_node *btf = yaml_tree_get(m, "bearer_token_file");
    if (bt == NULL && btf == NULL)
        return 0;
    if (t->bearer[0] != 0 || t->basic_user[0] != 0)
        return yaml_tree_err(bt ? bt : btf, TIDE_EINVAL, e,
                             "at most one of basic_auth, authorization and bearer_token "
                             "must be configured");
    return read_secret(m, "bearer_token", "bearer_token_file", t->bearer, sizeof t->bearer, e);
}

static int add_target(struct rules_config *c, const struct yaml_node *at, struct err *e)
{
    if (c->ntargets == NOTIFY_TARGETS_MAX)
        return yaml_tree_err(at, TIDE_ELIMIT, e, "more than %d alerting targets",
                             NOTIFY_TARGETS_MAX);
    c->ntargets++;
    return 0;
}

/* An alertmanagers entry with file_sd_configs or relabel_configs: its
 * static and file groups are resolved by the notifier (notify_sd.h). */
static int parse_discovered(struct rules_config *c, const struct yaml_node *m,
                            const struct notify_target *base, const char *scheme,
                            const char *prefix, size_t plen, struct err *e)
{
    if (c->nsd == NOTIFY_SD_MAX)
        return yaml_tree_err(m, TIDE_ELIMIT, e,
                             "more than %d alertmanagers entries with discovery or relabelling",
                             NOTIFY_SD_MAX);
    if (c->sd == NULL && (c->sd = calloc(NOTIFY_SD_MAX, sizeof *c->sd)) == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    struct notify_sd *sd = &c->sd[c->nsd++];
    memset(sd, 0, sizeof *sd);
    sd->base = *base;
    sd->refresh_ms = 0;
    snprintf(sd->scheme, sizeof sd->scheme, "%s", scheme);
    snprintf(sd->alerts_path, sizeof sd->alerts_path, "%.*s/api/v2/alerts", (int)plen, prefix);
    if (scrape_groups_parse(yaml_tree_get(m, "static_configs"), NULL, &sd->statics,
                            &sd->nstatics, e) != 0 ||
        relabel_config_parse(yaml_tree_get(m, "relabel_configs"), &sd->relabel, e) != 0)
        return e->code;
    const struct yaml_node *fl = yaml_tree_get(m, "file_sd_configs");
    if (yaml_tree_expect(fl, YAML_TREE_SEQ, e) != 0)
        return e->code;
    for (size_t i = 0; i < yaml_tree_len(fl); i++) {
        const struct yaml_node *f = yaml_tree_item(fl, i);
        const char *const *files = NULL;
        size_t nf = 0;
        int64_t refresh = NOTIFY_SD_REFRESH_MS;
        if (yaml_tree_expect(f, YAML_TREE_MAP, e) != 0 ||
            yaml_tree_get_strings(f, "files", &files, &nf, e) != 0 ||
            yaml_tree_get_duration(f, "refresh_interval", &refresh, e) != 0 ||
            yaml_tree_check_keys(f, e) != 0)
            return e->code;
        if (nf == 0)
            return yaml_tree_err(f, TIDE_EINVAL, e, "file_sd_configs: files: at least one");
        if (refresh < 1000)
            return yaml_tree_err(yaml_tree_get(f, "refresh_interval"), TIDE_EINVAL, e,
                                 "refresh_interval: at least 1s");
        if (sd->refresh_ms == 0 || refresh < sd->refresh_ms)
            sd->refresh_ms = refresh;
        char **v = realloc(sd->patterns, (sd->npatterns + nf) * sizeof *v);
        if (v == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        sd->patterns = v;
        const struct yaml_node *fn = yaml_tree_get(f, "files");
        for (size_t k = 0; k < nf; k++) {
            const char *dot = strrchr(files[k], '.');
            if (dot == NULL || (strcmp(dot, ".json") != 0 && strcmp(dot, ".yml") != 0 &&
                                strcmp(dot, ".yaml") != 0))
                return yaml_tree_err(yaml_tree_item(fn, k), TIDE_EINVAL, e,
                                     "files: \"%s\" must end in .json, .yml or .yaml", files[k]);
            char *p = NULL;
            if (files[k][0] == '/' || c->dir[0] == 0)
                p = strdup(files[k]);
            else if (asprintf(&p, "%s/%s", c->dir, files[k]) < 0)
                p = NULL;
            if (p == NULL)
                return ERR_SET(e, -ENOMEM, "out of memory");
            sd->patterns[sd->npatterns++] = p;
        }
    }
    if (sd->refresh_ms == 0)
        sd->refresh_ms = NOTIFY_SD_REFRESH_MS;
    return yaml_tree_check_keys(m, e) != 0 ? e->code : 0;
}

static int parse_alertmanager(struct rules_config *c, const struct yaml_node *m, struct err *e)
{
    struct notify_target base = {.kind = NOTIFY_ALERTMANAGER, .timeout_ms = 10000};
    const char *scheme = "http", *prefix = "/", *api = "v2";
    if (yaml_tree_expect(m, YAML_TREE_MAP, e) != 0 ||
        yaml_tree_get_str(m, "scheme", &scheme, e) != 0 ||
        yaml_tree_get_str(m, "path_prefix", &prefix, e) != 0 ||
        yaml_tree_get_str(m, "api_version", &api, e) != 0 ||
        yaml_tree_get_duration(m, "timeout", &base.timeout_ms, e) != 0 ||
        read_http(c, m, &base, e) != 0)
        return e->code;
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        return yaml_tree_err(yaml_tree_get(m, "scheme"), TIDE_EINVAL, e,
                             "scheme: \"%s\" is not http or https", scheme);
    if (strcmp(api, "v2") != 0)
        return yaml_tree_err(yaml_tree_get(m, "api_version"), TIDE_EINVAL, e,
                             "api_version: only v2 is supported (Alertmanager >= 0.16)");
    const struct yaml_node *sc = yaml_tree_get(m, "static_configs");
    if (yaml_tree_expect(sc, YAML_TREE_SEQ, e) != 0)
        return e->code;
    size_t plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/')
        plen--;
    const struct yaml_node *fsd = yaml_tree_get(m, "file_sd_configs");
    const struct yaml_node *rl = yaml_tree_get(m, "relabel_configs");
    if ((fsd && !yaml_tree_is_null(fsd)) || (rl && !yaml_tree_is_null(rl)))
        return parse_discovered(c, m, &base, scheme, prefix, plen, e);
    for (size_t i = 0; i < yaml_tree_len(sc); i++) {
        const struct yaml_node *s = yaml_tree_item(sc, i);
        const char *const *targets = NULL;
        size_t nt = 0;
        if (yaml_tree_expect(s, YAML_TREE_MAP, e) != 0 ||
            yaml_tree_get_strings(s, "targets", &targets, &nt, e) != 0)
            return e->code;
        yaml_tree_consume(s, "labels");
        if (yaml_tree_check_keys(s, e) != 0)
            return e->code;
        for (size_t k = 0; k < nt; k++) {
            if (add_target(c, s, e) != 0)
                return e->code;
            struct notify_target *t = &c->targets[c->ntargets - 1];
            *t = base;
            snprintf(t->url, sizeof t->url, "%s://%s%.*s/api/v2/alerts", scheme, targets[k],
                     (int)plen, prefix);
        }
    }
    return yaml_tree_check_keys(m, e) != 0 ? e->code : 0;
}

static int parse_webhook(struct rules_config *c, const struct yaml_node *m, struct err *e)
{
    struct notify_target base = {.kind = NOTIFY_WEBHOOK, .timeout_ms = 10000};
    const char *url = NULL;
    if (yaml_tree_expect(m, YAML_TREE_MAP, e) != 0 ||
        yaml_tree_require_str(m, "url", &url, e) != 0 ||
        yaml_tree_get_duration(m, "timeout", &base.timeout_ms, e) != 0 ||
        read_http(c, m, &base, e) != 0 || yaml_tree_check_keys(m, e) != 0)
        return e->code;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return yaml_tree_err(yaml_tree_get(m, "url"), TIDE_EINVAL, e,
                             "url: \"%s\" is not an http:// or https:// URL", url);
    if (add_target(c, m, e) != 0)
        return e->code;
    struct notify_target *t = &c->targets[c->ntargets - 1];
    *t = base;
    snprintf(t->url, sizeof t->url, "%s", url);
    return 0;
}

static int parse_alerting(void *ctx, const struct yaml_node *n, struct err *e)
{
    struct rules_config *c = ctx;
    c->ntargets = 0;
    free_sd(c);
    if (yaml_tree_expect(n, YAML_TREE_MAP, e) != 0 ||
        yaml_tree_get_duration(n, "resend_delay", &c->resend_delay_ms, e) != 0 ||
        yaml_tree_get_duration(n, "for_outage_tolerance", &c->outage_tolerance_ms, e) != 0 ||
        yaml_tree_get_duration(n, "for_grace_period", &c->for_grace_period_ms, e) != 0)
        return e->code;
    const struct yaml_node *ams = yaml_tree_get(n, "alertmanagers");
    const struct yaml_node *whs = yaml_tree_get(n, "webhooks");
    if (yaml_tree_expect(ams, YAML_TREE_SEQ, e) != 0 || yaml_tree_expect(whs, YAML_TREE_SEQ, e))
        return e->code;
    for (size_t i = 0; i < yaml_tree_len(ams); i++)
        if (parse_alertmanager(c, yaml_tree_item(ams, i), e) != 0)
            return e->code;
    for (size_t i = 0; i < yaml_tree_len(whs); i++)
        if (parse_webhook(c, yaml_tree_item(whs, i), e) != 0)
            return e->code;
    const struct yaml_node *arc = yaml_tree_get(n, "alert_relabel_configs");
    if (arc != NULL && !yaml_tree_is_null(arc)) {
        if (c->alert_relabel == NULL && (c->alert_relabel = calloc(1, sizeof *c->alert_relabel)) == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        relabel_config_fini(c->alert_relabel);
        if (relabel_config_parse(arc, c->alert_relabel, e) != 0)
            return e->code;
    }
    return yaml_tree_check_keys(n, e) != 0 ? e->code : 0;
}

int rules_config_register(struct rules_config *c, struct config *cfg)
{
    int rc = config_section_register(cfg, "rule_files", parse_rule_files, c);
    if (rc == 0)
        rc = config_section_register(cfg, "global", parse_global, c);
    if (rc == 0)
        rc = config_section_register(cfg, "external_url", parse_external_url, c);
    if (rc == 0)
        rc = config_section_register(cfg, "alerting", parse_alerting, c);
    return rc;
}
