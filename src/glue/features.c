/*
 * ttsp_spectrogram, ttsp_mel_spectrogram, ttsp_mfcc and ttsp_amplitude_to_db:
 * torchaudio's transforms on real[] waveforms, on audio bytea (decoded and
 * transformed packet by packet, never holding the waveform) and on
 * <ttsp.audio_dir>/<music_id>.mp3.
 */
#include "spectrogram.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "melspec.h"
#include "stft.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_spectrogram_array);
PG_FUNCTION_INFO_V1(ttsp_spectrogram_audio);
PG_FUNCTION_INFO_V1(ttsp_spectrogram_id);
PG_FUNCTION_INFO_V1(ttsp_mel_spectrogram_array);
PG_FUNCTION_INFO_V1(ttsp_mel_spectrogram_audio);
PG_FUNCTION_INFO_V1(ttsp_mfcc_array);
PG_FUNCTION_INFO_V1(ttsp_mfcc_audio);
PG_FUNCTION_INFO_V1(ttsp_spec_amplitude_to_db);

/* Samples pushed between interrupt checks when the input is an array. */
#define PUSH_CHUNK 65536

typedef struct FeatureSpec
{
	SpecKind	kind;
	ttsp_stft_params stft;
	/* mel and MFCC */
	int			n_mels;
	double		f_min;
	double		f_max;			/* NaN: sample_rate / 2 */
	ttsp_mel_scale mel_scale;
	ttsp_mel_norm mel_norm;
	/* MFCC */
	ttsp_mfcc_params mfcc;
} FeatureSpec;

/*
 * Per-channel STFTs feeding frame-major rows (bins or mels) that grow as
 * frames arrive.  The STFTs and the filterbank live outside palloc, so a
 * memory-context callback releases them on every path.
 */
typedef struct FeatureBuilder
{
	const FeatureSpec *fs;
	int			channels;
	int			sample_rate;
	int			rows;
	ttsp_stft **stft;
	ttsp_melbank *mel;
	float	  **frames;			/* per channel, [frame][row] */
	size_t		n_frames;
	size_t		cap;
	MemoryContextCallback cb;
} FeatureBuilder;

static void
check(ttsp_status st, const ttsp_error *err)
{
	if (st != TTSP_OK)
		ttsp_report(err);
}

static void
release_builder(void *arg)
{
	FeatureBuilder *fb = arg;
	int			c;

	for (c = 0; c < fb->channels; c++)
	{
		ttsp_stft_destroy(fb->stft[c]);
		fb->stft[c] = NULL;
	}
	ttsp_melbank_destroy(fb->mel);
	fb->mel = NULL;
}

static FeatureBuilder *
builder_create(const FeatureSpec *fs, int channels, int sample_rate)
{
	FeatureBuilder *fb = palloc0(sizeof(FeatureBuilder));
	ttsp_error	err;
	int			c;

	fb->fs = fs;
	fb->channels = channels;
	fb->sample_rate = sample_rate;
	fb->stft = palloc0(channels * sizeof(ttsp_stft *));
	fb->frames = palloc0(channels * sizeof(float *));
	fb->cb.func = release_builder;
	fb->cb.arg = fb;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &fb->cb);
	for (c = 0; c < channels; c++)
		check(ttsp_stft_create(&fs->stft, &fb->stft[c], &err), &err);
	fb->rows = ttsp_stft_n_bins(&fs->stft);
	if (fs->kind != SPEC_LINEAR)
	{
		double		f_max = isnan(fs->f_max) ? ttsp_mel_default_f_max(sample_rate) : fs->f_max;

		check(ttsp_melbank_create(fb->rows, fs->f_min, f_max, fs->n_mels, sample_rate,
								  fs->mel_norm, fs->mel_scale, &fb->mel, &err), &err);
		fb->rows = fs->n_mels;
	}
	return fb;
}

