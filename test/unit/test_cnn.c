/*
 * CNN core tests.  Truths come from outside the code under test: a direct
 * double-precision reference forward, central finite differences, hand
 * calculations, and torch.optim's documented update rules.
 *
 * Gradient check tolerance: the net runs in float, so finite differences
 * use eps = 1e-2 on parameters and inputs of a tiny net (where the loss
 * is smooth enough for the O(eps^2) truncation to stay small) and accept a
 * relative error below 1e-2, relative to max(|analytic|, |numeric|,
 * 1e-3 * largest gradient of the tensor).  Float rounding in the loss
 * (~1e-7) is then far below the tolerance.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn.h"
#include "cnn_isas.h"
#include "cnn_params.h"
#include "rng.h"
#include "tap.h"

#define GC_EPS_PARAM 3e-3
#define GC_EPS_INPUT 1e-2
#define GC_TOL 2e-2
#define GC_FLOOR 1e-2
#define TOY_BATCH 16
#define TOY_TEST 400

static ttsp_cnn_config
tiny_config(int task)
{
	ttsp_cnn_config cfg = {
		.in_channels = 2, .in_height = 8, .in_width = 9,
		.n_blocks = 2, .channels = {3, 4}, .task = task,
	};

	return cfg;
}

static size_t
input_size(const ttsp_cnn_config *cfg, int n)
{
	return (size_t) n * cfg->in_channels * cfg->in_height * cfg->in_width;
}

static float *
random_input(const ttsp_cnn_config *cfg, int n, uint64_t seed)
{
	size_t		len = input_size(cfg, n);
	float	   *x = malloc(len * sizeof(float));
	ttsp_rng	rng;

	ttsp_rng_seed(&rng, seed);
	for (size_t i = 0; i < len; i++)
		x[i] = (float) ttsp_rng_normal(&rng);
	return x;
}

static ttsp_cnn_tensor
tensor(ttsp_cnn *net, int i)
{
	ttsp_cnn_tensor t;

	if (!ttsp_cnn_tensor_get(net, i, &t))
		abort();
	return t;
}

/*
 * Reference forward straight from the definition: direct convolution in
 * double, NCHW, no im2col, no BLAS.
 */
static void
ref_forward(ttsp_cnn *net, const float *x, int n, bool training, double *out)
{
	const ttsp_cnn_config *cfg = ttsp_cnn_get_config(net);
	int			c = cfg->in_channels,
				h = cfg->in_height,
				w = cfg->in_width;
	double	   *cur = malloc(input_size(cfg, n) * sizeof(double));

	for (size_t i = 0; i < input_size(cfg, n); i++)
		cur[i] = x[i];
	for (int l = 0; l < cfg->n_blocks; l++)
	{
		int			co = cfg->channels[l],
					ho = (h - 1) / 2 + 1,
					wo = (w - 1) / 2 + 1;
		size_t		plane = (size_t) ho * wo;
		double	   *nxt = calloc((size_t) n * co * plane, sizeof(double));
		ttsp_cnn_tensor tw = tensor(net, 6 * l),
					tb = tensor(net, 6 * l + 1),
					tg = tensor(net, 6 * l + 2),
					tbe = tensor(net, 6 * l + 3),
					trm = tensor(net, 6 * l + 4),
					trv = tensor(net, 6 * l + 5);

		for (int s = 0; s < n; s++)
			for (int o = 0; o < co; o++)
				for (int oy = 0; oy < ho; oy++)
					for (int ox = 0; ox < wo; ox++)
					{
						double		z = tb.data[o];

						for (int i = 0; i < c; i++)
							for (int ky = 0; ky < 5; ky++)
								for (int kx = 0; kx < 5; kx++)
								{
									int			iy = 2 * oy - 2 + ky,
												ix = 2 * ox - 2 + kx;

									if (iy >= 0 && iy < h && ix >= 0 && ix < w)
										z += tw.data[((o * c + i) * 5 + ky) * 5 + kx] *
											cur[(((size_t) s * c + i) * h + iy) * w + ix];
								}
						nxt[((size_t) s * co + o) * plane + oy * wo + ox] = z > 0 ? z : 0;
					}
		for (int o = 0; o < co; o++)
		{
			double		mean = trm.data[o],
						var = trv.data[o];

			if (training)
			{
				double		sum = 0,
							sq = 0;

				for (int s = 0; s < n; s++)
					for (size_t p = 0; p < plane; p++)
						sum += nxt[((size_t) s * co + o) * plane + p];
				mean = sum / (n * plane);
				for (int s = 0; s < n; s++)
					for (size_t p = 0; p < plane; p++)
					{
						double		d = nxt[((size_t) s * co + o) * plane + p] - mean;

						sq += d * d;
					}
				var = sq / (n * plane);
			}
			for (int s = 0; s < n; s++)
				for (size_t p = 0; p < plane; p++)
				{
					double	   *v = &nxt[((size_t) s * co + o) * plane + p];

					*v = (*v - mean) / sqrt(var + 1e-5) * tg.data[o] + tbe.data[o];
				}
		}
		free(cur);
		cur = nxt;
		c = co;
		h = ho;
		w = wo;
	}
	for (int s = 0; s < n; s++)
	{
		ttsp_cnn_tensor hw = tensor(net, 6 * cfg->n_blocks),
					hb = tensor(net, 6 * cfg->n_blocks + 1);

		out[s] = hb.data[0];
		for (int o = 0; o < c; o++)
		{
			double		sum = 0;

			for (int p = 0; p < h * w; p++)
				sum += cur[((size_t) s * c + o) * h * w + p];
			out[s] += hw.data[o] * sum / (h * w);
		}
	}
	free(cur);
}

/* Largest |net - reference| / (1 + |reference|) over the batch. */
static double
ref_error(ttsp_cnn *net, const float *x, int n, bool training)
{
	float	   *out = malloc(n * sizeof(float));
	double	   *ref = malloc(n * sizeof(double));
	double		worst = INFINITY;
	ttsp_error	err;

	ref_forward(net, x, n, training, ref);
	if (ttsp_cnn_forward(net, x, n, training, out, &err) == TTSP_OK)
	{
		worst = 0;
		for (int s = 0; s < n; s++)
			worst = fmax(worst, fabs(out[s] - ref[s]) / (1 + fabs(ref[s])));
	}
	free(out);
	free(ref);
	return worst;
}

