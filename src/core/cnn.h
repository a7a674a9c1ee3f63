/*
 * Small 2-D CNN for spectrogram classification/regression: training and
 * prediction in plain C (no postgres.h), with direct convolution kernels
 * for AVX-512, AVX2+FMA or plain C picked from the CPU (cnn_layers.c).
 *
 * Network: n_blocks x [Conv2d(k=5, stride=2, pad=2) -> ReLU -> BatchNorm2d]
 * -> global average pooling -> Linear(C_last + n_extra -> 1).  The head
 * also reads n_extra "extra" inputs per sample (0 by default), which bypass
 * the convolutions: a whole clip's pooled features beside one window of it
 * (a "wide and deep" model), or covariates.  The net standardises them
 * itself, (extra - extra.mean) / extra.scale, with values the caller sets
 * once (non-trained tensors, stored with the weights).  The output is a logit
 * for TTSP_TASK_CLASSIFICATION (probability = sigmoid) and the prediction
 * itself for TTSP_TASK_REGRESSION.  Tensors are float32 NCHW: batch x
 * in_channels x in_height (frequency bins) x in_width (frames).
 *
 * Semantics follow PyTorch: Kaiming-normal conv weights (a = 0.1, fan_in,
 * leaky_relu gain), zero conv bias, BatchNorm gamma 1 / beta 0, eps 1e-5,
 * momentum 0.1, training normalises with the biased batch variance and
 * updates running_var with the unbiased one; nn.Linear's default uniform
 * init for the head.
 *
 * Training loop (the caller checks for cancellation between calls; each
 * call's work is bounded by the batch size):
 *
 *	 ttsp_cnn_forward(net, x, n, true, out, err);
 *	 ttsp_loss(TTSP_LOSS_BCE, task, out, y, n, &loss, dout, err);
 *	 ttsp_cnn_backward(net, dout, NULL, err);	// overwrites the gradients
 *	 ttsp_optimizer_step(opt, err);
 *
 * Memory: everything is malloc'd, or for the parameters and the per-batch
 * scratch mmap'd (hugemem.h: 2 MB aligned, so up to 2 MB more resident each
 * than their size when the kernel gives huge pages), and
 * released by ttsp_cnn_destroy / ttsp_optimizer_destroy.  Per-batch scratch
 * is sized for the largest batch seen so far (or ttsp_cnn_reserve); calls at
 * or below that size never allocate.  Its pages are faulted in on first use
 * (an eval forward leaves the backward buffers untouched).  ttsp_cnn_workspace_bytes tells the total in advance.
 *
 * Threads and determinism: the seed alone fixes the initial weights.  Each
 * call runs on the number of threads given to ttsp_cnn_set_threads (1 by
 * default; nothing else, no environment or library setting, changes it),
 * with worker threads that block all signals.  Work is split so that every
 * output is summed in one fixed order whatever the thread count: results
 * are bit-identical across runs and thread counts on a given CPU (the
 * kernel set picked, and so FMA rounding, may differ between CPUs).
 *
 * Memory grows with the batch through the activations (no im2col buffer).
 *
 * Not thread-safe: a net (and its optimizer) belongs to one thread.
 */
#ifndef TTSP_CNN_H
#define TTSP_CNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttsp_status.h"

#define TTSP_CNN_MAX_BLOCKS 8
#define TTSP_CNN_MAX_CHANNELS 1024
#define TTSP_CNN_MAX_DIM 65536	/* in_height, in_width */
#define TTSP_CNN_MAX_BATCH 65536
#define TTSP_CNN_MAX_THREADS 64
#define TTSP_CNN_MAX_EXTRA 16384	/* extra head inputs */
/* Cap on any per-sample tensor (input, block output). */
#define TTSP_CNN_MAX_SAMPLE_ELEMS (1 << 28)
#define TTSP_CNN_DEFAULT_SEED 12

typedef enum ttsp_task
{
	TTSP_TASK_CLASSIFICATION = 0,
	TTSP_TASK_REGRESSION = 1
} ttsp_task;

typedef struct ttsp_cnn_config
{
	int			in_channels;
	int			in_height;
	int			in_width;
	int			n_blocks;
	int			channels[TTSP_CNN_MAX_BLOCKS];	/* output channels per block */
	int			task;			/* ttsp_task */
	int			n_extra;		/* extra head inputs, 0..TTSP_CNN_MAX_EXTRA */
} ttsp_cnn_config;

