/* prom_points.h: samples as the Prometheus API writes them,
 * [<time>,"<value>"] (prom_points.c). Used by prom_query.c for the points
 * of every query answer. Pure; a struct prom_times belongs to one request.
 */
#ifndef TIDE_API_PROM_POINTS_H
#define TIDE_API_PROM_POINTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "model/batch.h"

/* Bytes of one pre-written time: "[", the time, ",\"", and in the last
 * byte the length of what comes before it. */
#define PROM_TIME_SLOT 32

/* The evaluation times of a range query, start + k step for k < n, each
 * written once as the beginning of a point, `[1435781451.781,"`, so that
 * the 100s of series of an answer copy them instead of writing their
 * digits again. Owns `slot`. */
struct prom_times {
    int64_t start, step; /* ms */
    size_t n;
    char (*slot)[PROM_TIME_SLOT];
};

/* The times of a range query from start to end (ms, both included) by step
 * (> 0), at most `max` of them. 0, or -ENOMEM with *pt empty (then
 * prom_points_append writes every time itself). */
int prom_times_init(struct prom_times *pt, int64_t start, int64_t end, int64_t step, size_t max);
void prom_times_fini(struct prom_times *pt);

/* Prometheus' marshalTimestamp: Unix seconds with a millisecond fraction
 * only when there is one ("1435781451.781", "1435781451"), into s (24 bytes
 * at least); the length. */
size_t prom_time_chars(char *s, int64_t t_ms);

/* A sample value as Prometheus writes it (Go's FormatFloat 'f', -1, but
 * 'e' when |v| < 1e-6 or >= 1e21: "0.25", "7e-07", "1e+21"), into s
 * (FMTFLOAT_F_MAX bytes at least); the length. */
size_t prom_value_chars(char *s, double v);

/* Append the points s[0..n) to b, separated by commas, each
 * [<time>,"<value>"]; times that are steps of pt (which may be NULL) are
 * copied from it. 0, or the first error of b (TIDE_ELIMIT, -ENOMEM), with
 * the points before it appended. */
int prom_points_append(struct buf *b, const struct sample *s, size_t n,
                       const struct prom_times *pt);

#endif
