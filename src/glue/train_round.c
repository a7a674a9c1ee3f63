/*
 * ttsp_train_round: one round of data-parallel training as an aggregate
 * (FedAvg).  Each partial aggregate -- a parallel worker, a Citus shard, or
 * the one plain aggregate -- trains the given model on its own training
 * rows, and the combine function averages the results weighted by rows
 * (core: cnn_average.h).  The state is bytea, the averaging state's byte
 * format, so that PostgreSQL's parallel aggregation and Citus push it down.
 *
 * While rows arrive the state is an expanded object (utils/expandeddatum.h)
 * holding the live net and optimiser: nodeAgg keeps a read/write expanded
 * transition value as it is, so the net is decoded once per group, not
 * once per row.  It is flattened (the pending rows trained, then
 * serialised) only when it leaves the aggregate.
 *
 * The hyperparameters jsonb is written by round_spec_json and read back by
 * round_spec_parse; a user may call the aggregate with any jsonb and any
 * bytes, so both are checked like user input.
 */
#include "train.h"

#include <math.h>

#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/jsonb.h"

#include "cnn_average.h"
#include "linear.h"
#include "rng.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_train_round_step);
PG_FUNCTION_INFO_V1(ttsp_train_round_combine);

#define bad_spec(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
					errmsg("ttsp_train_round hyperparameters: " __VA_ARGS__)))

/* ---- the hyperparameters ---- */

static const char *
optimizer_key(ttsp_optim_kind k)
{
	return k == TTSP_OPTIM_SGD ? "sgd" : k == TTSP_OPTIM_ADAMW ? "adamw" : "adam";
}

static void
append_floats(StringInfo buf, const char *key, const float *v, int n)
{
	int			i;

	appendStringInfo(buf, ", \"%s\": [", key);
	for (i = 0; i < n; i++)
		appendStringInfo(buf, "%s%.9g", i ? ", " : "", v[i]);
	appendStringInfoChar(buf, ']');
}

/* Per class, the largest hash of a part, as decimal strings (a jsonb number would do, but text is plainer). */
static void
append_hashes(StringInfo buf, const char *key, const bool has[2], const uint64 max_hash[2])
{
	int			c;

	appendStringInfo(buf, ", \"%s\": [", key);
	for (c = 0; c < 2; c++)
		if (has[c])
			appendStringInfo(buf, "%s\"" UINT64_FORMAT "\"", c ? ", " : "", max_hash[c]);
		else
			appendStringInfo(buf, "%snull", c ? ", " : "");
	appendStringInfoChar(buf, ']');
}

char *
round_spec_json(const RoundSpec *r)
{
	StringInfoData buf;
	int			n = r->in.channels * r->in.bins;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"task\": \"%s\", \"loss\": \"%s\", \"optimizer\": \"%s\", \"learning_rate\": %.17g, "
					 "\"weight_decay\": %.17g, \"batch_size\": %d, \"seed\": %d, \"epoch\": %d, \"round\": %d, "
					 "\"rounds\": %d, \"shuffle_rows\": %d, \"optimizer_state\": \"%s\", \"window\": \"%s\", \"channels\": %d, "
					 "\"bins\": %d, \"frames\": %d, \"target_mean\": %.17g, \"target_std\": %.17g",
					 r->task == TTSP_TASK_REGRESSION ? "regression" : "classification",
					 r->loss == TTSP_LOSS_BCE ? "bce" : "mse", optimizer_key(r->optim.kind), r->optim.lr,
					 r->optim.weight_decay, r->batch_size, r->seed, r->epoch, r->round, r->rounds,
					 r->shuffle_rows, r->average_moments ? "averaged" : "local", r->first_window ? "first" : "random",
					 r->in.channels, r->in.bins,
					 r->in.frames, r->target_mean, r->target_std);
	append_floats(&buf, "norm_mean", r->in.mean, n);
	append_floats(&buf, "norm_std", r->in.std, n);
	append_hashes(&buf, "test_max_hash", r->split.has_test, r->split.test_max_hash);
	append_hashes(&buf, "validation_max_hash", r->split.has_val, r->split.val_max_hash);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static JsonbValue *
