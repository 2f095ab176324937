/* hash.c: thin wrappers over libxxhash and zlib's crc32 (see hash.h). */
#include "core/hash.h"

#define XXH_STATIC_LINKING_ONLY
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

_Static_assert(sizeof(XXH3_state_t) <= sizeof(((struct hash_stream *)0)->state),
               "struct hash_stream too small for XXH3_state_t");

void hash_stream_init(struct hash_stream *h)
{
    XXH3_64bits_reset((XXH3_state_t *)h->state);
}

void hash_stream_update(struct hash_stream *h, const void *p, size_t n)
{
    XXH3_64bits_update((XXH3_state_t *)h->state, p, n);
}

uint64_t hash_stream_digest(const struct hash_stream *h)
{
    return XXH3_64bits_digest((const XXH3_state_t *)h->state);
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

/* Castagnoli table, built at compile time from the reflected polynomial. */
#define C1(c) (((c) >> 1) ^ (((c)&1u) ? 0x82F63B78u : 0u))
#define C8(c) C1(C1(C1(C1(C1(C1(C1(C1(c))))))))
#define R4(i) C8((uint32_t)(i)), C8((uint32_t)(i) + 1), C8((uint32_t)(i) + 2), C8((uint32_t)(i) + 3)
#define R16(i) R4(i), R4((i) + 4), R4((i) + 8), R4((i) + 12)
#define R64(i) R16(i), R16((i) + 16), R16((i) + 32), R16((i) + 48)
static const uint32_t crc32c_table[256] = {R64(0), R64(64), R64(128), R64(192)};

uint32_t hash_crc32c(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc32c_table[(crc ^ b[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}
