/*
 * Deterministic pseudo-random numbers for weight initialisation:
 * splitmix64 expands the 64-bit seed into xoshiro256** state, so a seed
 * gives the same stream on every run and machine (nothing depends on time
 * or addresses).
 */
#ifndef TTSP_RNG_H
#define TTSP_RNG_H

#include <stdint.h>

typedef struct ttsp_rng
{
	uint64_t	s[4];
} ttsp_rng;

void		ttsp_rng_seed(ttsp_rng *rng, uint64_t seed);
uint64_t	ttsp_rng_next(ttsp_rng *rng);

/* Uniform in [0, 1) with 53 random bits. */
double		ttsp_rng_uniform(ttsp_rng *rng);

/* Standard normal (Marsaglia polar method; the second variate is dropped). */
double		ttsp_rng_normal(ttsp_rng *rng);

#endif
