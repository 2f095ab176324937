/* test_relabel.c: model/relabel.c against Prometheus' documented
 * relabel_config behaviour (and the cases of its relabel_test.go that the
 * docs describe): defaults (regex (.*), replacement $1, separator ;), full
 * anchoring, Go's $1/${1}/$name/$$ expansion, an empty replace result
 * removing the label, hashmod's MD5 arithmetic, labelmap/labeldrop/
 * labelkeep, keepequal/dropequal, lowercase/uppercase; and the config
 * checks with their line:col. Table-driven: rules as YAML, label sets as
 * "a=1,b=2" text, "DROP" for a dropped set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/relabel.h"
#include "core/buf.h"
#include "core/yaml_tree.h"

/* Build a set from "a=1,b=2" (values may not hold ',' or '='; "\n" is a
 * newline). Strings point into `store`, which must outlive the set. */
static void set_from(struct relabel_set *s, const char *text, char *store)
{
    strcpy(store, text);
    for (char *p = store; *p;) {
        char *end = strchr(p, ',');
        if (end)
            *end = 0;
        char *eq = strchr(p, '=');
        assert_non_null(eq);
        *eq = 0;
        char *v = eq + 1;
        for (char *q = v; *q; q++) /* "\n" escapes */
            if (q[0] == '\\' && q[1] == 'n') {
                q[0] = '\n';
                memmove(q + 1, q + 2, strlen(q + 2) + 1);
            }
        assert_int_equal(relabel_set_put(s, strv_c(p), strv_c(v)), 0);
        p = end ? end + 1 : p + strlen(p);
    }
}

static void set_text(struct relabel_set *s, struct buf *out)
{
    relabel_set_sort(s);
    buf_reset(out);
    for (size_t i = 0; i < s->n; i++)
        buf_printf(out, "%s%.*s=%.*s", i ? "," : "", (int)s->v[i].name.n, s->v[i].name.p,
                   (int)s->v[i].value.n, s->v[i].value.p);
}

struct apply_case {
    const char *name;
    const char *rules; /* YAML list */
    const char *in;
    const char *want; /* sorted "a=1,b=2", or "DROP" */
};

