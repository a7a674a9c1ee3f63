/*
 * Pictures from SQL: ttsp_spectrogram_png, ttsp_plot_losses and
 * ttsp_plot_roc.  Drawing is in the core (plot*.c, cairo); this file turns
 * SQL values into figures and ties each canvas to the current memory
 * context, so an ERROR or a cancel between creating and encoding it frees
 * cairo's memory.
 */
#include "plots.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "metrics.h"
#include "plot.h"
#include "args.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_spectrogram_png);
PG_FUNCTION_INFO_V1(ttsp_plot_losses);
PG_FUNCTION_INFO_V1(ttsp_plot_roc);

typedef struct GluePlot
{
	ttsp_plot  *plot;
	MemoryContextCallback cb;
} GluePlot;

static void
release_plot(void *arg)
{
	GluePlot   *gp = arg;

	ttsp_plot_destroy(gp->plot);
	gp->plot = NULL;
}

/* A width x height canvas freed with the current memory context. */
static GluePlot *
glue_plot_create(int width, int height)
{
	GluePlot   *gp = palloc0(sizeof(GluePlot));
	ttsp_error	err;

	gp->cb.func = release_plot;
	gp->cb.arg = gp;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &gp->cb);
	gp->plot = ttsp_plot_create(width, height, &err);
	if (gp->plot == NULL)
		ttsp_report(&err);
	return gp;
}

/* The canvas as PNG bytes; the canvas is freed now rather than at reset. */
static bytea *
glue_plot_png(GluePlot *gp)
{
	uint8_t    *png;
	size_t		len;
	bytea	   *out;
	ttsp_error	err;

	ttsp_check(ttsp_plot_png(gp->plot, &png, &len, &err), &err);
	release_plot(gp);
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	memcpy(VARDATA(out), png, len);
	free(png);
	return out;
}

/*
 * Values of spec folded to at most TTSP_SPEC_WIDTH columns, each the
 * largest of its run of frames (the loudest, or the most salient), as
 * [channel][bin][column]; log scale unless dB or MFCC already.
 */
static float *
fold_columns(const Spectrogram *s, const float *data, bool to_db, int *cols)
{
	int			step = (s->h.frames + TTSP_SPEC_WIDTH - 1) / TTSP_SPEC_WIDTH;
	Size		rows = (Size) s->h.channels * s->h.bins;
	float	   *v;

	*cols = (s->h.frames + step - 1) / step;
	v = palloc(rows * *cols * sizeof(float));
	for (Size r = 0; r < rows; r++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int c = 0; c < *cols; c++)
		{
			int			f1 = Min((c + 1) * step, s->h.frames);
			double		x = -INFINITY;

			for (int f = c * step; f < f1; f++)
				x = Max(x, data[r * s->h.frames + f]);
			if (to_db)
				x = (s->h.power == 1.0f ? 20 : 10) * log10(Max(x, 1e-10));
			v[r * *cols + c] = (float) x;
		}
	}
	return v;
}

