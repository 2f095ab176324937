/* backfill.c: recording rules over history (backfill.h). One rule at a
 * time: query_range() window by window at the group's evaluation times,
 * rename and label each series as group.c does at run time, drop samples
 * storage already has (storage_select() of that very series), append the
 * rest through the pipeline.
 */
#include "rules/backfill.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/fmtfloat.h"
#include "core/loop.h"
#include "core/time.h"
#include "model/batch.h"
#include "model/matcher.h"
#include "model/pipeline.h"
#include "query/query.h"
#include "rules/evaluator.h"
#include "rules/rules.h"
#include "storage/storage.h"

#define MATCH_MAX 16

struct job {
    char group[256], file[1024], name[256];
    char *expr;
    struct label *labels; /* alert_labels_dup() block */
    size_t nlabels;
    int64_t interval_ms;
};

static int jq(struct buf *b, const char *s)
{
    int rc = buf_putc(b, '"');
    for (; *s && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            rc = buf_printf(b, "\\u%04x", c);
        else
            rc = buf_putc(b, (char)c);
    }
    return rc ? rc : buf_putc(b, '"');
}

/* Timestamps storage already has for exactly this series in [from, to]. */
static int existing(struct storage *s, const struct label *ls, size_t n, int64_t from, int64_t to,
                    int64_t **ts, size_t *nts, struct err *e)
{
    *ts = NULL;
    *nts = 0;
    struct matcher m[64];
    size_t nm = 0;
    int rc = 0;
    for (size_t i = 0; i < n && i < 64 && rc == 0; i++) {
        rc = matcher_init(&m[nm], MATCH_EQ, ls[i].name, ls[i].value, e);
        if (rc == 0)
            nm++;
    }
    struct storage_set *set = NULL;
    if (rc == 0)
        rc = storage_select(s, m, nm, from, to, &set, e);
    while (rc == 0 && storage_set_next(set)) {
        const struct label *sl;
        size_t sn;
        storage_set_labels(set, &sl, &sn);
        if (labels_cmp(sl, sn, ls, n) != 0)
            continue; /* a series with more labels */
        const struct sample *v;
        size_t k;
        rc = storage_set_samples(set, &v, &k, e);
        if (rc == 0 && k) {
            *ts = malloc(k * sizeof **ts);
            if (*ts == NULL)
                rc = -ENOMEM;
            for (size_t i = 0; rc == 0 && i < k; i++)
                (*ts)[i] = v[i].t_ms;
            *nts = rc == 0 ? k : 0;
        }
        break;
    }
    storage_set_free(set);
    for (size_t i = 0; i < nm; i++)
        matcher_fini(&m[i]);
    return rc;
}

static bool has_ts(const int64_t *v, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == t;
}

static int example(struct buf *ex, const struct label *ls, size_t n, const struct sample *s)
{
    int rc = buf_puts(ex, "{");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = buf_printf(ex, "%s%.*s=\"%.*s\"", i ? "," : "", (int)ls[i].name.n, ls[i].name.p,
                        (int)ls[i].value.n, ls[i].value.p);
    rc = rc ? rc : buf_puts(ex, "} ");
    rc = rc ? rc : fmtfloat_f(ex, s->v);
    return rc ? rc : buf_printf(ex, " @%lld", (long long)s->t_ms);
}

