/*
 * Model inputs, the per-backend model cache and ttsp_predict.  The SQL that
 * reads ttsp_model is model_table.c's.
 */
#include "model.h"

#include <math.h>

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/snapmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "args.h"
#include "covariates.h"
#include "feature_spec.h"
#include "linear.h"
#include "mlp.h"
#include "logscale.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_predict);
PG_FUNCTION_INFO_V1(ttsp_predict_id);
PG_FUNCTION_INFO_V1(ttsp_predict_model);

#define MODEL_CACHE_SIZE 4

static LoadedModel *model_cache[MODEL_CACHE_SIZE];

/* ttsp.threads, handed to the core explicitly before each call */
void
ttsp_set_threads(ttsp_cnn *net)
{
	ttsp_error	err;

	ttsp_check(ttsp_cnn_set_threads(net, ttsp_threads, &err), &err);
}

void
model_input_check(const ModelInput *in, const Spectrogram *s, const char *model)
{
	const ttsp_spec_header *t = &in->tmpl->h;

	if (!ttsp_spec_same_features(t, &s->h))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spectrogram does not match model \"%s\"", model),
				 errdetail("The model takes %d x %d %s%s values at %d Hz (n_fft %d, win_length %d, hop_length %d); "
						   "this is %d x %d %s%s at %d Hz (n_fft %d, win_length %d, hop_length %d).",
						   t->channels, t->bins, ttsp_spec_kind_name(t),
						   (t->flags & TTSP_SPEC_DB) ? " dB" : "", t->sample_rate, t->n_fft,
						   t->win_length, t->hop_length,
						   s->h.channels, s->h.bins, ttsp_spec_kind_name(&s->h),
						   (s->h.flags & TTSP_SPEC_DB) ? " dB" : "", s->h.sample_rate, s->h.n_fft,
						   s->h.win_length, s->h.hop_length),
				 errhint("Compute it with the parameters in ttsp_model.features; centring, padding, "
						 "normalisation, mel and dB settings must match too.")));
}

/* Log values (standardised or not) of frames [0, n) of one (channel, bin) row of s into dst. */
static void
log_row(const Spectrogram *s, int cb, int n, float shift, float scale, float *dst)
{
	const float *src = s->data + (Size) cb * s->h.frames;
	int			f;

	if ((s->h.flags & TTSP_SPEC_DB) || s->h.kind == TTSP_KIND_MFCC)
		for (f = 0; f < n; f++)
			dst[f] = (src[f] - shift) * scale;
	else
		ttsp_log10_scaled(src, dst, n, 1e-10f, s->h.power == 1.0f ? 20.0f : 10.0f, shift, scale);
}

void
model_input_fill(const ModelInput *in, const Spectrogram *s, float *out, bool standardise)
{
	int			avail = Min(s->h.frames, in->frames);
	int			cb;

	for (cb = 0; cb < in->channels * in->bins; cb++)
	{
		float	   *dst = out + (Size) cb * in->frames;
		int			f;

		log_row(s, cb, avail, standardise ? in->mean[cb] : 0, standardise ? 1.0f / in->std[cb] : 1.0f, dst);
		/* padding is the mean, 0 once standardised; NaN marks it until then */
		for (f = avail; f < in->frames; f++)
			dst[f] = standardise ? 0 : NAN;
	}
}

/*
 * A model's weights, stored out of line and uncompressed (float weights do
 * not compress), are read chunk by chunk straight into a mapping of their
 * own (glue_map_zeroed) in the current memory context: detoasted, they were
 * 272 kB of fresh palloc'd memory, 68 page faults of a new backend's first
 * prediction, kept with the cached model.  Other values are detoasted.
 * Either way weights_release frees them once the model is decoded.
 */
typedef struct ModelWeights
{
	bytea	   *bytes;
	Datum		stored;
	GlueMapping *map;
} ModelWeights;

