/* scrape_target.c: the targets manager's kind "scrape" (collect/targets.h).
 * A target is one resolved scrape target (scrape_discovery.c). start()
 * hands its request to the engine (scrape_engine.c); when the answer is in,
 * the engine thread turns the body into the manager's batch the way
 * Prometheus 2.42's scrape loop appends it:
 *
 *   - text format 0.0.4 or OpenMetrics (by Content-Type; Accept as
 *     Prometheus sends it), gzip, a parse error fails the whole scrape;
 *   - target labels: honor_labels keeps the exposed value of a clashing
 *     label, otherwise the target's wins and the exposed one is renamed
 *     exported_<name> (exported_exported_… until it is free);
 *   - metric_relabel_configs; sample_limit, label_limit and the label
 *     length limits make the scrape fail (up 0, nothing stored);
 *   - samples with their own timestamp (honor_timestamps) go straight to
 *     the sink, outside the manager's staleness tracking: Prometheus writes
 *     no stale marker for them. The rest are stamped with the scrape time
 *     and the manager stale-marks a series that disappears, every series
 *     when the scrape fails, and all of them when the target goes;
 *   - the meta series up, scrape_duration_seconds, scrape_samples_scraped,
 *     scrape_samples_post_metric_relabeling, scrape_series_added, with the
 *     target labels.
 * The kind sets its own job/instance (meta_series is off), so the manager
 * adds no label of its own.
 *
 * Ownership: struct scrape_kind owns the engine; a target owns its client,
 * body buffer and scratch batches, and borrows its job (the jobs outlive
 * the targets: scrape_free() runs after targets_free()).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/scrape.h"
#include "collect/targets.h"
#include "core/mem.h"
#include "core/time.h"
#include "ingest/expfmt.h"

#define NO_TIMESTAMP INT64_MIN /* expfmt's default: the line had none */

struct scrape_kind {
    struct scrape_engine *eng;
    batch_sink_fn *sink;
    void *sink_ctx;
    pthread_mutex_t add_mu;                 /* one scrape_kind_add() at a time */
    const struct scrape_resolved *pending;  /* add_mu: what open() is opening */
};

struct scrape_tgt {
    struct scrape_xfer x; /* the engine's view; first */
    struct scrape_kind *k;
    const struct scrape_job *job; /* borrowed */
    char *url;
    struct label *labels; /* target labels, sorted, no __ names */
    size_t nlabels;
    char *label_bytes;
    char timeout_hdr[64];
    const char *headers[4];
    struct buf body;
    /* The run in flight (set by start, used on the engine thread). */
    struct batch *out;
    target_done_fn *done;
    void *token;
    int64_t now_ms, t0_ns;
    /* Engine-thread scratch. */
    struct batch parsed, stamped;
    struct relabel_set set;
    uint64_t *prev, *cur; /* sorted series hashes of the last good scrape, and this one */
    size_t nprev, cap_prev, ncur, cap_cur;
};

/* ---- open / close ---- */

static void tgt_free(struct scrape_tgt *t)
{
    if (t == NULL)
        return;
    http_client_free(t->x.client);
    free(t->url);
    free(t->labels);
    free(t->label_bytes);
    buf_fini(&t->body);
    batch_fini(&t->parsed);
    batch_fini(&t->stamped);
    relabel_set_fini(&t->set);
    free(t->prev);
    free(t->cur);
    free(t);
}

static int copy_labels(struct scrape_tgt *t, const struct label *v, size_t n)
{
    size_t bytes = 1;
    for (size_t i = 0; i < n; i++)
        bytes += v[i].name.n + v[i].value.n + 2;
    t->labels = calloc(n ? n : 1, sizeof *t->labels);
    t->label_bytes = malloc(bytes);
    if (t->labels == NULL || t->label_bytes == NULL)
        return -ENOMEM;
    char *p = t->label_bytes;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, v[i].name.p, v[i].name.n);
        p[v[i].name.n] = 0;
        t->labels[i].name = (struct strv){p, v[i].name.n};
        p += v[i].name.n + 1;
        memcpy(p, v[i].value.p, v[i].value.n);
        p[v[i].value.n] = 0;
        t->labels[i].value = (struct strv){p, v[i].value.n};
        p += v[i].value.n + 1;
    }
    t->nlabels = n;
    return 0;
}

