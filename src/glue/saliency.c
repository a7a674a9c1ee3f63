/*
 * Saliency: which time-frequency cells moved a model's output.
 *
 * A clip is seen as the windows of the model's `frames` that prediction
 * slides over it (src/core/windows.h: hop of half a window, the last one
 * flush with the clip's end, a short clip padded with the training mean).
 * The saliency of a cell is |d(mean of the windows' raw outputs) / d(cell)|
 * with respect to the model's input, the standardised log features
 * (10 log10 power or 20 log10 magnitude, as is for dB and MFCC, minus the
 * training mean, over the training deviation): the logit for a classifier,
 * the standardised value for a regressor.  A cell in several windows adds
 * up its signed gradients before the magnitude is taken.  A model with a
 * linear term on the whole clip's pooled features (architecture 'cnn')
 * adds that term's gradient, which reaches every cell of the clip.
 */
#include "plots.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "cnn.h"
#include "linear.h"
#include "model.h"

#include "args.h"
#include "ttsp_glue.h"
#include "windows.h"

PG_FUNCTION_INFO_V1(ttsp_saliency);
PG_FUNCTION_INFO_V1(ttsp_saliency_png);

/* Windows per forward/backward pass: bounds scratch memory and cancel latency. */
#define SALIENCY_BATCH 8

/* Add the part of window gradient g ([cb][in->frames]) inside the clip into acc ([cb][frames]). */
static void
window_add(const ModelInput *in, const float *g, int frames, int start, float *acc)
{
	int			n = Min(in->frames, frames - start);

	for (int cb = 0; cb < in->channels * in->bins; cb++)
		for (int f = 0; f < n; f++)
			acc[(Size) cb * frames + start + f] += g[(Size) cb * in->frames + f];
}

/*
 * Add the linear term's gradient (a wide-and-deep model's extra inputs are
 * the whole clip's pooled features, so every cell moves them) into acc, in
 * the standardised input's units: d out / d pooled_j is the head weight
 * over the extra's scale, and pooling's own gradient is the core's.
 */
static void
add_linear_term(LoadedModel *m, const Spectrogram *spec, float *acc)
{
	int			cb = m->in.channels * m->in.bins;
	int			frames = spec->h.frames;
	ModelInput	whole = m->in;
	float	   *logs;
	double	   *dpooled = palloc(m->n_pooled * sizeof(double));
	double	   *dx = palloc0((Size) cb * frames * sizeof(double));
	ttsp_cnn_tensor w,
				scale;
	ttsp_error	err;
	int			i;

	if (!ttsp_cnn_tensor_find(m->net, "head.weight", &w) || !ttsp_cnn_tensor_find(m->net, "extra.scale", &scale))
		elog(ERROR, "model \"%s\" has a linear term but no head.weight or extra.scale", m->name);
	for (i = 0; i < m->n_pooled; i++)
		dpooled[i] = (double) w.data[w.count - m->n_pooled + i] / scale.data[i];
	/* the clip's own frames, unstandardised: what the pooled features are computed from */
	whole.frames = frames;
	logs = MemoryContextAllocHuge(CurrentMemoryContext, (Size) cb * frames * sizeof(float));
	model_input_fill(&whole, spec, logs, false);
	ttsp_check(ttsp_pool_features_backward(logs, m->in.channels, m->in.bins, frames, dpooled, dx, &err), &err);
	/* d out / d standardised value = d out / d log value x the training deviation */
	for (i = 0; i < cb; i++)
		for (int f = 0; f < frames; f++)
			acc[(Size) i * frames + f] += (float) (dx[(Size) i * frames + f] * m->in.std[i]);
	pfree(logs);
	pfree(dx);
	pfree(dpooled);
}