static void
weights_fetch(Datum d, ModelWeights *w)
{
	struct varlena *attr = (struct varlena *) DatumGetPointer(d);
	struct varatt_external ptr;
	int32		size;
	Relation	toast;

	w->stored = d;
	w->map = NULL;
	if (!glue_toast_uncompressed(attr, &ptr))
	{
		w->bytes = DatumGetByteaPP(d);
		return;
	}
	/* as detoast.c's toast_fetch_datum, into the mapping */
	size = VARATT_EXTERNAL_GET_EXTSIZE(ptr);
	w->bytes = glue_map_zeroed((Size) size + VARHDRSZ, "model weights", &w->map);
	SET_VARSIZE(w->bytes, size + VARHDRSZ);
	toast = table_open(ptr.va_toastrelid, AccessShareLock);
	table_relation_fetch_toast_slice(toast, ptr.va_valueid, size, 0, size, (struct varlena *) w->bytes);
	table_close(toast, AccessShareLock);
}

static void
weights_release(ModelWeights *w)
{
	if (w->map)
		glue_unmap(w->map);
	else if (PointerGetDatum(w->bytes) != w->stored)
		pfree(w->bytes);
	w->bytes = NULL;
}

/*
 * TTSP_POOL_GROUP rows at a time through one small buffer (the whole clip's
 * logs would be a fresh allocation, and page faults, on every call), pooled
 * side by side (ttsp_pool_rows).  With in, also the standardised window
 * into out, from the same logs.
 */
static void
pool_rows(const Spectrogram *s, double *pooled, const ModelInput *in, float *out)
{
	int			rows = s->h.channels * s->h.bins,
				frames = s->h.frames;
	float	   *logs = palloc((Size) TTSP_POOL_GROUP * frames * sizeof(float));
	ttsp_error	err;

	for (int c0 = 0; c0 < rows; c0 += TTSP_POOL_GROUP)
	{
		int			n = Min(TTSP_POOL_GROUP, rows - c0);

		for (int k = 0; k < n; k++)
			log_row(s, c0 + k, frames, 0, 1, logs + (Size) k * frames);
		ttsp_check(ttsp_pool_rows(logs, n, frames, c0, s->h.bins, &pooled[c0], &pooled[rows + c0], &err),
				   &err);
		if (in == NULL)
			continue;
		for (int k = 0; k < n; k++)
		{
			/* (v - 0) * 1 is v, and (v - mean) * scale, in float, is what log_row computes standardised */
			const float *row = logs + (Size) k * frames;
			float	   *dst = out + (Size) (c0 + k) * in->frames;
			float		mean = in->mean[c0 + k],
						scale = 1.0f / in->std[c0 + k];
			int			f;

			for (f = 0; f < Min(frames, in->frames); f++)
				dst[f] = (row[f] - mean) * scale;
			for (; f < in->frames; f++)
				dst[f] = 0;
		}
	}
	pfree(logs);
}

void
model_pooled_features(const Spectrogram *s, double *out)
{
	pool_rows(s, out, NULL, NULL);
}

void
model_input_fill_pooled(const ModelInput *in, const Spectrogram *s, float *out, double *pooled)
{
	if (pooled == NULL)
		model_input_fill(in, s, out, true);
	else
		pool_rows(s, pooled, in, out);
}

void
model_input_standardise(const ModelInput *in, float *x)
{
	int			cb;

	for (cb = 0; cb < in->channels * in->bins; cb++)
	{
		float	   *v = x + (Size) cb * in->frames;
		float		mean = in->mean[cb];
		float		scale = 1.0f / in->std[cb];
		int			f;

		for (f = 0; f < in->frames; f++)
			v[f] = isnan(v[f]) ? 0 : (v[f] - mean) * scale;
	}
}

/* A model's memory context is deleted with it; this releases the network. */
static void
release_net(void *arg)
{
	LoadedModel *m = arg;

	ttsp_cnn_destroy(m->net);
	m->net = NULL;
	ttsp_linear_destroy(m->linear);
	m->linear = NULL;
	ttsp_mlp_destroy(m->mlp);
	m->mlp = NULL;
}

bool
model_weights_are_linear(const bytea *weights)
{
	return VARSIZE_ANY_EXHDR(weights) >= 8 && memcmp(VARDATA_ANY(weights), "TTSPLIN", 8) == 0;
}

