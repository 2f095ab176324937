/* rules.c: the rule manager (rules.h): loading and reloading rule files
 * into running groups with their state carried over, glob expansion of
 * `rule_files:`, and the rule-manager self-metrics under Tide's prefix
 * (Prometheus' prometheus_rule_* families).
 */
#include "rules/rules.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/selfmetrics.h"
#include "core/time.h"
#include "rules/backfill.h"
#include "rules/evaluator.h"

int rules_new(struct rules **out, const struct group_env *env)
{
    *out = NULL;
    struct rules *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    r->env = *env;
    r->ext_block = alert_labels_dup(env->external_labels, env->nexternal_labels);
    r->url = strdup(env->external_url ? env->external_url : "");
    if (r->ext_block == NULL || r->url == NULL) {
        free(r->ext_block);
        free(r->url);
        free(r);
        return -ENOMEM;
    }
    r->env.external_labels = r->ext_block;
    r->env.external_url = r->url;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->load_mu, NULL);
    *out = r;
    return 0;
}

static void free_files(struct rule_file **f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rulefile_free(f[i]);
    free(f);
}

/* Make r->env `env` (a reload's new global and alerting settings), with
 * its own copies of the external labels and URL; the old copies go to
 * *old_ext / *old_url for the caller to free once nothing reads them.
 * Called with the old groups stopped and the new ones not yet started. */
static int env_swap(struct rules *r, const struct group_env *env, struct label **old_ext,
                    char **old_url)
{
    struct label *ext = alert_labels_dup(env->external_labels, env->nexternal_labels);
    char *url = strdup(env->external_url ? env->external_url : "");
    if (ext == NULL || url == NULL) {
        free(ext);
        free(url);
        return -ENOMEM;
    }
    pthread_mutex_lock(&r->mu);
    *old_ext = r->ext_block;
    *old_url = r->url;
    r->env = *env;
    r->ext_block = ext;
    r->url = url;
    r->env.external_labels = ext;
    r->env.external_url = url;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

int rules_load(struct rules *r, const char *const *paths, size_t n, struct err *e)
{
    return rules_reload(r, NULL, paths, n, e);
}

int rules_reload(struct rules *r, const struct group_env *env, const char *const *paths, size_t n,
                 struct err *e)
{
    pthread_mutex_lock(&r->load_mu);
    struct rule_file **files = calloc(n ? n : 1, sizeof *files);
    struct group **groups = NULL;
    size_t ng = 0, total = 0;
    int rc = files ? 0 : ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct err fe = {0};
        rc = rulefile_load(paths[i], &files[i], &fe);
        if (rc != 0) {
            if (fe.line > 0)
                err_set_at(e, rc, fe.where, fe.line, fe.col, "%s:%d:%d: %s", paths[i], fe.line,
                           fe.col, fe.msg);
            else
                err_set_at(e, rc, fe.where, 0, 0, "%s", fe.msg);
        } else {
            total += files[i]->ngroups;
        }
    }
    if (rc == 0) {
        groups = calloc(total ? total : 1, sizeof *groups);
        if (groups == NULL)
            rc = ERR_SET(e, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        for (size_t j = 0; rc == 0 && j < files[i]->ngroups; j++) {
            rc = group_new(&groups[ng], &files[i]->groups[j], &r->env, !r->loaded_once);
            if (rc == 0)
                ng++;
            else
                ERR_SET(e, rc, "out of memory");
        }
    if (rc != 0) {
        for (size_t i = 0; i < ng; i++)
            group_free(groups[i]);
        free(groups);
        free_files(files, n);
        pthread_mutex_unlock(&r->load_mu);
        return rc;
    }
    /* Stop the old groups, then carry their state over; new recording
     * rules of backfill groups wait for the backfill thread. */
    for (size_t i = 0; i < r->ngroups; i++)
        group_stop(r->groups[i]);
    struct label *old_ext = NULL;
    char *old_url = NULL;
    if (env != NULL && env_swap(r, env, &old_ext, &old_url) == 0)
        for (size_t i = 0; i < ng; i++) /* a changed evaluation_interval */
            if (groups[i]->def->interval_ms <= 0)
                groups[i]->interval_ms = r->env.default_interval_ms;
    bool *kept = calloc(r->ngroups ? r->ngroups : 1, sizeof *kept);
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < r->ngroups; j++)
            if (kept && !kept[j] && strcmp(groups[i]->key, r->groups[j]->key) == 0) {
                group_copy_state(groups[i], r->groups[j]);
                groups[i]->next_ms = 0;
                kept[j] = true;
                break;
            }
    bool can_backfill = evaluator_is_local(r->env.eval); /* not through a query_backend */
    for (size_t i = 0; can_backfill && i < ng; i++)
        for (size_t k = 0; groups[i]->def->backfill && k < groups[i]->nrules; k++) {
            struct rule_state *rs = &groups[i]->rules[k];
            if (rs->def->kind == RULE_RECORD && !rs->carried && rs->backfill == NULL)
                rs->backfill = "pending";
        }
    pthread_mutex_lock(&r->mu);
    struct group **old = r->groups;
    size_t nold = r->ngroups;
    struct rule_file **old_files = r->files;
    size_t nold_files = r->nfiles;
    r->groups = groups;
    r->ngroups = ng;
    r->files = files;
    r->nfiles = n;
    r->loaded_once = true;
    bool running = r->running;
    pthread_mutex_unlock(&r->mu);
    if (running)
        for (size_t i = 0; i < ng; i++) {
            struct err ge = {0};
            group_start(groups[i], &ge);
        }
    int64_t now = time_now_ms();
    for (size_t j = 0; j < nold; j++) {
        if (kept && !kept[j])
            group_mark_stale(old[j], now);
        group_free(old[j]);
    }
    free(kept);
    free(old);
    free(old_ext);
    free(old_url);
    free_files(old_files, nold_files);
    if (r->backfill_started)
        loop_wake(&r->backfill_loop);
    pthread_mutex_unlock(&r->load_mu);
    return 0;
}

int rules_start(struct rules *r, struct err *e)
{
    pthread_mutex_lock(&r->load_mu);
    pthread_mutex_lock(&r->mu);
    r->running = true;
    pthread_mutex_unlock(&r->mu);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->ngroups; i++)
        rc = group_start(r->groups[i], e);
    pthread_mutex_unlock(&r->load_mu);
    return rc;
}

