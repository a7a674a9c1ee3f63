/*
 * ttsp_train and ttsp_evaluate: the seed's CNN trained on spectrograms read
 * from a table or a query through SPI, with a deterministic stratified split,
 * per-epoch progress, honest metrics and a stored, versioned model.
 */
#include "model.h"

#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/regproc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"
#include "utils/syscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "metrics.h"
#include "rng.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_train_table);
PG_FUNCTION_INFO_V1(ttsp_train_query);
PG_FUNCTION_INFO_V1(ttsp_evaluate);

#define FETCH_ROWS 32

/* The backend's own memory while training, measured at about 4 MB over ttsp's buffers (scripts/check-train-memory). */
#define TRAIN_HEADROOM ((Size) 8 * 1024 * 1024)

typedef struct TrainOptions
{
	char	   *model_name;
	char	   *query;			/* SELECT features, label */
	int			task;
	int			epochs;
	int			batch_size;
	ttsp_optim_config optim;
	ttsp_loss_kind loss;
	int			n_blocks;
	int			channels[TTSP_CNN_MAX_BLOCKS];
	double		test_size;
	int			seed;
	int			frames;			/* 0: about 5 s */
} TrainOptions;

/* One pass over the source: each row's spectrogram and label. */
typedef void (*row_fn) (void *arg, Spectrogram *spec, double label, uint64 hash);

typedef struct Trainer
{
	TrainOptions *opt;
	Oid			spec_type;
	ModelInput	in;
	Size		row_size;		/* floats per input */
	/* per source row, in source order for the first pass */
	int			n_rows;
	int			cap_rows;
	uint64	   *hashes;
	double	   *labels;			/* double: regression targets keep their precision */
	uint64		hash_sum;		/* of the rows' hashes: later passes must agree */
	/* a later pass over the source: the rows seen so far and the callback */
	int			pass_rows;
	uint64		pass_hash_sum;
	row_fn		pass_fn;
	int			n_skipped;
	/* per class, the largest hash that is in the test split (or none) */
	bool		has_test[2];
	uint64		test_below[2];
	int			n_train;
	int			n_test;
	/* cached log values (not standardised) when they fit in memory */
	float	   *cache;
	Size		cache_rows;		/* allocated */
	Size		cache_limit;	/* rows that fit in ttsp.train_memory */
	bool		cached;
	/* regression targets are standardised with the training split's stats */
	double		target_mean;
	double		target_std;
	/* standardisation sums over the training split */
	double	   *sum;
	double	   *sumsq;
	double		count;
	/* the network */
	ttsp_cnn   *net;
	ttsp_optimizer *optim;
	MemoryContextCallback cb;
	/* batch buffers */
	float	   *bx;
	float	   *by;				/* standardised targets of a training batch */
	double	   *blabel;			/* labels of an evaluation batch */
	float	   *bout;
	float	   *bdout;
	int			bn;
	double		epoch_loss;
	int			epoch_batches;
	ttsp_rng	rng;
	/* streaming shuffle buffer */
	float	   *sbuf;
	double	   *slabels;
	int			scap;
	int			sn;
	/* test predictions of the last evaluation */
	double	   *test_pred;
	double	   *test_label;
	int			n_test_seen;
	Datum		features_json;	/* ttsp_params() of the first row */
	MemoryContext cxt;			/* lives for the whole training */
} Trainer;

static void
release_trainer(void *arg)
{
	Trainer    *t = arg;

	ttsp_optimizer_destroy(t->optim);
	t->optim = NULL;
	ttsp_cnn_destroy(t->net);
	t->net = NULL;
}

/* ---- reading the source ---- */

static double
label_value(Datum d, Oid type)
{
	switch (type)
	{
		case BOOLOID:
			return DatumGetBool(d) ? 1 : 0;
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("label column must be boolean or numeric, not %s", format_type_be(type))));
	}
}

/*
 * Run the source query and call fn for every row with non-NULL features and
 * label.  Rows are detoasted in a context reset after each fetch.
 */
