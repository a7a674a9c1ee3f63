/*
 * PyTorch parity of the CNN core: one training step of a 2 x 20 x 24 input,
 * channels {4, 8}, batch 6 against test/golden/cnn_golden.txt, written by
 * test/golden/make_cnn_golden.py with torch 1.13 (see that script for the
 * file format).  Run from the repository root.
 *
 * The net is created with the same config, every tensor (running statistics
 * included) is overwritten with the golden starting values through
 * ttsp_cnn_tensor_get(...)->data, and then each of
 *	 classification + BCE, classification + MSE (on the probability),
 *	 regression + MSE
 * runs forward (training mode), loss, backward and one optimizer step, once
 * with Adam (lr 1e-3) and once, from the same start, with SGD (lr 0.01).
 * Checked: outputs, running statistics, eval-mode outputs, the eval-mode
 * input gradient (saliency), loss, d(loss)/d(output), every parameter
 * gradient, every parameter after the step.
 *
 * The checks run with the kernel set this CPU would pick (one TAP line per
 * tensor), then again with each other kernel set the CPU can run (one line
 * per set: generic C, AVX2, AVX-512; see cnn_layers.c).  Last, a few
 * training steps at 1, 2 and 3 threads must give bit-identical nets.
 *
 * Tolerance.  The golden values are PyTorch's maths in float64 from the
 * same float32 start, so the error is ttsp's float32 rounding.  For each
 * tensor T (golden values g_i, ours o_i) the test requires
 *	 max_i |o_i - g_i| / max(|g_i|, FLOOR * max_j |g_j|)  <=  1e-4
 * i.e. 1e-4 relative, except that a value much smaller than its tensor's
 * largest (a gradient that nearly cancels) is held to an absolute
 * 1e-4 * FLOOR * max_j |g_j|, FLOOR = 0.05.  Float32 sums are accurate
 * relative to the size of their terms, not of a cancelled result: here the
 * gradient of blocks.0.conv.bias[2] is -2.0e-5 beside siblings of 2e-3, a
 * sum of 720 terms that cancels about 1000-fold, so float32 rounding alone
 * (6e-8) leaves it some 6e-5 off relative to itself; with the floor it is
 * judged against 2e-4 instead.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "cnn_isas.h"		/* every kernel set */
#include "tap.h"

#define GOLDEN_PATH "test/golden/cnn_golden.txt"
#define REL_TOL 1e-4
#define FLOOR 5e-2
#define MAX_RECORDS 256

typedef struct record
{
	char	   *key;			/* "<section> <name>" */
	double	   *v;
	size_t		n;
} record;

static record records[MAX_RECORDS];
static int	n_records;
static double worst_overall;

/* quiet: count checks instead of printing one TAP line each */
static bool quiet;
static int	quiet_checks;
static int	quiet_failed;
static double quiet_worst;

#define OK(cond, ...) \
	(quiet ? (quiet_checks++, quiet_failed += !(cond)) : ok((cond), __VA_ARGS__))

static bool
load_golden(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;

	if (f == NULL)
		return false;
	while (getline(&line, &cap, f) > 0)
	{
		char		section[64],
					name[128];
		size_t		count;
		int			used;
		char	   *p;
		record	   *r;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %127s %zu%n", section, name, &count, &used) != 3 ||
			n_records == MAX_RECORDS)
			break;
		r = &records[n_records++];
		r->key = malloc(strlen(section) + strlen(name) + 2);
		sprintf(r->key, "%s %s", section, name);
		r->v = malloc(sizeof(double) * (count ? count : 1));
		r->n = count;
		p = line + used;
		for (size_t i = 0; i < count; i++)
		{
			char	   *end;

			r->v[i] = strtod(p, &end);
			if (end == p)
			{
				fprintf(stderr, "%s: short record %s\n", path, r->key);
				r->n = i;
				break;
			}
			p = end;
		}
	}
	free(line);
	fclose(f);
	return n_records > 0;
}

