/* test_otlp.c: OTLP metrics conversion (ingest/otlp.c). Requests are built
 * with protobuf-c, one per metric kind, and the batch is checked series by
 * series, each written `labels|t_ms|value` with labels sorted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/otlp.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#define M(x) Opentelemetry__Proto__Metrics__V1__##x
#define C(x) Opentelemetry__Proto__Common__V1__##x
#define T_NS 1700000000123456789ULL /* -> 1700000000123 ms */

/* Everything a test request is made of lives in this arena. */
static struct arena pool;

static void *mk(size_t n)
{
    void *p = arena_alloc(&pool, n);
    memset(p, 0, n);
    return p;
}

static C(AnyValue) *any_str(const char *s)
{
    C(AnyValue) *v = mk(sizeof *v);
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)s;
    return v;
}

static C(KeyValue) *kv(const char *k, C(AnyValue) *v)
{
    C(KeyValue) *p = mk(sizeof *p);
    opentelemetry__proto__common__v1__key_value__init(p);
    p->key = (char *)k;
    p->value = v;
    return p;
}

static C(KeyValue) **kvs(size_t n, ...)
{
    C(KeyValue) **v = mk(n * sizeof *v + 1);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        v[i] = va_arg(ap, C(KeyValue) *);
    va_end(ap);
    return v;
}

static M(NumberDataPoint) *num(double v, int64_t iv, int is_int, uint32_t flags)
{
    M(NumberDataPoint) *p = mk(sizeof *p);
    opentelemetry__proto__metrics__v1__number_data_point__init(p);
    p->has_time_unix_nano = 1;
    p->time_unix_nano = T_NS;
    if (is_int) {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
        p->as_int = iv;
    } else {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
        p->as_double = v;
    }
    p->has_flags = flags != 0;
    p->flags = flags;
    return p;
}

static M(Metric) *metric(const char *name, const char *unit)
{
    M(Metric) *m = mk(sizeof *m);
    opentelemetry__proto__metrics__v1__metric__init(m);
    m->name = (char *)name;
    m->unit = (char *)unit;
    return m;
}

static M(Metric) *gauge(const char *name, const char *unit, M(NumberDataPoint) *p)
{
    M(Metric) *m = metric(name, unit);
    M(Gauge) *g = mk(sizeof *g);
    opentelemetry__proto__metrics__v1__gauge__init(g);
    g->n_data_points = 1;
    g->data_points = mk(sizeof *g->data_points);
    g->data_points[0] = p;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m->gauge = g;
    return m;
}

static M(Metric) *sum(const char *name, const char *unit, int monotonic, int temporality,
                      M(NumberDataPoint) *p)
{
    M(Metric) *m = metric(name, unit);
    M(Sum) *s = mk(sizeof *s);
    opentelemetry__proto__metrics__v1__sum__init(s);
    s->n_data_points = 1;
    s->data_points = mk(sizeof *s->data_points);
    s->data_points[0] = p;
    s->has_is_monotonic = 1;
    s->is_monotonic = monotonic;
    s->has_aggregation_temporality = 1;
    s->aggregation_temporality = temporality;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m->sum = s;
    return m;
}

/* Pack `metrics` under one resource and parse the request into b. */
static int parse_into(M(Metric) * *metrics, size_t nm, C(KeyValue) * *res, size_t nres,
                      struct batch *b, struct otlp_stats *st, struct err *e)
{
    M(ScopeMetrics) sm = OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
    sm.n_metrics = nm;
    sm.metrics = metrics;
    M(ScopeMetrics) *psm = &sm;
    Opentelemetry__Proto__Resource__V1__Resource r = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    r.n_attributes = nres;
    r.attributes = res;
    M(ResourceMetrics) rm = OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
    rm.resource = &r;
    rm.n_scope_metrics = 1;
    rm.scope_metrics = &psm;
    M(ResourceMetrics) *prm = &rm;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    req.n_resource_metrics = 1;
    req.resource_metrics = &prm;
    size_t n = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__get_packed_size(&req);
    uint8_t *pb = malloc(n + 1);
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__pack(&req, pb);
    int rc = otlp_parse(pb, n, 0, b, st, e);
    free(pb); /* the batch must not point into the request */
    return rc;
}

