/* status.c: storage_stats() and storage_tsdb_status(), the numbers the API
 * and the self-monitoring metrics show.
 *
 * Counters are relaxed atomics bumped on the hot paths; everything else is
 * computed here on demand by walking the registry, the postings and the
 * live block list under lock(read) (and each series' stripe for its head).
 * Nothing here changes state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"

int storage_stats(struct storage *s, struct storage_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->append_mu);
    out->wal_fsyncs_total = wal_fsyncs(s->wal);
    out->wal_bytes_total = wal_bytes_written(s->wal);
    out->wal_bytes = wal_size_bytes(s->wal);
    pthread_mutex_unlock(&s->append_mu);

    pthread_rwlock_rdlock(&s->lock);
    uint32_t n = series_count(&s->reg);
    out->series = n;
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    for (uint32_t id = 0; id < n; id++) {
        struct series *sr = series_get(&s->reg, id);
        int64_t a = atomic_load_explicit(&sr->mint, memory_order_relaxed);
        int64_t b = atomic_load_explicit(&sr->maxt, memory_order_relaxed);
        if (a <= b) {
            mint = a < mint ? a : mint;
            maxt = b > maxt ? b : maxt;
        }
        pthread_mutex_t *mu = storage_stripe(s, id);
        pthread_mutex_lock(mu);
        uint64_t hs = sr->head.nsamples;
        uint32_t hc = head_data_chunks(&sr->head);
        pthread_mutex_unlock(mu);
        const struct head_data *frozen = series_frozen(s, id);
        if (frozen) {
            hs += frozen->nsamples;
            hc += head_data_chunks(frozen);
        }
        out->head_series += hs > 0;
        out->head_samples += hs;
        out->head_chunks += hc;
    }
    if (mint <= maxt) {
        out->mint_ms = mint;
        out->maxt_ms = maxt;
    }
    uint64_t block_bytes = 0;
    struct storage_partition_info *parts = NULL;
    size_t np = 0;
    for (size_t i = 0; i < s->nblocks; i++) {
        const struct db_block *db = &s->blocks[i];
        const struct block_meta *bm = block_meta(db->b);
        size_t j = 0;
        while (j < np && parts[j].mint_ms != db->partition)
            j++;
        if (j == np) {
            struct storage_partition_info *v = realloc(parts, (np + 1) * sizeof *v);
            if (!v)
                continue;
            parts = v;
            parts[np++] = (struct storage_partition_info){
                .mint_ms = db->partition, .maxt_ms = db->partition + s->o.partition_ms};
        }
        parts[j].blocks++;
        parts[j].bytes += bm->bytes;
        parts[j].samples += bm->nsamples;
        parts[j].series += bm->nseries;
        block_bytes += bm->bytes;
        out->block_samples += bm->nsamples;
        out->blocks_damaged += db->damaged;
    }
    out->tombstones = s->ntombs;
    pthread_rwlock_unlock(&s->lock);
    /* Partitions in time order. */
    for (size_t i = 1; i < np; i++)
        for (size_t j = i; j > 0 && parts[j - 1].mint_ms > parts[j].mint_ms; j--) {
            struct storage_partition_info t = parts[j];
            parts[j] = parts[j - 1];
            parts[j - 1] = t;
        }
    out->partitions = parts;
    out->npartitions = np;
    out->bytes_on_disk = block_bytes + out->wal_bytes;
    out->samples_appended_total = atomic_load(&s->samples_appended);
    out->samples_out_of_order_total = atomic_load(&s->samples_ooo);
    out->samples_rejected_total = atomic_load(&s->samples_rejected);
    out->series_created_total = atomic_load(&s->series_created);
    out->wal_torn_records_total = s->wal_torn;
    out->head_cuts_total = atomic_load(&s->head_cuts);
    out->compactions_total = atomic_load(&s->compactions);
    out->partitions_dropped_total = atomic_load(&s->partitions_dropped);
    out->background_errors_total = atomic_load(&s->background_errors);
    for (int j = 0; j < STORAGE_JOB_N; j++)
        out->job_errors_total[j] = atomic_load(&s->job_errors[j]);
    pthread_mutex_lock(&s->err_mu);
    memcpy(out->last_error, s->last_error, sizeof out->last_error);
    out->last_error_job = s->last_error_job;
    out->last_error_ms = s->last_error_ms;
    pthread_mutex_unlock(&s->err_mu);
    out->wal_corrupt_records_total = s->wal_corrupt;
    out->wal_corrupt_bytes_total = s->wal_corrupt_bytes;
    out->blocks_quarantined_total = atomic_load(&s->blocks_quarantined);
    return 0;
}

