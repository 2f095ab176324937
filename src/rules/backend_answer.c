/* backend_answer.c: a Prometheus-API instant-query answer → query_result
 * (backend_answer.h), the step between eval_backend.c's HTTP request and
 * group.c, which reads the result exactly as it reads the local engine's.
 *
 * The body is read with core/jsontree.h into a scratch arena; what the
 * result keeps (label strings, series, samples) is copied into the caller's
 * arena, so the scratch tree dies here. Labels come back sorted by name,
 * without empty values (the local engine never returns them), and a label
 * name given twice is malformed. A vector's series have one sample each;
 * a matrix's samples must be in time order, as the engine's are.
 */
#include "rules/backend_answer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsontree.h"
#include "core/time.h"
#include "model/labels.h"

#define ERROR_BODY_SHOWN 120 /* bytes of a non-JSON error body put in the message */

int backend_answer_error_code(const char *t)
{
    if (strcmp(t, "bad_data") == 0)
        return TIDE_EINVAL;
    if (strcmp(t, "execution") == 0)
        return QUERY_EEXEC;
    if (strcmp(t, "timeout") == 0)
        return QUERY_ETIMEOUT;
    if (strcmp(t, "canceled") == 0)
        return -ECANCELED;
    if (strcmp(t, "not_found") == 0)
        return TIDE_ENOTFOUND;
    return -EIO;
}

static int malformed(struct err *e, const char *what)
{
    return ERR_SET(e, TIDE_EPARSE, "query_backend: malformed answer: %s", what);
}

/* A JSON number of Unix seconds ("1435781451.781") to milliseconds, as the
 * API reads its own time parameters (core/time.h). */
static int read_time(const struct jv *v, int64_t *t_ms)
{
    if (v == NULL || v->t != JV_NUM)
        return -1;
    return time_parse_ms(v->s, t_ms, NULL) == 0 ? 0 : -1;
}

/* A sample value: a string as Go's strconv.FormatFloat writes it, "NaN",
 * "+Inf", "-Inf" (strtod reads those, case-insensitively, as ParseFloat). */
static int read_value(const struct jv *v, double *out)
{
    if (v == NULL || v->t != JV_STR || v->n == 0)
        return -1;
    const char *p = v->s;
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
        return -1;
    char *end;
    *out = strtod(p, &end);
    return end == p + v->n ? 0 : -1;
}

/* [t, "v"] */
static int read_point(const struct jv *pt, struct sample *s)
{
    if (pt == NULL || pt->t != JV_ARR || pt->child == NULL || pt->child->next == NULL ||
        pt->child->next->next != NULL)
        return -1;
    if (read_time(pt->child, &s->t_ms) != 0 || read_value(pt->child->next, &s->v) != 0)
        return -1;
    return 0;
}

static size_t count(const struct jv *v)
{
    size_t n = 0;
    for (const struct jv *k = v ? v->child : NULL; k; k = k->next)
        n++;
    return n;
}

