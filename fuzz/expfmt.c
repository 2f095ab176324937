/* expfmt.c (fuzz): the text exposition parser (ingest/expfmt.c).
 * Invariants: every series has one sample and a valid metric name; every
 * reported error has a line and column; good + bad lines never exceed the
 * lines in the input; and the batch printed back as exposition text parses
 * to the same batch (NaN payloads aside: "NaN" reads as the canonical NaN). */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ingest/expfmt.h"

#include "fuzz_check.h"

static void print(struct buf *dst, const struct batch *b)
{
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *l = b->labels + s->label_off;
        struct strv name = labels_get(l, s->nlabels, STRV_LIT(LABEL_METRIC_NAME));
        buf_append(dst, name.p, name.n);
        buf_putc(dst, '{');
        for (uint32_t j = 0; j < s->nlabels; j++) {
            if (strv_eq_c(l[j].name, LABEL_METRIC_NAME))
                continue;
            buf_append(dst, l[j].name.p, l[j].name.n);
            buf_puts(dst, "=\"");
            for (size_t k = 0; k < l[j].value.n; k++) {
                char c = l[j].value.p[k];
                if (c == '\\' || c == '"')
                    buf_putc(dst, '\\');
                if (c == '\n')
                    buf_puts(dst, "\\n");
                else
                    buf_putc(dst, c);
            }
            buf_puts(dst, "\",");
        }
        const struct sample *sm = &b->samples[s->sample_off];
        char v[32];
        ingest_format_float(v, sm->v);
        buf_printf(dst, "} %s %" PRId64 "\n", v, sm->t_ms);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct batch a, b;
    batch_init(&a);
    batch_init(&b);
    struct ingest_report r;
    ingest_report_init(&r);
    struct expfmt_opts o = {1700000000000};
    int rc = expfmt_parse((const char *)data, size, &o, &a, &r);
    assert(rc == 0);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    assert(r.lines_ok + r.lines_bad <= lines);
    for (size_t i = 0; i < r.nerrs; i++)
        assert(r.errs[i].line >= 1 && r.errs[i].col >= 1 && r.errs[i].code == TIDE_EPARSE);
    assert(a.nsamples == a.nseries);
    for (size_t i = 0; i < a.nseries; i++) {
        const struct batch_series *s = &a.series[i];
        struct strv name = labels_get(a.labels + s->label_off, s->nlabels,
                                      STRV_LIT(LABEL_METRIC_NAME));
        assert(labels_valid_metric_name(name));
    }
    struct buf text;
    buf_init(&text, 0);
    print(&text, &a);
    ingest_report_init(&r);
    rc = expfmt_parse(text.p, text.len, &o, &b, &r);
    assert(rc == 0 && r.lines_bad == 0);
    check_same_batch(&a, &b, 1);
    buf_fini(&text);
    batch_fini(&a);
    batch_fini(&b);
    return 0;
}
