/* remote_write.h: Prometheus remote write 1.0 bodies (snappy block format
 * around a protobuf prometheus.WriteRequest, proto/prompb/) to a
 * `struct batch`, and back for tests and the agent's sender.
 *
 * What is kept: every TimeSeries' labels and float samples, and every
 * MetricMetadata as the batch's metadata (batch_add_meta()). Exemplars are
 * read past and ignored. Native histogram samples cannot be
 * stored yet: they are counted in *histograms_skipped and dropped, and a
 * series carrying only histograms adds nothing to the batch.
 *
 * A request is all or nothing, as in Prometheus: on any error the batch is
 * left with exactly the series it had before the call. Every series' labels
 * pass labels_validate() (Prometheus names, valid UTF-8, no duplicate, a
 * non-empty __name__); one that does not refuses the whole request, with the
 * 1-based index of the TimeSeries in the message.
 *
 * Rules as applied: docs/api/formats.md. Thread: none; the functions share no
 * state, so different batches may be filled on different threads.
 */
#ifndef TIDE_INGEST_REMOTE_WRITE_H
#define TIDE_INGEST_REMOTE_WRITE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "model/batch.h"

/* A sensible cap on the decompressed size of one request (Prometheus
 * senders cut batches at a few MB). Callers pass their own cap. */
#define REMOTE_WRITE_MAX_BYTES ((size_t)64 << 20)

/* Decode one snappy-compressed WriteRequest `body[0..n)` into `b`.
 * The body is decompressed into b's arena, so labels borrow from the batch
 * itself and `body` may be freed as soon as the call returns.
 * `max_bytes` caps the decompressed size (checked from the snappy header
 * before any allocation). `histograms_skipped` (may be NULL) is incremented
 * by the number of native histogram samples dropped.
 * Returns 0, TIDE_ELIMIT (over max_bytes), TIDE_EPARSE (bad snappy block or
 * protobuf, e->col then the 1-based byte offset in the decompressed message;
 * or a series refused by labels_validate(), "remote write: timeseries 3:
 * invalid label name ...") or -ENOMEM, with detail in `e` (may be NULL). */
int remote_write_decode(const void *body, size_t n, size_t max_bytes, struct batch *b,
                        size_t *histograms_skipped, struct err *e);

/* The same for an uncompressed protobuf WriteRequest `pb[0..n)`. Labels
 * borrow from `pb`, which must outlive the batch's use. Same errors. */
int remote_write_parse(const void *pb, size_t n, struct batch *b, size_t *histograms_skipped,
                       struct err *e);

/* Append the protobuf WriteRequest for every series of `b` to dst: one
 * TimeSeries per batch series, labels in the batch's (sorted) order, values
 * bit for bit. 0, TIDE_ELIMIT (dst's cap) or -ENOMEM; dst is unchanged on
 * failure. */
int remote_write_marshal(const struct batch *b, struct buf *dst);

/* remote_write_marshal() then snappy block compression: append a body ready
 * to POST with Content-Encoding: snappy. 0, TIDE_ELIMIT or -ENOMEM with
 * detail in `e` (may be NULL); dst is unchanged on failure. */
int remote_write_encode(const struct batch *b, struct buf *dst, struct err *e);

#endif
