/* test_routeros_wire.c: the RouterOS API wire format (collect/routeros_wire.c):
 * every length encoding at its edges both ways, sentences fed whole and
 * byte by byte, reply types and .tag, the caps (a dropped sentence leaves
 * the stream in step), non-UTF-8 words, unknown types, and the fatal
 * control byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/routeros_wire.h"

struct got {
    int n, dropped;
    enum ros_drop why;
    enum ros_type type[8];
    char tag[8][16];
    char first[8][64];
    size_t nwords[8];
};

static int collect(void *ctx, const struct ros_sentence *s, enum ros_drop why)
{
    struct got *g = ctx;
    if (s == NULL) {
        g->dropped++;
        g->why = why;
        return 0;
    }
    int i = g->n++;
    if (i >= 8)
        return 0;
    g->type[i] = s->type;
    snprintf(g->tag[i], sizeof g->tag[i], "%.*s", (int)s->tag.n, s->tag.p ? s->tag.p : "");
    g->nwords[i] = s->nwords;
    if (s->nwords > 0)
        snprintf(g->first[i], sizeof g->first[i], "%.*s", (int)s->words[0].n, s->words[0].p);
    return 0;
}

static void test_lengths(void **state)
{
    static const struct {
        uint32_t len;
        size_t bytes;
        uint8_t first;
    } cases[] = {
        {0, 1, 0x00},          {0x7F, 1, 0x7F},      {0x80, 2, 0x80},       {0x3FFF, 2, 0xBF},
        {0x4000, 3, 0xC0},     {0x1FFFFF, 3, 0xDF},  {0x200000, 4, 0xE0},   {0xFFFFFFF, 4, 0xEF},
        {0x10000000, 5, 0xF0}, {0xFFFFFFFF, 5, 0xF0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(ros_put_len(&b, cases[i].len), 0);
        assert_int_equal(b.len, cases[i].bytes);
        assert_int_equal((uint8_t)b.p[0], cases[i].first);
        buf_fini(&b);
    }
}

/* Words of every length class round-trip through the decoder, also fed
 * one byte at a time. */
static void test_roundtrip_sizes(void **state)
{
    static const size_t sizes[] = {1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x20000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            struct buf b;
            buf_init(&b, 0);
            char *w = malloc(sizes[i] + 1);
            memset(w, 'x', sizes[i]);
            memcpy(w, "=k=", sizes[i] >= 3 ? 3 : 0);
            w[sizes[i]] = 0;
            const char *words[] = {"!re", w, ".tag=7"};
            assert_int_equal(ros_put_sentence(&b, words, 3), 0);
            struct ros_dec d;
            ros_dec_init(&d);
            d.max_word = 0x100000;
            struct got g = {0};
            if (bytewise) {
                for (size_t j = 0; j < b.len; j++)
                    assert_int_equal(ros_dec_feed(&d, b.p + j, 1, collect, &g, NULL), 0);
            } else {
                assert_int_equal(ros_dec_feed(&d, b.p, b.len, collect, &g, NULL), 0);
            }
            assert_int_equal(g.n, 1);
            assert_int_equal(g.type[0], ROS_RE);
            assert_string_equal(g.tag[0], "7");
            assert_int_equal(g.nwords[0], 2);
            ros_dec_fini(&d);
            free(w);
            buf_fini(&b);
        }
    }
}

/* A 4-byte and a 5-byte length decode (the word is long: check the
 * length, then the cap drops it without losing step). */
static void test_long_lengths_drop(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    struct ros_dec d;
    ros_dec_init(&d);
    d.max_word = 16;
    const char *big[] = {"!re", NULL};
    char word[0x200001];
    memset(word, 'a', sizeof word - 1);
    word[sizeof word - 1] = 0;
    big[1] = word;
    assert_int_equal(ros_put_sentence(&b, big, 2), 0);
    const char *ok[] = {"!done", ".tag=2"};
    assert_int_equal(ros_put_sentence(&b, ok, 2), 0);
    struct got g = {0};
    assert_int_equal(ros_dec_feed(&d, b.p, b.len, collect, &g, NULL), 0);
    assert_int_equal(g.dropped, 1);
    assert_int_equal(g.why, ROS_DROP_WORD_SIZE);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.type[0], ROS_DONE);
    assert_string_equal(g.tag[0], "2");
    ros_dec_fini(&d);
    buf_fini(&b);
}