static const record *
find(const char *fmt, const char *a, const char *b)
{
	char		key[256];

	snprintf(key, sizeof(key), fmt, a, b);
	for (int i = 0; i < n_records; i++)
		if (strcmp(records[i].key, key) == 0)
			return &records[i];
	fprintf(stderr, "golden record \"%s\" missing\n", key);
	return NULL;
}

static int
config_int(const char *name, size_t i)
{
	const record *r = find("config %s%s", name, "");

	return r != NULL && i < r->n ? (int) r->v[i] : -1;
}

/* The tolerance above; returns the tensor's worst scaled error. */
static double
scaled_error(const float *got, const double *want, size_t n)
{
	double		top = 0,
				worst = 0;

	for (size_t i = 0; i < n; i++)
		top = fmax(top, fabs(want[i]));
	for (size_t i = 0; i < n; i++)
	{
		double		e = fabs(got[i] - want[i]) / fmax(fabs(want[i]), FLOOR * top);

		if (!(e <= worst))		/* NaN counts as the worst */
			worst = isnan(e) ? INFINITY : e;
	}
	return worst;
}

static void
check(const char *what, const float *got, size_t n, const record *r)
{
	double		e;

	e = r == NULL || r->n != n ? INFINITY : scaled_error(got, r->v, n);
	if (quiet)
	{
		quiet_checks++;
		quiet_failed += !(e <= REL_TOL);
		quiet_worst = fmax(quiet_worst, e);
		if (!(e <= REL_TOL))
			printf("# %s: max rel error %.2e\n", what, e);
		return;
	}
	worst_overall = fmax(worst_overall, e);
	ok(e <= REL_TOL, "%s: max rel error %.2e (%zu values)", what, e, n);
}

static ttsp_cnn_tensor
tensor(ttsp_cnn *net, int i)
{
	ttsp_cnn_tensor t;

	if (!ttsp_cnn_tensor_get(net, i, &t))
		abort();
	return t;
}

static float *
floats(const record *r)
{
	float	   *f = malloc(sizeof(float) * (r ? r->n : 1));

	for (size_t i = 0; r != NULL && i < r->n; i++)
		f[i] = (float) r->v[i];
	return f;
}

/* A net of the golden config holding the golden starting values. */
static ttsp_cnn *
golden_net(int task)
{
	ttsp_cnn_config cfg = {
		.in_channels = config_int("in_channels", 0),
		.in_height = config_int("in_height", 0),
		.in_width = config_int("in_width", 0),
		.task = task,
	};
	const record *ch = find("config %s%s", "channels", "");
	ttsp_error	err;
	ttsp_cnn   *net;

	cfg.n_blocks = ch ? (int) ch->n : 0;
	for (int i = 0; i < cfg.n_blocks && i < TTSP_CNN_MAX_BLOCKS; i++)
		cfg.channels[i] = (int) ch->v[i];
	net = ttsp_cnn_create(&cfg, 1, &err);
	if (net == NULL)
	{
		fprintf(stderr, "golden config: %s\n", err.msg);
		return NULL;
	}
	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t = tensor(net, i);
		const record *r = find("init %s%s", t.name, "");

		if (r == NULL || r->n != t.count)
		{
			ttsp_cnn_destroy(net);
			return NULL;
		}
		for (size_t k = 0; k < t.count; k++)
			t.data[k] = (float) r->v[k];
	}
	return net;
}

