/* remote_read.c: Prometheus remote read, between the HTTP glue and the
 * storage query interface (see remote_read.h for the wire contract).
 *
 * The request is small and read with protobuf-c's unpack. The responses are
 * written by hand, as remote_write.c writes its requests: each message is
 * built in a scratch buffer, then appended to its parent behind its tag and
 * length, so nothing is allocated per sample. Samples come from
 * storage_select() exactly as /api/v1/export reads them (time-ordered,
 * deduplicated, deletions applied); XOR chunks are storage's own Gorilla
 * encoder with Prometheus' 2-byte sample count in front
 * (storage_xor_chunk()).
 *
 * The whole answer is built in memory, bounded by the response buffer's cap;
 * the streamed type is streamed in its framing (a client decodes frame by
 * frame) though not yet sent incrementally.
 */
#include "api/remote_read.h"

#include <errno.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/router.h"
#include "core/hash.h"
#include "model/matcher.h"
#include "prompb/remote.pb-c.h"
#include "storage/storage.h"

#define MAX_MATCHERS 32

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };

static int tag(struct buf *b, unsigned field, unsigned wt)
{
    return buf_put_uvarint(b, (uint64_t)field << 3 | wt);
}

/* field: length-delimited bytes. */
static int put_len(struct buf *b, unsigned field, const void *p, size_t n)
{
    int rc = tag(b, field, WT_LEN);
    rc = rc ? rc : buf_put_uvarint(b, n);
    return rc ? rc : buf_append(b, p, n);
}

static int put_int64(struct buf *b, unsigned field, int64_t v)
{
    int rc = tag(b, field, WT_VARINT);
    return rc ? rc : buf_put_uvarint(b, (uint64_t)v);
}

/* Label { string name = 1; string value = 2 } as field 1 of its parent. */
static int put_labels(struct buf *b, struct buf *scratch, const struct label *ls, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        buf_reset(scratch);
        rc = put_len(scratch, 1, ls[i].name.p, ls[i].name.n);
        rc = rc ? rc : put_len(scratch, 2, ls[i].value.p, ls[i].value.n);
        rc = rc ? rc : put_len(b, 1, scratch->p, scratch->len);
    }
    return rc;
}

int remote_read_frame(struct buf *out, const void *msg, size_t n)
{
    uint32_t crc = hash_crc32c(0, msg, n);
    size_t len0 = out->len;
    int rc = buf_put_uvarint(out, n);
    for (int i = 3; i >= 0 && rc == 0; i--)
        rc = buf_put_u8(out, (uint8_t)(crc >> (8 * i)));
    rc = rc ? rc : buf_append(out, msg, n);
    if (rc != 0 && out->len > len0) {
        out->len = len0;
        out->p[len0] = 0;
    }
    return rc;
}

/* ---- one query ---- */

/* The matchers of a Query, compiled into m[0..*n). */
static int query_matchers(const Prometheus__Query *q, struct matcher *m, size_t *n, struct err *e)
{
    *n = 0;
    if (q->n_matchers > MAX_MATCHERS)
        return ERR_LIMIT(e, "remote read: more than %d matchers in a query", MAX_MATCHERS);
    for (size_t i = 0; i < q->n_matchers; i++) {
        const Prometheus__LabelMatcher *lm = q->matchers[i];
        enum matcher_type t;
        switch (lm->type) {
        case PROMETHEUS__LABEL_MATCHER__TYPE__EQ:
            t = MATCH_EQ;
            break;
        case PROMETHEUS__LABEL_MATCHER__TYPE__NEQ:
            t = MATCH_NE;
            break;
        case PROMETHEUS__LABEL_MATCHER__TYPE__RE:
            t = MATCH_RE;
            break;
        case PROMETHEUS__LABEL_MATCHER__TYPE__NRE:
            t = MATCH_NRE;
            break;
        default:
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                              "remote read: unknown matcher type %d", (int)lm->type);
        }
        int rc = matcher_init(&m[*n], t, strv_c(lm->name), strv_c(lm->value), e);
        if (rc != 0)
            return rc;
        (*n)++;
    }
    return 0;
}

/* Append one QueryResult's TimeSeries to `qr`. */
static int samples_series(struct buf *qr, struct buf *ts, struct buf *scratch,
                          const struct label *ls, size_t nls, const struct sample *v, size_t n)
{
    buf_reset(ts);
    int rc = put_labels(ts, scratch, ls, nls);
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint64_t bits;
        memcpy(&bits, &v[i].v, sizeof bits);
        buf_reset(scratch);
        rc = tag(scratch, 1, WT_I64);
        rc = rc ? rc : buf_put_u64le(scratch, bits);
        rc = rc ? rc : put_int64(scratch, 2, v[i].t_ms);
        rc = rc ? rc : put_len(ts, 2, scratch->p, scratch->len);
    }
    return rc ? rc : put_len(qr, 1, ts->p, ts->len);
}

