/* test_template.c: the alert template subset (rules/template.c): a table of
 * templates and the text each expands to with fixed data (Go's and
 * Prometheus' outputs for the same input: humanize*, printf, %v of floats,
 * if/else, trim markers, maps), and a table of templates refused at parse
 * time with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/template.h"

static const struct label labels[] = {{STRV_LIT("instance"), STRV_LIT("db1:9100")},
                                      {STRV_LIT("job"), STRV_LIT("node")}};
static const struct label ext[] = {{STRV_LIT("cluster"), STRV_LIT("eu1")}};

static void expand_case(const char *name, const char *text, double value, const char *want)
{
    struct tmpl *t = NULL;
    struct err e = {0};
    int rc = tmpl_parse(text, strlen(text), &t, &e);
    if (rc != 0)
        fail_msg("%s: parse failed: %s", name, e.msg);
    struct tmpl_data d = {labels, 2, ext, 1, "http://tide:9470", value};
    struct buf b;
    buf_init(&b, 0);
    rc = tmpl_exec(t, &d, &b, &e);
    if (rc != 0)
        fail_msg("%s: exec failed: %s", name, e.msg);
    if (strcmp(b.p ? b.p : "", want) != 0)
        fail_msg("%s: want [%s], got [%s]", name, want, b.p ? b.p : "");
    buf_fini(&b);
    tmpl_free(t);
}

static void test_expand(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
        double value;
        const char *want;
    } cases[] = {
        {"plain", "no actions here", 1, "no actions here"},
        {"labels var", "{{ $labels.instance }} of {{ $labels.job }}", 1, "db1:9100 of node"},
        {"labels dot", "{{ .Labels.job }}/{{ .Value }}", 2.5, "node/2.5"},
        {"missing label", "[{{ $labels.nope }}]", 1, "[]"},
        {"external", "{{ $externalLabels.cluster }} {{ .ExternalURL }}", 1, "eu1 http://tide:9470"},
        {"value int", "{{ $value }}", 3, "3"},
        {"value %v big", "{{ $value }}", 1234567, "1.234567e+06"},
        {"value %v 1e6", "{{ $value }}", 1e6, "1e+06"},
        {"value %v 123456", "{{ $value }}", 123456, "123456"},
        {"value %v small", "{{ $value }}", 0.0001, "0.0001"},
        {"value %v tiny", "{{ $value }}", 0.00001, "1e-05"},
        {"value NaN", "{{ $value }}", NAN, "NaN"},
        {"value Inf", "{{ $value }}", INFINITY, "+Inf"},
        {"humanize k", "{{ humanize 1234.5 }}", 0, "1.234k"},
        {"humanize M pipe", "{{ $value | humanize }}", 2500000, "2.5M"},
        {"humanize small", "{{ humanize 0.0012 }}", 0, "1.2m"},
        {"humanize 0", "{{ humanize 0.0 }}", 0, "0"},
        {"humanize plain", "{{ humanize 12.0 }}", 0, "12"},
        {"humanize string", "{{ humanize \"2048\" }}", 0, "2.048k"},
        {"humanizePercentage", "{{ humanizePercentage $value }}", 0.1234, "12.34%"},
        {"humanizeDuration d", "{{ humanizeDuration 93784.0 }}", 0, "1d 2h 3m 4s"},
        {"humanizeDuration h", "{{ humanizeDuration 3600.0 }}", 0, "1h 0m 0s"},
        {"humanizeDuration m", "{{ humanizeDuration 61.0 }}", 0, "1m 1s"},
        {"humanizeDuration s", "{{ humanizeDuration 1.5 }}", 0, "1.5s"},
        {"humanizeDuration ms", "{{ humanizeDuration 0.25 }}", 0, "250ms"},
        {"humanizeDuration 0", "{{ humanizeDuration 0.0 }}", 0, "0s"},
        {"printf f", "{{ printf \"%.2f\" $value }}", 3.14159, "3.14"},
        {"printf s d", "{{ printf \"%s=%d%%\" $labels.job 42 }}", 0, "node=42%"},
        {"printf missing", "{{ printf \"%s %s\" \"a\" }}", 0, "a %!s(MISSING)"},
        {"printf pad", "{{ printf \"[%5s]\" \"ab\" }}", 0, "[   ab]"},
        {"if true", "{{ if gt $value 0.5 }}high{{ else }}low{{ end }}", 0.9, "high"},
        {"if false", "{{ if gt $value 0.5 }}high{{ else }}low{{ end }}", 0.1, "low"},
        {"else if", "{{ if lt $value 1.0 }}a{{ else if lt $value 2.0 }}b{{ else }}c{{ end }}", 1.5,
         "b"},
        {"if string", "{{ if $labels.job }}has job{{ end }}", 0, "has job"},
        {"if eq", "{{ if eq $labels.job \"x\" \"node\" }}y{{ end }}", 0, "y"},
        {"and or not", "{{ and 1 2 }} {{ or 0 \"z\" }} {{ not false }}", 0, "2 z true"},
        {"nested if", "{{ if true }}{{ if false }}x{{ else }}y{{ end }}{{ end }}", 0, "y"},
        {"trim", "a  {{- \" b \" -}}  c", 0, "a b c"},
        {"comment", "x{{/* nothing */}}y", 0, "xy"},
        {"trim comment", "x {{- /* c */ -}} y", 0, "xy"},
        {"map", "{{ $labels }}", 0, "map[instance:db1:9100 job:node]"},
        {"upper lower", "{{ toUpper \"ab\" }}{{ \"CD\" | toLower }}", 0, "ABcd"},
        {"raw string", "{{ `a\\n` }}", 0, "a\\n"},
        {"escaped string", "{{ \"a\\tb\" }}", 0, "a\tb"},
        {"braces in string", "{{ \"}}\" }}", 0, "}}"},
        {"paren", "{{ printf \"%s!\" (humanize 1500.0) }}", 0, "1.5k!"},
        {"dollar root", "{{ $.Labels.job }}", 0, "node"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expand_case(cases[i].name, cases[i].text, cases[i].value, cases[i].want);
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{{ $labels.x ", "unclosed action"},
        {"{{ nosuch 1 }}", "function \"nosuch\" not defined"},
        {"{{ query \"up\" }}", "function \"query\" is not supported by Tide's templates"},
        {"{{ range $labels }}{{ end }}", "{{range}} is not supported"},
        {"{{ with $labels }}{{ end }}", "{{with}} is not supported"},
        {"{{ $x := 1 }}", "variable assignment is not supported"},
        {"{{ $nope }}", "undefined variable \"$nope\""},
        {"{{ if true }}x", "{{if}} without {{end}}"},
        {"{{ end }}", "unexpected {{end}}"},
        {"{{ else }}", "unexpected {{else}}"},
        {"{{ \"abc }}", "unclosed action"},
        {"{{ 1 2 }}", "can't give argument to non-function"},
        {"{{ | humanize }}", "missing command"},
        {"{{ (1 }}", "unclosed left paren"},
        {"{{/* open }}", "unclosed comment"},
        {"{{ $value | 3 }}", "non executable command"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tmpl *t = (struct tmpl *)1;
        struct err e = {0};
        int rc = tmpl_parse(cases[i].text, strlen(cases[i].text), &t, &e);
        if (rc != TIDE_EPARSE)
            fail_msg("%s: want TIDE_EPARSE, got %d (%s)", cases[i].text, rc, e.msg);
        assert_null(t);
        if (strstr(e.msg, cases[i].want) == NULL)
            fail_msg("%s: want message with [%s], got [%s]", cases[i].text, cases[i].want, e.msg);
        assert_true(e.col >= 1);
    }
}

static void test_exec_errors(void **state)
{
    (void)state;
    /* Go refuses comparing a float64 with an int constant at run time. */
    static const char *const cases[] = {"{{ gt $value 1 }}", "{{ .Nope }}", "{{ humanize \"x\" }}"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tmpl *t = NULL;
        struct err e = {0};
        assert_int_equal(tmpl_parse(cases[i], strlen(cases[i]), &t, &e), 0);
        struct tmpl_data d = {labels, 2, NULL, 0, NULL, 1};
        struct buf b;
        buf_init(&b, 0);
        if (tmpl_exec(t, &d, &b, &e) == 0)
            fail_msg("%s: want an execution error, got [%s]", cases[i], b.p ? b.p : "");
        assert_true(e.msg[0] != 0);
        buf_fini(&b);
        tmpl_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_exec_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