static void
test_config(void)
{
	ttsp_cnn_config good = ttsp_cnn_default_config(2, 51, 216, TTSP_TASK_CLASSIFICATION);
	ttsp_cnn_config cfg;
	ttsp_error	err = {0};
	ttsp_cnn   *net;

	ok(ttsp_cnn_validate_config(&good, &err) == TTSP_OK, "default config for 2x51x216 is valid");
	cfg = good;
	cfg.n_blocks = 0;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL && strstr(err.msg, "blocks"),
	   "0 blocks rejected: %s", err.msg);
	cfg.n_blocks = 9;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL, "9 blocks rejected");
	cfg = good;
	cfg.channels[2] = 0;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL && strstr(err.msg, "block 2"),
	   "0 channels rejected: %s", err.msg);
	cfg.channels[2] = 1025;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL, "1025 channels rejected");
	cfg = good;
	cfg.in_height = 0;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL, "height 0 rejected: %s", err.msg);
	cfg = good;
	cfg.in_channels = 0;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL, "0 input channels rejected");
	cfg = good;
	cfg.task = 7;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL, "unknown task rejected");
	cfg = good;
	cfg.in_height = 8;
	cfg.in_width = 8;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL && strstr(err.msg, "too small"),
	   "8x8 with 4 blocks (1x1 at the end) rejected: %s", err.msg);
	cfg.in_height = 17;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_OK, "17x8 with 4 blocks (2x1 at the end) accepted");
	cfg = good;
	cfg.in_channels = 1024;
	cfg.in_height = 65536;
	cfg.in_width = 65536;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_ELIMIT, "huge input is ELIMIT: %s", err.msg);

	cfg = good;
	cfg.n_blocks = 0;
	err.code = TTSP_OK;
	net = ttsp_cnn_create(&cfg, 12, &err);
	ok(net == NULL && err.code == TTSP_EINVAL, "create with a bad config fails cleanly");
	ttsp_cnn_destroy(NULL);
	ok(1, "destroy(NULL) is a no-op");

	ok(ttsp_cnn_workspace_bytes(&good, 0) == SIZE_MAX &&
	   ttsp_cnn_workspace_bytes(&cfg, 1) == SIZE_MAX,
	   "workspace estimate is SIZE_MAX for a bad batch or config");
	net = ttsp_cnn_create(&good, 12, &err);
	ok(ttsp_cnn_reserve(net, 0, &err) == TTSP_EINVAL &&
	   ttsp_cnn_reserve(net, TTSP_CNN_MAX_BATCH + 1, &err) == TTSP_ELIMIT &&
	   ttsp_cnn_reserve(net, 8, &err) == TTSP_OK, "reserve: batch 0 EINVAL, over the cap ELIMIT, 8 ok");
	ttsp_cnn_destroy(net);
	ok(ttsp_cnn_workspace_bytes(&good, 64) > ttsp_cnn_workspace_bytes(&good, 32) &&
	   ttsp_cnn_workspace_bytes(&good, 32) > ttsp_cnn_workspace_bytes(&good, 1),
	   "workspace estimate grows with the batch (batch 32: %zu bytes)",
	   ttsp_cnn_workspace_bytes(&good, 32));
}

static void
test_init(void)
{
	ttsp_cnn_config cfg = {
		.in_channels = 64, .in_height = 4, .in_width = 4,
		.n_blocks = 1, .channels = {1024}, .task = TTSP_TASK_REGRESSION,
	};
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, TTSP_CNN_DEFAULT_SEED, NULL);
	ttsp_cnn_tensor w,
				hw,
				hb;
	double		sum = 0,
				sq = 0,
				want = sqrt(2.0 / 1.01) / sqrt(64 * 25.0),
				bound = 1 / sqrt(1024.0),
				hmax = 0;
	bool		zero_bias = true,
				bn_default = true,
				in_bound = true;
	size_t		total = 0;

	if (!ok(net != NULL, "big single-layer net created"))
		return;
	w = tensor(net, 0);
	for (size_t i = 0; i < w.count; i++)
	{
		sum += w.data[i];
		sq += (double) w.data[i] * w.data[i];
	}
	sum /= w.count;
	sq = sqrt(sq / w.count - sum * sum);
	/* n = 1.6M: the std estimate's own std is ~want/sqrt(2n) = 0.06% */
	ok(w.count == 1024 * 64 * 25 && fabs(sq / want - 1) < 0.005,
	   "Kaiming std %.6f vs sqrt(2/(1+0.1^2))/sqrt(fan_in) = %.6f", sq, want);
	ok(fabs(sum) < 5 * want / sqrt((double) w.count), "Kaiming mean %.2e is ~0", sum);

	for (int c = 0; c < 1024; c++)
	{
		zero_bias &= tensor(net, 1).data[c] == 0.0f;
		bn_default &= tensor(net, 2).data[c] == 1.0f && tensor(net, 3).data[c] == 0.0f &&
			tensor(net, 4).data[c] == 0.0f && tensor(net, 5).data[c] == 1.0f;
	}
	ok(zero_bias, "conv bias starts at 0");
	ok(bn_default, "BatchNorm starts at gamma 1, beta 0, running mean 0, var 1");
	hw = tensor(net, 6);
	hb = tensor(net, 7);
	for (size_t i = 0; i < hw.count; i++)
	{
		in_bound &= fabs(hw.data[i]) <= bound;
		hmax = fmax(hmax, fabs(hw.data[i]));
	}
	ok(in_bound && fabs(hb.data[0]) <= bound && hmax > 0.95 * bound,
	   "head init uniform within +-1/sqrt(1024) and spread (max %.4f of %.4f)", hmax, bound);

	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
		if (tensor(net, i).grad != NULL)
			total += tensor(net, i).count;
	ok(ttsp_cnn_tensor_count(net) == 8 && strcmp(w.name, "blocks.0.conv.weight") == 0 &&
	   strcmp(tensor(net, 5).name, "blocks.0.bn.running_var") == 0 &&
	   tensor(net, 5).grad == NULL && strcmp(hb.name, "head.bias") == 0 &&
	   total == ttsp_cnn_param_count(net),
	   "tensor list: PyTorch names, trainable counts add up to %zu", total);
	{
		ttsp_cnn_tensor f;

		ok(ttsp_cnn_tensor_find(net, "blocks.0.bn.running_var", &f) && f.data == tensor(net, 5).data &&
		   !ttsp_cnn_tensor_find(net, "blocks.9.conv.weight", &f), "tensors found by name, and none by a name the net lacks");
	}
	ttsp_cnn_destroy(net);
}

static void
test_reference_forward(void)
{
	ttsp_cnn_config tiny = tiny_config(TTSP_TASK_CLASSIFICATION);
	ttsp_cnn_config full = ttsp_cnn_default_config(2, 51, 216, TTSP_TASK_CLASSIFICATION);
	ttsp_cnn   *net = ttsp_cnn_create(&tiny, 3, NULL);
	float	   *x = random_input(&tiny, 5, 100);
	double		e;

	perturb_params(net, 4);
	e = ref_error(net, x, 5, false);
	ok(e < 1e-5, "tiny net, eval: matches direct double convolution (err %.1e)", e);
	e = ref_error(net, x, 5, true);
	ok(e < 1e-5, "tiny net, training BN: matches the reference (err %.1e)", e);
	e = ref_error(net, x, 1, true);
	ok(e < 1e-5, "tiny net, training batch of 1 works and matches (err %.1e)", e);
	ttsp_cnn_destroy(net);
	free(x);

	/* 32 samples of 2x51x216: the full-size shape, across the kernels' channel and sample blocking */
	net = ttsp_cnn_create(&full, 5, NULL);
	x = random_input(&full, 32, 101);
	perturb_params(net, 6);
	e = ref_error(net, x, 32, true);
	ok(e < 1e-4, "full size, batch 32, training: matches the reference (err %.1e)", e);
	e = ref_error(net, x, 32, false);
	ok(e < 1e-4, "full size, batch 32, eval: matches the reference (err %.1e)", e);
	ttsp_cnn_destroy(net);
	free(x);
}

/*
 * BatchNorm by hand: one 1->1 channel block whose kernel only has its
 * centre tap, so the conv output at (oy, ox) is x[2oy][2ox]; 4x1 inputs give
 * 2 positions per sample.
 */