typedef struct ttsp_cnn ttsp_cnn;

/* 4 blocks of {8, 16, 32, 64} channels for the given input and task, no extras. */
ttsp_cnn_config ttsp_cnn_default_config(int in_channels, int in_height,
										int in_width, int task);

/*
 * Check cfg: dims 1..TTSP_CNN_MAX_DIM, channels 1..TTSP_CNN_MAX_CHANNELS,
 * n_blocks 1..TTSP_CNN_MAX_BLOCKS, a known task, and an input large enough
 * that the last block's output has at least 2 positions.  That last rule
 * keeps BatchNorm's training statistics defined for every batch size,
 * including 1 (PyTorch rejects a training batch with one value per
 * channel): the variance needs 2 values, the unbiased one divides by m - 1.
 */
ttsp_status ttsp_cnn_validate_config(const ttsp_cnn_config *cfg, ttsp_error *err);

/*
 * Bytes a net of this config holds when running batches of `batch`:
 * parameters, gradients, BatchNorm statistics and scratch (all but a few KB
 * of fixed-size structs).  An optimizer adds ttsp_optimizer_state_bytes.
 * SIZE_MAX if cfg or batch is invalid.
 */
size_t		ttsp_cnn_workspace_bytes(const ttsp_cnn_config *cfg, int batch);

/* NULL on failure, with err filled. */
ttsp_cnn   *ttsp_cnn_create(const ttsp_cnn_config *cfg, uint64_t seed,
							ttsp_error *err);

/* Safe on NULL and on a net whose creation failed half way. */
void		ttsp_cnn_destroy(ttsp_cnn *net);

const ttsp_cnn_config *ttsp_cnn_get_config(const ttsp_cnn *net);

/* Number of trainable scalars. */
size_t		ttsp_cnn_param_count(const ttsp_cnn *net);

/*
 * Threads for the net's later calls, 1..TTSP_CNN_MAX_THREADS (a new or
 * deserialised net has 1).  Results do not depend on it.
 */
ttsp_status ttsp_cnn_set_threads(ttsp_cnn *net, int threads, ttsp_error *err);
int			ttsp_cnn_get_threads(const ttsp_cnn *net);

/* Allocate scratch for batches up to `batch` now (optional). */
ttsp_status ttsp_cnn_reserve(ttsp_cnn *net, int batch, ttsp_error *err);

/*
 * Run x (batch x in_channels x in_height x in_width) through the net and
 * write batch raw outputs (logits for classification) to out.  training:
 * BatchNorm uses and updates batch statistics and the call prepares for
 * ttsp_cnn_backward; otherwise BatchNorm uses its running statistics.
 * extra: batch x n_extra raw extra inputs (NULL when n_extra is 0).  x and
 * extra may be freed after the call.  Non-finite inputs are TTSP_EINVAL.
 * An eval forward takes each sample through all blocks at once (the same
 * bits as the whole batch block by block, faster: activations stay in
 * cache): a sample at a time on one thread, and on more, from 4 samples per
 * thread, the whole batch with each thread in a scratch slot of its own, so
 * its scratch holds a sample per thread, not the batch.
 */
ttsp_status ttsp_cnn_forward_extra(ttsp_cnn *net, const float *x, const float *extra,
								   int batch, bool training, float *out, ttsp_error *err);

/*
 * An eval forward (ttsp_cnn_forward_extra, training false: the same bits)
 * of up to batch samples that the caller is still filling, computed on the
 * net's helper threads as they come.  ttsp_cnn_forward_begin sets *begun
 * on more than one thread (else use ttsp_cnn_forward_extra);
 * ttsp_cnn_forward_ready says the first n samples of x (and their extras)
 * are filled and stay unchanged (the helpers start once there are 4 per
 * thread); ttsp_cnn_forward_end says n is all, takes part, joins, and
 * writes the n outputs to out (x and extra again: for the head, and for
 * the error naming a non-finite sample).  Any other call on the net, or
 * any other forward begun on another, first ends it where it is;
 * ttsp_cnn_forward_end then computes the rest itself.
 * ttsp_cnn_async_wait ends whatever forward is running in the process
 * (before freeing an input it reads).
 */
ttsp_status ttsp_cnn_forward_begin(ttsp_cnn *net, const float *x, const float *extra, int batch,
								   bool *begun, ttsp_error *err);
