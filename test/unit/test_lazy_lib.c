/*
 * lazy_lib: a library or function that is not there is a clear error that
 * leaves nothing behind, a later attempt can still succeed, and the real
 * FFmpeg, FFTW and cairo tables resolve in full.
 */
#include <math.h>
#include <string.h>

#include "cairo_lazy.h"
#include "ffmpeg_lazy.h"
#include "fftw_lazy.h"
#include "lazy_lib.h"
#include "tap.h"

typedef struct libm_api
{
	double		(*cos) (double);
	double		(*sqrt) (double);
} libm_api;

static const ttsp_lazy_fn libm_fns[] = {
	{0, "cos", offsetof(libm_api, cos)},
	{0, "sqrt", offsetof(libm_api, sqrt)},
};
static const ttsp_lazy_fn missing_fns[] = {
	{0, "cos", offsetof(libm_api, cos)},
	{0, "ttsp_no_such_function", offsetof(libm_api, sqrt)},
};

int
main(void)
{
	const char *const absent[] = {"libm.so.6", "libttsp-no-such-library.so.1"};
	const char *const libm[] = {"libm.so.6"};
	libm_api	api;
	ttsp_lazy_lib lib = {"nothing", absent, 2, libm_fns, 2, &api, sizeof(api), false};
	ttsp_error	err = {0};

	memset(&api, 0, sizeof(api));
	ok(ttsp_lazy_load(&lib, &err) == TTSP_EUNSUPPORTED && !lib.loaded, "a missing library is TTSP_EUNSUPPORTED");
	ok(strstr(err.msg, "nothing's libttsp-no-such-library.so.1") != NULL, "and named: %s", err.msg);
	ok(api.cos == NULL && api.sqrt == NULL, "no pointer is kept");

	lib = (ttsp_lazy_lib) {"libm", libm, 1, missing_fns, 2, &api, sizeof(api), false};
	ok(ttsp_lazy_load(&lib, &err) == TTSP_EUNSUPPORTED && !lib.loaded, "a missing function is TTSP_EUNSUPPORTED");
	ok(strstr(err.msg, "libm's libm.so.6 has no ttsp_no_such_function") != NULL, "and named: %s", err.msg);
	ok(api.cos == NULL && api.sqrt == NULL, "no pointer is kept, not even those found");

	lib.fns = libm_fns;
	ok(ttsp_lazy_load(&lib, &err) == TTSP_OK && lib.loaded, "a later attempt loads");
	ok(api.cos != NULL && api.cos(0) == 1 && api.sqrt(16) == 4, "and its pointers call the library");
	api.cos = NULL;
	ok(ttsp_lazy_load(&lib, &err) == TTSP_OK && api.cos == NULL, "once loaded, later calls return at once");

	ok(ttsp_ffmpeg_load(&err) == TTSP_OK && ttsp_ffmpeg.avformat_open_input != NULL &&
	   ttsp_ffmpeg.avio_context_free != NULL, "FFmpeg's functions all resolve");
	ok(ttsp_fftw_load(&err) == TTSP_OK && ttsp_fftw.fftwf_plan_dft_1d != NULL, "FFTW's functions all resolve");
	ok(ttsp_cairo_load(&err) == TTSP_OK && ttsp_cairo.cairo_arc != NULL &&
	   ttsp_cairo.cairo_translate != NULL, "cairo's functions all resolve");
	return done_testing();
}