static void
for_each_row(const char *query, Oid spec_type, int seed, row_fn fn, void *arg)
{
	MemoryContext rows_cxt = AllocSetContextCreate(CurrentMemoryContext, "ttsp rows", ALLOCSET_DEFAULT_SIZES);
	Portal		portal;
	SPIPlanPtr	plan;

	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the training query: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		TupleDesc	desc;
		uint64		i;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		if (desc->natts != 2 || SPI_gettypeid(desc, 1) != spec_type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("features column must be of type spectrogram, not %s",
							format_type_be(SPI_gettypeid(desc, 1)))));
		for (i = 0; i < SPI_processed; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(rows_cxt);
			bool		null_spec,
						null_label;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], desc, 1, &null_spec);
			Datum		l = SPI_getbinval(SPI_tuptable->vals[i], desc, 2, &null_label);

			if (null_spec || null_label)
				fn(arg, NULL, 0, 0);
			else
			{
				Spectrogram *spec = DatumGetSpectrogramP(d);
				double		label = label_value(l, SPI_gettypeid(desc, 2));
				uint64		hash = hash_bytes_extended((const unsigned char *) spec,
													   VARSIZE(spec), (uint64) seed);

				fn(arg, spec, label, hash);
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(rows_cxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	MemoryContextDelete(rows_cxt);
}

static int
label_class(const Trainer *t, double label)
{
	return t->opt->task == TTSP_TASK_CLASSIFICATION && label >= 0.5 ? 1 : 0;
}

static bool
row_is_test(const Trainer *t, double label, uint64 hash)
{
	int			c = label_class(t, label);

	return t->has_test[c] && hash <= t->test_below[c];
}

/*
 * The first row fixes the features (kind, parameters, shape), hence the
 * network; what ttsp.train_memory leaves beside the network, its optimiser
 * and the batch buffers may cache training rows.
 */
static void
setup_from_first_row(Trainer *t, const Spectrogram *spec)
{
	MemoryContext old = MemoryContextSwitchTo(t->cxt);
	TrainOptions *o = t->opt;
	Spectrogram *tmpl = spectrogram_alloc(spec->channels, spec->bins, 1);
	ttsp_cnn_config cfg;
	ttsp_error	err;
	Size		budget = (Size) ttsp_train_memory * 1024;
	Size		fixed;
	int			i;

	memcpy(((char *) tmpl) + VARHDRSZ, ((char *) spec) + VARHDRSZ, SPECTROGRAM_HEADER_SIZE - VARHDRSZ);
	tmpl->frames = 1;
	t->in.tmpl = tmpl;
	t->in.channels = spec->channels;
	t->in.bins = spec->bins;
	t->in.frames = o->frames > 0 ? o->frames : Max(1, (int) rint(5.0 * spec->sample_rate / spec->hop_length));
	t->row_size = MODEL_INPUT_SIZE(&t->in);
	t->features_json = DirectFunctionCall1(ttsp_spec_params, PointerGetDatum(spec));

	cfg = ttsp_cnn_default_config(spec->channels, spec->bins, t->in.frames, o->task);
	cfg.n_blocks = o->n_blocks;
	for (i = 0; i < o->n_blocks; i++)
		cfg.channels[i] = o->channels[i];
	if (ttsp_cnn_validate_config(&cfg, &err) != TTSP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot build the network for %d x %d x %d inputs: %s",
						spec->channels, spec->bins, t->in.frames, err.msg)));
	/*
	 * Beside ttsp's buffers the backend needs memory of its own while it
	 * trains (the source's rows in flight, the executor); counted
	 * so that the backend as a whole stays within ttsp.train_memory.
	 */
	/* the batch, and the smallest shuffle buffer streaming uses */
	fixed = TRAIN_HEADROOM + 2 * VARSIZE(spec) +
		ttsp_cnn_workspace_bytes(&cfg, o->batch_size) +
		2 * (Size) o->batch_size * t->row_size * sizeof(float);
	t->net = ttsp_cnn_create(&cfg, (uint64) o->seed, &err);
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
	t->cache_limit = (budget - fixed) / (t->row_size * sizeof(float));
	t->bx = palloc(o->batch_size * t->row_size * sizeof(float));
	t->by = palloc(o->batch_size * sizeof(float));
	t->blabel = palloc(o->batch_size * sizeof(double));
	t->bout = palloc(o->batch_size * sizeof(float));
	t->bdout = palloc(o->batch_size * sizeof(float));
	MemoryContextSwitchTo(old);
}

/* A row's spectrogram hash and label together: either changing is a change. */
static uint64
row_key(uint64 hash, double label)
{
	uint64		bits;

	memcpy(&bits, &label, sizeof(bits));
	return hash ^ (bits * UINT64CONST(0x9E3779B97F4A7C15));
}

static void
source_changed(const Trainer *t)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the training source returned different rows on a later pass"),
			 errdetail("The first pass read %d rows; data that does not fit in ttsp.train_memory is read again every epoch.",
					   t->n_rows),
			 errhint("Use a source whose rows do not change during training: no random(), TABLESAMPLE or "
					 "volatile functions, or raise ttsp.train_memory so that the data is read once.")));
}

/* First pass: shapes, labels, hashes, and the cache while it fits. */
static void
first_pass_row(void *arg, Spectrogram *spec, double label, uint64 hash)
{
	Trainer    *t = arg;

	if (spec == NULL)
	{
		t->n_skipped++;
		return;
	}
	if (!isfinite(label))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label of row %d is %g; labels must be finite", t->n_rows + t->n_skipped + 1, label)));
	if (t->opt->task == TTSP_TASK_CLASSIFICATION && label != 0 && label != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("classification labels must be 0/1 or boolean, got %g", label),
				 errhint("Use task => 'regression' for continuous targets.")));
	if (t->in.tmpl == NULL)
		setup_from_first_row(t, spec);
	model_input_check(&t->in, spec, t->opt->model_name);
	if (t->n_rows == t->cap_rows)
	{
		t->cap_rows = Max(1024, t->cap_rows * 2);
		t->hashes = t->hashes ? repalloc_huge(t->hashes, t->cap_rows * sizeof(uint64))
			: MemoryContextAllocHuge(t->cxt, t->cap_rows * sizeof(uint64));
		t->labels = t->labels ? repalloc_huge(t->labels, t->cap_rows * sizeof(double))
			: MemoryContextAllocHuge(t->cxt, t->cap_rows * sizeof(double));
	}
	t->hashes[t->n_rows] = hash;
	t->hash_sum += row_key(hash, label);
	t->labels[t->n_rows] = label;
	if (t->cached && (Size) t->n_rows < t->cache_limit)
	{
		if ((Size) t->n_rows == t->cache_rows)
		{
			t->cache_rows = Min(Max(64, t->cache_rows * 2), t->cache_limit);
			t->cache = t->cache ? repalloc_huge(t->cache, t->cache_rows * t->row_size * sizeof(float))
				: MemoryContextAllocHuge(t->cxt, t->cache_rows * t->row_size * sizeof(float));
		}
		model_input_fill(&t->in, spec, t->cache + (Size) t->n_rows * t->row_size, false);
	}
	else if (t->cached)
	{
		/* too big for ttsp.train_memory: stream from the source instead */
		t->cached = false;
		if (t->cache)
			pfree(t->cache);
		t->cache = NULL;
		ereport(NOTICE,
				(errmsg("the training data exceeds ttsp.train_memory; streaming it from the source each epoch")));
	}
	t->n_rows++;
}

