/* pipeline.h: the one append path. Every producer of samples (the HTTP write
 * endpoints, the targets manager's collectors, `tide agent`, later rules and
 * imports) hands its batches to pipeline_append(); what stands behind it is
 * decided once, by the wiring in src/cmd/:
 *
 *     producer → pipeline_append() → commit stage → tap → tap …
 *
 * The commit stage is the one whose answer is the acknowledgement: storage in
 * `tide serve`, the durable queue in `tide agent`. Taps (a remote-write
 * forwarder, the live-stream hub) see every batch the commit stage accepted,
 * after it did, and can neither refuse nor delay an acknowledgement: a tap's
 * failure is counted in its stage statistics and otherwise ignored (a tap
 * that must not lose data keeps its own durable queue).
 *
 * Lifecycle: pipeline_new() with the commit stage → pipeline_add_tap()… →
 * pipeline_append() from any thread → pipeline_free() once no producer is
 * left. Taps are added before the first append only (TIDE_EINVAL after), so
 * the stage list is immutable while batches flow and needs no lock.
 *
 * Ownership: the pipeline borrows every stage's ctx; the wiring keeps them
 * alive until pipeline_free(). A batch is only read by the stages and stays
 * the producer's.
 * Thread: pipeline_append() and pipeline_stats() may run on any number of
 * threads at once; each stage function must be thread-safe accordingly.
 */
#ifndef TIDE_MODEL_PIPELINE_H
#define TIDE_MODEL_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/batch.h"

#define PIPELINE_STAGES_MAX 8

/* What one append did, as storage_append() reports it. */
struct pipeline_result {
    size_t samples_added;    /* samples the commit stage took */
    size_t samples_rejected; /* samples of series refused by a limit */
    size_t series_created;   /* series new to the commit stage */
};

/* The commit stage. 0 when every sample was taken; TIDE_ELIMIT when some
 * series were refused by a limit and the rest taken (first refusal in `e`);
 * any other negative value means nothing of the batch is acknowledged. Fills
 * `r` (zeroed by the caller) in every case. */
typedef int pipeline_commit_fn(void *ctx, const struct batch *b, struct pipeline_result *r,
                               struct err *e);

/* A tap: sees a batch the commit stage accepted (0 or TIDE_ELIMIT). A
 * negative return is counted as a failure of this tap; `e` is scratch. */
typedef int pipeline_tap_fn(void *ctx, const struct batch *b, struct err *e);

/* Counters of one stage (stage 0 is the commit stage). */
struct pipeline_stage_stats {
    const char *name;  /* as given; static or owned by the wiring */
    uint64_t batches;  /* batches handed to the stage */
    uint64_t samples;  /* samples in them */
    uint64_t failures; /* calls that returned an error (TIDE_ELIMIT excluded) */
};

struct pipeline;

/* A pipeline with its commit stage. `name` is borrowed for the pipeline's
 * life. 0 or -ENOMEM; *out is NULL on failure. */
int pipeline_new(struct pipeline **out, const char *name, pipeline_commit_fn *commit, void *ctx);

/* Add a tap after the last stage. TIDE_EINVAL once batches have flowed,
 * TIDE_ELIMIT past PIPELINE_STAGES_MAX. */
int pipeline_add_tap(struct pipeline *p, const char *name, pipeline_tap_fn *fn, void *ctx);

/* Append one batch through every stage. Returns the commit stage's answer
 * (see pipeline_commit_fn); `r` may be NULL. An empty batch is a no-op. */
int pipeline_append(struct pipeline *p, const struct batch *b, struct pipeline_result *r,
                    struct err *e);

/* batch_sink_fn for producers that deliver through a sink (collectors):
 * ctx is the pipeline. A TIDE_ELIMIT refusal is not the producer's error
 * (it is counted by the commit stage), so it answers 0 for it. */
int pipeline_sink(void *ctx, struct batch *b, struct err *e);

/* Copy up to `cap` stages' counters into `out`; returns the stage count. */
size_t pipeline_stats(struct pipeline *p, struct pipeline_stage_stats *out, size_t cap);

/* Self-metrics collect function (core/selfmetrics.h), ctx = the pipeline:
 * tide_pipeline_{batches,samples,failures}_total{stage}. */
struct sm_out;
void pipeline_collect(void *ctx, struct sm_out *o);

/* Free; NULL is a no-op. No append may be running. */
void pipeline_free(struct pipeline *p);

#endif
