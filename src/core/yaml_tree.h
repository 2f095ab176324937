/* yaml_tree.h: a YAML document read whole into a tree of mappings, lists and
 * scalars, each node knowing its 1-based line and column, with typed readers
 * whose errors point at the node at fault. It is how Tide reads configuration
 * written in the shapes users copy from Prometheus (scrape_configs,
 * rule_files, alerting, remote_write) and its own sections (docs/config.md).
 *
 * What the parser refuses, with the position of the offending node:
 *   - invalid YAML, a second document                         TIDE_EPARSE
 *   - a duplicate key in a mapping (both positions named)      TIDE_EPARSE
 *   - an alias (`*name`): anchors are accepted and ignored,    TIDE_EPARSE
 *     aliases (and so merge keys `<<: *x`) are not; repeat the value
 *   - a key that is a mapping or a list                        TIDE_EPARSE
 *   - a tag outside YAML's own `!!` set (`!vault x`)           TIDE_EPARSE
 *   - a NUL character in a scalar                              TIDE_EPARSE
 *   - nesting deeper than YAML_TREE_MAX_DEPTH, input larger    TIDE_ELIMIT
 *     than YAML_TREE_MAX_INPUT, a tree over YAML_TREE_MAX_BYTES
 *
 * Reading a section, the way Prometheus refuses unknown fields:
 *
 *     const struct yaml_node *m = yaml_tree_item(targets, i);
 *     const char *addr = NULL;
 *     int64_t every_ms = 60000;                         // the default
 *     if (yaml_tree_expect(m, YAML_TREE_MAP, e) != 0 ||
 *         yaml_tree_require_str(m, "address", &addr, e) != 0 ||
 *         yaml_tree_get_duration(m, "interval", &every_ms, e) != 0 ||
 *         yaml_tree_check_keys(m, e) != 0)              // "unknown key "adress""
 *         return e->code;
 *
 * Every reader of a key marks it consumed; yaml_tree_check_keys() then names
 * the first key in file order that no reader asked for.
 *
 * Errors: `e->line`/`e->col` are the node's 1-based position, `e->msg` says
 * what is wrong, prefixed with the key the node sits under when there is one
 * ("interval: \"5x\" is not a duration ..."). The file name is not in the
 * message: print it with yaml_tree_format_err() as "file:line:col: msg".
 * Type mismatches are TIDE_EINVAL, an unknown key TIDE_ENOTFOUND, a missing
 * required key TIDE_EINVAL.
 *
 * Ownership: a struct yaml_tree owns every node and every string reachable
 * from it (one arena); yaml_tree_free() releases them all at once. Node
 * pointers and the strings the readers return are valid until then.
 * Thread: none. Readers are not safe to run concurrently on one tree, as they
 * write the consumed-key marks (the only state a reader changes).
 */
#ifndef TIDE_CORE_YAML_TREE_H
#define TIDE_CORE_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define YAML_TREE_MAX_INPUT (8u << 20)   /* bytes of YAML text */
#define YAML_TREE_MAX_BYTES (128u << 20) /* memory of one tree */
#define YAML_TREE_MAX_DEPTH 64           /* nested mappings and lists */

struct yaml_tree;
struct yaml_node;

enum yaml_tree_kind {
    YAML_TREE_SCALAR = 1, /* a string, number, bool or null: text only */
    YAML_TREE_SEQ,        /* a list */
    YAML_TREE_MAP,        /* a mapping of scalar keys, unique, in file order */
};

/* Parse n bytes of YAML (UTF-8, or UTF-16 with a BOM). `file` names the input
 * in yaml_tree_format_err() (copied). An empty stream, or one holding only
 * comments, gives a tree whose root is NULL. On success *out is the tree,
 * freed with yaml_tree_free(); on failure *out is NULL and `e` has the
 * position. -ENOMEM when the allocator fails. */
int yaml_tree_parse(const char *p, size_t n, const char *file, struct yaml_tree **out,
                    struct err *e);

/* yaml_tree_parse() of a file's contents. -errno when it cannot be read
 * (message "path: reason", line 0). */
int yaml_tree_load(const char *path, struct yaml_tree **out, struct err *e);

/* Free the tree and everything it owns. NULL is a no-op. */
void yaml_tree_free(struct yaml_tree *t);

/* The document's top node, NULL for an empty document. */
const struct yaml_node *yaml_tree_root(const struct yaml_tree *t);

/* The name given to yaml_tree_parse(), or the path given to yaml_tree_load(). */
const char *yaml_tree_file(const struct yaml_tree *t);

/* Write "file:line:col: msg" (or "file: msg" when e->line is 0) into out, as
 * snprintf() does; returns what snprintf() returns. `t` may be NULL ("" file). */
int yaml_tree_format_err(const struct yaml_tree *t, const struct err *e, char *out, size_t cap);

/* --- Shape of a node. Every function here accepts NULL (an absent node). --- */

enum yaml_tree_kind yaml_tree_kind(const struct yaml_node *n); /* 0 for NULL */
int yaml_tree_line(const struct yaml_node *n);                 /* 1-based; 0 for NULL */
int yaml_tree_col(const struct yaml_node *n);                  /* 1-based; 0 for NULL */

/* The key this node is the value of ("interval"), or for a list item the key
 * of its list ("rule_files"); NULL at the root. Used to prefix messages. */
const char *yaml_tree_key_of(const struct yaml_node *n);