static void test_types_and_attrs(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    const char *s1[] = {"!trap", "=category=0", "=message=no such command", ".tag=3"};
    const char *s2[] = {"!fatal", "session terminated"};
    const char *s3[] = {"!empty", ".tag=4"};
    const char *s4[] = {"!done", "=ret=42"};
    assert_int_equal(ros_put_sentence(&b, s1, 4), 0);
    assert_int_equal(ros_put_sentence(&b, s2, 2), 0);
    assert_int_equal(ros_put_sentence(&b, s3, 2), 0);
    assert_int_equal(ros_put_sentence(&b, s4, 2), 0);
    assert_int_equal(ros_put_len(&b, 0), 0); /* an empty sentence is ignored */
    struct ros_dec d;
    ros_dec_init(&d);
    struct got g = {0};
    assert_int_equal(ros_dec_feed(&d, b.p, b.len, collect, &g, NULL), 0);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.type[0], ROS_TRAP);
    assert_int_equal(g.type[1], ROS_FATAL);
    assert_string_equal(g.first[1], "session terminated");
    assert_int_equal(g.type[2], ROS_EMPTY);
    assert_int_equal(g.type[3], ROS_DONE);
    ros_dec_fini(&d);
    buf_fini(&b);
}

static int check_get(void *ctx, const struct ros_sentence *s, enum ros_drop why)
{
    struct strv v;
    assert_non_null(s);
    assert_true(ros_get(s, "name", &v));
    assert_true(strv_eq_c(v, "ether1"));
    assert_true(ros_get(s, "comment", &v));
    assert_int_equal(v.n, 0);
    assert_true(ros_get(s, "a=b", &v) == false);
    assert_true(ros_get(s, "x", &v));
    assert_true(strv_eq_c(v, "1=2"));
    (*(int *)ctx)++;
    return 0;
}

static void test_get(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    const char *s[] = {"!re", "=name=ether1", "=comment=", "=x=1=2"};
    assert_int_equal(ros_put_sentence(&b, s, 4), 0);
    struct ros_dec d;
    ros_dec_init(&d);
    int n = 0;
    assert_int_equal(ros_dec_feed(&d, b.p, b.len, check_get, &n, NULL), 0);
    assert_int_equal(n, 1);
    ros_dec_fini(&d);
    buf_fini(&b);
}

static void test_drops(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    const char *bad_utf8[] = {"!re", "=name=\xff\xfe"};
    const char *unknown[] = {"!what", "=a=b"};
    const char *many[] = {"!re", "=a=1", "=b=2", "=c=3"};
    const char *ok[] = {"!done"};
    assert_int_equal(ros_put_sentence(&b, bad_utf8, 2), 0);
    assert_int_equal(ros_put_sentence(&b, unknown, 2), 0);
    assert_int_equal(ros_put_sentence(&b, many, 4), 0);
    assert_int_equal(ros_put_sentence(&b, ok, 1), 0);
    struct ros_dec d;
    ros_dec_init(&d);
    d.max_words = 3;
    struct got g = {0};
    assert_int_equal(ros_dec_feed(&d, b.p, b.len, collect, &g, NULL), 0);
    assert_int_equal(g.dropped, 3);
    assert_int_equal(g.why, ROS_DROP_WORDS);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.type[0], ROS_DONE);
    ros_dec_fini(&d);
    buf_fini(&b);
}

static void test_fatal_garbage(void **state)
{
    struct ros_dec d;
    ros_dec_init(&d);
    struct got g = {0};
    struct err e;
    err_clear(&e);
    const uint8_t ctl[] = {0xF8};
    assert_int_equal(ros_dec_feed(&d, ctl, 1, collect, &g, &e), TIDE_EPARSE);
    assert_non_null(strstr(e.msg, "control byte"));
    const uint8_t huge[] = {0xF0, 0x7F, 0, 0, 0};
    assert_int_equal(ros_dec_feed(&d, huge, 5, collect, &g, &e), TIDE_EPARSE);
    ros_dec_fini(&d);
}

static void test_utf8(void **state)
{
    assert_true(ros_utf8_valid("plain", 5));
    assert_true(ros_utf8_valid("\xd0\xa2\xd0\xb1\xd0\xb8\xd0\xbb\xd0\xb8\xd1\x81\xd0\xb8", 14));
    assert_true(ros_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(ros_utf8_valid("\xc0\x80", 2));          /* overlong */
    assert_false(ros_utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
    assert_false(ros_utf8_valid("\xf4\x90\x80\x80", 4));  /* past U+10FFFF */
    assert_false(ros_utf8_valid("\xe2\x82", 2));          /* truncated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths),          cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_long_lengths_drop), cmocka_unit_test(test_types_and_attrs),
        cmocka_unit_test(test_get),              cmocka_unit_test(test_drops),
        cmocka_unit_test(test_fatal_garbage),    cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
