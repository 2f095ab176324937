/* selfmetrics.c: the registry of Tide's own metrics and the text-format
 * writer its collect functions use (selfmetrics.h). */
#include "core/selfmetrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/fmtfloat.h"

struct selfmetrics {
    pthread_mutex_t mu; /* the table, and held for a whole scrape */
    size_t n;
    struct {
        selfmetrics_fn *fn;
        void *ctx;
    } fns[SELFMETRICS_MAX];
};

int selfmetrics_new(struct selfmetrics **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return -ENOMEM;
    pthread_mutex_init(&(*out)->mu, NULL);
    return 0;
}

void selfmetrics_free(struct selfmetrics *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static size_t find(const struct selfmetrics *r, selfmetrics_fn *fn, void *ctx)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->fns[i].fn == fn && r->fns[i].ctx == ctx)
            return i;
    return r->n;
}

int selfmetrics_register(struct selfmetrics *r, selfmetrics_fn *fn, void *ctx)
{
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    if (find(r, fn, ctx) < r->n) {
        rc = TIDE_EINVAL;
    } else if (r->n == SELFMETRICS_MAX) {
        rc = TIDE_ELIMIT;
    } else {
        r->fns[r->n].fn = fn;
        r->fns[r->n].ctx = ctx;
        r->n++;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void selfmetrics_unregister(struct selfmetrics *r, selfmetrics_fn *fn, void *ctx)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    size_t i = find(r, fn, ctx);
    if (i < r->n) {
        memmove(&r->fns[i], &r->fns[i + 1], (r->n - i - 1) * sizeof r->fns[0]);
        r->n--;
    }
    pthread_mutex_unlock(&r->mu);
}

int selfmetrics_write(struct selfmetrics *r, struct buf *b)
{
    if (r == NULL)
        return 0;
    struct sm_out o = {.b = b};
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && o.failed == 0; i++)
        r->fns[i].fn(r->fns[i].ctx, &o);
    pthread_mutex_unlock(&r->mu);
    return o.failed;
}

/* ---- the writer ---- */

static void put(struct sm_out *o, const char *s, size_t n)
{
    if (o->failed == 0)
        o->failed = buf_append(o->b, s, n);
}

static void puts_(struct sm_out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* HELP text escapes \ and newline; label values also escape ". */
static void put_escaped(struct sm_out *o, const char *s, int quote)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : *s == '"' && quote ? "\\\"" : NULL;
        if (rep == NULL)
            continue;
        put(o, run, (size_t)(s - run));
        puts_(o, rep);
        run = s + 1;
    }
    put(o, run, (size_t)(s - run));
}

static const char *type_name(enum sm_type t)
{
    return t == SM_COUNTER ? "counter" : t == SM_GAUGE ? "gauge" : "untyped";
}

void sm_family(struct sm_out *o, const char *name, enum sm_type type, const char *help)
{
    size_t n = strlen(name);
    if (n >= sizeof o->name)
        n = sizeof o->name - 1;
    memcpy(o->name, name, n);
    o->name[n] = 0;
    puts_(o, "# HELP ");
    puts_(o, o->name);
    puts_(o, " ");
    put_escaped(o, help, 0);
    puts_(o, "\n# TYPE ");
    puts_(o, o->name);
    puts_(o, " ");
    puts_(o, type_name(type));
    puts_(o, "\n");
}

/* Integral values as integers (counters read as counts), others with the
 * shortest digits that read back the same. */
static void put_value(struct sm_out *o, double v)
{
    char num[40];
    if (isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(num, sizeof num, "%lld", (long long)v);
    else
        fmtfloat_g(num, v);
    puts_(o, num);
}

static void sample(struct sm_out *o, const char *suffix, double v, va_list ap)
{
    puts_(o, o->name);
    if (suffix)
        puts_(o, suffix);
    const char *name = va_arg(ap, const char *);
    if (name != NULL) {
        puts_(o, "{");
        for (int first = 1; name != NULL; first = 0) {
            const char *value = va_arg(ap, const char *);
            if (!first)
                puts_(o, ",");
            puts_(o, name);
            puts_(o, "=\"");
            put_escaped(o, value ? value : "", 1);
            puts_(o, "\"");
            name = va_arg(ap, const char *);
        }
        puts_(o, "}");
    }
    puts_(o, " ");
    put_value(o, v);
    puts_(o, "\n");
}

void sm_sample(struct sm_out *o, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    sample(o, NULL, v, ap);
    va_end(ap);
}

void sm_sample_suffix(struct sm_out *o, const char *suffix, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    sample(o, suffix, v, ap);
    va_end(ap);
}
