/*
 * Float matrix transpose between strided layouts: the STFT makes frames
 * frame-major, while outputs are [row][time] and the mel projection wants
 * frames side by side.  No postgres.h.
 */
#ifndef TTSP_TRANSPOSE_H
#define TTSP_TRANSPOSE_H

#include <stddef.h>

/*
 * dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows, c < cols.
 * src and dst must not overlap.
 */
void		ttsp_transpose(const float *src, size_t src_stride, size_t rows,
						   size_t cols, float *dst, size_t dst_stride);

#endif
