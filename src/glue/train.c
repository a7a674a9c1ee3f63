/*
 * ttsp_train: the seed's CNN trained on spectrograms read from a table or a
 * query, with a deterministic stratified split, per-epoch progress, honest
 * metrics and a stored, versioned model.  Reading the source is
 * train_source.c's, the metrics JSON evaluate.c's and storing the model
 * model_table.c's.
 */
#include "train.h"

#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "args.h"
#include "augment.h"
#include "covariates.h"
#include "linear.h"
#include "metrics.h"
#include "rng.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_train_table);
PG_FUNCTION_INFO_V1(ttsp_train_query);

/* 2 x channels x bins: 1024 keeps a fit under a second and 8 MB (bench/learn/linear-cost) */
#define LINEAR_BASELINE_MAX_FEATURES 1024

/* The backend's own memory while training, measured at about 4 MB over ttsp's buffers (scripts/check-train-memory). */
#define TRAIN_HEADROOM ((Size) 8 * 1024 * 1024)


/* A training batch: windows, their clips' extra inputs and targets. */
typedef struct Batch
{
	float	   *x;
	float	   *extra;			/* n_extra per window */
	float	   *y;				/* standardised targets */
	float	   *out;
	float	   *dout;
	int			n;
} Batch;

/* Streamed epochs: a shuffle buffer of drawn windows over the source order. */
typedef struct Shuffle
{
	float	   *rows;
	double	   *labels;
	int		   *valid;			/* each window's own frames */
	int		   *row;			/* its source row, for the extras */
	int			cap;
	int			n;
} Shuffle;

/* Predictions of the last evaluation, on the test split (the training split without one). */
typedef struct Predictions
{
	double	   *pred;
	double	   *label;
	int		   *row;			/* each one's row, for train_fold */
	int			n;
	int			cap;
} Predictions;

/* Per-epoch losses, and the epoch whose weights are kept. */
typedef struct Curves
{
	double	   *train;
	double	   *validation;
	double	   *test;			/* on report_part: recorded, never used for a choice */
	double		start_validation;	/* the starting weights' (epoch 0) */
	int			epochs;			/* run; fewer than asked when stopped early */
	int			best_epoch;		/* 1-based; 0: the starting weights */
} Curves;

typedef struct Trainer
{
	TrainOptions *opt;
	TrainSource src;
	Split		split;
	ModelInput	in;
	/* regression targets are standardised with the training split's stats */
	double		target_mean;
	double		target_std;
	/* the network, released by a callback on cxt */
	ttsp_cnn   *net;
	ttsp_optimizer *optim;
	ttsp_linear *linear;		/* the baseline on the whole clip's pooled features */
	LoadedModel *parent;		/* warm start: the model training continues from */
	AveragedRun *averaged;		/* strategy 'averaged' (train_averaged.c) */
	MemoryContextCallback cb;
	Batch		batch;
	Shuffle		shuffle;
	ClipScorer	scorer;			/* validation and test passes: every window, pooled */
	float	   *row_extra;		/* one row's extras, as floats */
	int			n_extra;		/* the net's extra inputs: the pooled features (or none), then covariates */
	double	   *cov_inputs;		/* per row, the covariates' n_inputs model inputs (covariates.h) */
	int			epoch;			/* 0-based, for the window draws */
	Predictions preds;
	double		epoch_loss;		/* sum over the epoch's samples */
	int			epoch_samples;
	ttsp_rng	rng;
	bool		augment;		/* any of the augmentations is on */
	ttsp_rng	augment_rng;	/* its own stream: the shuffle order does not depend on it */
	Datum		features_json;	/* ttsp_params() of the first row */
	MemoryContext cxt;			/* lives for the whole training */
	int			fold;			/* cross-validation: the test fold, of n_folds (0: none) */
	int			n_folds;
} Trainer;

static void
release_trainer(void *arg)
{
	Trainer    *t = arg;

	ttsp_optimizer_destroy(t->optim);
	t->optim = NULL;
	ttsp_cnn_destroy(t->net);
	t->net = NULL;
	ttsp_linear_destroy(t->linear);
	t->linear = NULL;
}

/* ---- the network ---- */

static ttsp_cnn_config
network_config(const TrainOptions *o, const ModelInput *in, int n_extra)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(in->channels, in->bins, in->frames, o->task);
	ttsp_error	err;
	int			i;

	cfg.n_blocks = o->n_blocks;
	for (i = 0; i < o->n_blocks; i++)
		cfg.channels[i] = o->channels[i];
	cfg.n_extra = n_extra;
	if (ttsp_cnn_validate_config(&cfg, &err) != TTSP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot build the network for %d x %d x %d inputs: %s",
						in->channels, in->bins, in->frames, err.msg)));
	return cfg;
}

/* ---- warm start ---- */

#define mismatch(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg(__VA_ARGS__)))

/*
 * The model to continue from, loaded and kept loaded (42704 if it does not
 * exist): its task and network must be what this training asks for.
 */
static void
load_parent(Trainer *t)
{
	const TrainOptions *o = t->opt;
	const ttsp_cnn_config *cfg;
	int			i;

	t->parent = model_lookup(o->init_model, o->init_version);
	model_pin(t->parent);
	if (t->parent->net == NULL)
		mismatch("init_model \"%s\" is a linear model: only a CNN can be trained further", o->init_model);
	if (t->parent->task != o->task)
		mismatch("init_model \"%s\" is a %s model, not a %s one", o->init_model,
				 t->parent->task == TTSP_TASK_REGRESSION ? "regression" : "classification",
				 o->task == TTSP_TASK_REGRESSION ? "regression" : "classification");
	cfg = ttsp_cnn_get_config(t->parent->net);
	if (cfg->n_blocks != o->n_blocks)
		mismatch("init_model \"%s\" has %d blocks, not the %d of channels", o->init_model, cfg->n_blocks, o->n_blocks);
	for (i = 0; i < cfg->n_blocks; i++)
		if (cfg->channels[i] != o->channels[i])
			mismatch("init_model \"%s\" has %d channels in block %d, not %d", o->init_model,
					 cfg->channels[i], i + 1, o->channels[i]);
	if (o->frames > 0 && o->frames != t->parent->in.frames)
		mismatch("init_model \"%s\" takes %d frames, not %d", o->init_model, t->parent->in.frames, o->frames);
	if ((cfg->n_extra > 0) != o->wide)
		mismatch("init_model \"%s\" is a CNN %s a linear term: train it further with architecture => '%s'",
				 o->init_model, cfg->n_extra > 0 ? "with" : "without", cfg->n_extra > 0 ? "cnn" : "deep");
}

/* A copy of the parent's network: its weights and BatchNorm statistics. */
static ttsp_cnn *
copy_parent_net(const Trainer *t)
{
	size_t		len = ttsp_cnn_serialized_size(t->parent->net);
	uint8	   *bytes = palloc(len);
	ttsp_error	err;
	ttsp_cnn   *net;

	ttsp_check(ttsp_cnn_serialize(t->parent->net, bytes, len, &err), &err);
	net = ttsp_cnn_deserialize(bytes, len, &err);
	if (net == NULL)
		ttsp_report(&err);
	pfree(bytes);
	return net;
}

static void setup_network(Trainer *t, const Spectrogram *spec);

/*
 * Augmentation left at NULL, the default: SpecAugment-style masks of up to a
 * tenth of the window's frames and a sixth of the bins, and a gain of up to
 * +-6 dB (none for MFCC, where a gain moves only coefficient 0).  These are
 * bench/learn's sizes (80 frames, 8 bins at the seed's 801 x 51), which took
 * the noisy set from 0.96 to 1.00 for one seed and changed nothing elsewhere.
 */
