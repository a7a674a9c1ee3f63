/*
 * Evaluation metrics and a deterministic stratified train/test split.
 * Plain C, no postgres.h.  All sums run in double in input order.
 *
 * Undefined values are NaN (never a division by zero):
 *	 precision  no predicted positives
 *	 recall     no actual positives
 *	 f1         no predicted and no actual positives (0 when tp = 0 otherwise)
 *	 balanced accuracy, ROC-AUC   one of the classes absent
 *	 r2         targets all equal (the mean predictor's MSE is 0)
 */
#ifndef TTSP_METRICS_H
#define TTSP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttsp_status.h"

typedef struct ttsp_class_metrics
{
	size_t		n,
				n_pos,
				n_neg;
	size_t		tp,
				fp,
				tn,
				fn;				/* predicted positive: prob >= 0.5 */
	double		accuracy;
	double		balanced_accuracy;	/* mean of recall and specificity */
	double		precision;
	double		recall;
	double		f1;
	double		roc_auc;		/* Mann-Whitney, tied scores get average ranks */
	double		log_loss;		/* probabilities clipped to [1e-15, 1 - 1e-15] */
	double		baseline_accuracy;	/* always predicting these labels' majority */
} ttsp_class_metrics;

/*
 * prob: n probabilities in [0, 1]; labels: n values 0 or 1.  Needs n >= 1.
 * Allocates n indices for the AUC ranking (TTSP_ENOMEM if that fails).
 */
ttsp_status ttsp_classification_metrics(const double *prob, const int *labels,
										size_t n, ttsp_class_metrics *m,
										ttsp_error *err);

/*
 * ROC curve points for scores and labels (0 or 1), as sklearn's roc_curve
 * with drop_intermediate=False: (0, 0), then one point per distinct score
 * from the highest down (false and true positive rates when everything
 * scoring at least that is called positive), ending at (1, 1).  fpr and
 * tpr need n + 1 doubles; *points receives how many were written.  Both
 * classes must be present (TTSP_EINVAL otherwise).  Scores must not be NaN.
 */
ttsp_status ttsp_roc_curve(const double *score, const int *labels, size_t n,
						   double *fpr, double *tpr, size_t *points, ttsp_error *err);

typedef struct ttsp_reg_metrics
{
	size_t		n;
	double		mse;
	double		mae;
	double		r2;				/* 1 - mse / baseline_mse */
	double		baseline_mse;	/* predicting the mean of these targets */
} ttsp_reg_metrics;

/* pred and target: n finite values, n >= 1. */
ttsp_status ttsp_regression_metrics(const double *pred, const double *target,
									size_t n, ttsp_reg_metrics *m, ttsp_error *err);

/*
 * Stratified split: is_test[i] is set for round(test_size * n_c) rows of
 * each class c (round half away from zero), namely those with the smallest
 * hash[i] in their class (ties by row index).  The caller derives hash from
 * the row's identity and the seed, so the split depends on neither row
 * order nor the other rows, and each class keeps the test fraction up to
 * rounding.  labels are arbitrary class ids (pass one value for all rows
 * to split without stratifying, e.g. for regression).  test_size in [0, 1].
 * Allocates n indices.
 */
ttsp_status ttsp_stratified_split(const uint64_t *hash, const int *labels,
								  size_t n, double test_size, bool *is_test,
								  ttsp_error *err);

/*
 * Stratified folds: per class, the rows in the same (hash, row index)
 * order, the r-th of n_c in fold[] = r * k / n_c, so each class is dealt
 * into k consecutive blocks of near-equal size (a class of fewer than k
 * rows leaves some folds without it).  Like the split, a row's fold
 * depends on its hash and class, not on row order.  k >= 1.  Allocates n
 * indices.
 */
ttsp_status ttsp_stratified_folds(const uint64_t *hash, const int *labels, size_t n, int k,
								  int *fold, ttsp_error *err);

#endif
