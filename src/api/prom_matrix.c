/* prom_matrix.c: the series of a query answer (prom_matrix.h), between the
 * engine's result (query/query.h) and the response body prom_query.c
 * sends.
 *
 * A 90-day chart at a 1 h step over 100 series is 216 100 points, about
 * 7 MB of JSON and a third of the query's CPU (the shortest digits of every
 * value). The query itself runs on one core; on a machine with a second
 * one, a big matrix is written in two halves at once: the calling thread
 * writes the series up to the middle point into the response, a helper
 * thread the rest into a buffer of its own (a pooled body allocation,
 * body_pool.h, so its pages are already there), which is then appended.
 * When the helper has not started by the time the first half is written
 * (both cores busy), the calling thread writes the rest itself
 * (core/assist.h): a loaded machine never waits for a thread.
 * Every series is written by the same code either way, so the bytes are
 * the same as on one thread; only where they are first written differs.
 */
#include "api/prom_matrix.h"

#include <stdbool.h>

#include "api/body_pool.h"
#include "api/json.h"
#include "core/assist.h"

int prom_metric_append(struct buf *b, const struct query_series *s)
{
    int rc = buf_puts(b, "{\"metric\":{");
    for (size_t i = 0; i < s->nlabels && rc == 0; i++) {
        if (i > 0)
            rc = buf_putc(b, ',');
        if (rc == 0)
            rc = json_quote(b, s->labels[i].name.p, s->labels[i].name.n);
        if (rc == 0)
            rc = buf_putc(b, ':');
        if (rc == 0)
            rc = json_quote(b, s->labels[i].value.p, s->labels[i].value.n);
    }
    if (rc == 0)
        rc = buf_puts(b, "},");
    return rc;
}

/* Series s[a..z) of a matrix, each after a comma but the answer's first. */
static int series_range(struct buf *b, const struct query_series *s, size_t a, size_t z,
                        const struct prom_times *pt)
{
    int rc = 0;
    for (size_t i = a; i < z && rc == 0; i++) {
        if (i > 0)
            rc = buf_putc(b, ',');
        if (rc == 0)
            rc = prom_metric_append(b, &s[i]);
        if (rc == 0)
            rc = buf_puts(b, "\"values\":[");
        if (rc == 0)
            rc = prom_points_append(b, s[i].samples, s[i].nsamples, pt);
        if (rc == 0)
            rc = buf_puts(b, "]}");
    }
    return rc;
}

/* The half offered to a helper thread. */
struct half {
    const struct query_series *s;
    size_t a, z;
    const struct prom_times *pt;
    struct buf out; /* written by whoever takes the half (core/assist.h) */
    int rc;
};

static void half_main(void *arg)
{
    struct half *h = arg;
    h->rc = series_range(&h->out, h->s, h->a, h->z, h->pt);
}

/* Where the second half starts: the first series at or past the middle
 * point, or n when the matrix is too small (or too lopsided) to split. */
static size_t split_at(const struct query_series *s, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += s[i].nsamples;
    if (n < 2 || total < PROM_MATRIX_SPLIT_POINTS)
        return n;
    size_t acc = 0, i = 0;
    while (i < n && acc + s[i].nsamples / 2 < total / 2)
        acc += s[i++].nsamples;
    return i > 0 && i < n ? i : n;
}

int prom_matrix_append(struct buf *b, const struct query_series *s, size_t n,
                       const struct prom_times *pt)
{
    int rc = buf_putc(b, '[');
    if (rc != 0)
        return rc;
    size_t mid = split_at(s, n);
    struct half h = {.s = s, .a = mid, .z = n, .pt = pt};
    struct assist *as = NULL;
    if (mid < n) {
        buf_init(&h.out, b->max);
        body_pool_take(&h.out);
        if (assist_start(&as, half_main, &h) != 0)
            mid = n; /* no helper: all on this thread */
    }
    rc = series_range(b, s, 0, mid, pt);
    if (as != NULL) {
        if (assist_take(as)) {
            /* The helper has not started: the rest goes straight into b. */
            assist_finish(as);
            if (rc == 0)
                rc = series_range(b, s, mid, n, pt);
        } else {
            assist_finish(as);
            if (rc == 0)
                rc = h.rc;
            if (rc == 0)
                rc = buf_append(b, h.out.p, h.out.len);
        }
    }
    if (h.out.p != NULL) {
        size_t len;
        body_pool_release(buf_take(&h.out, &len));
    }
    if (rc == 0)
        rc = buf_putc(b, ']');
    return rc;
}
