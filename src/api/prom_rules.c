/* prom_rules.c: Prometheus' rule and alert endpoints over the rule manager
 * (rules/rules.h), in Prometheus 2.42's shapes, and the reload endpoint:
 *
 *   /api/v1/rules[?type=alert|record]  groups with their rules' live state
 *   /api/v1/alerts                     every pending and firing alert
 *   /api/v1/alertmanagers              the notifier's targets (Prometheus'
 *                                      shape, plus Tide's send state)
 *   POST /-/reload                     re-read the rule files (api_ctx.reload)
 *   POST /api/v1/rules/backfill        recording rules over history (backfill.h)
 *
 * Reads take the manager's lock, then each group's, for the few
 * microseconds of copying state into JSON; evaluations only take a group's
 * lock to store results, so neither waits on a query.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "api/http.h"
#include "api/json.h"
#include "api/router.h"
#include "core/fmtfloat.h"
#include "core/time.h"
#include "rules/backfill.h"
#include "rules/notify.h"
#include "rules/rules.h"

static void put_labels(struct json *w, const char *key, const struct label *v, size_t n)
{
    json_key(w, key);
    json_obj(w);
    for (size_t i = 0; i < n; i++) {
        json_keyv(w, v[i].name);
        json_str(w, v[i].value);
    }
    json_obj_end(w);
}

static void put_time(struct json *w, const char *key, int64_t t_ms)
{
    char s[40] = "0001-01-01T00:00:00Z";
    if (t_ms > 0)
        time_format_rfc3339(t_ms, s, sizeof s);
    json_key(w, key);
    json_cstr(w, s);
}

static void put_alert(struct json *w, const struct alert *a)
{
    json_obj(w);
    put_labels(w, "labels", a->labels, a->nlabels);
    put_labels(w, "annotations", a->annotations, a->nannotations);
    json_key(w, "state");
    json_cstr(w, alert_state_name(a->state));
    put_time(w, "activeAt", a->active_at_ms);
    struct buf v;
    buf_init(&v, 64);
    fmtfloat_e(&v, a->value);
    json_key(w, "value");
    json_cstr(w, v.p ? v.p : "");
    buf_fini(&v);
    json_obj_end(w);
}

static const char *health_name(enum rule_health h)
{
    return h == RULE_OK ? "ok" : h == RULE_ERR ? "err" : "unknown";
}

/* One rule of a group, group->mu held. */
static void put_rule(struct json *w, const struct rule_state *r)
{
    const struct rule_def *d = r->def;
    json_obj(w);
    if (d->kind == RULE_ALERT) {
        enum alert_state st = ALERT_INACTIVE;
        for (size_t i = 0; i < r->alerts.n; i++)
            if (r->alerts.v[i].state > st)
                st = r->alerts.v[i].state;
        json_key(w, "state");
        json_cstr(w, alert_state_name(st));
    }
    json_key(w, "name");
    json_cstr(w, d->name);
    json_key(w, "query");
    json_cstr(w, d->expr);
    if (d->kind == RULE_ALERT) {
        json_key(w, "duration");
        json_f64(w, (double)d->for_ms / 1000);
        json_key(w, "keepFiringFor");
        json_f64(w, (double)d->keep_firing_for_ms / 1000);
    }
    put_labels(w, "labels", d->labels, d->nlabels);
    if (d->kind == RULE_ALERT) {
        put_labels(w, "annotations", d->annotations, d->nannotations);
        json_key(w, "alerts");
        json_arr(w);
        for (size_t i = 0; i < r->alerts.n; i++)
            if (r->alerts.v[i].state != ALERT_INACTIVE)
                put_alert(w, &r->alerts.v[i]);
        json_arr_end(w);
    }
    if (r->backfill) {
        json_key(w, "backfill");
        json_obj(w);
        json_key(w, "state");
        json_cstr(w, r->backfill);
        json_key(w, "progress");
        json_f64(w, r->backfill_progress);
        json_obj_end(w);
    }
    json_key(w, "health");
    json_cstr(w, health_name(r->health));
    if (r->last_error[0]) {
        json_key(w, "lastError");
        json_cstr(w, r->last_error);
    }
    json_key(w, "evaluationTime");
    json_f64(w, r->eval_seconds);
    put_time(w, "lastEvaluation", r->last_eval_ms);
    json_key(w, "type");
    json_cstr(w, d->kind == RULE_ALERT ? "alerting" : "recording");
    json_obj_end(w);
}