static void on_xfer_done(struct scrape_xfer *x, int rc, const struct err *e);

static int scrape_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    struct scrape_kind *k = kind_ctx;
    const struct scrape_resolved *r = k->pending;
    *state = NULL;
    if (r == NULL || spec->config != NULL)
        return ERR_SET(e, TIDE_EINVAL,
                       "scrape targets come from the scrape_configs: section, not targets:");
    const struct scrape_job *j = r->job;
    struct scrape_tgt *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_SET(e, -ENOMEM, "scrape: out of memory");
    t->k = k;
    t->job = j;
    buf_init(&t->body, j->body_size_limit ? j->body_size_limit : SCRAPE_BODY_MAX);
    batch_init(&t->parsed);
    batch_init(&t->stamped);
    relabel_set_init(&t->set);
    t->url = strdup(r->url);
    if (t->url == NULL || copy_labels(t, r->labels, r->nlabels) != 0) {
        tgt_free(t);
        return ERR_SET(e, -ENOMEM, "scrape: out of memory");
    }
    struct http_client_opts o = {
        .basic_user = j->basic_user,
        .basic_password = j->basic_password,
        .accept_compressed = true,
        .timeout_ms = r->timeout_ms,
        .max_redirects = j->follow_redirects ? 10 : 0,
    };
    tls_config_client_opts(&j->tls, &o);
    int rc = http_client_new(&o, &t->x.client, e);
    if (rc != 0) {
        tgt_free(t);
        return rc;
    }
    snprintf(t->timeout_hdr, sizeof t->timeout_hdr, "X-Prometheus-Scrape-Timeout-Seconds: %g",
             (double)r->timeout_ms / 1000.0);
    size_t h = 0;
    t->headers[h++] = "Accept: " SCRAPE_ACCEPT;
    t->headers[h++] = t->timeout_hdr;
    if (j->auth_header)
        t->headers[h++] = j->auth_header;
    t->headers[h] = NULL;
    t->x.rq = (struct http_request){
        .method = "GET",
        .url = t->url,
        .headers = t->headers,
        .resp_body = &t->body,
    };
    t->x.done = on_xfer_done;
    *state = t;
    return 0;
}

static void scrape_close(void *state)
{
    struct scrape_tgt *t = state;
    if (t == NULL)
        return;
    scrape_engine_cancel(t->k->eng, &t->x);
    tgt_free(t);
}

static int scrape_start(void *state, int64_t now_ms, struct batch *out, target_done_fn *done,
                        void *token, struct err *e)
{
    struct scrape_tgt *t = state;
    t->out = out;
    t->done = done;
    t->token = token;
    t->now_ms = now_ms;
    t->t0_ns = time_mono_ns();
    buf_reset(&t->body);
    int rc = scrape_engine_submit(t->k->eng, &t->x);
    if (rc != 0)
        return ERR_SET(e, rc, "scrape: a scrape is still in flight");
    return 0;
}

/* ---- turning the body into series ---- */

struct counts {
    uint64_t scraped, added, series_added;
};

/* Copy the set (sorted) as one series with one sample into b; every string
 * is copied into b's arena (the set's are scratch). */
static int emit(struct batch *b, struct relabel_set *s, int64_t t_ms, double v, struct err *e)
{
    int rc = batch_begin_series(b);
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        const struct label *l = &s->v[i];
        char *n = batch_strdup(b, l->name.p, l->name.n);
        char *val = batch_strdup(b, l->value.p, l->value.n);
        rc = n && val ? batch_add_label(b, (struct strv){n, l->name.n},
                                        (struct strv){val, l->value.n})
                      : -ENOMEM;
    }
    if (rc == 0)
        rc = batch_add_sample(b, t_ms, v);
    if (rc != 0) {
        batch_abort_series(b);
        return ERR_SET(e, rc, "scrape: out of memory");
    }
    struct err ve;
    rc = batch_end_series_checked(b, &ve);
    if (rc == TIDE_EPARSE)
        return ERR_SET(e, rc, "%s", ve.msg);
    return rc;
}

/* Prometheus' resolveConflictingExposedLabels: the exposed values of
 * labels the target overrides, renamed exported_<name> (shortest names
 * first, prefixing again until the name is free). */
