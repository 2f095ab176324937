/* rules.h: the rule manager of `tide serve`: the loaded rule files, one
 * running group (group.h) per rule group, reload, and the self-metrics.
 * cmd/serve.c creates it from the config (rules_config.h), api/ reads it
 * for /api/v1/rules and /api/v1/alerts.
 *
 * Reload (SIGHUP, POST /-/reload): every file is loaded and checked first;
 * one broken file refuses the whole reload (its file:line:col in `e`) and
 * the running groups go on untouched. Otherwise the old groups stop, each
 * new group takes over the state of the old group with the same file and
 * name (alerts of unchanged rules, written series), the new groups start,
 * and the series of groups that are gone get staleness markers.
 *
 * Ownership: the manager owns files and groups; the environment's storage,
 * evaluator (evaluator.h), pipeline and notifier are borrowed and must
 * outlive rules_free(). With a query_backend evaluator, `backfill: true`
 * marks nothing pending and rules_backfill() is refused (backfill.h).
 * Thread: rules_load() from one thread at a time (the wiring's); readers
 * take rules_lock() and then a group's mu for its state.
 */
#ifndef TIDE_RULES_RULES_H
#define TIDE_RULES_RULES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "rules/group.h"
#include "rules/rulefile.h"

struct rules {
    struct group_env env; /* external labels and URL owned (ext_block, url) */
    struct label *ext_block;
    char *url;
    pthread_mutex_t mu; /* guards the arrays below against readers */
    struct rule_file **files;
    size_t nfiles;
    struct group **groups;
    size_t ngroups;
    bool running;            /* groups have threads */
    bool loaded_once;        /* the first load restores for state; reloads copy it */
    pthread_mutex_t load_mu; /* one load at a time */
    /* The automatic backfill thread (backfill.h), when started: */
    struct loop backfill_loop;
    bool backfill_started;
    int64_t backfill_lookback_ms;
};

/* A manager with no rules. `env` is copied (its labels and URL too). */
int rules_new(struct rules **out, const struct group_env *env);

/* Load these files (paths, already glob-expanded) and replace the running
 * rules with them as described at the top. 0, or the first file's error
 * with e->msg "FILE:LINE:COL: reason" (nothing changed then). */
int rules_load(struct rules *r, const char *const *paths, size_t n, struct err *e);
/* The same, and when the files are good also replace the environment with
 * `env` (copied as rules_new() does; NULL keeps it): a reload's external
 * labels and URL, evaluation_interval (groups without their own), resend
 * delay and outage settings, and notifier. The new groups start with it;
 * state carries over as for rules_load(). */
int rules_reload(struct rules *r, const struct group_env *env, const char *const *paths, size_t n,
                 struct err *e);

/* Start evaluating (and every group a later load brings). */
int rules_start(struct rules *r, struct err *e);
/* Stop every group's thread; idempotent. */
void rules_stop(struct rules *r);
void rules_free(struct rules *r);

void rules_lock(struct rules *r);
void rules_unlock(struct rules *r);

/* Self-metrics (core/selfmetrics.h), ctx = the manager:
 * tide_rule_group_{iterations_missed_total, iterations_total, interval_seconds,
 * last_duration_seconds, last_evaluation_timestamp_seconds, rules},
 * tide_rule_evaluations_total, tide_rule_evaluation_failures_total. */
struct sm_out;
void rules_collect(void *ctx, struct sm_out *o);

/* Expand `patterns` (globs, relative ones against `dir`) into sorted,
 * distinct paths: *out a malloc'd array of malloc'd strings, free with
 * rules_paths_free(). A pattern that matches nothing is not an error (as
 * Prometheus); a bad pattern is TIDE_EINVAL. */
int rules_expand_globs(const char *dir, const char *const *patterns, size_t n, char ***out,
                       size_t *nout, struct err *e);
void rules_paths_free(char **v, size_t n);

#endif
