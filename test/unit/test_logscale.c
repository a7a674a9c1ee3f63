/* ttsp_log10_scaled against libm's double-precision log10. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logscale.h"
#include "tap.h"

#define N 1000000

/*
 * Worst of |got - want| over the bound: the log's own error, 2e-7 of
 * |mult log10 x| + 2e-7 |mult|, carried through scale, plus one rounding of
 * the result.  At most 1 passes.
 */
static double
worst_error(const float *src, size_t n, float floor, float mult, float shift, float scale)
{
	float	   *dst = malloc(n * sizeof(float));
	double		worst = 0;

	ttsp_log10_scaled(src, dst, n, floor, mult, shift, scale);
	for (size_t i = 0; i < n; i++)
	{
		double		lg = mult * log10(fmax(src[i], floor)),
					want = (lg - shift) * scale,
					bound = (2e-7 * fabs(lg) + 2e-7 * fabs(mult)) * fabs(scale) + 1.2e-7 * fabs(want),
					e = fabs(dst[i] - want) / bound;

		if (!(e <= worst))
			worst = e;
	}
	free(dst);
	return worst;
}

int
main(void)
{
	float	   *src = malloc(N * sizeof(float));
	double		w;
	size_t		n = 0;

	/* every exponent, log-uniform mantissas */
	srand(7);
	for (; n < N / 2; n++)
		src[n] = (float) exp((double) rand() / RAND_MAX * 175 - 87);
	/* around the mantissa switch at sqrt(1/2) 2^k, powers of two, and 1 */
	for (int k = -60; k <= 60 && n + 64 < N; k++)
	{
		float		edges[] = {sqrtf(0.5f) * ldexpf(1, k), ldexpf(1, k)};

		for (int j = 0; j < 2; j++)
		{
			float		v = edges[j];

			for (int s = 0; s < 16; s++)
			{
				src[n++] = v;
				v = nextafterf(v, 0);
			}
			v = edges[j];
			for (int s = 0; s < 16; s++)
				src[n++] = v = nextafterf(v, INFINITY);
		}
	}
	for (float v = 0.5f; v < 2.0f && n < N; v += 1.0f / 4096)
		src[n++] = v;
	/* values below the floor, zero and negatives: the floor's log */
	src[n++] = 0;
	src[n++] = -3;
	src[n++] = 1e-30f;
	src[n++] = 1e-40f;			/* subnormal */

	w = worst_error(src, n, 1e-10f, 10, 0, 1);
	ok(w <= 1, "10 log10(max(x, 1e-10)) of %zu values within the bound (worst %.3g of it)", n, w);
	w = worst_error(src, n, 1e-10f, 20, 0, 1);
	ok(w <= 1, "20 log10 (magnitude) within the bound (worst %.3g)", w);
	w = worst_error(src, n, 1e-10f, 10, -42.5f, 0.125f);
	ok(w <= 1, "shift and scale (standardisation) within the bound (worst %.3g)", w);
	w = worst_error(src, n, 1.2e-38f, 1, 0, 1);
	ok(w <= 1, "plain log10 down to FLT_MIN within the bound (worst %.3g)", w);
	{
		float		zero[3] = {0, -1, 1e-12f},
					out[3];

		ttsp_log10_scaled(zero, out, 3, 1e-10f, 10, 0, 1);
		ok(fabsf(out[0] + 100) < 1e-4f && fabsf(out[1] + 100) < 1e-4f && fabsf(out[2] + 100) < 1e-4f,
		   "values at or below the floor give 10 log10(1e-10) = -100 (%g %g %g)", out[0], out[1], out[2]);
	}
	{
		float		bad[5] = {INFINITY, -INFINITY, NAN, -NAN, 3},
					out[5];

		ttsp_log10_scaled(bad, out, 5, 1e-10f, 10, 0, 1);
		ok(isnan(out[0]) && isnan(out[1]) && isnan(out[2]) && isnan(out[3]) && fabsf(out[4] - 4.7712126f) < 1e-5f,
		   "infinities and NaNs of either sign give NaN, the finite neighbour its log");
	}
	free(src);
	return done_testing();
}