static void finish(struct http_resp *rs, struct json *w)
{
    json_obj_end(w);
    if (json_end(w) != 0)
        http_reply_err(rs, TIDE_ELIMIT, "response too large");
}

void prom_rules_list(struct http_req *rq, struct http_resp *rs)
{
    const char *type = http_param(rq, "type");
    int want = 0;
    if (type && type[0]) {
        if (strcmp(type, "alert") == 0)
            want = RULE_ALERT;
        else if (strcmp(type, "record") == 0)
            want = RULE_RECORD;
        else {
            http_reply_prom_error(rs, 400, "bad_data", "invalid query parameter type");
            return;
        }
    }
    struct rules *r = rq->ctx->rules;
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    json_key(&w, "groups");
    json_arr(&w);
    if (r)
        rules_lock(r);
    for (size_t i = 0; r && i < r->ngroups; i++) {
        struct group *g = r->groups[i];
        pthread_mutex_lock(&g->mu);
        size_t match = 0;
        for (size_t k = 0; k < g->nrules; k++)
            match += want == 0 || (int)g->rules[k].def->kind == want;
        if (want && match == 0) {
            pthread_mutex_unlock(&g->mu);
            continue;
        }
        json_obj(&w);
        json_key(&w, "name");
        json_cstr(&w, g->def->name);
        json_key(&w, "file");
        json_cstr(&w, g->def->file);
        json_key(&w, "rules");
        json_arr(&w);
        for (size_t k = 0; k < g->nrules; k++)
            if (want == 0 || (int)g->rules[k].def->kind == want)
                put_rule(&w, &g->rules[k]);
        json_arr_end(&w);
        json_key(&w, "interval");
        json_f64(&w, (double)g->interval_ms / 1000);
        json_key(&w, "limit");
        json_i64(&w, g->def->limit);
        json_key(&w, "evaluationTime");
        json_f64(&w, g->last_duration_s);
        put_time(&w, "lastEvaluation", g->last_eval_ms);
        json_obj_end(&w);
        pthread_mutex_unlock(&g->mu);
    }
    if (r)
        rules_unlock(r);
    json_arr_end(&w);
    json_obj_end(&w);
    finish(rs, &w);
}

void prom_rules_alerts(struct http_req *rq, struct http_resp *rs)
{
    struct rules *r = rq->ctx->rules;
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    json_key(&w, "alerts");
    json_arr(&w);
    if (r)
        rules_lock(r);
    for (size_t i = 0; r && i < r->ngroups; i++) {
        struct group *g = r->groups[i];
        pthread_mutex_lock(&g->mu);
        for (size_t k = 0; k < g->nrules; k++)
            for (size_t a = 0; a < g->rules[k].alerts.n; a++)
                if (g->rules[k].alerts.v[a].state != ALERT_INACTIVE)
                    put_alert(&w, &g->rules[k].alerts.v[a]);
        pthread_mutex_unlock(&g->mu);
    }
    if (r)
        rules_unlock(r);
    json_arr_end(&w);
    json_obj_end(&w);
    finish(rs, &w);
}

static void put_target(struct json *w, const struct notify_status *st)
{
    json_obj(w);
    json_key(w, "url");
    json_cstr(w, st->url);
    /* Tide's additions: what happened to the last attempt. */
    json_key(w, "lastError");
    json_cstr(w, st->last_error);
    put_time(w, "lastSend", st->last_send_ms);
    json_key(w, "queueLength");
    json_u64(w, st->queued);
    json_key(w, "sent");
    json_u64(w, st->sent);
    json_key(w, "errors");
    json_u64(w, st->errors);
    json_obj_end(w);
}