/* Send `metrics` under one resource, return the rendered batch. */
static void run(M(Metric) * *metrics, size_t nm, C(KeyValue) * *res, size_t nres, char *out,
                size_t cap, struct otlp_stats *st)
{
    struct batch b;
    batch_init(&b);
    struct err e = {0};
    int rc = parse_into(metrics, nm, res, nres, &b, st, &e);
    if (rc != 0)
        fail_msg("otlp_parse: %d %s", rc, e.msg);
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        for (uint32_t j = 0; j < s->nlabels; j++) {
            const struct label *l = &b.labels[s->label_off + j];
            k += (size_t)snprintf(out + k, cap - k, "%s%.*s=%.*s", j ? "," : "", (int)l->name.n,
                                  l->name.p, (int)l->value.n, l->value.p);
        }
        const struct sample *sm0 = &b.samples[s->sample_off];
        char v[32];
        uint64_t bits;
        memcpy(&bits, &sm0->v, 8);
        if (bits == STALE_NAN_BITS)
            snprintf(v, sizeof v, "stale");
        else
            snprintf(v, sizeof v, "%g", sm0->v);
        k += (size_t)snprintf(out + k, cap - k, "|%" PRId64 "|%s\n", sm0->t_ms, v);
    }
    batch_fini(&b);
}

static void expect(const char *name, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_msg("%s: got\n%s\nwant\n%s", name, got, want);
}

static void test_gauges_sums_and_resource(void **state)
{
    arena_init(&pool, 0);
    C(KeyValue) **res = kvs(5, kv("service.name", any_str("node")),
                            kv("service.namespace", any_str("infra")),
                            kv("service.instance.id", any_str("host-1:9100")),
                            kv("host.name", any_str("h1")), kv("k8s.pod.name", any_str("p")));
    M(NumberDataPoint) *g = num(0.5, 0, 0, 0);
    g->n_attributes = 2;
    g->attributes = kvs(2, kv("cpu", any_str("0")), kv("state", any_str("idle")));
    M(Metric) *ms[] = {
        gauge("system.cpu.utilization", "1", g),
        sum("http.server.requests", "{request}", 1, 2, num(0, 42, 1, 0)),
        sum("process.threads", "{thread}", 0, 2, num(7, 0, 0, 0)),
        sum("delta.things", "", 1, 1, num(1, 0, 0, 0)),                  /* skipped */
        sum("net.io", "By/s", 1, 2, num(3, 0, 0, 0)),
        gauge("2xx.count", "", num(1, 0, 0, 1)),                        /* no recorded value */
        gauge("requests_total_total", "", num(1, 0, 0, 0)),
        gauge("duration", "ms", num(2, 0, 0, 0)),
        gauge("duration_milliseconds", "ms", num(2, 0, 0, 0)),
        sum("calls.total", "", 1, 2, num(9, 0, 0, 0)),
    };
    char got[4096];
    struct otlp_stats st = {0};
    run(ms, sizeof ms / sizeof ms[0], res, 5, got, sizeof got, &st);
    expect("kinds", got,
           "__name__=system_cpu_utilization_ratio,cpu=0,instance=host-1:9100,job=infra/node,"
           "state=idle|1700000000123|0.5\n"
           "__name__=http_server_requests_total,instance=host-1:9100,job=infra/node|1700000000123|42\n"
           "__name__=process_threads,instance=host-1:9100,job=infra/node|1700000000123|7\n"
           "__name__=net_io_bytes_per_second_total,instance=host-1:9100,job=infra/node|1700000000123|3\n"
           "__name__=_2xx_count,instance=host-1:9100,job=infra/node|1700000000123|stale\n"
           "__name__=requests_total_total,instance=host-1:9100,job=infra/node|1700000000123|1\n"
           "__name__=duration_milliseconds,instance=host-1:9100,job=infra/node|1700000000123|2\n"
           "__name__=duration_milliseconds,instance=host-1:9100,job=infra/node|1700000000123|2\n"
           "__name__=calls_total,instance=host-1:9100,job=infra/node|1700000000123|9\n"
           "__name__=target_info,host_name=h1,instance=host-1:9100,job=infra/node,"
           "k8s_pod_name=p|1700000000123|1\n");
    assert_int_equal(st.points, 9);
    assert_int_equal(st.temporality_skipped, 1);
    arena_fini(&pool);
}

