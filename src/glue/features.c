/*
 * ttsp_spectrogram, ttsp_mel_spectrogram, ttsp_mfcc and ttsp_amplitude_to_db:
 * torchaudio's transforms on real[] waveforms, on audio bytea (decoded and
 * transformed packet by packet, never holding the waveform) and on
 * <ttsp.audio_dir>/<music_id>.mp3.
 */
#include "spectrogram.h"

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "feature_spec.h"
#include "floats.h"
#include "args.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(ttsp_spectrogram_array);
PG_FUNCTION_INFO_V1(ttsp_spectrogram_audio);
PG_FUNCTION_INFO_V1(ttsp_spectrogram_id);
PG_FUNCTION_INFO_V1(ttsp_mel_spectrogram_array);
PG_FUNCTION_INFO_V1(ttsp_mel_spectrogram_audio);
PG_FUNCTION_INFO_V1(ttsp_mfcc_array);
PG_FUNCTION_INFO_V1(ttsp_mfcc_audio);
PG_FUNCTION_INFO_V1(ttsp_spec_amplitude_to_db);

/*
 * Core objects (STFTs, a mel filterbank) live outside palloc; a memory-context
 * callback releases them on every path, including an ERROR or a cancel.
 */
typedef struct CoreObjects
{
	int			n_stft;
	ttsp_stft **stft;
	ttsp_melbank *mel;
	MemoryContextCallback cb;
} CoreObjects;

static void
release_core(void *arg)
{
	CoreObjects *co = arg;
	int			c;

	for (c = 0; c < co->n_stft; c++)
	{
		ttsp_stft_destroy(co->stft[c]);
		co->stft[c] = NULL;
	}
	ttsp_melbank_destroy(co->mel);
	co->mel = NULL;
}

/* n_stft streaming STFTs (0 for one-shot use) and the filterbank fs needs. */
static CoreObjects *
core_create(const ttsp_features *fs, int n_stft, int sample_rate)
{
	CoreObjects *co = palloc0(sizeof(CoreObjects));
	ttsp_error	err;
	int			c;
	static bool wisdom_tried = false;

	/* once per backend, before the first plan: see src/tools/fftw_wisdom.c */
	if (!wisdom_tried)
	{
		char		share[MAXPGPATH];
		char	   *path;

		wisdom_tried = true;
		get_share_path(my_exec_path, share);
		path = psprintf("%s/extension/ttsp.fftw-wisdom", share);
		if (!ttsp_stft_import_wisdom(path))
			elog(DEBUG1, "ttsp: no FFTW wisdom in \"%s\"; FFTW plans by estimate", path);
	}

	co->stft = palloc0(Max(n_stft, 1) * sizeof(ttsp_stft *));
	co->cb.func = release_core;
	co->cb.arg = co;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &co->cb);
	for (c = 0; c < n_stft; c++)
	{
		ttsp_check(ttsp_stft_create(&fs->stft, &co->stft[c], &err), &err);
		co->n_stft = c + 1;
	}
	if (fs->kind != TTSP_KIND_LINEAR)
	{
		double		f_max = isnan(fs->f_max) ? ttsp_mel_default_f_max(sample_rate) : fs->f_max;

		ttsp_check(ttsp_melbank_create(ttsp_stft_n_bins(&fs->stft), fs->f_min, f_max, fs->n_mels,
								  sample_rate, fs->mel_norm, fs->mel_scale, &co->mel, &err), &err);
	}
	return co;
}

static Spectrogram *
alloc_output(const ttsp_features *fs, int channels, size_t n_frames)
{
	if (n_frames > (size_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%zu frames exceed the spectrogram limit", n_frames)));
	return spectrogram_alloc(channels, ttsp_features_bins(fs), (int) n_frames);
}

/*
 * Turn a [channel][mel][frame] block into the output values (MFCC) and
 * describe the result with the parameters actually used.
 */
static Spectrogram *
finish_output(const ttsp_features *fs, Spectrogram *spec, float *mel, int sample_rate)
{
	ttsp_error	err;

	/* finite samples can still overflow |X|^2 or a mel sum */
	if (!ttsp_all_finite(mel, (size_t) spec->h.channels * ttsp_features_rows(fs) * spec->h.frames))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("spectrogram values overflow single precision"),
				 errhint("The audio samples are too large; scale the waveform down.")));
	if (fs->kind == TTSP_KIND_MFCC)
		ttsp_check(ttsp_mfcc_from_mel(&fs->mfcc, mel, spec->h.channels, fs->n_mels, spec->h.frames,
								 spec->data, &err), &err);
	/* the parameters were checked by read_stft_args: defaults are filled in */
	ttsp_spec_header_describe(&spec->h, fs, sample_rate);
	if (fs->db)
		ttsp_check(ttsp_amplitude_to_db(spec->data, (size_t) spec->h.channels * spec->h.bins * spec->h.frames,
								   fs->stft.power == 1.0 ? TTSP_DB_MAGNITUDE : TTSP_DB_POWER,
								   !isnan(fs->top_db), fs->top_db, &err), &err);
	return spec;
}

