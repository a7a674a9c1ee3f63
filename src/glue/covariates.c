/*
 * Covariates (covariates.h): names, types, training statistics, encoding,
 * and reading them by name from a row value or a stored model.
 */
#include "covariates.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "args.h"

Covariates *
covariates_arg(FunctionCallInfo fcinfo, const char *label)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	Covariates *c;
	int			i,
				j;

	if (arg_isnull(fcinfo, "covariates"))
		return NULL;
	a = DatumGetArrayTypeP(arg_datum(fcinfo, "covariates"));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &i);
	if (ARR_NDIM(a) > 1 || i < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("covariates must list at least one column name"),
				 errhint("Leave covariates NULL for a model of the features alone.")));
	c = palloc0(sizeof(Covariates));
	c->n = i;
	c->names = palloc(c->n * sizeof(char *));
	for (i = 0; i < c->n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("covariates must not contain NULL")));
		c->names[i] = TextDatumGetCString(elems[i]);
		if (label != NULL && strcmp(c->names[i], label) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("covariate \"%s\" is the label", c->names[i]),
					 errdetail("A model given its own label as an input learns nothing it could use on new rows.")));
		for (j = 0; j < i; j++)
			if (strcmp(c->names[i], c->names[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("covariate \"%s\" is listed twice", c->names[i])));
	}
	return c;
}

bool
covariate_type_ok(Oid type)
{
	return type == BOOLOID || type == INT2OID || type == INT4OID || type == INT8OID || type == FLOAT4OID ||
		type == FLOAT8OID || type == NUMERICOID;
}

void
covariate_check_type(Oid type, const char *column, const char *model)
{
	if (!covariate_type_ok(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("covariate \"%s\" is of type %s; covariates must be numeric or boolean columns",
						column, format_type_be(type)),
				 model ? errdetail("Model \"%s\" was trained on a numeric or boolean \"%s\".", model, column) : 0,
				 errhint("Derive a numeric column in a view, e.g. (title ILIKE 'original sound%%') AS original.")));
}

double
covariate_value(Datum d, Oid type)
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
		default:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
	}
}

void
covariates_fit(Covariates *c, const double *raw, const bool *isnull, const bool *use, int n_rows)
{
	int			j,
				i;

	c->mean = palloc(c->n * sizeof(double));
	c->scale = palloc(c->n * sizeof(double));
	c->missing = palloc(c->n * sizeof(bool));
	c->n_inputs = c->n;
	for (j = 0; j < c->n; j++)
	{
		double		sum = 0,
					ss = 0;
		int			count = 0;

		c->missing[j] = false;
		for (i = 0; i < n_rows; i++)
			if (use[i] && isnull[(Size) i * c->n + j])
				c->missing[j] = true;
			else if (use[i])
			{
				sum += raw[(Size) i * c->n + j];
				count++;
			}
		if (count == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("covariate \"%s\" is NULL in every training row", c->names[j]),
					 errhint("Leave it out of covariates, or fill it in.")));
		c->mean[j] = sum / count;
		/* two-pass: no cancellation for large, steady values */
		for (i = 0; i < n_rows; i++)
			if (use[i] && !isnull[(Size) i * c->n + j])
				ss += (raw[(Size) i * c->n + j] - c->mean[j]) * (raw[(Size) i * c->n + j] - c->mean[j]);
		c->scale[j] = sqrt(ss / count);
		/* StandardScaler's rule: a constant keeps scale 1 */
		if (!(c->scale[j] > 1e-12 * Max(1.0, fabs(c->mean[j]))))
			c->scale[j] = 1;
		c->n_inputs += c->missing[j];
	}
}

void
covariates_encode(const Covariates *c, const double *raw, const bool *isnull, double *out)
{
	int			j,
				k = 0;

	for (j = 0; j < c->n; j++)
	{
		out[k++] = isnull[j] ? 0 : (raw[j] - c->mean[j]) / c->scale[j];
		if (c->missing[j])
			out[k++] = isnull[j] ? 1 : 0;
	}
}

void
covariates_from_record(const Covariates *c, HeapTupleHeader rec, const char *model, double *raw, bool *isnull)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec), HeapTupleHeaderGetTypMod(rec));
	HeapTupleData row;
	int			j;

	row.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&row.t_self);
	row.t_tableOid = InvalidOid;
	row.t_data = rec;
	for (j = 0; j < c->n; j++)
	{
		int			att = SPI_fnumber(desc, c->names[j]);
		Oid			type;

		if (att <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the input row has no column \"%s\"", c->names[j]),
					 errdetail("Model \"%s\" reads its covariates by name.", model)));
		type = TupleDescAttr(desc, att - 1)->atttypid;
		covariate_check_type(type, c->names[j], model);
		raw[j] = 0;
		{
			Datum		d = heap_getattr(&row, att, desc, &isnull[j]);

			if (!isnull[j])
				raw[j] = covariate_value(d, type);
		}
		if (!isnull[j] && !isfinite(raw[j]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("covariate \"%s\" is %g; covariates must be finite", c->names[j], raw[j])));
	}
	ReleaseTupleDesc(desc);
}

