/* template.c: the Go text/template subset of alert labels and annotations
 * (template.h). Parsing turns the text into a tree of nodes in one arena:
 * text, actions (a pipeline to print) and if/else chains; expansion walks
 * the tree against a struct tmpl_data. Parsing refuses everything outside
 * the subset, so a rule file that loads never meets an unsupported feature
 * while alerts are firing. Pure: no I/O, no globals.
 */
#include "rules/template.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/fmtfloat.h"

enum arg_kind { A_FIELD, A_STR, A_NUM, A_BOOL, A_FUNC, A_PIPE };
enum node_kind { N_TEXT, N_ACTION, N_IF };

enum func {
    F_HUMANIZE,
    F_HUMANIZE_PCT,
    F_HUMANIZE_DUR,
    F_PRINTF,
    F_UPPER,
    F_LOWER,
    F_EQ,
    F_NE,
    F_LT,
    F_LE,
    F_GT,
    F_GE,
    F_AND,
    F_OR,
    F_NOT,
};


/* An integer value held as a double, back as an integer: integers near
 * 2^63 round up to it in a double, past long long's range. */
static long long int_of(double v)
{
    if (v >= 9223372036854775807.0)
        return LLONG_MAX;
    if (v <= -9223372036854775808.0)
        return LLONG_MIN;
    return (long long)v;
}

static const char *const func_names[] = {
    "humanize",
    "humanizePercentage",
    "humanizeDuration",
    "printf",
    "toUpper",
    "toLower",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
};

/* Prometheus' template functions that Tide does not implement. */
static const char *const prom_only[] = {
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "match",
    "safeHtml",
    "stripPort",
    "stripDomain",
    "tmpl",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "humanize1024",
    "humanizeTimestamp",
    "pathPrefix",
    "externalURL",
    "title",
    "parseDuration",
    "toTime",
    "urlquery",
    "html",
    "js",
    "len",
    "index",
    "slice",
    "print",
    "println",
    "call",
};

struct pipe;

struct arg {
    enum arg_kind kind;
    const char **path; /* A_FIELD: "$labels" / "." / "$" then field names */
    size_t npath;
    const char *s; /* A_STR */
    size_t slen;
    double num; /* A_NUM */
    bool is_int;
    bool b;            /* A_BOOL */
    enum func func;    /* A_FUNC */
    struct pipe *pipe; /* A_PIPE */
};

struct cmd {
    struct arg *args;
    size_t nargs;
};

struct pipe {
    struct cmd *cmds;
    size_t ncmds;
};

struct node {
    enum node_kind kind;
    const char *text; /* N_TEXT */
    size_t len;
    struct pipe *pipe;       /* N_ACTION, N_IF condition */
    struct node *then, *els; /* N_IF */
    struct node *next;
};

struct tmpl {
    struct arena arena;
    struct node *root;
    bool plain;
};

/* ---- parsing ---- */

enum tok { T_END, T_PIPE, T_LP, T_RP, T_STR, T_NUM, T_BOOL, T_IDENT, T_FIELD, T_ASSIGN };

struct parser {
    struct arena *a;
    const char *src; /* whole text */
    size_t n;
    size_t pos;      /* next byte */
    size_t act;      /* offset of the current action's "{{" */
    const char *p;   /* inside an action: next byte */
    const char *end; /* the action's closing "}}" (or " -}}") */
    struct err *e;
    /* current token */
    enum tok t;
    const char *tp;
    size_t tn;
};

static int perr(struct parser *ps, const char *fmt, const char *arg)
{
    char msg[160];
    snprintf(msg, sizeof msg, fmt, arg);
    return err_set_at(ps->e, TIDE_EPARSE, ERR_WHERE, 0, (int)ps->act + 1, "template: %s", msg);
}

static bool ident_char(int c)
{
    return isalnum(c) || c == '_';
}

/* Read the next token of the current action into ps->t. */
static int next_tok(struct parser *ps)
{
    while (ps->p < ps->end && isspace((unsigned char)*ps->p))
        ps->p++;
    ps->tp = ps->p;
    ps->tn = 0;
    if (ps->p >= ps->end) {
        ps->t = T_END;
        return 0;
    }
    char c = *ps->p;
    if (c == '|' || c == '(' || c == ')') {
        ps->t = c == '|' ? T_PIPE : c == '(' ? T_LP : T_RP;
        ps->p++;
        ps->tn = 1;
        return 0;
    }
    if (c == ':' || c == '=') {
        ps->t = T_ASSIGN;
        return perr(ps, "%s", "variable assignment is not supported by Tide's templates");
    }
    if (c == '"' || c == '`') {
        const char *q = ps->p + 1;
        while (q < ps->end && *q != c) {
            if (c == '"' && *q == '\\' && q + 1 < ps->end)
                q++;
            q++;
        }
        if (q >= ps->end)
            return perr(ps, "%s", "unterminated quoted string");
        ps->t = T_STR;
        ps->tn = (size_t)(q + 1 - ps->p);
        ps->p = q + 1;
        return 0;
    }
    if (isdigit((unsigned char)c) || ((c == '-' || c == '+' || c == '.') && ps->p + 1 < ps->end &&
                                      isdigit((unsigned char)ps->p[1]))) {
        const char *q = ps->p + 1;
        while (q < ps->end && (isalnum((unsigned char)*q) || *q == '.' || *q == '_' ||
                               ((*q == '-' || *q == '+') && (q[-1] == 'e' || q[-1] == 'E'))))
            q++;
        ps->t = T_NUM;
        ps->tn = (size_t)(q - ps->p);
        ps->p = q;
        return 0;
    }
    if (c == '.' || c == '$') {
        const char *q = ps->p + 1;
        while (q < ps->end && (ident_char((unsigned char)*q) || *q == '.'))
            q++;
        ps->t = T_FIELD;
        ps->tn = (size_t)(q - ps->p);
        ps->p = q;
        return 0;
    }
    if (ident_char((unsigned char)c)) {
        const char *q = ps->p;
        while (q < ps->end && ident_char((unsigned char)*q))
            q++;
        ps->tn = (size_t)(q - ps->p);
        ps->p = q;
        ps->t = T_IDENT;
        if ((ps->tn == 4 && memcmp(ps->tp, "true", 4) == 0) ||
            (ps->tn == 5 && memcmp(ps->tp, "false", 5) == 0))
            ps->t = T_BOOL;
        return 0;
    }
    char bad[8];
    snprintf(bad, sizeof bad, "%c", c);
    return perr(ps, "unexpected \"%s\" in action", bad);
}