/*
 * Later passes (statistics, streamed epochs, evaluation) read the source
 * again: its rows must be those of the first pass, or a shape could differ
 * and the split's counts would not hold.
 */
static void
checked_row(void *arg, Spectrogram *spec, double label, uint64 hash)
{
	Trainer    *t = arg;

	if (spec != NULL)
	{
		model_input_check(&t->in, spec, t->opt->model_name);
		t->pass_rows++;
		t->pass_hash_sum += row_key(hash, label);
		if (t->pass_rows > t->n_rows)
			source_changed(t);
	}
	t->pass_fn(arg, spec, label, hash);
}

static void
source_pass(Trainer *t, row_fn fn)
{
	t->pass_rows = 0;
	t->pass_hash_sum = 0;
	t->pass_fn = fn;
	for_each_row(t->opt->query, t->spec_type, t->opt->seed, checked_row, t);
	if (t->pass_rows != t->n_rows || t->pass_hash_sum != t->hash_sum)
		source_changed(t);
}

/* ---- split and standardisation ---- */

/*
 * Stratified split by content hash: per class, the round(test_size * n)
 * rows with the smallest hashes are the test split.  Kept as a threshold per
 * class, so later passes need no row order.
 */
static void
make_split(Trainer *t)
{
	int		   *classes = palloc(t->n_rows * sizeof(int));
	bool	   *is_test = palloc(t->n_rows * sizeof(bool));
	int			train_per_class[2] = {0, 0};
	ttsp_error	err;
	int			i;

	for (i = 0; i < t->n_rows; i++)
		classes[i] = label_class(t, t->labels[i]);
	ttsp_check(ttsp_stratified_split(t->hashes, classes, t->n_rows, t->opt->test_size, is_test, &err), &err);
	for (i = 0; i < t->n_rows; i++)
		if (is_test[i] && (!t->has_test[classes[i]] || t->hashes[i] > t->test_below[classes[i]]))
		{
			t->has_test[classes[i]] = true;
			t->test_below[classes[i]] = t->hashes[i];
		}
	for (i = 0; i < t->n_rows; i++)
	{
		if (row_is_test(t, t->labels[i], t->hashes[i]))
			t->n_test++;
		else
		{
			t->n_train++;
			train_per_class[classes[i]]++;
		}
	}
	if (t->n_train == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_size %g leaves no rows to train on", t->opt->test_size)));
	if (t->opt->task == TTSP_TASK_CLASSIFICATION && (train_per_class[0] == 0 || train_per_class[1] == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_size %g leaves no %s rows to train on", t->opt->test_size,
						train_per_class[1] == 0 ? "positive" : "negative"),
				 errhint("Lower test_size, or add rows of that class.")));
	t->target_mean = 0;
	t->target_std = 1;
	if (t->opt->task == TTSP_TASK_REGRESSION)
	{
		double		sum = 0,
					sumsq = 0;

		for (i = 0; i < t->n_rows; i++)
			if (!row_is_test(t, t->labels[i], t->hashes[i]))
			{
				sum += t->labels[i];
				sumsq += t->labels[i] * t->labels[i];
			}
		t->target_mean = sum / t->n_train;
		t->target_std = sqrt(Max(sumsq / t->n_train - t->target_mean * t->target_mean, 0));
		if (t->target_std < 1e-12)
			t->target_std = 1;
	}
	pfree(classes);
	pfree(is_test);
}

static void
accumulate_stats(Trainer *t, const float *x)
{
	int			cb;
	int			f;

	for (cb = 0; cb < t->in.channels * t->in.bins; cb++)
	{
		const float *v = x + (Size) cb * t->in.frames;

		for (f = 0; f < t->in.frames && !isnan(v[f]); f++)
		{
			t->sum[cb] += v[f];
			t->sumsq[cb] += (double) v[f] * v[f];
		}
	}
	/* padding (NaN) only follows the real frames, the same in every bin */
	for (f = 0; f < t->in.frames && !isnan(x[f]); f++)
		t->count++;
}

static void
stats_pass_row(void *arg, Spectrogram *spec, double label, uint64 hash)
{
	Trainer    *t = arg;

	if (spec == NULL || row_is_test(t, label, hash))
		return;
	model_input_fill(&t->in, spec, t->bx, false);
	accumulate_stats(t, t->bx);
}

/* Per-(channel, bin) mean and std of the training split's log values. */
static void
compute_stats(Trainer *t)
{
	int			n = t->in.channels * t->in.bins;
	int			cb;
	int			i;

	t->sum = palloc0(n * sizeof(double));
	t->sumsq = palloc0(n * sizeof(double));
	if (t->cached)
	{
		for (i = 0; i < t->n_rows; i++)
			if (!row_is_test(t, t->labels[i], t->hashes[i]))
				accumulate_stats(t, t->cache + (Size) i * t->row_size);
	}
	else
		source_pass(t, stats_pass_row);
	t->in.mean = MemoryContextAlloc(t->cxt, n * sizeof(float));
	t->in.std = MemoryContextAlloc(t->cxt, n * sizeof(float));
	for (cb = 0; cb < n; cb++)
	{
		double		mean = t->sum[cb] / t->count;
		double		var = t->sumsq[cb] / t->count - mean * mean;

		t->in.mean[cb] = (float) mean;
		/* a constant bin carries no information: leave it centred, unscaled */
		t->in.std[cb] = var > 1e-12 ? (float) sqrt(var) : 1.0f;
	}
	if (t->cached)
		for (i = 0; i < t->n_rows; i++)
			model_input_standardise(&t->in, t->cache + (Size) i * t->row_size);
}

