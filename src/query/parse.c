/* parse.c: PromQL text -> syntax tree (ast.h), the second stage of query/
 * after lex.c and before eval.c.
 *
 * A recursive-descent parser with precedence climbing that accepts exactly
 * Prometheus' grammar (generated_parser.y): binary operators from loosest to
 * tightest or < and/unless < comparisons < + - < * / % atan2 < ^ (right
 * associative); unary +/- binds like * (so -a^b is -(a^b)); the postfix
 * forms [range], [range:step], offset and @ bind tightest and apply to the
 * expression on their left. Keywords double as metric and label names where
 * Prometheus allows it.
 *
 * Errors: the first syntax error stops the parse (longjmp back to
 * promql_parse; everything is in the arena, matchers are tracked in
 * out->sels). When the syntax is fine, check() walks the tree in the order of
 * Prometheus' checkAST and reports the first type error. Messages and
 * positions are Prometheus': "1:5: parse error: unexpected ...". */
#include "query/ast.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/lex.h"

enum { PARSE_MAX_DEPTH = 2000 }; /* about 2 MB of stack when evaluated */

struct parser {
    struct lexer lx;
    struct token tok;   /* current token */
    struct token ahead; /* one token of lookahead, when has_ahead */
    bool has_ahead;
    struct arena *a;
    const char *s;
    size_t n;
    struct err *e;
    struct promql_expr *out;
    size_t cap_sels;
    int depth;
    jmp_buf jb;
};

/* ---- errors ---- */

