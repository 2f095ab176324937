/* host_test.h: what the collect/ tests share: where the fixtures are, a
 * collector over them, and lookups of one sample in a batch. */
#ifndef TIDE_TEST_COLLECT_HOST_TEST_H
#define TIDE_TEST_COLLECT_HOST_TEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/host.h"
#include "model/batch.h"

/* FIXTURES "/proc": the test's source directory + "/fixtures" + rel. ctest
 * names that directory in TIDE_TEST_DIR (tests/CMakeLists.txt); run by hand,
 * this header's __FILE__ says it (absolute unless a compiler cache such as
 * ccache with CCACHE_BASEDIR made it relative). */
static inline const char *fixture_path(char *buf, size_t cap, const char *rel)
{
    const char *env = getenv("TIDE_TEST_DIR");
    if (env != NULL && env[0] != '\0') {
        snprintf(buf, cap, "%s/fixtures%s", env, rel);
        return buf;
    }
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir = slash ? (int)(slash - file) : 1;
    snprintf(buf, cap, "%.*s/fixtures%s", dir, slash ? file : ".", rel);
    return buf;
}

/* A collector over the fixture /proc and /sys. */
static inline struct host_collector *fixture_collector(struct host_opts *o)
{
    static char proc[1024], sys[1024], osr[1024];
    o->proc_root = fixture_path(proc, sizeof proc, "/proc");
    o->sys_root = fixture_path(sys, sizeof sys, "/sys");
    o->os_release_path = fixture_path(osr, sizeof osr, "/os-release.d/os-release");
    o->instance = "host-a";
    struct host_collector *h = NULL;
    struct err e = {0};
    int rc = host_collector_new(o, &h, &e);
    if (rc != 0)
        fprintf(stderr, "host_collector_new: %d %s\n", rc, e.msg);
    return h;
}

/* Does series i have label name=value? */
static inline bool series_has(const struct batch *b, size_t i, const char *name, const char *value)
{
    const struct batch_series *s = &b->series[i];
    struct strv v = labels_get(b->labels + s->label_off, s->nlabels, strv_c(name));
    return v.p != NULL && strv_eq_c(v, value);
}

/* The value of the one series `name` whose labels include the NULL-ended
 * name, value pairs that follow; false when there is none or more than one. */
static inline bool find_value(const struct batch *b, double *out, const char *name, ...)
{
    size_t hits = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        if (!series_has(b, i, "__name__", name))
            continue;
        va_list ap;
        va_start(ap, name);
        bool ok = true;
        const char *k;
        while (ok && (k = va_arg(ap, const char *)) != NULL) {
            const char *v = va_arg(ap, const char *);
            ok = series_has(b, i, k, v);
        }
        va_end(ap);
        if (ok) {
            *out = b->samples[b->series[i].sample_off].v;
            hits++;
        }
    }
    return hits == 1;
}

static inline size_t count_series(const struct batch *b, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nseries; i++)
        n += series_has(b, i, "__name__", name);
    return n;
}

/* A sample by a "name{k=v,k=v}" key with 0 to 3 labels, for tables. */
struct want {
    const char *name;
    const char *k1, *v1, *k2, *v2;
    double v;
};

static inline void check_wants(const struct batch *b, const struct want *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double got = -12345;
        bool found = w[i].k1 == NULL ? find_value(b, &got, w[i].name, NULL)
                     : w[i].k2 == NULL
                         ? find_value(b, &got, w[i].name, w[i].k1, w[i].v1, NULL)
                         : find_value(b, &got, w[i].name, w[i].k1, w[i].v1, w[i].k2, w[i].v2, NULL);
        if (!found || got != w[i].v)
            fail_msg("case %zu: %s{%s=%s,%s=%s}: found=%d got %.17g want %.17g", i, w[i].name,
                     w[i].k1 ? w[i].k1 : "", w[i].v1 ? w[i].v1 : "", w[i].k2 ? w[i].k2 : "",
                     w[i].v2 ? w[i].v2 : "", found, got, w[i].v);
    }
}

#endif
