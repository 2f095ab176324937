/* block_decode.c: fuzz target for the block column codec
 * (series_codec_decode in storage/series_codec.c), the part of a block that
 * sits inside a decompressed page. Input: the codec bytes of one series.
 * Invariants: no read outside the input (ASan), no more samples than the
 * codec's bound, strictly increasing timestamps; whatever decoded re-encodes
 * and decodes to the same bits; a failed decode leaves the output count as
 * it was. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "storage/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sample *v = NULL;
    size_t n = 0, cap = 0;
    int rc = series_codec_decode(data, size, &v, &n, &cap, NULL);
    if (rc != 0) {
        if (n != 0)
            abort();
        free(v);
        return 0;
    }
    if (n > SERIES_CODEC_MAX_SAMPLES)
        abort();
    for (size_t i = 1; i < n; i++)
        if (v[i].t_ms <= v[i - 1].t_ms)
            abort();
    struct buf b;
    buf_init(&b, 0);
    if (series_codec_encode(&b, v, n) != 0)
        abort();
    struct sample *w = NULL;
    size_t m = 0, wcap = 0;
    if (series_codec_decode(b.p, b.len, &w, &m, &wcap, NULL) != 0 || m != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (w[i].t_ms != v[i].t_ms || bits(w[i].v) != bits(v[i].v))
            abort();
    buf_fini(&b);
    free(v);
    free(w);
    return 0;
}
