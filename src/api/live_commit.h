/* live_commit.h: the commit stage that splits display-rate points between
 * the live ring and storage (docs/ui.md#display-rate).
 *
 *   producer → pipeline → live_commit ─┬─ every point of a leased host → ring
 *                                       └─ the rest, and one point per storage
 *                                          interval of leased hosts → storage
 *
 * While no lease is in force (live_lease_any()) it hands each batch to the
 * next commit stage untouched, at the cost of one atomic load. Otherwise
 * the series of hosts with a lease in force or in its grace
 * (live_lease_split(), by their `instance` label) are
 * offered to the ring (live_ring_offer()) and only the points it says to
 * store go on, in a copy of the batch; other series are copied as they are.
 * Taps after the commit stage (the stream hub, a forwarder) still see the
 * whole batch.
 *
 * When a host's display rate begins (first seen leased, or again after more
 * than LIVE_LEASE_TTL_MS without), the ring is first told the last point
 * storage holds of each of its series (one storage_select over the last two
 * storage intervals), so the first display-rate points closer than the
 * storage interval to those stay out of storage as well.
 *
 * Ownership: the wiring (cmd/serve.c) owns the struct, the ring, the lease
 * table and the next stage, and keeps them alive until pipeline_free().
 * Thread: live_commit() runs on any number of threads at once.
 */
#ifndef TIDE_API_LIVE_COMMIT_H
#define TIDE_API_LIVE_COMMIT_H

#include <pthread.h>
#include <stdint.h>

#include "model/pipeline.h"

struct live_ring;
struct live_lease;
struct storage;

#define LIVE_COMMIT_HOSTS 256 /* hosts whose display rate is tracked at once */

struct live_commit {
    struct live_lease *lease; /* borrowed */
    struct live_ring *ring;   /* borrowed */
    struct storage *storage;  /* borrowed: read once per host as its display rate begins */
    pipeline_commit_fn *next; /* the real commit stage (storage) */
    void *next_ctx;
    /* Hosts seen with a lease in force, and when last: a host not seen for
     * LIVE_LEASE_TTL_MS begins a new episode. mu guards them (and the
     * priming, so no offer of the host runs before it is primed). */
    pthread_mutex_t mu;
    struct live_commit_host {
        char name[256];
        int64_t seen_ns;
    } hosts[LIVE_COMMIT_HOSTS];
};

/* Initialise the host table (the other fields are the caller's); 0. */
int live_commit_init(struct live_commit *lc);
void live_commit_fini(struct live_commit *lc);

/* pipeline_commit_fn, ctx = struct live_commit. Returns the next stage's
 * answer, or -ENOMEM before it ran (nothing acknowledged). */
int live_commit(void *ctx, const struct batch *b, struct pipeline_result *r, struct err *e);

/* Self-metrics collect function (core/selfmetrics.h), cls = struct
 * live_commit: tide_live_ring_series, tide_live_ring_points,
 * tide_live_ring_points_total, tide_live_ring_thinned_total,
 * tide_live_ring_refused_series_total, tide_live_leases_active,
 * tide_live_lease_renewals_total (docs/metrics.md). */
struct sm_out;
void live_collect(void *cls, struct sm_out *o);

#endif
