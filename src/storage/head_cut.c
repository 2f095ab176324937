/* head_cut.c: moving the head's samples into immutable blocks.
 *
 * Essay. The head grows until it spans more than head_max_age_ms (or a
 * forced cut at close or from storage_maintain()). A cut then takes ALL of
 * it, not just the older part: simpler, and it keeps the rule "head data is
 * newer than every block" true without per-sample bookkeeping. It runs in
 * three steps so neither appenders nor readers wait for the disk:
 *   1. Freeze (append_mu + lock(write), a pointer move per series): every
 *      series' active head_data becomes its `frozen` data and a fresh one
 *      takes appends; the WAL starts a new segment `seg` and a new
 *      generation, so records after this point describe their series again.
 *   2. Write (no lock): frozen data is immutable, so it is read freely and
 *      written into one block per time partition (floor(t / partition_ms)),
 *      series in labels_cmp order, each block fsync'ed and renamed in place
 *      by block_writer_finish(). Readers meanwhile see frozen data as a
 *      layer between the blocks and the active head.
 *   3. Publish (lock(write)): the new blocks join the live list and the
 *      frozen data is freed in the same critical section, so a reader of a
 *      series sees it either in frozen data or in a block, never in both or
 *      neither. Only then are the WAL segments before `seg` deleted: a crash
 *      before that replays them into the head, duplicating samples the
 *      blocks already hold, which reads and compaction deduplicate.
 * If step 2 fails (ENOSPC), the frozen data stays readable and the next
 * cut retries writing it before freezing anything new.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/pagemem.h"
#include "storage/engine.h"

struct cut_out {
    int64_t partition;
    uint64_t seq;
    char *path;
    struct block_writer *w;
    uint32_t *sids;      /* (sid, index) pairs in write order */
    uint32_t nsids, cap;
};

static int cmp_labels(const void *a, const void *b, void *ctx)
{
    const struct storage *s = ctx;
    const struct series *x = series_get(&s->reg, *(const uint32_t *)a);
    const struct series *y = series_get(&s->reg, *(const uint32_t *)b);
    return series_cmp(&s->intern, x, y);
}

