/* Module set-up, GUCs and the mapping from core errors to SQL errors. */
#include "ttsp_glue.h"

#include <limits.h>

#include "fmgr.h"
#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

char	   *ttsp_audio_dir = NULL;
double		ttsp_max_duration = 600.0;
int			ttsp_threads = 1;
int			ttsp_train_memory = 1024 * 1024;
bool		ttsp_averaged_moments = false;
char	   *ttsp_default_model = NULL;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("ttsp.audio_dir",
							   "Directory holding <music_id>.mp3 files for the music_id forms of ttsp functions.",
							   "Only superusers may set it; reading needs pg_read_server_files.",
							   &ttsp_audio_dir, "", PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("ttsp.max_duration",
							 "Longest audio, in seconds, that ttsp decodes.",
							 "Bounds memory whatever a file claims; longer audio is an error.",
							 &ttsp_max_duration, 600.0, 0.1, 86400.0, PGC_USERSET, GUC_UNIT_S,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("ttsp.threads",
							"Threads for training and prediction (the CNN's own thread pool).",
							"Results are bit-identical at any thread count.",
							&ttsp_threads, 1, 1, 64, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ttsp.train_memory",
							"Memory ttsp_train may use for the network, its optimiser and the training data.",
							"When the data does not fit, batches are streamed from the source each epoch.",
							&ttsp_train_memory, 1024 * 1024, 16 * 1024, INT_MAX, PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("ttsp.averaged_moments",
							 "strategy 'averaged': average the optimiser's moments across partial trainings and carry them between rounds.",
							 "Off: each partial training of each round starts a fresh optimiser (bench/averaged compares both).",
							 &ttsp_averaged_moments, false, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("ttsp.default_model",
							   "Model used by ttsp_predict(music_id); empty means the newest.",
							   NULL, &ttsp_default_model, "", PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("ttsp");
}

bool
glue_toast_uncompressed(struct varlena *v, struct varatt_external *ptr)
{
	if (!VARATT_IS_EXTERNAL_ONDISK(v))
		return false;
	VARATT_EXTERNAL_GET_POINTER(*ptr, v);
	return !VARATT_EXTERNAL_IS_COMPRESSED(*ptr);
}

void
ttsp_report(const ttsp_error *err)
{
	int			code;

	switch (err->code)
	{
		case TTSP_EINVAL:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case TTSP_ECORRUPT:
			code = ERRCODE_DATA_CORRUPTED;
			break;
		case TTSP_EUNSUPPORTED:
			code = ERRCODE_FEATURE_NOT_SUPPORTED;
			break;
		case TTSP_ELIMIT:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case TTSP_ERANGE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		case TTSP_ENOMEM:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR, (errcode(code), errmsg("%s", err->msg)));
}

static void
unmap_callback(void *arg)
{
	ttsp_unmap(&((GlueMapping *) arg)->map);
}

void *
glue_map_zeroed(Size bytes, const char *what, GlueMapping **mapping)
{
	GlueMapping *m = palloc0(sizeof(GlueMapping));
	void	   *p = ttsp_map_zeroed(bytes, &m->map);

	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for %zu bytes of %s", (size_t) bytes, what)));
	m->cb.func = unmap_callback;
	m->cb.arg = m;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &m->cb);
	if (mapping)
		*mapping = m;
	return p;
}

void
glue_unmap(GlueMapping *m)
{
	ttsp_unmap(&m->map);
}

ArrayType *
ttsp_float4_array(int ndim, const int *dims, const float *data)
{
	int			lbs[MAXDIM];
	Size		nitems = 1;
	Size		nbytes;
	ArrayType  *arr;
	int			i;

	for (i = 0; i < ndim; i++)
	{
		lbs[i] = 1;
		nitems *= dims[i];
	}
	nbytes = ARR_OVERHEAD_NONULLS(ndim) + nitems * sizeof(float);
	if (nitems > MaxArraySize || nbytes > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("result of %zu values exceeds the maximum array size", nitems)));
	arr = palloc(nbytes);
	SET_VARSIZE(arr, nbytes);
	arr->ndim = ndim;
	arr->dataoffset = 0;
	arr->elemtype = FLOAT4OID;
	memcpy(ARR_DIMS(arr), dims, ndim * sizeof(int));
	memcpy(ARR_LBOUND(arr), lbs, ndim * sizeof(int));
	memcpy(ARR_DATA_PTR(arr), data, nitems * sizeof(float));
	return arr;
}
