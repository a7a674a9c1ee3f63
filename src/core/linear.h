/*
 * The linear model: a baseline beside every CNN and a model in its own right
 * (architecture 'linear').  Its input is a feature vector per clip:
 *
 *	 pooled features   for each (channel, bin) of a [c][b][f] buffer of log
 *	                   features, the mean over the frames, then for each the
 *	                   standard deviation (ddof 0): 2 * c * b values, in
 *	                   that order (all means, then all deviations)
 *	 extra features    n_extra numeric covariates appended after them
 *	                   (columns of the source beside the spectrogram).
 *	                   A covariates-only model has channels = bins = 0:
 *	                   no pooled features, n_extra >= 1 extra ones
 *
 * Features are standardised with the training rows' mean and deviation
 * (ddof 0; a constant feature keeps scale 1), as sklearn's StandardScaler.
 * Then, in double, with an unpenalised intercept b and weights w:
 *
 *	 classification  L2 logistic regression, minimising
 *	                   sum_i [log(1 + e^z_i) - y_i z_i] + alpha/2 |w|^2,
 *	                   z = w.x + b; sklearn LogisticRegression(C = 1/alpha).
 *	                   Newton's method with a backtracking line search,
 *	                   from zero (or the previous grid point), to machine
 *	                   precision.  Output: the logit z.
 *	 regression      ridge regression, minimising
 *	                   sum_i (y_i - z_i)^2 + alpha |w|^2; sklearn
 *	                   Ridge(alpha).  Closed form (Cholesky).  Output: z.
 *
 * Everything is deterministic: fixed loop orders, no threads, no randomness.
 * Cost: O(n p^2 + p^3) per Newton iteration or ridge solve, p = features.
 *
 * The penalty is chosen from ttsp_linear_grid by the validation rows' mean
 * log loss (classification) or MSE (regression); on a tie the larger alpha
 * (the simpler model) wins.
 */
#ifndef TTSP_LINEAR_H
#define TTSP_LINEAR_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"				/* ttsp_task */
#include "ttsp_status.h"

#define TTSP_LINEAR_MAX_DIM 65536	/* channels, bins */
#define TTSP_LINEAR_MAX_FEATURES 16384	/* pooled + extra: keeps p^2 doubles at 2 GB */
#define TTSP_LINEAR_GRID_SIZE 9

/* alpha = 1e4, 1e3, ..., 1e-4: searched from the strongest penalty down */
extern const double ttsp_linear_grid[TTSP_LINEAR_GRID_SIZE];

/* Pooled features -------------------------------------------------------- */

/* 2 * channels * bins, or 0 if either is out of range. */
size_t		ttsp_pooled_count(int channels, int bins);

/*
 * Means then deviations of each (channel, bin) of x ([c][b][frames]) into
 * out (ttsp_pooled_count values), in double, two-pass.  Non-finite inputs
 * are TTSP_EINVAL, so the output is never NaN.
 */
ttsp_status ttsp_pool_features(const float *x, int channels, int bins, int frames,
							   double *out, ttsp_error *err);

/*
 * One row of that: the mean and deviation of v[0..frames) of (channel, bin),
 * whose place a non-finite value's error names.  Lets a caller pool a clip
 * row by row without holding all of it.
 */
ttsp_status ttsp_pool_row(const float *v, int frames, int channel, int bin,
						  double *mean, double *sd, ttsp_error *err);

/*
 * ttsp_pool_row for `rows` consecutive rows of frames values at v, row k
 * being row first + k of an input with `bins` bins per channel (for the
 * error's place): mean[k] and sd[k].  The same bits as ttsp_pool_row, row
 * by row, and the same error for the first non-finite value in row-major
 * order; faster, since one row's sums are chains of dependent adds and
 * eight rows' chains run side by side.
 */
ttsp_status ttsp_pool_rows(const float *v, int rows, int frames, int first, int bins,
						   double *mean, double *sd, ttsp_error *err);
/* The rows it takes side by side: a caller's batch of rows is best a multiple. */
#define TTSP_POOL_GROUP 8

/*
 * The gradient through pooling: given dpooled = d(out)/d(pooled features)
 * (ttsp_pooled_count values), ADD d(out)/d(x) into dx ([c][b][frames]
 * doubles).  The deviation's derivative is taken as 0 for a constant row.
 */
ttsp_status ttsp_pool_features_backward(const float *x, int channels, int bins, int frames,
										const double *dpooled, double *dx, ttsp_error *err);

