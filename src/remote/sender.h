/* sender.h: the thread that drains a queue (queue.h) into a Prometheus
 * remote-write receiver with libcurl, one record per POST, in queue order.
 *
 * Per record: 2xx → queue_ack(); 3xx or 4xx other than 429 → the receiver will
 * never take it: it is acked (dropped) and reported through the log
 * callback with the status and the start of the response body; 5xx, 429 and
 * network errors → the same record is retried after a backoff that starts at
 * backoff_min_ms, doubles per failure up to backoff_max_ms, and sleeps a
 * uniformly random time in [0, that] (full jitter). A success resets it.
 * Nothing is sent out of order, and nothing acked is sent again; a crash
 * between a 2xx and the ack resends that one record (docs/agent.md).
 *
 * Ownership: the sender borrows the queue, which must outlive sender_free().
 * Strings in the opts are copied. Thread: sender_start/stop/free from one
 * thread; sender_stats() from any.
 */
#ifndef TIDE_REMOTE_SENDER_H
#define TIDE_REMOTE_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/tls_config.h"

struct queue;

#define SENDER_BACKOFF_MIN_MS 100
#define SENDER_BACKOFF_MAX_MS 30000
#define SENDER_TIMEOUT_MS 30000

/* What happened, for the log: level is an enum log_level (core/log.h). Runs
 * on the sender thread; `msg` is valid during the call only. */
typedef void sender_log_fn(void *ctx, int level, const char *msg);

/* What became of one attempt to deliver a record. */
enum sender_outcome {
    SENDER_SENT = 0, /* 2xx: acked */
    SENDER_DROPPED,  /* refused for good: acked without delivery */
    SENDER_RETRY,    /* 5xx, 429, network error: will be sent again */
};

/* Told after every attempt, on the sender thread, with the record's first
 * record_header bytes (the producer's own bookkeeping, e.g. sample counts);
 * `hdr` is valid during the call only. */
typedef void sender_result_fn(void *ctx, const void *hdr, size_t hdr_len,
                              enum sender_outcome outcome);

struct sender_opts {
    const char *url;          /* remote-write endpoint, e.g. http://h:8428/api/v1/write */
    const char *bearer_token; /* "Authorization: Bearer …"; NULL = none */
    const char *basic_user;   /* basic auth when set (with basic_password) */
    const char *basic_password;
    const char *user_agent; /* NULL = "tide-agent" */
    int64_t timeout_ms;     /* per request; 0 = SENDER_TIMEOUT_MS */
    int64_t backoff_min_ms; /* 0 = SENDER_BACKOFF_MIN_MS */
    int64_t backoff_max_ms; /* 0 = SENDER_BACKOFF_MAX_MS */
    sender_log_fn *log;     /* may be NULL */
    void *log_ctx;
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated; may be NULL */
    const struct tls_config *tls; /* NULL = defaults; read during sender_new() only */
    /* Each queue record starts with this many bytes that are not part of
     * the body (a producer's header for on_result); 0 = none. A record not
     * longer than that is skipped as corrupt. */
    size_t record_header;
    sender_result_fn *on_result; /* may be NULL */
    void *result_ctx;
};

struct sender_stats {
    uint64_t sent_records;    /* acknowledged by the receiver (2xx) */
    uint64_t sent_bytes;      /* their body bytes */
    uint64_t dropped_records; /* refused for good (4xx other than 429) */
    uint64_t failed_attempts; /* 5xx, 429, network errors: each retried */
    int last_status;          /* HTTP status of the last attempt; 0 = network error */
    int64_t last_success_ms;  /* wall clock; 0 = never */
};

struct sender;

/* Create a sender for `q`. On failure *out is NULL: TIDE_EINVAL (no URL),
 * -ENOMEM, or -EIO when libcurl cannot start. */
int sender_new(const struct sender_opts *o, struct queue *q, struct sender **out, struct err *e);

/* Start the thread. -errno when it cannot start. */
int sender_start(struct sender *s, struct err *e);

/* Stop the thread: keep delivering for at most drain_ms while records are
 * waiting and the receiver takes them (0 = stop now), then abort any
 * request in flight (its record stays queued) and join. Idempotent. */
void sender_stop(struct sender *s, int64_t drain_ms);

/* Stop (without draining) if running, then free. NULL is a no-op. */
void sender_free(struct sender *s);

void sender_stats(struct sender *s, struct sender_stats *out);

#endif
