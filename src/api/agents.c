/* agents.c: the server's side of agent mode (api/ layer, over storage and
 * the targets manager).
 *
 * Two things. Desired per-instance collection intervals, set by
 * POST /api/v1/agent/config and polled by each agent with GET (cmd/agent.c
 * applies it to its host targets): each is a passive target of kind "agent"
 * in the server's targets manager, named by the instance, which also
 * persists them in one file, "instance<TAB>interval_ms" per line, rewritten
 * atomically (targets_persist()). And the agents
 * listing, derived from what the agents already send: each agent's host
 * collector emits tide_host_info every interval, so an instance's last-seen
 * time is the last sample of that series and no registration is needed.
 *
 * Finding the last sample cheaply: the listing first enumerates the series
 * over all time (index only), then reads samples over growing windows (1 h,
 * 1 d, 7 d, all), each time only for series not yet placed, so a live fleet
 * costs an hour of samples and only long-dead hosts cost their history.
 * The interval is the desired one when set, else the spacing of the last two
 * samples, else the agent's default. The agent sends in batches, so samples
 * 0.5 s apart arrive every few seconds: its flush period (batch_max_wait) is
 * the last value of tide_agent_batch_max_wait_seconds it writes with each
 * batch, else the agent's default. Down = no sample for
 * max(3 x interval, 3 x flush period): liveness follows the send cadence.
 */
#include "api/agents.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/live_lease.h"
#include "api/params.h"
#include "collect/targets.h"
#include "core/arena.h"
#include "core/time.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "storage/storage.h"

#define INSTANCE_MAX_BYTES 255

const struct target_kind agents_target_kind = {.name = "agent", .passive = true};

int agents_attach(struct targets *t, const char *path, struct err *e)
{
    int rc = targets_register_kind(t, &agents_target_kind, NULL);
    if (rc != 0)
        return ERR_SET(e, rc, "agents: cannot register the agent kind");
    return path ? targets_persist(t, agents_target_kind.name, path, e) : 0;
}

/* Desired interval of `instance`, 0 when none. */
static int64_t desired_get(struct targets *t, const char *instance)
{
    struct target_status st;
    if (t == NULL || targets_get(t, agents_target_kind.name, instance, &st) != 0)
        return 0;
    return st.interval_ms;
}

/* Set (interval_ms > 0) or clear (0) an instance's desired interval. */
static int desired_set(struct targets *t, const char *instance, int64_t interval_ms)
{
    const char *kind = agents_target_kind.name;
    if (t == NULL)
        return TIDE_ECLOSED;
    if (interval_ms <= 0) {
        int rc = targets_remove(t, kind, instance);
        return rc == TIDE_ENOTFOUND ? 0 : rc;
    }
    int rc = targets_set_interval(t, kind, instance, interval_ms);
    if (rc != TIDE_ENOTFOUND)
        return rc;
    struct target_spec spec = {.kind = kind, .name = instance, .interval_ms = interval_ms};
    rc = targets_add(t, &spec, NULL);
    if (rc == TIDE_EINVAL) /* added meanwhile by another request: set it */
        rc = targets_set_interval(t, kind, instance, interval_ms);
    return rc;
}

/* ---- responses ---- */

static const char *param(const struct http_param *p, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return p[i].value;
    return NULL;
}

static void reply_error(struct buf *out, int *status, int code, const char *type, const char *msg)
{
    *status = code;
    json_prom_error(out, type, msg);
}

/* 5000 → "5s", 90000 → "1m30s", 1500 → "1s500ms": what time_parse_duration_ms reads. */
static void format_duration(int64_t ms, char *out, size_t cap)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0] && n < cap; i++) {
        int64_t k = ms / units[i].ms;
        if (k == 0)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%lld%s", (long long)k, units[i].unit);
        ms -= k * units[i].ms;
    }
    if (out[0] == 0)
        snprintf(out, cap, "0s");
}

