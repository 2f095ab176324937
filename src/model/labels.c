/* labels.c: sorting, hashing, comparing and validating label sets (see
 * labels.h). labels_validate() is the single gate every ingest format passes
 * through (via batch_end_series_checked()): what it refuses never reaches
 * storage, so everything stored is valid UTF-8 with Prometheus names. */
#include "model/labels.h"

#include "core/hash.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* Insertion sort: label sets are short (typically < 20) and this is stable. */
void labels_sort(struct label *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct label x = v[i];
        size_t j = i;
        while (j > 0 && strv_cmp(v[j - 1].name, x.name) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

size_t labels_normalize(struct label *v, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].value.n == 0)
            continue;
        if (out > 0 && strv_eq(v[out - 1].name, v[i].name))
            v[out - 1] = v[i];
        else
            v[out++] = v[i];
    }
    return out;
}

static size_t put_len(char *dst, size_t at, size_t cap, size_t n)
{
    do {
        uint8_t c = (uint8_t)(n & 0x7f);
        n >>= 7;
        if (n)
            c |= 0x80;
        if (at < cap)
            dst[at] = (char)c;
        at++;
    } while (n);
    return at;
}

static size_t put_str(char *dst, size_t at, size_t cap, struct strv s)
{
    at = put_len(dst, at, cap, s.n);
    if (s.n && at + s.n <= cap)
        memcpy(dst + at, s.p, s.n);
    return at + s.n;
}

size_t labels_key(const struct label *v, size_t n, char *dst, size_t cap)
{
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        at = put_str(dst, at, cap, v[i].name);
        at = put_str(dst, at, cap, v[i].value);
    }
    return at;
}

/* One XXH3 pass over the canonical key (labels_key), built on the stack for
 * the usual short sets: the hash runs once per appended series. */
uint64_t labels_hash(const struct label *v, size_t n)
{
    char stack[2048];
    size_t len = labels_key(v, n, stack, sizeof stack);
    if (len <= sizeof stack)
        return hash_bytes(stack, len);
    /* A long set: the same bytes fed in pieces give the same hash. */
    struct hash_stream hs;
    hash_stream_init(&hs);
    for (size_t i = 0; i < n; i++) {
        const struct strv parts[2] = {v[i].name, v[i].value};
        for (int k = 0; k < 2; k++) {
            char lenb[10];
            size_t ln = put_len(lenb, 0, sizeof lenb, parts[k].n);
            hash_stream_update(&hs, lenb, ln);
            hash_stream_update(&hs, parts[k].p, parts[k].n);
        }
    }
    return hash_stream_digest(&hs);
}

int labels_cmp(const struct label *a, size_t na, const struct label *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        int c = strv_cmp(a[i].name, b[i].name);
        if (c != 0)
            return c;
        c = strv_cmp(a[i].value, b[i].value);
        if (c != 0)
            return c;
    }
    return na < nb ? -1 : na > nb ? 1 : 0;
}

struct strv labels_get(const struct label *v, size_t n, struct strv name)
{
    for (size_t i = 0; i < n; i++)
        if (strv_eq(v[i].name, name))
            return v[i].value;
    return (struct strv){NULL, 0};
}

