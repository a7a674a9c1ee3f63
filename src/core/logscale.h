/*
 * Log scaling of whole arrays, branch-free so that the compiler vectorises
 * it: a model's input is 10 log10 of ~10^5 power values per row, and libm's
 * scalar log10f was a quarter of a prediction's time.
 */
#ifndef TTSP_LOGSCALE_H
#define TTSP_LOGSCALE_H

#include <stddef.h>

/*
 * dst[i] = (mult * log10(max(src[i], lowest)) - shift) * scale for a
 * positive normal lowest; NaN where src[i] is infinite or NaN, so that a
 * caller's finiteness check still sees it.  Error against libm's log10
 * within 2e-7 relative plus 2e-7 * |mult| absolute (test_logscale).
 */
extern void ttsp_log10_scaled(const float *src, float *dst, size_t n, float lowest,
							  float mult, float shift, float scale);

#endif
