/*
 * The covariates-only MLP (mlp.h) against PyTorch (test/golden/mlp_golden.txt,
 * written by make_mlp_golden.py; run from the repository root): outputs,
 * mean BCE-with-logits and MSE losses and their gradients, three steps of
 * Adam, AdamW and SGD with momentum; the gradient again against central
 * finite differences; initialisation (torch.nn.Linear's bounds, the same
 * under a seed); training that learns a rule; the byte format (round trip,
 * every truncation and bit flip rejected, forged headers and values).
 *
 * Tolerances.  Both sides compute in double with different summation
 * orders: 1e-12 relative.  Finite differences (h = 1e-6, central) agree to
 * about h^2 and rounding / h: 1e-6 relative.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "golden.h"
#include "mlp.h"
#include "rng.h"
#include "tap.h"

#define GOLDEN_PATH "test/golden/mlp_golden.txt"

/* The golden network: 4 inputs, 5 hidden units, its parameters from the file. */
static ttsp_mlp *
golden_net(int task)
{
	ttsp_mlp   *m = ttsp_mlp_create(task, 4, 5, 1, NULL);

	memcpy(m->param, find("data", "params")->v, m->n_param * sizeof(double));
	return m;
}

static void
test_torch(int task)
{
	const char *tn = task == TTSP_TASK_CLASSIFICATION ? "classification" : "regression";
	const record *x = find("data", "x");
	const record *y = find("data", task == TTSP_TASK_CLASSIFICATION ? "y_cls" : "y_reg");
	ttsp_mlp   *m = golden_net(task);
	double		out[7],
				loss,
				e;
	ttsp_error	err;
	ttsp_status st;

	/* computed before ok(): the order its arguments are evaluated in is unspecified */
	st = ttsp_mlp_forward(m, x->v, 7, out, &err);
	e = rel_error(out, find(tn, "out")->v, 7);
	ok(st == TTSP_OK && e < 1e-12, "%s: outputs match torch (rel error %.1e)", tn, e);
	st = ttsp_mlp_gradient(m, x->v, y->v, 7, &loss, &err);
	ok(st == TTSP_OK && fabs(loss - find(tn, "loss")->v[0]) < 1e-12 * fabs(loss), "%s: mean loss %.6f matches torch", tn, loss);
	ok(rel_error(m->grad, find(tn, "grad")->v, m->n_param) < 1e-12, "%s: gradient of all %zu parameters matches torch (rel error %.1e)",
	   tn, m->n_param, rel_error(m->grad, find(tn, "grad")->v, m->n_param));
	ttsp_mlp_destroy(m);
}

/* central differences of the mean loss against the analytic gradient */
static void
test_finite_differences(int task)
{
	const record *x = find("data", "x");
	const record *y = find("data", task == TTSP_TASK_CLASSIFICATION ? "y_cls" : "y_reg");
	ttsp_mlp   *m = golden_net(task);
	double	   *g = malloc(m->n_param * sizeof(double)),
			   *fd = malloc(m->n_param * sizeof(double));
	double		loss,
				lp,
				lm,
				h = 1e-6;

	ttsp_mlp_gradient(m, x->v, y->v, 7, &loss, NULL);
	memcpy(g, m->grad, m->n_param * sizeof(double));
	for (size_t i = 0; i < m->n_param; i++)
	{
		double		keep = m->param[i];

		m->param[i] = keep + h;
		ttsp_mlp_gradient(m, x->v, y->v, 7, &lp, NULL);
		m->param[i] = keep - h;
		ttsp_mlp_gradient(m, x->v, y->v, 7, &lm, NULL);
		m->param[i] = keep;
		fd[i] = (lp - lm) / (2 * h);
	}
	ok(rel_error(g, fd, m->n_param) < 1e-6, "%s: gradient matches central finite differences (rel error %.1e)",
	   task == TTSP_TASK_CLASSIFICATION ? "classification" : "regression", rel_error(g, fd, m->n_param));
	free(g);
	free(fd);
	ttsp_mlp_destroy(m);
}

