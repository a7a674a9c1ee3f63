/* SpecAugment-style masks and a gain shift on a standardised input (augment.h). */
#include "augment.h"

#include <math.h>
#include <stddef.h>

/* 1e6 dB is far beyond any meaningful gain and keeps g / std finite */
#define MAX_GAIN_DB 1e6

static ttsp_status
check_param(const char *name, int param, int size, const char *unit, ttsp_error *err)
{
	if (param < 0)
		return ttsp_fail(err, TTSP_EINVAL, "%s must be >= 0, got %d", name, param);
	if (param > size)
		return ttsp_fail(err, TTSP_EINVAL, "%s %d is larger than the input's %d %s",
						 name, param, size, unit);
	return TTSP_OK;
}

ttsp_status
ttsp_augment_check(const ttsp_augment_config *cfg, int bins, int frames, ttsp_error *err)
{
	ttsp_status st;

	if (cfg == NULL || bins < 1 || frames < 1)
		return ttsp_fail(err, TTSP_EINVAL, "augmentation needs a config and an input of >= 1 bin and frame");
	if (!(cfg->gain_db >= 0.0 && cfg->gain_db <= MAX_GAIN_DB))
		return ttsp_fail(err, TTSP_EINVAL, "gain_db must be in [0, %g], got %g", MAX_GAIN_DB, cfg->gain_db);
	st = check_param("freq_mask_param", cfg->freq_mask_param, bins, "bins", err);
	if (st == TTSP_OK)
		st = check_param("time_mask_param", cfg->time_mask_param, frames, "frames", err);
	return st;
}

/* torchaudio's mask_along_axis: [start, start + width) within [0, size). */
static void
draw_mask(int param, int size, ttsp_rng *rng, int *start, int *width)
{
	double		value,
				min_value;

	*start = *width = 0;
	if (param < 1)
		return;
	value = ttsp_rng_uniform(rng) * param;
	min_value = ttsp_rng_uniform(rng) * (size - value);
	*start = (int) min_value;
	*width = (int) value;
}

ttsp_status
ttsp_augment_apply(const ttsp_augment_config *cfg, float *x, int channels, int bins,
				   int frames, int valid_frames, const float *std, ttsp_rng *rng,
				   ttsp_augment_draw *draw, ttsp_error *err)
{
	ttsp_augment_draw d = {0};
	ttsp_status st = ttsp_augment_check(cfg, bins, frames, err);

	if (st != TTSP_OK)
		return st;
	if (x == NULL || rng == NULL || channels < 1 || valid_frames < 1 || valid_frames > frames ||
		(cfg->gain_db > 0.0 && std == NULL))
		return ttsp_fail(err, TTSP_EINVAL,
						 "augmentation needs an input, a generator, deviations for a gain "
						 "and 1 <= valid_frames <= frames");

	if (cfg->gain_db > 0.0)
	{
		/* all checked before any change: an error leaves x as it was */
		for (int cb = 0; cb < channels * bins; cb++)
			if (!(std[cb] > 0.0f && isfinite(std[cb])))
				return ttsp_fail(err, TTSP_EINVAL, "deviation %d (%g) must be positive", cb, std[cb]);
		d.gain_db = (2.0 * ttsp_rng_uniform(rng) - 1.0) * cfg->gain_db;
		for (int cb = 0; cb < channels * bins; cb++)
		{
			float	   *v = x + (size_t) cb * frames;
			float		shift = (float) (d.gain_db / std[cb]);

			for (int f = 0; f < valid_frames; f++)
				v[f] += shift;
		}
	}
	draw_mask(cfg->freq_mask_param, bins, rng, &d.freq_start, &d.freq_width);
	draw_mask(cfg->time_mask_param, frames, rng, &d.time_start, &d.time_width);
	for (int cb = 0; cb < channels * bins; cb++)
	{
		float	   *v = x + (size_t) cb * frames;
		int			b = cb % bins;
		int			from = d.time_start,
					to = d.time_start + d.time_width;

		/* a masked bin loses every frame, any other only the masked frames */
		if (b >= d.freq_start && b < d.freq_start + d.freq_width)
			from = 0, to = frames;
		for (int f = from; f < to; f++)
			v[f] = 0.0f;
	}
	if (draw != NULL)
		*draw = d;
	return TTSP_OK;
}