static void fail_at(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
    int line = 1;
    size_t last_nl = (size_t)-1;
    if (pos > p->n)
        pos = p->n;
    for (size_t i = 0; i < pos; i++) {
        if (p->s[i] == '\n') {
            line++;
            last_nl = i;
        }
    }
    int col = (int)(pos - last_nl); /* 1-based, as Prometheus */
    char msg[sizeof p->e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set_at(p->e, TIDE_EPARSE, ERR_WHERE, line, col, "%d:%d: parse error: %s", line, col, msg);
    longjmp(p->jb, 1);
}

static void fail_nomem(struct parser *p) __attribute__((noreturn));
static void fail_nomem(struct parser *p)
{
    ERR_LIMIT(p->e, "query too large: out of query memory while parsing");
    longjmp(p->jb, 2);
}

/* Go's %q of a string; with max_runes > 0 like %.Nq (truncated first). */
static void go_quote(char *dst, size_t cap, const char *s, size_t n, size_t max_runes)
{
    struct buf b;
    buf_init(&b, cap > 1 ? cap - 1 : 1);
    buf_putc(&b, '"');
    size_t runes = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (max_runes && (c & 0xC0) != 0x80 && runes++ == max_runes)
            break;
        switch (c) {
        case '"': buf_puts(&b, "\\\""); break;
        case '\\': buf_puts(&b, "\\\\"); break;
        case '\n': buf_puts(&b, "\\n"); break;
        case '\t': buf_puts(&b, "\\t"); break;
        case '\r': buf_puts(&b, "\\r"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                buf_printf(&b, "\\x%02x", c);
            else
                buf_putc(&b, (char)c);
        }
    }
    buf_putc(&b, '"');
    snprintf(dst, cap, "%s", b.p ? b.p : "\"\"");
    buf_fini(&b);
}

static const char *tok_text(enum tok t)
{
    switch (t) {
    case T_LPAREN: return "(";
    case T_RPAREN: return ")";
    case T_LBRACE: return "{";
    case T_RBRACE: return "}";
    case T_LBRACKET: return "[";
    case T_RBRACKET: return "]";
    case T_COMMA: return ",";
    case T_EQL: return "=";
    case T_COLON: return ":";
    default: return NULL;
    }
}

/* Prometheus' Item.desc(): `identifier "foo"`, `<op:+>`, `"("`, `end of input`. */
static void tok_desc(const struct token *t, char *dst, size_t cap)
{
    char q[96];
    if (t->t == T_EOF) {
        snprintf(dst, cap, "end of input");
        return;
    }
    if (tok_text(t->t)) {
        snprintf(dst, cap, "\"%s\"", tok_text(t->t));
        return;
    }
    if (tok_is_keyword(t->t) && t->t != T_START && t->t != T_END) {
        snprintf(dst, cap, "<%.*s>", (int)t->n, t->p);
        return;
    }
    if (tok_is_operator(t->t) || t->t == T_EQL_REGEX || t->t == T_NEQ_REGEX) {
        snprintf(dst, cap, "<op:%.*s>", (int)t->n, t->p);
        return;
    }
    if (tok_is_aggr(t->t)) {
        snprintf(dst, cap, "<aggr:%.*s>", (int)t->n, t->p);
        return;
    }
    if (t->t == T_START || t->t == T_END) {
        go_quote(q, sizeof q, t->p, t->n, 0);
        snprintf(dst, cap, "%s", q);
        return;
    }
    const char *kind = "error";
    switch (t->t) {
    case T_IDENT: kind = "identifier"; break;
    case T_METRIC_IDENT: kind = "metric identifier"; break;
    case T_STRING: kind = "string"; break;
    case T_NUMBER: kind = "number"; break;
    case T_DURATION: kind = "duration"; break;
    default: break;
    }
    if (t->t == T_IDENT || t->t == T_METRIC_IDENT || t->n <= 10) {
        go_quote(q, sizeof q, t->p, t->n, 0);
        snprintf(dst, cap, "%s %s", kind, q);
    } else {
        go_quote(q, sizeof q, t->p, t->n, 10);
        snprintf(dst, cap, "%s %s...", kind, q);
    }
}

static void unexpected(struct parser *p, const struct token *t, const char *context,
                       const char *expected) __attribute__((noreturn));
static void unexpected(struct parser *p, const struct token *t, const char *context,
                       const char *expected)
{
    char d[128];
    tok_desc(t, d, sizeof d);
    if (context && expected)
        fail_at(p, t->pos, "unexpected %s in %s, expected %s", d, context, expected);
    if (context)
        fail_at(p, t->pos, "unexpected %s in %s", d, context);
    fail_at(p, t->pos, "unexpected %s", d);
}

/* ---- tokens ---- */

static void fetch(struct parser *p, struct token *t)
{
    lex_next(&p->lx, t);
    if (t->t == T_ERROR)
        fail_at(p, t->pos, "%.*s", (int)t->n, t->p);
}

static void next(struct parser *p)
{
    if (p->has_ahead) {
        p->tok = p->ahead;
        p->has_ahead = false;
        return;
    }
    fetch(p, &p->tok);
}

static const struct token *peek(struct parser *p)
{
    if (!p->has_ahead) {
        fetch(p, &p->ahead);
        p->has_ahead = true;
    }
    return &p->ahead;
}

/* ---- allocation ---- */

static void *alloc(struct parser *p, size_t n)
{
    void *x = arena_alloc(p->a, n);
    if (x == NULL)
        fail_nomem(p);
    memset(x, 0, n);
    return x;
}

static struct ast_node *node_new(struct parser *p, enum ast_kind k, size_t pos, size_t end)
{
    struct ast_node *n = alloc(p, sizeof *n);
    n->kind = k;
    n->depth = 1;
    n->pos = (uint32_t)pos;
    n->end = (uint32_t)end;
    return n;
}

static struct strv strv_dup(struct parser *p, const char *s, size_t n)
{
    char *d = arena_strndup(p->a, s, n);
    if (d == NULL)
        fail_nomem(p);
    return (struct strv){d, n};
}

/* Record that `child` hangs below `n`. Every recursive walk of the tree
 * (check, print, eval) is bounded by this depth, also for long chains such
 * as a + b + c + ... that the parser builds without recursing. */
static void deepen(struct parser *p, struct ast_node *n, const struct ast_node *child)
{
    if (child && child->depth + 1 > n->depth)
        n->depth = child->depth + 1;
    if (n->depth > PARSE_MAX_DEPTH)
        fail_at(p, n->pos, "expression nested too deeply");
}

/* A growable array of pointers in the arena (doubling, old copies abandoned). */
static void push_ptr(struct parser *p, void ***v, size_t *n, size_t *cap, void *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        void **nv = alloc(p, nc * sizeof *nv);
        if (*n)
            memcpy(nv, *v, *n * sizeof *nv);
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
}

/* ---- literals ---- */

/* Go's strconv.ParseInt(s, 0, 64) then ParseFloat(s, 64), as Prometheus'
 * number(). Returns false on a syntax or range error. */
static bool parse_cstr(const char *buf, size_t n, double *out);

static bool parse_number(const char *s, size_t n, double *out)
{
    char small[128];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (n == 0 || buf == NULL)
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    bool ok = parse_cstr(buf, n, out);
    if (buf != small)
        free(buf);
    return ok;
}

static bool parse_cstr(const char *buf, size_t n, double *out)
{
    if (strcasecmp(buf, "inf") == 0) {
        *out = INFINITY;
        return true;
    }
    if (strcasecmp(buf, "nan") == 0) {
        *out = NAN;
        return true;
    }
    /* Integers: decimal, 0-prefixed octal, 0x hex, within int64. */
    bool is_hex = n > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X');
    bool all_int = true;
    for (size_t i = is_hex ? 2 : 0; i < n; i++) {
        int c = (unsigned char)buf[i];
        if (is_hex ? !isxdigit(c) : !(c >= '0' && c <= '9'))
            all_int = false;
    }
    if (all_int) {
        int base = 10;
        bool octal_ok = true;
        if (is_hex) {
            base = 16;
        } else if (buf[0] == '0' && n > 1) {
            base = 8;
            for (size_t i = 1; i < n; i++)
                if (buf[i] > '7')
                    octal_ok = false;
        }
        if (octal_ok) {
            errno = 0;
            char *end;
            long long v = strtoll(buf, &end, base);
            if (errno == 0 && *end == 0) {
                *out = (double)v;
                return true;
            }
        }
    }
    if (is_hex)
        return false; /* a hex float needs a 'p' exponent, which PromQL never lexes */
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end != 0 || end == buf)
        return false;
    if (errno == ERANGE && isinf(v))
        return false;
    *out = v;
    return true;
}

static double number_tok(struct parser *p, const struct token *t)
{
    double v;
    if (!parse_number(t->p, t->n, &v)) {
        char buf[128];
        snprintf(buf, sizeof buf, "%.*s", (int)t->n, t->p);
        errno = 0;
        double tmp = strtod(buf, NULL);
        bool range = errno == ERANGE && isinf(tmp);
        fail_at(p, t->pos, "error parsing number: strconv.ParseFloat: parsing \"%.*s\": %s",
                (int)t->n, t->p, range ? "value out of range" : "invalid syntax");
    }
    return v;
}

