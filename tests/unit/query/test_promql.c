/* test_promql.c: runs the data-driven PromQL suites in tests/promql/ (*.test)
 * (Prometheus' promqltest format) against query/ on a real storage instance.
 *
 *   load <interval>                 then lines `metric{l="v"} <values>`, where
 *                                   values are series notation: 1 2 _ stale
 *                                   Inf NaN, `a+bxn`, `a-bxn`, `axn`, `_xn`
 *   clear                           drop all data
 *   eval instant at <time> <expr>   then expected lines `metric{l="v"} <value>`
 *                                   (a bare value for a scalar, a quoted
 *                                   string for a string)
 *   eval_ordered instant at ...     the same, order checked
 *   eval_fail instant at ...        the query must fail; optionally followed by
 *                                   `expected_fail_message <text>`
 *   eval range from <t> to <t> step <d> <expr>
 *                                   then `metric{l="v"} <series notation>`
 *
 * Values compare as Prometheus' test framework does (relative 1e-6, NaN
 * equals NaN). Every failure is reported with file:line; the binary fails
 * when any case does. Arguments: test files to run (default: all). */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/fs.h"
#include "core/time.h"
#include "model/batch.h"
#include "query/query.h"
#include "storage/storage.h"

static int g_argc;
static char **g_argv;

struct runner {
    const char *file;
    int line;
    struct storage *st;
    char dir[512];
    struct arena strs; /* label strings of loaded series */
    int cases, failures;
};

