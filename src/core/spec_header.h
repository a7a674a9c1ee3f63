/*
 * The spectrogram type's header: what its values are and the torchaudio
 * parameters that made them.  This is the meaning of the stored format
 * (the SQL type in src/glue/spectrogram.h is a varlena header, this struct
 * and the values), kept here so that it is unit-tested without a server.
 */
#ifndef TTSP_SPEC_HEADER_H
#define TTSP_SPEC_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "melspec.h"
#include "stft.h"
#include "ttsp_status.h"

#define TTSP_SPEC_VERSION 1

/*
 * At most 16 bytes of text per value (15 characters and a comma), so that
 * the text form, and with it COPY and pg_dump, stays within PostgreSQL's
 * 1 GB allocation limit (MaxAllocSize, 2^30 - 1) with 64 kB to spare.
 */
#define TTSP_SPEC_MAX_ALLOC ((size_t) 0x3fffffff - 65536)
#define TTSP_SPEC_MAX_VALUES (TTSP_SPEC_MAX_ALLOC / 16)

/* What the values are; TTSP_SPEC_DB may be added to any of them. */
typedef enum ttsp_feature_kind
{
	TTSP_KIND_LINEAR = 0,		/* |STFT|^power: "power" (2), "magnitude" (1) */
	TTSP_KIND_MEL = 1,			/* mel filterbank over a power spectrogram */
	TTSP_KIND_MFCC = 2			/* DCT of log or dB mel energies */
} ttsp_feature_kind;

#define TTSP_SPEC_CENTER		0x01
#define TTSP_SPEC_NORMALIZED	0x02
#define TTSP_SPEC_DB			0x04	/* amplitude_to_db applied */
#define TTSP_SPEC_MEL_SLANEY	0x08	/* mel_scale 'slaney' (else 'htk') */
#define TTSP_SPEC_NORM_SLANEY	0x10	/* mel filter norm 'slaney' (else none) */
#define TTSP_SPEC_LOG_MELS		0x20	/* MFCC from log(mel + 1e-6), not dB */
#define TTSP_SPEC_DCT_ORTHO		0x40	/* MFCC DCT norm 'ortho' (else none) */
#define TTSP_SPEC_KNOWN_FLAGS	0x7f

/* Field order and sizes are the on-disk format: change neither. */
typedef struct ttsp_spec_header
{
	uint8_t		version;
	uint8_t		kind;			/* ttsp_feature_kind */
	uint8_t		flags;			/* TTSP_SPEC_* */
	uint8_t		pad_mode;		/* ttsp_pad_mode */
	int32_t		channels;
	int32_t		bins;			/* frequency bins, mels or MFCC coefficients */
	int32_t		frames;
	int32_t		sample_rate;
	int32_t		n_fft;
	int32_t		win_length;
	int32_t		hop_length;
	float		power;
	float		f_min;			/* mel and MFCC only, else NaN */
	float		f_max;			/* mel and MFCC only, else NaN */
	float		top_db;			/* dB and MFCC only; NaN when none */
	int32_t		n_mels;			/* MFCC only: mels before the DCT, else 0 */
} ttsp_spec_header;

/* A header of the current version, shape and parameters zero, top_db NaN. */
void		ttsp_spec_header_init(ttsp_spec_header *h, int channels, int bins, int frames);

/* Values the shape holds, or 0 if it does not fit TTSP_SPEC_MAX_VALUES (or the text form's 1 GB). */
size_t		ttsp_spec_shape_values(int channels, int bins, int frames);

/*
 * Reset the fields that do not apply to the kind (mel fields of a linear
 * spectrogram, MFCC fields of others, top_db without dB) to what text input
 * gives for them, so that text and binary forms carry the same bits.
 */
void		ttsp_spec_clear_unused(ttsp_spec_header *h);

/*
 * The header is of this version and consistent (shape, parameters), and
 * data_bytes of values follow it: as many as the shape holds.
 */
ttsp_status ttsp_spec_validate(const ttsp_spec_header *h, size_t data_bytes, ttsp_error *err);

/* Every value is finite (the error names the first that is not). */
ttsp_status ttsp_spec_check_values(const float *data, size_t n, ttsp_error *err);

/*
 * The name of the first field that would not survive ttsp_spec_clear_unused
 * (a field that does not apply to the kind), or NULL.
 */
const char *ttsp_spec_unused_field(const ttsp_spec_header *h);

/*
 * Whether b holds the same features as a: everything but the frame count
 * (kind, channels, bins, rate, FFT sizes, flags, padding, mel and dB
 * settings).  A model accepts exactly the spectrograms that match its own.
 */
bool		ttsp_spec_same_features(const ttsp_spec_header *a, const ttsp_spec_header *b);

/* Names: "power", "magnitude", "mel", "mfcc" (dB is a separate flag). */
const char *ttsp_spec_kind_name(const ttsp_spec_header *h);

/* kind and power from a kind name ("power" gives power 2, "magnitude" 1). */
ttsp_status ttsp_spec_kind_from_name(const char *name, ttsp_feature_kind *kind, float *power,
									 ttsp_error *err);

/* What to compute: torchaudio's transform and its parameters. */
typedef struct ttsp_features
{
	ttsp_feature_kind kind;
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
} ttsp_features;

/* Rows of the transform before any DCT: STFT bins or mels.  stft must be checked. */
int			ttsp_features_rows(const ttsp_features *fs);

/* Rows of the output: MFCC coefficients, else ttsp_features_rows. */
int			ttsp_features_bins(const ttsp_features *fs);

/*
 * The transform that made a spectrogram with header h, to make more like
 * it.  Check fs->stft (ttsp_stft_params_check) before computing with it: a
 * valid header may name a pad mode that is not supported.
 */
void		ttsp_features_from_header(const ttsp_spec_header *h, ttsp_features *fs);

/*
 * Describe in h (shape left alone) the output of fs at sample_rate, with
 * the parameters actually used: fs's stft must be checked, so that its
 * defaults are filled in.  Unused fields are cleared.
 */
void		ttsp_spec_header_describe(ttsp_spec_header *h, const ttsp_features *fs, int sample_rate);

#endif
