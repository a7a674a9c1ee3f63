#include "decode.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

/* FFmpeg is loaded on first use: its functions are ttsp_ffmpeg's pointers */
#include "ffmpeg_lazy.h"

#define AVIO_BUFFER_SIZE 32768

/* Highest sample rate accepted in or out: real audio stops at 768 kHz. */
#define MAX_SAMPLE_RATE 768000

/* Decoding stops being lenient after this many rejected packets in a row. */
#define MAX_CONSECUTIVE_BAD_PACKETS 64

typedef enum
{
	DEC_READING,				/* feeding packets */
	DEC_DRAINING,				/* demuxer done, emptying the codec */
	DEC_FLUSHING,				/* codec done, emptying the resampler */
	DEC_DONE
} dec_state;

struct ttsp_decoder
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;

	AVIOContext *avio;
	AVFormatContext *fmt;
	AVCodecContext *codec;
	SwrContext *swr;
	AVPacket   *pkt;
	AVFrame    *frame;
	int			stream_index;

	int			in_channels;
	int			in_rate;
	enum AVSampleFormat in_format;
	int			out_rate;
	int			out_channels;

	int			started;		/* first frame seen, output format set up */
	int			passthrough;	/* decoder already gives float planes at the wanted rate */
	float *const *src;			/* planes of the last converted chunk */
	float	  **conv;			/* resampler output, in_channels planes */
	int			conv_cap;
	float	   *mono;			/* channel average when opts.mono */
	float	   *out_planes[AV_NUM_DATA_POINTERS];

	int64_t		to_skip;		/* frames still to drop for offset_s */
	int64_t		to_emit;		/* frames still wanted, -1 for all */
	int64_t		decoded;		/* frames produced by the resampler */
	int64_t		limit;			/* max_duration_s in output frames */
	double		max_duration_s;
	int			bad_packets;
	int			bad_in_a_row;
	dec_state	state;
};

static void (*log_sink) (int level, const char *msg);

