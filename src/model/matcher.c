/* matcher.c: label matchers with anchored PCRE2 (see matcher.h), and the
 * small selector parser behind the API's match[] parameter. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/matcher.h"

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static char *dup_strv(struct strv s)
{
    char *p = malloc(s.n + 1);
    if (p == NULL)
        return NULL;
    if (s.n)
        memcpy(p, s.p, s.n);
    p[s.n] = 0;
    return p;
}

int matcher_init(struct matcher *m, enum matcher_type type, struct strv name, struct strv value,
                 struct err *e)
{
    *m = (struct matcher){.type = type};
    m->name = dup_strv(name);
    m->value = dup_strv(value);
    m->value_len = value.n;
    if (m->name == NULL || m->value == NULL) {
        matcher_fini(m);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    if (type != MATCH_RE && type != MATCH_NRE)
        return 0;
    /* Prometheus anchors: ^(?:value)$ ; PCRE2_DOTALL so '.' matches '\n' as RE2's s flag. */
    struct buf pat;
    buf_init(&pat, 0);
    if (buf_puts(&pat, "^(?:") || buf_append(&pat, value.p, value.n) || buf_puts(&pat, ")$")) {
        buf_fini(&pat);
        matcher_fini(m);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat.p, pat.len, PCRE2_DOTALL | PCRE2_UTF, &ec,
                                   &off, NULL);
    buf_fini(&pat);
    if (re == NULL) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(ec, msg, sizeof msg);
        matcher_fini(m);
        /* A long regex is cut so that the reason after it fits struct err. */
        int shown = value.n > MATCHER_RE_SHOWN ? MATCHER_RE_SHOWN : (int)value.n;
        return ERR_INVAL(e, "invalid regular expression \"%.*s%s\": %s", shown, value.p,
                         value.n > MATCHER_RE_SHOWN ? "..." : "", (char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter on failure */
    m->re = re;
    m->md = pcre2_match_data_create_from_pattern(re, NULL);
    if (m->md == NULL) {
        matcher_fini(m);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    return 0;
}

void matcher_fini(struct matcher *m)
{
    free(m->name);
    free(m->value);
    if (m->md)
        pcre2_match_data_free(m->md);
    if (m->re)
        pcre2_code_free(m->re);
    *m = (struct matcher){0};
}

bool matcher_matches(const struct matcher *m, struct strv v)
{
    struct strv want = {m->value, m->value_len};
    switch (m->type) {
    case MATCH_EQ:
        return strv_eq(v, want);
    case MATCH_NE:
        return !strv_eq(v, want);
    case MATCH_RE:
    case MATCH_NRE: {
        int rc = pcre2_match(m->re, (PCRE2_SPTR)(v.p ? v.p : ""), v.n, 0, 0, m->md, NULL);
        bool hit = rc >= 0;
        return m->type == MATCH_RE ? hit : !hit;
    }
    }
    return false;
}

bool matcher_matches_labels(const struct matcher *m, const struct label *ls, size_t n)
{
    return matcher_matches(m, labels_get(ls, n, strv_c(m->name)));
}

const char *matcher_op(enum matcher_type t)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    return ops[t];
}

/* ---- selector parser: metric{name op "value", ...} ---- */

struct sp {
    const char *s, *p;
    struct err *e;
};

static void skip_ws(struct sp *x)
{
    while (isspace((unsigned char)*x->p))
        x->p++;
}

static int ident(struct sp *x, struct strv *out, int colon_ok)
{
    const char *start = x->p;
    while (isalnum((unsigned char)*x->p) || *x->p == '_' || (colon_ok && *x->p == ':'))
        x->p++;
    if (x->p == start || isdigit((unsigned char)*start))
        return err_set_at(x->e, TIDE_EPARSE, ERR_WHERE, 1, (int)(start - x->s) + 1,
                          "expected a name at position %d", (int)(start - x->s) + 1);
    *out = (struct strv){start, (size_t)(x->p - start)};
    return 0;
}

/* A quoted string ("..." '...' or `...`) with Go escapes, unescaped into b. */
static int quoted(struct sp *x, struct buf *b)
{
    char q = *x->p;
    int col = (int)(x->p - x->s) + 1;
    if (q != '"' && q != '\'' && q != '`')
        return err_set_at(x->e, TIDE_EPARSE, ERR_WHERE, 1, col, "expected a quoted string at position %d", col);
    x->p++;
    while (*x->p && *x->p != q) {
        char c = *x->p++;
        if (c == '\\' && q != '`') {
            char n = *x->p++;
            switch (n) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\': case '"': case '\'': c = n; break;
            default:
                return err_set_at(x->e, TIDE_EPARSE, ERR_WHERE, 1, (int)(x->p - x->s),
                                  "unknown escape sequence at position %d", (int)(x->p - x->s));
            }
        }
        if (buf_putc(b, c))
            return ERR_SET(x->e, -ENOMEM, "out of memory");
    }
    if (*x->p != q)
        return err_set_at(x->e, TIDE_EPARSE, ERR_WHERE, 1, col, "unterminated string at position %d", col);
    x->p++;
    return 0;
}