static float *
copy_float_array(Datum d, int expect, const char *what)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	float	   *out;

	if (ARR_ELEMTYPE(a) != FLOAT4OID || ARR_HASNULL(a) || ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != expect)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model %s has the wrong length (expected %d values)", what, expect)));
	out = palloc(expect * sizeof(float));
	memcpy(out, ARR_DATA_PTR(a), expect * sizeof(float));
	return out;
}

/* A column of the model row, by name; NULL only where the 0.2.0 table allows none. */
static Datum
model_column(HeapTuple row, TupleDesc desc, const char *column)
{
	bool		isnull;
	int			att = SPI_fnumber(desc, column);
	Datum		d;

	if (att <= 0)
		elog(ERROR, "ttsp_model has no column \"%s\"", column);
	d = SPI_getbinval(row, desc, att, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model column %s is NULL", column),
				 errhint("Retrain the model with ttsp_train.")));
	return d;
}

/* A text column that older tables lack: its value, or NULL when absent or NULL. */
static char *
optional_text_column(HeapTuple row, TupleDesc desc, const char *column)
{
	int			att = SPI_fnumber(desc, column);
	bool		isnull;
	Datum		d;

	if (att <= 0)
		return NULL;
	if (TupleDescAttr(desc, att - 1)->atttypid != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model must be a ttsp_model row: column \"%s\" is %s, not text", column,
						format_type_be(TupleDescAttr(desc, att - 1)->atttypid))));
	d = heap_getattr(row, att, desc, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

/* The "source" column (0.3.0): a relation source's name, or NULL. */
static char *
model_source_column(HeapTuple row, TupleDesc desc)
{
	return optional_text_column(row, desc, "source");
}

/* The "pool" column: absent (a 0.2.0 table) or NULL for a model that reads its first window. */
static ModelPool
model_pool_column(HeapTuple row, TupleDesc desc)
{
	return model_pool_parse(optional_text_column(row, desc, "pool"));
}

/*
 * Decode a model row into a model with its own memory context under the
 * caller's (SPI's): detoasted copies go with SPI's, and an error frees
 * everything.  model_lookup moves the context under TopMemoryContext once
 * the model is cached.
 */
static LoadedModel *
decode_model_row(const char *name, int32 version, HeapTuple row, TupleDesc desc)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ttsp model", ALLOCSET_SMALL_SIZES);
	LoadedModel *m = MemoryContextAllocZero(cxt, sizeof(LoadedModel));
	MemoryContext old;
	ModelWeights w;
	bytea	   *weights;
	Spectrogram *tmpl;
	char	   *task;
	int			n_norm;
	const ttsp_cnn_config *cfg;
	ttsp_error	err;
	int			n_cov;

	m->cxt = cxt;
	m->cb.func = release_net;
	m->cb.arg = m;
	MemoryContextRegisterResetCallback(cxt, &m->cb);
	old = MemoryContextSwitchTo(cxt);
	m->name = pstrdup(name);
	m->version = version;
	if (tabular_decode(m, row, desc))
	{
		MemoryContextSwitchTo(old);
		return m;
	}
	MemoryContextSwitchTo(old);
	weights_fetch(model_column(row, desc, "weights"), &w);
	weights = w.bytes;
	MemoryContextSwitchTo(cxt);
	tmpl = DatumGetSpectrogramP(model_column(row, desc, "feature_template"));
	task = TextDatumGetCString(model_column(row, desc, "task"));
	n_norm = tmpl->h.channels * tmpl->h.bins;
	if (strcmp(task, "regression") == 0)
		m->task = TTSP_TASK_REGRESSION;
	else if (strcmp(task, "classification") == 0)
		m->task = TTSP_TASK_CLASSIFICATION;
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has an unknown task \"%s\"", name, task)));
	m->in.tmpl = palloc(VARSIZE(tmpl));
	memcpy(m->in.tmpl, tmpl, VARSIZE(tmpl));
	m->in.channels = tmpl->h.channels;
	m->in.bins = tmpl->h.bins;
	m->in.frames = DatumGetInt32(model_column(row, desc, "frames"));
	m->in.mean = copy_float_array(model_column(row, desc, "norm_mean"), n_norm, "norm_mean");
	m->in.std = copy_float_array(model_column(row, desc, "norm_std"), n_norm, "norm_std");
	m->target_mean = DatumGetFloat8(model_column(row, desc, "target_mean"));
	m->target_std = DatumGetFloat8(model_column(row, desc, "target_std"));
	MemoryContextSwitchTo(old);
	/* a classifier's output is a probability: no scale applies */
	if (!isfinite(m->target_mean) || !isfinite(m->target_std) || !(m->target_std > 0) ||
		(m->task == TTSP_TASK_CLASSIFICATION && (m->target_mean != 0 || m->target_std != 1)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has an invalid target scale (mean %g, std %g)", name,
						m->target_mean, m->target_std)));

	if (model_weights_are_linear(weights))
	{
		m->linear = ttsp_linear_deserialize((const uint8_t *) VARDATA_ANY(weights), VARSIZE_ANY_EXHDR(weights), &err);
		weights_release(&w);
		if (m->linear == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("weights of model \"%s\" version %d are unreadable: %s", name, version, err.msg)));
		old = MemoryContextSwitchTo(cxt);
		m->cov = covariates_from_model_row(row, desc, name);
		MemoryContextSwitchTo(old);
		if (m->linear->task != m->task || m->linear->channels != m->in.channels ||
			m->linear->bins != m->in.bins || m->linear->n_extra != (m->cov ? m->cov->n_inputs : 0))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("weights of model \"%s\" version %d do not match its task and input shape", name, version)));
		return m;
	}
	m->net = ttsp_cnn_deserialize((const uint8_t *) VARDATA_ANY(weights), VARSIZE_ANY_EXHDR(weights), &err);
	weights_release(&w);
	if (m->net == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" version %d are unreadable: %s", name, version, err.msg)));
	cfg = ttsp_cnn_get_config(m->net);
	if (cfg->in_channels != m->in.channels || cfg->in_height != m->in.bins || cfg->in_width != m->in.frames ||
		cfg->task != m->task)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" version %d do not match its task and input shape", name, version)));
	/*
	 * extra inputs are the whole clip's pooled features (a wide-and-deep
	 * model), then the covariates' inputs
	 */
	old = MemoryContextSwitchTo(cxt);
	m->cov = covariates_from_model_row(row, desc, name);
	m->source = model_source_column(row, desc);
	MemoryContextSwitchTo(old);
	n_cov = m->cov ? m->cov->n_inputs : 0;
	m->n_pooled = cfg->n_extra > n_cov ? (int) ttsp_pooled_count(m->in.channels, m->in.bins) : 0;
	if (cfg->n_extra != m->n_pooled + n_cov)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" version %d have %d extra inputs, not the %d pooled features of its input and %d covariate inputs",
						name, version, cfg->n_extra, m->n_pooled, n_cov)));
	m->pool = model_pool_column(row, desc);
	return m;
}

