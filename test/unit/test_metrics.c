/* Metrics and split tests: hand-calculated values and brute-force checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"

#define AUC_N 501
#define SPLIT_N 1000

static bool
near(double a, double b)
{
	return fabs(a - b) < 1e-12;
}

static void
test_classification(void)
{
	/*
	 * predicted (>= 0.5): 1 1 0 1 0 1 0 -> tp 3 (rows 0,1,5), fn 1 (row 2),
	 * fp 1 (row 3), tn 2.  AUC: of the 12 positive/negative pairs, 10 are
	 * ordered right and one (0.6 vs 0.6) is tied: 10.5 / 12.
	 */
	double		prob[] = {0.9, 0.8, 0.4, 0.6, 0.2, 0.6, 0.1};
	int			lab[] = {1, 1, 1, 0, 0, 1, 0};
	ttsp_class_metrics m;
	ttsp_error	err;
	double		ll = -(log(0.9) + log(0.8) + log(0.4) + log(0.4) + log(0.8) + log(0.6) +
					   log(0.9)) / 7;
	ttsp_status st = ttsp_classification_metrics(prob, lab, 7, &m, &err);

	ok(st == TTSP_OK && m.tp == 3 && m.fn == 1 && m.fp == 1 && m.tn == 2 &&
	   m.n_pos == 4 && m.n_neg == 3, "confusion matrix (threshold 0.5, inclusive)");
	ok(near(m.accuracy, 5.0 / 7), "accuracy 5/7 (%g)", m.accuracy);
	ok(near(m.precision, 0.75) && near(m.recall, 0.75) && near(m.f1, 0.75),
	   "precision, recall, F1 = 3/4");
	ok(near(m.balanced_accuracy, (0.75 + 2.0 / 3) / 2), "balanced accuracy (3/4 + 2/3)/2 (%g)",
	   m.balanced_accuracy);
	ok(near(m.roc_auc, 10.5 / 12), "ROC-AUC with a tie counted half: 10.5/12 (%g)", m.roc_auc);
	ok(near(m.log_loss, ll), "log loss %g", m.log_loss);
	ok(near(m.baseline_accuracy, 4.0 / 7), "majority baseline 4/7");

	{
		double		p2[] = {0.3, 0.7, 0.2, 0.6};
		int			l2[] = {1, 0, 0, 1};

		/* tp 1, fp 1, fn 1: P = R = 1/2, F1 = 1/2; AUC: (0.3>0.2) (0.6>0.2) (0.6<0.7) (0.3<0.7) */
		ttsp_classification_metrics(p2, l2, 4, &m, &err);
		ok(near(m.f1, 0.5) && near(m.roc_auc, 0.5), "F1 1/2, AUC 2/4");
	}
	{
		double		p3[] = {0.1, 0.2, 0.3};
		int			l3[] = {1, 0, 1};

		/* nothing predicted positive: precision undefined, F1 = 0 (tp 0, fn 2) */
		ttsp_classification_metrics(p3, l3, 3, &m, &err);
		ok(isnan(m.precision) && m.recall == 0 && m.f1 == 0 && near(m.roc_auc, 0.5),
		   "no predicted positives: precision NaN, recall 0, F1 0");
	}
	{
		double		p4[] = {0.7, 0.2, 1.0};
		int			l4[] = {0, 0, 0};

		ttsp_classification_metrics(p4, l4, 3, &m, &err);
		ok(isnan(m.roc_auc) && isnan(m.recall) && isnan(m.balanced_accuracy) &&
		   isnan(m.f1) == false && m.f1 == 0 && near(m.baseline_accuracy, 1.0),
		   "one class only: AUC, recall, balanced accuracy NaN");
		/* as sklearn: clip p to 1 - 1e-15, then take log(1 - p) */
		ok(near(m.log_loss, -(log(0.3) + log(0.8) + log(1 - (1 - 1e-15))) / 3),
		   "log loss clips p = 1 on a negative at 1 - 1e-15 (%g)", m.log_loss);
	}
	{
		double		p5[] = {0.5, 0.5, 0.5, 0.5};
		int			l5[] = {0, 1, 0, 1};

		ttsp_classification_metrics(p5, l5, 4, &m, &err);
		ok(near(m.roc_auc, 0.5) && m.tp == 2 && m.fp == 2,
		   "all tied: AUC 1/2; 0.5 counts as positive");
	}

	prob[0] = 1.5;
	ok(ttsp_classification_metrics(prob, lab, 7, &m, &err) == TTSP_EINVAL,
	   "probability 1.5 refused: %s", err.msg);
	prob[0] = NAN;
	ok(ttsp_classification_metrics(prob, lab, 7, &m, &err) == TTSP_EINVAL, "NaN probability refused");
	prob[0] = 0.9;
	lab[2] = 2;
	ok(ttsp_classification_metrics(prob, lab, 7, &m, &err) == TTSP_EINVAL,
	   "label 2 refused: %s", err.msg);
	ok(ttsp_classification_metrics(prob, lab, 0, &m, &err) == TTSP_EINVAL, "n = 0 refused");
}

