/* queue.h: the agent's durable on-disk FIFO of encoded remote-write bodies.
 *
 * The collector side pushes one snappy-compressed WriteRequest per flush;
 * the sender side peeks the oldest undelivered one, POSTs it and acks it.
 * Records live in numbered segment files in one directory, framed and
 * CRC-checked; a small cursor file says where delivery stands, so after a
 * crash or a restart delivery resumes in order at the first record not yet
 * acknowledged. Byte layout and the data-loss boundary: docs/agent.md.
 *
 * Data is lost in exactly one way: when a push would take the queue past
 * max_bytes, whole segments are dropped, oldest first, and their undelivered
 * records are counted in queue_stats.dropped_records. (A torn tail record
 * left by a crash in the middle of a push was never acknowledged to anyone
 * and is counted in torn_records.)
 *
 * Ownership: the queue owns its fds and the directory's LOCK file.
 * Thread: every function may be called from any thread; one mutex guards the
 * state. Meant for one producer and one consumer (peek/ack), which is what
 * keeps "peek, send, ack" exactly the oldest record.
 */
#ifndef TIDE_REMOTE_QUEUE_H
#define TIDE_REMOTE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define QUEUE_MAX_BYTES_DEFAULT ((uint64_t)512 << 20)
#define QUEUE_SEGMENT_BYTES_DEFAULT ((uint64_t)8 << 20)
#define QUEUE_RECORD_HEADER 8 /* u32le length, u32le crc32 of the bytes */

enum queue_fsync {
    QUEUE_FSYNC_ALWAYS = 0, /* fsync the segment before queue_push() returns (default) */
    QUEUE_FSYNC_INTERVAL,   /* fsync at a push at least fsync_interval_ms after the last */
    QUEUE_FSYNC_NEVER,      /* leave it to the kernel */
};

struct queue_opts {
    const char *dir;           /* created if missing; locked while open */
    uint64_t max_bytes;        /* cap on all segment files; 0 = QUEUE_MAX_BYTES_DEFAULT */
    uint64_t segment_bytes;    /* start a new segment past this; 0 = default (capped to max/4) */
    enum queue_fsync fsync;    /* durability of pushes */
    int64_t fsync_interval_ms; /* for QUEUE_FSYNC_INTERVAL; 0 = 1000 */
};

struct queue_stats {
    uint64_t bytes;           /* undelivered record bytes, headers included */
    uint64_t records;         /* undelivered records */
    uint64_t segments;        /* segment files on disk */
    uint64_t dropped_records; /* undelivered records dropped by the size cap, since open */
    uint64_t dropped_bytes;   /* their bytes */
    uint64_t torn_records;    /* corrupt or torn records cut off at open */
    uint64_t pushed_records;  /* since open */
    uint64_t acked_records;   /* since open */
};

struct queue;

/* Open (or create) the queue in o->dir: take DIR/LOCK, scan every segment
 * (cutting a torn or corrupt tail off where it starts), read the cursor.
 * A missing or unreadable cursor file means "start at the oldest segment"
 * (at worst a resend, never a loss). On failure *out is NULL: -errno
 * (directory unusable, -EWOULDBLOCK when another process holds the lock) or
 * -ENOMEM, with detail in `e`. */
int queue_open(struct queue **out, const struct queue_opts *o, struct err *e);

/* Sync what is pending, persist the cursor, release the lock, free.
 * Returns the first error met; the queue is freed anyway. NULL is a no-op. */
int queue_close(struct queue *q);

/* Append one record of n bytes (n >= 1). May drop the oldest segments to
 * stay under max_bytes (counted). 0 once the record is written (and fsync'ed
 * under QUEUE_FSYNC_ALWAYS); TIDE_ELIMIT when the record alone exceeds the
 * cap; -errno on an I/O error, in which case nothing of it is visible. */
int queue_push(struct queue *q, const void *p, size_t n, struct err *e);

/* Copy the oldest undelivered record into `out` (reset first). 0, or
 * TIDE_ENOTFOUND when the queue is empty, -errno, TIDE_ECORRUPT when the
 * record no longer reads back as written (it is then skipped by the next
 * queue_ack(), as if delivered). The record stays in the queue until acked. */
int queue_peek(struct queue *q, struct buf *out, struct err *e);

/* Mark the record returned by the last queue_peek() delivered and persist
 * the cursor (fs_write_file_atomic). A segment fully delivered is deleted.
 * If the cap dropped that record in the meantime, nothing happens. 0 or
 * -errno (the cursor could not be written; delivery may repeat the record
 * after a restart). */
int queue_ack(struct queue *q, struct err *e);

/* Wait until the queue holds an undelivered record, queue_wake() is called
 * or timeout_ms passes. Returns the number of undelivered records. */
uint64_t queue_wait(struct queue *q, int64_t timeout_ms);
/* Wake every queue_wait() now (used to stop a consumer). */
void queue_wake(struct queue *q);

/* fsync the current segment now (e.g. before a planned stop). 0 or -errno. */
int queue_sync(struct queue *q);

void queue_stats(struct queue *q, struct queue_stats *out);

#endif
