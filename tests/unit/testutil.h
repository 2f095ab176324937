/* testutil.h: small helpers every unit test may use: a float's bits and
 * back (bit-exact comparisons of NaN payloads, -0.0, the stale marker), and
 * a reproducible xorshift64* generator whose state each test file owns. */
#ifndef TIDE_TESTS_TESTUTIL_H
#define TIDE_TESTS_TESTUTIL_H

#include <stdint.h>
#include <string.h>

static inline uint64_t bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static inline double from_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Next value of the xorshift64* sequence in *state (any nonzero seed). */
static inline uint64_t test_rnd(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

#endif
