/* Line charts: loss curves per epoch and ROC curves. */
#include "plot_internal.h"

#include <math.h>

#define LEGEND_ROW 18.0
#define LEGEND_SWATCH 22.0

/* Range of every finite point of c's series into x/y lo/hi; false if none. */
static bool
chart_range(const ttsp_chart *c, double *xlo, double *xhi, double *ylo, double *yhi)
{
	*xlo = *ylo = INFINITY;
	*xhi = *yhi = -INFINITY;
	for (int s = 0; s < c->n_series; s++)
		for (int i = 0; i < c->series[s].n; i++)
		{
			double		x = c->series[s].x[i],
						y = c->series[s].y[i];

			if (!isfinite(x) || !isfinite(y))
				continue;
			*xlo = fmin(*xlo, x);
			*xhi = fmax(*xhi, x);
			*ylo = fmin(*ylo, y);
			*yhi = fmax(*yhi, y);
		}
	if (!isfinite(*xlo))
		return false;
	if (isfinite(c->mark_x))
	{
		*xlo = fmin(*xlo, c->mark_x);
		*xhi = fmax(*xhi, c->mark_x);
	}
	/* a flat range still gets an axis: widen it around the value */
	if (*xhi - *xlo < 1e-12 * fmax(1, fabs(*xlo)))
		*xlo -= 0.5, *xhi += 0.5;
	else
	{
		/* 3 % either side, so the first and last points clear the frame */
		double		pad = 0.03 * (*xhi - *xlo);

		*xlo -= pad;
		*xhi += pad;
	}
	if (*yhi - *ylo < 1e-12 * fmax(1, fabs(*ylo)))
		*ylo -= 0.5, *yhi += 0.5;
	else
	{
		/* 5 % headroom so a curve does not run along the frame */
		double		pad = 0.05 * (*yhi - *ylo);

		*ylo -= pad;
		*yhi += pad;
	}
	return true;
}

static void
set_dash(cairo_t *cr, bool dashed)
{
	static const double dash[] = {6, 4};

	ttsp_cairo.cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
}

/* One series as a polyline in box b; non-finite points break it. */
static void
draw_series(cairo_t *cr, const plot_box *b, const ttsp_series *s, double xlo, double xhi,
			double ylo, double yhi, bool dots_off)
{
	bool		pen_down = false;

	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_rectangle(cr, b->x, b->y, b->w, b->h);
	ttsp_cairo.cairo_clip(cr);
	ttsp_cairo.cairo_set_source_rgb(cr, s->rgb[0] / 255.0, s->rgb[1] / 255.0, s->rgb[2] / 255.0);
	ttsp_cairo.cairo_set_line_width(cr, 2);
	ttsp_cairo.cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	set_dash(cr, s->dashed);
	for (int i = 0; i < s->n; i++)
	{
		double		px,
					py;

		if (!isfinite(s->x[i]) || !isfinite(s->y[i]))
		{
			pen_down = false;
			continue;
		}
		px = b->x + (s->x[i] - xlo) / (xhi - xlo) * b->w;
		py = b->y + b->h - (s->y[i] - ylo) / (yhi - ylo) * b->h;
		if (pen_down)
			ttsp_cairo.cairo_line_to(cr, px, py);
		else
			ttsp_cairo.cairo_move_to(cr, px, py);
		pen_down = true;
	}
	ttsp_cairo.cairo_stroke(cr);
	/* points as dots too when there are few (one epoch shows as a dot); not on a ROC curve */
	if (s->n <= 40 && !dots_off)
		for (int i = 0; i < s->n; i++)
			if (isfinite(s->x[i]) && isfinite(s->y[i]))
			{
				ttsp_cairo.cairo_arc(cr, b->x + (s->x[i] - xlo) / (xhi - xlo) * b->w,
						  b->y + b->h - (s->y[i] - ylo) / (yhi - ylo) * b->h, 3, 0, 2 * M_PI);
				ttsp_cairo.cairo_fill(cr);
			}
	ttsp_cairo.cairo_restore(cr);
}

/* The top left of a w x h panel in corner k of box b. */
static void
corner_origin(const plot_box *b, plot_corner k, double w, double h, double *x, double *y)
{
	bool		right = k == PLOT_TOP_RIGHT || k == PLOT_BOTTOM_RIGHT,
				top = k == PLOT_TOP_RIGHT || k == PLOT_TOP_LEFT;

	*x = right ? b->x + b->w - w - 6 : b->x + 6;
	*y = top ? b->y + 8 : b->y + b->h - h - 8;
}