void		ttsp_cnn_forward_ready(ttsp_cnn *net, int n);
ttsp_status ttsp_cnn_forward_end(ttsp_cnn *net, const float *x, const float *extra, int n,
								 float *out, ttsp_error *err);
void		ttsp_cnn_async_wait(void);

/* ttsp_cnn_forward_extra without extras (a net with n_extra 0). */
ttsp_status ttsp_cnn_forward(ttsp_cnn *net, const float *x, int batch,
							 bool training, float *out, ttsp_error *err);

/*
 * Standardisation of the extra inputs: n_extra means and scales (finite,
 * scales > 0), copied.  A new net has 0 and 1.
 */
ttsp_status ttsp_cnn_set_extra_scaling(ttsp_cnn *net, const double *mean, const double *scale,
									   ttsp_error *err);

/* Eval-mode forward without extras, then sigmoid for classification: final predictions. */
ttsp_status ttsp_cnn_predict(ttsp_cnn *net, const float *x, int batch,
							 float *out, ttsp_error *err);

/*
 * Gradients of a loss given dout = d(loss)/d(output) for each sample of the
 * last forward, which must have been a training forward.  Overwrites (does
 * not accumulate) the parameter gradients.  dx, if not NULL, receives
 * d(loss)/d(x) in the input's layout.
 */
ttsp_status ttsp_cnn_backward(ttsp_cnn *net, const float *dout, float *dx,
							  ttsp_error *err);

/*
 * Input gradient of a trained net, for saliency: an eval-mode forward of x
 * and extra (as ttsp_cnn_forward_extra; the extras shift the output but
 * not the gradient) (BatchNorm with its running statistics, as in prediction) writing the
 * batch raw outputs (logits for classification) to out, then dx =
 * d(sum_s weights[s] * out[s]) / dx in x's layout.  Samples do not
 * interact in eval mode, so sample s's part of dx is weights[s] times the
 * gradient of its own output.  The convolution weight gradients are not
 * computed; the BatchNorm and bias ones are overwritten with meaningless
 * values (training calls ttsp_cnn_backward anew).
 */
ttsp_status ttsp_cnn_input_gradient(ttsp_cnn *net, const float *x, const float *extra, int batch,
									const float *weights, float *out, float *dx,
									ttsp_error *err);

/*
 * Named view of the net's tensors, PyTorch state_dict names and order:
 * "blocks.<i>.conv.weight" (C_out x C_in x 5 x 5), "blocks.<i>.conv.bias",
 * "blocks.<i>.bn.weight", "blocks.<i>.bn.bias", "blocks.<i>.bn.running_mean",
 * "blocks.<i>.bn.running_var", then "head.weight" (C_last + n_extra: the
 * pooled channels, then the extras), "head.bias", and with extras
 * "extra.mean", "extra.scale".  grad is NULL for the running statistics and
 * the extras' scaling, which are not trained.
 */
typedef struct ttsp_cnn_tensor
{
	char		name[32];
	float	   *data;
	float	   *grad;
	size_t		count;
} ttsp_cnn_tensor;

int			ttsp_cnn_tensor_count(const ttsp_cnn *net);
/* false if i is out of range */
bool		ttsp_cnn_tensor_get(ttsp_cnn *net, int i, ttsp_cnn_tensor *t);
/* The tensor called name ("head.weight", "extra.scale", ...); false if the net has none. */
bool		ttsp_cnn_tensor_find(ttsp_cnn *net, const char *name, ttsp_cnn_tensor *t);

/* Losses ---------------------------------------------------------------- */

typedef enum ttsp_loss_kind
{
	/*
	 * Mean squared error.  Regression: on the raw output.  Classification:
	 * on sigmoid(logit), i.e. the probability, as the seed project did
	 * (MSE on a probability); kept for compatibility, BCE trains better.
	 */
	TTSP_LOSS_MSE = 0,
	/* Binary cross-entropy on the logit, computed stably; classification only. */
	TTSP_LOSS_BCE = 1
} ttsp_loss_kind;

/*
 * Mean loss over n outputs into *loss and d(loss)/d(out[i]) into dout
 * (n floats; may be NULL).  Classification targets must lie in [0, 1].
 */
ttsp_status ttsp_loss(ttsp_loss_kind kind, int task, const float *out,
					  const float *target, int n, double *loss, float *dout,
					  ttsp_error *err);

/* Optimisers ------------------------------------------------------------ */