static int run_job(struct rules *r, const struct job *j, const struct backfill_opts *o,
                   const struct matcher *mm, size_t nmm, struct buf *out, struct err *e)
{
    const struct group_env *env = &r->env;
    /* The first evaluation time >= from on the group's grid. */
    int64_t t0 = group_eval_timestamp(j->file, j->group, j->interval_ms, o->from_ms);
    if (t0 < o->from_ms)
        t0 += j->interval_ms;
    uint64_t nseries = 0, nsamples = 0, written = 0, have = 0;
    struct buf ex;
    buf_init(&ex, 64 << 10);
    int nex = 0;
    int rc = 0;
    for (int64_t ws = t0; rc == 0 && ws <= o->to_ms;
         ws += (int64_t)BACKFILL_MAX_STEPS * j->interval_ms) {
        if (o->progress && o->to_ms > t0)
            o->progress(o->progress_ctx, (double)(ws - t0) / (double)(o->to_ms - t0));
        int64_t we = ws + (int64_t)(BACKFILL_MAX_STEPS - 1) * j->interval_ms;
        if (we > o->to_ms)
            we = o->to_ms;
        struct query *q = NULL;
        rc = query_range(&q, env->storage, j->expr, strlen(j->expr), ws, we, j->interval_ms,
                         &env->query, e);
        if (rc != 0)
            break;
        const struct query_result *res = query_result(q);
        struct batch b;
        batch_init(&b);
        struct arena a;
        arena_init(&a, 0);
        for (size_t i = 0; rc == 0 && i < res->nseries; i++) {
            const struct query_series *s = &res->series[i];
            struct label *ls = arena_alloc(&a, (s->nlabels + j->nlabels + 1) * sizeof *ls);
            if (ls == NULL) {
                rc = -ENOMEM;
                break;
            }
            size_t n = 0;
            for (size_t k = 0; k < s->nlabels; k++)
                if (!strv_eq_c(s->labels[k].name, LABEL_METRIC_NAME))
                    ls[n++] = s->labels[k];
            for (size_t k = 0; k < j->nlabels; k++)
                ls[n++] = j->labels[k];
            ls[n++] = (struct label){STRV_LIT(LABEL_METRIC_NAME), strv_c(j->name)};
            labels_sort(ls, n);
            n = labels_normalize(ls, n);
            bool ok = true;
            for (size_t k = 0; k < nmm && ok; k++)
                ok = matcher_matches_labels(&mm[k], ls, n);
            if (!ok)
                continue;
            int64_t *old = NULL;
            size_t nold = 0;
            rc = existing(env->storage, ls, n, ws, we, &old, &nold, e);
            if (rc != 0)
                break;
            nseries++;
            bool begun = false;
            for (size_t k = 0; k < s->nsamples && rc == 0; k++) {
                nsamples++;
                if (has_ts(old, nold, s->samples[k].t_ms)) {
                    have++;
                    continue;
                }
                if (nex < BACKFILL_EXAMPLES) {
                    if (nex++)
                        buf_putc(&ex, ',');
                    struct buf line;
                    buf_init(&line, 4096);
                    example(&line, ls, n, &s->samples[k]);
                    jq(&ex, line.p ? line.p : "");
                    buf_fini(&line);
                }
                written++;
                if (o->dry_run)
                    continue;
                if (!begun) {
                    rc = batch_begin_series(&b);
                    for (size_t l = 0; l < n && rc == 0; l++)
                        rc = batch_add_label(&b, ls[l].name, ls[l].value);
                    begun = true;
                }
                if (rc == 0)
                    rc = batch_add_sample(&b, s->samples[k].t_ms, s->samples[k].v);
            }
            if (begun && rc == 0)
                rc = batch_end_series(&b);
            free(old);
        }
        if (rc == 0 && !o->dry_run && b.nseries > 0) {
            rc = pipeline_append(env->pipeline, &b, NULL, e);
            if (rc == TIDE_ELIMIT)
                rc = 0;
        }
        if (rc == -ENOMEM)
            ERR_SET(e, rc, "out of memory");
        batch_fini(&b);
        arena_fini(&a);
        query_free(q);
    }
    if (rc == 0) {
        rc = buf_puts(out, "{\"group\":");
        rc |= jq(out, j->group);
        rc |= buf_puts(out, ",\"file\":");
        rc |= jq(out, j->file);
        rc |= buf_puts(out, ",\"rule\":");
        rc |= jq(out, j->name);
        rc |= buf_printf(out,
                         ",\"interval\":%g,\"series\":%llu,\"samples\":%llu,\"written\":%llu,"
                         "\"existing\":%llu,\"examples\":[%s]}",
                         (double)j->interval_ms / 1000, (unsigned long long)nseries,
                         (unsigned long long)nsamples, (unsigned long long)written,
                         (unsigned long long)have, ex.p ? ex.p : "");
        if (rc != 0)
            rc = ERR_SET(e, TIDE_ELIMIT, "report too large");
    }
    buf_fini(&ex);
    return rc;
}

/* Copy the selected rules out of the manager (its lock held briefly). */
static int select_jobs(struct rules *r, const struct backfill_opts *o, struct job **out, size_t *n,
                       struct err *e)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int rc = 0;
    rules_lock(r);
    for (size_t g = 0; g < r->ngroups && rc == 0; g++) {
        const struct group *gr = r->groups[g];
        if (o->group && strcmp(o->group, gr->def->name) != 0)
            continue;
        for (size_t i = 0; i < gr->nrules && rc == 0; i++) {
            const struct rule_def *d = gr->rules[i].def;
            if (d->kind != RULE_RECORD || (o->rule && strcmp(o->rule, d->name) != 0))
                continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                struct job *v = realloc(*out, cap * sizeof *v);
                if (v == NULL) {
                    rc = -ENOMEM;
                    break;
                }
                *out = v;
            }
            struct job *j = &(*out)[*n];
            memset(j, 0, sizeof *j);
            snprintf(j->group, sizeof j->group, "%s", gr->def->name);
            snprintf(j->file, sizeof j->file, "%s", gr->def->file);
            snprintf(j->name, sizeof j->name, "%s", d->name);
            j->expr = strdup(d->expr);
            j->labels = alert_labels_dup(d->labels, d->nlabels);
            j->nlabels = d->nlabels;
            j->interval_ms = gr->interval_ms;
            (*n)++;
            if (j->expr == NULL || j->labels == NULL)
                rc = -ENOMEM;
        }
    }
    rules_unlock(r);
    if (rc != 0)
        return ERR_SET(e, rc, "out of memory");
    if (*n == 0)
        return ERR_SET(e, TIDE_EINVAL, "no recording rule matches (group %s, rule %s)",
                       o->group ? o->group : "any", o->rule ? o->rule : "any");
    return 0;
}