static void config_answer(struct buf *out, int *status, const char *instance, int64_t ms,
                          const struct live_lease_state *live)
{
    struct json w;
    json_prom_success(&w, out);
    json_obj(&w);
    json_key(&w, "instance");
    json_cstr(&w, instance);
    if (ms > 0) {
        char d[64];
        format_duration(ms, d, sizeof d);
        json_key(&w, "interval");
        json_cstr(&w, d);
    }
    if (live != NULL) {
        char d[64];
        format_duration(live->display_ms, d, sizeof d);
        json_key(&w, "displayInterval");
        json_cstr(&w, d);
        format_duration(LIVE_LEASE_TTL_MS, d, sizeof d);
        json_key(&w, "displayLease");
        json_cstr(&w, d);
    }
    json_obj_end(&w);
    json_obj_end(&w);
    *status = json_end(&w) == 0 ? 200 : 500;
}

static bool instance_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > INSTANCE_MAX_BYTES)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            return false;
    return true;
}

/* A GET is also the agent's poll: note the storage interval it runs at
 * (the one set here, else its own `defaultInterval`) and tell it the
 * display-rate lease in force for it, if any (docs/agent.md). */
static void config_poll(struct targets *t, struct live_lease *live, const char *instance,
                        const struct http_param *p, size_t np, struct buf *out, int *status)
{
    int64_t desired = desired_get(t, instance);
    const struct live_lease_state *in_force = NULL;
    struct live_lease_state st;
    if (live != NULL) {
        int64_t now = time_mono_ns();
        int64_t storage_ms = desired;
        const char *own = param(p, np, "defaultInterval");
        struct err e = {0};
        if (storage_ms <= 0 && own != NULL && time_parse_duration_ms(own, &storage_ms, &e) != 0)
            storage_ms = 0;
        if (storage_ms > 0)
            live_lease_report(live, instance, storage_ms, now);
        if (live_lease_get(live, strv_c(instance), now, &st))
            in_force = &st;
    }
    config_answer(out, status, instance, desired, in_force);
}

static void handle_config(struct targets *t, struct live_lease *live, const char *method,
                          const struct http_param *p, size_t np, struct buf *out, int *status)
{
    const char *instance = param(p, np, "instance");
    if (instance == NULL || !instance_ok(instance)) {
        reply_error(out, status, 400, "bad_data",
                    "invalid parameter \"instance\": want 1 to 255 bytes without tabs or newlines");
        return;
    }
    if (strcmp(method, "POST") != 0) {
        config_poll(t, live, instance, p, np, out, status);
        return;
    }
    const char *iv = param(p, np, "interval");
    int64_t ms = 0;
    if (iv && iv[0]) {
        struct err e = {0};
        if (time_parse_duration_ms(iv, &ms, &e) != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "invalid parameter \"interval\": %s", e.msg);
            reply_error(out, status, 400, "bad_data", msg);
            return;
        }
        if (ms < AGENTS_INTERVAL_MIN_MS || ms > AGENTS_INTERVAL_MAX_MS) {
            reply_error(out, status, 400, "bad_data",
                        "invalid parameter \"interval\": want 100ms to 1d");
            return;
        }
    }
    int rc = desired_set(t, instance, ms);
    if (rc != 0) {
        reply_error(out, status, 500, "internal", tide_strerror(rc));
        return;
    }
    config_answer(out, status, instance, ms, NULL);
}

/* ---- the listing ---- */

struct seen {
    const struct label *ls; /* in the caller's arena (storage_set_labels_into) */
    size_t n;
    int64_t last_ms, prev_ms; /* -1 = not found yet */
    double last_v;
};

static int seen_cmp(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    return labels_cmp(x->ls, x->n, y->ls, y->n);
}

static struct strv label_of(const struct seen *s, const char *name)
{
    return labels_get(s->ls, s->n, strv_c(name));
}

/* Sort key for grouping: instance, then newest first. */
static int by_instance(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    int c = strv_cmp(label_of(x, "instance"), label_of(y, "instance"));
    if (c != 0)
        return c;
    return x->last_ms > y->last_ms ? -1 : x->last_ms < y->last_ms;
}

