/* live_lease.h: display-rate leases, the screens' side of the fleet
 * admin's dual frequency (docs/ui.md#display-rate).
 *
 * A live stream that says it watches a host (GET /api/v1/stream?host=NAME,
 * stream.c) renews a lease (host, display interval) about once a second
 * while it is open. A lease nobody renews lapses LIVE_LEASE_TTL_MS later, so
 * a closed tab, a crashed browser or a lost connection return the host to
 * its storage interval by themselves. The display interval in force for a
 * host is the fastest of its unexpired leases, and only when it is faster
 * than the host's storage interval, which must be known:
 *   - the local host collector (live_lease_set_local()): its fastest "host"
 *     group interval; the lease is passed on at once to the targets
 *     manager (host_targets_lease(), which lapses by itself too);
 *   - a `tide agent`: the interval it reports on each config poll (its
 *     own, or the one set for it on the server), live_lease_report(); it
 *     learns the lease from the poll's answer (api/agents.c, cmd/agent.c).
 * A host whose storage interval is unknown gets no display rate (an agent
 * too old to report one would not understand it either).
 *
 * Bounds: at most LIVE_LEASE_MAX_HOSTS hosts known at once (a host without
 * a lease or report for an hour gives its slot up), LIVE_LEASE_MAX_RATES
 * distinct display intervals per host.
 * Ownership: the wiring (cmd/serve.c) creates it before the pipeline's
 * commit stage (live_commit.c) and frees it after the HTTP server and the
 * stream hub; `targets` given to live_lease_set_local() must outlive it.
 * Thread: every function is thread-safe.
 */
#ifndef TIDE_API_LIVE_LEASE_H
#define TIDE_API_LIVE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strv.h"

#define LIVE_LEASE_TTL_MS 5000   /* a lease lapses this long after its last renewal */
#define LIVE_LEASE_RENEW_MS 1000 /* how often an open stream renews its leases */
#define LIVE_LEASE_MAX_HOSTS 256
#define LIVE_LEASE_MAX_RATES 8       /* distinct display intervals per host */
#define LIVE_LEASE_FORGET_MS 3600000 /* an idle host's slot is reused after this */
#define LIVE_LEASE_HOST_MAX 255      /* bytes of a host (instance) name */

struct targets;
struct live_lease;

/* What is in force for one host now. */
struct live_lease_state {
    int64_t display_ms; /* the display interval, faster than storage_ms */
    int64_t storage_ms; /* the host's storage interval */
    int64_t until_ns;   /* monotonic end of the lease unless renewed */
};

/* 0 or -ENOMEM; *out is NULL on failure. */
int live_lease_new(struct live_lease **out);
void live_lease_free(struct live_lease *l);

/* The local host collector: `instance` (copied) is collected by the "host"
 * targets of `t` (borrowed until live_lease_free(), or until called again
 * with t NULL, before the targets manager is freed). */
int live_lease_set_local(struct live_lease *l, const char *instance, struct targets *t);

/* A screen watches `host` at display_ms (100 ms and up): take or renew that
 * lease until mono_ns + LIVE_LEASE_TTL_MS. 0, TIDE_EINVAL (bad name or
 * interval), TIDE_ELIMIT (the host table or its rates are full). */
int live_lease_renew(struct live_lease *l, const char *host, int64_t display_ms, int64_t mono_ns);

/* An agent's config poll: `host` stores every storage_ms (> 0). */
int live_lease_report(struct live_lease *l, const char *host, int64_t storage_ms, int64_t mono_ns);

/* The lease in force for `host` at mono_ns: true and *out filled, or false
 * (none, lapsed, unknown storage interval or not faster than it). */
bool live_lease_get(struct live_lease *l, struct strv host, int64_t mono_ns,
                    struct live_lease_state *out);

/* For the commit stage's split (live_commit.c): as live_lease_get(), and
 * also for one storage interval after the lease lapsed (its grace). The
 * host is back at its storage interval then, but its last stored point may
 * be a display-rate one: the grace keeps the first points after it that
 * are closer than a storage interval out of storage too, so the stored
 * spacing never drops below the interval at either end of a lease (it may
 * reach up to twice the interval once, at the end). */
bool live_lease_split(struct live_lease *l, struct strv host, int64_t mono_ns,
                      struct live_lease_state *out);

/* Cheap (one atomic load): false when no lease can be in force or in its
 * grace at mono_ns, so the commit stage skips its per-series look-ups. */
bool live_lease_any(struct live_lease *l, int64_t mono_ns);

/* Hosts with a lease in force now (for /metrics: tide_live_leases_active),
 * and leases taken or renewed so far. */
void live_lease_counts(struct live_lease *l, int64_t mono_ns, size_t *active, uint64_t *renewals);

#endif
