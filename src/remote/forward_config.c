/* forward_config.c: the `remote_write:` section of `tide serve`'s config,
 * read as Prometheus 2.42 reads it from prometheus.yml (forward.h), so a
 * section copied from there works as is. Every key Prometheus knows is
 * either used, accepted and documented as without effect in Tide
 * (send_exemplars, metadata_config, ...: docs/scale-out.md), or refused by
 * name with the reason; unknown keys are refused with the position.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/yaml_tree.h"
#include "model/relabel.h"
#include "remote/forward.h"
#include "remote/queue.h"

static void ep_fini(struct forward_endpoint *ep)
{
    free(ep->url);
    for (size_t i = 0; ep->headers && ep->headers[i]; i++)
        free(ep->headers[i]);
    free(ep->headers);
    free(ep->basic_user);
    if (ep->basic_password)
        memset(ep->basic_password, 0, strlen(ep->basic_password));
    free(ep->basic_password);
    if (ep->bearer_token)
        memset(ep->bearer_token, 0, strlen(ep->bearer_token));
    free(ep->bearer_token);
    relabel_config_fini(&ep->relabel);
    memset(ep, 0, sizeof *ep);
}

void forward_config_set_file(struct forward_config *c, const char *path)
{
    fs_dir_of(path, c->dir, sizeof c->dir);
}

void forward_config_fini(struct forward_config *c)
{
    for (size_t i = 0; i < c->n; i++)
        ep_fini(&c->ep[i]);
    c->n = 0;
}

/* *out = strdup of the string under key, when present. */
static int get_dup(const struct yaml_node *m, const char *key, char **out, struct err *e)
{
    const char *v = NULL;
    if (yaml_tree_get_str(m, key, &v, e) != 0)
        return e->code;
    if (v == NULL)
        return 0;
    free(*out);
    *out = strdup(v);
    return *out ? 0 : ERR_SET(e, -ENOMEM, "remote_write: out of memory");
}

/* A secret given inline under `key` or in a file under `file_key` (not both). */
static int get_secret(const struct yaml_node *m, const char *key, const char *file_key,
                      char **out, struct err *e)
{
    const struct yaml_node *inl = yaml_tree_get(m, key), *fn = yaml_tree_get(m, file_key);
    if (inl && fn && !yaml_tree_is_null(inl) && !yaml_tree_is_null(fn))
        return yaml_tree_err(fn, TIDE_EINVAL, e, "at most one of %s and %s", key, file_key);
    if (fn && !yaml_tree_is_null(fn)) {
        const char *path;
        if (yaml_tree_str(fn, &path, e) != 0)
            return e->code;
        char *data = NULL;
        size_t len = 0;
        int rc = fs_read_file(path, &data, &len);
        if (rc != 0)
            return yaml_tree_err(fn, rc, e, "cannot read %s: %s", path, strerror(-rc));
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            data[--len] = 0; /* as Prometheus: the file's trailing newline is not the secret */
        free(*out);
        *out = data;
        return 0;
    }
    return get_dup(m, key, out, e);
}

static int refuse(const struct yaml_node *m, const char *key, const char *why, struct err *e)
{
    const struct yaml_node *n = yaml_tree_get(m, key);
    if (n == NULL || yaml_tree_is_null(n))
        return 0;
    return yaml_tree_err(n, TIDE_EINVAL, e, "remote_write: %s is not supported: %s", key, why);
}

static int read_queue_config(const struct yaml_node *q, struct forward_endpoint *ep, struct err *e)
{
    if (q == NULL || yaml_tree_is_null(q))
        return 0;
    if (yaml_tree_expect(q, YAML_TREE_MAP, e) != 0)
        return e->code;
    bool retry429 = true;
    if (yaml_tree_get_int(q, "capacity", 1, 100000000, &ep->capacity, e) != 0 ||
        yaml_tree_get_int(q, "max_shards", 1, 100000, &ep->max_shards, e) != 0 ||
        yaml_tree_get_int(q, "min_shards", 1, 100000, &ep->min_shards, e) != 0 ||
        yaml_tree_get_int(q, "max_samples_per_send", 1, 10000000, &ep->max_samples_per_send,
                          e) != 0 ||
        yaml_tree_get_duration(q, "batch_send_deadline", &ep->batch_send_deadline_ms, e) != 0 ||
        yaml_tree_get_duration(q, "min_backoff", &ep->min_backoff_ms, e) != 0 ||
        yaml_tree_get_duration(q, "max_backoff", &ep->max_backoff_ms, e) != 0 ||
        yaml_tree_get_bool(q, "retry_on_http_429", &retry429, e) != 0 ||
        yaml_tree_get_size(q, "max_bytes", &ep->max_bytes, e) != 0)
        return e->code;
    if (ep->max_bytes < ((uint64_t)1 << 20))
        return yaml_tree_err(yaml_tree_get(q, "max_bytes"), TIDE_EINVAL, e,
                             "max_bytes must be at least 1MiB");
    if (ep->batch_send_deadline_ms < 10)
        return yaml_tree_err(yaml_tree_get(q, "batch_send_deadline"), TIDE_EINVAL, e,
                             "batch_send_deadline must be at least 10ms");
    if (ep->min_backoff_ms < 1 || ep->max_backoff_ms < ep->min_backoff_ms)
        return yaml_tree_err(q, TIDE_EINVAL, e,
                             "min_backoff must be at least 1ms and max_backoff at least it");
    return yaml_tree_check_keys(q, e);
}