/* Points of c's series inside the rectangle (rx, ry, w, h), segments at 16 points each. */
static int
covered(const plot_box *b, const ttsp_chart *c, double xlo, double xhi, double ylo, double yhi,
		double rx, double ry, double w, double h)
{
	int			n = 0;

	for (int s = 0; s < c->n_series; s++)
	{
		const ttsp_series *se = &c->series[s];

		for (int i = 0; i < se->n; i++)
		{
			double		x0 = se->x[i],
						y0 = se->y[i],
						x1 = i + 1 < se->n ? se->x[i + 1] : x0,
						y1 = i + 1 < se->n ? se->y[i + 1] : y0;

			if (!isfinite(x0) || !isfinite(y0))
				continue;
			if (!isfinite(x1) || !isfinite(y1))
				x1 = x0, y1 = y0;
			for (int k = 0; k < 16; k++)
			{
				double		f = k / 16.0,
							px = b->x + (x0 + f * (x1 - x0) - xlo) / (xhi - xlo) * b->w,
							py = b->y + b->h - (y0 + f * (y1 - y0) - ylo) / (yhi - ylo) * b->h;

				n += px >= rx && px <= rx + w && py >= ry && py <= ry + h;
			}
		}
	}
	return n;
}

plot_corner
plot_legend_corner(const plot_box *b, const ttsp_chart *c, double xlo, double xhi, double ylo,
				   double yhi, double w, double h, double *x, double *y)
{
	static const plot_corner chart_order[] = {PLOT_TOP_RIGHT, PLOT_TOP_LEFT, PLOT_BOTTOM_RIGHT, PLOT_BOTTOM_LEFT};
	static const plot_corner roc_order[] = {PLOT_BOTTOM_RIGHT, PLOT_TOP_LEFT, PLOT_TOP_RIGHT, PLOT_BOTTOM_LEFT};
	const plot_corner *order = c->unit_square ? roc_order : chart_order;
	plot_corner best = order[0];
	int			fewest = -1;

	for (int i = 0; i < 4; i++)
	{
		double		rx,
					ry;
		int			n;

		corner_origin(b, order[i], w, h, &rx, &ry);
		n = covered(b, c, xlo, xhi, ylo, yhi, rx, ry, w, h);
		if (fewest < 0 || n < fewest)
			best = order[i], fewest = n;
	}
	corner_origin(b, best, w, h, x, y);
	return best;
}

double
plot_legend_headroom(const plot_box *b, const ttsp_chart *c, double xlo, double xhi, double ylo,
					 double yhi, double w, double h)
{
	double		x,
				y,
				ymax = -INFINITY,
				room = b->h - 12 - h;

	plot_legend_corner(b, c, xlo, xhi, ylo, yhi, w, h, &x, &y);
	if (c->unit_square || room < b->h / 3 || covered(b, c, xlo, xhi, ylo, yhi, x, y, w, h) == 0)
		return yhi;
	for (int s = 0; s < c->n_series; s++)
		for (int i = 0; i < c->series[s].n; i++)
			if (isfinite(c->series[s].x[i]) && isfinite(c->series[s].y[i]))
				ymax = fmax(ymax, c->series[s].y[i]);
	/* ymax at pixel b->y + 12 + h: (ymax - ylo) / (top - ylo) = room / b->h */
	return fmax(yhi, ylo + (ymax - ylo) * b->h / room);
}

