/*
 * The CNN head's extra inputs (cnn.h: n_extra).  Truths: a hand calculation
 * of the head's extra term, central finite differences of the loss for the
 * extra weights (in double, over the float forward), and byte-level checks
 * of format version 2.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "cnn_params.h"
#include "linear.h"
#include "rng.h"
#include "tap.h"

#define BATCH 5
#define N_EXTRA 3

static ttsp_cnn_config
extra_config(int n_extra)
{
	ttsp_cnn_config cfg = {
		.in_channels = 1, .in_height = 8, .in_width = 9,
		.n_blocks = 2, .channels = {3, 4}, .task = TTSP_TASK_CLASSIFICATION,
		.n_extra = n_extra,
	};

	return cfg;
}

static float *
randoms(size_t n, uint64_t seed)
{
	float	   *v = malloc(n * sizeof(float));
	ttsp_rng	rng;

	ttsp_rng_seed(&rng, seed);
	for (size_t i = 0; i < n; i++)
		v[i] = (float) ttsp_rng_normal(&rng);
	return v;
}

static ttsp_cnn_tensor
tensor_named(ttsp_cnn *net, const char *name)
{
	ttsp_cnn_tensor t;

	if (!ttsp_cnn_tensor_find(net, name, &t))
		abort();
	return t;
}

static const double mean[N_EXTRA] = {1.0, -2.0, 0.5};
static const double scale[N_EXTRA] = {2.0, 0.25, 1.0};

static void
test_config(void)
{
	ttsp_cnn_config cfg = extra_config(-1);
	ttsp_error	err;

	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL, "n_extra -1 refused: %s", err.msg);
	cfg.n_extra = TTSP_CNN_MAX_EXTRA + 1;
	ok(ttsp_cnn_validate_config(&cfg, &err) == TTSP_EINVAL, "n_extra above the cap refused");
	cfg.n_extra = N_EXTRA;
	ok(ttsp_cnn_validate_config(&cfg, NULL) == TTSP_OK, "n_extra %d accepted", N_EXTRA);
}

/* The head adds sum_e w_e (extra_e - mean_e) / scale_e, nothing else. */
static void
test_forward(void)
{
	ttsp_cnn_config cfg = extra_config(N_EXTRA);
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 7, NULL);
	float	   *x = randoms((size_t) BATCH * 72, 11);
	float	   *extra = randoms((size_t) BATCH * N_EXTRA, 12);
	float		base[BATCH],
				out[BATCH];
	float		saved[N_EXTRA];
	ttsp_cnn_tensor hw = tensor_named(net, "head.weight");
	ttsp_cnn_tensor em = tensor_named(net, "extra.mean");
	ttsp_cnn_tensor es = tensor_named(net, "extra.scale");
	ttsp_error	err;
	double		worst = 0;
	double		bad_scale[N_EXTRA] = {1, 0, 1};

	ok(hw.count == 4 + N_EXTRA && em.count == N_EXTRA && es.count == N_EXTRA &&
	   em.grad == NULL && es.grad == NULL,
	   "tensors: head.weight has C_last + n_extra, extra.mean/scale are not trained");
	ok(es.data[0] == 1.0f && em.data[0] == 0.0f, "a new net standardises nothing (mean 0, scale 1)");
	ok(ttsp_cnn_set_extra_scaling(net, mean, bad_scale, &err) == TTSP_EINVAL,
	   "a scale of 0 refused: %s", err.msg);
	ok(ttsp_cnn_set_extra_scaling(net, mean, scale, &err) == TTSP_OK, "scaling set");

	memcpy(saved, hw.data + 4, sizeof(saved));
	memset(hw.data + 4, 0, sizeof(saved));
	ttsp_cnn_forward_extra(net, x, extra, BATCH, false, base, NULL);
	memcpy(hw.data + 4, saved, sizeof(saved));
	ok(ttsp_cnn_forward_extra(net, x, extra, BATCH, false, out, &err) == TTSP_OK, "forward with extras");
	for (int s = 0; s < BATCH; s++)
	{
		double		want = base[s];

		for (int e = 0; e < N_EXTRA; e++)
			want += saved[e] * ((extra[s * N_EXTRA + e] - mean[e]) / scale[e]);
		worst = fmax(worst, fabs(out[s] - want));
	}
	ok(worst < 1e-5, "output = the conv part + the extras' term by hand (error %.2g)", worst);

	ok(ttsp_cnn_forward(net, x, BATCH, false, out, &err) == TTSP_EINVAL,
	   "forward without extras refused: %s", err.msg);
	extra[4] = NAN;
	ok(ttsp_cnn_forward_extra(net, x, extra, BATCH, false, out, &err) == TTSP_EINVAL,
	   "a NaN extra refused: %s", err.msg);
	ttsp_cnn_destroy(net);
	free(x);
	free(extra);
}

