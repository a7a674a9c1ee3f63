/* Private to plot*.c: the canvas and the drawing helpers they share. */
#ifndef TTSP_PLOT_INTERNAL_H
#define TTSP_PLOT_INTERNAL_H

#include "cairo_lazy.h"

#include "plot.h"

struct ttsp_plot
{
	cairo_surface_t *surface;
	cairo_t    *cr;
	int			width,
				height;
};

#define PLOT_FONT "DejaVu Sans"
#define PLOT_FONT_SIZE 12.0
#define PLOT_TITLE_SIZE 15.0
#define PLOT_TICK_LEN 5.0

/* A rectangle in canvas coordinates: the data area of an axis pair. */
typedef struct plot_box
{
	double		x,
				y,
				w,
				h;
} plot_box;

/*
 * Text with its anchor at (x, y): ax 0 left, 0.5 centre, 1 right; ay 0 top,
 * 0.5 middle, 1 bottom of the font's ascent.  angle in radians (the y-axis
 * label is turned by -pi/2).
 */
void		plot_text(cairo_t *cr, const char *s, double x, double y, double ax, double ay,
					  double size, double angle);

typedef enum plot_side
{
	PLOT_BOTTOM,
	PLOT_LEFT,
	PLOT_RIGHT
} plot_side;

/*
 * Ticks and labels of the value range lo..hi along the bottom (x) or the
 * left or right (y) edge of box, grid lines across it when grid, and the
 * axis label (none when NULL).
 */
void		plot_x_axis(cairo_t *cr, const plot_box *b, double lo, double hi, bool integer,
						bool grid, const char *label);
void		plot_y_axis(cairo_t *cr, const plot_box *b, double lo, double hi, bool integer,
						bool grid, const char *label, plot_side side);

/* A thin dark frame around box. */
void		plot_frame(cairo_t *cr, const plot_box *b);

/* Where a chart's legend goes, inside its data area. */
typedef enum plot_corner
{
	PLOT_TOP_RIGHT,
	PLOT_TOP_LEFT,
	PLOT_BOTTOM_RIGHT,
	PLOT_BOTTOM_LEFT
} plot_corner;

/*
 * The corner for a w x h legend in box b, whose data range is xlo..xhi,
 * ylo..yhi: the one whose panel covers the fewest points of c's series
 * (each segment counted at 16 points along it), in the order top right,
 * top left, bottom right, bottom left; a ROC chart tries bottom right first.
 * Its panel's top left corner in *x, *y.
 */
plot_corner plot_legend_corner(const plot_box *b, const ttsp_chart *c, double xlo, double xhi,
							   double ylo, double yhi, double w, double h, double *x, double *y);

/*
 * The top of the y range to draw with: yhi, or, when the legend would
 * cover a point in every corner, one high enough that every point lies
 * 4 px or more below a top corner's panel (headroom, as a chart leaves
 * room for its key rather than hide data under it).  Not for ROC charts,
 * whose square is fixed, nor for a legend taller than two thirds of the
 * box, which would squash the curves.
 */
double		plot_legend_headroom(const plot_box *b, const ttsp_chart *c, double xlo, double xhi,
								 double ylo, double yhi, double w, double h);

#endif
