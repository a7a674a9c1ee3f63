/*
 * Where a model's fixed-width input windows sit on a longer clip.  Shared
 * by saliency now and by sliding-window prediction later, so that both see
 * exactly the same windows.  No postgres.h.
 */
#ifndef TTSP_WINDOWS_H
#define TTSP_WINDOWS_H

#include "ttsp_status.h"

/*
 * Start frames of windows of `window` frames with a hop of `hop` over a
 * clip of `total` frames: 0, hop, 2 hop, ... while the window fits, then
 * one last window ending exactly at the clip's end if those left a tail
 * uncovered.  A clip no longer than a window has one window at 0 (the
 * caller pads it).  total >= 1, window >= 1, 1 <= hop <= window, else
 * TTSP_EINVAL.  starts may be NULL to count only; *count receives the
 * number (at most total).
 */
ttsp_status ttsp_window_starts(int total, int window, int hop, int *starts, int *count,
							   ttsp_error *err);

/* The hop used for prediction and saliency: half a window, at least 1. */
static inline int
ttsp_window_hop(int window)
{
	return window / 2 > 0 ? window / 2 : 1;
}

#endif
