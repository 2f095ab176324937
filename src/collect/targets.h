/* targets.h: the targets manager. It runs every collection target (this
 * host's cpu group, an SNMP router, a RouterOS device, a scrape job, a ping
 * destination) at its own interval on a small pool of worker threads, and
 * hands each result to one batch_sink_fn: in `tide serve` the append
 * pipeline (model/pipeline.h), in `tide agent` the forwarding queue.
 *
 *   target spec ──targets_add()──▶ manager ──worker──▶ kind->collect()
 *                                                   ──▶ + target labels
 *                                                   ──▶ + stale markers
 *                                                   ──▶ sink(batch)
 *
 * Kinds. Each collector kind registers one table of operations (struct
 * target_kind, as curl has one Curl_handler per protocol): open a target
 * from its spec, collect it once, close it. The manager knows nothing of
 * SNMP or /proc; a kind knows nothing of scheduling, health or staleness.
 * A passive kind (`tide agent`s pushing to the server) has no collect: its
 * targets only carry a desired interval and a last-seen time (targets_seen()).
 *
 * Per target the manager keeps: health (unknown until the first run, up when
 * the last run succeeded, down when it failed), the last error text, the
 * time and duration of the last run, counters, the backoff after consecutive
 * failures, and the label sets of the series the last run produced, so that
 * a series that disappears (a process that exited, an interface removed, a
 * target removed or disabled) gets Prometheus' stale marker at once rather
 * than lingering for the 5-minute lookback.
 *
 * Asynchronous kinds (target_kind.start: SNMP, many devices in flight from
 * one engine thread) hand a run back through a done callback; the callback
 * only queues the target, and a worker delivers it as a synchronous run.
 *
 * Timing: a target runs when added (or started), or for a `spread` kind at
 * its own offset within the first interval, then every interval_ms on
 * the monotonic clock, skipping (not bunching) runs missed while the pool was
 * busy. After n >= 1 consecutive failed runs the next one waits
 * interval x 2^(n-1), at most max(interval, backoff_max_ms). Samples are
 * stamped with the wall clock of the run. A target never runs on two workers
 * at once; targets that share a `serial` key never do either (the host
 * collector's groups share its buffers).
 *
 * Lifecycle: targets_new() → targets_register_kind()… → targets_add()… →
 * targets_start() → [add/remove/enable/interval changes at run time] →
 * targets_stop() → targets_free(). Kinds are registered before the start.
 *
 * Ownership: the manager copies every spec string and label it keeps; kind
 * contexts are borrowed until targets_free(). A kind's per-target state is
 * owned by the manager between open and close.
 * Thread: every function but targets_new/targets_free may be called from any
 * thread at any time. Kind operations run on worker threads (collect) or on
 * the caller's thread (open inside targets_add, close inside targets_remove
 * or on a worker when the target was running); never two at once per target.
 */
#ifndef TIDE_COLLECT_TARGETS_H
#define TIDE_COLLECT_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/batch.h"
#include "model/labels.h"

#define TARGETS_INTERVAL_MIN_MS 100
#define TARGETS_INTERVAL_MAX_MS 86400000
#define TARGETS_WORKERS_DEFAULT 4
#define TARGETS_BACKOFF_MAX_DEFAULT_MS 300000
#define TARGETS_NAME_MAX 255  /* bytes of a target name */
#define TARGETS_LABELS_MAX 32 /* target labels per target (job, instance added past it) */

struct target_spec;
struct target_test;
struct yaml_node;

/* How an asynchronous run ends (target_kind.start): rc 0 or negative, `e`
 * (may be NULL; read during the call) saying why it failed. Called exactly
 * once per start() that returned 0, from any thread, possibly before start()
 * has returned; never after the kind's close() of that target has returned. */
typedef void target_done_fn(void *token, int rc, const struct err *e);

/* One collector kind's operations. All but `name` may be NULL for a passive
 * kind. */
