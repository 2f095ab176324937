/* hash.c: thin wrappers over libxxhash and zlib's crc32 (see hash.h). */
#include "core/hash.h"

#include <xxhash.h>
#include <zlib.h>

uint64_t hash_bytes(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

uint64_t hash_combine(uint64_t h, const void *p, size_t n)
{
    return XXH3_64bits_withSeed(p, n, h);
}

uint32_t hash_crc32(uint32_t c, const void *p, size_t n)
{
    uLong crc = c;
    const unsigned char *b = p;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return (uint32_t)crc;
}
