/*
 * Private to cnn*.c: the net's layout, shared by the layer code, the
 * optimiser and serialisation.
 *
 * Activations inside the net are channel-major (channel, then sample), in
 * two layouts that let the stride-2 5x5 convolution run as direct
 * convolution kernels on contiguous vectors (cnn_layers.c), with no im2col:
 *
 * - rows: a block's conv output r, and the gradients dY and dZ, are planes
 *   of hout rows of P = wout + 2 floats (the last 2 columns of a row are
 *   padding: don't-care in r and dY, zero in dZ).  Output position
 *   (oy, ox) is at q = oy * P + ox.
 * - s2d ("space to depth"): a block's input, zero-padded by 2 on each side
 *   (padded row R = iy + 2, column C = ix + 2), is split into 4 parity
 *   planes (R & 1, C & 1) of hout + 2 rows of the same pitch P, so that
 *   (R, C) is at plane (R & 1) * 2 + (C & 1), offset (R >> 1) * P + (C >> 1).
 *   Tap (ky, kx) of output q then reads plane (ky & 1, kx & 1) at
 *   q + (ky >> 1) * P + (kx >> 1): every tap is a shifted contiguous run.
 *
 * Buffers are sample-major (sample, then channel): one sample's planes are
 * contiguous, which keeps a kernel's working set compact.  The zero padding
 * of the s2d buffers is written once, when the workspace is allocated.
 */
#ifndef TTSP_CNN_INTERNAL_H
#define TTSP_CNN_INTERNAL_H

#include <math.h>

#include "cnn.h"
#include "hugemem.h"

#define CNN_K 5					/* kernel size */
#define CNN_STRIDE 2
#define CNN_PAD 2
#define CNN_TAPS (CNN_K * CNN_K)
#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

/* Floats of slack after every plane: vector kernels may run past its end. */
#define CNN_SLACK 64

typedef struct cnn_block
{
	int			cin,
				cout,
				hin,
				win,
				hout,
				wout;
	/* layout (floats): see the top of this file */
	int			P;				/* row pitch, wout + 2 */
	size_t		sq;				/* one s2d parity plane */
	size_t		so;				/* one r or dY plane: hout rows */
	size_t		dpad;			/* zeros before a dZ plane's rows */
	size_t		sd;				/* one dZ plane, pads included */
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
	/* workspace */
	float	   *xq;				/* s2d input: capacity x cin x 4 planes */
	float	   *r;				/* ReLU output (BatchNorm input): capacity x cout planes */
	float	   *wpack;			/* the weights in a kernel's layout (cnn_conv_*) */
	float	   *wsrc;			/* the weights wpack was packed from */
	int			wpack_kind;		/* its layout: 0 none yet, else +-block size (cnn_layers.c) */
} cnn_block;

typedef enum cnn_async_state
{
	CNN_ASYNC_NONE,
	CNN_ASYNC_PENDING,			/* begun, the workers not started yet */
	CNN_ASYNC_RUNNING,			/* on the workers */
	CNN_ASYNC_DONE				/* finished, outputs not yet collected */
} cnn_async_state;

struct ttsp_cnn
{
	ttsp_cnn_config cfg;
	cnn_block	blocks[TTSP_CNN_MAX_BLOCKS];
	float	   *head_w,			/* C_last + n_extra */
			   *head_b,
			   *head_dw,
			   *head_db;
	float	   *extra_mean,		/* n_extra each, views into stats */
			   *extra_scale;

	size_t		n_params;
	size_t		n_stats;
	float	   *params;			/* trainable, in tensor order, inside params_map */
	ttsp_mapping params_map;	/* its own mapping: a model's first load faults once */
	float	   *grads;			/* same layout as params */
	float	   *stats;			/* running mean/var per block */
	float	   *batch_stats;	/* mean/invstd per block */

	/* scratch for up to `capacity` samples, one allocation */
	int			capacity;
	float	   *ws;				/* inside ws_map */
	ttsp_mapping ws_map;		/* the workspace's own mapping (cnn.c) */
	float	   *dy;				/* dY of a block, rows layout */
	float	   *dz;				/* dZ of a block, padded rows layout */
	float	   *dxq;			/* d(loss)/d(block input), s2d layout */
	float	   *pooled;			/* N x C_last */
	float	   *extra_z;		/* N x n_extra: the standardised extras */
	double	   *bn_sums;		/* per-sample, per-channel BatchNorm sums */
	double	   *dw_scratch;		/* weight-gradient sums */

	int			threads;		/* ttsp_cnn_set_threads, 1 by default */
	int			batch;			/* samples in the last forward */
	bool		backward_ready; /* last forward was a training one */

	/* an eval forward on more threads: per sample, eval_cap of each, malloc'd */
	int			eval_cap;
	float	   *eval_pooled;	/* the head's input, eval_cap x C_last */
	float	   *async_pooled;	/* the same for ttsp_cnn_forward_begin's */
	float	   *eval_extra_z;	/* eval_cap x n_extra (at least 1) */

	/* ttsp_cnn_forward_begin: a forward running, then ended */
	cnn_async_state async;
	const float *async_x;		/* the caller's input */
	int			async_cap;		/* samples it was begun for */
	int			async_done;		/* samples computed (DONE) */
	int			async_bad;		/* set by the workers: an input not finite */
};

/* End a forward begun on this net: its outputs kept for ttsp_cnn_forward_end. */
void		cnn_quiesce(ttsp_cnn *net);


