/*
 * Linear core (linear.h) against scikit-learn: pooled features against
 * numpy, standardisation against StandardScaler, the L2 logistic regression
 * against LogisticRegression(C = 1/alpha) and ridge against Ridge(alpha) at
 * every alpha of the grid, and the penalty chosen on validation rows, from
 * test/golden/linear_golden.txt (written by make_linear_golden.py; run from
 * the repository root).  Then the byte format: round trip, every truncation
 * and bit flip rejected, and forged bytes with a valid checksum rejected by
 * the value checks.
 *
 * Tolerances.  sklearn's logistic solutions have a gradient of at most
 * ~5e-9 (the file's header), ours is at machine precision, so weights may
 * differ by about gradient / curvature: 1e-6 relative to the largest weight
 * covers that at alpha 1e-4, where the curvature is smallest.  Ridge is a
 * closed form on both sides: 1e-9.  Pooled features and the scaler: 1e-12.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "linear.h"
#include "golden.h"
#include "tap.h"

#define GOLDEN_PATH "test/golden/linear_golden.txt"

static void
test_pool(void)
{
	const record *x = find("pool", "x");
	const record *want = find("pool", "out");
	float		buf[42];
	double		out[12];
	ttsp_error	err;

	for (int i = 0; i < 42; i++)
		buf[i] = (float) x->v[i];
	ok(ttsp_pooled_count(2, 3) == 12 && want->n == 12, "2 x 3 pools to 12 features");
	if (ttsp_pool_features(buf, 2, 3, 7, out, &err) != TTSP_OK)
		out[0] = NAN;
	ok(rel_error(out, want->v, 12) < 1e-12, "pooled means then deviations match numpy (rel error %.1e)",
	   rel_error(out, want->v, 12));
	buf[17] = NAN;
	ok(ttsp_pool_features(buf, 2, 3, 7, out, &err) == TTSP_EINVAL && strstr(err.msg, "channel 0, bin 2, frame 3"),
	   "a NaN input is an error naming its place: %s", err.msg);
	ok(ttsp_pool_features(buf, 2, 3, 0, out, &err) == TTSP_EINVAL, "no frames is an error");
	buf[17] = (float) x->v[17];
	{
		double		row[12];
		bool		same = true;

		/* row by row (as the glue pools a clip) is the same arithmetic, bit for bit */
		for (int k = 0; k < 6; k++)
			same &= ttsp_pool_row(buf + 7 * k, 7, k / 3, k % 3, &row[k], &row[6 + k], &err) == TTSP_OK;
		ttsp_pool_features(buf, 2, 3, 7, out, &err);
		ok(same && memcmp(row, out, sizeof(row)) == 0, "pooling row by row equals pooling the whole input");
		buf[15] = INFINITY;
		ok(ttsp_pool_row(buf + 14, 7, 1, 0, &row[0], &row[1], &err) == TTSP_EINVAL &&
		   strstr(err.msg, "channel 1, bin 0, frame 1"), "a row's non-finite value is named by its place: %s", err.msg);
	}
	ok(ttsp_pooled_count(0, 3) == 0 && ttsp_pooled_count(1, TTSP_LINEAR_MAX_DIM + 1) == 0,
	   "pooled count is 0 outside the shape limits");
}

/*
 * ttsp_pool_rows against ttsp_pool_row, row by row, bit for bit: 2 x 21
 * rows of 552 log-like values (five groups of 8 and 2 rows after), from
 * row 0 and from row 8, rows of 549, and the error's place.
 */
