/* admin.c: deletion, storage status and health endpoints.
 *
 *   POST|PUT /api/v1/admin/tsdb/delete_series   Prometheus' API: 204, data hidden at once
 *   POST /api/v1/admin/cleanup                  delete (or count, dry_run) what is older
 *                                               than older_than, in match[] or everything
 *   GET /api/v1/status/storage                  Tide's own view of storage_stats(), plus
 *                                               storage_usage(): bytes by job/instance, tiers
 *   GET /health, /-/healthy                     200 "OK" while the process serves
 *   GET /ready, /-/ready                        200 while serving, 503 while shutting down
 *
 * Deletion goes straight to storage_delete(), which hides the samples from
 * every read before it returns; compaction reclaims the space later.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/http.h"
#include "api/json.h"
#include "api/params.h"
#include "api/router.h"
#include "core/log.h"
#include "core/time.h"
#include "storage/storage.h"

void admin_delete_series(struct http_req *rq, struct http_resp *rs)
{
    struct selectors sel;
    int64_t mint, maxt;
    struct err e = {0};
    int rc = params_selectors(rq, true, &sel, &e);
    if (rc == 0) {
        rc = params_range(rq, &mint, &maxt, &e);
        if (rc != 0)
            params_fini(&sel);
    }
    if (rc != 0) {
        http_reply_err(rs, rc, e.msg);
        return;
    }
    size_t touched = 0;
    for (size_t i = 0; rc == 0 && i < sel.n; i++) {
        size_t n = 0;
        rc = storage_delete(rq->ctx->storage, sel.v[i].m, sel.v[i].n, mint, maxt, &n, &e);
        touched += n;
    }
    size_t sel_n = sel.n;
    params_fini(&sel);
    if (rc != 0) {
        http_reply_err(rs, rc, e.msg);
        return;
    }
    log_info("admin", "delete_series: %zu match[], %zu series touched", sel_n, touched);
    http_reply(rs, 204, NULL, NULL);
}

/* The value of a true/false parameter; `dflt` when absent. */
static int param_bool(const struct http_req *rq, const char *name, bool dflt, bool *out,
                      struct err *e)
{
    const char *v = http_param(rq, name);
    *out = dflt;
    if (v == NULL || v[0] == 0)
        return 0;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return ERR_INVAL(e, "invalid parameter \"%s\": want true or false, got \"%s\"", name, v);
    return 0;
}

void admin_cleanup(struct http_req *rq, struct http_resp *rs)
{
    struct err e = {0};
    const char *older = http_param(rq, "older_than");
    int64_t older_ms = 0;
    bool dry = false;
    int rc = 0;
    if (older == NULL || older[0] == 0)
        rc = ERR_INVAL(&e, "missing parameter \"older_than\" (a duration, e.g. 7d)");
    else if (time_parse_duration_ms(older, &older_ms, &e) != 0 || older_ms <= 0)
        rc = ERR_INVAL(&e, "invalid parameter \"older_than\": want a positive duration, got \"%s\"",
                       older);
    if (rc == 0)
        rc = param_bool(rq, "dry_run", false, &dry, &e);
    struct selectors sel = {0};
    if (rc == 0)
        rc = params_selectors(rq, false, &sel, &e);
    if (rc != 0) {
        http_reply_err(rs, rc, e.msg);
        return;
    }
    /* No match[]: every series (__name__ is never empty). */
    struct matcher all;
    size_t nsel = sel.n ? sel.n : 1;
    if (sel.n == 0) {
        rc = matcher_init(&all, MATCH_RE, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT(".+"), &e);
        if (rc != 0) {
            http_reply_err(rs, rc, e.msg);
            return;
        }
    }
    int64_t maxt = time_now_ms() - older_ms;
    uint64_t series = 0, samples = 0;
    for (size_t i = 0; rc == 0 && i < nsel; i++) {
        const struct matcher *m = sel.n ? sel.v[i].m : &all;
        size_t nm = sel.n ? sel.v[i].n : 1;
        uint64_t ns = 0, nv = 0;
        rc = storage_count(rq->ctx->storage, m, nm, PARAMS_MIN_TIME, maxt, &ns, &nv, &e);
        if (rc == 0 && !dry && ns > 0)
            rc = storage_delete(rq->ctx->storage, m, nm, PARAMS_MIN_TIME, maxt, NULL, &e);
        series += ns;
        samples += nv;
    }
    if (sel.n == 0)
        matcher_fini(&all);
    params_fini(&sel);
    if (rc != 0) {
        http_reply_err(rs, rc, e.msg);
        return;
    }
    log_info("admin", "cleanup older_than=%s%s: %" PRIu64 " series, %" PRIu64 " samples", older,
             dry ? " (dry run)" : "", series, samples);
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    json_key(&w, "dryRun");
    json_bool(&w, dry);
    json_key(&w, "series");
    json_u64(&w, series);
    json_key(&w, "samples");
    json_u64(&w, samples);
    json_obj_end(&w);
    json_obj_end(&w);
    rc = json_end(&w);
    if (rc != 0)
        http_reply_err(rs, rc, "response too large");
}

