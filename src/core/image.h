/*
 * Images for people: a perceptual colour map, heat maps of spectrogram
 * blocks and PNG encoding in memory (libpng).  No postgres.h.
 */
#ifndef TTSP_IMAGE_H
#define TTSP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ttsp_status.h"

/* An RGB image, 3 bytes per pixel, rows top to bottom; pixels malloc'd. */
typedef struct ttsp_image
{
	int			width;
	int			height;
	uint8_t    *pixels;
} ttsp_image;

/* Limit on either side, so a request cannot ask for gigabytes. */
#define TTSP_MAX_IMAGE_SIDE 16384

/* matplotlib's viridis at t in [0, 1] (polynomial fit, within 4/255). */
void		ttsp_viridis(double t, uint8_t rgb[3]);

/*
 * Heat map of values [channels][rows][cols]: one band per channel, stacked
 * top to bottom, row 0 (low frequency) at the bottom of its band; values
 * from lo to hi map onto viridis (clamped); each value becomes an
 * xscale x yscale block of pixels; a 2-pixel white line parts the bands.
 */
ttsp_status ttsp_heatmap(const float *values, int channels, int rows, int cols,
						 double lo, double hi, int xscale, int yscale,
						 ttsp_image *img, ttsp_error *err);

/*
 * Line plot of n_series series of n_points values each (NaN points are
 * skipped), y from the data's range, with a labelled y range, an x axis of
 * n_points and a legend of the series names.  width x height pixels.
 */
ttsp_status ttsp_line_plot(const double *const *series, const char *const *names,
						   const uint8_t (*colors)[3], int n_series, int n_points,
						   int width, int height, ttsp_image *img, ttsp_error *err);

/* PNG bytes of img into *png (malloc'd; free it with free()). */
ttsp_status ttsp_png_encode(const ttsp_image *img, uint8_t **png, size_t *len,
							ttsp_error *err);

void		ttsp_image_free(ttsp_image *img);

#endif
