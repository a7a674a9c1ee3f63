/*
 * Saliency's core pieces: the input gradient of a trained (eval-mode) net
 * against central and one-sided finite differences of its own eval
 * forward, at 1 and 2 threads; and window placement against the rule
 * written out by hand.
 *
 * Tolerances as test_cnn.c: eps 1e-2 on the input of a tiny net, relative
 * error below 2e-2 of max(|analytic|, |numeric|, 1e-2 x the largest).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>


#include "cnn.h"
#include "cnn_params.h"
#include "rng.h"
#include "tap.h"
#include "windows.h"

#define EPS 1e-2
#define TOL 2e-2
#define FLOOR 1e-2
#define BATCH 3

static const float weights[BATCH] = {0.5f, -1.0f, 2.0f};

/* sum_s weights[s] * logit_s, in eval mode */
static double
weighted_output(ttsp_cnn *net, const float *x)
{
	float		out[BATCH];
	double		v = 0;

	ttsp_cnn_forward(net, x, BATCH, false, out, NULL);
	for (int s = 0; s < BATCH; s++)
		v += weights[s] * (double) out[s];
	return v;
}

static double
moved(ttsp_cnn *net, float *x, size_t i, double d)
{
	float		save = x[i];
	double		v;

	x[i] = (float) (save + d);
	v = weighted_output(net, x);
	x[i] = save;
	return v;
}

/*
 * Worst relative error of dx against the finite differences; a ReLU kink
 * within 2 eps spoils the estimates that span it, so the analytic value must
 * match the best of central, forward and backward.
 */
static double
fd_error(ttsp_cnn *net, float *x, const float *dx, size_t count, size_t *kinks)
{
	double		base = weighted_output(net, x),
				scale = 0,
				worst = 0;

	*kinks = 0;
	for (size_t i = 0; i < count; i++)
		scale = fmax(scale, fabs(dx[i]));
	for (size_t i = 0; i < count; i++)
	{
		double		p1 = moved(net, x, i, EPS),
					p2 = moved(net, x, i, 2 * EPS),
					m1 = moved(net, x, i, -EPS),
					m2 = moved(net, x, i, -2 * EPS),
					central = (p1 - m1) / (2 * EPS),
					fwd = (-3 * base + 4 * p1 - p2) / (2 * EPS),
					bwd = (3 * base - 4 * m1 + m2) / (2 * EPS),
					denom = fmax(fmax(fabs(central), fabs(dx[i])), FLOOR * scale);

		if (fabs(fwd - bwd) / denom > TOL)
			(*kinks)++;
		worst = fmax(worst, fmin(fabs(central - dx[i]), fmin(fabs(fwd - dx[i]), fabs(bwd - dx[i]))) / denom);
	}
	return scale > 0 ? worst : INFINITY;
}