/* The cache slot to reuse: empty, else the least recently used unpinned model. */
static int
cache_victim(void)
{
	int			i;

	for (i = MODEL_CACHE_SIZE - 1; i >= 0; i--)
		if (model_cache[i] == NULL || model_cache[i]->pins == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("more than %d models are in use at once", MODEL_CACHE_SIZE),
			 errhint("ttsp_evaluate keeps its model loaded while its source query runs; "
					 "fewer models in that query will do.")));
	return -1;
}

/* Move entry i to the front (most recently used). */
static void
cache_touch(int i, LoadedModel *m)
{
	memmove(&model_cache[1], &model_cache[0], i * sizeof(LoadedModel *));
	model_cache[0] = m;
}

/* Keep m (decoded under a short-lived context) in slot i, evicting what was there. */
static void
cache_insert(int i, LoadedModel *m)
{
	MemoryContextSetParent(m->cxt, TopMemoryContext);
	if (model_cache[i])
		MemoryContextDelete(model_cache[i]->cxt);
	cache_touch(i, m);
}

/*
 * When a lookup's answer cannot have changed: the same transaction, command
 * and user under an MVCC snapshot with the same horizon and the same
 * in-progress transactions.  The lookup's read-only SPI query runs under
 * that snapshot, so it would find the same row: a query scoring many rows
 * looks its model up once, not per row.
 */