/* Scratch buffers of one response, all capped like the response. */
struct scratch {
    struct buf msg;    /* the QueryResult or ChunkedReadResponse being built */
    struct buf series; /* one TimeSeries or ChunkedSeries */
    struct buf chunk;  /* one Chunk */
    struct buf data;   /* one XOR chunk's bytes */
    struct buf tiny;   /* a Label or Sample */
};

/* Close the frame in s->msg (query_index added) into out. */
static int flush_frame(struct buf *out, struct scratch *s, size_t qi)
{
    if (s->msg.len == 0)
        return 0;
    int rc = qi > 0 ? put_int64(&s->msg, 2, (int64_t)qi) : 0;
    rc = rc ? rc : remote_read_frame(out, s->msg.p, s->msg.len);
    buf_reset(&s->msg);
    return rc;
}

/* One series as ChunkedSeries in the current frame, cut across frames when
 * it grows past the frame size. */
static int chunked_series(struct buf *out, struct scratch *s, size_t qi, const struct label *ls,
                          size_t nls, const struct sample *v, size_t n)
{
    buf_reset(&s->series);
    int rc = put_labels(&s->series, &s->tiny, ls, nls);
    size_t labels_len = s->series.len;
    for (size_t i = 0; i < n && rc == 0; i += REMOTE_READ_CHUNK_SAMPLES) {
        size_t k = n - i < REMOTE_READ_CHUNK_SAMPLES ? n - i : REMOTE_READ_CHUNK_SAMPLES;
        buf_reset(&s->data);
        rc = storage_xor_chunk(&s->data, v + i, k);
        buf_reset(&s->chunk);
        rc = rc ? rc : put_int64(&s->chunk, 1, v[i].t_ms);
        rc = rc ? rc : put_int64(&s->chunk, 2, v[i + k - 1].t_ms);
        rc = rc ? rc : put_int64(&s->chunk, 3, PROMETHEUS__CHUNK__ENCODING__XOR);
        rc = rc ? rc : put_len(&s->chunk, 4, s->data.p, s->data.len);
        rc = rc ? rc : put_len(&s->series, 2, s->chunk.p, s->chunk.len);
        if (rc == 0 && s->msg.len + s->series.len >= REMOTE_READ_FRAME_BYTES) {
            rc = put_len(&s->msg, 1, s->series.p, s->series.len);
            rc = rc ? rc : flush_frame(out, s, qi);
            s->series.len = labels_len; /* the rest under the same labels */
        }
    }
    if (rc == 0 && s->series.len > labels_len)
        rc = put_len(&s->msg, 1, s->series.p, s->series.len);
    return rc;
}

/* Run query `qi` and append its answer: a QueryResult into `out` (SAMPLES)
 * or its frames (streamed). */
static int run_query(struct storage *st, const Prometheus__Query *q, size_t qi, bool streamed,
                     struct buf *out, struct scratch *s, struct err *e)
{
    struct matcher m[MAX_MATCHERS];
    size_t nm = 0;
    struct storage_set *set = NULL;
    int rc = query_matchers(q, m, &nm, e);
    if (rc == 0)
        rc = storage_select(st, m, nm, q->start_timestamp_ms, q->end_timestamp_ms, &set, e);
    buf_reset(&s->msg);
    while (rc == 0 && storage_set_next(set)) {
        const struct label *ls;
        size_t nls;
        const struct sample *v;
        size_t n;
        storage_set_labels(set, &ls, &nls);
        rc = storage_set_samples(set, &v, &n, e);
        if (rc != 0 || n == 0)
            continue;
        if (streamed)
            rc = chunked_series(out, s, qi, ls, nls, v, n);
        else
            rc = samples_series(&s->msg, &s->series, &s->tiny, ls, nls, v, n);
    }
    if (rc == 0)
        rc = streamed ? flush_frame(out, s, qi) : put_len(out, 1, s->msg.p, s->msg.len);
    if (rc == TIDE_ELIMIT && e != NULL && e->code == 0)
        ERR_LIMIT(e, "remote read: the answer is over the %zu-byte response cap", out->max);
    if (rc == -ENOMEM && e != NULL && e->code == 0)
        ERR_SET(e, rc, "remote read: out of memory");
    storage_set_free(set);
    for (size_t i = 0; i < nm; i++)
        matcher_fini(&m[i]);
    return rc;
}

