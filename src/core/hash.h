/* hash.h: the one hash function Tide uses for series and strings (xxHash's
 * XXH3, 64 bits) and CRC32C-free checksums via zlib's crc32 for on-disk frames. */
#ifndef TIDE_CORE_HASH_H
#define TIDE_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *p, size_t n);
uint64_t hash_combine(uint64_t h, const void *p, size_t n);
/* CRC-32 (zlib polynomial) of n bytes, continuing from `crc` (start with 0). */
uint32_t hash_crc32(uint32_t crc, const void *p, size_t n);

#endif
