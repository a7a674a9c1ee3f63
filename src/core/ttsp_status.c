#include "ttsp_status.h"

#include <stdarg.h>
#include <stdio.h>

ttsp_status
ttsp_fail(ttsp_error *err, ttsp_status code, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