struct target_kind {
    const char *name; /* "host", "snmp", "agent", …: static */
    bool passive;     /* targets push; never collected */
    /* Prometheus' scrape conventions: every series gets `job` (the target's
     * `job` label when it has one, else the kind's name) and `instance` (the
     * address, else the name), and every run adds the meta series `up`,
     * `scrape_duration_seconds` and `scrape_samples_scraped`. */
    bool meta_series;
    /* The first run waits for a stable per-target offset within the
     * interval (a hash of kind/name against the wall clock), so a fleet
     * added at once does not run all at :00. */
    bool spread;
    /* A run delivers only the part of the target's series that was due (the
     * routeros kind's tiers): the manager writes no stale markers after a
     * run for series it did not deliver; on remove or disable every series
     * delivered since the target was added or enabled gets one. */
    bool partial_runs;
    /* Make the per-target state from the spec (borrowed during the call).
     * 0, or an error with `e` saying why the spec is refused. */
    int (*open)(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e);
    /* Collect once into `out` (reset, owned by the worker), stamped now_ms.
     * A negative return marks the run failed; whatever was appended is still
     * delivered (partial collection). */
    int (*collect)(void *state, int64_t now_ms, struct batch *out, struct err *e);
    /* Asynchronous collection, used instead of collect when set: begin a run
     * that fills `out` (owned by the manager, untouched by it until done)
     * and return 0; the kind then calls done(token, rc, e) from its own
     * thread when the run is over, and the manager finishes the run on a
     * worker exactly as after collect (target labels, meta series, stale
     * markers, sink, health, backoff). A negative return means the run
     * failed at once (`e` says why) and done is not called. No worker waits
     * in between, so a slow device holds nothing but its own target. */
    int (*start)(void *state, int64_t now_ms, struct batch *out, target_done_fn *done, void *token,
                 struct err *e);
    /* For an asynchronous kind, close must cancel a run in flight: once it
     * returns, done is never called for that target again. */
    void (*close)(void *state);
    /* Optional "test connection" with a richer answer than one run (what
     * the device says it is): check the entry once, synchronously, and fill
     * `out` (ok, or the failure; never a secret). 0 when the test ran,
     * whatever it found; an error (`e`) when the spec is refused. Kinds
     * without it are tested by targets_test() with open, one run, close. */
    int (*test)(void *kind_ctx, const struct target_spec *spec, struct target_test *out,
                struct err *e);
};

/* What a target is. Strings and labels are borrowed during targets_add(). */
struct target_spec {
    const char *kind;           /* a registered kind's name */
    const char *name;           /* unique per kind, at most TARGETS_NAME_MAX bytes */
    const char *address;        /* "192.0.2.1:161"; NULL = none */
    const char *module;         /* kind-specific: host group, SNMP module, …; NULL = none */
    int64_t interval_ms;        /* TARGETS_INTERVAL_MIN_MS … TARGETS_INTERVAL_MAX_MS */
    const struct label *labels; /* added to every series that lacks the name */
    size_t nlabels;             /* at most TARGETS_LABELS_MAX */
    bool disabled;              /* added, but not run until enabled */
    const void *serial;         /* targets sharing a non-NULL key never run at once */
    /* The target's entry as the user wrote it (a `targets:` list item, a
     * JSON body of the targets API; JSON is read as YAML), for the kind's
     * own keys (community, username, …): open() reads them with
     * core/yaml_tree.h and refuses unknown ones with yaml_tree_check_keys(),
     * after whoever built the spec consumed the common keys (kind, address,
     * module, interval, labels, enabled). NULL for built-in targets.
     * Borrowed during targets_add(); copy what must live longer. */
    const struct yaml_node *config;
};

enum target_health { TARGET_UNKNOWN = 0, TARGET_UP, TARGET_DOWN };

/* A snapshot of one target (targets_get, targets_list). */
struct target_status {
    char kind[32];
    char name[TARGETS_NAME_MAX + 1];
    char address[256];
    char module[64];
    bool enabled;
    bool passive;
    int64_t interval_ms;       /* configured (storage) interval */
    int64_t lease_interval_ms; /* a live display-rate lease in force now; 0 = none */
    enum target_health health;
    char last_error[200];     /* "" after a successful run */
    int64_t last_run_ms;      /* wall clock of the last run or push; 0 = never */
    int64_t last_duration_ns; /* wall time of the last collect + delivery */
    uint64_t runs, failures;  /* since added */
    unsigned consecutive_failures;
    uint64_t last_samples;  /* samples in the last delivered batch */
    uint64_t stale_markers; /* stale markers written since added */
};

/* What targets_test() found about one entry. */
#define TARGET_TEST_FACTS 8
struct target_test {
    bool ok;
    char failure[32]; /* the kind's class of failure ("refused", "auth", …); "" = none */
    char error[200];  /* "" when ok; never holds a secret */
    double elapsed_s;
    uint64_t samples; /* for a kind without `test`: samples of the one run */
    size_t nfacts;
    char facts[TARGET_TEST_FACTS][2][128]; /* name, value ("version", "7.14.3") */
};

/* Told about a failed collection or delivery. Runs on a worker; `e` is valid
 * during the call. Optional (the status keeps the last error anyway). */
typedef void targets_error_fn(void *ctx, const char *kind, const char *name, int code,
                              const struct err *e);

