/*
 * A CNN sees a window of `frames` frames; a clip is judged on all of it.
 * Prediction, ttsp_evaluate and the validation passes of ttsp_train slide
 * the window over the whole clip (src/core/windows.h: a hop of half a
 * window, the last window flush with the clip's end) and pool the windows'
 * raw outputs, so that a 60 s sound is judged on 60 s.  Windows go through
 * the net in batches, so memory is bounded by the batch, never by the
 * clip's activations.  Models stored before 0.3.0 read the first window
 * only, as they did.
 */
#include "model.h"

#include <math.h>

#include "miscadmin.h"

#include "floats.h"
#include "ttsp_glue.h"
#include "windows.h"

const char *
model_pool_name(ModelPool pool)
{
	return pool == POOL_MEAN ? "mean" : pool == POOL_MAX ? "max" : "first";
}

ModelPool
model_pool_parse(const char *name)
{
	if (name == NULL || strcmp(name, "first") == 0)
		return POOL_FIRST;
	if (strcmp(name, "mean") == 0)
		return POOL_MEAN;
	if (strcmp(name, "max") == 0)
		return POOL_MAX;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("pool must be 'mean', 'max' or 'first', got '%s'", name)));
	return POOL_FIRST;
}

int
model_clip_width(const ModelInput *in, int frames)
{
	return Max(frames, in->frames);
}

void
model_clip_fill(const ModelInput *in, const Spectrogram *spec, float *out, bool standardise)
{
	ModelInput	whole = *in;

	whole.frames = model_clip_width(in, spec->h.frames);
	model_input_fill(&whole, spec, out, standardise);
}

void
model_window_copy(const ModelInput *in, const float *clip, int width, int start, float *dst)
{
	for (int cb = 0; cb < in->channels * in->bins; cb++)
		memcpy(dst + (Size) cb * in->frames, clip + (Size) cb * width + start,
			   in->frames * sizeof(float));
}

/*
 * On more than one thread, the net takes a batch's windows as they are
 * filled (ttsp_cnn_forward_begin): its helper threads compute while this
 * thread reads and fills the next rows, where they would otherwise wait.
 * One scorer at a time in a backend does so (a scorer nested in another's
 * row source runs its batches in place).
 */
static ClipScorer *overlapping;

/* Registered after x's mapping, so run before it is unmapped (an error mid-batch). */
static void
scorer_wait(void *arg)
{
	if (overlapping == arg)
		overlapping = NULL;
	ttsp_cnn_async_wait();
}

void
scorer_init(ClipScorer *s, ttsp_cnn *net, const ModelInput *in, ModelPool pool, int task,
			double target_mean, double target_std, int batch, clip_score_fn fn, void *arg)
{
	int			n_extra = ttsp_cnn_get_config(net)->n_extra;
	MemoryContextCallback *cb;

	memset(s, 0, sizeof(*s));
	s->net = net;
	s->in = in;
	s->pool = pool;
	s->task = task;
	s->target_mean = target_mean;
	s->target_std = target_std;
	s->cap = batch;
	s->n_extra = n_extra;
	/* a mapping of its own: the first window a new backend scores costs one page fault */
	s->x = glue_map_zeroed((Size) batch * MODEL_INPUT_SIZE(in) * sizeof(float), "model input windows", NULL);
	s->extra = palloc((Size) batch * Max(n_extra, 1) * sizeof(float));
	s->out = palloc(batch * sizeof(float));
	s->clip_tag = palloc(batch * sizeof(int));
	s->clip_windows = palloc(batch * sizeof(int));
	s->fn = fn;
	s->arg = arg;
	/* in the context, not in s: a scorer may live on the stack; arg is only compared */
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = scorer_wait;
	cb->arg = s;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	ttsp_set_threads(net);
}

/* The final output of a clip from its pooled raw output: as ttsp_cnn_predict's, then scaled. */
static double
clip_output(const ClipScorer *s, double raw)
{
	float		p = s->task == TTSP_TASK_CLASSIFICATION ? (float) ttsp_sigmoid(raw) : (float) raw;

	return p * s->target_std + s->target_mean;
}

static void
pool_into(const ClipScorer *s, double *acc, float v, bool first)
{
	if (first)
		*acc = v;
	else if (s->pool == POOL_MAX)
		*acc = Max(*acc, v);
	else
		*acc += v;
}

static float *
scorer_window(const ClipScorer *s, int i)
{
	return s->x + (Size) i * MODEL_INPUT_SIZE(s->in);
}

static float *
scorer_extra(const ClipScorer *s, int i)
{
	return s->n_extra > 0 ? s->extra + (Size) i * s->n_extra : NULL;
}

/* Window s->n is filled: its extras beside it, and the net may take it. */
static void
scorer_filled(ClipScorer *s, const float *extra)
{
	ttsp_error	err;

	if (s->n_extra > 0)
		memcpy(scorer_extra(s, s->n), extra, s->n_extra * sizeof(float));
	s->n++;
	if (s->n == 1 && (overlapping == NULL || overlapping == s))
	{
		ttsp_check(ttsp_cnn_forward_begin(s->net, s->x, scorer_extra(s, 0), s->cap, &s->begun, &err),
				   &err);
		overlapping = s->begun ? s : NULL;
	}
	if (s->begun)
		ttsp_cnn_forward_ready(s->net, s->n);
}

