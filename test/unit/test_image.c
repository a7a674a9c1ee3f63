/* Colour map against matplotlib's viridis, heat-map layout, PNG encoding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "tap.h"

static int
close_rgb(const uint8_t *a, int r, int g, int b, int tol)
{
	return abs(a[0] - r) <= tol && abs(a[1] - g) <= tol && abs(a[2] - b) <= tol;
}

int
main(void)
{
	uint8_t		rgb[3];
	ttsp_image	img;
	ttsp_error	err;
	uint8_t    *png;
	size_t		len;
	/* 1 channel, 2 rows (row 0 = low frequency), 3 columns */
	const float values[6] = {0, 0, 0, 1, 1, 1};

	/* matplotlib.cm.viridis(0), (0.5), (1) * 255 */
	ttsp_viridis(0, rgb);
	ok(close_rgb(rgb, 68, 1, 84, 4), "viridis(0) is dark purple (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ttsp_viridis(0.5, rgb);
	ok(close_rgb(rgb, 33, 145, 140, 4), "viridis(0.5) is teal (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
	ttsp_viridis(1, rgb);
	ok(close_rgb(rgb, 253, 231, 37, 4), "viridis(1) is yellow (%d,%d,%d)", rgb[0], rgb[1], rgb[2]);

	ok(ttsp_heatmap(values, 1, 2, 3, 0, 1, 2, 3, &img, &err) == TTSP_OK && img.width == 6 && img.height == 6,
	   "a 2 x 3 heat map at scale 2 x 3 is 6 x 6 pixels");
	ok(close_rgb(img.pixels, 253, 231, 37, 4), "the high row is on top");
	ok(close_rgb(img.pixels + (5 * 6 + 5) * 3, 68, 1, 84, 4), "row 0 is at the bottom");
	ok(ttsp_png_encode(&img, &png, &len, &err) == TTSP_OK, "PNG encoding");
	ok(len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0, "PNG signature (%zu bytes)", len);
	free(png);
	ttsp_image_free(&img);
	ok(ttsp_heatmap(values, 1, 2, 3, 0, 1, 10000, 1, &img, &err) == TTSP_ELIMIT, "oversized image: %s", err.msg);
	ok(ttsp_heatmap(values, 1, 2, 3, 0, 1, 0, 1, &img, &err) == TTSP_EINVAL, "zero scale: %s", err.msg);

	{
		const double a[4] = {1, 0.5, 0.25, 0.2};
		const double b[4] = {0.9, 0.6, NAN, 0.4};
		const double *series[2] = {a, b};
		const char *names[2] = {"train loss", "test loss"};
		const uint8_t colors[2][3] = {{31, 119, 180}, {255, 127, 14}};
		size_t		blue = 0,
					orange = 0;
		size_t		i;

		ok(ttsp_line_plot(series, names, colors, 2, 4, 320, 200, &img, &err) == TTSP_OK &&
		   img.width == 320 && img.height == 200, "a 320 x 200 line plot");
		for (i = 0; i < (size_t) img.width * img.height; i++)
		{
			blue += memcmp(img.pixels + i * 3, colors[0], 3) == 0;
			orange += memcmp(img.pixels + i * 3, colors[1], 3) == 0;
		}
		ok(blue > 250 && orange > 250, "both series are drawn (%zu and %zu pixels)", blue, orange);
		/* the first point of series a is the maximum: top-left corner of the plot area */
		ok(memcmp(img.pixels + ((size_t) 40 * img.width + 70) * 3, colors[0], 3) == 0,
		   "the maximum sits at the top of the plot");
		ttsp_image_free(&img);
		ok(ttsp_line_plot(series, names, colors, 2, 4, 10, 10, &img, &err) == TTSP_EINVAL, "tiny plot: %s", err.msg);
	}
	return done_testing();
}
