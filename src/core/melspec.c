#include "melspec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logscale.h"
#include "floats.h"

struct ttsp_melbank
{
	int			n_freqs;
	int			n_mels;
	int		   *lo;				/* filter m covers bins lo[m] .. lo[m] + len[m] - 1 */
	int		   *len;
	size_t	   *off;			/* its weights start at weights[off[m]] */
	float	   *weights;
	float	   *lanes;			/* apply's scratch: [n_freqs][MEL_LANES] */
};

/*
 * Frames projected together: one multiply-add per weight then covers this
 * many frames in SIMD lanes, instead of a short dot product per frame.
 */
#define MEL_LANES 8

static const char *const mel_scale_names[] = {"htk", "slaney"};	/* by ttsp_mel_scale */

ttsp_status
ttsp_mel_scale_from_name(const char *name, ttsp_mel_scale *scale, ttsp_error *err)
{
	size_t		i;

	for (i = 0; i < sizeof(mel_scale_names) / sizeof(mel_scale_names[0]); i++)
		if (strcmp(name, mel_scale_names[i]) == 0)
		{
			*scale = (ttsp_mel_scale) i;
			return TTSP_OK;
		}
	return ttsp_fail(err, TTSP_EINVAL,
					 "mel_scale must be \"htk\" or \"slaney\", got \"%s\"", name);
}

ttsp_status
ttsp_mel_norm_from_name(const char *name, ttsp_mel_norm *norm, ttsp_error *err)
{
	if (name == NULL)
		*norm = TTSP_MEL_NORM_NONE;
	else if (strcmp(name, "slaney") == 0)
		*norm = TTSP_MEL_NORM_SLANEY;
	else
		return ttsp_fail(err, TTSP_EINVAL,
						 "mel norm must be NULL or \"slaney\", got \"%s\"", name);
	return TTSP_OK;
}

ttsp_status
ttsp_db_stype_from_name(const char *name, ttsp_db_stype *stype, ttsp_error *err)
{
	if (strcmp(name, "power") == 0)
		*stype = TTSP_DB_POWER;
	else if (strcmp(name, "magnitude") == 0)
		*stype = TTSP_DB_MAGNITUDE;
	else
		return ttsp_fail(err, TTSP_EINVAL,
						 "stype must be \"power\" or \"magnitude\", got \"%s\"", name);
	return TTSP_OK;
}

ttsp_status
ttsp_dct_norm_from_name(const char *name, ttsp_dct_norm *norm, ttsp_error *err)
{
	if (name == NULL)
		*norm = TTSP_DCT_NORM_NONE;
	else if (strcmp(name, "ortho") == 0)
		*norm = TTSP_DCT_NORM_ORTHO;
	else
		return ttsp_fail(err, TTSP_EINVAL,
						 "DCT norm must be NULL or \"ortho\", got \"%s\"", name);
	return TTSP_OK;
}

const char *
ttsp_mel_scale_name(ttsp_mel_scale scale)
{
	return mel_scale_names[scale];
}

const char *
ttsp_mel_norm_name(ttsp_mel_norm norm)
{
	return norm == TTSP_MEL_NORM_SLANEY ? "slaney" : "none";
}

const char *
ttsp_dct_norm_name(ttsp_dct_norm norm)
{
	return norm == TTSP_DCT_NORM_ORTHO ? "ortho" : "none";
}

double
ttsp_mel_default_f_max(int sample_rate)
{
	return (double) (sample_rate / 2);
}

/*
 * torch.linspace(start, end, steps) in float32, rounded the way torch
 * 1.13's AVX2 CPU kernel rounds it (checked bit for bit against it): the
 * value at i comes from start in the first half and from end in the
 * second, as one fused multiply-add; but runs of 16 are done as two
 * 8-lane vectors, each lane its vector's base value plus lane * step.
 * One ulp here moves a mel weight by up to ~1e-5, hence the care.
 */
#define LINSPACE_LANES 8

static void
linspace(float start, float end, int steps, float *out)
{
	float		step = (end - start) / (float) (steps - 1);
	int			half = steps / 2;
	int			vec_end = steps - steps % (2 * LINSPACE_LANES);

	for (int i = 0; i < steps; i++)
	{
		int			base = i < vec_end ? i - i % LINSPACE_LANES : i;
		float		v = base < half ? fmaf(step, (float) base, start) :
			fmaf(-step, (float) (steps - base - 1), end);

		out[i] = base == i ? v : v + (float) (i - base) * step;
	}
}