static void test_histogram_summary_exponential(void **state)
{
    arena_init(&pool, 0);
    M(HistogramDataPoint) *hp = mk(sizeof *hp);
    opentelemetry__proto__metrics__v1__histogram_data_point__init(hp);
    hp->has_time_unix_nano = 1, hp->time_unix_nano = T_NS;
    hp->has_count = 1, hp->count = 6;
    hp->has_sum = 1, hp->sum = 100;
    static uint64_t counts[] = {1, 2, 3};
    static double bounds[] = {5, 10.5};
    hp->n_bucket_counts = 3, hp->bucket_counts = counts;
    hp->n_explicit_bounds = 2, hp->explicit_bounds = bounds;
    hp->n_attributes = 1, hp->attributes = kvs(1, kv("route", any_str("/x")));
    M(Histogram) *h = mk(sizeof *h);
    opentelemetry__proto__metrics__v1__histogram__init(h);
    h->n_data_points = 1, h->data_points = mk(sizeof(void *));
    h->data_points[0] = hp;
    h->has_aggregation_temporality = 1, h->aggregation_temporality = 2;
    M(Metric) *hm = metric("http.server.duration", "ms");
    hm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM, hm->histogram = h;

    /* A histogram without sum, with a bound that needs many digits. */
    M(HistogramDataPoint) *hp2 = mk(sizeof *hp2);
    opentelemetry__proto__metrics__v1__histogram_data_point__init(hp2);
    hp2->has_time_unix_nano = 1, hp2->time_unix_nano = T_NS;
    hp2->has_count = 1, hp2->count = 1;
    static uint64_t counts2[] = {1, 0};
    static double bounds2[] = {0.1 + 0.2};
    hp2->n_bucket_counts = 2, hp2->bucket_counts = counts2;
    hp2->n_explicit_bounds = 1, hp2->explicit_bounds = bounds2;
    M(Histogram) *h2 = mk(sizeof *h2);
    opentelemetry__proto__metrics__v1__histogram__init(h2);
    h2->n_data_points = 1, h2->data_points = mk(sizeof(void *));
    h2->data_points[0] = hp2;
    h2->has_aggregation_temporality = 1, h2->aggregation_temporality = 2;
    M(Metric) *hm2 = metric("h2", "");
    hm2->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM, hm2->histogram = h2;

    M(SummaryDataPoint) *sp = mk(sizeof *sp);
    opentelemetry__proto__metrics__v1__summary_data_point__init(sp);
    sp->has_time_unix_nano = 1, sp->time_unix_nano = T_NS;
    sp->has_count = 1, sp->count = 5, sp->has_sum = 1, sp->sum = 10;
    M(SummaryDataPoint__ValueAtQuantile) q[2];
    for (int i = 0; i < 2; i++) {
        opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__init(&q[i]);
        q[i].has_quantile = q[i].has_value = 1;
    }
    q[0].quantile = 0.5, q[0].value = 1;
    q[1].quantile = 0.99, q[1].value = 2;
    M(SummaryDataPoint__ValueAtQuantile) *pq[2] = {&q[0], &q[1]};
    sp->n_quantile_values = 2, sp->quantile_values = pq;
    M(Summary) *s = mk(sizeof *s);
    opentelemetry__proto__metrics__v1__summary__init(s);
    s->n_data_points = 1, s->data_points = mk(sizeof(void *));
    s->data_points[0] = sp;
    M(Metric) *smm = metric("rpc.latency", "s");
    smm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY, smm->summary = s;

    M(ExponentialHistogramDataPoint) *ep = mk(sizeof *ep);
    opentelemetry__proto__metrics__v1__exponential_histogram_data_point__init(ep);
    ep->has_count = 1, ep->count = 3;
    M(ExponentialHistogram) *eh = mk(sizeof *eh);
    opentelemetry__proto__metrics__v1__exponential_histogram__init(eh);
    eh->n_data_points = 1, eh->data_points = mk(sizeof(void *));
    eh->data_points[0] = ep;
    eh->has_aggregation_temporality = 1, eh->aggregation_temporality = 2;
    M(Metric) *em = metric("exp", "s");
    em->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    em->exponential_histogram = eh;

    M(Metric) *ms[] = {hm, hm2, smm, em};
    char got[4096];
    struct otlp_stats st = {0};
    run(ms, 4, NULL, 0, got, sizeof got, &st);
    expect("histogram and summary", got,
           "__name__=http_server_duration_milliseconds_sum,route=/x|1700000000123|100\n"
           "__name__=http_server_duration_milliseconds_count,route=/x|1700000000123|6\n"
           "__name__=http_server_duration_milliseconds_bucket,le=5,route=/x|1700000000123|1\n"
           "__name__=http_server_duration_milliseconds_bucket,le=10.5,route=/x|1700000000123|3\n"
           "__name__=http_server_duration_milliseconds_bucket,le=+Inf,route=/x|1700000000123|6\n"
           "__name__=h2_count|1700000000123|1\n"
           "__name__=h2_bucket,le=0.30000000000000004|1700000000123|1\n"
           "__name__=h2_bucket,le=+Inf|1700000000123|1\n"
           "__name__=rpc_latency_seconds_sum|1700000000123|10\n"
           "__name__=rpc_latency_seconds_count|1700000000123|5\n"
           "__name__=rpc_latency_seconds,quantile=0.5|1700000000123|1\n"
           "__name__=rpc_latency_seconds,quantile=0.99|1700000000123|2\n");
    assert_int_equal(st.exp_histograms_skipped, 1);
    assert_int_equal(st.points, 3);
    arena_fini(&pool);
}