static void
resolve_augment(TrainOptions *o, const ModelInput *in, const Spectrogram *spec)
{
	if (o->auto_time_mask)
		o->augment.time_mask_param = in->frames / 10;
	if (o->auto_freq_mask)
		o->augment.freq_mask_param = in->bins / 6;
	if (o->auto_gain)
		o->augment.gain_db = spec->h.kind == TTSP_KIND_MFCC ? 0 : 6;
}

/* The first row fixes the features (kind, parameters, shape), hence the network. */
static void
setup_from_first_row(void *arg, const Spectrogram *spec)
{
	Trainer    *t = arg;
	MemoryContext old = MemoryContextSwitchTo(t->cxt);
	TrainOptions *o = t->opt;
	ttsp_error	err;

	t->in.tmpl = spectrogram_alloc(spec->h.channels, spec->h.bins, 1);
	t->in.tmpl->h = spec->h;
	t->in.tmpl->h.frames = 1;
	t->in.channels = spec->h.channels;
	t->in.bins = spec->h.bins;
	t->in.frames = t->parent ? t->parent->in.frames : o->frames > 0 ? o->frames
		: Max(1, (int) rint(5.0 * spec->h.sample_rate / spec->h.hop_length));
	if (t->parent)
		model_input_check(&t->parent->in, spec, t->parent->name);
	t->src.in = &t->in;
	t->src.first_window = o->pool == POOL_FIRST;
	if (!o->linear_only)
		resolve_augment(o, &t->in, spec);
	ttsp_check(ttsp_augment_check(&o->augment, t->in.bins, t->in.frames, &err), &err);
	if (o->augment.gain_db > 0 && spec->h.kind == TTSP_KIND_MFCC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gain_db does not apply to MFCC features: a gain moves only coefficient 0")));
	t->augment = o->augment.gain_db > 0 || o->augment.time_mask_param > 0 || o->augment.freq_mask_param > 0;
	t->features_json = DirectFunctionCall1(ttsp_spec_params, PointerGetDatum(spec));
	MemoryContextSwitchTo(old);
	if (!o->linear_only)
		setup_network(t, spec);
	else
		/* no network: the rows' pooled features get the budget beside the backend's own */
		t->src.cache_limit = (Max((Size) ttsp_train_memory * 1024, TRAIN_HEADROOM) - TRAIN_HEADROOM) / sizeof(float);
}

/*
 * The network, its optimiser and the batch buffers; what ttsp.train_memory
 * leaves beside them may cache training rows.
 */
static void
setup_network(Trainer *t, const Spectrogram *spec)
{
	MemoryContext old = MemoryContextSwitchTo(t->cxt);
	TrainOptions *o = t->opt;
	Size		budget = (Size) ttsp_train_memory * 1024;
	Size		row_size = MODEL_INPUT_SIZE(&t->in);
	ttsp_cnn_config cfg;
	ttsp_error	err;
	Size		fixed;
	int			n_pooled = (int) ttsp_pooled_count(spec->h.channels, spec->h.bins);

	/* the linear term reads the pooled features; past the baseline's cap there is none */
	if (o->wide && n_pooled > LINEAR_BASELINE_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("architecture 'cnn' needs at most %d pooled features for its linear term; these spectrograms have %d",
						LINEAR_BASELINE_MAX_FEATURES, n_pooled),
				 errhint("Use fewer bins (a mel spectrogram, or a smaller n_fft), or architecture => 'deep' for the CNN alone.")));
	/* covariates join both: every one with its missing indicator (fit_covariates) */
	t->n_extra = (o->wide ? n_pooled : 0) + (o->cov ? 2 * o->cov->n : 0);
	cfg = network_config(o, &t->in, t->n_extra);

	/*
	 * Beside ttsp's buffers the backend needs memory of its own while it
	 * trains (the source's rows in flight, the executor); counted
	 * so that the backend as a whole stays within ttsp.train_memory.  Then
	 * the batch, and the smallest shuffle buffer streaming uses.
	 */
	fixed = TRAIN_HEADROOM + 2 * VARSIZE(spec) +
		ttsp_cnn_workspace_bytes(&cfg, o->batch_size) +
		3 * (Size) o->batch_size * (row_size + t->n_extra) * sizeof(float);
	t->net = t->parent ? copy_parent_net(t) : ttsp_cnn_create(&cfg, (uint64) o->seed, &err);
	if (t->net == NULL)
		ttsp_report(&err);
	fixed += ttsp_optimizer_state_bytes(&o->optim, ttsp_cnn_param_count(t->net));
	if (fixed > budget)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training needs %zu kB for the network and the backend's working memory at batch_size %d, more than ttsp.train_memory (%d kB)",
						fixed / 1024, o->batch_size, ttsp_train_memory),
				 errhint("Raise ttsp.train_memory, or lower batch_size, frames or channels.")));
	t->optim = ttsp_optimizer_create(t->net, &o->optim, &err);
	if (t->optim == NULL)
		ttsp_report(&err);
	ttsp_check(ttsp_cnn_reserve(t->net, o->batch_size, &err), &err);
	t->src.cache_limit = (budget - fixed) / sizeof(float);
	t->batch.x = palloc(o->batch_size * row_size * sizeof(float));
	t->batch.extra = palloc(o->batch_size * Max(t->n_extra, 1) * sizeof(float));
	t->batch.y = palloc(o->batch_size * sizeof(float));
	t->batch.out = palloc(o->batch_size * sizeof(float));
	t->batch.dout = palloc(o->batch_size * sizeof(float));
	t->row_extra = palloc(Max(t->n_extra, 1) * sizeof(float));
	MemoryContextSwitchTo(old);
}

/* ---- split and standardisation ---- */

static void
check_classes(const Trainer *t)
{
	int			positives = 0;
	int			i;

	for (i = 0; i < t->src.n_rows; i++)
		positives += t->src.labels[i] >= 0.5;
	if (positives == 0 || positives == t->src.n_rows)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the label has only one class: all %d rows are %s", t->src.n_rows,
						positives ? "positive" : "negative"),
				 errhint("A classifier needs examples of both classes.")));
}

/* Regression targets: mean and deviation over the training split. */
static void
target_scale(Trainer *t)
{
	double		sum = 0,
				sumsq = 0;
	int			i;

	t->target_mean = t->parent ? t->parent->target_mean : 0;
	t->target_std = t->parent ? t->parent->target_std : 1;
	/* a warm start keeps the parent's scale, which its output layer was trained on */
	if (t->opt->task != TTSP_TASK_REGRESSION || t->parent)
		return;
	for (i = 0; i < t->src.n_rows; i++)
		if (row_part(&t->split, t->src.labels[i], t->src.hashes[i]) == PART_TRAIN)
		{
			sum += t->src.labels[i];
			sumsq += t->src.labels[i] * t->src.labels[i];
		}
	t->target_mean = sum / t->split.n_train;
	t->target_std = sqrt(Max(sumsq / t->split.n_train - t->target_mean * t->target_mean, 0));
	if (t->target_std < 1e-12)
		t->target_std = 1;
}

/* Per class, the largest hash of the rows that the stratified split puts in its part of size. */
void
split_carve(const uint64 *hashes, const int *classes, int n, double size, bool has[2], uint64 max_hash[2])
{
	bool	   *in_part = palloc(Max(n, 1) * sizeof(bool));
	ttsp_error	err;
	int			i;

	ttsp_check(ttsp_stratified_split(hashes, classes, n, size, in_part, &err), &err);
	for (i = 0; i < n; i++)
		if (in_part[i] && (!has[classes[i]] || hashes[i] > max_hash[classes[i]]))
		{
			has[classes[i]] = true;
			max_hash[classes[i]] = hashes[i];
		}
	pfree(in_part);
}

