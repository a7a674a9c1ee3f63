/*
 * The spectrogram header's meaning: validation, the fields each kind uses,
 * comparison for models, names, and conversion to and from the transform
 * parameters.
 */
#include "spec_header.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
ttsp_spec_header_init(ttsp_spec_header *h, int channels, int bins, int frames)
{
	memset(h, 0, sizeof(*h));
	h->version = TTSP_SPEC_VERSION;
	h->channels = channels;
	h->bins = bins;
	h->frames = frames;
	h->top_db = NAN;
}

size_t
ttsp_spec_shape_values(int channels, int bins, int frames)
{
	size_t		rows;

	if (channels < 1 || bins < 1 || frames < 1)
		return 0;
	rows = (size_t) channels * bins;
	if (rows > TTSP_SPEC_MAX_VALUES / (size_t) frames)
		return 0;
	/* values, and 4 bytes of brackets per row and channel */
	if (16 * rows * frames + 4 * rows + 4 * (size_t) channels > TTSP_SPEC_MAX_ALLOC)
		return 0;
	return rows * frames;
}

void
ttsp_spec_clear_unused(ttsp_spec_header *h)
{
	if (h->kind == TTSP_KIND_LINEAR)
	{
		h->f_min = h->f_max = NAN;
		h->flags &= ~(TTSP_SPEC_MEL_SLANEY | TTSP_SPEC_NORM_SLANEY);
	}
	if (h->kind != TTSP_KIND_MFCC)
	{
		h->n_mels = 0;
		h->flags &= ~(TTSP_SPEC_DCT_ORTHO | TTSP_SPEC_LOG_MELS);
		if (!(h->flags & TTSP_SPEC_DB))
			h->top_db = NAN;
	}
}

const char *
ttsp_spec_unused_field(const ttsp_spec_header *h)
{
	ttsp_spec_header c = *h;
	uint8_t		dropped;

	ttsp_spec_clear_unused(&c);
	dropped = h->flags & ~c.flags;
	if (!isnan(h->f_min) && isnan(c.f_min))
		return "f_min";
	if (!isnan(h->f_max) && isnan(c.f_max))
		return "f_max";
	if (dropped & TTSP_SPEC_MEL_SLANEY)
		return "mel_scale";
	if (dropped & TTSP_SPEC_NORM_SLANEY)
		return "norm";
	if (h->n_mels != c.n_mels)
		return "n_mels";
	if (dropped & TTSP_SPEC_DCT_ORTHO)
		return "dct_norm";
	if (dropped & TTSP_SPEC_LOG_MELS)
		return "log_mels";
	if (!isnan(h->top_db) && isnan(c.top_db))
		return "top_db";
	return NULL;
}

#define invalid(...) ttsp_fail(err, TTSP_EINVAL, "invalid spectrogram: " __VA_ARGS__)

/* %g as PostgreSQL's own messages write it: NaN and Infinity, not nan and inf. */
static const char *
float_text(double v, char *buf, size_t size)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "Infinity" : "-Infinity";
	snprintf(buf, size, "%g", v);
	return buf;
}

/* Shape and format: what must hold before the parameters mean anything. */
static ttsp_status
validate_format(const ttsp_spec_header *h, size_t data_bytes, ttsp_error *err)
{
	if (h->version != TTSP_SPEC_VERSION)
		return invalid("format version %d is not supported (expected %d)", h->version, TTSP_SPEC_VERSION);
	if (h->kind > TTSP_KIND_MFCC)
		return invalid("unknown kind %d", h->kind);
	if (h->flags & ~TTSP_SPEC_KNOWN_FLAGS)
		return invalid("unknown flags 0x%x", h->flags);
	if (h->pad_mode >= TTSP_PAD_MODES)
		return invalid("unknown pad_mode %d", h->pad_mode);
	if (h->channels < 1 || h->bins < 1 || h->frames < 1)
		return invalid("shape %d x %d x %d has an empty dimension", h->channels, h->bins, h->frames);
	if (ttsp_spec_shape_values(h->channels, h->bins, h->frames) == 0)
		return invalid("shape %d x %d x %d is too large", h->channels, h->bins, h->frames);
	if ((size_t) h->channels * h->bins * h->frames * sizeof(float) != data_bytes)
		return invalid("shape %d x %d x %d does not match its %zu bytes of data",
					   h->channels, h->bins, h->frames, data_bytes);
	return TTSP_OK;
}

