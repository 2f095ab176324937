/* otlp_json.c: OTLP/HTTP with the JSON encoding (Content-Type
 * application/json) read by transcoding it to the protobuf wire format, then
 * handing the bytes to otlp_parse(), so both encodings go through one
 * conversion and one set of limits.
 *
 * The transcoder walks the JSON with the protobuf-c descriptors of
 * ExportMetricsServiceRequest, following the protobuf JSON mapping as the
 * OTLP specification narrows it (opentelemetry-proto, "JSON Protobuf
 * Encoding"):
 *   - keys are the lowerCamelCase JSON names; the original snake_case names
 *     are accepted too; keys the schema does not know are ignored, as the
 *     specification requires of receivers; null means "not set";
 *   - 64-bit integers may be JSON strings or numbers, doubles may be numbers
 *     or "NaN", "Infinity", "-Infinity" (or a number in a string);
 *   - enums are integers (their names are accepted as well);
 *   - traceId and spanId are hex strings, not base64; other bytes are base64.
 * Repeated scalars are written unpacked (protobuf parsers accept both).
 * Nesting is bounded by OTLP_MAX_DEPTH before anything is written.
 */
#include "ingest/otlp.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ingest/jsontok.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

struct tc {
    const char *start, *end;
    struct batch *b; /* arena for strings with escapes */
    struct err *e;
};

/* ---- errors ---- */

static int fail(struct tc *t, const char *p, const char *why)
{
    size_t off = (size_t)(p - t->start);
    return err_set_at(t->e, TIDE_EPARSE, ERR_WHERE, 0, 0, "otlp json: byte %zu: %s", off + 1, why);
}

/* ---- protobuf wire writing ---- */

static int put_key(struct buf *o, uint32_t id, unsigned wire)
{
    return buf_put_uvarint(o, ((uint64_t)id << 3) | wire);
}

static int put_fixed(struct buf *o, uint64_t v, size_t n)
{
    return n == 4 ? buf_put_u32le(o, (uint32_t)v) : buf_put_u64le(o, v);
}

/* ---- JSON scalars ---- */