void rules_stop(struct rules *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->load_mu);
    pthread_mutex_lock(&r->mu);
    r->running = false;
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < r->ngroups; i++)
        group_stop(r->groups[i]);
    pthread_mutex_unlock(&r->load_mu);
}

void rules_free(struct rules *r)
{
    if (r == NULL)
        return;
    rules_autobackfill_stop(r);
    rules_stop(r);
    for (size_t i = 0; i < r->ngroups; i++)
        group_free(r->groups[i]);
    free(r->groups);
    free_files(r->files, r->nfiles);
    free(r->ext_block);
    free(r->url);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->load_mu);
    free(r);
}

void rules_lock(struct rules *r)
{
    pthread_mutex_lock(&r->mu);
}

void rules_unlock(struct rules *r)
{
    pthread_mutex_unlock(&r->mu);
}

/* ---- self-metrics ---- */

enum gstat { G_MISSED, G_ITER, G_EVALS, G_FAIL, G_INTERVAL, G_LASTDUR, G_LASTEVAL, G_RULES };

static double gstat(struct group *g, enum gstat s)
{
    pthread_mutex_lock(&g->mu);
    double v = 0;
    switch (s) {
    case G_MISSED:
        v = (double)g->missed;
        break;
    case G_ITER:
        v = (double)g->iterations;
        break;
    case G_EVALS:
        v = (double)g->evaluations;
        break;
    case G_FAIL:
        v = (double)g->failures;
        break;
    case G_INTERVAL:
        v = (double)g->interval_ms / 1000;
        break;
    case G_LASTDUR:
        v = g->last_duration_s;
        break;
    case G_LASTEVAL:
        v = (double)g->last_eval_ms / 1000;
        break;
    case G_RULES:
        v = (double)g->nrules;
        break;
    }
    pthread_mutex_unlock(&g->mu);
    return v;
}

