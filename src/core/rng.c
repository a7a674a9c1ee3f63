#include "rng.h"

#include <math.h>

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
ttsp_rng_seed(ttsp_rng *rng, uint64_t seed)
{
	/* splitmix64 never yields four zero words, the one state xoshiro forbids */
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
}

uint64_t
ttsp_rng_next(ttsp_rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
ttsp_rng_uniform(ttsp_rng *rng)
{
	return (double) (ttsp_rng_next(rng) >> 11) * 0x1.0p-53;
}

double
ttsp_rng_normal(ttsp_rng *rng)
{
	double		u,
				v,
				s;

	do
	{
		u = 2.0 * ttsp_rng_uniform(rng) - 1.0;
		v = 2.0 * ttsp_rng_uniform(rng) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	return u * sqrt(-2.0 * log(s) / s);
}
