/* utf8.h: the one UTF-8 check of the tree (RFC 3629, as Go's utf8.Valid):
 * no overlong forms, no surrogates (U+D800..U+DFFF), nothing past U+10FFFF,
 * no truncated sequence. Used by model/labels.c to refuse invalid label
 * bytes on ingest, and by the JSON writers (api/json.c, ingest/jsontok.c) to
 * write U+FFFD in place of invalid bytes already stored.
 */
#ifndef TIDE_CORE_UTF8_H
#define TIDE_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Length (1..4) of the valid UTF-8 sequence at p[0..n), n >= 1; 0 when the
 * bytes there are not one (a stray continuation byte, an overlong form, a
 * surrogate, a code point past U+10FFFF, or a sequence cut short by n). */
static inline size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Whether s[0..n) is entirely valid UTF-8 (true for n == 0). ASCII, the
 * usual case for label bytes, is checked eight bytes at a time. */
static inline bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, sizeof w);
            if ((w & UINT64_C(0x8080808080808080)) == 0) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_seq_len(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

#endif