spec_get(Jsonb *jb, const char *key, enum jbvType type)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);

	if (v == NULL || v->type != type)
		bad_spec("\"%s\" is missing or not a %s", key,
				 type == jbvNumeric ? "number" : type == jbvString ? "string" : "JSON array");
	return v;
}

static double
spec_number(Jsonb *jb, const char *key, double min, double max)
{
	double		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													   NumericGetDatum(spec_get(jb, key, jbvNumeric)->val.numeric)));

	if (!(d >= min && d <= max))
		bad_spec("\"%s\" must be between %g and %g, got %g", key, min, max, d);
	return d;
}

static int
spec_int(Jsonb *jb, const char *key, int min, int max)
{
	double		d = spec_number(jb, key, min, max);

	if (d != rint(d))
		bad_spec("\"%s\" must be an integer, got %g", key, d);
	return (int) d;
}

/* Which of the names the string under key is (0-based). */
static int
spec_choice(Jsonb *jb, const char *key, const char *a, const char *b, const char *c)
{
	JsonbValue *v = spec_get(jb, key, jbvString);
	char	   *s = pnstrdup(v->val.string.val, v->val.string.len);

	if (strcmp(s, a) == 0)
		return 0;
	if (strcmp(s, b) == 0)
		return 1;
	if (c != NULL && strcmp(s, c) == 0)
		return 2;
	bad_spec("\"%s\" must be '%s' or '%s'%s%s%s, got '%s'", key, a, b, c ? " or '" : "", c ? c : "", c ? "'" : "", s);
	return -1;
}

/* The array under key, of n elements. */
static JsonbContainer *
spec_array(Jsonb *jb, const char *key, int n)
{
	JsonbValue *v = spec_get(jb, key, jbvBinary);

	if (!JsonContainerIsArray(v->val.binary.data) || JsonContainerSize(v->val.binary.data) != (uint32) n)
		bad_spec("\"%s\" must be an array of %d elements", key, n);
	return v->val.binary.data;
}

static float *
spec_floats(Jsonb *jb, const char *key, int n, bool positive)
{
	JsonbContainer *arr = spec_array(jb, key, n);
	float	   *out = palloc(n * sizeof(float));
	int			i;

	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);

		if (e == NULL || e->type != jbvNumeric)
			bad_spec("\"%s\" must hold numbers", key);
		out[i] = (float) DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(e->val.numeric)));
		if (!isfinite(out[i]) || (positive && !(out[i] > 0)))
			bad_spec("\"%s\" must hold finite%s numbers", key, positive ? " positive" : "");
	}
	return out;
}

static void
spec_hashes(Jsonb *jb, const char *key, bool has[2], uint64 max_hash[2])
{
	JsonbContainer *arr = spec_array(jb, key, 2);
	int			c;

	for (c = 0; c < 2; c++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, c);
		char	   *s,
				   *end;

		has[c] = e->type != jbvNull;
		if (!has[c])
			continue;
		if (e->type != jbvString)
			bad_spec("\"%s\" must hold decimal strings or nulls", key);
		s = pnstrdup(e->val.string.val, e->val.string.len);
		errno = 0;
		max_hash[c] = strtou64(s, &end, 10);
		if (errno != 0 || *end != '\0' || end == s || s[0] == '-')
			bad_spec("\"%s\" must hold decimal strings or nulls, got \"%s\"", key, s);
	}
}

