/*
 * Covariates-only models (features => NULL): ttsp_train with architecture
 * 'linear' (L2 logistic or ridge regression, linear.h, with no pooled
 * features) or 'mlp' (mlp.h), ttsp_cross_validate, and their prediction
 * from a row, a music_id and in ttsp_evaluate.  Covariates are read and
 * encoded by covariates.c; the split is ttsp_train's (split_carve).
 */
#include "covariates.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

#include "args.h"
#include "linear.h"
#include "metrics.h"
#include "mlp.h"
#include "rng.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_cross_validate_table);
PG_FUNCTION_INFO_V1(ttsp_cross_validate_query);
PG_FUNCTION_INFO_V1(ttsp_predict_row);
PG_FUNCTION_INFO_V1(ttsp_predict_model_row);

#define FETCH_ROWS 256
/* hidden units of the MLP: enough for a handful of covariates' interactions */
#define MLP_HIDDEN 32

/* The rows of a source: label, covariates (raw, with NULL flags), content hash. */
typedef struct TabData
{
	int			n;
	int			cap;
	int			k;				/* covariates */
	double	   *raw;			/* n x k */
	bool	   *isnull;
	double	   *label;
	uint64	   *hash;
	int		   *ordinal;		/* 1-based position among the source's rows */
	int			n_skipped;		/* NULL label */
} TabData;

/* ---- reading the source ---- */

/*
 * SELECT label, covariates..., the whole row as text FROM the relation
 * (relid valid) or the text source, every name quoted.  The row's text is
 * its content for the split: covariates alone repeat too often (a few
 * booleans) for their hash to split rows.
 */
static char *
tab_query(Oid relid, const char *text_source, const char *label, const Covariates *c)
{
	StringInfoData q;
	const char *from;
	List	   *names;
	int			j;

	if (!OidIsValid(relid) && SplitIdentifierString(pstrdup(text_source), '.', &names) && list_length(names) <= 3)
		relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(text_source)),
								 AccessShareLock, false);
	from = OidIsValid(relid) ? quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														  get_rel_name(relid))
		: psprintf("(%s)", text_source);
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT q.%s", quote_identifier(label));
	for (j = 0; j < c->n; j++)
		appendStringInfo(&q, ", q.%s", quote_identifier(c->names[j]));
	appendStringInfo(&q, ", ROW(q.*)::pg_catalog.text FROM %s AS q", from);
	return q.data;
}

/* The relation a model can look its rows up in (NULL for a query source). */
char *
tab_source_name(Oid relid, const char *text_source)
{
	List	   *names;

	if (!OidIsValid(relid) && SplitIdentifierString(pstrdup(text_source), '.', &names) && list_length(names) <= 3)
		relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(text_source)),
								 AccessShareLock, false);
	return OidIsValid(relid) ? quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														  get_rel_name(relid)) : NULL;
}

static void
check_columns(TupleDesc desc, const char *label, const Covariates *c)
{
	Oid			lt = SPI_gettypeid(desc, 1);
	int			j;

	if (!covariate_type_ok(lt))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("label column \"%s\" must be boolean or numeric, not %s", label, format_type_be(lt))));
	for (j = 0; j < c->n; j++)
		covariate_check_type(SPI_gettypeid(desc, j + 2), c->names[j], NULL);
}

static void
tab_add_row(TabData *d, HeapTuple tup, TupleDesc desc, int task, int seed, int ordinal)
{
	bool		null_label;
	Datum		l = SPI_getbinval(tup, desc, 1, &null_label);
	double	   *raw;
	bool	   *isnull;
	int			j;

	if (null_label)
	{
		d->n_skipped++;
		return;
	}
	if (d->n == d->cap)
	{
		d->cap = Max(1024, d->cap * 2);
		d->raw = d->raw ? repalloc_huge(d->raw, (Size) d->cap * d->k * sizeof(double))
			: palloc_extended((Size) d->cap * d->k * sizeof(double), MCXT_ALLOC_HUGE);
		d->isnull = d->isnull ? repalloc_huge(d->isnull, (Size) d->cap * d->k * sizeof(bool))
			: palloc_extended((Size) d->cap * d->k * sizeof(bool), MCXT_ALLOC_HUGE);
		d->label = d->label ? repalloc_huge(d->label, d->cap * sizeof(double)) : palloc(d->cap * sizeof(double));
		d->hash = d->hash ? repalloc_huge(d->hash, d->cap * sizeof(uint64)) : palloc(d->cap * sizeof(uint64));
		d->ordinal = d->ordinal ? repalloc_huge(d->ordinal, d->cap * sizeof(int)) : palloc(d->cap * sizeof(int));
	}
	raw = d->raw + (Size) d->n * d->k;
	isnull = d->isnull + (Size) d->n * d->k;
	d->label[d->n] = covariate_value(l, SPI_gettypeid(desc, 1));
	if (!isfinite(d->label[d->n]) ||
		(task == TTSP_TASK_CLASSIFICATION && d->label[d->n] != 0 && d->label[d->n] != 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label of row %d is %g; %s", ordinal, d->label[d->n],
						task == TTSP_TASK_CLASSIFICATION ? "classification labels must be 0/1 or boolean"
						: "labels must be finite")));
	for (j = 0; j < d->k; j++)
	{
		Datum		v = SPI_getbinval(tup, desc, j + 2, &isnull[j]);

		raw[j] = isnull[j] ? 0 : covariate_value(v, SPI_gettypeid(desc, j + 2));
		if (!isfinite(raw[j]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("covariate \"%s\" of row %d is %g; covariates must be finite", SPI_fname(desc, j + 2),
							ordinal, raw[j])));
	}
	/* the row's content: the same row always lands in the same split and fold */
	{
		bool		null_row;
		text	   *t = DatumGetTextPP(SPI_getbinval(tup, desc, d->k + 2, &null_row));

		d->hash[d->n] = hash_bytes_extended((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
											(uint64) seed);
	}
	d->ordinal[d->n++] = ordinal;
}