static bool tok_is(const struct parser *ps, const char *word)
{
    return ps->t == T_IDENT && ps->tn == strlen(word) && memcmp(ps->tp, word, ps->tn) == 0;
}

static int unquote(struct parser *ps, struct arg *a)
{
    const char *p = ps->tp + 1;
    size_t n = ps->tn - 2;
    char *out = arena_alloc(ps->a, n + 1);
    if (out == NULL)
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (ps->tp[0] == '"' && c == '\\' && i + 1 < n) {
            c = p[++i];
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case '\\':
            case '"':
            case '\'':
                break;
            default:
                return perr(ps, "%s", "unsupported escape sequence in string");
            }
        }
        out[o++] = c;
    }
    out[o] = 0;
    a->s = out;
    a->slen = o;
    return 0;
}

static const char *const known_vars[] = {"$", "$labels", "$value", "$externalLabels",
                                         "$externalURL"};

static int parse_pipe(struct parser *ps, struct pipe **out);

/* One operand or function name at the current token; advances past it. */
static int parse_arg(struct parser *ps, struct arg *a)
{
    memset(a, 0, sizeof *a);
    int rc = 0;
    switch (ps->t) {
    case T_STR:
        a->kind = A_STR;
        rc = unquote(ps, a);
        break;
    case T_NUM: {
        char buf[64];
        if (ps->tn >= sizeof buf)
            return perr(ps, "%s", "number too long");
        memcpy(buf, ps->tp, ps->tn);
        buf[ps->tn] = 0;
        char *endp = NULL;
        a->kind = A_NUM;
        a->is_int =
            strpbrk(buf, ".eE") == NULL || (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'));
        errno = 0;
        a->num = a->is_int ? (double)strtoll(buf, &endp, 0) : strtod(buf, &endp);
        if (endp == buf || *endp != 0 || errno)
            return perr(ps, "bad number syntax: \"%s\"", buf);
        break;
    }
    case T_BOOL:
        a->kind = A_BOOL;
        a->b = ps->tp[0] == 't';
        break;
    case T_LP:
        rc = next_tok(ps);
        if (rc == 0)
            rc = parse_pipe(ps, &a->pipe);
        if (rc != 0)
            return rc;
        if (ps->t != T_RP)
            return perr(ps, "%s", "unclosed left paren");
        a->kind = A_PIPE;
        break;
    case T_FIELD: {
        char word[128];
        if (ps->tn >= sizeof word)
            return perr(ps, "%s", "field chain too long");
        memcpy(word, ps->tp, ps->tn);
        word[ps->tn] = 0;
        size_t parts = 1;
        for (char *q = word + 1; *q; q++)
            parts += *q == '.';
        a->kind = A_FIELD;
        a->path = arena_alloc(ps->a, (parts + 1) * sizeof *a->path);
        if (a->path == NULL)
            return -ENOMEM;
        /* The root: "$name" or "." (a field chain starting at the data). */
        char *rest;
        if (word[0] == '$') {
            rest = strchr(word, '.');
            if (rest)
                *rest++ = 0;
            bool known = false;
            for (size_t i = 0; i < sizeof known_vars / sizeof known_vars[0]; i++)
                known |= strcmp(word, known_vars[i]) == 0;
            const char *q = ps->p;
            while (q < ps->end && (*q == ' ' || *q == '\t'))
                q++;
            if (q < ps->end && (*q == ':' || *q == '='))
                return perr(ps, "%s", "variable assignment is not supported by Tide's templates");
            if (!known)
                return perr(ps, "undefined variable \"%s\"", word);
            a->path[a->npath++] = arena_strndup(ps->a, word, strlen(word));
        } else {
            a->path[a->npath++] = ".";
            rest = word[1] ? word + 1 : NULL;
        }
        while (rest && *rest) {
            char *dot = strchr(rest, '.');
            if (dot)
                *dot = 0;
            if (*rest == 0)
                return perr(ps, "%s", "unexpected . after term");
            a->path[a->npath++] = arena_strndup(ps->a, rest, strlen(rest));
            rest = dot ? dot + 1 : NULL;
        }
        break;
    }
    case T_IDENT: {
        char word[64];
        snprintf(word, sizeof word, "%.*s", (int)(ps->tn < 63 ? ps->tn : 63), ps->tp);
        static const char *const keywords[] = {"range", "with",  "define",  "template",
                                               "block", "break", "continue"};
        for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
            if (strcmp(word, keywords[i]) == 0)
                return perr(ps, "{{%s}} is not supported by Tide's templates", word);
        if (strcmp(word, "nil") == 0)
            return perr(ps, "%s", "nil is not a command");
        for (size_t i = 0; i < sizeof func_names / sizeof func_names[0]; i++)
            if (strcmp(word, func_names[i]) == 0) {
                a->kind = A_FUNC;
                a->func = (enum func)i;
                return next_tok(ps);
            }
        for (size_t i = 0; i < sizeof prom_only / sizeof prom_only[0]; i++)
            if (strcmp(word, prom_only[i]) == 0)
                return perr(ps, "function \"%s\" is not supported by Tide's templates", word);
        return perr(ps, "function \"%s\" not defined", word);
    }
    default:
        return perr(ps, "%s", "unexpected token in operand");
    }
    if (rc != 0)
        return rc;
    return next_tok(ps);
}

static bool arg_start(enum tok t)
{
    return t == T_STR || t == T_NUM || t == T_BOOL || t == T_LP || t == T_FIELD || t == T_IDENT;
}

static int parse_pipe(struct parser *ps, struct pipe **out)
{
    struct pipe *pp = arena_alloc(ps->a, sizeof *pp);
    if (pp == NULL)
        return -ENOMEM;
    memset(pp, 0, sizeof *pp);
    for (;;) {
        struct arg args[16];
        size_t na = 0;
        while (arg_start(ps->t)) {
            if (na == 16)
                return perr(ps, "%s", "too many arguments");
            int rc = parse_arg(ps, &args[na++]);
            if (rc != 0)
                return rc;
        }
        if (na == 0)
            return perr(ps, "%s",
                        ps->t == T_PIPE ? "missing command before |" : "missing value for command");
        if (na > 1 && args[0].kind != A_FUNC)
            return perr(ps, "%s", "can't give argument to non-function");
        struct cmd *cmds = arena_alloc(ps->a, (pp->ncmds + 1) * sizeof *cmds);
        struct arg *av = arena_alloc(ps->a, na * sizeof *av);
        if (cmds == NULL || av == NULL)
            return -ENOMEM;
        if (pp->ncmds)
            memcpy(cmds, pp->cmds, pp->ncmds * sizeof *cmds);
        memcpy(av, args, na * sizeof *av);
        cmds[pp->ncmds++] = (struct cmd){av, na};
        pp->cmds = cmds;
        if (pp->ncmds > 1 && av[0].kind != A_FUNC)
            return perr(ps, "%s", "non executable command in pipeline stage 2");
        if (ps->t != T_PIPE)
            break;
        int rc = next_tok(ps);
        if (rc != 0)
            return rc;
    }
    *out = pp;
    return 0;
}

/* Find the next action; text before it is [pos, *text_end). Sets ps->p/end
 * to the action's inside and returns 1, or 0 at the end of input. Applies
 * trim markers to the text on both sides. */
static int next_action(struct parser *ps, size_t *text_end, bool *rtrim_next)
{
    const char *s = ps->src;
    const char *open = NULL;
    for (size_t i = ps->pos; i + 1 < ps->n; i++)
        if (s[i] == '{' && s[i + 1] == '{') {
            open = s + i;
            break;
        }
    if (open == NULL) {
        *text_end = ps->n;
        return 0;
    }
    size_t at = (size_t)(open - s);
    ps->act = at;
    const char *p = open + 2;
    *text_end = at;
    if (p + 1 < s + ps->n && p[0] == '-' && isspace((unsigned char)p[1])) {
        while (*text_end > ps->pos && isspace((unsigned char)s[*text_end - 1]))
            (*text_end)--;
        p += 2;
    }
    /* Find the closing braces, skipping quoted strings and comment actions. */
    const char *q = p;
    while (q < s + ps->n && isspace((unsigned char)*q))
        q++;
    if (q + 1 < s + ps->n && q[0] == '/' && q[1] == '*') {
        const char *c = strstr(q + 2, "*/");
        if (c == NULL || c + 2 > s + ps->n)
            return perr(ps, "%s", "unclosed comment");
        q = c + 2;
        p = q; /* the comment is skipped; what follows must be "}}" */
    }
    while (q < s + ps->n) {
        if (*q == '"' || *q == '`') {
            char c = *q++;
            while (q < s + ps->n && *q != c) {
                if (c == '"' && *q == '\\')
                    q++;
                q++;
            }
            q++;
            continue;
        }
        if (q + 1 < s + ps->n && q[0] == '}' && q[1] == '}')
            break;
        q++;
    }
    if (q + 1 >= s + ps->n)
        return perr(ps, "%s", "unclosed action");
    const char *end = q;
    *rtrim_next = false;
    if (end - p >= 2 && end[-1] == '-' && isspace((unsigned char)end[-2])) {
        end -= 2;
        *rtrim_next = true;
    }
    ps->p = p;
    ps->end = end;
    ps->pos = (size_t)(q + 2 - s);
    return 1;
}

enum stop { STOP_EOF, STOP_ELSE, STOP_END, STOP_ELSE_IF };

static int parse_list(struct parser *ps, struct node **out, enum stop *stop, bool *trim, int depth);

static int add_node(struct parser *ps, struct node ***tail, struct node **made)
{
    struct node *nd = arena_alloc(ps->a, sizeof *nd);
    if (nd == NULL)
        return -ENOMEM;
    memset(nd, 0, sizeof *nd);
    **tail = nd;
    *tail = &nd->next;
    *made = nd;
    return 0;
}

/* After {{if P}} (or {{else if P}}): the branches up to the matching end. */
static int parse_if(struct parser *ps, struct node *nd, bool *trim, int depth)
{
    enum stop st;
    int rc = parse_list(ps, &nd->then, &st, trim, depth + 1);
    if (rc != 0)
        return rc;
    if (st == STOP_EOF)
        return perr(ps, "%s", "unexpected EOF: {{if}} without {{end}}");
    if (st == STOP_ELSE_IF) {
        struct node *inner = arena_alloc(ps->a, sizeof *inner);
        if (inner == NULL)
            return -ENOMEM;
        memset(inner, 0, sizeof *inner);
        inner->kind = N_IF;
        rc = parse_pipe(ps, &inner->pipe);
        if (rc == 0 && ps->t != T_END)
            rc = perr(ps, "%s", "unexpected token in if condition");
        if (rc == 0)
            rc = parse_if(ps, inner, trim, depth);
        nd->els = inner;
        return rc;
    }
    if (st == STOP_ELSE) {
        rc = parse_list(ps, &nd->els, &st, trim, depth + 1);
        if (rc != 0)
            return rc;
        if (st != STOP_END)
            return perr(ps, "%s",
                        st == STOP_EOF ? "unexpected EOF: {{if}} without {{end}}"
                                       : "expected end; found {{else}}");
    }
    return 0;
}

static int parse_list(struct parser *ps, struct node **out, enum stop *stop, bool *trim, int depth)
{
    struct node **tail = out;
    *out = NULL;
    if (depth > 32)
        return perr(ps, "%s", "nesting too deep");
    for (;;) {
        size_t text_end = 0;
        bool rtrim = false;
        size_t start = ps->pos;
        int found = next_action(ps, &text_end, &rtrim);
        if (found < 0)
            return found;
        if (*trim)
            while (start < text_end && isspace((unsigned char)ps->src[start]))
                start++;
        *trim = found ? rtrim : false;
        if (text_end > start) {
            struct node *nd;
            int rc = add_node(ps, &tail, &nd);
            if (rc != 0)
                return rc;
            nd->kind = N_TEXT;
            nd->text = ps->src + start;
            nd->len = text_end - start;
        }
        if (!found) {
            *stop = STOP_EOF;
            return 0;
        }
        int rc = next_tok(ps);
        if (rc != 0)
            return rc;
        if (ps->t == T_END)
            continue; /* a comment, or "{{}}" which Go refuses */
        if (tok_is(ps, "end") || tok_is(ps, "else")) {
            bool is_else = tok_is(ps, "else");
            rc = next_tok(ps);
            if (rc != 0)
                return rc;
            if (depth == 0)
                return perr(ps, "unexpected {{%s}}", is_else ? "else" : "end");
            if (is_else && tok_is(ps, "if")) {
                rc = next_tok(ps);
                if (rc != 0)
                    return rc;
                *stop = STOP_ELSE_IF;
                return 0;
            }
            if (ps->t != T_END)
                return perr(ps, "unexpected token in {{%s}}", is_else ? "else" : "end");
            *stop = is_else ? STOP_ELSE : STOP_END;
            return 0;
        }
        struct node *nd;
        rc = add_node(ps, &tail, &nd);
        if (rc != 0)
            return rc;
        if (tok_is(ps, "if")) {
            nd->kind = N_IF;
            rc = next_tok(ps);
            if (rc == 0)
                rc = parse_pipe(ps, &nd->pipe);
            if (rc == 0 && ps->t != T_END)
                rc = perr(ps, "%s", "unexpected token in if condition");
            if (rc == 0)
                rc = parse_if(ps, nd, trim, depth);
            if (rc != 0)
                return rc;
            continue;
        }
        nd->kind = N_ACTION;
        rc = parse_pipe(ps, &nd->pipe);
        if (rc != 0)
            return rc;
        if (ps->t != T_END)
            return perr(ps, "%s",
                        ps->t == T_RP ? "unexpected right paren" : "unexpected token in operand");
    }
}

int tmpl_parse(const char *text, size_t n, struct tmpl **out, struct err *e)
{
    *out = NULL;
    if (n > TMPL_MAX_INPUT)
        return ERR_LIMIT(e, "template: longer than %u bytes", TMPL_MAX_INPUT);
    struct tmpl *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    arena_init(&t->arena, 0);
    char *copy = arena_strndup(&t->arena, text, n);
    if (copy == NULL) {
        tmpl_free(t);
        return -ENOMEM;
    }
    struct parser ps = {.a = &t->arena, .src = copy, .n = n, .e = e};
    enum stop st;
    bool trim = false;
    int rc = parse_list(&ps, &t->root, &st, &trim, 0);
    if (rc != 0) {
        if (rc == -ENOMEM)
            ERR_SET(e, rc, "out of memory");
        tmpl_free(t);
        return rc;
    }
    t->plain = t->root == NULL || (t->root->kind == N_TEXT && t->root->next == NULL);
    *out = t;
    return 0;
}

void tmpl_free(struct tmpl *t)
{
    if (t == NULL)
        return;
    arena_fini(&t->arena);
    free(t);
}

bool tmpl_is_plain(const struct tmpl *t)
{
    return t->plain;
}

/* ---- expansion ---- */

enum vkind { V_NONE, V_STR, V_NUM, V_BOOL, V_MAP, V_DATA };

struct val {
    enum vkind kind;
    const char *s; /* V_STR */
    size_t n;
    double num; /* V_NUM */
    bool is_int;
    bool b;                /* V_BOOL */
    const struct label *m; /* V_MAP */
    size_t mn;
};

struct exec {
    const struct tmpl_data *d;
    struct arena scratch; /* strings functions return */
    struct err *e;
};

static int xerr(struct exec *x, const char *fmt, const char *arg)
{
    char msg[160];
    snprintf(msg, sizeof msg, fmt, arg);
    return err_set_at(x->e, TIDE_EINVAL, ERR_WHERE, 0, 0, "%s", msg);
}

int tmpl_format_value(struct buf *out, double v)
{
    if (isnan(v))
        return buf_puts(out, "NaN");
    if (isinf(v))
        return buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    if (v == 0)
        return buf_puts(out, signbit(v) ? "-0" : "0");
    struct float_digits d;
    fmtfloat_shortest(v, &d);
    int exp = d.point - 1;
    int rc = d.neg ? buf_putc(out, '-') : 0;
    if (exp < -4 || exp >= 6) { /* %e with the shortest digits: d.ddde±XX */
        rc |= buf_putc(out, d.d[0]);
        if (d.nd > 1) {
            rc |= buf_putc(out, '.');
            rc |= buf_append(out, d.d + 1, (size_t)d.nd - 1);
        }
        rc |= buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return rc ? TIDE_ELIMIT : 0;
    }
    /* %f */
    if (d.point <= 0) {
        rc |= buf_puts(out, "0.");
        for (int i = 0; i < -d.point; i++)
            rc |= buf_putc(out, '0');
        rc |= buf_append(out, d.d, (size_t)d.nd);
    } else if (d.point >= d.nd) {
        rc |= buf_append(out, d.d, (size_t)d.nd);
        for (int i = d.nd; i < d.point; i++)
            rc |= buf_putc(out, '0');
    } else {
        rc |= buf_append(out, d.d, (size_t)d.point);
        rc |= buf_putc(out, '.');
        rc |= buf_append(out, d.d + d.point, (size_t)(d.nd - d.point));
    }
    return rc ? TIDE_ELIMIT : 0;
}

static int print_val(struct buf *out, const struct val *v)
{
    switch (v->kind) {
    case V_STR:
        return buf_append(out, v->s, v->n);
    case V_NUM:
        if (v->is_int)
            return buf_printf(out, "%lld", int_of(v->num));
        return tmpl_format_value(out, v->num);
    case V_BOOL:
        return buf_puts(out, v->b ? "true" : "false");
    case V_MAP: {
        int rc = buf_puts(out, "map[");
        for (size_t i = 0; i < v->mn && rc == 0; i++)
            rc = buf_printf(out, "%s%.*s:%.*s", i ? " " : "", (int)v->m[i].name.n, v->m[i].name.p,
                            (int)v->m[i].value.n, v->m[i].value.p);
        return rc ? rc : buf_putc(out, ']');
    }
    case V_DATA:
        return buf_puts(out, "{...}");
    default:
        return buf_puts(out, "<no value>");
    }
}

static bool truth(const struct val *v)
{
    switch (v->kind) {
    case V_STR:
        return v->n > 0;
    case V_NUM:
        return v->num != 0;
    case V_BOOL:
        return v->b;
    case V_MAP:
        return v->mn > 0;
    case V_DATA:
        return true;
    default:
        return false;
    }
}

static struct val str_val(struct exec *x, const char *s, size_t n)
{
    char *c = arena_strndup(&x->scratch, s, n);
    return (struct val){.kind = V_STR, .s = c ? c : "", .n = c ? n : 0};
}

static int field(struct exec *x, const struct arg *a, struct val *out)
{
    const struct tmpl_data *d = x->d;
    const char *root = a->path[0];
    size_t i = 1;
    struct val v = {.kind = V_DATA};
    if (strcmp(root, "$labels") == 0)
        v = (struct val){.kind = V_MAP, .m = d->labels, .mn = d->nlabels};
    else if (strcmp(root, "$externalLabels") == 0)
        v = (struct val){.kind = V_MAP, .m = d->external_labels, .mn = d->nexternal_labels};
    else if (strcmp(root, "$value") == 0)
        v = (struct val){.kind = V_NUM, .num = d->value};
    else if (strcmp(root, "$externalURL") == 0)
        v = (struct val){.kind = V_STR,
                         .s = d->external_url ? d->external_url : "",
                         .n = d->external_url ? strlen(d->external_url) : 0};
    for (; i < a->npath; i++) {
        const char *f = a->path[i];
        if (v.kind == V_DATA) {
            if (strcmp(f, "Labels") == 0)
                v = (struct val){.kind = V_MAP, .m = d->labels, .mn = d->nlabels};
            else if (strcmp(f, "ExternalLabels") == 0)
                v = (struct val){.kind = V_MAP, .m = d->external_labels, .mn = d->nexternal_labels};
            else if (strcmp(f, "Value") == 0)
                v = (struct val){.kind = V_NUM, .num = d->value};
            else if (strcmp(f, "ExternalURL") == 0)
                v = (struct val){.kind = V_STR,
                                 .s = d->external_url ? d->external_url : "",
                                 .n = d->external_url ? strlen(d->external_url) : 0};
            else
                return xerr(x, "can't evaluate field %s in type template.tmplData", f);
        } else if (v.kind == V_MAP) {
            struct strv got = labels_get(v.m, v.mn, strv_c(f));
            /* A missing key of a map[string]string is "" in Go. */
            v = (struct val){.kind = V_STR, .s = got.p ? got.p : "", .n = got.n};
        } else {
            return xerr(x, "can't evaluate field %s of a non-struct value", f);
        }
    }
    *out = v;
    return 0;
}

static int to_float(struct exec *x, const struct val *v, double *out)
{
    if (v->kind == V_NUM) {
        *out = v->num;
        return 0;
    }
    if (v->kind == V_STR) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*s", (int)(v->n < 63 ? v->n : 63), v->s);
        char *end = NULL;
        *out = strtod(buf, &end);
        if (end == buf || *end != 0)
            return xerr(x, "strconv.ParseFloat: parsing \"%s\": invalid syntax", buf);
        return 0;
    }
    return xerr(x, "%s", "can't convert value to float");
}

