/*
 * Training-time augmentation of one model input, a [channels][bins][frames]
 * buffer of standardised log features (0 = the training mean), deterministic
 * under a ttsp_rng: the same stream of draws gives the same augmented input
 * on every run, machine and thread count.
 *
 * - Gain shift (gain_db): g drawn uniform in [-gain_db, gain_db] dB is added
 *   to every log-power value *before* standardisation, i.e. the clip is made
 *   g dB louder or quieter (10 log10 of power and 20 log10 of magnitude both
 *   move by exactly g).  On the standardised buffer that is x += g / std for
 *   each (channel, bin), which is what ttsp_augment_apply does, on the clip's
 *   real frames only (padding stays at the mean).  Meaningless for MFCC,
 *   where a gain moves only coefficient 0: the caller leaves it at 0 there.
 * - Frequency mask (freq_mask_param) then time mask (time_mask_param),
 *   torchaudio's FrequencyMasking / TimeMasking with iid_masks false (one
 *   mask for all channels): width v = floor(u1 * param), start
 *   floor(u2 * (size - u1 * param)), so the width is uniform in
 *   [0, param) and the mask lies inside the input; masked values are set to
 *   0, the training mean.  A param of 0 disables the mask (torchaudio: < 1).
 *
 * Draw order per call: gain (1 uniform, only if gain_db > 0), frequency mask
 * (2, only if its param > 0), time mask (2, only if its param > 0).
 */
#ifndef TTSP_AUGMENT_H
#define TTSP_AUGMENT_H

#include "rng.h"
#include "ttsp_status.h"

typedef struct ttsp_augment_config
{
	int			freq_mask_param;	/* bins; 0 = off */
	int			time_mask_param;	/* frames; 0 = off */
	double		gain_db;		/* largest |gain| in dB; 0 = off */
} ttsp_augment_config;

/*
 * TTSP_EINVAL, naming the argument, for a negative or non-finite setting or
 * a mask param larger than the input (freq_mask_param > bins,
 * time_mask_param > frames).
 */
ttsp_status ttsp_augment_check(const ttsp_augment_config *cfg, int bins, int frames,
							   ttsp_error *err);

/* What one call drew, for tests and logs. */
typedef struct ttsp_augment_draw
{
	double		gain_db;
	int			freq_start, freq_width;
	int			time_start, time_width;
} ttsp_augment_draw;

/*
 * Augment x ([channels][bins][frames], standardised) in place.  std holds
 * the per-(channel, bin) deviations used to standardise it (channels * bins
 * values, all > 0); valid_frames (1..frames) is how many frames are the
 * clip's own, the rest being padding.  draw may be NULL.
 */
ttsp_status ttsp_augment_apply(const ttsp_augment_config *cfg, float *x, int channels,
							   int bins, int frames, int valid_frames, const float *std,
							   ttsp_rng *rng, ttsp_augment_draw *draw, ttsp_error *err);

#endif
