/* fuzz/template.c: tmpl_parse() and tmpl_exec() on arbitrary bytes
 * (rules/template.c). Checks, beyond "no crash, no leak":
 *   - a parse failure leaves *out NULL, is TIDE_EPARSE or TIDE_ELIMIT with
 *     a message, and points at an offset inside the input;
 *   - a parsed template expands (twice, with different data) either to at
 *     most TMPL_MAX_OUTPUT bytes or to an error with a message;
 *   - expansion is deterministic: the same data gives the same bytes;
 *   - text without "{{" is plain and expands to itself. */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/template.h"

static int expand(const struct tmpl *t, const struct tmpl_data *d, struct buf *out)
{
    struct err e = {0};
    buf_reset(out);
    int rc = tmpl_exec(t, d, out, &e);
    if (rc != 0)
        assert(e.msg[0] != 0);
    else
        assert(out->len <= TMPL_MAX_OUTPUT);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tmpl *t = (struct tmpl *)1;
    struct err e = {0};
    int rc = tmpl_parse((const char *)data, size, &t, &e);
    if (rc != 0) {
        assert(t == NULL);
        assert(rc == TIDE_EPARSE || rc == TIDE_ELIMIT || rc == -12);
        assert(e.msg[0] != 0);
        if (rc == TIDE_EPARSE)
            assert(e.col >= 1 && (size_t)e.col <= size);
        return 0;
    }
    struct label ls[] = {{STRV_LIT("instance"), STRV_LIT("host:9100")},
                         {STRV_LIT("job"), STRV_LIT("node")}};
    struct label ext[] = {{STRV_LIT("cluster"), STRV_LIT("eu1")}};
    struct tmpl_data d1 = {ls, 2, ext, 1, "http://tide:9470", 0.25};
    struct tmpl_data d2 = {NULL, 0, NULL, 0, NULL, NAN};
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    int r1 = expand(t, &d1, &a);
    int r2 = expand(t, &d1, &b);
    assert(r1 == r2);
    if (r1 == 0)
        assert(a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
    expand(t, &d2, &b);
    if (memmem(data, size, "{{", 2) == NULL && size > 0) {
        assert(tmpl_is_plain(t));
        assert(r1 == 0 && a.len == size && memcmp(a.p, data, size) == 0);
    }
    buf_fini(&a);
    buf_fini(&b);
    tmpl_free(t);
    return 0;
}