/* Prometheus' parseDuration (model.ParseDuration, then > 0). */
static int64_t duration_tok(struct parser *p, const struct token *t)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000},
        {"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000}, {"m", 60LL * 1000},
        {"s", 1000}, {"ms", 1},
    };
    const char *s = t->p;
    size_t n = t->n, i = 0;
    size_t next_unit = 0;
    int64_t total_ms = 0;
    bool overflow = false;
    if (n == 1 && s[0] == '0')
        goto zero;
    if (n == 0)
        goto bad;
    while (i < n) {
        size_t d0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d0)
            goto bad;
        size_t u0 = i;
        while (i < n && !(s[i] >= '0' && s[i] <= '9'))
            i++;
        size_t ulen = i - u0;
        size_t k = next_unit;
        while (k < sizeof units / sizeof units[0] &&
               !(strlen(units[k].unit) == ulen && memcmp(units[k].unit, s + u0, ulen) == 0))
            k++;
        if (k == sizeof units / sizeof units[0])
            goto bad;
        next_unit = k + 1;
        /* The value must fit time.Duration (nanoseconds in int64). */
        int64_t max_n = INT64_MAX / (units[k].ms * 1000000);
        int64_t v = 0;
        for (size_t j = d0; j < u0; j++) {
            if (v > (INT64_MAX - 9) / 10) {
                overflow = true;
                break;
            }
            v = v * 10 + (s[j] - '0');
        }
        if (overflow || v > max_n) {
            overflow = true;
            continue;
        }
        if (total_ms > INT64_MAX / 1000000 - v * units[k].ms)
            overflow = true;
        else
            total_ms += v * units[k].ms;
    }
    if (overflow)
        fail_at(p, t->pos, "duration out of range");
    if (total_ms == 0)
        goto zero;
    return total_ms;
zero:
    fail_at(p, t->pos, "duration must be greater than 0");
bad:
    fail_at(p, t->pos, "not a valid duration string: \"%.*s\"", (int)n, s);
}

static void put_utf8(char *d, size_t *j, uint32_t r)
{
    if (r < 0x80) {
        d[(*j)++] = (char)r;
    } else if (r < 0x800) {
        d[(*j)++] = (char)(0xC0 | (r >> 6));
        d[(*j)++] = (char)(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
        d[(*j)++] = (char)(0xE0 | (r >> 12));
        d[(*j)++] = (char)(0x80 | ((r >> 6) & 0x3F));
        d[(*j)++] = (char)(0x80 | (r & 0x3F));
    } else {
        d[(*j)++] = (char)(0xF0 | (r >> 18));
        d[(*j)++] = (char)(0x80 | ((r >> 12) & 0x3F));
        d[(*j)++] = (char)(0x80 | ((r >> 6) & 0x3F));
        d[(*j)++] = (char)(0x80 | (r & 0x3F));
    }
}

/* Unquote a string token the lexer has validated. */
static struct strv unquote(struct parser *p, const struct token *t)
{
    const char *s = t->p + 1;
    size_t n = t->n - 2;
    char q = t->p[0];
    if (q == '`')
        return strv_dup(p, s, n);
    char *d = alloc(p, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            d[j++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 'a': d[j++] = '\a'; break;
        case 'b': d[j++] = '\b'; break;
        case 'f': d[j++] = '\f'; break;
        case 'n': d[j++] = '\n'; break;
        case 'r': d[j++] = '\r'; break;
        case 't': d[j++] = '\t'; break;
        case 'v': d[j++] = '\v'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            unsigned v = 0;
            for (int k = 0; k < 3; k++)
                v = v * 8 + (unsigned)(s[i + k] - '0');
            i += 2;
            d[j++] = (char)v;
            break;
        }
        case 'x': case 'u': case 'U': {
            int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (int k = 1; k <= digits; k++) {
                char h = s[i + k];
                v = v * 16 + (uint32_t)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            }
            i += (size_t)digits;
            if (c == 'x')
                d[j++] = (char)v;
            else
                put_utf8(d, &j, v); /* \u and \U need at most 4 bytes for 6 chars */
            break;
        }
        default:
            d[j++] = c; /* \\ and the quote */
        }
    }
    d[j] = 0;
    return (struct strv){d, j};
}

/* ---- grammar ---- */

static struct ast_node *expr(struct parser *p, int min_prec);

/* Precedence of a binary operator token, 0 when it is none. */
static int binop_prec(enum tok t, enum ast_op *op)
{
    switch (t) {
    case T_LOR: *op = OP_OR; return 1;
    case T_LAND: *op = OP_AND; return 2;
    case T_LUNLESS: *op = OP_UNLESS; return 2;
    case T_EQLC: *op = OP_EQ; return 3;
    case T_NEQ: *op = OP_NE; return 3;
    case T_LSS: *op = OP_LT; return 3;
    case T_LTE: *op = OP_LE; return 3;
    case T_GTR: *op = OP_GT; return 3;
    case T_GTE: *op = OP_GE; return 3;
    case T_ADD: *op = OP_ADD; return 4;
    case T_SUB: *op = OP_SUB; return 4;
    case T_MUL: *op = OP_MUL; return 5;
    case T_DIV: *op = OP_DIV; return 5;
    case T_MOD: *op = OP_MOD; return 5;
    case T_ATAN2: *op = OP_ATAN2; return 5;
    case T_POW: *op = OP_POW; return 6;
    default: return 0;
    }
}

enum { PREC_MUL = 5, PREC_POW = 6 };

/* Tokens Prometheus accepts as a label name in by/on/group lists. */
static bool tok_maybe_label(enum tok t)
{
    return t == T_IDENT || t == T_METRIC_IDENT || tok_is_aggr(t) || tok_is_keyword(t) ||
           t == T_LAND || t == T_LOR || t == T_LUNLESS || t == T_ATAN2;
}

/* Tokens Prometheus accepts as a metric name (metric_identifier). */
static bool tok_metric_ident(enum tok t)
{
    return t == T_IDENT || t == T_METRIC_IDENT || tok_is_aggr(t) || t == T_BY ||
           t == T_WITHOUT || t == T_LAND || t == T_LOR || t == T_LUNLESS || t == T_OFFSET ||
           t == T_START || t == T_END;
}