/* The [channel][row][frame] block the transform writes: MFCC needs mels first. */
static float *
transform_block(const ttsp_features *fs, Spectrogram *spec)
{
	if (fs->kind != TTSP_KIND_MFCC)
		return spec->data;
	return MemoryContextAllocHuge(CurrentMemoryContext,
								  (Size) spec->h.channels * fs->n_mels * spec->h.frames * sizeof(float));
}

/*
 * Samples of a real[] waveform: whole planes in memory, or an uncompressed
 * on-disk TOAST value read in slices, so that a long waveform is never
 * copied whole (and the backend does not page-fault a fresh copy per call).
 */
typedef struct SampleSource
{
	const float *planes;		/* [channel][sample], or NULL */
	struct varlena *toast;		/* else the TOAST pointer ... */
	Size		data_offset;	/* ... and the byte offset of its first sample */
	struct varlena *slice;		/* the last slice read, freed by the next read */
} SampleSource;

/* Samples per TOAST slice (1 MB): few index scans, a bounded buffer. */
#define SLICE_SAMPLES ((Size) 256 * 1024)

/* Samples [offset, offset + n) of the flattened [channel][sample] data. */
static const float *
source_read(SampleSource *src, Size offset, Size n)
{
	if (src->planes)
		return src->planes + offset;
	if (src->slice)
		pfree(src->slice);
	src->slice = detoast_attr_slice(src->toast, src->data_offset + offset * sizeof(float),
									n * sizeof(float));
	if (VARSIZE_ANY_EXHDR(src->slice) != n * sizeof(float))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("waveform array is shorter than its dimensions")));
	return (const float *) VARDATA_ANY(src->slice);
}

/* The STFT's pending frames into out's [row][frame] columns. */
static void
emit_columns(CoreObjects *co, float *out, int rows, size_t n_frames)
{
	size_t		n;
	const float *frames = ttsp_stft_frames(co->stft[0], &n);
	size_t		first = ttsp_stft_frames_done(co->stft[0]) - n;

	if (co->mel)
		ttsp_melbank_apply(co->mel, frames, n, out + first, n_frames, 1);
	else
		ttsp_frames_to_columns(frames, n, rows, out, n_frames, first);
	ttsp_stft_clear(co->stft[0]);
}

/* Whole channels of len samples: frames go straight into the output. */
static Spectrogram *
features_from_samples(const ttsp_features *fs, SampleSource *src, int channels, size_t len,
					  int sample_rate)
{
	int			rows = ttsp_features_rows(fs);
	size_t		batch = ttsp_stft_batch_samples(&fs->stft);
	size_t		n_frames;
	CoreObjects *co;
	Spectrogram *spec;
	float	   *block;
	ttsp_error	err;
	int			c;

	ttsp_check(ttsp_stft_n_frames(&fs->stft, len, &n_frames, &err), &err);
	/* one STFT, made afresh per channel: its buffers do not add up */
	co = core_create(fs, 1, sample_rate);
	spec = alloc_output(fs, channels, n_frames);
	block = transform_block(fs, spec);
	for (c = 0; c < channels; c++)
	{
		float	   *out = block + (size_t) c * rows * n_frames;
		size_t		off;

		if (c > 0)
		{
			ttsp_stft_destroy(co->stft[0]);
			co->stft[0] = NULL;
			ttsp_check(ttsp_stft_create(&fs->stft, &co->stft[0], &err), &err);
		}
		for (off = 0; off < len;)
		{
			size_t		n = Min(len - off, SLICE_SAMPLES);
			const float *x = source_read(src, (size_t) c * len + off, n);
			size_t		done;

			CHECK_FOR_INTERRUPTS();
			for (done = 0; done < n; done += batch)
			{
				ttsp_check(ttsp_stft_push(co->stft[0], x + done, Min(n - done, batch), &err), &err);
				emit_columns(co, out, rows, n_frames);
			}
			off += n;
		}
		ttsp_check(ttsp_stft_finish(co->stft[0], &err), &err);
		emit_columns(co, out, rows, n_frames);
	}
	spec = finish_output(fs, spec, block, sample_rate);
	release_core(co);
	return spec;
}

