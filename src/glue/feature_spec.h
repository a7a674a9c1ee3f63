/* Feature extraction shared by the SQL functions and the model code. */
#ifndef TTSP_FEATURE_SPEC_H
#define TTSP_FEATURE_SPEC_H

#include "spectrogram.h"

#include "decode.h"

/* Decode audio and compute fs on it, packet by packet. */
extern Spectrogram *features_from_audio(bytea *audio, const ttsp_decode_opts *opts,
										const ttsp_features *fs);

#endif
