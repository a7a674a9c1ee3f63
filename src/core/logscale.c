#include "logscale.h"

#include <stdint.h>
#include <string.h>

#define LOG10_E 0.43429448190325182765f
#define SQRT_HALF_BITS 0x3f3504f3	/* sqrtf(0.5f) */

/*
 * ln(x) for positive normal x, as Cephes' logf: x = z 2^e with z in
 * [sqrt(1/2), sqrt(2)), then a degree-9 polynomial in z - 1.  z and e come
 * from integer arithmetic on the bits, without a branch (random spectra made
 * a branch mispredict half the time); ln 2 is split in two (0.693359375 -
 * 2.12194440e-4) so that e ln 2 adds no rounding error.
 */
static inline float
ln_positive(uint32_t bits)
{
	uint32_t	off = bits - SQRT_HALF_BITS;
	int32_t		e = (int32_t) off >> 23;
	uint32_t	zbits = bits - (off & 0xff800000u);
	float		z,
				m,
				m2,
				y;

	memcpy(&z, &zbits, sizeof(z));
	m = z - 1.0f;
	m2 = m * m;
	y = 7.0376836292e-2f;
	y = y * m - 1.1514610310e-1f;
	y = y * m + 1.1676998740e-1f;
	y = y * m - 1.2420140846e-1f;
	y = y * m + 1.4249322787e-1f;
	y = y * m - 1.6668057665e-1f;
	y = y * m + 2.0000714765e-1f;
	y = y * m - 2.4999993993e-1f;
	y = y * m + 3.3333331174e-1f;
	y = y * m * m2;
	y += -2.12194440e-4f * (float) e;
	y += -0.5f * m2;
	return m + y + 0.693359375f * (float) e;
}

/*
 * Wider vectors where the CPU has them, chosen once at load (ifunc); no
 * FMA contraction, which only the AVX-512 clone would get: every host then
 * computes the same bits.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off")))
#endif
void
ttsp_log10_scaled(const float *src, float *dst, size_t n, float lowest,
				  float mult, float shift, float scale)
{
	float		k = mult * LOG10_E;
	int32_t		lowest_bits;

	memcpy(&lowest_bits, &lowest, sizeof(lowest_bits));
	for (size_t i = 0; i < n; i++)
	{
		int32_t		bits;
		uint32_t	nan_mask,
					out;
		float		v;

		memcpy(&bits, &src[i], sizeof(bits));
		/* all-ones exponent (infinity, NaN): OR a quiet NaN into the result */
		nan_mask = ((uint32_t) bits & 0x7fffffffu) >= 0x7f800000u ? 0x7fc00000u : 0;
		/* positive floats order as their bits; negatives and -0 are below */
		bits = bits > lowest_bits ? bits : lowest_bits;
		v = (k * ln_positive((uint32_t) bits) - shift) * scale;
		memcpy(&out, &v, sizeof(out));
		out |= nan_mask;
		memcpy(&dst[i], &out, sizeof(out));
	}
}