static int read_headers(const struct yaml_node *h, struct forward_endpoint *ep, struct err *e)
{
    if (h == NULL || yaml_tree_is_null(h))
        return 0;
    if (yaml_tree_expect(h, YAML_TREE_MAP, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(h);
    ep->headers = calloc(n + 1, sizeof *ep->headers);
    if (ep->headers == NULL)
        return ERR_SET(e, -ENOMEM, "remote_write: out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct yaml_node *v;
        const struct yaml_node *k = yaml_tree_pair(h, i, &v);
        const char *name = yaml_tree_text(k), *val;
        if (yaml_tree_str(v, &val, e) != 0)
            return e->code;
        if (name[0] == 0 || strpbrk(name, ": \r\n") || strpbrk(val, "\r\n"))
            return yaml_tree_err(k, TIDE_EINVAL, e, "headers: invalid header \"%s\"", name);
        /* Prometheus refuses the headers it sets itself. */
        static const char *const own[] = {"Authorization", "Host", "Content-Encoding",
                                          "Content-Type", "X-Prometheus-Remote-Write-Version",
                                          "User-Agent", "Connection", NULL};
        for (size_t j = 0; own[j]; j++)
            if (strcasecmp(name, own[j]) == 0)
                return yaml_tree_err(k, TIDE_EINVAL, e, "headers: %s is a reserved header",
                                     name);
        size_t len = strlen(name) + strlen(val) + 3;
        ep->headers[i] = malloc(len);
        if (ep->headers[i] == NULL)
            return ERR_SET(e, -ENOMEM, "remote_write: out of memory");
        snprintf(ep->headers[i], len, "%s: %s", name, val);
    }
    return 0;
}

static int read_auth(const struct yaml_node *m, struct forward_endpoint *ep, struct err *e)
{
    const struct yaml_node *ba = yaml_tree_get(m, "basic_auth");
    if (ba && !yaml_tree_is_null(ba)) {
        if (yaml_tree_expect(ba, YAML_TREE_MAP, e) != 0 ||
            get_dup(ba, "username", &ep->basic_user, e) != 0 ||
            get_secret(ba, "password", "password_file", &ep->basic_password, e) != 0 ||
            yaml_tree_check_keys(ba, e) != 0)
            return e->code;
        if (ep->basic_user == NULL)
            return yaml_tree_err(ba, TIDE_EINVAL, e, "basic_auth: username is required");
    }
    const struct yaml_node *au = yaml_tree_get(m, "authorization");
    if (au && !yaml_tree_is_null(au)) {
        const char *type = "Bearer";
        if (yaml_tree_expect(au, YAML_TREE_MAP, e) != 0 ||
            yaml_tree_get_str(au, "type", &type, e) != 0 ||
            get_secret(au, "credentials", "credentials_file", &ep->bearer_token, e) != 0 ||
            yaml_tree_check_keys(au, e) != 0)
            return e->code;
        if (strcmp(type, "Bearer") != 0)
            return yaml_tree_err(yaml_tree_get(au, "type"), TIDE_EINVAL, e,
                                 "authorization: type \"%s\" is not supported (Bearer only)",
                                 type);
    }
    if (get_secret(m, "bearer_token", "bearer_token_file", &ep->bearer_token, e) != 0)
        return e->code;
    if (ep->basic_user && ep->bearer_token)
        return yaml_tree_err(m, TIDE_EINVAL, e,
                             "at most one of basic_auth, authorization and bearer_token");
    return 0;
}

static int read_endpoint(const struct yaml_node *m, const char *dir, struct forward_endpoint *ep,
                         struct err *e)
{
    ep->remote_timeout_ms = FORWARD_REMOTE_TIMEOUT_DEFAULT_MS;
    ep->capacity = FORWARD_CAPACITY_DEFAULT;
    ep->max_shards = FORWARD_MAX_SHARDS_DEFAULT;
    ep->min_shards = 1;
    ep->max_samples_per_send = FORWARD_MAX_SAMPLES_PER_SEND_DEFAULT;
    ep->batch_send_deadline_ms = FORWARD_BATCH_SEND_DEADLINE_DEFAULT_MS;
    ep->min_backoff_ms = FORWARD_MIN_BACKOFF_DEFAULT_MS;
    ep->max_backoff_ms = FORWARD_MAX_BACKOFF_DEFAULT_MS;
    ep->max_bytes = QUEUE_MAX_BYTES_DEFAULT;
    if (yaml_tree_expect(m, YAML_TREE_MAP, e) != 0)
        return e->code;
    const char *name = NULL;
    bool ignored_bool;
    if (get_dup(m, "url", &ep->url, e) != 0 || yaml_tree_get_str(m, "name", &name, e) != 0 ||
        yaml_tree_get_duration(m, "remote_timeout", &ep->remote_timeout_ms, e) != 0 ||
        read_headers(yaml_tree_get(m, "headers"), ep, e) != 0 || read_auth(m, ep, e) != 0 ||
        tls_config_parse(yaml_tree_get(m, "tls_config"), dir, &ep->tls, e) != 0 ||
        read_queue_config(yaml_tree_get(m, "queue_config"), ep, e) != 0 ||
        yaml_tree_get_bool(m, "send_exemplars", &ignored_bool, e) != 0 ||
        yaml_tree_get_bool(m, "send_native_histograms", &ignored_bool, e) != 0 ||
        yaml_tree_get_bool(m, "follow_redirects", &ignored_bool, e) != 0 ||
        yaml_tree_get_bool(m, "enable_http2", &ignored_bool, e) != 0)
        return e->code;
    yaml_tree_consume(m, "metadata_config"); /* metadata is not forwarded (docs/scale-out.md) */
    if (refuse(m, "sigv4", "use a proxy that signs", e) != 0 ||
        refuse(m, "oauth2", "use authorization with a token", e) != 0 ||
        refuse(m, "azuread", "use authorization with a token", e) != 0 ||
        refuse(m, "proxy_url", "not yet", e) != 0)
        return e->code;
    if (relabel_config_parse(yaml_tree_get(m, "write_relabel_configs"), &ep->relabel, e) != 0)
        return e->code;
    if (ep->url == NULL)
        return yaml_tree_err(m, TIDE_EINVAL, e, "remote_write: url is required");
    if (strncmp(ep->url, "http://", 7) != 0 && strncmp(ep->url, "https://", 8) != 0)
        return yaml_tree_err(yaml_tree_get(m, "url"), TIDE_EINVAL, e,
                             "remote_write: url must be http:// or https://");
    if (ep->remote_timeout_ms < 1)
        return yaml_tree_err(yaml_tree_get(m, "remote_timeout"), TIDE_EINVAL, e,
                             "remote_timeout must be positive");
    if (name && name[0]) {
        size_t n = strlen(name);
        if (n > FORWARD_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                                                 "VWXYZ0123456789_.-") != n ||
            name[0] == '.')
            return yaml_tree_err(yaml_tree_get(m, "name"), TIDE_EINVAL, e,
                                 "remote_write: name must be 1..%d of [A-Za-z0-9_.-], not "
                                 "starting with '.' (it names DATA/forward/<name>)",
                                 FORWARD_NAME_MAX);
        memcpy(ep->name, name, n + 1);
    } else {
        uint32_t h = 2166136261u;
        for (const char *p = ep->url; *p; p++)
            h = (h ^ (uint8_t)*p) * 16777619u;
        snprintf(ep->name, sizeof ep->name, "rw-%08x", h);
    }
    return yaml_tree_check_keys(m, e);
}

int forward_config_parse(void *ctx, const struct yaml_node *section, struct err *e)
{
    struct forward_config *c = ctx;
    forward_config_fini(c);
    if (section == NULL || yaml_tree_is_null(section))
        return 0;
    if (yaml_tree_expect(section, YAML_TREE_SEQ, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(section);
    if (n > FORWARD_ENDPOINTS_MAX)
        return yaml_tree_err(yaml_tree_item(section, FORWARD_ENDPOINTS_MAX), TIDE_ELIMIT, e,
                             "remote_write: at most %d endpoints", FORWARD_ENDPOINTS_MAX);
    for (size_t i = 0; i < n; i++) {
        const struct yaml_node *item = yaml_tree_item(section, i);
        int rc = read_endpoint(item, c->dir, &c->ep[c->n++], e);
        if (rc == 0)
            for (size_t j = 0; j + 1 < c->n; j++)
                if (strcmp(c->ep[j].name, c->ep[c->n - 1].name) == 0)
                    rc = yaml_tree_err(item, TIDE_EINVAL, e,
                                       "remote_write: two endpoints named \"%s\" (give each "
                                       "a distinct name)",
                                       c->ep[j].name);
        if (rc != 0) {
            forward_config_fini(c);
            return rc;
        }
    }
    return 0;
}