/* Go's %.4g with Go's spelling of NaN and infinities. */
static void g4(char *out, size_t cap, double v, const char *suffix)
{
    if (isnan(v))
        snprintf(out, cap, "NaN%s", suffix);
    else if (isinf(v))
        snprintf(out, cap, "%s%s", v > 0 ? "+Inf" : "-Inf", suffix);
    else
        snprintf(out, cap, "%.4g%s", v, suffix);
}

static int humanize(struct exec *x, const struct val *in, struct val *out, enum func f)
{
    double v = 0;
    int rc = to_float(x, in, &v);
    if (rc != 0)
        return rc;
    char s[96];
    static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    if (f == F_HUMANIZE_PCT) {
        g4(s, sizeof s, v * 100, "%");
    } else if (f == F_HUMANIZE) {
        const char *pre = "";
        if (v == 0 || isnan(v) || isinf(v)) {
            g4(s, sizeof s, v, "");
        } else if (fabs(v) >= 1) {
            for (size_t i = 0; i < 8 && fabs(v) >= 1000; i++) {
                pre = big[i];
                v /= 1000;
            }
            g4(s, sizeof s, v, pre);
        } else {
            for (size_t i = 0; i < 8 && fabs(v) < 1; i++) {
                pre = small[i];
                v *= 1000;
            }
            g4(s, sizeof s, v, pre);
        }
    } else { /* humanizeDuration */
        if (isnan(v) || isinf(v)) {
            g4(s, sizeof s, v, "");
        } else if (v == 0) {
            g4(s, sizeof s, v, "s");
        } else if (fabs(v) >= 1) {
            const char *sign = v < 0 ? "-" : "";
            if (v < 0)
                v = -v;
            /* past int64 (about 292 billion years) the clamp keeps the
             * conversion defined; Go's would wrap */
            int64_t dur = v < 9.2e18 ? (int64_t)v : INT64_MAX;
            int64_t sec = dur % 60, min = (dur / 60) % 60, hr = (dur / 3600) % 24,
                    days = dur / 86400;
            if (days)
                snprintf(s, sizeof s, "%s%" PRId64 "d %" PRId64 "h %" PRId64 "m %" PRId64 "s", sign,
                         days, hr, min, sec);
            else if (hr)
                snprintf(s, sizeof s, "%s%" PRId64 "h %" PRId64 "m %" PRId64 "s", sign, hr, min,
                         sec);
            else if (min)
                snprintf(s, sizeof s, "%s%" PRId64 "m %" PRId64 "s", sign, min, sec);
            else
                snprintf(s, sizeof s, "%s%.4gs", sign, v);
        } else {
            const char *pre = "";
            for (size_t i = 0; i < 8 && fabs(v) < 1; i++) {
                pre = small[i];
                v *= 1000;
            }
            char suf[8];
            snprintf(suf, sizeof suf, "%ss", pre);
            g4(s, sizeof s, v, suf);
        }
    }
    *out = str_val(x, s, strlen(s));
    return 0;
}

