/*
 * cairo, loaded when the first picture is made rather than with ttsp.so
 * (lazy_lib.h says why: cairo brings fontconfig, freetype, pixman, libpng
 * and X11's client libraries, a score of shared objects).  plot*.c call it
 * as ttsp_cairo.cairo_paint(cr) and so on; ttsp_plot_create loads it.
 */
#ifndef TTSP_CAIRO_LAZY_H
#define TTSP_CAIRO_LAZY_H

#include <cairo.h>

#include "lazy_lib.h"

enum
{
	CAIRO, N_CAIRO_LIBS
};

/* X(library, function): every cairo function plot*.c calls */
#define TTSP_CAIRO_FUNCTIONS(X) \
	X(CAIRO, cairo_arc) \
	X(CAIRO, cairo_clip) \
	X(CAIRO, cairo_create) \
	X(CAIRO, cairo_destroy) \
	X(CAIRO, cairo_fill) \
	X(CAIRO, cairo_fill_preserve) \
	X(CAIRO, cairo_font_extents) \
	X(CAIRO, cairo_get_source) \
	X(CAIRO, cairo_image_surface_create) \
	X(CAIRO, cairo_image_surface_get_data) \
	X(CAIRO, cairo_image_surface_get_stride) \
	X(CAIRO, cairo_line_to) \
	X(CAIRO, cairo_move_to) \
	X(CAIRO, cairo_paint) \
	X(CAIRO, cairo_pattern_set_extend) \
	X(CAIRO, cairo_pattern_set_filter) \
	X(CAIRO, cairo_rectangle) \
	X(CAIRO, cairo_restore) \
	X(CAIRO, cairo_rotate) \
	X(CAIRO, cairo_save) \
	X(CAIRO, cairo_scale) \
	X(CAIRO, cairo_select_font_face) \
	X(CAIRO, cairo_set_dash) \
	X(CAIRO, cairo_set_font_size) \
	X(CAIRO, cairo_set_line_join) \
	X(CAIRO, cairo_set_line_width) \
	X(CAIRO, cairo_set_source_rgb) \
	X(CAIRO, cairo_set_source_rgba) \
	X(CAIRO, cairo_set_source_surface) \
	X(CAIRO, cairo_show_text) \
	X(CAIRO, cairo_status) \
	X(CAIRO, cairo_status_to_string) \
	X(CAIRO, cairo_stroke) \
	X(CAIRO, cairo_surface_destroy) \
	X(CAIRO, cairo_surface_flush) \
	X(CAIRO, cairo_surface_mark_dirty) \
	X(CAIRO, cairo_surface_status) \
	X(CAIRO, cairo_surface_write_to_png_stream) \
	X(CAIRO, cairo_text_extents) \
	X(CAIRO, cairo_translate)

typedef struct ttsp_cairo_api
{
	TTSP_CAIRO_FUNCTIONS(TTSP_LAZY_MEMBER)
} ttsp_cairo_api;

extern ttsp_cairo_api ttsp_cairo;

/* Load cairo once per process: ttsp_lazy_load's contract. */
ttsp_status ttsp_cairo_load(ttsp_error *err);

#endif