static const struct apply_case apply_cases[] = {
    {"replace with ${1} twice", "- {source_labels: [a], regex: 'f(.*)', target_label: d, "
                                "replacement: 'ch${1}-ch${1}'}",
     "a=foo,b=bar,c=baz", "a=foo,b=bar,c=baz,d=choo-choo"},
    {"two sources joined by ;",
     "- {source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, "
     "replacement: 'b${1}${2}m'}",
     "a=foo,b=bar,c=baz", "a=boobam,b=bar,c=baz"},
    {"custom separator", "- {source_labels: [a, b], separator: '-', target_label: j}", "a=1,b=2",
     "a=1,b=2,j=1-2"},
    {"absent source reads as empty", "- {source_labels: [a, zz, b], target_label: j}", "a=1,b=2",
     "a=1,b=2,j=1;;2"},
    {"no match leaves the set", "- {source_labels: [a], regex: 'x(.*)', target_label: d}",
     "a=foo", "a=foo"},
    {"anchored: a substring does not match",
     "- {source_labels: [a], regex: 'o', action: drop}", "a=foo", "a=foo"},
    {"drop on a full match", "- {source_labels: [a], regex: '.*o.*', action: drop}", "a=foo",
     "DROP"},
    {"keep without a match drops", "- {source_labels: [a], regex: 'no-match', action: keep}",
     "a=foo", "DROP"},
    {"keep with a match", "- {source_labels: [a], regex: 'f.*', action: Keep}", "a=foo", "a=foo"},
    {"keep: an absent label is empty", "- {source_labels: [x], regex: '', action: keep}", "a=foo",
     "a=foo"},
    {"defaults: (.*) and $1 copy the joined value", "- {source_labels: [a], target_label: b}",
     "a=foo", "a=foo,b=foo"},
    {"defaults with no source: target removed", "- {target_label: a}", "a=foo,b=x", "b=x"},
    {"empty replacement removes the target",
     "- {source_labels: [a], regex: foo, target_label: a, replacement: ''}", "a=foo,b=x", "b=x"},
    {"$1x names group 1x: empty, target removed",
     "- {source_labels: [a], regex: '(f)oo', target_label: a, replacement: '$1x'}", "a=foo", ""},
    {"${1}x and $$", "- {source_labels: [a], regex: '(f)oo', target_label: b, "
                     "replacement: '${1}x$$y'}",
     "a=foo", "a=foo,b=fx$y"},
    {"named groups", "- {source_labels: [a], regex: '(?P<first>f)(.*)', target_label: b, "
                     "replacement: '$first-${2}'}",
     "a=foo", "a=foo,b=f-oo"},
    {"malformed ${ is text", "- {source_labels: [a], target_label: b, replacement: 'x${1'}",
     "a=foo", "a=foo,b=x${1"},
    {"target_label from a group", "- {source_labels: [a], regex: '(.*)=(.*)', "
                                  "target_label: '${1}', replacement: '${2}'}",
     "a=k=v", "a=k=v,k=v"},
    {"target_label that expands invalid: nothing", "- {source_labels: [a], regex: '(.*)', "
                                                   "target_label: 'x$1'}",
     "a=-bad", "a=-bad"},
    {"no dotall: . stops at a newline", "- {source_labels: [a], regex: '.*', action: drop}",
     "a=x\\ny", "a=x\ny"},
    {"hashmod: md5 low 8 bytes mod 1000",
     "- {source_labels: [c], target_label: d, action: hashmod, modulus: 1000}",
     "a=foo,b=bar,c=baz", "a=foo,b=bar,c=baz,d=976"},
    {"hashmod of an empty value",
     "- {source_labels: [x], target_label: d, action: hashmod, modulus: 1000}", "a=1",
     "a=1,d=958"},
    {"labelmap copies, the original stays",
     "- {action: labelmap, regex: '__meta_(.+)', replacement: 'm_$1'}",
     "__meta_my_label=x,a=y", "__meta_my_label=x,a=y,m_my_label=x"},
    {"labelmap default replacement", "- {action: labelmap, regex: '__meta_(.+)'}",
     "__meta_zone=z1,a=y", "__meta_zone=z1,a=y,zone=z1"},
    {"labeldrop", "- {action: labeldrop, regex: 'b.*'}", "a=1,b=2,bb=3,cb=4", "a=1,cb=4"},
    {"labelkeep", "- {action: labelkeep, regex: '(a|c)'}", "a=1,b=2,c=3,ca=4", "a=1,c=3"},
    {"lowercase", "- {source_labels: [foo], target_label: foo_lower, action: lowercase}",
     "foo=bAr123Foo", "foo=bAr123Foo,foo_lower=bar123foo"},
    {"uppercase of two", "- {source_labels: [a, b], target_label: u, action: uppercase}",
     "a=x,b=y", "a=x,b=y,u=X;Y"},
    {"keepequal keeps", "- {source_labels: [a], target_label: b, action: keepequal}", "a=1,b=1",
     "a=1,b=1"},
    {"keepequal drops", "- {source_labels: [a], target_label: b, action: keepequal}", "a=1,b=2",
     "DROP"},
    {"dropequal drops", "- {source_labels: [a], target_label: b, action: dropequal}", "a=1,b=1",
     "DROP"},
    {"dropequal keeps", "- {source_labels: [a], target_label: b, action: dropequal}", "a=1,b=2",
     "a=1,b=2"},
    {"rules in order, a dropping one stops",
     "- {source_labels: [a], target_label: b}\n- {source_labels: [b], regex: foo, action: drop}\n"
     "- {target_label: never, replacement: x}",
     "a=foo", "DROP"},
    {"later rules see earlier ones",
     "- {source_labels: [__address__], regex: '(.*):.*', target_label: host}\n"
     "- {source_labels: [host], target_label: instance, replacement: 'h-$1'}",
     "__address__=node1:9100", "__address__=node1:9100,host=node1,instance=h-node1"},
};