static const char *type_name(const struct val *v)
{
    switch (v->kind) {
    case V_STR:
        return "string";
    case V_NUM:
        return v->is_int ? "int" : "float64";
    case V_BOOL:
        return "bool";
    case V_MAP:
        return "map[string]string";
    default:
        return "<nil>";
    }
}

/* Go's fmt.Sprintf for the verbs templates use: %s %v %d %f %e %g %q %%. */
static int do_printf(struct exec *x, const struct val *args, size_t n, struct val *out)
{
    if (n == 0 || args[0].kind != V_STR)
        return xerr(x, "%s", "wrong type for value; expected string");
    struct buf b;
    buf_init(&b, TMPL_MAX_OUTPUT);
    const char *f = args[0].s;
    size_t fn = args[0].n, ai = 1;
    int rc = 0;
    for (size_t i = 0; i < fn && rc == 0; i++) {
        if (f[i] != '%') {
            rc = buf_putc(&b, f[i]);
            continue;
        }
        char spec[32] = "%";
        size_t sn = 1;
        i++;
        while (i < fn && strchr("-+ #0", f[i]) && sn < 8)
            spec[sn++] = f[i++];
        while (i < fn && (isdigit((unsigned char)f[i]) || f[i] == '.') && sn < 20)
            spec[sn++] = f[i++];
        if (i >= fn) {
            rc = buf_puts(&b, "%!(NOVERB)");
            break;
        }
        char verb = f[i];
        if (verb == '%') {
            rc = buf_putc(&b, '%');
            continue;
        }
        if (ai >= n) {
            rc = buf_printf(&b, "%%!%c(MISSING)", verb);
            continue;
        }
        const struct val *a = &args[ai++];
        char tmp[128];
        switch (verb) {
        case 'd':
            if (a->kind == V_NUM && a->is_int) {
                memcpy(spec + sn, "lld", 4);
                rc = buf_printf(&b, spec, int_of(a->num));
            } else {
                struct buf vb;
                buf_init(&vb, 256);
                print_val(&vb, a);
                rc = buf_printf(&b, "%%!d(%s=%s)", type_name(a), vb.p ? vb.p : "");
                buf_fini(&vb);
            }
            break;
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G': {
            double v;
            if (a->kind != V_NUM) {
                struct buf vb;
                buf_init(&vb, 256);
                print_val(&vb, a);
                rc = buf_printf(&b, "%%!%c(%s=%s)", verb, type_name(a), vb.p ? vb.p : "");
                buf_fini(&vb);
                break;
            }
            v = a->num;
            if (isnan(v) || isinf(v)) {
                rc = buf_puts(&b, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
                break;
            }
            spec[sn++] = verb;
            spec[sn] = 0;
            snprintf(tmp, sizeof tmp, spec, v);
            rc = buf_puts(&b, tmp);
            break;
        }
        case 'q': {
            struct buf vb;
            buf_init(&vb, TMPL_MAX_OUTPUT);
            rc = print_val(&vb, a);
            rc |= buf_putc(&b, '"');
            for (size_t k = 0; k < vb.len && rc == 0; k++) {
                char c = vb.p[k];
                rc = (c == '"' || c == '\\') ? buf_printf(&b, "\\%c", c)
                     : c == '\n'             ? buf_puts(&b, "\\n")
                                             : buf_putc(&b, c);
            }
            rc |= buf_putc(&b, '"');
            buf_fini(&vb);
            break;
        }
        default: { /* s, v and anything else: the value's default form, padded */
            struct buf vb;
            buf_init(&vb, TMPL_MAX_OUTPUT);
            rc = print_val(&vb, a);
            if (rc == 0) {
                spec[sn++] = 's';
                spec[sn] = 0;
                rc = buf_printf(&b, spec, vb.p ? vb.p : "");
            }
            buf_fini(&vb);
            break;
        }
        }
    }
    if (rc == 0 && ai < n)
        rc = buf_puts(&b, "%!(EXTRA)");
    if (rc == 0)
        *out = str_val(x, b.p ? b.p : "", b.len);
    buf_fini(&b);
    return rc;
}

