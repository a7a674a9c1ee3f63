/*
 * Conv2d(5, stride 2, pad 2) + ReLU + BatchNorm2d, forward and backward,
 * on CNHW tensors.  The convolution is im2col + sgemm over chunks of
 * samples: col has one row per (input channel, tap) and one column per
 * (sample, output position), so W (C_out x C_in*25) * col lands directly in
 * the channel-major output, with the batch stride as leading dimension.
 */
#include "cnn_internal.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

static inline size_t
plane_out(const cnn_block *blk)
{
	return (size_t) blk->hout * blk->wout;
}

static inline size_t
plane_in(const cnn_block *blk)
{
	return (size_t) blk->hin * blk->win;
}

/* Input row (or column) read by output position o at tap k; may be padding. */
static inline int
in_coord(int o, int k)
{
	return o * CNN_STRIDE - CNN_PAD + k;
}

/* Output positions [*lo, *hi) whose tap k falls inside an input of size n. */
static inline void
valid_range(int k, int n, int nout, int *lo, int *hi)
{
	*lo = 0;
	while (*lo < nout && in_coord(*lo, k) < 0)
		(*lo)++;
	*hi = nout;
	while (*hi > *lo && in_coord(*hi - 1, k) >= n)
		(*hi)--;
}

/*
 * col[c*25 + tap][(s - s0) * plane_out + pos] = x[c][s][...], 0 in the
 * padding.  The padding is handled per row segment, not per element: this
 * is the hottest loop of the forward pass.
 */
static void
im2col(const cnn_block *blk, const float *x, int n, int s0, int ns, float *col)
{
	size_t		ncols = (size_t) ns * plane_out(blk);

	for (int c = 0; c < blk->cin; c++)
		for (int ky = 0; ky < CNN_K; ky++)
		{
			int			y_lo,
						y_hi;

			valid_range(ky, blk->hin, blk->hout, &y_lo, &y_hi);
			for (int kx = 0; kx < CNN_K; kx++)
			{
				float	   *row = col + ((size_t) c * CNN_TAPS + ky * CNN_K + kx) * ncols;
				int			x_lo,
							x_hi;

				valid_range(kx, blk->win, blk->wout, &x_lo, &x_hi);
				for (int s = 0; s < ns; s++)
				{
					const float *img = x + ((size_t) c * n + s0 + s) * plane_in(blk);

					for (int oy = 0; oy < blk->hout; oy++, row += blk->wout)
					{
						const float *src;

						if (oy < y_lo || oy >= y_hi)
						{
							memset(row, 0, sizeof(float) * blk->wout);
							continue;
						}
						src = img + (size_t) in_coord(oy, ky) * blk->win;
						for (int ox = 0; ox < x_lo; ox++)
							row[ox] = 0.0f;
						for (int ox = x_lo; ox < x_hi; ox++)
							row[ox] = src[in_coord(ox, kx)];
						for (int ox = x_hi; ox < blk->wout; ox++)
							row[ox] = 0.0f;
					}
				}
			}
		}
}

/* Adjoint of im2col: add each col entry back to the input it came from. */
static void
col2im(const cnn_block *blk, const float *col, int n, int s0, int ns, float *dx)
{
	size_t		ncols = (size_t) ns * plane_out(blk);

	for (int c = 0; c < blk->cin; c++)
		for (int ky = 0; ky < CNN_K; ky++)
		{
			int			y_lo,
						y_hi;

			valid_range(ky, blk->hin, blk->hout, &y_lo, &y_hi);
			for (int kx = 0; kx < CNN_K; kx++)
			{
				const float *row = col + ((size_t) c * CNN_TAPS + ky * CNN_K + kx) * ncols;
				int			x_lo,
							x_hi;

				valid_range(kx, blk->win, blk->wout, &x_lo, &x_hi);
				for (int s = 0; s < ns; s++)
				{
					float	   *img = dx + ((size_t) c * n + s0 + s) * plane_in(blk);

					for (int oy = y_lo; oy < y_hi; oy++)
					{
						const float *src = row + ((size_t) s * blk->hout + oy) * blk->wout;
						float	   *dst = img + (size_t) in_coord(oy, ky) * blk->win;

						for (int ox = x_lo; ox < x_hi; ox++)
							dst[in_coord(ox, kx)] += src[ox];
					}
				}
			}
		}
}

/* blk->r = relu(conv(x) + b) */
void
cnn_conv_forward(const cnn_block *blk, const float *x, int n, float *col)
{
	int			k = blk->cin * CNN_TAPS;
	int			chunk = cnn_chunk(blk, n);
	size_t		plane = plane_out(blk);
	size_t		m = (size_t) n * plane;

	for (int s0 = 0; s0 < n; s0 += chunk)
	{
		int			ns = n - s0 < chunk ? n - s0 : chunk;
		int			ncols = ns * (int) plane;

		im2col(blk, x, n, s0, ns, col);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
					blk->cout, ncols, k, 1.0f, blk->w, k, col, ncols,
					0.0f, blk->r + s0 * plane, (int) m);
	}
	for (int c = 0; c < blk->cout; c++)
	{
		float	   *r = blk->r + c * m;
		float		bias = blk->b[c];	/* a local: r may alias b for the compiler */

		for (size_t i = 0; i < m; i++)
		{
			float		v = r[i] + bias;

			r[i] = v > 0.0f ? v : 0.0f;
		}
	}
}

