/*
 * The spectrogram type: channels x frequency bins x frames of float4, plus
 * what is needed to interpret and rebuild it (torchaudio's parameters).
 */
#ifndef TTSP_SPECTROGRAM_H
#define TTSP_SPECTROGRAM_H

#include "postgres.h"

#include "fmgr.h"

#define SPECTROGRAM_VERSION 1

/* What the values are; SPEC_DB may be added to any of them. */
typedef enum SpecKind
{
	SPEC_LINEAR = 0,			/* |STFT|^power: "power" (2), "magnitude" (1) */
	SPEC_MEL = 1,				/* mel filterbank over a power spectrogram */
	SPEC_MFCC = 2				/* DCT of log or dB mel energies */
} SpecKind;

#define SPEC_FLAG_CENTER		0x01
#define SPEC_FLAG_NORMALIZED	0x02
#define SPEC_FLAG_DB			0x04	/* amplitude_to_db applied */
#define SPEC_FLAG_MEL_SLANEY	0x08	/* mel_scale 'slaney' (else 'htk') */
#define SPEC_FLAG_NORM_SLANEY	0x10	/* mel filter norm 'slaney' (else none) */
#define SPEC_FLAG_LOG_MELS		0x20	/* MFCC from log(mel + 1e-6), not dB */
#define SPEC_FLAG_DCT_ORTHO		0x40	/* MFCC DCT norm 'ortho' (else none) */
#define SPEC_KNOWN_FLAGS		0x7f

typedef enum SpecPadMode
{
	SPEC_PAD_REFLECT = 0,
	SPEC_PAD_CONSTANT = 1,
	SPEC_PAD_REPLICATE = 2,
	SPEC_PAD_CIRCULAR = 3
} SpecPadMode;

typedef struct Spectrogram
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint8		version;
	uint8		kind;			/* SpecKind */
	uint8		flags;			/* SPEC_FLAG_* */
	uint8		pad_mode;		/* SpecPadMode */
	int32		channels;
	int32		bins;			/* frequency bins, mels or MFCC coefficients */
	int32		frames;
	int32		sample_rate;
	int32		n_fft;
	int32		win_length;
	int32		hop_length;
	float4		power;
	float4		f_min;			/* mel only */
	float4		f_max;			/* mel only */
	float4		top_db;			/* dB only; NaN when none */
	int32		n_mels;			/* MFCC only: mels before the DCT */
	float4		data[FLEXIBLE_ARRAY_MEMBER];	/* [channel][bin][frame] */
} Spectrogram;

#define SPECTROGRAM_HEADER_SIZE offsetof(Spectrogram, data)
/*
 * At most 16 bytes of text per value (15 characters and a comma), so that
 * the text form, and with it COPY and pg_dump, stays within 1 GB.
 */
#define SPECTROGRAM_MAX_VALUES (((Size) MaxAllocSize - 65536) / 16)

/* The text form's size bound: values, and 4 bytes of brackets per row and channel. */
#define SPECTROGRAM_TEXT_FITS(c, b, f) \
	((Size) (c) * (b) <= SPECTROGRAM_MAX_VALUES / (f) && \
	 16 * (Size) (c) * (b) * (f) + 4 * (Size) (c) * (b) + 4 * (Size) (c) <= (Size) MaxAllocSize - 65536)

#define DatumGetSpectrogramP(x)		((Spectrogram *) PG_DETOAST_DATUM(x))
#define PG_GETARG_SPECTROGRAM_P(x)	DatumGetSpectrogramP(PG_GETARG_DATUM(x))
#define PG_RETURN_SPECTROGRAM_P(x)	PG_RETURN_POINTER(x)
/* The header alone (data not valid): accessors need not read a stored value whole. */
#define PG_GETARG_SPECTROGRAM_HEADER(x) \
	((Spectrogram *) PG_DETOAST_DATUM_SLICE(PG_GETARG_DATUM(x), 0, SPECTROGRAM_HEADER_SIZE - VARHDRSZ))

/* A zeroed spectrogram of the given shape, header fields left to the caller. */
extern Spectrogram *spectrogram_alloc(int channels, int bins, int frames);

/*
 * Reset the fields that do not apply to the kind (mel fields of a linear
 * spectrogram, MFCC fields of others, top_db without dB) to what text input
 * gives for them, so that text and binary forms carry the same bits.
 */
extern void spectrogram_clear_unused(Spectrogram *spec);

/* Shape and parameters must be consistent; ERROR naming the problem if not. */
extern void spectrogram_validate(const Spectrogram *spec);

/* ttsp_params(spectrogram): the header as jsonb. */
extern Datum ttsp_spec_params(PG_FUNCTION_ARGS);

/* "power", "magnitude", "mel", "mfcc" (dB is a separate flag). */
extern const char *spectrogram_kind_name(const Spectrogram *spec);

#endif
