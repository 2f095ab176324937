/* fuzz_check.h: invariants several fuzz targets assert (a header, as each
 * .c file in fuzz/ is a target of its own). */
#ifndef TIDE_FUZZ_CHECK_H
#define TIDE_FUZZ_CHECK_H

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/ingest.h"
#include "model/batch.h"

/* Lines in p[0..n), a last one without '\n' included. */
static inline size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    return lines + (n > 0 && p[n - 1] != '\n');
}

/* The report of a line parser over `lines` lines: good + bad lines within
 * them, no more errors kept than bad lines (nor than the cap), each a parse
 * error at a line of the input and a column >= 1. */
static inline void check_line_report(const struct ingest_report *r, size_t lines)
{
    assert(r->lines_ok + r->lines_bad <= lines);
    assert(r->nerrs <= r->lines_bad && r->nerrs <= INGEST_MAX_REPORTED);
    for (size_t i = 0; i < r->nerrs; i++) {
        assert(r->errs[i].code == TIDE_EPARSE);
        assert(r->errs[i].line >= 1 && (size_t)r->errs[i].line <= lines);
        assert(r->errs[i].col >= 1);
    }
}

/* a and b hold the same series: labels, timestamps and value bits, any NaN
 * matching any NaN when nan_any (text formats print every NaN as "NaN"). */
static inline void check_same_batch(const struct batch *a, const struct batch *b, int nan_any)
{
    assert(a->nseries == b->nseries);
    for (size_t i = 0; i < a->nseries; i++) {
        const struct batch_series *x = &a->series[i], *y = &b->series[i];
        assert(labels_cmp(a->labels + x->label_off, x->nlabels, b->labels + y->label_off,
                          y->nlabels) == 0);
        assert(x->nsamples == y->nsamples);
        for (uint32_t j = 0; j < x->nsamples; j++) {
            const struct sample *s = &a->samples[x->sample_off + j];
            const struct sample *t = &b->samples[y->sample_off + j];
            assert(s->t_ms == t->t_ms);
            if (nan_any && isnan(s->v))
                assert(isnan(t->v));
            else
                assert(memcmp(&s->v, &t->v, sizeof s->v) == 0);
        }
    }
}

#endif
