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
	AVUTIL, SWRESAMPLE, AVCODEC, AVFORMAT
};

/* X(T, library, function): every FFmpeg function decode.c calls */
#define TTSP_FFMPEG_FUNCTIONS(X, T) \
	X(T, AVUTIL, av_channel_layout_copy) \
	X(T, AVUTIL, av_channel_layout_default) \
	X(T, AVUTIL, av_channel_layout_uninit) \
	X(T, AVUTIL, av_frame_alloc) \
	X(T, AVUTIL, av_frame_free) \
	X(T, AVUTIL, av_frame_unref) \
	X(T, AVUTIL, av_free) \
	X(T, AVUTIL, av_freep) \
	X(T, AVUTIL, av_log) \
	X(T, AVUTIL, av_log_format_line) \
	X(T, AVUTIL, av_log_set_callback) \
	X(T, AVUTIL, av_log_set_level) \
	X(T, AVUTIL, av_malloc) \
	X(T, AVUTIL, av_rescale) \
	X(T, AVUTIL, av_strerror) \
	X(T, SWRESAMPLE, swr_alloc_set_opts2) \
	X(T, SWRESAMPLE, swr_convert) \
	X(T, SWRESAMPLE, swr_free) \
	X(T, SWRESAMPLE, swr_get_out_samples) \
	X(T, SWRESAMPLE, swr_init) \
	X(T, AVCODEC, av_packet_alloc) \
	X(T, AVCODEC, av_packet_free) \
	X(T, AVCODEC, av_packet_unref) \
	X(T, AVCODEC, avcodec_alloc_context3) \
	X(T, AVCODEC, avcodec_free_context) \
	X(T, AVCODEC, avcodec_open2) \
	X(T, AVCODEC, avcodec_parameters_to_context) \
	X(T, AVCODEC, avcodec_receive_frame) \
	X(T, AVCODEC, avcodec_send_packet) \
	X(T, AVFORMAT, av_find_best_stream) \
	X(T, AVFORMAT, av_read_frame) \
	X(T, AVFORMAT, avformat_alloc_context) \
	X(T, AVFORMAT, avformat_close_input) \
	X(T, AVFORMAT, avformat_find_stream_info) \
	X(T, AVFORMAT, avformat_open_input) \
	X(T, AVFORMAT, avio_alloc_context) \
	X(T, AVFORMAT, avio_context_free)

TTSP_LAZY_DECLARE(ttsp_ffmpeg, ttsp_ffmpeg_api, ttsp_ffmpeg_load, TTSP_FFMPEG_FUNCTIONS)

#endif
