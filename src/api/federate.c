/* federate.c: GET /federate, Prometheus' federation endpoint, so that a
 * Prometheus server (or anything that scrapes) can pull Tide's current
 * values. Sits in api/ on the storage query interface, like export.c.
 *
 * For every series selected by a `match[]` selector (required, repeatable),
 * the latest sample within the lookback window (query_lookback_delta, 5m by
 * default) before now is written in the text exposition format 0.0.4 with
 * its timestamp, as Prometheus 2.42 does: families sorted by metric name,
 * each under a `# TYPE name untyped` line, series sorted by their labels,
 * a series whose latest sample is a staleness marker left out, a series
 * selected by several selectors written once. Scrapers should set
 * honor_labels: true to keep the series' own job and instance.
 * The answer is built in memory, capped at HTTP_MAX_RESPONSE_BYTES.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/params.h"
#include "api/prom_query.h"
#include "api/router.h"
#include "core/arena.h"
#include "core/fmtfloat.h"
#include "core/time.h"
#include "storage/storage.h"

#define FEDERATE_DEFAULT_LOOKBACK_MS (5 * 60 * 1000)

/* One series' latest sample. Labels are the storage's (valid until close). */
struct latest {
    const struct label *ls;
    size_t n;
    struct strv name; /* the __name__ value */
    int64_t t_ms;
    double v;
};

static int latest_cmp(const void *a, const void *b)
{
    const struct latest *x = a, *y = b;
    size_t n = x->name.n < y->name.n ? x->name.n : y->name.n;
    int c = n ? memcmp(x->name.p, y->name.p, n) : 0;
    if (c == 0 && x->name.n != y->name.n)
        c = x->name.n < y->name.n ? -1 : 1;
    return c ? c : labels_cmp(x->ls, x->n, y->ls, y->n);
}

static bool is_stale(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == STALE_NAN_BITS;
}

/* A label value with the text format's escapes (\\, \", \n). */
static int put_value(struct buf *b, struct strv v)
{
    int rc = 0;
    for (size_t i = 0; i < v.n && rc == 0; i++) {
        char c = v.p[i];
        if (c == '\\')
            rc = buf_puts(b, "\\\\");
        else if (c == '"')
            rc = buf_puts(b, "\\\"");
        else if (c == '\n')
            rc = buf_puts(b, "\\n");
        else
            rc = buf_putc(b, c);
    }
    return rc;
}

/* `name{a="x",...} value t_ms\n`; the value as Go's 'g' shortest form. */
static int put_series(struct buf *b, const struct latest *s)
{
    int rc = buf_append(b, s->name.p, s->name.n);
    bool first = true;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        if (strv_eq_c(s->ls[i].name, LABEL_METRIC_NAME))
            continue;
        rc = buf_putc(b, first ? '{' : ',');
        first = false;
        rc = rc ? rc : buf_append(b, s->ls[i].name.p, s->ls[i].name.n);
        rc = rc ? rc : buf_puts(b, "=\"");
        rc = rc ? rc : put_value(b, s->ls[i].value);
        rc = rc ? rc : buf_putc(b, '"');
    }
    if (rc == 0 && !first)
        rc = buf_putc(b, '}');
    char num[40];
    if (s->v != s->v)
        strcpy(num, "NaN");
    else if (s->v > 1.7976931348623157e308)
        strcpy(num, "+Inf");
    else if (s->v < -1.7976931348623157e308)
        strcpy(num, "-Inf");
    else
        fmtfloat_g(num, s->v);
    return rc ? rc : buf_printf(b, " %s %lld\n", num, (long long)s->t_ms);
}

void federate_serve(struct http_req *rq, struct http_resp *rs)
{
    struct selectors sel;
    struct err e = {0};
    int rc = params_selectors(rq, true, &sel, &e);
    if (rc != 0) {
        http_reply_err(rs, rc, e.msg);
        return;
    }
    int64_t lookback_ms = FEDERATE_DEFAULT_LOOKBACK_MS;
    if (rq->ctx->query != NULL) {
        struct prom_query_opts o;
        prom_query_settings(rq->ctx->query, &o);
        if (o.lookback_ms > 0)
            lookback_ms = o.lookback_ms;
    }
    int64_t now = time_now_ms();
    struct latest *v = NULL;
    size_t n = 0, cap = 0;
    struct arena a; /* the label arrays of v: they outlive each set */
    arena_init(&a, 0);
    for (size_t i = 0; rc == 0 && i < sel.n; i++) {
        struct storage_set *set = NULL;
        rc = storage_select(rq->ctx->storage, sel.v[i].m, sel.v[i].n, now - lookback_ms + 1, now,
                            &set, &e);
        while (rc == 0 && storage_set_next(set)) {
            const struct label *ls;
            size_t nls;
            storage_set_labels(set, &ls, &nls);
            if (params_matched_before(&sel, i, ls, nls))
                continue;
            const struct sample *sv;
            size_t ns;
            rc = storage_set_samples(set, &sv, &ns, &e);
            if (rc != 0 || ns == 0 || is_stale(sv[ns - 1].v))
                continue;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                struct latest *nv = realloc(v, ncap * sizeof *nv);
                if (nv == NULL) {
                    rc = ERR_SET(&e, -ENOMEM, "out of memory");
                    break;
                }
                v = nv;
                cap = ncap;
            }
            if (storage_set_labels_into(set, &a, &ls, &nls) != 0) {
                rc = ERR_SET(&e, -ENOMEM, "out of memory");
                break;
            }
            v[n] = (struct latest){ls, nls, labels_get(ls, nls, STRV_LIT(LABEL_METRIC_NAME)),
                                   sv[ns - 1].t_ms, sv[ns - 1].v};
            n++;
        }
        storage_set_free(set);
    }
    params_fini(&sel);
    if (rc != 0) {
        free(v);
        arena_fini(&a);
        http_reply_err(rs, rc, e.msg[0] ? e.msg : "federation failed");
        return;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, latest_cmp);
    buf_reset(&rs->body);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (v[i].name.n == 0)
            continue; /* no metric name: the text format cannot carry it */
        if (i == 0 || !strv_eq(v[i - 1].name, v[i].name)) {
            rc = buf_puts(&rs->body, "# TYPE ");
            rc = rc ? rc : buf_append(&rs->body, v[i].name.p, v[i].name.n);
            rc = rc ? rc : buf_puts(&rs->body, " untyped\n");
        }
        rc = rc ? rc : put_series(&rs->body, &v[i]);
    }
    free(v);
    arena_fini(&a);
    if (rc != 0) {
        http_reply_err(rs, rc == -ENOMEM ? -ENOMEM : TIDE_ELIMIT,
                       "the federation answer is too large; narrow match[]");
        return;
    }
    rs->status = 200;
    rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