/* ---- training ---- */

static void
train_step(Trainer *t)
{
	ttsp_error	err;
	double		loss;

	if (t->bn == 0)
		return;
	ttsp_set_threads(t->net);
	ttsp_check(ttsp_cnn_forward(t->net, t->bx, t->bn, true, t->bout, &err), &err);
	ttsp_check(ttsp_loss(t->opt->loss, t->opt->task, t->bout, t->by, t->bn, &loss, t->bdout, &err), &err);
	ttsp_check(ttsp_cnn_backward(t->net, t->bdout, NULL, &err), &err);
	ttsp_check(ttsp_optimizer_step(t->optim, &err), &err);
	t->epoch_loss += loss * t->bn;
	t->epoch_batches += t->bn;
	t->bn = 0;
	CHECK_FOR_INTERRUPTS();
}

static void
add_to_batch(Trainer *t, const float *x, double y)
{
	memcpy(t->bx + (Size) t->bn * t->row_size, x, t->row_size * sizeof(float));
	t->by[t->bn++] = (float) ((y - t->target_mean) / t->target_std);
	if (t->bn == t->opt->batch_size)
		train_step(t);
}

/* Streaming epochs: a shuffle buffer over the source order. */
static void
stream_train_row(void *arg, Spectrogram *spec, double label, uint64 hash)
{
	Trainer    *t = arg;
	float	   *slot;

	if (spec == NULL || row_is_test(t, label, hash))
		return;
	if (t->sn < t->scap)
	{
		slot = t->sbuf + (Size) t->sn * t->row_size;
		t->slabels[t->sn++] = label;
	}
	else
	{
		int			j = (int) (ttsp_rng_next(&t->rng) % t->scap);

		slot = t->sbuf + (Size) j * t->row_size;
		add_to_batch(t, slot, t->slabels[j]);
		t->slabels[j] = label;
	}
	model_input_fill(&t->in, spec, slot, true);
}

