#include "windows.h"

#include <stddef.h>

ttsp_status
ttsp_window_starts(int total, int window, int hop, int *starts, int *count, ttsp_error *err)
{
	int			n = 0;

	*count = 0;
	if (total < 1 || window < 1 || hop < 1 || hop > window)
		return ttsp_fail(err, TTSP_EINVAL,
						 "windows of %d frames with hop %d over %d frames: need total >= 1, "
						 "window >= 1 and 1 <= hop <= window", window, hop, total);
	if (total <= window)
	{
		if (starts != NULL)
			starts[0] = 0;
		*count = 1;
		return TTSP_OK;
	}
	/* every start s with s + window <= total, in steps of hop */
	for (int s = 0; s <= total - window; s += hop)
	{
		if (starts != NULL)
			starts[n] = s;
		n++;
	}
	/* the last of those ended before the clip did: one more, flush with the end */
	if ((n - 1) * hop + window < total)
	{
		if (starts != NULL)
			starts[n] = total - window;
		n++;
	}
	*count = n;
	return TTSP_OK;
}