/* After an element of a list: step over a ",", or stay at `close`; anything
 * else is an error in `context`, expecting `expected`. */
static void list_sep(struct parser *p, enum tok close, const char *context, const char *expected)
{
    if (p->tok.t == T_COMMA) {
        next(p);
        return;
    }
    if (p->tok.t != close)
        unexpected(p, &p->tok, context, expected);
}

/* "(a, b)" as by/without/on/ignoring/group_x take it. */
static void grouping_labels(struct parser *p, struct strv **out, size_t *nout)
{
    if (p->tok.t != T_LPAREN)
        unexpected(p, &p->tok, "grouping opts", "\"(\"");
    next(p);
    void **v = NULL;
    size_t n = 0, cap = 0;
    while (p->tok.t != T_RPAREN) {
        struct strv name = {p->tok.p, p->tok.n};
        if (!tok_maybe_label(p->tok.t) || !labels_valid_label_name(name))
            unexpected(p, &p->tok, "grouping opts", "label");
        struct strv *l = alloc(p, sizeof *l);
        *l = strv_dup(p, p->tok.p, p->tok.n);
        push_ptr(p, &v, &n, &cap, l);
        next(p);
        list_sep(p, T_RPAREN, "grouping opts", "\",\" or \")\"");
    }
    next(p);
    struct strv *labels = alloc(p, (n ? n : 1) * sizeof *labels);
    for (size_t i = 0; i < n; i++)
        labels[i] = *(struct strv *)v[i];
    *out = labels;
    *nout = n;
}

/* "(args)" of a call or an aggregation; the current token is "(". */
static void call_args(struct parser *p, struct ast_node ***args, size_t *nargs)
{
    next(p);
    void **v = NULL;
    size_t n = 0, cap = 0;
    if (p->tok.t != T_RPAREN) {
        for (;;) {
            push_ptr(p, &v, &n, &cap, expr(p, 1));
            if (p->tok.t == T_RPAREN)
                break;
            if (p->tok.t != T_COMMA)
                unexpected(p, &p->tok, NULL, NULL);
            size_t comma = p->tok.pos;
            next(p);
            if (p->tok.t == T_RPAREN)
                fail_at(p, comma, "trailing commas not allowed in function call args");
        }
    }
    next(p);
    *args = (struct ast_node **)v;
    *nargs = n;
}

static void add_selector(struct parser *p, struct ast_node *n)
{
    void **v = (void **)p->out->sels;
    push_ptr(p, &v, &p->out->nsels, &p->cap_sels, n);
    p->out->sels = (struct ast_node **)v;
}

/* Room in s->matchers (capacity *cap) for one more matcher. The arena
 * array is copied when it grows; the old one stays until the parse ends. */
static void matcher_room(struct parser *p, struct ast_selector *s, size_t *cap)
{
    if (s->nmatchers < *cap)
        return;
    size_t nc = *cap ? *cap * 2 : 4;
    struct matcher *nm = alloc(p, nc * sizeof *nm);
    if (s->nmatchers)
        memcpy(nm, s->matchers, s->nmatchers * sizeof *nm);
    s->matchers = nm;
    *cap = nc;
}

/* metric_identifier? label_matchers?; the current token is the name or "{". */
static struct ast_node *selector(struct parser *p)
{
    size_t pos = p->tok.pos;
    struct ast_node *n = node_new(p, AST_SELECTOR, pos, pos);
    n->type = PROMQL_VECTOR;
    struct ast_selector *s = &n->u.sel;
    s->slot = -1;
    add_selector(p, n);
    size_t cap = 0;
    if (p->tok.t != T_LBRACE) {
        s->name = strv_dup(p, p->tok.p, p->tok.n);
        n->end = (uint32_t)(p->tok.pos + p->tok.n);
        next(p);
    }
    /* Matchers are counted into nmatchers as they are compiled, so that
     * promql_expr_fini() frees exactly those. */
    if (p->tok.t == T_LBRACE) {
        next(p);
        while (p->tok.t != T_RBRACE) {
            if (p->tok.t != T_IDENT)
                unexpected(p, &p->tok, "label matching", "identifier or \"}\"");
            struct token name = p->tok;
            next(p);
            enum matcher_type mt;
            switch (p->tok.t) {
            case T_EQL: mt = MATCH_EQ; break;
            case T_NEQ: mt = MATCH_NE; break;
            case T_EQL_REGEX: mt = MATCH_RE; break;
            case T_NEQ_REGEX: mt = MATCH_NRE; break;
            default: unexpected(p, &p->tok, "label matching", "label matching operator");
            }
            next(p);
            if (p->tok.t != T_STRING)
                unexpected(p, &p->tok, "label matching", "string");
            struct strv val = unquote(p, &p->tok);
            matcher_room(p, s, &cap);
            struct err me = {0};
            struct strv mname = {name.p, name.n};
            if (matcher_init(&s->matchers[s->nmatchers], mt, mname, val, &me) != 0) {
                if (me.code == -ENOMEM)
                    fail_nomem(p);
                fail_at(p, name.pos, "%s", me.msg);
            }
            s->nmatchers++;
            next(p);
            list_sep(p, T_RBRACE, "label matching", "\",\" or \"}\"");
        }
        n->end = (uint32_t)(p->tok.pos + 1);
        next(p);
    }
    if (s->name.p) {
        /* Prometheus appends the name matcher last. */
        matcher_room(p, s, &cap);
        struct err me = {0};
        struct strv mn = STRV_LIT(LABEL_METRIC_NAME);
        if (matcher_init(&s->matchers[s->nmatchers], MATCH_EQ, mn, s->name, &me) != 0)
            fail_nomem(p);
        s->nmatchers++;
    }
    return n;
}