static void
test_steps(void)
{
	static const char *const names[] = {"adam", "adamw", "sgd"};
	ttsp_optim_config cfg[3];

	cfg[0] = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	cfg[0].lr = 0.01;
	cfg[1] = ttsp_optim_defaults(TTSP_OPTIM_ADAMW);
	cfg[1].lr = 0.01;
	cfg[1].weight_decay = 0.1;
	cfg[2] = ttsp_optim_defaults(TTSP_OPTIM_SGD);
	cfg[2].lr = 0.05;
	cfg[2].momentum = 0.9;
	cfg[2].weight_decay = 0.01;
	for (int k = 0; k < 3; k++)
	{
		ttsp_mlp   *m = golden_net(TTSP_TASK_CLASSIFICATION);
		double		loss;
		ttsp_error	err;
		int			good = 1;

		for (int s = 0; s < 3; s++)
			good &= ttsp_mlp_gradient(m, find("data", "x")->v, find("data", "y_cls")->v, 7, &loss, &err) == TTSP_OK &&
				ttsp_mlp_step(m, &cfg[k], &err) == TTSP_OK;
		ok(good && rel_error(m->param, find("step", names[k])->v, m->n_param) < 1e-12,
		   "three %s steps match torch.optim (rel error %.1e)", names[k], rel_error(m->param, find("step", names[k])->v, m->n_param));
		ttsp_mlp_destroy(m);
	}
}

static void
test_init_and_training(void)
{
	ttsp_mlp   *a = ttsp_mlp_create(TTSP_TASK_CLASSIFICATION, 9, 32, 12, NULL),
			   *b = ttsp_mlp_create(TTSP_TASK_CLASSIFICATION, 9, 32, 12, NULL),
			   *c = ttsp_mlp_create(TTSP_TASK_CLASSIFICATION, 9, 32, 13, NULL);
	double		top1 = 0,
				top2 = 0;
	ttsp_error	err;

	ok(memcmp(a->param, b->param, a->n_param * sizeof(double)) == 0 &&
	   memcmp(a->param, c->param, a->n_param * sizeof(double)) != 0, "the same seed gives the same network, another seed another");
	for (size_t i = 0; i < 9 * 32 + 32; i++)
		top1 = fmax(top1, fabs(a->param[i]));
	for (size_t i = 9 * 32 + 32; i < a->n_param; i++)
		top2 = fmax(top2, fabs(a->param[i]));
	ok(top1 <= 1 / 3.0 && top1 > 0.9 / 3.0 && top2 <= 1 / sqrt(32.0) && top2 > 0.9 / sqrt(32.0),
	   "weights uniform within torch.nn.Linear's 1/sqrt(fan_in) (%.3f of 0.333, %.3f of %.3f)", top1, top2, 1 / sqrt(32.0));
	ok(ttsp_mlp_create(TTSP_TASK_CLASSIFICATION, 0, 32, 1, &err) == NULL && err.code == TTSP_EINVAL, "0 inputs: %s", err.msg);
	ok(ttsp_mlp_create(7, 3, 32, 1, &err) == NULL && err.code == TTSP_EINVAL, "unknown task: %s", err.msg);
	ttsp_mlp_destroy(b);
	ttsp_mlp_destroy(c);

	/* XOR of two inputs' signs: no linear model can, a hidden layer can */
	{
		double		x[200 * 9],
					y[200],
					out[200],
					loss;
		ttsp_optim_config cfg = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
		ttsp_rng	rng;
		int			right = 0;

		cfg.lr = 0.01;
		ttsp_rng_seed(&rng, 5);
		for (int i = 0; i < 200; i++)
		{
			for (int j = 0; j < 9; j++)
				x[i * 9 + j] = 2 * ttsp_rng_uniform(&rng) - 1;
			y[i] = (x[i * 9] > 0) != (x[i * 9 + 1] > 0);
		}
		for (int s = 0; s < 1500; s++)
		{
			ttsp_mlp_gradient(a, x, y, 200, &loss, NULL);
			ttsp_mlp_step(a, &cfg, NULL);
		}
		ttsp_mlp_forward(a, x, 200, out, NULL);
		for (int i = 0; i < 200; i++)
			right += (out[i] > 0) == (y[i] == 1);
		ok(right >= 190, "full-batch Adam learns XOR of two signs: %d of 200 right, loss %.3f", right, loss);
		y[3] = 2;
		ok(ttsp_mlp_gradient(a, x, y, 200, &loss, &err) == TTSP_EINVAL, "label 2: %s", err.msg);
		x[5] = NAN;
		ok(ttsp_mlp_forward(a, x, 200, out, &err) == TTSP_EINVAL, "a NaN input: %s", err.msg);
	}
	ttsp_mlp_destroy(a);
}

