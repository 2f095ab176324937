/* csv_import.c (fuzz): CSV import (ingest/csv_import.c). The input's first
 * line is the `format` parameter, the rest is the CSV body.
 * Invariants: every series has exactly one sample, its __name__ is one of
 * the format's metric names and its other labels are the format's label
 * columns; every reported error has a line and column inside the body. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ingest/csv_import.h"

static struct csv_import_format f; /* 36 KB: not on the fuzzer's stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    if (nl == NULL)
        return 0;
    if (csv_import_format_parse(p, (size_t)(nl - p), &f, NULL) != 0)
        return 0;
    const char *body = nl + 1;
    size_t n = size - (size_t)(body - p);
    struct batch b;
    batch_init(&b);
    struct ingest_report r;
    ingest_report_init(&r);
    struct csv_import_opts o = {&f, 1700000000000};
    int rc = csv_import_parse(body, n, &o, &b, &r);
    assert(rc == 0);
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += body[i] == '\n';
    for (size_t i = 0; i < r.nerrs; i++)
        assert(r.errs[i].line >= 1 && (size_t)r.errs[i].line <= lines && r.errs[i].col >= 1);
    assert(b.nsamples == b.nseries);
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        const struct label *l = b.labels + s->label_off;
        for (uint32_t j = 0; j < s->nlabels; j++) {
            int found = 0;
            for (size_t c = 0; c < f.ncols && !found; c++) {
                const struct csv_import_col *col = &f.cols[c];
                if (strv_eq_c(l[j].name, LABEL_METRIC_NAME))
                    found = col->kind == CSV_IMPORT_METRIC && strv_eq_c(l[j].value, col->name);
                else
                    found = col->kind == CSV_IMPORT_LABEL && strv_eq_c(l[j].name, col->name);
            }
            assert(found);
        }
    }
    batch_fini(&b);
    return 0;
}
