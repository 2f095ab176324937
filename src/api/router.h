/* router.h: the table of Tide's HTTP endpoints and the handlers behind them.
 *
 * A route is a path pattern, the methods it takes and its handler. A pattern
 * matches literally, except one '*' segment that matches any single path
 * segment and is handed to the handler as `http_req.path_arg`
 * ("/api/v1/label/<name>/values"); a pattern ending in "**" matches the
 * rest of the path (one or more segments) the same way. The route index doubles as the `path`
 * label of tide_http_requests_total, so that label's cardinality is bounded
 * by this table, never by what clients send.
 *
 * Thread: the table is immutable; every function is thread-safe.
 */
#ifndef TIDE_API_ROUTER_H
#define TIDE_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "api/auth.h"
#include "api/http.h"

typedef void router_handler_fn(struct http_req *rq, struct http_resp *rs);

struct route {
    const char *pattern;      /* "/api/v1/series"; '*' = one segment */
    unsigned methods;         /* HTTP_GET | HTTP_POST ... (HEAD is allowed with GET) */
    bool form_body;           /* an x-www-form-urlencoded body adds parameters */
    router_handler_fn *fn;    /* fills the response */
    const char *label;        /* metrics label when not the pattern itself; NULL = pattern */
    const char *own_encoding; /* a Content-Encoding the handler decodes itself ("snappy") */
    enum auth_scope scope;    /* whose credentials it needs; AUTH_READ unless set (auth.h) */
    bool offload;             /* slow: runs on the query pool, off the HTTP workers (http_pool.h) */
    unsigned write_methods;   /* methods that need AUTH_WRITE whatever `scope` says */
};

#define ROUTER_MAX_ROUTES 64
#define ROUTER_NOT_FOUND ROUTER_MAX_ROUTES /* route id of paths no route matches */

/* Find the route for `path`. Returns its id (>= 0) and, for a pattern with
 * '*', the matched segment in *arg and *arg_len (borrowed from `path`).
 * ROUTER_NOT_FOUND when no pattern matches. A pattern that matches with
 * another method still returns its id: check router_allows(). */
int router_find(const char *path, const char **arg, size_t *arg_len);
const struct route *router_route(int id);
/* Does route `id` take method m? (HEAD goes wherever GET does.) */
bool router_allows(int id, enum http_method m);
/* "GET, POST" for the Allow header of a 405. */
const char *router_allow_header(int id);
/* The metrics `path` label of a route ("other" for 404). */
const char *router_label(int id);
size_t router_count(void);

/* ---- handlers, one group per file ---- */

/* write.c: Influx line protocol, imports, remote write, OTLP, the influx CLI's helpers */
void write_influx_v1(struct http_req *rq, struct http_resp *rs);
void write_influx_v2(struct http_req *rq, struct http_resp *rs);
void write_import_jsonl(struct http_req *rq, struct http_resp *rs);
void write_ping(struct http_req *rq, struct http_resp *rs);
void write_influx_query(struct http_req *rq, struct http_resp *rs);
void write_import_csv(struct http_req *rq, struct http_resp *rs);
void write_import_prometheus(struct http_req *rq, struct http_resp *rs);
void write_import_collectd(struct http_req *rq, struct http_resp *rs);
void write_remote_write(struct http_req *rq, struct http_resp *rs);
void write_otlp(struct http_req *rq, struct http_resp *rs);

/* remote_read.c: Prometheus remote read (remote_read.h) */
void remote_read_route(struct http_req *rq, struct http_resp *rs);

/* federate.c: Prometheus federation, the latest sample of matching series */
void federate_serve(struct http_req *rq, struct http_resp *rs);

/* export.c: JSON lines and CSV export, streamed */
void export_jsonl(struct http_req *rq, struct http_resp *rs);
void export_csv(struct http_req *rq, struct http_resp *rs);

/* prom_meta.c: Prometheus' metadata API */
void prom_meta_series(struct http_req *rq, struct http_resp *rs);
void prom_meta_labels(struct http_req *rq, struct http_resp *rs);
void prom_meta_label_values(struct http_req *rq, struct http_resp *rs);
void prom_meta_tsdb_status(struct http_req *rq, struct http_resp *rs);

/* prom_query.c: PromQL evaluation (the Prometheus query API) */
void prom_query_instant(struct http_req *rq, struct http_resp *rs);
void prom_query_range(struct http_req *rq, struct http_resp *rs);
void prom_query_format(struct http_req *rq, struct http_resp *rs);

/* prom_status.c: the status and discovery endpoints Grafana and promtool call */
void prom_status_buildinfo(struct http_req *rq, struct http_resp *rs);
void prom_status_runtimeinfo(struct http_req *rq, struct http_resp *rs);
void prom_status_flags(struct http_req *rq, struct http_resp *rs);
void prom_status_config(struct http_req *rq, struct http_resp *rs);
void prom_status_metadata(struct http_req *rq, struct http_resp *rs);
void prom_status_exemplars(struct http_req *rq, struct http_resp *rs);

/* prom_rules.c: rules, alerts and reload over the rule manager */
void prom_rules_list(struct http_req *rq, struct http_resp *rs);
void prom_rules_alerts(struct http_req *rq, struct http_resp *rs);
void prom_rules_alertmanagers(struct http_req *rq, struct http_resp *rs);
void prom_rules_reload(struct http_req *rq, struct http_resp *rs);
void prom_rules_backfill(struct http_req *rq, struct http_resp *rs);

/* admin.c: deletion, storage status, health */
void admin_delete_series(struct http_req *rq, struct http_resp *rs);
void admin_cleanup(struct http_req *rq, struct http_resp *rs);
void admin_storage_status(struct http_req *rq, struct http_resp *rs);
void admin_health(struct http_req *rq, struct http_resp *rs);
void admin_ready(struct http_req *rq, struct http_resp *rs);

/* influx2.c: InfluxDB 2 health and setup, as a set-up server answers */
void influx2_health(struct http_req *rq, struct http_resp *rs);
void influx2_setup(struct http_req *rq, struct http_resp *rs);

/* metrics.c: /metrics */
void metrics_serve(struct http_req *rq, struct http_resp *rs);

#endif