/* Block dimensions, layouts, n_params and n_stats of a valid config. */
void		cnn_set_geometry(ttsp_cnn *net, const ttsp_cnn_config *cfg);

/* Geometry, parameter views and zeroed storage, no initial values. */
ttsp_cnn   *cnn_alloc(const ttsp_cnn_config *cfg, ttsp_error *err);

/* Floats of weights a kernel may rearrange for a block (cnn_layers.c). */
size_t		cnn_wpack_floats(const cnn_block *blk);
/* Doubles of scratch the weight gradient of a block needs. */
size_t		cnn_dw_scratch_doubles(const cnn_block *blk);

/*
 * Layers (cnn_layers.c) on the first `n` samples of the buffers, each on
 * at most `threads` threads (ttsp_cnn_set_threads).  The
 * kernels are compiled for AVX-512, AVX2+FMA and plain C, picked once by
 * CPU (TTSP_CNN_ISA=generic|avx2|avx512 in the environment overrides it, for
 * tests); results depend on the pick only through float rounding.
 */
const char *cnn_isa_name(void);
/* Force a kernel set by name (tests); false if this CPU cannot run it. */
bool		cnn_isa_select(const char *name);

/*
 * From this many samples per thread on, cnn_conv_forward gives each thread
 * whole samples, and an eval forward takes whole samples through every
 * block (cnn_eval_forward); below, samples are cut into parts (more,
 * shorter jobs).
 */
#define CNN_SAMPLES_PER_THREAD 4

/* x (NCHW) into blk->xq of the first block; false if x has NaN or infinity. */
bool		cnn_input_forward(cnn_block *blk, const float *x, int n, int threads);
/*
 * blk->r = relu(conv(input) + b).  For a block after the first, prev is the
 * block before it, whose BatchNorm (final mean/invstd) turns prev->r into
 * this block's input sample by sample, just before use.  stats, unless
 * NULL, receives per-sample statistics of r for cnn_bn_forward (2 x n x
 * cout doubles).  blk->wpack receives the weights in the kernel's layout,
 * unless pack is false: then it holds them from an earlier call with
 * unchanged weights (an eval forward run a sample at a time).
 */
void		cnn_conv_forward(cnn_block *blk, cnn_block *prev, int n, bool pack, double *stats,
							 int threads);
/*
 * BatchNorm statistics of blk into blk->mean/invstd: the batch's from stats
 * when training (updating the running ones), else the running ones.  For
 * the last block, pooled (n x cout) receives its output averaged per sample
 * (stats needed in both modes).
 */
void		cnn_bn_forward(cnn_block *blk, int n, bool training, const double *stats,
						   float *pooled);

/*
 * An eval forward of n whole samples through all nb blocks, one task per
 * sample: each thread takes a sample through every block while its
 * activations are in that thread's cache, with no barrier between blocks,
 * in its own workspace slot (the blocks' xq and r of sample 0 for the
 * calling thread, 1 + i for worker i: capacity >= threads).  The
 * BatchNorm means and inverse deviations of every block must be set
 * (cnn_bn_forward, eval); pack as for cnn_conv_forward.  pooled (n x the
 * last cout) receives the head's input, as cnn_bn_forward's.  The same
 * bits as cnn_input_forward, then cnn_conv_forward and cnn_bn_forward
 * block by block.  False if x has NaN or infinity.
 */
bool		cnn_eval_forward(cnn_block *blocks, int nb, const float *x, int n, bool pack,
							 float *pooled, int threads);
/*
 * cnn_eval_forward (pack true) begun for up to n samples that the caller
 * is still filling: cnn_eval_forward_ready publishes that the first n are
 * filled, and the workers take them as they come; cnn_eval_forward_end
 * publishes the last count, takes part and joins, and returns the samples
 * computed (fewer if another job ended it first; -1 if that is not known
 * any more).  False, nothing started, when no worker would take part.
 * flag is set when x has NaN or infinity.  x, pooled, the blocks and flag
 * must stay until it ends.  Every other job first ends it
 * (cnn_async_wait, which returns the samples it had).  One at a time in
 * the process.
 */
bool		cnn_eval_forward_begin(cnn_block *blocks, int nb, const float *x, int n,
								   float *pooled, int threads, int *flag, const void *owner);
void		cnn_eval_forward_ready(const void *owner, int n);
int			cnn_eval_forward_end(const void *owner, int n);
int			cnn_async_wait(void);

/*
 * dY (rows layout) -> dZ (padded rows layout); sets dgamma, dbeta, db.
 * sums: the per-sample sums cnn_conv_backward left for this block, or NULL
 * to compute them (the last block).  training: through the batch
 * statistics of a training forward; else through the running statistics
 * of an eval forward (input gradients of a trained net).
 */
void		cnn_bn_relu_backward(cnn_block *blk, const float *dy, const double *sums,
								 int n, bool training, float *dz, int threads);
/*
 * dw from dZ and blk->xq (when weights: an input gradient alone skips it).
 * Unless grad is NULL, also d(loss)/d(block input) through dxq (scratch,
 * s2d): into grad as dY of prev (rows layout) with prev's BatchNorm-backward
 * sums in sums (2 x n x prev->cout doubles), or, for the first block (prev
 * NULL), as NCHW.
 */
void		cnn_conv_backward(cnn_block *blk, const cnn_block *prev, const float *dz, int n,
							  bool weights, float *grad, float *dxq, double *dw_scratch,
							  double *sums, int threads);

#endif
