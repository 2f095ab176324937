/* router.c: Tide's endpoint table and path matching (see router.h).
 *
 * Sits between http.c, which owns the connection, and the handlers. The
 * table is the one place listing every endpoint; docs/api/README.md mirrors
 * it. Matching is a linear scan: forty patterns cost less than parsing the
 * request line, and the order below decides nothing since patterns do not
 * overlap. Each route names its auth scope (auth.h): writes and admin are
 * AUTH_WRITE, health probes AUTH_OPEN, everything else AUTH_READ by default.
 * PromQL evaluation is `offload`ed to the query pool so that slow queries
 * never hold the HTTP workers that health checks and writes need.
 */
#include "api/router.h"

#include "api/agents.h"
#include "api/stream.h"
#include "api/targets_api.h"
#include "api/ui.h"

#include <string.h>

#define GP (HTTP_GET | HTTP_POST)

static const struct route routes[] = {
    /* writes */
    {.pattern = "/write", .methods = HTTP_POST, .fn = write_influx_v1, .scope = AUTH_WRITE},
    {.pattern = "/api/v2/write", .methods = HTTP_POST, .fn = write_influx_v2, .scope = AUTH_WRITE},
    {.pattern = "/api/v1/import",
     .methods = HTTP_POST | HTTP_PUT,
     .fn = write_import_jsonl,
     .scope = AUTH_WRITE},
    {.pattern = "/api/v1/import/csv",
     .methods = HTTP_POST | HTTP_PUT,
     .fn = write_import_csv,
     .scope = AUTH_WRITE},
    {.pattern = "/api/v1/import/prometheus",
     .methods = HTTP_POST | HTTP_PUT,
     .fn = write_import_prometheus,
     .scope = AUTH_WRITE},
    {.pattern = "/api/v1/import/collectd",
     .methods = HTTP_POST | HTTP_PUT,
     .fn = write_import_collectd,
     .scope = AUTH_WRITE},
    /* collectd_exporter's path, so its users only change the host */
    {.pattern = "/collectd-post",
     .methods = HTTP_POST,
     .fn = write_import_collectd,
     .scope = AUTH_WRITE},
    {.pattern = "/api/v1/write",
     .methods = HTTP_POST | HTTP_PUT,
     .fn = write_remote_write,
     .own_encoding = "snappy",
     .scope = AUTH_WRITE},
    {.pattern = "/api/v1/otlp/v1/metrics",
     .methods = HTTP_POST,
     .fn = write_otlp,
     .scope = AUTH_WRITE},
    {.pattern = "/opentelemetry/v1/metrics",
     .methods = HTTP_POST,
     .fn = write_otlp,
     .scope = AUTH_WRITE},
    {.pattern = "/v1/metrics", .methods = HTTP_POST, .fn = write_otlp, .scope = AUTH_WRITE},
    {.pattern = "/ping", .methods = HTTP_GET, .fn = write_ping, .scope = AUTH_OPEN},
    {.pattern = "/query",
     .methods = GP,
     .form_body = true,
     .fn = write_influx_query,
     .scope = AUTH_WRITE},
    /* export */
    {.pattern = "/api/v1/export", .methods = GP, .form_body = true, .fn = export_jsonl},
    {.pattern = "/api/v1/export/csv", .methods = GP, .form_body = true, .fn = export_csv},
    /* Prometheus remote read and federation */
    {.pattern = "/api/v1/read",
     .methods = HTTP_POST,
     .fn = remote_read_route,
     .own_encoding = "snappy",
     .offload = true},
    {.pattern = "/federate", .methods = HTTP_GET, .fn = federate_serve, .offload = true},
    /* Prometheus metadata */
    {.pattern = "/api/v1/series", .methods = GP, .form_body = true, .fn = prom_meta_series},
    {.pattern = "/api/v1/labels", .methods = GP, .form_body = true, .fn = prom_meta_labels},
    {.pattern = "/api/v1/label/*/values",
     .methods = HTTP_GET,
     .fn = prom_meta_label_values,
     .label = "/api/v1/label/:name/values"},
    {.pattern = "/api/v1/status/tsdb", .methods = HTTP_GET, .fn = prom_meta_tsdb_status},
    /* PromQL (prom_query.c) */
    {.pattern = "/api/v1/query", .methods = GP, .form_body = true, .fn = prom_query_instant,
     .offload = true},
    {.pattern = "/api/v1/query_range", .methods = GP, .form_body = true, .fn = prom_query_range,
     .offload = true},
    {.pattern = "/api/v1/format_query", .methods = GP, .form_body = true, .fn = prom_query_format},
    /* status and discovery (prom_status.c) */
    {.pattern = "/api/v1/status/buildinfo", .methods = HTTP_GET, .fn = prom_status_buildinfo},
    {.pattern = "/api/v1/status/runtimeinfo", .methods = HTTP_GET, .fn = prom_status_runtimeinfo},
    {.pattern = "/api/v1/status/flags", .methods = HTTP_GET, .fn = prom_status_flags},
    {.pattern = "/api/v1/status/config", .methods = HTTP_GET, .fn = prom_status_config},
    {.pattern = "/api/v1/metadata", .methods = HTTP_GET, .fn = prom_status_metadata},
    {.pattern = "/api/v1/query_exemplars", .methods = GP, .form_body = true,
     .fn = prom_status_exemplars},
    /* rules and alerts (prom_rules.c) */
    {.pattern = "/api/v1/rules", .methods = HTTP_GET, .fn = prom_rules_list},
    {.pattern = "/api/v1/alerts", .methods = HTTP_GET, .fn = prom_rules_alerts},
    {.pattern = "/api/v1/alertmanagers", .methods = HTTP_GET, .fn = prom_rules_alertmanagers},
    {.pattern = "/api/v1/rules/backfill", .methods = HTTP_POST, .form_body = true,
     .fn = prom_rules_backfill, .scope = AUTH_WRITE, .offload = true},
    {.pattern = "/-/reload", .methods = HTTP_POST | HTTP_PUT, .fn = prom_rules_reload,
     .scope = AUTH_WRITE},
    {.pattern = "/api/v1/targets", .methods = HTTP_GET | HTTP_POST, .fn = targets_api_route,
     .write_methods = HTTP_POST},
    {.pattern = "/api/v1/targets/test", .methods = HTTP_POST, .fn = targets_api_test,
     .scope = AUTH_WRITE, .offload = true},
    {.pattern = "/api/v1/targets/**", .methods = HTTP_POST | HTTP_DELETE,
     .fn = targets_api_change, .label = "/api/v1/targets/:kind/:name", .scope = AUTH_WRITE},
    /* agents (api/agents.c): the listing and the live configuration they poll */
    {.pattern = "/api/v1/agents", .methods = HTTP_GET, .fn = agents_route},
    /* Write scope for both methods: agents poll with the credentials they write with. */
    {.pattern = "/api/v1/agent/config", .methods = GP, .form_body = true, .fn = agents_route,
     .scope = AUTH_WRITE},
    /* admin */
    {.pattern = "/api/v1/admin/tsdb/delete_series",
     .methods = HTTP_POST | HTTP_PUT,
     .form_body = true,
     .fn = admin_delete_series, .scope = AUTH_WRITE},
    {.pattern = "/api/v1/admin/cleanup", .methods = HTTP_POST, .form_body = true,
     .fn = admin_cleanup, .scope = AUTH_WRITE, .offload = true},
    {.pattern = "/api/v1/status/storage", .methods = HTTP_GET, .fn = admin_storage_status},
    {.pattern = "/health", .methods = HTTP_GET, .fn = influx2_health, .scope = AUTH_OPEN},
    {.pattern = "/api/v2/setup", .methods = HTTP_GET | HTTP_POST, .fn = influx2_setup,
     .scope = AUTH_OPEN},
    {.pattern = "/-/healthy", .methods = HTTP_GET, .fn = admin_health, .scope = AUTH_OPEN},
    {.pattern = "/ready", .methods = HTTP_GET, .fn = admin_ready, .scope = AUTH_OPEN},
    {.pattern = "/-/ready", .methods = HTTP_GET, .fn = admin_ready, .scope = AUTH_OPEN},
    /* the dashboard (ui.c) and its live channel (stream.c) */
    {.pattern = "/", .methods = HTTP_GET, .fn = ui_serve},
    {.pattern = "/assets/*", .methods = HTTP_GET, .fn = ui_serve, .label = "/assets/:name"},
    {.pattern = "/api/v1/stream", .methods = HTTP_GET, .fn = stream_serve},
    /* self-monitoring */
    {.pattern = "/metrics", .methods = HTTP_GET, .fn = metrics_serve},
};

