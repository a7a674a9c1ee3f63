/*
 * Plots: tick placement against its definition (checked by brute force over
 * many ranges), labels by hand, the colour map against matplotlib's
 * values, and pictures by their pixels (axes, series, colour bars).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "plot_internal.h"
#include "plot_ticks.h"
#include "rng.h"
#include "tap.h"

static int
close_rgb(const uint8_t *a, int r, int g, int b, int tol)
{
	return abs(a[0] - r) <= tol && abs(a[1] - g) <= tol && abs(a[2] - b) <= tol;
}

/* A step is nice when it is 1, 2 or 5 times a power of ten. */
static int
is_nice(double step)
{
	double		m = step / pow(10, floor(log10(step) + 1e-9));

	return fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9;
}

/*
 * The definition: ticks are every multiple of a nice step inside [lo, hi],
 * at most max of them, and the next smaller nice step would give more.
 */
static int
ticks_ok(double lo, double hi, int max, bool integer, char *why, size_t len)
{
	double		t[TTSP_MAX_TICKS],
				step,
				smaller;
	int			n = ttsp_ticks(lo, hi, max, integer, t, &step),
				m = 0;

	if (n < 2 || n > max)
		return snprintf(why, len, "%d ticks", n), 0;
	if (!is_nice(step) || (integer && step < 1))
		return snprintf(why, len, "step %g", step), 0;
	for (int i = 0; i < n; i++)
	{
		double		k = t[i] / step;

		if (t[i] < lo - step * 1e-6 || t[i] > hi + step * 1e-6 || fabs(k - round(k)) > 1e-6 ||
			(i > 0 && fabs(t[i] - t[i - 1] - step) > step * 1e-6))
			return snprintf(why, len, "tick %d = %.17g", i, t[i]), 0;
	}
	/* the first and last really are the outermost multiples inside */
	if (t[0] - step >= lo - step * 1e-6 || t[n - 1] + step <= hi + step * 1e-6)
		return snprintf(why, len, "a multiple left out"), 0;
	/* the nice step below (5 -> 2, 2 -> 1, 1 -> 0.5) gives too many */
	smaller = is_nice(step / 2) ? step / 2 : step * 0.4;
	if (!(integer && smaller < 1))
		for (double v = ceil(lo / smaller - 1e-9) * smaller; v <= hi + smaller * 1e-9; v += smaller)
			m++;
	if (!(integer && smaller < 1) && m <= max)
		return snprintf(why, len, "step %g is not the smallest (%g gives %d)", step, smaller, m), 0;
	return 1;
}

static void
test_ticks(void)
{
	double		t[TTSP_MAX_TICKS],
				step;
	char		why[96] = "",
				buf[48];
	int			n,
				bad = 0,
				tried = 0;
	ttsp_rng	rng;

	/* by hand */
	n = ttsp_ticks(0, 1, 6, false, t, &step);
	ok(n == 6 && step == 0.2 && t[0] == 0 && fabs(t[5] - 1) < 1e-12, "0..1: 0, 0.2, ..., 1 (%d, step %g)", n, step);
	n = ttsp_ticks(0, 4000, 8, false, t, &step);
	ok(n == 5 && step == 1000 && t[4] == 4000, "0..4000 Hz: every 1000 (%d, step %g)", n, step);
	n = ttsp_ticks(0, 11025, 8, false, t, &step);
	ok(n == 6 && step == 2000 && t[5] == 10000, "0..11025 Hz: every 2000 up to 10000 (%d, step %g)", n, step);
	n = ttsp_ticks(-93.4, 6.6, 6, false, t, &step);
	ok(n == 5 && step == 20 && t[0] == -80 && t[4] == 0, "-93.4..6.6 dB: -80 to 0 by 20 (%d, step %g)", n, step);
	n = ttsp_ticks(1, 3, 10, true, t, &step);
	ok(n == 3 && step == 1 && t[0] == 1 && t[2] == 3, "epochs 1..3: whole numbers only (%d, step %g)", n, step);
	n = ttsp_ticks(0.0013, 0.0021, 5, false, t, &step);
	ok(n == 4 && step == 0.0002 && fabs(t[0] - 0.0014) < 1e-15 && fabs(t[3] - 0.002) < 1e-15,
	   "0.0013..0.0021: 0.0014 to 0.002 by 0.0002 (%d, step %g)", n, step);
	ok(ttsp_ticks(-1, 1, 5, false, t, &step) == 5 && t[2] == 0 && !signbit(t[2]), "-1..1 has an exact, positive 0");
	ok(ttsp_ticks(5, 5, 6, false, t, &step) == 1 && t[0] == 5, "an empty range gives its one value");
	ok(ttsp_ticks(1, 0, 6, false, t, &step) == 0 && ttsp_ticks(0, INFINITY, 6, false, t, &step) == 0 &&
	   ttsp_ticks(NAN, 1, 6, false, t, &step) == 0, "reversed or non-finite ranges give none");

	/* any range: random magnitudes from 1e-9 to 1e12, either sign */
	ttsp_rng_seed(&rng, 7);
	for (int i = 0; i < 20000; i++)
	{
		double		scale = pow(10, -9 + 21 * ttsp_rng_uniform(&rng));
		double		lo = (ttsp_rng_uniform(&rng) - 0.5) * 4 * scale;
		double		hi = lo + scale * (0.01 + ttsp_rng_uniform(&rng));
		int			max = 5 + (int) (ttsp_rng_uniform(&rng) * 8);
		bool		integer = i % 4 == 0 && hi - lo >= 2;

		tried++;
		if (!ticks_ok(lo, hi, max, integer, why, sizeof(why)) && bad++ == 0)
			printf("# first failure: %.17g..%.17g max %d: %s\n", lo, hi, max, why);
	}
	ok(bad == 0, "%d random ranges from 1e-9 to 1e12 get nice, complete, bounded ticks (%d bad)", tried, bad);

	ttsp_tick_label(0.6000000000000001, 0.2, buf, sizeof(buf));
	ok(strcmp(buf, "0.6") == 0, "label 0.6 at step 0.2: %s", buf);
	ttsp_tick_label(-1e-17, 0.5, buf, sizeof(buf));
	ok(strcmp(buf, "0.0") == 0, "no -0: %s", buf);
	ttsp_tick_label(4000, 1000, buf, sizeof(buf));
	ok(strcmp(buf, "4000") == 0, "label 4000 at step 1000: %s", buf);
	ttsp_tick_label(0.0014, 0.0002, buf, sizeof(buf));
	ok(strcmp(buf, "0.0014") == 0, "label 0.0014 at step 0.0002: %s", buf);
	ttsp_tick_label(2.5e7, 5e6, buf, sizeof(buf));
	ok(strcmp(buf, "2.5e+07") == 0, "large values in %%g: %s", buf);
}

