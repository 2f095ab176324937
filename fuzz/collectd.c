/* collectd.c (fuzz): collectd's write_http formats (ingest/collectd.c), the
 * input read as JSON, as PUTVAL lines and sniffed. Invariants: the parser
 * only fails on memory; every series has one sample and a valid metric
 * name starting "collectd_"; every reported error is a
 * TIDE_EPARSE with a line >= 1 whose message starts "line <n>:"; PUTVAL
 * never reports more bad lines than the input has lines; every metadata
 * entry names a series of the batch, as a counter exactly when the name
 * ends in _total. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ingest/collectd.h"

#include "fuzz_check.h"

static void check(const uint8_t *data, size_t size, enum collectd_format f)
{
    struct batch b;
    batch_init(&b);
    struct ingest_report r;
    ingest_report_init(&r);
    struct collectd_opts o = {.format = f, .now_ms = 1700000000000};
    int rc = collectd_parse((const char *)data, size, &o, &b, &r);
    assert(rc == 0);
    for (size_t i = 0; i < r.nerrs; i++) {
        char want[24];
        snprintf(want, sizeof want, "line %d: ", r.errs[i].line);
        assert(r.errs[i].code == TIDE_EPARSE && r.errs[i].line >= 1);
        assert(strncmp(r.errs[i].msg, want, strlen(want)) == 0);
    }
    if (f == COLLECTD_PUTVAL) {
        size_t lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n';
        assert(r.lines_ok + r.lines_bad <= lines);
    }
    assert(b.nsamples == b.nseries);
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        const struct label *l = b.labels + s->label_off;
        struct strv name = labels_get(l, s->nlabels, STRV_LIT(LABEL_METRIC_NAME));
        assert(labels_valid_metric_name(name));
        assert(name.n >= 9 && memcmp(name.p, "collectd_", 9) == 0);
    }
    assert(b.nmeta <= b.nseries);
    for (size_t i = 0; i < b.nmeta; i++) {
        const struct batch_meta *m = &b.meta[i];
        bool total = m->family.n >= 6 && memcmp(m->family.p + m->family.n - 6, "_total", 6) == 0;
        assert(m->type == METRIC_TYPE_COUNTER || m->type == METRIC_TYPE_GAUGE);
        if (m->type == METRIC_TYPE_COUNTER)
            assert(total);
        bool found = false;
        for (size_t j = 0; j < b.nseries && !found; j++) {
            const struct batch_series *s = &b.series[j];
            struct strv n =
                labels_get(b.labels + s->label_off, s->nlabels, STRV_LIT(LABEL_METRIC_NAME));
            found = strv_eq(n, m->family);
        }
        assert(found);
    }
    batch_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, COLLECTD_AUTO);
    check(data, size, COLLECTD_JSON);
    check(data, size, COLLECTD_PUTVAL);
    return 0;
}
