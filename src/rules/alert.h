/* alert.h: the state of one alerting rule's alerts, Prometheus' state
 * machine (rules/alerting.go in 2.42) kept apart from evaluation so it can
 * be tested on its own. group.c feeds it each evaluation's result, already
 * turned into alert label sets and expanded annotations:
 *
 *        condition true              held for `for`
 *   (none) ─────────────► PENDING ─────────────────► FIRING
 *                          │ condition false           │ condition false and
 *                          ▼ (dropped at once)         ▼ keep_firing_for passed
 *                        (none)                    INACTIVE (resolved; kept
 *                                                  15 min to be sent, then dropped)
 *
 * A FIRING alert whose condition comes back before it is dropped starts
 * over as PENDING with a new active time, as in Prometheus.
 *
 * Ownership: the set owns its alerts and each alert's label and annotation
 * arrays (one malloc block each). Thread: none; group.c holds the group's
 * lock around every call.
 */
#ifndef TIDE_RULES_ALERT_H
#define TIDE_RULES_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/labels.h"

#define ALERT_RESOLVED_RETENTION_MS (15 * 60 * 1000) /* resolved alerts kept for sending */

enum alert_state { ALERT_INACTIVE = 0, ALERT_PENDING, ALERT_FIRING };

struct alert {
    uint64_t hash;        /* labels_hash() of labels */
    struct label *labels; /* sorted, alertname included, no __name__; owned block */
    size_t nlabels;
    struct label *annotations; /* sorted; owned block */
    size_t nannotations;
    enum alert_state state;
    double value;                 /* the expression's value at the last evaluation */
    int64_t active_at_ms;         /* became pending */
    int64_t fired_at_ms;          /* became firing; 0 = not yet */
    int64_t resolved_at_ms;       /* became inactive; 0 = not resolved */
    int64_t last_sent_ms;         /* last handed to the notifier; 0 = never */
    int64_t valid_until_ms;       /* endsAt sent for an unresolved alert */
    int64_t keep_firing_since_ms; /* condition false while firing; 0 = not */
};

struct alert_set {
    struct alert *v; /* sorted by hash */
    size_t n, cap;
};

/* One element of an evaluation's result, as group.c prepared it. */
struct alert_input {
    const struct label *labels; /* sorted, alertname included, no __name__ */
    size_t nlabels;
    const struct label *annotations; /* sorted */
    size_t nannotations;
    double value;
};

/* Apply one evaluation at ts_ms. Errors leave the set as it was, except
 * the limit: more than `limit` (> 0) pending and firing alerts empties the
 * set and returns TIDE_ELIMIT ("exceeded limit of N with M alerts"), as
 * Prometheus does. Two inputs with the same labels: TIDE_EINVAL
 * ("vector contains metrics with the same labelset after applying alert
 * labels"). -ENOMEM. */
int alert_set_update(struct alert_set *s, const struct alert_input *in, size_t n, int64_t ts_ms,
                     int64_t hold_ms, int64_t keep_firing_for_ms, int64_t limit, struct err *e);

/* The alert with these labels, or NULL. */
struct alert *alert_set_find(struct alert_set *s, const struct label *ls, size_t n);

/* Whether `a` goes to the notifier at ts_ms (Prometheus' needsSending):
 * never while pending; at once when resolved since the last send; else
 * once resend_delay_ms has passed since the last send. */
bool alert_needs_sending(const struct alert *a, int64_t ts_ms, int64_t resend_delay_ms);

/* "inactive", "pending", "firing" */
const char *alert_state_name(enum alert_state s);

/* Move every alert of `from` into `to` (emptied first); `from` is left
 * empty. For a reload that keeps a rule's state. */
void alert_set_move(struct alert_set *to, struct alert_set *from);

void alert_set_fini(struct alert_set *s);

/* One malloc block holding a copy of the labels and their bytes; free()
 * it. NULL on -ENOMEM (n == 0 gives a valid empty block). */
struct label *alert_labels_dup(const struct label *v, size_t n);

#endif
