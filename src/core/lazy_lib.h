/*
 * Shared libraries loaded on first use rather than with ttsp.so.
 *
 * FFmpeg pulls in over a hundred shared libraries (codecs, hardware back
 * ends) and cairo a score more (fontconfig, freetype, pixman, X11's client
 * libraries); loading and relocating them cost every new backend tens of
 * milliseconds on its first ttsp call, even for calls that neither decode
 * nor draw (ttsp_predict on a stored spectrogram).  So ttsp.so is linked
 * against neither: decode.c and plot*.c call them through structs of
 * function pointers that ttsp_lazy_load fills with dlopen/dlsym the first
 * time they are needed.
 *
 * Each library lists its functions once, as an X-macro X(library, function)
 * with library the index of its soname.  The struct's members are the
 * functions' own names with the headers' own types (__typeof__), so callers
 * write ttsp_cairo.cairo_paint(cr): a function missing from the list is a
 * compile error, never an unresolved symbol found when ttsp.so loads (the
 * Makefile also checks that ttsp.so leaves no FFmpeg or cairo symbol to the
 * dynamic linker).
 */
#ifndef TTSP_LAZY_LIB_H
#define TTSP_LAZY_LIB_H

#include <stdbool.h>
#include <stddef.h>

#include "ttsp_status.h"

/* A struct member per function, typed by the library's own prototype. */
#define TTSP_LAZY_MEMBER(lib, fn) __typeof__(fn) *fn;

/* Where one function's pointer goes in the struct. */
typedef struct ttsp_lazy_fn
{
	int			lib;			/* index into ttsp_lazy_lib.sonames */
	const char *name;
	size_t		offset;
} ttsp_lazy_fn;

/* For an X-macro list: the table entry of fn in the struct type api. */
#define TTSP_LAZY_FN(api, lib, fn) {lib, #fn, offsetof(api, fn)},

typedef struct ttsp_lazy_lib
{
	const char *what;			/* "FFmpeg", "cairo": named in errors */
	const char *const *sonames; /* dependencies first */
	int			n_sonames;
	const ttsp_lazy_fn *fns;
	size_t		n_fns;
	void	   *api;			/* the struct the pointers go to */
	size_t		api_size;
	bool		loaded;
} ttsp_lazy_lib;

/*
 * Load lib once per process (later calls return at once).  A missing
 * library or function is TTSP_EUNSUPPORTED naming it; a failed attempt
 * closes what it opened and leaves the struct zeroed, so a later call tries
 * again.  Not thread-safe: call it from one thread (a backend is
 * single-threaded).
 */
ttsp_status ttsp_lazy_load(ttsp_lazy_lib *lib, ttsp_error *err);

#endif