static int cmp_pair(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Step 1. Caller holds maint_mu. *did is false when there was nothing to cut. */
static int freeze(struct storage *s, bool force, uint32_t *seg, bool *did, struct err *e)
{
    *did = false;
    pthread_mutex_lock(&s->append_mu);
    bool empty = s->head_mint > s->head_maxt;
    bool due = !empty && (force || (uint64_t)s->head_maxt - (uint64_t)s->head_mint >
                                       (uint64_t)s->o.head_max_age_ms);
    if (!due) {
        pthread_mutex_unlock(&s->append_mu);
        return 0;
    }
    int rc = wal_flush(s->wal);
    if (rc == 0) {
        pthread_mutex_lock(&s->sync_mu);
        rc = wal_cut(s->wal, seg);
        pthread_mutex_unlock(&s->sync_mu);
    }
    if (rc) {
        pthread_mutex_unlock(&s->append_mu);
        return ERR_SET(e, rc, "starting a WAL segment for a head cut: %s", tide_strerror(rc));
    }
    s->wal_gen++;
    pthread_rwlock_wrlock(&s->lock);
    uint32_t n = series_count(&s->reg);
    void *table = NULL;
    size_t table_cap = 0;
    rc = pagemem_grow(&table, &table_cap, (size_t)(n ? n : 1) * sizeof *s->frozen);
    if (rc) {
        pthread_rwlock_unlock(&s->lock);
        pthread_mutex_unlock(&s->append_mu);
        return ERR_SET(e, rc, "out of memory freezing the head");
    }
    s->frozen = table;
    s->frozen_cap = table_cap;
    s->nfrozen = n;
    for (uint32_t id = 0; id < n && rc == 0; id++) {
        struct series *sr = series_get(&s->reg, id);
        if (sr->head.nsamples == 0)
            continue;
        if (s->closing) {
            /* No appender any more: write the active data as it is. */
            s->frozen[id] = &sr->head;
            continue;
        }
        struct head_data *f = malloc(sizeof *f);
        if (!f) {
            rc = ERR_SET(e, -ENOMEM, "out of memory freezing the head");
            break;
        }
        head_data_move(f, &sr->head);
        s->frozen[id] = f;
    }
    s->cutting = true;
    atomic_store_explicit(&s->head_samples, 0, memory_order_relaxed);
    for (uint32_t id = 0; id < n; id++)
        atomic_fetch_add_explicit(&s->head_samples, series_get(&s->reg, id)->head.nsamples,
                                  memory_order_relaxed);
    s->head_mint = INT64_MAX;
    s->head_maxt = INT64_MIN;
    pthread_rwlock_unlock(&s->lock);
    pthread_mutex_unlock(&s->append_mu);
    *did = true;
    return rc;
}

static struct cut_out *out_for(struct storage *s, struct cut_out **outs, size_t *nouts,
                               int64_t partition, struct err *e, int *rc)
{
    for (size_t i = 0; i < *nouts; i++)
        if ((*outs)[i].partition == partition)
            return &(*outs)[i];
    struct cut_out *v = realloc(*outs, (*nouts + 1) * sizeof *v);
    if (!v) {
        *rc = ERR_SET(e, -ENOMEM, "out of memory");
        return NULL;
    }
    *outs = v;
    struct cut_out *o = &v[(*nouts)++];
    memset(o, 0, sizeof *o);
    o->partition = partition;
    o->seq = s->next_seq++;
    o->path = db_block_path(s, partition, o->seq);
    if (!o->path) {
        *rc = ERR_SET(e, -ENOMEM, "out of memory");
        return NULL;
    }
    char *dir = strdup(o->path);
    if (!dir) {
        *rc = ERR_SET(e, -ENOMEM, "out of memory");
        return NULL;
    }
    *strrchr(dir, '/') = 0;
    *rc = fs_mkdir_p(dir);
    free(dir);
    if (*rc == 0)
        *rc = fs_fsync_dir(s->blocks_dir);
    if (*rc) {
        ERR_SET(e, *rc, "creating the partition directory of %s: %s", o->path, tide_strerror(*rc));
        return NULL;
    }
    *rc = block_writer_new(&o->w, o->path, e);
    return *rc ? NULL : o;
}

static int out_add(struct cut_out *o, uint32_t sid, const struct label *ls, size_t nls,
                   const struct sample *v, size_t n, struct err *e)
{
    if (o->nsids == o->cap) {
        uint32_t cap = o->cap ? o->cap * 2 : 256;
        uint32_t *p = realloc(o->sids, 2 * (size_t)cap * sizeof *p);
        if (!p)
            return ERR_SET(e, -ENOMEM, "out of memory");
        o->sids = p;
        o->cap = cap;
    }
    int rc = block_writer_add(o->w, ls, nls, v, n, e);
    if (rc)
        return rc;
    o->sids[2 * o->nsids] = sid;
    o->sids[2 * o->nsids + 1] = o->nsids;
    o->nsids++;
    return 0;
}

/* Step 2 and 3. Caller holds maint_mu; frozen data exists. */
static int write_frozen(struct storage *s, struct err *e)
{
    uint32_t n = series_count(&s->reg), nids = 0;
    uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (uint32_t id = 0; id < n; id++)
        if (series_frozen(s, id))
            ids[nids++] = id;
    qsort_r(ids, nids, sizeof *ids, cmp_labels, s);

    struct cut_out *outs = NULL;
    size_t nouts = 0;
    struct sample *v = NULL;
    size_t nv = 0, cap = 0;
    struct label *lbuf = NULL;
    size_t lcap = 0;
    int rc = 0;
    for (uint32_t i = 0; i < nids && rc == 0; i++) {
        struct series *sr = series_get(&s->reg, ids[i]);
        struct head_data *frozen = series_frozen(s, ids[i]);
        nv = 0;
        rc = head_data_read(frozen, &v, &nv, &cap, e);
        for (size_t j = 0; j < nv && rc == 0;) {
            int64_t part = db_partition_of(s, v[j].t_ms);
            size_t k = j;
            while (k < nv && db_partition_of(s, v[k].t_ms) == part)
                k++;
            struct cut_out *o = out_for(s, &outs, &nouts, part, e, &rc);
            if (o && (rc = series_labels_buf(&s->intern, sr, &lbuf, &lcap)) != 0)
                rc = ERR_SET(e, rc, "out of memory");
            else if (o)
                rc = out_add(o, ids[i], lbuf, sr->nlabels, v + j, k - j, e);
            j = k;
        }
        /* Closing: the block writer has the samples (the WAL still has them
         * too until the cut succeeds), so give their memory back at once. */
        if (s->closing && frozen == &sr->head)
            head_data_fini(&sr->head);
    }
    free(v);
    free(ids);
    free(lbuf);

    struct block **opened = calloc(nouts ? nouts : 1, sizeof *opened);
    if (!opened && rc == 0)
        rc = ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < nouts; i++) {
        struct cut_out *o = &outs[i];
        if (!o->w)
            continue;
        if (rc) {
            block_writer_abort(o->w);
            continue;
        }
        rc = block_writer_finish(o->w, e);
        if (rc == 0 && !s->closing)
            rc = block_open(&opened[i], o->path, e);
    }
    if (rc == 0 && s->closing) {
        /* storage_close(): the blocks are durable and nobody reads them in
         * this life, so do not load their index only to free it. */
        head_cut_free_frozen(s);
        s->cutting = false;
        for (size_t i = 0; i < nouts; i++) {
            free(outs[i].sids);
            free(outs[i].path);
        }
        free(outs);
        free(opened);
        return 0;
    }
    if (rc) {
        /* Keep the frozen data; forget the blocks written by this attempt. */
        for (size_t i = 0; i < nouts; i++) {
            if (opened && opened[i]) {
                block_mark_deleted(opened[i]);
                block_unref(opened[i]);
            }
            free(outs[i].sids);
            free(outs[i].path);
        }
        free(outs);
        free(opened);
        return rc;
    }

    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < nouts; i++) {
        struct cut_out *o = &outs[i];
        qsort(o->sids, o->nsids, 2 * sizeof *o->sids, cmp_pair);
        if (rc == 0 && db_block_add(s, opened[i], o->partition, o->seq, o->sids, o->nsids) == 0) {
            o->sids = NULL;
            continue;
        }
        rc = ERR_SET(e, -ENOMEM, "out of memory");
        block_unref(opened[i]);
    }
    head_cut_free_frozen(s);
    s->cutting = false;
    pthread_rwlock_unlock(&s->lock);
    for (size_t i = 0; i < nouts; i++) {
        free(outs[i].sids);
        free(outs[i].path);
    }
    free(outs);
    free(opened);
    return rc;
}

