/* queue.c: the durable FIFO between the agent's collector and its sender
 * (collect → ingest's remote_write_encode → here → sender.c → the network).
 *
 * Byte layout (docs/agent.md): DIR/<20-digit id>.seg files, each a sequence
 * of records [u32le len][u32le crc32(bytes)][bytes]; DIR/cursor, 24 bytes
 * ["TQC1"][u64le segment id][u64le offset][u32le crc32 of the first 20],
 * replaced atomically (temp file, fsync, rename, fsync of the directory).
 *
 * Invariants, with the mutex held: segs[] is sorted by id and never empty;
 * the cursor always lies in segs[0] (segments before it are deleted as soon
 * as they are fully delivered); segs[nsegs-1] is the one appended to.
 * The cursor file may lag behind or name a segment that no longer exists:
 * open then starts at the oldest segment left, which is correct because
 * every segment below it was delivered or dropped. A crash between a
 * receiver's 2xx and the cursor write resends that one record.
 */
#include "remote/queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/hash.h"
#include "core/time.h"

#define CURSOR_MAGIC 0x31435154u /* "TQC1" little-endian */
#define CURSOR_BYTES 24
#define SCAN_CHUNK ((size_t)1 << 20)

struct seg {
    uint64_t id;   /* file DIR/<id>.seg */
    uint64_t size; /* valid bytes */
    uint64_t nrec; /* records in it */
};

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* signalled by push and queue_wake() */
    char dir[1024];     /* immutable */
    int lock_fd;        /* flock on DIR/LOCK, immutable */
    uint64_t max_bytes; /* immutable */
    uint64_t seg_bytes; /* immutable */
    enum queue_fsync fsync;
    int64_t fsync_interval_ns;
    /* Everything below: mu. */
    struct seg *segs;
    size_t nsegs, cap;
    uint64_t total;       /* sum of segs[].size */
    int wfd;              /* segs[nsegs-1], write-only */
    int64_t last_sync_ns; /* monotonic time of the last segment fsync */
    bool dirty;           /* written since the last fsync */
    int rfd;              /* read fd of segment rfd_id, or -1 */
    uint64_t rfd_id;
    uint64_t cur_off;      /* cursor offset in segs[0] */
    uint64_t cur_consumed; /* records of segs[0] before cur_off */
    bool peek_valid;       /* the last peek still names the record at the cursor */
    uint64_t peek_seg, peek_off, peek_next;
    uint64_t wakes; /* queue_wake() generation */
    struct queue_stats st;
};

static void seg_path(const struct queue *q, uint64_t id, char *out, size_t n)
{
    snprintf(out, n, "%s/%020" PRIu64 ".seg", q->dir, id);
}

static int seg_parse_name(const char *name, uint64_t *id)
{
    size_t n = strlen(name);
    if (n != 24 || strcmp(name + 20, ".seg") != 0)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *id = v;
    return 0;
}

