/* batch.c: building batches of series and samples (see batch.h). */
#include "model/batch.h"

#include "core/mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

void batch_init(struct batch *b)
{
    *b = (struct batch){0};
    arena_init(&b->arena, 0);
}

void batch_fini(struct batch *b)
{
    free(b->labels);
    free(b->samples);
    free(b->series);
    free(b->meta);
    arena_fini(&b->arena);
    *b = (struct batch){0};
}

void batch_reset(struct batch *b)
{
    b->nlabels = b->nsamples = b->nseries = b->nmeta = 0;
    b->open = 0;
    arena_reset(&b->arena);
}

static int reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    void *np = realloc(*p, need * elem);
    if (np == NULL)
        return -ENOMEM;
    *p = np;
    *cap = need;
    return 0;
}

int batch_reserve(struct batch *b, size_t more_series, size_t more_labels, size_t more_samples)
{
    /* +1: batch_begin_series() writes one entry past the last ended series. */
    if (reserve((void **)&b->series, &b->cap_series, b->nseries + more_series + 1,
                sizeof *b->series) ||
        reserve((void **)&b->labels, &b->cap_labels, b->nlabels + more_labels,
                sizeof *b->labels) ||
        reserve((void **)&b->samples, &b->cap_samples, b->nsamples + more_samples,
                sizeof *b->samples))
        return -ENOMEM;
    return 0;
}

int batch_begin_series(struct batch *b)
{
    if (b->open)
        batch_abort_series(b);
    if (mem_grow((void **)&b->series, &b->cap_series, b->nseries + 1, sizeof *b->series))
        return -ENOMEM;
    b->series[b->nseries] = (struct batch_series){(uint32_t)b->nlabels, 0,
                                                  (uint32_t)b->nsamples, 0};
    b->open = 1;
    return 0;
}

int batch_add_label(struct batch *b, struct strv name, struct strv value)
{
    if (mem_grow((void **)&b->labels, &b->cap_labels, b->nlabels + 1, sizeof *b->labels))
        return -ENOMEM;
    b->labels[b->nlabels++] = (struct label){name, value};
    b->series[b->nseries].nlabels++;
    return 0;
}

int batch_add_sample(struct batch *b, int64_t t_ms, double v)
{
    if (mem_grow((void **)&b->samples, &b->cap_samples, b->nsamples + 1, sizeof *b->samples))
        return -ENOMEM;
    b->samples[b->nsamples++] = (struct sample){t_ms, v};
    b->series[b->nseries].nsamples++;
    return 0;
}

/* Sort, optionally validate, normalise; see batch.h. */
static int end_series(struct batch *b, bool check, struct err *e)
{
    struct batch_series *s = &b->series[b->nseries];
    b->open = 0;
    size_t n = 0;
    struct label *l = s->nlabels > 0 ? b->labels + s->label_off : NULL;
    if (l != NULL)
        labels_sort(l, s->nlabels);
    if (check && labels_validate(l, s->nlabels, e) != 0) {
        b->nlabels = s->label_off;
        b->nsamples = s->sample_off;
        return TIDE_EPARSE;
    }
    if (l != NULL)
        n = labels_normalize(l, s->nlabels);
    if (n == 0 || s->nsamples == 0) {
        b->nlabels = s->label_off;
        b->nsamples = s->sample_off;
        return 0;
    }
    b->nlabels = s->label_off + n;
    s->nlabels = (uint32_t)n;
    b->nseries++;
    return 0;
}

int batch_end_series(struct batch *b)
{
    return end_series(b, false, NULL);
}

int batch_end_series_checked(struct batch *b, struct err *e)
{
    return end_series(b, true, e);
}

void batch_abort_series(struct batch *b)
{
    if (!b->open)
        return;
    struct batch_series *s = &b->series[b->nseries];
    b->nlabels = s->label_off;
    b->nsamples = s->sample_off;
    b->open = 0;
}

char *batch_strdup(struct batch *b, const char *p, size_t n)
{
    return arena_strndup(&b->arena, p, n);
}

const char *metric_type_name(enum metric_type t)
{
    static const char *const names[] = {
        [METRIC_TYPE_UNKNOWN] = "unknown",
        [METRIC_TYPE_COUNTER] = "counter",
        [METRIC_TYPE_GAUGE] = "gauge",
        [METRIC_TYPE_HISTOGRAM] = "histogram",
        [METRIC_TYPE_GAUGEHISTOGRAM] = "gaugehistogram",
        [METRIC_TYPE_SUMMARY] = "summary",
        [METRIC_TYPE_INFO] = "info",
        [METRIC_TYPE_STATESET] = "stateset",
    };
    if ((int)t < 0 || (size_t)t >= sizeof names / sizeof names[0])
        return NULL;
    return names[t];
}

int batch_add_meta(struct batch *b, const struct batch_meta *m)
{
    if (b->nmeta > 0 && strv_eq(b->meta[b->nmeta - 1].family, m->family)) {
        struct batch_meta *last = &b->meta[b->nmeta - 1];
        if (m->type != METRIC_TYPE_NONE)
            last->type = m->type;
        if (m->help.p != NULL)
            last->help = m->help;
        if (m->unit.p != NULL)
            last->unit = m->unit;
        return 0;
    }
    if (mem_grow((void **)&b->meta, &b->cap_meta, b->nmeta + 1, sizeof *b->meta))
        return -ENOMEM;
    b->meta[b->nmeta++] = *m;
    return 0;
}