int rules_backfill(struct rules *r, const struct backfill_opts *o, struct buf *out, struct err *e)
{
    if (!evaluator_is_local(r->env.eval))
        return ERR_SET(e, TIDE_EINVAL, "backfill reads and writes local storage: it is not "
                                       "available when rules are evaluated by a query_backend");
    if (o->to_ms < o->from_ms)
        return ERR_SET(e, TIDE_EINVAL, "backfill: end is before start");
    struct matcher mm[MATCH_MAX];
    size_t nmm = 0;
    if (o->match && o->match[0]) {
        int rc = matcher_parse_selector(o->match, mm, MATCH_MAX, &nmm, e);
        if (rc != 0)
            return rc;
    }
    struct job *jobs = NULL;
    size_t n = 0;
    int rc = select_jobs(r, o, &jobs, &n, e);
    if (rc == 0) {
        rc = buf_printf(out, "{\"dryRun\":%s,\"from\":%lld,\"to\":%lld,\"rules\":[",
                        o->dry_run ? "true" : "false", (long long)o->from_ms, (long long)o->to_ms);
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (i)
                buf_putc(out, ',');
            rc = run_job(r, &jobs[i], o, mm, nmm, out, e);
        }
        if (rc == 0)
            rc = buf_puts(out, "]}");
    }
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].expr);
        free(jobs[i].labels);
    }
    free(jobs);
    for (size_t i = 0; i < nmm; i++)
        matcher_fini(&mm[i]);
    return rc;
}

/* ---- the automatic backfill of `backfill: true` groups ---- */

/* Which rule the thread works on; its state is found again by name under
 * the locks each time, since a reload may replace the group meanwhile. */
struct auto_job {
    struct rules *r;
    char key[512];
    char rule[256];
};

/* Set the rule's backfill state (state NULL = leave) and progress. */
static void auto_set(struct auto_job *j, const char *state, double progress)
{
    rules_lock(j->r);
    for (size_t g = 0; g < j->r->ngroups; g++) {
        struct group *gr = j->r->groups[g];
        if (strcmp(gr->key, j->key) != 0)
            continue;
        pthread_mutex_lock(&gr->mu);
        for (size_t i = 0; i < gr->nrules; i++)
            if (gr->rules[i].def->kind == RULE_RECORD &&
                strcmp(gr->rules[i].def->name, j->rule) == 0 && gr->rules[i].backfill) {
                if (state)
                    gr->rules[i].backfill = state;
                gr->rules[i].backfill_progress = progress;
            }
        pthread_mutex_unlock(&gr->mu);
    }
    rules_unlock(j->r);
}

static void auto_progress(void *ctx, double done)
{
    auto_set(ctx, NULL, done);
}

/* The next pending rule: 1 and *j filled (marked running), 0 when none. */
static int auto_next(struct rules *r, struct auto_job *j, char *group, size_t cap)
{
    int found = 0;
    rules_lock(r);
    for (size_t g = 0; g < r->ngroups && !found; g++) {
        struct group *gr = r->groups[g];
        pthread_mutex_lock(&gr->mu);
        for (size_t i = 0; i < gr->nrules && !found; i++)
            if (gr->rules[i].backfill && strcmp(gr->rules[i].backfill, "pending") == 0) {
                gr->rules[i].backfill = "running";
                snprintf(j->key, sizeof j->key, "%s", gr->key);
                snprintf(j->rule, sizeof j->rule, "%s", gr->rules[i].def->name);
                snprintf(group, cap, "%s", gr->def->name);
                found = 1;
            }
        pthread_mutex_unlock(&gr->mu);
    }
    rules_unlock(r);
    return found;
}

static void auto_run(void *ctx, struct loop *l)
{
    struct rules *r = ctx;
    struct auto_job j = {.r = r};
    char group[256];
    while (!loop_stopping(l) && auto_next(r, &j, group, sizeof group)) {
        int64_t now = time_now_ms();
        struct backfill_opts o = {
            .from_ms = now - r->backfill_lookback_ms,
            .to_ms = now,
            .group = group,
            .rule = j.rule,
            .progress = auto_progress,
            .progress_ctx = &j,
        };
        struct buf rep;
        buf_init(&rep, 64u << 20);
        struct err e = {0};
        int rc = rules_backfill(r, &o, &rep, &e);
        buf_fini(&rep);
        auto_set(&j, rc == 0 ? "done" : "error", rc == 0 ? 1.0 : 0.0);
    }
}

int rules_autobackfill_start(struct rules *r, int64_t lookback_ms, struct err *e)
{
    r->backfill_lookback_ms = lookback_ms > 0 ? lookback_ms : 30LL * 86400 * 1000;
    int rc = loop_start(&r->backfill_loop, "tide-backfill", auto_run, r, 60000, e);
    r->backfill_started = rc == 0;
    if (rc == 0)
        loop_wake(&r->backfill_loop);
    return rc;
}

void rules_autobackfill_stop(struct rules *r)
{
    if (r->backfill_started)
        loop_stop(&r->backfill_loop);
    r->backfill_started = false;
}
