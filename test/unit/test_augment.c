/*
 * Augmentation core (augment.h): torchaudio's masking rule recomputed by
 * hand from the generator's own draws, the width distribution over many
 * draws, masked cells 0 and the rest untouched, the gain as "g dB added
 * before standardisation", determinism, and the errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "tap.h"

#define C 2
#define B 12
#define F 40

static void
fill(float *x, int n, unsigned seed)
{
	srand(seed);
	for (int i = 0; i < n; i++)
		x[i] = (float) rand() / RAND_MAX * 4.0f - 2.0f + 0.25f;	/* never exactly 0 */
}

static void
test_errors(void)
{
	ttsp_augment_config cfg = {0};
	ttsp_error	err;

	cfg.freq_mask_param = B + 1;
	ok(ttsp_augment_check(&cfg, B, F, &err) == TTSP_EINVAL && strstr(err.msg, "freq_mask_param 13 is larger than the input's 12 bins"),
	   "freq_mask_param above the bins: %s", err.msg);
	cfg.freq_mask_param = 0;
	cfg.time_mask_param = F + 1;
	ok(ttsp_augment_check(&cfg, B, F, &err) == TTSP_EINVAL && strstr(err.msg, "time_mask_param 41 is larger than the input's 40 frames"),
	   "time_mask_param above the frames: %s", err.msg);
	cfg.time_mask_param = -1;
	ok(ttsp_augment_check(&cfg, B, F, &err) == TTSP_EINVAL && strstr(err.msg, "time_mask_param must be >= 0"),
	   "negative time_mask_param: %s", err.msg);
	cfg.time_mask_param = 0;
	cfg.gain_db = -1;
	ok(ttsp_augment_check(&cfg, B, F, &err) == TTSP_EINVAL && strstr(err.msg, "gain_db"), "negative gain_db: %s", err.msg);
	cfg.gain_db = NAN;
	ok(ttsp_augment_check(&cfg, B, F, &err) == TTSP_EINVAL, "NaN gain_db");
	cfg.gain_db = 0;
	cfg.freq_mask_param = B;
	cfg.time_mask_param = F;
	ok(ttsp_augment_check(&cfg, B, F, &err) == TTSP_OK, "params equal to the input's size are allowed (width < param)");
}

/* torchaudio's rule from two uniforms, written out from its source */
static void
expected_mask(double u1, double u2, int param, int size, int *start, int *width)
{
	double		value = u1 * param;
	double		min_value = u2 * (size - value);

	*start = (int) floor(min_value);
	*width = (int) floor(min_value) + (int) floor(value) - *start;
}

static void
test_masks_by_hand(void)
{
	ttsp_augment_config cfg = {.freq_mask_param = 5, .time_mask_param = 15};
	float		x[C * B * F],
				y[C * B * F];
	ttsp_rng	rng,
				copy;
	ttsp_augment_draw d;
	ttsp_error	err;
	int			bad_rule = 0,
				bad_cells = 0,
				masked_any = 0;

	ttsp_rng_seed(&rng, 12);
	for (int trial = 0; trial < 200; trial++)
	{
		int			fs, fw, ts, tw;
		double		u[4];

		fill(x, C * B * F, trial);
		memcpy(y, x, sizeof(x));
		copy = rng;
		for (int i = 0; i < 4; i++)
			u[i] = ttsp_rng_uniform(&copy);
		expected_mask(u[0], u[1], 5, B, &fs, &fw);
		expected_mask(u[2], u[3], 15, F, &ts, &tw);
		if (ttsp_augment_apply(&cfg, y, C, B, F, F, NULL, &rng, &d, &err) != TTSP_OK)
		{
			bad_rule++;
			continue;
		}
		bad_rule += d.freq_start != fs || d.freq_width != fw || d.time_start != ts || d.time_width != tw ||
			memcmp(&rng, &copy, sizeof(rng)) != 0;
		for (int c = 0; c < C; c++)
			for (int b = 0; b < B; b++)
				for (int f = 0; f < F; f++)
				{
					int			i = (c * B + b) * F + f;
					int			m = (b >= fs && b < fs + fw) || (f >= ts && f < ts + tw);

					bad_cells += m ? y[i] != 0.0f : y[i] != x[i];
					masked_any += m;
				}
	}
	ok(bad_rule == 0, "200 draws: starts and widths follow torchaudio's rule from the same uniforms, 4 draws each");
	ok(bad_cells == 0 && masked_any > 0, "masked cells are 0 in every channel, all others untouched (%d masked)", masked_any);
}