/* AUC by counting all positive/negative pairs, ties half. */
static double
auc_pairs(const double *p, const int *l, size_t n)
{
	double		wins = 0,
				pairs = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (l[i] == 1 && l[j] == 0)
			{
				pairs++;
				wins += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0;
			}
	return wins / pairs;
}

static uint64_t
mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static void
test_auc_brute_force(void)
{
	double		p[AUC_N];
	int			l[AUC_N];
	ttsp_class_metrics m;
	double		want;

	/* scores on a 0.05 grid: many ties; label correlated with score */
	for (int i = 0; i < AUC_N; i++)
	{
		p[i] = (double) (mix(i) % 21) / 20;
		l[i] = (mix(i + 1000) % 100) < 30 + 40 * p[i];
	}
	want = auc_pairs(p, l, AUC_N);
	ttsp_classification_metrics(p, l, AUC_N, &m, NULL);
	ok(fabs(m.roc_auc - want) < 1e-12, "AUC equals pair counting on %d rows with ties (%g)", AUC_N, want);
}

static void
test_regression(void)
{
	double		pred[] = {1, 2, 3},
				y[] = {1, 2, 4},
				mean[] = {7.0 / 3, 7.0 / 3, 7.0 / 3},
				flat[] = {2, 2, 2};
	ttsp_reg_metrics m;
	ttsp_status st;
	ttsp_error	err;

	/* mean 7/3; sum of squares about it (16 + 1 + 25)/9 = 42/9 */
	st = ttsp_regression_metrics(pred, y, 3, &m, &err);
	ok(st == TTSP_OK && near(m.mse, 1.0 / 3) && near(m.mae, 1.0 / 3) && near(m.baseline_mse, 42.0 / 27) &&
	   near(m.r2, 1 - 9.0 / 42), "MSE 1/3, MAE 1/3, baseline 42/27, R2 1 - (1/3)/(42/27) (%g)",
	   m.r2);
	ttsp_regression_metrics(y, y, 3, &m, &err);
	ok(m.mse == 0 && m.r2 == 1, "perfect predictor: R2 = 1");
	ttsp_regression_metrics(mean, y, 3, &m, &err);
	ok(fabs(m.r2) < 1e-12 && near(m.mse, m.baseline_mse), "mean predictor: R2 = 0, MSE = baseline");
	ttsp_regression_metrics(pred, flat, 3, &m, &err);
	ok(isnan(m.r2) && m.baseline_mse == 0 && near(m.mse, 2.0 / 3), "constant targets: R2 NaN");
	pred[1] = INFINITY;
	ok(ttsp_regression_metrics(pred, y, 3, &m, &err) == TTSP_EINVAL, "infinite prediction refused: %s",
	   err.msg);
}

static void
test_split(void)
{
	uint64_t	hash[SPLIT_N],
				hash2[SPLIT_N];
	int			lab[SPLIT_N],
				lab2[SPLIT_N],
				perm[SPLIT_N];
	bool		t20[SPLIT_N],
				t10[SPLIT_N],
				again[SPLIT_N],
				shuffled[SPLIT_N];
	size_t		n_class[3] = {0},
				n_test[3] = {0};
	bool		nested = true,
				same = true;
	ttsp_error	err;

	for (int i = 0; i < SPLIT_N; i++)
	{
		hash[i] = mix(i * 7 + 12);	/* as the SQL layer: hash(row id, seed) */
		lab[i] = i % 10 < 3 ? 1 : i % 10 < 9 ? 0 : 2;
		n_class[lab[i]]++;
	}
	ok(ttsp_stratified_split(hash, lab, SPLIT_N, 0.2, t20, &err) == TTSP_OK, "split 1000 rows");
	for (int i = 0; i < SPLIT_N; i++)
		n_test[lab[i]] += t20[i];
	ok(n_test[0] == 120 && n_test[1] == 60 && n_test[2] == 20,
	   "each class keeps 20%% in test: %zu/%zu, %zu/%zu, %zu/%zu",
	   n_test[0], n_class[0], n_test[1], n_class[1], n_test[2], n_class[2]);

	ttsp_stratified_split(hash, lab, SPLIT_N, 0.2, again, &err);
	ok(memcmp(t20, again, sizeof(t20)) == 0, "same hashes: same split");

	/* reverse-and-rotate the rows: membership follows the row, not its position */
	for (int i = 0; i < SPLIT_N; i++)
	{
		perm[i] = (SPLIT_N - 1 - i + 333) % SPLIT_N;
		hash2[i] = hash[perm[i]];
		lab2[i] = lab[perm[i]];
	}
	ttsp_stratified_split(hash2, lab2, SPLIT_N, 0.2, shuffled, &err);
	for (int i = 0; i < SPLIT_N; i++)
		same &= shuffled[i] == t20[perm[i]];
	ok(same, "row order does not change any row's side");

	ttsp_stratified_split(hash, lab, SPLIT_N, 0.1, t10, &err);
	for (int i = 0; i < SPLIT_N; i++)
		nested &= !t10[i] || t20[i];
	ok(nested, "a smaller test set is a subset of a larger one");

	{
		uint64_t	h5[] = {50, 40, 30, 20, 10};
		int			l5[] = {0, 0, 0, 0, 0};
		bool		t5[5];

		/* round(0.3 * 5) = round(1.5) = 2: the two smallest hashes (rows 4, 3) */
		ttsp_stratified_split(h5, l5, 5, 0.3, t5, &err);
		ok(!t5[0] && !t5[1] && !t5[2] && t5[3] && t5[4], "0.3 of 5 rounds to 2, smallest hashes");
		ttsp_stratified_split(h5, l5, 5, 0.0, t5, &err);
		ok(!t5[0] && !t5[4], "test size 0: nothing in test");
		ttsp_stratified_split(h5, l5, 5, 1.0, t5, &err);
		ok(t5[0] && t5[4], "test size 1: everything in test");
		ok(ttsp_stratified_split(h5, l5, 5, 1.5, t5, &err) == TTSP_EINVAL,
		   "test size 1.5 refused: %s", err.msg);
	}
}

