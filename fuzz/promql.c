/* promql.c: fuzz target for the PromQL parser and printer (query/parse.c,
 * query/ast.c). Invariants beyond "never crashes": a query that parses
 * prints to text that parses again, and printing that second tree gives the
 * same text (print is a fixed point of parse . print); a failed parse always
 * carries a position. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/ast.h"

static int parse_print(const char *s, size_t n, struct buf *out, struct err *e)
{
    struct arena a;
    arena_init(&a, 64 << 20);
    struct promql_expr x;
    int rc = promql_parse(&a, s, n, &x, e);
    if (rc == 0) {
        if (ast_print(out, x.root) != 0)
            abort();
        promql_expr_fini(&x);
    }
    arena_fini(&a);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    struct buf first, second;
    buf_init(&first, 0);
    buf_init(&second, 0);
    struct err e = {0};
    int rc = parse_print((const char *)data, size, &first, &e);
    if (rc == TIDE_EPARSE && (e.line < 1 || e.col < 1))
        abort();
    if (rc == 0) {
        struct err e2 = {0};
        if (parse_print(first.p, first.len, &second, &e2) != 0)
            abort(); /* printed form does not parse */
        if (first.len != second.len || memcmp(first.p, second.p, first.len) != 0)
            abort(); /* print is not a fixed point */
    }
    buf_fini(&first);
    buf_fini(&second);
    return 0;
}