/* True for NULL and for a null scalar: `key:`, `key: ~`, `key: null`
 * (plain, or tagged !!null). A quoted "" or "null" is a string, not null. */
bool yaml_tree_is_null(const struct yaml_node *n);

/* The text of a scalar exactly as the document spells it once unquoted,
 * also for null ("", "~", "null"); NULL for a mapping or a list. */
const char *yaml_tree_text(const struct yaml_node *n);

/* Items in a list, pairs in a mapping; 0 for a scalar. */
size_t yaml_tree_len(const struct yaml_node *n);

/* Item i of a list (i < yaml_tree_len()), NULL otherwise. */
const struct yaml_node *yaml_tree_item(const struct yaml_node *seq, size_t i);

/* Pair i of a mapping in file order: returns the key node (a scalar; its
 * text via yaml_tree_text()) and sets *value. Marks the key consumed. NULL
 * (and *value NULL) when i is out of range or `map` is not a mapping. */
const struct yaml_node *yaml_tree_pair(const struct yaml_node *map, size_t i,
                                       const struct yaml_node **value);

/* The value under `key` (bytes compared exactly), NULL when absent or when
 * `map` is not a mapping. Marks the key consumed. O(log n). */
const struct yaml_node *yaml_tree_get(const struct yaml_node *map, const char *key);

/* Mark `key` consumed without reading it (a key that is read elsewhere). */
void yaml_tree_consume(const struct yaml_node *map, const char *key);

/* 0 when n is of `kind`, absent (NULL), or null where a mapping or a list is
 * expected (an empty section). Otherwise TIDE_EINVAL at n:
 * "targets: expected a list, got a mapping". */
int yaml_tree_expect(const struct yaml_node *n, enum yaml_tree_kind kind, struct err *e);

/* The first key of `map` in file order that no reader consumed:
 * TIDE_ENOTFOUND at that key, "unknown key \"adress\" in targets" (the part
 * from "in" on when the mapping sits under a key). 0 when all were read, when
 * `map` is NULL or not a mapping. Not recursive: call it on each mapping. */
int yaml_tree_check_keys(const struct yaml_node *map, struct err *e);

/* Fill `e` with `code` at n's position (line 0 for NULL) and return `code`:
 * for a section parser's own checks ("kind: \"snmp3\" is not one of ..."). */
int yaml_tree_err(const struct yaml_node *n, int code, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* --- Typed reads of a node. 0 and *out set, or TIDE_EINVAL at the node and
 * *out untouched. Results point into the tree (valid until yaml_tree_free()).
 * A NULL node is "expected X, got nothing". --- */

/* Any scalar, as text ("5", "true", "a b"); a null scalar reads as "". */
int yaml_tree_str(const struct yaml_node *n, const char **out, struct err *e);

/* A plain (unquoted) scalar, as Prometheus' YAML reads a bool: true/false,
 * True/False, TRUE/FALSE (YAML 1.2) and the YAML 1.1 forms y/n, yes/no,
 * on/off in the same three cases. Quoted "true" is a string, refused. */
int yaml_tree_bool(const struct yaml_node *n, bool *out, struct err *e);

/* A plain scalar holding a decimal integer with an optional sign, or 0x hex,
 * within [min, max]. */
int yaml_tree_int(const struct yaml_node *n, int64_t min, int64_t max, int64_t *out, struct err *e);

/* A duration ("1m30s", "5m", "500ms", "0"; core/time.h's syntax), >= 0. */
int yaml_tree_duration(const struct yaml_node *n, int64_t *out_ms, struct err *e);

/* A size ("64MiB", "10MB", "1048576"; config_parse_size()'s syntax). */
int yaml_tree_size(const struct yaml_node *n, uint64_t *out_bytes, struct err *e);

/* A list of scalars ("rule_files: [a.yml, rules/x.yml]"), as an array of *count
 * strings in the tree, NULL-terminated. A null node is the empty list; a
 * single scalar is refused (write it as a one-item list). */
int yaml_tree_strings(const struct yaml_node *n, const char *const **out, size_t *count,
                      struct err *e);

/* --- The same reads under a key of a mapping: yaml_tree_get() then the read.
 * An absent key, or one with a null value, leaves *out untouched and returns 0,
 * so the caller presets the default. `map` may be NULL (an absent section).
 * The _require_ forms refuse an absent or null key: TIDE_EINVAL at the
 * mapping, "targets: missing key \"address\"". --- */

int yaml_tree_get_str(const struct yaml_node *map, const char *key, const char **out,
                      struct err *e);
int yaml_tree_get_bool(const struct yaml_node *map, const char *key, bool *out, struct err *e);
int yaml_tree_get_int(const struct yaml_node *map, const char *key, int64_t min, int64_t max,
                      int64_t *out, struct err *e);
int yaml_tree_get_duration(const struct yaml_node *map, const char *key, int64_t *out_ms,
                           struct err *e);
int yaml_tree_get_size(const struct yaml_node *map, const char *key, uint64_t *out_bytes,
                       struct err *e);
int yaml_tree_get_strings(const struct yaml_node *map, const char *key, const char *const **out,
                          size_t *count, struct err *e);

/* The value under `key`, refusing an absent or null one (see above). */
int yaml_tree_require(const struct yaml_node *map, const char *key, const struct yaml_node **out,
                      struct err *e);
int yaml_tree_require_str(const struct yaml_node *map, const char *key, const char **out,
                          struct err *e);

#endif
