/* db.c: storage_open()/storage_close(), the data directory and the
 * background jobs that keep the engine in shape.
 *
 * Layout: DIR/LOCK (flock'ed while open), DIR/wal/ (wal.c segments),
 * DIR/blocks/<partition_start_ms>/<seq>.blk (block.c files, one partition
 * per directory) and DIR/blocks/tombstones (tombstone.c). Open loads the
 * blocks and registers their series, loads the tombstones, replays the WAL
 * into the head (replay.c) and only then opens the WAL for appending, in a
 * new segment. One background thread runs the fsync timer, the head cut
 * check, and compaction plus retention once a minute (a core/loop.h loop,
 * each pass due at the earliest job); storage_close() stops it at once.
 * Invariant: the live block list is sorted by seq, and a higher seq always
 * holds newer writes of the same partition than a lower one.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/time.h"
#include "storage/engine.h"

#define DB_MAINT_INTERVAL_MS 60000 /* compaction and retention */
#define DB_CUT_CHECK_MS 1000       /* head cut check */

void storage_opts_defaults(struct storage_opts *o)
{
    if (o->fsync_interval_ms <= 0)
        o->fsync_interval_ms = 1000;
    if (o->partition_ms <= 0)
        o->partition_ms = 86400000;
    if (o->head_max_age_ms <= 0)
        o->head_max_age_ms = 2 * 3600 * 1000;
    if (o->max_labels_per_series == 0)
        o->max_labels_per_series = 64;
    if (o->max_label_name_len == 0)
        o->max_label_name_len = 256;
    if (o->max_label_value_len == 0)
        o->max_label_value_len = 4096;
}

int64_t db_partition_of(const struct storage *s, int64_t t_ms)
{
    int64_t p = s->o.partition_ms;
    int64_t q = t_ms / p;
    if (t_ms % p != 0 && t_ms < 0)
        q--;
    return q * p;
}

char *db_block_path(const struct storage *s, int64_t partition, uint64_t seq)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%" PRId64 "/%08" PRIu64 ".blk", s->blocks_dir, partition, seq) < 0)
        return NULL;
    return p;
}