static bool is_lit(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* A string or number value's text: strings are decoded, numbers borrowed. */
static int scalar_text(struct tc *t, const char **pp, struct strv *out, bool *quoted)
{
    const char *why = NULL;
    const char *p = *pp;
    *quoted = p < t->end && *p == '"';
    int rc = *quoted ? jsontok_string(pp, t->end, t->b, out, &why)
                     : jsontok_number(pp, t->end, out, &why);
    if (rc == -ENOMEM)
        return ERR_SET(t->e, -ENOMEM, "otlp json: out of memory");
    if (rc != 0)
        return fail(t, *pp, why ? why : "bad value");
    return 0;
}

static int read_double(struct tc *t, const char **pp, double *out)
{
    const char *at = *pp;
    struct strv s;
    bool quoted;
    int rc = scalar_text(t, pp, &s, &quoted);
    if (rc != 0)
        return rc;
    if (quoted) {
        if (s.n == 3 && memcmp(s.p, "NaN", 3) == 0) {
            *out = NAN;
            return 0;
        }
        if (s.n == 8 && memcmp(s.p, "Infinity", 8) == 0) {
            *out = INFINITY;
            return 0;
        }
        if (s.n == 9 && memcmp(s.p, "-Infinity", 9) == 0) {
            *out = -INFINITY;
            return 0;
        }
    }
    if (jsontok_strtod(s.p, s.n, out) != 0)
        return fail(t, at, "not a number");
    return 0;
}

/* An integer as a JSON number or a string of digits; `sign` allows '-'.
 * A number with an exponent or fraction must still be integral. */
static int read_int(struct tc *t, const char **pp, bool sign, int64_t min, uint64_t max,
                    uint64_t *out)
{
    const char *at = *pp;
    struct strv s;
    bool quoted;
    int rc = scalar_text(t, pp, &s, &quoted);
    if (rc != 0)
        return rc;
    const char *p = s.p, *end = s.p + s.n;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    if (p == end)
        return fail(t, at, "not an integer");
    uint64_t v = 0;
    bool digits_only = true;
    for (const char *q = p; q < end; q++)
        if (*q < '0' || *q > '9')
            digits_only = false;
    if (digits_only) {
        for (; p < end; p++) {
            unsigned d = (unsigned)(*p - '0');
            if (v > (UINT64_MAX - d) / 10)
                return fail(t, at, "integer out of range");
            v = v * 10 + d;
        }
    } else {
        double d;
        if (jsontok_strtod(s.p, s.n, &d) != 0 || d != floor(d) || fabs(d) >= 0x1p64)
            return fail(t, at, "not an integer");
        v = (uint64_t)fabs(d);
    }
    if (neg && !sign && v != 0)
        return fail(t, at, "negative value for an unsigned field");
    if (!neg && v > max)
        return fail(t, at, "integer out of range");
    if (neg && v > (uint64_t)(-(min + 1)) + 1)
        return fail(t, at, "integer out of range");
    *out = neg ? (uint64_t)0 - v : v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* bytes: hex for trace and span ids (OTLP), base64 (standard or URL-safe,
 * padding optional) otherwise. Written as a length-delimited field. */
static int put_bytes(struct tc *t, const char **pp, bool hex, uint32_t id, struct buf *o)
{
    const char *at = *pp;
    if (at >= t->end || *at != '"')
        return fail(t, at, "bytes must be a string");
    struct strv s;
    bool quoted;
    int rc = scalar_text(t, pp, &s, &quoted);
    if (rc != 0)
        return rc;
    struct buf raw;
    buf_init(&raw, 0);
    if (hex) {
        if (s.n % 2 != 0)
            rc = fail(t, at, "hex id of odd length");
        for (size_t i = 0; rc == 0 && i < s.n; i += 2) {
            int hi = hexval(s.p[i]), lo = hexval(s.p[i + 1]);
            if (hi < 0 || lo < 0)
                rc = fail(t, at, "hex id with a non-hex digit");
            else
                rc = buf_putc(&raw, (char)(hi << 4 | lo));
        }
    } else {
        uint32_t acc = 0;
        int bits = 0;
        size_t i = 0;
        for (; rc == 0 && i < s.n && s.p[i] != '='; i++) {
            int v = b64val(s.p[i]);
            if (v < 0) {
                rc = fail(t, at, "bytes are not base64");
                break;
            }
            acc = acc << 6 | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                rc = buf_putc(&raw, (char)(acc >> bits));
            }
        }
        for (; rc == 0 && i < s.n; i++)
            if (s.p[i] != '=')
                rc = fail(t, at, "bytes are not base64");
    }
    if (rc == 0 && (put_key(o, id, 2) != 0 || buf_put_uvarint(o, raw.len) != 0 ||
                    buf_append(o, raw.p, raw.len) != 0))
        rc = ERR_SET(t->e, -ENOMEM, "otlp json: out of memory");
    buf_fini(&raw);
    return rc;
}

/* ---- fields ---- */

static int message(struct tc *t, const char **pp, const ProtobufCMessageDescriptor *d, int depth,
                   struct buf *o);

/* Does JSON key k name field f (its proto name or lowerCamelCase name)? */
static bool key_names(const struct strv *k, const char *name)
{
    size_t n = strlen(name);
    if (k->n == n && memcmp(k->p, name, n) == 0)
        return true;
    size_t j = 0;
    bool up = false;
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '_') {
            up = true;
            continue;
        }
        char c = name[i];
        if (up && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        up = false;
        if (j >= k->n || k->p[j] != c)
            return false;
        j++;
    }
    return j == k->n;
}

static int oom(struct tc *t)
{
    return ERR_SET(t->e, -ENOMEM, "otlp json: out of memory");
}

