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