/* Slaney's scale: linear up to 1 kHz (15 mels), then log steps of 6.4^(1/27). */
#define SLANEY_F_SP (200.0 / 3)
#define SLANEY_MIN_LOG_HZ 1000.0
#define SLANEY_MIN_LOG_MEL (SLANEY_MIN_LOG_HZ / SLANEY_F_SP)
#define SLANEY_LOGSTEP (log(6.4) / 27.0)

/* _hz_to_mel: a Python float computation, so double. */
static double
hz_to_mel(double f, ttsp_mel_scale scale)
{
	if (scale == TTSP_MEL_HTK)
		return 2595.0 * log10(1.0 + f / 700.0);
	if (f >= SLANEY_MIN_LOG_HZ)
		return SLANEY_MIN_LOG_MEL + log(f / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
	return f / SLANEY_F_SP;
}

/* _mel_to_hz: float32 tensor arithmetic, constants rounded to float. */
static float
mel_to_hz(float m, ttsp_mel_scale scale)
{
	if (scale == TTSP_MEL_HTK)
		return 700.0f * (powf(10.0f, m / 2595.0f) - 1.0f);
	if (m >= (float) SLANEY_MIN_LOG_MEL)
		return (float) SLANEY_MIN_LOG_HZ *
			expf((float) SLANEY_LOGSTEP * (m - (float) SLANEY_MIN_LOG_MEL));
	return (float) SLANEY_F_SP * m;
}

int
ttsp_melbank_n_mels(const ttsp_melbank *fb)
{
	return fb->n_mels;
}

int
ttsp_melbank_n_freqs(const ttsp_melbank *fb)
{
	return fb->n_freqs;
}

int
ttsp_melbank_n_empty(const ttsp_melbank *fb)
{
	int			n = 0;

	for (int m = 0; m < fb->n_mels; m++)
		n += fb->len[m] == 0;
	return n;
}

void
ttsp_melbank_destroy(ttsp_melbank *fb)
{
	if (fb == NULL)
		return;
	free(fb->lo);
	free(fb->len);
	free(fb->off);
	free(fb->weights);
	free(fb->lanes);
	free(fb);
}

/* Weight of bin frequency f in the triangle on f_pts[m .. m + 2], as torch. */
static float
triangle(const float *f_pts, int m, float f, ttsp_mel_norm norm)
{
	float		down = (-1.0f * (f_pts[m] - f)) / (f_pts[m + 1] - f_pts[m]);
	float		up = (f_pts[m + 2] - f) / (f_pts[m + 2] - f_pts[m + 1]);
	float		w = fmaxf(0.0f, fminf(down, up));

	if (norm == TTSP_MEL_NORM_SLANEY)
		w *= 2.0f / (f_pts[m + 2] - f_pts[m]);
	return w;
}

ttsp_status
ttsp_melbank_create(int n_freqs, double f_min, double f_max, int n_mels,
					int sample_rate, ttsp_mel_norm norm, ttsp_mel_scale scale,
					ttsp_melbank **out, ttsp_error *err)
{
	ttsp_melbank *fb = NULL;
	float	   *freqs = NULL;
	float	   *f_pts = NULL;
	ttsp_status st = TTSP_OK;
	size_t		n_weights = 0;
	int			first;

	*out = NULL;
	if (n_freqs < 2 || n_freqs > TTSP_MAX_N_FFT / 2 + 1)
		return ttsp_fail(err, TTSP_EINVAL, "n_freqs must be between 2 and %d, got %d",
						 TTSP_MAX_N_FFT / 2 + 1, n_freqs);
	if (n_mels < 1 || n_mels > TTSP_MAX_N_MELS)
		return ttsp_fail(err, TTSP_EINVAL, "n_mels must be between 1 and %d, got %d",
						 TTSP_MAX_N_MELS, n_mels);
	if (sample_rate <= 0)
		return ttsp_fail(err, TTSP_EINVAL, "sample_rate must be positive, got %d",
						 sample_rate);
	if (!(f_min >= 0.0) || !isfinite(f_min) || !isfinite(f_max) || !(f_min < f_max))
		return ttsp_fail(err, TTSP_EINVAL,
						 "need 0 <= f_min < f_max, both finite, got f_min %g and f_max %g",
						 f_min, f_max);
	if (norm != TTSP_MEL_NORM_NONE && norm != TTSP_MEL_NORM_SLANEY)
		return ttsp_fail(err, TTSP_EINVAL, "invalid mel norm %d", (int) norm);
	if (scale != TTSP_MEL_HTK && scale != TTSP_MEL_SLANEY)
		return ttsp_fail(err, TTSP_EINVAL, "invalid mel scale %d", (int) scale);

	fb = calloc(1, sizeof(*fb));
	freqs = malloc(n_freqs * sizeof(float));
	f_pts = malloc((n_mels + 2) * sizeof(float));
	if (fb == NULL || freqs == NULL || f_pts == NULL)
		goto nomem;
	fb->n_freqs = n_freqs;
	fb->n_mels = n_mels;
	fb->lo = malloc(n_mels * sizeof(int));
	fb->len = malloc(n_mels * sizeof(int));
	fb->off = malloc(n_mels * sizeof(size_t));
	if (fb->lo == NULL || fb->len == NULL || fb->off == NULL)
		goto nomem;

	linspace(0.0f, (float) (sample_rate / 2), n_freqs, freqs);
	linspace((float) hz_to_mel(f_min, scale), (float) hz_to_mel(f_max, scale),
			 n_mels + 2, f_pts);
	for (int j = 0; j < n_mels + 2; j++)
		f_pts[j] = mel_to_hz(f_pts[j], scale);
	for (int j = 1; j < n_mels + 2; j++)
	{
		/* torch would divide by zero into NaN weights */
		if (!(f_pts[j] > f_pts[j - 1]))
		{
			st = ttsp_fail(err, TTSP_EINVAL,
						   "n_mels %d is too many for f_min %g .. f_max %g: mel points coincide in float",
						   n_mels, f_min, f_max);
			goto fail;
		}
	}

	/*
	 * Filter m is positive only strictly inside (f_pts[m], f_pts[m + 2]);
	 * find that bin range, then trim weights that rounded to zero.
	 */
	first = 0;
	for (int m = 0; m < n_mels; m++)
	{
		int			lo,
					hi;

		while (first < n_freqs && !(freqs[first] > f_pts[m]))
			first++;
		lo = first;
		hi = lo;
		while (hi < n_freqs && freqs[hi] < f_pts[m + 2])
			hi++;
		while (lo < hi && triangle(f_pts, m, freqs[lo], norm) == 0.0f)
			lo++;
		while (hi > lo && triangle(f_pts, m, freqs[hi - 1], norm) == 0.0f)
			hi--;
		fb->lo[m] = lo;
		fb->len[m] = hi - lo;
		fb->off[m] = n_weights;
		n_weights += hi - lo;
	}
	fb->weights = malloc((n_weights > 0 ? n_weights : 1) * sizeof(float));
	fb->lanes = malloc((size_t) n_freqs * MEL_LANES * sizeof(float));
	if (fb->weights == NULL || fb->lanes == NULL)
		goto nomem;
	for (int m = 0; m < n_mels; m++)
		for (int i = 0; i < fb->len[m]; i++)
			fb->weights[fb->off[m] + i] = triangle(f_pts, m, freqs[fb->lo[m] + i], norm);

	free(freqs);
	free(f_pts);
	*out = fb;
	return TTSP_OK;

nomem:
	st = ttsp_fail(err, TTSP_ENOMEM, "out of memory for a mel filterbank");
fail:
	free(freqs);
	free(f_pts);
	ttsp_melbank_destroy(fb);
	return st;
}

void
ttsp_melbank_dense(const ttsp_melbank *fb, float *out)
{
	memset(out, 0, (size_t) fb->n_freqs * fb->n_mels * sizeof(float));
	for (int m = 0; m < fb->n_mels; m++)
		for (int i = 0; i < fb->len[m]; i++)
			out[(size_t) (fb->lo[m] + i) * fb->n_mels + m] = fb->weights[fb->off[m] + i];
}

/*
 * Frame j's bin k to lanes[k][j].  Lanes past n_frames are zero: they are
 * not stored, but garbage there could be subnormal and slow every lane.
 */
static void
interleave(const float *frames, size_t n_frames, size_t n_freqs, float *lanes)
{
	if (n_frames < MEL_LANES)
		memset(lanes, 0, n_freqs * MEL_LANES * sizeof(float));
	ttsp_transpose(frames, n_freqs, n_frames, n_freqs, lanes, MEL_LANES);
}

/*
 * Each frame's mel is a plain in-order sum over the filter's bins, whatever
 * lane the frame had, so that results never depend on how frames were
 * batched.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default"), optimize("fp-contract=off")))
#endif
static void
project_lanes(const ttsp_melbank *fb, size_t n_frames, float *out,
			  size_t row_stride, size_t col_stride)
{
	for (int m = 0; m < fb->n_mels; m++)
	{
		const float *restrict w = fb->weights + fb->off[m];
		const float *restrict x = fb->lanes + (size_t) fb->lo[m] * MEL_LANES;
		size_t		len = fb->len[m];
		float		acc[MEL_LANES] = {0};

		for (size_t i = 0; i < len; i++)
			for (size_t j = 0; j < MEL_LANES; j++)
				acc[j] += w[i] * x[i * MEL_LANES + j];
		for (size_t j = 0; j < n_frames; j++)
			out[m * row_stride + j * col_stride] = acc[j];
	}
}

void
ttsp_melbank_apply(ttsp_melbank *fb, const float *frames, size_t n_frames,
				   float *out, size_t row_stride, size_t col_stride)
{
	for (size_t t = 0; t < n_frames; t += MEL_LANES)
	{
		size_t		n = n_frames - t < MEL_LANES ? n_frames - t : MEL_LANES;

		interleave(frames + t * fb->n_freqs, n, fb->n_freqs, fb->lanes);
		project_lanes(fb, n, out + t * col_stride, row_stride, col_stride);
	}
}

typedef struct mel_columns_arg
{
	ttsp_melbank *fb;
	float	   *out;
	size_t		n_cols;
} mel_columns_arg;

static ttsp_status
mel_to_columns(void *arg, const float *frames, size_t n_frames, size_t first,
			   ttsp_error *err)
{
	mel_columns_arg *c = arg;

	(void) err;
	ttsp_melbank_apply(c->fb, frames, n_frames, c->out + first, c->n_cols, 1);
	return TTSP_OK;
}

ttsp_status
ttsp_mel_oneshot(const ttsp_stft_params *p, ttsp_melbank *fb,
				 const float *x, size_t n, float *out, ttsp_error *err)
{
	ttsp_stft_params q = *p;
	mel_columns_arg c;
	ttsp_status st;

	st = ttsp_stft_params_check(&q, err);
	if (st == TTSP_OK)
		st = ttsp_stft_n_frames(&q, n, &c.n_cols, err);
	if (st != TTSP_OK)
		return st;
	if (ttsp_stft_n_bins(&q) != fb->n_freqs)
		return ttsp_fail(err, TTSP_EINVAL,
						 "mel filterbank has %d frequencies, the STFT %d",
						 fb->n_freqs, ttsp_stft_n_bins(&q));
	c.fb = fb;
	c.out = out;
	return ttsp_stft_run(&q, x, n, mel_to_columns, &c, err);
}

ttsp_status
ttsp_amplitude_to_db(float *x, size_t n, ttsp_db_stype stype, bool use_top_db,
					 double top_db, ttsp_error *err)
{
	float		mult = stype == TTSP_DB_MAGNITUDE ? 20.0f : 10.0f;
	float		amin = 1e-10f;
	float		peak = -INFINITY;
	float		floor_db;

	if (use_top_db && !(top_db >= 0.0 && isfinite(top_db)))
		return ttsp_fail(err, TTSP_EINVAL, "top_db must be non-negative and finite, got %g",
						 top_db);
	/* an infinite value would come out NaN, then the floor: never quiet */
	if (!ttsp_all_finite(x, n))
		return ttsp_fail(err, TTSP_ERANGE,
						 "values to convert to dB must be finite");
	/* ref 1.0: the db_multiplier term log10(max(amin, ref)) is 0 */
	ttsp_log10_scaled(x, x, n, amin, mult, 0.0f, 1.0f);
	for (size_t i = 0; i < n; i++)
	{
		peak = x[i] > peak ? x[i] : peak;
	}
	if (!use_top_db || n == 0)
		return TTSP_OK;
	floor_db = peak - (float) top_db;
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] > floor_db ? x[i] : floor_db;
	return TTSP_OK;
}

