/* prom_matrix.h: the series of a query answer as the Prometheus API writes
 * them (prom_matrix.c): each series' `{"metric":{...},` and a matrix's
 * whole `[{"metric":{...},"values":[...]},...]`, the latter on two threads
 * when it is big. Used by prom_query.c. Pure but for the helper thread.
 */
#ifndef TIDE_API_PROM_MATRIX_H
#define TIDE_API_PROM_MATRIX_H

#include <stddef.h>

#include "api/prom_points.h"
#include "core/buf.h"
#include "query/query.h"

/* Points of a matrix from which a helper thread writes some of it (a few
 * milliseconds of formatting: worth a thread's start). */
#define PROM_MATRIX_SPLIT_POINTS 32768

/* Append `{"metric":{<labels>},` of s to b. 0 or the first error of b
 * (TIDE_ELIMIT, -ENOMEM). */
int prom_metric_append(struct buf *b, const struct query_series *s);

struct http_splice;

/* Append the matrix s[0..n) to b: `[`, the series separated by commas,
 * each `{"metric":{...},"values":[<points>]}` (times that are steps of pt,
 * which may be NULL, copied from it), `]`. With PROM_MATRIX_SPLIT_POINTS
 * points or more, the series are cut into chunks that the calling thread
 * takes from the front and a helper thread (core/assist.h) from the back;
 * the calling thread waits at most for the chunk the helper is on (none
 * when the helper never started). The helper's chunks are not copied to
 * b: when it wrote any, *sp (unused, zeroed, on entry) takes its buffer
 * and says where they go (at b->len when they were done, before the
 * closing `]`), and the response sends them in place (http.h); put
 * together, the same bytes as on one thread. b's cap counts them.
 * 0, or the first error of b (TIDE_ELIMIT past the cap, -ENOMEM); after an
 * error *sp is unused and b holds a prefix of the answer. Reads s and pt
 * only (from both threads); the helper is done with them when the call
 * returns. */
int prom_matrix_append(struct buf *b, const struct query_series *s, size_t n,
                       const struct prom_times *pt, struct http_splice *sp);

#endif
