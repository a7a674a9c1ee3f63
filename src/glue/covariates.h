/*
 * Covariates: numeric or boolean columns of the source beside (or instead
 * of) the spectrogram, read by name.  Each is standardised with the
 * training split's mean and deviation (ddof 0; a constant keeps scale 1);
 * a NULL becomes the training mean (0 once standardised), and a covariate
 * that had a NULL among the training rows gets a missing-indicator input
 * (1 for NULL, else 0) right after it.  All of it is stored with the model
 * (ttsp_model.covariates, covariate_mean, covariate_scale, covariate_missing).
 *
 *   covariates.c  the names, types, statistics and encoding; reading a row
 *   tabular.c     covariates-only models: ttsp_train (linear, mlp),
 *                 ttsp_cross_validate, row-wise ttsp_predict, ttsp_evaluate
 */
#ifndef TTSP_COVARIATES_H
#define TTSP_COVARIATES_H

#include "train.h"

typedef struct Covariates
{
	int			n;				/* columns */
	char	  **names;
	double	   *mean;			/* training mean, raw units */
	double	   *scale;			/* training deviation, > 0 */
	bool	   *missing;		/* a missing-indicator input follows */
	int			n_inputs;		/* n + the indicators */
} Covariates;

/* The argument "covariates" (text[]): NULL when NULL; ERROR on empty, NULL, duplicate or label names. */
extern Covariates *covariates_arg(FunctionCallInfo fcinfo, const char *label);

/* Whether a type is boolean or numeric (integers, floats, numeric): a covariate's or a label's. */
extern bool covariate_type_ok(Oid type);

/* ERROR 42804 naming the column unless its type is boolean or numeric. */
extern void covariate_check_type(Oid type, const char *column, const char *model);

/* A boolean or numeric datum as a double. */
extern double covariate_value(Datum d, Oid type);

/*
 * Mean, scale and indicators from the rows with use[i] (n_rows rows of
 * c->n raw values and NULL flags).  ERROR naming a covariate that is NULL
 * in all of them.
 */
extern void covariates_fit(Covariates *c, const double *raw, const bool *isnull, const bool *use, int n_rows);

/* One row's n raw values and NULL flags into n_inputs model inputs. */
extern void covariates_encode(const Covariates *c, const double *raw, const bool *isnull, double *out);

/* A row value's covariate columns, by name (42703 missing, 42804 wrong type, naming it). */
extern void covariates_from_record(const Covariates *c, HeapTupleHeader rec, const char *model,
								   double *raw, bool *isnull);

/* The stored columns of a model row (NULL covariates: not a covariate model). */
extern Covariates *covariates_from_model_row(HeapTuple row, TupleDesc desc, const char *model);

/*
 * ttsp_train's covariates: NULL without any (then architecture must not be
 * 'mlp'); with them, features must be NULL (covariates-only model).
 */
extern Covariates *train_covariates(FunctionCallInfo fcinfo, TrainOptions *o);

/* ttsp_model's covariates, covariate_mean, covariate_scale, covariate_missing and source as 5 SPI arguments. */
extern void covariates_model_args(const Covariates *c, const char *source, Datum *args, char *nulls);

/* ---- tabular.c ---- */

/* ttsp_train with covariates: the source is a relation (relid) or a text source. */
extern Datum tabular_train(TrainOptions *o, Covariates *cov, const char *label, Oid relid,
						   const char *text_source);

/* A covariates-only model's row, decoded into m (true), or false when the row has no covariates. */
extern bool tabular_decode(LoadedModel *m, HeapTuple row, TupleDesc desc);

/* Prediction of a covariate model from raw values. */
extern double tabular_predict(LoadedModel *m, const double *raw, const bool *isnull);

/* ttsp_evaluate of a covariate model on a relation. */
extern Datum tabular_evaluate(LoadedModel *m, Oid relid, const char *label);

/*
 * ttsp_predict(music_id) of a covariate model: its training source's row
 * with that music_id (found false when there is none).
 */
extern double tabular_predict_music_id(LoadedModel *m, int64 music_id, bool *found);

/*
 * The covariates' model inputs of the row with that music_id in the
 * training table of a model with covariates beside its spectrogram (NULL
 * when there is none).
 */
extern double *tabular_music_id_inputs(LoadedModel *m, int64 music_id);

/* A relation source's quoted, schema-qualified name (NULL for a query). */
extern char *tab_source_name(Oid relid, const char *text_source);

#endif