/*
 * From dz = d(loss)/d(conv output) (CNHW), set dw and, if dx is not NULL,
 * dx = d(loss)/d(x).  The bias gradient comes with dz (cnn_bn_relu_backward).
 */
void
cnn_conv_backward(cnn_block *blk, const float *x, const float *dz, int n,
			  float *col, float *dx)
{
	int			k = blk->cin * CNN_TAPS;
	int			chunk = cnn_chunk(blk, n);
	size_t		plane = plane_out(blk);
	int			m = n * (int) plane;

	if (dx != NULL)
		memset(dx, 0, sizeof(float) * blk->cin * (size_t) n * plane_in(blk));
	for (int s0 = 0; s0 < n; s0 += chunk)
	{
		int			ns = n - s0 < chunk ? n - s0 : chunk;
		int			ncols = ns * (int) plane;
		const float *dz0 = dz + s0 * plane;

		/* dw (+)= dz_chunk * col^T */
		im2col(blk, x, n, s0, ns, col);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
					blk->cout, k, ncols, 1.0f, dz0, m, col, ncols,
					s0 == 0 ? 0.0f : 1.0f, blk->dw, k);
		if (dx == NULL)
			continue;
		/* dcol = W^T * dz_chunk, reusing col, then scatter back */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
					k, ncols, blk->cout, 1.0f, blk->w, k, dz0, m,
					0.0f, col, ncols);
		col2im(blk, col, n, s0, ns, dx);
	}
}

/*
 * blk->y = gamma * (r - mean) / sqrt(var + eps) + beta per channel.  In
 * training, mean/var are the batch's (biased variance) and the running
 * statistics move towards them (unbiased variance); otherwise the running
 * statistics are used.  Training needs m >= 2 values per channel, which
 * ttsp_cnn_validate_config guarantees.
 */
void
cnn_bn_forward(cnn_block *blk, int n, bool training)
{
	size_t		m = (size_t) n * plane_out(blk);

	for (int c = 0; c < blk->cout; c++)
	{
		const float *r = blk->r + c * m;
		float	   *y = blk->y + c * m;
		double		mean,
					var;
		float		mu,
					scale,
					shift;

		if (training)
		{
			double		sum = 0.0,
						sq = 0.0;

			for (size_t i = 0; i < m; i++)
				sum += r[i];
			mean = sum / m;
			/* two passes: no cancellation when the mean is large */
			for (size_t i = 0; i < m; i++)
				sq += (r[i] - mean) * (r[i] - mean);
			var = sq / m;
			blk->run_mean[c] = (float) ((1.0 - BN_MOMENTUM) * blk->run_mean[c]
										+ BN_MOMENTUM * mean);
			blk->run_var[c] = (float) ((1.0 - BN_MOMENTUM) * blk->run_var[c]
									   + BN_MOMENTUM * sq / (m - 1));
		}
		else
		{
			mean = blk->run_mean[c];
			var = blk->run_var[c];
		}
		blk->mean[c] = mu = (float) mean;
		blk->invstd[c] = (float) (1.0 / sqrt(var + BN_EPS));
		scale = blk->invstd[c] * blk->gamma[c];
		shift = blk->beta[c];
		for (size_t i = 0; i < m; i++)
			y[i] = (r[i] - mu) * scale + shift;
	}
}

/*
 * In place: dy = d(loss)/d(BatchNorm output) becomes d(loss)/d(conv
 * output), through training-mode BatchNorm (batch statistics depend on
 * every input) and the ReLU.  Sets dgamma, dbeta and the conv bias
 * gradient on the way.
 */
void
cnn_bn_relu_backward(cnn_block *blk, float *dy, int n)
{
	size_t		m = (size_t) n * plane_out(blk);

	for (int c = 0; c < blk->cout; c++)
	{
		const float *r = blk->r + c * m;
		float	   *d = dy + c * m;
		float		mean = blk->mean[c],
					invstd = blk->invstd[c];
		double		sum_dy = 0.0,
					sum_dy_xhat = 0.0,
					sum_dz = 0.0;
		float		k,
					a,
					b;

		for (size_t i = 0; i < m; i++)
		{
			sum_dy += d[i];
			sum_dy_xhat += (double) d[i] * ((r[i] - mean) * invstd);
		}
		blk->dbeta[c] = (float) sum_dy;
		blk->dgamma[c] = (float) sum_dy_xhat;

		/* dr = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) */
		k = blk->gamma[c] * invstd;
		a = (float) (sum_dy / m);
		b = (float) (sum_dy_xhat / m);
		for (size_t i = 0; i < m; i++)
		{
			float		dr = k * (d[i] - a - (r[i] - mean) * invstd * b);

			/* r > 0 exactly where the ReLU passed its input */
			d[i] = r[i] > 0.0f ? dr : 0.0f;
			sum_dz += d[i];
		}
		blk->db[c] = (float) sum_dz;
	}
}
