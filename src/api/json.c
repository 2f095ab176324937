/* json.c: the JSON writer of api/ responses (see json.h).
 *
 * Only api/ builds JSON; storage and ingest hand over label views and
 * numbers. Every string goes through json_quote(), the one place deciding
 * what is escaped: '"', '\\' and C0 controls; U+2028/U+2029 too, for
 * JavaScript consumers; invalid UTF-8 becomes \ufffd; all else passes as is.
 */
#include "api/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"

void json_init(struct json *w, struct buf *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    w->first[0] = true;
}

int json_end(struct json *w)
{
    if (w->rc == 0 && w->depth != 0)
        w->rc = TIDE_EINVAL;
    return w->rc;
}

static void put(struct json *w, const char *p, size_t n)
{
    if (w->rc == 0)
        w->rc = buf_append(w->b, p, n);
}

/* Before any value: a comma unless it is the first at this depth or follows a key. */
static void before_value(struct json *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        put(w, ",", 1);
    w->first[w->depth] = false;
}

static void open_(struct json *w, char c)
{
    before_value(w);
    put(w, &c, 1);
    if (w->depth >= JSON_MAX_DEPTH) {
        if (w->rc == 0)
            w->rc = TIDE_ELIMIT;
        return;
    }
    w->depth++;
    w->first[w->depth] = true;
}

static void close_(struct json *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    put(w, &c, 1);
}

void json_obj(struct json *w)
{
    open_(w, '{');
}
void json_obj_end(struct json *w)
{
    close_(w, '}');
}
void json_arr(struct json *w)
{
    open_(w, '[');
}
void json_arr_end(struct json *w)
{
    close_(w, ']');
}

void json_key(struct json *w, const char *k)
{
    json_keyv(w, strv_c(k));
}

void json_keyv(struct json *w, struct strv k)
{
    before_value(w);
    if (w->rc == 0)
        w->rc = json_quote(w->b, k.p, k.n);
    put(w, ":", 1);
    w->after_key = true;
}

void json_str(struct json *w, struct strv s)
{
    before_value(w);
    if (w->rc == 0)
        w->rc = json_quote(w->b, s.p, s.n);
}

void json_cstr(struct json *w, const char *s)
{
    json_str(w, strv_c(s));
}

void json_i64(struct json *w, int64_t v)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    before_value(w);
    put(w, t, (size_t)n);
}

void json_f64(struct json *w, double v)
{
    char t[40];
    int n;
    if (!isfinite(v)) {
        n = snprintf(t, sizeof t, "null");
    } else {
        n = snprintf(t, sizeof t, "%.15g", v);
        if (strtod(t, NULL) != v)
            n = snprintf(t, sizeof t, "%.17g", v);
    }
    before_value(w);
    put(w, t, (size_t)n);
}

void json_u64(struct json *w, uint64_t v)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%" PRIu64, v);
    before_value(w);
    put(w, t, (size_t)n);
}

void json_bool(struct json *w, bool v)
{
    before_value(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

int json_quote(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    /* Worst case 6 bytes out per byte in; reserve once for the common case. */
    int rc = buf_reserve(b, n + 2);
    if (rc != 0)
        return rc;
    rc = buf_putc(b, '"');
    size_t i = 0;
    while (rc == 0 && i < n) {
        /* Copy a run of bytes that need no escaping in one go. */
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\')
            j++;
        if (j > i) {
            rc = buf_append(b, s + i, j - i);
            i = j;
            continue;
        }
        unsigned c = p[i];
        char esc[8];
        size_t en = 0;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            en = 2;
            i++;
        } else if (c < 0x20) {
            const char *short_ = c == '\n'   ? "\\n"
                                 : c == '\r' ? "\\r"
                                 : c == '\t' ? "\\t"
                                 : c == '\b' ? "\\b"
                                 : c == '\f' ? "\\f"
                                             : NULL;
            if (short_) {
                memcpy(esc, short_, 2);
                en = 2;
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                en = 6;
            }
            i++;
        } else {
            size_t len = utf8_seq_len(p + i, n - i);
            if (len == 0) {
                memcpy(esc, "\\ufffd", 6);
                en = 6;
                i++;
            } else if (len == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 &&
                       (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
                memcpy(esc, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                en = 6;
                i += 3;
            } else {
                rc = buf_append(b, s + i, len);
                i += len;
                continue;
            }
        }
        rc = buf_append(b, esc, en);
    }
    if (rc == 0)
        rc = buf_putc(b, '"');
    return rc;
}

void json_prom_success(struct json *w, struct buf *out)
{
    buf_reset(out);
    json_init(w, out);
    json_obj(w);
    json_key(w, "status");
    json_cstr(w, "success");
    json_key(w, "data");
}

int json_prom_error(struct buf *out, const char *type, const char *msg)
{
    buf_reset(out);
    struct json w;
    json_init(&w, out);
    json_obj(&w);
    json_key(&w, "status");
    json_cstr(&w, "error");
    json_key(&w, "errorType");
    json_cstr(&w, type);
    json_key(&w, "error");
    json_cstr(&w, msg);
    json_obj_end(&w);
    return json_end(&w);
}
