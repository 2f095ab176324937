/* test_encoding.c: the Content-Encoding decoders of api/encoding.c: every
 * encoding round-trips a body made here with the encoder's own library,
 * the cap holds (TIDE_ELIMIT, never a truncated success), and corrupt or
 * truncated streams are TIDE_EPARSE; plus the auth helpers of api/auth.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "api/auth.h"
#include "api/encoding.h"
#include "core/err.h"

/* A compressible body of n bytes: numbered lines. */
static char *make_body(size_t n)
{
    char *p = malloc(n + 1);
    size_t o = 0;
    for (unsigned i = 0; o < n; i++) {
        char line[64];
        int k = snprintf(line, sizeof line, "cpu,host=h%u usage=%u.5 %u\n", i % 7, i, i);
        for (int j = 0; j < k && o < n; j++)
            p[o++] = line[j];
    }
    p[n] = 0;
    return p;
}

/* Compress with zlib: wbits 31 gzip, 15 zlib, -15 raw deflate. */
static size_t z_compress(const char *in, size_t n, int wbits, char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t got = zs.total_out;
    deflateEnd(&zs);
    return got;
}

/* Encode `in` as `enc` into a malloc'd buffer. */
static char *encode(enum encoding enc, const char *in, size_t n, size_t *out_n)
{
    size_t cap = n + n / 2 + 1024;
    char *out = malloc(cap);
    switch (enc) {
    case ENCODING_IDENTITY:
        memcpy(out, in, n);
        *out_n = n;
        break;
    case ENCODING_GZIP:
        *out_n = z_compress(in, n, 31, out, cap);
        break;
    case ENCODING_DEFLATE:
        *out_n = z_compress(in, n, 15, out, cap);
        break;
    case ENCODING_ZSTD:
        *out_n = ZSTD_compress(out, cap, in, n, 3);
        assert_false(ZSTD_isError(*out_n));
        break;
    case ENCODING_SNAPPY:
        *out_n = cap;
        assert_int_equal(snappy_compress(in, n, out, out_n), SNAPPY_OK);
        break;
    }
    return out;
}

static void test_parse(void **state)
{
    static const struct {
        const char *name;
        int rc;
        enum encoding want;
    } cases[] = {
        {NULL, 0, ENCODING_IDENTITY},     {"", 0, ENCODING_IDENTITY},
        {"identity", 0, ENCODING_IDENTITY}, {"gzip", 0, ENCODING_GZIP},
        {"X-GZIP", 0, ENCODING_GZIP},     {"deflate", 0, ENCODING_DEFLATE},
        {"zstd", 0, ENCODING_ZSTD},       {"Snappy", 0, ENCODING_SNAPPY},
        {"br", TIDE_EINVAL, 0},           {"gzip, zstd", TIDE_EINVAL, 0},
        {"compress", TIDE_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum encoding got = ENCODING_IDENTITY;
        int rc = encoding_parse(cases[i].name, &got);
        if (rc != cases[i].rc || (rc == 0 && got != cases[i].want))
            fail_msg("%s: rc %d enc %d", cases[i].name ? cases[i].name : "NULL", rc, got);
    }
}

static void test_roundtrip_and_cap(void **state)
{
    static const enum encoding encs[] = {ENCODING_IDENTITY, ENCODING_GZIP, ENCODING_DEFLATE,
                                         ENCODING_ZSTD, ENCODING_SNAPPY};
    static const size_t sizes[] = {0, 1, 1000, 300 * 1024};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char *body = make_body(sizes[s]);
        for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
            size_t n;
            char *enc = encode(encs[i], body, sizes[s], &n);
            const char *name = encoding_name(encs[i]);
            /* exactly at the cap: fits */
            struct buf out;
            buf_init(&out, sizes[s] ? sizes[s] : 1);
            struct err e = {0};
            int rc = encoding_decode(encs[i], enc, n, &out, &e);
            if (rc != 0)
                fail_msg("%s %zu: rc %d %s", name, sizes[s], rc, e.msg);
            if (out.len != sizes[s] || (sizes[s] && memcmp(out.p, body, sizes[s]) != 0))
                fail_msg("%s %zu: decoded %zu bytes differ", name, sizes[s], out.len);
            buf_fini(&out);
            /* one byte under: TIDE_ELIMIT */
            if (sizes[s] > 1) {
                buf_init(&out, sizes[s] - 1);
                rc = encoding_decode(encs[i], enc, n, &out, &e);
                if (rc != TIDE_ELIMIT)
                    fail_msg("%s %zu under the cap: rc %d, want TIDE_ELIMIT", name, sizes[s], rc);
                assert_true(out.len <= sizes[s] - 1);
                buf_fini(&out);
            }
            free(enc);
        }
        free(body);
    }
}

