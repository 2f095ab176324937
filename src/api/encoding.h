/* encoding.h: the request body encodings Tide accepts (Content-Encoding),
 * and their decoders into a capped buffer.
 *
 * http.c names the encoding from the header with encoding_parse() while the
 * body is still arriving, then decodes the whole body once with
 * encoding_decode(). The output buffer's `max` is the cap: a body that would
 * inflate past it is refused with TIDE_ELIMIT (HTTP 413) before the memory
 * is taken, never truncated.
 *
 * Thread: no shared state; every function may run on any thread.
 */
#ifndef TIDE_API_ENCODING_H
#define TIDE_API_ENCODING_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

enum encoding {
    ENCODING_IDENTITY = 0, /* no header, "" or "identity" */
    ENCODING_GZIP,         /* "gzip", "x-gzip": one or more gzip members */
    ENCODING_DEFLATE,      /* "deflate": zlib stream (RFC 1950), or raw deflate as some send */
    ENCODING_ZSTD,         /* "zstd": one or more zstd frames */
    ENCODING_SNAPPY,       /* "snappy": snappy block format (as remote write uses it) */
};

/* The encoding named by a Content-Encoding value (case-insensitive; NULL or
 * "" is identity). 0, or TIDE_EINVAL for a name Tide does not decode (and
 * for a list of several encodings). */
int encoding_parse(const char *name, enum encoding *out);

/* "gzip", "zstd", ... for messages. */
const char *encoding_name(enum encoding enc);

/* The names accepted, for a 415 message: "gzip, deflate, zstd, snappy or identity". */
#define ENCODING_ACCEPTED "gzip, deflate, zstd, snappy or identity"

/* Decode in[0..n) into `out` (appended; out->max is the cap). ENCODING_IDENTITY
 * copies. Returns 0; TIDE_ELIMIT when the decoded size would pass out->max;
 * TIDE_EPARSE for a corrupt or truncated stream; -ENOMEM. Detail in `e`
 * (may be NULL). On failure `out` may hold part of the output. */
int encoding_decode(enum encoding enc, const void *in, size_t n, struct buf *out, struct err *e);

#endif
