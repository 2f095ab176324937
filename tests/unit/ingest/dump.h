/* dump.h: a batch as text for the ingest tests, one sample per line:
 *   name{k="v",...} value t_ms
 * Labels in the batch's (sorted) order with __name__ pulled out front; the
 * value as ingest_format_float() writes it, "StaleNaN" for the stale marker. */
#ifndef TIDE_TESTS_INGEST_DUMP_H
#define TIDE_TESTS_INGEST_DUMP_H

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "ingest/ingest.h"
#include "model/batch.h"

static inline void dump_batch(struct buf *out, const struct batch *b)
{
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *ls = b->labels + s->label_off;
        struct strv name = labels_get(ls, s->nlabels, STRV_LIT("__name__"));
        for (uint32_t j = 0; j < s->nsamples; j++) {
            const struct sample *v = &b->samples[s->sample_off + j];
            buf_append(out, name.p, name.n);
            buf_putc(out, '{');
            int first = 1;
            for (uint32_t k = 0; k < s->nlabels; k++) {
                if (strv_eq_c(ls[k].name, "__name__"))
                    continue;
                buf_printf(out, "%s%.*s=\"%.*s\"", first ? "" : ",", (int)ls[k].name.n,
                           ls[k].name.p, (int)ls[k].value.n, ls[k].value.p);
                first = 0;
            }
            uint64_t bits;
            memcpy(&bits, &v->v, sizeof bits);
            char tmp[32];
            if (bits == STALE_NAN_BITS)
                strcpy(tmp, "StaleNaN");
            else
                ingest_format_float(tmp, v->v);
            buf_printf(out, "} %s %" PRId64 "\n", tmp, v->t_ms);
        }
    }
}

#endif
