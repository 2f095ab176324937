/* remote_write.c (fuzz): the remote write decoder (ingest/remote_write.c).
 * The first byte picks the entry point: even = raw protobuf
 * (remote_write_parse), odd = snappy body (remote_write_decode), so the
 * fuzzer reaches the protobuf reader without having to learn snappy.
 * Invariants: a decoded batch, encoded and decoded again, is the same batch
 * bit for bit; a failed decode leaves the batch as it was; the decompressed
 * size never passes the cap. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ingest/remote_write.h"

static void same(const struct batch *a, const struct batch *b)
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
            assert(memcmp(&s->v, &t->v, sizeof s->v) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct batch a, b;
    batch_init(&a);
    batch_init(&b);
    struct err e;
    size_t hist = 0;
    int rc;
    if (data[0] & 1)
        rc = remote_write_decode(data + 1, size - 1, (size_t)1 << 20, &a, &hist, &e);
    else
        rc = remote_write_parse(data + 1, size - 1, &a, &hist, &e);
    if (rc != 0) {
        assert(rc == TIDE_EPARSE || rc == TIDE_ELIMIT);
        assert(a.nseries == 0 && a.nlabels == 0 && a.nsamples == 0);
        assert(e.msg[0] != 0);
    } else {
        assert(hist <= size);
        struct buf body;
        buf_init(&body, 0);
        rc = remote_write_encode(&a, &body, &e);
        assert(rc == 0);
        rc = remote_write_decode(body.p, body.len, REMOTE_WRITE_MAX_BYTES, &b, NULL, &e);
        assert(rc == 0);
        same(&a, &b);
        buf_fini(&body);
    }
    batch_fini(&a);
    batch_fini(&b);
    return 0;
}
