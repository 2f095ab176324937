/* sched.h: the collection scheduler. One thread runs every registered group
 * (host cpu, host disk, later an SNMP device or a RouterOS tier) at its own
 * interval and hands each group's batch to one batch_sink_fn.
 *
 * Lifecycle: sched_new() → sched_add()… → sched_start() → [sched_set_interval()]
 * → sched_stop() → sched_free(). Groups are added before the start only.
 *
 * Timing: a group runs at start, then every interval_ms on the monotonic
 * clock, skipping (not bunching) runs missed while another group was slow.
 * Samples are stamped with the wall clock (time_now_ms()) of the run.
 *
 * Thread: sched_set_interval(), sched_stats() and sched_stop() may be called
 * from any thread. The collect functions and the sink run on the scheduler's
 * thread only, one at a time.
 */
#ifndef TIDE_COLLECT_SCHED_H
#define TIDE_COLLECT_SCHED_H

#include <stdint.h>

#include "core/err.h"
#include "model/batch.h"

#define SCHED_GROUPS_MAX 256
#define SCHED_INTERVAL_MIN_MS 100

/* Collect one group into `out` (already reset), stamped `now_ms`. A negative
 * return is reported through the error callback; whatever was appended to
 * `out` is delivered to the sink all the same (partial collection). */
typedef int sched_collect_fn(void *ctx, int64_t now_ms, struct batch *out, struct err *e);

/* Told about a collect or sink failure of `group`. Runs on the scheduler
 * thread; `e` is valid during the call only. Optional. */
typedef void sched_error_fn(void *ctx, const char *group, int code, const struct err *e);

struct sched;

/* What the scheduler knows of one group (sched_stats). */
struct sched_group_stats {
    int64_t interval_ms;   /* current interval */
    uint64_t runs;         /* collections done */
    uint64_t failures;     /* collections or deliveries that returned < 0 */
    int64_t last_run_ms;   /* wall clock of the last run; 0 = never */
    int64_t last_cost_ns;  /* thread CPU time of the last collect, sink excluded */
    uint64_t last_samples; /* samples in the last batch */
};

/* 0 or -ENOMEM; *out is NULL on failure. */
int sched_new(struct sched **out);

/* Register a group. `name` is copied (at most 63 bytes); `ctx` is borrowed
 * until sched_stop() returns. interval_ms >= SCHED_INTERVAL_MIN_MS.
 * TIDE_EINVAL (bad interval, duplicate name, already started), TIDE_ELIMIT
 * (SCHED_GROUPS_MAX) or -ENOMEM. */
int sched_add(struct sched *s, const char *name, int64_t interval_ms, sched_collect_fn *fn,
              void *ctx, struct err *e);

/* Start the thread. Each batch goes to sink(sink_ctx, batch, e); the batch is
 * valid during the call only (the sink copies what it keeps, as
 * storage_append() does). on_error may be NULL. -errno when the thread
 * cannot start; TIDE_EINVAL when already started. */
int sched_start(struct sched *s, batch_sink_fn *sink, void *sink_ctx, sched_error_fn *on_error,
                void *err_ctx, struct err *e);

/* Change a group's interval at run time. Takes effect at once: the next run
 * is due interval_ms after the previous run (or now, if that has passed), so
 * the change is seen within one old interval at worst, usually sooner.
 * TIDE_ENOTFOUND (no such group) or TIDE_EINVAL (interval too small). */
int sched_set_interval(struct sched *s, const char *name, int64_t interval_ms);

/* A snapshot of one group's counters; TIDE_ENOTFOUND when unknown. */
int sched_stats(struct sched *s, const char *name, struct sched_group_stats *out);

/* Stop the thread and wait for it: promptly, the wait is a condition
 * variable; a collection already running finishes first. Idempotent. */
void sched_stop(struct sched *s);

/* Stop if running, then free. NULL is a no-op. */
void sched_free(struct sched *s);

#endif
