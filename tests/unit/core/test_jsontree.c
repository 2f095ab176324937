/* test_jsontree.c: the JSON tree reader (core/jsontree.c), table-driven:
 * each input is parsed and, when it is JSON, printed back in a compact
 * canonical form (strings decoded, numbers and literals as their text);
 * inputs that are not JSON — bad numbers, bare words, trailing bytes,
 * unterminated strings or containers, too deep — give NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/jsontree.h"

static void print(const struct jv *v, struct buf *b)
{
    switch (v->t) {
    case JV_STR:
        buf_printf(b, "\"%s\"", v->s);
        break;
    case JV_NULL:
    case JV_BOOL:
    case JV_NUM:
        buf_printf(b, "%s%s", v->t == JV_NUM ? "#" : "", v->s);
        break;
    case JV_ARR:
    case JV_OBJ:
        buf_putc(b, v->t == JV_ARR ? '[' : '{');
        for (const struct jv *k = v->child; k; k = k->next) {
            if (k != v->child)
                buf_putc(b, ',');
            if (k->key)
                buf_printf(b, "%s:", k->key);
            print(k, b);
        }
        buf_putc(b, v->t == JV_ARR ? ']' : '}');
        break;
    }
}

static const struct {
    const char *name, *in, *want; /* want NULL: not JSON */
} cases[] = {
    {"object", " {\"a\": 1, \"b\": [true, false, null], \"c\": \"x\"} ",
     "{a:#1,b:[true,false,null],c:\"x\"}"},
    {"empty containers", "[{}, []]", "[{},[]]"},
    {"numbers", "[0, -0, 12, -1.5, 1e3, 1E-3, 2.5e+10, 0.25]",
     "[#0,#-0,#12,#-1.5,#1e3,#1E-3,#2.5e+10,#0.25]"},
    {"escapes", "\"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\"",
     "\"a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80\""},
    {"lone surrogate", "\"\\ud800x\"", "\"\xef\xbf\xbdx\""},
    {"leading zero", "01", NULL},
    {"plus sign", "+1", NULL},
    {"bare dot", "1.", NULL},
    {"dot first", ".5", NULL},
    {"bad exponent", "1e", NULL},
    {"hex", "0x10", NULL},
    {"word", "hello", NULL},
    {"NaN", "NaN", NULL},
    {"capital literal", "True", NULL},
    {"html", "<html>", NULL},
    {"trailing bytes", "{} x", NULL},
    {"two values", "1 2", NULL},
    {"unterminated string", "\"abc", NULL},
    {"unterminated array", "[1, 2", NULL},
    {"missing colon", "{\"a\" 1}", NULL},
    {"trailing comma", "[1,]", NULL},
    {"bad \\u", "\"\\u12g4\"", NULL},
    {"empty", "", NULL},
    {"blank", "  ", NULL},
};

static void test_cases(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct arena a;
        arena_init(&a, 0);
        const struct jv *v = jv_parse(cases[i].in, strlen(cases[i].in), &a);
        struct buf b;
        buf_init(&b, 0);
        if (v != NULL)
            print(v, &b);
        const char *got = v == NULL ? NULL : b.p ? b.p : "";
        if (cases[i].want == NULL && got != NULL)
            fail_msg("%s: want not JSON, got %s", cases[i].name, got);
        if (cases[i].want != NULL && (got == NULL || strcmp(got, cases[i].want) != 0))
            fail_msg("%s: want %s, got %s", cases[i].name, cases[i].want, got ? got : "NULL");
        buf_fini(&b);
        arena_fini(&a);
    }
}

/* JV_MAX_DEPTH nested arrays read; one more is refused. */
static void test_depth(void **st)
{
    (void)st;
    char in[2 * (JV_MAX_DEPTH + 1)];
    for (int depth = JV_MAX_DEPTH; depth <= JV_MAX_DEPTH + 1; depth++) {
        memset(in, '[', (size_t)depth);
        memset(in + depth, ']', (size_t)depth);
        struct arena a;
        arena_init(&a, 0);
        const struct jv *v = jv_parse(in, 2 * (size_t)depth, &a);
        assert_true((v != NULL) == (depth <= JV_MAX_DEPTH));
        arena_fini(&a);
    }
}

/* The reader stops at n: bytes after it are not read (no NUL needed). */
static void test_bounded(void **st)
{
    (void)st;
    const char in[] = "[1,2]garbage";
    struct arena a;
    arena_init(&a, 0);
    const struct jv *v = jv_parse(in, 5, &a);
    assert_non_null(v);
    assert_string_equal(jv_text(v->child->next), "2");
    assert_null(jv_member(v, "x"));
    assert_string_equal(jv_text(NULL), "");
    arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