/* Every row of query (SPI connected), checking the columns' types first. */
static void
tab_load(TabData *d, const char *query, const char *label, const Covariates *c, int task, int seed,
		 const char *what)
{
	/* the caller's context, before any SPI call leaves SPI's current */
	MemoryContext cxt = CurrentMemoryContext;
	SPIPlanPtr	plan = SPI_prepare(query, 0, NULL);
	Portal		portal;
	int			ordinal = 0;

	if (plan == NULL)
		elog(ERROR, "could not prepare the source query: %s", SPI_result_code_string(SPI_result));
	memset(d, 0, sizeof(*d));
	d->k = c->n;
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		uint64		i;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		if (ordinal == 0)
			check_columns(SPI_tuptable->tupdesc, label, c);
		MemoryContextSwitchTo(cxt);
		for (i = 0; i < SPI_processed; i++)
			tab_add_row(d, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, task, seed, ++ordinal);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	MemoryContextSwitchTo(cxt);
	if (d->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no rows to %s", what),
				 errdetail("%d rows had a NULL label.", d->n_skipped)));
	if (d->n_skipped > 0)
		ereport(NOTICE, (errmsg("skipped %d rows with a NULL label", d->n_skipped)));
}

/*
 * Training and cross-validation take the rows in content order (train.h),
 * so that the fit does not depend on the order the source returns them in;
 * ordinals still name their places in it.
 */
static void
tab_sort(TabData *d)
{
	RowKeys		keys = {d->hash, d->label, d->raw, d->isnull, d->k};
	int		   *idx = rows_content_order(&keys, d->n);

	rows_permute(d->raw, d->k * sizeof(double), idx, d->n);
	rows_permute(d->isnull, d->k * sizeof(bool), idx, d->n);
	rows_permute(d->label, sizeof(double), idx, d->n);
	rows_permute(d->hash, sizeof(uint64), idx, d->n);
	rows_permute(d->ordinal, sizeof(int), idx, d->n);
	pfree(idx);
}

/* A covariate that is NULL in every row is refused before any split. */
static void
check_not_all_null(const TabData *d, const Covariates *c)
{
	int			i,
				j;

	for (j = 0; j < c->n; j++)
	{
		for (i = 0; i < d->n && d->isnull[(Size) i * d->k + j]; i++)
			;
		if (i == d->n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("covariate \"%s\" is NULL in every row", c->names[j]),
					 errhint("Leave it out of covariates, or fill it in.")));
	}
}

static int
n_positive(const TabData *d)
{
	int			pos = 0,
				i;

	for (i = 0; i < d->n; i++)
		pos += d->label[i] >= 0.5;
	return pos;
}

/* ---- fitting ---- */

/* What one fit on a training and a validation part gives. */
typedef struct TabFit
{
	Covariates	cov;			/* names shared; statistics of this fit */
	int			task;
	ttsp_linear *linear;
	ttsp_mlp   *mlp;
	double		target_mean;	/* the MLP's regression targets are standardised */
	double		target_std;
	double	   *train_loss;		/* MLP: per epoch */
	double	   *val_loss;
	double	   *test_loss;		/* on the report rows: recorded, never used for a choice */
	int			epochs;
	int			best_epoch;
	MemoryContextCallback cb;
} TabFit;

static void
release_fit(void *arg)
{
	TabFit	   *f = arg;

	ttsp_linear_destroy(f->linear);
	f->linear = NULL;
	ttsp_mlp_destroy(f->mlp);
	f->mlp = NULL;
}

/* The encoded inputs and labels of the rows in part. */
static ttsp_linear_data
tab_rows(const TabFit *f, const TabData *d, const SplitPart *part, SplitPart which)
{
	int			p = f->cov.n_inputs;
	int			n = 0,
				i;
	double	   *x,
			   *y;

	for (i = 0; i < d->n; i++)
		n += part[i] == which;
	x = palloc(Max(n, 1) * (Size) p * sizeof(double));
	y = palloc(Max(n, 1) * sizeof(double));
	n = 0;
	for (i = 0; i < d->n; i++)
		if (part[i] == which)
		{
			covariates_encode(&f->cov, d->raw + (Size) i * d->k, d->isnull + (Size) i * d->k, x + (Size) n * p);
			y[n++] = d->label[i];
		}
	return (ttsp_linear_data) {x, y, n};
}

/* Probabilities or values of the fitted model (MLP when use_mlp) for rows. */
static void
fit_predict(TabFit *f, bool use_mlp, const ttsp_linear_data *rows, double *out)
{
	ttsp_error	err;
	int			i;

	if (!use_mlp)
	{
		ttsp_check(ttsp_linear_predict_output(f->linear, rows->x, rows->n, out, &err), &err);
		return;
	}
	ttsp_check(ttsp_mlp_forward(f->mlp, rows->x, rows->n, out, &err), &err);
	for (i = 0; i < rows->n; i++)
		out[i] = f->task == TTSP_TASK_CLASSIFICATION ? 1.0 / (1.0 + exp(-out[i]))
			: out[i] * f->target_std + f->target_mean;
}

/* Mean validation loss in label units: log loss, or MSE. */
static double
val_loss(TabFit *f, const ttsp_linear_data *val, double *out)
{
	double		s = 0;
	int			i;

	fit_predict(f, true, val, out);
	for (i = 0; i < val->n; i++)
	{
		if (f->task == TTSP_TASK_CLASSIFICATION)
		{
			double		q = Min(Max(out[i], 1e-15), 1 - 1e-15);

			s -= val->y[i] * log(q) + (1 - val->y[i]) * log(1 - q);
		}
		else
			s += (out[i] - val->y[i]) * (out[i] - val->y[i]);
	}
	return s / val->n;
}

/*
 * The MLP: o->epochs of mini-batches in a fresh order each epoch (drawn
 * under the seed), stopping after o->patience epochs without a lower
 * validation loss; the parameters of the epoch with the lowest are kept.
 */