/* The legend panel's size: a row per series and one for the mark. */
static void
legend_size(cairo_t *cr, const ttsp_chart *c, bool mark, double *w, double *h)
{
	int			rows = c->n_series + (mark ? 1 : 0);
	double		wmax = 0;
	cairo_text_extents_t te;

	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_select_font_face(cr, PLOT_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	ttsp_cairo.cairo_set_font_size(cr, PLOT_FONT_SIZE);
	for (int r = 0; r < rows; r++)
	{
		ttsp_cairo.cairo_text_extents(cr, r < c->n_series ? c->series[r].name : c->mark_label, &te);
		wmax = fmax(wmax, te.x_advance);
	}
	ttsp_cairo.cairo_restore(cr);
	*w = wmax + LEGEND_SWATCH + 16;
	*h = rows * LEGEND_ROW + 6;
}

/* Legend rows on a w x h white panel, in the corner that hides the least of the series. */
static void
draw_legend(cairo_t *cr, const plot_box *b, const ttsp_chart *c, bool mark, double xlo, double xhi,
			double ylo, double yhi, double w, double h)
{
	int			rows = c->n_series + (mark ? 1 : 0);
	double		x,
				y;

	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_select_font_face(cr, PLOT_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	ttsp_cairo.cairo_set_font_size(cr, PLOT_FONT_SIZE);
	plot_legend_corner(b, c, xlo, xhi, ylo, yhi, w, h, &x, &y);
	ttsp_cairo.cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
	ttsp_cairo.cairo_rectangle(cr, x, y, w, h);
	ttsp_cairo.cairo_fill_preserve(cr);
	ttsp_cairo.cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
	ttsp_cairo.cairo_set_line_width(cr, 1);
	ttsp_cairo.cairo_stroke(cr);
	for (int r = 0; r < rows; r++)
	{
		double		ly = y + 3 + (r + 0.5) * LEGEND_ROW;

		if (r < c->n_series)
		{
			const ttsp_series *s = &c->series[r];

			ttsp_cairo.cairo_set_source_rgb(cr, s->rgb[0] / 255.0, s->rgb[1] / 255.0, s->rgb[2] / 255.0);
			ttsp_cairo.cairo_set_line_width(cr, 2);
			set_dash(cr, s->dashed);
		}
		else
		{
			static const double dot[] = {2, 3};

			ttsp_cairo.cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
			ttsp_cairo.cairo_set_line_width(cr, 1.5);
			ttsp_cairo.cairo_set_dash(cr, dot, 2, 0);
		}
		ttsp_cairo.cairo_move_to(cr, x + 6, ly);
		ttsp_cairo.cairo_line_to(cr, x + 6 + LEGEND_SWATCH, ly);
		ttsp_cairo.cairo_stroke(cr);
		plot_text(cr, r < c->n_series ? c->series[r].name : c->mark_label,
				  x + 12 + LEGEND_SWATCH, ly, 0, 0.5, PLOT_FONT_SIZE, 0);
	}
	ttsp_cairo.cairo_restore(cr);
}

/* A dotted vertical line at x (the best epoch). */
static void
draw_mark(cairo_t *cr, const plot_box *b, double x, double xlo, double xhi)
{
	static const double dot[] = {2, 3};
	double		px = floor(b->x + (x - xlo) / (xhi - xlo) * b->w) + 0.5;

	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
	ttsp_cairo.cairo_set_line_width(cr, 1.5);
	ttsp_cairo.cairo_set_dash(cr, dot, 2, 0);
	ttsp_cairo.cairo_move_to(cr, px, b->y);
	ttsp_cairo.cairo_line_to(cr, px, b->y + b->h);
	ttsp_cairo.cairo_stroke(cr);
	ttsp_cairo.cairo_restore(cr);
}

static void
draw_diagonal(cairo_t *cr, const plot_box *b)
{
	static const double dash[] = {4, 4};

	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
	ttsp_cairo.cairo_set_line_width(cr, 1);
	ttsp_cairo.cairo_set_dash(cr, dash, 2, 0);
	ttsp_cairo.cairo_move_to(cr, b->x, b->y + b->h);
	ttsp_cairo.cairo_line_to(cr, b->x + b->w, b->y);
	ttsp_cairo.cairo_stroke(cr);
	ttsp_cairo.cairo_restore(cr);
}

ttsp_status
ttsp_draw_chart(ttsp_plot *p, const ttsp_chart *c, ttsp_error *err)
{
	cairo_t    *cr = p->cr;
	double		xlo,
				xhi,
				ylo,
				yhi;
	double		top = c->title != NULL ? 36 : 14,
				lw,
				lh;
	bool		mark = isfinite(c->mark_x) && c->mark_label != NULL;
	plot_box	b;

	if (c->n_series < 1)
		return ttsp_fail(err, TTSP_EINVAL, "a chart needs at least one series");
	if (p->width < TTSP_MIN_CHART_WIDTH || p->height < TTSP_MIN_CHART_HEIGHT)
		return ttsp_fail(err, TTSP_EINVAL, "chart size %d x %d is below the smallest, %d x %d",
						 p->width, p->height, TTSP_MIN_CHART_WIDTH, TTSP_MIN_CHART_HEIGHT);
	if (!chart_range(c, &xlo, &xhi, &ylo, &yhi))
		return ttsp_fail(err, TTSP_EINVAL, "nothing to plot: no finite point");
	if (c->unit_square)
		xlo = ylo = 0, xhi = yhi = 1;

	b.x = 78;
	b.y = top;
	b.w = p->width - b.x - 16;
	b.h = p->height - b.y - 52;
	if (c->unit_square)
	{
		/* equal scales, so the diagonal is at 45 degrees */
		b.w = b.h = fmin(b.w, b.h);
		b.x = 78 + (p->width - 78 - 16 - b.w) / 2;
	}
	legend_size(cr, c, mark, &lw, &lh);
	yhi = plot_legend_headroom(&b, c, xlo, xhi, ylo, yhi, lw, lh);
	if (c->title != NULL)
		plot_text(cr, c->title, p->width / 2.0, 10, 0.5, 0, PLOT_TITLE_SIZE, 0);
	plot_x_axis(cr, &b, xlo, xhi, c->x_integer, true, c->x_label);
	plot_y_axis(cr, &b, ylo, yhi, false, true, c->y_label, PLOT_LEFT);
	if (c->unit_square)
		draw_diagonal(cr, &b);
	if (mark)
		draw_mark(cr, &b, c->mark_x, xlo, xhi);
	for (int s = 0; s < c->n_series; s++)
		draw_series(cr, &b, &c->series[s], xlo, xhi, ylo, yhi, c->unit_square);
	plot_frame(cr, &b);
	draw_legend(cr, &b, c, mark, xlo, xhi, ylo, yhi, lw, lh);
	if (ttsp_cairo.cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		return ttsp_fail(err, TTSP_EINTERNAL, "drawing failed: %s",
						 ttsp_cairo.cairo_status_to_string(ttsp_cairo.cairo_status(cr)));
	return TTSP_OK;
}