static int add_exported(struct scrape_tgt *t, const struct label *exposed, size_t nexp,
                        struct label *conf, size_t nconf)
{
    /* Stable sort by name length. */
    for (size_t i = 1; i < nconf; i++)
        for (size_t k = i; k > 0 && conf[k - 1].name.n > conf[k].name.n; k--) {
            struct label tmp = conf[k];
            conf[k] = conf[k - 1];
            conf[k - 1] = tmp;
        }
    for (size_t i = 0; i < nconf; i++) {
        struct strv name = conf[i].name;
        for (;;) {
            char *nn = arena_alloc(&t->set.arena, name.n + 10);
            if (nn == NULL)
                return -ENOMEM;
            memcpy(nn, "exported_", 9);
            memcpy(nn + 9, name.p, name.n);
            nn[name.n + 9] = 0;
            name = (struct strv){nn, name.n + 9};
            bool taken = labels_get(exposed, nexp, name).p != NULL ||
                         labels_get(t->labels, t->nlabels, name).p != NULL;
            for (size_t k = 0; k < i && !taken; k++)
                taken = strv_eq(conf[k].name, name);
            if (!taken)
                break;
        }
        conf[i].name = name;
    }
    for (size_t i = 0; i < nconf; i++) {
        int rc = relabel_set_put(&t->set, conf[i].name, conf[i].value);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool sorted_has(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == x)
            return true;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* One parsed series: target labels, metric relabelling, limits, then into
 * out or stamped. */
static int append_series(struct scrape_tgt *t, size_t i, struct counts *c, bool *limit_hit,
                         struct err *e)
{
    const struct scrape_job *j = t->job;
    const struct batch *p = &t->parsed;
    const struct batch_series *s = &p->series[i];
    const struct label *ls = &p->labels[s->label_off];
    c->scraped += s->nsamples;
    relabel_set_reset(&t->set);
    int rc = 0;
    for (uint32_t k = 0; rc == 0 && k < s->nlabels; k++)
        rc = relabel_set_put(&t->set, ls[k].name, ls[k].value);
    struct label conf[TARGETS_LABELS_MAX + 8];
    size_t nconf = 0;
    for (size_t k = 0; rc == 0 && k < t->nlabels; k++) {
        const struct label *tl = &t->labels[k];
        struct strv have = labels_get(ls, s->nlabels, tl->name);
        if (j->honor_labels) {
            if (have.p == NULL)
                rc = relabel_set_put(&t->set, tl->name, tl->value);
            continue;
        }
        if (have.n > 0 && nconf < sizeof conf / sizeof conf[0])
            conf[nconf++] = (struct label){tl->name, have};
        rc = relabel_set_put(&t->set, tl->name, tl->value);
    }
    if (rc == 0 && nconf > 0)
        rc = add_exported(t, ls, s->nlabels, conf, nconf);
    bool keep = true;
    if (rc == 0)
        rc = relabel_apply(&j->metric_relabel, &t->set, &keep);
    if (rc != 0)
        return ERR_SET(e, rc, "scrape: out of memory");
    if (!keep || t->set.n == 0)
        return 0;
    relabel_set_sort(&t->set);
    if (j->label_limit && t->set.n > j->label_limit)
        return ERR_SET(e, TIDE_ELIMIT, "label_limit exceeded (metric: %.*s, number of labels: "
                                       "%zu, limit: %llu)",
                       (int)relabel_set_get(&t->set, STRV_LIT("__name__")).n,
                       relabel_set_get(&t->set, STRV_LIT("__name__")).p, t->set.n,
                       (unsigned long long)j->label_limit);
    for (size_t k = 0; k < t->set.n; k++) {
        const struct label *l = &t->set.v[k];
        if (j->label_name_length_limit && l->name.n > j->label_name_length_limit)
            return ERR_SET(e, TIDE_ELIMIT, "label_name_length_limit exceeded (label name: %.*s, "
                                           "length: %zu, limit: %llu)",
                           (int)l->name.n, l->name.p, l->name.n,
                           (unsigned long long)j->label_name_length_limit);
        if (j->label_value_length_limit && l->value.n > j->label_value_length_limit)
            return ERR_SET(e, TIDE_ELIMIT, "label_value_length_limit exceeded (label name: %.*s, "
                                           "length: %zu, limit: %llu)",
                           (int)l->name.n, l->name.p, l->value.n,
                           (unsigned long long)j->label_value_length_limit);
    }
    if (relabel_set_get(&t->set, STRV_LIT("__name__")).p == NULL)
        return ERR_SET(e, TIDE_EPARSE, "__name__ label is missing");
    uint64_t h = labels_hash(t->set.v, t->set.n);
    for (uint32_t k = 0; k < s->nsamples; k++) {
        const struct sample *sm = &p->samples[s->sample_off + k];
        c->added++;
        if (j->sample_limit && c->added > j->sample_limit) {
            *limit_hit = true; /* counted on, as Prometheus reports the totals */
            continue;
        }
        if (*limit_hit)
            continue;
        bool own_ts = sm->t_ms != NO_TIMESTAMP && j->honor_timestamps;
        int64_t ts = own_ts ? sm->t_ms : t->now_ms;
        rc = emit(own_ts ? &t->stamped : t->out, &t->set, ts, sm->v, e);
        if (rc != 0)
            return rc;
    }
    if (mem_grow((void **)&t->cur, &t->cap_cur, t->ncur + 1, sizeof *t->cur) != 0)
        return ERR_SET(e, -ENOMEM, "scrape: out of memory");
    t->cur[t->ncur++] = h;
    if (!sorted_has(t->prev, t->nprev, h))
        c->series_added++;
    return 0;
}

static bool prefix(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

static int process(struct scrape_tgt *t, struct counts *c, struct err *e)
{
    batch_reset(&t->parsed);
    batch_reset(&t->stamped);
    t->ncur = 0;
    struct expfmt_opts o = {.default_t_ms = NO_TIMESTAMP};
    struct ingest_report rep;
    ingest_report_init(&rep);
    int rc = prefix(t->x.rs.content_type, "application/openmetrics-text")
                 ? expfmt_parse_openmetrics(t->body.p, t->body.len, &o, &t->parsed, &rep)
                 : expfmt_parse(t->body.p, t->body.len, &o, &t->parsed, &rep);
    if (rc != 0)
        return ERR_SET(e, rc, "scrape: out of memory parsing the body");
    if (rep.lines_bad > 0 && rep.nerrs > 0)
        return ERR_SET(e, TIDE_EPARSE, "line %d:%d: %s", rep.errs[0].line, rep.errs[0].col,
                       rep.errs[0].msg);
    bool limit_hit = false;
    for (size_t i = 0; i < t->parsed.nseries; i++) {
        rc = append_series(t, i, c, &limit_hit, e);
        if (rc != 0)
            return rc;
    }
    if (limit_hit)
        return ERR_SET(e, TIDE_ELIMIT, "sample limit exceeded");
    return 0;
}

static const char *status_text(int status)
{
    switch (status) {
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

/* The meta series, with the target labels. */
static int add_meta(struct scrape_tgt *t, const char *name, double v, struct err *e)
{
    relabel_set_reset(&t->set);
    int rc = relabel_set_put(&t->set, STRV_LIT("__name__"), strv_c(name));
    for (size_t i = 0; rc == 0 && i < t->nlabels; i++)
        rc = relabel_set_put(&t->set, t->labels[i].name, t->labels[i].value);
    if (rc != 0)
        return ERR_SET(e, rc, "scrape: out of memory");
    relabel_set_sort(&t->set);
    return emit(t->out, &t->set, t->now_ms, v, e);
}

/* Give back what one scrape needed (the body, its parse): a target scraped
 * every 15 s should not hold a node_exporter-sized body in between. The
 * manager's batch holds copies of every string it needs. */
static void release_scratch(struct scrape_tgt *t)
{
    size_t max = t->body.max;
    buf_fini(&t->body);
    buf_init(&t->body, max);
    batch_fini(&t->parsed);
    batch_init(&t->parsed);
    batch_fini(&t->stamped);
    batch_init(&t->stamped);
    relabel_set_fini(&t->set);
    relabel_set_init(&t->set);
}

/* The engine thread: the transfer is over. */
static void on_xfer_done(struct scrape_xfer *x, int rc, const struct err *xe)
{
    struct scrape_tgt *t = (struct scrape_tgt *)x;
    struct err e;
    err_clear(&e);
    if (rc != 0) {
        e = *xe;
        if (rc == TIDE_ELIMIT)
            ERR_SET(&e, rc, "body size limit exceeded (limit: %zu bytes)", t->body.max);
    } else if (x->rs.status != 200) {
        rc = ERR_SET(&e, TIDE_EINVAL, "server returned HTTP status %d %s", x->rs.status,
                     status_text(x->rs.status));
    }
    double secs = (double)(time_mono_ns() - t->t0_ns) / 1e9;
    struct counts c = {0};
    if (rc == 0)
        rc = process(t, &c, &e);
    if (rc != 0) {
        batch_reset(t->out); /* a failed scrape stores only its meta series */
        batch_reset(&t->stamped);
        c.series_added = 0;
    } else {
        uint64_t *tmp = t->prev;
        size_t tcap = t->cap_prev;
        qsort(t->cur, t->ncur, sizeof *t->cur, u64_cmp);
        t->prev = t->cur;
        t->nprev = t->ncur;
        t->cap_prev = t->cap_cur;
        t->cur = tmp;
        t->cap_cur = tcap;
        t->ncur = 0;
    }
    struct err me;
    err_clear(&me);
    int mrc = add_meta(t, "up", rc == 0 ? 1 : 0, &me);
    if (mrc == 0)
        mrc = add_meta(t, "scrape_duration_seconds", secs, &me);
    if (mrc == 0)
        mrc = add_meta(t, "scrape_samples_scraped", (double)c.scraped, &me);
    if (mrc == 0)
        mrc = add_meta(t, "scrape_samples_post_metric_relabeling", (double)c.added, &me);
    if (mrc == 0)
        mrc = add_meta(t, "scrape_series_added", (double)c.series_added, &me);
    if (rc == 0 && mrc != 0) {
        rc = mrc;
        e = me;
    }
    if (rc == 0 && t->stamped.nseries > 0) {
        /* Refused samples (out of order, past a limit) are dropped as
         * Prometheus drops them: the scrape itself stays up. */
        struct err se;
        err_clear(&se);
        t->k->sink(t->k->sink_ctx, &t->stamped, &se);
    }
    release_scratch(t);
    t->done(t->token, rc, &e);
}

static const struct target_kind scrape_target_kind = {
    .name = "scrape",
    .spread = true,
    .open = scrape_open,
    .start = scrape_start,
    .close = scrape_close,
};

int scrape_kind_new(struct targets *m, batch_sink_fn *sink, void *sink_ctx,
                    struct scrape_engine **eng, void **kind, struct err *e)
{
    *kind = NULL;
    *eng = NULL;
    struct scrape_kind *k = calloc(1, sizeof *k);
    if (k == NULL)
        return ERR_SET(e, -ENOMEM, "scrape: out of memory");
    pthread_mutex_init(&k->add_mu, NULL);
    k->sink = sink;
    k->sink_ctx = sink_ctx;
    int rc = scrape_engine_new(&k->eng, e);
    if (rc == 0) {
        rc = targets_register_kind(m, &scrape_target_kind, k);
        if (rc != 0)
            ERR_SET(e, rc, "scrape: cannot register the scrape kind");
    }
    if (rc != 0) {
        scrape_kind_free(k);
        return rc;
    }
    *eng = k->eng;
    *kind = k;
    return 0;
}

int scrape_kind_add(void *kind, struct targets *m, const struct scrape_resolved *r, struct err *e)
{
    struct scrape_kind *k = kind;
    pthread_mutex_lock(&k->add_mu);
    k->pending = r;
    struct target_spec spec = {
        .kind = "scrape",
        .name = r->name,
        .address = r->address,
        .module = r->job->name,
        .interval_ms = r->interval_ms,
    };
    int rc = targets_add(m, &spec, e);
    k->pending = NULL;
    pthread_mutex_unlock(&k->add_mu);
    return rc;
}

void scrape_kind_free(void *kind)
{
    struct scrape_kind *k = kind;
    if (k == NULL)
        return;
    scrape_engine_free(k->eng);
    pthread_mutex_destroy(&k->add_mu);
    free(k);
}
