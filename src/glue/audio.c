/* ttsp_load_mp3: decode audio from bytea or from ttsp.audio_dir. */
#include "args.h"
#include "ttsp_glue.h"

#include <sys/stat.h>

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(ttsp_load_mp3);
PG_FUNCTION_INFO_V1(ttsp_load_mp3_id);

static void
ffmpeg_log(int level, const char *msg)
{
	(void) level;				/* all of FFmpeg's chatter is debug output here */
	elog(DEBUG1, "ffmpeg: %s", msg);
}

static void
release_decoder(void *arg)
{
	GlueDecoder *gd = arg;

	ttsp_decoder_close(gd->dec);
	gd->dec = NULL;
}

GlueDecoder *
glue_decoder_open(bytea *audio, const ttsp_decode_opts *opts)
{
	GlueDecoder *gd = palloc0(sizeof(GlueDecoder));
	ttsp_error	err;

	/* FFmpeg's logging is global state; set it up in the backend, lazily. */
	ttsp_decoder_set_log(ffmpeg_log);
	gd->cb.func = release_decoder;
	gd->cb.arg = gd;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &gd->cb);
	ttsp_check(ttsp_decoder_open(&gd->dec, (const uint8_t *) VARDATA_ANY(audio),
								 VARSIZE_ANY_EXHDR(audio), opts, &err), &err);
	return gd;
}

void
glue_decoder_close(GlueDecoder *gd)
{
	release_decoder(gd);
}

void
glue_decode_opts(ttsp_decode_opts *opts, FunctionCallInfo fcinfo)
{
	opts->sample_rate = arg_int32(fcinfo, "sample_rate", 0);
	if (!arg_isnull(fcinfo, "sample_rate") && opts->sample_rate <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample_rate must be positive, got %d", opts->sample_rate)));
	opts->mono = arg_bool(fcinfo, "mono", false);
	opts->offset_s = arg_float8(fcinfo, "offset_s", 0);
	opts->duration_s = arg_float8(fcinfo, "duration_s", -1);
	opts->max_duration_s = ttsp_max_duration;
	if (opts->duration_s != -1 && !(opts->duration_s > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("duration_s must be a positive finite number, got %g", opts->duration_s)));
}

/*
 * Whole-file decode straight into the result array: channel c's samples sit
 * at c * cap in its data area, sized from the container's duration, and are
 * compacted to c * len at the end.  No second copy of the audio is made.
 */
static ArrayType *
decode_to_array(GlueDecoder *gd, const ttsp_decode_opts *opts)
{
	int			channels = ttsp_decoder_channels(gd->dec);
	int64		max_frames = ttsp_decoder_max_frames(gd->dec);
	int64		cap = Max(ttsp_decoder_expected_frames(gd->dec), 1);
	int64		len = 0;
	ArrayType  *arr = NULL;
	float	   *data = NULL;
	Size		nbytes;
	int			dims[2];
	int			lbs[2] = {1, 1};
	int			ch;
	ttsp_error	err;

	for (;;)
	{
		float	   *const *planes;
		int			n;

		CHECK_FOR_INTERRUPTS();
		ttsp_check(ttsp_decoder_read(gd->dec, &planes, &n, &err), &err);
		if (n == 0)
			break;
		if (arr == NULL || len + n > cap)
		{
			int64		old_cap = cap;

			if (arr != NULL)
				cap = Min(cap * 2, max_frames);
			cap = Max(cap, len + n);
			if ((Size) cap * channels > (MaxAllocSize - ARR_OVERHEAD_NONULLS(2)) / sizeof(float))
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("decoded audio is too large for an array"),
						 errhint("Decode less with duration_s or a lower ttsp.max_duration.")));
			nbytes = ARR_OVERHEAD_NONULLS(2) + (Size) cap * channels * sizeof(float);
			arr = arr ? repalloc_huge(arr, nbytes) : MemoryContextAllocHuge(CurrentMemoryContext, nbytes);
			data = (float *) ((char *) arr + ARR_OVERHEAD_NONULLS(2));
			for (ch = channels - 1; ch > 0; ch--)
				memmove(data + ch * cap, data + ch * old_cap, len * sizeof(float));
		}
		for (ch = 0; ch < channels; ch++)
			memcpy(data + ch * cap + len, planes[ch], n * sizeof(float));
		len += n;
	}
	if (len == 0)
	{
		bool		decoded_any = ttsp_decoder_decoded_frames(gd->dec) > 0;

		glue_decoder_close(gd);
		if (decoded_any)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("offset_s %g is past the end of the audio", opts->offset_s)));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("no audio samples could be decoded")));
	}
	if (ttsp_decoder_bad_packets(gd->dec) > 0)
		ereport(DEBUG1,
				(errmsg("skipped %d damaged audio packets", ttsp_decoder_bad_packets(gd->dec))));

	for (ch = 1; ch < channels; ch++)
		memmove(data + ch * len, data + ch * cap, len * sizeof(float));
	nbytes = ARR_OVERHEAD_NONULLS(2) + (Size) len * channels * sizeof(float);
	SET_VARSIZE(arr, nbytes);
	arr->ndim = 2;
	arr->dataoffset = 0;
	arr->elemtype = FLOAT4OID;
	dims[0] = channels;
	dims[1] = (int) len;
	memcpy(ARR_DIMS(arr), dims, sizeof(dims));
	memcpy(ARR_LBOUND(arr), lbs, sizeof(lbs));
	return arr;
}