ttsp_status
ttsp_spec_validate(const ttsp_spec_header *h, size_t data_bytes, ttsp_error *err)
{
	ttsp_status st = validate_format(h, data_bytes, err);
	char		num[32];

	if (st != TTSP_OK)
		return st;
	if (h->sample_rate < 1)
		return invalid("sample_rate must be positive, got %d", h->sample_rate);
	if (h->n_fft < 2 || h->win_length < 1 || h->win_length > h->n_fft)
		return invalid("need 2 <= n_fft and 1 <= win_length <= n_fft, got n_fft %d, win_length %d",
					   h->n_fft, h->win_length);
	if (h->hop_length < 1)
		return invalid("hop_length must be positive, got %d", h->hop_length);
	if (!(h->power > 0) || isinf(h->power))
		return invalid("power must be positive, got %s", float_text(h->power, num, sizeof(num)));
	if (h->kind == TTSP_KIND_LINEAR && h->bins != h->n_fft / 2 + 1)
		return invalid("a %s spectrogram with n_fft %d has %d bins, not %d",
					   ttsp_spec_kind_name(h), h->n_fft, h->n_fft / 2 + 1, h->bins);
	if (h->kind != TTSP_KIND_LINEAR &&
		(!isfinite(h->f_min) || !isfinite(h->f_max) || h->f_min < 0 || h->f_min >= h->f_max))
	{
		char		num2[32];

		return invalid("need 0 <= f_min < f_max, got f_min %s, f_max %s",
					   float_text(h->f_min, num, sizeof(num)), float_text(h->f_max, num2, sizeof(num2)));
	}
	if (h->kind == TTSP_KIND_MFCC && (h->flags & TTSP_SPEC_DB))
		return invalid("MFCC coefficients are not in dB");
	if (h->kind != TTSP_KIND_MFCC && (h->flags & (TTSP_SPEC_LOG_MELS | TTSP_SPEC_DCT_ORTHO)))
		return invalid("log_mels and dct_norm apply to MFCC only");
	if (h->kind == TTSP_KIND_MFCC && h->n_mels < h->bins)
		return invalid("n_mfcc %d exceeds n_mels %d", h->bins, h->n_mels);
	if (!isnan(h->top_db) && !(h->top_db >= 0 && isfinite(h->top_db)))
		return invalid("top_db must be a non-negative number or null, got %s",
					   float_text(h->top_db, num, sizeof(num)));
	return TTSP_OK;
}

ttsp_status
ttsp_spec_check_values(const float *data, size_t n, ttsp_error *err)
{
	size_t		i;
	char		num[32];

	for (i = 0; i < n; i++)
		if (!isfinite(data[i]))
			return invalid("value %zu is %s; values must be finite", i + 1,
						   float_text(data[i], num, sizeof(num)));
	return TTSP_OK;
}

/* Equal floats, or both NaN (fields a kind does not use are NaN). */
static bool
same_float(float a, float b)
{
	return a == b || (isnan(a) && isnan(b));
}

bool
ttsp_spec_same_features(const ttsp_spec_header *a, const ttsp_spec_header *b)
{
	/* flags: centring, normalisation, mel scale and norm, DCT norm, log mels, dB */
	return a->channels == b->channels && a->bins == b->bins && a->kind == b->kind &&
		a->flags == b->flags && a->pad_mode == b->pad_mode &&
		a->sample_rate == b->sample_rate && a->n_fft == b->n_fft &&
		a->win_length == b->win_length && a->hop_length == b->hop_length &&
		a->power == b->power && a->n_mels == b->n_mels &&
		(a->kind == TTSP_KIND_LINEAR || (a->f_min == b->f_min && a->f_max == b->f_max)) &&
		same_float(a->top_db, b->top_db);
}

/* By ttsp_feature_kind; a linear spectrogram of power 1 is a "magnitude" one. */
static const char *const kind_names[] = {"power", "mel", "mfcc"};

const char *
ttsp_spec_kind_name(const ttsp_spec_header *h)
{
	if (h->kind == TTSP_KIND_LINEAR && h->power == 1.0f)
		return "magnitude";
	return h->kind <= TTSP_KIND_MFCC ? kind_names[h->kind] : "unknown";
}