static void
test_pool_rows(void)
{
	enum
	{
		C = 2, B = 21, R = C * B, F = 552
	};
	float	   *v = malloc(sizeof(float) * R * F);
	double		want[2 * R],
				got[2 * R],
				whole[2 * R];
	bool		same = true;
	ttsp_error	err;
	uint32_t	state = 12345;

	for (int i = 0; i < R * F; i++)
	{
		state = state * 1664525u + 1013904223u;
		v[i] = (float) ((state >> 8) / 16777216.0 * 12.0 - 9.0);
	}
	for (int k = 0; k < R; k++)
		same &= ttsp_pool_row(v + (size_t) k * F, F, k / B, k % B, &want[k], &want[R + k], &err) == TTSP_OK;
	same &= ttsp_pool_rows(v, R, F, 0, B, got, got + R, &err) == TTSP_OK;
	ok(same && memcmp(want, got, sizeof(want)) == 0, "42 rows side by side: the bits of pooling each row alone");
	memset(got, 0, sizeof(got));
	ok(ttsp_pool_rows(v + 8 * F, R - 8, F, 8, B, got + 8, got + R + 8, &err) == TTSP_OK &&
	   memcmp(want + 8, got + 8, (R - 8) * sizeof(double)) == 0 &&
	   memcmp(want + R + 8, got + R + 8, (R - 8) * sizeof(double)) == 0,
	   "from row 8 on, the same bits");
	ok(ttsp_pool_features(v, C, B, F, whole, &err) == TTSP_OK && memcmp(want, whole, sizeof(want)) == 0,
	   "ttsp_pool_features pools them side by side too");
	/* frames taken four at a time: 549 leaves one after them */
	same = true;
	for (int k = 0; k < R; k++)
		same &= ttsp_pool_row(v + (size_t) k * (F - 3), F - 3, k / B, k % B, &want[k], &want[R + k], &err) == TTSP_OK;
	same &= ttsp_pool_rows(v, R, F - 3, 0, B, got, got + R, &err) == TTSP_OK;
	ok(same && memcmp(want, got, sizeof(want)) == 0, "rows of 549 frames: the same bits too");
	v[13 * F + 200] = NAN;
	v[30 * F + 7] = NAN;
	ok(ttsp_pool_rows(v, R, F, 0, B, got, got + R, &err) == TTSP_EINVAL &&
	   strstr(err.msg, "channel 0, bin 13, frame 200") != NULL,
	   "two NaNs in two groups: the first in row order is named: %s", err.msg);
	v[13 * F + 200] = 0;
	v[30 * F + 7] = 0;
	v[41 * F + 551] = -INFINITY;
	ok(ttsp_pool_rows(v + 8 * F, R - 8, F, 8, B, got, got + R, &err) == TTSP_EINVAL &&
	   strstr(err.msg, "channel 1, bin 20, frame 551") != NULL,
	   "an infinity in the last row, counted from row 8, is named by its place in the input: %s", err.msg);
	free(v);
}

/* The pooling's gradient against central differences of a weighted sum of the pooled features. */
static void
test_pool_backward(void)
{
	const record *x = find("pool", "x");
	float		buf[42];
	double		w[12],
				dx[42] = {0},
				out[12],
				worst = 0;

	for (int i = 0; i < 42; i++)
		buf[i] = (float) x->v[i];
	for (int j = 0; j < 12; j++)
		w[j] = 0.3 * j - 1.7;
	ok(ttsp_pool_features_backward(buf, 2, 3, 7, w, dx, NULL) == TTSP_OK, "pooling's gradient runs");
	for (int i = 0; i < 42; i++)
	{
		float		keep = buf[i];
		double		up = 0,
					down = 0;
		const float h = 1e-2f;

		buf[i] = keep + h;
		ttsp_pool_features(buf, 2, 3, 7, out, NULL);
		for (int j = 0; j < 12; j++)
			up += w[j] * out[j];
		buf[i] = keep - h;
		ttsp_pool_features(buf, 2, 3, 7, out, NULL);
		for (int j = 0; j < 12; j++)
			down += w[j] * out[j];
		buf[i] = keep;
		worst = fmax(worst, fabs((up - down) / (2 * (double) h) - dx[i]) / fmax(fabs(dx[i]), 1e-2));
	}
	ok(worst < 1e-2, "pooling's gradient matches central differences (rel. error %.1e)", worst);
}