/* GET /api/v1/alertmanagers: {"activeAlertmanagers":[{"url":…}],
 * "droppedAlertmanagers":[…]} as Prometheus, each active entry with
 * lastError/lastSend/queueLength/sent/errors; plain webhooks under
 * "webhooks" in the same shape. */
void prom_rules_alertmanagers(struct http_req *rq, struct http_resp *rs)
{
    struct rules *r = rq->ctx->rules;
    struct notifier *n = r ? r->env.notifier : NULL;
    struct notify_status *st = NULL;
    size_t cnt = 0;
    if (n != NULL) {
        st = calloc(NOTIFY_STATUS_MAX, sizeof *st);
        if (st == NULL) {
            http_reply_err(rs, -ENOMEM, "out of memory");
            return;
        }
        cnt = notifier_status(n, st, NOTIFY_STATUS_MAX);
    }
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    static const char *const keys[] = {"activeAlertmanagers", "droppedAlertmanagers", "webhooks"};
    for (int k = 0; k < 3; k++) {
        json_key(&w, keys[k]);
        json_arr(&w);
        for (size_t i = 0; i < cnt; i++) {
            bool am = st[i].kind == NOTIFY_ALERTMANAGER;
            if ((k == 0 && am && !st[i].relabel_dropped) || (k == 2 && !am))
                put_target(&w, &st[i]);
            else if (k == 1 && am && st[i].relabel_dropped) {
                json_obj(&w);
                json_key(&w, "url");
                json_cstr(&w, st[i].url);
                json_obj_end(&w);
            }
        }
        json_arr_end(&w);
    }
    free(st);
    json_obj_end(&w);
    finish(rs, &w);
}

void prom_rules_reload(struct http_req *rq, struct http_resp *rs)
{
    if (rq->ctx->reload == NULL) {
        http_reply(rs, 200, "text/plain", "");
        return;
    }
    struct err e = {0};
    int rc = rq->ctx->reload(rq->ctx->reload_ctx, &e);
    if (rc != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "failed to reload config: %s\n", e.msg);
        http_reply(rs, 500, "text/plain", msg);
        return;
    }
    http_reply(rs, 200, "text/plain", "");
}

/* POST /api/v1/rules/backfill: from, to (RFC 3339 or Unix seconds), group,
 * rule, match, dry_run=true|false → {"status":"success","data":REPORT}
 * (rules/backfill.h). Write scope; runs on the query pool. */
void prom_rules_backfill(struct http_req *rq, struct http_resp *rs)
{
    struct rules *r = rq->ctx->rules;
    if (r == NULL) {
        http_reply_prom_error(rs, 400, "bad_data", "no rules are loaded");
        return;
    }
    const char *from = http_param(rq, "from"), *to = http_param(rq, "to");
    const char *dry = http_param(rq, "dry_run");
    struct backfill_opts o = {
        .group = http_param(rq, "group"),
        .rule = http_param(rq, "rule"),
        .match = http_param(rq, "match"),
        .dry_run = dry && (strcmp(dry, "true") == 0 || strcmp(dry, "1") == 0),
    };
    struct err e = {0};
    if (from == NULL || to == NULL || time_parse_ms(from, &o.from_ms, &e) != 0 ||
        time_parse_ms(to, &o.to_ms, &e) != 0) {
        http_reply_prom_error(rs, 400, "bad_data", e.msg[0] ? e.msg : "from and to are required");
        return;
    }
    if (o.group && !o.group[0])
        o.group = NULL;
    if (o.rule && !o.rule[0])
        o.rule = NULL;
    struct buf rep;
    buf_init(&rep, 64u << 20);
    int rc = rules_backfill(r, &o, &rep, &e);
    if (rc != 0) {
        http_reply_err(rs, rc, e.msg[0] ? e.msg : tide_strerror(rc));
    } else {
        buf_reset(&rs->body);
        rs->status = 200;
        rs->content_type = "application/json";
        if (buf_puts(&rs->body, "{\"status\":\"success\",\"data\":") != 0 ||
            buf_append(&rs->body, rep.p, rep.len) != 0 || buf_putc(&rs->body, '}') != 0)
            http_reply_err(rs, TIDE_ELIMIT, "response too large");
    }
    buf_fini(&rep);
}
