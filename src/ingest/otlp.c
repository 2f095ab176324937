/* otlp.c: OTLP metrics to Prometheus-shaped series (ingest/), following
 * Prometheus' OTLP receiver (otlptranslator, "UnderscoreEscapingWithSuffixes",
 * the behaviour it shipped with). protobuf-c unpacks the request under a
 * memory budget, after a schema-guided pass has checked its nesting depth
 * (protobuf-c recurses without a limit); then each data point becomes one or
 * more series. Names and labels are built in the batch arena, so nothing
 * points into protobuf-c's memory once the call returns.
 *
 * Naming (normalizeName): the metric name is split into alphanumeric words;
 * the unit's main part (mapped: s → seconds, By → bytes, ...) and its `/per`
 * part ("per_second") are appended unless already a word; monotonic sums get
 * `total` moved to the end, gauges with unit "1" get `ratio`; words are
 * joined with '_', and a leading digit gets a '_' prefix. Label names: each
 * character outside [A-Za-z0-9_] becomes '_', a leading digit gets "key_",
 * a single leading '_' gets "key"; attributes that collide after that are
 * joined with ';' in the order of their original keys.
 */
#include "ingest/otlp.h"

#include "core/fmtfloat.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#define M(x) Opentelemetry__Proto__Metrics__V1__##x
#define C(x) Opentelemetry__Proto__Common__V1__##x
#define DATA(x) OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_##x
#define ANY(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x
#define CUMULATIVE OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define NO_RECORDED_VALUE 1u

/* ---- unpacking under a budget ---- */

struct budget {
    size_t used, max;
    bool hit; /* an allocation was refused for the budget, not by malloc */
};

enum { HDR = 16 }; /* keeps the size; keeps alignment */

static void *budget_alloc(void *data, size_t n)
{
    struct budget *bg = data;
    if (n > bg->max - bg->used || bg->max - bg->used - n < HDR) {
        bg->hit = true;
        return NULL;
    }
    char *p = malloc(n + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    bg->used += n + HDR;
    return p + HDR;
}

static void budget_free(void *data, void *ptr)
{
    struct budget *bg = data;
    if (ptr == NULL)
        return;
    char *p = (char *)ptr - HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    bg->used -= n + HDR;
    free(p);
}

static int varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *pp < end; shift += 7) {
        uint8_t c = *(*pp)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Walk the wire bytes with the message descriptors and refuse nesting deeper
 * than OTLP_MAX_DEPTH. Malformed bytes are left for protobuf-c to report. */
static int depth_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                    int depth)
{
    if (depth > OTLP_MAX_DEPTH)
        return 0;
    while (p < end) {
        uint64_t key, len;
        if (varint(&p, end, &key) != 0)
            return 1;
        switch (key & 7) {
        case 0:
            if (varint(&p, end, &len) != 0)
                return 1;
            break;
        case 1:
            if (end - p < 8)
                return 1;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return 1;
            p += 4;
            break;
        case 2: {
            if (varint(&p, end, &len) != 0 || len > (uint64_t)(end - p))
                return 1;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
                                       : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !depth_ok(f->descriptor, p, p + len, depth + 1))
                return 0;
            p += len;
            break;
        }
        default:
            return 1;
        }
    }
    return 1;
}

/* ---- strings ---- */

struct attr {
    struct strv name, value;
    const char *key; /* the original key, for ordering collisions */
};

struct conv {
    struct batch *b;
    struct otlp_stats *st;
    struct attr *attrs; /* the current point's labels, sanitised, merged, sorted */
    size_t nattrs, cap_attrs;
    struct strv job, instance; /* from the resource; {NULL,0} when absent */
    int64_t last_t_ms;         /* the latest point of the resource, for target_info */
    bool any_point;
    struct buf tmp; /* scratch for building strings */
    struct err *e;  /* the caller's, for a series labels_validate() refuses */
    struct strv meta_name;      /* the family of the metric just converted; n = 0: none */
    enum metric_type meta_type; /* and its type */
};