static void
test_forward(const float *x, int batch)
{
	ttsp_cnn   *net = golden_net(TTSP_TASK_CLASSIFICATION);
	float	   *out = malloc(sizeof(float) * batch);
	ttsp_error	err;

	OK(net != NULL, "net of the golden config with the golden starting values");
	if (net == NULL)
		return;
	OK(ttsp_cnn_forward(net, x, batch, true, out, &err) == TTSP_OK, "training forward runs");
	check("training forward: outputs (logits)", out, batch, find("train %s%s", "out", ""));
	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t = tensor(net, i);
		char		what[96];

		if (strstr(t.name, "running") == NULL)
			continue;
		snprintf(what, sizeof(what), "training forward: %s", t.name);
		check(what, t.data, t.count, find("train %s%s", t.name, ""));
	}
	ttsp_cnn_destroy(net);

	/* eval mode from the starting running statistics */
	net = golden_net(TTSP_TASK_CLASSIFICATION);
	OK(ttsp_cnn_forward(net, x, batch, false, out, &err) == TTSP_OK, "eval forward runs");
	check("eval forward: outputs", out, batch, find("eval %s%s", "out", ""));
	ttsp_cnn_destroy(net);

	/* saliency: the input gradient of the eval-mode net against autograd's */
	{
		const record *gr = find("eval %s%s", "input_grad", "");
		float	   *w = floats(find("eval %s%s", "weights", ""));
		float	   *dx = malloc(sizeof(float) * (gr ? gr->n : 1));

		net = golden_net(TTSP_TASK_CLASSIFICATION);
		OK(ttsp_cnn_input_gradient(net, x, NULL, batch, w, out, dx, &err) == TTSP_OK, "eval input gradient runs");
		check("eval input gradient (saliency)", dx, gr ? gr->n : 0, gr);
		ttsp_cnn_destroy(net);
		free(w);
		free(dx);
	}
	free(out);
}

static void
test_case(const float *x, int batch, int task, ttsp_loss_kind loss_kind,
		  const char *case_name, ttsp_optim_kind opt_kind)
{
	const char *opt_name = opt_kind == TTSP_OPTIM_ADAM ? "adam" : "sgd";
	ttsp_cnn   *net = golden_net(task);
	float	   *y = floats(find("target %s%s", task == TTSP_TASK_CLASSIFICATION ?
								"classification" : "regression", ""));
	float	   *out = malloc(sizeof(float) * batch);
	float	   *dout = malloc(sizeof(float) * batch);
	ttsp_optim_config oc = ttsp_optim_defaults(opt_kind);
	ttsp_optimizer *opt;
	ttsp_error	err;
	double		loss;
	char		what[160];
	char		key[96];

	if (net == NULL)
	{
		OK(0, "%s/%s: net", case_name, opt_name);
		return;
	}
	oc.lr = opt_kind == TTSP_OPTIM_ADAM ? 1e-3 : 0.01;
	opt = ttsp_optimizer_create(net, &oc, &err);
	OK(opt != NULL &&
	   ttsp_cnn_forward(net, x, batch, true, out, &err) == TTSP_OK &&
	   ttsp_loss(loss_kind, task, out, y, batch, &loss, dout, &err) == TTSP_OK &&
	   ttsp_cnn_backward(net, dout, NULL, &err) == TTSP_OK,
	   "%s/%s: forward, loss and backward run", case_name, opt_name);

	/* loss, dout and gradients do not depend on the optimizer: once */
	if (opt_kind == TTSP_OPTIM_ADAM)
	{
		float		lf = (float) loss;

		snprintf(what, sizeof(what), "%s: loss", case_name);
		check(what, &lf, 1, find("loss %s%s", case_name, ""));
		snprintf(what, sizeof(what), "%s: d(loss)/d(output)", case_name);
		check(what, dout, batch, find("dout %s%s", case_name, ""));
		for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
		{
			ttsp_cnn_tensor t = tensor(net, i);

			if (t.grad == NULL)
				continue;
			snprintf(what, sizeof(what), "%s: gradient of %s", case_name, t.name);
			snprintf(key, sizeof(key), "%s/%s", case_name, t.name);
			check(what, t.grad, t.count, find("grad %s%s", key, ""));
		}
	}

	OK(ttsp_optimizer_step(opt, &err) == TTSP_OK, "%s/%s: optimizer step runs", case_name, opt_name);
	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t = tensor(net, i);

		if (t.grad == NULL)
			continue;
		snprintf(what, sizeof(what), "%s/%s: %s after one step", case_name, opt_name, t.name);
		snprintf(key, sizeof(key), "%s/%s/%s", case_name, opt_name, t.name);
		check(what, t.data, t.count, find("step %s%s", key, ""));
	}
	ttsp_optimizer_destroy(opt);
	ttsp_cnn_destroy(net);
	free(y);
	free(out);
	free(dout);
}