static void
train_epoch(Trainer *t)
{
	int			i;

	t->epoch_loss = 0;
	t->epoch_batches = 0;
	if (t->cached)
	{
		int		   *order = palloc(t->n_train * sizeof(int));
		int			n = 0;

		for (i = 0; i < t->n_rows; i++)
			if (!row_is_test(t, t->labels[i], t->hashes[i]))
				order[n++] = i;
		for (i = n - 1; i > 0; i--)
		{
			int			j = (int) (ttsp_rng_next(&t->rng) % (uint64) (i + 1));
			int			tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
		for (i = 0; i < n; i++)
			add_to_batch(t, t->cache + (Size) order[i] * t->row_size, t->labels[order[i]]);
		pfree(order);
	}
	else
	{
		if (t->sbuf == NULL)
		{
			t->scap = (int) Min((Size) t->n_train, t->cache_limit + t->opt->batch_size);
			t->sbuf = MemoryContextAllocHuge(t->cxt, (Size) t->scap * t->row_size * sizeof(float));
			t->slabels = MemoryContextAllocHuge(t->cxt, t->scap * sizeof(double));
		}
		t->sn = 0;
		source_pass(t, stream_train_row);
		/* drain what is left in random order */
		while (t->sn > 0)
		{
			int			j = (int) (ttsp_rng_next(&t->rng) % t->sn);

			add_to_batch(t, t->sbuf + (Size) j * t->row_size, t->slabels[j]);
			memcpy(t->sbuf + (Size) j * t->row_size, t->sbuf + (Size) (t->sn - 1) * t->row_size,
				   t->row_size * sizeof(float));
			t->slabels[j] = t->slabels[--t->sn];
		}
	}
	train_step(t);
}

/* ---- evaluation ---- */

static void
flush_predictions(Trainer *t)
{
	int			i;

	if (t->bn == 0)
		return;
	ttsp_set_threads(t->net);
	{
		ttsp_error	err;

		ttsp_check(ttsp_cnn_predict(t->net, t->bx, t->bn, t->bout, &err), &err);
	}
	for (i = 0; i < t->bn; i++)
	{
		t->test_pred[t->n_test_seen] = t->bout[i] * t->target_std + t->target_mean;
		t->test_label[t->n_test_seen++] = t->blabel[i];
	}
	t->bn = 0;
	CHECK_FOR_INTERRUPTS();
}

static void
add_to_eval(Trainer *t, const float *x, double y, bool standardised)
{
	float	   *dst = t->bx + (Size) t->bn * t->row_size;

	if (x != dst)
		memcpy(dst, x, t->row_size * sizeof(float));
	if (!standardised)
		model_input_standardise(&t->in, dst);
	t->blabel[t->bn++] = y;
	if (t->bn == t->opt->batch_size)
		flush_predictions(t);
}

static void
eval_row(void *arg, Spectrogram *spec, double label, uint64 hash)
{
	Trainer    *t = arg;
	bool		want_test = t->n_test > 0;

	if (spec == NULL || row_is_test(t, label, hash) != want_test)
		return;
	/* a source that changed mid-pass could hold more rows of this split */
	if (t->n_test_seen + t->bn >= (want_test ? t->n_test : t->n_train))
		source_changed(t);
	model_input_fill(&t->in, spec, t->bx + (Size) t->bn * t->row_size, true);
	add_to_eval(t, t->bx + (Size) t->bn * t->row_size, label, true);
}

/* Predictions on the test split (the training split when there is none). */
static void
evaluate(Trainer *t)
{
	int			i;
	bool		want_test = t->n_test > 0;

	t->n_test_seen = 0;
	if (t->cached)
	{
		for (i = 0; i < t->n_rows; i++)
			if (row_is_test(t, t->labels[i], t->hashes[i]) == want_test)
				add_to_eval(t, t->cache + (Size) i * t->row_size, t->labels[i], true);
	}
	else
		source_pass(t, eval_row);
	flush_predictions(t);
}

/* ---- metrics and storage ---- */

static void
append_number(StringInfo buf, const char *key, double v)
{
	if (isfinite(v))
		appendStringInfo(buf, ", \"%s\": %.17g", key, v);
	else
		appendStringInfo(buf, ", \"%s\": null", key);
}

/* Metrics of predictions against labels as a JSON object's members. */
static void
append_metrics(StringInfo buf, int task, const double *pred, const double *label, int n)
{
	ttsp_error	err;

	appendStringInfo(buf, "\"n\": %d", n);
	if (task == TTSP_TASK_CLASSIFICATION)
	{
		ttsp_class_metrics m;
		int		   *labels = palloc(n * sizeof(int));
		int			i;

		for (i = 0; i < n; i++)
			labels[i] = label[i] >= 0.5;
		ttsp_check(ttsp_classification_metrics(pred, labels, n, &m, &err), &err);
		append_number(buf, "accuracy", m.accuracy);
		append_number(buf, "balanced_accuracy", m.balanced_accuracy);
		append_number(buf, "precision", m.precision);
		append_number(buf, "recall", m.recall);
		append_number(buf, "f1", m.f1);
		append_number(buf, "roc_auc", m.roc_auc);
		append_number(buf, "log_loss", m.log_loss);
		append_number(buf, "baseline_accuracy", m.baseline_accuracy);
		appendStringInfo(buf, ", \"positives\": %zu", m.n_pos);
	}
	else
	{
		ttsp_reg_metrics m;

		ttsp_check(ttsp_regression_metrics(pred, label, n, &m, &err), &err);
		append_number(buf, "mse", m.mse);
		append_number(buf, "mae", m.mae);
		append_number(buf, "r2", m.r2);
		append_number(buf, "baseline_mse", m.baseline_mse);
	}
}

/* The epoch's headline: test accuracy or MSE. */
static double
headline(const Trainer *t, double *loss)
{
	double		hits = 0,
				err = 0,
				ll = 0;
	int			i;

	for (i = 0; i < t->n_test_seen; i++)
	{
		double		p = t->test_pred[i],
					y = t->test_label[i];

		if (t->opt->task == TTSP_TASK_CLASSIFICATION)
		{
			double		q = Min(Max(p, 1e-15), 1 - 1e-15);

			hits += (p >= 0.5) == (y >= 0.5);
			ll -= y * log(q) + (1 - y) * log(1 - q);
		}
		else
			err += (p - y) * (p - y);
	}
	if (t->opt->task == TTSP_TASK_CLASSIFICATION)
	{
		*loss = ll / t->n_test_seen;
		return hits / t->n_test_seen;
	}
	*loss = err / t->n_test_seen;
	return *loss;
}

static Datum
text_jsonb(const char *s)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
}

