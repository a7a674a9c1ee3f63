/* Pictures from SQL: shared by plots.c and saliency.c. */
#ifndef TTSP_PLOTS_H
#define TTSP_PLOTS_H

#include "spectrogram.h"

/*
 * PNG of a spectrogram figure: dB (or MFCC values), clipped top_db below
 * the peak when clip, axes from spec's parameters, an optional title and,
 * when saliency is not NULL ([channel][bin][frame] like spec's data,
 * non-negative), that map over the spectrogram in grey.
 */
extern bytea *glue_spectrogram_png(const Spectrogram *spec, bool clip, double top_db,
								   const char *title, const float *saliency);

#endif