/*
 * Fold f of k as the test part, dealt by ttsp_stratified_folds (per class,
 * the rows in hash order, the r-th of n_c in fold r * k / n_c: the rule of
 * ttsp_cross_validate for covariate models too), kept as that fold's
 * smallest and largest hash per class.
 */
static void
carve_fold(const uint64 *hashes, const int *classes, int n, int f, int k, Split *split)
{
	int		   *fold = palloc(Max(n, 1) * sizeof(int));
	int			n_c[2] = {0, 0};
	ttsp_error	err;

	for (int i = 0; i < n; i++)
		n_c[classes[i]]++;
	for (int c = 0; c < 2; c++)
		if (n_c[c] > 0 && n_c[c] < k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("folds %d is more than the %d rows of the %s", k, n_c[c],
							split->task == TTSP_TASK_CLASSIFICATION ? "minority class" : "source"),
					 errhint("Every fold needs rows of each class in its test part: use at most %d folds.", n_c[c])));
	ttsp_check(ttsp_stratified_folds(hashes, classes, n, k, fold, &err), &err);
	for (int i = 0; i < n; i++)
	{
		int			c = classes[i];

		if (fold[i] != f)
			continue;
		if (!split->has_test[c] || hashes[i] < split->test_min_hash[c])
			split->test_min_hash[c] = hashes[i];
		if (!split->has_test[c] || hashes[i] > split->test_max_hash[c])
			split->test_max_hash[c] = hashes[i];
		split->has_test[c] = true;
	}
	pfree(fold);
}

/* Fewest rows (per class for a classifier) that leave all three splits non-empty. */
static int
min_rows(double test_size, double validation_size)
{
	int			n;

	for (n = 1; n < 100000; n++)
	{
		int			test = (int) round(test_size * n);
		int			val = (int) round(validation_size * (n - test));

		if ((test_size == 0 || test >= 1) && val >= 1 && n - test - val >= 1)
			return n;
	}
	return n;
}

static void
check_split(const Trainer *t, const int train_per_class[2])
{
	const Split *split = &t->split;
	const TrainOptions *o = t->opt;

	if (split->n_train > 0 && split->task == TTSP_TASK_CLASSIFICATION &&
		(train_per_class[0] == 0 || train_per_class[1] == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_size %g and validation_size %g leave no %s rows to train on", o->test_size,
						o->validation_size, train_per_class[1] == 0 ? "positive" : "negative"),
				 errhint("Lower test_size or validation_size, or add rows of that class.")));
	if (split->n_train == 0 || split->n_val == 0 || ((o->test_size > 0 || t->n_folds > 0) && split->n_test == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%d rows are too few for three splits at test_size %g and validation_size %g: "
						"%d train, %d validation and %d test rows",
						t->src.n_rows, o->test_size, o->validation_size, split->n_train, split->n_val, split->n_test),
				 errhint("That needs at least %d rows%s; add rows, or lower test_size or validation_size.",
						 min_rows(o->test_size, o->validation_size),
						 split->task == TTSP_TASK_CLASSIFICATION ? " of each class" : "")));
}

static void
make_split(Trainer *t)
{
	TrainSource *src = &t->src;
	Split	   *split = &t->split;
	int		   *classes = palloc(src->n_rows * sizeof(int));
	uint64	   *rest_hashes = palloc(src->n_rows * sizeof(uint64));
	int		   *rest_classes = palloc(src->n_rows * sizeof(int));
	int			n_rest = 0;
	int			train_per_class[2] = {0, 0};
	int			i;

	split->task = t->opt->task;
	for (i = 0; i < src->n_rows; i++)
		classes[i] = label_class(split->task, src->labels[i]);
	if (t->n_folds > 0)
		carve_fold(src->hashes, classes, src->n_rows, t->fold, t->n_folds, split);
	else
		split_carve(src->hashes, classes, src->n_rows, t->opt->test_size, split->has_test, split->test_max_hash);
	/* validation: carved the same way out of what the test split leaves */
	for (i = 0; i < src->n_rows; i++)
		if (row_part(split, src->labels[i], src->hashes[i]) != PART_TEST)
		{
			rest_hashes[n_rest] = src->hashes[i];
			rest_classes[n_rest++] = classes[i];
		}
	split_carve(rest_hashes, rest_classes, n_rest, t->opt->validation_size, split->has_val, split->val_max_hash);
	for (i = 0; i < src->n_rows; i++)
		switch (row_part(split, src->labels[i], src->hashes[i]))
		{
			case PART_TEST:
				split->n_test++;
				break;
			case PART_VALIDATION:
				split->n_val++;
				break;
			case PART_TRAIN:
				split->n_train++;
				train_per_class[classes[i]]++;
				break;
		}
	check_split(t, train_per_class);
	target_scale(t);
	pfree(classes);
	pfree(rest_hashes);
	pfree(rest_classes);
}

/* Sums over the training split's log values, per (channel, bin). */
typedef struct Stats
{
	const ModelInput *in;
	double	   *sum;
	double	   *sumsq;
	double		count;			/* frames per (channel, bin) */
} Stats;

static void
accumulate_stats(void *arg, const float *clip, int frames, double label, int row)
{
	Stats	   *st = arg;
	const ModelInput *in = st->in;
	int			width = model_clip_width(in, frames);
	int			cb;
	int			f;

	(void) label;
	(void) row;
	/* the clip's own frames: padding follows them */
	for (cb = 0; cb < in->channels * in->bins; cb++)
	{
		const float *v = clip + (Size) cb * width;

		for (f = 0; f < frames; f++)
		{
			st->sum[cb] += v[f];
			st->sumsq[cb] += (double) v[f] * v[f];
		}
	}
	st->count += frames;
}

/* Per-(channel, bin) mean and std of the training split's log values; then standardise. */
static void
compute_stats(Trainer *t)
{
	int			n = t->in.channels * t->in.bins;
	Stats		st = {&t->in, palloc0(n * sizeof(double)), palloc0(n * sizeof(double)), 0};
	int			cb;

	t->in.mean = MemoryContextAlloc(t->cxt, n * sizeof(float));
	t->in.std = MemoryContextAlloc(t->cxt, n * sizeof(float));
	if (t->opt->linear_only)
	{
		/* no CNN input to standardise: the linear model scales its own features */
		for (cb = 0; cb < n; cb++)
		{
			t->in.mean[cb] = 0;
			t->in.std[cb] = 1;
		}
		return;
	}
	if (t->parent)
	{
		/* a warm start keeps the standardisation its weights were trained on */
		memcpy(t->in.mean, t->parent->in.mean, n * sizeof(float));
		memcpy(t->in.std, t->parent->in.std, n * sizeof(float));
		source_standardise(&t->src);
		return;
	}
	source_rows(&t->src, &t->split, PART_TRAIN, accumulate_stats, &st);
	for (cb = 0; cb < n; cb++)
	{
		double		mean = st.sum[cb] / st.count;
		double		var = st.sumsq[cb] / st.count - mean * mean;

		t->in.mean[cb] = (float) mean;
		/* a constant bin carries no information: leave it centred, unscaled */
		t->in.std[cb] = var > 1e-12 ? (float) sqrt(var) : 1.0f;
	}
	source_standardise(&t->src);
}

/* ---- training ---- */