/* One value of field f (an element, for a repeated field) at *pp. */
static int field_value(struct tc *t, const char **pp, const ProtobufCFieldDescriptor *f, int depth,
                       struct buf *o)
{
    const char *at = *pp;
    uint64_t u = 0;
    double d = 0;
    int rc = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE: {
        struct buf sub;
        buf_init(&sub, 0);
        rc = message(t, pp, f->descriptor, depth + 1, &sub);
        if (rc == 0 && (put_key(o, f->id, 2) != 0 || buf_put_uvarint(o, sub.len) != 0 ||
                        buf_append(o, sub.p, sub.len) != 0))
            rc = oom(t);
        buf_fini(&sub);
        return rc;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (at >= t->end || *at != '"')
            return fail(t, at, "expected a string");
        struct strv s;
        bool quoted;
        rc = scalar_text(t, pp, &s, &quoted);
        if (rc == 0 && (put_key(o, f->id, 2) != 0 || buf_put_uvarint(o, s.n) != 0 ||
                        buf_append(o, s.p, s.n) != 0))
            rc = oom(t);
        return rc;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return put_bytes(t, pp, strcmp(f->name, "trace_id") == 0 || strcmp(f->name, "span_id") == 0,
                         f->id, o);
    case PROTOBUF_C_TYPE_BOOL:
        if (is_lit(at, t->end, "true")) {
            *pp += 4;
            u = 1;
        } else if (is_lit(at, t->end, "false")) {
            *pp += 5;
        } else {
            return fail(t, at, "expected true or false");
        }
        return put_key(o, f->id, 0) || buf_put_uvarint(o, u) ? oom(t) : 0;
    case PROTOBUF_C_TYPE_ENUM:
        if (at < t->end && *at == '"') {
            struct strv s;
            bool quoted;
            if ((rc = scalar_text(t, pp, &s, &quoted)) != 0)
                return rc;
            char name[128];
            if (s.n >= sizeof name)
                return fail(t, at, "unknown enum value");
            memcpy(name, s.p, s.n);
            name[s.n] = 0;
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, name);
            if (ev == NULL)
                return fail(t, at, "unknown enum value");
            u = (uint64_t)(int64_t)ev->value;
        } else if ((rc = read_int(t, pp, true, INT32_MIN, INT32_MAX, &u)) != 0) {
            return rc;
        }
        return put_key(o, f->id, 0) || buf_put_uvarint(o, u) ? oom(t) : 0;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SINT64: {
        bool is32 = f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_SINT32;
        if ((rc = read_int(t, pp, true, is32 ? INT32_MIN : INT64_MIN,
                           is32 ? INT32_MAX : INT64_MAX, &u)) != 0)
            return rc;
        if (f->type == PROTOBUF_C_TYPE_SINT32 || f->type == PROTOBUF_C_TYPE_SINT64) {
            int64_t s = (int64_t)u;
            u = ((uint64_t)s << 1) ^ (uint64_t)(s >> 63);
        }
        return put_key(o, f->id, 0) || buf_put_uvarint(o, u) ? oom(t) : 0;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_UINT64:
        if ((rc = read_int(t, pp, false, 0,
                           f->type == PROTOBUF_C_TYPE_UINT32 ? UINT32_MAX : UINT64_MAX, &u)) != 0)
            return rc;
        return put_key(o, f->id, 0) || buf_put_uvarint(o, u) ? oom(t) : 0;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = read_int(t, pp, f->type == PROTOBUF_C_TYPE_SFIXED32, INT32_MIN,
                           f->type == PROTOBUF_C_TYPE_SFIXED32 ? INT32_MAX : UINT32_MAX, &u)) != 0)
            return rc;
        return put_key(o, f->id, 5) || put_fixed(o, u, 4) ? oom(t) : 0;
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = read_int(t, pp, f->type == PROTOBUF_C_TYPE_SFIXED64, INT64_MIN,
                           f->type == PROTOBUF_C_TYPE_SFIXED64 ? INT64_MAX : UINT64_MAX, &u)) != 0)
            return rc;
        return put_key(o, f->id, 1) || put_fixed(o, u, 8) ? oom(t) : 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = read_double(t, pp, &d)) != 0)
            return rc;
        memcpy(&u, &d, 8);
        return put_key(o, f->id, 1) || put_fixed(o, u, 8) ? oom(t) : 0;
    case PROTOBUF_C_TYPE_FLOAT: {
        if ((rc = read_double(t, pp, &d)) != 0)
            return rc;
        float fl = (float)d;
        uint32_t u32;
        memcpy(&u32, &fl, 4);
        return put_key(o, f->id, 5) || put_fixed(o, u32, 4) ? oom(t) : 0;
    }
    }
    return fail(t, at, "field of an unsupported type");
}