static struct strv keep(struct conv *c, const char *p, size_t n, int *rc)
{
    char *s = batch_strdup(c->b, p ? p : "", n);
    if (s == NULL) {
        *rc = -ENOMEM;
        return (struct strv){"", 0};
    }
    return (struct strv){s, n};
}

static bool is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Prometheus' NormalizeLabel, ASCII letters only; one '_' per UTF-8 character. */
static struct strv label_name(struct conv *c, const char *key, int *rc)
{
    size_t n = strlen(key);
    buf_reset(&c->tmp);
    if (n > 0 && is_digit((unsigned char)key[0]))
        *rc = *rc ? *rc : buf_puts(&c->tmp, "key_");
    else if (n > 0 && key[0] == '_' && !(n > 1 && key[1] == '_'))
        *rc = *rc ? *rc : buf_puts(&c->tmp, "key");
    for (size_t i = 0; i < n && *rc == 0; i++) {
        unsigned char ch = (unsigned char)key[i];
        if ((ch & 0xc0) == 0x80 && i > 0 && (unsigned char)key[i - 1] >= 0x80)
            continue; /* a UTF-8 continuation byte: its character is already '_' */
        *rc = buf_putc(&c->tmp, is_alnum(ch) || ch == '_' ? (char)ch : '_');
    }
    if (*rc != 0)
        return (struct strv){"", 0};
    return keep(c, c->tmp.p, c->tmp.len, rc);
}


static int put_json_string(struct buf *dst, const char *s, size_t n)
{
    int rc = buf_putc(dst, '"');
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            rc = buf_putc(dst, '\\');
            rc = rc ? rc : buf_putc(dst, (char)ch);
        } else if (ch < 0x20) {
            rc = buf_printf(dst, "\\u%04x", ch);
        } else {
            rc = buf_putc(dst, (char)ch);
        }
    }
    return rc ? rc : buf_putc(dst, '"');
}

/* An AnyValue as pcommon's AsString() writes it: strings as they are, bools
 * and numbers as text, bytes in base64, arrays and maps as JSON. */
static int put_any(struct buf *dst, const C(AnyValue) *v, bool json, int depth)
{
    if (v == NULL || depth > OTLP_MAX_DEPTH)
        return json ? buf_puts(dst, "null") : 0;
    int rc = 0;
    switch (v->value_case) {
    case ANY(STRING_VALUE): {
        const char *s = v->string_value ? v->string_value : "";
        return json ? put_json_string(dst, s, strlen(s)) : buf_puts(dst, s);
    }
    case ANY(BOOL_VALUE):
        return buf_puts(dst, v->bool_value ? "true" : "false");
    case ANY(INT_VALUE):
        return buf_printf(dst, "%" PRId64, v->int_value);
    case ANY(DOUBLE_VALUE):
        if (json && !isfinite(v->double_value))
            return buf_printf(dst, "\"%s\"", isnan(v->double_value) ? "NaN"
                                             : v->double_value > 0 ? "+Inf" : "-Inf");
        return fmtfloat_f(dst, v->double_value);
    case ANY(BYTES_VALUE): {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const uint8_t *p = v->bytes_value.data;
        size_t n = v->bytes_value.len;
        rc = json ? buf_putc(dst, '"') : 0;
        for (size_t i = 0; i < n && rc == 0; i += 3) {
            uint32_t w = (uint32_t)p[i] << 16;
            if (i + 1 < n)
                w |= (uint32_t)p[i + 1] << 8;
            if (i + 2 < n)
                w |= p[i + 2];
            char q[4] = {b64[w >> 18 & 63], b64[w >> 12 & 63], i + 1 < n ? b64[w >> 6 & 63] : '=',
                         i + 2 < n ? b64[w & 63] : '='};
            rc = buf_append(dst, q, 4);
        }
        return rc ? rc : json ? buf_putc(dst, '"') : 0;
    }
    case ANY(ARRAY_VALUE):
        rc = buf_putc(dst, '[');
        for (size_t i = 0; v->array_value && i < v->array_value->n_values && rc == 0; i++) {
            if (i)
                rc = buf_putc(dst, ',');
            rc = rc ? rc : put_any(dst, v->array_value->values[i], true, depth + 1);
        }
        return rc ? rc : buf_putc(dst, ']');
    case ANY(KVLIST_VALUE):
        rc = buf_putc(dst, '{');
        for (size_t i = 0; v->kvlist_value && i < v->kvlist_value->n_values && rc == 0; i++) {
            const C(KeyValue) *kv = v->kvlist_value->values[i];
            const char *k = kv->key ? kv->key : "";
            if (i)
                rc = buf_putc(dst, ',');
            rc = rc ? rc : put_json_string(dst, k, strlen(k));
            rc = rc ? rc : buf_putc(dst, ':');
            rc = rc ? rc : put_any(dst, kv->value, true, depth + 1);
        }
        return rc ? rc : buf_putc(dst, '}');
    default:
        return json ? buf_puts(dst, "null") : 0;
    }
}

