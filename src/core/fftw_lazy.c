/* FFTW loaded on first use: see fftw_lazy.h and lazy_lib.h for why. */
#include "fftw_lazy.h"

ttsp_fftw_api ttsp_fftw;

/* single precision; the soname's 3 is FFTW 3's, unchanged since 2003 */
static const char *const sonames[N_FFTW_LIBS] = {"libfftw3f.so.3"};

#define ENTRY(lib, fn) TTSP_LAZY_FN(ttsp_fftw_api, lib, fn)
static const ttsp_lazy_fn functions[] = {TTSP_FFTW_FUNCTIONS(ENTRY)};

static ttsp_lazy_lib fftw_lib = {
	"FFTW", sonames, N_FFTW_LIBS, functions, sizeof(functions) / sizeof(functions[0]),
	&ttsp_fftw, sizeof(ttsp_fftw), false
};

ttsp_status
ttsp_fftw_load(ttsp_error *err)
{
	return ttsp_lazy_load(&fftw_lib, err);
}