static int seg_cmp(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int segs_push(struct queue *q, struct seg s)
{
    if (q->nsegs == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 16;
        struct seg *v = realloc(q->segs, nc * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        q->segs = v;
        q->cap = nc;
    }
    q->segs[q->nsegs++] = s;
    return 0;
}

/* Remove segs[0] from the list and the disk. The cursor moves to the start
 * of the next segment; the caller accounts for what was undelivered. */
static void seg_drop_first(struct queue *q)
{
    char path[1100];
    seg_path(q, q->segs[0].id, path, sizeof path);
    unlink(path);
    if (q->rfd >= 0 && q->rfd_id == q->segs[0].id) {
        close(q->rfd);
        q->rfd = -1;
    }
    q->total -= q->segs[0].size;
    memmove(q->segs, q->segs + 1, (q->nsegs - 1) * sizeof *q->segs);
    q->nsegs--;
    q->cur_off = 0;
    q->cur_consumed = 0;
}

/* Delete fully delivered segments that are no longer appended to. */
static void settle(struct queue *q)
{
    while (q->nsegs > 1 && q->cur_off >= q->segs[0].size)
        seg_drop_first(q);
}

static int sync_dir(struct queue *q)
{
    return q->fsync == QUEUE_FSYNC_NEVER ? 0 : fs_fsync_dir(q->dir);
}

static int sync_segment(struct queue *q)
{
    if (!q->dirty || q->wfd < 0)
        return 0;
    int rc = fs_fsync(q->wfd);
    if (rc == 0) {
        q->dirty = false;
        q->last_sync_ns = time_mono_ns();
    }
    return rc;
}

/* Create segment `id` and make it the write segment. */
static int seg_create(struct queue *q, uint64_t id, struct err *e)
{
    char path[1100];
    seg_path(q, id, path, sizeof path);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return ERR_SET(e, -errno, "queue: create %s: %s", path, strerror(errno));
    int rc = sync_dir(q);
    if (rc == 0)
        rc = segs_push(q, (struct seg){.id = id});
    if (rc != 0) {
        close(fd);
        unlink(path);
        return ERR_SET(e, rc, "queue: create %s: %s", path, tide_strerror(rc));
    }
    if (q->wfd >= 0)
        close(q->wfd);
    q->wfd = fd;
    q->dirty = false;
    return 0;
}

static int cursor_write(struct queue *q, struct err *e)
{
    uint8_t b[CURSOR_BYTES];
    put_le32(b, CURSOR_MAGIC);
    uint64_t id = q->segs[0].id, off = q->cur_off;
    for (int i = 0; i < 8; i++) {
        b[4 + i] = (uint8_t)(id >> (8 * i));
        b[12 + i] = (uint8_t)(off >> (8 * i));
    }
    put_le32(b + 20, hash_crc32(0, b, 20));
    char path[1100];
    snprintf(path, sizeof path, "%s/cursor", q->dir);
    int rc = fs_write_file_atomic(path, b, sizeof b);
    if (rc != 0)
        return ERR_SET(e, rc, "queue: write %s: %s", path, tide_strerror(rc));
    return 0;
}

/* Read DIR/cursor; false when missing or unreadable (start at the oldest). */
static bool cursor_read(struct queue *q, uint64_t *id, uint64_t *off)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/cursor", q->dir);
    char *p = NULL;
    size_t n = 0;
    if (fs_read_file(path, &p, &n) != 0)
        return false;
    bool ok = n == CURSOR_BYTES && le32(p) == CURSOR_MAGIC && le32(p + 20) == hash_crc32(0, p, 20);
    if (ok) {
        uint64_t a = 0, b = 0;
        for (int i = 7; i >= 0; i--) {
            a = a << 8 | (uint8_t)p[4 + i];
            b = b << 8 | (uint8_t)p[12 + i];
        }
        *id = a;
        *off = b;
    }
    free(p);
    return ok;
}

/* Scan one segment: count its valid records, cut a torn or corrupt tail.
 * `cur_off` (when this is the cursor's segment, else NULL) is moved back to
 * a record boundary if needed and the records before it are counted. */
static int seg_scan(struct queue *q, struct seg *s, uint64_t *cur_off, uint64_t *consumed,
                    struct err *e)
{
    char path[1100];
    seg_path(q, s->id, path, sizeof path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return ERR_SET(e, -errno, "queue: open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int rc = -errno;
        close(fd);
        return ERR_SET(e, rc, "queue: stat %s: %s", path, strerror(-rc));
    }
    uint64_t fsize = (uint64_t)sb.st_size, off = 0, nrec = 0, before = 0, boundary = 0;
    char *chunk = malloc(SCAN_CHUNK);
    if (chunk == NULL) {
        close(fd);
        return ERR_SET(e, -ENOMEM, "queue: out of memory");
    }
    while (off + QUEUE_RECORD_HEADER <= fsize) {
        uint8_t h[QUEUE_RECORD_HEADER];
        if (fs_pread_all(fd, h, sizeof h, (off_t)off) != 0)
            break;
        uint64_t len = le32(h);
        uint32_t want = le32(h + 4);
        if (len == 0 || off + QUEUE_RECORD_HEADER + len > fsize)
            break;
        uint32_t crc = 0;
        uint64_t done = 0;
        bool bad = false;
        while (done < len) {
            size_t k = len - done < SCAN_CHUNK ? (size_t)(len - done) : SCAN_CHUNK;
            if (fs_pread_all(fd, chunk, k, (off_t)(off + QUEUE_RECORD_HEADER + done)) != 0) {
                bad = true;
                break;
            }
            crc = hash_crc32(crc, chunk, k);
            done += k;
        }
        if (bad || crc != want)
            break;
        if (cur_off && off + QUEUE_RECORD_HEADER + len <= *cur_off) {
            before++;
            boundary = off + QUEUE_RECORD_HEADER + len;
        }
        off += QUEUE_RECORD_HEADER + len;
        nrec++;
    }
    free(chunk);
    if (off < fsize) {
        /* A torn tail (crash mid-push) or a corrupt record: what follows
         * cannot be framed, so it goes. */
        q->st.torn_records++;
        if (ftruncate(fd, (off_t)off) != 0) {
            int rc = -errno;
            close(fd);
            return ERR_SET(e, rc, "queue: truncate %s: %s", path, strerror(-rc));
        }
        fs_fsync(fd);
    }
    close(fd);
    s->size = off;
    s->nrec = nrec;
    if (cur_off) {
        *cur_off = boundary; /* the last record boundary at or before the cursor */
        *consumed = before;
    }
    return 0;
}

static int load(struct queue *q, struct err *e)
{
    DIR *d = opendir(q->dir);
    if (d == NULL)
        return ERR_SET(e, -errno, "queue: open %s: %s", q->dir, strerror(errno));
    int rc = 0;
    for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
        uint64_t id;
        if (seg_parse_name(de->d_name, &id) != 0)
            continue;
        rc = segs_push(q, (struct seg){.id = id});
        if (rc != 0)
            break;
    }
    closedir(d);
    if (rc != 0)
        return ERR_SET(e, rc, "queue: out of memory");
    if (q->nsegs > 1)
        qsort(q->segs, q->nsegs, sizeof *q->segs, seg_cmp);

    uint64_t cseg = 0, coff = 0;
    bool have_cursor = cursor_read(q, &cseg, &coff);
    /* Segments below the cursor's were delivered: a crash came between the
     * cursor write and their unlink. */
    while (have_cursor && q->nsegs > 0 && q->segs[0].id < cseg) {
        char path[1100];
        seg_path(q, q->segs[0].id, path, sizeof path);
        unlink(path);
        memmove(q->segs, q->segs + 1, (q->nsegs - 1) * sizeof *q->segs);
        q->nsegs--;
    }
    bool cursor_here = have_cursor && q->nsegs > 0 && q->segs[0].id == cseg;
    q->cur_off = 0;
    q->cur_consumed = 0;
    for (size_t i = 0; i < q->nsegs; i++) {
        bool first = i == 0 && cursor_here;
        uint64_t off = coff, consumed = 0;
        rc = seg_scan(q, &q->segs[i], first ? &off : NULL, &consumed, e);
        if (rc != 0)
            return rc;
        if (first) {
            q->cur_off = off;
            q->cur_consumed = consumed;
        }
        q->total += q->segs[i].size;
    }
    uint64_t next_id = q->nsegs ? q->segs[q->nsegs - 1].id + 1 : (have_cursor ? cseg + 1 : 1);
    if (q->nsegs == 0) {
        rc = seg_create(q, next_id, e);
        if (rc != 0)
            return rc;
    } else {
        char path[1100];
        seg_path(q, q->segs[q->nsegs - 1].id, path, sizeof path);
        q->wfd = open(path, O_WRONLY | O_CLOEXEC);
        if (q->wfd < 0)
            return ERR_SET(e, -errno, "queue: open %s: %s", path, strerror(errno));
    }
    settle(q);
    return 0;
}

int queue_open(struct queue **out, const struct queue_opts *o, struct err *e)
{
    *out = NULL;
    if (o->dir == NULL || strlen(o->dir) >= sizeof(((struct queue *)0)->dir))
        return ERR_INVAL(e, "queue: missing or too long directory name");
    struct queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return ERR_SET(e, -ENOMEM, "queue: out of memory");
    snprintf(q->dir, sizeof q->dir, "%s", o->dir);
    q->lock_fd = -1;
    q->wfd = -1;
    q->rfd = -1;
    q->max_bytes = o->max_bytes ? o->max_bytes : QUEUE_MAX_BYTES_DEFAULT;
    q->seg_bytes = o->segment_bytes ? o->segment_bytes : QUEUE_SEGMENT_BYTES_DEFAULT;
    if (q->seg_bytes > q->max_bytes / 4)
        q->seg_bytes = q->max_bytes / 4 ? q->max_bytes / 4 : 1;
    q->fsync = o->fsync;
    q->fsync_interval_ns = (o->fsync_interval_ms > 0 ? o->fsync_interval_ms : 1000) * 1000000;
    q->last_sync_ns = time_mono_ns();
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);

    int rc = fs_mkdir_p(q->dir);
    if (rc != 0) {
        ERR_SET(e, rc, "queue: create %s: %s", q->dir, tide_strerror(rc));
        goto fail;
    }
    rc = fs_lock_dir(q->dir);
    if (rc < 0) {
        ERR_SET(e, rc, "queue: %s is in use by another process (%s)", q->dir, tide_strerror(rc));
        goto fail;
    }
    q->lock_fd = rc;
    rc = load(q, e);
    if (rc != 0)
        goto fail;
    *out = q;
    return 0;
fail:
    queue_close(q);
    return rc;
}