/* Model inputs of a row's covariates, or NULL without any. */
static const double *
row_cov_inputs(const Trainer *t, int row)
{
	return t->opt->cov ? t->cov_inputs + (Size) row * t->opt->cov->n_inputs : NULL;
}

/* A row's extra inputs (its pooled features for a wide net, then its covariates) as floats, or NULL. */
static const float *
row_extra(Trainer *t, int row)
{
	int			n_cov = t->opt->cov ? t->opt->cov->n_inputs : 0;

	if (t->n_extra == 0)
		return NULL;
	model_extra_fill(t->src.pooled + (Size) row * t->src.n_pooled, t->n_extra - n_cov, row_cov_inputs(t, row), n_cov,
					 t->row_extra);
	return t->row_extra;
}

/*
 * The covariates' statistics on the training split, then every row's model
 * inputs.  Beside a spectrogram each covariate gets its missing indicator,
 * NULLs seen in training or not, so that the network's width is known when
 * it is built (on the first row).
 */
static void
fit_covariates(Trainer *t)
{
	Covariates *c = t->opt->cov;
	bool	   *use = palloc(t->src.n_rows * sizeof(bool));
	int			i;

	for (i = 0; i < t->src.n_rows; i++)
		use[i] = row_part(&t->split, t->src.labels[i], t->src.hashes[i]) == PART_TRAIN;
	covariates_fit(c, t->src.cov_raw, t->src.cov_null, use, t->src.n_rows);
	for (i = 0; i < c->n; i++)
		c->missing[i] = true;
	c->n_inputs = 2 * c->n;
	t->cov_inputs = MemoryContextAllocHuge(t->cxt, (Size) t->src.n_rows * c->n_inputs * sizeof(double));
	for (i = 0; i < t->src.n_rows; i++)
		covariates_encode(c, t->src.cov_raw + (Size) i * c->n, t->src.cov_null + (Size) i * c->n,
						  t->cov_inputs + (Size) i * c->n_inputs);
	pfree(use);
}

static void
train_step(Trainer *t)
{
	Batch	   *b = &t->batch;
	ttsp_error	err;
	double		loss;

	if (b->n == 0)
		return;
	ttsp_set_threads(t->net);
	ttsp_check(ttsp_cnn_train_batch(t->net, t->optim, t->opt->loss, b->x, t->n_extra > 0 ? b->extra : NULL, b->y,
									b->n, b->out, b->dout, &loss, &err), &err);
	t->epoch_loss += loss * b->n;
	t->epoch_samples += b->n;
	b->n = 0;
	CHECK_FOR_INTERRUPTS();
}

/*
 * This epoch's window of a clip into dst; returns its own frames.  The
 * start is drawn from the row's content hash, the seed and the epoch
 * alone, so it does not depend on the row order, the cache or threads.
 */
static int
draw_window(Trainer *t, const float *clip, int frames, int row, float *dst)
{
	int			window = t->in.frames;
	int			start = train_window_start(t->src.hashes[row], t->epoch, t->opt->seed, frames, window);

	model_window_copy(&t->in, clip, model_clip_width(&t->in, frames), start, dst);
	return Min(window, frames - start);
}

/* A training window into the batch, augmented there (the cache keeps the clean clip). */
static void
add_to_batch(Trainer *t, const float *x, double y, int valid_frames, int row)
{
	Batch	   *b = &t->batch;
	float	   *slot = b->x + (Size) b->n * t->src.row_size;

	if (x != slot)
		memcpy(slot, x, t->src.row_size * sizeof(float));
	if (t->n_extra > 0)
		memcpy(b->extra + (Size) b->n * t->n_extra, row_extra(t, row), t->n_extra * sizeof(float));
	if (t->augment)
	{
		ttsp_error	err;

		ttsp_check(ttsp_augment_apply(&t->opt->augment, slot, t->in.channels, t->in.bins, t->in.frames,
									  valid_frames, t->in.std, &t->augment_rng, NULL, &err), &err);
	}
	b->y[b->n++] = (float) ((y - t->target_mean) / t->target_std);
	if (b->n == t->opt->batch_size)
		train_step(t);
}

/* A uniform draw in [0, n). */
static int
draw(Trainer *t, int n)
{
	return (int) (ttsp_rng_next(&t->rng) % (uint64) n);
}

/* A streamed clip's window: into the shuffle buffer, or in place of a random one that goes to the batch. */
static void
shuffle_row(void *arg, const float *clip, int frames, double label, int row)
{
	Trainer    *t = arg;
	Shuffle    *sh = &t->shuffle;
	int			j;

	if (sh->n < sh->cap)
		j = sh->n++;
	else
	{
		j = draw(t, sh->cap);
		add_to_batch(t, sh->rows + (Size) j * t->src.row_size, sh->labels[j], sh->valid[j], sh->row[j]);
	}
	sh->valid[j] = draw_window(t, clip, frames, row, sh->rows + (Size) j * t->src.row_size);
	sh->labels[j] = label;
	sh->row[j] = row;
}

static void
train_streamed(Trainer *t)
{
	Shuffle    *sh = &t->shuffle;
	Size		row_size = t->src.row_size;

	if (sh->rows == NULL)
	{
		/* windows: as many as the cache budget holds, at least a batch */
		sh->cap = (int) Min((Size) t->split.n_train,
							(t->src.cache_limit - source_rows_floats(&t->src)) / row_size + t->opt->batch_size);
		sh->rows = MemoryContextAllocHuge(t->cxt, (Size) sh->cap * row_size * sizeof(float));
		sh->labels = MemoryContextAllocHuge(t->cxt, sh->cap * sizeof(double));
		sh->valid = MemoryContextAllocHuge(t->cxt, sh->cap * sizeof(int));
		sh->row = MemoryContextAllocHuge(t->cxt, sh->cap * sizeof(int));
	}
	sh->n = 0;
	source_rows(&t->src, &t->split, PART_TRAIN, shuffle_row, t);
	/* drain what is left in random order */
	while (sh->n > 0)
	{
		int			j = draw(t, sh->n);
		int			last = sh->n - 1;

		add_to_batch(t, sh->rows + (Size) j * row_size, sh->labels[j], sh->valid[j], sh->row[j]);
		memcpy(sh->rows + (Size) j * row_size, sh->rows + (Size) last * row_size, row_size * sizeof(float));
		sh->valid[j] = sh->valid[last];
		sh->row[j] = sh->row[last];
		sh->labels[j] = sh->labels[last];
		sh->n--;
	}
}

/* Cached clips: the training split in a fresh random order (Fisher-Yates), a window of each. */
static void
train_cached(Trainer *t)
{
	TrainSource *src = &t->src;
	Batch	   *b = &t->batch;
	int		   *order = palloc(t->split.n_train * sizeof(int));
	int			n = 0;
	int			i;

	for (i = 0; i < src->n_rows; i++)
		if (row_part(&t->split, src->labels[i], src->hashes[i]) == PART_TRAIN)
			order[n++] = i;
	for (i = n - 1; i > 0; i--)
	{
		int			j = draw(t, i + 1);
		int			tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < n; i++)
	{
		int			r = order[i];
		float	   *slot = b->x + (Size) b->n * src->row_size;
		int			valid = draw_window(t, src->cache + src->offsets[r], src->frames[r], r, slot);

		add_to_batch(t, slot, src->labels[r], valid, r);
	}
	pfree(order);
}

