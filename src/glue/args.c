/*
 * SQL arguments by name: see args.h.
 */
#include "args.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

/* The called function's argument names, kept in fn_extra. */
typedef struct ArgNames
{
	Oid			fn_oid;
	int			n;
	char	  **names;
} ArgNames;

static const ArgNames *
arg_names(FunctionCallInfo fcinfo)
{
	FmgrInfo   *fl = fcinfo->flinfo;
	ArgNames   *an;
	HeapTuple	tup;
	Datum		d;
	bool		isnull;

	if (fl == NULL || !OidIsValid(fl->fn_oid))
		elog(ERROR, "ttsp: a function that reads its arguments by name was called without its catalogue entry");
	an = fl->fn_extra;
	if (an != NULL && an->fn_oid == fl->fn_oid)
		return an;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fl->fn_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fl->fn_oid);
	an = MemoryContextAllocZero(fl->fn_mcxt, sizeof(ArgNames));
	an->fn_oid = fl->fn_oid;
	d = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_proargnames, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		int			i;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &an->n);
		an->names = MemoryContextAlloc(fl->fn_mcxt, Max(an->n, 1) * sizeof(char *));
		for (i = 0; i < an->n; i++)
			an->names[i] = MemoryContextStrdup(fl->fn_mcxt, TextDatumGetCString(elems[i]));
	}
	ReleaseSysCache(tup);
	fl->fn_extra = an;
	return an;
}

int
arg_position(FunctionCallInfo fcinfo, const char *name)
{
	const ArgNames *an = arg_names(fcinfo);
	int			i;

	for (i = 0; i < Min(an->n, PG_NARGS()); i++)
		if (strcmp(an->names[i], name) == 0)
			return i;
	return -1;
}

bool
arg_isnull(FunctionCallInfo fcinfo, const char *name)
{
	int			i = arg_position(fcinfo, name);

	return i < 0 || PG_ARGISNULL(i);
}

Datum
arg_datum(FunctionCallInfo fcinfo, const char *name)
{
	int			i = arg_position(fcinfo, name);

	if (i < 0)
		elog(ERROR, "ttsp: function %s has no argument \"%s\" (the extension's SQL and library do not match)",
			 format_procedure(fcinfo->flinfo->fn_oid), name);
	return PG_GETARG_DATUM(i);
}

void
arg_require(FunctionCallInfo fcinfo, const char *name)
{
	int			i = arg_position(fcinfo, name);

	if (i < 0)
		(void) arg_datum(fcinfo, name); /* the internal error above */
	if (PG_ARGISNULL(i))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

int32
arg_int32(FunctionCallInfo fcinfo, const char *name, int32 dflt)
{
	return arg_isnull(fcinfo, name) ? dflt : DatumGetInt32(arg_datum(fcinfo, name));
}

float8
arg_float8(FunctionCallInfo fcinfo, const char *name, float8 dflt)
{
	return arg_isnull(fcinfo, name) ? dflt : DatumGetFloat8(arg_datum(fcinfo, name));
}

bool
arg_bool(FunctionCallInfo fcinfo, const char *name, bool dflt)
{
	return arg_isnull(fcinfo, name) ? dflt : DatumGetBool(arg_datum(fcinfo, name));
}

char *
arg_text(FunctionCallInfo fcinfo, const char *name)
{
	return arg_isnull(fcinfo, name) ? NULL : TextDatumGetCString(arg_datum(fcinfo, name));
}