int queue_close(struct queue *q)
{
    if (q == NULL)
        return 0;
    int rc = 0;
    if (q->wfd >= 0) {
        rc = sync_segment(q);
        close(q->wfd);
    }
    if (q->rfd >= 0)
        close(q->rfd);
    if (q->lock_fd >= 0)
        close(q->lock_fd);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->segs);
    free(q);
    return rc;
}

static uint64_t undelivered_records(const struct queue *q)
{
    uint64_t n = 0;
    for (size_t i = 0; i < q->nsegs; i++)
        n += q->segs[i].nrec;
    return n - q->cur_consumed;
}

/* Make room for a record of `rec` bytes: rotate and drop per the cap. */
static int make_room(struct queue *q, uint64_t rec, struct err *e)
{
    struct seg *w = &q->segs[q->nsegs - 1];
    if (w->size > 0 && (w->size + rec > q->seg_bytes || q->total + rec > q->max_bytes)) {
        int rc = q->fsync == QUEUE_FSYNC_NEVER ? 0 : sync_segment(q);
        if (rc == 0)
            rc = seg_create(q, w->id + 1, e);
        else
            ERR_SET(e, rc, "queue: fsync: %s", tide_strerror(rc));
        if (rc != 0)
            return rc;
        settle(q);
    }
    while (q->total + rec > q->max_bytes && q->nsegs > 1) {
        struct seg *s = &q->segs[0];
        q->st.dropped_records += s->nrec - q->cur_consumed;
        q->st.dropped_bytes += s->size - q->cur_off;
        q->peek_valid = false;
        seg_drop_first(q);
    }
    return 0;
}