/* Bound on the STFT's frames waiting to be collected: 4M floats, 16 MB. */
#define PENDING_VALUES ((Size) 4 * 1024 * 1024)

/*
 * Streaming: per-channel STFTs fed packet by packet; finished frames are
 * projected (mel) and kept frame-major until the end, then laid out.
 */
typedef struct Stream
{
	CoreObjects *co;
	int			channels;
	int			rows;
	float	  **frames;			/* per channel, [frame][row] */
	size_t		n_frames;
	size_t		cap;
} Stream;

static void
stream_collect(Stream *st)
{
	size_t		n = 0;
	int			c;

	ttsp_stft_frames(st->co->stft[0], &n);
	if (n == 0)
		return;
	if (st->n_frames + n > st->cap)
	{
		size_t		most = SPECTROGRAM_MAX_VALUES / ((Size) st->rows * st->channels);
		size_t		want = Min(Max(st->cap * 2, st->n_frames + n), most);

		if (st->n_frames + n > most)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("spectrogram would exceed %zu values", (Size) SPECTROGRAM_MAX_VALUES),
					 errhint("Use a shorter input or a larger hop_length.")));
		for (c = 0; c < st->channels; c++)
			st->frames[c] = st->frames[c]
				? repalloc_huge(st->frames[c], want * st->rows * sizeof(float))
				: MemoryContextAllocHuge(CurrentMemoryContext, want * st->rows * sizeof(float));
		st->cap = want;
	}
	for (c = 0; c < st->channels; c++)
	{
		size_t		got;
		const float *src = ttsp_stft_frames(st->co->stft[c], &got);
		float	   *dst = st->frames[c] + st->n_frames * st->rows;

		Assert(got == n);
		if (st->co->mel)
			ttsp_melbank_apply(st->co->mel, src, n, dst, 1, st->rows);
		else
			memcpy(dst, src, n * st->rows * sizeof(float));
		ttsp_stft_clear(st->co->stft[c]);
	}
	st->n_frames += n;
}

