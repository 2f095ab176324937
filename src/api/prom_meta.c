/* prom_meta.c: Prometheus' metadata endpoints, in its exact response shapes.
 *
 *   /api/v1/series              {"status":"success","data":[{label:value,...},...]}
 *   /api/v1/labels              {"status":"success","data":["__name__",...]}
 *   /api/v1/label/<n>/values    {"status":"success","data":["v1",...]}
 *   /api/v1/status/tsdb         {"status":"success","data":{"headStats":{...},...}}
 *
 * Several match[] select the union of their series (Prometheus' rule). Each
 * selector is one storage call; the results are merged here, sorted and
 * deduplicated, relying on storage's promise that label strings are interned
 * and outlive the sets they came from. The response is built in a buffer
 * capped at HTTP_MAX_RESPONSE_BYTES; a bigger answer is refused with 422
 * rather than grown without bound.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/json.h"
#include "api/params.h"
#include "api/router.h"
#include "core/arena.h"
#include "storage/storage.h"

#define META_DEFAULT_TOPN 10

/* A label set borrowed from storage (interned). */
struct lset {
    const struct label *ls;
    size_t n;
};

static int lset_cmp(const void *a, const void *b)
{
    const struct lset *x = a, *y = b;
    return labels_cmp(x->ls, x->n, y->ls, y->n);
}

static int strv_qcmp(const void *a, const void *b)
{
    return strv_cmp(*(const struct strv *)a, *(const struct strv *)b);
}

static void end_success(struct http_resp *rs, struct json *w)
{
    json_obj_end(w);
    int rc = json_end(w);
    if (rc != 0)
        http_reply_err(rs, rc == TIDE_ELIMIT ? TIDE_ELIMIT : rc,
                       rc == TIDE_ELIMIT ? "response too large; narrow match[] or the time range"
                                         : "out of memory");
}

/* Parse match[] and start/end; reply 400 and return false on error. */
static bool parse_common(struct http_req *rq, struct http_resp *rs, bool required,
                         struct selectors *sel, int64_t *mint, int64_t *maxt)
{
    struct err e = {0};
    int rc = params_selectors(rq, required, sel, &e);
    if (rc == 0)
        rc = params_range(rq, mint, maxt, &e);
    if (rc != 0) {
        params_fini(sel);
        http_reply_err(rs, rc, e.msg);
        return false;
    }
    return true;
}

void prom_meta_series(struct http_req *rq, struct http_resp *rs)
{
    struct selectors sel;
    int64_t mint, maxt;
    if (!parse_common(rq, rs, true, &sel, &mint, &maxt))
        return;
    uint64_t limit = 0;
    struct err e = {0};
    int rc = params_uint(rq, "limit", 0, &limit, &e);
    struct lset *v = NULL;
    size_t n = 0, cap = 0;
    struct arena a; /* the label arrays of v: they outlive each set */
    arena_init(&a, 0);
    for (size_t i = 0; rc == 0 && i < sel.n; i++) {
        struct storage_set *set = NULL;
        rc = storage_select(rq->ctx->storage, sel.v[i].m, sel.v[i].n, mint, maxt, &set, &e);
        while (rc == 0 && storage_set_next(set)) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                struct lset *nv = realloc(v, ncap * sizeof *nv);
                if (nv == NULL) {
                    rc = ERR_SET(&e, -ENOMEM, "out of memory");
                    break;
                }
                v = nv;
                cap = ncap;
            }
            rc = storage_set_labels_into(set, &a, &v[n].ls, &v[n].n);
            if (rc != 0) {
                rc = ERR_SET(&e, rc, "out of memory");
                break;
            }
            n++;
        }
        if (set)
            storage_set_free(set);
    }
    params_fini(&sel);
    if (rc != 0) {
        free(v);
        arena_fini(&a);
        http_reply_err(rs, rc, e.msg);
        return;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, lset_cmp);
    struct json w;
    http_prom_success(rs, &w);
    json_arr(&w);
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && lset_cmp(&v[i - 1], &v[i]) == 0)
            continue;
        if (limit > 0 && written >= limit)
            break;
        json_obj(&w);
        for (size_t j = 0; j < v[i].n; j++) {
            json_keyv(&w, v[i].ls[j].name);
            json_str(&w, v[i].ls[j].value);
        }
        json_obj_end(&w);
        written++;
    }
    json_arr_end(&w);
    free(v);
    arena_fini(&a);
    end_success(rs, &w);
}

/* Gather label names (name == NULL) or values of `name` over the selectors
 * (all series when there are none); reply with the sorted distinct list. */