/* After an element or member: 1 with *p on the next one after a ',', 0
 * with *p past `close`, or a parse error. */
static int next_item(struct tc *t, const char **p, char close)
{
    const char *q = jsontok_ws(*p, t->end);
    if (q < t->end && *q == ',') {
        *p = jsontok_ws(q + 1, t->end);
        return 1;
    }
    if (q < t->end && *q == close) {
        *p = q + 1;
        return 0;
    }
    *p = q;
    return fail(t, q, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
}

/* The value of a known key: null, an array for a repeated field, or one value. */
static int field(struct tc *t, const char **pp, const ProtobufCFieldDescriptor *f, int depth,
                 struct buf *o)
{
    const char *p = *pp;
    if (is_lit(p, t->end, "null")) {
        *pp = p + 4;
        return 0;
    }
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return field_value(t, pp, f, depth, o);
    if (p >= t->end || *p != '[')
        return fail(t, p, "expected an array");
    p = jsontok_ws(p + 1, t->end);
    if (p < t->end && *p == ']') {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        int rc = field_value(t, &p, f, depth, o);
        if (rc != 0 || (rc = next_item(t, &p, ']')) <= 0) {
            *pp = p;
            return rc;
        }
    }
}

/* One JSON object as message d, its fields appended to o. */
static int message(struct tc *t, const char **pp, const ProtobufCMessageDescriptor *d, int depth,
                   struct buf *o)
{
    const char *p = jsontok_ws(*pp, t->end);
    if (depth > OTLP_MAX_DEPTH)
        return err_set_at(t->e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                          "otlp json: request nested deeper than %d levels", OTLP_MAX_DEPTH);
    if (p >= t->end || *p != '{')
        return fail(t, p, "expected an object");
    p = jsontok_ws(p + 1, t->end);
    if (p < t->end && *p == '}') {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        if (p >= t->end || *p != '"')
            return fail(t, p, "expected a key");
        struct strv k;
        const char *why = NULL;
        int rc = jsontok_string(&p, t->end, t->b, &k, &why);
        if (rc == -ENOMEM)
            return oom(t);
        if (rc != 0)
            return fail(t, p, why ? why : "bad key");
        p = jsontok_ws(p, t->end);
        if (p >= t->end || *p != ':')
            return fail(t, p, "expected ':'");
        p = jsontok_ws(p + 1, t->end);
        const ProtobufCFieldDescriptor *f = NULL;
        for (unsigned i = 0; i < d->n_fields && f == NULL; i++)
            if (key_names(&k, d->fields[i].name))
                f = &d->fields[i];
        if (f != NULL)
            rc = field(t, &p, f, depth, o);
        else if ((rc = jsontok_skip_value(&p, t->end, depth, &why)) != 0)
            rc = fail(t, p, why ? why : "bad value");
        if (rc != 0)
            return rc;
        if ((rc = next_item(t, &p, '}')) <= 0) {
            *pp = p;
            return rc;
        }
    }
}

int otlp_json_to_pb(const char *json, size_t n, struct batch *b, struct buf *out, struct err *e)
{
    struct tc t = {.start = json, .end = json + n, .b = b, .e = e};
    const char *p = json;
    int rc = message(
        &t, &p, &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
        0, out);
    if (rc != 0)
        return rc;
    p = jsontok_ws(p, t.end);
    if (p != t.end)
        return fail(&t, p, "data after the request object");
    return 0;
}

int otlp_json_parse(const char *json, size_t n, size_t max_mem_bytes, struct batch *b,
                    struct otlp_stats *st, struct err *e)
{
    struct buf pb;
    buf_init(&pb, 0);
    int rc = otlp_json_to_pb(json, n, b, &pb, e);
    if (rc == 0)
        rc = otlp_parse(pb.p, pb.len, max_mem_bytes, b, st, e);
    buf_fini(&pb);
    return rc;
}
