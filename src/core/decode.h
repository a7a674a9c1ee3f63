/*
 * Audio decoding core: bytes in memory -> float samples, via FFmpeg.
 * No postgres.h; the SQL glue owns limits, cancellation and cleanup.
 *
 * Usage: open, then call read until it returns 0 frames, then close.
 * Between reads the caller may check for cancellation; close is safe on
 * any state, so an error path only has to call it once.
 */
#ifndef TTSP_DECODE_H
#define TTSP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "ttsp_status.h"

typedef struct ttsp_decoder ttsp_decoder;

typedef struct ttsp_decode_opts
{
	int			sample_rate;	/* 0 keeps the stream's rate */
	int			mono;			/* average the channels */
	double		offset_s;		/* skip this much decoded audio */
	double		duration_s;		/* -1: to the end */
	double		max_duration_s; /* decoding more than this is an error */
} ttsp_decode_opts;

/* The buffer must stay valid until ttsp_decoder_close. */
ttsp_status ttsp_decoder_open(ttsp_decoder **dec, const uint8_t *data, size_t len,
							  const ttsp_decode_opts *opts, ttsp_error *err);

/* Output shape, known once open succeeded. */
int			ttsp_decoder_channels(const ttsp_decoder *dec);
int			ttsp_decoder_sample_rate(const ttsp_decoder *dec);
/* Upper bound on output frames: what the offset/duration/limit allow. */
int64_t		ttsp_decoder_max_frames(const ttsp_decoder *dec);

/*
 * Likely output frames from the container's declared duration, capped by
 * ttsp_decoder_max_frames; a hint for sizing buffers, never a promise.
 */
int64_t		ttsp_decoder_expected_frames(const ttsp_decoder *dec);

/*
 * Decode the next chunk.  On success *planes points at one float array per
 * output channel holding *nframes samples each (0 at end of stream); the
 * arrays stay valid until the next call.
 */
ttsp_status ttsp_decoder_read(ttsp_decoder *dec, float *const **planes,
							  int *nframes, ttsp_error *err);

/* Packets the codec rejected so far (damaged data skipped, as ffmpeg does). */
int			ttsp_decoder_bad_packets(const ttsp_decoder *dec);

/* Frames the stream produced so far, including those skipped by offset_s. */
int64_t		ttsp_decoder_decoded_frames(const ttsp_decoder *dec);

/* Route FFmpeg's log messages to a sink (NULL silences them). */
void		ttsp_decoder_set_log(void (*sink) (int level, const char *msg));

void		ttsp_decoder_close(ttsp_decoder *dec);

#endif