static void
test_viridis(void)
{
	uint8_t		rgb[3];

	/* matplotlib.cm.viridis(0), (0.5), (1) * 255 */
	ttsp_viridis(0, rgb);
	ok(close_rgb(rgb, 68, 1, 84, 4), "viridis(0) is dark purple (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ttsp_viridis(0.5, rgb);
	ok(close_rgb(rgb, 33, 145, 140, 4), "viridis(0.5) is teal (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ttsp_viridis(1, rgb);
	ok(close_rgb(rgb, 253, 231, 37, 4), "viridis(1) is yellow (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
}

/* Pixels in rows [y0, y1) and columns [x0, x1) that are not white. */
static int
inked(ttsp_plot *p, int x0, int x1, int y0, int y1)
{
	int			n = 0;
	uint8_t		rgb[3];

	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
		{
			ttsp_plot_pixel(p, x, y, rgb);
			n += rgb[0] < 250 || rgb[1] < 250 || rgb[2] < 250;
		}
	return n;
}

static int
count_rgb(ttsp_plot *p, const uint8_t want[3])
{
	int			n = 0;
	uint8_t		rgb[3];

	for (int y = 0; y < ttsp_plot_height(p); y++)
		for (int x = 0; x < ttsp_plot_width(p); x++)
		{
			ttsp_plot_pixel(p, x, y, rgb);
			n += memcmp(rgb, want, 3) == 0;
		}
	return n;
}

static void
test_chart(void)
{
	const double ep[4] = {1, 2, 3, 4};
	const double a[4] = {1, 0.5, 0.25, 0.2};
	const double b[4] = {0.9, 0.6, NAN, 0.4};
	ttsp_series s[2] = {
		{"train loss", ep, a, 4, {31, 119, 180}, false},
		{"test loss", ep, b, 4, {255, 127, 14}, true},
	};
	ttsp_chart	c = {s, 2, "a title", "epoch", "loss", true, false, 3, "best epoch"};
	ttsp_error	err;
	ttsp_plot  *p = ttsp_plot_create(480, 320, &err);
	uint8_t    *png;
	size_t		len;
	int			blank;
	ttsp_status st;

	ok(p != NULL && ttsp_draw_chart(p, &c, &err) == TTSP_OK, "a 480 x 320 loss chart");
	/* the layout: data area from x 78, y 36 to 464, 268; axes below and left of it */
	ok(inked(p, 0, 78, 36, 268) > 300, "the y axis labels are drawn (%d dark pixels left of the plot)",
	   inked(p, 0, 78, 36, 268));
	ok(inked(p, 78, 464, 270, 320) > 150, "the x axis labels are drawn (%d dark pixels below)",
	   inked(p, 78, 464, 270, 320));
	ok(inked(p, 100, 380, 0, 30) > 100, "the title is drawn");
	ok(count_rgb(p, s[0].rgb) > 150 && count_rgb(p, s[1].rgb) > 60,
	   "both series are drawn (%d and %d pixels in their colours)", count_rgb(p, s[0].rgb), count_rgb(p, s[1].rgb));
	st = ttsp_plot_png(p, &png, &len, &err);
	ok(st == TTSP_OK && len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0,
	   "PNG signature (%zu bytes)", len);
	free(png);
	ttsp_plot_destroy(p);

	/* without a title the top strip stays empty */
	c.title = NULL;
	p = ttsp_plot_create(480, 320, &err);
	ttsp_draw_chart(p, &c, &err);
	blank = inked(p, 100, 380, 0, 10);
	ok(blank == 0, "no title, no ink above the plot (%d)", blank);
	ttsp_plot_destroy(p);

	p = ttsp_plot_create(150, 100, &err);
	ok(ttsp_draw_chart(p, &c, &err) == TTSP_EINVAL, "tiny chart: %s", err.msg);
	ttsp_plot_destroy(p);
	ok(ttsp_plot_create(20000, 100, &err) == NULL && err.code == TTSP_ELIMIT, "oversized canvas: %s", err.msg);
	ok(ttsp_plot_create(0, 100, &err) == NULL && err.code == TTSP_EINVAL, "empty canvas: %s", err.msg);
	{
		const double nan4[4] = {NAN, NAN, NAN, NAN};
		ttsp_series none = {"x", ep, nan4, 4, {0, 0, 0}, false};
		ttsp_chart	cn = {&none, 1, NULL, "x", "y", false, false, NAN, NULL};

		p = ttsp_plot_create(300, 200, &err);
		ok(ttsp_draw_chart(p, &cn, &err) == TTSP_EINVAL, "no finite point: %s", err.msg);
		ttsp_plot_destroy(p);
	}
}

/*
 * The legend's corner, worked out by hand: a 400 x 200 data area at (0, 0)
 * showing 0..10 on both axes (0..1 for ROC), a 100 x 40 legend, whose panel
 * sits 6 px from the side and 8 px from the top or bottom.
 */
static void
test_legend_corner(void)
{
	const double xs[3] = {0, 5, 10},
				rising[3] = {0, 5, 10},
				falling[3] = {10, 5, 0},
				u_shape[3] = {10, 0, 10},
				roc_x[3] = {0, 0, 1},
				roc_y[3] = {0, 1, 1},
				low_x[3] = {0, 0.8, 1},
				low_y[3] = {0, 0.2, 1};
	ttsp_series s = {"s", xs, rising, 3, {0, 0, 0}, false};
	ttsp_chart	c = {&s, 1, NULL, "x", "y", false, false, NAN, NULL};
	plot_box	b = {0, 0, 400, 200};
	plot_corner k;
	double		x,
				y;

	/* the line y = 200 - x / 2 runs through the top right panel (x 304..384), not the top left */
	k = plot_legend_corner(&b, &c, 0, 10, 0, 10, 100, 40, &x, &y);
	ok(k == PLOT_TOP_LEFT && x == 6 && y == 8, "a rising curve puts the legend top left, at (6, 8): (%g, %g)", x, y);
	s.y = falling;
	k = plot_legend_corner(&b, &c, 0, 10, 0, 10, 100, 40, &x, &y);
	ok(k == PLOT_TOP_RIGHT && x == 294 && y == 8, "a falling one leaves it top right, at (294, 8): (%g, %g)", x, y);
	/* down to (200, 200) and up to (400, 0): at y 8..48 the right arm is at x 352..392, inside 294..394 */
	s.y = u_shape;
	k = plot_legend_corner(&b, &c, 0, 10, 0, 10, 100, 40, &x, &y);
	ok(k == PLOT_BOTTOM_RIGHT && x == 294 && y == 152,
	   "a U covers both top corners: bottom right, at (294, 152): (%g, %g)", x, y);
	/*
	 * A falling and a rising line (an X) cover every corner: the range grows
	 * to 0..10 x 200 / (200 - 12 - 40), which puts y = 10 at pixel 52, 4 px
	 * under the top panels (8..48).  One free corner keeps the range.
	 */
	{
		ttsp_series x_shape[2] = {{"up", xs, rising, 3, {0, 0, 0}, false},
		{"down", xs, falling, 3, {0, 0, 0}, false}};
		ttsp_chart	cx = {x_shape, 2, NULL, "x", "y", false, false, NAN, NULL};
		double		top = plot_legend_headroom(&b, &cx, 0, 10, 0, 10, 100, 40);

		ok(fabs(top - 2000.0 / 148) < 1e-12, "an X leaves no corner free: headroom to %.6f (13.513514)", top);
		k = plot_legend_corner(&b, &cx, 0, 10, 0, top, 100, 40, &x, &y);
		ok(k == PLOT_TOP_RIGHT && y == 8, "and the legend then sits top right over no point");
		ok(plot_legend_headroom(&b, &c, 0, 10, 0, 10, 100, 40) == 10, "a U leaves the bottom right free: the range is kept");
	}
	/* ROC: bottom right first, unless the curve runs under it */
	c.unit_square = true;
	s.x = roc_x;
	s.y = roc_y;
	ok(plot_legend_corner(&b, &c, 0, 1, 0, 1, 100, 40, &x, &y) == PLOT_BOTTOM_RIGHT,
	   "a ROC curve along the top left leaves the legend bottom right");
	/* through (0.8, 0.2): pixel (320, 160), inside the bottom right panel (294..394, 152..192) */
	s.x = low_x;
	s.y = low_y;
	ok(plot_legend_corner(&b, &c, 0, 1, 0, 1, 100, 40, &x, &y) == PLOT_TOP_LEFT,
	   "one through the bottom right moves it top left");
}

static void
test_spectrogram(void)
{
	/* 1 channel, 2 rows (row 0 = low frequency), 3 columns */
	const float values[6] = {0, 0, 0, 1, 1, 1};
	const float sal[6] = {0, 0, 0, 0, 1, 0};
	ttsp_spec_figure f = {values, 1, 2, 3, 0, 1, 3.0, 0, 4000, false, "frequency (Hz)", "dB", NULL,
	NULL, NULL};
	ttsp_error	err;
	ttsp_plot  *p;
	int			w = 0,
				h = 0;
	uint8_t		rgb[3];
	ttsp_status st;

	st = ttsp_spec_figure_size(&f, &w, &h, &err);
	ok(st == TTSP_OK && w == 86 + 768 + 96 && h == 14 + 256 + 52,
	   "one channel: %d x %d", w, h);
	p = ttsp_plot_create(w, h, &err);
	ok(ttsp_draw_spectrogram(p, &f, &err) == TTSP_OK, "drawn");
	ttsp_plot_pixel(p, 86 + 10, 14 + 10, rgb);
	ok(close_rgb(rgb, 253, 231, 37, 4), "the high row is on top, yellow (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ttsp_plot_pixel(p, 86 + 700, 14 + 250, rgb);
	ok(close_rgb(rgb, 68, 1, 84, 4), "row 0 at the bottom, dark purple (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ok(inked(p, 0, 86, 14, 270) > 300, "frequency axis drawn left of the image (%d)", inked(p, 0, 86, 14, 270));
	ok(inked(p, 86, 854, 272, 322) > 300, "time axis drawn below it (%d)", inked(p, 86, 854, 272, 322));
	ttsp_plot_pixel(p, 86 + 768 + 16 + 7, 14 + 2, rgb);
	ok(close_rgb(rgb, 253, 231, 37, 8), "colour bar: yellow at the top (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ok(inked(p, 86 + 768 + 32, w, 14, 270) > 200, "colour bar ticks and label drawn");
	ttsp_plot_destroy(p);

	f.overlay = sal;
	f.overlay_label = "saliency";
	f.channels = 1;
	st = ttsp_spec_figure_size(&f, &w, &h, &err);
	ok(st == TTSP_OK && w == 86 + 768 + 2 * 96, "saliency adds a bar: %d", w);
	p = ttsp_plot_create(w, h, &err);
	ok(ttsp_draw_spectrogram(p, &f, &err) == TTSP_OK, "saliency overlay drawn");
	ttsp_plot_pixel(p, 86 + 384, 14 + 10, rgb);
	ok(rgb[0] > 200 && rgb[1] > 180 && rgb[2] < 120, "the salient cell is yellow (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ttsp_plot_pixel(p, 86 + 10, 14 + 10, rgb);
	ok(rgb[0] == rgb[1] && rgb[1] == rgb[2], "a cell without saliency is grey (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ttsp_plot_destroy(p);

	f.overlay = NULL;
	f.channels = 100;
	ok(ttsp_spec_figure_size(&f, &w, &h, &err) == TTSP_ELIMIT, "100 bands exceed the height limit: %s", err.msg);
	f.channels = 1;
	f.rows = 20000;
	ok(ttsp_spec_figure_size(&f, &w, &h, &err) == TTSP_ELIMIT, "20000 bins exceed the limit: %s", err.msg);
	f.rows = 2;
	f.cols = 0;
	ok(ttsp_spec_figure_size(&f, &w, &h, &err) == TTSP_EINVAL, "no frames: %s", err.msg);
}

int
main(void)
{
	test_ticks();
	test_viridis();
	test_chart();
	test_legend_corner();
	test_spectrogram();
	return done_testing();
}