static void
fit_mlp(TabFit *f, const TrainOptions *o, const ttsp_linear_data *train, const ttsp_linear_data *val,
		const ttsp_linear_data *report)
{
	int			p = f->cov.n_inputs;
	int		   *order = palloc(train->n * sizeof(int));
	double	   *bx = palloc((Size) o->batch_size * p * sizeof(double));
	double	   *by = palloc(o->batch_size * sizeof(double));
	double	   *out = palloc(Max(Max(val->n, report->n), 1) * sizeof(double));
	double	   *best;
	double		best_loss = INFINITY;
	ttsp_rng	rng;
	ttsp_error	err;
	int			epoch,
				i;

	f->mlp = ttsp_mlp_create(f->task, p, MLP_HIDDEN, (uint64) (uint32) o->seed, &err);
	if (f->mlp == NULL)
		ttsp_report(&err);
	best = palloc(f->mlp->n_param * sizeof(double));
	f->train_loss = palloc(o->epochs * sizeof(double));
	f->val_loss = palloc(o->epochs * sizeof(double));
	f->test_loss = palloc(o->epochs * sizeof(double));
	ttsp_rng_seed(&rng, ((uint64) (uint32) o->seed) ^ UINT64CONST(0x9E3779B97F4A7C15));
	for (i = 0; i < train->n; i++)
		order[i] = i;
	for (epoch = 0; epoch < o->epochs; epoch++)
	{
		double		sum = 0;
		int			start;

		for (i = train->n - 1; i > 0; i--)
		{
			int			j = (int) (ttsp_rng_next(&rng) % (uint64) (i + 1));
			int			t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (start = 0; start < train->n; start += o->batch_size)
		{
			int			nb = Min(o->batch_size, train->n - start);
			double		loss;

			for (i = 0; i < nb; i++)
			{
				memcpy(bx + (Size) i * p, train->x + (Size) order[start + i] * p, p * sizeof(double));
				by[i] = (train->y[order[start + i]] - f->target_mean) / f->target_std;
			}
			ttsp_check(ttsp_mlp_gradient(f->mlp, bx, by, nb, &loss, &err), &err);
			ttsp_check(ttsp_mlp_step(f->mlp, &o->optim, &err), &err);
			sum += loss * nb;
			CHECK_FOR_INTERRUPTS();
		}
		f->train_loss[epoch] = sum / train->n * (f->task == TTSP_TASK_REGRESSION ? f->target_std * f->target_std : 1);
		f->val_loss[epoch] = val_loss(f, val, out);
		f->test_loss[epoch] = report->n > 0 ? val_loss(f, report, out) : NAN;
		f->epochs = epoch + 1;
		if (f->val_loss[epoch] < best_loss)
		{
			best_loss = f->val_loss[epoch];
			f->best_epoch = epoch + 1;
			memcpy(best, f->mlp->param, f->mlp->n_param * sizeof(double));
		}
		if (o->patience > 0 && epoch + 1 - f->best_epoch >= o->patience)
			break;
	}
	if (f->best_epoch == 0)
		f->best_epoch = f->epochs;
	else
		memcpy(f->mlp->param, best, f->mlp->n_param * sizeof(double));
}

/*
 * Covariate statistics on the training part, then the linear model (the
 * model, or the MLP's baseline) with its penalty chosen on the validation
 * part, then the MLP if asked.
 */
static TabFit *
tab_fit(const TabData *d, const SplitPart *part, SplitPart report, const Covariates *names, const TrainOptions *o)
{
	TabFit	   *f = palloc0(sizeof(TabFit));
	bool	   *use = palloc(d->n * sizeof(bool));
	ttsp_linear_data train,
				val;
	ttsp_error	err;
	int			i;

	f->cb.func = release_fit;
	f->cb.arg = f;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &f->cb);
	f->task = o->task;
	f->cov.n = names->n;
	f->cov.names = names->names;
	for (i = 0; i < d->n; i++)
		use[i] = part[i] == PART_TRAIN;
	covariates_fit(&f->cov, d->raw, d->isnull, use, d->n);
	train = tab_rows(f, d, part, PART_TRAIN);
	val = tab_rows(f, d, part, PART_VALIDATION);
	f->linear = ttsp_linear_fit_select(o->task, 0, 0, f->cov.n_inputs, &train, &val, NULL, &err);
	if (f->linear == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not fit the linear model on the covariates: %s", err.msg)));
	f->target_mean = 0;
	f->target_std = 1;
	if (o->mlp)
	{
		ttsp_linear_data report_rows = tab_rows(f, d, part, report);

		if (o->task == TTSP_TASK_REGRESSION)
		{
			double		s = 0,
						ss = 0;

			for (i = 0; i < train.n; i++)
				s += train.y[i];
			f->target_mean = s / train.n;
			for (i = 0; i < train.n; i++)
				ss += (train.y[i] - f->target_mean) * (train.y[i] - f->target_mean);
			f->target_std = sqrt(ss / train.n) > 1e-12 ? sqrt(ss / train.n) : 1;
		}
		fit_mlp(f, o, &train, &val, &report_rows);
	}
	return f;
}

/* ---- ttsp_train with covariates ---- */

/* ttsp_train's split by content hash (train.c's rule), into part[]. */
static void
tab_split(const TabData *d, const TrainOptions *o, SplitPart *part, Split *split)
{
	int		   *classes = palloc(d->n * sizeof(int));
	uint64	   *rest_h = palloc(d->n * sizeof(uint64));
	int		   *rest_c = palloc(d->n * sizeof(int));
	int			n_rest = 0,
				i;

	memset(split, 0, sizeof(*split));
	split->task = o->task;
	for (i = 0; i < d->n; i++)
		classes[i] = label_class(o->task, d->label[i]);
	split_carve(d->hash, classes, d->n, o->test_size, split->has_test, split->test_max_hash);
	for (i = 0; i < d->n; i++)
		if (row_part(split, d->label[i], d->hash[i]) != PART_TEST)
		{
			rest_h[n_rest] = d->hash[i];
			rest_c[n_rest++] = classes[i];
		}
	split_carve(rest_h, rest_c, n_rest, o->validation_size, split->has_val, split->val_max_hash);
	for (i = 0; i < d->n; i++)
	{
		part[i] = row_part(split, d->label[i], d->hash[i]);
		split->n_test += part[i] == PART_TEST;
		split->n_val += part[i] == PART_VALIDATION;
		split->n_train += part[i] == PART_TRAIN;
	}
	if (split->n_train < 2 || split->n_val < 1 || (o->test_size > 0 && split->n_test < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%d rows are too few for three splits at test_size %g and validation_size %g: "
						"%d train, %d validation and %d test rows", d->n, o->test_size, o->validation_size,
						split->n_train, split->n_val, split->n_test)));
}

static void
check_both_classes(const TabData *d, int task)
{
	int			pos = n_positive(d);

	if (task == TTSP_TASK_CLASSIFICATION && (pos == 0 || pos == d->n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the label has only one class: all %d rows are %s", d->n, pos ? "positive" : "negative"),
				 errhint("A classifier needs examples of both classes.")));
}