static int compare(struct exec *x, enum func f, const struct val *a, const struct val *b, bool *res)
{
    int c;
    if (a->kind == V_NUM && b->kind == V_NUM && a->is_int == b->is_int) {
        c = a->num < b->num ? -1 : a->num > b->num ? 1 : 0;
        if (isnan(a->num) || isnan(b->num))
            c = 2; /* unordered: every comparison but ne is false */
    } else if (a->kind == V_STR && b->kind == V_STR) {
        c = strv_cmp((struct strv){a->s, a->n}, (struct strv){b->s, b->n});
        c = c < 0 ? -1 : c > 0 ? 1 : 0;
    } else if (a->kind == V_BOOL && b->kind == V_BOOL && (f == F_EQ || f == F_NE)) {
        c = a->b == b->b ? 0 : 1;
    } else {
        return xerr(x, "%s", "incompatible types for comparison");
    }
    switch (f) {
    case F_EQ:
        *res = c == 0;
        break;
    case F_NE:
        *res = c != 0;
        break;
    case F_LT:
        *res = c == -1;
        break;
    case F_LE:
        *res = c == -1 || c == 0;
        break;
    case F_GT:
        *res = c == 1;
        break;
    default:
        *res = c == 1 || c == 0;
        break;
    }
    return 0;
}