static void
test_batchnorm(void)
{
	ttsp_cnn_config cfg = {
		.in_channels = 1, .in_height = 4, .in_width = 1,
		.n_blocks = 1, .channels = {1}, .task = TTSP_TASK_REGRESSION,
	};
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 1, NULL);
	/* conv outputs {1, 3} and {2, -1 -> relu 0}; the 9s must be skipped */
	float		x[8] = {1, 9, 3, 9, 2, 9, -1, 9};
	float		out[2];
	ttsp_status st;
	double		sd,
				rm = 0.15,
				rv = 0.9 + 0.1 * (5.0 / 3.0);
	ttsp_error	err;

	memset(tensor(net, 0).data, 0, 25 * sizeof(float));
	tensor(net, 0).data[12] = 1;
	tensor(net, 2).data[0] = 2;	/* gamma */
	tensor(net, 3).data[0] = 0.5f;	/* beta */
	tensor(net, 6).data[0] = 1;	/* head weight */
	tensor(net, 7).data[0] = 0;	/* head bias */

	/* batch mean 1.5, biased variance 1.25, unbiased 5/3 */
	sd = sqrt(1.25 + 1e-5);
	st = ttsp_cnn_forward(net, x, 2, true, out, &err);
	ok(st == TTSP_OK &&
	   fabs(out[0] - (2 * 0.5 / sd + 0.5)) < 1e-6 && fabs(out[1] - (-2 * 0.5 / sd + 0.5)) < 1e-6,
	   "training BN normalises with the biased batch variance (%g, %g)", out[0], out[1]);
	ok(fabs(tensor(net, 4).data[0] - rm) < 1e-7 && fabs(tensor(net, 5).data[0] - rv) < 1e-6,
	   "running stats: mean 0.9*0 + 0.1*1.5, var 0.9*1 + 0.1*(5/3) unbiased (%g, %g)",
	   tensor(net, 4).data[0], tensor(net, 5).data[0]);

	sd = sqrt(rv + 1e-5);
	st = ttsp_cnn_forward(net, x, 2, false, out, &err);
	ok(st == TTSP_OK &&
	   fabs(out[0] - (2 * ((1 - rm) + (3 - rm)) / 2 / sd + 0.5)) < 1e-5 &&
	   fabs(out[1] - (2 * ((2 - rm) + (0 - rm)) / 2 / sd + 0.5)) < 1e-5,
	   "eval BN uses the running stats (%g, %g)", out[0], out[1]);
	ok(fabs(tensor(net, 4).data[0] - rm) < 1e-7, "eval forward leaves running stats alone");
	ok(ttsp_cnn_backward(net, out, NULL, &err) == TTSP_EINVAL,
	   "backward after an eval forward is refused: %s", err.msg);

	ok(ttsp_cnn_forward(net, x, 1, true, out, &err) == TTSP_OK &&
	   fabs(out[0] - 0.5) < 1e-4 && isfinite(tensor(net, 5).data[0]),
	   "training batch of 1: per-sample stats over 2 positions, no division by zero");

	x[2] = NAN;
	ok(ttsp_cnn_forward(net, x, 2, true, out, &err) == TTSP_EINVAL && strstr(err.msg, "NaN"),
	   "NaN input rejected: %s", err.msg);
	x[2] = 3;
	ok(ttsp_cnn_forward(net, x, 0, true, out, &err) == TTSP_EINVAL,
	   "batch 0 rejected: %s", err.msg);
	ttsp_cnn_destroy(net);
}

static double
loss_of(ttsp_cnn *net, const float *x, int n, ttsp_loss_kind kind, const float *y)
{
	float		out[64];
	double		loss = NAN;

	if (ttsp_cnn_forward(net, x, n, true, out, NULL) != TTSP_OK ||
		ttsp_loss(kind, ttsp_cnn_get_config(net)->task, out, y, n, &loss, NULL, NULL) != TTSP_OK)
		return NAN;
	return loss;
}

/* Loss with param[i] moved by d. */
static double
loss_moved(ttsp_cnn *net, const float *x, int n, ttsp_loss_kind kind,
		   const float *y, float *param, size_t i, double d)
{
	float		save = param[i];
	double		loss;

	param[i] = (float) (save + d);
	loss = loss_of(net, x, n, kind, y);
	param[i] = save;
	return loss;
}

/*
 * Compare one array of analytic gradients with finite differences: the
 * central one and the second-order one-sided ones (3 points each side).  A
 * ReLU kink within 2 eps of the point spoils the estimates that span it
 * (the one-sided ones then disagree); the analytic derivative must match
 * one that does not.  Gradients below GC_FLOOR of the tensor's largest are
 * compared in absolute terms, below float noise otherwise.
 */
static void
check_coords(ttsp_cnn *net, const float *x, int n, ttsp_loss_kind kind,
			 const float *y, float *param, const float *grad, size_t count,
			 double e, const char *what)
{
	double		base = loss_of(net, x, n, kind, y),
				scale = 0,
				worst = 0;
	size_t		kinks = 0;

	for (size_t i = 0; i < count; i++)
		scale = fmax(scale, fabs(grad[i]));
	for (size_t i = 0; i < count; i++)
	{
		double		p1 = loss_moved(net, x, n, kind, y, param, i, e),
					p2 = loss_moved(net, x, n, kind, y, param, i, 2 * e),
					m1 = loss_moved(net, x, n, kind, y, param, i, -e),
					m2 = loss_moved(net, x, n, kind, y, param, i, -2 * e),
					central = (p1 - m1) / (2 * e),
					fwd = (-3 * base + 4 * p1 - p2) / (2 * e),
					bwd = (3 * base - 4 * m1 + m2) / (2 * e),
					denom = fmax(fmax(fabs(central), fabs(grad[i])), GC_FLOOR * scale);

		if (fabs(fwd - bwd) / denom > GC_TOL)
			kinks++;
		worst = fmax(worst, fmin(fabs(central - grad[i]),
								 fmin(fabs(fwd - grad[i]), fabs(bwd - grad[i]))) / denom);
	}
	ok(scale > 0 && worst < GC_TOL && kinks <= count / 2,
	   "gradient check %s (%zu coords, %zu near a kink, max rel err %.1e)",
	   what, count, kinks, worst);
}

static void
gradient_check(int task, ttsp_loss_kind kind, const char *label)
{
	ttsp_cnn_config cfg = tiny_config(task);
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 41, NULL);
	int			n = 4;
	float	   *x = random_input(&cfg, n, 200);
	float	   *dx = malloc(input_size(&cfg, n) * sizeof(float));
	float		y[4] = {1, 0, 0, 1},
				out[4],
				dout[4];
	double		loss;
	char		what[96];

	if (task == TTSP_TASK_REGRESSION)
		y[1] = 2.5f, y[2] = -1.0f;
	perturb_params(net, 42);
	ttsp_cnn_forward(net, x, n, true, out, NULL);
	ttsp_loss(kind, task, out, y, n, &loss, dout, NULL);
	ok(ttsp_cnn_backward(net, dout, dx, NULL) == TTSP_OK, "%s: backward runs", label);
	/* the finite differences below run forward only: the gradients stay */
	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t = tensor(net, i);

		if (t.grad == NULL)
			continue;
		snprintf(what, sizeof(what), "%s %s", label, t.name);
		check_coords(net, x, n, kind, y, t.data, t.grad, t.count, GC_EPS_PARAM, what);
	}
	snprintf(what, sizeof(what), "%s input", label);
	check_coords(net, x, n, kind, y, x, dx, input_size(&cfg, n), GC_EPS_INPUT, what);
	free(x);
	free(dx);
	ttsp_cnn_destroy(net);
}

/*
 * A wide layer at a large batch (1024 channels x 25 taps x 2x2 positions,
 * 40 samples): the weight-gradient accumulation over many samples and
 * channel blocks, and the input gradient of a late sample.  Few positions
 * keep ReLU kinks rare.  (The sizes once made an im2col buffer run in two
 * chunks; the direct kernels have none, and the case still checks them.)
 */