static ttsp_linear_data
rows(const char *task, const char *part)
{
	char		xn[32],
				yn[32];
	ttsp_linear_data d;

	snprintf(xn, sizeof(xn), "x_%s", part);
	snprintf(yn, sizeof(yn), "%s_%s", strcmp(task, "classification") == 0 ? "class" : "target", part);
	d.x = find("data", xn)->v;
	d.y = find("data", yn)->v;
	d.n = (int) find("data", yn)->n;
	return d;
}

static void
test_fits(int task)
{
	const char *tn = task == TTSP_TASK_CLASSIFICATION ? "classification" : "regression";
	double		tol = task == TTSP_TASK_CLASSIFICATION ? 1e-6 : 1e-9;
	ttsp_linear_data tr = rows(tn, "train"),
				val = rows(tn, "val");
	double		worst_coef = 0,
				worst_out = 0,
				worst_scaler = 0,
				scores[TTSP_LINEAR_GRID_SIZE];
	double		out[64];
	ttsp_error	err;
	ttsp_linear *m;
	int			failed = 0;

	for (int g = 0; g < TTSP_LINEAR_GRID_SIZE; g++)
	{
		char		name[32];
		double		wi;

		m = ttsp_linear_fit(task, 2, 2, 2, &tr, ttsp_linear_grid[g], &err);
		if (m == NULL || ttsp_linear_predict(m, val.x, val.n, out, &err) != TTSP_OK)
		{
			failed++;
			fprintf(stderr, "# %s alpha %g: %s\n", tn, ttsp_linear_grid[g], err.msg);
			ttsp_linear_destroy(m);
			continue;
		}
		snprintf(name, sizeof(name), "%d/coef", g);
		worst_coef = fmax(worst_coef, rel_error(m->coef, find(tn, name)->v, 10));
		snprintf(name, sizeof(name), "%d/intercept", g);
		wi = find(tn, name)->v[0];
		worst_coef = fmax(worst_coef, fabs(m->intercept - wi) / fmax(1.0, fabs(wi)));
		snprintf(name, sizeof(name), "%d/val_out", g);
		worst_out = fmax(worst_out, rel_error(out, find(tn, name)->v, val.n));
		if (task == TTSP_TASK_CLASSIFICATION)
			worst_scaler = fmax(rel_error(m->mean, find("scaler", "mean")->v, 10),
								rel_error(m->scale, find("scaler", "scale")->v, 10));
		ttsp_linear_destroy(m);
	}
	ok(failed == 0, "%s: fits at all %d grid points", tn, TTSP_LINEAR_GRID_SIZE);
	if (task == TTSP_TASK_CLASSIFICATION)
		ok(worst_scaler < 1e-12, "standardisation matches StandardScaler, constant feature included (%.1e)", worst_scaler);
	ok(worst_coef < tol, "%s: weights and intercept match sklearn at every alpha (worst %.1e, tolerance %.0e)",
	   tn, worst_coef, tol);
	ok(worst_out < tol, "%s: validation outputs match sklearn's (worst %.1e)", tn, worst_out);

	m = ttsp_linear_fit_select(task, 2, 2, 2, &tr, &val, scores, &err);
	ok(m != NULL && rel_error(scores, find(tn, "val_scores")->v, TTSP_LINEAR_GRID_SIZE) < tol,
	   "%s: validation scores over the grid match (%.1e)", tn,
	   rel_error(scores, find(tn, "val_scores")->v, TTSP_LINEAR_GRID_SIZE));
	ok(m != NULL && m->alpha == ttsp_linear_grid[(int) find(tn, "best")->v[0]],
	   "%s: the chosen alpha (%g) is sklearn's best on the validation rows", tn, m ? m->alpha : NAN);
	if (m != NULL)
	{
		double		output[64];
		double		worst = 0;

		ttsp_linear_predict(m, val.x, val.n, out, NULL);
		ttsp_linear_predict_output(m, val.x, val.n, output, NULL);
		for (int i = 0; i < val.n; i++)
			worst = fmax(worst, fabs(output[i] - (task == TTSP_TASK_CLASSIFICATION ?
												  1.0 / (1.0 + exp(-out[i])) : out[i])));
		ok(worst < 1e-15, "%s: outputs are the logits' sigmoid (classifier) or the values (%.1e)", tn, worst);
	}
	ttsp_linear_destroy(m);
}