static void test_attribute_names_and_values(void **state)
{
    arena_init(&pool, 0);
    C(AnyValue) *iv = any_str(NULL), *bv = any_str(NULL), *dv = any_str(NULL), *av = any_str(NULL),
                *byv = any_str(NULL);
    iv->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE, iv->int_value = -7;
    bv->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE, bv->bool_value = 1;
    dv->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    dv->double_value = 1e21;
    C(ArrayValue) arr = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    C(AnyValue) *items[2] = {any_str("a\"b"), iv};
    arr.n_values = 2, arr.values = items;
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    av->array_value = &arr;
    byv->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    byv->bytes_value.data = (uint8_t *)"hi!?";
    byv->bytes_value.len = 4;
    M(NumberDataPoint) *p = num(1, 0, 0, 0);
    p->n_attributes = 10;
    p->attributes = kvs(10, kv("1st", any_str("d")), kv("_x", any_str("u")),
                        kv("__y", any_str("uu")), kv("a_b", any_str("2")), kv("a.b", any_str("1")),
                        kv("n\xc3\xa9t", iv), kv("ok", bv), kv("big", dv), kv("arr", av),
                        kv("raw", byv));
    M(Metric) *ms[] = {gauge("m", "", p)};
    char got[1024];
    run(ms, 1, NULL, 0, got, sizeof got, NULL);
    expect("attributes", got,
           "__name__=m,__y=uu,a_b=1;2,arr=[\"a\\\"b\",-7],big=1000000000000000000000,"
           "key_1st=d,key_x=u,n_t=-7,ok=true,raw=aGkhPw==|1700000000123|1\n");
    arena_fini(&pool);
}

/* Names are sanitised, so labels_validate() refuses only values that are
 * not UTF-8, and then the whole request; attributes that job, instance,
 * __name__ or le would duplicate are replaced, not refused. */
static void test_invalid_labels(void **state)
{
    arena_init(&pool, 0);
    static const struct {
        const char *name;
        const char *attr_key, *attr_value; /* on the point */
        const char *service;               /* service.name, or NULL */
        const char *want;                  /* NULL: accepted, rendered as `rows` */
        const char *rows;
    } cases[] = {
        {"point attribute not utf-8", "host", "a\xff", NULL,
         "otlp: metric \"m\": value of label \"host\" is not valid UTF-8", NULL},
        {"latin-1 attribute", "city", "Z\xfcrich", "svc",
         "otlp: metric \"m\": value of label \"city\" is not valid UTF-8", NULL},
        {"service.name not utf-8", "host", "a", "s\xc3",
         "otlp: metric \"m\": value of label \"job\" is not valid UTF-8", NULL},
        {"key not utf-8 is sanitised", "h\xff", "x", NULL, NULL,
         "__name__=m,h_=x|1700000000123|1\n"},
        {"utf-8 value kept", "city", "Z\xc3\xbcrich", NULL, NULL,
         "__name__=m,city=Z\xc3\xbcrich|1700000000123|1\n"},
        {"__name__ attribute replaced", "__name__", "x", NULL, NULL,
         "__name__=m|1700000000123|1\n"},
        {"job attribute replaced by service.name", "job", "x", "svc", NULL,
         "__name__=m,job=svc|1700000000123|1\n"},
        {"job attribute kept without service.name", "job", "x", NULL, NULL,
         "__name__=m,job=x|1700000000123|1\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        M(NumberDataPoint) *p = num(1, 0, 0, 0);
        p->n_attributes = 1;
        p->attributes = kvs(1, kv(cases[i].attr_key, any_str(cases[i].attr_value)));
        M(Metric) * ms[] = {gauge("m", "", p)};
        C(KeyValue) **res =
            cases[i].service ? kvs(1, kv("service.name", any_str(cases[i].service))) : NULL;
        struct batch b;
        batch_init(&b);
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("keep"));
        batch_add_sample(&b, 1, 1);
        batch_end_series(&b);
        struct err e = {0};
        int rc = parse_into(ms, 1, res, res ? 1 : 0, &b, NULL, &e);
        if (cases[i].want != NULL) {
            if (rc != TIDE_EPARSE || strcmp(e.msg, cases[i].want) != 0)
                fail_msg("%s: rc=%d\n  got  %s\n  want %s", cases[i].name, rc, e.msg,
                         cases[i].want);
            if (b.nseries != 1 || b.nlabels != 1 || b.nsamples != 1)
                fail_msg("%s: batch changed", cases[i].name);
        } else {
            if (rc != 0)
                fail_msg("%s: refused: %s", cases[i].name, e.msg);
            char got[256];
            size_t k = 0;
            got[0] = 0;
            for (size_t si = 1; si < b.nseries; si++) { /* series 0 is "keep" */
                const struct batch_series *sr = &b.series[si];
                if (sr->nlabels > 0 && strv_eq_c(b.labels[sr->label_off].value, "target_info"))
                    continue;
                for (uint32_t j = 0; j < sr->nlabels; j++) {
                    const struct label *l = &b.labels[sr->label_off + j];
                    k += (size_t)snprintf(got + k, sizeof got - k, "%s%.*s=%.*s", j ? "," : "",
                                          (int)l->name.n, l->name.p, (int)l->value.n, l->value.p);
                }
                k += (size_t)snprintf(got + k, sizeof got - k, "|%" PRId64 "|%g\n",
                                      b.samples[sr->sample_off].t_ms, b.samples[sr->sample_off].v);
            }
            expect(cases[i].name, got, cases[i].rows);
        }
        batch_fini(&b);
    }
    arena_fini(&pool);
}

