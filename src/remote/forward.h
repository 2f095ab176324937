/* forward.h: forwarding what `tide serve` ingests or collects to remote-write
 * receivers (a VictoriaMetrics cluster, Mimir, Thanos Receive, Prometheus),
 * configured by a `remote_write:` section written exactly as in
 * prometheus.yml (docs/scale-out.md).
 *
 *   pipeline_append ──▶ commit (storage, or nothing with `storage: none`)
 *                  ──▶ forward tap ──▶ per endpoint: pending batch
 *        (max_samples_per_send or batch_send_deadline) ──▶ remote_write_encode
 *        ──▶ queue.c in DATA/forward/<name>/ ──▶ sender.c ──▶ receiver
 *
 * Each endpoint has its own durable on-disk queue (the agent's) and sender
 * thread, so a receiver that is down holds nothing but its own queue, and
 * what was queued survives a restart and is delivered in order, with
 * backoff (min_backoff .. max_backoff, full jitter). A clean stop pushes
 * the pending batch first; a kill loses at most batch_send_deadline of
 * samples not yet pushed (the agent's boundary).
 *
 * forward_config.c parses and checks the section (forward_config_*);
 * forward.c runs it (forward_*).
 *
 * Ownership: struct forward_config owns copies of every string; a
 * forwarder borrows its config until forward_free().
 * Thread: forward_tap() on any number of threads; the rest from the
 * wiring's thread.
 */
#ifndef TIDE_REMOTE_FORWARD_H
#define TIDE_REMOTE_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/tls_config.h"
#include "model/batch.h"
#include "model/pipeline.h"
#include "model/relabel.h"

struct yaml_node;

#define FORWARD_ENDPOINTS_MAX 16
#define FORWARD_NAME_MAX 64

/* Prometheus 2.42's defaults (config.DefaultQueueConfig / DefaultRemoteWriteConfig). */
#define FORWARD_CAPACITY_DEFAULT 2500
#define FORWARD_MAX_SHARDS_DEFAULT 200
#define FORWARD_MAX_SAMPLES_PER_SEND_DEFAULT 500
#define FORWARD_BATCH_SEND_DEADLINE_DEFAULT_MS 5000
#define FORWARD_MIN_BACKOFF_DEFAULT_MS 30
#define FORWARD_MAX_BACKOFF_DEFAULT_MS 5000
#define FORWARD_REMOTE_TIMEOUT_DEFAULT_MS 30000

/* One `remote_write:` item. */
struct forward_endpoint {
    char *url;
    char name[FORWARD_NAME_MAX + 1]; /* `name`, or "rw-" + 8 hex digits of the URL's hash */
    int64_t remote_timeout_ms;
    char **headers; /* "Name: value", NULL-terminated; NULL = none */
    char *basic_user, *basic_password;
    char *bearer_token; /* authorization (type Bearer) or bearer_token(_file) */
    struct tls_config tls; /* tls_config */
    /* queue_config */
    int64_t capacity, max_shards, min_shards, max_samples_per_send;
    int64_t batch_send_deadline_ms, min_backoff_ms, max_backoff_ms;
    uint64_t max_bytes; /* Tide's queue_config.max_bytes: the on-disk queue's cap */
    struct relabel_config relabel; /* write_relabel_configs (no rules = forward all) */
};

struct forward_config {
    struct forward_endpoint ep[FORWARD_ENDPOINTS_MAX];
    size_t n;
    char dir[TLS_CONFIG_PATH_MAX]; /* the config file's directory, which relative
                                    * tls_config files resolve against; "" = cwd */
};

/* Note the config file the next parses read (NULL = none), for its directory. */
void forward_config_set_file(struct forward_config *c, const char *path);

/* config_section_fn for `remote_write:` (ctx = struct forward_config *,
 * zeroed or from an earlier parse, which is replaced). Errors carry the
 * position; unsupported keys (sigv4, oauth2, azuread, proxy_url) are
 * refused by name with the reason. */
int forward_config_parse(void *ctx, const struct yaml_node *section, struct err *e);
void forward_config_fini(struct forward_config *c);

struct forwarder;

/* Log callback of the forwarder's threads (level: enum log_level). */
typedef void forward_log_fn(void *ctx, int level, const char *endpoint, const char *msg);

/* Open each endpoint's queue under data_dir/forward/<name>/ and start its
 * sender and the flusher. 0, or -errno / -ENOMEM with `e` (nothing left
 * running). `cfg` with n == 0 is fine: a forwarder with no endpoint. */
int forward_start(struct forwarder **out, const struct forward_config *cfg, const char *data_dir,
                  forward_log_fn *log, void *log_ctx, struct err *e);

/* pipeline_tap_fn (ctx = the forwarder): copy the batch into every
 * endpoint's pending batch, pushing full sends into the queues. Also a
 * pipeline_commit_fn body for `storage: none` (forward_commit). */
int forward_tap(void *ctx, const struct batch *b, struct err *e);
int forward_commit(void *ctx, const struct batch *b, struct pipeline_result *r, struct err *e);

/* Push every pending batch into its queue, let the senders deliver for at
 * most drain_ms, stop them, close the queues, free. NULL is a no-op. */
void forward_stop(struct forwarder *f, int64_t drain_ms);

/* Self-metrics (core/selfmetrics.h), ctx = the forwarder:
 * tide_remote_storage_* per endpoint (docs/metrics.md). */
struct sm_out;
void forward_collect(void *ctx, struct sm_out *o);

#endif