Spectrogram *
features_from_audio(bytea *audio, const ttsp_decode_opts *opts, const ttsp_features *fs)
{
	GlueDecoder *gd = glue_decoder_open(audio, opts);
	int			rate = ttsp_decoder_sample_rate(gd->dec);
	Stream		st = {0};
	Spectrogram *spec;
	float	   *block;
	ttsp_error	err;
	int			max_piece;
	int			done;
	int			piece;
	int			c;

	st.channels = ttsp_decoder_channels(gd->dec);
	st.rows = ttsp_features_rows(fs);
	/* samples per push: at most about PENDING_VALUES values of pending frames */
	max_piece = (int) Min((Size) PG_INT32_MAX / 2,
						  Max((Size) 1, PENDING_VALUES / ttsp_stft_n_bins(&fs->stft)) * fs->stft.hop_length);
	st.co = core_create(fs, st.channels, rate);
	st.frames = palloc0(st.channels * sizeof(float *));
	/* size the frame buffers from the declared duration (usually no regrowth), within the value limit */
	st.cap = Min(ttsp_decoder_expected_frames(gd->dec) / fs->stft.hop_length + 2,
				 SPECTROGRAM_MAX_VALUES / ((Size) st.rows * st.channels));
	for (c = 0; c < st.channels; c++)
		st.frames[c] = MemoryContextAllocHuge(CurrentMemoryContext, st.cap * st.rows * sizeof(float));
	for (;;)
	{
		float	   *const *planes;
		int			n;

		CHECK_FOR_INTERRUPTS();
		ttsp_check(ttsp_decoder_read(gd->dec, &planes, &n, &err), &err);
		if (n == 0)
			break;
		/* in pieces, so that the STFTs' pending frames stay small */
		for (done = 0; done < n; done += piece)
		{
			piece = Min(n - done, max_piece);
			for (c = 0; c < st.channels; c++)
				ttsp_check(ttsp_stft_push(st.co->stft[c], planes[c] + done, piece, &err), &err);
			stream_collect(&st);
		}
	}
	glue_decoder_close(gd);
	for (c = 0; c < st.channels; c++)
		ttsp_check(ttsp_stft_finish(st.co->stft[c], &err), &err);
	stream_collect(&st);
	release_core(st.co);
	if (st.n_frames == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the audio is too short to give a single frame")));

	spec = alloc_output(fs, st.channels, st.n_frames);
	block = transform_block(fs, spec);
	for (c = 0; c < st.channels; c++)
	{
		ttsp_frames_to_columns(st.frames[c], st.n_frames, st.rows,
							   block + (Size) c * st.rows * st.n_frames, st.n_frames, 0);
		pfree(st.frames[c]);
	}
	return finish_output(fs, spec, block, rate);
}

/* ---- arguments, by name (args.h) ---- */

/* n_fft, win_length, hop_length, power, center, pad_mode, normalized. */
static void
read_stft_args(FunctionCallInfo fcinfo, ttsp_features *fs)
{
	ttsp_error	err;

	arg_require(fcinfo, "n_fft");
	if (arg_isnull(fcinfo, "power"))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("power => NULL (a complex spectrogram) is not supported"),
				 errhint("Use power => 1 for magnitude or power => 2 for power.")));
	arg_require(fcinfo, "center");
	arg_require(fcinfo, "pad_mode");
	arg_require(fcinfo, "normalized");
	ttsp_stft_params_init(&fs->stft);
	fs->stft.n_fft = arg_int32(fcinfo, "n_fft", 0);
	fs->stft.win_length = arg_int32(fcinfo, "win_length", TTSP_STFT_DEFAULT);
	fs->stft.hop_length = arg_int32(fcinfo, "hop_length", TTSP_STFT_DEFAULT);
	fs->stft.power = arg_float8(fcinfo, "power", 0);
	fs->stft.center = arg_bool(fcinfo, "center", true);
	fs->stft.normalized = arg_bool(fcinfo, "normalized", false);
	ttsp_check(ttsp_pad_mode_from_name(arg_text(fcinfo, "pad_mode"), &fs->stft.pad_mode, &err), &err);
	if (!(fs->stft.power > 0) || isinf(fs->stft.power))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("power must be a positive number, got %g", fs->stft.power)));
	ttsp_check(ttsp_stft_params_check(&fs->stft, &err), &err);
	fs->kind = TTSP_KIND_LINEAR;
}

/* f_min, f_max, n_mels, the filter norm (norm_arg: "norm", or MFCC's "mel_norm"), mel_scale. */
static void
read_mel_args(FunctionCallInfo fcinfo, const char *norm_arg, ttsp_features *fs)
{
	ttsp_error	err;

	arg_require(fcinfo, "f_min");
	arg_require(fcinfo, "n_mels");
	arg_require(fcinfo, "mel_scale");
	fs->f_min = arg_float8(fcinfo, "f_min", 0);
	fs->f_max = arg_float8(fcinfo, "f_max", get_float8_nan());
	fs->n_mels = arg_int32(fcinfo, "n_mels", 0);
	ttsp_check(ttsp_mel_norm_from_name(arg_text(fcinfo, norm_arg), &fs->mel_norm, &err), &err);
	ttsp_check(ttsp_mel_scale_from_name(arg_text(fcinfo, "mel_scale"), &fs->mel_scale, &err), &err);
	if (!isfinite(fs->f_min) || fs->f_min < 0 || (!isnan(fs->f_max) && !(fs->f_max > fs->f_min && isfinite(fs->f_max))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("need 0 <= f_min < f_max, got f_min %g, f_max %g", fs->f_min, fs->f_max)));
	if (fs->n_mels < 1 || fs->n_mels > TTSP_MAX_N_MELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n_mels must be between 1 and %d, got %d", TTSP_MAX_N_MELS, fs->n_mels)));
	fs->kind = TTSP_KIND_MEL;
}

/* n_mfcc, dct_type, norm (the DCT's), log_mels. */
static void
read_mfcc_args(FunctionCallInfo fcinfo, ttsp_features *fs)
{
	ttsp_error	err;

	arg_require(fcinfo, "n_mfcc");
	arg_require(fcinfo, "dct_type");
	arg_require(fcinfo, "log_mels");
	ttsp_mfcc_params_init(&fs->mfcc);
	fs->mfcc.n_mfcc = arg_int32(fcinfo, "n_mfcc", 0);
	fs->mfcc.dct_type = arg_int32(fcinfo, "dct_type", 0);
	ttsp_check(ttsp_dct_norm_from_name(arg_text(fcinfo, "norm"), &fs->mfcc.norm, &err), &err);
	fs->mfcc.log_mels = arg_bool(fcinfo, "log_mels", false);
	ttsp_check(ttsp_mfcc_params_check(&fs->mfcc, fs->n_mels, &err), &err);
	fs->kind = TTSP_KIND_MFCC;
}

/* ---- sources ---- */

/* Channels and samples of a waveform array, from its header. */
static void
waveform_shape(ArrayType *arr, int *channels, size_t *len)
{
	if (ARR_NDIM(arr) != 1 && ARR_NDIM(arr) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("waveform must be a 1-D or a 2-D [channel][sample] array, got %d dimensions",
						ARR_NDIM(arr))));
	*channels = ARR_NDIM(arr) == 2 ? ARR_DIMS(arr)[0] : 1;
	*len = ARR_DIMS(arr)[ARR_NDIM(arr) - 1];
}