static void
train_epoch(Trainer *t)
{
	t->epoch_loss = 0;
	t->epoch_samples = 0;
	if (t->averaged)
	{
		/* the rounds train their own copies; this net is replaced by their average */
		ttsp_optimizer_destroy(t->optim);
		t->optim = NULL;
		averaged_epoch(t->averaged, t->epoch, &t->net, &t->epoch_loss, &t->epoch_samples);
		return;
	}
	if (t->src.cached)
		train_cached(t);
	else
		train_streamed(t);
	train_step(t);
}

/* ---- evaluation during training ---- */

static void
keep_prediction(void *arg, double output, int tag)
{
	((Trainer *) arg)->preds.pred[tag] = output;
}

static void
predict_row(void *arg, const float *clip, int frames, double label, int row)
{
	Trainer    *t = arg;
	Predictions *p = &t->preds;

	/* a source that changed mid-pass could hold more rows of this split */
	if (p->n >= p->cap)
		source_changed(&t->src);
	p->label[p->n] = label;
	p->row[p->n] = row;
	scorer_add(&t->scorer, clip, frames, row_extra(t, row), p->n++);
}

static int
cmp_row(const void *a, const void *b, void *arg)
{
	const int  *row = arg;
	int			x = row[*(const int *) a],
				y = row[*(const int *) b];

	return x < y ? -1 : x > y;
}

/*
 * The last evaluation's predictions in the order of their rows, which is
 * linear_rows' order: a streamed pass visits them as the source returns
 * them (palloc'd indices into t->preds).
 */
static int *
predictions_by_row(const Predictions *p)
{
	int		   *idx = palloc(Max(p->n, 1) * sizeof(int));

	for (int i = 0; i < p->n; i++)
		idx[i] = i;
	qsort_arg(idx, p->n, sizeof(int), cmp_row, p->row);
	return idx;
}

/* Predictions on one part of the split into t->preds. */
static void
evaluate(Trainer *t, SplitPart part)
{
	t->preds.n = 0;
	t->preds.cap = split_count(&t->split, part);
	/* the kept epoch's weights replace the net (snapshot_restore) */
	t->scorer.net = t->net;
	source_rows(&t->src, &t->split, part, predict_row, t);
	scorer_flush(&t->scorer);
}

/* The part final metrics are reported on: test, or training rows without a test split. */
static SplitPart
report_part(const Trainer *t)
{
	return t->split.n_test > 0 ? PART_TEST : PART_TRAIN;
}

/* The epoch's headline metric, test accuracy or MSE, and the loss into *loss. */
static double
epoch_metric(const Trainer *t, double *loss)
{
	const Predictions *p = &t->preds;
	double		hits = 0,
				sq_err = 0,
				ll = 0;
	int			i;

	for (i = 0; i < p->n; i++)
	{
		double		q = Min(Max(p->pred[i], 1e-15), 1 - 1e-15);
		double		y = p->label[i];

		if (t->opt->task == TTSP_TASK_CLASSIFICATION)
		{
			hits += (p->pred[i] >= 0.5) == (y >= 0.5);
			ll -= y * log(q) + (1 - y) * log(1 - q);
		}
		else
			sq_err += (p->pred[i] - y) * (p->pred[i] - y);
	}
	if (t->opt->task == TTSP_TASK_CLASSIFICATION)
	{
		*loss = ll / p->n;
		return hits / p->n;
	}
	*loss = sq_err / p->n;
	return *loss;
}

/* ---- the linear baseline ---- */


/* The linear model's features beside the pooled ones: the covariates' inputs. */
static int
linear_extra(const Trainer *t)
{
	return t->opt->cov ? t->opt->cov->n_inputs : 0;
}

/* The pooled features (then the covariates' inputs) and labels of one part of the split. */
static ttsp_linear_data
linear_rows(const Trainer *t, SplitPart part)
{
	const TrainSource *src = &t->src;
	int			n = split_count(&t->split, part);
	int			n_cov = linear_extra(t);
	int			p = src->n_pooled + n_cov;
	double	   *x = palloc(Max(n, 1) * (Size) p * sizeof(double));
	double	   *y = palloc(Max(n, 1) * sizeof(double));
	ttsp_linear_data d = {x, y, 0};
	int			i;

	for (i = 0; i < src->n_rows; i++)
		if (row_part(&t->split, src->labels[i], src->hashes[i]) == part)
		{
			memcpy(x + (Size) d.n * p, src->pooled + (Size) i * src->n_pooled, src->n_pooled * sizeof(double));
			if (n_cov > 0)
				memcpy(x + (Size) d.n * p + src->n_pooled, row_cov_inputs(t, i), n_cov * sizeof(double));
			y[d.n++] = src->labels[i];
		}
	return d;
}

static void
linear_rows_free(ttsp_linear_data *d)
{
	pfree((double *) d->x);
	pfree((double *) d->y);
}

/*
 * Logistic (classification) or ridge (regression) regression on the whole
 * clip's pooled features, fitted on the training split with its penalty
 * chosen on the validation split: the bar every model is held to.
 */
static void
fit_linear_baseline(Trainer *t)
{
	ttsp_linear_data train;
	ttsp_linear_data val;
	ttsp_error	err;

	/* its cost grows with the cube of the features, and memory with the square */
	if (t->src.n_pooled > LINEAR_BASELINE_MAX_FEATURES)
	{
		ereport(NOTICE,
				(errmsg("no linear baseline: %d pooled features are more than %d", t->src.n_pooled,
						LINEAR_BASELINE_MAX_FEATURES),
				 errhint("Fewer bins (a mel spectrogram, or a smaller n_fft) give one.")));
		return;
	}
	train = linear_rows(t, PART_TRAIN);
	val = linear_rows(t, PART_VALIDATION);
	t->linear = ttsp_linear_fit_select(t->opt->task, t->in.channels, t->in.bins, linear_extra(t), &train, &val,
									   NULL, &err);
	/* the copies are counted in the budget (train_source.c) only while they exist */
	linear_rows_free(&train);
	linear_rows_free(&val);
	if (t->linear == NULL)
		ereport(NOTICE, (errmsg("no linear baseline: %s", err.msg)));
}

/*
 * The wide-and-deep start: the net's linear term becomes the fitted
 * baseline and its CNN part's head weights 0, so that training starts from
 * the baseline's predictions and validation (from epoch 0) keeps them
 * unless the CNN improves on them (bench/learn/FINDINGS.md).
 */
static void
start_wide(Trainer *t)
{
	ttsp_error	err;

	if (t->linear == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("architecture 'cnn' starts from the linear baseline, which could not be fitted"),
				 errhint("architecture => 'deep' trains the CNN alone.")));
	ttsp_check(ttsp_linear_start_cnn(t->linear, t->net, t->target_mean, t->target_std, &err), &err);
}

/* The linear model's predictions (probabilities or values) on the report part, with their labels. */
static double *
linear_report(Trainer *t, ttsp_linear_data *rows)
{
	double	   *out;
	ttsp_error	err;

	*rows = linear_rows(t, report_part(t));
	out = palloc(Max(rows->n, 1) * sizeof(double));
	ttsp_check(ttsp_linear_predict_output(t->linear, rows->x, rows->n, out, &err), &err);
	return out;
}

/* The baseline's metrics on the report part, as the "linear_baseline" member. */
static void
append_linear_baseline(Trainer *t, StringInfo metrics, double *cnn_metric, double *linear_metric)
{
	ttsp_linear_data rows;
	double	   *out = linear_report(t, &rows);
	double		dummy;

	appendStringInfoString(metrics, ", \"linear_baseline\": {");
	metrics_append(metrics, t->opt->task, out, rows.y, rows.n);
	appendStringInfo(metrics, ", \"alpha\": %.17g}", t->linear->alpha);
	*cnn_metric = epoch_metric(t, &dummy);
	/* the same headline for the baseline's predictions */
	memcpy(t->preds.pred, out, rows.n * sizeof(double));
	memcpy(t->preds.label, rows.y, rows.n * sizeof(double));
	t->preds.n = rows.n;
	*linear_metric = epoch_metric(t, &dummy);
}