int matcher_parse_selector(const char *s, struct matcher *out, size_t cap, size_t *n,
                           struct err *e)
{
    struct sp x = {s, s, e};
    struct buf val;
    buf_init(&val, 1 << 20);
    int rc = 0;
    *n = 0;
    skip_ws(&x);
    if (isalpha((unsigned char)*x.p) || *x.p == '_' || *x.p == ':') {
        struct strv name;
        rc = ident(&x, &name, 1);
        if (rc)
            goto fail;
        if (cap == 0) {
            rc = ERR_LIMIT(e, "too many matchers");
            goto fail;
        }
        rc = matcher_init(&out[(*n)++], MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), name, e);
        if (rc) {
            (*n)--;
            goto fail;
        }
        skip_ws(&x);
    }
    if (*x.p == '{') {
        x.p++;
        for (;;) {
            skip_ws(&x);
            if (*x.p == '}')
                break;
            struct strv lname;
            rc = ident(&x, &lname, 0);
            if (rc)
                goto fail;
            skip_ws(&x);
            enum matcher_type t;
            if (x.p[0] == '=' && x.p[1] == '~') { t = MATCH_RE; x.p += 2; }
            else if (x.p[0] == '!' && x.p[1] == '~') { t = MATCH_NRE; x.p += 2; }
            else if (x.p[0] == '!' && x.p[1] == '=') { t = MATCH_NE; x.p += 2; }
            else if (x.p[0] == '=') { t = MATCH_EQ; x.p += 1; }
            else {
                int col = (int)(x.p - s) + 1;
                rc = err_set_at(e, TIDE_EPARSE, ERR_WHERE, 1, col, "expected a matcher operator at position %d", col);
                goto fail;
            }
            skip_ws(&x);
            buf_reset(&val);
            rc = quoted(&x, &val);
            if (rc)
                goto fail;
            if (*n >= cap) {
                rc = ERR_LIMIT(e, "too many matchers (max %zu)", cap);
                goto fail;
            }
            rc = matcher_init(&out[*n], t, lname, (struct strv){val.p ? val.p : "", val.len}, e);
            if (rc)
                goto fail;
            (*n)++;
            skip_ws(&x);
            if (*x.p == ',') {
                x.p++;
                continue;
            }
            if (*x.p != '}') {
                int col = (int)(x.p - s) + 1;
                rc = err_set_at(e, TIDE_EPARSE, ERR_WHERE, 1, col, "expected ',' or '}' at position %d", col);
                goto fail;
            }
        }
        x.p++;
    }
    skip_ws(&x);
    if (*x.p != 0) {
        int col = (int)(x.p - s) + 1;
        rc = err_set_at(e, TIDE_EPARSE, ERR_WHERE, 1, col, "unexpected character at position %d", col);
        goto fail;
    }
    if (*n == 0) {
        rc = ERR_PARSE(e, 1, 1, "empty selector");
        goto fail;
    }
    /* Prometheus refuses selectors that match every series (all matchers match ""). */
    bool any_nonempty = false;
    for (size_t i = 0; i < *n; i++)
        if (!matcher_matches(&out[i], (struct strv){"", 0}))
            any_nonempty = true;
    if (!any_nonempty) {
        rc = ERR_PARSE(e, 1, 1, "match[] must contain at least one non-empty matcher");
        goto fail;
    }
    buf_fini(&val);
    return 0;
fail:
    buf_fini(&val);
    for (size_t i = 0; i < *n; i++)
        matcher_fini(&out[i]);
    *n = 0;
    return rc;
}
