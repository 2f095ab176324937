/* json.h: a JSON writer appending to a capped struct buf.
 *
 * The writer places commas itself and keeps the first error (sticky, like a
 * stdio stream): a handler writes a whole document, then checks json_end()
 * once. Strings are escaped per RFC 8259; bytes that are not valid UTF-8
 * become U+FFFD, as Go's encoding/json does, so the output is always valid
 * JSON whatever bytes a label value holds.
 *
 * Thread: none; a writer belongs to one request.
 */
#ifndef TIDE_API_JSON_H
#define TIDE_API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/strv.h"

#define JSON_MAX_DEPTH 32

struct json {
    struct buf *b;                  /* destination, not owned */
    int rc;                         /* first error (TIDE_ELIMIT, -ENOMEM), 0 while fine */
    int depth;                      /* open objects/arrays */
    bool after_key;                 /* a key was written; its value comes next, no comma */
    bool first[JSON_MAX_DEPTH + 1]; /* no value yet at this depth */
};

void json_init(struct json *w, struct buf *b);
/* The first error met, 0 when the document is complete and fit. */
int json_end(struct json *w);

void json_obj(struct json *w); /* { */
void json_obj_end(struct json *w);
void json_arr(struct json *w); /* [ */
void json_arr_end(struct json *w);
void json_key(struct json *w, const char *k);  /* "k": (k is trusted ASCII) */
void json_keyv(struct json *w, struct strv k); /* "k": (escaped) */
void json_str(struct json *w, struct strv s);
void json_cstr(struct json *w, const char *s);
void json_i64(struct json *w, int64_t v);
void json_u64(struct json *w, uint64_t v);
void json_bool(struct json *w, bool v);
/* A finite number in the fewest digits that read back the same (Go's
 * encoding/json float64); NaN and infinities are written as null. */
void json_f64(struct json *w, double v);

/* Append `s` as a quoted, escaped JSON string to b. 0 or a buf error. */
int json_quote(struct buf *b, const char *p, size_t n);

/* Prometheus' answer envelopes, written into `out` after emptying it.
 *
 * json_prom_success() starts `{"status":"success","data":` with w; the caller
 * writes the data value, then json_obj_end(w) and checks json_end(w).
 * json_prom_error() writes the whole `{"status":"error","errorType":type,
 * "error":msg}` and returns json_end()'s result: 0, or TIDE_ELIMIT/-ENOMEM
 * when it did not fit (`out` then holds a truncated document). */
void json_prom_success(struct json *w, struct buf *out);
int json_prom_error(struct buf *out, const char *type, const char *msg);

#endif