static LookupStamp
lookup_stamp(void)
{
	LookupStamp st = {0};
	Snapshot	snap = ActiveSnapshotSet() ? GetActiveSnapshot() : NULL;

	if (snap == NULL || snap->snapshot_type != SNAPSHOT_MVCC || snap->suboverflowed)
		return st;
	st.valid = true;
	st.lxid = MyProc->lxid;
	st.cid = snap->curcid;
	st.xmin = snap->xmin;
	st.xmax = snap->xmax;
	st.xip = hash_bytes_extended((const unsigned char *) snap->xip, snap->xcnt * sizeof(TransactionId), snap->xcnt);
	st.subxip = hash_bytes_extended((const unsigned char *) snap->subxip, snap->subxcnt * sizeof(TransactionId),
									snap->subxcnt);
	st.user = GetUserId();
	return st;
}

static bool
stamp_valid_and_equal(const LookupStamp *a, const LookupStamp *b)
{
	return a->valid && b->valid && a->lxid == b->lxid && a->cid == b->cid && a->xmin == b->xmin &&
		a->xmax == b->xmax && a->xip == b->xip && a->subxip == b->subxip && a->user == b->user;
}

LoadedModel *
model_lookup(const char *name, int32 version)
{
	LoadedModel *m = NULL;
	ModelRowId	id;
	int			i;
	LookupStamp stamp = lookup_stamp();

	for (i = 0; i < MODEL_CACHE_SIZE; i++)
		if (model_cache[i] && !model_cache[i]->by_value && model_cache[i]->asked_version == version &&
			stamp_valid_and_equal(&stamp, &model_cache[i]->stamp) && strcmp(model_cache[i]->name, name) == 0)
		{
			m = model_cache[i];
			cache_touch(i, m);
			return m;
		}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	id = model_table_find(name, version);
	/* xmin and ctid: a row replaced, even within one transaction, is reloaded */
	for (i = 0; i < MODEL_CACHE_SIZE && m == NULL; i++)
		if (model_cache[i] && !model_cache[i]->by_value && model_cache[i]->version == id.version &&
			model_cache[i]->row_xmin == id.xmin && ItemPointerEquals(&model_cache[i]->row_ctid, &id.ctid) &&
			strcmp(model_cache[i]->name, name) == 0)
		{
			m = model_cache[i];
			cache_touch(i, m);
		}
	if (m == NULL)
	{
		int			victim = cache_victim();
		TupleDesc	desc = id.desc;
		HeapTuple	row = id.row ? id.row : model_table_fetch(name, id.version, &desc);

		m = decode_model_row(name, id.version, row, desc);
		m->row_xmin = id.xmin;
		m->row_ctid = id.ctid;
		cache_insert(victim, m);
	}
	m->asked_version = version;
	m->stamp = stamp;
	SPI_finish();
	return m;
}

int32
model_version_arg(FunctionCallInfo fcinfo)
{
	int32		version;

	if (arg_isnull(fcinfo, "version"))
		return 0;
	version = DatumGetInt32(arg_datum(fcinfo, "version"));
	if (version < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be positive, got %d", version),
				 errhint("Leave version NULL for the latest.")));
	return version;
}

static void
unpin_model(void *arg)
{
	((LoadedModel *) arg)->pins--;
}

void
model_pin(LoadedModel *m)
{
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));

	m->pins++;
	cb->func = unpin_model;
	cb->arg = m;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
}

double
model_predict_linear(LoadedModel *m, const Spectrogram *spec, const double *cov_inputs)
{
	size_t		n_pooled = ttsp_pooled_count(m->in.channels, m->in.bins);
	int			n_cov = model_require_covariates(m, cov_inputs);
	double	   *x = palloc((n_pooled + n_cov) * sizeof(double));
	double		out;
	ttsp_error	err;

	model_pooled_features(spec, x);
	if (n_cov > 0)
		memcpy(x + n_pooled, cov_inputs, n_cov * sizeof(double));
	/* a regressor's value is in label units: it was fitted on the labels themselves */
	ttsp_check(ttsp_linear_predict_output(m->linear, x, 1, &out, &err), &err);
	pfree(x);
	return out;
}

