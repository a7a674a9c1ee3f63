/*
 * Shared pieces of the SQL glue: GUCs, error mapping, array helpers and
 * audio sources.  Only the glue includes postgres.h.
 */
#ifndef TTSP_GLUE_H
#define TTSP_GLUE_H

#include "postgres.h"

#include "utils/array.h"
#include "utils/memutils.h"

#include "decode.h"
#include "hugemem.h"
#include "ttsp_status.h"

/* GUCs */
extern char *ttsp_audio_dir;
extern double ttsp_max_duration;
extern int	ttsp_threads;
extern int	ttsp_train_memory;	/* kB */
extern bool ttsp_averaged_moments;
extern char *ttsp_default_model;

/* ereport(ERROR) for a failed core call, with the status's SQLSTATE. */
extern void ttsp_report(const ttsp_error *err) pg_attribute_noreturn();

/* ERROR unless a core call succeeded. */
static inline void
ttsp_check(ttsp_status st, const ttsp_error *err)
{
	if (st != TTSP_OK)
		ttsp_report(err);
}

/*
 * Zeroed memory in a mapping of its own (hugemem.h: one page fault per 2 MB
 * for large buffers), released when the current memory context goes away
 * or earlier by glue_unmap.  ERROR 53200 when it cannot be had.
 */
typedef struct GlueMapping
{
	ttsp_mapping map;
	MemoryContextCallback cb;
} GlueMapping;

extern void *glue_map_zeroed(Size bytes, const char *what, GlueMapping **mapping);
extern void glue_unmap(GlueMapping *m);

/*
 * Whether a value is stored out of line and uncompressed, so that its bytes
 * can be read from its TOAST chunks directly (its pointer in *ptr).
 */
struct varatt_external;
extern bool glue_toast_uncompressed(struct varlena *v, struct varatt_external *ptr);

/* A float4 array of the given shape, copying data (C order). */
extern ArrayType *ttsp_float4_array(int ndim, const int *dims, const float *data);

/*
 * A decoder whose FFmpeg state is released when the current memory context
 * goes away, so an ERROR or a cancel in mid-decode leaks nothing.
 */
typedef struct GlueDecoder
{
	ttsp_decoder *dec;
	MemoryContextCallback cb;
} GlueDecoder;

extern GlueDecoder *glue_decoder_open(bytea *audio, const ttsp_decode_opts *opts);
extern void glue_decoder_close(GlueDecoder *gd);

/* Decode options from the arguments sample_rate, mono, offset_s and duration_s (NULLs take the defaults). */
extern void glue_decode_opts(ttsp_decode_opts *opts, FunctionCallInfo fcinfo);

/* ERROR 42501 unless the user has pg_read_server_files' privileges. */
extern void ttsp_check_read_server_files(void);

/* <ttsp.audio_dir>/<music_id>.mp3, after the privilege check. */
extern bytea *ttsp_read_music_file(int64 music_id);

#endif
