/* cairo loaded on first use: see cairo_lazy.h and lazy_lib.h for why. */
#include "cairo_lazy.h"

ttsp_cairo_api ttsp_cairo;

/* cairo's soname has been libcairo.so.2 since 1.0 (2005), whatever CAIRO_VERSION says */
static const char *const sonames[N_CAIRO_LIBS] = {"libcairo.so.2"};

#define ENTRY(lib, fn) TTSP_LAZY_FN(ttsp_cairo_api, lib, fn)
static const ttsp_lazy_fn functions[] = {TTSP_CAIRO_FUNCTIONS(ENTRY)};

static ttsp_lazy_lib cairo_lib = {
	"cairo", sonames, N_CAIRO_LIBS, functions, sizeof(functions) / sizeof(functions[0]),
	&ttsp_cairo, sizeof(ttsp_cairo), false
};

ttsp_status
ttsp_cairo_load(ttsp_error *err)
{
	return ttsp_lazy_load(&cairo_lib, err);
}
