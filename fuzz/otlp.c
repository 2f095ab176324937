/* otlp.c (fuzz): OTLP metrics conversion (ingest/otlp.c).
 * Invariants: whatever the request, every series it yields has one sample,
 * a valid metric name and valid label names (the sanitising rules must
 * cover every byte), and a failed request leaves the batch empty. */
#include <assert.h>
#include <stdint.h>

#include "ingest/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct batch b;
    batch_init(&b);
    struct otlp_stats st = {0};
    struct err e;
    int rc = otlp_parse(data, size, (size_t)64 << 20, &b, &st, &e);
    if (rc != 0) {
        assert(rc == TIDE_EPARSE || rc == TIDE_ELIMIT);
        assert(b.nseries == 0 && b.nsamples == 0);
    }
    assert(b.nsamples == b.nseries);
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        const struct label *l = b.labels + s->label_off;
        struct strv name = labels_get(l, s->nlabels, STRV_LIT(LABEL_METRIC_NAME));
        assert(labels_valid_metric_name(name));
        for (uint32_t j = 0; j < s->nlabels; j++)
            assert(labels_valid_label_name(l[j].name));
    }
    batch_fini(&b);
    return 0;
}