/*
 * An uncompressed on-disk waveform without a null bitmap, set up to be read
 * in slices; false for anything else.
 */
static bool
toast_source(struct varlena *raw, SampleSource *src, int *channels, size_t *len)
{
	struct varatt_external ext;
	ArrayType  *hdr;
	Size		data_offset;

	if (!glue_toast_uncompressed(raw, &ext))
		return false;
	/* the header up to two dimensions: the slice reads as an ArrayType */
	hdr = (ArrayType *) detoast_attr_slice(raw, 0, Min(VARATT_EXTERNAL_GET_EXTSIZE(ext),
													   ARR_OVERHEAD_NONULLS(2) - VARHDRSZ));
	if (VARSIZE(hdr) < ARR_OVERHEAD_NONULLS(1) || ARR_HASNULL(hdr) ||
		VARSIZE(hdr) < ARR_OVERHEAD_NONULLS(ARR_NDIM(hdr) == 2 ? 2 : 1))
		return false;
	waveform_shape(hdr, channels, len);
	data_offset = ARR_OVERHEAD_NONULLS(ARR_NDIM(hdr)) - VARHDRSZ;
	pfree(hdr);
	if (VARATT_EXTERNAL_GET_EXTSIZE(ext) != data_offset + (Size) *channels * *len * sizeof(float))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("waveform array size does not match its dimensions")));
	src->toast = raw;
	src->data_offset = data_offset;
	return true;
}

/* waveform real[]: 1-D (one channel) or 2-D [channel][sample]. */
static Spectrogram *
from_array(FunctionCallInfo fcinfo, const ttsp_features *fs)
{
	SampleSource src = {0};
	int			sample_rate;
	int			channels;
	size_t		len;

	arg_require(fcinfo, "waveform");
	arg_require(fcinfo, "sample_rate");
	sample_rate = arg_int32(fcinfo, "sample_rate", 0);
	if (sample_rate < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample_rate must be positive, got %d", sample_rate)));
	if (!toast_source((struct varlena *) DatumGetPointer(arg_datum(fcinfo, "waveform")), &src, &channels, &len))
	{
		ArrayType  *arr = DatumGetArrayTypeP(arg_datum(fcinfo, "waveform"));

		waveform_shape(arr, &channels, &len);
		if (ARR_HASNULL(arr) && array_contains_nulls(arr))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("waveform must not contain NULLs")));
		src.planes = (const float *) ARR_DATA_PTR(arr);
	}
	return features_from_samples(fs, &src, channels, len, sample_rate);
}

/* Encoded audio with the decode options sample_rate, mono, offset_s, duration_s. */
static Spectrogram *
from_audio(FunctionCallInfo fcinfo, bytea *audio, const ttsp_features *fs)
{
	ttsp_decode_opts opts;

	glue_decode_opts(&opts, fcinfo);
	return features_from_audio(audio, &opts, fs);
}

/* The audio argument of the bytea forms, detoasted. */
static bytea *
audio_arg(FunctionCallInfo fcinfo)
{
	arg_require(fcinfo, "audio");
	return DatumGetByteaPP(arg_datum(fcinfo, "audio"));
}

