/*
 * Status codes shared by the numeric/media core.  The core never includes
 * postgres.h: it reports failures through a ttsp_error that the SQL glue
 * turns into ereport(ERROR) with a matching SQLSTATE.
 */
#ifndef TTSP_STATUS_H
#define TTSP_STATUS_H

typedef enum ttsp_status
{
	TTSP_OK = 0,
	TTSP_EINVAL,		/* bad argument: invalid_parameter_value */
	TTSP_ECORRUPT,		/* undecodable or malformed data: data_corrupted */
	TTSP_EUNSUPPORTED,	/* valid but not supported: feature_not_supported */
	TTSP_ELIMIT,		/* a documented limit was exceeded: program_limit_exceeded */
	TTSP_ERANGE,		/* a result overflows float: numeric_value_out_of_range */
	TTSP_ENOMEM,		/* allocation failed: out_of_memory */
	TTSP_EINTERNAL		/* library failure that is not the input's fault */
} ttsp_status;

typedef struct ttsp_error
{
	ttsp_status code;
	char		msg[256];
} ttsp_error;

/* Record code and message in err (may be NULL) and return code. */
ttsp_status ttsp_fail(ttsp_error *err, ttsp_status code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

#endif
