/* chunk_decode.c: fuzz target for the head's Gorilla chunk decoder
 * (storage/chunk.c). Input: u16le sample count, then chunk bytes.
 * Invariants: the decoder never reads outside the input (ASan), never yields
 * more samples than declared, yields strictly increasing timestamps;
 * whatever it decoded re-encodes and decodes to the same bits; chunk_first_t
 * reads the first time the decoder does; resuming the
 * encoder on a prefix it accepted works and continues the chunk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "storage/chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t n = (uint32_t)data[0] | (uint32_t)data[1] << 8;
    data += 2;
    size -= 2;
    int64_t *t = malloc((n ? n : 1) * sizeof *t);
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    struct chunk_dec d;
    chunk_dec_init(&d, data, size, n);
    uint32_t k = 0;
    while (chunk_dec_next(&d)) {
        double x;
        if (k >= n)
            abort();
        chunk_dec_at(&d, &t[k], &x);
        memcpy(&v[k], &x, 8);
        if (k > 0 && t[k] <= t[k - 1])
            abort();
        k++;
    }
    if (k != n && chunk_dec_err(&d) == 0)
        abort(); /* stopped early without saying so */

    struct buf b;
    buf_init(&b, 0);
    struct chunk_enc e;
    chunk_enc_init(&e, &b);
    for (uint32_t i = 0; i < k; i++) {
        double x;
        memcpy(&x, &v[i], 8);
        if (chunk_enc_append(&e, t[i], x) != 0)
            abort();
    }
    chunk_dec_init(&d, b.p, b.len, k);
    for (uint32_t i = 0; i < k; i++) {
        int64_t tt;
        double x;
        uint64_t u;
        if (!chunk_dec_next(&d))
            abort();
        chunk_dec_at(&d, &tt, &x);
        memcpy(&u, &x, 8);
        if (tt != t[i] || u != v[i])
            abort();
    }
    if (chunk_dec_next(&d) || chunk_dec_err(&d) != 0)
        abort();
    /* The first time read straight from the bytes is the decoder's. */
    int64_t first;
    if (k > 0 && (!chunk_first_t(data, size, &first) || first != t[0]))
        abort();

    /* Resume on the original bytes of the k accepted samples. */
    if (k > 0) {
        struct buf r;
        buf_init(&r, 0);
        buf_append(&r, data, size);
        if (chunk_enc_resume(&e, &r, k) != 0)
            abort();
        if (t[k - 1] < INT64_MAX && chunk_enc_append(&e, t[k - 1] + 1, 0.5) != 0)
            abort();
        chunk_dec_init(&d, r.p, r.len, k + (t[k - 1] < INT64_MAX));
        while (chunk_dec_next(&d))
            ;
        if (chunk_dec_err(&d) != 0)
            abort();
        buf_fini(&r);
    }
    buf_fini(&b);
    free(t);
    free(v);
    return 0;
}