/* {"name":"value",…} → sorted labels copied into `a`. */
static int read_metric(const struct jv *m, struct arena *a, struct query_series *qs, struct err *e)
{
    if (m == NULL)
        m = &(struct jv){.t = JV_OBJ};
    if (m->t != JV_OBJ)
        return malformed(e, "\"metric\" is not an object");
    size_t n = count(m);
    struct label *ls = arena_alloc(a, (n ? n : 1) * sizeof *ls);
    if (ls == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    size_t i = 0;
    for (const struct jv *k = m->child; k; k = k->next) {
        if (k->t != JV_STR)
            return malformed(e, "a label value is not a string");
        if (k->key[0] == 0)
            return malformed(e, "an empty label name");
        char *name = arena_strndup(a, k->key, strlen(k->key));
        char *value = arena_strndup(a, k->s, k->n);
        if (name == NULL || value == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        ls[i++] = (struct label){{name, strlen(name)}, {value, k->n}};
    }
    labels_sort(ls, n);
    for (size_t j = 1; j < n; j++)
        if (strv_eq(ls[j - 1].name, ls[j].name))
            return malformed(e, "a label name appears twice in \"metric\"");
    qs->labels = ls;
    qs->nlabels = labels_normalize(ls, n);
    return 0;
}

/* "vector" (one "value" each) or "matrix" ("values"). */
static int read_series(const struct jv *result, bool matrix, struct arena *a,
                       struct query_result *out, struct err *e)
{
    if (result->t != JV_ARR)
        return malformed(e, "\"result\" is not an array");
    size_t n = count(result);
    struct query_series *v = arena_alloc(a, (n ? n : 1) * sizeof *v);
    if (v == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    size_t i = 0;
    for (const struct jv *s = result->child; s; s = s->next, i++) {
        if (s->t != JV_OBJ)
            return malformed(e, "a series is not an object");
        v[i] = (struct query_series){0};
        int rc = read_metric(jv_member(s, "metric"), a, &v[i], e);
        if (rc != 0)
            return rc;
        const struct jv *pts = matrix ? jv_member(s, "values") : NULL;
        if (matrix && (pts == NULL || pts->t != JV_ARR))
            return malformed(e, "a matrix series without \"values\"");
        size_t np = matrix ? count(pts) : 1;
        struct sample *smp = arena_alloc(a, (np ? np : 1) * sizeof *smp);
        if (smp == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        if (!matrix) {
            if (read_point(jv_member(s, "value"), &smp[0]) != 0)
                return malformed(e, "a vector sample is not [time, \"value\"]");
        } else {
            size_t k = 0;
            for (const struct jv *pt = pts->child; pt; pt = pt->next, k++) {
                if (read_point(pt, &smp[k]) != 0)
                    return malformed(e, "a matrix sample is not [time, \"value\"]");
                if (k > 0 && smp[k].t_ms <= smp[k - 1].t_ms)
                    return malformed(e, "matrix samples out of time order");
            }
        }
        v[i].samples = smp;
        v[i].nsamples = np;
    }
    out->series = v;
    out->nseries = n;
    return 0;
}

static int read_data(const struct jv *data, struct arena *a, struct query_result *out,
                     struct err *e)
{
    const struct jv *type = jv_member(data, "resultType");
    const struct jv *result = jv_member(data, "result");
    if (type == NULL || type->t != JV_STR || result == NULL)
        return malformed(e, "no data.resultType and data.result");
    if (strcmp(type->s, "vector") == 0) {
        out->type = QUERY_VECTOR;
        return read_series(result, false, a, out, e);
    }
    if (strcmp(type->s, "matrix") == 0) {
        out->type = QUERY_MATRIX;
        return read_series(result, true, a, out, e);
    }
    if (strcmp(type->s, "scalar") == 0) {
        struct sample s;
        if (read_point(result, &s) != 0)
            return malformed(e, "a scalar is not [time, \"value\"]");
        out->type = QUERY_SCALAR;
        out->t_ms = s.t_ms;
        out->scalar = s.v;
        return 0;
    }
    if (strcmp(type->s, "string") == 0) {
        if (result->t != JV_ARR || result->child == NULL || result->child->next == NULL ||
            result->child->next->t != JV_STR || result->child->next->next != NULL ||
            read_time(result->child, &out->t_ms) != 0)
            return malformed(e, "a string is not [time, \"text\"]");
        const struct jv *str = result->child->next;
        char *copy = arena_strndup(a, str->s, str->n);
        if (copy == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        out->type = QUERY_STRING;
        out->str = (struct strv){copy, str->n};
        return 0;
    }
    return malformed(e, "unknown resultType");
}

/* A non-2xx answer that is not a Prometheus error object. */
static int http_error(int status, const char *body, size_t n, struct err *e)
{
    size_t k = 0;
    char shown[ERROR_BODY_SHOWN + 1];
    for (size_t i = 0; i < n && k < ERROR_BODY_SHOWN; i++) {
        char c = body[i];
        shown[k++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    while (k > 0 && shown[k - 1] == ' ')
        k--;
    shown[k] = 0;
    return ERR_SET(e, -EIO, "query_backend: HTTP %d%s%s", status, k ? ": " : "", shown);
}

int backend_answer_parse(int status, const char *body, size_t n, struct arena *a,
                         struct query_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct arena tmp;
    arena_init(&tmp, 0);
    const struct jv *doc = body ? jv_parse(body, n, &tmp) : NULL;
    const struct jv *st = jv_member(doc, "status");
    int rc;
    if (st != NULL && st->t == JV_STR && strcmp(st->s, "error") == 0) {
        const struct jv *type = jv_member(doc, "errorType");
        const struct jv *msg = jv_member(doc, "error");
        rc = err_set_at(e, backend_answer_error_code(jv_text(type)), ERR_WHERE, 0, 0, "%s",
                        msg && msg->t == JV_STR && msg->s[0] ? msg->s
                                                             : "query_backend: an error "
                                                               "without a message");
    } else if (status < 200 || status > 299) {
        rc = http_error(status, body, body ? n : 0, e);
    } else if (doc == NULL) {
        rc = malformed(e, "not JSON");
    } else if (st == NULL || st->t != JV_STR || strcmp(st->s, "success") != 0) {
        rc = malformed(e, "no \"status\":\"success\"");
    } else {
        const struct jv *data = jv_member(doc, "data");
        rc = data && data->t == JV_OBJ ? read_data(data, a, out, e) : malformed(e, "no data");
    }
    arena_fini(&tmp);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}