/* |d(mean window output)/d(input)| of spec, [channel][bin][frame] like spec->data. */
static float *
saliency_map(LoadedModel *m, const Spectrogram *spec)
{
	int			window = m->in.frames;
	int			width = model_clip_width(&m->in, spec->h.frames);
	int			n_extra = m->n_pooled;
	float	   *extra,
			   *eb;
	int			n_win;
	int		   *starts;
	float	   *x,
			   *xb,
			   *gb,
				weights[SALIENCY_BATCH],
				out[SALIENCY_BATCH];
	float	   *acc;
	Size		cells = (Size) spec->h.channels * spec->h.bins * spec->h.frames;
	ttsp_error	err;

	model_input_check(&m->in, spec, m->name);
	ttsp_check(ttsp_window_starts(spec->h.frames, window, ttsp_window_hop(window), NULL, &n_win, &err), &err);
	starts = palloc(n_win * sizeof(int));
	ttsp_check(ttsp_window_starts(spec->h.frames, window, ttsp_window_hop(window), starts, &n_win, &err), &err);

	/* the whole clip standardised once; a short one padded to a window */
	x = MemoryContextAllocHuge(CurrentMemoryContext, (Size) m->in.channels * m->in.bins * width * sizeof(float));
	model_clip_fill(&m->in, spec, x, true);
	/* a wide-and-deep model's linear term: its extras go with every window (its gradient: add_linear_term) */
	extra = model_clip_extra(m, spec, NULL);
	eb = palloc((Size) SALIENCY_BATCH * Max(n_extra, 1) * sizeof(float));
	for (int b = 0; b < SALIENCY_BATCH && n_extra > 0; b++)
		memcpy(eb + (Size) b * n_extra, extra, n_extra * sizeof(float));
	xb = MemoryContextAllocHuge(CurrentMemoryContext, SALIENCY_BATCH * MODEL_INPUT_SIZE(&m->in) * sizeof(float));
	gb = MemoryContextAllocHuge(CurrentMemoryContext, SALIENCY_BATCH * MODEL_INPUT_SIZE(&m->in) * sizeof(float));
	/* float: a cell lies in at most 3 windows, so little to round */
	acc = MemoryContextAllocHuge(CurrentMemoryContext, cells * sizeof(float));
	memset(acc, 0, cells * sizeof(float));

	ttsp_set_threads(m->net);
	for (int w0 = 0; w0 < n_win; w0 += SALIENCY_BATCH)
	{
		int			nb = Min(SALIENCY_BATCH, n_win - w0);

		CHECK_FOR_INTERRUPTS();
		for (int b = 0; b < nb; b++)
		{
			model_window_copy(&m->in, x, width, starts[w0 + b], xb + b * MODEL_INPUT_SIZE(&m->in));
			/* d(mean of n_win outputs) / d(output of one) */
			weights[b] = 1.0f / n_win;
		}
		ttsp_check(ttsp_cnn_input_gradient(m->net, xb, n_extra > 0 ? eb : NULL, nb, weights, out, gb, &err), &err);
		for (int b = 0; b < nb; b++)
			window_add(&m->in, gb + b * MODEL_INPUT_SIZE(&m->in), spec->h.frames, starts[w0 + b], acc);
	}
	if (m->n_pooled > 0)
		add_linear_term(m, spec, acc);
	for (Size i = 0; i < cells; i++)
		acc[i] = fabsf(acc[i]);
	pfree(x);
	pfree(xb);
	pfree(gb);
	return acc;
}

/* The model and the spectrogram (arguments model_name, spec, version), or NULL if either is NULL. */
static LoadedModel *
saliency_args(FunctionCallInfo fcinfo, Spectrogram **spec)
{
	LoadedModel *m;

	if (arg_isnull(fcinfo, "model_name") || arg_isnull(fcinfo, "spec"))
		return NULL;
	m = model_lookup(arg_text(fcinfo, "model_name"), model_version_arg(fcinfo));
	if (m->cov != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" reads covariates: saliency is for models on the spectrogram alone", m->name)));
	if (m->net == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" is linear: saliency needs a CNN", m->name),
				 errhint("A linear model's weights are in its ttsp_model.weights (format in src/core/linear.h).")));
	*spec = DatumGetSpectrogramP(arg_datum(fcinfo, "spec"));
	return m;
}

/* ttsp_saliency(model_name, spec, version DEFAULT NULL) RETURNS spectrogram */
Datum
ttsp_saliency(PG_FUNCTION_ARGS)
{
	Spectrogram *spec = NULL;
	LoadedModel *m = saliency_args(fcinfo, &spec);
	Spectrogram *out;
	float	   *map;

	if (m == NULL)
		PG_RETURN_NULL();
	map = saliency_map(m, spec);
	/* the input's header: same shape, rate and parameters */
	out = spectrogram_alloc(spec->h.channels, spec->h.bins, spec->h.frames);
	out->h = spec->h;
	memcpy(out->data, map, (Size) spec->h.channels * spec->h.bins * spec->h.frames * sizeof(float));
	PG_RETURN_SPECTROGRAM_P(out);
}

/* ttsp_saliency_png(model_name, spec, version DEFAULT NULL, top_db DEFAULT 80, title DEFAULT NULL) */
Datum
ttsp_saliency_png(PG_FUNCTION_ARGS)
{
	Spectrogram *spec = NULL;
	LoadedModel *m = saliency_args(fcinfo, &spec);
	bool		clip = !arg_isnull(fcinfo, "top_db");

	if (m == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(glue_spectrogram_png(spec, clip, arg_float8(fcinfo, "top_db", 0), arg_text(fcinfo, "title"),
										   saliency_map(m, spec)));
}