static void
test_fit_errors(void)
{
	ttsp_linear_data tr = rows("classification", "train");
	double		y[80],
				x[800];
	ttsp_linear_data d = {x, y, 80};
	ttsp_error	err;

	memcpy(x, tr.x, sizeof(x));
	for (int i = 0; i < 80; i++)
		y[i] = 1;
	ok(ttsp_linear_fit(TTSP_TASK_CLASSIFICATION, 2, 2, 2, &d, 1.0, &err) == NULL && err.code == TTSP_EINVAL &&
	   strstr(err.msg, "only class 1"), "one class only: %s", err.msg);
	y[3] = 2;
	ok(ttsp_linear_fit(TTSP_TASK_CLASSIFICATION, 2, 2, 2, &d, 1.0, &err) == NULL && strstr(err.msg, "0 or 1"),
	   "label 2: %s", err.msg);
	memcpy(y, tr.y, sizeof(y));
	x[125] = NAN;
	ok(ttsp_linear_fit(TTSP_TASK_REGRESSION, 2, 2, 2, &d, 1.0, &err) == NULL && strstr(err.msg, "row 12, feature 5"),
	   "a NaN feature: %s", err.msg);
	x[125] = 0;
	ok(ttsp_linear_fit(TTSP_TASK_CLASSIFICATION, 2, 2, 2, &d, 0.0, &err) == NULL && strstr(err.msg, "alpha"),
	   "alpha 0: %s", err.msg);
	d.n = 1;
	ok(ttsp_linear_fit(TTSP_TASK_REGRESSION, 2, 2, 2, &d, 1.0, &err) == NULL && strstr(err.msg, "at least 2 rows"),
	   "one row: %s", err.msg);
	d.n = 80;
	ok(ttsp_linear_fit(7, 2, 2, 2, &d, 1.0, &err) == NULL && strstr(err.msg, "unknown task"), "unknown task");
	ok(ttsp_linear_fit(TTSP_TASK_REGRESSION, 2, 2, -1, &d, 1.0, &err) == NULL, "negative n_extra");

	/* perfectly separable classes at the weakest penalty: finite, and right */
	for (int i = 0; i < 80; i++)
		x[i * 10] = y[i] ? 5.0 + i % 3 : -5.0 - i % 3;
	{
		ttsp_linear *m = ttsp_linear_fit(TTSP_TASK_CLASSIFICATION, 2, 2, 2, &d, 1e-4, &err);
		double		out[80];
		int			right = 0;

		ok(m != NULL && ttsp_linear_predict(m, x, 80, out, &err) == TTSP_OK && isfinite(m->coef[0]),
		   "separable classes at alpha 1e-4 converge to finite weights");
		for (int i = 0; m && i < 80; i++)
			right += (out[i] > 0) == (y[i] == 1);
		ok(right == 80, "and classify all 80 training rows (%d)", right);
		ttsp_linear_destroy(m);
	}
}

/* A model of the golden data, serialised; *len receives its size. */
static uint8_t *
golden_bytes(size_t *len, ttsp_linear **model)
{
	ttsp_linear_data tr = rows("classification", "train");
	ttsp_linear *m = ttsp_linear_fit(TTSP_TASK_CLASSIFICATION, 2, 2, 2, &tr, 1.0, NULL);
	uint8_t    *b;

	*len = ttsp_linear_serialized_size(m);
	b = malloc(*len);
	ttsp_linear_serialize(m, b, *len, NULL);
	*model = m;
	return b;
}

/* rewrite the checksum after a forged edit */
static void
reseal(uint8_t *b, size_t len)
{
	ttsp_put_u64(b + len - 8, ttsp_fnv1a64(b, len - 8));
}