static Datum
float8_array(const double *v, int n)
{
	Datum	   *d = palloc(Max(n, 1) * sizeof(Datum));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static const char *
optimizer_name(ttsp_optim_kind k)
{
	return k == TTSP_OPTIM_SGD ? "sgd" : "adam";
}

/* Insert the model as the next version of its name; returns the version. */
static int32
store_model(Trainer *t, const char *metrics, const double *train_loss, const double *test_loss)
{
	TrainOptions *o = t->opt;
	StringInfoData arch,
				hyper;
	size_t		wlen = ttsp_cnn_serialized_size(t->net);
	bytea	   *weights = palloc(VARHDRSZ + wlen);
	int			dims[1] = {t->in.channels * t->in.bins};
	Datum		args[11];
	Oid			types[11] = {TEXTOID, TEXTOID, JSONBOID, JSONBOID, JSONBOID, FLOAT4ARRAYOID,
	FLOAT4ARRAYOID, BYTEAOID, JSONBOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID};
	ttsp_error	err;
	bool		isnull;
	int			i;
	char	   *sql;

	SET_VARSIZE(weights, VARHDRSZ + wlen);
	ttsp_check(ttsp_cnn_serialize(t->net, (uint8_t *) VARDATA(weights), wlen, &err), &err);
	initStringInfo(&arch);
	appendStringInfo(&arch, "{\"network\": \"%d x [Conv2d(k=5, s=2, p=2) -> ReLU -> BatchNorm2d] -> global average pool -> Linear\", "
					 "\"channels\": [", o->n_blocks);
	for (i = 0; i < o->n_blocks; i++)
		appendStringInfo(&arch, "%s%d", i ? ", " : "", o->channels[i]);
	appendStringInfo(&arch, "], \"input\": [%d, %d, %d], \"frames\": %d, \"parameters\": %zu, "
					 "\"output\": \"%s\", \"target_mean\": %.17g, \"target_std\": %.17g, \"weights_format\": 1}",
					 t->in.channels, t->in.bins, t->in.frames, t->in.frames, ttsp_cnn_param_count(t->net),
					 o->task == TTSP_TASK_CLASSIFICATION ? "sigmoid probability" : "value x target_std + target_mean",
					 t->target_mean, t->target_std);
	initStringInfo(&hyper);
	appendStringInfo(&hyper, "{\"epochs\": %d, \"batch_size\": %d, \"learning_rate\": %.17g, "
					 "\"optimizer\": \"%s\", \"loss\": \"%s\", \"test_size\": %.17g, \"seed\": %d, "
					 "\"threads\": %d, \"n_train\": %d, \"n_test\": %d, \"standardisation\": \"per channel and bin\"}",
					 o->epochs, o->batch_size, o->optim.lr, optimizer_name(o->optim.kind),
					 o->loss == TTSP_LOSS_BCE ? "bce" : "mse", o->test_size, o->seed, ttsp_threads,
					 t->n_train, t->n_test);

	args[0] = CStringGetTextDatum(o->model_name);
	args[1] = CStringGetTextDatum(o->task == TTSP_TASK_CLASSIFICATION ? "classification" : "regression");
	args[2] = text_jsonb(arch.data);
	args[3] = text_jsonb(hyper.data);
	args[4] = t->features_json;
	args[5] = PointerGetDatum(ttsp_float4_array(1, dims, t->in.mean));
	args[6] = PointerGetDatum(ttsp_float4_array(1, dims, t->in.std));
	args[7] = PointerGetDatum(weights);
	args[8] = text_jsonb(metrics);
	args[9] = float8_array(train_loss, o->epochs);
	args[10] = float8_array(test_loss, o->epochs);

	/* one writer per name at a time (needs no privilege beyond INSERT) */
	sql = psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d, pg_catalog.hashtext($1))", (int32) ttsp_schema_oid());
	if (SPI_execute_with_args(sql, 1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the model name");
	sql = psprintf("INSERT INTO %s.ttsp_model (name, version, task, architecture, hyperparameters, features, "
				   "norm_mean, norm_std, weights, metrics, train_loss, test_loss) "
				   "SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 "
				   "FROM %s.ttsp_model WHERE name = $1 "
				   /* REPEATABLE READ cannot see a version stored meanwhile: 40001, not a key error */
				   "ON CONFLICT DO NOTHING RETURNING version", ttsp_schema(), ttsp_schema());
	if (SPI_execute_with_args(sql, 11, types, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not store the model");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not store model \"%s\": another session stored a version meanwhile", o->model_name),
				 errhint("Retry the transaction.")));
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* ---- entry points ---- */

static char *
quote_literal_json(const char *s)
{
	StringInfoData b;

	initStringInfo(&b);
	escape_json(&b, s);
	return b.data;
}

static Oid
spectrogram_type(void)
{
	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("spectrogram"),
						   ObjectIdGetDatum(ttsp_schema_oid()));
}

static char *
text_arg(FunctionCallInfo fcinfo, int i, const char *what)
{
	if (PG_ARGISNULL(i))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(i));
}

#define bad_option(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg(__VA_ARGS__)))

/* Arguments 4.. of ttsp_train, defaults as documented in the SQL script. */
static void
parse_options(FunctionCallInfo fcinfo, TrainOptions *o)
{
	char	   *task = text_arg(fcinfo, 4, "task");
	char	   *optimizer = text_arg(fcinfo, 8, "optimizer");
	ArrayType  *channels;
	int			i;

	o->model_name = text_arg(fcinfo, 0, "model_name");
	if (o->model_name[0] == '\0' || pg_mbstrlen(o->model_name) > 200)
		bad_option("model_name must have 1 to 200 characters");
	if (strcmp(task, "classification") == 0)
		o->task = TTSP_TASK_CLASSIFICATION;
	else if (strcmp(task, "regression") == 0)
		o->task = TTSP_TASK_REGRESSION;
	else
		bad_option("task must be 'classification' or 'regression', got '%s'", task);
	o->epochs = PG_ARGISNULL(5) ? 10 : PG_GETARG_INT32(5);
	if (o->epochs < 1 || o->epochs > 100000)
		bad_option("epochs must be between 1 and 100000, got %d", o->epochs);
	o->batch_size = PG_ARGISNULL(6) ? 32 : PG_GETARG_INT32(6);
	if (o->batch_size < 1 || o->batch_size > 4096)
		bad_option("batch_size must be between 1 and 4096, got %d", o->batch_size);
	if (strcmp(optimizer, "adam") == 0)
		o->optim = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	else if (strcmp(optimizer, "sgd") == 0)
		o->optim = ttsp_optim_defaults(TTSP_OPTIM_SGD);
	else
		bad_option("optimizer must be 'adam' or 'sgd', got '%s'", optimizer);
	if (!PG_ARGISNULL(7))
		o->optim.lr = PG_GETARG_FLOAT8(7);
	if (!(o->optim.lr > 0) || !isfinite(o->optim.lr))
		bad_option("learning_rate must be a positive number, got %g", o->optim.lr);
	if (PG_ARGISNULL(9))
		o->loss = o->task == TTSP_TASK_CLASSIFICATION ? TTSP_LOSS_BCE : TTSP_LOSS_MSE;
	else
	{
		char	   *loss = text_to_cstring(PG_GETARG_TEXT_PP(9));

		if (strcmp(loss, "mse") == 0)
			o->loss = TTSP_LOSS_MSE;
		else if (strcmp(loss, "bce") == 0 && o->task == TTSP_TASK_CLASSIFICATION)
			o->loss = TTSP_LOSS_BCE;
		else
			bad_option("loss must be 'mse' or, for classification, 'bce'; got '%s'", loss);
	}
	if (PG_ARGISNULL(10))
		bad_option("channels must not be NULL");
	channels = PG_GETARG_ARRAYTYPE_P(10);
	o->n_blocks = ArrayGetNItems(ARR_NDIM(channels), ARR_DIMS(channels));
	if (ARR_NDIM(channels) != 1 || o->n_blocks < 1 || o->n_blocks > TTSP_CNN_MAX_BLOCKS ||
		(ARR_HASNULL(channels) && array_contains_nulls(channels)))
		bad_option("channels must list 1 to %d block widths without NULLs", TTSP_CNN_MAX_BLOCKS);
	for (i = 0; i < o->n_blocks; i++)
	{
		o->channels[i] = ((int32 *) ARR_DATA_PTR(channels))[i];
		if (o->channels[i] < 1 || o->channels[i] > TTSP_CNN_MAX_CHANNELS)
			bad_option("each of channels must be between 1 and %d, got %d", TTSP_CNN_MAX_CHANNELS, o->channels[i]);
	}
	o->test_size = PG_ARGISNULL(11) ? 0.25 : PG_GETARG_FLOAT8(11);
	if (!(o->test_size >= 0 && o->test_size < 1))
		bad_option("test_size must be in [0, 1), got %g", o->test_size);
	o->seed = PG_ARGISNULL(12) ? TTSP_CNN_DEFAULT_SEED : PG_GETARG_INT32(12);
	o->frames = PG_ARGISNULL(13) ? 0 : PG_GETARG_INT32(13);
	if (!PG_ARGISNULL(13) && (o->frames < 1 || o->frames > TTSP_CNN_MAX_DIM))
		bad_option("frames must be between 1 and %d, got %d", TTSP_CNN_MAX_DIM, o->frames);
}