static double
loss_of(ttsp_cnn *net, const float *x, const float *extra, const float *y)
{
	float		out[BATCH];
	double		loss = NAN;

	ttsp_cnn_forward_extra(net, x, extra, BATCH, true, out, NULL);
	ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_CLASSIFICATION, out, y, BATCH, &loss, NULL, NULL);
	return loss;
}

/* d(loss)/d(head weight of an extra) and of the bias against central differences. */
static void
test_gradient(void)
{
	ttsp_cnn_config cfg = extra_config(N_EXTRA);
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 3, NULL);
	float	   *x = randoms((size_t) BATCH * 72, 21);
	float	   *extra = randoms((size_t) BATCH * N_EXTRA, 22);
	float		y[BATCH] = {1, 0, 1, 1, 0};
	float		out[BATCH],
				dout[BATCH];
	double		loss,
				worst = 0;
	ttsp_cnn_tensor hw = tensor_named(net, "head.weight");
	ttsp_cnn_tensor hb = tensor_named(net, "head.bias");

	ttsp_cnn_set_extra_scaling(net, mean, scale, NULL);
	ttsp_cnn_forward_extra(net, x, extra, BATCH, true, out, NULL);
	ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_CLASSIFICATION, out, y, BATCH, &loss, dout, NULL);
	ttsp_cnn_backward(net, dout, NULL, NULL);
	for (int i = 0; i <= N_EXTRA; i++)
	{
		float	   *p = i < N_EXTRA ? &hw.data[4 + i] : hb.data;
		float		g = i < N_EXTRA ? hw.grad[4 + i] : hb.grad[0];
		float		keep = *p;
		const float h = 1e-2f;
		double		up,
					down,
					numeric;

		*p = keep + h;
		up = loss_of(net, x, extra, y);
		*p = keep - h;
		down = loss_of(net, x, extra, y);
		*p = keep;
		numeric = (up - down) / (2 * h);
		worst = fmax(worst, fabs(numeric - g) / fmax(fabs(numeric), 1e-2));
	}
	ok(worst < 2e-2, "extra weights' and bias's gradients match central differences (rel. error %.2g)",
	   worst);
	ttsp_cnn_destroy(net);
	free(x);
	free(extra);
}

static void
test_format(void)
{
	ttsp_cnn_config cfg = extra_config(N_EXTRA);
	ttsp_cnn_config plain = extra_config(0);
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 5, NULL);
	ttsp_cnn   *flat = ttsp_cnn_create(&plain, 5, NULL);
	ttsp_cnn   *copy;
	float	   *x = randoms((size_t) BATCH * 72, 31);
	float	   *extra = randoms((size_t) BATCH * N_EXTRA, 32);
	float		out[BATCH],
				out2[BATCH];
	size_t		len = ttsp_cnn_serialized_size(net),
				flat_len = ttsp_cnn_serialized_size(flat);
	uint8_t    *buf = malloc(len),
			   *bad = malloc(len),
			   *flat_buf = malloc(flat_len);
	int			wrong = 0;

	ttsp_cnn_set_extra_scaling(net, mean, scale, NULL);
	ttsp_cnn_serialize(net, buf, len, NULL);
	ttsp_cnn_serialize(flat, flat_buf, flat_len, NULL);
	ok(buf[8] == 2 && flat_buf[8] == 1, "a net with extras is format version 2, without them version 1");
	ok(len == flat_len + 4 + 4 * (3 * N_EXTRA),
	   "version 2 adds n_extra and, per extra, a weight, a mean and a scale");
	copy = ttsp_cnn_deserialize(buf, len, NULL);
	ttsp_cnn_forward_extra(net, x, extra, BATCH, false, out, NULL);
	ok(copy != NULL && ttsp_cnn_forward_extra(copy, x, extra, BATCH, false, out2, NULL) == TTSP_OK &&
	   memcmp(out, out2, sizeof(out)) == 0, "round trip: bit-identical outputs, scaling included");
	ttsp_cnn_destroy(copy);
	for (size_t l = 0; l < len; l++)
		wrong += cnn_load_status(buf, l) != TTSP_ECORRUPT;
	for (size_t i = 0; i < len; i++)
	{
		memcpy(bad, buf, len);
		bad[i] ^= (uint8_t) (1 + i % 255);
		wrong += cnn_load_status(bad, len) != TTSP_ECORRUPT;
	}
	ok(wrong == 0, "every truncation and every altered byte is ECORRUPT");
	ttsp_cnn_destroy(net);
	ttsp_cnn_destroy(flat);
	free(buf);
	free(bad);
	free(flat_buf);
	free(x);
	free(extra);
}