static void
gradient_check_wide(void)
{
	ttsp_cnn_config cfg = {
		.in_channels = 1024, .in_height = 4, .in_width = 4,
		.n_blocks = 1, .channels = {3}, .task = TTSP_TASK_CLASSIFICATION,
	};
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 43, NULL);
	int			n = 41;
	size_t		per_sample = input_size(&cfg, 1);
	float	   *x = random_input(&cfg, n, 201);
	float	   *dx = malloc(input_size(&cfg, n) * sizeof(float));
	float		y[41],
				out[41],
				dout[41];
	double		loss;
	ttsp_cnn_tensor w;

	for (int s = 0; s < n; s++)
		y[s] = (float) (s % 3 == 0);
	perturb_params(net, 44);
	ttsp_cnn_forward(net, x, n, true, out, NULL);
	ttsp_loss(TTSP_LOSS_BCE, cfg.task, out, y, n, &loss, dout, NULL);
	ttsp_cnn_backward(net, dout, dx, NULL);
	w = tensor(net, 0);
	check_coords(net, x, n, TTSP_LOSS_BCE, y, w.data, w.grad, 20, GC_EPS_PARAM,
				 "2 chunks: blocks.0.conv.weight[0..19]");
	/* one pixel of 1024 channels barely moves the loss: a wide step lifts
	 * its ~1e-5 gradient above float noise, and the loss is near-linear in it */
	check_coords(net, x, n, TTSP_LOSS_BCE, y, x + (n - 1) * per_sample,
				 dx + (n - 1) * per_sample, 20, 0.3, "2 chunks: last sample's input");
	free(x);
	free(dx);
	ttsp_cnn_destroy(net);
}

static void
test_losses(void)
{
	float		out[3] = {0.0f, 30.0f, -2.0f},
				y[3] = {1, 0, 1},
				d[3];
	double		loss = NAN,
				want;
	ttsp_status st;
	ttsp_error	err;

	/* BCE: log 2, 30 + log1p(e^-30), 2 + log1p(e^-2) */
	want = (log(2.0) + 30 + log1p(exp(-30.0)) + 2 + log1p(exp(-2.0))) / 3;
	st = ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_CLASSIFICATION, out, y, 3, &loss, d, &err);
	ok(st == TTSP_OK &&
	   fabs(loss - want) < 1e-12 && fabs(d[0] - (0.5 - 1) / 3) < 1e-7 &&
	   fabs(d[1] - (1 / (1 + exp(-30.0))) / 3) < 1e-7,
	   "BCE with logits: value %.6f and gradient (sigmoid - y)/n", loss);
	out[1] = 1000.0f;
	ok(ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_CLASSIFICATION, out, y, 3, &loss, d, &err) == TTSP_OK &&
	   isfinite(loss) && fabs(loss * 3 - (log(2.0) + 1000 + 2 + log1p(exp(-2.0)))) < 1e-9,
	   "BCE stays finite at logit 1000");

	out[1] = 0.5f;
	{
		double		p1 = 1 / (1 + exp(-0.5)),
					p2 = 1 / (1 + exp(2.0));

		want = (0.25 + p1 * p1 + (p2 - 1) * (p2 - 1)) / 3;
		st = ttsp_loss(TTSP_LOSS_MSE, TTSP_TASK_CLASSIFICATION, out, y, 3, &loss, d, &err);
		ok(st == TTSP_OK &&
		   fabs(loss - want) < 1e-7 && fabs(d[1] - 2 * p1 * p1 * (1 - p1) / 3) < 1e-7,
		   "classification MSE is on the sigmoid probability (%.6f)", loss);
	}
	st = ttsp_loss(TTSP_LOSS_MSE, TTSP_TASK_REGRESSION, out, y, 3, &loss, d, &err);
	ok(st == TTSP_OK && fabs(loss - (1 + 0.25 + 9) / 3) < 1e-7 && fabs(d[2] - 2 * (-3) / 3.0) < 1e-6,
	   "regression MSE on the raw output (%.6f)", loss);

	ok(ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_REGRESSION, out, y, 3, &loss, d, &err) == TTSP_EINVAL,
	   "BCE refused for regression: %s", err.msg);
	y[0] = 2;
	ok(ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_CLASSIFICATION, out, y, 3, &loss, d, &err) == TTSP_EINVAL,
	   "classification target 2 refused: %s", err.msg);
	y[0] = 1;
	out[0] = NAN;
	ok(ttsp_loss(TTSP_LOSS_MSE, TTSP_TASK_REGRESSION, out, y, 3, &loss, d, &err) == TTSP_EINVAL,
	   "NaN output refused: %s", err.msg);
}

/* Set every trainable parameter to 0.5 and its gradient to the given g. */
static void
set_params_grads(ttsp_cnn *net, const float *g)
{
	int			k = 0;

	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t = tensor(net, i);

		if (t.grad == NULL)
			continue;
		for (size_t j = 0; j < t.count; j++, k++)
		{
			t.data[j] = 0.5f;
			t.grad[j] = g[k % 3];
		}
	}
}

/* Largest |param - expected(grad index)| over the trainable tensors. */
static double
param_dev(ttsp_cnn *net, const double *want)
{
	double		worst = 0;
	int			k = 0;

	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t = tensor(net, i);

		if (t.grad == NULL)
			continue;
		for (size_t j = 0; j < t.count; j++, k++)
			worst = fmax(worst, fabs(t.data[j] - want[k % 3]));
	}
	return worst;
}

static void
test_optimizers(void)
{
	ttsp_cnn_config cfg = tiny_config(TTSP_TASK_CLASSIFICATION);
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 1, NULL);
	ttsp_optim_config oc = ttsp_optim_defaults(TTSP_OPTIM_ADAM),
				sgd = ttsp_optim_defaults(TTSP_OPTIM_SGD);
	ttsp_optimizer *opt;
	float		g1[3] = {0.2f, -3.0f, 0.0f},
				g2[3] = {-0.1f, 1.0f, 0.5f};
	double		want[3];
	ttsp_error	err;

	ok(ttsp_optimizer_state_bytes(&oc, 1000) >= 8000 &&
	   ttsp_optimizer_state_bytes(&oc, 1000) < 9000 &&
	   ttsp_optimizer_state_bytes(&sgd, 1000) < 1000,
	   "optimizer state: Adam 2 floats per parameter, plain SGD none");
	ok(oc.lr == 1e-3 && oc.beta1 == 0.9 && oc.beta2 == 0.999 && oc.eps == 1e-8 &&
	   oc.weight_decay == 0 && sgd.lr == 0.01 && sgd.momentum == 0,
	   "optimizer defaults as torch.optim");

	/* Adam, two steps by hand: m, v with bias correction */
	opt = ttsp_optimizer_create(net, &oc, &err);
	set_params_grads(net, g1);
	ttsp_optimizer_step(opt, &err);
	for (int k = 0; k < 3; k++)
		want[k] = 0.5 - 1e-3 * g1[k] / (fabs(g1[k]) + 1e-8);
	ok(param_dev(net, want) < 1e-7, "Adam step 1 moves by lr*sign(g)");
	{
		ttsp_cnn_tensor t;
		int			k = 0;

		for (int i = 0; ttsp_cnn_tensor_get(net, i, &t); i++)
			if (t.grad != NULL)
				for (size_t j = 0; j < t.count; j++, k++)
					t.grad[j] = g2[k % 3];
	}
	ttsp_optimizer_step(opt, &err);
	for (int k = 0; k < 3; k++)
	{
		double		m = 0.9 * 0.1 * g1[k] + 0.1 * g2[k],
					v = 0.999 * 0.001 * g1[k] * g1[k] + 0.001 * g2[k] * g2[k];

		want[k] -= 1e-3 * (m / (1 - 0.81)) / (sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
	}
	ok(param_dev(net, want) < 1e-6, "Adam step 2 matches the bias-corrected formula");
	ttsp_optimizer_destroy(opt);

	oc.weight_decay = 0.1;
	opt = ttsp_optimizer_create(net, &oc, &err);
	set_params_grads(net, g1);
	ttsp_optimizer_step(opt, &err);
	for (int k = 0; k < 3; k++)
		want[k] = 0.5 - 1e-3 * (g1[k] + 0.05) / (fabs(g1[k] + 0.05) + 1e-8);
	ok(param_dev(net, want) < 1e-7, "Adam weight decay adds wd*p to the gradient");
	ttsp_optimizer_destroy(opt);

	/* AdamW: p shrinks by lr*wd first, then the Adam step on the bare gradient */
	oc = ttsp_optim_defaults(TTSP_OPTIM_ADAMW);
	ok(oc.lr == 1e-3 && oc.beta1 == 0.9 && oc.beta2 == 0.999 && oc.eps == 1e-8 && oc.weight_decay == 0.01 &&
	   ttsp_optimizer_state_bytes(&oc, 1000) >= 8000,
	   "AdamW defaults as torch.optim.AdamW (weight_decay 0.01), 2 floats of state per parameter");
	oc.weight_decay = 0.1;
	opt = ttsp_optimizer_create(net, &oc, &err);
	set_params_grads(net, g1);
	ttsp_optimizer_step(opt, &err);
	for (int k = 0; k < 3; k++)
		want[k] = 0.5 * (1 - 1e-3 * 0.1) - 1e-3 * g1[k] / (fabs(g1[k]) + 1e-8);
	ok(param_dev(net, want) < 1e-7, "AdamW step 1: p (1 - lr wd) - lr sign(g), by hand");
	ttsp_optimizer_destroy(opt);
	oc.beta1 = 1.0;
	ok(ttsp_optimizer_create(net, &oc, &err) == NULL && err.code == TTSP_EINVAL,
	   "AdamW beta1 = 1 refused: %s", err.msg);

	oc = sgd;
	oc.momentum = 0.9;
	opt = ttsp_optimizer_create(net, &oc, &err);
	set_params_grads(net, g1);
	ttsp_optimizer_step(opt, &err);
	set_params_grads(net, g2);
	ttsp_optimizer_step(opt, &err);
	for (int k = 0; k < 3; k++)
		want[k] = 0.5 - 0.01 * (0.9 * g1[k] + g2[k]);
	ok(param_dev(net, want) < 1e-7, "SGD momentum: buf = 0.9*buf + g");
	ttsp_optimizer_destroy(opt);

	oc.momentum = 0;
	opt = ttsp_optimizer_create(net, &oc, &err);
	set_params_grads(net, g1);
	tensor(net, 3).grad[1] = NAN;
	ok(ttsp_optimizer_step(opt, &err) == TTSP_EINVAL &&
	   strstr(err.msg, "blocks.0.bn.bias[1]") && tensor(net, 0).data[0] == 0.5f,
	   "non-finite gradient refused, parameters untouched: %s", err.msg);
	ttsp_optimizer_destroy(opt);

	oc.lr = -1;
	ok(ttsp_optimizer_create(net, &oc, &err) == NULL && err.code == TTSP_EINVAL,
	   "negative learning rate refused: %s", err.msg);
	oc = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	oc.beta2 = 1.0;
	ok(ttsp_optimizer_create(net, &oc, &err) == NULL, "Adam beta2 = 1 refused: %s", err.msg);
	ttsp_cnn_destroy(net);
}