/* ---- storing ---- */

static const char *
optimizer_name(ttsp_optim_kind k)
{
	return k == TTSP_OPTIM_SGD ? "sgd" : k == TTSP_OPTIM_ADAMW ? "adamw" : "adam";
}

static char *
architecture_json(const Trainer *t)
{
	const TrainOptions *o = t->opt;
	StringInfoData buf;
	int			i;

	if (o->linear_only)
		return psprintf("{\"network\": \"linear: %s regression on each (channel, bin)'s mean and deviation of the "
						"log features over the whole clip\", \"input\": [%d, %d], \"features\": %d, \"alpha\": %.17g, "
						"\"output\": \"%s\", \"weights_format\": \"ttsp linear 1\"}",
						o->task == TTSP_TASK_CLASSIFICATION ? "L2 logistic" : "ridge", t->in.channels, t->in.bins,
						t->linear->n_features, t->linear->alpha,
						o->task == TTSP_TASK_CLASSIFICATION ? "sigmoid probability" : "value");
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"network\": \"%d x [Conv2d(k=5, s=2, p=2) -> ReLU -> BatchNorm2d] -> global average pool -> Linear%s\", "
					 "\"architecture\": \"%s\", \"extra_inputs\": %d, \"pool\": %s, \"channels\": [", o->n_blocks,
					 t->n_extra > 0 ? " (with the whole clip's pooled features beside it)" : "",
					 t->n_extra > 0 ? "cnn" : "deep", t->n_extra,
					 psprintf("\"%s\"", model_pool_name(o->pool)));
	for (i = 0; i < o->n_blocks; i++)
		appendStringInfo(&buf, "%s%d", i ? ", " : "", o->channels[i]);
	appendStringInfo(&buf, "], \"input\": [%d, %d, %d], \"frames\": %d, \"parameters\": %zu, "
					 "\"output\": \"%s\", \"target_mean\": %.17g, \"target_std\": %.17g, \"weights_format\": %d}",
					 t->in.channels, t->in.bins, t->in.frames, t->in.frames, ttsp_cnn_param_count(t->net),
					 o->task == TTSP_TASK_CLASSIFICATION ? "sigmoid probability" : "value x target_std + target_mean",
					 t->target_mean, t->target_std, t->n_extra > 0 ? 2 : 1);
	return buf.data;
}

static char *
hyperparameters_json(const Trainer *t)
{
	const TrainOptions *o = t->opt;

	return psprintf("{\"epochs\": %d, \"batch_size\": %d, \"learning_rate\": %.17g, "
					"\"optimizer\": \"%s\", \"loss\": \"%s\", \"test_size\": %.17g, \"validation_size\": %.17g, "
					"\"patience\": %s, \"seed\": %d, \"threads\": %d, \"n_train\": %d, \"n_validation\": %d, "
					"\"n_test\": %d, \"standardisation\": \"per channel and bin\", \"init_model\": %s, "
					"\"weight_decay\": %.17g, \"time_mask_param\": %d, \"freq_mask_param\": %d, \"gain_db\": %.17g, "
					"\"strategy\": \"%s\", \"rounds_per_epoch\": %d, \"averaged_moments\": %s}",
					o->epochs, o->batch_size, o->optim.lr, optimizer_name(o->optim.kind),
					o->loss == TTSP_LOSS_BCE ? "bce" : "mse", o->test_size, o->validation_size,
					o->patience > 0 ? psprintf("%d", o->patience) : "null", o->seed, ttsp_threads,
					t->split.n_train, t->split.n_val, t->split.n_test,
					t->parent ? psprintf("{\"name\": %s, \"version\": %d}", json_quote(t->parent->name),
										 t->parent->version) : "null",
					o->optim.weight_decay, o->augment.time_mask_param, o->augment.freq_mask_param, o->augment.gain_db,
					o->averaged ? "averaged" : "local", o->rounds_per_epoch,
					o->average_moments ? "true" : "false");
}

static int32
store_model(Trainer *t, const char *metrics, const Curves *curves)
{
	bool		linear = t->opt->linear_only;
	size_t		wlen = linear ? ttsp_linear_serialized_size(t->linear) : ttsp_cnn_serialized_size(t->net);
	bytea	   *weights = palloc(VARHDRSZ + wlen);
	ModelRecord rec = {0};
	ttsp_error	err;

	SET_VARSIZE(weights, VARHDRSZ + wlen);
	if (linear)
		ttsp_check(ttsp_linear_serialize(t->linear, (uint8_t *) VARDATA(weights), wlen, &err), &err);
	else
		ttsp_check(ttsp_cnn_serialize(t->net, (uint8_t *) VARDATA(weights), wlen, &err), &err);
	rec.name = t->opt->model_name;
	rec.task = t->opt->task;
	rec.architecture = architecture_json(t);
	rec.hyperparameters = hyperparameters_json(t);
	rec.metrics = metrics;
	rec.features = t->features_json;
	rec.feature_template = t->in.tmpl;
	rec.frames = t->in.frames;
	rec.target_mean = t->target_mean;
	rec.target_std = t->target_std;
	rec.norm_mean = t->in.mean;
	rec.norm_std = t->in.std;
	rec.n_norm = t->in.channels * t->in.bins;
	rec.weights = weights;
	rec.train_loss = curves->train;
	rec.validation_loss = curves->validation;
	rec.test_loss = curves->test;
	rec.epochs = curves->epochs;
	rec.best_epoch = linear ? -1 : curves->best_epoch;
	rec.covariates = t->opt->cov;
	rec.source = t->opt->cov ? t->opt->source_name : NULL;
	rec.pool = linear ? POOL_FIRST : t->opt->pool;
	return model_table_insert(&rec);
}

/* ---- the training ---- */

static Trainer *
trainer_create(TrainOptions *o, MemoryContext cxt)
{
	Trainer    *t = MemoryContextAllocZero(cxt, sizeof(Trainer));

	t->cxt = cxt;
	t->opt = o;
	t->cb.func = release_trainer;
	t->cb.arg = t;
	MemoryContextRegisterResetCallback(cxt, &t->cb);
	ttsp_rng_seed(&t->rng, ((uint64) (uint32) o->seed) ^ UINT64CONST(0x9E3779B97F4A7C15));
	ttsp_rng_seed(&t->augment_rng, ((uint64) (uint32) o->seed) ^ UINT64CONST(0xA5A5A5A5DEADBEEF));
	t->src.query = o->query;
	t->src.seed = o->seed;
	t->src.model_name = o->model_name;
	t->src.on_first_row = setup_from_first_row;
	t->src.hook_arg = t;
	t->src.cxt = cxt;
	t->src.inputs = !o->linear_only;
	t->src.n_cov = o->cov ? o->cov->n : 0;
	return t;
}

