/*
 * FFTW, loaded by the first STFT rather than with ttsp.so (lazy_lib.h says
 * why: about 2 ms of every new backend's first call, which most calls,
 * ttsp_predict on a stored spectrogram among them, never need).  stft.c
 * calls it as ttsp_fftw.fftwf_execute_dft(...) and so on.
 */
#ifndef TTSP_FFTW_LAZY_H
#define TTSP_FFTW_LAZY_H

#include <fftw3.h>

#include "lazy_lib.h"

enum
{
	FFTW, N_FFTW_LIBS
};

/* X(library, function): every FFTW function stft.c calls */
#define TTSP_FFTW_FUNCTIONS(X) \
	X(FFTW, fftwf_destroy_plan) \
	X(FFTW, fftwf_execute_dft) \
	X(FFTW, fftwf_free) \
	X(FFTW, fftwf_import_wisdom_from_filename) \
	X(FFTW, fftwf_malloc) \
	X(FFTW, fftwf_plan_dft_1d)

typedef struct ttsp_fftw_api
{
	TTSP_FFTW_FUNCTIONS(TTSP_LAZY_MEMBER)
} ttsp_fftw_api;

extern ttsp_fftw_api ttsp_fftw;

/* Load FFTW once per process: ttsp_lazy_load's contract. */
ttsp_status ttsp_fftw_load(ttsp_error *err);

#endif
