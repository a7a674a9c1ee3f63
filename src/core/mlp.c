/* The covariates-only MLP (mlp.h). */
#include "mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "floats.h"
#include "rng.h"

#define MLP_MAGIC "TTSPMLP"		/* 8 bytes with its NUL */
#define MLP_MAGIC_LEN 8
#define MLP_FORMAT_VERSION 1
#define MLP_HEADER (MLP_MAGIC_LEN + 4 * 4)
#define MLP_CHECKSUM_LEN 8

static size_t
param_count(int n_in, int hidden)
{
	return (size_t) hidden * n_in + 2 * (size_t) hidden + 1;
}

static ttsp_mlp *
mlp_alloc(int task, int n_in, int hidden, ttsp_error *err)
{
	ttsp_mlp   *m;
	size_t		p;

	if (task != TTSP_TASK_CLASSIFICATION && task != TTSP_TASK_REGRESSION)
	{
		ttsp_fail(err, TTSP_EINVAL, "unknown task %d", task);
		return NULL;
	}
	if (n_in < 1 || n_in > TTSP_MLP_MAX_INPUTS || hidden < 1 || hidden > TTSP_MLP_MAX_HIDDEN)
	{
		ttsp_fail(err, TTSP_EINVAL, "an MLP of %d inputs and %d hidden units is outside 1..%d and 1..%d",
				  n_in, hidden, TTSP_MLP_MAX_INPUTS, TTSP_MLP_MAX_HIDDEN);
		return NULL;
	}
	p = param_count(n_in, hidden);
	m = calloc(1, sizeof(*m) + 4 * p * sizeof(double));
	if (m == NULL)
	{
		ttsp_fail(err, TTSP_ENOMEM, "out of memory for an MLP of %zu parameters", p);
		return NULL;
	}
	m->task = task;
	m->n_in = n_in;
	m->hidden = hidden;
	m->n_param = p;
	m->param = (double *) (m + 1);
	m->grad = m->param + p;
	m->m1 = m->grad + p;
	m->m2 = m->m1 + p;
	return m;
}

ttsp_mlp *
ttsp_mlp_create(int task, int n_in, int hidden, uint64_t seed, ttsp_error *err)
{
	ttsp_mlp   *m = mlp_alloc(task, n_in, hidden, err);
	ttsp_rng	rng;
	double		b_in,
				b_hid;
	size_t		i;

	if (m == NULL)
		return NULL;
	ttsp_rng_seed(&rng, seed);
	b_in = 1.0 / sqrt((double) n_in);
	b_hid = 1.0 / sqrt((double) hidden);
	/* w1 and b1 have fan_in n_in, w2 and b2 fan_in hidden */
	for (i = 0; i < (size_t) hidden * n_in + hidden; i++)
		m->param[i] = (2 * ttsp_rng_uniform(&rng) - 1) * b_in;
	for (; i < m->n_param; i++)
		m->param[i] = (2 * ttsp_rng_uniform(&rng) - 1) * b_hid;
	return m;
}

void
ttsp_mlp_destroy(ttsp_mlp *m)
{
	if (m)
		free(m->act);
	free(m);
}

