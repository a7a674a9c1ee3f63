/*
 * Pictures for people, drawn with cairo (anti-aliased text in DejaVu Sans,
 * clean lines and fills) and encoded as PNG by cairo: spectrograms with
 * time and frequency axes and a colour bar, optionally with a saliency map
 * over them, and line charts (loss curves, ROC curves) with ticks, a grid
 * and a legend.  No postgres.h.
 *
 * Life cycle: ttsp_plot_create makes a white canvas of the size a figure
 * asks (ttsp_spec_figure_size, or the caller's for a chart), a draw call
 * paints it, ttsp_plot_png encodes it, ttsp_plot_destroy frees it.  The
 * caller owns the canvas between create and destroy (the SQL glue ties it
 * to a memory context so an error or cancel frees it).
 *
 * Text: the first text drawn in a process starts fontconfig (it reads its
 * configuration and font cache), which costs tens of milliseconds once;
 * nothing here does that before a picture with text is drawn.
 */
#ifndef TTSP_PLOT_H
#define TTSP_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttsp_status.h"

/* Limit on either side of a picture, so a request cannot ask for gigabytes. */
#define TTSP_MAX_IMAGE_SIDE 16384
/* Smallest chart the layout fits in. */
#define TTSP_MIN_CHART_WIDTH 200
#define TTSP_MIN_CHART_HEIGHT 150
/* Width of a spectrogram's image area; wider inputs are folded to it by the caller. */
#define TTSP_SPEC_WIDTH 768

typedef struct ttsp_plot ttsp_plot;

/* A white width x height canvas; NULL with err set on a bad size or no memory. */
ttsp_plot  *ttsp_plot_create(int width, int height, ttsp_error *err);
/* Safe on NULL. */
void		ttsp_plot_destroy(ttsp_plot *p);
int			ttsp_plot_width(const ttsp_plot *p);
int			ttsp_plot_height(const ttsp_plot *p);
/* The pixel at (x, y) as RGB (for tests). */
void		ttsp_plot_pixel(ttsp_plot *p, int x, int y, uint8_t rgb[3]);
/* PNG bytes into *png (malloc'd; free it with free()). */
ttsp_status ttsp_plot_png(ttsp_plot *p, uint8_t **png, size_t *len, ttsp_error *err);

/* matplotlib's viridis at t in [0, 1] (polynomial fit, within 4/255). */
void		ttsp_viridis(double t, uint8_t rgb[3]);

/* Spectrograms ---------------------------------------------------------- */

typedef struct ttsp_spec_figure
{
	const float *values;		/* [channels][rows][cols], row 0 the lowest */
	int			channels,
				rows,
				cols;
	double		lo,
				hi;				/* colour range: lo and below dark, hi yellow */
	double		seconds;		/* time at the right edge (the left is 0) */
	double		y_lo,
				y_hi;			/* axis values at the bottom and top of a band */
	bool		y_integer;		/* index axis (mel bin, MFCC): whole-number ticks */
	const char *y_label;		/* e.g. "frequency (Hz)" */
	const char *c_label;		/* colour bar, e.g. "dB" */
	const char *title;			/* NULL: none */
	/*
	 * NULL, or saliency [channels][rows][cols] in [0, 1]: the spectrogram is
	 * then drawn in grey and this in red to yellow over it, opacity rising
	 * with the value, with a second colour bar.
	 */
	const float *overlay;
	const char *overlay_label;
} ttsp_spec_figure;

/*
 * Canvas size for f: TTSP_SPEC_WIDTH image columns plus axes and colour
 * bars; each channel a band of 256 rows (one channel) or 160 (more).
 * TTSP_ELIMIT beyond TTSP_MAX_IMAGE_SIDE or more than TTSP_MAX_IMAGE_SIDE
 * rows or columns; TTSP_EINVAL when empty.
 */
ttsp_status ttsp_spec_figure_size(const ttsp_spec_figure *f, int *width, int *height,
								  ttsp_error *err);

/* Draw f on a canvas of ttsp_spec_figure_size. */
ttsp_status ttsp_draw_spectrogram(ttsp_plot *p, const ttsp_spec_figure *f, ttsp_error *err);

/* Line charts ----------------------------------------------------------- */

typedef struct ttsp_series
{
	const char *name;			/* legend text */
	const double *x;
	const double *y;			/* non-finite points are skipped (a gap) */
	int			n;
	uint8_t		rgb[3];
	bool		dashed;
} ttsp_series;

typedef struct ttsp_chart
{
	const ttsp_series *series;
	int			n_series;
	const char *title;			/* NULL: none */
	const char *x_label;
	const char *y_label;
	bool		x_integer;		/* whole-number x ticks (epochs) */
	/* both axes 0..1, square, with the dashed chance diagonal (ROC) */
	bool		unit_square;
	double		mark_x;			/* NaN, or an x to mark with a dotted line */
	const char *mark_label;		/* its legend text */
} ttsp_chart;

/*
 * Draw c over the whole canvas: axes with ticks from the data's range (x
 * and y ranges of all finite points), a grid, the series, the mark and a
 * legend.  TTSP_EINVAL with no series or no finite point, or a canvas
 * smaller than TTSP_MIN_CHART_WIDTH x TTSP_MIN_CHART_HEIGHT.
 */
ttsp_status ttsp_draw_chart(ttsp_plot *p, const ttsp_chart *c, ttsp_error *err);

#endif