static struct ast_node *aggregation(struct parser *p)
{
    struct token op = p->tok;
    struct ast_node *n = node_new(p, AST_AGGR, op.pos, op.pos);
    n->type = PROMQL_VECTOR;
    struct ast_aggr *ag = &n->u.aggr;
    ag->op = (enum aggr_op)(op.t - T_SUM);
    next(p);
    bool modifier_first = false;
    if (p->tok.t == T_BY || p->tok.t == T_WITHOUT) {
        ag->without = p->tok.t == T_WITHOUT;
        ag->has_grouping = true;
        next(p);
        grouping_labels(p, &ag->grouping, &ag->ngrouping);
        modifier_first = true;
    }
    if (p->tok.t != T_LPAREN)
        unexpected(p, &p->tok, modifier_first ? NULL : "aggregation", NULL);
    struct ast_node **args;
    size_t nargs;
    call_args(p, &args, &nargs);
    n->end = (uint32_t)p->lx.pos; /* approximately past ")" */
    if (!modifier_first && (p->tok.t == T_BY || p->tok.t == T_WITHOUT)) {
        ag->without = p->tok.t == T_WITHOUT;
        ag->has_grouping = true;
        next(p);
        grouping_labels(p, &ag->grouping, &ag->ngrouping);
    }
    if (nargs == 0)
        fail_at(p, op.pos, "no arguments for aggregate expression provided");
    size_t want = aggr_op_has_param(ag->op) ? 2 : 1;
    if (nargs != want)
        fail_at(p, op.pos,
                "wrong number of arguments for aggregate expression provided, expected %zu, "
                "got %zu", want, nargs);
    if (want == 2)
        ag->param = args[0];
    ag->expr = args[want - 1];
    deepen(p, n, ag->param);
    deepen(p, n, ag->expr);
    return n;
}

/* Can `t` follow a complete expression? Decides whether an aggregator
 * keyword not followed by "(" or by/without is a metric name. */
static bool can_follow_expr(enum tok t)
{
    enum ast_op op;
    return t == T_EOF || t == T_RPAREN || t == T_COMMA || t == T_LBRACKET || t == T_OFFSET ||
           t == T_AT || t == T_LBRACE || t == T_RBRACE || t == T_BY || t == T_WITHOUT ||
           binop_prec(t, &op) > 0;
}

static struct ast_node *primary(struct parser *p)
{
    struct token t = p->tok;
    struct ast_node *n;
    switch (t.t) {
    case T_NUMBER:
        n = node_new(p, AST_NUMBER, t.pos, t.pos + t.n);
        n->type = PROMQL_SCALAR;
        n->u.num = number_tok(p, &t);
        next(p);
        return n;
    case T_STRING:
        n = node_new(p, AST_STRING, t.pos, t.pos + t.n);
        n->type = PROMQL_STRING;
        n->u.str = unquote(p, &t);
        next(p);
        return n;
    case T_LPAREN: {
        next(p);
        struct ast_node *inner = expr(p, 1);
        if (p->tok.t != T_RPAREN)
            unexpected(p, &p->tok, NULL, NULL);
        n = node_new(p, AST_PAREN, t.pos, p->tok.pos + 1);
        n->type = inner->type;
        n->u.paren = inner;
        deepen(p, n, inner);
        next(p);
        return n;
    }
    case T_LBRACE:
        return selector(p);
    case T_IDENT:
        if (peek(p)->t == T_LPAREN) {
            n = node_new(p, AST_CALL, t.pos, t.pos);
            next(p); /* the name; call_args() starts at "(" */
            call_args(p, &n->u.call.args, &n->u.call.nargs);
            n->end = (uint32_t)p->lx.pos;
            const struct promql_func *f = promql_func_lookup(t.p, t.n);
            if (f == NULL)
                fail_at(p, t.pos, "unknown function with name \"%.*s\"", (int)t.n, t.p);
            n->u.call.func = f;
            n->type = f->ret;
            for (size_t i = 0; i < n->u.call.nargs; i++)
                deepen(p, n, n->u.call.args[i]);
            return n;
        }
        return selector(p);
    default:
        break;
    }
    if (tok_is_aggr(t.t)) {
        const struct token *a = peek(p);
        if (a->t == T_LPAREN || a->t == T_BY || a->t == T_WITHOUT)
            return aggregation(p);
        if (!can_follow_expr(a->t))
            unexpected(p, a, "aggregation", NULL);
        return selector(p);
    }
    if (tok_metric_ident(t.t))
        return selector(p);
    unexpected(p, &t, NULL, NULL);
}

/* The selector that carries offset/@ for node n, or NULL. */
static struct ast_selector *mod_selector(struct ast_node *n)
{
    if (n->kind == AST_SELECTOR)
        return &n->u.sel;
    if (n->kind == AST_MATRIX)
        return &n->u.mat.vs->u.sel;
    return NULL;
}

