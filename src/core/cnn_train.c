/* Losses and optimisers for the CNN, with torch.nn / torch.optim semantics. */
#include "cnn_internal.h"
#include "floats.h"

#include <stdio.h>
#include <stdlib.h>

ttsp_status
ttsp_loss(ttsp_loss_kind kind, int task, const float *out, const float *target,
		  int n, double *loss, float *dout, ttsp_error *err)
{
	bool		classify = task == TTSP_TASK_CLASSIFICATION;
	double		sum = 0.0;

	if (out == NULL || target == NULL || loss == NULL || n < 1)
		return ttsp_fail(err, TTSP_EINVAL, "loss needs outputs, targets and n >= 1");
	if (!classify && task != TTSP_TASK_REGRESSION)
		return ttsp_fail(err, TTSP_EINVAL, "unknown task %d", task);
	if (kind != TTSP_LOSS_MSE && kind != TTSP_LOSS_BCE)
		return ttsp_fail(err, TTSP_EINVAL, "unknown loss %d", (int) kind);
	if (kind == TTSP_LOSS_BCE && !classify)
		return ttsp_fail(err, TTSP_EINVAL, "binary cross-entropy needs a classification task");

	for (int i = 0; i < n; i++)
	{
		double		o = out[i],
					t = target[i],
					d;

		if (!isfinite(o))
			return ttsp_fail(err, TTSP_EINVAL,
							 "network output %d is NaN or infinite (training diverged?)", i);
		if (!isfinite(t) || (classify && (t < 0.0 || t > 1.0)))
			return ttsp_fail(err, TTSP_EINVAL, "target %d (%g) must be %s", i, t,
							 classify ? "in [0, 1]" : "finite");
		if (kind == TTSP_LOSS_BCE)
		{
			/* max(o,0) - o*t + log(1 + e^-|o|): no overflow, no log(0) */
			sum += fmax(o, 0.0) - o * t + log1p(exp(-fabs(o)));
			d = ttsp_sigmoid(o) - t;
		}
		else if (classify)
		{
			double		p = ttsp_sigmoid(o);

			sum += (p - t) * (p - t);
			d = 2.0 * (p - t) * p * (1.0 - p);
		}
		else
		{
			sum += (o - t) * (o - t);
			d = 2.0 * (o - t);
		}
		if (dout != NULL)
			dout[i] = (float) (d / n);
	}
	*loss = sum / n;
	return TTSP_OK;
}

struct ttsp_optimizer
{
	ttsp_cnn   *net;
	ttsp_optim_config cfg;
	long		steps;
	float	   *m;				/* Adam first moment, or SGD momentum buffer */
	float	   *v;				/* Adam second moment */
};

ttsp_optim_config
ttsp_optim_defaults(ttsp_optim_kind kind)
{
	ttsp_optim_config cfg = {
		.kind = kind,
		.lr = kind == TTSP_OPTIM_SGD ? 0.01 : 1e-3,
		.beta1 = 0.9,
		.beta2 = 0.999,
		.eps = 1e-8,
		/* torch.optim.AdamW's default; Adam and SGD default to none */
		.weight_decay = kind == TTSP_OPTIM_ADAMW ? 0.01 : 0.0,
	};

	return cfg;
}

static size_t
state_floats(const ttsp_optim_config *cfg, size_t param_count)
{
	if (cfg->kind != TTSP_OPTIM_SGD)
		return 2 * param_count;
	return cfg->momentum > 0.0 ? param_count : 0;
}

size_t
ttsp_optimizer_state_bytes(const ttsp_optim_config *cfg, size_t param_count)
{
	return sizeof(ttsp_optimizer) + sizeof(float) * state_floats(cfg, param_count);
}

static ttsp_status
check_config(const ttsp_optim_config *cfg, ttsp_error *err)
{
	if (cfg->kind != TTSP_OPTIM_ADAM && cfg->kind != TTSP_OPTIM_ADAMW && cfg->kind != TTSP_OPTIM_SGD)
		return ttsp_fail(err, TTSP_EINVAL, "unknown optimizer %d", (int) cfg->kind);
	if (!(cfg->lr > 0.0 && isfinite(cfg->lr)))
		return ttsp_fail(err, TTSP_EINVAL, "learning rate %g must be positive", cfg->lr);
	if (!(cfg->weight_decay >= 0.0 && isfinite(cfg->weight_decay)))
		return ttsp_fail(err, TTSP_EINVAL, "weight decay %g must be >= 0", cfg->weight_decay);
	if (cfg->kind != TTSP_OPTIM_SGD)
	{
		if (!(cfg->beta1 >= 0.0 && cfg->beta1 < 1.0 && cfg->beta2 >= 0.0 && cfg->beta2 < 1.0))
			return ttsp_fail(err, TTSP_EINVAL, "Adam betas (%g, %g) must be in [0, 1)",
							 cfg->beta1, cfg->beta2);
		if (!(cfg->eps > 0.0 && isfinite(cfg->eps)))
			return ttsp_fail(err, TTSP_EINVAL, "Adam eps %g must be positive", cfg->eps);
	}
	else if (!(cfg->momentum >= 0.0 && cfg->momentum < 1.0))
		return ttsp_fail(err, TTSP_EINVAL, "SGD momentum %g must be in [0, 1)", cfg->momentum);
	return TTSP_OK;
}