static int eval_pipe(struct exec *x, const struct pipe *p, struct val *out);

static int eval_arg(struct exec *x, const struct arg *a, struct val *out)
{
    switch (a->kind) {
    case A_STR:
        *out = (struct val){.kind = V_STR, .s = a->s, .n = a->slen};
        return 0;
    case A_NUM:
        *out = (struct val){.kind = V_NUM, .num = a->num, .is_int = a->is_int};
        return 0;
    case A_BOOL:
        *out = (struct val){.kind = V_BOOL, .b = a->b};
        return 0;
    case A_FIELD:
        return field(x, a, out);
    case A_PIPE:
        return eval_pipe(x, a->pipe, out);
    default:
        return xerr(x, "%s", "function used as a value");
    }
}

static int call(struct exec *x, enum func f, const struct val *args, size_t n, struct val *out)
{
    const char *name = func_names[f];
    switch (f) {
    case F_HUMANIZE:
    case F_HUMANIZE_PCT:
    case F_HUMANIZE_DUR:
        if (n != 1)
            return xerr(x, "wrong number of args for %s: want 1", name);
        return humanize(x, &args[0], out, f);
    case F_PRINTF:
        return do_printf(x, args, n, out);
    case F_UPPER:
    case F_LOWER: {
        if (n != 1 || args[0].kind != V_STR)
            return xerr(x, "wrong arguments for %s: want one string", name);
        char *s = arena_strndup(&x->scratch, args[0].s, args[0].n);
        if (s == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < args[0].n; i++)
            s[i] =
                (char)(f == F_UPPER ? toupper((unsigned char)s[i]) : tolower((unsigned char)s[i]));
        *out = (struct val){.kind = V_STR, .s = s, .n = args[0].n};
        return 0;
    }
    case F_EQ: {
        if (n < 2)
            return xerr(x, "wrong number of args for %s: want at least 2", name);
        bool any = false;
        for (size_t i = 1; i < n && !any; i++) {
            int rc = compare(x, F_EQ, &args[0], &args[i], &any);
            if (rc != 0)
                return rc;
        }
        *out = (struct val){.kind = V_BOOL, .b = any};
        return 0;
    }
    case F_NE:
    case F_LT:
    case F_LE:
    case F_GT:
    case F_GE: {
        if (n != 2)
            return xerr(x, "wrong number of args for %s: want 2", name);
        bool r;
        int rc = compare(x, f, &args[0], &args[1], &r);
        if (rc == 0)
            *out = (struct val){.kind = V_BOOL, .b = r};
        return rc;
    }
    case F_AND:
    case F_OR:
        if (n < 1)
            return xerr(x, "wrong number of args for %s: want at least 1", name);
        for (size_t i = 0; i < n; i++)
            if (truth(&args[i]) == (f == F_OR) || i == n - 1) {
                *out = args[i];
                return 0;
            }
        return 0;
    case F_NOT:
        if (n != 1)
            return xerr(x, "wrong number of args for %s: want 1", name);
        *out = (struct val){.kind = V_BOOL, .b = !truth(&args[0])};
        return 0;
    }
    return xerr(x, "%s", "unknown function");
}

