/* The canvas, PNG output, the colour map, text and axes shared by all figures. */
#include "plot_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot_ticks.h"

ttsp_plot *
ttsp_plot_create(int width, int height, ttsp_error *err)
{
	ttsp_plot  *p;

	if (width < 1 || height < 1 || width > TTSP_MAX_IMAGE_SIDE || height > TTSP_MAX_IMAGE_SIDE)
	{
		ttsp_fail(err, width < 1 || height < 1 ? TTSP_EINVAL : TTSP_ELIMIT,
				  "picture of %d x %d pixels is outside 1 to %d per side",
				  width, height, TTSP_MAX_IMAGE_SIDE);
		return NULL;
	}
	if (ttsp_cairo_load(err) != TTSP_OK)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
	{
		ttsp_fail(err, TTSP_ENOMEM, "out of memory for a picture");
		return NULL;
	}
	p->width = width;
	p->height = height;
	p->surface = ttsp_cairo.cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
	p->cr = ttsp_cairo.cairo_create(p->surface);
	if (ttsp_cairo.cairo_surface_status(p->surface) != CAIRO_STATUS_SUCCESS ||
		ttsp_cairo.cairo_status(p->cr) != CAIRO_STATUS_SUCCESS)
	{
		ttsp_plot_destroy(p);
		ttsp_fail(err, TTSP_ENOMEM, "out of memory for a %d x %d picture", width, height);
		return NULL;
	}
	ttsp_cairo.cairo_set_source_rgb(p->cr, 1, 1, 1);
	ttsp_cairo.cairo_paint(p->cr);
	return p;
}

void
ttsp_plot_destroy(ttsp_plot *p)
{
	if (p == NULL)
		return;
	/* both are reference counted and safe to destroy in the error state */
	if (p->cr != NULL)
		ttsp_cairo.cairo_destroy(p->cr);
	if (p->surface != NULL)
		ttsp_cairo.cairo_surface_destroy(p->surface);
	free(p);
}

int
ttsp_plot_width(const ttsp_plot *p)
{
	return p->width;
}

int
ttsp_plot_height(const ttsp_plot *p)
{
	return p->height;
}

void
ttsp_plot_pixel(ttsp_plot *p, int x, int y, uint8_t rgb[3])
{
	const uint8_t *row;
	uint32_t	px;

	ttsp_cairo.cairo_surface_flush(p->surface);
	row = ttsp_cairo.cairo_image_surface_get_data(p->surface) + (size_t) y * ttsp_cairo.cairo_image_surface_get_stride(p->surface);
	/* RGB24: one native-endian 32-bit word per pixel, 0x00RRGGBB */
	memcpy(&px, row + (size_t) x * 4, 4);
	rgb[0] = (px >> 16) & 0xff;
	rgb[1] = (px >> 8) & 0xff;
	rgb[2] = px & 0xff;
}

typedef struct png_sink
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} png_sink;

static cairo_status_t
sink_write(void *closure, const unsigned char *bytes, unsigned int n)
{
	png_sink   *s = closure;

	if (s->len + n > s->cap)
	{
		size_t		cap = (s->len + n) * 2;
		uint8_t    *d = realloc(s->data, cap);

		if (d == NULL)
			return CAIRO_STATUS_NO_MEMORY;
		s->data = d;
		s->cap = cap;
	}
	memcpy(s->data + s->len, bytes, n);
	s->len += n;
	return CAIRO_STATUS_SUCCESS;
}

ttsp_status
ttsp_plot_png(ttsp_plot *p, uint8_t **png, size_t *len, ttsp_error *err)
{
	png_sink	sink = {NULL, 0, 0};
	cairo_status_t st;

	*png = NULL;
	*len = 0;
	if (ttsp_cairo.cairo_status(p->cr) != CAIRO_STATUS_SUCCESS)
		return ttsp_fail(err, TTSP_EINTERNAL, "drawing failed: %s",
						 ttsp_cairo.cairo_status_to_string(ttsp_cairo.cairo_status(p->cr)));
	ttsp_cairo.cairo_surface_flush(p->surface);
	st = ttsp_cairo.cairo_surface_write_to_png_stream(p->surface, sink_write, &sink);
	if (st != CAIRO_STATUS_SUCCESS)
	{
		free(sink.data);
		return ttsp_fail(err, st == CAIRO_STATUS_NO_MEMORY ? TTSP_ENOMEM : TTSP_EINTERNAL,
						 "PNG encoding failed: %s", ttsp_cairo.cairo_status_to_string(st));
	}
	*png = sink.data;
	*len = sink.len;
	return TTSP_OK;
}

