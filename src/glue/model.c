/*
 * Model inputs, the model cache, ttsp_predict and ttsp_evaluate.
 */
#include "model.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "feature_spec.h"
#include "logscale.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_predict);
PG_FUNCTION_INFO_V1(ttsp_predict_id);

#define MODEL_CACHE_SIZE 4

static LoadedModel *model_cache[MODEL_CACHE_SIZE];

Oid
ttsp_schema_oid(void)
{
	Oid			ext = get_extension_oid("ttsp", false);
	Oid			nsp;
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	/* get_extension_schema() is static in PG 15: read pg_extension */
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "extension ttsp not found");
	nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

/* Looked up per call: cheap, and right after DROP/CREATE EXTENSION. */
const char *
ttsp_schema(void)
{
	return quote_identifier(get_namespace_name(ttsp_schema_oid()));
}

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
	const Spectrogram *t = in->tmpl;

	/* flags: centring, normalisation, mel scale and norm, DCT norm, log mels, dB */
	if (s->channels != in->channels || s->bins != in->bins || s->kind != t->kind ||
		s->flags != t->flags || s->pad_mode != t->pad_mode ||
		s->sample_rate != t->sample_rate || s->n_fft != t->n_fft ||
		s->win_length != t->win_length || s->hop_length != t->hop_length ||
		s->power != t->power || s->n_mels != t->n_mels ||
		(t->kind != SPEC_LINEAR && (s->f_min != t->f_min || s->f_max != t->f_max)) ||
		(isnan(s->top_db) != isnan(t->top_db)) || (!isnan(t->top_db) && s->top_db != t->top_db))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spectrogram does not match model \"%s\"", model),
				 errdetail("The model takes %d x %d %s%s values at %d Hz (n_fft %d, win_length %d, hop_length %d); "
						   "this is %d x %d %s%s at %d Hz (n_fft %d, win_length %d, hop_length %d).",
						   in->channels, in->bins, spectrogram_kind_name(t),
						   (t->flags & SPEC_FLAG_DB) ? " dB" : "", t->sample_rate, t->n_fft,
						   t->win_length, t->hop_length,
						   s->channels, s->bins, spectrogram_kind_name(s),
						   (s->flags & SPEC_FLAG_DB) ? " dB" : "", s->sample_rate, s->n_fft,
						   s->win_length, s->hop_length),
				 errhint("Compute it with the parameters in ttsp_model.features; centring, padding, "
						 "normalisation, mel and dB settings must match too.")));
}

