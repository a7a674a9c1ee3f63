/* cairo loaded on first use: see cairo_lazy.h and lazy_lib.h for why. */
#include "cairo_lazy.h"

/* cairo's soname has been libcairo.so.2 since 1.0 (2005), whatever CAIRO_VERSION says */
TTSP_LAZY_DEFINE(ttsp_cairo, ttsp_cairo_api, ttsp_cairo_load, "cairo", TTSP_CAIRO_FUNCTIONS,
				 "libcairo.so.2")