void
ttsp_viridis(double t, uint8_t rgb[3])
{
	/* Degree-6 fit of matplotlib's viridis, one polynomial per channel. */
	static const double c[7][3] = {
		{0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
		{0.1050930431085774, 1.404613529898575, 1.384590162594685},
		{-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
		{-4.634230498983486, -5.799100973351585, -19.33244095627987},
		{6.228269936347081, 14.17993336680509, 56.69055260068105},
		{4.776384997670288, -13.74514537774601, -65.35303263337234},
		{-5.435455855934631, 4.645852612178535, 26.3124352495832},
	};

	if (!(t > 0))
		t = 0;
	if (t > 1)
		t = 1;
	for (int k = 0; k < 3; k++)
	{
		double		v = c[6][k];

		for (int i = 5; i >= 0; i--)
			v = v * t + c[i][k];
		v = v < 0 ? 0 : v > 1 ? 1 : v;
		rgb[k] = (uint8_t) lround(v * 255);
	}
}

void
plot_text(cairo_t *cr, const char *s, double x, double y, double ax, double ay,
		  double size, double angle)
{
	cairo_text_extents_t te;
	cairo_font_extents_t fe;

	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_select_font_face(cr, PLOT_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	ttsp_cairo.cairo_set_font_size(cr, size);
	ttsp_cairo.cairo_text_extents(cr, s, &te);
	ttsp_cairo.cairo_font_extents(cr, &fe);
	ttsp_cairo.cairo_translate(cr, x, y);
	ttsp_cairo.cairo_rotate(cr, angle);
	/* anchor on the advance width and the font's ascent, not the ink, so
	 * labels of different digits line up */
	ttsp_cairo.cairo_move_to(cr, -ax * te.x_advance, (1 - ay) * fe.ascent);
	ttsp_cairo.cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
	ttsp_cairo.cairo_show_text(cr, s);
	ttsp_cairo.cairo_restore(cr);
}

void
plot_frame(cairo_t *cr, const plot_box *b)
{
	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
	ttsp_cairo.cairo_set_line_width(cr, 1);
	/* half-pixel offsets: a 1-pixel line on pixel centres stays sharp */
	ttsp_cairo.cairo_rectangle(cr, floor(b->x) - 0.5, floor(b->y) - 0.5, ceil(b->w) + 1, ceil(b->h) + 1);
	ttsp_cairo.cairo_stroke(cr);
	ttsp_cairo.cairo_restore(cr);
}

/* One axis along an edge of box: ticks, labels, grid lines across it, its label. */
static void
plot_axis(cairo_t *cr, const plot_box *b, double lo, double hi, bool integer, bool grid,
		  const char *label, plot_side side)
{
	double		ticks[TTSP_MAX_TICKS],
				step;
	bool		along_x = side == PLOT_BOTTOM;
	double		extent = along_x ? b->w : b->h;
	int			max_ticks = (int) fmax(2, fmin(10, extent / (along_x ? 80 : 40)));
	int			n = ttsp_ticks(lo, hi, max_ticks, integer, ticks, &step);
	double		edge = side == PLOT_RIGHT ? b->x + b->w + 1 : b->x - 1;
	double		dir = side == PLOT_RIGHT ? 1 : -1;
	char		buf[48];

	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_set_line_width(cr, 1);
	for (int i = 0; i < n; i++)
	{
		double		f = hi > lo ? (ticks[i] - lo) / (hi - lo) : 0.5;
		/* pixel-centred position of the tick */
		double		pos = along_x ? floor(b->x + f * b->w) + 0.5 : floor(b->y + b->h - f * b->h) + 0.5;

		if (grid)
		{
			ttsp_cairo.cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
			if (along_x)
			{
				ttsp_cairo.cairo_move_to(cr, pos, b->y);
				ttsp_cairo.cairo_line_to(cr, pos, b->y + b->h);
			}
			else
			{
				ttsp_cairo.cairo_move_to(cr, b->x, pos);
				ttsp_cairo.cairo_line_to(cr, b->x + b->w, pos);
			}
			ttsp_cairo.cairo_stroke(cr);
		}
		ttsp_cairo.cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
		ttsp_tick_label(ticks[i], step, buf, sizeof(buf));
		if (along_x)
		{
			ttsp_cairo.cairo_move_to(cr, pos, b->y + b->h + 1);
			ttsp_cairo.cairo_line_to(cr, pos, b->y + b->h + 1 + PLOT_TICK_LEN);
			ttsp_cairo.cairo_stroke(cr);
			plot_text(cr, buf, pos, b->y + b->h + PLOT_TICK_LEN + 3, 0.5, 0, PLOT_FONT_SIZE, 0);
		}
		else
		{
			ttsp_cairo.cairo_move_to(cr, edge, pos);
			ttsp_cairo.cairo_line_to(cr, edge + dir * PLOT_TICK_LEN, pos);
			ttsp_cairo.cairo_stroke(cr);
			plot_text(cr, buf, edge + dir * (PLOT_TICK_LEN + 3), pos, side == PLOT_RIGHT ? 0 : 1, 0.5,
					  PLOT_FONT_SIZE, 0);
		}
	}
	ttsp_cairo.cairo_restore(cr);
	if (label == NULL)
		return;
	if (along_x)
		plot_text(cr, label, b->x + b->w / 2, b->y + b->h + PLOT_TICK_LEN + 20, 0.5, 0,
				  PLOT_FONT_SIZE, 0);
	else if (side == PLOT_LEFT)
		plot_text(cr, label, b->x - 62, b->y + b->h / 2, 0.5, 0, PLOT_FONT_SIZE, -M_PI / 2);
	else
		plot_text(cr, label, edge + 60, b->y + b->h / 2, 0.5, 1, PLOT_FONT_SIZE, -M_PI / 2);
}

void
plot_x_axis(cairo_t *cr, const plot_box *b, double lo, double hi, bool integer, bool grid,
			const char *label)
{
	plot_axis(cr, b, lo, hi, integer, grid, label, PLOT_BOTTOM);
}

void
plot_y_axis(cairo_t *cr, const plot_box *b, double lo, double hi, bool integer, bool grid,
			const char *label, plot_side side)
{
	plot_axis(cr, b, lo, hi, integer, grid, label, side);
}