void storage_stats_fini(struct storage_stats *st)
{
    free(st->partitions);
    st->partitions = NULL;
    st->npartitions = 0;
}

static int cmp_count(const void *a, const void *b)
{
    const struct storage_count *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strv_cmp(x->name, y->name);
}

/* Sort descending and keep the top n; frees the names of dropped pairs. */
static void top(struct storage_count *v, size_t *n, size_t topn, bool owned)
{
    qsort(v, *n, sizeof *v, cmp_count);
    if (*n > topn) {
        for (size_t i = topn; owned && i < *n; i++)
            free((char *)v[i].name.p);
        *n = topn;
    }
}

int storage_tsdb_status(struct storage *s, size_t topn, struct storage_tsdb_status *out)
{
    memset(out, 0, sizeof *out);
    if (topn == 0)
        topn = 10;
    int rc = 0;
    pthread_rwlock_rdlock(&s->lock);
    const struct postings *p = &s->postings;
    uint32_t n = series_count(&s->reg);
    out->num_series = n;
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    for (uint32_t id = 0; id < n; id++) {
        struct series *sr = series_get(&s->reg, id);
        int64_t a = atomic_load(&sr->mint), b = atomic_load(&sr->maxt);
        if (a <= b) {
            mint = a < mint ? a : mint;
            maxt = b > maxt ? b : maxt;
        }
    }
    if (mint <= maxt) {
        out->mint_ms = mint;
        out->maxt_ms = maxt;
    }
    size_t npairs = 0;
    for (uint32_t i = 0; i < p->nnames; i++)
        npairs += p->by_intern[p->names[i]]->nvalues;
    out->num_label_pairs = npairs;
    out->by_label_pair = calloc(npairs ? npairs : 1, sizeof *out->by_label_pair);
    out->values_by_name = calloc(p->nnames ? p->nnames : 1, sizeof *out->values_by_name);
    out->memory_by_name = calloc(p->nnames ? p->nnames : 1, sizeof *out->memory_by_name);
    uint32_t metric = intern_find(&s->intern, STRV_LIT(LABEL_METRIC_NAME));
    const struct postings_name *mn = metric == UINT32_MAX ? NULL : postings_name_get(p, metric);
    out->by_metric = calloc(mn && mn->nvalues ? mn->nvalues : 1, sizeof *out->by_metric);
    if (!out->by_label_pair || !out->values_by_name || !out->memory_by_name || !out->by_metric) {
        rc = -ENOMEM;
        goto unlock;
    }
    for (uint32_t i = 0; mn && i < mn->nvalues; i++)
        out->by_metric[out->nby_metric++] =
            (struct storage_count){intern_str(&s->intern, mn->values[i].value),
                                   mn->values[i].list.n};
    for (uint32_t i = 0; i < p->nnames && rc == 0; i++) {
        const struct postings_name *pn = p->by_intern[p->names[i]];
        struct strv name = intern_str(&s->intern, pn->name);
        uint64_t mem = 0;
        for (uint32_t j = 0; j < pn->nvalues; j++) {
            struct strv v = intern_str(&s->intern, pn->values[j].value);
            mem += v.n;
            char *pair;
            int len = asprintf(&pair, "%.*s=%.*s", (int)name.n, name.p, (int)v.n, v.p);
            if (len < 0) {
                rc = -ENOMEM;
                break;
            }
            out->by_label_pair[out->nby_label_pair++] =
                (struct storage_count){{pair, (size_t)len}, pn->values[j].list.n};
        }
        out->values_by_name[out->nvalues_by_name++] = (struct storage_count){name, pn->nvalues};
        out->memory_by_name[out->nmemory_by_name++] = (struct storage_count){name, mem};
    }
unlock:
    pthread_rwlock_unlock(&s->lock);
    if (rc) {
        storage_tsdb_status_fini(out);
        return rc;
    }
    top(out->by_metric, &out->nby_metric, topn, false);
    top(out->by_label_pair, &out->nby_label_pair, topn, true);
    top(out->values_by_name, &out->nvalues_by_name, topn, false);
    top(out->memory_by_name, &out->nmemory_by_name, topn, false);
    return 0;
}

void storage_tsdb_status_fini(struct storage_tsdb_status *st)
{
    for (size_t i = 0; st->by_label_pair && i < st->nby_label_pair; i++)
        free((char *)st->by_label_pair[i].name.p);
    free(st->by_metric);
    free(st->by_label_pair);
    free(st->values_by_name);
    free(st->memory_by_name);
    memset(st, 0, sizeof *st);
}