void rules_collect(void *ctx, struct sm_out *o)
{
    static const struct {
        const char *name;
        enum sm_type type;
        enum gstat s;
        const char *help;
    } fams[] = {
        {"tide_rule_group_iterations_missed_total", SM_COUNTER, G_MISSED,
         "The total number of rule group evaluations missed due to slow rule group evaluation."},
        {"tide_rule_group_iterations_total", SM_COUNTER, G_ITER,
         "The total number of scheduled rule group evaluations, whether executed or missed."},
        {"tide_rule_evaluations_total", SM_COUNTER, G_EVALS,
         "The total number of rule evaluations."},
        {"tide_rule_evaluation_failures_total", SM_COUNTER, G_FAIL,
         "The total number of rule evaluation failures."},
        {"tide_rule_group_interval_seconds", SM_GAUGE, G_INTERVAL, "The interval of a rule group."},
        {"tide_rule_group_last_duration_seconds", SM_GAUGE, G_LASTDUR,
         "The duration of the last rule group evaluation."},
        {"tide_rule_group_last_evaluation_timestamp_seconds", SM_GAUGE, G_LASTEVAL,
         "The timestamp of the last rule group evaluation in seconds."},
        {"tide_rule_group_rules", SM_GAUGE, G_RULES, "The number of rules."},
    };
    struct rules *r = ctx;
    rules_lock(r);
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        sm_family(o, fams[f].name, fams[f].type, fams[f].help);
        for (size_t i = 0; i < r->ngroups; i++)
            sm_sample(o, gstat(r->groups[i], fams[f].s), "rule_group", r->groups[i]->key, NULL);
    }
    rules_unlock(r);
}

/* ---- rule_files globs ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void rules_paths_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int rules_expand_globs(const char *dir, const char *const *patterns, size_t n, char ***out,
                       size_t *nout, struct err *e)
{
    *out = NULL;
    *nout = 0;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        char pat[4096];
        if (patterns[i][0] == '/' || dir == NULL || dir[0] == 0)
            snprintf(pat, sizeof pat, "%s", patterns[i]);
        else
            snprintf(pat, sizeof pat, "%s/%s", dir, patterns[i]);
        glob_t g;
        int grc = glob(pat, 0, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            globfree(&g);
            continue;
        }
        if (grc != 0) {
            globfree(&g);
            rules_paths_free(v, cnt);
            return ERR_SET(e, grc == GLOB_NOSPACE ? -ENOMEM : TIDE_EINVAL,
                           "rule_files: cannot expand \"%s\"", patterns[i]);
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            if (cnt == cap) {
                cap = cap ? cap * 2 : 8;
                char **nv = realloc(v, cap * sizeof *nv);
                if (nv == NULL) {
                    globfree(&g);
                    rules_paths_free(v, cnt);
                    return ERR_SET(e, -ENOMEM, "out of memory");
                }
                v = nv;
            }
            v[cnt] = strdup(g.gl_pathv[k]);
            if (v[cnt] == NULL) {
                globfree(&g);
                rules_paths_free(v, cnt);
                return ERR_SET(e, -ENOMEM, "out of memory");
            }
            cnt++;
        }
        globfree(&g);
    }
    if (cnt > 1)
        qsort(v, cnt, sizeof *v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (k > 0 && strcmp(v[k - 1], v[i]) == 0) {
            free(v[i]);
            continue;
        }
        v[k++] = v[i];
    }
    *out = v;
    *nout = k;
    return 0;
}