/* Move the STFTs' finished frames into the row buffers. */
static void
builder_collect(FeatureBuilder *fb)
{
	size_t		n = 0;
	int			c;

	ttsp_stft_frames(fb->stft[0], &n);
	if (n == 0)
		return;
	if (fb->n_frames + n > fb->cap)
	{
		size_t		want = Max(fb->cap * 2, fb->n_frames + n);

		if ((Size) want * fb->rows * fb->channels > SPECTROGRAM_MAX_VALUES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("spectrogram would exceed %zu values", (Size) SPECTROGRAM_MAX_VALUES),
					 errhint("Use a shorter input or a larger hop_length.")));
		for (c = 0; c < fb->channels; c++)
			fb->frames[c] = fb->frames[c]
				? repalloc_huge(fb->frames[c], want * fb->rows * sizeof(float))
				: MemoryContextAllocHuge(CurrentMemoryContext, want * fb->rows * sizeof(float));
		fb->cap = want;
	}
	for (c = 0; c < fb->channels; c++)
	{
		size_t		got;
		const float *src = ttsp_stft_frames(fb->stft[c], &got);
		float	   *dst = fb->frames[c] + fb->n_frames * fb->rows;

		Assert(got == n);
		if (fb->mel)
			ttsp_melbank_apply(fb->mel, src, n, dst, 1, fb->rows);
		else
			memcpy(dst, src, n * fb->rows * sizeof(float));
		ttsp_stft_clear(fb->stft[c]);
	}
	fb->n_frames += n;
}

static void
builder_push(FeatureBuilder *fb, float *const *planes, size_t n)
{
	ttsp_error	err;
	int			c;

	for (c = 0; c < fb->channels; c++)
		check(ttsp_stft_push(fb->stft[c], planes[c], n, &err), &err);
	builder_collect(fb);
}

static Spectrogram *
builder_finish(FeatureBuilder *fb)
{
	const FeatureSpec *fs = fb->fs;
	const ttsp_stft_params *p = &fs->stft;
	Spectrogram *spec;
	ttsp_error	err;
	int			c;

	for (c = 0; c < fb->channels; c++)
		check(ttsp_stft_finish(fb->stft[c], &err), &err);
	builder_collect(fb);
	if (fb->n_frames == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the audio is too short to give a single frame")));

	spec = spectrogram_alloc(fb->channels, fs->kind == SPEC_MFCC ? fs->mfcc.n_mfcc : fb->rows,
							 (int) fb->n_frames);
	if (fs->kind == SPEC_MFCC)
	{
		float	   *mel = MemoryContextAllocHuge(CurrentMemoryContext,
												 (Size) fb->channels * fb->rows * fb->n_frames * sizeof(float));

		for (c = 0; c < fb->channels; c++)
			ttsp_frames_to_columns(fb->frames[c], fb->n_frames, fb->rows,
								   mel + (Size) c * fb->rows * fb->n_frames, fb->n_frames, 0);
		check(ttsp_mfcc_from_mel(&fs->mfcc, mel, fb->channels, fb->rows, fb->n_frames,
								 spec->data, &err), &err);
		pfree(mel);
	}
	else
		for (c = 0; c < fb->channels; c++)
			ttsp_frames_to_columns(fb->frames[c], fb->n_frames, fb->rows,
								   spec->data + (Size) c * fb->rows * fb->n_frames, fb->n_frames, 0);

	/* p was checked by read_stft_args: defaults are filled in. */
	spec->kind = fs->kind;
	spec->sample_rate = fb->sample_rate;
	spec->n_fft = p->n_fft;
	spec->win_length = p->win_length;
	spec->hop_length = p->hop_length;
	spec->power = (float4) p->power;
	spec->pad_mode = p->pad_mode == TTSP_PAD_REFLECT ? SPEC_PAD_REFLECT
		: p->pad_mode == TTSP_PAD_CONSTANT ? SPEC_PAD_CONSTANT : SPEC_PAD_REPLICATE;
	spec->flags = (p->center ? SPEC_FLAG_CENTER : 0) | (p->normalized ? SPEC_FLAG_NORMALIZED : 0);
	if (fs->kind != SPEC_LINEAR)
	{
		spec->f_min = (float4) fs->f_min;
		spec->f_max = (float4) (isnan(fs->f_max) ? ttsp_mel_default_f_max(fb->sample_rate) : fs->f_max);
		spec->flags |= (fs->mel_scale == TTSP_MEL_SLANEY ? SPEC_FLAG_MEL_SLANEY : 0) |
			(fs->mel_norm == TTSP_MEL_NORM_SLANEY ? SPEC_FLAG_NORM_SLANEY : 0);
	}
	if (fs->kind == SPEC_MFCC)
	{
		spec->n_mels = fs->n_mels;
		spec->flags |= (fs->mfcc.norm == TTSP_DCT_NORM_ORTHO ? SPEC_FLAG_DCT_ORTHO : 0) |
			(fs->mfcc.log_mels ? SPEC_FLAG_LOG_MELS : 0);
		if (!fs->mfcc.log_mels)
			spec->top_db = 80.0f;	/* MFCC's own AmplitudeToDB('power', 80) */
	}
	release_builder(fb);
	return spec;
}

/* ---- arguments ---- */

static void
require_args(FunctionCallInfo fcinfo, int first, int count)
{
	int			i;

	for (i = first; i < first + count; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d must not be NULL", i + 1)));
}

static char *
opt_text(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

/* n_fft, win_length, hop_length, power, center, pad_mode, normalized from arg base on. */
static void
read_stft_args(FunctionCallInfo fcinfo, int base, FeatureSpec *fs)
{
	ttsp_error	err;
	char	   *pad_mode;

	require_args(fcinfo, base, 1);
	if (PG_ARGISNULL(base + 3))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("power => NULL (a complex spectrogram) is not supported"),
				 errhint("Use power => 1 for magnitude or power => 2 for power.")));
	require_args(fcinfo, base + 4, 3);
	ttsp_stft_params_init(&fs->stft);
	fs->stft.n_fft = PG_GETARG_INT32(base);
	fs->stft.win_length = PG_ARGISNULL(base + 1) ? TTSP_STFT_DEFAULT : PG_GETARG_INT32(base + 1);
	fs->stft.hop_length = PG_ARGISNULL(base + 2) ? TTSP_STFT_DEFAULT : PG_GETARG_INT32(base + 2);
	fs->stft.power = PG_GETARG_FLOAT8(base + 3);
	fs->stft.center = PG_GETARG_BOOL(base + 4);
	pad_mode = text_to_cstring(PG_GETARG_TEXT_PP(base + 5));
	fs->stft.normalized = PG_GETARG_BOOL(base + 6);
	check(ttsp_pad_mode_from_name(pad_mode, &fs->stft.pad_mode, &err), &err);
	if (!(fs->stft.power > 0) || isinf(fs->stft.power))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("power must be a positive number, got %g", fs->stft.power)));
	check(ttsp_stft_params_check(&fs->stft, &err), &err);
	fs->kind = SPEC_LINEAR;
}