ttsp_status
ttsp_dct_matrix(int n_mfcc, int n_mels, ttsp_dct_norm norm, float *out,
				ttsp_error *err)
{
	float		c = (float) (M_PI / n_mels);

	if (n_mels < 1 || n_mfcc < 1 || n_mfcc > n_mels)
		return ttsp_fail(err, TTSP_EINVAL,
						 "n_mfcc must be between 1 and n_mels (%d), got %d", n_mels, n_mfcc);
	for (int k = 0; k < n_mfcc; k++)
	{
		for (int i = 0; i < n_mels; i++)
		{
			float		v = cosf(c * ((float) i + 0.5f) * (float) k);

			if (norm == TTSP_DCT_NORM_NONE)
				v *= 2.0f;
			else
			{
				if (k == 0)
					v *= (float) (1.0 / sqrt(2.0));
				v *= (float) sqrt(2.0 / n_mels);
			}
			out[(size_t) k * n_mels + i] = v;
		}
	}
	return TTSP_OK;
}

void
ttsp_mfcc_params_init(ttsp_mfcc_params *p)
{
	p->n_mfcc = 40;
	p->dct_type = 2;
	p->norm = TTSP_DCT_NORM_ORTHO;
	p->log_mels = false;
}

ttsp_status
ttsp_mfcc_params_check(const ttsp_mfcc_params *p, int n_mels, ttsp_error *err)
{
	if (p->dct_type != 2)
		return ttsp_fail(err, TTSP_EUNSUPPORTED, "DCT type %d is not supported (only 2)",
						 p->dct_type);
	if (p->norm != TTSP_DCT_NORM_NONE && p->norm != TTSP_DCT_NORM_ORTHO)
		return ttsp_fail(err, TTSP_EINVAL, "invalid DCT norm %d", (int) p->norm);
	if (p->n_mfcc < 1 || p->n_mfcc > n_mels)
		return ttsp_fail(err, TTSP_EINVAL,
						 "n_mfcc must be between 1 and n_mels (%d), got %d", n_mels, p->n_mfcc);
	return TTSP_OK;
}

