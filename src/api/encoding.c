/* encoding.c: Content-Encoding decoders for request bodies (see encoding.h),
 * between http.c, which collects the raw body, and the write handlers,
 * which parse the decoded bytes.
 *
 * gzip/deflate use zlib's inflate, zstd libzstd's streaming decoder, snappy
 * the block format of libsnappy (its header states the decoded length, so
 * the cap is checked before any allocation).
 * Invariant: output grows in steps and never past out->max, so a small
 * "decompression bomb" costs at most the cap in memory, then TIDE_ELIMIT.
 */
#include "api/encoding.h"

#include <errno.h>
#include <snappy-c.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#define STEP_BYTES (64 * 1024)
#define CHUNK_MAX ((size_t)1 << 30) /* zlib counts in uInt */

int encoding_parse(const char *name, enum encoding *out)
{
    *out = ENCODING_IDENTITY;
    if (name == NULL || name[0] == 0 || strcasecmp(name, "identity") == 0)
        return 0;
    static const struct {
        const char *name;
        enum encoding enc;
    } tab[] = {{"gzip", ENCODING_GZIP},       {"x-gzip", ENCODING_GZIP},
               {"deflate", ENCODING_DEFLATE}, {"zstd", ENCODING_ZSTD},
               {"snappy", ENCODING_SNAPPY}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcasecmp(name, tab[i].name) == 0) {
            *out = tab[i].enc;
            return 0;
        }
    }
    return TIDE_EINVAL;
}

const char *encoding_name(enum encoding enc)
{
    switch (enc) {
    case ENCODING_GZIP:
        return "gzip";
    case ENCODING_DEFLATE:
        return "deflate";
    case ENCODING_ZSTD:
        return "zstd";
    case ENCODING_SNAPPY:
        return "snappy";
    default:
        return "identity";
    }
}

/* Room for at least one more output step, or up to the cap. */
static int grow(struct buf *out)
{
    int rc = buf_reserve(out, STEP_BYTES);
    if (rc == TIDE_ELIMIT && out->len < out->max)
        rc = buf_reserve(out, out->max - out->len);
    return rc;
}

static int limit(struct buf *out, struct err *e)
{
    return ERR_LIMIT(e, "decoded body is over the limit of %zu bytes", out->max);
}

/* Inflate with zlib; `wbits` 15+32 reads gzip and zlib headers, -15 raw
 * deflate. Several concatenated gzip members are read as one stream, as
 * gzip(1) does. */
static int inflate_all(const void *in, size_t n, int wbits, struct buf *out, struct err *e)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, wbits) != Z_OK)
        return ERR_SET(e, -ENOMEM, "out of memory");
    const char *next = in;
    size_t remain = n;
    int rc = 0;
    for (;;) {
        if (zs.avail_in == 0 && remain > 0) {
            size_t take = remain > CHUNK_MAX ? CHUNK_MAX : remain;
            zs.next_in = (Bytef *)next;
            zs.avail_in = (uInt)take;
            next += take;
            remain -= take;
        }
        rc = grow(out);
        if (rc != 0) {
            rc = rc == TIDE_ELIMIT ? limit(out, e) : ERR_SET(e, rc, "out of memory");
            break;
        }
        size_t room = out->cap - out->len;
        zs.next_out = (Bytef *)out->p + out->len;
        zs.avail_out = (uInt)(room > CHUNK_MAX ? CHUNK_MAX : room);
        uInt before = zs.avail_out;
        int z = inflate(&zs, Z_NO_FLUSH);
        out->len += before - zs.avail_out;
        out->p[out->len] = 0;
        if (z == Z_STREAM_END) {
            if (zs.avail_in == 0 && remain == 0)
                break;
            if (inflateReset(&zs) != Z_OK) { /* another gzip member follows */
                rc = ERR_SET(e, TIDE_EPARSE, "invalid compressed body");
                break;
            }
            continue;
        }
        if (z == Z_BUF_ERROR && zs.avail_in == 0 && remain == 0) {
            rc = ERR_SET(e, TIDE_EPARSE, "compressed body ends before its end marker");
            break;
        }
        if (z == Z_MEM_ERROR) {
            rc = ERR_SET(e, -ENOMEM, "out of memory");
            break;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            rc = ERR_SET(e, TIDE_EPARSE, "invalid compressed body: %s",
                         zs.msg ? zs.msg : "data error");
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}

static int unzstd(const void *in, size_t n, struct buf *out, struct err *e)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (ds == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    /* Decoder memory is bounded by the window: keep libzstd's default cap. */
    ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 27); /* 128 MiB */
    ZSTD_inBuffer ib = {in, n, 0};
    size_t last = 0; /* 0 once a frame is complete */
    int rc = 0;
    while (ib.pos < ib.size || last != 0) {
        rc = grow(out);
        if (rc != 0) {
            rc = rc == TIDE_ELIMIT ? limit(out, e) : ERR_SET(e, rc, "out of memory");
            break;
        }
        ZSTD_outBuffer ob = {out->p + out->len, out->cap - out->len, 0};
        size_t in_before = ib.pos;
        last = ZSTD_decompressStream(ds, &ob, &ib);
        out->len += ob.pos;
        out->p[out->len] = 0;
        if (ZSTD_isError(last)) {
            rc = ERR_SET(e, TIDE_EPARSE, "invalid zstd body: %s", ZSTD_getErrorName(last));
            break;
        }
        if (ib.pos == ib.size && last != 0 && ob.pos == 0 && ib.pos == in_before) {
            rc = ERR_SET(e, TIDE_EPARSE, "zstd body ends inside a frame");
            break;
        }
    }
    ZSTD_freeDStream(ds);
    return rc;
}

static int unsnappy(const void *in, size_t n, struct buf *out, struct err *e)
{
    size_t want = 0;
    if (snappy_uncompressed_length(in, n, &want) != SNAPPY_OK)
        return ERR_SET(e, TIDE_EPARSE, "invalid snappy body (block format expected)");
    if (want > out->max || out->len > out->max - want)
        return limit(out, e);
    int rc = buf_reserve(out, want);
    if (rc != 0)
        return rc == TIDE_ELIMIT ? limit(out, e) : ERR_SET(e, rc, "out of memory");
    size_t got = want;
    if (snappy_uncompress(in, n, out->p + out->len, &got) != SNAPPY_OK || got != want)
        return ERR_SET(e, TIDE_EPARSE, "invalid snappy body (block format expected)");
    out->len += got;
    out->p[out->len] = 0;
    return 0;
}

int encoding_decode(enum encoding enc, const void *in, size_t n, struct buf *out, struct err *e)
{
    switch (enc) {
    case ENCODING_IDENTITY: {
        int rc = buf_append(out, in, n);
        if (rc == TIDE_ELIMIT)
            return limit(out, e);
        return rc != 0 ? ERR_SET(e, rc, "out of memory") : 0;
    }
    case ENCODING_GZIP:
        return inflate_all(in, n, 15 + 32, out, e);
    case ENCODING_DEFLATE: {
        /* RFC 9110 says zlib format; some clients send raw deflate. A zlib
         * stream starts with a header whose first 16 bits are a multiple of 31. */
        const unsigned char *p = in;
        bool zlib = n >= 2 && (p[0] & 0x0f) == 8 && ((p[0] << 8) | p[1]) % 31 == 0;
        return inflate_all(in, n, zlib ? 15 : -15, out, e);
    }
    case ENCODING_ZSTD:
        return unzstd(in, n, out, e);
    case ENCODING_SNAPPY:
        return unsnappy(in, n, out, e);
    }
    return ERR_INVAL(e, "unknown encoding");
}
