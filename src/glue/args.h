/*
 * SQL arguments by name.  The C code asks for "n_fft", never for argument
 * 7: the names come from the called function's own pg_proc row, read once
 * per call site (FmgrInfo) and kept in fn_extra.  A reordered or extended
 * SQL signature (a new release's, or an older release's still installed
 * before ALTER EXTENSION UPDATE) therefore cannot shift arguments silently.
 */
#ifndef TTSP_ARGS_H
#define TTSP_ARGS_H

#include "postgres.h"

#include "fmgr.h"

/*
 * Position of the argument called name, or -1 when the function has none
 * (an optional argument that an older signature lacks).
 */
extern int	arg_position(FunctionCallInfo fcinfo, const char *name);

/* Whether the argument is absent from the signature or NULL. */
extern bool arg_isnull(FunctionCallInfo fcinfo, const char *name);

/* The argument's value; an internal error if the function has no such argument. */
extern Datum arg_datum(FunctionCallInfo fcinfo, const char *name);

/* Typed values, with a default for NULL or absent arguments. */
extern int32 arg_int32(FunctionCallInfo fcinfo, const char *name, int32 dflt);
extern float8 arg_float8(FunctionCallInfo fcinfo, const char *name, float8 dflt);
extern bool arg_bool(FunctionCallInfo fcinfo, const char *name, bool dflt);
/* NULL when NULL or absent. */
extern char *arg_text(FunctionCallInfo fcinfo, const char *name);

/* The argument must be present and not NULL: ERROR 22004 naming it otherwise. */
extern void arg_require(FunctionCallInfo fcinfo, const char *name);

#endif