static int eval_pipe(struct exec *x, const struct pipe *p, struct val *out)
{
    struct val prev = {.kind = V_NONE};
    for (size_t c = 0; c < p->ncmds; c++) {
        const struct cmd *cm = &p->cmds[c];
        if (cm->args[0].kind != A_FUNC) {
            int rc = eval_arg(x, &cm->args[0], &prev);
            if (rc != 0)
                return rc;
            continue;
        }
        struct val args[17];
        size_t na = 0;
        for (size_t i = 1; i < cm->nargs; i++) {
            int rc = eval_arg(x, &cm->args[i], &args[na++]);
            if (rc != 0)
                return rc;
        }
        if (c > 0)
            args[na++] = prev; /* a pipe passes the value as the last argument */
        int rc = call(x, cm->args[0].func, args, na, &prev);
        if (rc != 0)
            return rc;
    }
    *out = prev;
    return 0;
}

static int run(struct exec *x, const struct node *nd, struct buf *out)
{
    for (; nd; nd = nd->next) {
        int rc = 0;
        struct val v;
        switch (nd->kind) {
        case N_TEXT:
            rc = buf_append(out, nd->text, nd->len);
            break;
        case N_ACTION:
            rc = eval_pipe(x, nd->pipe, &v);
            if (rc == 0)
                rc = print_val(out, &v);
            break;
        case N_IF:
            rc = eval_pipe(x, nd->pipe, &v);
            if (rc == 0)
                rc = run(x, truth(&v) ? nd->then : nd->els, out);
            break;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tmpl_exec(const struct tmpl *t, const struct tmpl_data *d, struct buf *out, struct err *e)
{
    struct exec x = {.d = d, .e = e};
    arena_init(&x.scratch, TMPL_MAX_OUTPUT * 4);
    size_t max = out->max;
    if (out->max == 0 || out->max > out->len + TMPL_MAX_OUTPUT)
        out->max = out->len + TMPL_MAX_OUTPUT;
    int rc = run(&x, t->root, out);
    out->max = max;
    arena_fini(&x.scratch);
    if (rc == TIDE_ELIMIT || rc == -ENOMEM)
        ERR_SET(e, rc, "template output longer than %u bytes", TMPL_MAX_OUTPUT);
    else if (rc != 0 && e->msg[0] == 0) /* a formatting failure (printf of odd bytes) */
        ERR_SET(e, TIDE_EINVAL, "template: cannot format the output (%s)", tide_strerror(rc));
    return rc != 0 && e->code ? e->code : rc;
}
