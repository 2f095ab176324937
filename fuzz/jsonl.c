/* fuzz/jsonl.c: jsonl_parse() on arbitrary bytes (ingest/jsonl.c).
 * Checks, beyond "no crash, no read past the input": every series has a
 * sorted label set with a non-empty __name__ and at least one sample;
 * lines_ok + lines_bad never exceeds the number of lines; and each parsed
 * series, formatted with jsonl_format() and parsed again, gives back the same
 * labels, timestamps and value bits (parse -> print -> parse). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/ingest.h"

#include "fuzz_check.h"

static void check_round_trip(const struct batch *b, size_t i)
{
    const struct batch_series *s = &b->series[i];
    const struct label *ls = b->labels + s->label_off;
    const struct sample *v = b->samples + s->sample_off;
    struct buf out;
    buf_init(&out, 0);
    int rc = jsonl_format(&out, ls, s->nlabels, v, s->nsamples);
    assert(rc == 0);
    assert(out.len > 0 && out.p[out.len - 1] == '\n');
    assert(memchr(out.p, '\n', out.len) == out.p + out.len - 1);

    struct batch b2;
    struct ingest_report r2;
    batch_init(&b2);
    ingest_report_init(&r2);
    rc = jsonl_parse(out.p, out.len, &b2, &r2);
    assert(rc == 0);
    assert(r2.lines_ok == 1 && r2.lines_bad == 0);
    assert(b2.nseries == 1);
    assert(b2.series[0].nlabels == s->nlabels);
    assert(b2.series[0].nsamples == s->nsamples);
    for (uint32_t k = 0; k < s->nlabels; k++) {
        assert(strv_eq(b2.labels[k].name, ls[k].name));
        assert(strv_eq(b2.labels[k].value, ls[k].value));
    }
    for (uint32_t k = 0; k < s->nsamples; k++) {
        assert(b2.samples[k].t_ms == v[k].t_ms);
        assert(memcmp(&b2.samples[k].v, &v[k].v, sizeof(double)) == 0);
    }
    batch_fini(&b2);
    buf_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct batch b;
    struct ingest_report r;
    batch_init(&b);
    ingest_report_init(&r);
    int rc = jsonl_parse(p, size, &b, &r);
    assert(rc == 0);
    check_line_report(&r, count_lines(p, size));
    assert(!b.open);
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        const struct label *ls = b.labels + s->label_off;
        assert(s->nlabels >= 1 && s->nsamples >= 1);
        struct strv name = labels_get(ls, s->nlabels, STRV_LIT(LABEL_METRIC_NAME));
        assert(name.n > 0);
        for (uint32_t k = 1; k < s->nlabels; k++)
            assert(strv_cmp(ls[k - 1].name, ls[k].name) < 0);
        check_round_trip(&b, i);
    }
    batch_fini(&b);
    return 0;
}