/* f_min, f_max, n_mels, mel norm, mel_scale from arg base on. */
static void
read_mel_args(FunctionCallInfo fcinfo, int base, FeatureSpec *fs)
{
	ttsp_error	err;

	require_args(fcinfo, base, 1);
	require_args(fcinfo, base + 2, 1);
	require_args(fcinfo, base + 4, 1);
	fs->f_min = PG_GETARG_FLOAT8(base);
	fs->f_max = PG_ARGISNULL(base + 1) ? get_float8_nan() : PG_GETARG_FLOAT8(base + 1);
	fs->n_mels = PG_GETARG_INT32(base + 2);
	check(ttsp_mel_norm_from_name(opt_text(fcinfo, base + 3), &fs->mel_norm, &err), &err);
	check(ttsp_mel_scale_from_name(opt_text(fcinfo, base + 4), &fs->mel_scale, &err), &err);
	if (!isfinite(fs->f_min) || fs->f_min < 0 || (!isnan(fs->f_max) && !(fs->f_max > fs->f_min && isfinite(fs->f_max))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("need 0 <= f_min < f_max, got f_min %g, f_max %g", fs->f_min, fs->f_max)));
	if (fs->n_mels < 1 || fs->n_mels > TTSP_MAX_N_MELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n_mels must be between 1 and %d, got %d", TTSP_MAX_N_MELS, fs->n_mels)));
	fs->kind = SPEC_MEL;
}

/* n_mfcc, dct_type, norm, log_mels from arg base on. */
static void
read_mfcc_args(FunctionCallInfo fcinfo, int base, FeatureSpec *fs)
{
	ttsp_error	err;

	require_args(fcinfo, base, 2);
	require_args(fcinfo, base + 3, 1);
	ttsp_mfcc_params_init(&fs->mfcc);
	fs->mfcc.n_mfcc = PG_GETARG_INT32(base);
	fs->mfcc.dct_type = PG_GETARG_INT32(base + 1);
	check(ttsp_dct_norm_from_name(opt_text(fcinfo, base + 2), &fs->mfcc.norm, &err), &err);
	fs->mfcc.log_mels = PG_GETARG_BOOL(base + 3);
	check(ttsp_mfcc_params_check(&fs->mfcc, fs->n_mels, &err), &err);
	fs->kind = SPEC_MFCC;
}

/* ---- sources ---- */

/* waveform real[]: 1-D (one channel) or 2-D [channel][sample]. */
static Spectrogram *
from_array(FunctionCallInfo fcinfo, const FeatureSpec *fs)
{
	ArrayType  *arr;
	int			sample_rate;
	int			channels;
	size_t		len;
	float	  **planes;
	FeatureBuilder *fb;
	size_t		done;
	int			c;

	require_args(fcinfo, 0, 2);
	arr = PG_GETARG_ARRAYTYPE_P(0);
	sample_rate = PG_GETARG_INT32(1);
	if (sample_rate < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample_rate must be positive, got %d", sample_rate)));
	if (ARR_NDIM(arr) != 1 && ARR_NDIM(arr) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("waveform must be a 1-D or a 2-D [channel][sample] array, got %d dimensions",
						ARR_NDIM(arr))));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("waveform must not contain NULLs")));
	channels = ARR_NDIM(arr) == 2 ? ARR_DIMS(arr)[0] : 1;
	len = ARR_DIMS(arr)[ARR_NDIM(arr) - 1];

	fb = builder_create(fs, channels, sample_rate);
	planes = palloc(channels * sizeof(float *));
	for (done = 0; done < len; done += PUSH_CHUNK)
	{
		CHECK_FOR_INTERRUPTS();
		for (c = 0; c < channels; c++)
			planes[c] = (float *) ARR_DATA_PTR(arr) + (size_t) c * len + done;
		builder_push(fb, planes, Min(PUSH_CHUNK, len - done));
	}
	return builder_finish(fb);
}

