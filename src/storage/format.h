/* format.h: every fixed-size on-disk struct of storage, with its magic and
 * version, pinned by _Static_assert so a change of layout cannot slip in
 * unnoticed. Fields are byte arrays in little-endian order (read and written
 * with le32/put_le32 and friends), so the structs have no padding and no
 * alignment needs: they describe bytes, they are never cast onto a mapping.
 * Variable-length parts (the block index, WAL payloads, chunks) are described
 * in docs/format/{block,wal,chunks}.md.
 */
#ifndef TIDE_STORAGE_FORMAT_H
#define TIDE_STORAGE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* ---- block files (block.c, docs/format/block.md) ---- */

#define BLOCK_MAGIC 0x4b4c4254u /* "TBLK" as little-endian bytes 54 42 4c 4b */
#define BLOCK_VERSION 2u /* 2: series split into chunks with their own time range */
#define BLOCK_HEADER_BYTES 16
#define BLOCK_FOOTER_BYTES 64
#define BLOCK_PAGE_TARGET_BYTES (64u << 10) /* close a page once it holds this much */
#define BLOCK_CHUNK_SAMPLES 1024u /* a series is encoded in chunks of at most this many samples */
#define BLOCK_PAGE_MAX_BYTES (256u << 20)   /* a reader refuses larger pages */
#define BLOCK_INDEX_MAX_BYTES (1u << 30)    /* a reader refuses larger indexes */
#define BLOCK_ZSTD_LEVEL 3

struct block_header_disk {
    uint8_t magic[4];    /* BLOCK_MAGIC */
    uint8_t version[4];  /* BLOCK_VERSION */
    uint8_t flags[4];    /* 0; reserved */
    uint8_t reserved[4]; /* 0 */
};

struct block_footer_disk {
    uint8_t index_off[8];  /* file offset of the index section */
    uint8_t index_len[8];  /* its length; index_off + index_len + 64 == file size */
    uint8_t mint_ms[8];    /* int64: min sample time (INT64_MAX when empty) */
    uint8_t maxt_ms[8];    /* int64: max sample time (INT64_MIN when empty) */
    uint8_t nseries[8];
    uint8_t nsamples[8];
    uint8_t index_crc[4];  /* hash_crc32 of the index section */
    uint8_t footer_crc[4]; /* hash_crc32 of footer bytes [0, 52) */
    uint8_t magic[4];      /* BLOCK_MAGIC again: the file ends with it */
    uint8_t version[4];    /* BLOCK_VERSION */
};

_Static_assert(sizeof(struct block_header_disk) == BLOCK_HEADER_BYTES, "block header size");
_Static_assert(sizeof(struct block_footer_disk) == BLOCK_FOOTER_BYTES, "block footer size");
_Static_assert(offsetof(struct block_footer_disk, index_crc) == 48, "footer layout");
_Static_assert(offsetof(struct block_footer_disk, footer_crc) == 52, "footer layout");
_Static_assert(offsetof(struct block_footer_disk, magic) == 56, "footer layout");

/* ---- WAL segments (wal.c, docs/format/wal.md) ---- */

#define WAL_SEGMENT_NAME_DIGITS 8 /* DIR/%08u */
#define WAL_FRAME_HEADER_BYTES 8
#define WAL_BUFFER_BYTES (256u << 10) /* wal_append() writes through past this */
#define WAL_PREALLOC_STEP_BYTES (1u << 20) /* segment space reserved ahead of the data */

struct wal_frame_disk {
    uint8_t len[4]; /* payload bytes, 1..WAL_RECORD_MAX_BYTES; 0 with crc 0 = end */
    uint8_t crc[4]; /* hash_crc32 of the payload */
    /* payload follows */
};

_Static_assert(sizeof(struct wal_frame_disk) == WAL_FRAME_HEADER_BYTES, "wal frame header size");

/* ---- head chunks (chunk.c, docs/format/chunks.md) have no fixed part. ---- */

#endif
