/* backfill.h: recording rules evaluated over history (issue 11 item 5), so
 * a new rollup is not empty until it has run for weeks. For each selected
 * recording rule of the running manager, the rule's expression is evaluated
 * with query_range() at the group's own evaluation times (Prometheus'
 * alignment, group.h) between `from` and `to`, each result series renamed
 * and labelled as the rule would, and the samples that are not already in
 * storage (same series, same timestamp) appended through the pipeline.
 * Running it twice therefore writes nothing the second time. A dry run
 * does everything but the append and reports what it would write.
 *
 * Ownership: the report is the caller's (backfill_report_fini()).
 * Thread: runs on the caller's thread (an HTTP query worker); it reads the
 * manager's definitions under rules_lock() only to copy what it needs.
 */
#ifndef TIDE_RULES_BACKFILL_H
#define TIDE_RULES_BACKFILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct rules;

#define BACKFILL_MAX_STEPS 10000 /* points per query_range() window */
#define BACKFILL_EXAMPLES 3      /* sample lines kept per rule for the report */

struct backfill_opts {
    int64_t from_ms, to_ms; /* inclusive range; from <= to */
    const char *group;      /* only this group name; NULL = all */
    const char *rule;       /* only this record name; NULL = all */
    const char *match;      /* only output series matching this selector; NULL = all */
    bool dry_run;
    /* Called before each window with the fraction done [0..1); may be NULL. */
    void (*progress)(void *ctx, double done);
    void *progress_ctx;
};

/* The automatic backfill of `backfill: true` groups (rules.c): every
 * recording rule of such a group that is new to this process (not carried
 * over by a reload) is queued; one background thread runs them one by one
 * over [now - lookback_ms, now], updating the rule's backfill state and
 * progress (shown by /api/v1/rules). Idempotent, so a restart re-checks
 * and writes nothing new. */
int rules_autobackfill_start(struct rules *r, int64_t lookback_ms, struct err *e);
void rules_autobackfill_stop(struct rules *r);

/* Run it; the report is a JSON object appended to `out`:
 *   {"dryRun":B,"from":T,"to":T,"rules":[{"group":…,"file":…,"rule":…,
 *     "interval":S,"series":N,"samples":N,"written":N,"existing":N,
 *     "examples":["name{…} value @t", …]}, …]}
 * 0, or TIDE_EINVAL (bad range, bad selector, no such group/rule, rules
 * evaluated by a query_backend: backfill reads and writes local storage),
 * a query's error (first one; the report stops there), -ENOMEM. */
int rules_backfill(struct rules *r, const struct backfill_opts *o, struct buf *out, struct err *e);

#endif