ttsp_optimizer *
ttsp_optimizer_create(ttsp_cnn *net, const ttsp_optim_config *cfg, ttsp_error *err)
{
	ttsp_optimizer *opt;
	size_t		n = net->n_params;

	if (check_config(cfg, err) != TTSP_OK)
		return NULL;
	opt = calloc(1, sizeof(*opt));
	if (opt == NULL)
		goto oom;
	opt->net = net;
	opt->cfg = *cfg;
	if (state_floats(cfg, n) > 0)
	{
		/* moments start at zero, as torch.optim's lazily created state */
		opt->m = calloc(n, sizeof(float));
		if (opt->m == NULL)
			goto oom;
	}
	if (cfg->kind != TTSP_OPTIM_SGD)
	{
		opt->v = calloc(n, sizeof(float));
		if (opt->v == NULL)
			goto oom;
	}
	return opt;

oom:
	ttsp_optimizer_destroy(opt);
	ttsp_fail(err, TTSP_ENOMEM, "out of memory for optimizer state of %zu parameters", n);
	return NULL;
}

/* Name of the tensor holding gradient index i, for error messages. */
static void
grad_name(ttsp_cnn *net, size_t i, char *name, size_t len)
{
	ttsp_cnn_tensor t;

	for (int k = 0; ttsp_cnn_tensor_get(net, k, &t); k++)
		if (t.grad != NULL && i < (size_t) (t.grad - net->grads) + t.count)
		{
			snprintf(name, len, "%s[%zu]", t.name, i - (size_t) (t.grad - net->grads));
			return;
		}
	snprintf(name, len, "parameter %zu", i);
}

ttsp_status
ttsp_optimizer_step(ttsp_optimizer *opt, ttsp_error *err)
{
	const ttsp_optim_config *cfg = &opt->cfg;
	ttsp_cnn   *net = opt->net;
	size_t		n = net->n_params;
	float	   *p = net->params;
	const float *g = net->grads;
	/*
	 * Adam and SGD add weight_decay * p to the gradient (L2, coupled with
	 * Adam's scaling); AdamW instead shrinks p by lr * weight_decay before
	 * the Adam step, on the gradient alone (Loshchilov & Hutter's decoupled
	 * decay, torch.optim.AdamW).
	 */
	bool		decoupled = cfg->kind == TTSP_OPTIM_ADAMW;
	float		wd = decoupled ? 0.0f : (float) cfg->weight_decay;
	float		shrink = decoupled ? (float) (1.0 - cfg->lr * cfg->weight_decay) : 1.0f;

	cnn_quiesce(net);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(g[i]))
		{
			char		name[64];

			grad_name(net, i, name, sizeof(name));
			return ttsp_fail(err, TTSP_EINVAL,
							 "gradient of %s is NaN or infinite (training diverged; "
							 "try a lower learning rate)", name);
		}
	opt->steps++;

	if (cfg->kind != TTSP_OPTIM_SGD)
	{
		float		b1 = (float) cfg->beta1,
					b2 = (float) cfg->beta2;
		/* torch: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
		float		step_size = (float) (cfg->lr / (1.0 - pow(cfg->beta1, opt->steps)));
		float		bc2_sqrt = (float) sqrt(1.0 - pow(cfg->beta2, opt->steps));
		float		eps = (float) cfg->eps;

		for (size_t i = 0; i < n; i++)
		{
			float		gi = g[i] + wd * p[i];

			opt->m[i] = b1 * opt->m[i] + (1.0f - b1) * gi;
			opt->v[i] = b2 * opt->v[i] + (1.0f - b2) * gi * gi;
			p[i] *= shrink;
			p[i] -= step_size * opt->m[i] / (sqrtf(opt->v[i]) / bc2_sqrt + eps);
		}
	}
	else
	{
		float		lr = (float) cfg->lr,
					mu = (float) cfg->momentum;

		for (size_t i = 0; i < n; i++)
		{
			float		gi = g[i] + wd * p[i];

			/* torch: buf = mu * buf + g (buf starts as g, same as from 0) */
			if (opt->m != NULL)
			{
				opt->m[i] = mu * opt->m[i] + gi;
				gi = opt->m[i];
			}
			p[i] -= lr * gi;
		}
	}
	return TTSP_OK;
}

void
ttsp_optimizer_destroy(ttsp_optimizer *opt)
{
	if (opt == NULL)
		return;
	free(opt->m);
	free(opt->v);
	free(opt);
}

size_t
ttsp_optimizer_state_view(ttsp_optimizer *opt, float **m, float **v, long **steps)
{
	*m = opt->m;
	*v = opt->v;
	*steps = &opt->steps;
	return opt->net->n_params;
}

ttsp_status
ttsp_cnn_train_batch(ttsp_cnn *net, ttsp_optimizer *opt, ttsp_loss_kind loss,
					 const float *x, const float *extra, const float *y, int n, float *out,
					 float *dout, double *mean_loss, ttsp_error *err)
{
	ttsp_status st = ttsp_cnn_forward_extra(net, x, extra, n, true, out, err);

	if (st == TTSP_OK)
		st = ttsp_loss(loss, net->cfg.task, out, y, n, mean_loss, dout, err);
	if (st == TTSP_OK)
		st = ttsp_cnn_backward(net, dout, NULL, err);
	if (st == TTSP_OK)
		st = ttsp_optimizer_step(opt, err);
	return st;
}
