/* fuzz/yaml_tree.c: yaml_tree_parse() on arbitrary bytes (core/yaml_tree.c).
 * Checks, beyond "no crash, no leak":
 *   - a failure leaves *out NULL and says where: a parse error has line and
 *     column >= 1 and a message;
 *   - every node has line and column >= 1, depth <= YAML_TREE_MAX_DEPTH, and
 *     no node starts before its parent nor a value before its key;
 *   - mapping keys are scalars and unique: yaml_tree_get() of each key finds
 *     that very pair;
 *   - every typed reader either succeeds or fails at the node it read;
 *   - parse -> print (flow YAML, every scalar double-quoted and escaped) ->
 *     parse gives the same tree (kinds, texts, null-ness);
 *   - yaml_tree_free() releases it all (LeakSanitizer in the replay build). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/yaml_tree.h"

static int before(const struct yaml_node *a, const struct yaml_node *b)
{
    return yaml_tree_line(a) < yaml_tree_line(b) ||
           (yaml_tree_line(a) == yaml_tree_line(b) && yaml_tree_col(a) < yaml_tree_col(b));
}

static void check_readers(const struct yaml_node *n)
{
    struct err e = {0};
    const char *s;
    bool b;
    int64_t i;
    uint64_t u;
    const char *const *list;
    size_t cnt;
    int rcs[6] = {
        yaml_tree_str(n, &s, &e),
        yaml_tree_bool(n, &b, &e),
        yaml_tree_int(n, INT64_MIN, INT64_MAX, &i, &e),
        yaml_tree_duration(n, &i, &e),
        yaml_tree_size(n, &u, &e),
        yaml_tree_strings(n, &list, &cnt, &e),
    };
    for (int k = 0; k < 6; k++) {
        err_clear(&e);
        if (rcs[k] == 0)
            continue;
        assert(rcs[k] == TIDE_EINVAL || rcs[k] == -12 /* ENOMEM */);
    }
    /* repeat one failing read to look at its error */
    if (yaml_tree_duration(n, &i, &e) != 0) {
        assert(e.line == yaml_tree_line(n) && e.col == yaml_tree_col(n));
        assert(e.msg[0] != 0);
    }
    if (yaml_tree_kind(n) == YAML_TREE_SCALAR) {
        assert(rcs[0] == 0);
        assert(yaml_tree_text(n) != NULL);
    }
}

static void check(const struct yaml_node *n, int depth)
{
    assert(n != NULL);
    assert(depth <= YAML_TREE_MAX_DEPTH);
    assert(yaml_tree_line(n) >= 1 && yaml_tree_col(n) >= 1);
    check_readers(n);
    size_t len = yaml_tree_len(n);
    switch (yaml_tree_kind(n)) {
    case YAML_TREE_SCALAR:
        assert(len == 0);
        break;
    case YAML_TREE_SEQ:
        for (size_t i = 0; i < len; i++) {
            const struct yaml_node *it = yaml_tree_item(n, i);
            assert(!before(it, n));
            check(it, depth + 1);
        }
        assert(yaml_tree_item(n, len) == NULL);
        break;
    case YAML_TREE_MAP:
        for (size_t i = 0; i < len; i++) {
            const struct yaml_node *v;
            const struct yaml_node *k = yaml_tree_pair(n, i, &v);
            assert(k != NULL && v != NULL);
            assert(yaml_tree_kind(k) == YAML_TREE_SCALAR);
            assert(!before(k, n) && !before(v, k));
            assert(yaml_tree_get(n, yaml_tree_text(k)) == v);
            check(k, depth + 1);
            check(v, depth + 1);
        }
        break;
    default:
        assert(0);
    }
}

/* One UTF-8 code point at p (well-formed: libyaml decoded and re-encoded it). */
static uint32_t utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int extra = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
    if (extra > 0)
        c &= 0x3f >> extra;
    for (int i = 1; i <= extra; i++) {
        assert((s[i] & 0xc0) == 0x80);
        c = (c << 6) | (s[i] & 0x3f);
    }
    *p = s + 1 + extra;
    return c;
}

