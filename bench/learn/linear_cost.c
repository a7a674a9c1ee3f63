/*
 * Time of the linear core's fit with penalty selection (the whole 9-point
 * grid) for a given input shape: rows of random pooled features, class or
 * target depending on 5 of them.  Built and run by bench/learn/linear-cost.
 *
 *	 linear_cost CHANNELS BINS ROWS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "linear.h"
#include "rng.h"

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void
fill(ttsp_rng *r, double *x, double *y, int n, int p, int task)
{
	for (int i = 0; i < n; i++)
	{
		y[i] = i % 2;
		for (int j = 0; j < p; j++)
			x[(size_t) i * p + j] = ttsp_rng_normal(r) + (j < 5) * 0.5 * y[i];
		if (task == TTSP_TASK_REGRESSION)
			y[i] += ttsp_rng_normal(r);
	}
}

int
main(int argc, char **argv)
{
	int			c = argc > 3 ? atoi(argv[1]) : 1,
				b = argc > 3 ? atoi(argv[2]) : 51,
				n = argc > 3 ? atoi(argv[3]) : 680,
				nv = n / 4,
				p = 2 * c * b;
	double	   *x = malloc(sizeof(double) * n * p),
			   *y = malloc(sizeof(double) * n),
			   *xv = malloc(sizeof(double) * nv * p),
			   *yv = malloc(sizeof(double) * nv);

	for (int task = 0; task < 2; task++)
	{
		ttsp_rng	r;
		ttsp_linear_data tr = {x, y, n},
					va = {xv, yv, nv};
		ttsp_error	e;
		ttsp_linear *m;
		double		t;

		ttsp_rng_seed(&r, 1);
		fill(&r, x, y, n, p, task);
		fill(&r, xv, yv, nv, p, task);
		t = now();
		m = ttsp_linear_fit_select(task, c, b, 0, &tr, &va, NULL, &e);
		t = now() - t;
		if (m == NULL)
		{
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		printf("%s\t%d x %d\t%d features\t%d rows (+%d validation)\t%.3f s\n",
			   task ? "ridge" : "logistic", c, b, p, n, nv, t);
		ttsp_linear_destroy(m);
	}
	return 0;
}
