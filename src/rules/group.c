/* group.c: one rule group's evaluation (group.h): each rule's query through
 * the evaluator (evaluator.h: the local PromQL engine or the query_backend,
 * chosen by the wiring), its result written back through the pipeline (records,
 * ALERTS, ALERTS_FOR_STATE, staleness markers), alert state kept and due
 * alerts handed to the notifier; the for-state restore after a restart; the
 * group's own thread on Prometheus' aligned schedule.
 *
 * Memory: each rule evaluation uses one arena (expanded templates, label
 * arrays), freed when the rule is done; the batch borrows from it and from
 * the query result, both alive until pipeline_append() returned.
 */
#include "rules/group.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/time.h"
#include "model/batch.h"
#include "model/pipeline.h"
#include "rules/evaluator.h"
#include "rules/notify.h"
#include "rules/template.h"

#define ALERT_METRIC "ALERTS"
#define ALERT_FOR_STATE_METRIC "ALERTS_FOR_STATE"

int64_t group_eval_timestamp(const char *file, const char *name, int64_t interval_ms,
                             int64_t now_ms)
{
    /* Prometheus hashes the label set {file=…, name=…} (labels.Hash: each
     * name and value followed by 0xff, in name order) with xxhash64 and
     * takes it modulo the interval in nanoseconds. */
    size_t fl = strlen(file), nl = strlen(name);
    size_t n = 4 + 1 + fl + 1 + 4 + 1 + nl + 1;
    char *b = malloc(n);
    uint64_t h = 0;
    if (b) {
        size_t o = 0;
        memcpy(b + o, "file\xff", 5);
        o += 5;
        memcpy(b + o, file, fl);
        o += fl;
        b[o++] = (char)0xff;
        memcpy(b + o, "name\xff", 5);
        o += 5;
        memcpy(b + o, name, nl);
        o += nl;
        b[o++] = (char)0xff;
        h = XXH64(b, o, 0);
        free(b);
    }
    int64_t iv = interval_ms * 1000000;
    int64_t offset = (int64_t)(h % (uint64_t)iv);
    int64_t now = now_ms * 1000000;
    int64_t adj = now - offset;
    int64_t base = adj - (adj % iv);
    return (base + offset) / 1000000;
}

int group_new(struct group **out, const struct rule_group_def *def, const struct group_env *env,
              bool restore)
{
    *out = NULL;
    struct group *g = calloc(1, sizeof *g);
    if (g == NULL)
        return -ENOMEM;
    g->def = def;
    g->env = env;
    snprintf(g->key, sizeof g->key, "%s;%s", def->file, def->name);
    g->interval_ms = def->interval_ms > 0 ? def->interval_ms : env->default_interval_ms;
    if (g->interval_ms <= 0)
        g->interval_ms = 60000;
    g->nrules = def->nrules;
    g->rules = calloc(def->nrules ? def->nrules : 1, sizeof *g->rules);
    if (g->rules == NULL) {
        free(g);
        return -ENOMEM;
    }
    for (size_t i = 0; i < def->nrules; i++) {
        g->rules[i].def = &def->rules[i];
        g->rules[i].restored = !restore;
    }
    g->evals_to_restore = restore ? 2 : 0;
    pthread_mutex_init(&g->mu, NULL);
    *out = g;
    return 0;
}

static void written_free(struct written *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i].labels);
    free(w);
}

void group_free(struct group *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->nrules; i++) {
        alert_set_fini(&g->rules[i].alerts);
        written_free(g->rules[i].prev, g->rules[i].nprev);
    }
    free(g->rules);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* ---- one rule's output ---- */

/* The labels, series and samples one rule evaluation writes. */
struct out {
    struct batch b;
    struct written *now; /* sorted later */
    size_t nnow, cap;
    int rc;
};

static int cmp_written(const void *a, const void *b)
{
    const struct written *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return labels_cmp(x->labels, x->nlabels, y->labels, y->nlabels);
}

/* Add one series with one sample; `ls` sorted and normalised. */
static void emit(struct out *o, const struct label *ls, size_t n, int64_t t_ms, double v)
{
    if (o->rc != 0)
        return;
    int rc = batch_begin_series(&o->b);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = batch_add_label(&o->b, ls[i].name, ls[i].value);
    if (rc == 0)
        rc = batch_add_sample(&o->b, t_ms, v);
    if (rc == 0)
        rc = batch_end_series(&o->b);
    if (rc == 0 && o->nnow == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        struct written *w = realloc(o->now, cap * sizeof *w);
        if (w == NULL)
            rc = -ENOMEM;
        else {
            o->now = w;
            o->cap = cap;
        }
    }
    if (rc == 0) {
        struct label *copy = alert_labels_dup(ls, n);
        if (copy == NULL)
            rc = -ENOMEM;
        else
            o->now[o->nnow++] = (struct written){labels_hash(ls, n), copy, n};
    }
    o->rc = rc;
}