static char *
names_json(const Covariates *c)
{
	StringInfoData b;
	int			j;

	initStringInfo(&b);
	appendStringInfoChar(&b, '[');
	for (j = 0; j < c->n; j++)
		appendStringInfo(&b, "%s%s", j ? ", " : "", json_quote(c->names[j]));
	appendStringInfoChar(&b, ']');
	return b.data;
}

/* Metrics of the linear model and, for 'mlp', the MLP, on the rows of part which. */
static char *
tab_metrics(TabFit *f, const TabData *d, const SplitPart *part, SplitPart which, const TrainOptions *o)
{
	ttsp_linear_data rows = tab_rows(f, d, part, which);
	double	   *out = palloc(Max(rows.n, 1) * sizeof(double));
	StringInfoData m;

	initStringInfo(&m);
	appendStringInfo(&m, "{\"split\": \"%s\", \"architecture\": \"%s\", \"covariates\": %s, ",
					 which == PART_TEST ? "test" : "train", o->mlp ? "mlp" : "linear", names_json(&f->cov));
	if (o->mlp)
		appendStringInfo(&m, "\"best_epoch\": %d, \"epochs_run\": %d, ", f->best_epoch, f->epochs);
	else
		appendStringInfo(&m, "\"alpha\": %.17g, ", f->linear->alpha);
	fit_predict(f, o->mlp, &rows, out);
	metrics_append(&m, o->task, out, rows.y, rows.n);
	if (o->mlp)
	{
		fit_predict(f, false, &rows, out);
		appendStringInfoString(&m, ", \"linear_baseline\": {");
		metrics_append(&m, o->task, out, rows.y, rows.n);
		appendStringInfo(&m, ", \"alpha\": %.17g}", f->linear->alpha);
	}
	appendStringInfoChar(&m, '}');
	return m.data;
}

static char *
tab_architecture(const TabFit *f, bool mlp)
{
	if (mlp)
		return psprintf("{\"network\": \"MLP: Linear(%d, %d) -> ReLU -> Linear(%d, 1) on the standardised covariates "
						"and their missing indicators\", \"covariates\": %s, \"inputs\": %d, \"hidden\": %d, "
						"\"parameters\": %zu, \"output\": \"%s\", \"target_mean\": %.17g, \"target_std\": %.17g, "
						"\"weights_format\": \"ttsp mlp 1\"}",
						f->cov.n_inputs, MLP_HIDDEN, MLP_HIDDEN, names_json(&f->cov), f->cov.n_inputs, MLP_HIDDEN,
						f->mlp->n_param, f->task == TTSP_TASK_CLASSIFICATION ? "sigmoid probability"
						: "value x target_std + target_mean", f->target_mean, f->target_std);
	return psprintf("{\"network\": \"linear: %s regression on the standardised covariates and their missing indicators\", "
					"\"covariates\": %s, \"inputs\": %d, \"alpha\": %.17g, \"output\": \"%s\", \"weights_format\": \"ttsp linear 1\"}",
					f->task == TTSP_TASK_CLASSIFICATION ? "L2 logistic" : "ridge", names_json(&f->cov),
					f->cov.n_inputs, f->linear->alpha,
					f->task == TTSP_TASK_CLASSIFICATION ? "sigmoid probability" : "value");
}

static bytea *
tab_weights(const TabFit *f, bool mlp)
{
	size_t		len = mlp ? ttsp_mlp_serialized_size(f->mlp) : ttsp_linear_serialized_size(f->linear);
	bytea	   *w = palloc(VARHDRSZ + len);
	ttsp_error	err;

	SET_VARSIZE(w, VARHDRSZ + len);
	if (mlp)
		ttsp_check(ttsp_mlp_serialize(f->mlp, (uint8_t *) VARDATA(w), len, &err), &err);
	else
		ttsp_check(ttsp_linear_serialize(f->linear, (uint8_t *) VARDATA(w), len, &err), &err);
	return w;
}

Datum
tabular_train(TrainOptions *o, Covariates *cov, const char *label, Oid relid, const char *text_source)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "ttsp_train covariates", ALLOCSET_DEFAULT_SIZES);
	TabData		d;
	SplitPart  *part;
	Split		split;
	TabFit	   *f;
	ModelRecord rec = {0};
	char	   *metrics;
	int32		version;
	Datum		result;

	PreventCommandIfReadOnly("ttsp_train");
	PreventCommandDuringRecovery("ttsp_train");
	model_table_check_insert();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);
	tab_load(&d, tab_query(relid, text_source, label, cov), label, cov, o->task, o->seed, "train on");
	tab_sort(&d);
	check_not_all_null(&d, cov);
	check_both_classes(&d, o->task);
	part = palloc(d.n * sizeof(SplitPart));
	tab_split(&d, o, part, &split);
	ereport(NOTICE,
			(errmsg("fitting %s model \"%s\" on %d covariates: %d train, %d validation and %d test rows",
					o->mlp ? "MLP" : "linear", o->model_name, cov->n, split.n_train, split.n_val, split.n_test)));
	f = tab_fit(&d, part, split.n_test > 0 ? PART_TEST : PART_TRAIN, cov, o);
	metrics = tab_metrics(f, &d, part, split.n_test > 0 ? PART_TEST : PART_TRAIN, o);
	rec.name = o->model_name;
	rec.task = o->task;
	rec.architecture = tab_architecture(f, o->mlp);
	rec.hyperparameters = psprintf("{\"epochs\": %d, \"batch_size\": %d, \"learning_rate\": %.17g, \"seed\": %d, "
								   "\"test_size\": %.17g, \"validation_size\": %.17g, \"patience\": %d, "
								   "\"n_train\": %d, \"n_validation\": %d, \"n_test\": %d, \"standardisation\": "
								   "\"per covariate, training split\", \"label\": %s}",
								   o->epochs, o->batch_size, o->optim.lr, o->seed, o->test_size, o->validation_size,
								   o->patience, split.n_train, split.n_val, split.n_test, json_quote(label));
	rec.metrics = metrics;
	rec.target_mean = f->target_mean;
	rec.target_std = f->target_std;
	rec.weights = tab_weights(f, o->mlp);
	rec.train_loss = f->train_loss;
	rec.validation_loss = f->val_loss;
	rec.test_loss = f->test_loss;
	rec.epochs = f->epochs;
	rec.best_epoch = o->mlp ? f->best_epoch : -1;	/* -1: a linear model has no epochs */
	rec.covariates = &f->cov;
	rec.source = tab_source_name(relid, text_source);
	version = model_table_insert(&rec);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("{\"model\": %s, \"version\": %d, %s",
																	json_quote(o->model_name), version,
																	metrics + 1)));
	MemoryContextDelete(cxt);
	return result;
}

