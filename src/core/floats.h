/*
 * Whole-array float helpers for the numeric core, written so that GCC
 * vectorises them.  No postgres.h.
 */
#ifndef TTSP_FLOATS_H
#define TTSP_FLOATS_H

#include <stdbool.h>
#include <stddef.h>

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
