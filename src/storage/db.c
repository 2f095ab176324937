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
#include <malloc.h>
#include <stdarg.h>
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

const char *storage_job_name(enum storage_job job)
{
    static const char *const names[STORAGE_JOB_N] = {
        [STORAGE_JOB_WAL_FSYNC] = "wal_fsync",
        [STORAGE_JOB_HEAD_CUT] = "head_cut",
        [STORAGE_JOB_COMPACTION] = "compaction",
        [STORAGE_JOB_RETENTION] = "retention",
    };
    return (unsigned)job < STORAGE_JOB_N ? names[job] : "unknown";
}

void db_report(struct storage *s, int job, const char *what, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (job >= 0 && job < STORAGE_JOB_N) {
        what = storage_job_name((enum storage_job)job);
        atomic_fetch_add_explicit(&s->job_errors[job], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->background_errors, 1, memory_order_relaxed);
        pthread_mutex_lock(&s->err_mu);
        memcpy(s->last_error, msg, sizeof msg);
        s->last_error_job = what;
        s->last_error_ms = time_now_ms();
        pthread_mutex_unlock(&s->err_mu);
    }
    if (s->o.report)
        s->o.report(s->o.report_ctx, what, msg);
}

int db_quarantine(struct storage *s, const char *path, const char *why)
{
    char *qdir = NULL, *dst = NULL;
    int rc = 0;
    if (asprintf(&qdir, "%s/quarantine", s->dir) < 0) {
        qdir = NULL;
        rc = -ENOMEM;
        goto out;
    }
    rc = fs_mkdir_p(qdir);
    if (rc)
        goto out;
    /* <partition>-<name>, and a counter when that name is taken */
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    const char *pend = name > path ? name - 1 : path;
    const char *pstart = pend;
    while (pstart > path && pstart[-1] != '/')
        pstart--;
    for (int i = 0; i < 1000; i++) {
        free(dst);
        int n = i == 0 ? asprintf(&dst, "%s/%.*s-%s", qdir, (int)(pend - pstart), pstart, name)
                       : asprintf(&dst, "%s/%.*s-%s.%d", qdir, (int)(pend - pstart), pstart,
                                  name, i);
        if (n < 0) {
            dst = NULL;
            rc = -ENOMEM;
            goto out;
        }
        if (access(dst, F_OK) != 0)
            break;
    }
    if (rename(path, dst) != 0) {
        rc = -errno;
        goto out;
    }
    rc = fs_fsync_dir(qdir);
    atomic_fetch_add_explicit(&s->blocks_quarantined, 1, memory_order_relaxed);
    db_report(s, -1, "block_load",
              "block %s is damaged (%s): moved to %s; its samples are not served", path, why, dst);
out:
    free(qdir);
    free(dst);
    return rc;
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
int db_block_add(struct storage *s, struct block *b, int64_t partition, uint64_t seq,
                 uint32_t *sids, uint32_t nsids)
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
    s->blocks[i] =
        (struct db_block){.b = b, .partition = partition, .seq = seq, .sids = sids, .nsids = nsids};
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

/* Intern ids of the previous series' labels while loading a block: series
 * come in label order and a block's equal strings share one pointer, so most
 * labels of a series are the previous one's and need no hash lookup. */
struct load_memo {
    const struct label *ls; /* the previous series' labels (in the block) */
    size_t n;
    uint32_t name_ids[64], value_ids[64];
};

/* Register series i of block b as a new series (the caller knows it is). */
static int load_create(struct storage *s, struct load_memo *mo, const struct label *ls, size_t n,
                       uint64_t h, uint32_t *sid)
{
    if (n > 64)
        return series_create(s, ls, n, h, sid);
    int rc = 0;
    for (size_t j = 0; j < n && rc == 0; j++) {
        bool same = j < mo->n && mo->ls[j].name.p == ls[j].name.p && mo->ls[j].name.n == ls[j].name.n;
        if (!same)
            rc = intern_put(&s->intern, ls[j].name, &mo->name_ids[j]);
        same = j < mo->n && mo->ls[j].value.p == ls[j].value.p && mo->ls[j].value.n == ls[j].value.n;
        if (rc == 0 && !same)
            rc = intern_put(&s->intern, ls[j].value, &mo->value_ids[j]);
    }
    mo->ls = rc ? NULL : ls;
    mo->n = rc ? 0 : n;
    return rc ? rc : series_create_ids(s, n, h, mo->name_ids, mo->value_ids, sid);
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
    if (bm->nsamples > 0 &&
        (bm->mint_ms < partition || bm->maxt_ms - partition >= s->o.partition_ms)) {
        int64_t mint = bm->mint_ms, maxt = bm->maxt_ms;
        block_unref(b);
        return ERR_CORRUPT(e, "samples %" PRId64 "..%" PRId64 " outside its partition %" PRId64
                              " (a stray block, or another partition width)",
                           mint, maxt, partition);
    }
    uint32_t *sids = malloc((bm->nseries ? bm->nseries : 1) * 2 * sizeof *sids);
    if (!sids) {
        block_unref(b);
        return ERR_SET(e, -ENOMEM, "out of memory loading %s", path);
    }
    /* A block's series are distinct (block_open checks their order): into
     * an empty registry they are all new, no lookup needed. */
    bool fresh = series_count(&s->reg) == 0;
    struct load_memo memo = {0};
    for (uint64_t i = 0; i < bm->nseries; i++) {
        const struct label *ls;
        size_t n;
        block_series_labels(b, i, &ls, &n);
        uint64_t h = labels_hash(ls, n);
        uint32_t sid = fresh ? SERIES_NONE : series_lookup(&s->reg, h, ls, n);
        if (sid == SERIES_NONE && (rc = load_create(s, &memo, ls, n, h, &sid)) != 0) {
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
    if (!fresh)
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
            char tail[12];
            if (sscanf(be->d_name, "%llu%11s", &seq, tail) != 2)
                continue;
            if (strcmp(tail, ".blk.tmp") == 0) {
                /* A block writer killed before its rename: never live, remove. */
                char *tmp;
                if (asprintf(&tmp, "%s/%s", pdir, be->d_name) >= 0) {
                    unlink(tmp);
                    free(tmp);
                }
                continue;
            }
            if (strcmp(tail, ".blk") != 0)
                continue;
            char *path;
            if (asprintf(&path, "%s/%s", pdir, be->d_name) < 0) {
                rc = ERR_SET(e, -ENOMEM, "out of memory");
                break;
            }
            rc = load_block(s, path, (int64_t)part, seq, e);
            if (rc != 0 && rc != -ENOMEM) {
                /* One bad file must not keep the server down: set it aside. */
                char why[200];
                snprintf(why, sizeof why, "%s", e && e->msg[0] ? e->msg : tide_strerror(rc));
                rc = db_quarantine(s, path, why);
                if (rc)
                    ERR_SET(e, rc, "moving damaged block %s to quarantine: %s", path,
                            tide_strerror(rc));
                else if (e)
                    *e = (struct err){0};
            }
            free(path);
        }
        closedir(pd);
        free(pdir);
    }
    closedir(d);
    return rc;
}

/* ---- background ---- */

/* Run the jobs that are due, each reporting its own failure (db_report):
 * a failed fsync does not keep compaction from running, nor a damaged
 * partition the others. Returns the first error. Caller holds no lock. */
static int run_sync(struct storage *s)
{
    pthread_mutex_lock(&s->append_mu);
    int rc = wal_flush(s->wal);
    pthread_mutex_unlock(&s->append_mu);
    if (rc == 0 && s->o.fsync != STORAGE_FSYNC_NEVER)
        rc = head_append_sync(s);
    if (rc)
        db_report(s, STORAGE_JOB_WAL_FSYNC, NULL, "writing the WAL: %s", tide_strerror(rc));
    return rc;
}

static int run_job(struct storage *s, enum storage_job job, bool force_cut, int64_t now_ms)
{
    struct err e = {0};
    pthread_mutex_lock(&s->maint_mu);
    int rc;
    switch (job) {
    case STORAGE_JOB_HEAD_CUT:
        rc = head_cut(s, force_cut, &e);
        break;
    case STORAGE_JOB_COMPACTION: {
        /* Then the rollup tiers of the partitions compaction settled. */
        rc = compact_run(s, &e);
        struct err te = {0};
        int trc = tier_run(s, now_ms, &te);
        if (rc == 0 && trc != 0) {
            rc = trc;
            e = te;
        }
        break;
    }
    case STORAGE_JOB_RETENTION: {
        rc = retention_run(s, now_ms, &e);
        struct err te = {0};
        int trc = tier_retention(s, now_ms, &te);
        if (rc == 0 && trc != 0) {
            rc = trc;
            e = te;
        }
        break;
    }
    default:
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&s->maint_mu);
    if (rc && e.msg[0] && strstr(e.msg, tide_strerror(rc)) == NULL)
        db_report(s, (int)job, NULL, "%s: %s", e.msg, tide_strerror(rc));
    else if (rc)
        db_report(s, (int)job, NULL, "%s", e.msg[0] ? e.msg : tide_strerror(rc));
    return rc;
}

/* One pass of the background loop: the jobs that are due, then the next
 * pass is set for the earliest next due time. */
static void bg_run(void *arg, struct loop *l)
{
    struct storage *s = arg;
    int64_t now = time_mono_ns() / 1000000;
    if (s->o.fsync != STORAGE_FSYNC_ALWAYS && now >= s->bg_next_sync_ms) {
        /* NEVER still hands the buffer to the kernel, so that a process
         * crash loses at most one interval. */
        run_sync(s);
        s->bg_next_sync_ms = now + s->o.fsync_interval_ms;
    }
    if (now >= s->bg_next_cut_ms) {
        run_job(s, STORAGE_JOB_HEAD_CUT, false, 0);
        s->bg_next_cut_ms = now + DB_CUT_CHECK_MS;
    }
    if (now >= s->bg_next_maint_ms) {
        run_job(s, STORAGE_JOB_COMPACTION, false, time_now_ms());
        run_job(s, STORAGE_JOB_RETENTION, false, time_now_ms());
        s->bg_next_maint_ms = now + DB_MAINT_INTERVAL_MS;
    }
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
    if (rc) {
        db_report(s, STORAGE_JOB_WAL_FSYNC, NULL, "writing the WAL: %s", tide_strerror(rc));
        return ERR_SET(e, rc, "syncing the WAL: %s", tide_strerror(rc));
    }
    /* Every job runs even when one before it failed; the first error is
     * returned, every one is counted and reported. */
    static const enum storage_job jobs[] = {STORAGE_JOB_HEAD_CUT, STORAGE_JOB_COMPACTION,
                                            STORAGE_JOB_RETENTION};
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        uint64_t before = atomic_load(&s->job_errors[jobs[i]]);
        int jrc = run_job(s, jobs[i], force_cut, now_ms);
        if (jrc && rc == 0) {
            rc = jrc;
            pthread_mutex_lock(&s->err_mu);
            if (atomic_load(&s->job_errors[jobs[i]]) != before)
                ERR_SET(e, jrc, "%s: %s", storage_job_name(jobs[i]), s->last_error);
            pthread_mutex_unlock(&s->err_mu);
        }
    }
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
    tier_free(s);
    free(s->tombs);
    head_cut_free_frozen(s);
    series_reg_fini(&s->reg);
    postings_fini(&s->postings);
    intern_fini(&s->intern);
    buf_fini(&s->rec_series);
    buf_fini(&s->rec_samples);
    pthread_mutex_destroy(&s->maint_mu);
    pthread_mutex_destroy(&s->append_mu);
    pthread_mutex_destroy(&s->sync_mu);
    pthread_mutex_destroy(&s->err_mu);
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
    pthread_mutex_init(&s->err_mu, NULL);
    /* Writers first: a reader holds the lock for one series at most, and a
     * stream of readers must not starve series creation. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    for (int i = 0; i < STORAGE_NSTRIPES; i++)
        pthread_mutex_init(&s->stripes[i], NULL);
    postings_init(&s->postings);
    buf_init(&s->rec_series, WAL_RECORD_MAX_BYTES);
    buf_init(&s->rec_samples, WAL_RECORD_MAX_BYTES);
    s->head_mint = INT64_MAX;
    s->head_maxt = INT64_MIN;
    s->next_seq = 1;
    s->wal_gen = 1;
    int rc = intern_init(&s->intern);
    if (rc == 0)
        rc = series_reg_init(&s->reg, &s->intern);
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
    if ((rc = tier_load(s, e)) != 0)
        goto fail;
    if ((rc = replay_wal(s, e)) != 0)
        goto fail;
    if ((rc = wal_open(&s->wal, s->wal_dir, e)) != 0)
        goto fail;
    /* Loading grew and freed many arrays (slots, postings, replay buffers):
     * hand the free pages back before serving. */
    malloc_trim(0);
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
    /* The WAL first: once it is synced every acknowledged write is safe. */
    int rc = wal_flush(s->wal);
    if (rc == 0)
        rc = head_append_sync(s);
    if (rc)
        db_report(s, STORAGE_JOB_WAL_FSYNC, NULL, "syncing the WAL at close: %s",
                  tide_strerror(rc));
    /* Then the head into blocks. If that fails (ENOSPC), the WAL segments it
     * covers are not deleted (head_cut() truncates only after the blocks are
     * in place), so the next open replays them: reported, not an error. */
    if (!s->o.no_cut_on_close && rc == 0) {
        s->closing = true; /* nothing reads any more: the cut frees as it writes */
        run_job(s, STORAGE_JOB_HEAD_CUT, true, 0);
    }
    int rc3 = wal_close(s->wal);
    s->wal = NULL;
    if (rc == 0)
        rc = rc3;
    storage_free(s);
    return rc;
}
