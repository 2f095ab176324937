/* yaml_tree.c: a YAML document as a tree of positioned nodes (see yaml_tree.h),
 * built from libyaml's event parser, below config.c and every section parser.
 *
 * Building: libyaml reports nodes in document order. A node is complete when
 * it is a scalar, or at the end event of its mapping or list. Complete nodes
 * wait on one shared `pending` stack; each open collection remembers where
 * its children start on it, and at its end event moves them into an array in
 * the arena. So each node is copied once and nothing is allocated per child.
 *
 * A mapping also gets `order`, its pair indices sorted by key bytes, which
 * finds duplicate keys in O(n log n) at build time and serves yaml_tree_get()
 * by binary search; and `used`, one consumed mark per pair, the only memory a
 * reader writes.
 *
 * Invariants: every node has line >= 1 and col >= 1; a mapping holds 2n
 * children (key, value, ...) whose keys are scalars and unique; depth <=
 * YAML_TREE_MAX_DEPTH; no node is shared (aliases are refused), so the tree is
 * a tree and a recursive walk is bounded by the input size.
 */
#include "core/yaml_tree.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/time.h"

enum {
    NODE_PLAIN = 1, /* unquoted and untagged (or !!int, !!bool...): may be a bool or a number */
    NODE_NULL = 2,  /* a null scalar */
};

/* One node. Owner: the tree's arena. Only `used[]` changes after the build. */
struct yaml_node {
    uint8_t kind;            /* enum yaml_tree_kind */
    uint8_t flags;           /* NODE_* (scalars) */
    int line, col;           /* 1-based start position */
    const char *key;         /* key this node sits under (see yaml_tree_key_of) */
    struct yaml_tree *tree;  /* owner, for the arrays yaml_tree_strings() returns */
    const char *text;        /* scalar: NUL-terminated text, no NUL inside */
    size_t len;              /* scalar: strlen(text) */
    struct yaml_node **kids; /* list: n items; mapping: 2n, key then value */
    size_t n;                /* list: items; mapping: pairs */
    uint32_t *order;         /* mapping: pair indices sorted by key bytes */
    unsigned char *used;     /* mapping: 1 once pair i was read */
};

/* Owner of all nodes and strings: one arena, freed in yaml_tree_free(). */
struct yaml_tree {
    struct arena arena;     /* nodes, texts, child arrays */
    struct yaml_node *root; /* NULL for an empty document */
    char *file;             /* malloc'd copy of the name */
};

/* ---------------------------------------------------------------- errors */

