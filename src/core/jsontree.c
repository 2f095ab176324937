/* jsontree.c: a small JSON tree reader (jsontree.h) for answers read back
 * from a server: the CLI's query and import answers and error bodies, and
 * the rules' query_backend answers (rules/backend_answer.c). Objects,
 * arrays, strings (escapes decoded, \uXXXX and surrogate pairs to UTF-8),
 * numbers (JSON's grammar, checked) and literals kept as their text. Every
 * node and string lives in the caller's arena. Never reads at or past the
 * end of the input.
 */
#include "core/jsontree.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"

struct jp {
    const char *p, *end;
    struct arena *a;
    int depth;
};

static void ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static void put_utf8(char **o, unsigned cp)
{
    char *q = *o;
    if (cp < 0x80) {
        *q++ = (char)cp;
    } else if (cp < 0x800) {
        *q++ = (char)(0xc0 | (cp >> 6));
        *q++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *q++ = (char)(0xe0 | (cp >> 12));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *q++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *q++ = (char)(0xf0 | (cp >> 18));
        *q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *q++ = (char)(0x80 | (cp & 0x3f));
    }
    *o = q;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* The string whose opening quote is at j->p, decoded into the arena. */
static const char *jstring(struct jp *j, size_t *len)
{
    const char *p = j->p + 1;
    const char *q = p;
    while (q < j->end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= j->end)
        return NULL;
    char *out = arena_alloc(j->a, (size_t)(q - p) + 1); /* decoding never grows */
    if (out == NULL)
        return NULL;
    char *o = out;
    while (p < q) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(p, q, &cp) != 0)
                return NULL;
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && q - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                hex4(p + 2, q, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = c; break;
        }
    }
    *o = 0;
    *len = (size_t)(o - out);
    j->p = q + 1;
    return out;
}

/* JSON's number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static bool is_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == 0;
}

static struct jv *jvalue(struct jp *j)
{
    ws(j);
    if (j->p >= j->end || ++j->depth > JV_MAX_DEPTH)
        return NULL;
    struct jv *v = arena_alloc(j->a, sizeof *v);
    if (v == NULL)
        return NULL;
    memset(v, 0, sizeof *v);
    char c = *j->p;
    if (c == '{' || c == '[') {
        v->t = c == '{' ? JV_OBJ : JV_ARR;
        char close = c == '{' ? '}' : ']';
        j->p++;
        struct jv **tail = &v->child;
        ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            j->depth--;
            return v;
        }
        for (;;) {
            const char *key = NULL;
            if (v->t == JV_OBJ) {
                ws(j);
                size_t kn;
                if (j->p >= j->end || *j->p != '"' || (key = jstring(j, &kn)) == NULL)
                    return NULL;
                ws(j);
                if (j->p >= j->end || *j->p++ != ':')
                    return NULL;
            }
            struct jv *kid = jvalue(j);
            if (kid == NULL)
                return NULL;
            kid->key = key;
            *tail = kid;
            tail = &kid->next;
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                break;
            }
            return NULL;
        }
    } else if (c == '"') {
        v->t = JV_STR;
        if ((v->s = jstring(j, &v->n)) == NULL)
            return NULL;
    } else {
        const char *s = j->p;
        while (j->p < j->end && strchr(",]} \t\r\n", *j->p) == NULL)
            j->p++;
        v->n = (size_t)(j->p - s);
        char *t = arena_strndup(j->a, s, v->n);
        if (t == NULL || v->n == 0)
            return NULL;
        v->s = t;
        if (strcmp(t, "null") == 0)
            v->t = JV_NULL;
        else if (strcmp(t, "true") == 0 || strcmp(t, "false") == 0)
            v->t = JV_BOOL;
        else if (is_number(t))
            v->t = JV_NUM;
        else
            return NULL;
    }
    j->depth--;
    return v;
}

const struct jv *jv_member(const struct jv *o, const char *key)
{
    if (o == NULL || o->t != JV_OBJ)
        return NULL;
    for (const struct jv *k = o->child; k; k = k->next)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

const char *jv_text(const struct jv *v)
{
    return v != NULL && (v->t == JV_STR || v->t == JV_NUM) ? v->s : "";
}

const struct jv *jv_parse(const char *p, size_t n, struct arena *a)
{
    struct jp j = {.p = p, .end = p + n, .a = a};
    const struct jv *v = jvalue(&j);
    if (v == NULL)
        return NULL;
    ws(&j);
    return j.p == j.end ? v : NULL;
}