void head_cut_free_frozen(struct storage *s)
{
    for (uint32_t id = 0; s->frozen && id < s->nfrozen; id++) {
        struct head_data *f = s->frozen[id];
        if (f && f != &series_get(&s->reg, id)->head) {
            head_data_fini(f);
            free(f);
        }
    }
    pagemem_free(s->frozen, s->frozen_cap);
    s->frozen = NULL;
    s->nfrozen = 0;
    s->frozen_cap = 0;
}

int head_cut(struct storage *s, bool force, struct err *e)
{
    if (s->cutting) {
        int rc = write_frozen(s, e);
        if (rc)
            return rc;
    }
    uint32_t seg = 0;
    bool did;
    int rc = freeze(s, force, &seg, &did, e);
    if (rc || !did)
        return rc;
    rc = write_frozen(s, e);
    if (rc)
        return rc;
    atomic_fetch_add_explicit(&s->head_cuts, 1, memory_order_relaxed);
    /* The frozen chunks are freed: give their pages back to the system
     * (they are scattered small blocks glibc would otherwise keep). */
    if (!s->closing)
        malloc_trim(0);
    pthread_mutex_lock(&s->append_mu);
    rc = wal_truncate_before(s->wal, seg);
    pthread_mutex_unlock(&s->append_mu);
    if (rc)
        return ERR_SET(e, rc, "deleting WAL segments before %u: %s", seg, tide_strerror(rc));
    return 0;
}