static Datum
train(TrainOptions *o)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "ttsp_train", ALLOCSET_DEFAULT_SIZES);
	Trainer    *t = MemoryContextAllocZero(cxt, sizeof(Trainer));
	double	   *train_loss = MemoryContextAlloc(cxt, o->epochs * sizeof(double));
	double	   *test_loss = MemoryContextAlloc(cxt, o->epochs * sizeof(double));
	StringInfoData metrics;
	MemoryContext old;
	instr_time	start,
				now;
	int32		version;
	int			epoch;
	Datum		result;

	t->cxt = cxt;
	t->opt = o;
	t->cached = true;
	t->cb.func = release_trainer;
	t->cb.arg = t;
	MemoryContextRegisterResetCallback(cxt, &t->cb);
	t->spec_type = spectrogram_type();
	ttsp_rng_seed(&t->rng, ((uint64) (uint32) o->seed) ^ UINT64CONST(0x9E3779B97F4A7C15));

	/* fail before the work, not after it, when the model cannot be stored */
	{
		Oid			rel = get_relname_relid("ttsp_model", ttsp_schema_oid());

		if (pg_class_aclcheck(rel, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "ttsp_model");
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	INSTR_TIME_SET_CURRENT(start);
	for_each_row(o->query, t->spec_type, o->seed, first_pass_row, t);
	if (t->n_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no rows to train on"),
				 errdetail("%d rows had a NULL feature or label.", t->n_skipped)));
	if (t->n_skipped > 0)
		ereport(NOTICE, (errmsg("skipped %d rows with a NULL feature or label", t->n_skipped)));
	if (o->task == TTSP_TASK_CLASSIFICATION)
	{
		int			positives = 0;
		int			i;

		for (i = 0; i < t->n_rows; i++)
			positives += t->labels[i] >= 0.5;
		if (positives == 0 || positives == t->n_rows)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the label has only one class: all %d rows are %s", t->n_rows,
							positives ? "positive" : "negative"),
					 errhint("A classifier needs examples of both classes.")));
	}
	make_split(t);
	if (o->test_size > 0 && t->n_test == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%d rows are too few for test_size %g: the test split would be empty",
						t->n_rows, o->test_size),
				 errhint("Add rows, raise test_size, or pass test_size => 0 to report metrics on the training rows.")));
	compute_stats(t);
	t->test_pred = MemoryContextAllocHuge(cxt, Max(t->n_train, t->n_test) * sizeof(double));
	t->test_label = MemoryContextAllocHuge(cxt, Max(t->n_train, t->n_test) * sizeof(double));
	ereport(NOTICE,
			(errmsg("training \"%s\": %d train and %d test rows of %d x %d x %d, %zu parameters, %s",
					o->model_name, t->n_train, t->n_test, t->in.channels, t->in.bins, t->in.frames,
					ttsp_cnn_param_count(t->net), t->cached ? "data in memory" : "streaming from the source")));

	for (epoch = 0; epoch < o->epochs; epoch++)
	{
		double		metric,
					elapsed;

		train_epoch(t);
		evaluate(t);
		train_loss[epoch] = t->epoch_loss / Max(t->epoch_batches, 1);
		metric = headline(t, &test_loss[epoch]);
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		elapsed = INSTR_TIME_GET_DOUBLE(now);
		ereport(NOTICE,
				(errmsg("epoch %d/%d: train loss %.4f, %s %s %.4f, %.1f s elapsed, ETA %.1f s",
						epoch + 1, o->epochs, train_loss[epoch], t->n_test > 0 ? "test" : "train",
						o->task == TTSP_TASK_CLASSIFICATION ? "accuracy" : "MSE", metric,
						elapsed, elapsed / (epoch + 1) * (o->epochs - epoch - 1))));
	}

	/* in cxt, which outlives SPI_finish */
	old = MemoryContextSwitchTo(cxt);
	initStringInfo(&metrics);
	MemoryContextSwitchTo(old);
	appendStringInfo(&metrics, "{\"split\": \"%s\", ", t->n_test > 0 ? "test" : "train");
	append_metrics(&metrics, o->task, t->test_pred, t->test_label, t->n_test_seen);
	appendStringInfoChar(&metrics, '}');
	version = store_model(t, metrics.data, train_loss, test_loss);
	SPI_finish();

	MemoryContextSwitchTo(caller);
	result = DirectFunctionCall1(jsonb_in,
								 CStringGetDatum(psprintf("{\"model\": %s, \"version\": %d, %s",
														  quote_literal_json(o->model_name), version,
														  metrics.data + 1)));
	MemoryContextDelete(cxt);
