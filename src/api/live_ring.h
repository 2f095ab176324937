/* live_ring.h: the bounded in-memory ring of display-rate points (the
 * fleet admin's dual frequency, docs/ui.md#display-rate).
 *
 * While a screen watches a host at a display rate faster than the host's
 * storage interval, the host is sampled at the display rate (live_lease.h)
 * and every such point lands here, per series; storage only gets the points
 * at least one storage interval after the last one it got
 * (live_ring_offer()). The live stream's evaluations read storage and the
 * ring merged (live_ring_overlay(), a query_overlay_fn), so a chart watched
 * at 0.5 s moves every 0.5 s while the database grows at the storage rate.
 *
 * Bounds, in points and in time: a series keeps its newest
 * LIVE_RING_POINTS points, none older than LIVE_RING_WINDOW_MS behind its
 * newest; at most LIVE_RING_MAX_SERIES series at once (a series not fed for
 * LIVE_RING_WINDOW_MS is freed; past the cap a new series is not ringed, and
 * all its points are stored instead: a point is kept out of storage only
 * when it is in the ring). Worst case LIVE_RING_MAX_SERIES x
 * LIVE_RING_POINTS x 16 bytes, 38 MiB; a watched host of ~300 series at
 * 0.5 s holds ~2.3 MiB.
 *
 * Ownership: the wiring (cmd/serve.c) creates the ring, hands it to the
 * commit stage (live_commit.c) and the stream hub, and frees it after both.
 * Thread: every function is thread-safe (one mutex).
 */
#ifndef TIDE_API_LIVE_RING_H
#define TIDE_API_LIVE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"
#include "model/labels.h"

#define LIVE_RING_POINTS 600      /* per series: 60 s at 0.1 s */
#define LIVE_RING_WINDOW_MS 60000 /* per series, behind its newest point */
#define LIVE_RING_MAX_SERIES 4096

struct live_ring;

struct live_ring_stats {
    size_t series;           /* series held now */
    size_t points;           /* points held now */
    uint64_t points_total;   /* points taken so far */
    uint64_t thinned_total;  /* of those, kept out of storage */
    uint64_t refused_series; /* series not ringed (the series cap) */
};

/* 0 or -ENOMEM; *out is NULL on failure. */
int live_ring_new(struct live_ring **out);
void live_ring_free(struct live_ring *r);

/* Take the points of one series (labels sorted, as a batch holds them;
 * borrowed during the call) sampled at the display rate of a host whose
 * storage interval is storage_ms. For each point, store[i] says whether
 * storage gets it too: the first one of the series, and each one at least
 * storage_ms - slack_ms after the last one stored (slack_ms absorbs the
 * sampling jitter, half the display interval is right). Stale markers are
 * stored and not ringed. When the series cannot be ringed (the cap, or out
 * of memory) every store[i] is true. Points must come in time order per
 * series; an older point than the newest ringed is stored, not ringed. */
void live_ring_offer(struct live_ring *r, const struct label *ls, size_t nls,
                     const struct sample *v, size_t n, int64_t storage_ms, int64_t slack_ms,
                     bool *store);

/* Tell the ring the last point storage holds of a series (labels sorted)
 * before its host's display rate began, so the first display-rate points
 * closer than the storage interval to it stay out of storage too. Makes the
 * series when need be (not past the cap); keeps a later time it knows. */
void live_ring_prime(struct live_ring *r, const struct label *ls, size_t nls,
                     int64_t last_stored_ms);

/* query_overlay_fn (query/query.h), ctx = the ring: merge the ringed points
 * of the series within [mint_ms, maxt_ms] into *v (storage's points), ring
 * points winning at equal timestamps. */
int live_ring_overlay(void *ctx, const struct label *ls, size_t nls, int64_t mint_ms,
                      int64_t maxt_ms, struct sample **v, size_t *nv);

/* Free the series not fed for LIVE_RING_WINDOW_MS (at mono_ns). Called by
 * the offers themselves about once a second; exposed for tests. */
void live_ring_sweep(struct live_ring *r, int64_t mono_ns);

void live_ring_stats(struct live_ring *r, struct live_ring_stats *out);

#endif