bytea *
glue_spectrogram_png(const Spectrogram *s, bool clip, double top_db, const char *title,
					 const float *saliency)
{
	bool		to_db = !(s->h.flags & TTSP_SPEC_DB) && s->h.kind != TTSP_KIND_MFCC;
	ttsp_spec_figure f = {0};
	Size		n;
	double		smax = 0;
	float	   *overlay = NULL;
	int			w,
				h;
	ttsp_error	err;
	GluePlot   *gp;

	if (clip && !(top_db > 0 && isfinite(top_db)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_db must be positive or NULL, got %g", top_db)));
	if (s->h.frames < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spectrogram has no frames to draw")));
	f.values = fold_columns(s, s->data, to_db, &f.cols);
	f.channels = s->h.channels;
	f.rows = s->h.bins;
	n = (Size) f.channels * f.rows * f.cols;
	f.lo = INFINITY;
	f.hi = -INFINITY;
	for (Size i = 0; i < n; i++)
		if (isfinite(f.values[i]))
		{
			f.lo = Min(f.lo, f.values[i]);
			f.hi = Max(f.hi, f.values[i]);
		}
	if (!isfinite(f.lo))
		f.lo = 0, f.hi = 1;
	if (clip && s->h.kind != TTSP_KIND_MFCC)
		f.lo = Max(f.lo, f.hi - top_db);
	f.seconds = (double) s->h.frames * s->h.hop_length / s->h.sample_rate;
	if (s->h.kind == TTSP_KIND_LINEAR)
	{
		/* bin k is k * rate / n_fft Hz: each row spans half a bin either side */
		double		df = (double) s->h.sample_rate / s->h.n_fft;

		f.y_lo = -0.5 * df;
		f.y_hi = (s->h.bins - 0.5) * df;
		f.y_label = "frequency (Hz)";
	}
	else
	{
		f.y_lo = -0.5;
		f.y_hi = s->h.bins - 0.5;
		f.y_integer = true;
		f.y_label = s->h.kind == TTSP_KIND_MEL ? "mel bin" : "MFCC coefficient";
	}
	f.c_label = s->h.kind == TTSP_KIND_MFCC ? "value" : "dB";
	f.title = title;
	if (saliency != NULL)
	{
		overlay = fold_columns(s, saliency, false, &f.cols);
		for (Size i = 0; i < n; i++)
			smax = Max(smax, overlay[i]);
		/* relative to the map's peak: 1 is the most salient cell */
		for (Size i = 0; i < n; i++)
			overlay[i] = smax > 0 ? overlay[i] / smax : 0;
		f.overlay = overlay;
		f.overlay_label = "saliency (relative)";
	}
	ttsp_check(ttsp_spec_figure_size(&f, &w, &h, &err), &err);
	gp = glue_plot_create(w, h);
	ttsp_check(ttsp_draw_spectrogram(gp->plot, &f, &err), &err);
	return glue_plot_png(gp);
}

/* ttsp_spectrogram_png(spec, top_db DEFAULT 80, title DEFAULT NULL) */
Datum
ttsp_spectrogram_png(PG_FUNCTION_ARGS)
{
	/* not STRICT: top_db NULL means no clipping */
	if (arg_isnull(fcinfo, "spec"))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(glue_spectrogram_png(DatumGetSpectrogramP(arg_datum(fcinfo, "spec")),
										   !arg_isnull(fcinfo, "top_db"), arg_float8(fcinfo, "top_db", 0),
										   arg_text(fcinfo, "title"), NULL));
}

/* A 1-D float8[] as a C array of its n values; NULL elements become NaN. */
static double *
series_values(ArrayType *a, int *n, const char *what)
{
	Datum	   *elems;
	bool	   *nulls;
	double	   *v;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	v = palloc(Max(*n, 1) * sizeof(double));
	for (int i = 0; i < *n; i++)
		v[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
	return v;
}

#define LOSS_SERIES 3

/*
 * ttsp_plot_losses(train_loss, test_loss, width DEFAULT 640, height DEFAULT
 * 400, validation_loss DEFAULT NULL, best_epoch DEFAULT NULL, title DEFAULT
 * NULL).  0.1.0 declared the first four, STRICT; now only train_loss is
 * required, and the others are drawn when given.
 */
Datum
ttsp_plot_losses(PG_FUNCTION_ARGS)
{
	/* train, validation, test: matplotlib's first three colours */
	static const char *const args[LOSS_SERIES] = {"train_loss", "validation_loss", "test_loss"};
	static const char *const names[LOSS_SERIES] = {"train loss", "validation loss", "test loss"};
	static const uint8_t colours[LOSS_SERIES][3] = {{31, 119, 180}, {44, 160, 44}, {255, 127, 14}};
	ttsp_series series[LOSS_SERIES];
	ttsp_chart	c = {series, 0, NULL, "epoch", "loss", true, false, NAN, NULL};
	int			n_train = 0;
	int			best = arg_int32(fcinfo, "best_epoch", 0);
	double	   *epochs = NULL;
	char		mark[48];
	ttsp_error	err;
	GluePlot   *gp;

	if (arg_isnull(fcinfo, "train_loss"))
		PG_RETURN_NULL();
	for (int k = 0; k < LOSS_SERIES; k++)
	{
		int			n;
		double	   *y;

		if (arg_isnull(fcinfo, args[k]))
			continue;
		y = series_values(DatumGetArrayTypeP(arg_datum(fcinfo, args[k])), &n, names[k]);
		if (k == 0)
		{
			n_train = n;
			epochs = palloc(Max(n, 1) * sizeof(double));
			for (int i = 0; i < n; i++)
				epochs[i] = i + 1;
		}
		if (n != n_train || n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("loss arrays must have the same, non-zero length; %s has %d, train loss %d",
							names[k], n, n_train)));
		series[c.n_series++] = (ttsp_series)
		{
			names[k], epochs, y, n, {colours[k][0], colours[k][1], colours[k][2]}, k == 2
		};
	}
	if (!arg_isnull(fcinfo, "best_epoch"))
	{
		/* 0: the starting weights were kept (a wide model's start is the linear baseline) */
		if (best < 0 || best > n_train)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("best_epoch %d is not an epoch of 0 (the start) to %d", best, n_train)));
		if (best == 0)
			snprintf(mark, sizeof(mark), "kept: the start (epoch 0)");
		else
			snprintf(mark, sizeof(mark), "best epoch (%d)", best);
		c.mark_x = best;
		c.mark_label = mark;
	}
	c.title = arg_text(fcinfo, "title");
	gp = glue_plot_create(arg_int32(fcinfo, "width", 640), arg_int32(fcinfo, "height", 400));
	ttsp_check(ttsp_draw_chart(gp->plot, &c, &err), &err);
	PG_RETURN_BYTEA_P(glue_plot_png(gp));
}

/* A boolean[] without NULLs as 0/1 ints. */
static int *
label_values(ArrayType *a, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int		   *v;

	deconstruct_array(a, BOOLOID, 1, true, TYPALIGN_CHAR, &elems, &nulls, n);
	v = palloc(Max(*n, 1) * sizeof(int));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("label %d is NULL", i + 1)));
		v[i] = DatumGetBool(elems[i]);
	}
	return v;
}

