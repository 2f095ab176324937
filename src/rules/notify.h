/* notify.h: the notifier, the last stop of rules/: alerts that need sending
 * (alert.h's alert_needs_sending) go to every Alertmanager of the config's
 * `alerting:` section through the Alertmanager v2 API
 *
 *     POST {scheme}://{target}{path_prefix}/api/v2/alerts
 *     [{"labels":{…},"annotations":{…},"startsAt":"…","endsAt":"…",
 *       "generatorURL":"…"}, …]
 *
 * and to every plain webhook as Alertmanager's webhook payload
 * ({"version":"4","status":…,"alerts":[…]}), for people without one.
 *
 * Each target has its own queue, newest state per alert (by labels): a
 * send that fails (transport error or non-2xx) keeps the batch and retries
 * with a backoff of 1 s doubling to 10 s, so an Alertmanager outage loses
 * no alert; newer states of the same alert replace queued ones. With a
 * `queue_dir`, each target's queue is also written there after every
 * change and read back at start, so a restart during an outage loses
 * nothing either. The queue holds at most NOTIFY_QUEUE_MAX alerts per
 * target; past it the oldest go (counted as dropped).
 *
 * Ownership: the notifier copies its options; notifier_send() copies what
 * it keeps. Thread: notifier_send() from any thread (the rule groups); one
 * sender thread per notifier does the HTTP requests, so a slow Alertmanager
 * never holds an evaluation.
 */
#ifndef TIDE_RULES_NOTIFY_H
#define TIDE_RULES_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/tls_config.h"
#include "model/labels.h"
#include "model/relabel.h"
#include "rules/alert.h"

#define NOTIFY_QUEUE_MAX 10000
#define NOTIFY_TARGETS_MAX 32

enum notify_kind { NOTIFY_ALERTMANAGER = 1, NOTIFY_WEBHOOK };

struct notify_target {
    enum notify_kind kind;
    char url[1024];       /* Alertmanager: scheme://host:port/path_prefix/api/v2/alerts */
    int64_t timeout_ms;   /* per request; 0 = 10 s */
    char basic_user[256]; /* "" = no basic auth */
    char basic_password[256];
    char bearer[512]; /* "" = none (authorization.credentials) */
    struct tls_config tls;  /* paths resolved against the config's directory */
    int max_redirects;      /* follow_redirects: 10 (Prometheus' default) or 0 */
};

struct notifier_opts {
    struct notify_target targets[NOTIFY_TARGETS_MAX];
    size_t ntargets;
    const struct label *external_labels; /* added to every alert lacking them; copied */
    size_t nexternal_labels;
    const char *external_url; /* generatorURL prefix; copied; NULL = "" */
    const char *queue_dir;    /* durable queues here; NULL = in memory only */
    /* alert_relabel_configs applied to each alert's labels (external labels
     * included) before it is queued; a dropped alert is not sent. Borrowed:
     * it must outlive the notifier or the next notifier_reconfigure(). */
    const struct relabel_config *alert_relabel;
    /* alertmanagers entries resolved by discovery (notify_sd.h), after the
     * static targets; borrowed like alert_relabel. */
    const struct notify_sd *sd;
    size_t nsd;
};

struct notifier;
struct notify_sd;

/* A notifier and its sender thread. 0, -ENOMEM, or -errno when the thread
 * cannot start; *out is NULL on failure. */
int notifier_new(struct notifier **out, const struct notifier_opts *o, struct err *e);

/* Queue these alerts of the rule with expression `expr` for every target:
 * startsAt = fired_at, endsAt = resolved_at or valid_until. */
int notifier_send(struct notifier *n, const char *expr, const struct alert *const *alerts,
                  size_t count);

/* Apply a new `alerting:`/`global:` (a reload): targets with the same kind
 * and URL as before keep their queues, counters and backoff; new ones start
 * empty (or from their queue file); the queues of targets no longer
 * configured are dropped. External labels and URL apply to alerts sent
 * from now on. The sender thread is stopped and restarted around the
 * change (an HTTP request in flight finishes first). 0, -ENOMEM (nothing
 * changed) or a thread start error (the notifier then sends nothing). */
int notifier_reconfigure(struct notifier *n, const struct notifier_opts *o, struct err *e);

/* One target's state for /api/v1/alertmanagers. */
#define NOTIFY_ERROR_MAX 512
struct notify_status {
    enum notify_kind kind;
    char url[1024];
    char last_error[NOTIFY_ERROR_MAX]; /* the last attempt's error; "" = it succeeded */
    int64_t last_send_ms;              /* wall ms of the last attempt; 0 = none yet */
    uint64_t sent, errors, dropped;
    size_t queued;
    bool relabel_dropped; /* discovered, but relabel_configs dropped it (not sent to) */
};

/* Copy the state of up to `cap` targets (configured, then discovered,
 * then those relabel_configs dropped) into `out`; returns how many. */
#define NOTIFY_STATUS_MAX (NOTIFY_TARGETS_MAX * 10)
size_t notifier_status(struct notifier *n, struct notify_status *out, size_t cap);

/* Self-metrics: tide_notifications_{sent,errors,dropped}_total{alertmanager},
 * tide_notifications_queue_length{alertmanager}. */
struct sm_out;
void notifier_collect(void *ctx, struct sm_out *o);

/* Stop the thread (one last attempt at what is queued, bounded by the
 * timeout), write the queues, free. NULL is a no-op. */
void notifier_free(struct notifier *n);

#endif