static void failf(struct runner *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failf(struct runner *r, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: ", r->file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    r->failures++;
}

static int open_storage(struct runner *r)
{
    struct storage_opts o = {0};
    o.dir = r->dir;
    o.no_background = true;
    o.fsync = STORAGE_FSYNC_NEVER;
    storage_opts_defaults(&o);
    struct err e = {0};
    int rc = storage_open(&r->st, &o, &e);
    if (rc != 0)
        fprintf(stderr, "storage_open(%s): %s\n", r->dir, e.msg);
    return rc;
}

static void clear_storage(struct runner *r)
{
    if (r->st)
        storage_close(r->st);
    r->st = NULL;
    fs_rm_rf(r->dir);
    arena_reset(&r->strs);
    if (open_storage(r) != 0)
        fail_msg("cannot open storage");
}

/* ---- small parsers ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A number as series notation writes it: [+-]digits[.digits][e[+-]d], Inf, NaN.
 * No hex: "0x3" is 0 repeated. Returns the end or NULL. */
static const char *scan_number(const char *p, double *v)
{
    const char *s = p;
    if (*p == '+' || *p == '-')
        p++;
    if (strncasecmp(p, "inf", 3) == 0) {
        p += 3;
    } else if (strncasecmp(p, "nan", 3) == 0) {
        p += 3;
    } else {
        const char *d = p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (p == d)
            return NULL;
        if ((*p == 'e' || *p == 'E') && (p[1] == '+' || p[1] == '-' || (p[1] >= '0' && p[1] <= '9'))) {
            p++;
            if (*p == '+' || *p == '-')
                p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    char buf[64];
    size_t n = (size_t)(p - s);
    if (n >= sizeof buf)
        return NULL;
    memcpy(buf, s, n);
    buf[n] = 0;
    *v = strtod(buf, NULL);
    return p;
}

/* `name{a="b",...}` into sorted labels (strings in r->strs). Returns the
 * end of the metric or NULL. */
static const char *parse_metric(struct runner *r, const char *p, struct label *ls, size_t cap,
                                size_t *n)
{
    *n = 0;
    p = skip_ws(p);
    const char *s = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == ':')
        p++;
    if (p > s) {
        ls[(*n)++] = (struct label){STRV_LIT(LABEL_METRIC_NAME),
                                    {arena_strndup(&r->strs, s, (size_t)(p - s)), (size_t)(p - s)}};
    }
    if (*p != '{')
        return p;
    p++;
    for (;;) {
        p = skip_ws(p);
        if (*p == '}')
            return p + 1;
        const char *ns = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t nn = (size_t)(p - ns);
        p = skip_ws(p);
        if (*p != '=')
            return NULL;
        p = skip_ws(p + 1);
        char q = *p;
        if (q != '"' && q != '\'')
            return NULL;
        p++;
        char val[1024];
        size_t vn = 0;
        while (*p && *p != q && vn + 1 < sizeof val) {
            if (*p == '\\' && p[1]) {
                p++;
                val[vn++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            } else {
                val[vn++] = *p;
            }
            p++;
        }
        if (*p != q || *n >= cap)
            return NULL;
        p++;
        ls[(*n)++] = (struct label){{arena_strndup(&r->strs, ns, nn), nn},
                                    {arena_strndup(&r->strs, val, vn), vn}};
        p = skip_ws(p);
        if (*p == ',')
            p++;
    }
}

#define MAX_VALS 100000

/* Series notation into values; present[i] false for "_". */
static int parse_values(const char *p, double *v, bool *present, size_t *n)
{
    *n = 0;
    for (;;) {
        p = skip_ws(p);
        if (*p == 0 || *p == '\n')
            return 0;
        if (*p == '_') {
            p++;
            size_t rep = 1;
            if (*p == 'x') {
                rep = strtoul(p + 1, (char **)&p, 10);
            }
            for (size_t i = 0; i < rep && *n < MAX_VALS; i++)
                present[*n] = false, v[(*n)++] = 0;
            continue;
        }
        if (strncmp(p, "stale", 5) == 0) {
            uint64_t b = STALE_NAN_BITS;
            double sv;
            memcpy(&sv, &b, sizeof sv);
            present[*n] = true;
            v[(*n)++] = sv;
            p += 5;
            continue;
        }
        double a, inc = 0;
        const char *e = scan_number(p, &a);
        if (e == NULL)
            return -1;
        p = e;
        size_t rep = 0;
        if (*p == '+' || *p == '-') {
            e = scan_number(p, &inc);
            if (e == NULL || *e != 'x')
                return -1;
            p = e;
        }
        if (*p == 'x')
            rep = strtoul(p + 1, (char **)&p, 10);
        for (size_t i = 0; i <= rep && *n < MAX_VALS; i++) {
            present[*n] = true;
            v[(*n)++] = a;
            a += inc;
        }
    }
}

static bool almost_equal(double a, double b)
{
    if (isnan(a) && isnan(b))
        return true;
    if (a == b)
        return true;
    double diff = fabs(a - b);
    const double min_normal = 2.2250738585072014e-308, eps = 0.000001;
    if (a == 0 || b == 0 || diff < min_normal)
        return diff < eps * min_normal;
    return diff / (fabs(a) + fabs(b)) < eps;
}

static void fmt_labels(const struct label *ls, size_t n, char *dst, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(dst + o, cap - o, "{");
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(dst + o, cap - o, "%s%.*s=\"%.*s\"", i ? ", " : "",
                              (int)ls[i].name.n, ls[i].name.p, (int)ls[i].value.n, ls[i].value.p);
    if (o < cap)
        snprintf(dst + o, cap - o, "}");
}

/* ---- commands ---- */

struct expect {
    struct label ls[32];
    size_t nls;
    bool scalar, string;
    char str[256];
    double *v;
    bool *present;
    size_t nv;
    int line;
    bool matched;
};

static void cmd_load(struct runner *r, char **lines, size_t *i, size_t nlines, int64_t interval)
{
    struct batch b;
    batch_init(&b);
    double *v = malloc(MAX_VALS * sizeof *v);
    bool *present = malloc(MAX_VALS * sizeof *present);
    for ((*i)++; *i < nlines && *skip_ws(lines[*i]) != 0; (*i)++) {
        int line = (int)*i + 1;
        struct label ls[32];
        size_t nls;
        const char *p = parse_metric(r, lines[*i], ls, 32, &nls);
        size_t nv;
        if (p == NULL || parse_values(p, v, present, &nv) != 0) {
            failf(r, line, "bad series line: %s", lines[*i]);
            continue;
        }
        batch_begin_series(&b);
        for (size_t k = 0; k < nls; k++)
            batch_add_label(&b, ls[k].name, ls[k].value);
        for (size_t k = 0; k < nv; k++)
            if (present[k])
                batch_add_sample(&b, (int64_t)k * interval, v[k]);
        batch_end_series(&b);
    }
    struct err e = {0};
    if (b.nseries > 0 && storage_append(r->st, &b, NULL, &e) != 0)
        failf(r, (int)*i, "storage_append: %s", e.msg);
    batch_fini(&b);
    free(v);
    free(present);
}

static int parse_time(const char *s, size_t n, int64_t *ms)
{
    char buf[64];
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    struct err e = {0};
    return time_parse_duration_ms(buf, ms, &e);
}

static void cmd_eval(struct runner *r, char **lines, size_t *i, size_t nlines)
{
    int line = (int)*i + 1;
    const char *p = lines[*i];
    bool fail = strncmp(p, "eval_fail ", 10) == 0;
    bool ordered = strncmp(p, "eval_ordered ", 13) == 0;
    p = strchr(p, ' ') + 1;
    bool range = false;
    int64_t t = 0, t2 = 0, step = 0;
    if (strncmp(p, "instant at ", 11) == 0) {
        p += 11;
        const char *e = strchr(p, ' ');
        if (e == NULL || parse_time(p, (size_t)(e - p), &t) != 0) {
            failf(r, line, "bad eval line");
            return;
        }
        p = e + 1;
    } else if (strncmp(p, "range from ", 11) == 0) {
        range = true;
        p += 11;
        const char *e = strchr(p, ' ');
        if (e == NULL || parse_time(p, (size_t)(e - p), &t) != 0 || strncmp(e, " to ", 4) != 0) {
            failf(r, line, "bad eval range line");
            return;
        }
        p = e + 4;
        e = strchr(p, ' ');
        if (e == NULL || parse_time(p, (size_t)(e - p), &t2) != 0 || strncmp(e, " step ", 6) != 0) {
            failf(r, line, "bad eval range line");
            return;
        }
        p = e + 6;
        e = strchr(p, ' ');
        if (e == NULL || parse_time(p, (size_t)(e - p), &step) != 0) {
            failf(r, line, "bad eval range line");
            return;
        }
        p = e + 1;
    } else {
        failf(r, line, "bad eval line");
        return;
    }
    const char *expr = p;
    r->cases++;

    /* Expected results. */
    struct expect *ex = calloc(256, sizeof *ex);
    size_t nex = 0;
    const char *fail_msg_want = NULL;
    for ((*i)++; *i < nlines && *skip_ws(lines[*i]) != 0; (*i)++) {
        const char *q = skip_ws(lines[*i]);
        if (strncmp(q, "expected_fail_message ", 22) == 0) {
            fail_msg_want = q + 22;
            continue;
        }
        if (nex == 256)
            continue;
        struct expect *x = &ex[nex];
        x->line = (int)*i + 1;
        x->v = malloc(MAX_VALS * sizeof *x->v);
        x->present = malloc(MAX_VALS * sizeof *x->present);
        if (*q == '"') {
            x->string = true;
            const char *end = strrchr(q + 1, '"');
            snprintf(x->str, sizeof x->str, "%.*s", end ? (int)(end - q - 1) : 0, q + 1);
            nex++;
            continue;
        }
        double dummy;
        const char *after = scan_number(q, &dummy);
        if (after && *skip_ws(after) == 0) {
            x->scalar = true;
            x->v[0] = dummy;
            x->present[0] = true;
            x->nv = 1;
            nex++;
            continue;
        }
        const char *vals = parse_metric(r, q, x->ls, 32, &x->nls);
        if (vals == NULL || parse_values(vals, x->v, x->present, &x->nv) != 0) {
            failf(r, x->line, "bad expected line: %s", q);
            continue;
        }
        labels_sort(x->ls, x->nls);
        nex++;
    }

    struct query *qr = NULL;
    struct err e = {0};
    int rc = range ? query_range(&qr, r->st, expr, strlen(expr), t, t2, step, NULL, &e)
                   : query_instant(&qr, r->st, expr, strlen(expr), t, NULL, &e);
    if (fail) {
        if (rc == 0)
            failf(r, line, "%s: expected an error, got a result", expr);
        /* struct err holds 199 characters; longer messages are compared as far. */
        else if (fail_msg_want && strncmp(e.msg, fail_msg_want, sizeof e.msg - 1) != 0)
            failf(r, line, "%s: error \"%s\", want \"%s\"", expr, e.msg, fail_msg_want);
        goto out;
    }
    if (rc != 0) {
        failf(r, line, "%s: unexpected error: %s", expr, e.msg);
        goto out;
    }
    const struct query_result *res = query_result(qr);
    if (res->type == QUERY_SCALAR) {
        /* A bare value, or `{} value` as promtool prints it. */
        if (nex == 1 && !ex[0].scalar && !ex[0].string && ex[0].nls == 0 && ex[0].nv == 1)
            ex[0].scalar = true;
        if (nex != 1 || !ex[0].scalar)
            failf(r, line, "%s: got scalar %g, expected %zu non-scalar lines", expr, res->scalar, nex);
        else if (!almost_equal(res->scalar, ex[0].v[0]))
            failf(r, line, "%s: got scalar %.17g, want %.17g", expr, res->scalar, ex[0].v[0]);
        goto out;
    }
    if (res->type == QUERY_STRING) {
        if (nex != 1 || !ex[0].string || strlen(ex[0].str) != res->str.n ||
            memcmp(ex[0].str, res->str.p, res->str.n) != 0)
            failf(r, line, "%s: got string \"%.*s\"", expr, (int)res->str.n, res->str.p);
        goto out;
    }
    /* Vector or matrix: match series by labels. */
    size_t next_ordered = 0;
    for (size_t s = 0; s < res->nseries; s++) {
        const struct query_series *qs = &res->series[s];
        char lbuf[512];
        fmt_labels(qs->labels, qs->nlabels, lbuf, sizeof lbuf);
        size_t k;
        for (k = 0; k < nex; k++)
            if (!ex[k].scalar && !ex[k].string &&
                labels_cmp(ex[k].ls, ex[k].nls, qs->labels, qs->nlabels) == 0)
                break;
        if (k == nex) {
            failf(r, line, "%s: unexpected series %s = %.17g", expr, lbuf,
                  qs->nsamples ? qs->samples[0].v : NAN);
            continue;
        }
        struct expect *x = &ex[k];
        if (x->matched)
            failf(r, line, "%s: series %s returned twice", expr, lbuf);
        x->matched = true;
        if (ordered && k != next_ordered)
            failf(r, line, "%s: %s at position %zu, want %zu", expr, lbuf, s, k);
        next_ordered++;
        if (!range) {
            if (res->type != QUERY_VECTOR || qs->nsamples != 1 || x->nv != 1) {
                failf(r, x->line, "%s: %s: not a single sample", expr, lbuf);
                continue;
            }
            if (!almost_equal(qs->samples[0].v, x->v[0]))
                failf(r, x->line, "%s: %s = %.17g, want %.17g", expr, lbuf, qs->samples[0].v,
                      x->v[0]);
            continue;
        }
        /* Range: expected values at start + i*step, "_" = no point. */
        size_t j = 0;
        for (size_t vi = 0; vi < x->nv; vi++) {
            int64_t ts = t + (int64_t)vi * step;
            bool have = j < qs->nsamples && qs->samples[j].t_ms == ts;
            if (x->present[vi] != have) {
                failf(r, x->line, "%s: %s at %lld: %s, want %s", expr, lbuf, (long long)ts,
                      have ? "a point" : "no point", x->present[vi] ? "a point" : "none");
                break;
            }
            if (have && !almost_equal(qs->samples[j].v, x->v[vi])) {
                failf(r, x->line, "%s: %s at %lld = %.17g, want %.17g", expr, lbuf,
                      (long long)ts, qs->samples[j].v, x->v[vi]);
                break;
            }
            if (have)
                j++;
        }
        if (j < qs->nsamples && !r->failures)
            failf(r, x->line, "%s: %s has %zu extra points", expr, lbuf, qs->nsamples - j);
    }
    for (size_t k = 0; k < nex; k++)
        if (!ex[k].matched && !ex[k].scalar && !ex[k].string) {
            char lbuf[512];
            fmt_labels(ex[k].ls, ex[k].nls, lbuf, sizeof lbuf);
            failf(r, ex[k].line, "%s: expected series %s missing", expr, lbuf);
        }
out:
    for (size_t k = 0; k < 256; k++) {
        free(ex[k].v);
        free(ex[k].present);
    }
    free(ex);
    query_free(qr);
}

static void run_file(struct runner *r, const char *path)
{
    char *text;
    size_t len;
    if (fs_read_file(path, &text, &len) != 0)
        fail_msg("cannot read %s", path);
    r->file = path;
    size_t cap = 16, n = 0;
    char **lines = malloc(cap * sizeof *lines);
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        if (n == cap)
            lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = p;
        p = nl ? nl + 1 : NULL;
    }
    /* Comments become blank lines (they separate nothing, but are ignored). */
    for (size_t i = 0; i < n; i++)
        if (*skip_ws(lines[i]) == '#')
            lines[i] = "";
    clear_storage(r);
    for (size_t i = 0; i < n;) {
        const char *p = skip_ws(lines[i]);
        if (*p == 0) {
            i++;
            continue;
        }
        if (strncmp(p, "load ", 5) == 0) {
            int64_t iv;
            if (parse_time(p + 5, strlen(p + 5), &iv) != 0) {
                failf(r, (int)i + 1, "bad load interval");
                i++;
                continue;
            }
            cmd_load(r, lines, &i, n, iv);
        } else if (strcmp(p, "clear") == 0) {
            clear_storage(r);
            i++;
        } else if (strncmp(p, "eval", 4) == 0) {
            cmd_eval(r, lines, &i, n);
        } else {
            failf(r, (int)i + 1, "unknown command: %s", p);
            i++;
        }
    }
    free(lines);
    free(text);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_promql_files(void **state)
{
    struct runner r = {0};
    const char *tmp = getenv("TMPDIR");
    snprintf(r.dir, sizeof r.dir, "%s/promql-test-%d", tmp ? tmp : "/tmp", (int)getpid());
    arena_init(&r.strs, 0);
    if (g_argc > 1) {
        for (int i = 1; i < g_argc; i++)
            run_file(&r, g_argv[i]);
    } else {
        /* tests/promql beside tests/unit/query/: ctest names the latter in
         * TIDE_TEST_DIR (__FILE__ is relative under a ccache base dir) */
        char dir[1024];
        const char *env = getenv("TIDE_TEST_DIR");
        snprintf(dir, sizeof dir, "%s", env ? env : __FILE__);
        char *cut = strstr(dir, "/unit/query");
        if (cut == NULL)
            fail_msg("cannot locate tests/promql from %s", dir);
        strcpy(cut, "/promql");
        DIR *d = opendir(dir);
        if (d == NULL)
            fail_msg("cannot open %s", dir);
        char *names[256];
        size_t nn = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL && nn < 256) {
            size_t l = strlen(de->d_name);
            if (l > 5 && strcmp(de->d_name + l - 5, ".test") == 0) {
                names[nn] = malloc(strlen(dir) + l + 2);
                sprintf(names[nn++], "%s/%s", dir, de->d_name);
            }
        }
        closedir(d);
        qsort(names, nn, sizeof *names, cmp_str);
        for (size_t i = 0; i < nn; i++) {
            run_file(&r, names[i]);
            free(names[i]);
        }
    }
    if (r.st)
        storage_close(r.st);
    fs_rm_rf(r.dir);
    arena_fini(&r.strs);
    printf("promql: %d cases, %d failures\n", r.cases, r.failures);
    if (r.failures)
        fail_msg("%d PromQL test failures", r.failures);
}

/* The public API's result shapes and its guards (limits, deadline, args). */
static void test_api(void **state)
{
    struct runner r = {0};
    const char *tmp = getenv("TMPDIR");
    snprintf(r.dir, sizeof r.dir, "%s/promql-api-%d", tmp ? tmp : "/tmp", (int)getpid());
    arena_init(&r.strs, 0);
    clear_storage(&r);
    struct batch b;
    batch_init(&b);
    for (int s = 0; s < 3; s++) {
        char v[2] = {(char)('a' + s), 0};
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("m"));
        batch_add_label(&b, STRV_LIT("l"), (struct strv){arena_strndup(&r.strs, v, 1), 1});
        for (int i = 0; i < 20000; i++)
            batch_add_sample(&b, (int64_t)i * 15000, i);
        batch_end_series(&b);
    }
    struct err e = {0};
    assert_int_equal(storage_append(r.st, &b, NULL, &e), 0);
    batch_fini(&b);

    struct query *q;
    const struct query_result *res;
    /* instant vector */
    assert_int_equal(query_instant(&q, r.st, "m", 1, 600000, NULL, &e), 0);
    res = query_result(q);
    assert_int_equal(res->type, QUERY_VECTOR);
    assert_int_equal(res->nseries, 3);
    assert_int_equal(res->series[0].nsamples, 1);
    assert_int_equal(res->series[0].samples[0].t_ms, 600000);
    assert_true(res->samples_loaded > 0);
    query_free(q);
    /* scalar, string, range vector */
    assert_int_equal(query_instant(&q, r.st, "1 + 1", 5, 1000, NULL, &e), 0);
    assert_int_equal(query_result(q)->type, QUERY_SCALAR);
    assert_true(query_result(q)->scalar == 2);
    assert_int_equal(query_result(q)->t_ms, 1000);
    query_free(q);
    assert_int_equal(query_instant(&q, r.st, "\"hi\"", 4, 1000, NULL, &e), 0);
    assert_int_equal(query_result(q)->type, QUERY_STRING);
    assert_string_equal(query_result(q)->str.p, "hi");
    query_free(q);
    assert_int_equal(query_instant(&q, r.st, "m{l=\"a\"}[1m]", 12, 600000, NULL, &e), 0);
    res = query_result(q);
    assert_int_equal(res->type, QUERY_MATRIX);
    assert_int_equal(res->nseries, 1);
    assert_int_equal(res->series[0].nsamples, 5); /* 540, 555, 570, 585, 600 s */
    assert_int_equal(res->series[0].samples[0].t_ms, 540000);
    query_free(q);
    /* range query: sorted matrix; a scalar gives one unlabelled series */
    assert_int_equal(query_range(&q, r.st, "-m", 2, 0, 3600000, 60000, NULL, &e), 0);
    res = query_result(q);
    assert_int_equal(res->type, QUERY_MATRIX);
    assert_int_equal(res->nseries, 3);
    assert_int_equal(res->series[0].nsamples, 61);
    assert_true(res->series[0].labels[0].value.p[0] == 'a');
    query_free(q);
    assert_int_equal(query_range(&q, r.st, "time()", 6, 0, 60000, 30000, NULL, &e), 0);
    assert_int_equal(query_result(q)->nseries, 1);
    assert_int_equal(query_result(q)->series[0].nlabels, 0);
    query_free(q);

    /* bad arguments */
    assert_int_equal(query_range(&q, r.st, "m", 1, 0, 10, 0, NULL, &e), TIDE_EINVAL);
    assert_null(q);
    assert_int_equal(query_range(&q, r.st, "m", 1, 10, 0, 1, NULL, &e), TIDE_EINVAL);
    assert_int_equal(query_instant(&q, r.st, "m +", 3, 0, NULL, &e), TIDE_EPARSE);
    assert_string_equal(e.msg, "1:4: parse error: unexpected end of input");
    assert_string_equal(query_error_type(TIDE_EPARSE), "bad_data");
    assert_string_equal(query_error_type(QUERY_ETIMEOUT), "timeout");
    assert_string_equal(query_error_type(QUERY_EEXEC), "execution");

    /* the sample limit */
    struct query_opts o = {.max_samples = 1000};
    assert_int_equal(query_range(&q, r.st, "m", 1, 0, 3600000, 15000, &o, &e), TIDE_ELIMIT);
    assert_string_equal(e.msg, "query processing would load too many samples into memory in "
                               "query execution");
    assert_string_equal(query_error_type(TIDE_ELIMIT), "execution");
    o.max_samples = 100000;
    assert_int_equal(query_instant(&q, r.st, "sum(m)", 6, 600000, &o, &e), 0);
    assert_true(query_result(q)->peak_samples <= 100000);
    query_free(q);

    /* the deadline */
    o = (struct query_opts){.timeout_ms = 1};
    const char *slow = "max_over_time(sum_over_time(m[1d])[1d:15s])";
    assert_int_equal(query_range(&q, r.st, slow, strlen(slow), 0, 300000000, 60000, &o, &e),
                     QUERY_ETIMEOUT);
    assert_string_equal(e.msg, "query timed out in expression evaluation");
    assert_null(q);

    storage_close(r.st);
    fs_rm_rf(r.dir);
    arena_fini(&r.strs);
}

int main(int argc, char **argv)
{
    g_argc = argc;
    g_argv = argv;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promql_files),
        cmocka_unit_test(test_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