#define NAME_BOTH (LABELS_CHAR_METRIC | LABELS_CHAR_LABEL)
#define DIGIT (NAME_BOTH | LABELS_CHAR_DIGIT)
/* Kept in rows by hand. */
/* clang-format off */
const unsigned char labels_name_chars[256] = {
    ['_'] = NAME_BOTH, [':'] = LABELS_CHAR_METRIC,
    ['0'] = DIGIT, ['1'] = DIGIT, ['2'] = DIGIT, ['3'] = DIGIT, ['4'] = DIGIT,
    ['5'] = DIGIT, ['6'] = DIGIT, ['7'] = DIGIT, ['8'] = DIGIT, ['9'] = DIGIT,
#define L2(a, b) [a] = NAME_BOTH, [b] = NAME_BOTH
    L2('a', 'A'), L2('b', 'B'), L2('c', 'C'), L2('d', 'D'), L2('e', 'E'), L2('f', 'F'),
    L2('g', 'G'), L2('h', 'H'), L2('i', 'I'), L2('j', 'J'), L2('k', 'K'), L2('l', 'L'),
    L2('m', 'M'), L2('n', 'N'), L2('o', 'O'), L2('p', 'P'), L2('q', 'Q'), L2('r', 'R'),
    L2('s', 'S'), L2('t', 'T'), L2('u', 'U'), L2('v', 'V'), L2('w', 'W'), L2('x', 'X'),
    L2('y', 'Y'), L2('z', 'Z'),
#undef L2
};
/* clang-format on */

/* Non-empty, every byte of class `cls`, and no digit first. */
static int name_ok(struct strv s, unsigned cls)
{
    const unsigned char *p = (const unsigned char *)s.p;
    if (s.n == 0 || (labels_name_chars[p[0]] & LABELS_CHAR_DIGIT))
        return 0;
    for (size_t i = 0; i < s.n; i++)
        if (!(labels_name_chars[p[i]] & cls))
            return 0;
    return 1;
}

int labels_valid_metric_name(struct strv s)
{
    return name_ok(s, LABELS_CHAR_METRIC);
}

int labels_valid_label_name(struct strv s)
{
    return name_ok(s, LABELS_CHAR_LABEL);
}

/* s quoted for an error message: at most 32 bytes of it, '"' and '\\'
 * escaped, bytes that are controls or not valid UTF-8 as \xNN, "..." after
 * a cut. dst holds at least 160 bytes. */
static const char *quote(char *dst, size_t cap, struct strv s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.p;
    size_t k = 0, i = 0;
    dst[k++] = '"';
    while (i < s.n && i < 32 && k + 8 < cap) {
        size_t len = utf8_seq_len(p + i, s.n - i);
        if (len > 1) {
            memcpy(dst + k, p + i, len);
            k += len;
            i += len;
            continue;
        }
        unsigned c = p[i++];
        if (len == 1 && c >= 0x20 && c != 0x7f) {
            if (c == '"' || c == '\\')
                dst[k++] = '\\';
            dst[k++] = (char)c;
        } else {
            dst[k++] = '\\';
            dst[k++] = 'x';
            dst[k++] = hex[c >> 4];
            dst[k++] = hex[c & 15];
        }
    }
    if (i < s.n && k + 4 < cap) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k++] = '"';
    dst[k] = 0;
    return dst;
}

static int refuse(struct err *e, const char *what, struct strv s, const char *why)
{
    char q[160];
    return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "%s %s%s", what, quote(q, sizeof q, s), why);
}

int labels_validate(const struct label *v, size_t n, struct err *e)
{
    bool named = false;
    for (size_t i = 0; i < n; i++) {
        struct strv name = v[i].name, value = v[i].value;
        if (name.n == 0)
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "empty label name");
        if (!labels_valid_label_name(name))
            return refuse(e, "invalid label name", name,
                          utf8_valid(name.p, name.n) ? "" : " (not valid UTF-8)");
        if (i > 0 && strv_eq(v[i - 1].name, name))
            return refuse(e, "duplicate label name", name, "");
        bool is_name = strv_eq(name, STRV_LIT(LABEL_METRIC_NAME));
        if (!is_name && !utf8_valid(value.p, value.n))
            return refuse(e, "value of label", name, " is not valid UTF-8");
        if (!is_name || value.n == 0)
            continue;
        if (!labels_valid_metric_name(value))
            return refuse(e, "invalid metric name", value,
                          utf8_valid(value.p, value.n) ? "" : " (not valid UTF-8)");
        named = true;
    }
    if (!named)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "missing metric name (label __name__)");
    return 0;
}
