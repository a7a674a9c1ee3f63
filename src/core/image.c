#include "image.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAND_GAP 2

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
	int			k;

	if (!(t > 0))
		t = 0;
	if (t > 1)
		t = 1;
	for (k = 0; k < 3; k++)
	{
		double		v = c[6][k];
		int			i;

		for (i = 5; i >= 0; i--)
			v = v * t + c[i][k];
		v = v < 0 ? 0 : v > 1 ? 1 : v;
		rgb[k] = (uint8_t) lround(v * 255);
	}
}

ttsp_status
ttsp_heatmap(const float *values, int channels, int rows, int cols,
			 double lo, double hi, int xscale, int yscale,
			 ttsp_image *img, ttsp_error *err)
{
	double		span = hi > lo ? hi - lo : 1;
	int64_t		width = (int64_t) cols * xscale;
	int64_t		band = (int64_t) rows * yscale;
	int64_t		height = band * channels + (int64_t) BAND_GAP * (channels - 1);
	int			c,
				r,
				x;

	img->pixels = NULL;
	if (channels < 1 || rows < 1 || cols < 1 || xscale < 1 || yscale < 1)
		return ttsp_fail(err, TTSP_EINVAL, "image of %d x %d x %d values at scale %d x %d is empty",
						 channels, rows, cols, xscale, yscale);
	if (width > TTSP_MAX_IMAGE_SIDE || height > TTSP_MAX_IMAGE_SIDE)
		return ttsp_fail(err, TTSP_ELIMIT, "image of %lld x %lld pixels exceeds the limit of %d per side",
						 (long long) width, (long long) height, TTSP_MAX_IMAGE_SIDE);
	img->width = (int) width;
	img->height = (int) height;
	img->pixels = malloc((size_t) width * height * 3);
	if (img->pixels == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for a %lld x %lld image",
						 (long long) width, (long long) height);
	memset(img->pixels, 255, (size_t) width * height * 3);
	for (c = 0; c < channels; c++)
		for (r = 0; r < rows; r++)
		{
			/* row 0 is the lowest frequency: bottom of the channel's band */
			int64_t		top = c * (band + BAND_GAP) + (int64_t) (rows - 1 - r) * yscale;
			uint8_t    *line = img->pixels + (size_t) top * width * 3;
			int			dy;

			for (x = 0; x < cols; x++)
			{
				uint8_t		rgb[3];
				int			dx;

				ttsp_viridis((values[((size_t) c * rows + r) * cols + x] - lo) / span, rgb);
				for (dx = 0; dx < xscale; dx++)
					memcpy(line + ((size_t) x * xscale + dx) * 3, rgb, 3);
			}
			for (dy = 1; dy < yscale; dy++)
				memcpy(line + (size_t) dy * width * 3, line, (size_t) width * 3);
		}
	return TTSP_OK;
}

/* ---- line plots ---- */