/* ---- ttsp_cross_validate ---- */

#define MAX_SCORES 5
static const char *const class_scores[] = {"accuracy", "balanced_accuracy", "roc_auc", "log_loss", "f1"};
static const char *const reg_scores[] = {"mse", "mae", "r2"};

/* The predictors reported per fold. */
enum
{
	P_MODEL, P_LINEAR, P_MAJORITY, N_PREDICTORS
};
static const char *const predictor_names[] = {"model", "linear_baseline", "majority_baseline"};

static int
n_scores(int task)
{
	return task == TTSP_TASK_CLASSIFICATION ? lengthof(class_scores) : lengthof(reg_scores);
}

static void
scores_of(int task, const double *pred, const double *y, int n, double *v)
{
	ttsp_error	err;

	if (task == TTSP_TASK_CLASSIFICATION)
	{
		int		   *labels = palloc(n * sizeof(int));
		ttsp_class_metrics m;
		int			i;

		for (i = 0; i < n; i++)
			labels[i] = y[i] >= 0.5;
		ttsp_check(ttsp_classification_metrics(pred, labels, n, &m, &err), &err);
		v[0] = m.accuracy;
		v[1] = m.balanced_accuracy;
		v[2] = m.roc_auc;
		v[3] = m.log_loss;
		v[4] = m.f1;
	}
	else
	{
		ttsp_reg_metrics m;

		ttsp_check(ttsp_regression_metrics(pred, y, n, &m, &err), &err);
		v[0] = m.mse;
		v[1] = m.mae;
		v[2] = m.r2;
	}
}

/*
 * Stratified folds by content hash: per class, the rows in hash order, the
 * r-th of n_c in fold r * k / n_c (metrics.h).  The same rows give the same folds.
 */
static int *
assign_folds(const TabData *d, int task, int k)
{
	int		   *fold = palloc(Max(d->n, 1) * sizeof(int));
	int		   *cls = palloc(Max(d->n, 1) * sizeof(int));
	ttsp_error	err;
	int			i;

	for (i = 0; i < d->n; i++)
		cls[i] = label_class(task, d->label[i]);
	ttsp_check(ttsp_stratified_folds(d->hash, cls, d->n, k, fold, &err), &err);
	pfree(cls);
	return fold;
}

static void
check_folds(const TabData *d, int task, int k)
{
	int			pos = n_positive(d);
	int			fewest = task == TTSP_TASK_CLASSIFICATION ? Min(pos, d->n - pos) : d->n;

	if (k < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be at least 2, got %d", k)));
	if (k > fewest)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds %d is more than the %d rows of the %s", k, fewest,
						task == TTSP_TASK_CLASSIFICATION ? "minority class" : "source"),
				 errhint("Every fold needs rows of each class in its test part: use at most %d folds.", fewest)));
}

/* Fold f's parts: its rows the test part; of the rest, validation_size carved by hash as ttsp_train does. */
static void
fold_parts(const TabData *d, const TrainOptions *o, const int *fold, int f, SplitPart *part)
{
	uint64	   *h = palloc(d->n * sizeof(uint64));
	int		   *cls = palloc(d->n * sizeof(int));
	Split		s = {0};
	int			n = 0,
				i;

	s.task = o->task;
	for (i = 0; i < d->n; i++)
		if (fold[i] != f)
		{
			h[n] = d->hash[i];
			cls[n++] = label_class(o->task, d->label[i]);
		}
	split_carve(h, cls, n, o->validation_size, s.has_val, s.val_max_hash);
	for (i = 0; i < d->n; i++)
		part[i] = fold[i] == f ? PART_TEST : row_part(&s, d->label[i], d->hash[i]);
}

static int
cmp_int(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	return x < y ? -1 : x > y;
}

/* The ordinals of a part's rows, ascending (the rows are in content order). */
static void
append_ordinals(StringInfo b, const char *key, const TabData *d, const SplitPart *part, SplitPart which)
{
	int		   *ord = palloc(Max(d->n, 1) * sizeof(int));
	int			n = 0;

	for (int i = 0; i < d->n; i++)
		if (part[i] == which)
			ord[n++] = d->ordinal[i];
	qsort(ord, n, sizeof(int), cmp_int);
	appendStringInfo(b, ", \"%s\": [", key);
	for (int i = 0; i < n; i++)
		appendStringInfo(b, "%s%d", i == 0 ? "" : ", ", ord[i]);
	appendStringInfoChar(b, ']');
	pfree(ord);
}

static void
append_summary(StringInfo b, const char *key, int task, double (*v)[N_PREDICTORS][MAX_SCORES], int k, bool std)
{
	int			p,
				s,
				f;

	appendStringInfo(b, ", \"%s\": {", key);
	for (p = 0; p < N_PREDICTORS; p++)
	{
		appendStringInfo(b, "%s\"%s\": {", p ? ", " : "", predictor_names[p]);
		for (s = 0; s < n_scores(task); s++)
		{
			double		mean = 0,
						ss = 0;

			for (f = 0; f < k; f++)
				mean += v[f][p][s] / k;
			for (f = 0; f < k; f++)
				ss += (v[f][p][s] - mean) * (v[f][p][s] - mean);
			/* ddof 0, as numpy's std */
			mean = std ? sqrt(ss / k) : mean;
			appendStringInfo(b, isfinite(mean) ? "%s\"%s\": %.17g" : "%s\"%s\": null", s ? ", " : "",
							 task == TTSP_TASK_CLASSIFICATION ? class_scores[s] : reg_scores[s], mean);
		}
		appendStringInfoChar(b, '}');
	}
	appendStringInfoChar(b, '}');
}