/* Caller holds lock(write) (or is storage_open()). Takes over b's ref and sids. */
int db_block_add(struct storage *s, struct block *b, int64_t partition, uint64_t seq, uint32_t *sids,
                 uint32_t nsids)
{
    if (s->nblocks == s->cap_blocks) {
        size_t cap = s->cap_blocks ? s->cap_blocks * 2 : 16;
        struct db_block *v = realloc(s->blocks, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->blocks = v;
        s->cap_blocks = cap;
    }
    size_t i = s->nblocks;
    while (i > 0 && s->blocks[i - 1].seq > seq)
        i--;
    memmove(s->blocks + i + 1, s->blocks + i, (s->nblocks - i) * sizeof *s->blocks);
    s->blocks[i] = (struct db_block){b, partition, seq, sids, nsids};
    s->nblocks++;
    return 0;
}

/* Caller holds lock(write). Drops the storage's ref; the file goes with the
 * last ref. */
void db_block_remove_at(struct storage *s, size_t i)
{
    struct db_block *db = &s->blocks[i];
    block_mark_deleted(db->b);
    block_unref(db->b);
    free(db->sids);
    memmove(s->blocks + i, s->blocks + i + 1, (s->nblocks - i - 1) * sizeof *s->blocks);
    s->nblocks--;
}

static int cmp_pair(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Register the series of a block file found at open. */
static int load_block(struct storage *s, const char *path, int64_t partition, uint64_t seq,
                      struct err *e)
{
    struct block *b;
    int rc = block_open(&b, path, e);
    if (rc)
        return rc;
    const struct block_meta *bm = block_meta(b);
    uint32_t *sids = malloc((bm->nseries ? bm->nseries : 1) * 2 * sizeof *sids);
    if (!sids) {
        block_unref(b);
        return ERR_SET(e, -ENOMEM, "out of memory loading %s", path);
    }
    for (uint64_t i = 0; i < bm->nseries; i++) {
        const struct label *ls;
        size_t n;
        block_series_labels(b, i, &ls, &n);
        uint64_t h = labels_hash(ls, n);
        uint32_t sid = series_lookup(&s->reg, h, ls, n);
        if (sid == SERIES_NONE && (rc = series_create(s, ls, n, h, &sid)) != 0) {
            free(sids);
            block_unref(b);
            return ERR_SET(e, rc, "registering the series of %s", path);
        }
        int64_t mint, maxt;
        block_series_range(b, i, &mint, &maxt);
        series_widen(series_get(&s->reg, sid), mint, maxt);
        sids[2 * i] = sid;
        sids[2 * i + 1] = (uint32_t)i;
    }
    qsort(sids, bm->nseries, 2 * sizeof *sids, cmp_pair);
    rc = db_block_add(s, b, partition, seq, sids, (uint32_t)bm->nseries);
    if (rc) {
        free(sids);
        block_unref(b);
        return ERR_SET(e, rc, "out of memory");
    }
    if (seq >= s->next_seq)
        s->next_seq = seq + 1;
    return 0;
}

static int load_blocks(struct storage *s, struct err *e)
{
    DIR *d = opendir(s->blocks_dir);
    if (!d)
        return ERR_SET(e, -errno, "opening %s: %s", s->blocks_dir, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        char *end;
        errno = 0;
        long long part = strtoll(de->d_name, &end, 10);
        if (*end != 0 || end == de->d_name || errno)
            continue;
        char *pdir;
        if (asprintf(&pdir, "%s/%s", s->blocks_dir, de->d_name) < 0) {
            rc = ERR_SET(e, -ENOMEM, "out of memory");
            break;
        }
        DIR *pd = opendir(pdir);
        if (!pd) {
            free(pdir);
            continue;
        }
        struct dirent *be;
        while (rc == 0 && (be = readdir(pd)) != NULL) {
            unsigned long long seq;
            char tail[8];
            if (sscanf(be->d_name, "%llu%7s", &seq, tail) != 2 || strcmp(tail, ".blk") != 0)
                continue;
            char *path;
            if (asprintf(&path, "%s/%s", pdir, be->d_name) < 0) {
                rc = ERR_SET(e, -ENOMEM, "out of memory");
                break;
            }
            rc = load_block(s, path, (int64_t)part, seq, e);
            free(path);
        }
        closedir(pd);
        free(pdir);
    }
    closedir(d);
    return rc;
}

/* ---- background ---- */

/* One pass of the background loop: the jobs that are due, then the next
 * pass is set for the earliest next due time. */
static void bg_run(void *arg, struct loop *l)
{
    struct storage *s = arg;
    int64_t now = time_mono_ns() / 1000000;
    int rc = 0;
    if (s->o.fsync != STORAGE_FSYNC_ALWAYS && now >= s->bg_next_sync_ms) {
        /* NEVER still hands the buffer to the kernel, so that a process
         * crash loses at most one interval. */
        pthread_mutex_lock(&s->append_mu);
        rc |= wal_flush(s->wal);
        pthread_mutex_unlock(&s->append_mu);
        if (s->o.fsync == STORAGE_FSYNC_INTERVAL)
            rc |= head_append_sync(s);
        s->bg_next_sync_ms = now + s->o.fsync_interval_ms;
    }
    if (now >= s->bg_next_cut_ms) {
        pthread_mutex_lock(&s->maint_mu);
        rc |= head_cut(s, false, NULL);
        pthread_mutex_unlock(&s->maint_mu);
        s->bg_next_cut_ms = now + DB_CUT_CHECK_MS;
    }
    if (now >= s->bg_next_maint_ms) {
        pthread_mutex_lock(&s->maint_mu);
        rc |= compact_run(s, NULL);
        rc |= retention_run(s, time_now_ms(), NULL);
        pthread_mutex_unlock(&s->maint_mu);
        s->bg_next_maint_ms = now + DB_MAINT_INTERVAL_MS;
    }
    if (rc)
        atomic_fetch_add_explicit(&s->background_errors, 1, memory_order_relaxed);
    int64_t wake = s->bg_next_cut_ms < s->bg_next_maint_ms ? s->bg_next_cut_ms : s->bg_next_maint_ms;
    if (s->o.fsync != STORAGE_FSYNC_ALWAYS && s->bg_next_sync_ms < wake)
        wake = s->bg_next_sync_ms;
    loop_run_after(l, wake - time_mono_ns() / 1000000);
}

int storage_maintain(struct storage *s, bool force_cut, int64_t now_ms, struct err *e)
{
    pthread_mutex_lock(&s->append_mu);
    int rc = wal_flush(s->wal);
    pthread_mutex_unlock(&s->append_mu);
    if (rc == 0)
        rc = head_append_sync(s);
    if (rc)
        return ERR_SET(e, rc, "syncing the WAL: %s", tide_strerror(rc));
    pthread_mutex_lock(&s->maint_mu);
    rc = head_cut(s, force_cut, e);
    if (rc == 0)
        rc = compact_run(s, e);
    if (rc == 0)
        rc = retention_run(s, now_ms, e);
    pthread_mutex_unlock(&s->maint_mu);
    return rc;
}

/* ---- open / close ---- */

static void storage_free(struct storage *s)
{
    if (s->wal)
        wal_close(s->wal);
    for (size_t i = 0; i < s->nblocks; i++) {
        block_unref(s->blocks[i].b);
        free(s->blocks[i].sids);
    }
    free(s->blocks);
    free(s->tombs);
    series_reg_fini(&s->reg);
    postings_fini(&s->postings);
    intern_fini(&s->intern);
    buf_fini(&s->rec_series);
    buf_fini(&s->rec_samples);
    pthread_mutex_destroy(&s->maint_mu);
    pthread_mutex_destroy(&s->append_mu);
    pthread_mutex_destroy(&s->sync_mu);
    pthread_rwlock_destroy(&s->lock);
    for (int i = 0; i < STORAGE_NSTRIPES; i++)
        pthread_mutex_destroy(&s->stripes[i]);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->dir);
    free(s->wal_dir);
    free(s->blocks_dir);
    free(s);
}

int storage_open(struct storage **out, const struct storage_opts *o, struct err *e)
{
    *out = NULL;
    if (!o || !o->dir || !*o->dir)
        return ERR_INVAL(e, "storage_open: no data directory");
    struct storage *s = calloc(1, sizeof *s);
    if (!s)
        return ERR_SET(e, -ENOMEM, "out of memory");
    s->o = *o;
    storage_opts_defaults(&s->o);
    s->lock_fd = -1;
    pthread_mutex_init(&s->maint_mu, NULL);
    pthread_mutex_init(&s->append_mu, NULL);
    pthread_mutex_init(&s->sync_mu, NULL);
    /* Writers first: a reader holds the lock for one series at most, and a
     * stream of readers must not starve series creation. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    for (int i = 0; i < STORAGE_NSTRIPES; i++)
        pthread_mutex_init(&s->stripes[i], NULL);
    intern_init(&s->intern);
    postings_init(&s->postings);
    buf_init(&s->rec_series, WAL_RECORD_MAX_BYTES);
    buf_init(&s->rec_samples, WAL_RECORD_MAX_BYTES);
    s->head_mint = INT64_MAX;
    s->head_maxt = INT64_MIN;
    s->next_seq = 1;
    s->wal_gen = 1;
    int rc = series_reg_init(&s->reg);
    if (rc) {
        ERR_SET(e, rc, "out of memory");
        goto fail;
    }
    s->dir = strdup(o->dir);
    if (!s->dir || asprintf(&s->wal_dir, "%s/wal", o->dir) < 0 ||
        asprintf(&s->blocks_dir, "%s/blocks", o->dir) < 0) {
        rc = ERR_SET(e, -ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = fs_mkdir_p(s->dir)) != 0) {
        ERR_SET(e, rc, "creating data directory %s: %s", s->dir, tide_strerror(rc));
        goto fail;
    }
    s->lock_fd = fs_lock_dir(s->dir);
    if (s->lock_fd < 0) {
        rc = s->lock_fd;
        if (rc == -EWOULDBLOCK || rc == -EAGAIN)
            ERR_SET(e, rc, "data directory %s is in use by another process (%s/LOCK is held)",
                    s->dir, s->dir);
        else
            ERR_SET(e, rc, "locking data directory %s: %s", s->dir, tide_strerror(rc));
        goto fail;
    }
    if ((rc = fs_mkdir_p(s->blocks_dir)) != 0 || (rc = fs_mkdir_p(s->wal_dir)) != 0) {
        ERR_SET(e, rc, "creating %s: %s", s->blocks_dir, tide_strerror(rc));
        goto fail;
    }
    if ((rc = load_blocks(s, e)) != 0)
        goto fail;
    if ((rc = tombstone_load(s, e)) != 0)
        goto fail;
    if ((rc = replay_wal(s, e)) != 0)
        goto fail;
    if ((rc = wal_open(&s->wal, s->wal_dir, e)) != 0)
        goto fail;
    if (!s->o.no_background) {
        int64_t now = time_mono_ns() / 1000000;
        s->bg_next_sync_ms = now + s->o.fsync_interval_ms;
        s->bg_next_cut_ms = now + DB_CUT_CHECK_MS;
        s->bg_next_maint_ms = now + DB_MAINT_INTERVAL_MS;
        int64_t first = DB_CUT_CHECK_MS;
        if (s->o.fsync != STORAGE_FSYNC_ALWAYS && s->o.fsync_interval_ms < first)
            first = s->o.fsync_interval_ms;
        rc = loop_start(&s->bg, "tide-storage", bg_run, s, first, e);
        if (rc)
            goto fail;
    }
    *out = s;
    return 0;
fail:
    storage_free(s);
    return rc;
}

int storage_close(struct storage *s)
{
    if (!s)
        return 0;
    loop_stop(&s->bg);
    int rc = wal_flush(s->wal);
    if (rc == 0)
        rc = head_append_sync(s);
    if (!s->o.no_cut_on_close) {
        pthread_mutex_lock(&s->maint_mu);
        int rc2 = head_cut(s, true, NULL);
        pthread_mutex_unlock(&s->maint_mu);
        if (rc == 0)
            rc = rc2;
    }
    int rc3 = wal_close(s->wal);
    s->wal = NULL;
    if (rc == 0)
        rc = rc3;
    storage_free(s);
    return rc;
}
