/*
 * ttsp_evaluate: a stored model's metrics on every row of a table, and the
 * metrics JSON that it and ttsp_train report.
 */
#include "train.h"

#include <math.h>

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "args.h"
#include "covariates.h"
#include "metrics.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_evaluate);

#define EVAL_BATCH 32

static void
append_number(StringInfo buf, const char *key, double v)
{
	if (isfinite(v))
		appendStringInfo(buf, ", \"%s\": %.17g", key, v);
	else
		appendStringInfo(buf, ", \"%s\": null", key);
}

void
metrics_append(StringInfo buf, int task, const double *pred, const double *label, int n)
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

char *
json_quote(const char *s)
{
	StringInfoData b;

	initStringInfo(&b);
	escape_json(&b, s);
	return b.data;
}

/* Predictions of a stored model over a source, windows in batches. */
typedef struct Evaluator
{
	LoadedModel *m;
	ClipScorer	scorer;
	double	   *pred;
	double	   *label;
	int			n;
	int			cap;
} Evaluator;

static void
eval_output(void *arg, double output, int tag)
{
	((Evaluator *) arg)->pred[tag] = output;
}

static void
eval_row(void *arg, Spectrogram *spec, double label, uint64 hash, const RowCovariates *cov)
{
	Evaluator  *e = arg;
	double	   *inputs = NULL;

	(void) hash;				/* not hashed: nothing here splits */
	if (spec == NULL)
		return;
	if (cov != NULL)
	{
		inputs = palloc(e->m->cov->n_inputs * sizeof(double));
		covariates_encode(e->m->cov, cov->raw, cov->isnull, inputs);
	}
	model_input_check(&e->m->in, spec, e->m->name);
	if (e->n == e->cap)
	{
		/* pending windows write into pred: score them before it moves */
		if (e->m->net)
			scorer_flush(&e->scorer);
		e->cap *= 2;
		e->pred = repalloc_huge(e->pred, e->cap * sizeof(double));
		e->label = repalloc_huge(e->label, e->cap * sizeof(double));
	}
	e->label[e->n] = label;
	if (e->m->linear)
	{
		/* the whole clip's pooled features, one row at a time */
		e->pred[e->n++] = model_predict_linear(e->m, spec, inputs);
		return;
	}
	/* the scorer copies the clip's windows into its batch: the buffer is reused */
	scorer_add_spec(&e->scorer, e->m, spec, inputs, e->n++);
}

static void
check_labels(const Evaluator *e)
{
	int			i;

	if (e->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no rows with a non-NULL feature and label to evaluate on")));
	if (e->m->task != TTSP_TASK_CLASSIFICATION)
		return;
	for (i = 0; i < e->n; i++)
		if (e->label[i] != 0 && e->label[i] != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("classification labels must be 0/1 or boolean, got %g", e->label[i])));
}

/* ttsp_evaluate(model_name, source regclass, features, label, version) */
Datum
ttsp_evaluate(PG_FUNCTION_ARGS)
{
	Evaluator	e = {0};
	char	   *name;
	char	   *query;
	MemoryContext caller = CurrentMemoryContext;

	arg_require(fcinfo, "model_name");
	arg_require(fcinfo, "source");
	arg_require(fcinfo, "label");
	name = arg_text(fcinfo, "model_name");
	e.m = model_lookup(name, model_version_arg(fcinfo));
	/* a covariates-only model reads its own columns by name; features may be NULL */
	if (model_covariates_only(e.m))
		return tabular_evaluate(e.m, DatumGetObjectId(arg_datum(fcinfo, "source")), arg_text(fcinfo, "label"));
	arg_require(fcinfo, "features");
	query = source_relation_query(DatumGetObjectId(arg_datum(fcinfo, "source")),
								  arg_text(fcinfo, "features"), arg_text(fcinfo, "label"), e.m->cov);
	/* the source query may look up models too: keep this one loaded */
	model_pin(e.m);
	if (e.m->net)
		scorer_init(&e.scorer, e.m->net, &e.m->in, e.m->pool, e.m->task, e.m->target_mean, e.m->target_std,
					EVAL_BATCH, eval_output, &e);
	e.cap = 1024;
	e.pred = palloc(e.cap * sizeof(double));
	e.label = palloc(e.cap * sizeof(double));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* grow the result arrays in the caller's context, not SPI's */
	MemoryContextSwitchTo(caller);
	source_scan(query, 0, false, e.m->cov ? e.m->cov->n : 0, eval_row, &e);
	if (e.m->net)
		scorer_flush(&e.scorer);
	SPI_finish();
	check_labels(&e);
	PG_RETURN_DATUM(evaluation_jsonb(name, e.m->version, e.m->task, e.pred, e.label, e.n));
}

Datum
evaluation_jsonb(const char *name, int version, int task, const double *pred, const double *label, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"model\": %s, \"version\": %d, ", json_quote(name), version);
	metrics_append(&buf, task, pred, label, n);
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}