/* A 3 x 5 pixel font: five rows of three bits, top row first. */
static const struct
{
	char		c;
	uint8_t		rows[5];
}			glyphs[] = {
	{'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
	{'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}},
	{'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}},
	{'a', {0, 7, 3, 5, 7}}, {'c', {0, 7, 4, 4, 7}}, {'e', {2, 5, 7, 4, 3}}, {'h', {4, 4, 7, 5, 5}},
	{'i', {2, 0, 2, 2, 2}}, {'l', {6, 2, 2, 2, 7}}, {'n', {0, 6, 5, 5, 5}}, {'o', {0, 7, 5, 5, 7}},
	{'p', {7, 5, 7, 4, 4}}, {'r', {0, 7, 4, 4, 4}}, {'s', {3, 4, 2, 1, 6}}, {'t', {2, 7, 2, 2, 3}},
	{'m', {0, 7, 7, 5, 5}}, {'x', {0, 5, 2, 2, 5}}, {'y', {5, 5, 7, 1, 7}}, {'g', {7, 5, 7, 1, 7}},
};

#define FONT_SCALE 2
#define GLYPH_ADVANCE (4 * FONT_SCALE)

static void
put_pixel(ttsp_image *img, int x, int y, const uint8_t rgb[3])
{
	if (x >= 0 && y >= 0 && x < img->width && y < img->height)
		memcpy(img->pixels + ((size_t) y * img->width + x) * 3, rgb, 3);
}

static void
draw_text(ttsp_image *img, int x, int y, const char *text, const uint8_t rgb[3])
{
	for (; *text; text++, x += GLYPH_ADVANCE)
	{
		size_t		g;

		for (g = 0; g < sizeof(glyphs) / sizeof(glyphs[0]); g++)
			if (glyphs[g].c == *text)
				break;
		if (g == sizeof(glyphs) / sizeof(glyphs[0]))
			continue;			/* space or a character we do not draw */
		for (int r = 0; r < 5 * FONT_SCALE; r++)
			for (int c = 0; c < 3 * FONT_SCALE; c++)
				if (glyphs[g].rows[r / FONT_SCALE] & (4 >> (c / FONT_SCALE)))
					put_pixel(img, x + c, y + r, rgb);
	}
}

/* A 2-pixel-wide line (Bresenham). */
static void
draw_line(ttsp_image *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
	int			dx = abs(x1 - x0),
				dy = -abs(y1 - y0);
	int			sx = x0 < x1 ? 1 : -1,
				sy = y0 < y1 ? 1 : -1;
	int			e = dx + dy;

	for (;;)
	{
		int			e2 = 2 * e;

		put_pixel(img, x0, y0, rgb);
		put_pixel(img, x0 + 1, y0, rgb);
		put_pixel(img, x0, y0 + 1, rgb);
		if (x0 == x1 && y0 == y1)
			break;
		if (e2 >= dy)
		{
			e += dy;
			x0 += sx;
		}
		if (e2 <= dx)
		{
			e += dx;
			y0 += sy;
		}
	}
}

ttsp_status
ttsp_line_plot(const double *const *series, const char *const *names,
			   const uint8_t (*colors)[3], int n_series, int n_points,
			   int width, int height, ttsp_image *img, ttsp_error *err)
{
	static const uint8_t grey[3] = {150, 150, 150};
	static const uint8_t black[3] = {40, 40, 40};
	const int	left = 70,
				right = 20,
				top = 40,
				bottom = 40;
	double		lo = INFINITY,
				hi = -INFINITY;
	char		label[32];
	int			plot_w = width - left - right,
				plot_h = height - top - bottom;

	img->pixels = NULL;
	if (n_series < 1 || n_points < 1)
		return ttsp_fail(err, TTSP_EINVAL, "nothing to plot");
	if (width < 200 || height < 150 || width > TTSP_MAX_IMAGE_SIDE || height > TTSP_MAX_IMAGE_SIDE)
		return ttsp_fail(err, TTSP_EINVAL, "plot size %d x %d is outside 200 x 150 to %d per side",
						 width, height, TTSP_MAX_IMAGE_SIDE);
	for (int s = 0; s < n_series; s++)
		for (int i = 0; i < n_points; i++)
			if (isfinite(series[s][i]))
			{
				lo = fmin(lo, series[s][i]);
				hi = fmax(hi, series[s][i]);
			}
	if (!isfinite(lo))
		lo = 0, hi = 1;
	if (hi - lo < 1e-12)
		hi = lo + 1;
	img->width = width;
	img->height = height;
	img->pixels = malloc((size_t) width * height * 3);
	if (img->pixels == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for a %d x %d plot", width, height);
	memset(img->pixels, 255, (size_t) width * height * 3);

	/* frame, y range, x extent, legend */
	draw_line(img, left, top, left, top + plot_h, grey);
	draw_line(img, left, top + plot_h, left + plot_w, top + plot_h, grey);
	snprintf(label, sizeof(label), "%.4g", hi);
	draw_text(img, 4, top - 4, label, black);
	snprintf(label, sizeof(label), "%.4g", lo);
	draw_text(img, 4, top + plot_h - 6, label, black);
	draw_text(img, left - 4, top + plot_h + 10, "1", black);
	snprintf(label, sizeof(label), "%d epoch", n_points);
	draw_text(img, left + plot_w - GLYPH_ADVANCE * (int) strlen(label), top + plot_h + 10, label, black);
	for (int s = 0; s < n_series; s++)
	{
		int			lx = left + 10 + s * 120;

		draw_line(img, lx, 16, lx + 24, 16, colors[s]);
		draw_text(img, lx + 30, 12, names[s], black);
	}

	for (int s = 0; s < n_series; s++)
	{
		int			px = -1,
					py = -1;

		for (int i = 0; i < n_points; i++)
		{
			int			x,
						y;

			if (!isfinite(series[s][i]))
				continue;
			x = left + (n_points == 1 ? plot_w / 2 : (int) lround((double) i * plot_w / (n_points - 1)));
			y = top + (int) lround((hi - series[s][i]) / (hi - lo) * plot_h);
			if (px >= 0)
				draw_line(img, px, py, x, y, colors[s]);
			else
				put_pixel(img, x, y, colors[s]);
			px = x;
			py = y;
		}
	}
	return TTSP_OK;
}

typedef struct png_sink
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	int			failed;
} png_sink;

static void
sink_write(png_structp png, png_bytep bytes, png_size_t n)
{
	png_sink   *s = png_get_io_ptr(png);

	if (s->len + n > s->cap)
	{
		size_t		cap = (s->len + n) * 2;
		uint8_t    *p = realloc(s->data, cap);

		if (p == NULL)
		{
			s->failed = 1;
			png_error(png, "out of memory");
		}
		s->data = p;
		s->cap = cap;
	}
	memcpy(s->data + s->len, bytes, n);
	s->len += n;
}

static void
sink_flush(png_structp png)
{
	(void) png;
}

ttsp_status
ttsp_png_encode(const ttsp_image *img, uint8_t **out, size_t *len, ttsp_error *err)
{
	png_structp png;
	png_infop	info = NULL;
	png_sink	sink = {NULL, 0, 0, 0};
	png_bytep  *volatile row_ptrs = NULL;
	int			y;

	*out = NULL;
	*len = 0;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (png == NULL || (info = png_create_info_struct(png)) == NULL)
	{
		png_destroy_write_struct(&png, NULL);
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory creating a PNG encoder");
	}
	/* libpng reports errors by longjmp to here */
	if (setjmp(png_jmpbuf(png)))
	{
		png_destroy_write_struct(&png, &info);
		free(row_ptrs);
		free(sink.data);
		return ttsp_fail(err, sink.failed ? TTSP_ENOMEM : TTSP_EINTERNAL, "PNG encoding failed");
	}
	row_ptrs = malloc(sizeof(png_bytep) * img->height);
	if (row_ptrs == NULL)
	{
		sink.failed = 1;
		png_error(png, "out of memory");
	}
	for (y = 0; y < img->height; y++)
		row_ptrs[y] = img->pixels + (size_t) y * img->width * 3;
	png_set_write_fn(png, &sink, sink_write, sink_flush);
	png_set_IHDR(png, info, img->width, img->height, 8, PNG_COLOR_TYPE_RGB,
				 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_rows(png, info, row_ptrs);
	png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
	png_destroy_write_struct(&png, &info);
	free(row_ptrs);
	*out = sink.data;
	*len = sink.len;
	return TTSP_OK;
}

void
ttsp_image_free(ttsp_image *img)
{
	free(img->pixels);
	img->pixels = NULL;
}
