/* prom_points.c: samples as the Prometheus API writes them (prom_points.h),
 * the innermost loop of every query answer: a 90-day chart at a 1 h step,
 * 100 series, is 216 100 points, most of the work of its response.
 *
 * Each point is written in place at the end of the response buffer (room
 * for the longest point is made first; no copy through a stack array).
 * Its time is copied from struct prom_times when it is a step of the range
 * query (the times are the same for every series: written once per
 * request, not once per point), else written digit by digit; its value
 * comes from core/fmtfloat.c.
 */
#include "api/prom_points.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/fmtfloat.h"

/* The longest point: "[", a time (at most 21 chars: -9223372036854775.808),
 * ",\"", a value, "\"]", and the comma before the next. */
#define POINT_MAX (1 + 24 + 2 + FMTFLOAT_F_MAX + 3)

size_t prom_time_chars(char *s, int64_t t_ms)
{
    uint64_t u = t_ms < 0 ? (uint64_t)0 - (uint64_t)t_ms : (uint64_t)t_ms;
    unsigned ms = (unsigned)(u % 1000);
    uint64_t sec = u / 1000;
    size_t nd = 1;
    for (uint64_t x = sec; x >= 10; x /= 10)
        nd++;
    size_t n = (t_ms < 0) + nd + (ms != 0 ? 4 : 0);
    char *p = s + n; /* written backwards, in place */
    if (ms != 0) {
        for (int i = 0; i < 3; i++) {
            *--p = (char)('0' + ms % 10);
            ms /= 10;
        }
        *--p = '.';
    }
    do {
        *--p = (char)('0' + sec % 10);
        sec /= 10;
    } while (sec != 0);
    if (t_ms < 0)
        *--p = '-';
    return n;
}

size_t prom_value_chars(char *s, double v)
{
    double a = fabs(v);
    if (a == 0 || !isfinite(a) || (a >= 1e-6 && a < 1e21))
        return (size_t)fmtfloat_f_chars(s, v);
    return (size_t)fmtfloat_e_chars(s, v);
}

/* `[<time>,"` into s (PROM_TIME_SLOT bytes); the length. */
static size_t time_head(char *s, int64_t t_ms)
{
    size_t n = 0;
    s[n++] = '[';
    n += prom_time_chars(s + n, t_ms);
    s[n++] = ',';
    s[n++] = '"';
    return n;
}

int prom_times_init(struct prom_times *pt, int64_t start, int64_t end, int64_t step, size_t max)
{
    *pt = (struct prom_times){0};
    if (step <= 0 || end < start)
        return 0;
    uint64_t n = (uint64_t)(end - start) / (uint64_t)step + 1;
    if (n > max)
        return 0; /* more than the caller's cap: times are written one by one */
    pt->slot = malloc((size_t)n * sizeof *pt->slot);
    if (pt->slot == NULL)
        return -ENOMEM;
    pt->start = start;
    pt->step = step;
    pt->n = (size_t)n;
    for (size_t k = 0; k < pt->n; k++) {
        char *s = pt->slot[k];
        s[PROM_TIME_SLOT - 1] = (char)time_head(s, start + (int64_t)k * step);
    }
    return 0;
}

void prom_times_fini(struct prom_times *pt)
{
    free(pt->slot);
    *pt = (struct prom_times){0};
}

/* The pre-written head of t_ms, or NULL when t_ms is not one of pt's steps.
 * *next is the step the caller expects (the one after the last found): a
 * series' points are time-ordered and mostly at consecutive steps, so the
 * division is left for the others. */
static const char *slot_of(const struct prom_times *pt, int64_t t_ms, size_t *next)
{
    if (pt == NULL || pt->n == 0 || t_ms < pt->start)
        return NULL;
    uint64_t d = (uint64_t)(t_ms - pt->start);
    uint64_t k = *next;
    if (k >= pt->n || k * (uint64_t)pt->step != d) {
        k = d / (uint64_t)pt->step;
        if (k >= pt->n || k * (uint64_t)pt->step != d)
            return NULL;
    }
    *next = (size_t)k + 1;
    return pt->slot[k];
}

/* One point (with its leading comma when `comma`) at p, which has room for
 * POINT_MAX bytes; the length. */
static size_t point_chars(char *p, const struct sample *s, bool comma,
                          const struct prom_times *pt, size_t *next)
{
    char *o = p;
    if (comma)
        *o++ = ',';
    const char *head = slot_of(pt, s->t_ms, next);
    if (head != NULL) {
        memcpy(o, head, PROM_TIME_SLOT); /* whole slot: a fixed-size copy */
        o += (unsigned char)head[PROM_TIME_SLOT - 1];
    } else {
        o += time_head(o, s->t_ms);
    }
    o += prom_value_chars(o, s->v);
    *o++ = '"';
    *o++ = ']';
    return (size_t)(o - p);
}

int prom_points_append(struct buf *b, const struct sample *s, size_t n,
                       const struct prom_times *pt)
{
    size_t next = 0; /* the step expected next (slot_of) */
    for (size_t j = 0; j < n; j++) {
        if (b->p == NULL || b->cap - b->len < POINT_MAX) {
            int rc = buf_reserve(b, POINT_MAX);
            if (rc == TIDE_ELIMIT) {
                /* Near the buffer's cap: the point's own length decides. */
                char tmp[POINT_MAX];
                rc = buf_append(b, tmp, point_chars(tmp, &s[j], j > 0, pt, &next));
                if (rc != 0)
                    return rc;
                continue;
            }
            if (rc != 0)
                return rc;
        }
        b->len += point_chars(b->p + b->len, &s[j], j > 0, pt, &next);
        b->p[b->len] = 0;
    }
    return 0;
}
