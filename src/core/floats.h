/*
 * Whole-array float helpers for the numeric core, written so that GCC
 * vectorises them.  No postgres.h.
 */
#ifndef TTSP_FLOATS_H
#define TTSP_FLOATS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

/* The logistic function without overflow for large |x| (the CNN's output, the linear model's). */
static inline double
ttsp_sigmoid(double x)
{
	double		e;

	if (x >= 0.0)
		return 1.0 / (1.0 + exp(-x));
	e = exp(x);
	return e / (1.0 + e);
}

/* No NaN or infinity among x[0 .. n - 1]. */
bool		ttsp_all_finite(const float *x, size_t n);

/*
 * Transpose between strided layouts (the STFT makes frames frame-major;
 * outputs are [row][time], and the mel projection wants frames side by
 * side): dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows, c < cols.
 * src and dst must not overlap.
 */
void		ttsp_transpose(const float *src, size_t src_stride, size_t rows,
						   size_t cols, float *dst, size_t dst_stride);

#endif
