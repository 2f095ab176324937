/* rulefile.h: Prometheus rule files (the `groups:` YAML users copy from
 * Prometheus) read into rule definitions, checked as `promtool check rules`
 * checks them. The first stop of rules/: rulefile → group (evaluation) →
 * alert (state) → notify (Alertmanager).
 *
 *   groups:
 *     - name: NAME              unique in the file
 *       interval: 30s           default: global.evaluation_interval
 *       limit: 0                series a rule may produce (alerts: active alerts)
 *       query_offset: 0s        evaluate at t - query_offset
 *       backfill: false         Tide: fill a new recording rule's history
 *       rules:
 *         - record: NAME        a valid metric name          (or)
 *           alert: NAME
 *           expr: PROMQL        parsed here by the PromQL parser
 *           for: 5m             alerts only
 *           keep_firing_for: 1m alerts only
 *           labels: {k: v}      templates for alerts (template.h)
 *           annotations: {k: v} alerts only, templates
 *
 * What is refused, with file:line:col: bad YAML, unknown keys, an empty or
 * repeated group name, both or neither of record/alert, a missing or bad
 * expr, for/keep_firing_for/annotations on a recording rule, a recording
 * name that is not a metric name, a bad label or annotation name, a
 * template outside template.h's subset.
 *
 * Ownership: a struct rule_file owns every group, rule, string and template
 * reachable from it; rulefile_free() releases all. Immutable once loaded.
 * Thread: none to load; a loaded file may be read by any thread.
 */
#ifndef TIDE_RULES_RULEFILE_H
#define TIDE_RULES_RULEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/labels.h"

struct tmpl;

enum rule_kind { RULE_RECORD = 1, RULE_ALERT };

struct rule_def {
    enum rule_kind kind;
    const char *name;           /* record or alert name */
    const char *expr;           /* as written */
    int64_t for_ms;             /* alerts: pending time before firing */
    int64_t keep_firing_for_ms; /* alerts: firing after the condition cleared */
    struct label *labels;       /* sorted by name; values are templates for alerts */
    size_t nlabels;
    struct tmpl **label_tmpls; /* alerts: one per label; NULL for recording rules */
    struct label *annotations; /* sorted by name */
    size_t nannotations;
    struct tmpl **annotation_tmpls; /* one per annotation */
    int line;                       /* of the rule's mapping, 1-based */
};

struct rule_group_def {
    const char *name;
    const char *file;        /* the path the file was loaded from */
    int64_t interval_ms;     /* 0 = not set: the global evaluation_interval */
    int64_t limit;           /* 0 = none */
    int64_t query_offset_ms; /* 0 = none */
    bool backfill;           /* Tide: fill new recording rules' history (rules.h) */
    struct rule_def *rules;
    size_t nrules;
    int line;
};

struct rule_file {
    const char *path;
    struct rule_group_def *groups;
    size_t ngroups;
    size_t nrules;      /* over all groups */
    struct arena arena; /* every string and array above */
};

/* Parse n bytes of a rule file named `path` (copied; used in messages).
 * 0 and *out, or an error with e->line/col at the node at fault and the
 * message without the file name (print with "%s:%d:%d: %s"); *out NULL. */
int rulefile_parse(const char *text, size_t n, const char *path, struct rule_file **out,
                   struct err *e);

/* rulefile_parse() of a file's contents; -errno with line 0 when it
 * cannot be read. */
int rulefile_load(const char *path, struct rule_file **out, struct err *e);

void rulefile_free(struct rule_file *f);

/* True when the two rules are the same definition (kind, name, expr, for,
 * keep_firing_for, labels, annotations): reload keeps their state. */
bool rule_def_equal(const struct rule_def *a, const struct rule_def *b);

#endif
