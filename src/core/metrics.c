#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_LOSS_CLIP 1e-15

/* qsort has no context argument, so each entry carries its sort keys. */
typedef struct
{
	double		key;
	size_t		index;
} by_prob;

typedef struct
{
	int			label;
	uint64_t	hash;
	size_t		index;
} by_class_hash;

static int
cmp_prob(const void *a, const void *b)
{
	const by_prob *x = a,
			   *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

static int
cmp_class_hash(const void *a, const void *b)
{
	const by_class_hash *x = a,
			   *y = b;

	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* Indices 0 .. n-1 in increasing key order, ties by index (malloc'd; NULL if out of memory). */
static by_prob *
sorted_by_key(const double *key, size_t n)
{
	by_prob    *order = malloc(n * sizeof(*order));

	if (order == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
	{
		order[i].key = key[i];
		order[i].index = i;
	}
	qsort(order, n, sizeof(*order), cmp_prob);
	return order;
}

static double
ratio(size_t num, size_t den)
{
	return den > 0 ? (double) num / den : NAN;
}

/*
 * Mann-Whitney U / (n_pos n_neg): the sum of positive ranks, tied scores
 * sharing the average of their ranks, so a tie counts half.
 */
static ttsp_status
roc_auc(const double *prob, const int *labels, size_t n, size_t n_pos,
		double *auc, ttsp_error *err)
{
	by_prob    *order;
	double		rank_sum = 0.0;
	size_t		n_neg = n - n_pos;

	if (n_pos == 0 || n_neg == 0)
	{
		*auc = NAN;
		return TTSP_OK;
	}
	order = sorted_by_key(prob, n);
	if (order == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory ranking %zu predictions", n);
	for (size_t lo = 0; lo < n;)
	{
		size_t		hi = lo;
		size_t		pos = 0;

		while (hi < n && order[hi].key == order[lo].key)
			pos += labels[order[hi++].index];
		/* ranks lo+1 .. hi, averaged */
		rank_sum += pos * ((double) (lo + 1 + hi) / 2.0);
		lo = hi;
	}
	free(order);
	*auc = (rank_sum - (double) n_pos * (n_pos + 1) / 2.0) / ((double) n_pos * n_neg);
	return TTSP_OK;
}

ttsp_status
ttsp_roc_curve(const double *score, const int *labels, size_t n, double *fpr, double *tpr,
			   size_t *points, ttsp_error *err)
{
	by_prob    *order;
	size_t		n_pos = 0,
				tp = 0,
				fp = 0,
				k = 0;

	*points = 0;
	for (size_t i = 0; i < n; i++)
	{
		if (labels[i] != 0 && labels[i] != 1)
			return ttsp_fail(err, TTSP_EINVAL, "label %zu (%d) is not 0 or 1", i, labels[i]);
		if (isnan(score[i]))
			return ttsp_fail(err, TTSP_EINVAL, "score %zu is NaN", i);
		n_pos += labels[i];
	}
	if (n_pos == 0 || n_pos == n)
		return ttsp_fail(err, TTSP_EINVAL, "a ROC curve needs both classes; got %zu positive of %zu",
						 n_pos, n);
	order = sorted_by_key(score, n);
	if (order == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory ranking %zu scores", n);
	fpr[k] = tpr[k] = 0;
	k++;
	/* from the highest score down, one point after each run of equal scores */
	for (size_t hi = n; hi > 0;)
	{
		size_t		lo = hi;

		while (lo > 0 && order[lo - 1].key == order[hi - 1].key)
		{
			lo--;
			if (labels[order[lo].index])
				tp++;
			else
				fp++;
		}
		fpr[k] = (double) fp / (n - n_pos);
		tpr[k] = (double) tp / n_pos;
		k++;
		hi = lo;
	}
	free(order);
	*points = k;
	return TTSP_OK;
}

ttsp_status
ttsp_classification_metrics(const double *prob, const int *labels, size_t n,
							ttsp_class_metrics *m, ttsp_error *err)
{
	double		ll = 0.0;

	if (prob == NULL || labels == NULL || m == NULL || n == 0)
		return ttsp_fail(err, TTSP_EINVAL, "classification metrics need n >= 1 predictions");
	memset(m, 0, sizeof(*m));
	m->n = n;
	for (size_t i = 0; i < n; i++)
	{
		double		p = prob[i];
		bool		pred = p >= 0.5;
		double		clipped = fmin(fmax(p, LOG_LOSS_CLIP), 1.0 - LOG_LOSS_CLIP);

		if (!(p >= 0.0 && p <= 1.0))
			return ttsp_fail(err, TTSP_EINVAL,
							 "probability %zu (%g) is not in [0, 1]", i, p);
		if (labels[i] != 0 && labels[i] != 1)
			return ttsp_fail(err, TTSP_EINVAL, "label %zu (%d) is not 0 or 1", i, labels[i]);
		if (labels[i])
		{
			m->n_pos++;
			if (pred)
				m->tp++;
			else
				m->fn++;
			ll -= log(clipped);
		}
		else
		{
			m->n_neg++;
			if (pred)
				m->fp++;
			else
				m->tn++;
			ll -= log(1.0 - clipped);
		}
	}
	m->accuracy = ratio(m->tp + m->tn, n);
	m->precision = ratio(m->tp, m->tp + m->fp);
	m->recall = ratio(m->tp, m->n_pos);
	m->balanced_accuracy = (m->recall + ratio(m->tn, m->n_neg)) / 2.0;
	/* 2PR/(P+R) without its 0/0 when tp = 0 */
	m->f1 = ratio(2 * m->tp, 2 * m->tp + m->fp + m->fn);
	m->log_loss = ll / n;
	m->baseline_accuracy = ratio(m->n_pos > m->n_neg ? m->n_pos : m->n_neg, n);
	return roc_auc(prob, labels, n, m->n_pos, &m->roc_auc, err);
}

ttsp_status
ttsp_regression_metrics(const double *pred, const double *target, size_t n,
						ttsp_reg_metrics *m, ttsp_error *err)
{
	double		mean = 0.0,
				se = 0.0,
				ae = 0.0,
				var = 0.0;

	if (pred == NULL || target == NULL || m == NULL || n == 0)
		return ttsp_fail(err, TTSP_EINVAL, "regression metrics need n >= 1 predictions");
	for (size_t i = 0; i < n; i++)
	{
		if (!isfinite(pred[i]) || !isfinite(target[i]))
			return ttsp_fail(err, TTSP_EINVAL, "prediction or target %zu is not finite", i);
		mean += target[i];
	}
	mean /= n;
	for (size_t i = 0; i < n; i++)
	{
		double		e = pred[i] - target[i];

		se += e * e;
		ae += fabs(e);
		var += (target[i] - mean) * (target[i] - mean);
	}
	m->n = n;
	m->mse = se / n;
	m->mae = ae / n;
	m->baseline_mse = var / n;
	m->r2 = var > 0.0 ? 1.0 - se / var : NAN;
	return TTSP_OK;
}

/* The rows sorted by (class, hash, index): each class a run; NULL if out of memory. */
static by_class_hash *
class_hash_order(const uint64_t *hash, const int *labels, size_t n)
{
	by_class_hash *order = malloc((n > 0 ? n : 1) * sizeof(*order));

	if (order == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
	{
		order[i].label = labels[i];
		order[i].hash = hash[i];
		order[i].index = i;
	}
	qsort(order, n, sizeof(*order), cmp_class_hash);
	return order;
}

/* End of the class run that starts at lo. */
static size_t
class_run_end(const by_class_hash *order, size_t n, size_t lo)
{
	size_t		hi = lo;

	while (hi < n && order[hi].label == order[lo].label)
		hi++;
	return hi;
}

ttsp_status
ttsp_stratified_split(const uint64_t *hash, const int *labels, size_t n,
					  double test_size, bool *is_test, ttsp_error *err)
{
	by_class_hash *order;

	if (hash == NULL || labels == NULL || is_test == NULL)
		return ttsp_fail(err, TTSP_EINVAL, "split needs hashes, labels and an output array");
	if (!(test_size >= 0.0 && test_size <= 1.0))
		return ttsp_fail(err, TTSP_EINVAL, "test size %g is not in [0, 1]", test_size);
	if (n == 0)
		return TTSP_OK;
	if ((order = class_hash_order(hash, labels, n)) == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory splitting %zu rows", n);
	for (size_t lo = 0; lo < n;)
	{
		size_t		hi = class_run_end(order, n, lo);
		size_t		n_test = (size_t) round(test_size * (double) (hi - lo));

		for (size_t k = lo; k < hi; k++)
			is_test[order[k].index] = k - lo < n_test;
		lo = hi;
	}
	free(order);
	return TTSP_OK;
}

ttsp_status
ttsp_stratified_folds(const uint64_t *hash, const int *labels, size_t n, int k,
					  int *fold, ttsp_error *err)
{
	by_class_hash *order;

	if (hash == NULL || labels == NULL || fold == NULL)
		return ttsp_fail(err, TTSP_EINVAL, "folds need hashes, labels and an output array");
	if (k < 1)
		return ttsp_fail(err, TTSP_EINVAL, "fold count %d is below 1", k);
	if (n == 0)
		return TTSP_OK;
	if ((order = class_hash_order(hash, labels, n)) == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory dealing %zu rows into folds", n);
	for (size_t lo = 0; lo < n;)
	{
		size_t		hi = class_run_end(order, n, lo);

		for (size_t r = lo; r < hi; r++)
			fold[order[r].index] = (int) ((r - lo) * (size_t) k / (hi - lo));
		lo = hi;
	}
	free(order);
	return TTSP_OK;
}