/*
 * Audio bytea: decode options from arg 1 (sample_rate, mono, offset_s,
 * duration_s), each decoded chunk pushed straight into the STFTs.
 */
static Spectrogram *
from_audio(FunctionCallInfo fcinfo, bytea *audio, const FeatureSpec *fs)
{
	ttsp_decode_opts opts;
	GlueDecoder *gd;
	FeatureBuilder *fb;
	ttsp_error	err;

	glue_decode_opts(&opts, fcinfo, 1, 2, 3, 4);
	gd = glue_decoder_open(audio, &opts);
	fb = builder_create(fs, ttsp_decoder_channels(gd->dec), ttsp_decoder_sample_rate(gd->dec));
	for (;;)
	{
		float	   *const *planes;
		int			n;

		CHECK_FOR_INTERRUPTS();
		check(ttsp_decoder_read(gd->dec, &planes, &n, &err), &err);
		if (n == 0)
			break;
		builder_push(fb, planes, n);
	}
	glue_decoder_close(gd);
	return builder_finish(fb);
}

/* ---- SQL functions; argument positions follow sql/ttsp--0.1.0.sql ---- */

#define AUDIO_BASE 5			/* audio, sample_rate, mono, offset_s, duration_s */
#define ARRAY_BASE 2			/* waveform, sample_rate */
#define STFT_ARGS 7
#define MEL_ARGS 5

Datum
ttsp_spectrogram_array(PG_FUNCTION_ARGS)
{
	FeatureSpec fs = {0};

	read_stft_args(fcinfo, ARRAY_BASE, &fs);
	PG_RETURN_SPECTROGRAM_P(from_array(fcinfo, &fs));
}