struct targets_opts {
    unsigned workers;       /* 0 = TARGETS_WORKERS_DEFAULT */
    int64_t backoff_max_ms; /* 0 = default; < 0 = no backoff */
    batch_sink_fn *sink;    /* required; called on workers, concurrently */
    void *sink_ctx;
    targets_error_fn *on_error; /* optional */
    void *err_ctx;
};

struct targets;

/* 0 or -ENOMEM / TIDE_EINVAL (no sink); *out is NULL on failure. */
int targets_new(struct targets **out, const struct targets_opts *o);
/* Register a kind (the table is borrowed for the manager's life). Before
 * targets_start() only; TIDE_EINVAL for a duplicate or late registration. */
int targets_register_kind(struct targets *m, const struct target_kind *kind, void *kind_ctx);

/* Add a target: checks the spec, calls the kind's open, and schedules it
 * now (when started and enabled). TIDE_EINVAL for a bad spec or a name
 * taken, TIDE_ENOTFOUND for an unknown kind, or the open's error. */
int targets_add(struct targets *m, const struct target_spec *spec, struct err *e);
/* Remove: waits for a run in progress, writes stale markers for its series,
 * closes it. TIDE_ENOTFOUND when unknown. */
int targets_remove(struct targets *m, const char *kind, const char *name);
/* Enable (runs now) or disable (stale markers for its series). */
int targets_set_enabled(struct targets *m, const char *kind, const char *name, bool enabled);
/* Change the interval; the next run is due interval_ms after the last one
 * (or now). TIDE_EINVAL out of range, TIDE_ENOTFOUND when unknown. */
int targets_set_interval(struct targets *m, const char *kind, const char *name,
                         int64_t interval_ms);
/* A display-rate lease (docs/ui.md#display-rate): run every interval_ms
 * instead of the configured interval while that one is slower and the
 * monotonic clock is before until_mono_ns; past it the target returns to
 * its configured interval by itself, so a lease nobody renews lapses. A
 * renewal is the same call again; interval_ms 0 ends the lease at once.
 * A faster lease moves the next run forward at once. The configured
 * interval (targets_set_interval, the status, persistence) is untouched.
 * TIDE_EINVAL out of range, TIDE_ENOTFOUND when unknown. */
int targets_lease_interval(struct targets *m, const char *kind, const char *name,
                           int64_t interval_ms, int64_t until_mono_ns);
/* A passive target pushed data at now_ms: it is up. */
int targets_seen(struct targets *m, const char *kind, const char *name, int64_t now_ms);

/* Test one entry without adding it (POST /api/v1/targets/test): the kind's
 * `test` op, else open a temporary target, run it once (waiting at most
 * timeout_ms for an asynchronous kind) and close it. 0 when the test ran
 * (out->ok says how it went); TIDE_ENOTFOUND for an unknown kind,
 * TIDE_EINVAL for a passive kind or a bad spec, or the open's error. Runs
 * on the caller's thread, which it blocks. */
int targets_test(struct targets *m, const struct target_spec *spec, int64_t timeout_ms,
                 struct target_test *out, struct err *e);

/* Snapshot one target; TIDE_ENOTFOUND when unknown. */
int targets_get(struct targets *m, const char *kind, const char *name, struct target_status *out);
/* Snapshot every target (of `kind`, or all when NULL) in insertion order:
 * *out is malloc'd (the caller frees it), *n its length. 0 or -ENOMEM. */
int targets_list(struct targets *m, const char *kind, struct target_status **out, size_t *n);

/* Keep the passive targets of `kind` in the file `path`, one
 * "name<TAB>interval_ms" line each: load it now (adding each target), then
 * rewrite it atomically after every add, remove or interval change of that
 * kind. 0, -errno, TIDE_EPARSE (line in `e`). Call before serving. */
int targets_persist(struct targets *m, const char *kind, const char *path, struct err *e);

/* Start the workers. -errno when a thread cannot start (the ones started are
 * stopped again); TIDE_EINVAL when already started. */
int targets_start(struct targets *m, struct err *e);
/* Stop the workers and wait for them: prompt (condition variables); runs in
 * progress finish first. Idempotent. Targets stay registered. */
void targets_stop(struct targets *m);
/* Stop if running, close every target, free. NULL is a no-op. */
void targets_free(struct targets *m);

/* Self-metrics collect function (core/selfmetrics.h), ctx = the manager:
 * tide_targets{kind,state} and per-kind run, failure, missed-run, sample
 * and stale-marker counters. */
struct sm_out;
void targets_collect(void *ctx, struct sm_out *o);

/* "unknown", "up", "down" (Prometheus' target health words). */
const char *target_health_name(enum target_health h);

#endif