typedef enum ttsp_optim_kind
{
	TTSP_OPTIM_ADAM = 0,
	TTSP_OPTIM_SGD = 1,
	TTSP_OPTIM_ADAMW = 2		/* Adam with decoupled weight decay */
} ttsp_optim_kind;

typedef struct ttsp_optim_config
{
	ttsp_optim_kind kind;
	double		lr;
	double		beta1;			/* Adam */
	double		beta2;			/* Adam */
	double		eps;			/* Adam */
	double		momentum;		/* SGD, 0 = plain SGD */
	/*
	 * Adam, SGD: L2 added to the gradient, as torch.optim.  AdamW: decoupled,
	 * p *= 1 - lr * weight_decay before the step, as torch.optim.AdamW.
	 */
	double		weight_decay;
} ttsp_optim_config;

typedef struct ttsp_optimizer ttsp_optimizer;

/*
 * Adam: lr 1e-3, betas 0.9/0.999, eps 1e-8.  AdamW: the same and
 * weight_decay 0.01 (torch's defaults).  SGD: lr 0.01, momentum 0.
 */
ttsp_optim_config ttsp_optim_defaults(ttsp_optim_kind kind);

size_t		ttsp_optimizer_state_bytes(const ttsp_optim_config *cfg,
									   size_t param_count);

/* The net must outlive the optimizer. */
ttsp_optimizer *ttsp_optimizer_create(ttsp_cnn *net, const ttsp_optim_config *cfg,
									  ttsp_error *err);

/*
 * Update the parameters from the gradients of the last backward, with
 * torch.optim semantics (Adam and AdamW with bias correction).  A non-finite gradient
 * is an error and leaves the parameters untouched.
 */
ttsp_status ttsp_optimizer_step(ttsp_optimizer *opt, ttsp_error *err);

void		ttsp_optimizer_destroy(ttsp_optimizer *opt);

/*
 * One training step on n samples (the loop at the top of this file):
 * forward (extra as ttsp_cnn_forward_extra's), loss (its mean into
 * *mean_loss), backward, optimiser step.  out and dout are n floats of
 * scratch.
 */
ttsp_status ttsp_cnn_train_batch(ttsp_cnn *net, ttsp_optimizer *opt, ttsp_loss_kind loss,
								 const float *x, const float *extra, const float *y, int n,
								 float *out, float *dout, double *mean_loss, ttsp_error *err);

/*
 * The optimiser's state, for model averaging (cnn_average.h): the first
 * moment (Adam) or momentum buffer (SGD), the second moment (Adam), each
 * of the returned count of floats in parameter order or NULL when the
 * optimiser keeps none, and the step count Adam's bias correction uses.
 */
size_t		ttsp_optimizer_state_view(ttsp_optimizer *opt, float **m, float **v,
									  long **steps);

/* Serialisation --------------------------------------------------------- *
 *
 * Format versions 1 and 2, little-endian:
 *	 "TTSPCNN\0"  u32 version  u32 task  u32 in_channels  u32 in_height
 *	 u32 in_width  u32 n_blocks  u32 channels[n_blocks]
 *	 [version 2: u32 n_extra]
 *	 u64 n_params  u64 n_stats  f32 params[n_params]  f32 stats[n_stats]
 *	 u64 FNV-1a-64 of all preceding bytes
 * params are the trainable tensors and stats the BatchNorm running
 * mean/var (then the extras' mean and scale), each in ttsp_cnn_tensor order.
 * A net without extras is written as version 1, byte for byte as before
 * version 2 existed, so older builds still read it.  Kernel 5, stride 2, padding 2,
 * eps and momentum are fixed by the version.
 */
size_t		ttsp_cnn_serialized_size(const ttsp_cnn *net);

/* len must be at least ttsp_cnn_serialized_size (TTSP_EINVAL otherwise). */
ttsp_status ttsp_cnn_serialize(const ttsp_cnn *net, uint8_t *buf, size_t len,
							   ttsp_error *err);

/*
 * Rebuild a net.  Truncated, altered or inconsistent bytes are
 * TTSP_ECORRUPT, never a crash: the sizes are checked against len before
 * anything is allocated (about 2x len).  A later format version is
 * TTSP_EUNSUPPORTED.  Scratch is allocated by the first forward.
 */
ttsp_cnn   *ttsp_cnn_deserialize(const uint8_t *buf, size_t len, ttsp_error *err);

#endif
