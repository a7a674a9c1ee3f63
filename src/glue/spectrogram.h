/*
 * The spectrogram type: channels x frequency bins x frames of float4, plus
 * what is needed to interpret and rebuild it (torchaudio's parameters).
 */
#ifndef TTSP_SPECTROGRAM_H
#define TTSP_SPECTROGRAM_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/memutils.h"

#include "spec_header.h"

/* The stored value: a varlena header, the core's header, the values. */
typedef struct Spectrogram
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	ttsp_spec_header h;
	float4		data[FLEXIBLE_ARRAY_MEMBER];	/* [channel][bin][frame] */
} Spectrogram;

#define SPECTROGRAM_HEADER_SIZE offsetof(Spectrogram, data)

/* The on-disk layout of 0.1.0: the header's 52 bytes right after the varlena header. */
StaticAssertDecl(offsetof(Spectrogram, h) == VARHDRSZ && SPECTROGRAM_HEADER_SIZE == 56,
				 "the spectrogram header's layout is its on-disk format");
StaticAssertDecl(TTSP_SPEC_MAX_ALLOC == (Size) MaxAllocSize - 65536,
				 "the text form's bound follows PostgreSQL's allocation limit");

#define SPECTROGRAM_MAX_VALUES TTSP_SPEC_MAX_VALUES

#define DatumGetSpectrogramP(x)		((Spectrogram *) PG_DETOAST_DATUM(x))
#define PG_GETARG_SPECTROGRAM_P(x)	DatumGetSpectrogramP(PG_GETARG_DATUM(x))
#define PG_RETURN_SPECTROGRAM_P(x)	PG_RETURN_POINTER(x)
/* The header alone (data not valid): accessors need not read a stored value whole. */
#define PG_GETARG_SPECTROGRAM_HEADER(x) \
	((Spectrogram *) PG_DETOAST_DATUM_SLICE(PG_GETARG_DATUM(x), 0, SPECTROGRAM_HEADER_SIZE - VARHDRSZ))

/* A zeroed spectrogram of the given shape, header fields left to the caller. */
extern Spectrogram *spectrogram_alloc(int channels, int bins, int frames);

/* Header, shape and values must be consistent; ERROR naming the problem if not. */
extern void spectrogram_validate(const Spectrogram *spec);

/* ttsp_params(spectrogram): the header as jsonb. */
extern Datum ttsp_spec_params(PG_FUNCTION_ARGS);

#endif