/*
 * Synthetic spectrograms (1 x 32 x 16): a 3-bin tone in either the upper
 * half (label 1) or the lower half, over noise.
 */
static ttsp_cnn_config
toy_config(void)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(1, 32, 16, TTSP_TASK_CLASSIFICATION);

	return cfg;
}

static void
toy_batch(ttsp_rng *rng, int n, float *x, float *y)
{
	for (int s = 0; s < n; s++)
	{
		int			top = (int) (ttsp_rng_next(rng) & 1);
		int			row = (top ? 0 : 16) + (int) (ttsp_rng_uniform(rng) * 14);
		float	   *img = x + (size_t) s * 32 * 16;

		for (int i = 0; i < 32 * 16; i++)
			img[i] = (float) (0.3 * ttsp_rng_normal(rng));
		for (int r = row; r < row + 3; r++)
			for (int t = 0; t < 16; t++)
				img[r * 16 + t] += 1.0f;
		y[s] = (float) top;
	}
}

/* Train on fresh batches; returns the mean loss of the first and last 10 steps. */
static void
train_toy(ttsp_cnn *net, ttsp_optimizer *opt, ttsp_loss_kind kind, int steps,
		  uint64_t seed, double *first, double *last)
{
	float		x[TOY_BATCH * 32 * 16],
				y[TOY_BATCH],
				out[TOY_BATCH],
				dout[TOY_BATCH];
	ttsp_rng	rng;

	*first = *last = 0;
	ttsp_rng_seed(&rng, seed);
	for (int step = 0; step < steps; step++)
	{
		double		loss = 0;

		toy_batch(&rng, TOY_BATCH, x, y);
		ttsp_cnn_forward(net, x, TOY_BATCH, true, out, NULL);
		ttsp_loss(kind, TTSP_TASK_CLASSIFICATION, out, y, TOY_BATCH, &loss, dout, NULL);
		ttsp_cnn_backward(net, dout, NULL, NULL);
		ttsp_optimizer_step(opt, NULL);
		if (step < 10)
			*first += loss / 10;
		if (step >= steps - 10)
			*last += loss / 10;
	}
}

static void
test_learning(void)
{
	ttsp_cnn_config cfg = toy_config();
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, TTSP_CNN_DEFAULT_SEED, NULL);
	ttsp_optim_config oc = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	ttsp_optimizer *opt = ttsp_optimizer_create(net, &oc, NULL);
	float	   *x = malloc(sizeof(float) * TOY_TEST * 32 * 16);
	float		y[TOY_TEST],
				p[TOY_TEST];
	double		first,
				last;
	int			correct = 0;
	ttsp_rng	rng;

	train_toy(net, opt, TTSP_LOSS_BCE, 300, 1, &first, &last);
	ttsp_rng_seed(&rng, 999);
	toy_batch(&rng, TOY_TEST, x, y);
	ok(ttsp_cnn_predict(net, x, TOY_TEST, p, NULL) == TTSP_OK, "predict on %d held-out samples", TOY_TEST);
	for (int s = 0; s < TOY_TEST; s++)
		correct += (p[s] >= 0.5f) == (y[s] == 1.0f);
	ok(correct >= 0.95 * TOY_TEST, "Adam + BCE, 300 steps: held-out accuracy %.1f%% (loss %.3f -> %.3f)",
	   100.0 * correct / TOY_TEST, first, last);
	ttsp_optimizer_destroy(opt);
	ttsp_cnn_destroy(net);

	net = ttsp_cnn_create(&cfg, TTSP_CNN_DEFAULT_SEED, NULL);
	oc = ttsp_optim_defaults(TTSP_OPTIM_SGD);
	opt = ttsp_optimizer_create(net, &oc, NULL);
	train_toy(net, opt, TTSP_LOSS_MSE, 100, 2, &first, &last);
	ok(last < first, "SGD + MSE on probabilities, 100 steps: loss %.4f -> %.4f", first, last);
	ttsp_optimizer_destroy(opt);
	ttsp_cnn_destroy(net);
	free(x);
}

static uint8_t *
trained_bytes(uint64_t seed, size_t *len)
{
	ttsp_cnn_config cfg = toy_config();
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, seed, NULL);
	ttsp_optim_config oc = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	ttsp_optimizer *opt = ttsp_optimizer_create(net, &oc, NULL);
	double		first,
				last;
	uint8_t    *buf;

	train_toy(net, opt, TTSP_LOSS_BCE, 10, 3, &first, &last);
	*len = ttsp_cnn_serialized_size(net);
	buf = malloc(*len);
	ttsp_cnn_serialize(net, buf, *len, NULL);
	ttsp_optimizer_destroy(opt);
	ttsp_cnn_destroy(net);
	return buf;
}

static void
test_determinism(void)
{
	size_t		la,
				lb,
				lc;
	uint8_t    *a = trained_bytes(TTSP_CNN_DEFAULT_SEED, &la);
	uint8_t    *b = trained_bytes(TTSP_CNN_DEFAULT_SEED, &lb);
	uint8_t    *c = trained_bytes(TTSP_CNN_DEFAULT_SEED + 1, &lc);

	ok(la == lb && memcmp(a, b, la) == 0,
	   "same seed, 10 Adam steps: bit-identical serialized nets (%zu bytes)", la);
	ok(la == lc && memcmp(a, c, la) != 0, "different seed: different weights");
	free(a);
	free(b);
	free(c);
}