static Datum
decode_to_record(FunctionCallInfo fcinfo, bytea *audio)
{
	ttsp_decode_opts opts;
	GlueDecoder *gd;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	glue_decode_opts(&opts, fcinfo);
	gd = glue_decoder_open(audio, &opts);
	values[1] = Int32GetDatum(ttsp_decoder_sample_rate(gd->dec));
	values[0] = PointerGetDatum(decode_to_array(gd, &opts));
	glue_decoder_close(gd);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
ttsp_load_mp3(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	return decode_to_record(fcinfo, PG_GETARG_BYTEA_PP(0));
}

void
ttsp_check_read_server_files(void)
{
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read audio files from ttsp.audio_dir"),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may read server files.")));
}

bytea *
ttsp_read_music_file(int64 music_id)
{
	char	   *path;
	FILE	   *file;
	struct stat st;
	bytea	   *buf;
	size_t		nread;

	ttsp_check_read_server_files();
	if (music_id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("music_id must not be negative, got " INT64_FORMAT, music_id)));
	if (ttsp_audio_dir == NULL || ttsp_audio_dir[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ttsp.audio_dir is not set"),
				 errhint("A superuser can set it, e.g. ALTER SYSTEM SET ttsp.audio_dir = '/srv/audio'.")));

	/* A bigint cannot hold '/' or '..', so the name cannot leave the directory. */
	path = psprintf("%s/" INT64_FORMAT ".mp3", ttsp_audio_dir, music_id);
	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open audio file \"%s\": %m", path)));
	if (fstat(fileno(file), &st) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat audio file \"%s\": %m", path)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("audio file \"%s\" is not a regular file", path)));
	if ((Size) st.st_size > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("audio file \"%s\" is too large (%lld bytes)", path, (long long) st.st_size)));
	buf = palloc(VARHDRSZ + st.st_size);
	nread = fread(VARDATA(buf), 1, st.st_size, file);
	if (ferror(file) || nread != (size_t) st.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read audio file \"%s\": %m", path)));
	FreeFile(file);
	SET_VARSIZE(buf, VARHDRSZ + nread);
	return buf;
}

Datum
ttsp_load_mp3_id(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	return decode_to_record(fcinfo, ttsp_read_music_file(PG_GETARG_INT64(0)));
}
