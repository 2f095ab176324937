/* test_ui.c: the dashboard's asset serving helpers (api/ui.c): If-None-Match
 * lists, Accept-Encoding with q-values, and the embedded table itself (the
 * shell at "/", hashed assets immutable, every gzip member inflating to its
 * recorded size). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "api/ui.h"

static void test_etag(void **state)
{
    const char *tag = "\"abc123\"";
    assert_true(ui_etag_matches("\"abc123\"", tag));
    assert_true(ui_etag_matches("W/\"abc123\"", tag));
    assert_true(ui_etag_matches("\"x\", \"abc123\"", tag));
    assert_true(ui_etag_matches("\"x\",\"abc123\" ", tag));
    assert_true(ui_etag_matches("*", tag));
    assert_false(ui_etag_matches(NULL, tag));
    assert_false(ui_etag_matches("", tag));
    assert_false(ui_etag_matches("\"abc12\"", tag));
    assert_false(ui_etag_matches("\"abc1234\"", tag));
    assert_false(ui_etag_matches("abc123", tag));
}

static void test_gzip(void **state)
{
    assert_true(ui_accepts_gzip("gzip"));
    assert_true(ui_accepts_gzip("gzip, deflate, br"));
    assert_true(ui_accepts_gzip("deflate, gzip;q=0.5"));
    assert_true(ui_accepts_gzip("GZIP"));
    assert_true(ui_accepts_gzip("*"));
    assert_true(ui_accepts_gzip("gzip;q=0.001"));
    assert_false(ui_accepts_gzip(NULL));
    assert_false(ui_accepts_gzip(""));
    assert_false(ui_accepts_gzip("identity"));
    assert_false(ui_accepts_gzip("deflate, br"));
    assert_false(ui_accepts_gzip("gzip;q=0"));
    assert_false(ui_accepts_gzip("gzip;q=0.000, identity"));
    assert_false(ui_accepts_gzip("x-gzipped"));
}

static void test_table(void **state)
{
    assert_true(ui_nassets >= 1);
    const struct ui_asset *shell = ui_asset_find("/");
    assert_non_null(shell);
    assert_false(shell->immutable);
    assert_null(ui_asset_find("/assets/none.js"));
    for (size_t i = 0; i < ui_nassets; i++) {
        const struct ui_asset *a = &ui_assets[i];
        assert_int_equal(a->etag[0], '"');
        assert_int_equal(a->etag[strlen(a->etag) - 1], '"');
        assert_true(a->immutable == (strncmp(a->path, "/assets/", 8) == 0));
        if (a->gz_len == 0)
            continue; /* the placeholder of a build without node, stored plain */
        unsigned char *out = malloc(a->raw_len + 1);
        assert_non_null(out);
        z_stream z = {0};
        assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
        z.next_in = (unsigned char *)a->gz;
        z.avail_in = (uInt)a->gz_len;
        z.next_out = out;
        z.avail_out = (uInt)(a->raw_len + 1);
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        assert_int_equal(z.total_out, a->raw_len);
        inflateEnd(&z);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