/* No longer streaming to the net; whether it was. */
static bool
scorer_stop(ClipScorer *s)
{
	bool		begun = s->begun;

	s->begun = false;
	if (overlapping == s)
		overlapping = NULL;
	return begun;
}

void
scorer_reset(ClipScorer *s)
{
	scorer_stop(s);
	s->n = 0;
	s->n_clips = 0;
}

/* Run the windows in the batch through the net. */
static void
forward_batch(ClipScorer *s)
{
	ttsp_error	err;
	bool		begun = scorer_stop(s);

	ttsp_set_threads(s->net);
	if (begun)
		ttsp_check(ttsp_cnn_forward_end(s->net, s->x, scorer_extra(s, 0), s->n, s->out, &err), &err);
	else
		ttsp_check(ttsp_cnn_forward_extra(s->net, s->x, scorer_extra(s, 0), s->n, false, s->out, &err),
				   &err);
	CHECK_FOR_INTERRUPTS();
}

void
scorer_flush(ClipScorer *s)
{
	int			w = 0;

	if (s->n == 0)
		return;
	forward_batch(s);
	for (int c = 0; c < s->n_clips; c++)
	{
		double		acc = 0;

		for (int i = 0; i < s->clip_windows[c]; i++)
			pool_into(s, &acc, s->out[w + i], i == 0);
		if (s->pool == POOL_MEAN)
			acc /= s->clip_windows[c];
		w += s->clip_windows[c];
		s->fn(s->arg, clip_output(s, acc), s->clip_tag[c]);
	}
	s->n = 0;
	s->n_clips = 0;
}

/* Window start and extras into batch slot n. */
static void
add_window(ClipScorer *s, const float *clip, int width, int start, const float *extra)
{
	model_window_copy(s->in, clip, width, start, scorer_window(s, s->n));
	scorer_filled(s, extra);
}

static bool
scorer_one_window(const ClipScorer *s, int frames)
{
	return s->pool == POOL_FIRST || frames <= s->in->frames;
}

static float *
scorer_next_slot(ClipScorer *s)
{
	if (s->n == s->cap)
		scorer_flush(s);
	return scorer_window(s, s->n);
}

static void
scorer_add_filled(ClipScorer *s, const float *extra, int tag)
{
	scorer_filled(s, extra);
	s->clip_tag[s->n_clips] = tag;
	s->clip_windows[s->n_clips++] = 1;
	if (s->n == s->cap)
		scorer_flush(s);
}

void
scorer_add_spec(ClipScorer *s, LoadedModel *m, const Spectrogram *spec, const double *cov_inputs, int tag)
{
	float	   *extra;
	double	   *pooled = m->n_pooled > 0 ? palloc(m->n_pooled * sizeof(double)) : NULL;

	model_require_covariates(m, cov_inputs);
	/*
	 * one window: standardised straight into the batch, no clip buffer and
	 * no copy; either way pooled from the same logs
	 */
	if (scorer_one_window(s, spec->h.frames))
	{
		float	   *slot = scorer_next_slot(s);

		model_input_fill_pooled(s->in, spec, slot, pooled);
		extra = model_extra_inputs(m, pooled, cov_inputs);
		scorer_add_filled(s, extra, tag);
	}
	else
	{
		int			frames;
		float	   *clip = model_clip_input(m, spec, pooled, &frames);

		extra = model_extra_inputs(m, pooled, cov_inputs);
		scorer_add(s, clip, frames, extra, tag);
	}
	if (pooled)
		pfree(pooled);
	if (extra)
		pfree(extra);
}

void
scorer_add(ClipScorer *s, const float *clip, int frames, const float *extra, int tag)
{
	int			window = s->in->frames;
	int			width = model_clip_width(s->in, frames);
	int			n_win = 1;
	int		   *starts;
	ttsp_error	err;

	if (s->pool != POOL_FIRST)
		ttsp_check(ttsp_window_starts(frames, window, ttsp_window_hop(window), NULL, &n_win, &err), &err);
	starts = palloc(n_win * sizeof(int));
	starts[0] = 0;
	if (s->pool != POOL_FIRST)
		ttsp_check(ttsp_window_starts(frames, window, ttsp_window_hop(window), starts, &n_win, &err), &err);
	if (s->n + n_win > s->cap)
		scorer_flush(s);
	if (n_win <= s->cap)
	{
		for (int i = 0; i < n_win; i++)
			add_window(s, clip, width, starts[i], extra);
		s->clip_tag[s->n_clips] = tag;
		s->clip_windows[s->n_clips++] = n_win;
		if (s->n == s->cap)
			scorer_flush(s);
	}
	else
	{
		/* a clip of more windows than a batch: its own batches, pooled as they go */
		double		acc = 0;

		for (int w0 = 0; w0 < n_win; w0 += s->cap)
		{
			for (int i = w0; i < Min(n_win, w0 + s->cap); i++)
				add_window(s, clip, width, starts[i], extra);
			forward_batch(s);
			for (int i = 0; i < s->n; i++)
				pool_into(s, &acc, s->out[i], w0 + i == 0);
			s->n = 0;
		}
		if (s->pool == POOL_MEAN)
			acc /= n_win;
		s->fn(s->arg, clip_output(s, acc), tag);
	}
	pfree(starts);
}