int
model_require_covariates(const LoadedModel *m, const double *cov_inputs)
{
	if (m->cov == NULL)
		return 0;
	if (cov_inputs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" reads covariates beside the spectrogram", m->name),
				 errhint("Pass the whole row: SELECT ttsp_predict('%s', s) FROM sounds s.", m->name)));
	return m->cov->n_inputs;
}

void
model_extra_fill(const double *pooled, int n_pooled, const double *cov_inputs, int n_cov, float *dst)
{
	for (int i = 0; i < n_pooled; i++)
		dst[i] = (float) pooled[i];
	for (int i = 0; i < n_cov; i++)
		dst[n_pooled + i] = (float) cov_inputs[i];
}

float *
model_extra_inputs(const LoadedModel *m, const double *pooled, const double *cov_inputs)
{
	int			n_cov = model_require_covariates(m, cov_inputs);
	float	   *extra;

	if (m->n_pooled + n_cov == 0)
		return NULL;
	extra = palloc((m->n_pooled + n_cov) * sizeof(float));
	model_extra_fill(pooled, m->n_pooled, cov_inputs, n_cov, extra);
	return extra;
}

float *
model_clip_extra(const LoadedModel *m, const Spectrogram *spec, const double *cov_inputs)
{
	double	   *pooled = NULL;
	float	   *extra;

	model_require_covariates(m, cov_inputs);
	if (m->n_pooled > 0)
	{
		pooled = palloc(m->n_pooled * sizeof(double));
		model_pooled_features(spec, pooled);
	}
	extra = model_extra_inputs(m, pooled, cov_inputs);
	if (pooled)
		pfree(pooled);
	return extra;
}

float *
model_clip_input(LoadedModel *m, const Spectrogram *spec, double *pooled, int *frames)
{
	ModelInput	whole = m->in;
	Size		size;

	whole.frames = model_clip_width(&m->in, spec->h.frames);
	size = (Size) whole.channels * whole.bins * whole.frames;
	/* kept with the model and grown to the longest clip: a fresh buffer per row cost page faults */
	if (size > m->input_size)
	{
		if (m->input)
			pfree(m->input);
		m->input = MemoryContextAllocHuge(m->cxt, size * sizeof(float));
		m->input_size = size;
	}
	/* with pooled, one log pass for both, as for a clip of one window */
	model_input_fill_pooled(&whole, spec, m->input, pooled);
	*frames = spec->h.frames;
	return m->input;
}

static void
keep_output(void *arg, double output, int tag)
{
	(void) tag;
	*(double *) arg = output;
}

/* Windows per forward when one clip is scored: bounds memory and cancel latency. */
#define PREDICT_WINDOWS 16

double
model_predict_clip(LoadedModel *m, const Spectrogram *spec, const double *cov_inputs)
{
	double		out = NAN;

	if (model_covariates_only(m))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" reads covariates, not a spectrogram", m->name),
				 errhint("Pass the row: SELECT ttsp_predict('%s', s) FROM sounds s.", m->name)));
	model_input_check(&m->in, spec, m->name);
	if (m->linear)
		return model_predict_linear(m, spec, cov_inputs);
	if (m->scorer == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(m->cxt);

		m->scorer = palloc(sizeof(ClipScorer));
		scorer_init(m->scorer, m->net, &m->in, m->pool, m->task, m->target_mean, m->target_std,
					PREDICT_WINDOWS, keep_output, NULL);
		MemoryContextSwitchTo(old);
	}
	/* an error in an earlier call may have left windows */
	scorer_reset(m->scorer);
	m->scorer->arg = &out;
	scorer_add_spec(m->scorer, m, spec, cov_inputs, 0);
	scorer_flush(m->scorer);
	return out;
}

/* ttsp_predict(model_name, spec, version) */
Datum
ttsp_predict(PG_FUNCTION_ARGS)
{
	LoadedModel *m;

	if (arg_isnull(fcinfo, "model_name") || arg_isnull(fcinfo, "spec"))
		PG_RETURN_NULL();
	m = model_lookup(arg_text(fcinfo, "model_name"), model_version_arg(fcinfo));
	PG_RETURN_FLOAT8(model_predict_clip(m, DatumGetSpectrogramP(arg_datum(fcinfo, "spec")), NULL));
}

