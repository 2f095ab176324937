/* remote_read.h: Prometheus remote read (POST /api/v1/read), the way a
 * Prometheus server with `remote_read` pointed at Tide queries Tide's data.
 *
 * Request: a snappy block around a protobuf prometheus.ReadRequest
 * (proto/prompb/remote.proto): queries, each a time range and label
 * matchers (=, !=, =~, !~ fully anchored), and the response types the
 * client accepts, in its order of preference. Response, by the first
 * accepted type Tide implements (SAMPLES when none is listed):
 *   SAMPLES              a snappy block around a ReadResponse: one
 *                        QueryResult per query, each series' float samples
 *                        in [start, end], Content-Type application/x-protobuf.
 *   STREAMED_XOR_CHUNKS  Content-Type application/x-streamed-protobuf;
 *                        proto=prometheus.ChunkedReadResponse: frames of
 *                        uvarint(len) · CRC32C(msg) big-endian · msg, where
 *                        msg is a ChunkedReadResponse of one query's series
 *                        (query_index), each series' samples cut into XOR
 *                        chunks of at most REMOTE_READ_CHUNK_SAMPLES samples,
 *                        a frame closed once it reaches REMOTE_READ_FRAME_BYTES
 *                        (a long series then continues in the next frame
 *                        under the same labels), not compressed.
 * Details and limits: docs/api/remote-read.md.
 * Thread: no shared state; storage is thread-safe.
 */
#ifndef TIDE_API_REMOTE_READ_H
#define TIDE_API_REMOTE_READ_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

struct storage;

#define REMOTE_READ_CHUNK_SAMPLES 120     /* as Prometheus cuts its chunks */
#define REMOTE_READ_FRAME_BYTES (1 << 20) /* Prometheus' 1 MiB frame target */
#define REMOTE_READ_MAX_QUERIES 64

/* Answer one request: `body[0..n)` is the snappy-compressed ReadRequest,
 * decompressed up to `max_bytes`. The response body is appended to `out`
 * (whose cap bounds the answer: TIDE_ELIMIT past it) and *content_type set
 * to a static string; *encoding to "snappy" or NULL (no Content-Encoding).
 * 0; TIDE_EPARSE (not snappy, not a ReadRequest, a bad matcher, no
 * implemented response type), TIDE_ELIMIT, -ENOMEM or a storage error,
 * with detail in `e`. */
int remote_read_respond(struct storage *s, const void *body, size_t n, size_t max_bytes,
                        struct buf *out, const char **content_type, const char **encoding,
                        struct err *e);

/* Append one streamed frame around msg[0..n): uvarint(n), the CRC32C of msg
 * as 4 big-endian bytes, msg. 0, TIDE_ELIMIT or -ENOMEM. */
int remote_read_frame(struct buf *out, const void *msg, size_t n);

#endif