/* A fold's headline score (ROC-AUC or MSE) for the three predictors. */
static void
fold_notice(const TrainOptions *o, int f, int k, double (*v)[MAX_SCORES], int n_test)
{
	int			s = o->task == TTSP_TASK_CLASSIFICATION ? 2 : 0;

	ereport(NOTICE,
			(errmsg("fold %d/%d: %s %.4f (linear baseline %.4f, majority %.4f) on %d test rows",
					f + 1, k, o->task == TTSP_TASK_CLASSIFICATION ? "ROC-AUC" : "MSE",
					v[P_MODEL][s], v[P_LINEAR][s], v[P_MAJORITY][s], n_test)));
}

/* One fold: fit, the three predictors' metrics on its test part, a NOTICE. */
static void
run_fold(const TabData *d, const TrainOptions *o, const Covariates *cov, const int *fold, int f, int k,
		 StringInfo b, double (*v)[MAX_SCORES])
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ttsp fold", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	SplitPart  *part = palloc(d->n * sizeof(SplitPart));
	TabFit	   *fit;
	ttsp_linear_data test,
				train;
	double	   *out;
	double		prior = 0;
	int			p,
				i;

	fold_parts(d, o, fold, f, part);
	fit = tab_fit(d, part, PART_TEST, cov, o);
	test = tab_rows(fit, d, part, PART_TEST);
	train = tab_rows(fit, d, part, PART_TRAIN);
	out = palloc(test.n * sizeof(double));
	for (i = 0; i < train.n; i++)
		prior += train.y[i] / train.n;
	MemoryContextSwitchTo(old);
	appendStringInfo(b, "%s{\"fold\": %d, \"n_train\": %d, \"n_validation\": %d, \"n_test\": %d",
					 f ? ", " : "", f + 1, train.n, d->n - train.n - test.n, test.n);
	for (p = 0; p < N_PREDICTORS; p++)
	{
		/* majority: the training part's positive rate (or mean) for every row */
		if (p == P_MAJORITY)
			for (i = 0; i < test.n; i++)
				out[i] = prior;
		else
			fit_predict(fit, p == P_MODEL && o->mlp, &test, out);
		scores_of(o->task, out, test.y, test.n, v[p]);
		appendStringInfo(b, ", \"%s\": {", predictor_names[p]);
		metrics_append(b, o->task, out, test.y, test.n);
		if (p == P_MODEL && o->mlp)
			appendStringInfo(b, ", \"best_epoch\": %d", fit->best_epoch);
		if (p != P_MAJORITY)
			appendStringInfo(b, ", \"alpha\": %.17g", fit->linear->alpha);
		appendStringInfoChar(b, '}');
	}
	append_ordinals(b, "test_rows", d, part, PART_TEST);
	append_ordinals(b, "validation_rows", d, part, PART_VALIDATION);
	appendStringInfoChar(b, '}');
	fold_notice(o, f, k, v, test.n);
	MemoryContextDelete(cxt);
}

/* One spectrogram model's fold: train_fold, then the three predictors' metrics and a NOTICE. */
static void
spectrogram_fold(TrainOptions *o, int f, int k, StringInfo b, double (*v)[MAX_SCORES])
{
	FoldResult	r;
	double	   *out;
	int			p,
				i;

	CHECK_FOR_INTERRUPTS();
	train_fold(o, f, k, &r);
	out = palloc(Max(r.n_test, 1) * sizeof(double));
	appendStringInfo(b, "%s{\"fold\": %d, \"n_train\": %d, \"n_validation\": %d, \"n_test\": %d",
					 f ? ", " : "", f + 1, r.n_train, r.n_val, r.n_test);
	for (p = 0; p < N_PREDICTORS; p++)
	{
		const double *pred = p == P_MODEL ? r.model : p == P_LINEAR ? r.linear : out;

		appendStringInfo(b, ", \"%s\": ", predictor_names[p]);
		if (pred == NULL)
		{
			/* no linear baseline (too many pooled features): its scores are undefined */
			for (i = 0; i < MAX_SCORES; i++)
				v[p][i] = NAN;
			appendStringInfoString(b, "null");
			continue;
		}
		if (p == P_MAJORITY)
			for (i = 0; i < r.n_test; i++)
				out[i] = r.prior;
		scores_of(o->task, pred, r.label, r.n_test, v[p]);
		appendStringInfoChar(b, '{');
		metrics_append(b, o->task, pred, r.label, r.n_test);
		if (p == P_MODEL && r.best_epoch >= 0)
			appendStringInfo(b, ", \"best_epoch\": %d", r.best_epoch);
		if (p != P_MAJORITY && isfinite(r.alpha))
			appendStringInfo(b, ", \"alpha\": %.17g", r.alpha);
		appendStringInfoChar(b, '}');
	}
	appendStringInfoChar(b, '}');
	fold_notice(o, f, k, v, r.n_test);
}

/*
 * Cross-validation of a model on a spectrogram (with or without
 * covariates): ttsp_train's trainer once per fold, storing nothing.  The
 * folds are dealt by the spectrogram's (and covariates') content hash, as
 * ttsp_train splits.
 */