static int cmp_attr(const void *x, const void *y)
{
    const struct attr *a = x, *b = y;
    int c = strv_cmp(a->name, b->name);
    return c ? c : strcmp(a->key, b->key);
}

static bool identifying(const char *k)
{
    return strcmp(k, "service.name") == 0 || strcmp(k, "service.namespace") == 0 ||
           strcmp(k, "service.instance.id") == 0;
}

/* Load attributes as labels into c->attrs: sanitised, sorted, colliding
 * names merged with ';'. Identifying resource attributes are left out when
 * `skip_identifying` (for target_info). */
static int load_attrs(struct conv *c, C(KeyValue) *const *kv, size_t n, bool skip_identifying)
{
    c->nattrs = 0;
    if (n > c->cap_attrs) {
        struct attr *na = realloc(c->attrs, n * sizeof *na);
        if (na == NULL)
            return -ENOMEM;
        c->attrs = na;
        c->cap_attrs = n;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *k = kv[i]->key ? kv[i]->key : "";
        if (k[0] == 0 || (skip_identifying && identifying(k)))
            continue;
        struct attr *a = &c->attrs[c->nattrs++];
        a->key = k;
        a->name = label_name(c, k, &rc);
        buf_reset(&c->tmp);
        rc = rc ? rc : put_any(&c->tmp, kv[i]->value, false, 0);
        if (rc == 0)
            a->value = keep(c, c->tmp.p, c->tmp.len, &rc);
    }
    if (rc != 0)
        return rc == TIDE_ELIMIT ? -ENOMEM : rc;
    if (c->nattrs > 1)
        qsort(c->attrs, c->nattrs, sizeof *c->attrs, cmp_attr);
    size_t w = 0;
    for (size_t i = 0; i < c->nattrs; i++) {
        if (w > 0 && strv_eq(c->attrs[w - 1].name, c->attrs[i].name)) {
            struct attr *prev = &c->attrs[w - 1];
            buf_reset(&c->tmp);
            rc = buf_append(&c->tmp, prev->value.p, prev->value.n);
            rc = rc ? rc : buf_putc(&c->tmp, ';');
            rc = rc ? rc : buf_append(&c->tmp, c->attrs[i].value.p, c->attrs[i].value.n);
            if (rc != 0)
                return -ENOMEM;
            prev->value = keep(c, c->tmp.p, c->tmp.len, &rc);
            if (rc != 0)
                return rc;
            continue;
        }
        c->attrs[w++] = c->attrs[i];
    }
    c->nattrs = w;
    return 0;
}

/* ---- names ---- */