#ifdef __GLIBC__
	/* glibc keeps the freed training heap (tens of MB) in the backend otherwise */
	malloc_trim(0);
#endif
	return result;
}

/* SELECT features, label FROM relation, every name quoted. */
static char *
relation_query(FunctionCallInfo fcinfo, Oid relid)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	char	   *rel = get_rel_name(relid);

	if (nsp == NULL || rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return psprintf("SELECT %s, %s FROM %s",
					quote_identifier(text_arg(fcinfo, 2, "features")),
					quote_identifier(text_arg(fcinfo, 3, "label")),
					quote_qualified_identifier(nsp, rel));
}

/* ttsp_train(model_name, source regclass, features, label, ...) */
Datum
ttsp_train_table(PG_FUNCTION_ARGS)
{
	TrainOptions o = {0};

	parse_options(fcinfo, &o);
	if (PG_ARGISNULL(1))
		bad_option("source must not be NULL");
	o.query = relation_query(fcinfo, PG_GETARG_OID(1));
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
	char	   *source;
	List	   *names;

	parse_options(fcinfo, &o);
	source = text_arg(fcinfo, 1, "query");
	/* a (possibly schema-qualified, possibly quoted) name parses as identifiers */
	if (SplitIdentifierString(pstrdup(source), '.', &names) && list_length(names) <= 3)
	{
		RangeVar   *rv = makeRangeVarFromNameList(stringToQualifiedNameList(source));

		o.query = relation_query(fcinfo, RangeVarGetRelid(rv, AccessShareLock, false));
	}
	else
		o.query = psprintf("SELECT q.%s, q.%s FROM (%s) AS q",
						   quote_identifier(text_arg(fcinfo, 2, "features")),
						   quote_identifier(text_arg(fcinfo, 3, "label")),
						   source);
	return train(&o);
}

/* ttsp_evaluate: the model's metrics on every row of a table. */
typedef struct Evaluator
{
	LoadedModel *m;
	int			batch;
	float	   *bx;
	double	   *bout;
	int			bn;
	double	   *pred;
	double	   *label;
	int			n;
	int			cap;
} Evaluator;

static void
eval_flush(Evaluator *e)
{
	int			i;

	if (e->bn == 0)
		return;
	model_predict(e->m, e->bx, e->bn, e->bout);
	for (i = 0; i < e->bn; i++)
		e->pred[e->n - e->bn + i] = e->bout[i];
	e->bn = 0;
	CHECK_FOR_INTERRUPTS();
}

static void
eval_model_row(void *arg, Spectrogram *spec, double label, uint64 hash)
{
	Evaluator  *e = arg;

	(void) hash;
	if (spec == NULL)
		return;
	model_input_check(&e->m->in, spec, e->m->name);
	if (e->n == e->cap)
	{
		e->cap *= 2;
		e->pred = repalloc_huge(e->pred, e->cap * sizeof(double));
		e->label = repalloc_huge(e->label, e->cap * sizeof(double));
	}
	model_input_fill(&e->m->in, spec, e->bx + (Size) e->bn * MODEL_INPUT_SIZE(&e->m->in), true);
	e->label[e->n++] = label;
	if (++e->bn == e->batch)
		eval_flush(e);
}

Datum
ttsp_evaluate(PG_FUNCTION_ARGS)
{
	char	   *name = text_arg(fcinfo, 0, "model_name");
	Evaluator	e = {0};
	StringInfoData buf;
	char	   *query;
	MemoryContext caller = CurrentMemoryContext;

	if (PG_ARGISNULL(1))
		bad_option("source must not be NULL");
	query = relation_query(fcinfo, PG_GETARG_OID(1));
	e.m = model_lookup(name, model_version_arg(fcinfo, 4));
	/* the source query may look up models too: keep this one loaded */
	model_pin(e.m);
	e.batch = 32;
	e.bx = palloc(e.batch * MODEL_INPUT_SIZE(&e.m->in) * sizeof(float));
	e.bout = palloc(e.batch * sizeof(double));
	e.cap = 1024;
	e.pred = palloc(e.cap * sizeof(double));
	e.label = palloc(e.cap * sizeof(double));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* grow the result arrays in the caller's context, not SPI's */
	MemoryContextSwitchTo(caller);
	for_each_row(query, spectrogram_type(), 0, eval_model_row, &e);
	eval_flush(&e);
	SPI_finish();
	if (e.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no rows with a non-NULL feature and label to evaluate on")));
	if (e.m->task == TTSP_TASK_CLASSIFICATION)
	{
		int			i;

		for (i = 0; i < e.n; i++)
			if (e.label[i] != 0 && e.label[i] != 1)
				bad_option("classification labels must be 0/1 or boolean, got %g", e.label[i]);
	}
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"model\": %s, \"version\": %d, ", quote_literal_json(name), e.m->version);
	append_metrics(&buf, e.m->task, e.pred, e.label, e.n);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