static void
test_width_distribution(void)
{
	ttsp_augment_config cfg = {.time_mask_param = 10};
	int			count[11] = {0};
	int			outside = 0;
	float		x[50];
	ttsp_rng	rng;
	ttsp_augment_draw d;
	int			worst = 0;

	ttsp_rng_seed(&rng, 13);
	for (int i = 0; i < 20000; i++)
	{
		for (int f = 0; f < 50; f++)
			x[f] = 1.0f;
		ttsp_augment_apply(&cfg, x, 1, 1, 50, 50, NULL, &rng, &d, NULL);
		count[d.time_width > 10 ? 10 : d.time_width]++;
		outside += d.time_start < 0 || d.time_start + d.time_width > 50;
	}
	for (int w = 0; w < 10; w++)
		worst = abs(count[w] - 2000) > worst ? abs(count[w] - 2000) : worst;
	/* each count is binomial(20000, 0.1): sd 42, so 250 is 6 sd */
	ok(count[10] == 0 && worst < 250, "width uniform in [0, 10): counts of 0..9 within %d of 2000, none >= 10", worst);
	ok(outside == 0, "every mask lies inside the input");

	cfg.time_mask_param = 1;
	worst = 0;
	for (int i = 0; i < 1000; i++)
	{
		ttsp_augment_apply(&cfg, x, 1, 1, 50, 50, NULL, &rng, &d, NULL);
		worst += d.time_width;
	}
	ok(worst == 0, "param 1 never masks (width < 1), as torchaudio");
}

static void
test_gain(void)
{
	ttsp_augment_config cfg = {.gain_db = 6.0};
	float		logv[C * B * F],
				mean[C * B],
				std[C * B],
				x[C * B * F];
	ttsp_rng	rng;
	ttsp_augment_draw d;
	ttsp_error	err;
	double		worst = 0;
	int			padding_moved = 0,
				in_range = 1;
	const int	valid = 30;

	fill(logv, C * B * F, 7);
	for (int cb = 0; cb < C * B; cb++)
	{
		mean[cb] = -40.0f + cb;
		std[cb] = 2.0f + 0.5f * cb;
		for (int f = 0; f < F; f++)
			logv[cb * F + f] = logv[cb * F + f] * 10.0f + mean[cb];
	}
	ttsp_rng_seed(&rng, 14);
	for (int trial = 0; trial < 50; trial++)
	{
		for (int cb = 0; cb < C * B; cb++)
			for (int f = 0; f < F; f++)
				x[cb * F + f] = f < valid ? (logv[cb * F + f] - mean[cb]) / std[cb] : 0.0f;
		if (ttsp_augment_apply(&cfg, x, C, B, F, valid, std, &rng, &d, &err) != TTSP_OK)
		{
			worst = INFINITY;
			break;
		}
		in_range &= fabs(d.gain_db) <= 6.0;
		for (int cb = 0; cb < C * B; cb++)
			for (int f = 0; f < F; f++)
			{
				/* the truth: g dB added to the log value, then standardised */
				double		want = (logv[cb * F + f] + d.gain_db - mean[cb]) / std[cb];

				if (f < valid)
					worst = fmax(worst, fabs(x[cb * F + f] - want));
				else
					padding_moved += x[cb * F + f] != 0.0f;
			}
	}
	ok(worst < 1e-5, "gain: the same as g dB added before standardisation (max error %.1e)", worst);
	ok(padding_moved == 0, "gain leaves padding frames at the mean");
	ok(in_range, "gain drawn within [-6, 6] dB");
	ok(ttsp_augment_apply(&cfg, x, C, B, F, valid, NULL, &rng, &d, &err) == TTSP_EINVAL,
	   "a gain without deviations is an error");
	ok(ttsp_augment_apply(&cfg, x, C, B, F, F + 1, std, &rng, &d, &err) == TTSP_EINVAL,
	   "valid_frames above frames is an error");
}

static void
test_determinism(void)
{
	ttsp_augment_config cfg = {.freq_mask_param = 4, .time_mask_param = 12, .gain_db = 3.0};
	float		std[C * B],
				a[C * B * F],
				b[C * B * F],
				c[C * B * F];
	ttsp_rng	r1,
				r2,
				r3;

	for (int i = 0; i < C * B; i++)
		std[i] = 1.5f;
	fill(a, C * B * F, 3);
	memcpy(b, a, sizeof(a));
	memcpy(c, a, sizeof(a));
	ttsp_rng_seed(&r1, 12);
	ttsp_rng_seed(&r2, 12);
	ttsp_rng_seed(&r3, 13);
	for (int i = 0; i < 5; i++)
	{
		ttsp_augment_apply(&cfg, a, C, B, F, F, std, &r1, NULL, NULL);
		ttsp_augment_apply(&cfg, b, C, B, F, F, std, &r2, NULL, NULL);
		ttsp_augment_apply(&cfg, c, C, B, F, F, std, &r3, NULL, NULL);
	}
	ok(memcmp(a, b, sizeof(a)) == 0, "the same seed gives the same bits");
	ok(memcmp(a, c, sizeof(a)) != 0, "another seed gives another input");
}

int
main(void)
{
	test_errors();
	test_masks_by_hand();
	test_width_distribution();
	test_gain();
	test_determinism();
	return done_testing();
}
