/* targets_api.c: GET /api/v1/targets (see targets_api.h), mapping a
 * targets-manager snapshot (collect/targets.h) onto Prometheus' target
 * objects:
 *
 *   scrapePool          the kind ("host", "snmp", "agent")
 *   labels              job=<kind>, instance=<address, else name>
 *   discoveredLabels    the same plus __address__, __scrape_interval__,
 *                       __scrape_timeout__, __tide_kind__, __tide_name__,
 *                       __tide_module__ (when set)
 *   scrapeUrl/globalUrl <kind>://<address or name>[?module=<module>]
 *   lastScrape          RFC 3339 of the last run (or push for a passive
 *                       kind), "0001-01-01T00:00:00Z" when never, as Go's
 *                       zero time
 *   lastScrapeDuration  seconds; scrapeTimeout = scrapeInterval (the manager
 *                       has no separate timeout)
 *
 * A dropped (disabled) target carries only discoveredLabels, as in
 * Prometheus. An unknown `state` gives two empty lists, as Prometheus does.
 *
 * POST /api/v1/targets/test takes one entry as JSON (the keys of a
 * `targets:` item) and tests it without adding it (targets_config_test()):
 *
 *   {"status":"success","data":{"kind":"routeros","ok":false,
 *    "failure":"auth","error":"login refused: …","elapsedSeconds":0.01,
 *    "result":{"version":…,"board":…,"identity":…}}}
 *
 * The answer is 200 whenever the test ran, whatever it found; a bad entry
 * is 400 with its line:col. No secret is echoed: errors come from the
 * kinds, whose messages never hold one.
 */
#include "api/targets_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/router.h"
#include "collect/targets_config.h"
#include "collect/targets_files.h"
#include "collect/targets_runtime.h"
#include "core/time.h"
#include "core/yaml_tree.h"

/* Prometheus' model.Duration text: "1m30s", "500ms", "0s". */
static void duration_text(int64_t ms, char *out, size_t cap)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"w", 604800000}, {"d", 86400000}, {"h", 3600000},
                 {"m", 60000},     {"s", 1000},     {"ms", 1}};
    size_t len = 0;
    out[0] = 0;
    if (ms <= 0) {
        snprintf(out, cap, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0] && len < cap; i++) {
        int64_t q = ms / units[i].ms;
        if (q == 0)
            continue;
        ms -= q * units[i].ms;
        int n = snprintf(out + len, cap - len, "%lld%s", (long long)q, units[i].unit);
        if (n < 0)
            return;
        len += (size_t)n;
    }
}

static void kv(struct json *w, const char *k, const char *v)
{
    json_key(w, k);
    json_cstr(w, v);
}

static const char *instance_of(const struct target_status *t)
{
    return t->address[0] ? t->address : t->name;
}

static void write_discovered(struct json *w, const struct target_status *t, const char *every,
                             struct targets_files *tf)
{
    char file[1024];
    bool from_file = targets_files_source(tf, t->kind, t->name, file, sizeof file);
    json_key(w, "discoveredLabels");
    json_obj(w);
    kv(w, "__address__", instance_of(t));
    if (from_file)
        kv(w, "__meta_filepath", file);
    kv(w, "__scrape_interval__", every);
    kv(w, "__scrape_timeout__", every);
    kv(w, "__tide_kind__", t->kind);
    if (t->module[0])
        kv(w, "__tide_module__", t->module);
    kv(w, "__tide_name__", t->name);
    if (from_file)
        kv(w, "__tide_source__", "target_files");
    kv(w, "job", t->kind);
    json_obj_end(w);
}

static void write_active(struct json *w, const struct target_status *t, struct targets_files *tf)
{
    char every[48], url[400], when[40];
    duration_text(t->interval_ms, every, sizeof every);
    snprintf(url, sizeof url, "%s://%s%s%s", t->kind, instance_of(t),
             t->module[0] ? "?module=" : "", t->module);
    if (t->last_run_ms > 0)
        time_format_rfc3339(t->last_run_ms, when, sizeof when);
    else
        snprintf(when, sizeof when, "0001-01-01T00:00:00Z");
    json_obj(w);
    write_discovered(w, t, every, tf);
    json_key(w, "labels");
    json_obj(w);
    kv(w, "instance", instance_of(t));
    kv(w, "job", t->kind);
    json_obj_end(w);
    kv(w, "scrapePool", t->kind);
    kv(w, "scrapeUrl", url);
    kv(w, "globalUrl", url);
    kv(w, "lastError", t->last_error);
    kv(w, "lastScrape", when);
    json_key(w, "lastScrapeDuration");
    json_f64(w, (double)t->last_duration_ns / 1e9);
    kv(w, "health", target_health_name(t->health));
    kv(w, "scrapeInterval", every);
    kv(w, "scrapeTimeout", every);
    json_obj_end(w);
}

