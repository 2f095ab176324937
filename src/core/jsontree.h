/* jsontree.h: a small JSON tree reader for answers Tide reads back from an
 * HTTP server: the CLI's query and import answers (src/cli/), and rules/'
 * query_backend answers (rules/backend_answer.h). Objects, arrays, strings
 * (escapes decoded, \uXXXX and surrogate pairs to UTF-8, a lone surrogate
 * becomes U+FFFD), numbers (checked against JSON's grammar) and literals
 * kept as their text.
 *
 * Ownership: every node and string lives in the caller's arena and dies
 * with it; the input may be freed after jv_parse() returns.
 * Thread: none (the arena is the caller's).
 */
#ifndef TIDE_CORE_JSONTREE_H
#define TIDE_CORE_JSONTREE_H

#include <stddef.h>

#define JV_MAX_DEPTH 64

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
    enum jv_type t;
    const char *key;  /* member name inside an object, else NULL */
    const char *s;    /* JV_STR: decoded, NUL-terminated; JV_NUM/JV_BOOL: the text */
    size_t n;         /* length of s */
    struct jv *child; /* JV_ARR, JV_OBJ: first element */
    struct jv *next;  /* next sibling */
};

struct arena;
/* Parse p[0..n) (one JSON value, nothing after it but blanks) into a tree
 * allocated in `a`; NULL when it is not JSON, nests deeper than
 * JV_MAX_DEPTH, or the arena runs out. */
const struct jv *jv_parse(const char *p, size_t n, struct arena *a);
/* The member `key` of object `o`; NULL when o is not an object or lacks it. */
const struct jv *jv_member(const struct jv *o, const char *key);
/* The text of a string or number; "" for anything else (or NULL). */
const char *jv_text(const struct jv *v);

#endif
