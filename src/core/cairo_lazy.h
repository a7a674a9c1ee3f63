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
	CAIRO
};

/* X(T, library, function): every cairo function plot*.c calls */
#define TTSP_CAIRO_FUNCTIONS(X, T) \
	X(T, CAIRO, cairo_arc) \
	X(T, CAIRO, cairo_clip) \
	X(T, CAIRO, cairo_create) \
	X(T, CAIRO, cairo_destroy) \
	X(T, CAIRO, cairo_fill) \
	X(T, CAIRO, cairo_fill_preserve) \
	X(T, CAIRO, cairo_font_extents) \
	X(T, CAIRO, cairo_get_source) \
	X(T, CAIRO, cairo_image_surface_create) \
	X(T, CAIRO, cairo_image_surface_get_data) \
	X(T, CAIRO, cairo_image_surface_get_stride) \
	X(T, CAIRO, cairo_line_to) \
	X(T, CAIRO, cairo_move_to) \
	X(T, CAIRO, cairo_paint) \
	X(T, CAIRO, cairo_pattern_set_extend) \
	X(T, CAIRO, cairo_pattern_set_filter) \
	X(T, CAIRO, cairo_rectangle) \
	X(T, CAIRO, cairo_restore) \
	X(T, CAIRO, cairo_rotate) \
	X(T, CAIRO, cairo_save) \
	X(T, CAIRO, cairo_scale) \
	X(T, CAIRO, cairo_select_font_face) \
	X(T, CAIRO, cairo_set_dash) \
	X(T, CAIRO, cairo_set_font_size) \
	X(T, CAIRO, cairo_set_line_join) \
	X(T, CAIRO, cairo_set_line_width) \
	X(T, CAIRO, cairo_set_source_rgb) \
	X(T, CAIRO, cairo_set_source_rgba) \
	X(T, CAIRO, cairo_set_source_surface) \
	X(T, CAIRO, cairo_show_text) \
	X(T, CAIRO, cairo_status) \
	X(T, CAIRO, cairo_status_to_string) \
	X(T, CAIRO, cairo_stroke) \
	X(T, CAIRO, cairo_surface_destroy) \
	X(T, CAIRO, cairo_surface_flush) \
	X(T, CAIRO, cairo_surface_mark_dirty) \
	X(T, CAIRO, cairo_surface_status) \
	X(T, CAIRO, cairo_surface_write_to_png_stream) \
	X(T, CAIRO, cairo_text_extents) \
	X(T, CAIRO, cairo_translate)

TTSP_LAZY_DECLARE(ttsp_cairo, ttsp_cairo_api, ttsp_cairo_load, TTSP_CAIRO_FUNCTIONS)

#endif