static int node_err_v(const struct yaml_node *n, int code, struct err *e, const char *where,
                      bool prefix, const char *fmt, va_list ap)
{
    char msg[sizeof e->msg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int line = n ? n->line : 0;
    int col = n ? n->col : 0;
    if (prefix && n && n->key)
        return err_set_at(e, code, where, line, col, "%.60s: %s", n->key, msg);
    return err_set_at(e, code, where, line, col, "%s", msg);
}

static int node_err(const struct yaml_node *n, int code, struct err *e, const char *where,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* An error at n, its message prefixed with n's key. */
static int node_err(const struct yaml_node *n, int code, struct err *e, const char *where,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = node_err_v(n, code, e, where, true, fmt, ap);
    va_end(ap);
    return rc;
}

#define NODE_ERR(n, code, e, ...) node_err((n), (code), (e), ERR_WHERE, __VA_ARGS__)

int yaml_tree_err(const struct yaml_node *n, int code, struct err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = node_err_v(n, code, e, ERR_WHERE, false, fmt, ap);
    va_end(ap);
    return rc;
}

int yaml_tree_format_err(const struct yaml_tree *t, const struct err *e, char *out, size_t cap)
{
    const char *file = t && t->file ? t->file : "";
    if (e->line > 0)
        return snprintf(out, cap, "%s:%d:%d: %s", file, e->line, e->col, e->msg);
    return snprintf(out, cap, "%s: %s", file, e->msg);
}

/* "a mapping", "null", "\"abc\"": what a reader found instead. */
static const char *describe(const struct yaml_node *n, char *buf, size_t cap)
{
    if (n == NULL)
        return "nothing";
    if (n->kind == YAML_TREE_MAP)
        return "a mapping";
    if (n->kind == YAML_TREE_SEQ)
        return "a list";
    if (n->flags & NODE_NULL)
        return "null";
    snprintf(buf, cap, "\"%.40s%s\"", n->text, n->len > 40 ? "..." : "");
    return buf;
}

/* ---------------------------------------------------------------- building */

struct frame {
    struct yaml_node *node; /* the open mapping or list */
    size_t start;           /* where its children start on `pending` */
};

struct builder {
    struct yaml_tree *t;
    const char *src; /* input, for positions of reader errors */
    size_t srclen;
    struct yaml_node **pending; /* complete nodes whose collection is still open */
    size_t npending, cap;
    struct frame stack[YAML_TREE_MAX_DEPTH];
    int depth;
    int docs;
    struct err *e;
};

static int no_memory(struct builder *b, size_t n)
{
    const struct arena *a = &b->t->arena;
    if (a->total + n + 8 > a->max)
        return ERR_LIMIT(b->e, "the document needs more than %u MiB of memory",
                         YAML_TREE_MAX_BYTES >> 20);
    return ERR_SET(b->e, -ENOMEM, "out of memory");
}

static int set_at_mark(struct err *e, int code, const char *where, const yaml_mark_t *m,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int set_at_mark(struct err *e, int code, const char *where, const yaml_mark_t *m,
                       const char *fmt, ...)
{
    char msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set_at(e, code, where, (int)m->line + 1, (int)m->column + 1, "%s", msg);
}

#define MARK_ERR(e, code, m, ...) set_at_mark((e), (code), ERR_WHERE, (m), __VA_ARGS__)

/* A tag is YAML's own (`!!str`, `tag:yaml.org,2002:...`) or the non-specific
 * `!`; anything else is an application tag Tide does not know. */
static int check_tag(struct builder *b, const yaml_char_t *tag_u, const yaml_mark_t *m,
                     bool *is_str, bool *is_null)
{
    const char *tag = (const char *)tag_u;
    static const char std[] = "tag:yaml.org,2002:";
    *is_str = false;
    *is_null = false;
    if (tag == NULL)
        return 0;
    if (strcmp(tag, "!") == 0) {
        *is_str = true;
        return 0;
    }
    if (strncmp(tag, std, sizeof std - 1) != 0)
        return MARK_ERR(b->e, TIDE_EPARSE, m, "unsupported tag \"%.60s\"", tag);
    *is_str = strcmp(tag + sizeof std - 1, "str") == 0;
    *is_null = strcmp(tag + sizeof std - 1, "null") == 0;
    return 0;
}

static struct yaml_node *new_node(struct builder *b, enum yaml_tree_kind kind, const yaml_mark_t *m)
{
    struct yaml_node *n = arena_alloc(&b->t->arena, sizeof *n);
    if (n == NULL)
        return NULL;
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    n->tree = b->t;
    if (b->depth > 0) {
        const struct frame *f = &b->stack[b->depth - 1];
        if (f->node->kind == YAML_TREE_SEQ)
            n->key = f->node->key;
        else if ((b->npending - f->start) % 2 == 1)
            n->key = b->pending[b->npending - 1]->text;
    }
    return n;
}

/* True when the next complete node will be a key of the innermost mapping. */
static bool at_key(const struct builder *b)
{
    if (b->depth == 0)
        return false;
    const struct frame *f = &b->stack[b->depth - 1];
    return f->node->kind == YAML_TREE_MAP && (b->npending - f->start) % 2 == 0;
}

/* A complete node: the root, or a child of the innermost open collection. */
static int add(struct builder *b, struct yaml_node *n)
{
    if (b->depth == 0) {
        b->t->root = n;
        return 0;
    }
    if (b->npending == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct yaml_node **p = realloc(b->pending, cap * sizeof *p);
        if (p == NULL)
            return ERR_SET(b->e, -ENOMEM, "out of memory");
        b->pending = p;
        b->cap = cap;
    }
    b->pending[b->npending++] = n;
    return 0;
}

static int keycmp(const struct yaml_node *a, const char *k, size_t kn)
{
    size_t m = a->len < kn ? a->len : kn;
    int c = memcmp(a->text, k, m);
    if (c != 0)
        return c;
    return a->len < kn ? -1 : a->len > kn;
}

struct sort_item {
    const struct yaml_node *key;
    uint32_t i;
};

static int sort_cmp(const void *pa, const void *pb)
{
    const struct sort_item *a = pa, *b = pb;
    int c = keycmp(a->key, b->key->text, b->key->len);
    if (c != 0)
        return c;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Sort a finished mapping's keys into `order`; refuse the duplicate key that
 * comes first in the file, naming where the key was first given. */
static int index_map(struct builder *b, struct yaml_node *map)
{
    size_t n = map->n;
    map->order = arena_alloc(&b->t->arena, n * sizeof *map->order);
    map->used = arena_alloc(&b->t->arena, n);
    if (map->order == NULL || map->used == NULL)
        return no_memory(b, n * (sizeof *map->order + 1));
    memset(map->used, 0, n);
    if (n == 0)
        return 0;
    struct sort_item *s = malloc(n * sizeof *s);
    if (s == NULL)
        return ERR_SET(b->e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        s[i].key = map->kids[2 * i];
        s[i].i = (uint32_t)i;
    }
    qsort(s, n, sizeof *s, sort_cmp);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 0; i < n; i++) {
        map->order[i] = s[i].i;
        if (i > 0 && keycmp(s[i - 1].key, s[i].key->text, s[i].key->len) == 0 &&
            (i < 2 || keycmp(s[i - 2].key, s[i].key->text, s[i].key->len) != 0) && s[i].i < dup) {
            dup = s[i].i;
            first = s[i - 1].i;
        }
    }
    free(s);
    if (dup == SIZE_MAX)
        return 0;
    const struct yaml_node *k = map->kids[2 * dup];
    const struct yaml_node *k0 = map->kids[2 * first];
    return err_set_at(b->e, TIDE_EPARSE, ERR_WHERE, k->line, k->col,
                      "duplicate key \"%.60s\" (first given at %d:%d)", k->text, k0->line, k0->col);
}

static int open_collection(struct builder *b, enum yaml_tree_kind kind, const yaml_event_t *ev,
                           const yaml_char_t *tag)
{
    const yaml_mark_t *m = &ev->start_mark;
    bool is_str, is_null;
    int rc = check_tag(b, tag, m, &is_str, &is_null);
    if (rc != 0)
        return rc;
    if (at_key(b))
        return MARK_ERR(b->e, TIDE_EPARSE, m, "a key must be a scalar, not %s",
                        kind == YAML_TREE_MAP ? "a mapping" : "a list");
    if (b->depth == YAML_TREE_MAX_DEPTH)
        return MARK_ERR(b->e, TIDE_ELIMIT, m, "nested deeper than %d levels", YAML_TREE_MAX_DEPTH);
    struct yaml_node *n = new_node(b, kind, m);
    if (n == NULL)
        return no_memory(b, sizeof *n);
    b->stack[b->depth].node = n;
    b->stack[b->depth].start = b->npending;
    b->depth++;
    return 0;
}

static int close_collection(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    struct yaml_node *n = f->node;
    size_t nkids = b->npending - f->start;
    if (nkids > 0) {
        n->kids = arena_alloc(&b->t->arena, nkids * sizeof *n->kids);
        if (n->kids == NULL)
            return no_memory(b, nkids * sizeof *n->kids);
        memcpy(n->kids, b->pending + f->start, nkids * sizeof *n->kids);
    }
    b->npending = f->start;
    if (n->kind == YAML_TREE_MAP) {
        if (nkids % 2 != 0) /* libyaml gives an empty scalar for a missing value */
            return err_set_at(b->e, TIDE_EPARSE, ERR_WHERE, n->line, n->col,
                              "a key without a value");
        n->n = nkids / 2;
        int rc = index_map(b, n);
        if (rc != 0)
            return rc;
    } else {
        n->n = nkids;
    }
    return add(b, n);
}

static bool is_null_text(const char *s)
{
    return s[0] == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    bool is_str, is_null;
    int rc = check_tag(b, ev->data.scalar.tag, m, &is_str, &is_null);
    if (rc != 0)
        return rc;
    if (memchr(v, 0, len) != NULL)
        return MARK_ERR(b->e, TIDE_EPARSE, m, "a NUL character is not allowed in a value");
    struct yaml_node *n = new_node(b, YAML_TREE_SCALAR, m);
    if (n == NULL)
        return no_memory(b, sizeof *n);
    n->text = arena_strndup(&b->t->arena, v, len);
    if (n->text == NULL)
        return no_memory(b, len + 1);
    n->len = len;
    bool plain = ev->data.scalar.tag ? !is_str : ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (plain)
        n->flags |= NODE_PLAIN;
    if (is_null || (plain && is_null_text(n->text)))
        n->flags |= NODE_NULL;
    return add(b, n);
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->docs > 1)
            return MARK_ERR(b->e, TIDE_EPARSE, &ev->start_mark,
                            "only one YAML document is allowed");
        return 0;
    case YAML_ALIAS_EVENT:
        return MARK_ERR(b->e, TIDE_EPARSE, &ev->start_mark,
                        "aliases are not allowed (*%.40s): repeat the value",
                        (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return open_collection(b, YAML_TREE_SEQ, ev, ev->data.sequence_start.tag);
    case YAML_MAPPING_START_EVENT:
        return open_collection(b, YAML_TREE_MAP, ev, ev->data.mapping_start.tag);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return close_collection(b);
    default:
        return 0;
    }
}

/* libyaml's own complaint, where it found it. A reader error (bad UTF-8, a
 * control character) has only a byte offset: turn it into line and column. */
static int syntax_error(struct builder *b, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return ERR_SET(b->e, -ENOMEM, "out of memory");
    int line = (int)p->problem_mark.line + 1;
    int col = (int)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {
        size_t off = p->problem_offset < b->srclen ? p->problem_offset : b->srclen;
        line = 1;
        col = 1;
        for (size_t i = 0; i < off; i++) {
            if (b->src[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
    }
    return err_set_at(b->e, TIDE_EPARSE, ERR_WHERE, line, col, "invalid YAML: %s%s%s",
                      p->problem ? p->problem : "syntax error", p->context ? " " : "",
                      p->context ? p->context : "");
}

int yaml_tree_parse(const char *src, size_t len, const char *file, struct yaml_tree **out,
                    struct err *e)
{
    *out = NULL;
    if (len > YAML_TREE_MAX_INPUT)
        return ERR_LIMIT(e, "larger than %u MiB", YAML_TREE_MAX_INPUT >> 20);
    struct yaml_tree *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    arena_init(&t->arena, YAML_TREE_MAX_BYTES);
    t->file = strdup(file ? file : "");
    yaml_parser_t p;
    if (t->file == NULL || !yaml_parser_initialize(&p)) {
        yaml_tree_free(t);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)src, len);

    struct builder b = {.t = t, .src = src, .srclen = len, .e = e};
    int rc = 0;
    bool done = false;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(&b, &p);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    free(b.pending);
    if (rc != 0) {
        yaml_tree_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int yaml_tree_load(const char *path, struct yaml_tree **out, struct err *e)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int rc = -errno;
        return err_set_at(e, rc, ERR_WHERE, 0, 0, "%s: %s", path, strerror(-rc));
    }
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : ERR_SET(e, -ENOMEM, "%s: out of memory", path);
    while (rc == 0 && n <= YAML_TREE_MAX_INPUT) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                rc = ERR_SET(e, -ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0 && ferror(f)) {
            int en = errno ? errno : EIO;
            rc = err_set_at(e, -en, ERR_WHERE, 0, 0, "%s: %s", path, strerror(en));
        }
        if (got == 0)
            break;
    }
    fclose(f);
    if (rc == 0 && n > YAML_TREE_MAX_INPUT)
        rc = ERR_LIMIT(e, "%s: larger than %u MiB", path, YAML_TREE_MAX_INPUT >> 20);
    if (rc == 0)
        rc = yaml_tree_parse(buf, n, path, out, e);
    free(buf);
    return rc;
}

void yaml_tree_free(struct yaml_tree *t)
{
    if (t == NULL)
        return;
    arena_fini(&t->arena);
    free(t->file);
    free(t);
}

const struct yaml_node *yaml_tree_root(const struct yaml_tree *t)
{
    return t ? t->root : NULL;
}

const char *yaml_tree_file(const struct yaml_tree *t)
{
    return t && t->file ? t->file : "";
}

/* ---------------------------------------------------------------- shape */

enum yaml_tree_kind yaml_tree_kind(const struct yaml_node *n)
{
    return n ? (enum yaml_tree_kind)n->kind : (enum yaml_tree_kind)0;
}

int yaml_tree_line(const struct yaml_node *n)
{
    return n ? n->line : 0;
}

int yaml_tree_col(const struct yaml_node *n)
{
    return n ? n->col : 0;
}

const char *yaml_tree_key_of(const struct yaml_node *n)
{
    return n ? n->key : NULL;
}

bool yaml_tree_is_null(const struct yaml_node *n)
{
    return n == NULL || (n->kind == YAML_TREE_SCALAR && (n->flags & NODE_NULL));
}

const char *yaml_tree_text(const struct yaml_node *n)
{
    return n && n->kind == YAML_TREE_SCALAR ? n->text : NULL;
}

size_t yaml_tree_len(const struct yaml_node *n)
{
    return n && n->kind != YAML_TREE_SCALAR ? n->n : 0;
}

const struct yaml_node *yaml_tree_item(const struct yaml_node *seq, size_t i)
{
    if (seq == NULL || seq->kind != YAML_TREE_SEQ || i >= seq->n)
        return NULL;
    return seq->kids[i];
}

const struct yaml_node *yaml_tree_pair(const struct yaml_node *map, size_t i,
                                       const struct yaml_node **value)
{
    *value = NULL;
    if (map == NULL || map->kind != YAML_TREE_MAP || i >= map->n)
        return NULL;
    map->used[i] = 1;
    *value = map->kids[2 * i + 1];
    return map->kids[2 * i];
}

/* Index of the pair under `key`, or -1. */
static long find(const struct yaml_node *map, const char *key)
{
    if (map == NULL || map->kind != YAML_TREE_MAP)
        return -1;
    size_t kn = strlen(key);
    size_t lo = 0, hi = map->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = keycmp(map->kids[2 * map->order[mid]], key, kn);
        if (c == 0)
            return (long)map->order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const struct yaml_node *yaml_tree_get(const struct yaml_node *map, const char *key)
{
    long i = find(map, key);
    if (i < 0)
        return NULL;
    map->used[i] = 1;
    return map->kids[2 * i + 1];
}

void yaml_tree_consume(const struct yaml_node *map, const char *key)
{
    (void)yaml_tree_get(map, key);
}

int yaml_tree_expect(const struct yaml_node *n, enum yaml_tree_kind kind, struct err *e)
{
    if (n == NULL || n->kind == kind)
        return 0;
    if (kind != YAML_TREE_SCALAR && yaml_tree_is_null(n))
        return 0;
    char buf[64];
    static const char *const want[] = {"", "a scalar", "a list", "a mapping"};
    return NODE_ERR(n, TIDE_EINVAL, e, "expected %s, got %s", want[kind & 3],
                    describe(n, buf, sizeof buf));
}

int yaml_tree_check_keys(const struct yaml_node *map, struct err *e)
{
    if (map == NULL || map->kind != YAML_TREE_MAP)
        return 0;
    for (size_t i = 0; i < map->n; i++) {
        if (map->used[i])
            continue;
        const struct yaml_node *k = map->kids[2 * i];
        if (map->key)
            return err_set_at(e, TIDE_ENOTFOUND, ERR_WHERE, k->line, k->col,
                              "unknown key \"%.60s\" in %.60s", k->text, map->key);
        return err_set_at(e, TIDE_ENOTFOUND, ERR_WHERE, k->line, k->col, "unknown key \"%.60s\"",
                          k->text);
    }
    return 0;
}

/* ---------------------------------------------------------------- typed reads */

int yaml_tree_str(const struct yaml_node *n, const char **out, struct err *e)
{
    char buf[64];
    if (n == NULL || n->kind != YAML_TREE_SCALAR)
        return NODE_ERR(n, TIDE_EINVAL, e, "expected a string, got %s",
                        describe(n, buf, sizeof buf));
    *out = (n->flags & NODE_NULL) ? "" : n->text;
    return 0;
}

int yaml_tree_bool(const struct yaml_node *n, bool *out, struct err *e)
{
    static const char *const yes[] = {"true", "True", "TRUE", "y",  "Y", "yes",
                                      "Yes",  "YES",  "on",   "On", "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "n",   "N",  "no",
                                     "No",    "NO",    "off",   "Off", "OFF"};
    char buf[64];
    if (n == NULL || n->kind != YAML_TREE_SCALAR || (n->flags & NODE_NULL))
        return NODE_ERR(n, TIDE_EINVAL, e, "expected true or false, got %s",
                        describe(n, buf, sizeof buf));
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        bool y = strcmp(n->text, yes[i]) == 0;
        if (!y && strcmp(n->text, no[i]) != 0)
            continue;
        if (!(n->flags & NODE_PLAIN))
            break;
        *out = y;
        return 0;
    }
    if (!(n->flags & NODE_PLAIN))
        return NODE_ERR(n, TIDE_EINVAL, e, "expected true or false, got the quoted string %s",
                        describe(n, buf, sizeof buf));
    return NODE_ERR(n, TIDE_EINVAL, e, "expected true or false, got %s",
                    describe(n, buf, sizeof buf));
}

int yaml_tree_int(const struct yaml_node *n, int64_t min, int64_t max, int64_t *out, struct err *e)
{
    char buf[64];
    if (n == NULL || n->kind != YAML_TREE_SCALAR || (n->flags & NODE_NULL) ||
        !(n->flags & NODE_PLAIN))
        return NODE_ERR(n, TIDE_EINVAL, e, "expected an integer, got %s%s",
                        n && n->kind == YAML_TREE_SCALAR && !(n->flags & NODE_PLAIN)
                            ? "the quoted string "
                            : "",
                        describe(n, buf, sizeof buf));
    const char *s = n->text;
    const char *d = s + (s[0] == '+' || s[0] == '-');
    bool hex = d[0] == '0' && (d[1] == 'x' || d[1] == 'X');
    const char *digits = hex ? d + 2 : d;
    bool ok = digits[0] != 0;
    for (const char *c = digits; ok && *c; c++)
        ok = hex ? (*c >= '0' && *c <= '9') || ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'f')
                 : *c >= '0' && *c <= '9';
    if (!ok)
        return NODE_ERR(n, TIDE_EINVAL, e, "expected an integer, got %s",
                        describe(n, buf, sizeof buf));
    errno = 0;
    long long v = strtoll(s, NULL, hex ? 16 : 10);
    if (errno == ERANGE || v < min || v > max)
        return NODE_ERR(n, TIDE_EINVAL, e, "%.40s is out of range %" PRId64 "..%" PRId64, s, min,
                        max);
    *out = v;
    return 0;
}

int yaml_tree_duration(const struct yaml_node *n, int64_t *out_ms, struct err *e)
{
    char buf[64];
    if (n == NULL || n->kind != YAML_TREE_SCALAR || (n->flags & NODE_NULL))
        return NODE_ERR(n, TIDE_EINVAL, e, "expected a duration (e.g. 1m30s), got %s",
                        describe(n, buf, sizeof buf));
    struct err de = {0};
    int64_t ms;
    if (time_parse_duration_ms(n->text, &ms, &de) != 0 || ms < 0)
        return NODE_ERR(n, TIDE_EINVAL, e, "%s (e.g. 30s, 5m, 1h30m)",
                        de.msg[0] ? de.msg : "negative duration");
    *out_ms = ms;
    return 0;
}

int yaml_tree_size(const struct yaml_node *n, uint64_t *out_bytes, struct err *e)
{
    char buf[64];
    if (n == NULL || n->kind != YAML_TREE_SCALAR || (n->flags & NODE_NULL))
        return NODE_ERR(n, TIDE_EINVAL, e, "expected a size (e.g. 64MiB), got %s",
                        describe(n, buf, sizeof buf));
    struct err se = {0};
    int rc = config_parse_size(n->key ? n->key : "size", n->text, out_bytes, &se);
    if (rc != 0)
        return err_set_at(e, rc, se.where, n->line, n->col, "%s", se.msg);
    return 0;
}

int yaml_tree_strings(const struct yaml_node *n, const char *const **out, size_t *count,
                      struct err *e)
{
    static const char *const empty[] = {NULL};
    char buf[64];
    if (yaml_tree_is_null(n)) {
        *out = empty;
        *count = 0;
        return 0;
    }
    if (n->kind != YAML_TREE_SEQ)
        return NODE_ERR(n, TIDE_EINVAL, e, "expected a list of strings, got %s",
                        describe(n, buf, sizeof buf));
    const char **v = arena_alloc(&n->tree->arena, (n->n + 1) * sizeof *v);
    if (v == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        int rc = yaml_tree_str(n->kids[i], &v[i], e);
        if (rc != 0)
            return rc;
    }
    v[n->n] = NULL;
    *out = v;
    *count = n->n;
    return 0;
}

/* ---------------------------------------------------------------- reads under a key */

/* The value under key, NULL when absent or null (the default stays). */
static const struct yaml_node *value_of(const struct yaml_node *map, const char *key)
{
    const struct yaml_node *v = yaml_tree_get(map, key);
    return yaml_tree_is_null(v) ? NULL : v;
}

int yaml_tree_get_str(const struct yaml_node *map, const char *key, const char **out, struct err *e)
{
    const struct yaml_node *v = value_of(map, key);
    return v ? yaml_tree_str(v, out, e) : 0;
}

int yaml_tree_get_bool(const struct yaml_node *map, const char *key, bool *out, struct err *e)
{
    const struct yaml_node *v = value_of(map, key);
    return v ? yaml_tree_bool(v, out, e) : 0;
}

int yaml_tree_get_int(const struct yaml_node *map, const char *key, int64_t min, int64_t max,
                      int64_t *out, struct err *e)
{
    const struct yaml_node *v = value_of(map, key);
    return v ? yaml_tree_int(v, min, max, out, e) : 0;
}

int yaml_tree_get_duration(const struct yaml_node *map, const char *key, int64_t *out_ms,
                           struct err *e)
{
    const struct yaml_node *v = value_of(map, key);
    return v ? yaml_tree_duration(v, out_ms, e) : 0;
}

int yaml_tree_get_size(const struct yaml_node *map, const char *key, uint64_t *out_bytes,
                       struct err *e)
{
    const struct yaml_node *v = value_of(map, key);
    return v ? yaml_tree_size(v, out_bytes, e) : 0;
}

int yaml_tree_get_strings(const struct yaml_node *map, const char *key, const char *const **out,
                          size_t *count, struct err *e)
{
    const struct yaml_node *v = value_of(map, key);
    return v ? yaml_tree_strings(v, out, count, e) : 0;
}

int yaml_tree_require(const struct yaml_node *map, const char *key, const struct yaml_node **out,
                      struct err *e)
{
    *out = NULL;
    const struct yaml_node *v = yaml_tree_get(map, key);
    if (v == NULL)
        return NODE_ERR(map, TIDE_EINVAL, e, "missing key \"%.60s\"", key);
    if (yaml_tree_is_null(v))
        return NODE_ERR(v, TIDE_EINVAL, e, "missing value");
    *out = v;
    return 0;
}

int yaml_tree_require_str(const struct yaml_node *map, const char *key, const char **out,
                          struct err *e)
{
    const struct yaml_node *v;
    int rc = yaml_tree_require(map, key, &v, e);
    return rc != 0 ? rc : yaml_tree_str(v, out, e);
}