static void run_apply(const struct apply_case *c)
{
    struct yaml_tree *t = NULL;
    struct err e;
    err_clear(&e);
    if (yaml_tree_parse(c->rules, strlen(c->rules), "t", &t, &e) != 0)
        fail_msg("%s: yaml: %s", c->name, e.msg);
    struct relabel_config cfg;
    if (relabel_config_parse(yaml_tree_root(t), &cfg, &e) != 0)
        fail_msg("%s: parse: %d:%d: %s", c->name, e.line, e.col, e.msg);
    struct relabel_set s;
    relabel_set_init(&s);
    char store[256];
    set_from(&s, c->in, store);
    bool keep = false;
    assert_int_equal(relabel_apply(&cfg, &s, &keep), 0);
    struct buf got;
    buf_init(&got, 0);
    buf_puts(&got, "");
    if (keep)
        set_text(&s, &got);
    else
        buf_puts(&got, "DROP");
    if (strcmp(got.p, c->want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", c->name, got.p, c->want);
    buf_fini(&got);
    relabel_set_fini(&s);
    relabel_config_fini(&cfg);
    yaml_tree_free(t);
}

static void test_apply(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof apply_cases / sizeof apply_cases[0]; i++)
        run_apply(&apply_cases[i]);
}

struct bad_case {
    const char *rules;
    int line, col;
    const char *msg; /* a substring of the error */
};

static const struct bad_case bad_cases[] = {
    {"- action: replace\n  sorce_labels: [a]\n  target_label: b\n", 2, 3, "sorce_labels"},
    {"- action: bogus\n", 1, 11, "unknown relabel action \"bogus\""},
    {"- action: ''\n", 1, 11, "cannot be empty"},
    {"- {action: hashmod, target_label: x, source_labels: [a]}\n", 1, 3, "non-zero modulus"},
    {"- {action: replace, source_labels: [a]}\n", 1, 3, "requires 'target_label'"},
    {"- {action: lowercase, source_labels: [a], target_label: '${1}'}\n", 1, 57,
     "invalid 'target_label'"},
    {"- {action: replace, source_labels: [a], target_label: '1x'}\n", 1, 55,
     "invalid 'target_label'"},
    {"- {action: labeldrop, regex: a, source_labels: [a]}\n", 1, 3, "requires only 'regex'"},
    {"- {action: keepequal, target_label: a, regex: x}\n", 1, 47, "'regex' can not be set"},
    {"- {action: dropequal, target_label: a, replacement: x}\n", 1, 53,
     "'replacement' can not be set"},
    {"- {action: labelmap, regex: a, replacement: '-x'}\n", 1, 45, "invalid 'replacement'"},
    {"- {source_labels: [a], target_label: b, regex: '(x'}\n", 1, 48,
     "invalid regular expression"},
    {"- {source_labels: [a-b], target_label: b}\n", 1, 20, "not a valid label name"},
    {"- {source_labels: [a], target_label: b, modulus: -1}\n", 1, 50, "modulus"},
    {"source_labels: [a]\n", 1, 1, "expected a list"},
};

static void test_bad_config(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct yaml_tree *t = NULL;
        struct err e;
        err_clear(&e);
        assert_int_equal(yaml_tree_parse(c->rules, strlen(c->rules), "t", &t, &e), 0);
        struct relabel_config cfg;
        int rc = relabel_config_parse(yaml_tree_root(t), &cfg, &e);
        if (rc == 0)
            fail_msg("case %zu (%s): accepted", i, c->msg);
        if (strstr(e.msg, c->msg) == NULL || e.line != c->line || e.col != c->col)
            fail_msg("case %zu: got %d:%d \"%s\", want %d:%d \"%s\"", i, e.line, e.col, e.msg,
                     c->line, c->col, c->msg);
        relabel_config_fini(&cfg);
        yaml_tree_free(t);
    }
}

static void test_md5(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *hex;
    } cases[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        /* 56 bytes: the length no longer fits the first padding block */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "3b0c8ac703f828b04c6c197006d17218"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char h[16];
        char hex[33];
        relabel_md5(cases[i].in, strlen(cases[i].in), h);
        for (int j = 0; j < 16; j++)
            snprintf(hex + 2 * j, 3, "%02x", h[j]);
        assert_string_equal(hex, cases[i].hex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_md5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
