#include "plot_ticks.h"

#include <math.h>
#include <stdio.h>

/* The nice step at or above x: 1, 2 or 5 times a power of ten. */
static double
nice_step_at_least(double x)
{
	static const double mantissa[] = {1, 2, 5, 10};
	double		p = pow(10, floor(log10(x)));

	for (int i = 0; i < 4; i++)
		/* a relative tolerance, so 0.2 stays 0.2 despite rounding in p */
		if (mantissa[i] * p >= x * (1 - 1e-9))
			return mantissa[i] * p;
	return 10 * p;
}

/* Multiples of step in [lo, hi], with a little tolerance for rounding. */
static int
count_multiples(double lo, double hi, double step, double *first)
{
	double		tol = step * 1e-9;
	double		a = ceil((lo - tol) / step),
				b = floor((hi + tol) / step);

	*first = a;
	return b >= a ? (int) (b - a) + 1 : 0;
}

int
ttsp_ticks(double lo, double hi, int max_ticks, bool integer, double *ticks, double *step)
{
	double		s,
				first;
	int			n;

	*step = 0;
	if (!isfinite(lo) || !isfinite(hi) || hi < lo)
		return 0;
	if (max_ticks < 2)
		max_ticks = 2;
	if (max_ticks > TTSP_MAX_TICKS)
		max_ticks = TTSP_MAX_TICKS;
	if (hi == lo)
	{
		ticks[0] = lo;
		*step = 1;
		return 1;
	}
	/*
	 * A step of at most range / (max_ticks + 1) has more than max_ticks
	 * multiples in the range; start just above it and grow to the next nice
	 * step until the count fits.
	 */
	s = nice_step_at_least((hi - lo) / (max_ticks + 1) * (1 + 1e-9));
	if (integer && s < 1)
		s = 1;
	while ((n = count_multiples(lo, hi, s, &first)) > max_ticks)
		s = nice_step_at_least(s * (1 + 1e-6));
	for (int i = 0; i < n; i++)
	{
		/* a multiple computed, not accumulated: no drift, exact 0 */
		ticks[i] = (first + i) * s;
		if (fabs(ticks[i]) < s * 1e-9)
			ticks[i] = 0;
	}
	*step = s;
	return n;
}

void
ttsp_tick_label(double v, double step, char *buf, size_t len)
{
	int			decimals;

	if (fabs(v) < step * 1e-9)
		v = 0;
	if (fabs(v) >= 1e6 || (step > 0 && step < 1e-4))
	{
		snprintf(buf, len, "%g", v);
		return;
	}
	decimals = step > 0 ? (int) ceil(-log10(step) - 1e-9) : 0;
	if (decimals < 0)
		decimals = 0;
	/* a step of 0.25 is not nice here, but 2.5 x 10^k needs one more */
	if (step > 0 && fabs(step * pow(10, decimals) - round(step * pow(10, decimals))) > 1e-6)
		decimals++;
	snprintf(buf, len, "%.*f", decimals, v);
}