/* A float8[] or boolean[] column of n values, by name. */
static void *
model_array(HeapTuple row, TupleDesc desc, const char *column, Oid elem, int n, const char *model)
{
	bool		isnull;
	int			att = SPI_fnumber(desc, column);
	ArrayType  *a;
	int			size = elem == FLOAT8OID ? sizeof(double) : sizeof(bool);
	void	   *out;

	a = att > 0 ? DatumGetArrayTypeP(heap_getattr(row, att, desc, &isnull)) : NULL;
	if (att <= 0 || isnull || ARR_ELEMTYPE(a) != elem || ARR_HASNULL(a) || ARR_NDIM(a) != 1 ||
		ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has no valid %s for its %d covariates", model, column, n)));
	out = palloc(n * size);
	memcpy(out, ARR_DATA_PTR(a), n * size);
	return out;
}

Covariates *
covariates_from_model_row(HeapTuple row, TupleDesc desc, const char *model)
{
	int			att = SPI_fnumber(desc, "covariates");
	bool		isnull = true;
	Datum		d = att > 0 ? heap_getattr(row, att, desc, &isnull) : (Datum) 0;
	Covariates *c;
	Datum	   *elems;
	bool	   *nulls;
	int			j;

	if (isnull)
		return NULL;
	c = palloc0(sizeof(Covariates));
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &c->n);
	c->names = palloc(Max(c->n, 1) * sizeof(char *));
	for (j = 0; j < c->n; j++)
		c->names[j] = nulls[j] ? NULL : TextDatumGetCString(elems[j]);
	c->mean = model_array(row, desc, "covariate_mean", FLOAT8OID, c->n, model);
	c->scale = model_array(row, desc, "covariate_scale", FLOAT8OID, c->n, model);
	c->missing = model_array(row, desc, "covariate_missing", BOOLOID, c->n, model);
	c->n_inputs = c->n;
	for (j = 0; j < c->n; j++)
	{
		if (c->names[j] == NULL || !isfinite(c->mean[j]) || !(c->scale[j] > 0 && isfinite(c->scale[j])))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\" has an invalid covariate %d", model, j + 1)));
		c->n_inputs += c->missing[j];
	}
	if (c->n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has an empty covariate list", model)));
	return c;
}

Covariates *
train_covariates(FunctionCallInfo fcinfo, TrainOptions *o)
{
	Covariates *c = covariates_arg(fcinfo, train_required_text(fcinfo, "label"));

	if (c == NULL)
	{
		if (o->mlp)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("architecture 'mlp' needs covariates, and features => NULL")));
		return NULL;
	}
	if (!arg_isnull(fcinfo, "features"))
	{
		/* beside a spectrogram: they join the network's head and the linear model */
		if (o->mlp)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("architecture 'mlp' reads covariates alone: give features => NULL")));
		if (o->averaged)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("strategy 'averaged' does not read covariates yet"),
					 errhint("Use strategy => 'local'.")));
	}
	if (o->init_model != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("init_model applies to a CNN, not to a covariates-only model")));
	/* covariates alone: 'cnn', the default, is the linear model; 'deep' is a CNN alone */
	if (arg_isnull(fcinfo, "features") && !o->linear_only && !o->mlp && !o->wide)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("architecture 'deep' needs a spectrogram feature; covariates alone take 'linear' or 'mlp'")));
	return c;
}

/* The five covariate columns of ttsp_model as SPI arguments (all NULL without covariates). */
void
covariates_model_args(const Covariates *c, const char *source, Datum *args, char *nulls)
{
	Datum	   *names,
			   *means,
			   *scales,
			   *missing;
	int			j;

	nulls[0] = nulls[1] = nulls[2] = nulls[3] = c ? ' ' : 'n';
	nulls[4] = source ? ' ' : 'n';
	args[4] = source ? CStringGetTextDatum(source) : (Datum) 0;
	if (c == NULL)
		return;
	names = palloc(c->n * sizeof(Datum));
	means = palloc(c->n * sizeof(Datum));
	scales = palloc(c->n * sizeof(Datum));
	missing = palloc(c->n * sizeof(Datum));
	for (j = 0; j < c->n; j++)
	{
		names[j] = CStringGetTextDatum(c->names[j]);
		means[j] = Float8GetDatum(c->mean[j]);
		scales[j] = Float8GetDatum(c->scale[j]);
		missing[j] = BoolGetDatum(c->missing[j]);
	}
	args[0] = PointerGetDatum(construct_array(names, c->n, TEXTOID, -1, false, TYPALIGN_INT));
	args[1] = PointerGetDatum(construct_array(means, c->n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array(scales, c->n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[3] = PointerGetDatum(construct_array(missing, c->n, BOOLOID, 1, true, TYPALIGN_CHAR));
}