/* The first pass and everything fixed before the first epoch. */
static void
prepare(Trainer *t)
{
	source_load(&t->src, t->opt->task);
	if (t->src.n_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no rows to train on"),
				 errdetail("%d rows had a NULL feature or label.", t->src.n_skipped)));
	if (t->src.n_skipped > 0)
		ereport(NOTICE, (errmsg("skipped %d rows with a NULL feature or label", t->src.n_skipped)));
	if (t->opt->task == TTSP_TASK_CLASSIFICATION)
		check_classes(t);
	make_split(t);
	if (t->opt->cov)
		fit_covariates(t);
	compute_stats(t);
	fit_linear_baseline(t);
	if (!t->opt->linear_only)
	{
		scorer_init(&t->scorer, t->net, &t->in, t->opt->pool, t->opt->task, t->target_mean, t->target_std,
					t->opt->batch_size, keep_prediction, t);
		if (t->opt->wide && t->parent == NULL)
			start_wide(t);
	}
	{
		int			most = Max(t->split.n_train, Max(t->split.n_val, t->split.n_test));

		t->preds.pred = MemoryContextAllocHuge(t->cxt, most * sizeof(double));
		t->preds.label = MemoryContextAllocHuge(t->cxt, most * sizeof(double));
		t->preds.row = MemoryContextAllocHuge(t->cxt, most * sizeof(int));
	}
	if (t->opt->linear_only)
		ereport(NOTICE,
				(errmsg("fitting linear model \"%s\": %d train, %d validation and %d test rows of %d x %d pooled features",
						t->opt->model_name, t->split.n_train, t->split.n_val, t->split.n_test, t->in.channels, t->in.bins)));
	else
		ereport(NOTICE,
				(errmsg("training \"%s\": %d train, %d validation and %d test rows of %d x %d x %d, %zu parameters, %s",
						t->opt->model_name, t->split.n_train, t->split.n_val, t->split.n_test, t->in.channels, t->in.bins,
						t->in.frames, ttsp_cnn_param_count(t->net),
						t->src.cached ? "data in memory" : "streaming from the source")));
}

/* The weights (and BatchNorm statistics) of the best epoch so far, serialised. */
typedef struct BestWeights
{
	uint8	   *bytes;
	size_t		len;
} BestWeights;

static void
snapshot_take(Trainer *t, BestWeights *snap)
{
	ttsp_error	err;

	if (snap->bytes == NULL)
	{
		snap->len = ttsp_cnn_serialized_size(t->net);
		snap->bytes = MemoryContextAlloc(t->cxt, snap->len);
	}
	ttsp_check(ttsp_cnn_serialize(t->net, snap->bytes, snap->len, &err), &err);
}

/* Put the snapshot's weights in place of the last epoch's. */
static void
snapshot_restore(Trainer *t, const BestWeights *snap)
{
	ttsp_error	err;
	ttsp_cnn   *best = ttsp_cnn_deserialize(snap->bytes, snap->len, &err);

	if (best == NULL)
		ttsp_report(&err);
	ttsp_optimizer_destroy(t->optim);
	t->optim = NULL;
	ttsp_cnn_destroy(t->net);
	t->net = best;
}

static void
epoch_notice(const Trainer *t, int epoch, const Curves *c, double val_metric, double elapsed)
{
	const TrainOptions *o = t->opt;

	ereport(NOTICE,
			(errmsg("epoch %d/%d: train loss %.4f, validation loss %.4f, validation %s %.4f%s, %.1f s elapsed, ETA %.1f s",
					epoch + 1, o->epochs, c->train[epoch], c->validation[epoch],
					o->task == TTSP_TASK_CLASSIFICATION ? "accuracy" : "MSE", val_metric,
					c->best_epoch == epoch + 1 ? " (best)" : "",
					elapsed, elapsed / (epoch + 1) * (o->epochs - epoch - 1))));
}

/*
 * Epochs until o->epochs, or until patience epochs pass without a lower
 * validation loss; the weights of the epoch with the lowest are kept.
 */
static void
run_epochs(Trainer *t, Curves *c)
{
	const TrainOptions *o = t->opt;
	BestWeights	best = {0};
	double		best_loss = INFINITY;
	instr_time	start,
				now;
	int			epoch;

	INSTR_TIME_SET_CURRENT(start);
	/* epoch 0: the weights training starts from compete too (a wide model's are the baseline's) */
	evaluate(t, PART_VALIDATION);
	(void) epoch_metric(t, &best_loss);
	c->start_validation = best_loss;
	if (isfinite(best_loss))
	{
		c->best_epoch = 0;
		snapshot_take(t, &best);
	}
	else
		best_loss = INFINITY;
	for (epoch = 0; epoch < o->epochs; epoch++)
	{
		double		val_metric;

		t->epoch = epoch;
		train_epoch(t);
		/* in the label's units, as the validation and test losses: MSE scales with target_std^2 */
		c->train[epoch] = t->epoch_loss / Max(t->epoch_samples, 1) *
			(t->opt->task == TTSP_TASK_REGRESSION && t->opt->loss == TTSP_LOSS_MSE ? t->target_std * t->target_std : 1);
		evaluate(t, report_part(t));
		(void) epoch_metric(t, &c->test[epoch]);
		evaluate(t, PART_VALIDATION);
		val_metric = epoch_metric(t, &c->validation[epoch]);
		c->epochs = epoch + 1;
		if (c->validation[epoch] < best_loss)
		{
			best_loss = c->validation[epoch];
			c->best_epoch = epoch + 1;
			snapshot_take(t, &best);
		}
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		epoch_notice(t, epoch, c, val_metric, INSTR_TIME_GET_DOUBLE(now));
		if (o->patience > 0 && epoch + 1 < o->epochs && epoch + 1 - c->best_epoch >= o->patience)
		{
			ereport(NOTICE,
					(errmsg("stopping early: no lower validation loss in %d epochs", o->patience)));
			break;
		}
	}
	/* a validation loss that never was finite keeps the last epoch */
	if (best.bytes != NULL && c->best_epoch != c->epochs)
		snapshot_restore(t, &best);
	if (best.bytes == NULL)
		c->best_epoch = c->epochs;
	if (c->best_epoch == 0)
		ereport(NOTICE,
				(errmsg("keeping the starting weights, epoch 0 (validation loss %.4f): no epoch improved on them%s",
						best_loss, t->n_extra > 0 && t->parent == NULL ? "; the model predicts as the linear baseline" : "")));
	else
		ereport(NOTICE,
				(errmsg("keeping the weights of epoch %d (lowest validation loss %.4f)", c->best_epoch,
						c->validation[c->best_epoch - 1])));
}

/* architecture 'linear': the linear model's own metrics on the report part. */
static char *
linear_metrics(Trainer *t)
{
	ttsp_linear_data rows;
	double	   *out;
	StringInfoData m;

	if (t->linear == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("architecture 'linear' could not fit its model: %d pooled features are more than %d, or too few rows",
						t->src.n_pooled, LINEAR_BASELINE_MAX_FEATURES),
				 errhint("Fewer bins (a mel spectrogram, or a smaller n_fft) give one.")));
	out = linear_report(t, &rows);
	initStringInfo(&m);
	appendStringInfo(&m, "{\"split\": \"%s\", \"architecture\": \"linear\", \"alpha\": %.17g, ",
					 t->split.n_test > 0 ? "test" : "train", t->linear->alpha);
	metrics_append(&m, t->opt->task, out, rows.y, rows.n);
	appendStringInfoChar(&m, '}');
	return m.data;
}

/*
 * The metrics JSON of the kept weights (t->preds on the report part), the
 * linear baseline's beside them, and the NOTICE saying which is better.
 */
