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
	FFTW
};

/* X(T, library, function): every FFTW function stft.c calls */
#define TTSP_FFTW_FUNCTIONS(X, T) \
	X(T, FFTW, fftwf_destroy_plan) \
	X(T, FFTW, fftwf_execute_dft) \
	X(T, FFTW, fftwf_free) \
	X(T, FFTW, fftwf_import_wisdom_from_filename) \
	X(T, FFTW, fftwf_malloc) \
	X(T, FFTW, fftwf_plan_dft_1d)

TTSP_LAZY_DECLARE(ttsp_fftw, ttsp_fftw_api, ttsp_fftw_load, TTSP_FFTW_FUNCTIONS)

#endif
