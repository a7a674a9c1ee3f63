#include "floats.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

/*
 * (bits & exponent) + 1 ulp of exponent reaches the sign bit only for an
 * all-ones exponent (NaN, infinity).  An OR over independent lanes is
 * something -O2 turns into plain SIMD, unlike isfinite() per value.
 */
static inline uint32_t
exponent_carry(const float *x)
{
	uint32_t	u;

	memcpy(&u, x, sizeof(u));
	return (u & 0x7f800000u) + 0x00800000u;
}

bool
ttsp_all_finite(const float *x, size_t n)
{
	uint32_t	a = 0,
				b = 0,
				c = 0,
				d = 0;
	size_t		i;

	for (i = 0; i + 4 <= n; i += 4)
	{
		a |= exponent_carry(x + i);
		b |= exponent_carry(x + i + 1);
		c |= exponent_carry(x + i + 2);
		d |= exponent_carry(x + i + 3);
	}
	for (; i < n; i++)
		a |= exponent_carry(x + i);
	return ((a | b | c | d) & 0x80000000u) == 0;
}

void
ttsp_transpose(const float *src, size_t src_stride, size_t rows, size_t cols,
			   float *dst, size_t dst_stride)
{
	size_t		r = 0;

#ifdef __SSE__
	/* 4x4 blocks through registers: one store per four values, not one each */
	for (; r + 4 <= rows; r += 4)
	{
		const float *s = src + r * src_stride;
		size_t		c = 0;

		for (; c + 4 <= cols; c += 4)
		{
			__m128		r0 = _mm_loadu_ps(s + c);
			__m128		r1 = _mm_loadu_ps(s + src_stride + c);
			__m128		r2 = _mm_loadu_ps(s + 2 * src_stride + c);
			__m128		r3 = _mm_loadu_ps(s + 3 * src_stride + c);
			float	   *d = dst + c * dst_stride + r;

			_MM_TRANSPOSE4_PS(r0, r1, r2, r3);
			_mm_storeu_ps(d, r0);
			_mm_storeu_ps(d + dst_stride, r1);
			_mm_storeu_ps(d + 2 * dst_stride, r2);
			_mm_storeu_ps(d + 3 * dst_stride, r3);
		}
		for (; c < cols; c++)
			for (size_t i = 0; i < 4; i++)
				dst[c * dst_stride + r + i] = s[i * src_stride + c];
	}
#endif
	for (; r < rows; r++)
		for (size_t c = 0; c < cols; c++)
			dst[c * dst_stride + r] = src[r * src_stride + c];
}