ttsp_status
ttsp_mfcc_from_mel(const ttsp_mfcc_params *p, float *mel, int n_channels,
				   int n_mels, size_t n_frames, float *out, ttsp_error *err)
{
	size_t		block = (size_t) n_mels * n_frames;
	float	   *dct;
	ttsp_status st;

	st = ttsp_mfcc_params_check(p, n_mels, err);
	if (st != TTSP_OK)
		return st;
	dct = malloc((size_t) p->n_mfcc * n_mels * sizeof(float));
	if (dct == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for a DCT matrix");
	ttsp_dct_matrix(p->n_mfcc, n_mels, p->norm, dct, err);

	/* finite mels give finite logs; AmplitudeToDB checks that itself */
	if (p->log_mels && !ttsp_all_finite(mel, block * n_channels))
		st = ttsp_fail(err, TTSP_ERANGE, "mel values for MFCC must be finite");
	else if (p->log_mels)
	{
		for (size_t i = 0; i < block * n_channels; i++)
			mel[i] = logf(mel[i] + 1e-6f);
	}
	else
		st = ttsp_amplitude_to_db(mel, block * n_channels, TTSP_DB_POWER, true, 80.0, err);
	if (st != TTSP_OK)
	{
		free(dct);
		return st;
	}

	/*
	 * out[c][k][t] = sum over m of dct[k][m] * mel[c][m][t], t innermost;
	 * four mels per pass over y, whose loads and stores were the cost.
	 */
	for (int c = 0; c < n_channels; c++)
	{
		for (int k = 0; k < p->n_mfcc; k++)
		{
			float	   *restrict y = out + ((size_t) c * p->n_mfcc + k) * n_frames;
			const float *d = dct + (size_t) k * n_mels;
			const float *x = mel + c * block;
			int			m = 0;

			memset(y, 0, n_frames * sizeof(float));
			for (; m + 4 <= n_mels; m += 4)
			{
				const float *restrict x0 = x + (size_t) m * n_frames;
				const float *restrict x1 = x0 + n_frames;
				const float *restrict x2 = x1 + n_frames;
				const float *restrict x3 = x2 + n_frames;

				for (size_t t = 0; t < n_frames; t++)
					y[t] += (d[m] * x0[t] + d[m + 1] * x1[t]) + (d[m + 2] * x2[t] + d[m + 3] * x3[t]);
			}
			for (; m < n_mels; m++)
			{
				const float *restrict xm = x + (size_t) m * n_frames;

				for (size_t t = 0; t < n_frames; t++)
					y[t] += d[m] * xm[t];
			}
		}
	}
	free(dct);
	return TTSP_OK;
}
