/* lex.c: the PromQL tokenizer, the first stage of query/ (lex -> parse ->
 * eval). It follows Prometheus' lexer state by state so that the same input
 * is split the same way and fails with the same message: keywords are
 * case-insensitive, "inf"/"nan" are numbers, words with ':' are metric
 * identifiers, inside "{...}" only label names, strings and matchers exist,
 * and the first token after "[" must be a duration.
 * Strings are returned quoted and still escaped; parse.c unquotes them. An
 * error is a T_ERROR token whose text is the message, positioned where
 * Prometheus positions it. */
#include "query/lex.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/strv.h"

static const struct {
    const char *word;
    enum tok t;
} keywords[] = {
    {"and", T_LAND}, {"or", T_LOR}, {"unless", T_LUNLESS}, {"atan2", T_ATAN2},
    {"sum", T_SUM}, {"avg", T_AVG}, {"count", T_COUNT}, {"min", T_MIN}, {"max", T_MAX},
    {"group", T_GROUP}, {"stddev", T_STDDEV}, {"stdvar", T_STDVAR}, {"topk", T_TOPK},
    {"bottomk", T_BOTTOMK}, {"count_values", T_COUNT_VALUES}, {"quantile", T_QUANTILE},
    {"offset", T_OFFSET}, {"by", T_BY}, {"without", T_WITHOUT}, {"on", T_ON},
    {"ignoring", T_IGNORING}, {"group_left", T_GROUP_LEFT}, {"group_right", T_GROUP_RIGHT},
    {"bool", T_BOOL}, {"start", T_START}, {"end", T_END},
    {"inf", T_NUMBER}, {"nan", T_NUMBER},
};

void lex_init(struct lexer *l, const char *s, size_t n)
{
    memset(l, 0, sizeof *l);
    l->s = s;
    l->n = n;
}

static bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_alpha(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alnum(int c) { return is_alpha(c) || is_digit(c); }

/* The byte at i, or -1 past the end. */
static int at(const struct lexer *l, size_t i) { return i < l->n ? (unsigned char)l->s[i] : -1; }

/* Decode one UTF-8 rune at i; *w gets its width (1 for an invalid byte).
 * Returns -2 for an invalid encoding (Go's RuneError), -1 at the end. */
static int32_t rune_at(const struct lexer *l, size_t i, size_t *w)
{
    *w = 0;
    if (i >= l->n)
        return -1;
    const unsigned char *p = (const unsigned char *)l->s + i;
    size_t left = l->n - i;
    *w = 1;
    if (p[0] < 0x80)
        return p[0];
    int len;
    int32_t r, min;
    if ((p[0] & 0xE0) == 0xC0) {
        len = 2, r = p[0] & 0x1F, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3, r = p[0] & 0x0F, min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4, r = p[0] & 0x07, min = 0x10000;
    } else {
        return -2;
    }
    if ((size_t)len > left)
        return -2;
    for (int k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return -2;
        r = (r << 6) | (p[k] & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000))
        return -2;
    *w = (size_t)len;
    if (r == 0xFFFD)
        return -2; /* Go cannot tell a literal U+FFFD from a bad byte either */
    return r;
}

/* Go's %q of a rune, e.g. '.' or '\n'. */
static void quote_rune(char *dst, size_t cap, int32_t r)
{
    if (r < 0)
        r = 0xFFFD;
    switch (r) {
    case '\a': snprintf(dst, cap, "'\\a'"); return;
    case '\b': snprintf(dst, cap, "'\\b'"); return;
    case '\f': snprintf(dst, cap, "'\\f'"); return;
    case '\n': snprintf(dst, cap, "'\\n'"); return;
    case '\r': snprintf(dst, cap, "'\\r'"); return;
    case '\t': snprintf(dst, cap, "'\\t'"); return;
    case '\v': snprintf(dst, cap, "'\\v'"); return;
    case '\'': snprintf(dst, cap, "'\\''"); return;
    case '\\': snprintf(dst, cap, "'\\\\'"); return;
    }
    if (r < 0x20 || r == 0x7F) {
        snprintf(dst, cap, "'\\x%02x'", (unsigned)r);
        return;
    }
    char u[5] = {0};
    if (r < 0x80) {
        u[0] = (char)r;
    } else if (r < 0x800) {
        u[0] = (char)(0xC0 | (r >> 6));
        u[1] = (char)(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
        u[0] = (char)(0xE0 | (r >> 12));
        u[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        u[2] = (char)(0x80 | (r & 0x3F));
    } else {
        u[0] = (char)(0xF0 | (r >> 18));
        u[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        u[3] = (char)(0x80 | (r & 0x3F));
    }
    snprintf(dst, cap, "'%s'", u);
}

static void emit(struct lexer *l, struct token *t, enum tok type, size_t start, size_t end)
{
    t->t = type;
    t->pos = start;
    t->p = l->s + start;
    t->n = end - start;
    l->pos = end;
}

static void errorf(struct lexer *l, struct token *t, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void errorf(struct lexer *l, struct token *t, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->errbuf, sizeof l->errbuf, fmt, ap);
    va_end(ap);
    t->t = T_ERROR;
    t->pos = pos;
    t->p = l->errbuf;
    t->n = strlen(l->errbuf);
    l->done = true;
}

static void error_rune(struct lexer *l, struct token *t, size_t pos, const char *prefix,
                       int32_t r)
{
    char q[16];
    quote_rune(q, sizeof q, r);
    errorf(l, t, pos, "%s%s", prefix, q);
}

#define DIGITS "0123456789"

/* Advance *i over the bytes that are in `set` (Go's acceptRun). */
static void accept_run(const struct lexer *l, size_t *i, const char *set)
{
    while (at(l, *i) > 0 && strchr(set, at(l, *i)))
        (*i)++;
}

/* Prometheus' scanNumber: consume a number; true when what follows it is not
 * alphanumeric (so it is a number, not the start of a duration). */
static bool scan_number(const struct lexer *l, size_t *i)
{
    const char *digits = DIGITS;
    if (at(l, *i) == '0' && (at(l, *i + 1) == 'x' || at(l, *i + 1) == 'X')) {
        *i += 2;
        digits = DIGITS "abcdefABCDEF";
    } else if (at(l, *i) == '0') {
        (*i)++;
    }
    accept_run(l, i, digits);
    if (at(l, *i) == '.') {
        (*i)++;
        accept_run(l, i, digits);
    }
    if (at(l, *i) == 'e' || at(l, *i) == 'E') {
        (*i)++;
        if (at(l, *i) == '+' || at(l, *i) == '-')
            (*i)++;
        accept_run(l, i, DIGITS);
    }
    return !is_alnum(at(l, *i));
}

/* One duration unit out of `units` at *i ("ms" taken whole). */
static bool accept_unit(const struct lexer *l, size_t *i, const char *units)
{
    int c = at(l, *i);
    if (c < 0 || !strchr(units, c))
        return false;
    (*i)++;
    if (at(l, *i) == 's')
        (*i)++;
    return true;
}

/* Prometheus' acceptRemainingDuration: units after the leading digits.
 * On true, *i is just past the duration. */
static bool accept_duration(const struct lexer *l, size_t *i)
{
    if (!accept_unit(l, i, "smhdwy"))
        return false;
    while (is_digit(at(l, *i))) {
        accept_run(l, i, DIGITS);
        if (!accept_unit(l, i, "smhdw"))
            return false;
    }
    if (is_alnum(at(l, *i))) {
        (*i)++;
        return false;
    }
    return true;
}

static void lex_duration(struct lexer *l, struct token *t, size_t start)
{
    size_t i = start;
    if (scan_number(l, &i)) {
        errorf(l, t, start, "missing unit character in duration");
        return;
    }
    if (!accept_duration(l, &i)) {
        size_t end = i > l->n ? l->n : i;
        errorf(l, t, start, "bad duration syntax: \"%.*s\"", (int)(end - start), l->s + start);
        return;
    }
    emit(l, t, T_DURATION, start, i);
}

static void lex_number_or_duration(struct lexer *l, struct token *t, size_t start)
{
    size_t i = start;
    if (scan_number(l, &i)) {
        emit(l, t, T_NUMBER, start, i);
        return;
    }
    size_t j = i;
    if (accept_duration(l, &j)) {
        emit(l, t, T_DURATION, start, j);
        return;
    }
    size_t end = j > l->n ? l->n : j;
    errorf(l, t, start, "bad number or duration syntax: \"%.*s\"", (int)(end - start),
           l->s + start);
}

/* An error at `start` about the rune at i, shown as Go's %#U does
 * (U+0041 'A') between prefix and suffix. */
static void error_escape(struct lexer *l, struct token *t, size_t start, size_t i,
                         const char *prefix, const char *suffix)
{
    size_t w;
    int32_t r = rune_at(l, i, &w);
    if (r < 0)
        r = 0xFFFD;
    char u[8];
    quote_rune(u, sizeof u, r);
    errorf(l, t, start, "%sU+%04X %s%s", prefix, (unsigned)r, u, suffix);
}

/* A quoted string starting at `start` (the quote). Escapes are validated as
 * Prometheus' lexEscape does; every error is positioned at the quote. */
static void lex_string(struct lexer *l, struct token *t, size_t start)
{
    int q = at(l, start);
    size_t i = start + 1;
    for (;;) {
        size_t w;
        int32_t r = rune_at(l, i, &w);
        if (r == -1 || r == '\n') {
            errorf(l, t, start, "unterminated quoted string");
            return;
        }
        if (r == -2) {
            errorf(l, t, start, "invalid UTF-8 rune");
            return;
        }
        i += w;
        if (r == q)
            break;
        if (r != '\\')
            continue;
        int c = at(l, i);
        int n = 0, base = 0;
        uint32_t max = 0;
        switch (c) {
        case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
            i++;
            continue;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
            n = 3, base = 8, max = 255;
            break;
        case 'x':
            i++;
            n = 2, base = 16, max = 255;
            break;
        case 'u':
            i++;
            n = 4, base = 16, max = 0x10FFFF;
            break;
        case 'U':
            i++;
            n = 8, base = 16, max = 0x10FFFF;
            break;
        case -1:
            errorf(l, t, start, "escape sequence not terminated");
            return;
        default:
            if (c == q) {
                i++;
                continue;
            }
            error_escape(l, t, start, i, "unknown escape sequence ", "");
            return;
        }
        uint32_t x = 0;
        for (; n > 0; n--) {
            int d = at(l, i);
            int v = d < 0 ? -1 : hex_digit_value(d);
            if (v < 0)
                v = base; /* not a digit: as bad as one past the base */
            if (v >= base) {
                if (d < 0) {
                    errorf(l, t, start, "escape sequence not terminated");
                    return;
                }
                error_escape(l, t, start, i, "illegal character ", " in escape sequence");
                return;
            }
            x = x * (uint32_t)base + (uint32_t)v;
            i++;
        }
        if (x > max || (x >= 0xD800 && x < 0xE000)) {
            errorf(l, t, start, "escape sequence is an invalid Unicode code point");
            return;
        }
    }
    emit(l, t, T_STRING, start, i);
}

static void lex_raw_string(struct lexer *l, struct token *t, size_t start)
{
    size_t i = start + 1;
    for (;;) {
        size_t w;
        int32_t r = rune_at(l, i, &w);
        if (r == -1) {
            errorf(l, t, start, "unterminated raw string");
            return;
        }
        if (r == -2) {
            errorf(l, t, start, "invalid UTF-8 rune");
            return;
        }
        i += w;
        if (r == '`')
            break;
    }
    emit(l, t, T_STRING, start, i);
}

/* Skip spaces and '#' comments from l->pos. */
static void skip_blank(struct lexer *l)
{
    for (;;) {
        int c = at(l, l->pos);
        if (is_space(c)) {
            l->pos++;
        } else if (c == '#') {
            while (l->pos < l->n && l->s[l->pos] != '\n')
                l->pos++;
        } else {
            return;
        }
    }
}

static void lex_inside_braces(struct lexer *l, struct token *t)
{
    size_t start = l->pos;
    size_t w;
    int32_t r = rune_at(l, start, &w);
    if (r == -1) {
        errorf(l, t, start, "unexpected end of input inside braces");
        return;
    }
    if (is_alpha(r)) {
        size_t i = start;
        while (is_alnum(at(l, i)))
            i++;
        emit(l, t, T_IDENT, start, i);
        return;
    }
    switch (r) {
    case ',':
        emit(l, t, T_COMMA, start, start + 1);
        return;
    case '"':
    case '\'':
        lex_string(l, t, start);
        return;
    case '`':
        lex_raw_string(l, t, start);
        return;
    case '=':
        if (at(l, start + 1) == '~')
            emit(l, t, T_EQL_REGEX, start, start + 2);
        else
            emit(l, t, T_EQL, start, start + 1);
        return;
    case '!': {
        int c = at(l, start + 1);
        if (c == '~') {
            emit(l, t, T_NEQ_REGEX, start, start + 2);
        } else if (c == '=') {
            emit(l, t, T_NEQ, start, start + 2);
        } else {
            size_t w2;
            error_rune(l, t, start, "unexpected character after '!' inside braces: ",
                       rune_at(l, start + 1, &w2));
        }
        return;
    }
    case '{':
        errorf(l, t, start, "unexpected left brace '{'");
        return;
    case '}':
        emit(l, t, T_RBRACE, start, start + 1);
        l->brace_open = false;
        return;
    default:
        error_rune(l, t, start, "unexpected character inside braces: ", r);
        return;
    }
}

static void lex_word(struct lexer *l, struct token *t, size_t start)
{
    size_t i = start;
    bool colon = false;
    while (is_alnum(at(l, i)) || at(l, i) == ':') {
        if (at(l, i) == ':')
            colon = true;
        i++;
    }
    size_t n = i - start;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
        if (strlen(keywords[k].word) == n && strncasecmp(keywords[k].word, l->s + start, n) == 0) {
            emit(l, t, keywords[k].t, start, i);
            return;
        }
    }
    emit(l, t, colon ? T_METRIC_IDENT : T_IDENT, start, i);
}

void lex_next(struct lexer *l, struct token *t)
{
    if (l->done) {
        t->t = T_EOF;
        t->pos = l->n;
        t->p = l->s + l->n;
        t->n = 0;
        return;
    }
    skip_blank(l);
    if (l->brace_open) {
        lex_inside_braces(l, t);
        return;
    }
    size_t start = l->pos;
    if (l->after_bracket) {
        l->after_bracket = false;
        lex_duration(l, t, start);
        return;
    }
    size_t w;
    int32_t r = rune_at(l, start, &w);
    if (r == -1) {
        if (l->paren_depth != 0)
            errorf(l, t, start, "unclosed left parenthesis");
        else if (l->bracket_open)
            errorf(l, t, start, "unclosed left bracket");
        else
            emit(l, t, T_EOF, start, start);
        l->done = true;
        return;
    }
    int c2 = at(l, start + 1);
    switch (r) {
    case ',': emit(l, t, T_COMMA, start, start + 1); return;
    case '*': emit(l, t, T_MUL, start, start + 1); return;
    case '/': emit(l, t, T_DIV, start, start + 1); return;
    case '%': emit(l, t, T_MOD, start, start + 1); return;
    case '+': emit(l, t, T_ADD, start, start + 1); return;
    case '-': emit(l, t, T_SUB, start, start + 1); return;
    case '^': emit(l, t, T_POW, start, start + 1); return;
    case '@': emit(l, t, T_AT, start, start + 1); return;
    case '=':
        if (c2 == '=') {
            emit(l, t, T_EQLC, start, start + 2);
        } else if (c2 == '~') {
            errorf(l, t, start, "unexpected character after '=': '~'");
        } else {
            emit(l, t, T_EQL, start, start + 1);
        }
        return;
    case '!':
        if (c2 == '=') {
            emit(l, t, T_NEQ, start, start + 2);
        } else {
            size_t w2;
            error_rune(l, t, start, "unexpected character after '!': ",
                       rune_at(l, start + 1, &w2));
        }
        return;
    case '<':
        if (c2 == '=')
            emit(l, t, T_LTE, start, start + 2);
        else
            emit(l, t, T_LSS, start, start + 1);
        return;
    case '>':
        if (c2 == '=')
            emit(l, t, T_GTE, start, start + 2);
        else
            emit(l, t, T_GTR, start, start + 1);
        return;
    case '"':
    case '\'':
        lex_string(l, t, start);
        return;
    case '`':
        lex_raw_string(l, t, start);
        return;
    case '(':
        emit(l, t, T_LPAREN, start, start + 1);
        l->paren_depth++;
        return;
    case ')':
        emit(l, t, T_RPAREN, start, start + 1);
        l->paren_depth--;
        if (l->paren_depth < 0)
            errorf(l, t, start + 1, "unexpected right parenthesis ')'");
        return;
    case '{':
        emit(l, t, T_LBRACE, start, start + 1);
        l->brace_open = true;
        return;
    case '[':
        if (l->bracket_open) {
            errorf(l, t, start, "unexpected left bracket '['");
            return;
        }
        l->got_colon = false;
        emit(l, t, T_LBRACKET, start, start + 1);
        l->bracket_open = true;
        l->after_bracket = true;
        return;
    case ']':
        if (!l->bracket_open) {
            errorf(l, t, start, "unexpected right bracket ']'");
            return;
        }
        emit(l, t, T_RBRACKET, start, start + 1);
        l->bracket_open = false;
        return;
    }
    if (is_digit(r) || (r == '.' && is_digit(c2))) {
        lex_number_or_duration(l, t, start);
        return;
    }
    if (is_alpha(r) || r == ':') {
        if (!l->bracket_open) {
            lex_word(l, t, start);
            return;
        }
        if (l->got_colon) {
            error_rune(l, t, start, "unexpected colon ", r);
            return;
        }
        emit(l, t, T_COLON, start, start + 1);
        l->got_colon = true;
        return;
    }
    error_rune(l, t, start, "unexpected character: ", r);
}