Datum
ttsp_spectrogram_audio(PG_FUNCTION_ARGS)
{
	FeatureSpec fs = {0};

	require_args(fcinfo, 0, 1);
	read_stft_args(fcinfo, AUDIO_BASE, &fs);
	PG_RETURN_SPECTROGRAM_P(from_audio(fcinfo, PG_GETARG_BYTEA_PP(0), &fs));
}

Datum
ttsp_spectrogram_id(PG_FUNCTION_ARGS)
{
	FeatureSpec fs = {0};

	require_args(fcinfo, 0, 1);
	read_stft_args(fcinfo, AUDIO_BASE, &fs);
	PG_RETURN_SPECTROGRAM_P(from_audio(fcinfo, ttsp_read_music_file(PG_GETARG_INT64(0)), &fs));
}

Datum
ttsp_mel_spectrogram_array(PG_FUNCTION_ARGS)
{
	FeatureSpec fs = {0};

	read_stft_args(fcinfo, ARRAY_BASE, &fs);
	read_mel_args(fcinfo, ARRAY_BASE + STFT_ARGS, &fs);
	PG_RETURN_SPECTROGRAM_P(from_array(fcinfo, &fs));
}

Datum
ttsp_mel_spectrogram_audio(PG_FUNCTION_ARGS)
{
	FeatureSpec fs = {0};

	require_args(fcinfo, 0, 1);
	read_stft_args(fcinfo, AUDIO_BASE, &fs);
	read_mel_args(fcinfo, AUDIO_BASE + STFT_ARGS, &fs);
	PG_RETURN_SPECTROGRAM_P(from_audio(fcinfo, PG_GETARG_BYTEA_PP(0), &fs));
}

Datum
ttsp_mfcc_array(PG_FUNCTION_ARGS)
{
	FeatureSpec fs = {0};

	read_stft_args(fcinfo, ARRAY_BASE, &fs);
	read_mel_args(fcinfo, ARRAY_BASE + STFT_ARGS, &fs);
	read_mfcc_args(fcinfo, ARRAY_BASE + STFT_ARGS + MEL_ARGS, &fs);
	PG_RETURN_SPECTROGRAM_P(from_array(fcinfo, &fs));
}

Datum
ttsp_mfcc_audio(PG_FUNCTION_ARGS)
{
	FeatureSpec fs = {0};

	require_args(fcinfo, 0, 1);
	read_stft_args(fcinfo, AUDIO_BASE, &fs);
	read_mel_args(fcinfo, AUDIO_BASE + STFT_ARGS, &fs);
	read_mfcc_args(fcinfo, AUDIO_BASE + STFT_ARGS + MEL_ARGS, &fs);
	PG_RETURN_SPECTROGRAM_P(from_audio(fcinfo, PG_GETARG_BYTEA_PP(0), &fs));
}

/* AmplitudeToDB over a power/magnitude or mel spectrogram. */
Datum
ttsp_spec_amplitude_to_db(PG_FUNCTION_ARGS)
{
	Spectrogram *in = PG_GETARG_SPECTROGRAM_P(0);
	Spectrogram *out;
	bool		use_top_db = !PG_ARGISNULL(1);
	double		top_db = use_top_db ? PG_GETARG_FLOAT8(1) : 0;
	ttsp_error	err;

	if ((in->flags & SPEC_FLAG_DB) || in->kind == SPEC_MFCC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttsp_amplitude_to_db needs a power, magnitude or mel spectrogram, got %s%s",
						spectrogram_kind_name(in), (in->flags & SPEC_FLAG_DB) ? " in dB" : "")));
	if (use_top_db && !(top_db >= 0 && isfinite(top_db)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_db must be a non-negative number or NULL, got %g", top_db)));
	out = (Spectrogram *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0));
	/* stype follows what the values are: |X| is a magnitude, else power */
	check(ttsp_amplitude_to_db(out->data, (size_t) out->channels * out->bins * out->frames,
							   in->power == 1.0f ? TTSP_DB_MAGNITUDE : TTSP_DB_POWER,
							   use_top_db, top_db, &err), &err);
	out->flags |= SPEC_FLAG_DB;
	out->top_db = use_top_db ? (float4) top_db : get_float4_nan();
	PG_RETURN_SPECTROGRAM_P(out);
}
