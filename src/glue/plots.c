/* Pictures from SQL: ttsp_spectrogram_png and ttsp_plot_losses. */
#include "spectrogram.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "image.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_spectrogram_png);
PG_FUNCTION_INFO_V1(ttsp_plot_losses);

/* Aim for a picture about this tall per channel and this wide. */
#define TARGET_BAND_HEIGHT 256
#define TARGET_WIDTH 768
/* Wider spectrograms show the loudest of each run of frames per column. */
#define MAX_COLUMNS 4096

/* PNG bytes as a bytea; frees the encoder's buffer on every path. */
bytea *
ttsp_png_bytea(ttsp_image *img)
{
	uint8_t    *png;
	size_t		len;
	bytea	   *out;
	ttsp_error	err;

	if (ttsp_png_encode(img, &png, &len, &err) != TTSP_OK)
	{
		ttsp_image_free(img);
		ttsp_report(&err);
	}
	ttsp_image_free(img);
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	memcpy(VARDATA(out), png, len);
	free(png);
	return out;
}

/*
 * dB scale (unless already dB, or MFCC: shown as they are), clipped to
 * top_db below the peak, viridis, low frequencies at the bottom, one band
 * per channel; long spectrograms folded to MAX_COLUMNS columns.
 */
Datum
ttsp_spectrogram_png(PG_FUNCTION_ARGS)
{
	Spectrogram *s;
	bool		clip = !PG_ARGISNULL(1);
	double		top_db = clip ? PG_GETARG_FLOAT8(1) : 0;
	Size		n;
	float	   *v;
	double		lo = INFINITY,
				hi = -INFINITY;
	int			step;
	int			cols;
	int			xscale;
	int			yscale;
	ttsp_image	img;
	ttsp_error	err;
	Size		i;

	/* not STRICT: top_db NULL means no clipping */
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = PG_GETARG_SPECTROGRAM_P(0);
	step = (s->h.frames + MAX_COLUMNS - 1) / MAX_COLUMNS;
	cols = (s->h.frames + step - 1) / step;
	n = (Size) s->h.channels * s->h.bins * cols;
	v = palloc(n * sizeof(float));
	xscale = Max(1, TARGET_WIDTH / cols);
	yscale = Max(1, TARGET_BAND_HEIGHT / s->h.bins);
	if (clip && !(top_db > 0 && isfinite(top_db)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_db must be positive or NULL, got %g", top_db)));
	for (i = 0; i < n; i++)
	{
		Size		row = i / cols;
		int			f0 = (int) (i % cols) * step;
		int			f1 = Min(f0 + step, s->h.frames);
		double		x = -INFINITY;
		int			f;

		for (f = f0; f < f1; f++)
			x = Max(x, s->data[row * s->h.frames + f]);
		if (!(s->h.flags & TTSP_SPEC_DB) && s->h.kind != TTSP_KIND_MFCC)
			x = (s->h.power == 1.0f ? 20 : 10) * log10(Max(x, 1e-10));
		v[i] = (float) x;
		lo = Min(lo, x);
		hi = Max(hi, x);
	}
	if (clip && s->h.kind != TTSP_KIND_MFCC)
		lo = Max(lo, hi - top_db);
	ttsp_check(ttsp_heatmap(v, s->h.channels, s->h.bins, cols, lo, hi, xscale, yscale, &img, &err), &err);
	PG_RETURN_BYTEA_P(ttsp_png_bytea(&img));
}

/* A float8[] as a C array of its n values; NULL elements become NaN. */
static double *
series_values(ArrayType *a, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	double	   *v;
	int			i;

	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	v = palloc(Max(*n, 1) * sizeof(double));
	for (i = 0; i < *n; i++)
		v[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
	return v;
}

/* ttsp_plot_losses(train_loss float8[], test_loss float8[], width, height) */
Datum
ttsp_plot_losses(PG_FUNCTION_ARGS)
{
	static const uint8_t colors[2][3] = {{31, 119, 180}, {255, 127, 14}};
	static const char *const names[2] = {"train loss", "test loss"};
	const double *series[2];
	int			n_train,
				n_test;
	ttsp_image	img;
	ttsp_error	err;

	series[0] = series_values(PG_GETARG_ARRAYTYPE_P(0), &n_train);
	series[1] = series_values(PG_GETARG_ARRAYTYPE_P(1), &n_test);
	if (n_train != n_test || n_train == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("loss arrays must have the same, non-zero length; got %d and %d", n_train, n_test)));
	ttsp_check(ttsp_line_plot(series, names, colors, 2, n_train, PG_GETARG_INT32(2), PG_GETARG_INT32(3),
							  &img, &err), &err);
	PG_RETURN_BYTEA_P(ttsp_png_bytea(&img));
}
