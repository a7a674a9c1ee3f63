/* Minimal TAP producer for the core's C unit tests (no server needed). */
#ifndef TTSP_TAP_H
#define TTSP_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int	tap_count;
static int	tap_failed;

static inline int
ok(int cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cond;
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
