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

#include "fuzz_check.h"

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
        check_same_batch(&a, &b, 0);
        buf_fini(&body);
    }
    batch_fini(&a);
    batch_fini(&b);
    return 0;
}
