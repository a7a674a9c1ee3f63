/* Feature extraction shared by the SQL functions and the model code. */
#ifndef TTSP_FEATURE_SPEC_H
#define TTSP_FEATURE_SPEC_H

#include "spectrogram.h"

#include "decode.h"
#include "melspec.h"
#include "stft.h"

/* What to compute: torchaudio's transform and its parameters. */
typedef struct FeatureSpec
{
	SpecKind	kind;
	bool		db;				/* AmplitudeToDB after the transform */
	double		top_db;			/* NaN: none */
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

/* The spec that made a spectrogram, from its header. */
extern void feature_spec_from_header(const Spectrogram *spec, FeatureSpec *fs);

/* Decode audio and compute fs on it, packet by packet. */
extern Spectrogram *features_from_audio(bytea *audio, const ttsp_decode_opts *opts,
										const FeatureSpec *fs);

#endif
