/* SPDX-License-Identifier: MIT */
/* xoshiro256** seeded by splitmix64: small, fast, and reproducible across
 * hosts, which is all simmm needs from a generator. */
#ifndef SIMMM_CORE_RNG_H
#define SIMMM_CORE_RNG_H

#include <stdint.h>

struct simmm_rng {
	uint64_t s[4];
};

static inline uint64_t simmm__splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void simmm__rng_seed(struct simmm_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = simmm__splitmix64(&x);
}

static inline uint64_t simmm__rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t simmm__rng_next(struct simmm_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = simmm__rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = simmm__rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n) for n > 0 (Lemire's multiply-shift; bias negligible). */
static inline uint64_t simmm__rng_below(struct simmm_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)simmm__rng_next(r) * n) >> 64);
}

/* Uniform double in [0, 1). */
static inline double simmm__rng_double(struct simmm_rng *r)
{
	return (double)(simmm__rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