static Datum
spectrogram_cross_validate(FunctionCallInfo fcinfo, TrainOptions *o, Covariates *cov, Oid relid,
						   const char *text_source, const char *label, int k)
{
	const char *features = train_required_text(fcinfo, "features");
	double		(*v)[N_PREDICTORS][MAX_SCORES];
	StringInfoData b;
	int			f;

	if (k < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be at least 2, got %d", k)));
	o->model_name = "cross-validation";
	o->cov = cov;
	o->query = OidIsValid(relid) ? source_relation_query(relid, features, label, cov)
		: source_text_query(text_source, features, label, cov);
	v = palloc0(k * sizeof(*v));
	initStringInfo(&b);
	appendStringInfo(&b, "{\"architecture\": \"%s\", \"features\": %s, \"covariates\": %s, \"k\": %d, \"seed\": %d, \"folds\": [",
					 o->linear_only ? "linear" : o->wide ? "cnn" : "deep", json_quote(features),
					 cov ? names_json(cov) : "null", k, o->seed);
	for (f = 0; f < k; f++)
		spectrogram_fold(o, f, k, &b, v[f]);
	appendStringInfoChar(&b, ']');
	append_summary(&b, "mean", o->task, v, k, false);
	append_summary(&b, "std", o->task, v, k, true);
	appendStringInfoChar(&b, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

static Datum
cross_validate(FunctionCallInfo fcinfo, Oid relid, const char *text_source)
{
	MemoryContext caller = CurrentMemoryContext;
	TrainOptions o = {0};
	Covariates *cov;
	char	   *label;
	TabData		d;
	int			k = arg_int32(fcinfo, "folds", 5);
	int		   *fold;
	double		(*v)[N_PREDICTORS][MAX_SCORES];
	StringInfoData b;
	int			f;

	train_parse_options(fcinfo, &o);
	label = train_required_text(fcinfo, "label");
	cov = train_covariates(fcinfo, &o);
	if (!arg_isnull(fcinfo, "features"))
		return spectrogram_cross_validate(fcinfo, &o, cov, relid, text_source, label, k);
	if (cov == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttsp_cross_validate needs a features column, covariates, or both")));
	if (!o.linear_only && !o.mlp)
		o.linear_only = true;	/* 'cnn', the default, has no covariates-only form: the linear model */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(caller);
	tab_load(&d, tab_query(relid, text_source, label, cov), label, cov, o.task, o.seed, "cross-validate on");
	tab_sort(&d);
	check_not_all_null(&d, cov);
	check_both_classes(&d, o.task);
	check_folds(&d, o.task, k);
	fold = assign_folds(&d, o.task, k);
	v = palloc0(k * sizeof(*v));
	initStringInfo(&b);
	appendStringInfo(&b, "{\"architecture\": \"%s\", \"covariates\": %s, \"n\": %d, \"k\": %d, \"seed\": %d, \"folds\": [",
					 o.mlp ? "mlp" : "linear", names_json(cov), d.n, k, o.seed);
	for (f = 0; f < k; f++)
		run_fold(&d, &o, cov, fold, f, k, &b, v[f]);
	appendStringInfoChar(&b, ']');
	append_summary(&b, "mean", o.task, v, k, false);
	append_summary(&b, "std", o.task, v, k, true);
	appendStringInfoChar(&b, '}');
	SPI_finish();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

/* ttsp_cross_validate(source regclass, features, label, ..., covariates, folds) */
Datum
ttsp_cross_validate_table(PG_FUNCTION_ARGS)
{
	arg_require(fcinfo, "source");
	return cross_validate(fcinfo, DatumGetObjectId(arg_datum(fcinfo, "source")), NULL);
}

/* ttsp_cross_validate(query text, ...): a plain name is a table, anything else a query */
Datum
ttsp_cross_validate_query(PG_FUNCTION_ARGS)
{
	return cross_validate(fcinfo, InvalidOid, train_required_text(fcinfo, "query"));
}

/* ---- stored models ---- */

bool
tabular_decode(LoadedModel *m, HeapTuple row, TupleDesc desc)
{
	Covariates *c = covariates_from_model_row(row, desc, m->name);
	bool		isnull;
	int			att;
	bytea	   *w;
	char	   *task;
	ttsp_error	err;
	bool		bad;

	if (c == NULL)
		return false;
	att = SPI_fnumber(desc, "feature_template");
	if (att > 0 && !heap_attisnull(row, att, desc))
		return false;			/* covariates beside a spectrogram: decode_model_row's */
	m->cov = c;
	task = TextDatumGetCString(heap_getattr(row, SPI_fnumber(desc, "task"), desc, &isnull));
	m->task = strcmp(task, "regression") == 0 ? TTSP_TASK_REGRESSION : TTSP_TASK_CLASSIFICATION;
	m->target_mean = DatumGetFloat8(heap_getattr(row, SPI_fnumber(desc, "target_mean"), desc, &isnull));
	m->target_std = DatumGetFloat8(heap_getattr(row, SPI_fnumber(desc, "target_std"), desc, &isnull));
	att = SPI_fnumber(desc, "source");
	if (att > 0)
	{
		Datum		s = heap_getattr(row, att, desc, &isnull);

		m->source = isnull ? NULL : TextDatumGetCString(s);
	}
	w = DatumGetByteaPP(heap_getattr(row, SPI_fnumber(desc, "weights"), desc, &isnull));
	if (model_weights_are_linear(w))
	{
		m->linear = ttsp_linear_deserialize((const uint8_t *) VARDATA_ANY(w), VARSIZE_ANY_EXHDR(w), &err);
		bad = m->linear == NULL || m->linear->channels != 0 || m->linear->n_extra != c->n_inputs ||
			m->linear->task != m->task;
	}
	else
	{
		m->mlp = ttsp_mlp_deserialize((const uint8_t *) VARDATA_ANY(w), VARSIZE_ANY_EXHDR(w), &err);
		bad = m->mlp == NULL || m->mlp->n_in != c->n_inputs || m->mlp->task != m->task;
	}
	if (bad || !isfinite(m->target_mean) || !(m->target_std > 0 && isfinite(m->target_std)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" version %d do not match its covariates: %s", m->name, m->version,
						(m->linear == NULL && m->mlp == NULL) ? err.msg : "wrong task, inputs or target scale")));
	return true;
}

double
tabular_predict(LoadedModel *m, const double *raw, const bool *isnull)
{
	double	   *x = palloc(m->cov->n_inputs * sizeof(double));
	double		out;
	ttsp_error	err;

	covariates_encode(m->cov, raw, isnull, x);
	if (m->linear)
		ttsp_check(ttsp_linear_predict_output(m->linear, x, 1, &out, &err), &err);
	else
	{
		ttsp_check(ttsp_mlp_forward(m->mlp, x, 1, &out, &err), &err);
		out = m->task == TTSP_TASK_CLASSIFICATION ? 1.0 / (1.0 + exp(-out)) : out * m->target_std + m->target_mean;
	}
	pfree(x);
	return out;
}

/*
 * A spectrogram model's prediction from a row: the row's one column of type
 * spectrogram (ttsp_model does not record the training column's name).
 * NULL (*is_null) when that column is NULL.
 */
static double
predict_spectrogram_record(LoadedModel *m, HeapTupleHeader rec, bool *is_null)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec), HeapTupleHeaderGetTypMod(rec));
	Oid			spec_type = ttsp_spectrogram_type();
	HeapTupleData row;
	int			found = 0,
				att = 0,
				i;
	Datum		d;
	double		out = 0;

	for (i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && TupleDescAttr(desc, i)->atttypid == spec_type)
		{
			found++;
			att = i + 1;
		}
	if (found != 1)
		ereport(ERROR,
				(errcode(found == 0 ? ERRCODE_UNDEFINED_COLUMN : ERRCODE_AMBIGUOUS_COLUMN),
				 found == 0 ? errmsg("the input row has no spectrogram column for model \"%s\"", m->name)
				 : errmsg("the input row has %d spectrogram columns; model \"%s\" reads one", found, m->name),
				 errhint("Pass the spectrogram itself: ttsp_predict('%s', s.spec).", m->name)));
	row.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&row.t_self);
	row.t_tableOid = InvalidOid;
	row.t_data = rec;
	d = heap_getattr(&row, att, desc, is_null);
	if (!*is_null)
	{
		double	   *inputs = NULL;

		/* covariates beside the spectrogram: read from the same row by name */
		if (m->cov != NULL)
		{
			double	   *raw = palloc(m->cov->n * sizeof(double));
			bool	   *isnull = palloc(m->cov->n * sizeof(bool));

			covariates_from_record(m->cov, rec, m->name, raw, isnull);
			inputs = palloc(m->cov->n_inputs * sizeof(double));
			covariates_encode(m->cov, raw, isnull, inputs);
		}
		out = model_predict_clip(m, DatumGetSpectrogramP(d), inputs);
	}
	ReleaseTupleDesc(desc);
	return out;
}