void
round_spec_parse(Jsonb *jb, RoundSpec *r)
{
	int			n;

	if (!JB_ROOT_IS_OBJECT(jb))
		bad_spec("not a JSON object");
	memset(r, 0, sizeof(*r));
	r->task = spec_choice(jb, "task", "classification", "regression", NULL);
	r->loss = spec_choice(jb, "loss", "mse", "bce", NULL) == 1 ? TTSP_LOSS_BCE : TTSP_LOSS_MSE;
	r->optim = ttsp_optim_defaults((ttsp_optim_kind[]) {TTSP_OPTIM_ADAM, TTSP_OPTIM_ADAMW, TTSP_OPTIM_SGD}
								   [spec_choice(jb, "optimizer", "adam", "adamw", "sgd")]);
	r->optim.lr = spec_number(jb, "learning_rate", 1e-30, 1e30);
	r->optim.weight_decay = spec_number(jb, "weight_decay", 0, 1e30);
	r->batch_size = spec_int(jb, "batch_size", 1, 4096);
	r->seed = spec_int(jb, "seed", PG_INT32_MIN, PG_INT32_MAX);
	r->epoch = spec_int(jb, "epoch", 0, 100000);
	r->rounds = spec_int(jb, "rounds", 1, TRAIN_MAX_ROUNDS);
	r->round = spec_int(jb, "round", 0, r->rounds - 1);
	r->shuffle_rows = spec_int(jb, "shuffle_rows", r->batch_size, 1 << 20);
	r->average_moments = spec_choice(jb, "optimizer_state", "local", "averaged", NULL) == 1;
	r->first_window = spec_choice(jb, "window", "random", "first", NULL) == 1;
	r->in.channels = spec_int(jb, "channels", 1, TTSP_CNN_MAX_CHANNELS);
	r->in.bins = spec_int(jb, "bins", 1, TTSP_CNN_MAX_DIM);
	r->in.frames = spec_int(jb, "frames", 1, TTSP_CNN_MAX_DIM);
	r->target_mean = spec_number(jb, "target_mean", -1e300, 1e300);
	r->target_std = spec_number(jb, "target_std", 1e-300, 1e300);
	if (r->loss == TTSP_LOSS_BCE && r->task != TTSP_TASK_CLASSIFICATION)
		bad_spec("loss 'bce' needs task 'classification'");
	if (MODEL_INPUT_SIZE(&r->in) > TTSP_CNN_MAX_SAMPLE_ELEMS)
		bad_spec("an input of %d x %d x %d values is too large", r->in.channels, r->in.bins, r->in.frames);
	n = r->in.channels * r->in.bins;
	r->in.mean = spec_floats(jb, "norm_mean", n, false);
	r->in.std = spec_floats(jb, "norm_std", n, true);
	r->split.task = r->task;
	spec_hashes(jb, "test_max_hash", r->split.has_test, r->split.test_max_hash);
	spec_hashes(jb, "validation_max_hash", r->split.has_val, r->split.val_max_hash);
}

/* The round of an epoch a row belongs to: a mix of its hash, so each epoch deals the rows anew. */
int
round_of_row(uint64 hash, int epoch, int rounds)
{
	uint64		h = (hash ^ ((uint64) (epoch + 1) * UINT64CONST(0xD6E8FEB86659FD93))) * UINT64CONST(0x9E3779B97F4A7C15);

	return (int) ((h >> 32) % (uint64) rounds);
}

/* ---- the expanded state ---- */

typedef struct RoundState
{
	ExpandedObjectHeader hdr;
	RoundSpec	spec;
	ttsp_avg	avg;			/* the net, its rows and losses, the moments when flattened */
	ttsp_optimizer *optim;
	MemoryContextCallback cb;
	/* the batch */
	float	   *x;
	float	   *extra;			/* n_extra per batch row */
	float	   *y;
	float	   *out;
	float	   *dout;
	int			n;
	/* the shuffle buffer: rows wait here and leave for the batch in random order */
	float	   *rows;
	float	   *row_extra;		/* n_extra per shuffle row */
	float	   *labels;			/* standardised targets */
	int			n_rows;
	ttsp_rng	rng;
	Size		row_size;
	int			n_extra;		/* the head's extra inputs: the whole clip's pooled features */
} RoundState;

static Size round_flat_size(ExpandedObjectHeader *eohptr);
static void round_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods round_methods = {round_flat_size, round_flatten};

static void
release_round(void *arg)
{
	RoundState *st = arg;

	ttsp_optimizer_destroy(st->optim);
	st->optim = NULL;
	ttsp_avg_release(&st->avg);
}

/* Bytes of a state into a (released when cxt is reset), checked like any user input. */
static void
read_state(bytea *bytes, ttsp_avg *a)
{
	ttsp_error	err;

	if (ttsp_avg_deserialize((const uint8_t *) VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), a, &err) != TTSP_OK)
		ttsp_report(&err);
}