static void test_raw_deflate_and_members(void **state)
{
    char *body = make_body(5000);
    char *enc = malloc(20000);
    size_t n = z_compress(body, 5000, -15, enc, 20000);
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(encoding_decode(ENCODING_DEFLATE, enc, n, &out, NULL), 0);
    assert_int_equal(out.len, 5000);
    assert_memory_equal(out.p, body, 5000);
    buf_fini(&out);
    /* two gzip members read as one stream; two zstd frames too */
    size_t a = z_compress(body, 2000, 31, enc, 20000);
    size_t b = z_compress(body + 2000, 3000, 31, enc + a, 20000 - a);
    buf_init(&out, 1 << 20);
    assert_int_equal(encoding_decode(ENCODING_GZIP, enc, a + b, &out, NULL), 0);
    assert_int_equal(out.len, 5000);
    assert_memory_equal(out.p, body, 5000);
    buf_fini(&out);
    a = ZSTD_compress(enc, 20000, body, 2000, 1);
    b = ZSTD_compress(enc + a, 20000 - a, body + 2000, 3000, 1);
    buf_init(&out, 1 << 20);
    assert_int_equal(encoding_decode(ENCODING_ZSTD, enc, a + b, &out, NULL), 0);
    assert_int_equal(out.len, 5000);
    assert_memory_equal(out.p, body, 5000);
    buf_fini(&out);
    free(enc);
    free(body);
}

static void test_corrupt(void **state)
{
    static const enum encoding encs[] = {ENCODING_GZIP, ENCODING_DEFLATE, ENCODING_ZSTD,
                                         ENCODING_SNAPPY};
    char *body = make_body(100000);
    for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        size_t n;
        char *enc = encode(encs[i], body, 100000, &n);
        const char *name = encoding_name(encs[i]);
        struct buf out;
        struct err e = {0};
        /* truncated */
        buf_init(&out, 1 << 20);
        int rc = encoding_decode(encs[i], enc, n / 2, &out, &e);
        if (rc != TIDE_EPARSE)
            fail_msg("%s truncated: rc %d, want TIDE_EPARSE", name, rc);
        buf_fini(&out);
        /* garbage */
        buf_init(&out, 1 << 20);
        rc = encoding_decode(encs[i], "\xff\xfe\xfd\xfc not compressed at all", 28, &out, &e);
        if (rc != TIDE_EPARSE)
            fail_msg("%s garbage: rc %d, want TIDE_EPARSE", name, rc);
        buf_fini(&out);
        free(enc);
    }
    free(body);
}

static void test_bomb(void **state)
{
    /* 64 MiB of zeros compresses to a few KiB: decoding stops at the cap. */
    size_t big = 64u << 20;
    char *zeros = calloc(1, big);
    size_t cap = ZSTD_compressBound(big);
    char *enc = malloc(cap);
    size_t n = ZSTD_compress(enc, cap, zeros, big, 1);
    assert_false(ZSTD_isError(n));
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(encoding_decode(ENCODING_ZSTD, enc, n, &out, NULL), TIDE_ELIMIT);
    assert_true(out.cap <= (1u << 20));
    buf_fini(&out);
    free(enc);
    free(zeros);
}

static void test_auth(void **state)
{
    struct auth a = {.write = {.bearer = "s3cret", .basic = "alice:pw:x"}, .read = {0}};
    static const struct {
        const char *name;
        enum auth_scope scope;
        const char *header;
        bool want;
    } cases[] = {
        {"read is open", AUTH_READ, NULL, true},
        {"open is open", AUTH_OPEN, NULL, true},
        {"write needs creds", AUTH_WRITE, NULL, false},
        {"bearer", AUTH_WRITE, "Bearer s3cret", true},
        {"bearer case-insensitive scheme", AUTH_WRITE, "bearer  s3cret ", true},
        {"influx token", AUTH_WRITE, "Token s3cret", true},
        {"wrong token", AUTH_WRITE, "Bearer s3cres", false},
        {"prefix of token", AUTH_WRITE, "Bearer s3cre", false},
        {"token plus", AUTH_WRITE, "Bearer s3crets3cret", false},
        {"empty token", AUTH_WRITE, "Bearer ", false},
        {"basic", AUTH_WRITE, "Basic YWxpY2U6cHc6eA==", true},           /* alice:pw:x */
        {"basic no padding", AUTH_WRITE, "Basic YWxpY2U6cHc6eA", true},
        {"basic wrong password", AUTH_WRITE, "Basic YWxpY2U6cHc6eQ==", false}, /* alice:pw:y */
        {"basic bad base64", AUTH_WRITE, "Basic !!!!", false},
        {"unknown scheme", AUTH_WRITE, "Digest x", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (auth_check(&a, cases[i].scope, cases[i].header) != cases[i].want)
            fail_msg("%s: want %d", cases[i].name, cases[i].want);
    assert_true(auth_required(&a, AUTH_WRITE));
    assert_false(auth_required(&a, AUTH_READ));
    assert_false(auth_required(NULL, AUTH_WRITE));
    assert_string_equal(auth_challenge(&a, AUTH_WRITE), "Basic realm=\"tide\", charset=\"UTF-8\"");
    char out[8];
    assert_int_equal(auth_base64_decode("YWJj", 4, out, sizeof out), 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(auth_base64_decode("YWJjZGVmZ2hp", 12, out, sizeof out), -1); /* no room */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_roundtrip_and_cap),
        cmocka_unit_test(test_raw_deflate_and_members),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