static ttsp_status
reserve(ttsp_mlp *m, int n, ttsp_error *err)
{
	if (n <= m->act_rows)
		return TTSP_OK;
	free(m->act);
	m->act = malloc((size_t) n * m->hidden * sizeof(double));
	m->act_rows = m->act ? n : 0;
	if (m->act == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for %d rows of %d hidden units", n, m->hidden);
	return TTSP_OK;
}

/* outputs, keeping the hidden activations (after ReLU) in m->act */
static ttsp_status
forward(ttsp_mlp *m, const double *x, int n, double *out, ttsp_error *err)
{
	const double *w1 = m->param,
			   *b1 = w1 + (size_t) m->hidden * m->n_in,
			   *w2 = b1 + m->hidden,
			   *b2 = w2 + m->hidden;
	ttsp_status st;

	if (x == NULL || out == NULL || n < 0)
		return ttsp_fail(err, TTSP_EINVAL, "MLP forward needs rows and an output");
	if ((st = reserve(m, n, err)) != TTSP_OK)
		return st;
	for (int i = 0; i < n; i++)
	{
		const double *xi = x + (size_t) i * m->n_in;
		double	   *a = m->act + (size_t) i * m->hidden;
		double		z = *b2;

		for (int j = 0; j < m->n_in; j++)
			if (!isfinite(xi[j]))
				return ttsp_fail(err, TTSP_EINVAL, "row %d, input %d is NaN or infinite", i, j);
		for (int h = 0; h < m->hidden; h++)
		{
			const double *wh = w1 + (size_t) h * m->n_in;
			double		s = b1[h];

			for (int j = 0; j < m->n_in; j++)
				s += wh[j] * xi[j];
			a[h] = s > 0 ? s : 0;
			z += w2[h] * a[h];
		}
		/* finite weights (all the decoder checks) can still overflow */
		if (!isfinite(z))
			return ttsp_fail(err, TTSP_EINVAL, "the output of row %d is not finite: the weights overflow on it", i);
		out[i] = z;
	}
	return TTSP_OK;
}

ttsp_status
ttsp_mlp_forward(ttsp_mlp *m, const double *x, int n, double *out, ttsp_error *err)
{
	if (m == NULL)
		return ttsp_fail(err, TTSP_EINVAL, "no MLP");
	return forward(m, x, n, out, err);
}

static double
log1pexp(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

ttsp_status
ttsp_mlp_gradient(ttsp_mlp *m, const double *x, const double *y, int n, double *loss,
				  ttsp_error *err)
{
	double	   *out;
	double		sum = 0;
	double	   *gw1,
			   *gb1,
			   *gw2,
			   *gb2;
	const double *w2;
	ttsp_status st;

	if (m == NULL || y == NULL || n < 1)
		return ttsp_fail(err, TTSP_EINVAL, "an MLP gradient needs a model and at least one labelled row");
	out = malloc((size_t) n * sizeof(double));
	if (out == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for %d outputs", n);
	if ((st = forward(m, x, n, out, err)) != TTSP_OK)
	{
		free(out);
		return st;
	}
	memset(m->grad, 0, m->n_param * sizeof(double));
	gw1 = m->grad;
	gb1 = gw1 + (size_t) m->hidden * m->n_in;
	gw2 = gb1 + m->hidden;
	gb2 = gw2 + m->hidden;
	w2 = m->param + (size_t) m->hidden * m->n_in + m->hidden;
	for (int i = 0; i < n; i++)
	{
		const double *xi = x + (size_t) i * m->n_in;
		const double *a = m->act + (size_t) i * m->hidden;
		double		d;

		if (m->task == TTSP_TASK_CLASSIFICATION)
		{
			if (y[i] != 0.0 && y[i] != 1.0)
			{
				free(out);
				return ttsp_fail(err, TTSP_EINVAL, "label %d is %g; classes must be 0 or 1", i, y[i]);
			}
			sum += log1pexp(out[i]) - y[i] * out[i];
			d = (ttsp_sigmoid(out[i]) - y[i]) / n;
		}
		else
		{
			sum += (out[i] - y[i]) * (out[i] - y[i]);
			d = 2 * (out[i] - y[i]) / n;
		}
		*gb2 += d;
		for (int h = 0; h < m->hidden; h++)
		{
			double		dh;

			gw2[h] += d * a[h];
			if (a[h] <= 0)
				continue;		/* ReLU: no gradient where it was cut (torch: 0 at 0) */
			dh = d * w2[h];
			gb1[h] += dh;
			for (int j = 0; j < m->n_in; j++)
				gw1[(size_t) h * m->n_in + j] += dh * xi[j];
		}
	}
	*loss = sum / n;
	free(out);
	return TTSP_OK;
}

ttsp_status
ttsp_mlp_step(ttsp_mlp *m, const ttsp_optim_config *c, ttsp_error *err)
{
	double		bc1,
				bc2;

	if (m == NULL || c == NULL || !(c->lr > 0))
		return ttsp_fail(err, TTSP_EINVAL, "an MLP step needs a model and a positive learning rate");
	for (size_t i = 0; i < m->n_param; i++)
		if (!isfinite(m->grad[i]))
			return ttsp_fail(err, TTSP_EINVAL, "the gradient of parameter %zu is not finite", i);
	m->steps++;
	bc1 = 1 - pow(c->beta1, (double) m->steps);
	bc2 = 1 - pow(c->beta2, (double) m->steps);
	for (size_t i = 0; i < m->n_param; i++)
	{
		double		g = m->grad[i];

		if (c->kind == TTSP_OPTIM_ADAMW)
			m->param[i] *= 1 - c->lr * c->weight_decay;
		else
			g += c->weight_decay * m->param[i];
		if (c->kind == TTSP_OPTIM_SGD)
		{
			if (c->momentum != 0)
			{
				m->m1[i] = m->steps == 1 ? g : c->momentum * m->m1[i] + g;
				g = m->m1[i];
			}
			m->param[i] -= c->lr * g;
			continue;
		}
		m->m1[i] = c->beta1 * m->m1[i] + (1 - c->beta1) * g;
		m->m2[i] = c->beta2 * m->m2[i] + (1 - c->beta2) * g * g;
		m->param[i] -= c->lr * (m->m1[i] / bc1) / (sqrt(m->m2[i] / bc2) + c->eps);
	}
	return TTSP_OK;
}

/* ---- bytes ---- */

size_t
ttsp_mlp_serialized_size(const ttsp_mlp *m)
{
	return MLP_HEADER + 8 * m->n_param + MLP_CHECKSUM_LEN;
}

ttsp_status
ttsp_mlp_serialize(const ttsp_mlp *m, uint8_t *buf, size_t len, ttsp_error *err)
{
	uint8_t    *p = buf;

	if (m == NULL || buf == NULL || len < ttsp_mlp_serialized_size(m))
		return ttsp_fail(err, TTSP_EINVAL, "MLP serialisation needs a model and %zu bytes",
						 m ? ttsp_mlp_serialized_size(m) : 0);
	memcpy(p, MLP_MAGIC, MLP_MAGIC_LEN);
	p += MLP_MAGIC_LEN;
	p = ttsp_put_u32(p, MLP_FORMAT_VERSION);
	p = ttsp_put_u32(p, (uint32_t) m->task);
	p = ttsp_put_u32(p, (uint32_t) m->n_in);
	p = ttsp_put_u32(p, (uint32_t) m->hidden);
	for (size_t i = 0; i < m->n_param; i++)
		p = ttsp_put_f64(p, m->param[i]);
	ttsp_put_u64(p, ttsp_fnv1a64(buf, (size_t) (p - buf)));
	return TTSP_OK;
}

ttsp_mlp *
ttsp_mlp_deserialize(const uint8_t *buf, size_t len, ttsp_error *err)
{
	uint32_t	version,
				task,
				n_in,
				hidden;
	ttsp_mlp   *m;

	if (buf == NULL || len < MLP_HEADER + MLP_CHECKSUM_LEN)
	{
		ttsp_fail(err, TTSP_ECORRUPT, "MLP: %zu bytes is shorter than its header", buf ? len : 0);
		return NULL;
	}
	if (memcmp(buf, MLP_MAGIC, MLP_MAGIC_LEN) != 0)
	{
		ttsp_fail(err, TTSP_ECORRUPT, "MLP: bad magic (not a ttsp MLP)");
		return NULL;
	}
	if (ttsp_get_u64(buf + len - MLP_CHECKSUM_LEN) != ttsp_fnv1a64(buf, len - MLP_CHECKSUM_LEN))
	{
		ttsp_fail(err, TTSP_ECORRUPT, "MLP: checksum mismatch (truncated or altered bytes)");
		return NULL;
	}
	version = ttsp_get_u32(buf + MLP_MAGIC_LEN);
	if (version != MLP_FORMAT_VERSION)
	{
		ttsp_fail(err, version > MLP_FORMAT_VERSION ? TTSP_EUNSUPPORTED : TTSP_ECORRUPT,
				  "MLP: format version %u, this build reads %d", version, MLP_FORMAT_VERSION);
		return NULL;
	}
	task = ttsp_get_u32(buf + MLP_MAGIC_LEN + 4);
	n_in = ttsp_get_u32(buf + MLP_MAGIC_LEN + 8);
	hidden = ttsp_get_u32(buf + MLP_MAGIC_LEN + 12);
	if ((task != TTSP_TASK_CLASSIFICATION && task != TTSP_TASK_REGRESSION) ||
		n_in < 1 || n_in > TTSP_MLP_MAX_INPUTS || hidden < 1 || hidden > TTSP_MLP_MAX_HIDDEN)
	{
		ttsp_fail(err, TTSP_ECORRUPT, "MLP: bad header (task %u, %u inputs, %u hidden)", task, n_in, hidden);
		return NULL;
	}
	if (len != MLP_HEADER + 8 * param_count((int) n_in, (int) hidden) + MLP_CHECKSUM_LEN)
	{
		ttsp_fail(err, TTSP_ECORRUPT, "MLP: %zu bytes, its header implies %zu", len,
				  MLP_HEADER + 8 * param_count((int) n_in, (int) hidden) + MLP_CHECKSUM_LEN);
		return NULL;
	}
	m = mlp_alloc((int) task, (int) n_in, (int) hidden, err);
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < m->n_param; i++)
	{
		m->param[i] = ttsp_get_f64(buf + MLP_HEADER + 8 * i);
		if (!isfinite(m->param[i]))
		{
			ttsp_fail(err, TTSP_ECORRUPT, "MLP: parameter %zu is not finite", i);
			ttsp_mlp_destroy(m);
			return NULL;
		}
	}
	return m;
}