/*
 * ROC points of test_classification's rows, by hand (sklearn's roc_curve
 * with drop_intermediate=False gives the same): scores from the top, the
 * tied 0.6 pair (one of each class) as one step.  The trapezoids under
 * them add up to the rank-based AUC, 10.5 / 12.
 */
static void
test_roc_curve(void)
{
	double		prob[] = {0.9, 0.8, 0.4, 0.6, 0.2, 0.6, 0.1};
	int			lab[] = {1, 1, 1, 0, 0, 1, 0};
	double		want_fpr[] = {0, 0, 0, 1.0 / 3, 1.0 / 3, 2.0 / 3, 1};
	double		want_tpr[] = {0, 0.25, 0.5, 0.75, 1, 1, 1};
	double		fpr[8],
				tpr[8],
				area = 0;
	size_t		k = 0;
	int			same = 1;
	ttsp_error	err;
	int			one_class[] = {1, 1, 1, 1, 1, 1, 1};

	ttsp_status st = ttsp_roc_curve(prob, lab, 7, fpr, tpr, &k, &err);

	ok(st == TTSP_OK && k == 7, "7 ROC points (%zu)", k);
	for (size_t i = 0; i < 7 && k == 7; i++)
		same &= near(fpr[i], want_fpr[i]) && near(tpr[i], want_tpr[i]);
	ok(same, "ROC points by hand, the tie as one diagonal step");
	for (size_t i = 1; i < k; i++)
		area += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2;
	ok(near(area, 10.5 / 12), "the area under them is the AUC (%g)", area);
	ok(ttsp_roc_curve(prob, one_class, 7, fpr, tpr, &k, &err) == TTSP_EINVAL, "one class refused: %s", err.msg);
}

/* Folds: per class near-equal blocks in hash order, by row not by position. */
static void
test_folds(void)
{
	static uint64_t hash[SPLIT_N],
				hash2[SPLIT_N];
	static int	lab[SPLIT_N],
				lab2[SPLIT_N],
				fold[SPLIT_N],
				fold2[SPLIT_N],
				perm[SPLIT_N];
	int			count[3][5] = {{0}};
	bool		balanced = true,
				same = true,
				ordered = true;
	ttsp_error	err;

	for (int i = 0; i < SPLIT_N; i++)
	{
		hash[i] = mix(i * 7 + 12);
		lab[i] = i % 10 < 3 ? 1 : i % 10 < 9 ? 0 : 2;
	}
	ok(ttsp_stratified_folds(hash, lab, SPLIT_N, 5, fold, &err) == TTSP_OK, "deal 1000 rows into 5 folds");
	for (int i = 0; i < SPLIT_N; i++)
		count[lab[i]][fold[i]]++;
	for (int c = 0; c < 3; c++)
		for (int f = 0; f < 5; f++)
			balanced &= count[c][f] == (c == 0 ? 120 : c == 1 ? 60 : 20);
	ok(balanced, "each class splits evenly: 120, 60 and 20 rows per fold");
	/* a fold is a run of hashes within its class: every row of fold f hashes below every row of f + 1 */
	for (int i = 0; i < SPLIT_N; i++)
		for (int j = 0; j < SPLIT_N; j++)
			if (lab[i] == lab[j] && fold[i] < fold[j])
				ordered &= hash[i] < hash[j];
	ok(ordered, "within a class, folds are consecutive blocks of hashes");
	for (int i = 0; i < SPLIT_N; i++)
	{
		perm[i] = (SPLIT_N - 1 - i + 333) % SPLIT_N;
		hash2[i] = hash[perm[i]];
		lab2[i] = lab[perm[i]];
	}
	ttsp_stratified_folds(hash2, lab2, SPLIT_N, 5, fold2, &err);
	for (int i = 0; i < SPLIT_N; i++)
		same &= fold2[i] == fold[perm[i]];
	ok(same, "row order does not change any row's fold");
	ok(ttsp_stratified_folds(hash, lab, SPLIT_N, 0, fold, &err) == TTSP_EINVAL, "0 folds refused: %s", err.msg);
}

int
main(void)
{
	test_classification();
	test_roc_curve();
	test_auc_brute_force();
	test_regression();
	test_split();
	test_folds();
	return done_testing();
}