/*
 * A net started from a fitted linear model outputs that model's logits
 * (classification) or values (regression, standardised) for any input:
 * the conv part's head weights are 0.
 */
static void
start_from_linear(int task)
{
	enum
	{
		N = 40, C = 1, B = 2, P = 2 * C * B
	};
	double		x[N * P],
				y[N],
				lin_out[N];
	ttsp_linear_data d = {x, y, N};
	ttsp_rng	rng;
	ttsp_linear *m;
	ttsp_cnn_config cfg = extra_config(P);
	ttsp_cnn   *net;
	float	   *conv_in = randoms((size_t) N * 72, 41);
	float		extra[N * P],
				out[N];
	double		worst = 0,
				t_mean = task == TTSP_TASK_REGRESSION ? 3.0 : 0,
				t_std = task == TTSP_TASK_REGRESSION ? 2.5 : 1;
	ttsp_error	err;

	ttsp_rng_seed(&rng, 42);
	for (int i = 0; i < N; i++)
	{
		for (int j = 0; j < P; j++)
		{
			x[i * P + j] = 5 * j + ttsp_rng_normal(&rng);
			extra[i * P + j] = (float) x[i * P + j];
		}
		y[i] = task == TTSP_TASK_CLASSIFICATION ? (x[i * P] + 0.5 * ttsp_rng_normal(&rng) > 0)
			: 2 * x[i * P + 1] + ttsp_rng_normal(&rng);
	}
	cfg.task = task;
	net = ttsp_cnn_create(&cfg, 9, NULL);
	m = ttsp_linear_fit(task, C, B, 0, &d, 1.0, &err);
	ok(m != NULL && ttsp_linear_start_cnn(m, net, t_mean, t_std, &err) == TTSP_OK,
	   "%s: a net with %d extras starts from the linear model", task ? "regression" : "classification", P);
	ttsp_linear_predict(m, x, N, lin_out, NULL);
	ttsp_cnn_forward_extra(net, conv_in, extra, N, false, out, NULL);
	for (int i = 0; i < N; i++)
	{
		double		got = task == TTSP_TASK_REGRESSION ? out[i] * t_std + t_mean : out[i];

		worst = fmax(worst, fabs(got - lin_out[i]) / (1 + fabs(lin_out[i])));
	}
	ok(worst < 1e-5, "%s: its outputs are the linear model's whatever the conv input (error %.2g)",
	   task ? "regression" : "classification", worst);
	cfg.n_extra = P + 1;
	ttsp_cnn_destroy(net);
	net = ttsp_cnn_create(&cfg, 9, NULL);
	ok(ttsp_linear_start_cnn(m, net, 0, 1, &err) == TTSP_EINVAL, "a net of another width refused: %s", err.msg);
	ttsp_cnn_destroy(net);
	ttsp_linear_destroy(m);
	free(conv_in);
}

int
main(void)
{
	test_config();
	test_forward();
	test_gradient();
	test_format();
	start_from_linear(TTSP_TASK_CLASSIFICATION);
	start_from_linear(TTSP_TASK_REGRESSION);
	return done_testing();
}
