/* FFTW loaded on first use: see fftw_lazy.h and lazy_lib.h for why. */
#include "fftw_lazy.h"

/* single precision; the soname's 3 is FFTW 3's, unchanged since 2003 */
TTSP_LAZY_DEFINE(ttsp_fftw, ttsp_fftw_api, ttsp_fftw_load, "FFTW", TTSP_FFTW_FUNCTIONS,
				 "libfftw3f.so.3")