/* The first accepted type Tide implements; SAMPLES when none is listed. */
static int pick_type(const Prometheus__ReadRequest *rr, bool *streamed, struct err *e)
{
    *streamed = false;
    if (rr->n_accepted_response_types == 0)
        return 0;
    for (size_t i = 0; i < rr->n_accepted_response_types; i++) {
        int t = (int)rr->accepted_response_types[i];
        if (t == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES)
            return 0;
        if (t == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS) {
            *streamed = true;
            return 0;
        }
    }
    return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                      "remote read: none of the accepted response types is implemented "
                      "(SAMPLES, STREAMED_XOR_CHUNKS)");
}

int remote_read_respond(struct storage *st, const void *body, size_t n, size_t max_bytes,
                        struct buf *out, const char **content_type, const char **encoding,
                        struct err *e)
{
    *content_type = NULL;
    *encoding = NULL;
    size_t ulen;
    if (snappy_uncompressed_length(body, n, &ulen) != SNAPPY_OK)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                          "remote read: body is not a snappy block");
    if (ulen > max_bytes)
        return ERR_LIMIT(e, "remote read: decompressed request is over %zu bytes", max_bytes);
    char *pb = malloc(ulen ? ulen : 1);
    if (pb == NULL)
        return ERR_SET(e, -ENOMEM, "remote read: out of memory");
    size_t got = ulen;
    if (ulen > 0 && snappy_uncompress(body, n, pb, &got) != SNAPPY_OK) {
        free(pb);
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "remote read: corrupt snappy block");
    }
    Prometheus__ReadRequest *rr = prometheus__read_request__unpack(NULL, got, (const uint8_t *)pb);
    free(pb);
    if (rr == NULL)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                          "remote read: body is not a ReadRequest protobuf");
    bool streamed;
    int rc = pick_type(rr, &streamed, e);
    if (rc == 0 && rr->n_queries > REMOTE_READ_MAX_QUERIES)
        rc = ERR_LIMIT(e, "remote read: more than %d queries", REMOTE_READ_MAX_QUERIES);
    struct scratch s;
    buf_init(&s.msg, out->max);
    buf_init(&s.series, out->max);
    buf_init(&s.chunk, out->max);
    buf_init(&s.data, out->max);
    buf_init(&s.tiny, out->max);
    /* SAMPLES: the ReadResponse is built in `raw`, then compressed into out. */
    struct buf raw;
    buf_init(&raw, out->max);
    for (size_t i = 0; i < rr->n_queries && rc == 0; i++)
        rc = run_query(st, rr->queries[i], i, streamed, streamed ? out : &raw, &s, e);
    if (rc == 0 && !streamed) {
        size_t clen = snappy_max_compressed_length(raw.len);
        rc = buf_reserve(out, clen + 1);
        if (rc == 0 &&
            snappy_compress(raw.p ? raw.p : "", raw.len, out->p + out->len, &clen) != SNAPPY_OK)
            rc = ERR_SET(e, -ENOMEM, "remote read: snappy compression failed");
        if (rc == 0) {
            out->len += clen;
            out->p[out->len] = 0;
        } else if (e != NULL && e->code == 0)
            ERR_LIMIT(e, "remote read: the answer is over the response cap");
    }
    buf_fini(&raw);
    buf_fini(&s.msg);
    buf_fini(&s.series);
    buf_fini(&s.chunk);
    buf_fini(&s.data);
    buf_fini(&s.tiny);
    prometheus__read_request__free_unpacked(rr, NULL);
    if (rc == 0) {
        *content_type =
            streamed ? "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
                     : "application/x-protobuf";
        *encoding = streamed ? NULL : "snappy";
    }
    return rc;
}

void remote_read_route(struct http_req *rq, struct http_resp *rs)
{
    const char *ct = NULL, *enc = NULL;
    struct err e = {0};
    buf_reset(&rs->body);
    int rc = remote_read_respond(rq->ctx->storage, rq->body.p ? rq->body.p : "", rq->body.len,
                                 rq->ctx->max_request_bytes, &rs->body, &ct, &enc, &e);
    if (rc != 0) {
        /* Prometheus' client shows a failed read's body as its error. */
        int status = rc == TIDE_EPARSE || rc == TIDE_EINVAL ? 400 : rc == TIDE_ELIMIT ? 413 : 500;
        buf_reset(&rs->body);
        http_reply(rs, status, "text/plain; charset=utf-8", e.msg[0] ? e.msg : tide_strerror(rc));
        buf_putc(&rs->body, '\n');
        return;
    }
    rs->status = 200;
    rs->content_type = ct;
    if (enc != NULL)
        http_header(rs, "Content-Encoding", enc);
}