/* Recompute the trailing FNV-1a-64 after editing a buffer. */
static void
reseal(uint8_t *buf, size_t len)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len - 8; i++)
		h = (h ^ buf[i]) * UINT64_C(0x100000001b3);
	for (int i = 0; i < 8; i++)
		buf[len - 8 + i] = (uint8_t) (h >> (8 * i));
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static void
test_serialization(void)
{
	ttsp_cnn_config cfg = tiny_config(TTSP_TASK_REGRESSION);
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 8, NULL);
	ttsp_cnn   *copy;
	float	   *x = random_input(&cfg, 6, 300);
	float		out[6],
				out2[6];
	size_t		len = ttsp_cnn_serialized_size(net);
	uint8_t    *buf = malloc(len),
			   *buf2 = malloc(len),
			   *bad = malloc(len);
	ttsp_error	err;
	int			wrong = 0;
	/* header: 0 magic, 8 version, 12 task, 16 C, 20 H, 24 W, 28 n_blocks,
	 * 32 channels[2], 40 n_params, 48 n_stats, 56 params */
	struct
	{
		size_t		off;
		uint32_t	value;
		ttsp_status want;
		const char *what;
	}			edits[] = {
		{8, 3, TTSP_EUNSUPPORTED, "format version 3"},
		{8, 2, TTSP_ECORRUPT, "version 2 (reads n_params as the extras)"},
		{12, 5, TTSP_ECORRUPT, "unknown task"},
		{16, 0, TTSP_ECORRUPT, "0 input channels"},
		{20, 0xFFFFFFFFu, TTSP_ECORRUPT, "height 2^32-1"},
		{24, 1u << 30, TTSP_ECORRUPT, "width 2^30"},
		{28, 1000000, TTSP_ECORRUPT, "a million blocks"},
		{28, 1, TTSP_ECORRUPT, "1 block (length mismatch)"},
		{32, 5000, TTSP_ECORRUPT, "5000 channels"},
		{32, 4, TTSP_ECORRUPT, "4 channels (length mismatch)"},
		{40, 7, TTSP_ECORRUPT, "wrong n_params"},
		{64, 0x7FC00000u, TTSP_ECORRUPT, "NaN weight"},
		{len - 12, 0xBF800000u, TTSP_ECORRUPT, "running var -1"},
	};

	perturb_params(net, 9);
	ttsp_cnn_forward(net, x, 6, false, out, NULL);
	ok(ttsp_cnn_serialize(net, buf, len - 1, &err) == TTSP_EINVAL,
	   "serialize into a short buffer refused: %s", err.msg);
	ok(ttsp_cnn_serialize(net, buf, len, &err) == TTSP_OK && memcmp(buf, "TTSPCNN", 8) == 0,
	   "serialize %zu bytes with magic TTSPCNN", len);
	copy = ttsp_cnn_deserialize(buf, len, &err);
	ok(copy != NULL, "deserialize");
	ok(copy != NULL && ttsp_cnn_predict(copy, x, 6, out2, NULL) == TTSP_OK &&
	   memcmp(out, out2, sizeof(out)) == 0, "round trip: bit-identical predictions");
	ok(copy != NULL && ttsp_cnn_serialize(copy, buf2, len, NULL) == TTSP_OK &&
	   memcmp(buf, buf2, len) == 0, "round trip: identical bytes");
	ok(copy != NULL && memcmp(ttsp_cnn_get_config(copy), &cfg, sizeof(cfg)) == 0,
	   "round trip: same config");
	ttsp_cnn_destroy(copy);

	for (size_t l = 0; l < len; l++)
		wrong += cnn_load_status(buf, l) != TTSP_ECORRUPT;
	ok(wrong == 0, "every truncation (0..%zu bytes) is ECORRUPT", len - 1);
	wrong = 0;
	for (size_t i = 0; i < len; i++)
	{
		memcpy(bad, buf, len);
		bad[i] ^= (uint8_t) (1 + i % 255);
		wrong += cnn_load_status(bad, len) != TTSP_ECORRUPT;
	}
	ok(wrong == 0, "every single altered byte is ECORRUPT");
	ok(cnn_load_status(NULL, 0) == TTSP_ECORRUPT, "NULL buffer is ECORRUPT");

	for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++)
	{
		memcpy(bad, buf, len);
		put_le32(bad + edits[e].off, edits[e].value);
		reseal(bad, len);
		err.msg[0] = '\0';
		copy = ttsp_cnn_deserialize(bad, len, &err);
		ok(copy == NULL && err.code == edits[e].want,
		   "valid checksum, %s: refused (%s)", edits[e].what, err.msg);
		ttsp_cnn_destroy(copy);
	}
	free(buf);
	free(buf2);
	free(bad);
	free(x);
	ttsp_cnn_destroy(net);
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One training step at the seed project's size, timed (informational). */
static void
test_full_size_step(void)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(2, 51, 216, TTSP_TASK_CLASSIFICATION);
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, TTSP_CNN_DEFAULT_SEED, NULL);
	ttsp_optim_config oc = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	ttsp_optimizer *opt = ttsp_optimizer_create(net, &oc, NULL);
	float	   *x = random_input(&cfg, 32, 400);
	float		y[32],
				out[32],
				dout[32];
	double		loss = 0,
				t0,
				t_train,
				t_eval;
	bool		good = true;
	const int	reps = 5;

	for (int s = 0; s < 32; s++)
		y[s] = (float) (s % 2);
	t0 = seconds();
	for (int r = 0; r < reps; r++)
	{
		good &= ttsp_cnn_forward(net, x, 32, true, out, NULL) == TTSP_OK;
		good &= ttsp_loss(TTSP_LOSS_BCE, cfg.task, out, y, 32, &loss, dout, NULL) == TTSP_OK;
		good &= ttsp_cnn_backward(net, dout, NULL, NULL) == TTSP_OK;
		good &= ttsp_optimizer_step(opt, NULL) == TTSP_OK;
	}
	t_train = (seconds() - t0) / reps;
	t0 = seconds();
	for (int r = 0; r < reps; r++)
		good &= ttsp_cnn_predict(net, x, 32, out, NULL) == TTSP_OK;
	t_eval = (seconds() - t0) / reps;
	ok(good && isfinite(loss), "2x51x216 batch 32: train step %.1f ms, predict %.1f ms "
	   "(%zu params, %zu bytes at batch 32)", t_train * 1e3, t_eval * 1e3,
	   ttsp_cnn_param_count(net), ttsp_cnn_workspace_bytes(&cfg, 32));
	ttsp_optimizer_destroy(opt);
	ttsp_cnn_destroy(net);
	free(x);
}

/*
 * The kernel sets the CPU picked against (generic, AVX2, AVX-512): finite
 * differences and determinism again on each other set this CPU can run
 * (TTSP_CNN_ISA picks the first one, so a whole run can be forced too).
 */
static void
kernel_set_checks(const char *isa, void *arg)
{
	(void) arg;
	printf("# kernel set %s\n", isa);
	gradient_check(TTSP_TASK_CLASSIFICATION, TTSP_LOSS_BCE, "BCE");
	gradient_check(TTSP_TASK_REGRESSION, TTSP_LOSS_MSE, "MSE");
	test_determinism();
}

static void
other_kernel_sets(void)
{
	printf("# kernel set picked: %s\n", cnn_isa_name());
	for_other_kernel_sets(kernel_set_checks, NULL);
}

/*
 * An eval forward of a batch runs a few samples at a time (cnn.c): the
 * outputs must be the bits of each sample scored alone, at any thread
 * count, extras included, and an input error must name the sample in the
 * caller's batch.
 */