/*
 * Three steps of AdamW (lr 1e-2, weight_decay 0.5: decoupled decay) and of
 * Adam with the same L2 weight_decay (coupled) on classification + BCE.
 * Each must match its own golden values, and AdamW must not match Adam's:
 * the check can tell the two kinds of decay apart.
 */
static void
test_weight_decay(const float *x, int batch, ttsp_optim_kind kind)
{
	const char *name = kind == TTSP_OPTIM_ADAMW ? "adamw" : "adam_l2";
	const char *other = kind == TTSP_OPTIM_ADAMW ? "adam_l2" : "adamw";
	ttsp_cnn   *net = golden_net(TTSP_TASK_CLASSIFICATION);
	float	   *y = floats(find("target %s%s", "classification", ""));
	float	   *out = malloc(sizeof(float) * batch);
	float	   *dout = malloc(sizeof(float) * batch);
	ttsp_optim_config oc = ttsp_optim_defaults(kind);
	ttsp_optimizer *opt = NULL;
	ttsp_error	err;
	double		loss;
	bool		ran = net != NULL;
	double		worst_other = 0;
	char		what[160];
	char		key[96];

	oc.lr = 1e-2;
	oc.weight_decay = 0.5;
	if (ran)
		ran = (opt = ttsp_optimizer_create(net, &oc, &err)) != NULL;
	for (int step = 0; ran && step < 3; step++)
		ran = ttsp_cnn_forward(net, x, batch, true, out, &err) == TTSP_OK &&
			ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_CLASSIFICATION, out, y, batch, &loss, dout, &err) == TTSP_OK &&
			ttsp_cnn_backward(net, dout, NULL, &err) == TTSP_OK &&
			ttsp_optimizer_step(opt, &err) == TTSP_OK;
	OK(ran, "%s: three steps run", name);
	for (int i = 0; ran && i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t = tensor(net, i);
		const record *r;

		if (t.grad == NULL)
			continue;
		snprintf(what, sizeof(what), "%s (lr 1e-2, weight_decay 0.5): %s after three steps", name, t.name);
		snprintf(key, sizeof(key), "classification_bce/%s/%s", name, t.name);
		check(what, t.data, t.count, find("steps3 %s%s", key, ""));
		snprintf(key, sizeof(key), "classification_bce/%s/%s", other, t.name);
		r = find("steps3 %s%s", key, "");
		if (r != NULL && r->n == t.count)
			worst_other = fmax(worst_other, scaled_error(t.data, r->v, t.count));
	}
	OK(worst_other > 100 * REL_TOL, "%s differs from %s's golden values (max rel error %.2e)",
	   name, other, worst_other);
	ttsp_optimizer_destroy(opt);
	ttsp_cnn_destroy(net);
	free(y);
	free(out);
	free(dout);
}

static void
golden_checks(const float *x, int batch)
{
	test_forward(x, batch);
	test_weight_decay(x, batch, TTSP_OPTIM_ADAMW);
	test_weight_decay(x, batch, TTSP_OPTIM_ADAM);
	for (int o = 0; o < 2; o++)
	{
		ttsp_optim_kind k = o == 0 ? TTSP_OPTIM_ADAM : TTSP_OPTIM_SGD;

		test_case(x, batch, TTSP_TASK_CLASSIFICATION, TTSP_LOSS_BCE, "classification_bce", k);
		test_case(x, batch, TTSP_TASK_CLASSIFICATION, TTSP_LOSS_MSE, "classification_mse", k);
		test_case(x, batch, TTSP_TASK_REGRESSION, TTSP_LOSS_MSE, "regression_mse", k);
	}
}