static char *
final_metrics(Trainer *t, const Curves *curves)
{
	bool		cls = t->opt->task == TTSP_TASK_CLASSIFICATION;
	StringInfoData m;
	double		cnn_metric,
				linear_metric;

	initStringInfo(&m);
	appendStringInfo(&m, "{\"split\": \"%s\", \"best_epoch\": %d, \"epochs_run\": %d, ",
					 t->split.n_test > 0 ? "test" : "train", curves->best_epoch, curves->epochs);
	if (isfinite(curves->start_validation))
		appendStringInfo(&m, "\"start_validation_loss\": %.17g, ", curves->start_validation);
	metrics_append(&m, t->opt->task, t->preds.pred, t->preds.label, t->preds.n);
	if (t->linear == NULL)
		appendStringInfoString(&m, ", \"linear_baseline\": null");
	else
	{
		append_linear_baseline(t, &m, &cnn_metric, &linear_metric);
		ereport(NOTICE,
				(errmsg("%s %s: CNN %.4f, linear baseline %.4f: the CNN %s",
						t->split.n_test > 0 ? "test" : "train", cls ? "accuracy" : "MSE",
						cnn_metric, linear_metric,
						cnn_metric == linear_metric ? "ties with it" :
						(cls ? cnn_metric > linear_metric : cnn_metric < linear_metric) ?
						"beats it" : "does not beat it")));
	}
	appendStringInfoChar(&m, '}');
	return m.data;
}

static Datum
train(TrainOptions *o)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "ttsp_train", ALLOCSET_DEFAULT_SIZES);
	Trainer    *t = trainer_create(o, cxt);
	Curves		curves = {0};
	char	   *metrics;
	int32		version;
	Datum		result;

	/*
	 * Fail before the work, not after it, when the model cannot be stored:
	 * on a standby or in a read-only transaction (25006), or without INSERT
	 * on ttsp_model.
	 */
	PreventCommandIfReadOnly("ttsp_train");
	PreventCommandDuringRecovery("ttsp_train");
	model_table_check_insert();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (o->init_model != NULL)
		load_parent(t);
	prepare(t);
	curves.train = MemoryContextAlloc(cxt, o->epochs * sizeof(double));
	curves.validation = MemoryContextAlloc(cxt, o->epochs * sizeof(double));
	curves.test = MemoryContextAlloc(cxt, o->epochs * sizeof(double));
	if (o->linear_only)
	{
		/* nothing to run: the model is the fitted baseline */
		MemoryContextSwitchTo(cxt);
		metrics = linear_metrics(t);
	}
	else
	{
		if (o->averaged)
			t->averaged = averaged_start(o, &t->split, &t->in, t->target_mean, t->target_std);
		run_epochs(t, &curves);
		/* the kept weights on the test split, once */
		evaluate(t, report_part(t));
		/* in cxt, which outlives SPI_finish */
		MemoryContextSwitchTo(cxt);
		metrics = final_metrics(t, &curves);
	}
	version = store_model(t, metrics, &curves);
	SPI_finish();

	MemoryContextSwitchTo(caller);
	result = DirectFunctionCall1(jsonb_in,
								 CStringGetDatum(psprintf("{\"model\": %s, \"version\": %d, %s",
														  json_quote(o->model_name), version,
														  metrics + 1)));
	MemoryContextDelete(cxt);
#ifdef __GLIBC__
	/* glibc keeps the freed training heap (tens of MB) in the backend otherwise */
	malloc_trim(0);
#endif
	return result;
}

void
train_fold(TrainOptions *o, int f, int k, FoldResult *r)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "ttsp fold", ALLOCSET_DEFAULT_SIZES);
	Trainer    *t = trainer_create(o, cxt);
	Curves		curves = {0};
	ttsp_linear_data rows;
	double	   *lin = NULL;
	int		   *by_row = NULL;
	int			i;

	t->fold = f;
	t->n_folds = k;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	prepare(t);
	if (!o->linear_only)
	{
		curves.train = MemoryContextAlloc(cxt, o->epochs * sizeof(double));
		curves.validation = MemoryContextAlloc(cxt, o->epochs * sizeof(double));
		curves.test = MemoryContextAlloc(cxt, o->epochs * sizeof(double));
		if (o->averaged)
			t->averaged = averaged_start(o, &t->split, &t->in, t->target_mean, t->target_std);
		run_epochs(t, &curves);
		evaluate(t, PART_TEST);
	}
	if (t->linear)
	{
		/* in the fold's context: they are read after SPI_finish frees SPI's */
		MemoryContext old = MemoryContextSwitchTo(cxt);

		lin = linear_report(t, &rows);	/* test rows in the arrays' order: predictions_by_row */
		MemoryContextSwitchTo(old);
	}
	SPI_finish();

	MemoryContextSwitchTo(caller);
	r->n_train = t->split.n_train;
	r->n_val = t->split.n_val;
	r->n_test = t->split.n_test;
	r->model = palloc(Max(r->n_test, 1) * sizeof(double));
	r->label = palloc(Max(r->n_test, 1) * sizeof(double));
	r->linear = lin ? palloc(Max(r->n_test, 1) * sizeof(double)) : NULL;
	if (o->linear_only && lin == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("architecture 'linear' could not fit its model in fold %d", f + 1)));
	/* the model's predictions beside the linear ones, row for row */
	if (!o->linear_only)
		by_row = predictions_by_row(&t->preds);
	for (i = 0; i < r->n_test; i++)
	{
		r->model[i] = o->linear_only ? lin[i] : t->preds.pred[by_row[i]];
		r->label[i] = o->linear_only ? rows.y[i] : t->preds.label[by_row[i]];
		if (lin)
			r->linear[i] = lin[i];
	}
	if (by_row)
		pfree(by_row);
	r->prior = 0;
	for (i = 0; i < t->src.n_rows; i++)
		if (row_part(&t->split, t->src.labels[i], t->src.hashes[i]) == PART_TRAIN)
			r->prior += t->src.labels[i] / t->split.n_train;
	r->best_epoch = o->linear_only ? -1 : curves.best_epoch;
	r->alpha = t->linear ? t->linear->alpha : NAN;
	MemoryContextDelete(cxt);
}

/* ttsp_train(model_name, source regclass, features, label, ...) */
Datum
ttsp_train_table(PG_FUNCTION_ARGS)
{
	TrainOptions o = {0};
	Covariates *cov;

	train_parse_options(fcinfo, &o);
	arg_require(fcinfo, "source");
	if ((cov = train_covariates(fcinfo, &o)) != NULL && arg_isnull(fcinfo, "features"))
		return tabular_train(&o, cov, train_required_text(fcinfo, "label"),
							 DatumGetObjectId(arg_datum(fcinfo, "source")), NULL);
	o.cov = cov;
	o.source_name = tab_source_name(DatumGetObjectId(arg_datum(fcinfo, "source")), NULL);
	o.query = source_relation_query(DatumGetObjectId(arg_datum(fcinfo, "source")),
									train_required_text(fcinfo, "features"), train_required_text(fcinfo, "label"),
									cov);
	return train(&o);
}

/*
 * ttsp_train(model_name, query text, features, label, ...).  A quoted table
 * name given positionally resolves to this text form, so a plain (possibly
 * schema-qualified) name is taken as a relation, anything else as a query.
 */
Datum
ttsp_train_query(PG_FUNCTION_ARGS)
{
	TrainOptions o = {0};
	Covariates *cov;

	train_parse_options(fcinfo, &o);
	if ((cov = train_covariates(fcinfo, &o)) != NULL && arg_isnull(fcinfo, "features"))
		return tabular_train(&o, cov, train_required_text(fcinfo, "label"), InvalidOid,
							 train_required_text(fcinfo, "query"));
	o.cov = cov;
	o.source_name = tab_source_name(InvalidOid, train_required_text(fcinfo, "query"));
	o.query = source_text_query(train_required_text(fcinfo, "query"), train_required_text(fcinfo, "features"),
								train_required_text(fcinfo, "label"), cov);
	return train(&o);
}