static void print_scalar(struct buf *out, const struct yaml_node *n)
{
    if (yaml_tree_is_null(n))
        buf_append(out, "!!null ", 7);
    buf_append(out, "\"", 1);
    const unsigned char *p = (const unsigned char *)yaml_tree_text(n);
    while (*p) {
        uint32_t c = utf8_next(&p);
        char esc[16];
        int k;
        if (c == '"' || c == '\\')
            k = snprintf(esc, sizeof esc, "\\%c", (char)c);
        else if (c >= 0x20 && c < 0x7f)
            k = snprintf(esc, sizeof esc, "%c", (char)c);
        else if (c < 0x100)
            k = snprintf(esc, sizeof esc, "\\x%02x", (unsigned)c);
        else if (c < 0x10000)
            k = snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
        else
            k = snprintf(esc, sizeof esc, "\\U%08x", (unsigned)c);
        buf_append(out, esc, (size_t)k);
    }
    buf_append(out, "\"", 1);
}

static void print(struct buf *out, const struct yaml_node *n)
{
    switch (yaml_tree_kind(n)) {
    case YAML_TREE_SCALAR:
        print_scalar(out, n);
        return;
    case YAML_TREE_SEQ:
        buf_append(out, "[", 1);
        for (size_t i = 0; i < yaml_tree_len(n); i++) {
            if (i > 0)
                buf_append(out, ", ", 2);
            print(out, yaml_tree_item(n, i));
        }
        buf_append(out, "]", 1);
        return;
    default:
        buf_append(out, "{", 1);
        for (size_t i = 0; i < yaml_tree_len(n); i++) {
            const struct yaml_node *v;
            const struct yaml_node *k = yaml_tree_pair(n, i, &v);
            buf_append(out, i > 0 ? ", ? " : "? ", i > 0 ? 4 : 2);
            print_scalar(out, k);
            buf_append(out, " : ", 3);
            print(out, v);
        }
        buf_append(out, "}", 1);
        return;
    }
}

static void same(const struct yaml_node *a, const struct yaml_node *b)
{
    assert(yaml_tree_kind(a) == yaml_tree_kind(b));
    assert(yaml_tree_len(a) == yaml_tree_len(b));
    if (yaml_tree_kind(a) == YAML_TREE_SCALAR) {
        assert(yaml_tree_is_null(a) == yaml_tree_is_null(b));
        assert(strcmp(yaml_tree_text(a), yaml_tree_text(b)) == 0);
        return;
    }
    for (size_t i = 0; i < yaml_tree_len(a); i++) {
        if (yaml_tree_kind(a) == YAML_TREE_SEQ) {
            same(yaml_tree_item(a, i), yaml_tree_item(b, i));
        } else {
            const struct yaml_node *va, *vb;
            same(yaml_tree_pair(a, i, &va), yaml_tree_pair(b, i, &vb));
            same(va, vb);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yaml_tree *t = (struct yaml_tree *)&t; /* must be reset to NULL on failure */
    struct err e = {0};
    int rc = yaml_tree_parse((const char *)data, size, "fuzz.yml", &t, &e);
    if (rc != 0) {
        assert(t == NULL);
        assert(rc == TIDE_EPARSE || rc == TIDE_ELIMIT || rc == -12 /* ENOMEM */);
        assert(e.code == rc && e.msg[0] != 0 && e.where != NULL);
        if (rc == TIDE_EPARSE)
            assert(e.line >= 1 && e.col >= 1);
        return 0;
    }
    const struct yaml_node *root = yaml_tree_root(t);
    if (root == NULL) {
        yaml_tree_free(t);
        return 0;
    }
    check(root, 1);
    assert(yaml_tree_check_keys(root, &e) == 0); /* check() read every key */

    struct buf out;
    buf_init(&out, 0);
    print(&out, root);
    struct yaml_tree *t2 = NULL;
    rc = yaml_tree_parse(out.p, out.len, "printed.yml", &t2, &e);
    if (rc != 0)
        fprintf(stderr, "reparse: %d:%d %s\n%.*s\n", e.line, e.col, e.msg, (int)out.len, out.p);
    assert(rc == 0 || rc == TIDE_ELIMIT); /* printed text may pass the size cap */
    if (rc == 0)
        same(root, yaml_tree_root(t2));
    yaml_tree_free(t2);
    buf_fini(&out);
    yaml_tree_free(t);
    return 0;
}
