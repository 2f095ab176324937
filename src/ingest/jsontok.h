/* jsontok.h: the few JSON pieces the ingest parsers and formatters share: a
 * string reader that borrows when it can, a number scanner, a value skipper,
 * a string writer, and jsontok_strtod(), decimal text to double bit-exactly.
 *
 * Every reader works on bytes that are NOT NUL-terminated: it takes a cursor
 * `*pp` and the end of the input and never reads at or past `end`.
 * On TIDE_EPARSE the cursor is left on the offending byte and `*why` names
 * the problem in a few words ("unterminated string"), for the caller to put in
 * a `struct err` with its own line and column.
 * Internal to src/ingest/ (jsonl.c, influx.c); not a general JSON library.
 */
#ifndef TIDE_INGEST_JSONTOK_H
#define TIDE_INGEST_JSONTOK_H

#include <stddef.h>

#include "core/buf.h"
#include "core/strv.h"
#include "model/batch.h"

/* Nesting depth past which jsontok_skip_value() refuses input. */
#define JSONTOK_MAX_DEPTH 64

static inline const char *jsontok_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Read the string whose opening quote is at *pp; leave *pp after the closing
 * quote. *out borrows from the input when the string has no escapes, and
 * otherwise points to its decoded UTF-8 copy in b's arena (\uXXXX and
 * surrogate pairs decoded; a lone surrogate becomes U+FFFD). Raw control
 * bytes are refused. 0, TIDE_EPARSE or -ENOMEM. */
int jsontok_string(const char **pp, const char *end, struct batch *b, struct strv *out,
                   const char **why);

/* Scan a number in strict JSON grammar at *pp (-?int frac? exp?); *text
 * borrows its bytes. *pp is left after it. 0 or TIDE_EPARSE. */
int jsontok_number(const char **pp, const char *end, struct strv *text, const char **why);

/* Skip any one value (object, array, string, number, true/false/null). */
int jsontok_skip_value(const char **pp, const char *end, int depth, const char **why);

/* Decimal text [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? to the double strtod()
 * gives for it, bit for bit, without needing a NUL. Fast path for up to 19
 * significant digits and small exponents; strtod on a copy otherwise.
 * 0, or TIDE_EPARSE when the text is not such a number. */
int jsontok_strtod(const char *p, size_t n, double *out);

/* Append p[0..n) as a quoted JSON string: '"', '\\' and bytes below 0x20
 * escaped, valid UTF-8 copied as is (so jsontok_string() gives back the same
 * bytes), and each byte that is not part of valid UTF-8 written as \ufffd:
 * the output is valid JSON whatever the input. 0, TIDE_ELIMIT or -ENOMEM. */
int jsontok_put_string(struct buf *dst, const char *p, size_t n);

#endif
