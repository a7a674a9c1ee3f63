/*
 * FFmpeg, loaded on first decode rather than with ttsp.so (lazy_lib.h says
 * why).  decode.c calls it as ttsp_ffmpeg.av_read_frame(...) and so on.
 * The sonames come from the headers' major versions, so the build and the
 * loaded libraries agree on the ABI.
 */
#ifndef TTSP_FFMPEG_LAZY_H
#define TTSP_FFMPEG_LAZY_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswresample/swresample.h>

#include "lazy_lib.h"

/* the sonames, dependencies first */
enum
{
	AVUTIL, SWRESAMPLE, AVCODEC, AVFORMAT, N_FFMPEG_LIBS
};

/* X(library, function): every FFmpeg function decode.c calls */
#define TTSP_FFMPEG_FUNCTIONS(X) \
	X(AVUTIL, av_channel_layout_copy) \
	X(AVUTIL, av_channel_layout_default) \
	X(AVUTIL, av_channel_layout_uninit) \
	X(AVUTIL, av_frame_alloc) \
	X(AVUTIL, av_frame_free) \
	X(AVUTIL, av_frame_unref) \
	X(AVUTIL, av_free) \
	X(AVUTIL, av_freep) \
	X(AVUTIL, av_log) \
	X(AVUTIL, av_log_format_line) \
	X(AVUTIL, av_log_set_callback) \
	X(AVUTIL, av_log_set_level) \
	X(AVUTIL, av_malloc) \
	X(AVUTIL, av_rescale) \
	X(AVUTIL, av_strerror) \
	X(SWRESAMPLE, swr_alloc_set_opts2) \
	X(SWRESAMPLE, swr_convert) \
	X(SWRESAMPLE, swr_free) \
	X(SWRESAMPLE, swr_get_out_samples) \
	X(SWRESAMPLE, swr_init) \
	X(AVCODEC, av_packet_alloc) \
	X(AVCODEC, av_packet_free) \
	X(AVCODEC, av_packet_unref) \
	X(AVCODEC, avcodec_alloc_context3) \
	X(AVCODEC, avcodec_free_context) \
	X(AVCODEC, avcodec_open2) \
	X(AVCODEC, avcodec_parameters_to_context) \
	X(AVCODEC, avcodec_receive_frame) \
	X(AVCODEC, avcodec_send_packet) \
	X(AVFORMAT, av_find_best_stream) \
	X(AVFORMAT, av_read_frame) \
	X(AVFORMAT, avformat_alloc_context) \
	X(AVFORMAT, avformat_close_input) \
	X(AVFORMAT, avformat_find_stream_info) \
	X(AVFORMAT, avformat_open_input) \
	X(AVFORMAT, avio_alloc_context) \
	X(AVFORMAT, avio_context_free)

typedef struct ttsp_ffmpeg_api
{
	TTSP_FFMPEG_FUNCTIONS(TTSP_LAZY_MEMBER)
} ttsp_ffmpeg_api;

extern ttsp_ffmpeg_api ttsp_ffmpeg;

/* Load FFmpeg once per process: ttsp_lazy_load's contract. */
ttsp_status ttsp_ffmpeg_load(ttsp_error *err);

#endif