/* A column's bytes into the content key (NULLs are refused when decoding). */
static uint64
hash_column(uint64 h, HeapTuple row, TupleDesc desc, const char *column)
{
	int			att = SPI_fnumber(desc, column);
	bool		isnull;
	Datum		d;
	Form_pg_attribute a;

	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model must be a ttsp_model row: it has no column \"%s\"", column)));
	d = heap_getattr(row, att, desc, &isnull);
	if (isnull)
		return h;
	a = TupleDescAttr(desc, att - 1);
	if (a->attlen == -1)
	{
		struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

		return hash_bytes_extended((const unsigned char *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), h);
	}
	if (a->attbyval)
		return hash_bytes_extended((const unsigned char *) &d, sizeof(Datum), h);
	return hash_bytes_extended((const unsigned char *) DatumGetPointer(d), a->attlen, h);
}

/*
 * A row passed as a model must have ttsp_model's columns, by name and type:
 * any row type will do, since Citus hands a shard's row type for a
 * reference table's row.
 */
static void
check_value_columns(TupleDesc desc)
{
	Oid			spec_type = ttsp_spectrogram_type();
	const struct
	{
		const char *name;
		Oid			type;
	}			columns[] = {
		{"name", TEXTOID}, {"version", INT4OID}, {"task", TEXTOID}, {"feature_template", spec_type},
		{"frames", INT4OID}, {"norm_mean", FLOAT4ARRAYOID}, {"norm_std", FLOAT4ARRAYOID},
		{"weights", BYTEAOID}, {"target_mean", FLOAT8OID}, {"target_std", FLOAT8OID}
	};
	Size		i;

	for (i = 0; i < lengthof(columns); i++)
	{
		int			att = SPI_fnumber(desc, columns[i].name);

		if (att <= 0 || TupleDescAttr(desc, att - 1)->atttypid != columns[i].type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("model must be a ttsp_model row: %s", att <= 0 ?
							psprintf("it has no column \"%s\"", columns[i].name) :
							psprintf("column \"%s\" is %s, not %s", columns[i].name,
									 format_type_be(TupleDescAttr(desc, att - 1)->atttypid),
									 format_type_be(columns[i].type)))));
	}
}

/*
 * A model passed as a ttsp_model value: decoded from the value alone (no
 * SPI, so it runs in parallel workers and on Citus shards) and cached by a
 * hash of every column that decoding reads, so that any change to the
 * value is a different model.
 */
LoadedModel *
model_from_value(HeapTupleHeader hdr)
{
	static const char *const columns[] = {"task", "feature_template", "frames", "norm_mean", "norm_std",
	"weights", "target_mean", "target_std"};
	/* 0.3.0's: a row type from before the update has none of them */
	static const char *const covariate_columns[] = {"covariates", "covariate_mean", "covariate_scale",
	"covariate_missing"};
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(hdr), HeapTupleHeaderGetTypMod(hdr));
	HeapTupleData row;
	LoadedModel *m = NULL;
	uint64		key = 0;
	Size		i;
	bool		isnull;
	char	   *name;
	int32		version;

	row.t_len = HeapTupleHeaderGetDatumLength(hdr);
	ItemPointerSetInvalid(&row.t_self);
	row.t_tableOid = InvalidOid;
	row.t_data = hdr;
	for (i = 0; i < lengthof(columns); i++)
		key = hash_column(key, &row, desc, columns[i]);
	for (i = 0; i < lengthof(covariate_columns); i++)
		if (SPI_fnumber(desc, covariate_columns[i]) > 0)
			key = hash_column(key, &row, desc, covariate_columns[i]);
	/* 0.3.0's: a row type without it is an older table's (first window) */
	if (SPI_fnumber(desc, "pool") > 0)
		key = hash_column(key, &row, desc, "pool");
	for (i = 0; i < MODEL_CACHE_SIZE && m == NULL; i++)
		if (model_cache[i] && model_cache[i]->by_value && model_cache[i]->content_key == key)
		{
			m = model_cache[i];
			cache_touch(i, m);
		}
	if (m == NULL)
	{
		int			victim;
		Datum		d;

		check_value_columns(desc);
		victim = cache_victim();
		d = heap_getattr(&row, SPI_fnumber(desc, "name"), desc, &isnull);

		name = isnull ? "(unnamed)" : TextDatumGetCString(d);
		d = heap_getattr(&row, SPI_fnumber(desc, "version"), desc, &isnull);
		version = isnull ? 0 : DatumGetInt32(d);
		m = decode_model_row(name, version, &row, desc);
		m->by_value = true;
		m->content_key = key;
		cache_insert(victim, m);
	}
	ReleaseTupleDesc(desc);
	return m;
}

