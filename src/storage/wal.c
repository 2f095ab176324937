/* wal.c: write-ahead log framing, the first stop in storage after ingest
 * (wal.h). Turns opaque records into CRC-checked frames in numbered segment
 * files and knows nothing of what a record holds (wal_record.c does).
 *
 * Layout (docs/format/wal.md): DIR/%08u segment files, each a sequence of
 * frames [u32le len][u32le crc32(payload)][payload], len 1..WAL_RECORD_MAX_BYTES.
 *
 * Recovery: a crash can leave the last frame of a segment half written (a
 * torn write), or a tail of zeros (a file system that extended the file
 * before the data reached it). Damage can also sit in the middle of a
 * segment (a flipped bit, a bad sector). Replay takes frames in order; at a
 * frame whose header is out of bounds, whose payload is cut short or whose
 * CRC does not match, it looks for the next offset where a whole frame checks
 * out (header, the chain of headers after it, CRC) and goes on from there, so
 * every intact record after the damage is recovered. The skipped region is
 * counted as corrupt, or as a torn tail when no valid frame follows it. A
 * header of all zeros followed only by zeros is the clean end of a segment,
 * which is why an empty record is refused at append time.
 * Invariant: with fsync "always", a batch is acknowledged only after
 * wal_sync() has returned 0.
 */
#include "storage/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/pagemem.h"
#include "storage/format.h"

/* The write-ahead log of one data directory.
 * Owner: db.c, from wal_open() to wal_close().
 * Thread: `mu` guards fd, seg, seg_bytes and wbuf: wal_append (under head's
 * append lock) and wal_sync (fsync timer) may run at once. Counters are
 * atomic so they can be read without the lock. */
struct wal {
    char *dir;
    pthread_mutex_t mu;
    int fd;                      /* current segment, open for append */
    uint32_t seg;                /* its number */
    uint64_t seg_bytes;          /* bytes in it, buffered ones included */
    uint64_t disk_bytes;         /* bytes of it known to be whole frames on disk */
    uint64_t alloc_bytes;        /* bytes of it reserved with fallocate(2) (>= seg_bytes
                                    unless the file system cannot preallocate) */
    bool no_prealloc;            /* fallocate(2) unsupported here: reserve nothing */
    struct buf wbuf;             /* frames not yet written */
    _Atomic uint64_t size_bytes; /* all segment files, buffered bytes included */
    _Atomic uint64_t fsyncs;
    _Atomic uint64_t written;    /* bytes appended since open (frame headers included) */
};

static bool seg_name(const char *name, uint32_t *seg)
{
    if (strlen(name) != WAL_SEGMENT_NAME_DIGITS)
        return false;
    uint64_t v = 0;
    for (const char *c = name; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *seg = (uint32_t)v;
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted segment numbers in dir; *out malloc'd (caller frees). */
static int list_segments(const char *dir, uint32_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    uint32_t *v = NULL;
    size_t cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        uint32_t seg;
        if (!seg_name(de->d_name, &seg))
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint32_t *nv = realloc(v, ncap * sizeof *nv);
            if (nv == NULL) {
                rc = -ENOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[(*n)++] = seg;
    }
    closedir(d);
    if (rc != 0) {
        free(v);
        *n = 0;
        return rc;
    }
    if (*n > 1)
        qsort(v, *n, sizeof *v, cmp_u32);
    *out = v;
    return 0;
}

static void seg_path(char *out, size_t cap, const char *dir, uint32_t seg)
{
    snprintf(out, cap, "%s/%08u", dir, seg);
}

/* Create segment `seg` and make it current. Called with mu held (or before
 * the wal is shared). */
static int open_segment(struct wal *w, uint32_t seg)
{
    char path[4096];
    seg_path(path, sizeof path, w->dir, seg);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    int rc = fs_fsync_dir(w->dir);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    w->fd = fd;
    w->seg = seg;
    w->seg_bytes = (uint64_t)st.st_size;
    w->disk_bytes = w->seg_bytes;
    w->alloc_bytes = w->seg_bytes;
    return 0;
}

/* Make sure the current segment has disk space reserved up to byte `end`,
 * so that frames acknowledged into the buffer can always be written later,
 * whatever else fills the disk meanwhile. The space is taken in steps of
 * WAL_PREALLOC_STEP_BYTES (fewer calls), or exactly when the disk has no room
 * for a step. FALLOC_FL_KEEP_SIZE leaves the file size alone, so O_APPEND
 * writes land in the reserved blocks and replay never sees the reservation.
 * -ENOSPC when even the exact amount cannot be had. Called with mu held. */
static int reserve_locked(struct wal *w, uint64_t end)
{
    if (w->no_prealloc || end <= w->alloc_bytes)
        return 0;
    uint64_t want = w->alloc_bytes + WAL_PREALLOC_STEP_BYTES;
    if (want > WAL_SEGMENT_MAX_BYTES)
        want = WAL_SEGMENT_MAX_BYTES;
    if (want < end)
        want = end;
    for (;;) {
        if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->alloc_bytes,
                      (off_t)(want - w->alloc_bytes)) == 0) {
            w->alloc_bytes = want;
            return 0;
        }
        int err = errno;
        if (err == EINTR)
            continue;
        if (err == EOPNOTSUPP || err == ENOSYS) {
            w->no_prealloc = true; /* best effort: such file systems keep the old behaviour */
            return 0;
        }
        if (err == ENOSPC && want > end) {
            want = end;
            continue;
        }
        return -err;
    }
}