static void
test_eval_chunks(void)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(1, 24, 40, TTSP_TASK_CLASSIFICATION);
	ttsp_optim_config oc = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	ttsp_cnn   *net;
	ttsp_optimizer *opt;
	float	   *x;
	float		extra[19 * 2],
				y[19],
				out[19],
				alone[19],
				dout[19];
	double		loss;
	size_t		in = (size_t) 24 * 40;
	bool		same = true;
	ttsp_error	err;

	cfg.n_extra = 2;
	net = ttsp_cnn_create(&cfg, 3, NULL);
	opt = ttsp_optimizer_create(net, &oc, NULL);
	x = random_input(&cfg, 19, 300);
	for (int i = 0; i < 38; i++)
		extra[i] = (float) (i % 5) - 2.0f;
	for (int s = 0; s < 19; s++)
		y[s] = (float) (s % 2);
	/* two steps: running statistics and head weights away from their start */
	for (int r = 0; r < 2; r++)
		ttsp_cnn_train_batch(net, opt, TTSP_LOSS_BCE, x, extra, y, 19, out, dout, &loss, NULL);
	for (int s = 0; s < 19; s++)
		same &= ttsp_cnn_forward_extra(net, x + s * in, extra + 2 * s, 1, false, &alone[s], NULL) == TTSP_OK;
	for (int t = 1; t <= 3; t++)
	{
		ttsp_cnn_set_threads(net, t, NULL);
		memset(out, 0, sizeof(out));
		same &= ttsp_cnn_forward_extra(net, x, extra, 19, false, out, NULL) == TTSP_OK &&
			memcmp(out, alone, sizeof(out)) == 0;
	}
	ok(same, "an eval forward of 19 at 1, 2 and 3 threads (a sample at a time on one, one job in per-thread slots on more) gives each sample's own bits");
	x[13 * in + 17] = NAN;
	ok(ttsp_cnn_forward_extra(net, x, extra, 19, false, out, &err) == TTSP_EINVAL &&
	   strstr(err.msg, "input sample 13 ") != NULL, "a NaN names its sample in the batch: %s", err.msg);
	x[13 * in + 17] = INFINITY;
	x[2 * in + 50] = -INFINITY;
	ok(ttsp_cnn_forward_extra(net, x, extra, 19, false, out, &err) == TTSP_EINVAL &&
	   strstr(err.msg, "input sample 2 ") != NULL, "and infinities too, the first one: %s", err.msg);
	ttsp_optimizer_destroy(opt);
	ttsp_cnn_destroy(net);
	free(x);
}

/*
 * A forward begun with samples still to fill (ttsp_cnn_forward_begin)
 * gives the bits of ttsp_cnn_forward_extra; a call on the net, or a
 * forward on another net, meanwhile ends it where it is without losing
 * anything; a NaN is named at the end.
 */
static void
test_forward_begin(void)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(1, 24, 40, TTSP_TASK_CLASSIFICATION);
	ttsp_cnn   *net,
			   *other;
	float	   *x;
	float		extra[9 * 2],
				want[9],
				got[9],
				o2[9];
	size_t		in = (size_t) 24 * 40;
	bool		started = true,
				s2 = false,
				good = true;
	ttsp_cnn_tensor t;
	ttsp_error	err;

	cfg.n_extra = 2;
	net = ttsp_cnn_create(&cfg, 7, NULL);
	other = ttsp_cnn_create(&cfg, 8, NULL);
	x = random_input(&cfg, 9, 320);
	for (int i = 0; i < 18; i++)
		extra[i] = (float) (i % 3) - 1.0f;
	good &= ttsp_cnn_forward_extra(net, x, extra, 9, false, want, NULL) == TTSP_OK;
	ok(ttsp_cnn_forward_begin(net, x, extra, 9, &started, &err) == TTSP_OK && !started,
	   "one thread: nothing begins");
	ttsp_cnn_set_threads(net, 2, NULL);
	ttsp_cnn_set_threads(other, 2, NULL);
	good &= ttsp_cnn_forward_extra(net, x, extra, 9, false, got, NULL) == TTSP_OK &&
		memcmp(got, want, sizeof(got)) == 0;
	good &= ttsp_cnn_forward_begin(net, x, extra, 9, &started, NULL) == TTSP_OK;
	for (int n = 1; n <= 9; n++)
		ttsp_cnn_forward_ready(net, n);
	memset(got, 0, sizeof(got));
	good &= ttsp_cnn_forward_end(net, x, extra, 9, got, NULL) == TTSP_OK;
	ok(good && started && memcmp(got, want, sizeof(got)) == 0,
	   "begun, filled one by one, ended: the bits of a forward of the batch, on one thread and two");

	memset(got, 0, sizeof(got));
	good &= ttsp_cnn_forward_begin(net, x, extra, 9, &started, NULL) == TTSP_OK;
	ttsp_cnn_forward_ready(net, 8);
	good &= ttsp_cnn_forward_begin(other, x, extra, 9, &s2, NULL) == TTSP_OK;
	ttsp_cnn_forward_ready(other, 9);
	good &= ttsp_cnn_forward_end(other, x, extra, 9, o2, NULL) == TTSP_OK;
	ttsp_cnn_forward_ready(net, 9);
	good &= ttsp_cnn_forward_end(net, x, extra, 9, got, NULL) == TTSP_OK;
	ok(good && started && s2 && memcmp(got, want, sizeof(got)) == 0,
	   "a forward on another net ended it after 8: the end computes the rest");
	memset(got, 0, sizeof(got));
	good &= ttsp_cnn_forward_begin(net, x, extra, 9, &started, NULL) == TTSP_OK;
	ttsp_cnn_forward_ready(net, 3);
	good &= ttsp_cnn_forward_end(net, x, extra, 3, got, NULL) == TTSP_OK;
	ok(good && memcmp(got, want, 3 * sizeof(float)) == 0 && got[3] == 0,
	   "3 of the 9 begun, too few to start the helpers: computed at the end");

	memset(got, 0, sizeof(got));
	good &= ttsp_cnn_forward_begin(net, x, extra, 9, &started, NULL) == TTSP_OK;
	ttsp_cnn_forward_ready(net, 8);
	good &= ttsp_cnn_forward_extra(net, x, extra, 2, false, o2, NULL) == TTSP_OK;
	good &= ttsp_cnn_tensor_find(net, "head.bias", &t);
	ttsp_cnn_forward_ready(net, 9);
	good &= ttsp_cnn_forward_end(net, x, extra, 9, got, NULL) == TTSP_OK;
	ok(good && memcmp(got, want, sizeof(got)) == 0 && memcmp(o2, want, 2 * sizeof(float)) == 0,
	   "a forward and a tensor lookup on the net itself meanwhile: the same bits for both");
	{
		/* a sample is read only once published: sample 8 is NaN until then */
		float	   *y = malloc(9 * in * sizeof(float));
		struct timespec pause = {0, 50 * 1000 * 1000};

		memcpy(y, x, 9 * in * sizeof(float));
		y[8 * in + 7] = NAN;
		memset(got, 0, sizeof(got));
		good = ttsp_cnn_forward_begin(net, y, extra, 9, &started, NULL) == TTSP_OK;
		ttsp_cnn_forward_ready(net, 8);
		nanosleep(&pause, NULL);	/* the helper is done with 0 .. 7 and waits */
		y[8 * in + 7] = x[8 * in + 7];
		ttsp_cnn_forward_ready(net, 9);
		good &= ttsp_cnn_forward_end(net, y, extra, 9, got, NULL) == TTSP_OK;
		ok(good && memcmp(got, want, sizeof(got)) == 0,
		   "a sample filled after the helpers started is read only once published");
		free(y);
	}
	ok(ttsp_cnn_forward_end(net, x, extra, 9, got, &err) == TTSP_EINVAL && strstr(err.msg, "without"),
	   "an end without a begin: %s", err.msg);
	good = ttsp_cnn_forward_begin(net, x, extra, 4, &started, NULL) == TTSP_OK;
	ok(good && ttsp_cnn_forward_end(net, x, extra, 5, got, &err) == TTSP_EINVAL && strstr(err.msg, "begun for 4"),
	   "an end past the samples begun: %s", err.msg);
	x[5 * in + 3] = NAN;
	good = ttsp_cnn_forward_begin(net, x, extra, 9, &started, NULL) == TTSP_OK;
	ttsp_cnn_forward_ready(net, 9);
	ok(good && ttsp_cnn_forward_end(net, x, extra, 9, got, &err) == TTSP_EINVAL &&
	   strstr(err.msg, "input sample 5 ") != NULL, "a NaN is named at the end: %s", err.msg);
	x[5 * in + 3] = 0;
	good = ttsp_cnn_forward_begin(net, x, extra, 9, &started, NULL) == TTSP_OK;
	ttsp_cnn_forward_ready(net, 8);
	ttsp_cnn_destroy(net);
	ttsp_cnn_async_wait();
	ttsp_cnn_destroy(other);
	ok(good, "a net destroyed with a forward running ends it");
	free(x);
}