int queue_push(struct queue *q, const void *p, size_t n, struct err *e)
{
    if (n == 0 || n > UINT32_MAX)
        return ERR_INVAL(e, "queue: record of %zu bytes", n);
    uint64_t rec = QUEUE_RECORD_HEADER + (uint64_t)n;
    if (rec > q->max_bytes)
        return ERR_LIMIT(e, "queue: a record of %zu bytes exceeds the queue's cap of %" PRIu64, n,
                         q->max_bytes);
    pthread_mutex_lock(&q->mu);
    int rc = make_room(q, rec, e);
    if (rc != 0)
        goto out;
    struct seg *w = &q->segs[q->nsegs - 1];
    uint8_t h[QUEUE_RECORD_HEADER];
    put_le32(h, (uint32_t)n);
    put_le32(h + 4, hash_crc32(0, p, n));
    if (lseek(q->wfd, (off_t)w->size, SEEK_SET) < 0) {
        rc = -errno;
    } else {
        rc = fs_write_all(q->wfd, h, sizeof h);
        if (rc == 0)
            rc = fs_write_all(q->wfd, p, n);
    }
    if (rc == 0) {
        q->dirty = true;
        if (q->fsync == QUEUE_FSYNC_ALWAYS ||
            (q->fsync == QUEUE_FSYNC_INTERVAL &&
             time_mono_ns() - q->last_sync_ns >= q->fsync_interval_ns))
            rc = sync_segment(q);
    }
    if (rc != 0) {
        /* Take the partial record back so the next push frames cleanly. */
        if (ftruncate(q->wfd, (off_t)w->size) != 0) {
            /* The torn bytes stay; open cuts them off. */
        }
        ERR_SET(e, rc, "queue: write to %s: %s", q->dir, tide_strerror(rc));
        goto out;
    }
    w->size += rec;
    w->nrec++;
    q->total += rec;
    q->st.pushed_records++;
    pthread_cond_broadcast(&q->cv);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int queue_peek(struct queue *q, struct buf *out, struct err *e)
{
    buf_reset(out);
    pthread_mutex_lock(&q->mu);
    int rc = 0;
    settle(q);
    struct seg *s = &q->segs[0];
    if (q->cur_off >= s->size) {
        rc = TIDE_ENOTFOUND;
        goto out;
    }
    if (q->rfd < 0 || q->rfd_id != s->id) {
        if (q->rfd >= 0)
            close(q->rfd);
        char path[1100];
        seg_path(q, s->id, path, sizeof path);
        q->rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (q->rfd < 0) {
            rc = ERR_SET(e, -errno, "queue: open %s: %s", path, strerror(errno));
            goto out;
        }
        q->rfd_id = s->id;
    }
    uint8_t h[QUEUE_RECORD_HEADER];
    rc = fs_pread_all(q->rfd, h, sizeof h, (off_t)q->cur_off);
    if (rc != 0) {
        ERR_SET(e, rc, "queue: read: %s", tide_strerror(rc));
        goto out;
    }
    uint64_t len = le32(h);
    q->peek_valid = true;
    q->peek_seg = s->id;
    q->peek_off = q->cur_off;
    if (len == 0 || q->cur_off + QUEUE_RECORD_HEADER + len > s->size) {
        q->peek_next = s->size; /* unframeable: skip the rest of the segment */
        rc = ERR_CORRUPT(e, "queue: bad record length %" PRIu64 " at %" PRIu64, len, q->cur_off);
        goto out;
    }
    q->peek_next = q->cur_off + QUEUE_RECORD_HEADER + len;
    rc = buf_reserve(out, (size_t)len);
    if (rc == 0)
        rc = fs_pread_all(q->rfd, out->p, (size_t)len, (off_t)(q->cur_off + QUEUE_RECORD_HEADER));
    if (rc != 0) {
        q->peek_valid = false;
        ERR_SET(e, rc, "queue: read: %s", tide_strerror(rc));
        goto out;
    }
    out->len = (size_t)len;
    out->p[len] = 0;
    if (hash_crc32(0, out->p, out->len) != le32(h + 4)) {
        buf_reset(out);
        rc = ERR_CORRUPT(e, "queue: checksum mismatch in segment %" PRIu64 " at %" PRIu64, s->id,
                         q->cur_off);
    }
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int queue_ack(struct queue *q, struct err *e)
{
    pthread_mutex_lock(&q->mu);
    int rc = 0;
    if (!q->peek_valid || q->peek_seg != q->segs[0].id || q->peek_off != q->cur_off) {
        q->peek_valid = false;
        goto out;
    }
    q->peek_valid = false;
    q->cur_off = q->peek_next;
    q->cur_consumed++;
    q->st.acked_records++;
    settle(q);
    rc = cursor_write(q, e);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

uint64_t queue_wait(struct queue *q, int64_t timeout_ms)
{
    pthread_mutex_lock(&q->mu);
    uint64_t gen = q->wakes;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (timeout_ms % 1000) * 1000000;
    ts.tv_sec += timeout_ms / 1000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    while (undelivered_records(q) == 0 && q->wakes == gen) {
        if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
            break;
    }
    uint64_t n = undelivered_records(q);
    pthread_mutex_unlock(&q->mu);
    return n;
}

void queue_wake(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->wakes++;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

int queue_sync(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    int rc = sync_segment(q);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void queue_stats(struct queue *q, struct queue_stats *out)
{
    pthread_mutex_lock(&q->mu);
    *out = q->st;
    out->bytes = q->total - q->cur_off;
    out->records = undelivered_records(q);
    out->segments = q->nsegs;
    pthread_mutex_unlock(&q->mu);
}