/* Serialized net after 3 Adam steps on the golden data at `threads` threads. */
static uint8_t *
trained(const float *x, int batch, int threads, size_t *len)
{
	ttsp_cnn   *net = golden_net(TTSP_TASK_CLASSIFICATION);
	ttsp_optim_config oc = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	ttsp_optimizer *opt = ttsp_optimizer_create(net, &oc, NULL);
	float	   *y = floats(find("target %s%s", "classification", ""));
	float	   *out = malloc(sizeof(float) * batch),
			   *dout = malloc(sizeof(float) * batch),
			   *dx = malloc(sizeof(float) * find("input %s%s", "x", "")->n);
	uint8_t    *buf;
	double		loss;

	ok(ttsp_cnn_set_threads(net, threads, NULL) == TTSP_OK && ttsp_cnn_get_threads(net) == threads,
	   "net set to %d thread(s)", threads);
	for (int step = 0; step < 3; step++)
	{
		ttsp_cnn_forward(net, x, batch, true, out, NULL);
		ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_CLASSIFICATION, out, y, batch, &loss, dout, NULL);
		ttsp_cnn_backward(net, dout, step == 2 ? dx : NULL, NULL);
		ttsp_optimizer_step(opt, NULL);
	}
	/* the input gradient of the last step rides along */
	*len = ttsp_cnn_serialized_size(net) + sizeof(float) * find("input %s%s", "x", "")->n;
	buf = malloc(*len);
	ttsp_cnn_serialize(net, buf, ttsp_cnn_serialized_size(net), NULL);
	memcpy(buf + ttsp_cnn_serialized_size(net), dx, *len - ttsp_cnn_serialized_size(net));
	ttsp_optimizer_destroy(opt);
	ttsp_cnn_destroy(net);
	free(y);
	free(out);
	free(dout);
	free(dx);
	return buf;
}

/* golden checks, then thread-count bit-identity, on the current kernel set */
typedef struct golden_input
{
	const float *x;
	int			batch;
} golden_input;

static void
thread_identity(const char *isa, void *arg)
{
	const golden_input *in = arg;
	size_t		l1,
				l2,
				l3;
	uint8_t    *b1 = trained(in->x, in->batch, 1, &l1),
			   *b2 = trained(in->x, in->batch, 2, &l2),
			   *b3 = trained(in->x, in->batch, 3, &l3);

	/* every kernel set splits work its own way: each must be thread-count blind */
	ok(l1 == l2 && l1 == l3 && memcmp(b1, b2, l1) == 0 && memcmp(b1, b3, l1) == 0,
	   "kernel set %s: 3 Adam steps and the input gradient bit-identical at 1, 2 and 3 threads", isa);
	free(b1);
	free(b2);
	free(b3);
}

static void
kernel_set_checks(const char *isa, void *arg)
{
	const golden_input *in = arg;

	quiet = true;
	quiet_checks = quiet_failed = 0;
	quiet_worst = 0;
	golden_checks(in->x, in->batch);
	quiet = false;
	ok(quiet_failed == 0 && quiet_checks > 0,
	   "kernel set %s: %d golden checks, %d failed, largest scaled error %.2e",
	   isa, quiet_checks, quiet_failed, quiet_worst);
	thread_identity(isa, arg);
}

int
main(void)
{
	const record *xr;
	golden_input in;

	if (!ok(load_golden(GOLDEN_PATH), "golden file %s loads (run from the repository root)",
			GOLDEN_PATH))
		return done_testing();
	in.batch = config_int("batch", 0);
	xr = find("input %s%s", "x", "");
	ok(xr != NULL && in.batch > 0 &&
	   xr->n == (size_t) in.batch * config_int("in_channels", 0) *
	   config_int("in_height", 0) * config_int("in_width", 0),
	   "golden input has batch x C x H x W values");
	if (xr == NULL || in.batch <= 0)
		return done_testing();
	in.x = floats(xr);

	printf("# kernel set picked for this CPU: %s\n", cnn_isa_name());
	golden_checks(in.x, in.batch);
	printf("# largest scaled error over all checks: %.2e (tolerance %.0e, floor %.0e x tensor max)\n",
		   worst_overall, REL_TOL, FLOOR);
	thread_identity(cnn_isa_name(), &in);
	for_other_kernel_sets(kernel_set_checks, &in);
	free((float *) in.x);
	return done_testing();
}
