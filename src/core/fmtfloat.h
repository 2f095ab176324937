/* fmtfloat.h: the shortest decimal text of a float64 that reads back to the
 * same bits, in the three layouts Tide's outputs use:
 *   fmtfloat_f  Go's strconv.FormatFloat(v, 'f', -1, 64): PromQL results,
 *               printed expressions, OTLP `le` labels ("0.25", "1500");
 *   fmtfloat_e  Go's 'e' form, -1 precision: the Prometheus API's values
 *               below 1e-6 or from 1e21 ("7e-07", "1.5e+21");
 *   fmtfloat_g  printf's %g at the first of 15, 16, 17 significant digits
 *               that round-trips: export formats ("0.5", "1e+20").
 * NaN and infinities print as "NaN", "+Inf", "-Inf". Pure; thread-safe.
 */
#ifndef TIDE_CORE_FMTFLOAT_H
#define TIDE_CORE_FMTFLOAT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/* v (finite) as its shortest round-tripping digits: v = ±0.d[0..nd) × 10^point. */
struct float_digits {
    bool neg;   /* sign bit set (-0.0 included) */
    int nd;     /* digits in d, 1..17, no trailing zeros but for the "0" of zero */
    int point;  /* position of the decimal point relative to d[0] */
    char d[18]; /* ASCII digits */
};

/* The digits of Go's strconv.FormatFloat(v, 'e', -1, 64): the shortest that
 * read back, the nearest to v among equally short ones (see fmtfloat.c). */
void fmtfloat_shortest(double v, struct float_digits *out);
/* The same digits by another method, fmtfloat.c's search by precision
 * (fmtfloat_shortest() takes fmtfloat_sf.c's): what fmtfloat_g() starts
 * from, and a second opinion for the tests. Slower. */
void fmtfloat_shortest_search(double v, struct float_digits *out);
/* Schubfach's step of fmtfloat_shortest() (fmtfloat_sf.c): finite v != 0
 * as f 10^e, f < 10^17 the shortest digits (trailing zeros possible). */
void fmtfloat_sf(double v, uint64_t *f, int *e);

int fmtfloat_f(struct buf *b, double v);
int fmtfloat_e(struct buf *b, double v);
/* The same into s (FMTFLOAT_F_MAX / FMTFLOAT_E_MAX bytes at least; a NUL
 * may follow the text); return the length. For writers that lay out a whole record
 * on the stack (the Prometheus API's points). */
#define FMTFLOAT_F_MAX 352 /* "-0." + 323 zeros + 17 digits, or 309 integer digits */
#define FMTFLOAT_E_MAX 48
int fmtfloat_f_chars(char *s, double v);
int fmtfloat_e_chars(char *s, double v);
/* Into buf (>= 32 bytes), NUL-terminated; returns the length. */
int fmtfloat_g(char *buf, double v);

#endif