void targets_api_write(struct json *w, const struct target_status *v, size_t n, bool active,
                       bool dropped)
{
    targets_api_write_tf(w, v, n, active, dropped, NULL);
}

void targets_api_write_tf(struct json *w, const struct target_status *v, size_t n, bool active,
                          bool dropped, struct targets_files *tf)
{
    json_obj(w);
    json_key(w, "activeTargets");
    json_arr(w);
    for (size_t i = 0; active && i < n; i++)
        if (v[i].enabled)
            write_active(w, &v[i], tf);
    json_arr_end(w);
    json_key(w, "droppedTargets");
    json_arr(w);
    for (size_t i = 0; dropped && i < n; i++) {
        if (v[i].enabled)
            continue;
        char every[48];
        duration_text(v[i].interval_ms, every, sizeof every);
        json_obj(w);
        write_discovered(w, &v[i], every, tf);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_obj_end(w);
}

void targets_api_list(struct http_req *rq, struct http_resp *rs)
{
    const char *state = http_param(rq, "state");
    const char *pool = http_param(rq, "scrapePool");
    bool all = state == NULL || state[0] == 0 || strcasecmp(state, "any") == 0;
    bool active = all || strcasecmp(state, "active") == 0;
    bool dropped = all || strcasecmp(state, "dropped") == 0;
    struct target_status *v = NULL;
    size_t n = 0;
    if (rq->ctx->targets &&
        targets_list(rq->ctx->targets, pool && pool[0] ? pool : NULL, &v, &n) != 0) {
        http_reply_err(rs, -ENOMEM, "out of memory");
        return;
    }
    struct json w;
    http_prom_success(rs, &w);
    targets_api_write_tf(&w, v, n, active, dropped, rq->ctx->targets_files);
    json_obj_end(&w);
    free(v);
    if (json_end(&w) != 0)
        http_reply_err(rs, TIDE_ELIMIT, "response too large");
}

void targets_api_test(struct http_req *rq, struct http_resp *rs)
{
    if (rq->ctx->targets == NULL) {
        http_reply_err(rs, TIDE_ECLOSED, "no targets manager");
        return;
    }
    struct err e;
    err_clear(&e);
    struct yaml_tree *tree = NULL;
    int rc = yaml_tree_parse(rq->body.p ? rq->body.p : "", rq->body.len, "body", &tree, &e);
    struct target_test out;
    const char *kind = NULL;
    if (rc == 0) {
        const struct yaml_node *root = yaml_tree_root(tree);
        kind = yaml_tree_text(yaml_tree_get(root, "kind"));
        rc = targets_config_test(rq->ctx->targets, root, 60000, &out, &e);
    }
    if (rc != 0) {
        char msg[260];
        if (e.line > 0)
            snprintf(msg, sizeof msg, "body:%d:%d: %s", e.line, e.col, e.msg);
        else
            snprintf(msg, sizeof msg, "%s", e.msg[0] ? e.msg : tide_strerror(rc));
        yaml_tree_free(tree);
        http_reply_err(rs, rc == -ENOMEM ? rc : TIDE_EINVAL, msg);
        return;
    }
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    kv(&w, "kind", kind ? kind : "");
    json_key(&w, "ok");
    json_bool(&w, out.ok);
    if (!out.ok) {
        if (out.failure[0])
            kv(&w, "failure", out.failure);
        kv(&w, "error", out.error);
    }
    json_key(&w, "elapsedSeconds");
    json_f64(&w, out.elapsed_s);
    if (out.nfacts > 0) {
        json_key(&w, "result");
        json_obj(&w);
        for (size_t i = 0; i < out.nfacts; i++)
            kv(&w, out.facts[i][0], out.facts[i][1]);
        json_obj_end(&w);
    } else if (out.ok) {
        json_key(&w, "samples");
        json_f64(&w, (double)out.samples);
    }
    json_obj_end(&w);
    json_obj_end(&w);
    yaml_tree_free(tree);
    if (json_end(&w) != 0)
        http_reply_err(rs, TIDE_ELIMIT, "response too large");
}

/* ---- run-time changes (collect/targets_runtime.h) ---- */

/* 200 (or `status`) with one target as GET lists it, with "enabled". */
static void reply_target(struct http_resp *rs, const struct api_ctx *ctx, const char *kind,
                         const char *name, int status)
{
    struct targets *m = ctx->targets;
    struct target_status t;
    if (targets_get(m, kind, name, &t) != 0) {
        http_reply_err(rs, TIDE_ENOTFOUND, "target gone");
        return;
    }
    char every[48];
    duration_text(t.interval_ms, every, sizeof every);
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    kv(&w, "kind", t.kind);
    kv(&w, "name", t.name);
    json_key(&w, "enabled");
    json_bool(&w, t.enabled);
    json_key(&w, "target");
    if (t.enabled) {
        write_active(&w, &t, ctx->targets_files);
    } else {
        json_obj(&w);
        write_discovered(&w, &t, every, ctx->targets_files);
        json_obj_end(&w);
    }
    json_obj_end(&w);
    json_obj_end(&w);
    rs->status = status;
    if (json_end(&w) != 0)
        http_reply_err(rs, TIDE_ELIMIT, "response too large");
}

static void reply_change_err(struct http_resp *rs, int rc, const struct err *e)
{
    char msg[300];
    if (e->line > 0)
        snprintf(msg, sizeof msg, "body:%d:%d: %s", e->line, e->col, e->msg);
    else
        snprintf(msg, sizeof msg, "%s", e->msg[0] ? e->msg : tide_strerror(rc));
    if (rc == -EEXIST || rc == -EPERM)
        http_reply_prom_error(rs, 409, "conflict", msg);
    else if (rc == TIDE_ENOTFOUND && e->line == 0)
        http_reply_err(rs, rc, msg);
    else if (rc == TIDE_ENOTFOUND || rc == TIDE_EPARSE || rc == TIDE_EINVAL || rc == -EINVAL)
        http_reply_err(rs, TIDE_EINVAL, msg); /* an unknown kind or key in the body */
    else
        http_reply_err(rs, rc, msg);
}

void targets_api_route(struct http_req *rq, struct http_resp *rs)
{
    if (rq->method != HTTP_POST) {
        targets_api_list(rq, rs);
        return;
    }
    if (rq->ctx->targets == NULL || rq->ctx->targets_rt == NULL) {
        http_reply_err(rs, TIDE_ECLOSED, "no targets manager");
        return;
    }
    struct err e;
    err_clear(&e);
    struct target_id id;
    int rc = targets_rt_add(rq->ctx->targets_rt, rq->body.p ? rq->body.p : "", rq->body.len,
                            "body", &id, &e);
    if (rc != 0) {
        reply_change_err(rs, rc, &e);
        return;
    }
    reply_target(rs, rq->ctx, id.kind, id.name, 201);
}

void targets_api_change(struct http_req *rq, struct http_resp *rs)
{
    if (rq->ctx->targets == NULL || rq->ctx->targets_rt == NULL) {
        http_reply_err(rs, TIDE_ECLOSED, "no targets manager");
        return;
    }
    /* path_arg: kind/name (DELETE) or kind/name/enable|disable (POST); the
     * name may itself hold slashes. */
    char arg[32 + TARGETS_NAME_MAX + 16];
    snprintf(arg, sizeof arg, "%s", rq->path_arg ? rq->path_arg : "");
    char *slash = strchr(arg, '/');
    int action = -1; /* -1 delete, 0 disable, 1 enable */
    if (slash && rq->method == HTTP_POST) {
        char *last = strrchr(arg, '/');
        if (last != slash && strcmp(last + 1, "enable") == 0)
            action = 1;
        else if (last != slash && strcmp(last + 1, "disable") == 0)
            action = 0;
        else
            slash = NULL;
        if (slash)
            *last = 0;
    }
    if (slash == NULL || slash[1] == 0 || slash == arg) {
        http_reply_err(rs, TIDE_ENOTFOUND,
                       "expected DELETE /api/v1/targets/{kind}/{name} or POST "
                       "/api/v1/targets/{kind}/{name}/enable|disable");
        return;
    }
    *slash = 0;
    const char *kind = arg, *name = slash + 1;
    struct err e;
    err_clear(&e);
    char file[1024];
    if (action < 0 && targets_files_source(rq->ctx->targets_files, kind, name, file, sizeof file)) {
        char msg[1200 + TARGETS_NAME_MAX];
        snprintf(msg, sizeof msg,
                 "target %s/%s comes from the file %s (target_files:): remove it from that "
                 "file, or disable it here",
                 kind, name, file);
        http_reply_prom_error(rs, 409, "conflict", msg);
        return;
    }
    int rc = action < 0 ? targets_rt_remove(rq->ctx->targets_rt, kind, name, &e)
                        : targets_rt_set_enabled(rq->ctx->targets_rt, kind, name, action == 1, &e);
    if (rc != 0) {
        reply_change_err(rs, rc, &e);
        return;
    }
    if (action >= 0) {
        reply_target(rs, rq->ctx, kind, name, 200);
        return;
    }
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    kv(&w, "kind", kind);
    kv(&w, "name", name);
    json_key(&w, "removed");
    json_bool(&w, true);
    json_obj_end(&w);
    json_obj_end(&w);
    if (json_end(&w) != 0)
        http_reply_err(rs, TIDE_ELIMIT, "response too large");
}