/* Staleness markers for what the rule wrote last time and not now; then
 * now becomes prev. */
static void finish_written(struct rule_state *r, struct out *o, int64_t t_ms)
{
    if (o->nnow > 1)
        qsort(o->now, o->nnow, sizeof *o->now, cmp_written);
    union {
        uint64_t u;
        double d;
    } stale = {.u = STALE_NAN_BITS};
    for (size_t i = 0; i < r->nprev; i++)
        if (o->nnow == 0 || !bsearch(&r->prev[i], o->now, o->nnow, sizeof *o->now, cmp_written)) {
            size_t keep = o->nnow; /* a marker is not a series the rule wrote */
            emit(o, r->prev[i].labels, r->prev[i].nlabels, t_ms, stale.d);
            if (o->nnow > keep) {
                free(o->now[--o->nnow].labels);
            }
        }
}

/* Concatenate label arrays, sort, drop empty values, last duplicate wins:
 * the override order is the argument order. */
static struct label *merge(struct arena *a, size_t *n, const struct label *x, size_t nx,
                           bool drop_name, const struct label *y, size_t ny, const char *set_name,
                           const char *set_value)
{
    struct label *v = arena_alloc(a, (nx + ny + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < nx; i++)
        if (!drop_name || !strv_eq_c(x[i].name, LABEL_METRIC_NAME))
            v[k++] = x[i];
    for (size_t i = 0; i < ny; i++)
        v[k++] = y[i];
    if (set_name)
        v[k++] = (struct label){strv_c(set_name), strv_c(set_value)};
    labels_sort(v, k);
    *n = labels_normalize(v, k);
    return v;
}

static bool has_duplicates(struct written *w, size_t n)
{
    if (n < 2)
        return false;
    qsort(w, n, sizeof *w, cmp_written);
    for (size_t i = 1; i < n; i++)
        if (cmp_written(&w[i - 1], &w[i]) == 0)
            return true;
    return false;
}

static int append(const struct group *g, struct out *o, struct err *e)
{
    if (o->rc != 0)
        return ERR_SET(e, o->rc, "out of memory");
    if (o->b.nseries == 0)
        return 0;
    int rc = pipeline_append(g->env->pipeline, &o->b, NULL, e);
    return rc == TIDE_ELIMIT ? 0 : rc; /* refused series are counted by the commit stage */
}

static const char *expand(struct arena *a, const struct tmpl *t, const struct tmpl_data *d)
{
    struct buf b;
    buf_init(&b, 0);
    struct err e = {0};
    int rc = tmpl_exec(t, d, &b, &e);
    const char *s;
    if (rc != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "<error expanding template: %s>", e.msg);
        s = arena_strndup(a, msg, strlen(msg));
    } else {
        s = arena_strndup(a, b.p ? b.p : "", b.len);
    }
    buf_fini(&b);
    return s ? s : "";
}

static void set_error(struct group *g, struct rule_state *r, const char *msg)
{
    pthread_mutex_lock(&g->mu);
    r->health = RULE_ERR;
    snprintf(r->last_error, sizeof r->last_error, "%s", msg);
    g->failures++;
    pthread_mutex_unlock(&g->mu);
}