/* Give back the reserved space past the data of a segment that is done
 * (cut or close), once its frames are synced. Best effort. */
static void release_locked(struct wal *w)
{
    if (w->alloc_bytes > w->disk_bytes && w->wbuf.len == 0) {
        if (ftruncate(w->fd, (off_t)w->disk_bytes) == 0)
            w->alloc_bytes = w->disk_bytes;
    }
}

int wal_open(struct wal **out, const char *dir, struct err *e)
{
    *out = NULL;
    int rc = fs_mkdir_p(dir);
    if (rc != 0)
        return ERR_SET(e, rc, "wal: mkdir %s", dir);
    struct wal *w = calloc(1, sizeof *w);
    if (w == NULL)
        return ERR_SET(e, -ENOMEM, "wal: out of memory");
    w->fd = -1;
    buf_init(&w->wbuf, 0);
    pthread_mutex_init(&w->mu, NULL);
    w->dir = strdup(dir);
    uint32_t *segs = NULL;
    size_t nsegs = 0;
    if (w->dir == NULL) {
        rc = ERR_SET(e, -ENOMEM, "wal: out of memory");
        goto fail;
    }
    rc = list_segments(dir, &segs, &nsegs);
    if (rc != 0) {
        ERR_SET(e, rc, "wal: list %s", dir);
        goto fail;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < nsegs; i++) {
        char path[4096];
        struct stat st;
        seg_path(path, sizeof path, dir, segs[i]);
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    uint32_t next = nsegs ? segs[nsegs - 1] + 1 : 1;
    free(segs);
    if (next == 0) {
        rc = ERR_LIMIT(e, "wal: segment numbers exhausted in %s", dir);
        goto fail;
    }
    rc = open_segment(w, next);
    if (rc != 0) {
        ERR_SET(e, rc, "wal: create segment %08u in %s", next, dir);
        goto fail;
    }
    atomic_init(&w->size_bytes, total);
    atomic_init(&w->fsyncs, 0);
    atomic_init(&w->written, 0);
    *out = w;
    return 0;
fail:
    pthread_mutex_destroy(&w->mu);
    free(w->dir);
    free(w);
    return rc;
}

/* Write bytes that end on a frame boundary. On failure (ENOSPC, EIO) cut
 * the file back to the last whole frame, so a retry cannot leave a torn frame
 * in the middle of the segment. Called with mu held. */
static int write_frames(struct wal *w, const void *a, size_t na, const void *b, size_t nb)
{
    int rc = fs_write_all(w->fd, a, na);
    if (rc == 0 && nb > 0)
        rc = fs_write_all(w->fd, b, nb);
    if (rc != 0) {
        if (ftruncate(w->fd, (off_t)w->disk_bytes) != 0) {
            /* the torn frame stays; replay will drop and count it */
        }
        w->alloc_bytes = w->disk_bytes; /* truncation also dropped the reservation */
        return rc;
    }
    w->disk_bytes += na + nb;
    return 0;
}

/* write(2) the buffered frames. Called with mu held. */
static int flush_locked(struct wal *w)
{
    if (w->wbuf.len == 0)
        return 0;
    int rc = write_frames(w, w->wbuf.p, w->wbuf.len, NULL, 0);
    if (rc != 0)
        return rc;
    buf_reset(&w->wbuf);
    return 0;
}

static int sync_locked(struct wal *w)
{
    int rc = flush_locked(w);
    if (rc == 0)
        rc = fs_fsync(w->fd);
    if (rc == 0)
        atomic_fetch_add(&w->fsyncs, 1);
    return rc;
}

/* Sync and close the current segment, start seg+1. Called with mu held. */
static int cut_locked(struct wal *w)
{
    if (w->seg == UINT32_MAX)
        return TIDE_ELIMIT;
    int rc = sync_locked(w);
    if (rc != 0)
        return rc;
    release_locked(w);
    int old = w->fd;
    rc = open_segment(w, w->seg + 1);
    if (rc != 0)
        return rc;
    close(old);
    return 0;
}

int wal_close(struct wal *w)
{
    if (w == NULL)
        return 0;
    pthread_mutex_lock(&w->mu);
    int rc = sync_locked(w);
    if (rc == 0)
        release_locked(w);
    pthread_mutex_unlock(&w->mu);
    if (close(w->fd) != 0 && rc == 0)
        rc = -errno;
    pthread_mutex_destroy(&w->mu);
    buf_fini(&w->wbuf);
    free(w->dir);
    free(w);
    return rc;
}

int wal_append(struct wal *w, const void *rec, size_t n)
{
    if (n == 0)
        return TIDE_EINVAL; /* its frame would look like a zero-filled tail */
    if (n > WAL_RECORD_MAX_BYTES)
        return TIDE_ELIMIT;
    uint8_t hdr[WAL_FRAME_HEADER_BYTES];
    put_le32(hdr, (uint32_t)n);
    put_le32(hdr + 4, hash_crc32(0, rec, n));
    size_t frame = sizeof hdr + n;
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    if (w->seg_bytes > 0 && w->seg_bytes + frame > WAL_SEGMENT_MAX_BYTES)
        rc = cut_locked(w);
    if (rc == 0)
        rc = reserve_locked(w, w->seg_bytes + frame);
    if (rc == 0 && w->wbuf.len + frame > WAL_BUFFER_BYTES)
        rc = flush_locked(w);
    if (rc == 0 && frame > WAL_BUFFER_BYTES) {
        rc = write_frames(w, hdr, sizeof hdr, rec, n);
    } else if (rc == 0) {
        rc = buf_reserve(&w->wbuf, frame);
        if (rc == 0) {
            buf_append(&w->wbuf, hdr, sizeof hdr);
            buf_append(&w->wbuf, rec, n);
        }
    }
    if (rc == 0) {
        w->seg_bytes += frame;
        atomic_fetch_add(&w->size_bytes, frame);
        atomic_fetch_add(&w->written, frame);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_flush(struct wal *w)
{
    pthread_mutex_lock(&w->mu);
    int rc = flush_locked(w);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_sync(struct wal *w)
{
    pthread_mutex_lock(&w->mu);
    int rc = sync_locked(w);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_cut(struct wal *w, uint32_t *new_segment)
{
    pthread_mutex_lock(&w->mu);
    int rc = cut_locked(w);
    if (rc == 0 && new_segment)
        *new_segment = w->seg;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_truncate_before(struct wal *w, uint32_t seg)
{
    uint32_t *segs;
    size_t n;
    int rc = list_segments(w->dir, &segs, &n);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&w->mu);
    uint32_t cur = w->seg;
    pthread_mutex_unlock(&w->mu);
    bool removed = false;
    for (size_t i = 0; i < n && segs[i] < seg && rc == 0; i++) {
        if (segs[i] == cur)
            continue; /* never the segment being written */
        char path[4096];
        struct stat st;
        seg_path(path, sizeof path, w->dir, segs[i]);
        uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = -errno;
            break;
        }
        atomic_fetch_sub(&w->size_bytes, size);
        removed = true;
    }
    free(segs);
    if (removed) {
        int rc2 = fs_fsync_dir(w->dir);
        if (rc == 0)
            rc = rc2;
    }
    return rc;
}

uint64_t wal_size_bytes(struct wal *w)
{
    return atomic_load(&w->size_bytes);
}

uint64_t wal_fsyncs(struct wal *w)
{
    return atomic_load(&w->fsyncs);
}

uint64_t wal_bytes_written(struct wal *w)
{
    return atomic_load(&w->written);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* Does a frame start at `off`: a plausible header whose payload fits and
 * whose CRC matches? Used to resync after damage; the CRC is only computed
 * once the header, and the headers of up to WAL_RESYNC_CHAIN frames after it,
 * are plausible (each lands inside the data or exactly at its end), so a
 * scan through random bytes costs about one pass, not one CRC per offset. */
#define WAL_RESYNC_CHAIN 3

static bool header_fits(const uint8_t *p, size_t len, size_t off, size_t *next)
{
    if (len - off < WAL_FRAME_HEADER_BYTES)
        return false;
    uint32_t n = le32(p + off);
    if (n == 0 || n > WAL_RECORD_MAX_BYTES || n > len - off - WAL_FRAME_HEADER_BYTES)
        return false;
    *next = off + WAL_FRAME_HEADER_BYTES + n;
    return true;
}

static bool frame_at(const uint8_t *p, size_t len, size_t off)
{
    size_t next, at = off;
    if (!header_fits(p, len, at, &next))
        return false;
    for (int i = 0; i < WAL_RESYNC_CHAIN; i++) {
        at = next;
        if (at == len || (len - at >= WAL_FRAME_HEADER_BYTES && le32(p + at) == 0 &&
                          le32(p + at + 4) == 0))
            break; /* the end, or a zero tail */
        if (!header_fits(p, len, at, &next))
            return false;
    }
    uint32_t n = le32(p + off);
    return hash_crc32(0, p + off + WAL_FRAME_HEADER_BYTES, n) == le32(p + off + 4);
}

/* Replay one segment's bytes. Returns fn's non-zero code, else 0. The
 * frames before *checked form an unbroken chain from 0 whose CRCs the
 * checker (check_frames()) found good; past it, this thread checks them
 * itself (the bytes are the same: only the work is shared). A damaged
 * frame is skipped up to the next offset where a whole frame checks out
 * (frame_at()): first where the damaged frame's own length says the next one
 * starts (a flipped payload bit), else the first such offset after it. No
 * valid frame after the damage makes it a torn tail. */
static int replay_segment(uint32_t seg, const uint8_t *p, size_t len,
                          const _Atomic size_t *checked, wal_record_fn *fn, wal_damage_fn *dmg,
                          void *ctx, struct wal_replay_stats *st)
{
    size_t off = 0;
    while (off < len) {
        size_t left = len - off;
        if (left < WAL_FRAME_HEADER_BYTES && all_zero(p + off, left))
            return 0;
        if (left >= WAL_FRAME_HEADER_BYTES && le32(p + off) == 0 && le32(p + off + 4) == 0 &&
            all_zero(p + off, left))
            return 0; /* clean end: zeros to the end of the file */
        size_t next;
        if (header_fits(p, len, off, &next) &&
            (off < atomic_load_explicit(checked, memory_order_relaxed) ||
             hash_crc32(0, p + off + WAL_FRAME_HEADER_BYTES, le32(p + off)) == le32(p + off + 4))) {
            st->records++;
            int rc = fn(ctx, p + off + WAL_FRAME_HEADER_BYTES, le32(p + off));
            if (rc != 0)
                return rc;
            off = next;
            continue;
        }
        /* Damage at off: find where the intact frames resume. */
        size_t resume = len;
        if (header_fits(p, len, off, &next) && next < len && frame_at(p, len, next))
            resume = next;
        for (size_t at = off + 1; resume == len && at + WAL_FRAME_HEADER_BYTES <= len; at++)
            if (frame_at(p, len, at))
                resume = at;
        struct wal_damage d = {seg, off, resume - off, resume == len};
        if (d.tail) {
            st->torn++;
        } else {
            st->corrupt++;
            st->corrupt_bytes += d.len;
        }
        if (dmg)
            dmg(ctx, &d);
        off = resume;
    }
    return 0;
}

/* Read segment `path` into the anonymous mapping *p (*cap bytes, grown as
 * needed and reused from one segment to the next, so its pages are faulted
 * in once; core/pagemem.h). Not the heap: a segment is up to 64 MiB, just
 * under the mmap threshold main.c sets, and each one freed there left a
 * hole that size in the middle of the heap, among the series the replay
 * had created (malloc_trim() gave its pages back, but the heap stayed
 * fragmented: 66 MiB of it at a million series). 0 or -errno. */
static int read_segment(const char *path, void **p, size_t *cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat sb;
    int rc = fstat(fd, &sb) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = pagemem_grow(p, cap, (size_t)sb.st_size + 1);
    if (rc == 0)
        rc = fs_pread_all(fd, *p, (size_t)sb.st_size, 0);
    close(fd);
    if (rc == 0)
        *len = (size_t)sb.st_size;
    return rc;
}

/* CRC-checking a segment's frames on a second thread while the caller
 * replays them: a twentieth of a replay's work, done ahead of the record
 * handler, which is the slower part. `checked` is the end of the unbroken
 * chain of good frames from offset 0 found so far; the checker stops at
 * the first bad frame (replay_segment() deals with it) or at `stop`. */
struct frame_check {
    const uint8_t *p;
    size_t len;
    _Atomic size_t checked;
    atomic_bool stop;
};

static void *check_frames(void *arg)
{
    struct frame_check *c = arg;
    size_t off = 0, next;
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed) &&
           header_fits(c->p, c->len, off, &next) &&
           hash_crc32(0, c->p + off + WAL_FRAME_HEADER_BYTES, le32(c->p + off)) ==
               le32(c->p + off + 4)) {
        off = next;
        atomic_store_explicit(&c->checked, off, memory_order_relaxed);
    }
    return NULL;
}

int wal_replay(const char *dir, wal_record_fn *fn, wal_damage_fn *dmg, void *ctx,
               struct wal_replay_stats *st, struct err *e)
{
    struct wal_replay_stats local;
    if (st == NULL)
        st = &local;
    memset(st, 0, sizeof *st);
    uint32_t *segs;
    size_t n;
    int rc = list_segments(dir, &segs, &n);
    if (rc == -ENOENT)
        return 0; /* no WAL yet */
    if (rc != 0)
        return ERR_SET(e, rc, "wal: list %s", dir);
    void *p = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        seg_path(path, sizeof path, dir, segs[i]);
        size_t len = 0;
        rc = read_segment(path, &p, &cap, &len);
        if (rc != 0) {
            ERR_SET(e, rc, "wal: read %s", path);
            break;
        }
        struct frame_check c = {.p = p, .len = len};
        pthread_t checker;
        bool checking = pthread_create(&checker, NULL, check_frames, &c) == 0;
        rc = replay_segment(segs[i], (const uint8_t *)p, len, &c.checked, fn, dmg, ctx, st);
        if (checking) {
            atomic_store(&c.stop, true);
            pthread_join(checker, NULL);
        }
        if (rc != 0)
            ERR_SET(e, rc, "wal: replay stopped by the record handler in %s", path);
    }
    pagemem_free(p, cap);
    free(segs);
    return rc;
}