/* The model -------------------------------------------------------------- */

typedef struct ttsp_linear
{
	int			task;			/* ttsp_task */
	int			channels;		/* shape of the pooled part */
	int			bins;
	int			n_extra;		/* covariates after the pooled features */
	int			n_features;		/* 2 * channels * bins + n_extra */
	double		alpha;			/* the penalty it was fitted with */
	double		intercept;
	double	   *mean;			/* n_features: standardisation */
	double	   *scale;			/* n_features, all > 0 */
	double	   *coef;			/* n_features: weights on standardised features */
} ttsp_linear;

/* Rows for fitting: x is n rows of n_features doubles, row-major. */
typedef struct ttsp_linear_data
{
	const double *x;
	const double *y;			/* 0/1 (classification) or targets */
	int			n;
} ttsp_linear_data;

/*
 * Fit at one alpha (> 0, finite).  Classification needs labels 0/1 with both
 * classes present; regression finite targets; both at least 2 rows and
 * finite features.  NULL on failure, with err filled.
 */
ttsp_linear *ttsp_linear_fit(int task, int channels, int bins, int n_extra,
							 const ttsp_linear_data *train, double alpha,
							 ttsp_error *err);

/*
 * Fit at every alpha of the grid on train, score each on val (at least one
 * row) and return the best.  val_scores (may be NULL) receives the
 * TTSP_LINEAR_GRID_SIZE validation scores in grid order.
 */
ttsp_linear *ttsp_linear_fit_select(int task, int channels, int bins, int n_extra,
									const ttsp_linear_data *train,
									const ttsp_linear_data *val, double *val_scores,
									ttsp_error *err);

/* Logits or values of n rows of n_features (row-major) into out. */
ttsp_status ttsp_linear_predict(const ttsp_linear *m, const double *x, int n, double *out,
								ttsp_error *err);

/* As ttsp_linear_predict, but probabilities (the logits' sigmoid) for a classifier. */
ttsp_status ttsp_linear_predict_output(const ttsp_linear *m, const double *x, int n, double *out,
									   ttsp_error *err);

/*
 * The selection score of outputs against labels: mean log loss of logits
 * (classification) or mean squared error (regression).
 */
double		ttsp_linear_score(int task, const double *out, const double *y, int n);

void		ttsp_linear_destroy(ttsp_linear *m);

/*
 * Start a net whose extra inputs are this model's features (n_extra =
 * n_features, same task) as this model: the extras' scaling becomes its
 * standardisation, their head weights its coefficients, the head bias its
 * intercept and the conv channels' head weights 0.  Before any training
 * step the net's output is then the model's logit (classification) or its
 * value in units of (value - target_mean) / target_std (regression; the
 * net learns standardised targets), whatever the convolutions compute:
 * a wide-and-deep model that starts at the linear baseline.
 */
ttsp_status ttsp_linear_start_cnn(const ttsp_linear *m, ttsp_cnn *net, double target_mean,
								  double target_std, ttsp_error *err);

/* Serialisation ---------------------------------------------------------- *
 *
 * Format version 1, little-endian:
 *	 "TTSPLIN\0"  u32 version  u32 task  u32 channels  u32 bins  u32 n_extra
 *	 f64 alpha  f64 intercept  f64 mean[p]  f64 scale[p]  f64 coef[p]
 *	 u64 FNV-1a-64 of all preceding bytes
 * with p = 2 * channels * bins + n_extra >= 1 (channels = bins = 0: covariates only).
 */
size_t		ttsp_linear_serialized_size(const ttsp_linear *m);

/* len must be at least ttsp_linear_serialized_size (TTSP_EINVAL otherwise). */
ttsp_status ttsp_linear_serialize(const ttsp_linear *m, uint8_t *buf, size_t len,
								  ttsp_error *err);

/*
 * Rebuild a model from bytes that may be anything (a model passed as a value
 * is user input).  Checked in order: length, magic, checksum, version (a
 * later one is TTSP_EUNSUPPORTED), task and shape, exact length, then every
 * value (finite; scales > 0; alpha > 0).  Anything else wrong is
 * TTSP_ECORRUPT with a message naming it; nothing is allocated before the
 * length has been checked against the shape.
 */
ttsp_linear *ttsp_linear_deserialize(const uint8_t *buf, size_t len, ttsp_error *err);

#endif
