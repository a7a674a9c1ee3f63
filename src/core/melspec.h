/*
 * Mel filterbank, MelSpectrogram, AmplitudeToDB and MFCC matching
 * torchaudio 0.13 (functional.melscale_fbanks, create_dct, amplitude_to_DB
 * and the transforms built on them).  No postgres.h.  The accuracy
 * definition is at the top of stft.h.
 *
 * Output blocks use torchaudio's layout: [channel][row][time], row-major.
 */
#ifndef TTSP_MELSPEC_H
#define TTSP_MELSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "stft.h"
#include "ttsp_status.h"

#define TTSP_MAX_N_MELS 4096

typedef enum ttsp_mel_scale
{
	TTSP_MEL_HTK,				/* 2595 log10(1 + f / 700) */
	TTSP_MEL_SLANEY				/* linear below 1 kHz, logarithmic above */
} ttsp_mel_scale;

typedef enum ttsp_mel_norm
{
	TTSP_MEL_NORM_NONE,
	TTSP_MEL_NORM_SLANEY		/* divide each triangle by its width */
} ttsp_mel_norm;

typedef enum ttsp_db_stype
{
	TTSP_DB_POWER,				/* 10 log10 */
	TTSP_DB_MAGNITUDE			/* 20 log10 */
} ttsp_db_stype;

typedef enum ttsp_dct_norm
{
	TTSP_DCT_NORM_NONE,			/* unscaled DCT-II times 2 */
	TTSP_DCT_NORM_ORTHO
} ttsp_dct_norm;

/* Names as torchaudio spells them; a NULL norm name means no norm. */
ttsp_status ttsp_mel_scale_from_name(const char *name, ttsp_mel_scale *scale,
									 ttsp_error *err);
ttsp_status ttsp_mel_norm_from_name(const char *name, ttsp_mel_norm *norm,
									ttsp_error *err);
ttsp_status ttsp_db_stype_from_name(const char *name, ttsp_db_stype *stype,
									ttsp_error *err);
ttsp_status ttsp_dct_norm_from_name(const char *name, ttsp_dct_norm *norm,
									ttsp_error *err);

/* MelScale's f_max when none is given: float(sample_rate // 2). */
double		ttsp_mel_default_f_max(int sample_rate);

/* Names as the spectrogram text form writes them ("none" for no norm). */
const char *ttsp_mel_scale_name(ttsp_mel_scale scale);
const char *ttsp_mel_norm_name(ttsp_mel_norm norm);
const char *ttsp_dct_norm_name(ttsp_dct_norm norm);

/*
 * Triangular filters of melscale_fbanks(n_freqs, f_min, f_max, n_mels,
 * sample_rate, norm, mel_scale), computed in float as torch does and kept
 * sparse (each filter is its run of nonzero weights).
 */
typedef struct ttsp_melbank ttsp_melbank;

ttsp_status ttsp_melbank_create(int n_freqs, double f_min, double f_max,
								int n_mels, int sample_rate,
								ttsp_mel_norm norm, ttsp_mel_scale scale,
								ttsp_melbank **out, ttsp_error *err);
int			ttsp_melbank_n_mels(const ttsp_melbank *fb);
int			ttsp_melbank_n_freqs(const ttsp_melbank *fb);

/* Filters that are all zero (torchaudio warns about them). */
int			ttsp_melbank_n_empty(const ttsp_melbank *fb);

/* The dense matrix as torchaudio returns it: [n_freqs][n_mels]. */
void		ttsp_melbank_dense(const ttsp_melbank *fb, float *out);

/*
 * Project frame-major spectrogram frames ([n_frames][n_freqs]) onto the
 * mels: mel m of frame t goes to out[m * row_stride + t * col_stride].
 * Frame-major output: (1, n_mels); [n_mels][n_cols] columns: (n_cols, 1).
 * Uses scratch space inside fb: one caller at a time per filterbank.
 */
void		ttsp_melbank_apply(ttsp_melbank *fb, const float *frames,
							   size_t n_frames, float *out,
							   size_t row_stride, size_t col_stride);

void		ttsp_melbank_destroy(ttsp_melbank *fb);

/*
 * One-shot MelSpectrogram of one channel into out, [n_mels][n_frames] with
 * n_frames from ttsp_stft_n_frames, for the unit tests (the SQL functions
 * stream).  fb must have n_fft / 2 + 1 freqs.
 */
ttsp_status ttsp_mel_oneshot(const ttsp_stft_params *p, ttsp_melbank *fb,
							 const float *x, size_t n, float *out, ttsp_error *err);

/*
 * AmplitudeToDB(stype, top_db) in place over one item: multiplier *
 * log10(max(x, 1e-10)) (ref 1.0), then with top_db the floor max - top_db
 * taken over all n values -- pass all channels of an item at once, as
 * torchaudio takes the max over (channel, freq, time).  A NaN or infinite
 * x is an error (TTSP_ERANGE), x then unchanged.
 */
ttsp_status ttsp_amplitude_to_db(float *x, size_t n, ttsp_db_stype stype,
								 bool use_top_db, double top_db,
								 ttsp_error *err);

/* create_dct(n_mfcc, n_mels, norm) transposed: out is [n_mfcc][n_mels]. */
ttsp_status ttsp_dct_matrix(int n_mfcc, int n_mels, ttsp_dct_norm norm,
							float *out, ttsp_error *err);

typedef struct ttsp_mfcc_params
{
	int			n_mfcc;
	int			dct_type;		/* only 2, as torchaudio */
	ttsp_dct_norm norm;
	bool		log_mels;		/* log(mel + 1e-6) instead of dB, top_db 80 */
} ttsp_mfcc_params;

/* MFCC() defaults: 40 coefficients, DCT-II, ortho, dB. */
void		ttsp_mfcc_params_init(ttsp_mfcc_params *p);
ttsp_status ttsp_mfcc_params_check(const ttsp_mfcc_params *p, int n_mels,
								   ttsp_error *err);

/*
 * MFCC from a mel spectrogram block [n_channels][n_mels][n_frames], which
 * is overwritten by its log/dB values; out is [n_channels][n_mfcc][n_frames].
 * The whole block is one item for the top_db floor.  A NaN or infinite mel
 * value is an error (TTSP_ERANGE), mel then unchanged.
 */
ttsp_status ttsp_mfcc_from_mel(const ttsp_mfcc_params *p, float *mel,
							   int n_channels, int n_mels, size_t n_frames,
							   float *out, ttsp_error *err);

#endif
