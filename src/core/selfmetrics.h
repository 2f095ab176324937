/* selfmetrics.h: the registry of Tide's own metrics, the ones /metrics
 * serves in the Prometheus text format (version 0.0.4).
 *
 * Every part that has something to count (the HTTP API, storage, the append
 * pipeline, the targets manager, later the rules engine and forwarders)
 * registers one collect function with the registry the wiring made. At
 * scrape time the registry calls each in registration order, and each writes
 * its families through the writer below, which escapes label values and
 * formats numbers the way Prometheus' client libraries do:
 *
 *     static void rules_collect(void *ctx, struct sm_out *o)
 *     {
 *         struct rules *r = ctx;
 *         sm_family(o, "tide_rule_group_iterations_missed_total", SM_COUNTER,
 *                   "Rule group evaluations missed because the previous one was late.");
 *         for (each group g)
 *             sm_sample(o, (double)g->missed, "rule_group", g->name, NULL);
 *     }
 *     selfmetrics_register(reg, rules_collect, r);
 *     ...
 *     selfmetrics_unregister(reg, rules_collect, r);   // before r is freed
 *
 * A collect function reads its own counters (atomics, or its own lock); it
 * must not register or unregister from inside the call.
 *
 * Ownership: the registry owns its table; the ctx of every registration is
 * borrowed until it is unregistered (or the registry freed).
 * Thread: every function may be called from any thread; a scrape holds the
 * registry's lock, so selfmetrics_unregister() returns only once no scrape
 * uses the function.
 */
#ifndef TIDE_CORE_SELFMETRICS_H
#define TIDE_CORE_SELFMETRICS_H

#include <stddef.h>

#include "core/buf.h"

#define SELFMETRICS_MAX 64 /* registered collect functions */

enum sm_type { SM_COUNTER, SM_GAUGE, SM_UNTYPED };

/* Writer of one scrape; only valid inside a collect call. */
struct sm_out {
    struct buf *b;
    char name[128]; /* the family being written (sm_family) */
    int failed;     /* first append error, kept for the caller */
};

typedef void selfmetrics_fn(void *ctx, struct sm_out *o);

struct selfmetrics;

/* 0 or -ENOMEM; *out is NULL on failure. */
int selfmetrics_new(struct selfmetrics **out);
void selfmetrics_free(struct selfmetrics *r);

/* Add a collect function. TIDE_EINVAL when (fn, ctx) is already there,
 * TIDE_ELIMIT past SELFMETRICS_MAX. */
int selfmetrics_register(struct selfmetrics *r, selfmetrics_fn *fn, void *ctx);
/* Remove it (no-op when absent); waits for a scrape in progress. */
void selfmetrics_unregister(struct selfmetrics *r, selfmetrics_fn *fn, void *ctx);

/* Append every registered function's families to `b`. 0, or the first
 * append error (TIDE_ELIMIT, -ENOMEM); `r` may be NULL (nothing written). */
int selfmetrics_write(struct selfmetrics *r, struct buf *b);

/* Start a family: its # HELP and # TYPE lines. `name` is a valid metric
 * name of at most 127 bytes; `help` is one line (escaped here). */
void sm_family(struct sm_out *o, const char *name, enum sm_type type, const char *help);
/* One sample of the current family: value, then label name/value pairs
 * ending with NULL (`sm_sample(o, 3, "kind", "snmp", NULL)`; no labels:
 * `sm_sample(o, 3, NULL)`). Values are escaped; a NULL value prints "". */
void sm_sample(struct sm_out *o, double v, ...) __attribute__((sentinel));
/* The same with a suffix on the family name (histograms and summaries:
 * "_sum", "_count", "_bucket"). */
void sm_sample_suffix(struct sm_out *o, const char *suffix, double v, ...)
    __attribute__((sentinel));

#endif