ttsp_status
ttsp_spec_kind_from_name(const char *name, ttsp_feature_kind *kind, float *power, ttsp_error *err)
{
	size_t		i;

	*power = 2.0f;
	if (strcmp(name, "magnitude") == 0)
	{
		*kind = TTSP_KIND_LINEAR;
		*power = 1.0f;
		return TTSP_OK;
	}
	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(name, kind_names[i]) == 0)
		{
			*kind = (ttsp_feature_kind) i;
			return TTSP_OK;
		}
	return ttsp_fail(err, TTSP_EINVAL, "unknown spectrogram kind \"%s\"", name);
}

int
ttsp_features_rows(const ttsp_features *fs)
{
	return fs->kind == TTSP_KIND_LINEAR ? ttsp_stft_n_bins(&fs->stft) : fs->n_mels;
}

int
ttsp_features_bins(const ttsp_features *fs)
{
	return fs->kind == TTSP_KIND_MFCC ? fs->mfcc.n_mfcc : ttsp_features_rows(fs);
}

void
ttsp_features_from_header(const ttsp_spec_header *h, ttsp_features *fs)
{
	memset(fs, 0, sizeof(*fs));
	ttsp_stft_params_init(&fs->stft);
	fs->kind = (ttsp_feature_kind) h->kind;
	fs->stft.n_fft = h->n_fft;
	fs->stft.win_length = h->win_length;
	fs->stft.hop_length = h->hop_length;
	fs->stft.power = h->power;
	fs->stft.center = (h->flags & TTSP_SPEC_CENTER) != 0;
	fs->stft.normalized = (h->flags & TTSP_SPEC_NORMALIZED) != 0;
	fs->stft.pad_mode = (ttsp_pad_mode) h->pad_mode;
	fs->n_mels = h->kind == TTSP_KIND_MFCC ? h->n_mels : h->bins;
	fs->f_min = h->f_min;
	fs->f_max = h->f_max;
	fs->mel_scale = (h->flags & TTSP_SPEC_MEL_SLANEY) ? TTSP_MEL_SLANEY : TTSP_MEL_HTK;
	fs->mel_norm = (h->flags & TTSP_SPEC_NORM_SLANEY) ? TTSP_MEL_NORM_SLANEY : TTSP_MEL_NORM_NONE;
	ttsp_mfcc_params_init(&fs->mfcc);
	fs->mfcc.n_mfcc = h->bins;
	fs->mfcc.norm = (h->flags & TTSP_SPEC_DCT_ORTHO) ? TTSP_DCT_NORM_ORTHO : TTSP_DCT_NORM_NONE;
	fs->mfcc.log_mels = (h->flags & TTSP_SPEC_LOG_MELS) != 0;
	fs->db = (h->flags & TTSP_SPEC_DB) != 0;
	fs->top_db = h->top_db;
}

void
ttsp_spec_header_describe(ttsp_spec_header *h, const ttsp_features *fs, int sample_rate)
{
	const ttsp_stft_params *p = &fs->stft;

	h->kind = (uint8_t) fs->kind;
	h->sample_rate = sample_rate;
	h->n_fft = p->n_fft;
	h->win_length = p->win_length;
	h->hop_length = p->hop_length;
	h->power = (float) p->power;
	h->pad_mode = (uint8_t) p->pad_mode;
	h->flags = (p->center ? TTSP_SPEC_CENTER : 0) | (p->normalized ? TTSP_SPEC_NORMALIZED : 0);
	if (fs->kind != TTSP_KIND_LINEAR)
	{
		h->f_min = (float) fs->f_min;
		h->f_max = (float) (isnan(fs->f_max) ? ttsp_mel_default_f_max(sample_rate) : fs->f_max);
		h->flags |= (fs->mel_scale == TTSP_MEL_SLANEY ? TTSP_SPEC_MEL_SLANEY : 0) |
			(fs->mel_norm == TTSP_MEL_NORM_SLANEY ? TTSP_SPEC_NORM_SLANEY : 0);
	}
	if (fs->kind == TTSP_KIND_MFCC)
	{
		h->n_mels = fs->n_mels;
		h->flags |= (fs->mfcc.norm == TTSP_DCT_NORM_ORTHO ? TTSP_SPEC_DCT_ORTHO : 0) |
			(fs->mfcc.log_mels ? TTSP_SPEC_LOG_MELS : 0);
		if (!fs->mfcc.log_mels)
			h->top_db = 80.0f;	/* MFCC's own AmplitudeToDB('power', 80) */
	}
	if (fs->db)
	{
		h->flags |= TTSP_SPEC_DB;
		h->top_db = (float) fs->top_db;
	}
	ttsp_spec_clear_unused(h);
}
