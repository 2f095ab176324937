/* admin.c: deletion, storage status and health endpoints.
 *
 *   POST|PUT /api/v1/admin/tsdb/delete_series   Prometheus' API: 204, data hidden at once
 *   GET /api/v1/status/storage                  Tide's own view of storage_stats()
 *   GET /health, /-/healthy                     200 "OK" while the process serves
 *   GET /ready, /-/ready                        200 while serving, 503 while shutting down
 *
 * Deletion goes straight to storage_delete(), which hides the samples from
 * every read before it returns; compaction reclaims the space later.
 */
#include <stdio.h>

#include "api/http.h"
#include "api/json.h"
#include "api/params.h"
#include "api/router.h"
#include "core/log.h"
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

void admin_storage_status(struct http_req *rq, struct http_resp *rs)
{
    struct storage_stats st = {0};
    int rc = storage_stats(rq->ctx->storage, &st);
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
    json_obj_end(&w);
    json_obj_end(&w);
    storage_stats_fini(&st);
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
