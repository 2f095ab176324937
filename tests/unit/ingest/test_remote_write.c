/* test_remote_write.c: Prometheus remote write decoding and encoding
 * (ingest/remote_write.c). Requests are built with protobuf-c, an encoder
 * independent of the hand-written reader under test, and Tide's own encoder
 * is checked by unpacking its output with protobuf-c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"

#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/remote_write.h"
#include "prompb/remote.pb-c.h"

/* snappy(pb) of a protobuf-c request, malloc'd. */
static char *compress_msg(const Prometheus__WriteRequest *wr, size_t *n)
{
    size_t len = prometheus__write_request__get_packed_size(wr);
    uint8_t *raw = malloc(len + 1);
    prometheus__write_request__pack(wr, raw);
    size_t clen = snappy_max_compressed_length(len);
    char *out = malloc(clen);
    assert_int_equal(snappy_compress((char *)raw, len, out, &clen), SNAPPY_OK);
    free(raw);
    *n = clen;
    return out;
}

/* Two batches hold the same series, labels and bit-identical samples. */
static void assert_batch_equal(const struct batch *a, const struct batch *b)
{
    assert_int_equal(a->nseries, b->nseries);
    for (size_t i = 0; i < a->nseries; i++) {
        const struct batch_series *x = &a->series[i], *y = &b->series[i];
        assert_int_equal(labels_cmp(a->labels + x->label_off, x->nlabels,
                                    b->labels + y->label_off, y->nlabels), 0);
        assert_int_equal(x->nsamples, y->nsamples);
        for (uint32_t j = 0; j < x->nsamples; j++) {
            const struct sample *s = &a->samples[x->sample_off + j];
            const struct sample *t = &b->samples[y->sample_off + j];
            assert_int_equal(s->t_ms, t->t_ms);
            assert_int_equal(bits(s->v), bits(t->v));
        }
    }
}

static void test_decode_protobuf_c_request(void **state)
{
    Prometheus__Label l1[3] = {PROMETHEUS__LABEL__INIT, PROMETHEUS__LABEL__INIT,
                               PROMETHEUS__LABEL__INIT};
    l1[0].name = "job", l1[0].value = "node";
    l1[1].name = "__name__", l1[1].value = "up";
    l1[2].name = "empty", l1[2].value = "";
    Prometheus__Label *pl1[3] = {&l1[0], &l1[1], &l1[2]};
    Prometheus__Sample s1[3] = {PROMETHEUS__SAMPLE__INIT, PROMETHEUS__SAMPLE__INIT,
                                PROMETHEUS__SAMPLE__INIT};
    s1[0].value = 1, s1[0].timestamp = 1700000000000;
    s1[1].value = NAN, s1[1].timestamp = -5; /* negative times are 10-byte varints */
    s1[2].value = from_bits(0x7ff0000000000002ULL), s1[2].timestamp = 1700000015000;
    Prometheus__Sample *ps1[3] = {&s1[0], &s1[1], &s1[2]};
    Prometheus__Exemplar ex = PROMETHEUS__EXEMPLAR__INIT;
    ex.value = 3;
    Prometheus__Exemplar *pex[1] = {&ex};
    Prometheus__TimeSeries ts1 = PROMETHEUS__TIME_SERIES__INIT;
    ts1.n_labels = 3, ts1.labels = pl1, ts1.n_samples = 3, ts1.samples = ps1;
    ts1.n_exemplars = 1, ts1.exemplars = pex;

    /* A series with only native histograms: counted, not in the batch. */
    Prometheus__Label l2 = PROMETHEUS__LABEL__INIT;
    l2.name = "__name__", l2.value = "latency";
    Prometheus__Label *pl2[1] = {&l2};
    Prometheus__Histogram h[2] = {PROMETHEUS__HISTOGRAM__INIT, PROMETHEUS__HISTOGRAM__INIT};
    h[0].count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT, h[0].count_int = 5;
    h[0].schema = 3, h[0].timestamp = 1000;
    h[1].count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_FLOAT, h[1].count_float = 2.5;
    Prometheus__Histogram *ph[2] = {&h[0], &h[1]};
    Prometheus__TimeSeries ts2 = PROMETHEUS__TIME_SERIES__INIT;
    ts2.n_labels = 1, ts2.labels = pl2, ts2.n_histograms = 2, ts2.histograms = ph;

    Prometheus__TimeSeries *pts[2] = {&ts1, &ts2};
    Prometheus__MetricMetadata md = PROMETHEUS__METRIC_METADATA__INIT;
    md.type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE;
    md.metric_family_name = "up", md.help = "is it up";
    Prometheus__MetricMetadata *pmd[1] = {&md};
    Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
    wr.n_timeseries = 2, wr.timeseries = pts, wr.n_metadata = 1, wr.metadata = pmd;

    size_t n;
    char *body = compress_msg(&wr, &n);
    struct batch b;
    batch_init(&b);
    size_t hist = 0;
    struct err e = {0};
    assert_int_equal(remote_write_decode(body, n, REMOTE_WRITE_MAX_BYTES, &b, &hist, &e), 0);
    free(body); /* labels live in the batch arena, not in the body */
    assert_int_equal(hist, 2);
    assert_int_equal(b.nseries, 1);
    assert_int_equal(b.series[0].nlabels, 2); /* the empty label is dropped */
    const struct label *l = b.labels;
    assert_true(strv_eq_c(l[0].name, "__name__") && strv_eq_c(l[0].value, "up"));
    assert_true(strv_eq_c(l[1].name, "job") && strv_eq_c(l[1].value, "node"));
    assert_int_equal(b.nsamples, 3);
    assert_int_equal(b.samples[0].t_ms, 1700000000000);
    assert_true(isnan(b.samples[1].v));
    assert_int_equal(b.samples[1].t_ms, -5);
    assert_int_equal(bits(b.samples[2].v), STALE_NAN_BITS);
    batch_fini(&b);
}

