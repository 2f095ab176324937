/* block.h: immutable on-disk blocks, one time partition's samples for a set
 * of series, written once by a head cut or a compaction and then only read.
 *
 * A block is one file DIR/<partition>/<ulid-like id>.blk holding, per series,
 * its label set and its samples encoded column-wise (series_codec.c) and
 * compressed with zstd in pages of several series, plus an index at the end
 * (series labels, page offsets) so a reader can find a series' samples
 * without decompressing the others. Byte layout: docs/format/block.md.
 *
 * Ownership: struct block is ref-counted (block_ref/block_unref): db.c holds
 * one ref while the block is live, each reader one while reading; the last
 * unref closes the file and frees memory, and deletes the file when
 * block_mark_deleted() was called.
 * Thread: everything immutable after block_open(); refcount is atomic.
 */
#ifndef TIDE_STORAGE_BLOCK_H
#define TIDE_STORAGE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "model/batch.h"
#include "model/labels.h"

/* ---- writing ---- */

struct block_writer;

/* Start writing a block to `path` (a temporary name is used until
 * block_writer_finish()). */
int block_writer_new(struct block_writer **out, const char *path, struct err *e);
/* Add one series; series must be added in labels_cmp() order, samples sorted
 * by time and unique. Both are copied/encoded at once. A series with no
 * samples is skipped (returns 0). TIDE_EINVAL on order violations, TIDE_ELIMIT
 * past SERIES_CODEC_MAX_SAMPLES samples; after a failure, abort the writer. */
int block_writer_add(struct block_writer *w, const struct label *ls, size_t nls,
                     const struct sample *v, size_t n, struct err *e);
/* Write the index and footer, fsync, rename into place, fsync the directory.
 * Frees w whatever the outcome. */
int block_writer_finish(struct block_writer *w, struct err *e);
/* zstd level for the pages written from now on (default BLOCK_ZSTD_LEVEL in
 * storage/format.h); for benchmarks and tuning. Returns 0. */
int block_writer_set_level(struct block_writer *w, int level);
/* Most samples per chunk for the series added from now on (default
 * BLOCK_CHUNK_SAMPLES in storage/format.h; 0 counts as 1); for tests and
 * tuning. Returns 0. */
int block_writer_set_chunk_samples(struct block_writer *w, size_t n);
/* Give up: remove the temporary file, free w. */
void block_writer_abort(struct block_writer *w);

/* ---- reading ---- */

struct block_meta {
    int64_t mint_ms, maxt_ms; /* min and max sample timestamp, inclusive */
    uint64_t nseries, nsamples;
    uint64_t bytes;           /* file size */
};

struct block;

/* Open and verify (magic, version, footer CRC) a block file. TIDE_ECORRUPT on damage. */
int block_open(struct block **out, const char *path, struct err *e);
void block_ref(struct block *b);
void block_unref(struct block *b);
/* After this, the last unref deletes the file. */
void block_mark_deleted(struct block *b);
const struct block_meta *block_meta(const struct block *b);
const char *block_path(const struct block *b);

/* Series i (0..nseries-1) in label order: its labels, valid while a ref is held. */
void block_series_labels(const struct block *b, uint64_t i, const struct label **ls, size_t *n);
/* Per-series min/max time from the index, for skipping without decoding. */
void block_series_range(const struct block *b, uint64_t i, int64_t *mint_ms, int64_t *maxt_ms);
/* Series i's sample count and an estimate of its bytes in the file: its
 * share of its page's compressed size (len * clen / ulen). Zeros when i is
 * out of range. For the per-job/instance disk estimate of storage_stats(). */
void block_series_info(const struct block *b, uint64_t i, uint64_t *nsamples, uint64_t *bytes);
/* Decode series i's samples, appending them to *v (realloc'd, caller frees),
 * updating *n and *cap. 0 or TIDE_ECORRUPT (then *n is unchanged).
 * Thread-safe. */
int block_series_samples(struct block *b, uint64_t i, struct sample **v, size_t *n, size_t *cap,
                         struct err *e);