static void names_or_values(struct http_req *rq, struct http_resp *rs, const char *name)
{
    struct selectors sel;
    int64_t mint, maxt;
    if (!parse_common(rq, rs, false, &sel, &mint, &maxt))
        return;
    uint64_t limit = 0;
    struct err e = {0};
    int rc = params_uint(rq, "limit", 0, &limit, &e);
    struct strv *all = NULL;
    size_t nall = 0;
    size_t rounds = sel.n ? sel.n : 1;
    for (size_t i = 0; rc == 0 && i < rounds; i++) {
        const struct matcher *m = sel.n ? sel.v[i].m : NULL;
        size_t nm = sel.n ? sel.v[i].n : 0;
        struct strv *got = NULL;
        size_t ngot = 0;
        if (name == NULL)
            rc = storage_label_names(rq->ctx->storage, m, nm, mint, maxt, &got, &ngot, &e);
        else
            rc = storage_label_values(rq->ctx->storage, strv_c(name), m, nm, mint, maxt, &got,
                                      &ngot, &e);
        if (rc != 0)
            break;
        if (all == NULL) {
            all = got;
            nall = ngot;
            continue;
        }
        struct strv *grown = ngot ? realloc(all, (nall + ngot) * sizeof *all) : all;
        if (grown == NULL) {
            free(got);
            rc = ERR_SET(&e, -ENOMEM, "out of memory");
            break;
        }
        all = grown;
        if (ngot)
            memcpy(all + nall, got, ngot * sizeof *got);
        nall += ngot;
        free(got);
    }
    bool merged = sel.n > 1;
    params_fini(&sel);
    if (rc != 0) {
        free(all);
        http_reply_err(rs, rc, e.msg);
        return;
    }
    if (merged && nall > 1)
        qsort(all, nall, sizeof *all, strv_qcmp);
    struct json w;
    http_prom_success(rs, &w);
    json_arr(&w);
    size_t written = 0;
    for (size_t i = 0; i < nall; i++) {
        if (i > 0 && strv_eq(all[i - 1], all[i]))
            continue;
        if (limit > 0 && written >= limit)
            break;
        json_str(&w, all[i]);
        written++;
    }
    json_arr_end(&w);
    free(all);
    end_success(rs, &w);
}

void prom_meta_labels(struct http_req *rq, struct http_resp *rs)
{
    names_or_values(rq, rs, NULL);
}

void prom_meta_label_values(struct http_req *rq, struct http_resp *rs)
{
    const char *name = rq->path_arg ? rq->path_arg : "";
    if (!labels_valid_label_name(strv_c(name))) {
        char msg[200];
        snprintf(msg, sizeof msg, "invalid label name: \"%.128s\"", name);
        http_reply_prom_error(rs, 400, "bad_data", msg);
        return;
    }
    names_or_values(rq, rs, name);
}

static void counts(struct json *w, const char *key, const struct storage_count *v, size_t n)
{
    json_key(w, key);
    json_arr(w);
    for (size_t i = 0; i < n; i++) {
        json_obj(w);
        json_key(w, "name");
        json_str(w, v[i].name);
        json_key(w, "value");
        json_u64(w, v[i].value);
        json_obj_end(w);
    }
    json_arr_end(w);
}

void prom_meta_tsdb_status(struct http_req *rq, struct http_resp *rs)
{
    uint64_t topn = 0;
    struct err e = {0};
    int rc = params_uint(rq, "limit", META_DEFAULT_TOPN, &topn, &e);
    if (rc == 0 && (topn == 0 || topn > 10000))
        rc = ERR_INVAL(&e, "limit must be a positive number up to 10000");
    if (rc != 0) {
        http_reply_err(rs, rc, e.msg);
        return;
    }
    struct storage_tsdb_status ts = {0};
    struct storage_stats st = {0};
    rc = storage_tsdb_status(rq->ctx->storage, (size_t)topn, &ts);
    if (rc != 0) {
        http_reply_err(rs, rc, "reading the TSDB status failed");
        return;
    }
    rc = storage_stats(rq->ctx->storage, &st);
    if (rc != 0) {
        storage_tsdb_status_fini(&ts);
        http_reply_err(rs, rc, "reading the storage statistics failed");
        return;
    }
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    json_key(&w, "headStats");
    json_obj(&w);
    json_key(&w, "numSeries");
    json_u64(&w, ts.num_series);
    json_key(&w, "numLabelPairs");
    json_u64(&w, ts.num_label_pairs);
    json_key(&w, "chunkCount");
    json_u64(&w, st.head_chunks);
    json_key(&w, "minTime");
    json_i64(&w, ts.mint_ms);
    json_key(&w, "maxTime");
    json_i64(&w, ts.maxt_ms);
    json_obj_end(&w);
    counts(&w, "seriesCountByMetricName", ts.by_metric, ts.nby_metric);
    counts(&w, "labelValueCountByLabelName", ts.values_by_name, ts.nvalues_by_name);
    counts(&w, "memoryInBytesByLabelName", ts.memory_by_name, ts.nmemory_by_name);
    counts(&w, "seriesCountByLabelValuePair", ts.by_label_pair, ts.nby_label_pair);
    json_obj_end(&w);
    storage_tsdb_status_fini(&ts);
    storage_stats_fini(&st);
    end_success(rs, &w);
}