static void
log_callback(void *avcl, int level, const char *fmt, va_list vl)
{
	char		line[1024];
	int			print_prefix = 1;

	if (log_sink == NULL || level > AV_LOG_VERBOSE)
		return;
	ttsp_ffmpeg.av_log_format_line(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
	line[strcspn(line, "\n")] = '\0';
	if (line[0] != '\0')
		log_sink(level, line);
}

void
ttsp_decoder_set_log(void (*sink) (int level, const char *msg))
{
	log_sink = sink;
	/* if FFmpeg cannot load, ttsp_decoder_open says why */
	if (ttsp_ffmpeg_load(NULL) != TTSP_OK)
		return;
	ttsp_ffmpeg.av_log_set_callback(sink ? log_callback : NULL);
	if (sink == NULL)
		ttsp_ffmpeg.av_log_set_level(AV_LOG_QUIET);
}

static int
mem_read(void *opaque, uint8_t *buf, int size)
{
	ttsp_decoder *dec = opaque;
	size_t		n = dec->len - dec->pos;

	if (n == 0)
		return AVERROR_EOF;
	if (n > (size_t) size)
		n = size;
	memcpy(buf, dec->data + dec->pos, n);
	dec->pos += n;
	return (int) n;
}

static int64_t
mem_seek(void *opaque, int64_t offset, int whence)
{
	ttsp_decoder *dec = opaque;
	int64_t		base;

	switch (whence & ~AVSEEK_FORCE)
	{
		case AVSEEK_SIZE:
			return (int64_t) dec->len;
		case SEEK_SET:
			base = 0;
			break;
		case SEEK_CUR:
			base = (int64_t) dec->pos;
			break;
		case SEEK_END:
			base = (int64_t) dec->len;
			break;
		default:
			return AVERROR(EINVAL);
	}
	if (offset < -base || base + offset > (int64_t) dec->len)
		return AVERROR(EINVAL);
	dec->pos = (size_t) (base + offset);
	return (int64_t) dec->pos;
}

/*
 * Demuxers such as HLS or concat open further URLs; from SQL that would be
 * a way to read server files or reach the network, so refuse all of them.
 */
static int
deny_io_open(struct AVFormatContext *s, AVIOContext **pb, const char *url,
			 int flags, AVDictionary **options)
{
	(void) s, (void) pb, (void) url, (void) flags, (void) options;
	return AVERROR(EPERM);
}

static const char *
av_message(int code, char *buf, size_t len)
{
	ttsp_ffmpeg.av_strerror(code, buf, len);
	return buf;
}

static ttsp_status
check_opts(const ttsp_decode_opts *o, ttsp_error *err)
{
	if (o->sample_rate < 0 || o->sample_rate > MAX_SAMPLE_RATE)
		return ttsp_fail(err, TTSP_EINVAL,
						 "sample_rate must be between 1 and %d, got %d", MAX_SAMPLE_RATE, o->sample_rate);
	if (!isfinite(o->offset_s) || o->offset_s < 0)
		return ttsp_fail(err, TTSP_EINVAL,
						 "offset_s must be a finite number >= 0, got %g", o->offset_s);
	if (o->duration_s != -1 && !(o->duration_s > 0 && isfinite(o->duration_s)))
		return ttsp_fail(err, TTSP_EINVAL,
						 "duration_s must be a positive finite number, got %g", o->duration_s);
	if (!(o->max_duration_s > 0) || !isfinite(o->max_duration_s))
		return ttsp_fail(err, TTSP_EINVAL,
						 "max_duration_s must be positive, got %g", o->max_duration_s);
	return TTSP_OK;
}

static ttsp_status
open_codec(ttsp_decoder *dec, ttsp_error *err)
{
	AVStream   *st;
	const AVCodec *codec = NULL;
	char		msg[128];
	int			ret;

	ret = ttsp_ffmpeg.av_find_best_stream(dec->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
	if (ret == AVERROR_STREAM_NOT_FOUND)
		return ttsp_fail(err, TTSP_ECORRUPT, "no audio stream in the %s data",
						 dec->fmt->iformat->name);
	if (ret < 0 || codec == NULL)
		return ttsp_fail(err, TTSP_EUNSUPPORTED, "no decoder for the audio stream in the %s data",
						 dec->fmt->iformat->name);
	dec->stream_index = ret;
	st = dec->fmt->streams[ret];

	dec->codec = ttsp_ffmpeg.avcodec_alloc_context3(codec);
	if (dec->codec == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory allocating the audio decoder");
	ret = ttsp_ffmpeg.avcodec_parameters_to_context(dec->codec, st->codecpar);
	if (ret < 0)
		return ttsp_fail(err, TTSP_ECORRUPT, "invalid %s stream parameters: %s",
						 codec->name, av_message(ret, msg, sizeof(msg)));
	/* Decoder threads would call our log sink off the backend's thread. */
	dec->codec->thread_count = 1;
	ret = ttsp_ffmpeg.avcodec_open2(dec->codec, codec, NULL);
	if (ret < 0)
		return ttsp_fail(err, TTSP_ECORRUPT, "cannot open the %s decoder: %s",
						 codec->name, av_message(ret, msg, sizeof(msg)));
	return TTSP_OK;
}

/* Set up format conversion for the shape of the first decoded frame. */
static ttsp_status
open_resampler(ttsp_decoder *dec, const AVFrame *f, ttsp_error *err)
{
	AVChannelLayout layout = {0};
	char		msg[128];
	int			ret;

	if (f->ch_layout.nb_channels < 1 || f->ch_layout.nb_channels > AV_NUM_DATA_POINTERS)
		return ttsp_fail(err, TTSP_EUNSUPPORTED, "audio with %d channels is not supported (1 to %d)",
						 f->ch_layout.nb_channels, AV_NUM_DATA_POINTERS);
	/* a declared rate of MHz would make resampling crawl: not audio */
	if (f->sample_rate <= 0 || f->sample_rate > MAX_SAMPLE_RATE)
		return ttsp_fail(err, TTSP_ECORRUPT, "decoded audio has an invalid sample rate %d Hz (1 to %d)",
						 f->sample_rate, MAX_SAMPLE_RATE);

	/* the output shape was promised at open: frames must keep to it */
	if (dec->out_channels != 1 && f->ch_layout.nb_channels != dec->out_channels)
		return ttsp_fail(err, TTSP_ECORRUPT, "decoded audio has %d channels but the stream declares %d",
						 f->ch_layout.nb_channels, dec->out_channels);
	dec->in_channels = f->ch_layout.nb_channels;
	dec->in_rate = f->sample_rate;
	dec->in_format = f->format;
	if (dec->out_rate == 0)
		dec->out_rate = f->sample_rate;
	dec->started = 1;
	dec->passthrough = f->format == AV_SAMPLE_FMT_FLTP && f->sample_rate == dec->out_rate;
	if (dec->passthrough)
		return TTSP_OK;

	/* Same layout in and out: only format and rate change, never the mix. */
	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		ttsp_ffmpeg.av_channel_layout_default(&layout, dec->in_channels);
	else if (ttsp_ffmpeg.av_channel_layout_copy(&layout, &f->ch_layout) < 0)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory copying a channel layout");
	ret = ttsp_ffmpeg.swr_alloc_set_opts2(&dec->swr, &layout, AV_SAMPLE_FMT_FLTP, dec->out_rate,
							  &layout, f->format, f->sample_rate, 0, NULL);
	ttsp_ffmpeg.av_channel_layout_uninit(&layout);
	if (ret < 0 || (ret = ttsp_ffmpeg.swr_init(dec->swr)) < 0)
		return ttsp_fail(err, TTSP_EINTERNAL, "cannot set up the resampler: %s",
						 av_message(ret, msg, sizeof(msg)));
	return TTSP_OK;
}

static ttsp_status
alloc_fail(ttsp_error *err)
{
	return ttsp_fail(err, TTSP_ENOMEM, "out of memory while decoding audio");
}

ttsp_status
ttsp_decoder_open(ttsp_decoder **decp, const uint8_t *data, size_t len,
				  const ttsp_decode_opts *opts, ttsp_error *err)
{
	ttsp_decoder *dec;
	uint8_t    *iobuf;
	char		msg[128];
	int			ret;
	ttsp_status st;

	*decp = NULL;
	if ((st = check_opts(opts, err)) != TTSP_OK || (st = ttsp_ffmpeg_load(err)) != TTSP_OK)
		return st;
	if (len == 0)
		return ttsp_fail(err, TTSP_ECORRUPT, "audio data is empty");

	dec = calloc(1, sizeof(*dec));
	if (dec == NULL)
		return alloc_fail(err);
	*decp = dec;
	dec->data = data;
	dec->len = len;
	dec->out_rate = opts->sample_rate;
	dec->out_channels = opts->mono ? 1 : 0;
	dec->max_duration_s = opts->max_duration_s;
	dec->state = DEC_READING;

	iobuf = ttsp_ffmpeg.av_malloc(AVIO_BUFFER_SIZE);
	if (iobuf == NULL)
		return alloc_fail(err);
	dec->avio = ttsp_ffmpeg.avio_alloc_context(iobuf, AVIO_BUFFER_SIZE, 0, dec, mem_read, NULL, mem_seek);
	if (dec->avio == NULL)
	{
		ttsp_ffmpeg.av_free(iobuf);
		return alloc_fail(err);
	}
	dec->fmt = ttsp_ffmpeg.avformat_alloc_context();
	dec->pkt = ttsp_ffmpeg.av_packet_alloc();
	dec->frame = ttsp_ffmpeg.av_frame_alloc();
	if (dec->fmt == NULL || dec->pkt == NULL || dec->frame == NULL)
		return alloc_fail(err);
	dec->fmt->pb = dec->avio;
	dec->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	dec->fmt->io_open = deny_io_open;

	ret = ttsp_ffmpeg.avformat_open_input(&dec->fmt, NULL, NULL, NULL);
	if (ret < 0)
	{
		/* avformat_open_input frees the context on failure */
		dec->fmt = NULL;
		return ttsp_fail(err, TTSP_ECORRUPT, "unrecognized audio format (%s)",
						 av_message(ret, msg, sizeof(msg)));
	}
	ret = ttsp_ffmpeg.avformat_find_stream_info(dec->fmt, NULL);
	if (ret < 0)
		return ttsp_fail(err, TTSP_ECORRUPT, "cannot read stream information: %s",
						 av_message(ret, msg, sizeof(msg)));
	if ((st = open_codec(dec, err)) != TTSP_OK)
		return st;

	/* Output rate and channels are final here unless the stream decides them. */
	if (dec->out_rate == 0)
		dec->out_rate = dec->codec->sample_rate;
	if (dec->out_channels == 0)
		dec->out_channels = dec->codec->ch_layout.nb_channels;
	if (dec->out_rate <= 0 || dec->out_channels <= 0 || dec->out_rate > MAX_SAMPLE_RATE ||
		dec->codec->sample_rate > MAX_SAMPLE_RATE)
		return ttsp_fail(err, TTSP_ECORRUPT, "audio stream declares %d channels at %d Hz",
						 dec->out_channels, dec->codec->sample_rate);
	if (dec->out_channels > AV_NUM_DATA_POINTERS)
		return ttsp_fail(err, TTSP_EUNSUPPORTED, "audio with %d channels is not supported (1 to %d)",
						 dec->out_channels, AV_NUM_DATA_POINTERS);

	dec->to_skip = llround(opts->offset_s * dec->out_rate);
	dec->to_emit = opts->duration_s < 0 ? -1 : llround(opts->duration_s * dec->out_rate);
	dec->limit = llround(opts->max_duration_s * dec->out_rate);
	return TTSP_OK;
}

int
ttsp_decoder_channels(const ttsp_decoder *dec)
{
	return dec->out_channels;
}

int
ttsp_decoder_sample_rate(const ttsp_decoder *dec)
{
	return dec->out_rate;
}

int64_t
ttsp_decoder_max_frames(const ttsp_decoder *dec)
{
	int64_t		cap = dec->limit - dec->to_skip;

	if (cap < 0)
		cap = 0;
	if (dec->to_emit >= 0 && dec->to_emit < cap)
		cap = dec->to_emit;
	return cap;
}

int64_t
ttsp_decoder_expected_frames(const ttsp_decoder *dec)
{
	int64_t		cap = ttsp_decoder_max_frames(dec);
	int64_t		duration = dec->fmt->duration;
	int64_t		guess;

	if (duration <= 0)
		return cap < 65536 ? cap : 65536;
	/* a little over the declared length, so an exact one needs no regrowth */
	guess = ttsp_ffmpeg.av_rescale(duration, dec->out_rate, AV_TIME_BASE) + 4096 - dec->to_skip;
	if (guess < 1)
		guess = 1;
	return guess < cap ? guess : cap;
}

int
ttsp_decoder_bad_packets(const ttsp_decoder *dec)
{
	return dec->bad_packets;
}

int64_t
ttsp_decoder_decoded_frames(const ttsp_decoder *dec)
{
	return dec->decoded;
}

static ttsp_status
grow_conv(ttsp_decoder *dec, int need, ttsp_error *err)
{
	int			ch;

	if (need <= dec->conv_cap)
		return TTSP_OK;
	if (dec->conv == NULL)
	{
		dec->conv = calloc(dec->in_channels, sizeof(float *));
		if (dec->conv == NULL)
			return alloc_fail(err);
	}
	for (ch = 0; ch < dec->in_channels; ch++)
	{
		float	   *p = realloc(dec->conv[ch], (size_t) need * sizeof(float));

		if (p == NULL)
			return alloc_fail(err);
		dec->conv[ch] = p;
	}
	if (dec->out_channels == 1 && dec->in_channels > 1)
	{
		float	   *p = realloc(dec->mono, (size_t) need * sizeof(float));

		if (p == NULL)
			return alloc_fail(err);
		dec->mono = p;
	}
	dec->conv_cap = need;
	return TTSP_OK;
}

/* Run the resampler on a frame (or flush it with NULL); returns frames out. */
static ttsp_status
convert(ttsp_decoder *dec, const AVFrame *f, int *nout, ttsp_error *err)
{
	char		msg[128];
	int			in = f ? f->nb_samples : 0;
	int			n;
	ttsp_status st;

	if (f != NULL && (f->ch_layout.nb_channels != dec->in_channels ||
					  f->sample_rate != dec->in_rate || f->format != dec->in_format))
		return ttsp_fail(err, TTSP_EUNSUPPORTED,
						 "audio format changes in mid-stream (%d Hz, %d channels to %d Hz, %d channels)",
						 dec->in_rate, dec->in_channels, f->sample_rate, f->ch_layout.nb_channels);
	if (dec->passthrough)
	{
		/* The frame's own planes; it stays referenced until the next read. */
		if ((st = grow_conv(dec, in, err)) != TTSP_OK)
			return st;
		dec->src = f ? (float *const *) f->extended_data : NULL;
		*nout = in;
		return TTSP_OK;
	}
	if ((st = grow_conv(dec, ttsp_ffmpeg.swr_get_out_samples(dec->swr, in) + 16, err)) != TTSP_OK)
		return st;
	dec->src = dec->conv;
	n = ttsp_ffmpeg.swr_convert(dec->swr, (uint8_t **) dec->conv, dec->conv_cap,
					f ? (const uint8_t **) f->extended_data : NULL, in);
	if (n < 0)
		return ttsp_fail(err, TTSP_EINTERNAL, "resampling failed: %s", av_message(n, msg, sizeof(msg)));
	*nout = n;
	return TTSP_OK;
}

/* Apply offset, duration, the length limit and mono to n converted frames. */
static ttsp_status
emit(ttsp_decoder *dec, int n, float *const **planes, int *nframes, ttsp_error *err)
{
	int			first = 0;
	int			ch;
	int			i;

	/* past the limit only if frames beyond it are wanted, not just decoded */
	{
		int64_t		wanted_end = dec->decoded + n;

		if (dec->to_emit >= 0)
			wanted_end = dec->decoded + dec->to_skip + dec->to_emit;
		dec->decoded += n;
		if (wanted_end > dec->limit && dec->decoded > dec->limit)
			return ttsp_fail(err, TTSP_ELIMIT,
							 "audio is longer than the limit of %g seconds", dec->max_duration_s);
	}
	if (dec->to_skip > 0)
	{
		first = dec->to_skip < n ? (int) dec->to_skip : n;
		dec->to_skip -= first;
		n -= first;
	}
	if (dec->to_emit >= 0)
	{
		if (n > dec->to_emit)
			n = (int) dec->to_emit;
		dec->to_emit -= n;
		if (dec->to_emit == 0)
			dec->state = DEC_DONE;
	}
	if (dec->out_channels == 1 && dec->in_channels > 1)
	{
		for (i = 0; i < n; i++)
		{
			float		sum = 0;

			for (ch = 0; ch < dec->in_channels; ch++)
				sum += dec->src[ch][first + i];
			dec->mono[i] = sum / dec->in_channels;
		}
		dec->out_planes[0] = dec->mono;
	}
	else
		for (ch = 0; ch < dec->in_channels; ch++)
			dec->out_planes[ch] = dec->src[ch] + first;
	*planes = dec->out_planes;
	*nframes = n;
	return TTSP_OK;
}

static void
note_bad_packet(ttsp_decoder *dec)
{
	dec->bad_packets++;
	dec->bad_in_a_row++;
}

ttsp_status
ttsp_decoder_read(ttsp_decoder *dec, float *const **planes, int *nframes, ttsp_error *err)
{
	char		msg[128];
	ttsp_status st;
	int			n;
	int			ret;

	*nframes = 0;
	*planes = dec->out_planes;
	ttsp_ffmpeg.av_frame_unref(dec->frame);
	while (dec->state != DEC_DONE)
	{
		if (dec->bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS)
			return ttsp_fail(err, TTSP_ECORRUPT,
							 "audio data is corrupt: %d packets in a row could not be decoded",
							 dec->bad_in_a_row);
		if (dec->state == DEC_FLUSHING)
		{
			if ((st = convert(dec, NULL, &n, err)) != TTSP_OK)
				return st;
			if (n == 0)
				dec->state = DEC_DONE;
			else if ((st = emit(dec, n, planes, nframes, err)) != TTSP_OK || *nframes > 0)
				return st;
			continue;
		}

		ret = ttsp_ffmpeg.avcodec_receive_frame(dec->codec, dec->frame);
		if (ret == 0)
		{
			dec->bad_in_a_row = 0;
			if (!dec->started && (st = open_resampler(dec, dec->frame, err)) != TTSP_OK)
				return st;
			if ((st = convert(dec, dec->frame, &n, err)) != TTSP_OK)
				return st;
			/* Frames all dropped by offset_s: keep going. */
			if (n > 0 && ((st = emit(dec, n, planes, nframes, err)) != TTSP_OK || *nframes > 0))
				return st;
			continue;
		}
		if (ret == AVERROR_EOF)
		{
			dec->state = dec->started ? DEC_FLUSHING : DEC_DONE;
			continue;
		}
		if (ret != AVERROR(EAGAIN))
			note_bad_packet(dec);
		if (dec->state == DEC_DRAINING)
		{
			if (ret != AVERROR(EAGAIN))
				continue;
			return ttsp_fail(err, TTSP_EINTERNAL, "decoder asked for input while draining");
		}

		/* The codec wants input: demux the next packet of our stream. */
		ret = ttsp_ffmpeg.av_read_frame(dec->fmt, dec->pkt);
		if (ret < 0)
		{
			/* End of data, or damage the demuxer cannot step over: drain. */
			if (ret != AVERROR_EOF)
				ttsp_ffmpeg.av_log(dec->fmt, AV_LOG_VERBOSE, "demuxing stopped: %s\n",
					   av_message(ret, msg, sizeof(msg)));
			ttsp_ffmpeg.avcodec_send_packet(dec->codec, NULL);
			dec->state = DEC_DRAINING;
			continue;
		}
		if (dec->pkt->stream_index == dec->stream_index)
		{
			ret = ttsp_ffmpeg.avcodec_send_packet(dec->codec, dec->pkt);
			if (ret < 0 && ret != AVERROR(EAGAIN))
				note_bad_packet(dec);
		}
		ttsp_ffmpeg.av_packet_unref(dec->pkt);
	}
	return TTSP_OK;
}

void
ttsp_decoder_close(ttsp_decoder *dec)
{
	int			ch;

	if (dec == NULL)
		return;
	ttsp_ffmpeg.swr_free(&dec->swr);
	ttsp_ffmpeg.avcodec_free_context(&dec->codec);
	ttsp_ffmpeg.av_packet_free(&dec->pkt);
	ttsp_ffmpeg.av_frame_free(&dec->frame);
	if (dec->fmt != NULL)
		ttsp_ffmpeg.avformat_close_input(&dec->fmt);
	if (dec->avio != NULL)
	{
		ttsp_ffmpeg.av_freep(&dec->avio->buffer);
		ttsp_ffmpeg.avio_context_free(&dec->avio);
	}
	if (dec->conv != NULL)
		for (ch = 0; ch < dec->in_channels; ch++)
			free(dec->conv[ch]);
	free(dec->conv);
	free(dec->mono);
	free(dec);
}
