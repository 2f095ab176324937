/* hash.h: the one hash function Tide uses for series and strings (xxHash's
 * XXH3, 64 bits) and CRC32C-free checksums via zlib's crc32 for on-disk frames. */
#ifndef TIDE_CORE_HASH_H
#define TIDE_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *p, size_t n);
uint64_t hash_combine(uint64_t h, const void *p, size_t n);
/* hash_bytes() over input given in pieces: the digest equals hash_bytes()
 * of the pieces concatenated. Caller-provided; no allocation. */
struct hash_stream {
    _Alignas(64) unsigned char state[640]; /* an XXH3_state_t */
};
void hash_stream_init(struct hash_stream *h);
void hash_stream_update(struct hash_stream *h, const void *p, size_t n);
uint64_t hash_stream_digest(const struct hash_stream *h);

/* CRC-32 (zlib polynomial) of n bytes, continuing from `crc` (start with 0). */
uint32_t hash_crc32(uint32_t crc, const void *p, size_t n);

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of n bytes,
 * continuing from `crc` (start with 0): Go's crc32.Checksum(b,
 * crc32.MakeTable(crc32.Castagnoli)), as remote read's streamed frames
 * carry it. Software, table-driven; thread-safe. */
uint32_t hash_crc32c(uint32_t crc, const void *p, size_t n);

#endif