static struct ast_node *postfix(struct parser *p, struct ast_node *n)
{
    for (;;) {
        struct token t = p->tok;
        if (t.t == T_LBRACKET) {
            next(p);
            if (p->tok.t != T_DURATION)
                unexpected(p, &p->tok, "subquery selector", "duration");
            int64_t range = duration_tok(p, &p->tok);
            next(p);
            if (p->tok.t == T_RBRACKET) {
                const char *msg = NULL;
                if (n->kind != AST_SELECTOR)
                    msg = "ranges only allowed for vector selectors";
                else if (n->u.sel.offset_ms != 0)
                    msg = "no offset modifiers allowed before range";
                else if (n->u.sel.at == AT_TIME)
                    msg = "no @ modifiers allowed before range";
                if (msg)
                    fail_at(p, t.pos, "%s", msg);
                struct ast_node *m = node_new(p, AST_MATRIX, n->pos, p->tok.pos + 1);
                m->type = PROMQL_MATRIX;
                m->u.mat.vs = n;
                m->u.mat.range_ms = range;
                deepen(p, m, n);
                n = m;
                next(p);
                continue;
            }
            if (p->tok.t != T_COLON)
                unexpected(p, &p->tok, "subquery or range", "\":\" or \"]\"");
            next(p);
            int64_t step = 0;
            bool has_step = false;
            if (p->tok.t == T_DURATION) {
                step = duration_tok(p, &p->tok);
                has_step = true;
                next(p);
            }
            if (p->tok.t != T_RBRACKET)
                unexpected(p, &p->tok, "subquery selector",
                           has_step ? "\"]\"" : "duration or \"]\"");
            struct ast_node *sq = node_new(p, AST_SUBQUERY, n->pos, p->tok.pos + 1);
            sq->type = PROMQL_MATRIX;
            sq->u.sub.expr = n;
            sq->u.sub.range_ms = range;
            sq->u.sub.step_ms = step;
            deepen(p, sq, n);
            n = sq;
            next(p);
            continue;
        }
        if (t.t == T_OFFSET) {
            next(p);
            bool neg = false;
            if (p->tok.t == T_SUB) {
                neg = true;
                next(p);
            }
            if (p->tok.t != T_DURATION)
                unexpected(p, &p->tok, "offset", "duration");
            int64_t d = duration_tok(p, &p->tok);
            if (neg)
                d = -d;
            int64_t *target;
            struct ast_selector *s = mod_selector(n);
            if (s)
                target = &s->offset_ms;
            else if (n->kind == AST_SUBQUERY)
                target = &n->u.sub.offset_ms;
            else
                fail_at(p, n->pos, "offset modifier must be preceded by an instant vector "
                                   "selector or range vector selector or a subquery");
            if (*target != 0)
                fail_at(p, n->pos, "offset may not be set multiple times");
            *target = d;
            n->end = (uint32_t)(p->tok.pos + p->tok.n);
            next(p);
            continue;
        }
        if (t.t == T_AT) {
            next(p);
            enum ast_at kind;
            int64_t ts = 0;
            size_t end;
            if (p->tok.t == T_NUMBER || ((p->tok.t == T_ADD || p->tok.t == T_SUB) &&
                                         peek(p)->t == T_NUMBER)) {
                double sign = 1;
                if (p->tok.t != T_NUMBER) {
                    sign = p->tok.t == T_SUB ? -1 : 1;
                    next(p);
                }
                double v = sign * number_tok(p, &p->tok);
                end = p->tok.pos + p->tok.n;
                if (isinf(v) || isnan(v) || v >= 9223372036854775807.0 ||
                    v <= -9223372036854775808.0) {
                    if (isnan(v) || isinf(v))
                        fail_at(p, n->pos, "timestamp out of bounds for @ modifier: %s",
                                isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
                    fail_at(p, n->pos, "timestamp out of bounds for @ modifier: %f", v);
                }
                double ms = round(v * 1000.0);
                if (ms >= 9223372036854775807.0 || ms <= -9223372036854775808.0)
                    fail_at(p, n->pos, "timestamp out of bounds for @ modifier: %f", v);
                ts = (int64_t)ms;
                kind = AT_TIME;
                next(p);
            } else if (p->tok.t == T_START || p->tok.t == T_END) {
                kind = p->tok.t == T_START ? AT_START : AT_END;
                next(p);
                if (p->tok.t != T_LPAREN)
                    unexpected(p, &p->tok, NULL, NULL);
                next(p);
                if (p->tok.t != T_RPAREN)
                    unexpected(p, &p->tok, NULL, NULL);
                end = p->tok.pos + 1;
                next(p);
            } else {
                unexpected(p, &p->tok, "@", "timestamp");
            }
            enum ast_at *at;
            int64_t *at_ms;
            struct ast_selector *s = mod_selector(n);
            if (s) {
                at = &s->at;
                at_ms = &s->at_ms;
            } else if (n->kind == AST_SUBQUERY) {
                at = &n->u.sub.at;
                at_ms = &n->u.sub.at_ms;
            } else {
                fail_at(p, n->pos, "@ modifier must be preceded by an instant vector selector or "
                                   "range vector selector or a subquery");
            }
            if (*at != AT_NONE)
                fail_at(p, n->pos, "@ <timestamp> may not be set multiple times");
            *at = kind;
            *at_ms = ts;
            n->end = (uint32_t)end;
            continue;
        }
        return n;
    }
}

static struct ast_node *unary(struct parser *p)
{
    if (p->tok.t == T_ADD || p->tok.t == T_SUB) {
        struct token op = p->tok;
        next(p);
        struct ast_node *inner = expr(p, PREC_POW);
        if (inner->kind == AST_NUMBER) {
            if (op.t == T_SUB)
                inner->u.num = -inner->u.num;
            inner->pos = (uint32_t)op.pos;
            return inner;
        }
        struct ast_node *n = node_new(p, AST_UNARY, op.pos, inner->end);
        n->type = inner->type;
        n->u.unary.op = op.t == T_SUB ? OP_SUB : OP_ADD;
        n->u.unary.expr = inner;
        deepen(p, n, inner);
        return n;
    }
    return postfix(p, primary(p));
}

static struct ast_node *expr(struct parser *p, int min_prec)
{
    if (++p->depth > PARSE_MAX_DEPTH)
        fail_at(p, p->tok.pos, "expression nested too deeply");
    struct ast_node *lhs = unary(p);
    for (;;) {
        enum ast_op op;
        int prec = binop_prec(p->tok.t, &op);
        if (prec == 0 || prec < min_prec)
            break;
        next(p);
        struct ast_node *n = node_new(p, AST_BINARY, lhs->pos, lhs->pos);
        struct ast_binary *b = &n->u.bin;
        b->op = op;
        if (p->tok.t == T_BOOL) {
            b->return_bool = true;
            next(p);
        }
        if (p->tok.t == T_ON || p->tok.t == T_IGNORING) {
            b->vm.on = p->tok.t == T_ON;
            b->vm.explicit_match = true;
            next(p);
            grouping_labels(p, &b->vm.labels, &b->vm.nlabels);
            if (p->tok.t == T_GROUP_LEFT || p->tok.t == T_GROUP_RIGHT) {
                b->vm.card = p->tok.t == T_GROUP_LEFT ? CARD_MANY_TO_ONE : CARD_ONE_TO_MANY;
                next(p);
                if (p->tok.t == T_LPAREN) {
                    b->vm.explicit_include = true;
                    grouping_labels(p, &b->vm.include, &b->vm.ninclude);
                }
            }
        }
        b->lhs = lhs;
        b->rhs = expr(p, op == OP_POW ? prec : prec + 1);
        n->end = b->rhs->end;
        deepen(p, n, lhs);
        deepen(p, n, b->rhs);
        lhs = n;
    }
    p->depth--;
    return lhs;
}

/* ---- type checking (Prometheus' checkAST) ---- */

static enum promql_type check(struct parser *p, struct ast_node *n);

static void expect_type(struct parser *p, struct ast_node *n, enum promql_type want,
                        const char *context)
{
    enum promql_type t = check(p, n);
    if (t != want)
        fail_at(p, n->pos, "expected type %s in %s, got %s", promql_type_name(want), context,
                promql_type_name(t));
}

/* Prometheus' ValueType strings: "scalar", "vector", "matrix", "string". */
static const char *value_type_str(enum promql_type t)
{
    switch (t) {
    case PROMQL_SCALAR: return "scalar";
    case PROMQL_VECTOR: return "vector";
    case PROMQL_MATRIX: return "matrix";
    case PROMQL_STRING: return "string";
    default: return "none";
    }
}

/* Position of the operator: first non-space after the LHS. */
static size_t op_pos(struct parser *p, const struct ast_node *n)
{
    size_t i = n->u.bin.lhs->end;
    while (i < p->n && (p->s[i] == ' ' || p->s[i] == '\t' || p->s[i] == '\n' || p->s[i] == '\r'))
        i++;
    return i;
}

static enum promql_type check(struct parser *p, struct ast_node *n)
{
    switch (n->kind) {
    case AST_NUMBER:
    case AST_STRING:
        break;
    case AST_PAREN:
        check(p, n->u.paren);
        break;
    case AST_UNARY: {
        enum promql_type t = check(p, n->u.unary.expr);
        if (t != PROMQL_SCALAR && t != PROMQL_VECTOR)
            fail_at(p, n->pos, "unary expression only allowed on expressions of type scalar or "
                               "instant vector, got \"%s\"", promql_type_name(t));
        break;
    }
    case AST_SUBQUERY: {
        enum promql_type t = check(p, n->u.sub.expr);
        if (t != PROMQL_VECTOR)
            fail_at(p, n->pos, "subquery is only allowed on instant vector, got %s instead",
                    value_type_str(t));
        break;
    }
    case AST_MATRIX:
        check(p, n->u.mat.vs);
        break;
    case AST_SELECTOR: {
        struct ast_selector *s = &n->u.sel;
        if (s->name.p) {
            for (size_t i = 0; i + 1 < s->nmatchers; i++) {
                if (strcmp(s->matchers[i].name, LABEL_METRIC_NAME) == 0)
                    fail_at(p, n->pos, "metric name must not be set twice: \"%.*s\" or \"%s\"",
                            (int)s->name.n, s->name.p, s->matchers[i].value);
            }
            break;
        }
        bool non_empty = false;
        for (size_t i = 0; i < s->nmatchers; i++)
            if (!matcher_matches(&s->matchers[i], (struct strv){"", 0}))
                non_empty = true;
        if (!non_empty)
            fail_at(p, n->pos, "vector selector must contain at least one non-empty matcher");
        break;
    }
    case AST_AGGR: {
        struct ast_aggr *ag = &n->u.aggr;
        expect_type(p, ag->expr, PROMQL_VECTOR, "aggregation expression");
        if (ag->op == AGGR_TOPK || ag->op == AGGR_BOTTOMK || ag->op == AGGR_QUANTILE)
            expect_type(p, ag->param, PROMQL_SCALAR, "aggregation parameter");
        if (ag->op == AGGR_COUNT_VALUES)
            expect_type(p, ag->param, PROMQL_STRING, "aggregation parameter");
        break;
    }
    case AST_CALL: {
        const struct promql_func *f = n->u.call.func;
        size_t nargs = f->nargs, got = n->u.call.nargs;
        if (f->variadic == 0) {
            if (nargs != got)
                fail_at(p, n->pos, "expected %zu argument(s) in call to \"%s\", got %zu", nargs,
                        f->name, got);
        } else {
            size_t na = nargs - 1;
            if (na > got)
                fail_at(p, n->pos, "expected at least %zu argument(s) in call to \"%s\", got %zu",
                        na, f->name, got);
            if (f->variadic > 0 && na + (size_t)f->variadic < got)
                fail_at(p, n->pos, "expected at most %zu argument(s) in call to \"%s\", got %zu",
                        na + (size_t)f->variadic, f->name, got);
        }
        char ctx[64];
        snprintf(ctx, sizeof ctx, "call to function \"%s\"", f->name);
        for (size_t i = 0; i < got; i++) {
            size_t k = i;
            if (k >= nargs) {
                if (f->variadic == 0)
                    break;
                k = nargs - 1;
            }
            expect_type(p, n->u.call.args[i], f->arg[k], ctx);
        }
        break;
    }
    case AST_BINARY: {
        struct ast_binary *b = &n->u.bin;
        enum promql_type lt = check(p, b->lhs);
        enum promql_type rt = check(p, b->rhs);
        if (b->return_bool && !ast_op_is_comparison(b->op))
            fail_at(p, op_pos(p, n), "bool modifier can only be used on comparison operators");
        if (ast_op_is_comparison(b->op) && !b->return_bool && lt == PROMQL_SCALAR &&
            rt == PROMQL_SCALAR)
            fail_at(p, op_pos(p, n), "comparisons between scalars must use BOOL modifier");
        if (ast_op_is_set(b->op) && b->vm.card == CARD_ONE_TO_ONE)
            b->vm.card = CARD_MANY_TO_MANY;
        if (b->vm.on) {
            for (size_t i = 0; i < b->vm.nlabels; i++)
                for (size_t j = 0; j < b->vm.ninclude; j++)
                    if (strv_eq(b->vm.labels[i], b->vm.include[j]))
                        fail_at(p, op_pos(p, n),
                                "label \"%.*s\" must not occur in ON and GROUP clause at once",
                                (int)b->vm.labels[i].n, b->vm.labels[i].p);
        }
        if (lt != PROMQL_SCALAR && lt != PROMQL_VECTOR)
            fail_at(p, b->lhs->pos,
                    "binary expression must contain only scalar and instant vector types");
        if (rt != PROMQL_SCALAR && rt != PROMQL_VECTOR)
            fail_at(p, b->rhs->pos,
                    "binary expression must contain only scalar and instant vector types");
        if (lt != PROMQL_VECTOR || rt != PROMQL_VECTOR) {
            if (b->vm.nlabels > 0)
                fail_at(p, n->pos, "vector matching only allowed between instant vectors");
        } else if (ast_op_is_set(b->op)) {
            if (b->vm.card == CARD_ONE_TO_MANY || b->vm.card == CARD_MANY_TO_ONE)
                fail_at(p, n->pos, "no grouping allowed for \"%s\" operation", ast_op_name(b->op));
        }
        if ((lt == PROMQL_SCALAR || rt == PROMQL_SCALAR) && ast_op_is_set(b->op))
            fail_at(p, n->pos, "set operator \"%s\" not allowed in binary scalar expression",
                    ast_op_name(b->op));
        n->type = (lt == PROMQL_SCALAR && rt == PROMQL_SCALAR) ? PROMQL_SCALAR : PROMQL_VECTOR;
        break;
    }
    }
    return n->type;
}

/* The type of a binary node is only known once both sides are; set it
 * bottom-up before check() so that enclosing nodes see it. */
static void settle_types(struct ast_node *n)
{
    switch (n->kind) {
    case AST_PAREN:
        settle_types(n->u.paren);
        n->type = n->u.paren->type;
        break;
    case AST_UNARY:
        settle_types(n->u.unary.expr);
        n->type = n->u.unary.expr->type;
        break;
    case AST_SUBQUERY:
        settle_types(n->u.sub.expr);
        break;
    case AST_AGGR:
        settle_types(n->u.aggr.expr);
        if (n->u.aggr.param)
            settle_types(n->u.aggr.param);
        break;
    case AST_CALL:
        for (size_t i = 0; i < n->u.call.nargs; i++)
            settle_types(n->u.call.args[i]);
        break;
    case AST_BINARY:
        settle_types(n->u.bin.lhs);
        settle_types(n->u.bin.rhs);
        n->type = (n->u.bin.lhs->type == PROMQL_SCALAR && n->u.bin.rhs->type == PROMQL_SCALAR)
                      ? PROMQL_SCALAR
                      : PROMQL_VECTOR;
        break;
    default:
        break;
    }
}

/* ---- entry points ---- */

void promql_expr_fini(struct promql_expr *x)
{
    for (size_t i = 0; i < x->nsels; i++) {
        struct ast_selector *s = &x->sels[i]->u.sel;
        for (size_t k = 0; k < s->nmatchers; k++)
            matcher_fini(&s->matchers[k]);
        s->nmatchers = 0;
    }
    x->nsels = 0;
    x->root = NULL;
}

int promql_parse(struct arena *a, const char *s, size_t n, struct promql_expr *out, struct err *e)
{
    struct err local;
    struct parser *p = arena_alloc(a, sizeof *p);
    memset(out, 0, sizeof *out);
    if (p == NULL)
        return ERR_LIMIT(e, "query too large: out of query memory while parsing");
    memset(p, 0, sizeof *p);
    p->a = a;
    p->s = s;
    p->n = n;
    p->e = e ? e : &local;
    p->out = out;
    lex_init(&p->lx, s, n);
    if (setjmp(p->jb) != 0) {
        promql_expr_fini(out);
        return p->e->code;
    }
    next(p);
    if (p->tok.t == T_EOF)
        fail_at(p, 0, "no expression found in input");
    struct ast_node *root = expr(p, 1);
    if (p->tok.t != T_EOF)
        unexpected(p, &p->tok, NULL, NULL);
    settle_types(root);
    check(p, root);
    out->root = root;
    return 0;
}