/* The net must be one for this spec's inputs and task. */
static void
check_net(const RoundState *st)
{
	const ttsp_cnn_config *cfg = ttsp_cnn_get_config(st->avg.net);
	const RoundSpec *r = &st->spec;

	if (cfg->task != r->task || cfg->in_channels != r->in.channels || cfg->in_height != r->in.bins ||
		cfg->in_width != r->in.frames)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttsp_train_round: the model takes %d x %d x %d inputs for %s, the hyperparameters say %d x %d x %d for %s",
						cfg->in_channels, cfg->in_height, cfg->in_width,
						cfg->task == TTSP_TASK_REGRESSION ? "regression" : "classification",
						r->in.channels, r->in.bins, r->in.frames,
						r->task == TTSP_TASK_REGRESSION ? "regression" : "classification")));
}

/*
 * A new state in its own context under cxt (the aggregate's, so nodeAgg
 * keeps it as it is), starting from the model's bytes.  A round starts
 * with no rows and, unless the moments are averaged, a fresh optimiser.
 */
static RoundState *
round_state_create(MemoryContext cxt, bytea *model, Jsonb *hyper, bool continuing)
{
	MemoryContext own = AllocSetContextCreate(cxt, "ttsp_train_round", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(own);
	RoundState *st = palloc0(sizeof(RoundState));
	const RoundSpec *r = &st->spec;
	ttsp_error	err;
	Size		budget = (Size) ttsp_train_memory * 1024;
	Size		need;

	EOH_init_header(&st->hdr, &round_methods, own);
	st->cb.func = release_round;
	st->cb.arg = st;
	MemoryContextRegisterResetCallback(own, &st->cb);
	round_spec_parse(hyper, &st->spec);
	read_state(model, &st->avg);
	check_net(st);
	if (!continuing)
	{
		st->avg.rows = 0;
		st->avg.loss_sum = 0;
	}
	st->row_size = MODEL_INPUT_SIZE(&r->in);
	st->n_extra = ttsp_cnn_get_config(st->avg.net)->n_extra;
	if (st->n_extra > 0 && st->n_extra != (int) ttsp_pooled_count(r->in.channels, r->in.bins))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttsp_train_round: the model has %d extra inputs, not the %d pooled features of %d x %d inputs",
						st->n_extra, (int) ttsp_pooled_count(r->in.channels, r->in.bins), r->in.channels, r->in.bins)));
	need = ttsp_cnn_workspace_bytes(ttsp_cnn_get_config(st->avg.net), r->batch_size) +
		ttsp_optimizer_state_bytes(&r->optim, ttsp_cnn_param_count(st->avg.net)) +
		((Size) r->shuffle_rows + r->batch_size) * (st->row_size + st->n_extra) * sizeof(float);
	if (need > budget)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ttsp_train_round needs %zu kB at batch_size %d and shuffle_rows %d, more than ttsp.train_memory (%d kB)",
						need / 1024, r->batch_size, r->shuffle_rows, ttsp_train_memory)));
	st->optim = ttsp_optimizer_create(st->avg.net, &r->optim, &err);
	if (st->optim == NULL)
		ttsp_report(&err);
	if (r->average_moments)
		ttsp_check(ttsp_avg_load_moments(&st->avg, st->optim, &err), &err);
	else
		ttsp_avg_drop_moments(&st->avg);
	ttsp_check(ttsp_cnn_reserve(st->avg.net, r->batch_size, &err), &err);
	st->x = MemoryContextAllocHuge(own, r->batch_size * st->row_size * sizeof(float));
	st->extra = palloc(r->batch_size * Max(st->n_extra, 1) * sizeof(float));
	st->row_extra = MemoryContextAllocHuge(own, (Size) r->shuffle_rows * Max(st->n_extra, 1) * sizeof(float));
	st->y = palloc(r->batch_size * sizeof(float));
	st->out = palloc(r->batch_size * sizeof(float));
	st->dout = palloc(r->batch_size * sizeof(float));
	st->rows = MemoryContextAllocHuge(own, (Size) r->shuffle_rows * st->row_size * sizeof(float));
	st->labels = palloc(r->shuffle_rows * sizeof(float));
	ttsp_rng_seed(&st->rng, ((uint64) (uint32) r->seed << 32) ^ ((uint64) r->epoch * 1000003 + r->round) ^
				  UINT64CONST(0x5851F42D4C957F2D));
	MemoryContextSwitchTo(old);
	return st;
}