static int eval_record(struct group *g, struct rule_state *r, const struct query_result *res,
                       int64_t t_ms, struct arena *a, struct out *o, struct err *e)
{
    const struct rule_def *d = r->def;
    size_t n = res->type == QUERY_SCALAR ? 1 : res->nseries;
    if (g->def->limit > 0 && n > (size_t)g->def->limit)
        return ERR_SET(e, TIDE_ELIMIT, "exceeded limit of %lld with %zu series",
                       (long long)g->def->limit, n);
    for (size_t i = 0; i < n; i++) {
        const struct label *sl = NULL;
        size_t sn = 0;
        double v = res->scalar;
        if (res->type == QUERY_VECTOR) {
            sl = res->series[i].labels;
            sn = res->series[i].nlabels;
            v = res->series[i].nsamples ? res->series[i].samples[0].v : NAN;
        }
        size_t ln = 0;
        struct label *ls =
            merge(a, &ln, sl, sn, true, d->labels, d->nlabels, LABEL_METRIC_NAME, d->name);
        if (ls == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        emit(o, ls, ln, t_ms, v);
    }
    if (o->rc == 0 && has_duplicates(o->now, o->nnow))
        return ERR_SET(e, TIDE_EINVAL,
                       "vector contains metrics with the same labelset after applying rule labels");
    return 0;
}

static int eval_alert(struct group *g, struct rule_state *r, const struct query_result *res,
                      int64_t ts_ms, int64_t t_ms, struct arena *a, struct out *o, struct err *e)
{
    const struct rule_def *d = r->def;
    const struct group_env *env = g->env;
    size_t n = res->type == QUERY_SCALAR ? 1 : res->nseries;
    struct alert_input *in = arena_alloc(a, (n ? n : 1) * sizeof *in);
    struct label *exp_labels = arena_alloc(a, (d->nlabels ? d->nlabels : 1) * sizeof *exp_labels);
    if (in == NULL || exp_labels == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct label *sl = NULL;
        size_t sn = 0;
        double v = res->scalar;
        if (res->type == QUERY_VECTOR) {
            sl = res->series[i].labels;
            sn = res->series[i].nlabels;
            v = res->series[i].nsamples ? res->series[i].samples[0].v : NAN;
        }
        struct tmpl_data td = {
            sl, sn, env->external_labels, env->nexternal_labels, env->external_url, v};
        for (size_t k = 0; k < d->nlabels; k++)
            exp_labels[k] =
                (struct label){d->labels[k].name, strv_c(tmpl_is_plain(d->label_tmpls[k])
                                                             ? d->labels[k].value.p
                                                             : expand(a, d->label_tmpls[k], &td))};
        struct label *ann = arena_alloc(a, (d->nannotations ? d->nannotations : 1) * sizeof *ann);
        if (ann == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        for (size_t k = 0; k < d->nannotations; k++)
            ann[k] = (struct label){d->annotations[k].name,
                                    strv_c(expand(a, d->annotation_tmpls[k], &td))};
        size_t ln = 0;
        struct label *ls =
            merge(a, &ln, sl, sn, true, exp_labels, d->nlabels, "alertname", d->name);
        if (ls == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        in[i] = (struct alert_input){ls, ln, ann, d->nannotations, v};
    }
    pthread_mutex_lock(&g->mu);
    int rc = alert_set_update(&r->alerts, in, n, ts_ms, d->for_ms, d->keep_firing_for_ms,
                              g->def->limit, e);
    const struct alert **due = NULL;
    size_t ndue = 0;
    if (rc == 0) {
        due = arena_alloc(a, (r->alerts.n ? r->alerts.n : 1) * sizeof *due);
        if (due == NULL)
            rc = ERR_SET(e, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < r->alerts.n; i++) {
        struct alert *al = &r->alerts.v[i];
        if (al->state != ALERT_INACTIVE && r->restored) {
            size_t an = 0;
            struct label *ls = merge(a, &an, al->labels, al->nlabels, false, NULL, 0,
                                     LABEL_METRIC_NAME, ALERT_METRIC);
            struct label *l2 = ls ? merge(a, &an, ls, an, false, NULL, 0, "alertstate",
                                          alert_state_name(al->state))
                                  : NULL;
            if (l2)
                emit(o, l2, an, t_ms, 1);
            size_t fn = 0;
            struct label *fs = merge(a, &fn, al->labels, al->nlabels, false, NULL, 0,
                                     LABEL_METRIC_NAME, ALERT_FOR_STATE_METRIC);
            if (fs)
                emit(o, fs, fn, t_ms, (double)(al->active_at_ms / 1000));
            if (ls == NULL || l2 == NULL || fs == NULL)
                rc = ERR_SET(e, -ENOMEM, "out of memory");
        }
        if (alert_needs_sending(al, ts_ms, env->resend_delay_ms)) {
            al->last_sent_ms = ts_ms;
            int64_t delta =
                env->resend_delay_ms > g->interval_ms ? env->resend_delay_ms : g->interval_ms;
            al->valid_until_ms = ts_ms + 4 * delta;
            due[ndue++] = al;
        }
    }
    if (rc == 0 && ndue && env->notifier)
        notifier_send(env->notifier, d->expr, due, ndue);
    pthread_mutex_unlock(&g->mu);
    return rc;
}

/* The group is stopping: a backend request gives up (evaluator_cancel_fn). */
static bool stopping(void *ctx)
{
    struct group *g = ctx;
    return loop_stopping(&g->loop);
}

static void eval_rule(struct group *g, struct rule_state *r, int64_t ts_ms)
{
    const struct rule_def *d = r->def;
    int64_t t_ms = ts_ms - g->def->query_offset_ms;
    int64_t t0 = time_mono_ns();
    struct err e = {0};
    struct rule_answer ans;
    rule_answer_init(&ans);
    struct arena a;
    arena_init(&a, 0);
    struct out o = {0};
    batch_init(&o.b);
    int rc = evaluator_instant(g->env->eval, d->expr, t_ms, &g->env->query,
                               g->loop_started ? stopping : NULL, g, &ans, &e);
    if (rc == 0) {
        const struct query_result *res = ans.res;
        if (res->type != QUERY_VECTOR && res->type != QUERY_SCALAR)
            rc = ERR_SET(&e, TIDE_EINVAL, "rule result is not a vector or scalar");
        else if (d->kind == RULE_RECORD)
            rc = eval_record(g, r, res, t_ms, &a, &o, &e);
        else
            rc = eval_alert(g, r, res, ts_ms, t_ms, &a, &o, &e);
    }
    if (rc == 0) {
        finish_written(r, &o, t_ms);
        rc = append(g, &o, &e);
    }
    if (rc == 0) {
        written_free(r->prev, r->nprev);
        r->prev = o.now;
        r->nprev = o.nnow;
        o.now = NULL;
        o.nnow = 0;
    }
    written_free(o.now, o.nnow);
    batch_fini(&o.b);
    rule_answer_fini(&ans);
    arena_fini(&a);
    double secs = (double)(time_mono_ns() - t0) / 1e9;
    if (rc == -ECANCELED && g->loop_started && stopping(g))
        return; /* cut short by a stop: no verdict on the rule */
    if (rc != 0)
        set_error(g, r, e.msg[0] ? e.msg : tide_strerror(rc));
    pthread_mutex_lock(&g->mu);
    if (rc == 0) {
        r->health = RULE_OK;
        r->last_error[0] = 0;
    }
    r->last_eval_ms = time_now_ms();
    r->eval_seconds = secs;
    g->evaluations++;
    pthread_mutex_unlock(&g->mu);
}

void group_eval(struct group *g, int64_t ts_ms)
{
    int64_t t0 = time_mono_ns();
    int64_t wall = time_now_ms();
    for (size_t i = 0; i < g->nrules; i++)
        eval_rule(g, &g->rules[i], ts_ms);
    pthread_mutex_lock(&g->mu);
    g->last_eval_ms = wall;
    g->last_duration_s = (double)(time_mono_ns() - t0) / 1e9;
    pthread_mutex_unlock(&g->mu);
}

/* ---- restoring the for state ---- */

/* One ALERTS_FOR_STATE series read back for a rule (evaluator_series_fn). */
struct restore {
    struct group *g;
    struct rule_state *r;
    int64_t ts_ms;
};

static void restore_series(void *ctx, const struct label *ls, size_t n, const struct sample *s,
                           size_t ns)
{
    struct restore *rs = ctx;
    const struct group_env *env = rs->g->env;
    int64_t hold = rs->r->def->for_ms;
    struct label key[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 128; i++)
        if (!strv_eq_c(ls[i].name, LABEL_METRIC_NAME))
            key[k++] = ls[i];
    if (ns == 0)
        return;
    union {
        double d;
        uint64_t u;
    } last = {.d = s[ns - 1].v};
    if (last.u == STALE_NAN_BITS || !(last.d > 0))
        return;
    int64_t down_ms = s[ns - 1].t_ms / 1000 * 1000;
    int64_t restored = (int64_t)last.d * 1000;
    int64_t remaining = hold - (down_ms - restored);
    if (remaining <= 0) {
        /* was firing: the next evaluation fires it again */
    } else if (remaining < env->for_grace_period_ms) {
        restored = rs->ts_ms + env->for_grace_period_ms - hold;
    } else {
        restored += rs->ts_ms - down_ms;
    }
    pthread_mutex_lock(&rs->g->mu);
    struct alert *a = alert_set_find(&rs->r->alerts, key, k);
    if (a != NULL)
        a->active_at_ms = restored;
    pthread_mutex_unlock(&rs->g->mu);
}

/* Errors of the read are not kept: as in Prometheus, a rule whose state
 * cannot be read back starts its `for` afresh. Runs without mu (a backend
 * read may be slow); restore_series() takes it to change an alert. Only
 * the group's thread changes the alert set, so the set read here stays. */
static void restore_rule(struct group *g, struct rule_state *r, int64_t ts_ms)
{
    const struct rule_def *d = r->def;
    const struct group_env *env = g->env;
    if (d->kind != RULE_ALERT || d->for_ms < env->for_grace_period_ms)
        return;
    struct restore rs = {g, r, ts_ms};
    struct err e = {0};
    evaluator_for_state(env->eval, d->name, ts_ms - env->outage_tolerance_ms, ts_ms,
                        g->loop_started ? stopping : NULL, g, restore_series, &rs, &e);
}

void group_restore(struct group *g, int64_t ts_ms)
{
    for (size_t i = 0; i < g->nrules; i++)
        restore_rule(g, &g->rules[i], ts_ms);
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->nrules; i++)
        g->rules[i].restored = true;
    pthread_mutex_unlock(&g->mu);
}

/* ---- reload ---- */

void group_copy_state(struct group *g, struct group *old)
{
    pthread_mutex_lock(&old->mu);
    pthread_mutex_lock(&g->mu);
    bool *taken = calloc(old->nrules ? old->nrules : 1, sizeof *taken);
    for (size_t i = 0; taken && i < g->nrules; i++) {
        struct rule_state *r = &g->rules[i];
        struct rule_state *from = NULL;
        if (i < old->nrules && !taken[i] && rule_def_equal(r->def, old->rules[i].def))
            from = &old->rules[i];
        for (size_t j = 0; from == NULL && j < old->nrules; j++)
            if (!taken[j] && rule_def_equal(r->def, old->rules[j].def))
                from = &old->rules[j];
        if (from == NULL)
            continue;
        taken[from - old->rules] = true;
        alert_set_move(&r->alerts, &from->alerts);
        r->prev = from->prev;
        r->nprev = from->nprev;
        from->prev = NULL;
        from->nprev = 0;
        r->restored = from->restored;
        r->carried = true;
        r->backfill = from->backfill;
        r->backfill_progress = from->backfill_progress;
        r->health = from->health;
        memcpy(r->last_error, from->last_error, sizeof r->last_error);
        r->last_eval_ms = from->last_eval_ms;
        r->eval_seconds = from->eval_seconds;
    }
    free(taken);
    g->last_eval_ms = old->last_eval_ms;
    g->last_duration_s = old->last_duration_s;
    g->iterations = old->iterations;
    g->missed = old->missed;
    g->failures = old->failures;
    g->evaluations = old->evaluations;
    /* A reload before the first restore finished carries its countdown
     * over: the carried rules are not restored yet and write no ALERTS
     * until they are. */
    g->evals_to_restore = old->evals_to_restore;
    pthread_mutex_unlock(&g->mu);
    pthread_mutex_unlock(&old->mu);
}

void group_mark_stale(struct group *g, int64_t ts_ms)
{
    struct out o = {0};
    batch_init(&o.b);
    for (size_t i = 0; i < g->nrules; i++) {
        finish_written(&g->rules[i], &o, ts_ms - g->def->query_offset_ms);
    }
    struct err e = {0};
    append(g, &o, &e);
    written_free(o.now, o.nnow);
    batch_fini(&o.b);
}

/* ---- the group's thread ---- */

static void run(void *ctx, struct loop *l)
{
    struct group *g = ctx;
    int64_t now = time_now_ms();
    if (g->next_ms == 0)
        g->next_ms =
            group_eval_timestamp(g->def->file, g->def->name, g->interval_ms, now) + g->interval_ms;
    if (g->next_ms > now) {
        loop_sleep(l, g->next_ms - now);
        return; /* woken or slept: look again (stop, early wake) */
    }
    int64_t missed = (now - g->next_ms) / g->interval_ms;
    int64_t ts = g->next_ms + missed * g->interval_ms;
    pthread_mutex_lock(&g->mu);
    g->iterations += (uint64_t)missed + 1;
    g->missed += (uint64_t)missed;
    pthread_mutex_unlock(&g->mu);
    group_eval(g, ts);
    g->next_ms = ts + g->interval_ms;
    if (g->evals_to_restore > 0 && --g->evals_to_restore == 0)
        group_restore(g, time_now_ms());
}

int group_start(struct group *g, struct err *e)
{
    int rc = loop_start(&g->loop, "tide-rules", run, g, 0, e);
    g->loop_started = rc == 0;
    return rc;
}

void group_stop(struct group *g)
{
    if (g->loop_started)
        loop_stop(&g->loop);
    g->loop_started = false;
}