/* ttsp_predict(model ttsp_model, spec): the model row as a value */
Datum
ttsp_predict_model(PG_FUNCTION_ARGS)
{
	LoadedModel *m;

	if (arg_isnull(fcinfo, "model") || arg_isnull(fcinfo, "spec"))
		PG_RETURN_NULL();
	m = model_from_value(DatumGetHeapTupleHeader(arg_datum(fcinfo, "model")));
	PG_RETURN_FLOAT8(model_predict_clip(m, DatumGetSpectrogramP(arg_datum(fcinfo, "spec")), NULL));
}

/* The default model: ttsp.default_model, else the newest one trained. */
static char *
default_model_name(void)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *name;

	if (ttsp_default_model != NULL && ttsp_default_model[0] != '\0')
		return pstrdup(ttsp_default_model);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	name = model_table_newest();
	if (name != NULL)
		name = MemoryContextStrdup(caller, name);
	SPI_finish();
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no model has been trained yet"),
				 errhint("Train one with ttsp_train, or set ttsp.default_model.")));
	return name;
}

/*
 * ttsp_predict(music_id, version): the design card's form.  The audio comes
 * from ttsp.audio_dir and is turned into the model's features: resampled to
 * its rate, averaged to mono when the model has one channel.
 */
Datum
ttsp_predict_id(PG_FUNCTION_ARGS)
{
	LoadedModel *m;
	ttsp_features fs;
	ttsp_decode_opts opts = {0};
	ttsp_error	err;
	bytea	   *audio;
	Spectrogram *spec;

	if (arg_isnull(fcinfo, "music_id"))
		PG_RETURN_NULL();
	/* the same rule for every model, covariate models included: checked first */
	ttsp_check_read_server_files();
	m = model_lookup(default_model_name(), model_version_arg(fcinfo));
	if (model_covariates_only(m))
	{
		bool		found;
		double		p = tabular_predict_music_id(m, DatumGetInt64(arg_datum(fcinfo, "music_id")), &found);

		if (!found)
			PG_RETURN_NULL();
		PG_RETURN_FLOAT8(p);
	}
	audio = ttsp_read_music_file(DatumGetInt64(arg_datum(fcinfo, "music_id")));
	ttsp_features_from_header(&m->in.tmpl->h, &fs);
	ttsp_check(ttsp_stft_params_check(&fs.stft, &err), &err);
	opts.sample_rate = m->in.tmpl->h.sample_rate;
	opts.mono = m->in.channels == 1;
	opts.offset_s = 0;
	/*
	 * A model stored before 0.3.0 sees its first in.frames frames: decode
	 * what they cover, plus n_fft and 0.1 s so that neither end padding nor
	 * the resampler's flush reaches them.  Every other model judges the
	 * whole clip.
	 */
	opts.duration_s = m->linear || m->pool != POOL_FIRST ? -1 :
		((double) m->in.frames * m->in.tmpl->h.hop_length + m->in.tmpl->h.n_fft) /
		m->in.tmpl->h.sample_rate + 0.1;
	opts.max_duration_s = ttsp_max_duration;
	spec = features_from_audio(audio, &opts, &fs);
	if (m->cov != NULL)
	{
		/* covariates beside the audio: the training table's row with this music_id */
		double	   *inputs = tabular_music_id_inputs(m, DatumGetInt64(arg_datum(fcinfo, "music_id")));

		if (inputs == NULL)
			PG_RETURN_NULL();
		PG_RETURN_FLOAT8(model_predict_clip(m, spec, inputs));
	}
	PG_RETURN_FLOAT8(model_predict_clip(m, spec, NULL));
}
