/* rng.h: the seeded PRNG of the benchmark generators (tsbs_cpu.c,
 * remote_write_gen.c): splitmix64 seeding xoshiro256**, so the same seed
 * gives the same draws, hence byte-identical output, in both. */
#ifndef BENCH_GEN_RNG_H
#define BENCH_GEN_RNG_H

#include <math.h>
#include <stdint.h>

static uint64_t rng_s[4];

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(void)
{
    uint64_t r = rotl(rng_s[1] * 5, 7) * 9;
    uint64_t t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl(rng_s[3], 45);
    return r;
}

static void rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng_s[i] = splitmix64(&seed);
}

/* uniform in [0,1) */
static double rng_f64(void) { return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); }

static unsigned rng_int(unsigned n) { return (unsigned)(rng_f64() * n); }

/* standard normal, Box-Muller (one value per call; simple and deterministic) */
static double rng_norm(void)
{
    double u1 = rng_f64(), u2 = rng_f64();
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

#endif
