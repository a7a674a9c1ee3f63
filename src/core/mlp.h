/*
 * A small multilayer perceptron for covariates-only models
 * (architecture 'mlp'): n_in standardised inputs -> Linear(n_in, hidden) ->
 * ReLU -> Linear(hidden, 1), in double.  Output: a logit (classification,
 * trained with BCE-with-logits) or a standardised value (regression, MSE),
 * the mean over the batch as torch's default reduction.
 *
 * Initialisation is torch.nn.Linear's: weights and biases uniform in
 * [-1/sqrt(fan_in), 1/sqrt(fan_in)], drawn from ttsp_rng under the seed in
 * the order w1 (row-major [hidden][n_in]), b1, w2, b2: the same seed gives
 * the same network on every machine.  Optimisers follow torch.optim
 * (Adam, AdamW, SGD; ttsp_optim_config's meaning).
 */
#ifndef TTSP_MLP_H
#define TTSP_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"				/* ttsp_task, ttsp_optim_config */
#include "ttsp_status.h"

#define TTSP_MLP_MAX_INPUTS 4096
#define TTSP_MLP_MAX_HIDDEN 1024

typedef struct ttsp_mlp
{
	int			task;			/* ttsp_task */
	int			n_in;
	int			hidden;
	/* parameters, contiguous in this order: w1[hidden][n_in], b1[hidden], w2[hidden], b2 */
	double	   *param;
	size_t		n_param;
	double	   *grad;			/* n_param: of the last ttsp_mlp_gradient */
	double	   *m1;				/* optimiser state (not serialised) */
	double	   *m2;
	long		steps;
	double	   *act;			/* scratch: hidden activations of a batch */
	int			act_rows;
} ttsp_mlp;

/* A fresh network (torch's initialisation under seed); NULL with err on bad sizes. */
ttsp_mlp   *ttsp_mlp_create(int task, int n_in, int hidden, uint64_t seed, ttsp_error *err);

void		ttsp_mlp_destroy(ttsp_mlp *m);

/*
 * Outputs (logits or standardised values) of n rows of n_in into out;
 * TTSP_EINVAL for a non-finite input, or an output that overflows.
 */
ttsp_status ttsp_mlp_forward(ttsp_mlp *m, const double *x, int n, double *out, ttsp_error *err);

/*
 * The batch's mean loss into *loss and its gradient with respect to every
 * parameter into m->grad.  Classification labels must be 0 or 1.
 */
ttsp_status ttsp_mlp_gradient(ttsp_mlp *m, const double *x, const double *y, int n,
							  double *loss, ttsp_error *err);

/* One optimiser step from m->grad (torch.optim semantics, bias-corrected Adam). */
ttsp_status ttsp_mlp_step(ttsp_mlp *m, const ttsp_optim_config *cfg, ttsp_error *err);

/* Serialisation ---------------------------------------------------------- *
 *
 * Format version 1, little-endian:
 *	 "TTSPMLP\0"  u32 version  u32 task  u32 n_in  u32 hidden
 *	 f64 param[hidden * n_in + 2 * hidden + 1]
 *	 u64 FNV-1a-64 of all preceding bytes
 */
size_t		ttsp_mlp_serialized_size(const ttsp_mlp *m);
ttsp_status ttsp_mlp_serialize(const ttsp_mlp *m, uint8_t *buf, size_t len, ttsp_error *err);

/*
 * From bytes that may be anything: length, magic, checksum, version (a
 * later one TTSP_EUNSUPPORTED), task and shape, exact length, finite
 * values; anything else wrong is TTSP_ECORRUPT.  Nothing is allocated
 * before the length has been checked against the shape.
 */
ttsp_mlp   *ttsp_mlp_deserialize(const uint8_t *buf, size_t len, ttsp_error *err);

#endif
