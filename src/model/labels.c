/* labels.c: sorting, hashing and comparing label sets (see labels.h). */
#include "model/labels.h"

#include "core/hash.h"

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

/* One XXH3 pass over "name\xffvalue\xff..." (built on the stack for the usual
 * short sets) instead of three seeded calls per label: the hash runs once
 * per appended series, so it is on the ingest hot path. */
uint64_t labels_hash(const struct label *v, size_t n)
{
    char stack[2048];
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += v[i].name.n + v[i].value.n + 2;
    if (len > sizeof stack) {
        uint64_t h = 0x9e3779b97f4a7c15ULL;
        static const char sep = (char)0xff;
        for (size_t i = 0; i < n; i++) {
            h = hash_combine(h, v[i].name.p, v[i].name.n);
            h = hash_combine(h, &sep, 1);
            h = hash_combine(h, v[i].value.p, v[i].value.n);
        }
        return h;
    }
    char *o = stack;
    for (size_t i = 0; i < n; i++) {
        if (v[i].name.n)
            memcpy(o, v[i].name.p, v[i].name.n);
        o += v[i].name.n;
        *o++ = (char)0xff;
        if (v[i].value.n)
            memcpy(o, v[i].value.p, v[i].value.n);
        o += v[i].value.n;
        *o++ = (char)0xff;
    }
    return hash_bytes(stack, len);
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

static int name_ok(struct strv s, int colon_ok)
{
    if (s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

int labels_valid_metric_name(struct strv s)
{
    return name_ok(s, 1);
}

int labels_valid_label_name(struct strv s)
{
    return name_ok(s, 0);
}