static void
test_bytes(void)
{
	ttsp_linear *m,
			   *r;
	size_t		len;
	uint8_t    *b = golden_bytes(&len, &m);
	uint8_t    *c = malloc(len),
			   *again = malloc(len);
	ttsp_linear_data val = rows("classification", "val");
	double		o1[30],
				o2[30];
	ttsp_error	err;
	int			accepted = 0,
				wrong_code = 0;

	ok(len == 8 + 20 + 16 + 3 * 8 * 10 + 8, "a 10-feature model is %zu bytes", len);
	r = ttsp_linear_deserialize(b, len, &err);
	ok(r != NULL && ttsp_linear_serialize(r, again, len, &err) == TTSP_OK && memcmp(b, again, len) == 0,
	   "round trip gives the same bytes");
	ok(r != NULL && ttsp_linear_predict(m, val.x, 30, o1, NULL) == TTSP_OK &&
	   ttsp_linear_predict(r, val.x, 30, o2, NULL) == TTSP_OK && memcmp(o1, o2, sizeof(o1)) == 0,
	   "and the same predictions, bit for bit");
	ttsp_linear_destroy(r);
	{
		ttsp_linear *m2;
		size_t		len2;
		uint8_t    *b2 = golden_bytes(&len2, &m2);

		ok(len2 == len && memcmp(b, b2, len) == 0, "two fits of the same rows give the same bytes");
		ttsp_linear_destroy(m2);
		free(b2);
	}
	ok(ttsp_linear_serialize(m, again, len - 1, &err) == TTSP_EINVAL, "serialising into a short buffer is an error");

	for (size_t n = 0; n < len; n++)
	{
		r = ttsp_linear_deserialize(b, n, &err);
		accepted += r != NULL;
		wrong_code += r == NULL && err.code != TTSP_ECORRUPT;
		ttsp_linear_destroy(r);
	}
	ok(accepted == 0 && wrong_code == 0, "all %zu truncations are rejected as corrupt", len);
	accepted = wrong_code = 0;
	for (size_t bit = 0; bit < 8 * len; bit++)
	{
		memcpy(c, b, len);
		c[bit / 8] ^= (uint8_t) (1 << (bit % 8));
		r = ttsp_linear_deserialize(c, len, &err);
		accepted += r != NULL;
		wrong_code += r == NULL && err.code != TTSP_ECORRUPT;
		ttsp_linear_destroy(r);
	}
	ok(accepted == 0 && wrong_code == 0, "all %zu single-bit flips are rejected as corrupt", 8 * len);

	/* forged with a valid checksum: the value and header checks must catch them */
	memcpy(c, b, len);
	ttsp_put_u32(c + 8, 2);
	reseal(c, len);
	ok(ttsp_linear_deserialize(c, len, &err) == NULL && err.code == TTSP_EUNSUPPORTED, "a later version: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_u32(c + 12, 5);
	reseal(c, len);
	ok(ttsp_linear_deserialize(c, len, &err) == NULL && err.code == TTSP_ECORRUPT, "task 5: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_u32(c + 16, 3);
	reseal(c, len);
	ok(ttsp_linear_deserialize(c, len, &err) == NULL && strstr(err.msg, "header implies"),
	   "a shape the length does not match: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_u32(c + 16, 0xffffffffu);
	ttsp_put_u32(c + 20, 0xffffffffu);
	reseal(c, len);
	ok(ttsp_linear_deserialize(c, len, &err) == NULL && err.code == TTSP_ECORRUPT, "a huge shape: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_f64(c + 44 + 8 * 12, 0.0);		/* scale[2] */
	reseal(c, len);
	ok(ttsp_linear_deserialize(c, len, &err) == NULL && strstr(err.msg, "feature 2"), "a zero scale: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_f64(c + 44 + 8 * 25, NAN);		/* coef[5] */
	reseal(c, len);
	ok(ttsp_linear_deserialize(c, len, &err) == NULL && strstr(err.msg, "feature 5"), "a NaN weight: %s", err.msg);
	memcpy(c, b, len);
	ttsp_put_f64(c + 28, -1.0);				/* alpha */
	reseal(c, len);
	ok(ttsp_linear_deserialize(c, len, &err) == NULL && strstr(err.msg, "penalty"), "a negative penalty: %s", err.msg);
	memcpy(c, b, len);
	c[0] = 'X';
	reseal(c, len);
	ok(ttsp_linear_deserialize(c, len, &err) == NULL && strstr(err.msg, "magic"), "another magic: %s", err.msg);
	ok(ttsp_linear_deserialize(NULL, 0, &err) == NULL && err.code == TTSP_ECORRUPT, "NULL bytes");

	ttsp_linear_destroy(m);
	free(b);
	free(c);
	free(again);
}

/*
 * Covariates only (0 x 0 pooled, n_extra features): the same matrix as the
 * golden rows, so the same weights bit for bit as the pooled fit that is
 * checked against sklearn above; round trip; shapes that stay invalid.
 */
static void
test_covariates_only(void)
{
	ttsp_linear_data tr = rows("classification", "train");
	ttsp_linear_data val = rows("classification", "val");
	ttsp_linear *pooled = ttsp_linear_fit_select(TTSP_TASK_CLASSIFICATION, 2, 2, 2, &tr, &val, NULL, NULL);
	ttsp_error	err;
	ttsp_linear *cov = ttsp_linear_fit_select(TTSP_TASK_CLASSIFICATION, 0, 0, 10, &tr, &val, NULL, &err);
	size_t		len;
	uint8_t    *b;
	ttsp_linear *r = NULL;
	double		o1[30],
				o2[30];

	ok(cov != NULL && cov->n_features == 10 && pooled != NULL, "0 x 0 with 10 extra features fits");
	ok(cov && pooled && cov->alpha == pooled->alpha && cov->intercept == pooled->intercept &&
	   memcmp(cov->coef, pooled->coef, 10 * sizeof(double)) == 0,
	   "with the pooled fit's penalty and weights, bit for bit");
	len = ttsp_linear_serialized_size(cov);
	b = malloc(len);
	ok(ttsp_linear_serialize(cov, b, len, &err) == TTSP_OK && (r = ttsp_linear_deserialize(b, len, &err)) != NULL &&
	   r->channels == 0 && r->bins == 0 && r->n_extra == 10 &&
	   ttsp_linear_predict(cov, val.x, 30, o1, NULL) == TTSP_OK && ttsp_linear_predict(r, val.x, 30, o2, NULL) == TTSP_OK &&
	   memcmp(o1, o2, sizeof(o1)) == 0, "round trip of a covariates-only model, same predictions");
	ttsp_linear_destroy(r);
	/* 0 x 0 with no extra features, or 0 x 1, has no feature at all or no shape */
	ttsp_put_u32(b + 28 - 4, 0);	/* n_extra */
	ttsp_put_u64(b + len - 8, ttsp_fnv1a64(b, len - 8));
	ok(ttsp_linear_deserialize(b, len, &err) == NULL && err.code == TTSP_ECORRUPT, "0 x 0 without extras: %s", err.msg);
	ok(ttsp_linear_fit(TTSP_TASK_CLASSIFICATION, 0, 0, 0, &tr, 1.0, &err) == NULL && err.code == TTSP_EINVAL,
	   "fitting no features: %s", err.msg);
	ok(ttsp_linear_fit(TTSP_TASK_CLASSIFICATION, 0, 5, 10, &tr, 1.0, &err) == NULL && err.code == TTSP_EINVAL,
	   "0 channels of 5 bins: %s", err.msg);
	free(b);
	ttsp_linear_destroy(cov);
	ttsp_linear_destroy(pooled);
}

int
main(void)
{
	if (!ok(load_golden(GOLDEN_PATH), "golden file %s loads (run from the repository root)", GOLDEN_PATH))
		return done_testing();
	test_pool();
	test_pool_rows();
	test_pool_backward();
	test_fits(TTSP_TASK_CLASSIFICATION);
	test_fits(TTSP_TASK_REGRESSION);
	test_fit_errors();
	test_bytes();
	test_covariates_only();
	return done_testing();
}