static void add_series(struct batch *b, const char *name, const char *host, const double *v,
                       const int64_t *t, size_t n)
{
    assert_int_equal(batch_begin_series(b), 0);
    batch_add_label(b, STRV_LIT("__name__"), strv_c(name));
    if (host)
        batch_add_label(b, STRV_LIT("host"), strv_c(host));
    for (size_t i = 0; i < n; i++)
        batch_add_sample(b, t[i], v[i]);
    batch_end_series(b);
}

/* batch -> encode -> decode gives the same batch, bit for bit, and protobuf-c
 * reads Tide's encoding back to the same values. */
static void test_round_trip_special_floats(void **state)
{
    static const uint64_t raw[] = {
        0x0000000000000000ULL, /* +0 */
        0x8000000000000000ULL, /* -0: not the proto3 default, must survive */
        0x7ff0000000000000ULL, /* +Inf */
        0xfff0000000000000ULL, /* -Inf */
        0x7ff8000000000001ULL, /* NaN with a payload */
        0x7ff0000000000002ULL, /* stale marker */
        0x0000000000000001ULL, /* smallest subnormal */
        0x7fefffffffffffffULL, /* largest finite */
    };
    double v[8];
    int64_t t[8] = {0, 1, -1, INT64_MAX, INT64_MIN, 1700000000123, 42, 7};
    for (int i = 0; i < 8; i++)
        v[i] = from_bits(raw[i]);
    struct batch a, c;
    batch_init(&a);
    batch_init(&c);
    add_series(&a, "special", "h1", v, t, 8);
    add_series(&a, "other", NULL, v + 2, t + 2, 1);
    add_series(&a, "utf8", "\"quoted\"\n\xc3\xa9", v, t, 1);

    struct buf body;
    buf_init(&body, 0);
    struct err e = {0};
    assert_int_equal(remote_write_encode(&a, &body, &e), 0);
    assert_int_equal(remote_write_decode(body.p, body.len, REMOTE_WRITE_MAX_BYTES, &c, NULL, &e),
                     0);
    assert_batch_equal(&a, &c);

    /* Independent reader: protobuf-c. */
    size_t ulen;
    assert_int_equal(snappy_uncompressed_length(body.p, body.len, &ulen), SNAPPY_OK);
    char *pb = malloc(ulen);
    assert_int_equal(snappy_uncompress(body.p, body.len, pb, &ulen), SNAPPY_OK);
    Prometheus__WriteRequest *wr =
        prometheus__write_request__unpack(NULL, ulen, (const uint8_t *)pb);
    assert_non_null(wr);
    assert_int_equal(wr->n_timeseries, 3);
    assert_int_equal(wr->timeseries[0]->n_samples, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(wr->timeseries[0]->samples[i]->timestamp, t[i]);
        if (raw[i] != 0x8000000000000000ULL) /* protobuf-c folds -0 into its default */
            assert_int_equal(bits(wr->timeseries[0]->samples[i]->value), raw[i]);
    }
    assert_string_equal(wr->timeseries[2]->labels[1]->value, "\"quoted\"\n\xc3\xa9");
    prometheus__write_request__free_unpacked(wr, NULL);
    free(pb);
    buf_fini(&body);
    batch_fini(&a);
    batch_fini(&c);
}

