/*
 * Spectrogram figures: one band per channel with a frequency (or index)
 * axis, a time axis in seconds under the last band, a colour bar and,
 * optionally, a saliency map over a grey spectrogram.
 */
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SPEC_LEFT 86
#define SPEC_BOTTOM 52
#define SPEC_BAR_SPACE 96		/* one colour bar with its ticks and label */
#define SPEC_BAR_WIDTH 14
#define SPEC_BAND_GAP 12

static int
band_height(const ttsp_spec_figure *f)
{
	return f->channels == 1 ? 256 : 160;
}

static int
top_margin(const ttsp_spec_figure *f)
{
	return f->title != NULL ? 36 : 14;
}

ttsp_status
ttsp_spec_figure_size(const ttsp_spec_figure *f, int *width, int *height, ttsp_error *err)
{
	int64_t		h;

	if (f->channels < 1 || f->rows < 1 || f->cols < 1)
		return ttsp_fail(err, TTSP_EINVAL, "nothing to draw: %d channels x %d bins x %d frames",
						 f->channels, f->rows, f->cols);
	if (f->rows > TTSP_MAX_IMAGE_SIDE || f->cols > TTSP_MAX_IMAGE_SIDE)
		return ttsp_fail(err, TTSP_ELIMIT, "%d bins x %d columns exceed the limit of %d per side",
						 f->rows, f->cols, TTSP_MAX_IMAGE_SIDE);
	h = top_margin(f) + (int64_t) f->channels * (band_height(f) + SPEC_BAND_GAP) - SPEC_BAND_GAP +
		SPEC_BOTTOM;
	if (h > TTSP_MAX_IMAGE_SIDE)
		return ttsp_fail(err, TTSP_ELIMIT,
						 "%d channels need a picture %lld pixels tall, over the limit of %d",
						 f->channels, (long long) h, TTSP_MAX_IMAGE_SIDE);
	*height = (int) h;
	*width = SPEC_LEFT + TTSP_SPEC_WIDTH + SPEC_BAR_SPACE * (f->overlay != NULL ? 2 : 1);
	return TTSP_OK;
}

/*
 * Saliency colour: red at 0 to yellow at 1, opacity proportional to t, so
 * that faint saliency leaves the spectrogram visible and only strong
 * saliency covers it.
 */
static void
overlay_rgb(double t, double rgb[3], double *alpha)
{
	t = t > 1 ? 1 : t > 0 ? t : 0;
	rgb[0] = 1;
	rgb[1] = 0.9 * t;
	rgb[2] = 0.1 * t;
	*alpha = 0.9 * t;
}

/* The grey used under a saliency map: dark for quiet, light for loud. */
static double
base_grey(double t)
{
	t = t > 1 ? 1 : t > 0 ? t : 0;
	return 0.08 + 0.62 * t;
}

/* Pixel (0x00RRGGBB) of value t in [0, 1], with the overlay's s blended in. */
static uint32_t
cell_pixel(double t, const float *overlay, double s)
{
	double		c[3];

	if (overlay == NULL)
	{
		uint8_t		v[3];

		ttsp_viridis(t, v);
		return (uint32_t) v[0] << 16 | (uint32_t) v[1] << 8 | v[2];
	}
	else
	{
		double		o[3],
					a,
					g = base_grey(t);

		overlay_rgb(s, o, &a);
		for (int k = 0; k < 3; k++)
			c[k] = g * (1 - a) + o[k] * a;
		return (uint32_t) lround(c[0] * 255) << 16 | (uint32_t) lround(c[1] * 255) << 8 |
			(uint32_t) lround(c[2] * 255);
	}
}