/* <ttsp.audio_dir>/<music_id>.mp3, for the music_id forms. */
static bytea *
music_arg(FunctionCallInfo fcinfo)
{
	arg_require(fcinfo, "music_id");
	return ttsp_read_music_file(DatumGetInt64(arg_datum(fcinfo, "music_id")));
}

/* ---- SQL functions ---- */

Datum
ttsp_spectrogram_array(PG_FUNCTION_ARGS)
{
	ttsp_features fs = {0};

	read_stft_args(fcinfo, &fs);
	PG_RETURN_SPECTROGRAM_P(from_array(fcinfo, &fs));
}

Datum
ttsp_spectrogram_audio(PG_FUNCTION_ARGS)
{
	ttsp_features fs = {0};
	bytea	   *audio = audio_arg(fcinfo);

	read_stft_args(fcinfo, &fs);
	PG_RETURN_SPECTROGRAM_P(from_audio(fcinfo, audio, &fs));
}

Datum
ttsp_spectrogram_id(PG_FUNCTION_ARGS)
{
	ttsp_features fs = {0};

	arg_require(fcinfo, "music_id");
	read_stft_args(fcinfo, &fs);
	PG_RETURN_SPECTROGRAM_P(from_audio(fcinfo, music_arg(fcinfo), &fs));
}

Datum
ttsp_mel_spectrogram_array(PG_FUNCTION_ARGS)
{
	ttsp_features fs = {0};

	read_stft_args(fcinfo, &fs);
	read_mel_args(fcinfo, "norm", &fs);
	PG_RETURN_SPECTROGRAM_P(from_array(fcinfo, &fs));
}

Datum
ttsp_mel_spectrogram_audio(PG_FUNCTION_ARGS)
{
	ttsp_features fs = {0};
	bytea	   *audio = audio_arg(fcinfo);

	read_stft_args(fcinfo, &fs);
	read_mel_args(fcinfo, "norm", &fs);
	PG_RETURN_SPECTROGRAM_P(from_audio(fcinfo, audio, &fs));
}

Datum
ttsp_mfcc_array(PG_FUNCTION_ARGS)
{
	ttsp_features fs = {0};

	read_stft_args(fcinfo, &fs);
	read_mel_args(fcinfo, "mel_norm", &fs);
	read_mfcc_args(fcinfo, &fs);
	PG_RETURN_SPECTROGRAM_P(from_array(fcinfo, &fs));
}

Datum
ttsp_mfcc_audio(PG_FUNCTION_ARGS)
{
	ttsp_features fs = {0};
	bytea	   *audio = audio_arg(fcinfo);

	read_stft_args(fcinfo, &fs);
	read_mel_args(fcinfo, "mel_norm", &fs);
	read_mfcc_args(fcinfo, &fs);
	PG_RETURN_SPECTROGRAM_P(from_audio(fcinfo, audio, &fs));
}

/* AmplitudeToDB over a power/magnitude or mel spectrogram. */
Datum
ttsp_spec_amplitude_to_db(PG_FUNCTION_ARGS)
{
	Spectrogram *in;
	Spectrogram *out;
	bool		use_top_db = !PG_ARGISNULL(1);
	double		top_db = use_top_db ? PG_GETARG_FLOAT8(1) : 0;
	ttsp_error	err;

	/* not STRICT: top_db NULL means no floor */
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	in = PG_GETARG_SPECTROGRAM_P(0);

	if ((in->h.flags & TTSP_SPEC_DB) || in->h.kind == TTSP_KIND_MFCC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttsp_amplitude_to_db needs a power, magnitude or mel spectrogram, got %s%s",
						ttsp_spec_kind_name(&in->h), (in->h.flags & TTSP_SPEC_DB) ? " in dB" : "")));
	if (use_top_db && !(top_db >= 0 && isfinite(top_db)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_db must be a non-negative number or NULL, got %g", top_db)));
	out = (Spectrogram *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0));
	/* stype follows what the values are: |X| is a magnitude, else power */
	ttsp_check(ttsp_amplitude_to_db(out->data, (size_t) out->h.channels * out->h.bins * out->h.frames,
							   in->h.power == 1.0f ? TTSP_DB_MAGNITUDE : TTSP_DB_POWER,
							   use_top_db, top_db, &err), &err);
	out->h.flags |= TTSP_SPEC_DB;
	out->h.top_db = use_top_db ? (float4) top_db : get_float4_nan();
	PG_RETURN_SPECTROGRAM_P(out);
}
