/* fuzz/influx.c: influx_parse() on arbitrary bytes (ingest/influx.c).
 * Checks, beyond "no crash, no read past the input": every series has a
 * sorted, duplicate-free label set with a non-empty __name__ and at least
 * one sample; lines_ok + lines_bad never exceeds the number of lines; every
 * reported error carries a line within the input and a column >= 1.
 * Also checks jsontok_strtod() against strtod() on the input as a number. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/jsontok.h"

#include "fuzz_check.h"

static void check_strtod(const char *p, size_t n)
{
    double got;
    if (n > 64 || jsontok_strtod(p, n, &got) != 0)
        return;
    char c[65];
    memcpy(c, p, n);
    c[n] = 0;
    char *e = NULL;
    double want = strtod(c, &e);
    assert(e == c + n);
    assert(memcmp(&got, &want, sizeof got) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    check_strtod(p, size);

    struct batch b;
    struct ingest_report r;
    batch_init(&b);
    ingest_report_init(&r);
    struct influx_opts o = {(enum influx_precision)(size % 6), 1700000000000LL};
    int rc = influx_parse(p, size, &o, &b, &r);
    assert(rc == 0);
    check_line_report(&r, count_lines(p, size));
    for (size_t i = 0; i < r.nerrs; i++) {
        assert(r.errs[i].msg[0] != 0);
        if (i > 0)
            assert(r.errs[i].line > r.errs[i - 1].line);
    }
    assert(!b.open);
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        const struct label *ls = b.labels + s->label_off;
        assert(s->nlabels >= 1 && s->nsamples == 1);
        struct strv name = labels_get(ls, s->nlabels, STRV_LIT(LABEL_METRIC_NAME));
        assert(name.n > 0);
        for (uint32_t k = 0; k < s->nlabels; k++) {
            assert(ls[k].name.n > 0 && ls[k].value.n > 0);
            if (k > 0)
                assert(strv_cmp(ls[k - 1].name, ls[k].name) < 0);
        }
    }
    batch_fini(&b);
    return 0;
}