/*
 * Streamed forwards at 2 to 4 threads, each ended at a random count, with
 * forwards on the net itself and on another one, and pauses, between the
 * samples published: every output is a plain forward's, and nothing hangs.
 */
static void
test_forward_stream_stress(void)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(1, 24, 40, TTSP_TASK_CLASSIFICATION);
	ttsp_cnn   *net,
			   *other;
	float	   *x;
	float		extra[20],
				want[20],
				got[20],
				o2[20];
	ttsp_rng	rng;
	int			bad = 0,
				runs = 0;

	cfg.n_extra = 1;
	net = ttsp_cnn_create(&cfg, 3, NULL);
	other = ttsp_cnn_create(&cfg, 4, NULL);
	x = random_input(&cfg, 20, 330);
	for (int i = 0; i < 20; i++)
		extra[i] = (float) i;
	ttsp_cnn_forward_extra(net, x, extra, 20, false, want, NULL);
	ttsp_rng_seed(&rng, 77);
	for (int threads = 2; threads <= 4; threads++)
	{
		ttsp_cnn_set_threads(net, threads, NULL);
		ttsp_cnn_set_threads(other, threads, NULL);
		for (int it = 0; it < 100; it++, runs++)
		{
			bool		begun;
			int			n = 1 + (int) (ttsp_rng_next(&rng) % 20);

			memset(got, 0, sizeof(got));
			ttsp_cnn_forward_begin(net, x, extra, 20, &begun, NULL);
			for (int k = 1; k <= n; k++)
			{
				uint64_t	r = ttsp_rng_next(&rng) % 100;
				struct timespec pause = {0, 200 * 1000};

				ttsp_cnn_forward_ready(net, k);
				if (r < 3)
					nanosleep(&pause, NULL);
				else if (r < 5)
					ttsp_cnn_forward_extra(other, x, extra, 9, false, o2, NULL);
				else if (r < 6)
					ttsp_cnn_forward_extra(net, x, extra, 3, false, o2, NULL);
			}
			bad += ttsp_cnn_forward_end(net, x, extra, n, got, NULL) != TTSP_OK ||
				memcmp(got, want, n * sizeof(float)) != 0;
		}
	}
	ok(bad == 0, "%d streamed forwards at 2-4 threads ended at random counts, other forwards between: %d differ",
	   runs, bad);
	ttsp_cnn_destroy(net);
	ttsp_cnn_destroy(other);
	free(x);
}

/*
 * Packed weights are reused while the weights are unchanged (cnn_layers.c):
 * a prediction after a weight is written through ttsp_cnn_tensor_get, or
 * after an input gradient packed the other layout, must equal a fresh
 * copy's, bit for bit.
 */
static void
test_packed_weights(void)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(1, 24, 40, TTSP_TASK_CLASSIFICATION);
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 5, NULL);
	float	   *x = random_input(&cfg, 2, 310);
	float		before[2],
				after[2],
				fresh[2],
				again[2],
				dx[2 * 24 * 40],
				wts[2] = {1, 1};
	ttsp_cnn_tensor t;
	size_t		len = ttsp_cnn_serialized_size(net);
	uint8_t    *buf = malloc(len);
	ttsp_cnn   *copy;
	bool		good = true;

	good &= ttsp_cnn_predict(net, x, 2, before, NULL) == TTSP_OK;
	/* the second block's convolution weight */
	good &= ttsp_cnn_tensor_find(net, "blocks.1.conv.weight", &t);
	t.data[3] += 0.25f;
	good &= ttsp_cnn_predict(net, x, 2, after, NULL) == TTSP_OK;
	good &= ttsp_cnn_serialize(net, buf, len, NULL) == TTSP_OK;
	copy = ttsp_cnn_deserialize(buf, len, NULL);
	good &= copy != NULL && ttsp_cnn_predict(copy, x, 2, fresh, NULL) == TTSP_OK;
	ok(good && memcmp(after, fresh, sizeof(after)) == 0 && memcmp(after, before, sizeof(after)) != 0,
	   "a weight written between predictions is used (%s[3]; %.6f -> %.6f, a fresh copy %.6f)", t.name,
	   before[0], after[0], fresh[0]);
	good &= ttsp_cnn_input_gradient(net, x, NULL, 2, wts, again, dx, NULL) == TTSP_OK;
	good &= ttsp_cnn_predict(net, x, 2, again, NULL) == TTSP_OK;
	ok(good && memcmp(again, fresh, sizeof(again)) == 0, "and after an input gradient packed them the other way");
	ttsp_cnn_destroy(copy);
	ttsp_cnn_destroy(net);
	free(buf);
	free(x);
}

/* The thread count is the caller's explicit setting, checked and kept. */
static void
test_threads(void)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(1, 32, 32, TTSP_TASK_CLASSIFICATION);
	ttsp_error	err;
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 1, &err);

	ok(net != NULL && ttsp_cnn_get_threads(net) == 1, "a new net runs on 1 thread");
	if (net == NULL)
		return;
	ok(ttsp_cnn_set_threads(net, 0, &err) == TTSP_EINVAL && strstr(err.msg, "threads 0"),
	   "0 threads rejected: %s", err.msg);
	ok(ttsp_cnn_set_threads(net, TTSP_CNN_MAX_THREADS + 1, &err) == TTSP_EINVAL,
	   "%d threads rejected", TTSP_CNN_MAX_THREADS + 1);
	ok(ttsp_cnn_get_threads(net) == 1, "a rejected count leaves the setting alone");
	ok(ttsp_cnn_set_threads(net, TTSP_CNN_MAX_THREADS, &err) == TTSP_OK &&
	   ttsp_cnn_get_threads(net) == TTSP_CNN_MAX_THREADS, "%d threads accepted", TTSP_CNN_MAX_THREADS);
	ttsp_cnn_destroy(net);
}

int
main(void)
{
	test_config();
	test_threads();
	test_init();
	test_reference_forward();
	test_batchnorm();
	test_losses();
	gradient_check(TTSP_TASK_CLASSIFICATION, TTSP_LOSS_BCE, "BCE");
	gradient_check(TTSP_TASK_CLASSIFICATION, TTSP_LOSS_MSE, "MSE(prob)");
	gradient_check(TTSP_TASK_REGRESSION, TTSP_LOSS_MSE, "MSE");
	gradient_check_wide();
	test_optimizers();
	test_learning();
	test_determinism();
	test_serialization();
	test_full_size_step();
	test_eval_chunks();
	test_forward_begin();
	test_forward_stream_stress();
	test_packed_weights();
	other_kernel_sets();
	return done_testing();
}