static int collect_seen(struct storage *s, const struct matcher *m, struct arena *a,
                        struct seen **out, size_t *nout, struct err *e)
{
    *out = NULL;
    *nout = 0;
    struct storage_set *set = NULL;
    int rc = storage_select(s, m, 1, PARAMS_MIN_TIME, PARAMS_MAX_TIME, &set, e);
    if (rc != 0)
        return rc;
    size_t cap = storage_set_count(set);
    struct seen *v = calloc(cap ? cap : 1, sizeof *v);
    if (v == NULL) {
        storage_set_free(set);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    size_t n = 0;
    while (rc == 0 && n < cap && storage_set_next(set)) {
        rc = storage_set_labels_into(set, a, &v[n].ls, &v[n].n);
        v[n].last_ms = v[n].prev_ms = -1;
        n++;
    }
    storage_set_free(set);
    if (rc != 0) {
        free(v);
        return ERR_SET(e, rc, "out of memory");
    }
    qsort(v, n, sizeof *v, seen_cmp);
    int64_t now = time_now_ms();
    static const int64_t windows[] = {3600000, 86400000, 7 * 86400000LL, 0};
    size_t left = n;
    for (size_t w = 0; rc == 0 && left > 0 && w < sizeof windows / sizeof windows[0]; w++) {
        int64_t mint = windows[w] ? now - windows[w] : PARAMS_MIN_TIME;
        rc = storage_select(s, m, 1, mint, PARAMS_MAX_TIME, &set, e);
        if (rc != 0)
            break;
        while (storage_set_next(set)) {
            struct seen key = {0};
            storage_set_labels(set, &key.ls, &key.n);
            struct seen *hit = bsearch(&key, v, n, sizeof *v, seen_cmp);
            if (hit == NULL || hit->last_ms >= 0)
                continue;
            const struct sample *sm;
            size_t ns = 0;
            rc = storage_set_samples(set, &sm, &ns, e);
            if (rc != 0)
                break;
            if (ns == 0)
                continue;
            hit->last_ms = sm[ns - 1].t_ms;
            hit->last_v = sm[ns - 1].v;
            hit->prev_ms = ns > 1 ? sm[ns - 2].t_ms : -1;
            left--;
        }
        storage_set_free(set);
    }
    if (rc != 0) {
        free(v);
        return rc;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* The series named `name`, each with its last sample, sorted by_instance. */
static int seen_of(struct storage *s, const char *name, struct arena *a, struct seen **v,
                   size_t *n, struct err *e)
{
    struct matcher m;
    int rc = matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), strv_c(name), e);
    if (rc != 0)
        return rc;
    rc = collect_seen(s, &m, a, v, n, e);
    matcher_fini(&m);
    if (rc == 0)
        qsort(*v, *n, sizeof **v, by_instance);
    return rc;
}

/* The flush period `inst` last reported, else the agent's default. */
static int64_t flush_of(const struct seen *f, size_t nf, struct strv inst)
{
    size_t lo = 0, hi = nf;
    while (lo < hi) { /* first entry of inst: the newest series */
        size_t mid = lo + (hi - lo) / 2;
        if (strv_cmp(label_of(&f[mid], "instance"), inst) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < nf && strv_eq(label_of(&f[lo], "instance"), inst) && f[lo].last_ms >= 0 &&
        f[lo].last_v > 0 && f[lo].last_v <= AGENTS_INTERVAL_MAX_MS / 1000.0)
        return (int64_t)(f[lo].last_v * 1000.0 + 0.5);
    return AGENTS_DEFAULT_FLUSH_MS;
}

static void handle_list(struct storage *s, struct targets *t, struct buf *out, int *status)
{
    struct err e = {0};
    struct seen *v = NULL, *f = NULL;
    size_t n = 0, nf = 0;
    struct arena a; /* the labels of v and f */
    arena_init(&a, 0);
    int rc = seen_of(s, "tide_host_info", &a, &v, &n, &e);
    if (rc == 0)
        rc = seen_of(s, "tide_agent_batch_max_wait_seconds", &a, &f, &nf, &e);
    if (rc != 0) {
        free(v);
        arena_fini(&a);
        reply_error(out, status, 500, "internal", e.msg[0] ? e.msg : tide_strerror(rc));
        return;
    }
    int64_t now = time_now_ms();
    struct json w;
    json_prom_success(&w, out);
    json_arr(&w);
    for (size_t i = 0; i < n; i++) {
        struct strv inst = label_of(&v[i], "instance");
        if (i > 0 && strv_eq(inst, label_of(&v[i - 1], "instance")))
            continue; /* an older series of the same instance (e.g. a new kernel) */
        char name[INSTANCE_MAX_BYTES + 1];
        snprintf(name, sizeof name, "%.*s", (int)inst.n, inst.p ? inst.p : "");
        int64_t interval = desired_get(t, name);
        const char *source = "config";
        if (interval <= 0 && v[i].prev_ms >= 0 && v[i].last_ms > v[i].prev_ms) {
            interval = v[i].last_ms - v[i].prev_ms;
            source = "observed";
        }
        if (interval <= 0) {
            interval = AGENTS_DEFAULT_INTERVAL_MS;
            source = "default";
        }
        int64_t flush = flush_of(f, nf, inst);
        int64_t window = 3 * (interval > flush ? interval : flush);
        bool up = v[i].last_ms >= 0 && now - v[i].last_ms <= window;
        json_obj(&w);
        json_key(&w, "instance");
        json_str(&w, inst);
        json_key(&w, "job");
        json_str(&w, label_of(&v[i], "job"));
        json_key(&w, "up");
        json_bool(&w, up);
        json_key(&w, "lastSeen");
        char ts[40] = "";
        if (v[i].last_ms >= 0)
            time_format_rfc3339(v[i].last_ms, ts, sizeof ts);
        json_cstr(&w, ts);
        json_key(&w, "lastSeenTimestamp");
        json_i64(&w, v[i].last_ms);
        char d[64];
        format_duration(interval, d, sizeof d);
        json_key(&w, "interval");
        json_cstr(&w, d);
        json_key(&w, "intervalSource");
        json_cstr(&w, source);
        format_duration(flush, d, sizeof d);
        json_key(&w, "flushInterval");
        json_cstr(&w, d);
        format_duration(window, d, sizeof d);
        json_key(&w, "downAfter");
        json_cstr(&w, d);
        json_key(&w, "labels");
        json_obj(&w);
        for (size_t j = 0; j < v[i].n; j++) {
            if (strv_eq_c(v[i].ls[j].name, LABEL_METRIC_NAME))
                continue;
            json_keyv(&w, v[i].ls[j].name);
            json_str(&w, v[i].ls[j].value);
        }
        json_obj_end(&w);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_obj_end(&w);
    free(v);
    free(f);
    arena_fini(&a);
    rc = json_end(&w);
    if (rc != 0)
        reply_error(out, status, 422, "execution", "the agents listing is too large");
    else
        *status = 200;
}

int agents_handle(struct storage *s, struct targets *t, struct live_lease *live,
                  const char *method, const char *path, const struct http_param *params,
                  size_t nparams, struct buf *out, int *http_status)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(path, "/api/v1/agents") == 0) {
        if (!get)
            reply_error(out, http_status, 405, "bad_data", "method not allowed");
        else
            handle_list(s, t, out, http_status);
        return 0;
    }
    if (strcmp(path, "/api/v1/agent/config") == 0) {
        if (!get && strcmp(method, "POST") != 0)
            reply_error(out, http_status, 405, "bad_data", "method not allowed");
        else
            handle_config(t, live, method, params, nparams, out, http_status);
        return 0;
    }
    return TIDE_ENOTFOUND;
}

void agents_route(struct http_req *rq, struct http_resp *rs)
{
    int status = 500;
    int rc = agents_handle(rq->ctx->storage, rq->ctx->targets, rq->ctx->live_lease,
                           rq->method_name, rq->path, rq->params, rq->nparams, &rs->body, &status);
    if (rc != 0) {
        http_reply_prom_error(rs, 404, "not_found", "no such endpoint");
        return;
    }
    rs->status = status;
    rs->content_type = "application/json";
}
