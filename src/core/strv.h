/* strv.h: a borrowed view of bytes (pointer + length), not NUL-terminated
 * unless the owner says so. The view never owns its bytes: whoever hands one
 * out states how long it stays valid (e.g. "until the request body is freed"). */
#ifndef TIDE_CORE_STRV_H
#define TIDE_CORE_STRV_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct strv {
    const char *p; /* first byte; may be NULL when n == 0 */
    size_t n;      /* length in bytes */
};

#define STRV_LIT(s) ((struct strv){(s), sizeof(s) - 1})

static inline struct strv strv_c(const char *s)
{
    return (struct strv){s, s ? strlen(s) : 0};
}

static inline bool strv_eq(struct strv a, struct strv b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static inline bool strv_eq_c(struct strv a, const char *s)
{
    return strv_eq(a, strv_c(s));
}

/* Byte-wise comparison, shorter first on a common prefix (like memcmp/strcmp). */
static inline int strv_cmp(struct strv a, struct strv b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c != 0)
        return c;
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
static inline int hex_digit_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