static void
test_input_gradient(int task)
{
	ttsp_cnn_config cfg = {
		.in_channels = 2, .in_height = 8, .in_width = 9,
		.n_blocks = 2, .channels = {3, 4}, .task = task,
	};
	size_t		count = (size_t) BATCH * 2 * 8 * 9;
	ttsp_cnn   *net = ttsp_cnn_create(&cfg, 61, NULL);
	float	   *x = malloc(count * sizeof(float));
	float	   *dx = malloc(count * sizeof(float));
	float	   *dx2 = malloc(count * sizeof(float));
	float		out[BATCH],
				eval_out[BATCH];
	size_t		kinks;
	double		e;
	ttsp_rng	rng;
	ttsp_error	err;
	ttsp_status st;
	const char *name = task == TTSP_TASK_CLASSIFICATION ? "classifier" : "regressor";

	ttsp_rng_seed(&rng, 62);
	for (size_t i = 0; i < count; i++)
		x[i] = (float) ttsp_rng_normal(&rng);
	perturb_params(net, 63);
	ttsp_cnn_set_threads(net, 1, NULL);
	st = ttsp_cnn_input_gradient(net, x, NULL, BATCH, weights, out, dx, &err);
	ok(st == TTSP_OK, "%s: input gradient runs", name);
	ttsp_cnn_forward(net, x, BATCH, false, eval_out, NULL);
	ok(memcmp(out, eval_out, sizeof(out)) == 0, "%s: its outputs are the eval forward's", name);
	e = fd_error(net, x, dx, count, &kinks);
	ok(e < TOL && kinks <= count / 2, "%s: matches finite differences of the eval forward "
	   "(%zu coords, %zu near a kink, max rel err %.1e)", name, count, kinks, e);

	ttsp_cnn_set_threads(net, 2, NULL);
	ttsp_cnn_input_gradient(net, x, NULL, BATCH, weights, out, dx2, NULL);
	ttsp_cnn_set_threads(net, 1, NULL);
	ok(memcmp(dx, dx2, count * sizeof(float)) == 0, "%s: bit-identical at 2 threads", name);

	/* sample s's part is weights[s] times its own: sample 1 alone with weight 1 */
	{
		size_t		per = count / BATCH;
		float		w1 = 1.0f,
					o1;
		double		worst = 0;

		ttsp_cnn_input_gradient(net, x + per, NULL, 1, &w1, &o1, dx2, NULL);
		for (size_t i = 0; i < per; i++)
			worst = fmax(worst, fabs(dx2[i] * weights[1] - dx[per + i]));
		ok(worst < 1e-6, "%s: samples do not interact (max diff %.1e)", name, worst);
	}
	{
		float		bad[BATCH] = {1, NAN, 1};

		ok(ttsp_cnn_input_gradient(net, x, NULL, BATCH, bad, out, dx, &err) == TTSP_EINVAL,
		   "%s: NaN weight refused: %s", name, err.msg);
		x[5] = INFINITY;
		ok(ttsp_cnn_input_gradient(net, x, NULL, BATCH, weights, out, dx, &err) == TTSP_EINVAL,
		   "%s: infinite input refused: %s", name, err.msg);
	}
	free(x);
	free(dx);
	free(dx2);
	ttsp_cnn_destroy(net);
}

static int
starts_are(int total, int window, int hop, const int *want, int n_want)
{
	int			got[64],
				n;

	if (ttsp_window_starts(total, window, hop, got, &n, NULL) != TTSP_OK || n != n_want)
		return 0;
	return memcmp(got, want, n * sizeof(int)) == 0;
}

static void
test_windows(void)
{
	int			n;
	ttsp_error	err;
	int			bad = 0;

	ok(starts_are(100, 100, 50, (int[]) {0}, 1), "a clip of exactly one window: one window");
	ok(starts_are(30, 100, 50, (int[]) {0}, 1), "a shorter clip: one window at 0 (padded)");
	ok(starts_are(200, 100, 50, (int[]) {0, 50, 100}, 3), "200 frames, window 100, hop 50: 0, 50, 100");
	ok(starts_are(230, 100, 50, (int[]) {0, 50, 100, 130}, 4), "230 frames: the last window ends at the end");
	ok(starts_are(101, 100, 50, (int[]) {0, 1}, 2), "101 frames: 0 and 1");
	ok(starts_are(7, 3, 1, (int[]) {0, 1, 2, 3, 4}, 5), "hop 1: every start");
	ok(ttsp_window_hop(100) == 50 && ttsp_window_hop(1) == 1 && ttsp_window_hop(5) == 2, "hop is half a window, at least 1");
	/* every frame covered, starts increasing, last ends at the clip's end, for many sizes */
	for (int total = 1; total <= 300; total++)
		for (int window = 1; window <= 40; window += 3)
		{
			int			s[600];
			int			hop = ttsp_window_hop(window);
			int			covered_to = 0;

			ttsp_window_starts(total, window, hop, s, &n, NULL);
			for (int i = 0; i < n; i++)
			{
				if (s[i] > covered_to || (i > 0 && s[i] <= s[i - 1]) || s[i] < 0 ||
					(total > window && s[i] + window > total))
					bad++;
				covered_to = s[i] + window;
			}
			if (covered_to < total || (total > window && s[n - 1] + window != total))
				bad++;
		}
	ok(bad == 0, "1..300 frames, windows 1..40: covered, in order, inside, flush with the end (%d bad)", bad);
	ok(ttsp_window_starts(0, 10, 5, NULL, &n, &err) == TTSP_EINVAL, "0 frames refused: %s", err.msg);
	ok(ttsp_window_starts(10, 10, 11, NULL, &n, &err) == TTSP_EINVAL, "hop above the window refused");
}

int
main(void)
{
	test_input_gradient(TTSP_TASK_CLASSIFICATION);
	test_input_gradient(TTSP_TASK_REGRESSION);
	test_windows();
	return done_testing();
}