/* Channel ch's cells as a cols x rows image, row 0 at the bottom. */
static cairo_surface_t *
band_surface(const ttsp_spec_figure *f, int ch)
{
	cairo_surface_t *s = ttsp_cairo.cairo_image_surface_create(CAIRO_FORMAT_RGB24, f->cols, f->rows);
	double		span = f->hi > f->lo ? f->hi - f->lo : 1;
	uint8_t    *data;
	int			stride;

	if (ttsp_cairo.cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		return s;
	ttsp_cairo.cairo_surface_flush(s);
	data = ttsp_cairo.cairo_image_surface_get_data(s);
	stride = ttsp_cairo.cairo_image_surface_get_stride(s);
	for (int r = 0; r < f->rows; r++)
	{
		size_t		off = ((size_t) ch * f->rows + r) * f->cols;
		uint32_t   *line = (uint32_t *) (data + (size_t) (f->rows - 1 - r) * stride);

		for (int x = 0; x < f->cols; x++)
			line[x] = cell_pixel((f->values[off + x] - f->lo) / span, f->overlay,
								 f->overlay != NULL ? f->overlay[off + x] : 0);
	}
	ttsp_cairo.cairo_surface_mark_dirty(s);
	return s;
}

/* Paint src stretched over box b: blocks when enlarged, averaged when shrunk. */
static void
paint_stretched(cairo_t *cr, cairo_surface_t *src, int cols, int rows, const plot_box *b)
{
	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_rectangle(cr, b->x, b->y, b->w, b->h);
	ttsp_cairo.cairo_clip(cr);
	ttsp_cairo.cairo_translate(cr, b->x, b->y);
	ttsp_cairo.cairo_scale(cr, b->w / cols, b->h / rows);
	ttsp_cairo.cairo_set_source_surface(cr, src, 0, 0);
	ttsp_cairo.cairo_pattern_set_filter(ttsp_cairo.cairo_get_source(cr),
							 cols > b->w || rows > b->h ? CAIRO_FILTER_GOOD : CAIRO_FILTER_NEAREST);
	/* edges take the border pixels rather than fading to black */
	ttsp_cairo.cairo_pattern_set_extend(ttsp_cairo.cairo_get_source(cr), CAIRO_EXTEND_PAD);
	ttsp_cairo.cairo_paint(cr);
	ttsp_cairo.cairo_restore(cr);
}

typedef enum bar_kind
{
	BAR_VIRIDIS,
	BAR_GREY,					/* the spectrogram under a saliency map */
	BAR_SALIENCY
} bar_kind;

/* A vertical colour bar at bar, colour(t) from t = 0 at the bottom, ticks on its right. */
static void
colour_bar(cairo_t *cr, const plot_box *bar, double lo, double hi, bar_kind kind, const char *label)
{
	int			n = (int) bar->h;

	for (int i = 0; i < n; i++)
	{
		double		t = (i + 0.5) / n;
		double		rgb[3],
					a;

		if (kind == BAR_GREY)
			rgb[0] = rgb[1] = rgb[2] = base_grey(t);
		else if (kind == BAR_SALIENCY)
		{
			double		g = base_grey(0.35);

			overlay_rgb(t, rgb, &a);
			for (int k = 0; k < 3; k++)
				rgb[k] = g * (1 - a) + rgb[k] * a;
		}
		else
		{
			uint8_t		v[3];

			ttsp_viridis(t, v);
			for (int k = 0; k < 3; k++)
				rgb[k] = v[k] / 255.0;
		}
		ttsp_cairo.cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		ttsp_cairo.cairo_rectangle(cr, bar->x, bar->y + bar->h - i - 1, bar->w, 1);
		ttsp_cairo.cairo_fill(cr);
	}
	plot_frame(cr, bar);
	plot_y_axis(cr, bar, lo, hi, false, false, label, PLOT_RIGHT);
}

/* The channel's name in the band's top-left corner, on a dark plate. */
static void
channel_label(cairo_t *cr, const plot_box *b, int ch)
{
	char		buf[32];
	cairo_text_extents_t te;

	snprintf(buf, sizeof(buf), "channel %d", ch + 1);
	ttsp_cairo.cairo_save(cr);
	ttsp_cairo.cairo_select_font_face(cr, PLOT_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	ttsp_cairo.cairo_set_font_size(cr, PLOT_FONT_SIZE);
	ttsp_cairo.cairo_text_extents(cr, buf, &te);
	ttsp_cairo.cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
	ttsp_cairo.cairo_rectangle(cr, b->x + 4, b->y + 4, te.x_advance + 10, 18);
	ttsp_cairo.cairo_fill(cr);
	ttsp_cairo.cairo_set_source_rgb(cr, 1, 1, 1);
	ttsp_cairo.cairo_move_to(cr, b->x + 9, b->y + 17);
	ttsp_cairo.cairo_show_text(cr, buf);
	ttsp_cairo.cairo_restore(cr);
}

ttsp_status
ttsp_draw_spectrogram(ttsp_plot *p, const ttsp_spec_figure *f, ttsp_error *err)
{
	cairo_t    *cr = p->cr;
	int			w,
				h;
	int			bh = band_height(f);
	plot_box	b = {SPEC_LEFT, top_margin(f), TTSP_SPEC_WIDTH, bh};
	plot_box	bar;
	ttsp_status st = ttsp_spec_figure_size(f, &w, &h, err);

	if (st != TTSP_OK)
		return st;
	if (w != p->width || h != p->height)
		return ttsp_fail(err, TTSP_EINVAL, "canvas %d x %d is not the figure's %d x %d",
						 p->width, p->height, w, h);
	if (f->title != NULL)
		plot_text(cr, f->title, SPEC_LEFT + TTSP_SPEC_WIDTH / 2.0, 10, 0.5, 0, PLOT_TITLE_SIZE, 0);
	for (int ch = 0; ch < f->channels; ch++)
	{
		cairo_surface_t *src = band_surface(f, ch);

		b.y = top_margin(f) + ch * (bh + SPEC_BAND_GAP);
		if (ttsp_cairo.cairo_surface_status(src) != CAIRO_STATUS_SUCCESS)
		{
			ttsp_cairo.cairo_surface_destroy(src);
			return ttsp_fail(err, TTSP_ENOMEM, "out of memory for a %d x %d band", f->cols, f->rows);
		}
		paint_stretched(cr, src, f->cols, f->rows, &b);
		ttsp_cairo.cairo_surface_destroy(src);
		plot_frame(cr, &b);
		plot_y_axis(cr, &b, f->y_lo, f->y_hi, f->y_integer, false, f->y_label, PLOT_LEFT);
		if (f->channels > 1)
			channel_label(cr, &b, ch);
	}
	plot_x_axis(cr, &b, 0, f->seconds, false, false, "time (s)");

	/* colour bars over the height of all bands */
	bar.x = SPEC_LEFT + TTSP_SPEC_WIDTH + 16;
	bar.y = top_margin(f);
	bar.w = SPEC_BAR_WIDTH;
	bar.h = b.y + b.h - bar.y;
	colour_bar(cr, &bar, f->lo, f->hi, f->overlay != NULL ? BAR_GREY : BAR_VIRIDIS, f->c_label);
	if (f->overlay != NULL)
	{
		bar.x += SPEC_BAR_SPACE;
		colour_bar(cr, &bar, 0, 1, BAR_SALIENCY, f->overlay_label);
	}
	if (ttsp_cairo.cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		return ttsp_fail(err, TTSP_EINTERNAL, "drawing failed: %s",
						 ttsp_cairo.cairo_status_to_string(ttsp_cairo.cairo_status(cr)));
	return TTSP_OK;
}