void
model_input_fill(const ModelInput *in, const Spectrogram *s, float *out, bool standardise)
{
	int			avail = Min(s->frames, in->frames);
	bool		logged = (s->flags & SPEC_FLAG_DB) || s->kind == SPEC_MFCC;
	float		mult = s->power == 1.0f ? 20.0f : 10.0f;
	int			cb;

	for (cb = 0; cb < in->channels * in->bins; cb++)
	{
		const float *src = s->data + (Size) cb * s->frames;
		float	   *dst = out + (Size) cb * in->frames;
		float		shift = standardise ? in->mean[cb] : 0;
		float		scale = standardise ? 1.0f / in->std[cb] : 1.0f;
		int			f;

		if (logged)
			for (f = 0; f < avail; f++)
				dst[f] = (src[f] - shift) * scale;
		else
			ttsp_log10_scaled(src, dst, avail, 1e-10f, mult, shift, scale);
		/* padding is the mean, 0 once standardised; NaN marks it until then */
		for (f = avail; f < in->frames; f++)
			dst[f] = standardise ? 0 : NAN;
	}
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

/*
 * Decode a row of (task, template spectrogram, frames, norm_mean, norm_std,
 * weights, target_mean, target_std) into a model with its own memory
 * context under the caller's (SPI's): detoasted copies go with SPI's, and
 * an error frees everything.  model_lookup moves the context under
 * TopMemoryContext once the model is cached.
 */
static LoadedModel *
decode_model_row(const char *name, int32 version, HeapTuple row, TupleDesc desc)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ttsp model", ALLOCSET_SMALL_SIZES);
	LoadedModel *m = MemoryContextAllocZero(cxt, sizeof(LoadedModel));
	MemoryContext old;
	bool		isnull;
	bytea	   *weights = DatumGetByteaPP(SPI_getbinval(row, desc, 6, &isnull));
	Spectrogram *tmpl = DatumGetSpectrogramP(SPI_getbinval(row, desc, 2, &isnull));
	char	   *task = TextDatumGetCString(SPI_getbinval(row, desc, 1, &isnull));
	const ttsp_cnn_config *cfg;
	ttsp_error	err;

	m->cxt = cxt;
	m->cb.func = release_net;
	m->cb.arg = m;
	MemoryContextRegisterResetCallback(cxt, &m->cb);
	old = MemoryContextSwitchTo(cxt);
	m->name = pstrdup(name);
	m->version = version;
	m->task = strcmp(task, "regression") == 0 ? TTSP_TASK_REGRESSION : TTSP_TASK_CLASSIFICATION;
	m->in.tmpl = palloc(VARSIZE(tmpl));
	memcpy(m->in.tmpl, tmpl, VARSIZE(tmpl));
	m->in.channels = tmpl->channels;
	m->in.bins = tmpl->bins;
	m->in.frames = DatumGetInt32(SPI_getbinval(row, desc, 3, &isnull));
	m->in.mean = copy_float_array(SPI_getbinval(row, desc, 4, &isnull), tmpl->channels * tmpl->bins, "norm_mean");
	m->in.std = copy_float_array(SPI_getbinval(row, desc, 5, &isnull), tmpl->channels * tmpl->bins, "norm_std");
	m->target_mean = DatumGetFloat8(SPI_getbinval(row, desc, 7, &isnull));
	m->target_std = DatumGetFloat8(SPI_getbinval(row, desc, 8, &isnull));
	MemoryContextSwitchTo(old);

	m->net = ttsp_cnn_deserialize((const uint8_t *) VARDATA_ANY(weights), VARSIZE_ANY_EXHDR(weights), &err);
	if (m->net == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" version %d are unreadable: %s", name, version, err.msg)));
	cfg = ttsp_cnn_get_config(m->net);
	if (cfg->in_channels != m->in.channels || cfg->in_height != m->in.bins || cfg->in_width != m->in.frames)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" version %d do not match its input shape", name, version)));
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