/*
 * ttsp_plot_roc(scores float8[], labels boolean[], title DEFAULT NULL, width
 * DEFAULT 520, height DEFAULT 480): the ROC curve with its AUC (the
 * metrics' rank-based one) in the legend and the chance diagonal.
 */
Datum
ttsp_plot_roc(PG_FUNCTION_ARGS)
{
	int			n,
				n_labels;
	double	   *scores;
	int		   *labels;
	double	   *fpr,
			   *tpr;
	size_t		points;
	ttsp_class_metrics m;
	char		name[64];
	ttsp_series s = {name, NULL, NULL, 0, {31, 119, 180}, false};
	ttsp_chart	c = {&s, 1, NULL, "false positive rate", "true positive rate", false, true, NAN, NULL};
	ttsp_error	err;
	GluePlot   *gp;

	if (arg_isnull(fcinfo, "scores") || arg_isnull(fcinfo, "labels"))
		PG_RETURN_NULL();
	scores = series_values(DatumGetArrayTypeP(arg_datum(fcinfo, "scores")), &n, "scores");
	labels = label_values(DatumGetArrayTypeP(arg_datum(fcinfo, "labels")), &n_labels);
	if (n != n_labels || n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("scores and labels must have the same, non-zero length; got %d and %d", n, n_labels)));
	for (int i = 0; i < n; i++)
		if (!(scores[i] >= 0 && scores[i] <= 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("score %d (%g) is not a probability in [0, 1]", i + 1, scores[i])));
	fpr = palloc((n + 1) * sizeof(double));
	tpr = palloc((n + 1) * sizeof(double));
	ttsp_check(ttsp_roc_curve(scores, labels, n, fpr, tpr, &points, &err), &err);
	ttsp_check(ttsp_classification_metrics(scores, labels, n, &m, &err), &err);
	snprintf(name, sizeof(name), "ROC, AUC = %.3f", m.roc_auc);
	s.x = fpr;
	s.y = tpr;
	s.n = (int) points;
	c.title = arg_text(fcinfo, "title");
	gp = glue_plot_create(arg_int32(fcinfo, "width", 520), arg_int32(fcinfo, "height", 480));
	ttsp_check(ttsp_draw_chart(gp->plot, &c, &err), &err);
	PG_RETURN_BYTEA_P(glue_plot_png(gp));
}