static void
train_batch(RoundState *st)
{
	ttsp_error	err;
	double		loss;

	if (st->n == 0)
		return;
	ttsp_set_threads(st->avg.net);
	ttsp_check(ttsp_cnn_train_batch(st->avg.net, st->optim, st->spec.loss, st->x,
									st->n_extra > 0 ? st->extra : NULL, st->y, st->n, st->out, st->dout,
									&loss, &err), &err);
	st->avg.loss_sum += loss * st->n;
	st->avg.rows += st->n;
	st->n = 0;
	CHECK_FOR_INTERRUPTS();
}

/* Shuffle row j into the batch. */
static void
to_batch(RoundState *st, int j)
{
	memcpy(st->x + (Size) st->n * st->row_size, st->rows + (Size) j * st->row_size, st->row_size * sizeof(float));
	memcpy(st->extra + (Size) st->n * st->n_extra, st->row_extra + (Size) j * st->n_extra, st->n_extra * sizeof(float));
	st->y[st->n++] = st->labels[j];
	if (st->n == st->spec.batch_size)
		train_batch(st);
}

/*
 * A row's training input, as train.c makes it: this epoch's window of the
 * clip (train_window_start), or its first for a model that reads only
 * that, into x; and its extra inputs, the whole clip's pooled features,
 * into extra.  The one place a row becomes an input.
 */
static void
fill_input(const RoundState *st, const Spectrogram *spec, uint64 hash, float *x, float *extra)
{
	const RoundSpec *r = &st->spec;

	if (r->first_window)
		model_input_fill(&r->in, spec, x, true);
	else
	{
		int			width = model_clip_width(&r->in, spec->h.frames);
		float	   *clip = palloc((Size) r->in.channels * r->in.bins * width * sizeof(float));

		model_clip_fill(&r->in, spec, clip, true);
		model_window_copy(&r->in, clip, width,
						  train_window_start(hash, r->epoch, r->seed, spec->h.frames, r->in.frames), x);
		pfree(clip);
	}
	if (st->n_extra > 0)
	{
		double	   *pooled = palloc(st->n_extra * sizeof(double));

		model_pooled_features(spec, pooled);
		model_extra_fill(pooled, st->n_extra, NULL, 0, extra);
		pfree(pooled);
	}
}

/* A training row of this round: into the shuffle buffer, pushing a random one out when full. */
static void
round_add(RoundState *st, const Spectrogram *spec, double label)
{
	const RoundSpec *r = &st->spec;
	uint64		hash;
	int			j;

	if (spec->h.channels != r->in.channels || spec->h.bins != r->in.bins)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("ttsp_train_round: a spectrogram of %d x %d, the model takes %d x %d",
						spec->h.channels, spec->h.bins, r->in.channels, r->in.bins)));
	if (!isfinite(label) || (r->task == TTSP_TASK_CLASSIFICATION && label != 0 && label != 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttsp_train_round: label %g is not %s", label,
						r->task == TTSP_TASK_CLASSIFICATION ? "0 or 1" : "finite")));
	/* the trainer's split and this round's share of the training rows */
	hash = hash_bytes_extended((const unsigned char *) spec, VARSIZE(spec), (uint64) r->seed);
	if (row_part(&r->split, label, hash) != PART_TRAIN || round_of_row(hash, r->epoch, r->rounds) != r->round)
		return;
	if (st->n_rows < r->shuffle_rows)
		j = st->n_rows++;
	else
	{
		j = (int) (ttsp_rng_next(&st->rng) % (uint64) r->shuffle_rows);
		to_batch(st, j);
	}
	fill_input(st, spec, hash, st->rows + (Size) j * st->row_size, st->row_extra + (Size) j * st->n_extra);
	st->labels[j] = (float) ((label - r->target_mean) / r->target_std);
}

/* Train on every row still waiting: before the state leaves the aggregate. */
static void
round_drain(RoundState *st)
{
	ttsp_error	err;

	while (st->n_rows > 0)
	{
		int			j = (int) (ttsp_rng_next(&st->rng) % (uint64) st->n_rows);

		to_batch(st, j);
		st->n_rows--;
		memcpy(st->rows + (Size) j * st->row_size, st->rows + (Size) st->n_rows * st->row_size,
			   st->row_size * sizeof(float));
		memcpy(st->row_extra + (Size) j * st->n_extra, st->row_extra + (Size) st->n_rows * st->n_extra,
			   st->n_extra * sizeof(float));
		st->labels[j] = st->labels[st->n_rows];
	}
	train_batch(st);
	if (st->spec.average_moments)
		ttsp_check(ttsp_avg_take_moments(&st->avg, st->optim, &err), &err);
}

