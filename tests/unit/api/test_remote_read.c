/* test_remote_read.c: the pieces of remote read that need no server
 * (api/remote_read.c): CRC32C against its published check value, the
 * streamed frame layout, storage's Prometheus XOR chunk header, and the
 * refusals that come before any storage access. The end-to-end answers are
 * checked by integration/test_remote_read.sh with an independent decoder
 * and a real Prometheus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "api/remote_read.h"
#include "core/hash.h"
#include "prompb/remote.pb-c.h"
#include "storage/storage.h"

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(hash_crc32c(0, "123456789", 9), 0xE3069283u); /* the CRC-32C check value */
    assert_int_equal(hash_crc32c(0, "", 0), 0);
    /* in pieces: the same as at once */
    assert_int_equal(hash_crc32c(hash_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void test_frame(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(remote_read_frame(&b, "123456789", 9), 0);
    const uint8_t want[] = {9, 0xE3, 0x06, 0x92, 0x83, '1', '2', '3', '4', '5', '6', '7', '8', '9'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    /* a cap refuses the frame whole */
    struct buf small;
    buf_init(&small, 8);
    assert_int_equal(remote_read_frame(&small, "123456789", 9), TIDE_ELIMIT);
    assert_int_equal(small.len, 0);
    buf_fini(&small);
    buf_fini(&b);
}

static void test_xor_chunk_header(void **state)
{
    (void)state;
    struct sample v[300];
    for (int i = 0; i < 300; i++)
        v[i] = (struct sample){1000 + 15000 * (int64_t)i, i * 0.5};
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(storage_xor_chunk(&b, v, 300), 0);
    assert_true(b.len > 2);
    assert_int_equal((uint8_t)b.p[0], 300 >> 8);
    assert_int_equal((uint8_t)b.p[1], 300 & 0xff);
    size_t len = b.len;
    /* not increasing: refused, dst unchanged */
    struct sample bad[2] = {{5, 1}, {5, 2}};
    assert_int_equal(storage_xor_chunk(&b, bad, 2), TIDE_EINVAL);
    assert_int_equal(b.len, len);
    assert_int_equal(storage_xor_chunk(&b, v, 0), TIDE_EINVAL);
    buf_fini(&b);
}

/* A ReadRequest accepting only `type`, snappy-compressed; malloc'd. */
static char *request(int type, size_t *n)
{
    Prometheus__ReadRequest rr = PROMETHEUS__READ_REQUEST__INIT;
    Prometheus__ReadRequest__ResponseType t = (Prometheus__ReadRequest__ResponseType)type;
    rr.n_accepted_response_types = 1;
    rr.accepted_response_types = &t;
    size_t len = prometheus__read_request__get_packed_size(&rr);
    uint8_t raw[64];
    assert_true(len <= sizeof raw);
    prometheus__read_request__pack(&rr, raw);
    size_t clen = snappy_max_compressed_length(len);
    char *out = malloc(clen);
    assert_int_equal(snappy_compress((char *)raw, len, out, &clen), SNAPPY_OK);
    *n = clen;
    return out;
}

static void test_refusals(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    const char *ct, *enc;
    struct err e = {0};
    /* not snappy */
    assert_int_equal(
        remote_read_respond(NULL, "\xff\xff\xff\xff\xff", 5, 1 << 20, &out, &ct, &enc, &e),
        TIDE_EPARSE);
    assert_null(ct);
    /* no response type Tide implements */
    size_t n;
    char *body = request(7, &n);
    memset(&e, 0, sizeof e);
    assert_int_equal(remote_read_respond(NULL, body, n, 1 << 20, &out, &ct, &enc, &e), TIDE_EPARSE);
    assert_non_null(strstr(e.msg, "response type"));
    free(body);
    /* over the decompressed cap */
    body = request(0, &n);
    assert_int_equal(remote_read_respond(NULL, body, n, 1, &out, &ct, &enc, &e), TIDE_ELIMIT);
    free(body);
    /* a request with no query answers an empty ReadResponse (no storage needed) */
    body = request(0, &n);
    assert_int_equal(remote_read_respond(NULL, body, n, 1 << 20, &out, &ct, &enc, &e), 0);
    assert_string_equal(ct, "application/x-protobuf");
    assert_string_equal(enc, "snappy");
    free(body);
    body = request(1, &n);
    buf_reset(&out);
    assert_int_equal(remote_read_respond(NULL, body, n, 1 << 20, &out, &ct, &enc, &e), 0);
    assert_non_null(strstr(ct, "proto=prometheus.ChunkedReadResponse"));
    assert_null(enc);
    assert_int_equal(out.len, 0);
    free(body);
    buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_frame),
        cmocka_unit_test(test_xor_chunk_header),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