static void test_bad_requests(void **state)
{
    struct batch b;
    batch_init(&b);
    batch_begin_series(&b);
    batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("keep"));
    batch_add_sample(&b, 1, 1);
    batch_end_series(&b);
    struct err e = {0};
    /* Truncated: a ResourceMetrics of 10 bytes with 2 present. */
    static const uint8_t trunc[] = {0x0a, 0x0a, 0x0a, 0x00};
    assert_int_equal(otlp_parse(trunc, sizeof trunc, 0, &b, NULL, &e), TIDE_EPARSE);
    assert_non_null(strstr(e.msg, "otlp"));
    /* Deep: AnyValue arrays nested 40 levels inside a resource attribute. */
    uint8_t deep[512];
    size_t n = 0, depth = 40;
    /* Build inside-out: value = array_value(5){ values(1){ ... } } */
    uint8_t inner[512];
    size_t in = 0;
    for (size_t i = 0; i < depth; i++) {
        uint8_t tmp[512];
        size_t t = 0;
        tmp[t++] = 0x0a; /* ArrayValue.values = 1 */
        tmp[t++] = (uint8_t)in;
        memcpy(tmp + t, inner, in);
        t += in;
        in = 0;
        inner[in++] = 0x2a; /* AnyValue.array_value = 5 */
        inner[in++] = (uint8_t)t;
        memcpy(inner + in, tmp, t);
        in += t;
        if (in > 100)
            break;
    }
    /* KeyValue{key="k", value=inner} in Resource{attributes} in ResourceMetrics{resource}. */
    uint8_t kvb[256];
    size_t k = 0;
    kvb[k++] = 0x0a, kvb[k++] = 1, kvb[k++] = 'k', kvb[k++] = 0x12, kvb[k++] = (uint8_t)in;
    memcpy(kvb + k, inner, in);
    k += in;
    deep[n++] = 0x0a, deep[n++] = (uint8_t)(k + 4);   /* resource_metrics */
    deep[n++] = 0x0a, deep[n++] = (uint8_t)(k + 2);   /* resource */
    deep[n++] = 0x0a, deep[n++] = (uint8_t)k;         /* attributes */
    memcpy(deep + n, kvb, k);
    n += k;
    assert_true(k + 4 < 128);
    assert_int_equal(otlp_parse(deep, n, 0, &b, NULL, &e), TIDE_EPARSE);
    assert_non_null(strstr(e.msg, "nested"));
    /* Memory cap. */
    static const uint8_t one[] = {0x0a, 0x00};
    assert_int_equal(otlp_parse(one, sizeof one, 16, &b, NULL, &e), TIDE_ELIMIT);
    assert_int_equal(otlp_parse(one, sizeof one, 0, &b, NULL, &e), 0);
    assert_int_equal(b.nseries, 1);
    batch_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gauges_sums_and_resource),
        cmocka_unit_test(test_histogram_summary_exponential),
        cmocka_unit_test(test_attribute_names_and_values),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_invalid_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