static void
reseal(uint8_t *b, size_t len)
{
	ttsp_put_u64(b + len - 8, ttsp_fnv1a64(b, len - 8));
}

static void
test_bytes(void)
{
	ttsp_mlp   *m = golden_net(TTSP_TASK_CLASSIFICATION),
			   *r;
	size_t		len = ttsp_mlp_serialized_size(m);
	uint8_t    *b = malloc(len),
			   *c = malloc(len),
			   *again = malloc(len);
	double		o1[7],
				o2[7];
	ttsp_error	err;
	int			accepted = 0,
				wrong = 0;

	ok(len == 8 + 16 + 8 * 31 + 8 && ttsp_mlp_serialize(m, b, len, &err) == TTSP_OK, "a 31-parameter MLP is %zu bytes", len);
	r = ttsp_mlp_deserialize(b, len, &err);
	ok(r != NULL && ttsp_mlp_serialize(r, again, len, &err) == TTSP_OK && memcmp(b, again, len) == 0 &&
	   ttsp_mlp_forward(m, find("data", "x")->v, 7, o1, NULL) == TTSP_OK &&
	   ttsp_mlp_forward(r, find("data", "x")->v, 7, o2, NULL) == TTSP_OK && memcmp(o1, o2, sizeof(o1)) == 0,
	   "round trip: the same bytes and outputs");
	ttsp_mlp_destroy(r);
	ok(ttsp_mlp_serialize(m, again, len - 1, &err) == TTSP_EINVAL, "a short buffer is an error");
	for (size_t n = 0; n < len; n++)
	{
		r = ttsp_mlp_deserialize(b, n, &err);
		accepted += r != NULL;
		wrong += r == NULL && err.code != TTSP_ECORRUPT;
		ttsp_mlp_destroy(r);
	}
	ok(accepted == 0 && wrong == 0, "all %zu truncations are rejected as corrupt", len);
	accepted = wrong = 0;
	for (size_t bit = 0; bit < 8 * len; bit++)
	{
		memcpy(c, b, len);
		c[bit / 8] ^= (uint8_t) (1 << (bit % 8));
		r = ttsp_mlp_deserialize(c, len, &err);
		accepted += r != NULL;
		wrong += r == NULL && err.code != TTSP_ECORRUPT;
		ttsp_mlp_destroy(r);
	}
	ok(accepted == 0 && wrong == 0, "all %zu single-bit flips are rejected as corrupt", 8 * len);
	memcpy(c, b, len);
	ttsp_put_u32(c + 8, 2);
	reseal(c, len);
	ok(ttsp_mlp_deserialize(c, len, &err) == NULL && err.code == TTSP_EUNSUPPORTED, "a later version: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_u32(c + 20, 6);
	reseal(c, len);
	ok(ttsp_mlp_deserialize(c, len, &err) == NULL && strstr(err.msg, "header implies"), "a shape the length does not match: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_u32(c + 16, 0xffffffffu);
	reseal(c, len);
	ok(ttsp_mlp_deserialize(c, len, &err) == NULL && err.code == TTSP_ECORRUPT, "a huge shape: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_f64(c + 24 + 8 * 3, INFINITY);
	reseal(c, len);
	ok(ttsp_mlp_deserialize(c, len, &err) == NULL && strstr(err.msg, "parameter 3"), "an infinite weight: %s", err.msg);
	ok(ttsp_mlp_deserialize(NULL, 0, &err) == NULL && err.code == TTSP_ECORRUPT, "NULL bytes");
	ttsp_mlp_destroy(m);
	free(b);
	free(c);
	free(again);
}

int
main(void)
{
	if (!ok(load_golden(GOLDEN_PATH), "golden file %s loads (run from the repository root)", GOLDEN_PATH))
		return done_testing();
	test_torch(TTSP_TASK_CLASSIFICATION);
	test_torch(TTSP_TASK_REGRESSION);
	test_finite_differences(TTSP_TASK_CLASSIFICATION);
	test_finite_differences(TTSP_TASK_REGRESSION);
	test_steps();
	test_init_and_training();
	test_bytes();
	return done_testing();
}