/* byJobInstance and tiers of /api/v1/status/storage. */
static void write_usage(struct json *w, const struct storage_usage *u)
{
    json_key(w, "byJobInstance");
    json_arr(w);
    for (size_t i = 0; i < u->ngroups; i++) {
        const struct storage_group_info *g = &u->groups[i];
        json_obj(w);
        json_key(w, "job");
        json_str(w, g->job);
        json_key(w, "instance");
        json_str(w, g->instance);
        json_key(w, "series");
        json_u64(w, g->series);
        json_key(w, "samples");
        json_u64(w, g->samples);
        json_key(w, "bytes");
        json_u64(w, g->bytes);
        json_key(w, "minTime");
        json_i64(w, g->mint_ms);
        json_key(w, "maxTime");
        json_i64(w, g->maxt_ms);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_key(w, "tiers");
    json_arr(w);
    for (size_t i = 0; i < u->ntiers; i++) {
        const struct storage_tier_info *t = &u->tiers[i];
        json_obj(w);
        json_key(w, "name");
        json_cstr(w, t->name);
        json_key(w, "resolution");
        json_i64(w, t->resolution_ms);
        json_key(w, "retention");
        json_i64(w, t->retention_ms);
        json_key(w, "series");
        json_u64(w, t->series);
        json_key(w, "samples");
        json_u64(w, t->samples);
        json_key(w, "bytes");
        json_u64(w, t->bytes);
        json_key(w, "minTime");
        json_i64(w, t->mint_ms);
        json_key(w, "maxTime");
        json_i64(w, t->maxt_ms);
        json_obj_end(w);
    }
    json_arr_end(w);
}

void admin_storage_status(struct http_req *rq, struct http_resp *rs)
{
    struct storage_stats st = {0};
    struct storage_usage us = {0};
    int rc = storage_stats(rq->ctx->storage, &st);
    if (rc == 0) {
        rc = storage_usage(rq->ctx->storage, &us);
        if (rc != 0)
            storage_stats_fini(&st);
    }
    if (rc != 0) {
        http_reply_err(rs, rc, "reading the storage statistics failed");
        return;
    }
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    json_key(&w, "bytesOnDisk");
    json_u64(&w, st.bytes_on_disk);
    json_key(&w, "walBytes");
    json_u64(&w, st.wal_bytes);
    json_key(&w, "series");
    json_u64(&w, st.series);
    json_key(&w, "samples");
    json_u64(&w, st.head_samples + st.block_samples);
    json_key(&w, "minTime");
    json_i64(&w, st.mint_ms);
    json_key(&w, "maxTime");
    json_i64(&w, st.maxt_ms);
    json_key(&w, "head");
    json_obj(&w);
    json_key(&w, "series");
    json_u64(&w, st.head_series);
    json_key(&w, "samples");
    json_u64(&w, st.head_samples);
    json_key(&w, "chunks");
    json_u64(&w, st.head_chunks);
    json_obj_end(&w);
    json_key(&w, "blockSamples");
    json_u64(&w, st.block_samples);
    json_key(&w, "partitions");
    json_arr(&w);
    for (size_t i = 0; i < st.npartitions; i++) {
        const struct storage_partition_info *p = &st.partitions[i];
        json_obj(&w);
        json_key(&w, "minTime");
        json_i64(&w, p->mint_ms);
        json_key(&w, "maxTime");
        json_i64(&w, p->maxt_ms);
        json_key(&w, "blocks");
        json_u64(&w, p->blocks);
        json_key(&w, "bytes");
        json_u64(&w, p->bytes);
        json_key(&w, "samples");
        json_u64(&w, p->samples);
        json_key(&w, "series");
        json_u64(&w, p->series);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_key(&w, "totals");
    json_obj(&w);
    json_key(&w, "samplesAppended");
    json_u64(&w, st.samples_appended_total);
    json_key(&w, "samplesOutOfOrder");
    json_u64(&w, st.samples_out_of_order_total);
    json_key(&w, "samplesRejected");
    json_u64(&w, st.samples_rejected_total);
    json_key(&w, "seriesCreated");
    json_u64(&w, st.series_created_total);
    json_key(&w, "walFsyncs");
    json_u64(&w, st.wal_fsyncs_total);
    json_key(&w, "walBytesWritten");
    json_u64(&w, st.wal_bytes_total);
    json_key(&w, "walTornRecords");
    json_u64(&w, st.wal_torn_records_total);
    json_key(&w, "headCuts");
    json_u64(&w, st.head_cuts_total);
    json_key(&w, "compactions");
    json_u64(&w, st.compactions_total);
    json_key(&w, "partitionsDropped");
    json_u64(&w, st.partitions_dropped_total);
    json_key(&w, "walCorruptRecords");
    json_u64(&w, st.wal_corrupt_records_total);
    json_key(&w, "walCorruptBytes");
    json_u64(&w, st.wal_corrupt_bytes_total);
    json_key(&w, "blocksQuarantined");
    json_u64(&w, st.blocks_quarantined_total);
    json_key(&w, "backgroundErrors");
    json_obj(&w);
    for (int j = 0; j < STORAGE_JOB_N; j++) {
        json_key(&w, storage_job_name((enum storage_job)j));
        json_u64(&w, st.job_errors_total[j]);
    }
    json_obj_end(&w);
    json_obj_end(&w);
    json_key(&w, "blocksDamaged");
    json_u64(&w, st.blocks_damaged);
    json_key(&w, "lastError"); /* job "" and time 0 when no job has failed */
    json_obj(&w);
    json_key(&w, "job");
    json_cstr(&w, st.last_error_job ? st.last_error_job : "");
    json_key(&w, "error");
    json_cstr(&w, st.last_error);
    json_key(&w, "time");
    json_i64(&w, st.last_error_ms);
    json_obj_end(&w);
    write_usage(&w, &us);
    json_obj_end(&w);
    json_obj_end(&w);
    storage_stats_fini(&st);
    storage_usage_fini(&us);
    rc = json_end(&w);
    if (rc != 0)
        http_reply_err(rs, rc, "response too large");
}

void admin_health(struct http_req *rq, struct http_resp *rs)
{
    (void)rq;
    http_reply(rs, 200, "text/plain; charset=utf-8", "OK\n");
}

void admin_ready(struct http_req *rq, struct http_resp *rs)
{
    if (atomic_load(&rq->ctx->ready))
        http_reply(rs, 200, "text/plain; charset=utf-8", "Ready\n");
    else
        http_reply(rs, 503, "text/plain; charset=utf-8", "Service Unavailable\n");
}
