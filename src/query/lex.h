/* lex.h: the PromQL tokenizer, internal to query/ (parse.c is its one user).
 * Tokens borrow from the input; positions are byte offsets. */
#ifndef TIDE_QUERY_LEX_H
#define TIDE_QUERY_LEX_H

#include <stdbool.h>
#include <stddef.h>

enum tok {
    T_EOF, T_ERROR, T_IDENT, T_METRIC_IDENT, T_NUMBER, T_DURATION, T_STRING,
    T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_LBRACKET, T_RBRACKET, T_COMMA, T_EQL,
    T_COLON, T_EQL_REGEX, T_NEQ_REGEX,
    /* operators */
    T_ADD, T_SUB, T_MUL, T_DIV, T_MOD, T_POW, T_EQLC, T_NEQ, T_LSS, T_LTE, T_GTR, T_GTE,
    T_AT, T_LAND, T_LOR, T_LUNLESS, T_ATAN2,
    /* aggregators (same order as enum aggr_op) */
    T_SUM, T_AVG, T_COUNT, T_MIN, T_MAX, T_GROUP, T_STDDEV, T_STDVAR, T_TOPK, T_BOTTOMK,
    T_COUNT_VALUES, T_QUANTILE,
    /* keywords */
    T_BOOL, T_BY, T_GROUP_LEFT, T_GROUP_RIGHT, T_IGNORING, T_OFFSET, T_ON, T_WITHOUT,
    T_START, T_END,
};

static inline bool tok_is_aggr(enum tok t) { return t >= T_SUM && t <= T_QUANTILE; }
static inline bool tok_is_keyword(enum tok t) { return t >= T_BOOL && t <= T_END; }
static inline bool tok_is_operator(enum tok t) { return t >= T_ADD && t <= T_ATAN2; }

struct token {
    enum tok t;
    size_t pos;      /* byte offset of the first byte */
    const char *p;   /* the token's text (for T_ERROR: the message) */
    size_t n;
};

struct lexer {
    const char *s;
    size_t n, pos;
    int paren_depth;
    bool brace_open, bracket_open, got_colon;
    bool after_bracket; /* the next token starts inside "[": a duration */
    bool done;
    char errbuf[160];
};

void lex_init(struct lexer *l, const char *s, size_t n);
/* The next token, skipping spaces and comments. After T_ERROR or T_EOF
 * every call returns T_EOF. */
void lex_next(struct lexer *l, struct token *t);

#endif