static double
predict_record(LoadedModel *m, HeapTupleHeader rec)
{
	double	   *raw;
	bool	   *isnull;

	raw = palloc(m->cov->n * sizeof(double));
	isnull = palloc(m->cov->n * sizeof(bool));
	covariates_from_record(m->cov, rec, m->name, raw, isnull);
	return tabular_predict(m, raw, isnull);
}

/* The row forms' result: a covariate model's, or a spectrogram model's from the row's spectrogram. */
static Datum
predict_row_datum(FunctionCallInfo fcinfo, LoadedModel *m)
{
	HeapTupleHeader rec = DatumGetHeapTupleHeader(arg_datum(fcinfo, "input"));
	bool		is_null = false;
	double		out;

	out = model_covariates_only(m) ? predict_record(m, rec) : predict_spectrogram_record(m, rec, &is_null);
	if (is_null)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(out);
}

/* ttsp_predict(model_name, input record, version) */
Datum
ttsp_predict_row(PG_FUNCTION_ARGS)
{
	LoadedModel *m;

	if (arg_isnull(fcinfo, "model_name") || arg_isnull(fcinfo, "input"))
		PG_RETURN_NULL();
	m = model_lookup(arg_text(fcinfo, "model_name"), model_version_arg(fcinfo));
	return predict_row_datum(fcinfo, m);
}

/* ttsp_predict(model record, input record): no SPI */
Datum
ttsp_predict_model_row(PG_FUNCTION_ARGS)
{
	LoadedModel *m = model_from_value(DatumGetHeapTupleHeader(arg_datum(fcinfo, "model")));

	return predict_row_datum(fcinfo, m);
}

Datum
tabular_evaluate(LoadedModel *m, Oid relid, const char *label)
{
	MemoryContext caller = CurrentMemoryContext;
	TabData		d;
	double	   *pred;
	int			i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(caller);
	tab_load(&d, tab_query(relid, NULL, label, m->cov), label, m->cov, m->task, 0, "evaluate on");
	pred = palloc(d.n * sizeof(double));
	for (i = 0; i < d.n; i++)
	{
		pred[i] = tabular_predict(m, d.raw + (Size) i * d.k, d.isnull + (Size) i * d.k);
		if (i % 1024 == 0)
			CHECK_FOR_INTERRUPTS();
	}
	SPI_finish();
	return evaluation_jsonb(m->name, m->version, m->task, pred, d.label, d.n);
}

/*
 * The row of the model's training table whose music_id is given, in the
 * caller's memory (NULL when there is none); ERROR when the model has no
 * such table.
 */
static HeapTupleHeader
music_id_row(LoadedModel *m, int64 music_id)
{
	Oid			relid = m->source ? RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(m->source)),
													 AccessShareLock, true) : InvalidOid;
	Datum		arg = Int64GetDatum(music_id);
	Oid			type = INT8OID;
	HeapTupleHeader out = NULL;
	MemoryContext caller = CurrentMemoryContext;
	bool		isnull;
	const char *rel;

	if (!OidIsValid(relid) || get_attnum(relid, "music_id") == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" reads covariates, and %s", m->name,
						m->source == NULL ? "was trained on a query, not a table"
						: !OidIsValid(relid) ? psprintf("its training table %s no longer exists", m->source)
						: psprintf("its training table %s has no column music_id", m->source)),
				 errhint("Pass the row instead: SELECT ttsp_predict('%s', s) FROM sounds s.", m->name)));
	/* the stored name is only ever resolved, never spliced: ttsp_model's writers are not its readers */
	rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the table's row type, named fields: a column may share any alias's name, ROW(t.*) cannot */
	if (SPI_execute_with_args(psprintf("SELECT ROW(ttsp_src.*)::%s FROM %s AS ttsp_src "
									   "WHERE ttsp_src.music_id OPERATOR(pg_catalog.=) $1 LIMIT 1",
									   rel, rel), 1, &type, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up music_id in %s", rel);
	if (SPI_processed == 1)
	{
		Datum		row = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(caller);

		out = DatumGetHeapTupleHeaderCopy(row);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return out;
}

double
tabular_predict_music_id(LoadedModel *m, int64 music_id, bool *found)
{
	HeapTupleHeader row = music_id_row(m, music_id);

	*found = row != NULL;
	return row != NULL ? predict_record(m, row) : 0;
}

double *
tabular_music_id_inputs(LoadedModel *m, int64 music_id)
{
	HeapTupleHeader row = music_id_row(m, music_id);
	double	   *raw,
			   *inputs;
	bool	   *isnull;

	if (row == NULL)
		return NULL;
	raw = palloc(m->cov->n * sizeof(double));
	isnull = palloc(m->cov->n * sizeof(bool));
	covariates_from_record(m->cov, row, m->name, raw, isnull);
	inputs = palloc(m->cov->n_inputs * sizeof(double));
	covariates_encode(m->cov, raw, isnull, inputs);
	return inputs;
}