_Static_assert(sizeof routes / sizeof routes[0] <= ROUTER_MAX_ROUTES, "raise ROUTER_MAX_ROUTES");

size_t router_count(void)
{
    return sizeof routes / sizeof routes[0];
}

const struct route *router_route(int id)
{
    if (id < 0 || (size_t)id >= router_count())
        return NULL;
    return &routes[id];
}

/* Match `path` against `pat`; on a '*' segment, record it. */
static bool match(const char *pat, const char *path, const char **arg, size_t *arg_len)
{
    while (*pat) {
        if (pat[0] == '*' && pat[1] == '*' && pat[2] == 0) { /* the rest of the path */
            size_t n = strlen(path);
            if (n == 0)
                return false;
            *arg = path;
            *arg_len = n;
            return true;
        }
        if (*pat == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0)
                return false;
            *arg = path;
            *arg_len = n;
            path += n;
            pat++;
            continue;
        }
        if (*pat != *path)
            return false;
        pat++;
        path++;
    }
    return *path == 0;
}

int router_find(const char *path, const char **arg, size_t *arg_len)
{
    *arg = NULL;
    *arg_len = 0;
    for (size_t i = 0; i < router_count(); i++) {
        const char *a = NULL;
        size_t an = 0;
        if (match(routes[i].pattern, path, &a, &an)) {
            *arg = a;
            *arg_len = an;
            return (int)i;
        }
    }
    return ROUTER_NOT_FOUND;
}

bool router_allows(int id, enum http_method m)
{
    const struct route *r = router_route(id);
    if (r == NULL)
        return false;
    if (m == HTTP_HEAD)
        m = HTTP_GET;
    return (r->methods & (unsigned)m) != 0;
}

const char *router_allow_header(int id)
{
    const struct route *r = router_route(id);
    if (r == NULL)
        return "";
    switch (r->methods) {
    case HTTP_GET:
        return "GET, HEAD";
    case HTTP_POST:
        return "POST";
    case HTTP_POST | HTTP_PUT:
        return "POST, PUT";
    case GP:
        return "GET, HEAD, POST";
    case HTTP_POST | HTTP_DELETE:
        return "POST, DELETE";
    default:
        return "GET";
    }
}

const char *router_label(int id)
{
    const struct route *r = router_route(id);
    if (r == NULL)
        return "other";
    return r->label ? r->label : r->pattern;
}