LoadedModel *
model_lookup(const char *name, int32 version)
{
	Datum		args[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};
	Oid			types[2] = {TEXTOID, INT4OID};
	LoadedModel *m = NULL;
	bool		isnull;
	int32		found_version;
	int64		xmin;
	ItemPointerData ctid;
	int			i;
	char	   *sql;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sql = psprintf("SELECT version, xmin::text::bigint, ctid FROM %s.ttsp_model "
				   "WHERE name = $1 AND ($2 = 0 OR version = $2) ORDER BY version DESC LIMIT 1",
				   ttsp_schema());
	if (SPI_execute_with_args(sql, 2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "model lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 version > 0 ? errmsg("model \"%s\" has no version %d", name, version)
				 : errmsg("model \"%s\" does not exist", name),
				 errhint("Train it with ttsp_train, or list models with SELECT name, version FROM ttsp_model.")));
	found_version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	xmin = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	ctid = *(ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

	/* xmin and ctid: a row replaced, even within one transaction, is reloaded */
	for (i = 0; i < MODEL_CACHE_SIZE && m == NULL; i++)
		if (model_cache[i] && model_cache[i]->version == found_version &&
			model_cache[i]->row_xmin == xmin && ItemPointerEquals(&model_cache[i]->row_ctid, &ctid) &&
			strcmp(model_cache[i]->name, name) == 0)
		{
			m = model_cache[i];
			cache_touch(i, m);
		}
	if (m == NULL)
	{
		int			victim = cache_victim();

		args[1] = Int32GetDatum(found_version);
		sql = psprintf("SELECT task, (features OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('shape', "
					   "pg_catalog.jsonb_build_array(c, b, 1), 'data', "
					   "pg_catalog.to_jsonb(pg_catalog.array_fill(0::real, ARRAY[c, b, 1]))))::text::%s.spectrogram, "
					   "(architecture->>'frames')::int, norm_mean, norm_std, weights, "
					   "coalesce((architecture->>'target_mean')::float8, 0), "
					   "coalesce((architecture->>'target_std')::float8, 1) "
					   "FROM %s.ttsp_model, LATERAL (SELECT (features->'shape'->>0)::int AS c, "
					   "(features->'shape'->>1)::int AS b) s WHERE name = $1 AND version = $2",
					   ttsp_schema(), ttsp_schema());
		if (SPI_execute_with_args(sql, 2, types, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "model load failed");
		m = decode_model_row(name, found_version, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
		m->row_xmin = xmin;
		m->row_ctid = ctid;
		MemoryContextSetParent(m->cxt, TopMemoryContext);
		if (model_cache[victim])
			MemoryContextDelete(model_cache[victim]->cxt);
		cache_touch(victim, m);
	}
	SPI_finish();
	return m;
}

int32
model_version_arg(FunctionCallInfo fcinfo, int argno)
{
	int32		version;

	if (PG_ARGISNULL(argno))
		return 0;
	version = PG_GETARG_INT32(argno);
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

void
model_predict(LoadedModel *m, const float *x, int n, double *out)
{
	float	   *raw = palloc(n * sizeof(float));
	ttsp_error	err;
	int			i;

	ttsp_set_threads(m->net);
	ttsp_check(ttsp_cnn_predict(m->net, x, n, raw, &err), &err);
	for (i = 0; i < n; i++)
		out[i] = raw[i] * m->target_std + m->target_mean;
	pfree(raw);
}

static float8
predict_one(LoadedModel *m, const Spectrogram *spec)
{
	double		out;

	model_input_check(&m->in, spec, m->name);
	/* kept with the model: a fresh buffer per row cost page faults */
	if (m->input == NULL)
		m->input = MemoryContextAllocHuge(m->cxt, MODEL_INPUT_SIZE(&m->in) * sizeof(float));
	model_input_fill(&m->in, spec, m->input, true);
	model_predict(m, m->input, 1, &out);
	return out;
}

/* ttsp_predict(model_name, spec, version) */
Datum
ttsp_predict(PG_FUNCTION_ARGS)
{
	char	   *name;
	LoadedModel *m;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	m = model_lookup(name, model_version_arg(fcinfo, 2));
	PG_RETURN_FLOAT8(predict_one(m, PG_GETARG_SPECTROGRAM_P(1)));
}

/* The default model: ttsp.default_model, else the newest one trained. */
static char *
default_model_name(void)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *name = NULL;
	char	   *sql;

	if (ttsp_default_model != NULL && ttsp_default_model[0] != '\0')
		return pstrdup(ttsp_default_model);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sql = psprintf("SELECT name FROM %s.ttsp_model ORDER BY created_at DESC, version DESC LIMIT 1", ttsp_schema());
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "default model lookup failed");
	if (SPI_processed == 1)
		name = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
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
	FeatureSpec fs;
	ttsp_decode_opts opts = {0};
	bytea	   *audio;
	Spectrogram *spec;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	audio = ttsp_read_music_file(PG_GETARG_INT64(0));
	m = model_lookup(default_model_name(), model_version_arg(fcinfo, 1));
	feature_spec_from_header(m->in.tmpl, &fs);
	opts.sample_rate = m->in.tmpl->sample_rate;
	opts.mono = m->in.channels == 1;
	opts.offset_s = 0;
	/*
	 * The model sees in.frames frames: decode what they cover, plus n_fft and
	 * 0.1 s so that neither end padding nor the resampler's flush reaches them.
	 */
	opts.duration_s = ((double) m->in.frames * m->in.tmpl->hop_length + m->in.tmpl->n_fft) /
		m->in.tmpl->sample_rate + 0.1;
	opts.max_duration_s = ttsp_max_duration;
	spec = features_from_audio(audio, &opts, &fs);
	PG_RETURN_FLOAT8(predict_one(m, spec));
}