static Size
round_flat_size(ExpandedObjectHeader *eohptr)
{
	RoundState *st = (RoundState *) eohptr;

	round_drain(st);
	return VARHDRSZ + ttsp_avg_serialized_size(&st->avg);
}

static void
round_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	RoundState *st = (RoundState *) eohptr;
	ttsp_error	err;

	round_drain(st);
	SET_VARSIZE(result, allocated_size);
	ttsp_check(ttsp_avg_serialize(&st->avg, (uint8_t *) VARDATA(result), allocated_size - VARHDRSZ, &err), &err);
}

/* ---- the SQL functions ---- */

/* Our own read/write state, or NULL when d is anything else (a flat state, say). */
static RoundState *
own_state(Datum d)
{
	ExpandedObjectHeader *eoh;

	if (!VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
		return NULL;
	eoh = DatumGetEOHP(d);
	return eoh->eoh_methods == &round_methods ? (RoundState *) eoh : NULL;
}

/* ttsp_train_round_step(state, features, label, model, hyperparameters) */
Datum
ttsp_train_round_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	RoundState *st = NULL;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ttsp_train_round_step can only be called as the transition function of ttsp_train_round")));
	if (!PG_ARGISNULL(0))
		st = own_state(PG_GETARG_DATUM(0));
	if (st == NULL)
	{
		if (PG_ARGISNULL(3) || PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ttsp_train_round: model and hyperparameters must not be NULL")));
		/* a flat state (the aggregate's own, flattened) continues; else the model starts a round */
		st = round_state_create(aggcxt, PG_ARGISNULL(0) ? PG_GETARG_BYTEA_PP(3) : PG_GETARG_BYTEA_PP(0),
								PG_GETARG_JSONB_P(4), !PG_ARGISNULL(0));
	}
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
		round_add(st, DatumGetSpectrogramP(PG_GETARG_DATUM(1)), PG_GETARG_FLOAT8(2));
	PG_RETURN_DATUM(EOHPGetRWDatum(&st->hdr));
}

/* Both states' nets, released with the call's memory context even on ERROR. */
typedef struct StatePair
{
	ttsp_avg	a;
	ttsp_avg	b;
	MemoryContextCallback cb;
} StatePair;

static void
release_pair(void *arg)
{
	StatePair  *p = arg;

	ttsp_avg_release(&p->a);
	ttsp_avg_release(&p->b);
}

/* ttsp_train_round_combine(a bytea, b bytea): the row-weighted average of two partial trainings. */
Datum
ttsp_train_round_combine(PG_FUNCTION_ARGS)
{
	StatePair  *p = palloc0(sizeof(StatePair));
	ttsp_error	err;
	bytea	   *out;
	Size		len;

	p->cb.func = release_pair;
	p->cb.arg = p;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &p->cb);
	read_state(PG_GETARG_BYTEA_PP(0), &p->a);
	read_state(PG_GETARG_BYTEA_PP(1), &p->b);
	ttsp_check(ttsp_avg_combine(&p->a, &p->b, &err), &err);
	len = ttsp_avg_serialized_size(&p->a);
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	ttsp_check(ttsp_avg_serialize(&p->a, (uint8_t *) VARDATA(out), len, &err), &err);
	release_pair(p);
	PG_RETURN_BYTEA_P(out);
}

/* A round's result: its net into *net (the caller's to destroy), its rows and loss sum. */
void
round_result(bytea *state, ttsp_cnn **net, double *rows, double *loss_sum)
{
	StatePair  *p = palloc0(sizeof(StatePair));

	p->cb.func = release_pair;
	p->cb.arg = p;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &p->cb);
	read_state(state, &p->a);
	*net = p->a.net;
	p->a.net = NULL;
	*rows = (double) p->a.rows;
	*loss_sum = p->a.loss_sum;
	release_pair(p);
}
