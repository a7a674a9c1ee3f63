/*
 * Axis ticks at "nice" numbers (1, 2 or 5 times a power of ten) and their
 * labels.  Plain C, no cairo and no postgres.h, so it is tested alone.
 */
#ifndef TTSP_PLOT_TICKS_H
#define TTSP_PLOT_TICKS_H

#include <stdbool.h>
#include <stddef.h>

/* Most ticks ttsp_ticks writes, whatever max_ticks asks. */
#define TTSP_MAX_TICKS 32

/*
 * Ticks for an axis from lo to hi: every multiple of the smallest nice step
 * that gives at most max_ticks of them inside [lo, hi] (2 <= max_ticks <=
 * TTSP_MAX_TICKS).  integer: the step is at least 1 (epochs, indices).
 * Writes the ticks in increasing order to ticks (TTSP_MAX_TICKS doubles) and
 * the step to *step; returns how many (0 when lo or hi is not finite or
 * hi < lo; one tick at lo when hi == lo).  For hi > lo and max_ticks >= 5
 * there are always at least 2 (integer: when the range spans at least 2).
 */
int			ttsp_ticks(double lo, double hi, int max_ticks, bool integer,
					   double *ticks, double *step);

/*
 * Label of tick value v on an axis of the given step: as many decimals as
 * the step needs (0.25 steps show 2, 500 steps none), no "-0"; %g beyond
 * 1e6 or below 1e-4.
 */
void		ttsp_tick_label(double v, double step, char *buf, size_t len);

#endif