static const struct {
    const char *otel, *prom;
} unit_map[] = {
    {"d", "days"},        {"h", "hours"},        {"min", "minutes"},   {"s", "seconds"},
    {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
    {"KiBy", "kibibytes"}, {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"}, {"MBy", "megabytes"},   {"GBy", "gigabytes"}, {"TBy", "terabytes"},
    {"m", "meters"},      {"V", "volts"},        {"A", "amperes"},     {"J", "joules"},
    {"W", "watts"},       {"g", "grams"},        {"Cel", "celsius"},   {"Hz", "hertz"},
    {"1", ""},            {"%", "percent"},
}, per_map[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

enum kind { K_GAUGE, K_COUNTER, K_OTHER };

/* Words of a name: maximal runs of ASCII letters and digits, as views. */
struct words {
    struct strv w[64];
    size_t n;
};

static void split_words(struct words *ws, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && ws->n < sizeof ws->w / sizeof ws->w[0]) {
        while (i < n && !is_alnum((unsigned char)s[i]))
            i++;
        size_t st = i;
        while (i < n && is_alnum((unsigned char)s[i]))
            i++;
        if (i > st)
            ws->w[ws->n++] = (struct strv){s + st, i - st};
    }
}

static bool has_word(const struct words *ws, struct strv w)
{
    for (size_t i = 0; i < ws->n; i++)
        if (strv_eq(ws->w[i], w))
            return true;
    return false;
}

static void drop_word(struct words *ws, const char *w)
{
    size_t k = 0;
    for (size_t i = 0; i < ws->n; i++)
        if (!strv_eq_c(ws->w[i], w))
            ws->w[k++] = ws->w[i];
    ws->n = k;
}

static void push_word(struct words *ws, struct strv w)
{
    if (ws->n < sizeof ws->w / sizeof ws->w[0])
        ws->w[ws->n++] = w;
}

static struct strv trim(const char *p, size_t n)
{
    while (n > 0 && *p != 0 && strchr(" \t\n\r\f\v", *p) != NULL) {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] != 0 && strchr(" \t\n\r\f\v", p[n - 1]) != NULL)
        n--;
    return (struct strv){p, n};
}

/* CleanUpString(map(unit)) into `out` (its own storage): words joined by '_'. */
static struct strv clean_unit(struct strv u, bool per, char *out, size_t cap)
{
    const char *m = NULL;
    size_t nmap = per ? sizeof per_map / sizeof per_map[0] : sizeof unit_map / sizeof unit_map[0];
    for (size_t i = 0; i < nmap && m == NULL; i++) {
        const char *o = per ? per_map[i].otel : unit_map[i].otel;
        if (strv_eq_c(u, o))
            m = per ? per_map[i].prom : unit_map[i].prom;
    }
    struct strv src = m ? strv_c(m) : u;
    struct words ws = {.n = 0};
    split_words(&ws, src.p, src.n);
    size_t k = 0;
    for (size_t i = 0; i < ws.n; i++) {
        if (k + ws.w[i].n + 1 >= cap)
            break;
        if (i)
            out[k++] = '_';
        memcpy(out + k, ws.w[i].p, ws.w[i].n);
        k += ws.w[i].n;
    }
    return (struct strv){out, k};
}

/* The Prometheus name of a metric (without _bucket/_sum/_count), in the
 * batch arena; {"",0} when it comes out empty. */
static struct strv metric_name(struct conv *c, const M(Metric) *m, enum kind kind, int *rc)
{
    const char *name = m->name ? m->name : "";
    const char *unit = m->unit ? m->unit : "";
    struct words ws = {.n = 0};
    split_words(&ws, name, strlen(name));
    char main_buf[256], per_buf[256];
    const char *slash = strchr(unit, '/');
    struct strv mainu = trim(unit, slash ? (size_t)(slash - unit) : strlen(unit));
    if (mainu.n > 0 && !memchr(mainu.p, '{', mainu.n) && !memchr(mainu.p, '}', mainu.n)) {
        struct strv w = clean_unit(mainu, false, main_buf, sizeof main_buf);
        if (w.n > 0 && !has_word(&ws, w))
            push_word(&ws, w);
    }
    if (slash && slash[1] != 0) {
        struct strv per = trim(slash + 1, strlen(slash + 1));
        if (per.n > 0 && !memchr(per.p, '{', per.n) && !memchr(per.p, '}', per.n)) {
            struct strv w = clean_unit(per, true, per_buf, sizeof per_buf);
            if (w.n > 0 && !has_word(&ws, w)) {
                push_word(&ws, STRV_LIT("per"));
                push_word(&ws, w);
            }
        }
    }
    if (kind == K_COUNTER) {
        drop_word(&ws, "total");
        push_word(&ws, STRV_LIT("total"));
    }
    if (kind == K_GAUGE && strcmp(unit, "1") == 0) {
        drop_word(&ws, "ratio");
        push_word(&ws, STRV_LIT("ratio"));
    }
    buf_reset(&c->tmp);
    for (size_t i = 0; i < ws.n && *rc == 0; i++) {
        if (i == 0 && is_digit((unsigned char)ws.w[0].p[0]))
            *rc = buf_putc(&c->tmp, '_');
        if (i > 0 && *rc == 0)
            *rc = buf_putc(&c->tmp, '_');
        if (*rc == 0)
            *rc = buf_append(&c->tmp, ws.w[i].p, ws.w[i].n);
    }
    if (*rc != 0)
        return (struct strv){"", 0};
    return keep(c, c->tmp.p, c->tmp.len, rc);
}

/* ---- series ---- */

static int64_t to_ms(uint64_t ns)
{
    return (int64_t)(ns / 1000000u);
}

/* One series: the point's attributes, job/instance, __name__ = base+suffix,
 * an optional extra label (le, quantile), one sample. */
static int emit(struct conv *c, struct strv base, const char *suffix, const char *extra,
                struct strv extra_value, int64_t t_ms, double v)
{
    int rc = 0;
    struct strv name = base;
    if (suffix) {
        buf_reset(&c->tmp);
        rc = buf_append(&c->tmp, base.p, base.n);
        rc = rc ? rc : buf_puts(&c->tmp, suffix);
        if (rc != 0)
            return -ENOMEM;
        name = keep(c, c->tmp.p, c->tmp.len, &rc);
        if (rc != 0)
            return rc;
    }
    struct batch *b = c->b;
    rc = batch_begin_series(b);
    /* job, instance, __name__ and le/quantile replace an attribute of the
     * same name (Prometheus' translator overwrites it): the attribute is
     * left out, so the set has no duplicate for labels_validate(). */
    for (size_t i = 0; i < c->nattrs && rc == 0; i++) {
        struct strv an = c->attrs[i].name;
        if (strv_eq(an, STRV_LIT(LABEL_METRIC_NAME)) || (c->job.n && strv_eq_c(an, "job")) ||
            (c->instance.n && strv_eq_c(an, "instance")) || (extra && strv_eq_c(an, extra)))
            continue;
        rc = batch_add_label(b, an, c->attrs[i].value);
    }
    if (rc == 0 && c->job.n)
        rc = batch_add_label(b, STRV_LIT("job"), c->job);
    if (rc == 0 && c->instance.n)
        rc = batch_add_label(b, STRV_LIT("instance"), c->instance);
    if (rc == 0)
        rc = batch_add_label(b, STRV_LIT(LABEL_METRIC_NAME), name);
    if (rc == 0 && extra)
        rc = batch_add_label(b, strv_c(extra), extra_value);
    if (rc == 0)
        rc = batch_add_sample(b, t_ms, v);
    struct err ve; /* set when a check fails */
    if (rc == 0)
        rc = batch_end_series_checked(b, &ve);
    if (rc == TIDE_EPARSE) /* a value that is not UTF-8: names are made valid above */
        return err_set_at(c->e, TIDE_EPARSE, ERR_WHERE, 0, 0, "otlp: metric \"%.*s\": %s",
                          (int)(name.n > 64 ? 64 : name.n), name.p, ve.msg);
    if (rc != 0)
        batch_abort_series(b);
    return rc;
}

static double stale(void)
{
    uint64_t u = STALE_NAN_BITS;
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void saw_point(struct conv *c, int64_t t_ms)
{
    if (!c->any_point || t_ms > c->last_t_ms)
        c->last_t_ms = t_ms;
    c->any_point = true;
    if (c->st)
        c->st->points++;
}

/* The start every data point shares: its attributes become the labels of the
 * series that follow, and its time, in ms into *t_ms, counts as seen. */
static int point_begin(struct conv *c, C(KeyValue) *const *attrs, size_t nattrs,
                       uint64_t time_unix_nano, int64_t *t_ms)
{
    int rc = load_attrs(c, attrs, nattrs, false);
    if (rc != 0)
        return rc;
    *t_ms = to_ms(time_unix_nano);
    saw_point(c, *t_ms);
    return 0;
}

/* The _sum (when the point has one) and _count series of a histogram or
 * summary point; stale markers when the point has no recorded value. */
static int sum_count(struct conv *c, struct strv name, int64_t t, bool none, bool has_sum,
                     double sum, uint64_t count)
{
    int rc = 0;
    if (has_sum)
        rc = emit(c, name, "_sum", NULL, (struct strv){0}, t, none ? stale() : sum);
    if (rc == 0)
        rc = emit(c, name, "_count", NULL, (struct strv){0}, t, none ? stale() : (double)count);
    return rc;
}

static int number_points(struct conv *c, struct strv name, M(NumberDataPoint) *const *pts,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const M(NumberDataPoint) *p = pts[i];
        int64_t t;
        int rc = point_begin(c, p->attributes, p->n_attributes, p->time_unix_nano, &t);
        if (rc != 0)
            return rc;
        double v = 0;
        if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
            v = p->as_double;
        else if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT)
            v = (double)p->as_int;
        if (p->flags & NO_RECORDED_VALUE)
            v = stale();
        rc = emit(c, name, NULL, NULL, (struct strv){0}, t, v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A float label value (le, quantile) in the arena. */
static struct strv float_label(struct conv *c, double v, int *rc)
{
    buf_reset(&c->tmp);
    *rc = fmtfloat_f(&c->tmp, v);
    if (*rc != 0) {
        *rc = -ENOMEM;
        return (struct strv){"", 0};
    }
    return keep(c, c->tmp.p, c->tmp.len, rc);
}

static int histogram_points(struct conv *c, struct strv name, M(HistogramDataPoint) *const *pts,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const M(HistogramDataPoint) *p = pts[i];
        int64_t t;
        int rc = point_begin(c, p->attributes, p->n_attributes, p->time_unix_nano, &t);
        if (rc != 0)
            return rc;
        bool none = p->flags & NO_RECORDED_VALUE;
        rc = sum_count(c, name, t, none, p->has_sum, p->sum, p->count);
        uint64_t cum = 0;
        size_t nb = p->n_explicit_bounds < p->n_bucket_counts ? p->n_explicit_bounds
                                                               : p->n_bucket_counts;
        for (size_t j = 0; j < nb && rc == 0; j++) {
            cum += p->bucket_counts[j];
            struct strv le = float_label(c, p->explicit_bounds[j], &rc);
            if (rc == 0)
                rc = emit(c, name, "_bucket", "le", le, t, none ? stale() : (double)cum);
        }
        if (rc == 0)
            rc = emit(c, name, "_bucket", "le", STRV_LIT("+Inf"), t,
                      none ? stale() : (double)p->count);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int summary_points(struct conv *c, struct strv name, M(SummaryDataPoint) *const *pts,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const M(SummaryDataPoint) *p = pts[i];
        int64_t t;
        int rc = point_begin(c, p->attributes, p->n_attributes, p->time_unix_nano, &t);
        if (rc != 0)
            return rc;
        bool none = p->flags & NO_RECORDED_VALUE;
        rc = sum_count(c, name, t, none, true, p->sum, p->count);
        for (size_t j = 0; j < p->n_quantile_values && rc == 0; j++) {
            const M(SummaryDataPoint__ValueAtQuantile) *q = p->quantile_values[j];
            struct strv ql = float_label(c, q->quantile, &rc);
            if (rc == 0)
                rc = emit(c, name, NULL, "quantile", ql, t, none ? stale() : q->value);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Only cumulative points are stored: count the others as skipped, true if so. */
static bool skip_temporality(struct conv *c, M(AggregationTemporality) temporality,
                             size_t npoints)
{
    if (temporality == CUMULATIVE)
        return false;
    if (c->st)
        c->st->temporality_skipped += npoints;
    return true;
}

/* The family's metadata, as Prometheus' translator sends it: the kind, the
 * description as help, the unit as OTLP spells it. */
static int meta(struct conv *c, const M(Metric) *m, struct strv name, enum metric_type type)
{
    int rc = 0;
    struct batch_meta bm = {.family = name, .type = type};
    const char *help = m->description ? m->description : "";
    const char *unit = m->unit ? m->unit : "";
    bm.help = keep(c, help, strlen(help), &rc);
    if (rc == 0)
        bm.unit = keep(c, unit, strlen(unit), &rc);
    return rc != 0 ? rc : batch_add_meta(c->b, &bm);
}

static int metric_points(struct conv *c, const M(Metric) *m);

static int metric(struct conv *c, const M(Metric) *m)
{
    int rc = metric_points(c, m);
    if (rc != 0 || c->meta_name.n == 0)
        return rc;
    return meta(c, m, c->meta_name, c->meta_type);
}

static int metric_points(struct conv *c, const M(Metric) *m)
{
    int rc = 0;
    struct strv name;
    c->meta_name = (struct strv){NULL, 0};
    switch (m->data_case) {
    case DATA(GAUGE):
        name = metric_name(c, m, K_GAUGE, &rc);
        if (rc != 0 || name.n == 0 || m->gauge == NULL)
            return rc;
        c->meta_name = name;
        c->meta_type = METRIC_TYPE_GAUGE;
        return number_points(c, name, m->gauge->data_points, m->gauge->n_data_points);
    case DATA(SUM): {
        const M(Sum) *s = m->sum;
        if (s == NULL)
            return 0;
        if (skip_temporality(c, s->aggregation_temporality, s->n_data_points))
            return 0;
        name = metric_name(c, m, s->is_monotonic ? K_COUNTER : K_OTHER, &rc);
        if (rc != 0 || name.n == 0)
            return rc;
        c->meta_name = name;
        c->meta_type = s->is_monotonic ? METRIC_TYPE_COUNTER : METRIC_TYPE_GAUGE;
        return number_points(c, name, s->data_points, s->n_data_points);
    }
    case DATA(HISTOGRAM): {
        const M(Histogram) *h = m->histogram;
        if (h == NULL)
            return 0;
        if (skip_temporality(c, h->aggregation_temporality, h->n_data_points))
            return 0;
        name = metric_name(c, m, K_OTHER, &rc);
        if (rc != 0 || name.n == 0)
            return rc;
        c->meta_name = name;
        c->meta_type = METRIC_TYPE_HISTOGRAM;
        return histogram_points(c, name, h->data_points, h->n_data_points);
    }
    case DATA(SUMMARY):
        name = metric_name(c, m, K_OTHER, &rc);
        if (rc != 0 || name.n == 0 || m->summary == NULL)
            return rc;
        c->meta_name = name;
        c->meta_type = METRIC_TYPE_SUMMARY;
        return summary_points(c, name, m->summary->data_points, m->summary->n_data_points);
    case DATA(EXPONENTIAL_HISTOGRAM):
        if (c->st && m->exponential_histogram)
            c->st->exp_histograms_skipped += m->exponential_histogram->n_data_points;
        return 0;
    default:
        return 0;
    }
}

static const C(AnyValue) *resource_attr(C(KeyValue) *const *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i]->key && strcmp(kv[i]->key, key) == 0)
            return kv[i]->value;
    return NULL;
}

static int resource(struct conv *c, const M(ResourceMetrics) *rm)
{
    C(KeyValue) *const *kv = rm->resource ? rm->resource->attributes : NULL;
    size_t nkv = rm->resource ? rm->resource->n_attributes : 0;
    int rc = 0;
    c->job = c->instance = (struct strv){NULL, 0};
    c->any_point = false;
    const C(AnyValue) *svc = resource_attr(kv, nkv, "service.name");
    const C(AnyValue) *ns = resource_attr(kv, nkv, "service.namespace");
    const C(AnyValue) *inst = resource_attr(kv, nkv, "service.instance.id");
    if (svc) {
        buf_reset(&c->tmp);
        if (ns) {
            rc = put_any(&c->tmp, ns, false, 0);
            rc = rc ? rc : buf_putc(&c->tmp, '/');
        }
        rc = rc ? rc : put_any(&c->tmp, svc, false, 0);
        if (rc != 0)
            return -ENOMEM;
        c->job = keep(c, c->tmp.p, c->tmp.len, &rc);
    }
    if (inst && rc == 0) {
        buf_reset(&c->tmp);
        if (put_any(&c->tmp, inst, false, 0) != 0)
            return -ENOMEM;
        c->instance = keep(c, c->tmp.p, c->tmp.len, &rc);
    }
    for (size_t i = 0; i < rm->n_scope_metrics && rc == 0; i++) {
        const M(ScopeMetrics) *sm = rm->scope_metrics[i];
        for (size_t j = 0; j < sm->n_metrics && rc == 0; j++)
            rc = metric(c, sm->metrics[j]);
    }
    if (rc != 0 || !c->any_point)
        return rc;
    /* target_info: the other resource attributes, once per resource. */
    rc = load_attrs(c, kv, nkv, true);
    if (rc != 0 || c->nattrs == 0)
        return rc;
    return emit(c, STRV_LIT("target_info"), NULL, NULL, (struct strv){0}, c->last_t_ms, 1);
}

int otlp_parse(const void *pb, size_t n, size_t max_mem_bytes, struct batch *b,
               struct otlp_stats *st, struct err *e)
{
    static const uint8_t none[1];
    if (n == 0)
        pb = none; /* an empty request; pb may be NULL */
    const ProtobufCMessageDescriptor *d =
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    if (!depth_ok(d, pb, (const uint8_t *)pb + n, 0))
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                          "otlp: request nested deeper than %d levels", OTLP_MAX_DEPTH);
    struct budget bg = {0, max_mem_bytes ? max_mem_bytes : OTLP_MAX_MEM_BYTES, false};
    ProtobufCAllocator alloc = {budget_alloc, budget_free, &bg};
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            &alloc, n, pb);
    if (req == NULL) {
        if (bg.hit)
            return ERR_LIMIT(e, "otlp: unpacking needs more than %zu bytes of memory", bg.max);
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                          "otlp: body is not a valid ExportMetricsServiceRequest protobuf");
    }
    struct conv c = {.b = b, .st = st, .e = e};
    buf_init(&c.tmp, 0);
    size_t nseries = b->nseries, nlabels = b->nlabels, nsamples = b->nsamples;
    size_t nmeta = b->nmeta;
    struct otlp_stats before = st ? *st : (struct otlp_stats){0};
    int rc = 0;
    for (size_t i = 0; i < req->n_resource_metrics && rc == 0; i++)
        rc = resource(&c, req->resource_metrics[i]);
    free(c.attrs);
    buf_fini(&c.tmp);
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        req, &alloc);
    if (rc != 0) {
        batch_abort_series(b);
        b->nseries = nseries;
        b->nlabels = nlabels;
        b->nsamples = nsamples;
        b->nmeta = nmeta;
        if (st)
            *st = before;
        if (rc == TIDE_EPARSE)
            return rc; /* e set by emit() */
        return ERR_SET(e, -ENOMEM, "otlp: out of memory");
    }
    return 0;
}