/* The same for the samples of series i in [mint_ms, maxt_ms] only: decodes
 * just the chunks whose time range meets it (a chunk is checked against the
 * index whole, then trimmed). Nothing when the series misses the range or
 * mint_ms > maxt_ms. When maybe_nan is not NULL, *maybe_nan is set (never
 * cleared) if a decoded chunk may hold NaN values, stale markers included:
 * chunks in the decimal modes cannot. */
int block_series_samples_range(struct block *b, uint64_t i, int64_t mint_ms, int64_t maxt_ms,
                               struct sample **v, size_t *n, size_t *cap, bool *maybe_nan,
                               struct err *e);
/* The same for several ranges of series i at once, ranges[r][0..1] being
 * [mint_ms, maxt_ms] of range r: the samples of each, range after range,
 * as that many calls of block_series_samples_range() would append them,
 * with the series' page looked up and pinned once (tier files: one range
 * per rollup field). On error *n is unchanged. */
int block_series_samples_ranges(struct block *b, uint64_t i, const int64_t (*ranges)[2],
                                size_t nranges, struct sample **v, size_t *n, size_t *cap,
                                bool *maybe_nan, struct err *e);
/* A page of a block kept pinned from one block_series_samples_ranges_pin()
 * call to the next: the series of one page (in a tier file, a metric's
 * series lie together) are read with one pin and unpin, not one each.
 * Caller-owned, zero-initialised; the holder releases it with
 * block_pin_release() while the block is surely alive (before the lock
 * that keeps it in the live set is released). A pinned page stays cached. */
struct block_pin {
    struct block *b;   /* the block whose page is pinned; NULL: none */
    uint64_t page;     /* its page */
    size_t slot;       /* its cache slot */
    const char *bytes; /* the page's bytes, valid while pinned */
};
/* block_series_samples_ranges() reading through *pin: the series' page is
 * pinned into it unless it holds that page already (the page it held
 * before released). On error *n is unchanged and *pin holds a pinned page
 * or none. */
int block_series_samples_ranges_pin(struct block *b, uint64_t i, const int64_t (*ranges)[2],
                                    size_t nranges, struct sample **v, size_t *n, size_t *cap,
                                    bool *maybe_nan, struct block_pin *pin, struct err *e);
/* Unpin *pin's page, if any; *pin is then empty. */
void block_pin_release(struct block_pin *p);

/* The page cache all blocks share: its budget in decompressed bytes (128
 * MiB; returns the previous one, for tests), and what it holds and how
 * many pages were read and decompressed into it since the start. */
size_t block_cache_set_max(size_t bytes);
void block_cache_stats(size_t *bytes, uint64_t *loads);

/* ---- the column codec used inside blocks (series_codec.c) ---- */

/* Encode n time-sorted samples into dst: timestamps delta-of-delta varints;
 * values as decimal-scaled integers when all of them round-trip that way,
 * else Gorilla XOR. Bit-exact. */
int series_codec_encode(struct buf *dst, const struct sample *v, size_t n);
/* Most samples one series_codec_encode() call takes (TIDE_ELIMIT past it) and
 * series_codec_decode() accepts (TIDE_ECORRUPT), so a damaged count cannot
 * make a reader allocate without bound. 4 Mi samples = 48 days at 1 s. */
#define SERIES_CODEC_MAX_SAMPLES (1u << 22)
/* The value column modes (low 3 bits of the codec's header byte). */
enum series_codec_mode {
    SERIES_CODEC_CONST = 1,     /* every value has the same bits: stored once */
    SERIES_CODEC_DEC_DELTA = 2, /* v = m / 10^k; m as zig-zag varint deltas */
    SERIES_CODEC_DEC_DOD = 3,   /* v = m / 10^k; m as delta-of-delta, zero runs */
    SERIES_CODEC_XOR = 4,       /* Gorilla XOR bits (NaN, Inf, -0.0, full precision) */
    SERIES_CODEC_DEC_PACK = 5,  /* v = m / 10^k; zig-zag deltas bit-packed in groups of 64 */
};
/* The mode series_codec_encode() wrote at p (0 if p is empty or invalid); for
 * tests and benchmarks. */
int series_codec_mode(const void *p, size_t len);
/* Decode what series_codec_encode wrote; appends to *v as block_series_samples. */
int series_codec_decode(const void *p, size_t len, struct sample **v, size_t *n, size_t *cap,
                        struct err *e);

#endif
