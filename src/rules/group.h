/* group.h: one rule group at run time: its rules' state and the evaluation
 * of all of them at one timestamp. Between rulefile.h (definitions) and
 * rules.h (the manager that schedules groups and reloads files):
 *
 *   evaluator_instant(expr, t - query_offset)   the local PromQL engine, or
 *                                               the query_backend (evaluator.h)
 *     → recording rule: rename to `record`, add labels → pipeline_append()
 *     → alerting rule:  labels/annotations expanded → alert.h's state →
 *                       ALERTS / ALERTS_FOR_STATE → pipeline_append(),
 *                       alerts due → notifier_send()
 *   series a rule wrote last time and not now get a staleness marker.
 *
 * Ownership: a group borrows its definition (the manager keeps the rule
 * file alive longer) and the environment; it owns the rules' state.
 * Thread: group_eval() runs on the group's own thread; the API reads the
 * state with group->mu held, and group_eval() takes mu only to update it
 * (never while a query runs), so a slow query never blocks a reader.
 */
#ifndef TIDE_RULES_GROUP_H
#define TIDE_RULES_GROUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "query/query.h"
#include "rules/alert.h"
#include "rules/rulefile.h"

struct storage;
struct pipeline;
struct notifier;
struct evaluator;

/* What every group of a manager shares; owned by the manager. */
struct group_env {
    struct storage *storage;     /* local storage; NULL with `storage: none` */
    struct evaluator *eval;      /* what evaluates the rules (evaluator.h); borrowed, required */
    struct pipeline *pipeline;
    struct notifier *notifier; /* NULL = alerts are not sent */
    struct query_opts query;
    const struct label *external_labels; /* sorted */
    size_t nexternal_labels;
    const char *external_url;
    int64_t default_interval_ms;
    int64_t outage_tolerance_ms; /* ALERTS_FOR_STATE older than this is not restored */
    int64_t for_grace_period_ms; /* at least this long to fire after a restore */
    int64_t resend_delay_ms;
};

enum rule_health { RULE_UNKNOWN = 0, RULE_OK, RULE_ERR };

/* A label set the rule wrote at the last evaluation (for staleness). */
struct written {
    uint64_t hash;
    struct label *labels; /* alert_labels_dup() block */
    size_t nlabels;
};

struct rule_state {
    const struct rule_def *def; /* borrowed */
    /* Guarded by group.mu: */
    struct alert_set alerts; /* alerting rules */
    bool restored;           /* ALERTS are written once the for state was restored */
    enum rule_health health;
    char last_error[256];
    int64_t last_eval_ms;     /* wall clock of the last evaluation */
    const char *backfill;     /* NULL, "pending", "running", "done", "error" (static) */
    double backfill_progress; /* 0..1 of the range evaluated */
    bool carried;             /* state taken over from before a reload (not a new rule) */
    double eval_seconds;      /* its duration */
    /* Only group_eval()'s thread: */
    struct written *prev; /* sorted by hash */
    size_t nprev;
};

struct group {
    const struct rule_group_def *def; /* borrowed */
    const struct group_env *env;      /* borrowed */
    char key[512];                    /* "file;name", the rule_group label */
    int64_t interval_ms;
    struct rule_state *rules;
    size_t nrules;
    pthread_mutex_t mu;
    /* Guarded by mu: */
    int64_t last_eval_ms;   /* wall clock of the last evaluation's start */
    double last_duration_s; /* its duration */
    uint64_t iterations;    /* scheduled, done or missed */
    uint64_t missed;        /* skipped because the previous one was late */
    uint64_t failures;      /* rule evaluations that failed */
    uint64_t evaluations;   /* rule evaluations */
    /* Scheduling, the group thread only: */
    struct loop loop;
    bool loop_started;
    int64_t next_ms;      /* next evaluation time; 0 = not scheduled yet */
    int evals_to_restore; /* evaluations left before the for state is restored; 0 = done */
};

/* A group for `def`, not running. `restore`: restore the for state from
 * ALERTS_FOR_STATE after the second evaluation (first start), else rules
 * are restored already (a reload). 0 or -ENOMEM (*out NULL). */
int group_new(struct group **out, const struct rule_group_def *def, const struct group_env *env,
              bool restore);

/* Evaluate every rule at ts_ms (an aligned evaluation time). Errors are
 * kept per rule (health, last_error) and counted, not returned. */
void group_eval(struct group *g, int64_t ts_ms);

/* Restore the for state of every alerting rule from ALERTS_FOR_STATE, as
 * Prometheus' RestoreForState at ts_ms, read through the evaluator (local
 * storage or the query_backend), and mark the rules restored. Takes mu
 * only to change an alert, not while reading. */
void group_restore(struct group *g, int64_t ts_ms);

/* Prometheus' evaluation time for a group: interval-aligned, offset by a
 * hash of the group's file and name, so groups spread over the interval
 * and a restart keeps the same phase. The largest such time <= now_ms. */
int64_t group_eval_timestamp(const char *file, const char *name, int64_t interval_ms,
                             int64_t now_ms);

/* Take over the state of `old`'s rules that have an equal definition
 * (rule_def_equal) at the same position or by name: alerts, written
 * series, health. For a reload. */
void group_copy_state(struct group *g, struct group *old);

/* Start/stop the group's thread (evaluations at aligned times). */
int group_start(struct group *g, struct err *e);
void group_stop(struct group *g);

/* Stale markers for every series the group wrote last (its rules are
 * gone after a reload), appended at ts_ms. */
void group_mark_stale(struct group *g, int64_t ts_ms);

/* Free a stopped group. NULL is a no-op. */
void group_free(struct group *g);

#endif