/* Bad input: a clear error, and the batch keeps what it had. */
static void test_bad_input(void **state)
{
    struct batch a, b;
    batch_init(&a);
    batch_init(&b);
    double v[2] = {1, 2};
    int64_t t[2] = {1000, 2000};
    add_series(&a, "m", "h", v, t, 2);
    add_series(&a, "n", "h", v, t, 2);
    struct buf raw;
    buf_init(&raw, 0);
    assert_int_equal(remote_write_marshal(&a, &raw), 0);

    /* One series already in the batch before each bad call. */
    add_series(&b, "keep", NULL, v, t, 1);

    static const struct {
        const char *name;
        size_t cut;      /* truncate the protobuf to this many bytes (0 = no) */
        int flip;        /* corrupt byte index (-1 = no) */
        const char *why; /* part of the message */
    } cases[] = {
        {"truncated at 10", 10, -1, "truncated"},
        {"truncated by one", 0, -1, "truncated"}, /* cut = len-1, below */
        {"group wire type", 0, 0, "field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *pb = malloc(raw.len);
        memcpy(pb, raw.p, raw.len);
        size_t n = cases[i].cut ? cases[i].cut : raw.len;
        if (i == 1)
            n = raw.len - 1;
        if (cases[i].flip >= 0)
            pb[cases[i].flip] = (char)(1 << 3 | 3); /* start-group */
        struct err e = {0};
        size_t hist = 0;
        int rc = remote_write_parse(pb, n, &b, &hist, &e);
        if (rc != TIDE_EPARSE || strstr(e.msg, cases[i].why) == NULL)
            fail_msg("%s: rc=%d msg=%s", cases[i].name, rc, e.msg);
        assert_true(e.col > 0);
        assert_int_equal(b.nseries, 1);
        assert_int_equal(b.nsamples, 1);
        assert_int_equal(b.nlabels, 1);
        free(pb);
    }

    /* Corrupt snappy: a valid header, then garbage. */
    struct buf body;
    buf_init(&body, 0);
    struct err e = {0};
    assert_int_equal(remote_write_encode(&a, &body, &e), 0);
    char *bad = malloc(body.len);
    memcpy(bad, body.p, body.len);
    for (size_t i = 2; i < body.len; i++)
        bad[i] = (char)0xff;
    int rc = remote_write_decode(bad, body.len, REMOTE_WRITE_MAX_BYTES, &b, NULL, &e);
    assert_int_equal(rc, TIDE_EPARSE);
    assert_non_null(strstr(e.msg, "snappy"));
    /* Not snappy at all (a length header that never ends). */
    rc = remote_write_decode("\xff\xff\xff\xff\xff\xff", 6, REMOTE_WRITE_MAX_BYTES, &b, NULL, &e);
    assert_int_equal(rc, TIDE_EPARSE);
    /* Over the cap. */
    rc = remote_write_decode(body.p, body.len, 8, &b, NULL, &e);
    assert_int_equal(rc, TIDE_ELIMIT);
    assert_int_equal(b.nseries, 1);
    /* Empty body: an empty request, not an error. */
    char empty[1] = {0};
    assert_int_equal(remote_write_decode(empty, 1, REMOTE_WRITE_MAX_BYTES, &b, NULL, &e), 0);
    assert_int_equal(b.nseries, 1);

    free(bad);
    buf_fini(&body);
    buf_fini(&raw);
    batch_fini(&a);
    batch_fini(&b);
}

/* Append a series with labels exactly as given (no sorting, no dedup, empty
 * names and values kept) and one sample, as a careless sender would. */
static void raw_series(struct batch *b, const char *const *kv, size_t nkv)
{
    assert_int_equal(batch_begin_series(b), 0);
    for (size_t i = 0; i + 1 < nkv; i += 2)
        assert_int_equal(batch_add_label(b, strv_c(kv[i]), strv_c(kv[i + 1])), 0);
    assert_int_equal(batch_add_sample(b, 1000, 1), 0);
    b->open = 0;
    b->nseries++;
}

/* Labels Prometheus refuses: the whole request is refused, naming the
 * series and the label, and the batch keeps what it had. */
static void test_invalid_labels(void **state)
{
    static const struct {
        const char *name;
        const char *kv[8]; /* name, value, ... of the second series */
        size_t nkv;
        const char *want; /* exact message */
    } cases[] = {
        {"bad utf8 value",
         {"__name__", "m", "host", "a\xff"},
         4,
         "remote write: timeseries 2: value of label \"host\" is not valid UTF-8"},
        {"bad utf8 label name",
         {"__name__", "m", "h\xc3", "x"},
         4,
         "remote write: timeseries 2: invalid label name \"h\\xc3\" (not valid UTF-8)"},
        {"bad utf8 metric name",
         {"__name__", "m\xe2\x82"},
         2,
         "remote write: timeseries 2: invalid metric name \"m\\xe2\\x82\" (not valid UTF-8)"},
        {"invalid label name",
         {"__name__", "m", "k8s.pod", "x"},
         4,
         "remote write: timeseries 2: invalid label name \"k8s.pod\""},
        {"invalid metric name",
         {"__name__", "http-requests"},
         2,
         "remote write: timeseries 2: invalid metric name \"http-requests\""},
        {"empty label name",
         {"__name__", "m", "", "x"},
         4,
         "remote write: timeseries 2: empty label name"},
        {"no __name__",
         {"job", "x"},
         2,
         "remote write: timeseries 2: missing metric name (label __name__)"},
        {"empty __name__",
         {"__name__", "", "job", "x"},
         4,
         "remote write: timeseries 2: missing metric name (label __name__)"},
        {"no labels",
         {NULL},
         0,
         "remote write: timeseries 2: missing metric name (label __name__)"},
        {"duplicate name",
         {"__name__", "m", "job", "a", "job", "b"},
         6,
         "remote write: timeseries 2: duplicate label name \"job\""},
        {"duplicate __name__",
         {"__name__", "m", "__name__", "n"},
         4,
         "remote write: timeseries 2: duplicate label name \"__name__\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct batch req, b;
        batch_init(&req);
        batch_init(&b);
        static const char *const good[] = {"__name__", "ok", "job", "j"};
        raw_series(&req, good, 4);
        raw_series(&req, cases[i].kv, cases[i].nkv);
        struct buf body;
        buf_init(&body, 0);
        struct err e = {0};
        assert_int_equal(remote_write_encode(&req, &body, &e), 0);
        double v = 1;
        int64_t t = 1;
        add_series(&b, "keep", NULL, &v, &t, 1);
        int rc = remote_write_decode(body.p, body.len, REMOTE_WRITE_MAX_BYTES, &b, NULL, &e);
        if (rc != TIDE_EPARSE)
            fail_msg("%s: rc=%d, want TIDE_EPARSE", cases[i].name, rc);
        if (strcmp(e.msg, cases[i].want) != 0)
            fail_msg("%s:\n  got  %s\n  want %s", cases[i].name, e.msg, cases[i].want);
        if (b.nseries != 1 || b.nlabels != 1 || b.nsamples != 1)
            fail_msg("%s: batch changed", cases[i].name);
        buf_fini(&body);
        batch_fini(&req);
        batch_fini(&b);
    }
}

/* Unknown fields of every wire type are skipped; fields may come in any order. */
static void test_unknown_fields_and_order(void **state)
{
    /* TimeSeries { sample{ts=2 (varint), value=1 (fixed64)}, field 9 fixed32,
     * label{value, name}, label{name, value} }, then field 10 varint at top. */
    static const uint8_t req[] = {
        0x0a, 42,                                                      /* TimeSeries */
        0x12, 0x0b, 0x10, 0x02, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,  /* sample 1.0 @2 */
        0x4d, 1, 2, 3, 4,                                              /* 9: fixed32 */
        0x0a, 0x07, 0x12, 0x01, 'x', 0x0a, 0x02, 'i', 'd',             /* label id="x" */
        0x0a, 0x0d, 0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_', 0x12, 0x01, 'm',
        0x50, 0x96, 0x01, /* 10: varint 150 */
    };
    size_t n = sizeof req;
    struct batch b;
    batch_init(&b);
    struct err e = {0};
    int rc = remote_write_parse(req, n, &b, NULL, &e);
    if (rc != 0)
        fail_msg("rc=%d %s", rc, e.msg);
    assert_int_equal(b.nseries, 1);
    assert_true(strv_eq_c(b.labels[0].value, "m"));
    assert_true(strv_eq_c(b.labels[1].name, "id"));
    assert_int_equal(b.samples[0].t_ms, 2);
    assert_true(b.samples[0].v == 1.0);
    batch_fini(&b);
}

/* MetricMetadata entries become the batch's metadata, in a request with no
 * series (as Prometheus sends them); a failed request leaves none. */
static void test_metadata(void **state)
{
    (void)state;
    Prometheus__MetricMetadata m[2] = {PROMETHEUS__METRIC_METADATA__INIT,
                                       PROMETHEUS__METRIC_METADATA__INIT};
    m[0].type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER;
    m[0].metric_family_name = "node_cpu_seconds_total";
    m[0].help = "Seconds the CPUs spent in each mode.";
    m[1].type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE;
    m[1].metric_family_name = "node_load1";
    m[1].unit = "load";
    Prometheus__MetricMetadata *mp[2] = {&m[0], &m[1]};
    Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
    wr.n_metadata = 2;
    wr.metadata = mp;
    size_t n;
    char *body = compress_msg(&wr, &n);
    struct batch b;
    batch_init(&b);
    struct err e = {0};
    assert_int_equal(remote_write_decode(body, n, REMOTE_WRITE_MAX_BYTES, &b, NULL, &e), 0);
    assert_int_equal(b.nseries, 0);
    assert_int_equal(b.nmeta, 2);
    assert_true(strv_eq_c(b.meta[0].family, "node_cpu_seconds_total"));
    assert_int_equal(b.meta[0].type, METRIC_TYPE_COUNTER);
    assert_true(strv_eq_c(b.meta[0].help, "Seconds the CPUs spent in each mode."));
    assert_int_equal(b.meta[0].unit.n, 0);
    assert_true(strv_eq_c(b.meta[1].family, "node_load1"));
    assert_int_equal(b.meta[1].type, METRIC_TYPE_GAUGE);
    assert_true(strv_eq_c(b.meta[1].unit, "load"));
    free(body);
    /* a truncated MetricMetadata refuses the request and keeps nothing */
    batch_reset(&b);
    const uint8_t bad[] = {0x1a, 0x05, 0x12, 0x09, 'a'};
    assert_int_equal(remote_write_parse(bad, sizeof bad, &b, NULL, &e), TIDE_EPARSE);
    assert_int_equal(b.nmeta, 0);
    batch_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_protobuf_c_request),
        cmocka_unit_test(test_round_trip_special_floats),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_invalid_labels),
        cmocka_unit_test(test_unknown_fields_and_order),
        cmocka_unit_test(test_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
