/*
 * Private to cnn*.c: the net's layout, shared by the layer code, the
 * optimiser and serialisation.
 *
 * Activations are kept channel-major (C x N x H x W, "CNHW") inside the net:
 * one sgemm then convolves the whole batch (or a chunk of it), and each
 * BatchNorm channel is one contiguous run.  Only the caller-facing input
 * and input gradient are NCHW.
 */
#ifndef TTSP_CNN_INTERNAL_H
#define TTSP_CNN_INTERNAL_H

#include <math.h>

#include "cnn.h"

#define CNN_K 5					/* kernel size */
#define CNN_STRIDE 2
#define CNN_PAD 2
#define CNN_TAPS (CNN_K * CNN_K)
#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

/*
 * im2col scratch is capped at this many floats (16 MiB) by convolving the
 * batch in chunks of samples; one sample is always allowed.
 */
#define CNN_COL_BUDGET (1 << 22)

typedef struct cnn_block
{
	int			cin,
				cout,
				hin,
				win,
				hout,
				wout;
	/* parameters and gradients, views into ttsp_cnn.params / grads */
	float	   *w,
			   *b,
			   *gamma,
			   *beta;
	float	   *dw,
			   *db,
			   *dgamma,
			   *dbeta;
	/* views into ttsp_cnn.stats */
	float	   *run_mean,
			   *run_var;
	/* statistics used by the last forward (cout each) */
	float	   *mean,
			   *invstd;
	/* workspace, CNHW: ReLU output (= BatchNorm input), BatchNorm output */
	float	   *r,
			   *y;
} cnn_block;

struct ttsp_cnn
{
	ttsp_cnn_config cfg;
	cnn_block	blocks[TTSP_CNN_MAX_BLOCKS];
	float	   *head_w,
			   *head_b,
			   *head_dw,
			   *head_db;

	size_t		n_params;
	size_t		n_stats;
	float	   *params;			/* trainable, in tensor order */
	float	   *grads;			/* same layout as params */
	float	   *stats;			/* running mean/var per block */
	float	   *batch_stats;	/* mean/invstd per block */

	/* scratch for up to `capacity` samples, one allocation */
	int			capacity;
	float	   *ws;
	float	   *input;			/* CNHW copy of the last forward's x */
	float	   *col;			/* im2col chunk */
	float	   *grad_a;			/* backward ping-pong, CNHW */
	float	   *grad_b;
	float	   *pooled;			/* N x C_last */

	int			batch;			/* samples in the last forward */
	bool		backward_ready; /* last forward was a training one */
};

/* Logistic function without overflow for large |x|. */
static inline double
cnn_sigmoid(double x)
{
	double		e;

	if (x >= 0.0)
		return 1.0 / (1.0 + exp(-x));
	e = exp(x);
	return e / (1.0 + e);
}

/* Block dimensions, n_params and n_stats of a valid config (no allocation). */
void		cnn_set_geometry(ttsp_cnn *net, const ttsp_cnn_config *cfg);

/* Geometry, parameter views and zeroed storage, no initial values. */
ttsp_cnn   *cnn_alloc(const ttsp_cnn_config *cfg, ttsp_error *err);

/* Samples per im2col chunk for a block at this batch size. */
int			cnn_chunk(const cnn_block *blk, int batch);

/* Layers (cnn_layers.c); `n` is the batch size of the CNHW tensors. */
void		cnn_conv_forward(const cnn_block *blk, const float *x, int n, float *col);
void		cnn_conv_backward(cnn_block *blk, const float *x, const float *dz, int n,
						  float *col, float *dx);
void		cnn_bn_forward(cnn_block *blk, int n, bool training);
void		cnn_bn_relu_backward(cnn_block *blk, float *dy, int n);

#endif
