/*
 * Shared libraries loaded on first use rather than with ttsp.so.
 *
 * FFmpeg pulls in over a hundred shared libraries (codecs, hardware back
 * ends), cairo a score more (fontconfig, freetype, pixman, X11's client
 * libraries) and FFTW one; loading and relocating them cost every new
 * backend milliseconds to tens of milliseconds on its first ttsp call, even
 * for calls that neither decode, transform nor draw (ttsp_predict on a
 * stored spectrogram).  So ttsp.so links none of them: decode.c, stft.c and
 * plot*.c call them through structs of function pointers that
 * ttsp_lazy_load fills with dlopen/dlsym the first time they are needed.
 *
 * Each library lists its functions once, as an X-macro LIST(X, T) of
 * X(T, library, function), library being the index of its soname and T the
 * struct type (for the table's offsets).  The struct's members are the
 * functions' own names with the headers' own types (__typeof__), so callers
 * write ttsp_cairo.cairo_paint(cr): a function missing from the list is a
 * compile error, never an unresolved symbol found when ttsp.so loads (the
 * Makefile's lazy-symbols check also fails the build if ttsp.so leaves an
 * FFmpeg, FFTW or cairo symbol to the dynamic linker).
 */
#ifndef TTSP_LAZY_LIB_H
#define TTSP_LAZY_LIB_H

#include <stdbool.h>
#include <stddef.h>

#include "ttsp_status.h"

/* A struct member per function, typed by the library's own prototype. */
#define TTSP_LAZY_MEMBER(T, lib, fn) __typeof__(fn) *fn;

/* Where one function's pointer goes in the struct. */
typedef struct ttsp_lazy_fn
{
	int			lib;			/* index into ttsp_lazy_lib.sonames */
	const char *name;
	size_t		offset;
} ttsp_lazy_fn;

/* For an X-macro list: the table entry of fn in the struct type T. */
#define TTSP_LAZY_FN(T, lib, fn) {lib, #fn, offsetof(T, fn)},

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

/*
 * Declare api, a struct of type T holding LIST's pointers, and its loader
 * load(err), which follows ttsp_lazy_load's contract.
 */
#define TTSP_LAZY_DECLARE(api, T, load, LIST) \
	typedef struct T \
	{ \
		LIST(TTSP_LAZY_MEMBER, _) \
	} T; \
	extern T api; \
	ttsp_status load(ttsp_error *err);

/*
 * Define api (of struct type T, filled from the list LIST) and its loader
 * load(err) for what ("FFmpeg"), whose sonames follow, dependencies first.
 */
#define TTSP_LAZY_DEFINE(api, T, load, what, LIST, ...) \
	T			api; \
	static const char *const api##_sonames[] = {__VA_ARGS__}; \
	static const ttsp_lazy_fn api##_fns[] = {LIST(TTSP_LAZY_FN, T)}; \
	static ttsp_lazy_lib api##_lib = { \
		what, api##_sonames, sizeof(api##_sonames) / sizeof(api##_sonames[0]), \
		api##_fns, sizeof(api##_fns) / sizeof(api##_fns[0]), &api, sizeof(api), false \
	}; \
	ttsp_status \
	load(ttsp_error *err) \
	{ \
		return ttsp_lazy_load(&api##_lib, err); \
	}

#endif
