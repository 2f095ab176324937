/* wal.h: write-ahead log framing, the first stop in storage after ingest.
 *
 * Turns opaque records into CRC-checked frames in numbered segment files
 * (DIR/00000001, ...) and knows nothing of what a record holds (wal_record.c
 * does). A frame is [u32le length][u32le crc32 of payload][payload].
 * Replay reads every segment in order; a torn or corrupt frame at the end of
 * a segment is dropped and counted, never fatal; a damaged region in the
 * middle is skipped up to the next frame that checks out, counted, and every
 * intact record after it is recovered.
 *
 * Invariant: with fsync "always", a batch is acknowledged only after
 * wal_sync() has returned 0.
 * Thread: one writer at a time (the caller holds head's append lock);
 * wal_sync() may run from the fsync timer concurrently with wal_append().
 * Byte layout: docs/format/wal.md.
 */
#ifndef TIDE_STORAGE_WAL_H
#define TIDE_STORAGE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define WAL_SEGMENT_MAX_BYTES (64u << 20) /* start a new segment past this */
#define WAL_RECORD_MAX_BYTES (256u << 20)

struct wal;

/* Open DIR (created if missing) for appending to a new segment after the
 * existing ones. *out is NULL on failure. */
int wal_open(struct wal **out, const char *dir, struct err *e);
/* Sync and close; frees w. */
int wal_close(struct wal *w);
/* Append one record (buffered in user space until wal_flush/wal_sync). */
int wal_append(struct wal *w, const void *rec, size_t n);
/* write(2) buffered frames to the segment file. */
int wal_flush(struct wal *w);
/* wal_flush() then fdatasync(2) the segment. Counts in *fsyncs. */
int wal_sync(struct wal *w);
/* Close the current segment and start a new one; returns its number. Records
 * before it live in segments < the returned number. */
int wal_cut(struct wal *w, uint32_t *new_segment);
/* Delete segments numbered < seg (after their contents were persisted in blocks). */
int wal_truncate_before(struct wal *w, uint32_t seg);
/* Bytes of all segment files; fsyncs done; bytes appended since open. */
uint64_t wal_size_bytes(struct wal *w);
uint64_t wal_fsyncs(struct wal *w);
uint64_t wal_bytes_written(struct wal *w);

/* Replay every record in DIR in order, calling fn for each; fn returning
 * non-zero stops replay with that code. Damage is skipped, counted in *st
 * (may be NULL) and described to dmg (may be NULL), both with ctx. Runs
 * before wal_open(). */
typedef int wal_record_fn(void *ctx, const void *rec, size_t n);
struct wal_damage {
    uint32_t seg; /* segment number */
    uint64_t off; /* offset of the first damaged byte */
    uint64_t len; /* bytes skipped */
    bool tail;    /* nothing valid after it: a torn tail (else frames resumed) */
};
typedef void wal_damage_fn(void *ctx, const struct wal_damage *d);
struct wal_replay_stats {
    uint64_t records;       /* passed to fn */
    uint64_t torn;          /* torn or corrupt tails dropped */
    uint64_t corrupt;       /* damaged regions inside segments, skipped */
    uint64_t corrupt_bytes; /* bytes of those regions */
};
int wal_replay(const char *dir, wal_record_fn *fn, wal_damage_fn *dmg, void *ctx,
               struct wal_replay_stats *st, struct err *e);

#endif
