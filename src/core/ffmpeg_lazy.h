/*
 * FFmpeg, loaded on first use rather than with ttsp.so.
 *
 * libavformat and libavcodec pull in over a hundred shared libraries
 * (codecs, hardware back ends); loading and relocating them cost every new
 * backend tens of milliseconds on its first ttsp call, even for calls that
 * never decode audio (ttsp_predict on a stored spectrogram).  So ttsp.so is
 * not linked against FFmpeg: decode.c reaches it through the function
 * pointers below, which ttsp_ffmpeg_load fills with dlopen/dlsym the first
 * time audio is decoded.  The sonames come from the headers' major versions,
 * so the build and the loaded libraries agree on the ABI.
 *
 * decode.c defines TTSP_FFMPEG_CALLS before including this header (after
 * the FFmpeg headers): each FFmpeg function name then stands for its
 * pointer, and the code reads as plain FFmpeg calls.
 */
#ifndef TTSP_FFMPEG_LAZY_H
#define TTSP_FFMPEG_LAZY_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswresample/swresample.h>

#include "ttsp_status.h"

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
#define TTSP_FFMPEG_MEMBER(lib, fn) __typeof__(fn) *fn;
	TTSP_FFMPEG_FUNCTIONS(TTSP_FFMPEG_MEMBER)
#undef TTSP_FFMPEG_MEMBER
} ttsp_ffmpeg_api;

extern ttsp_ffmpeg_api ttsp_ffmpeg;

/*
 * Load FFmpeg once per process (later calls return at once).  A missing
 * library or function is TTSP_EUNSUPPORTED naming it; nothing is kept from
 * a failed attempt, so a later call tries again.  Not thread-safe: call it
 * from one thread (a backend is single-threaded).
 */
ttsp_status ttsp_ffmpeg_load(ttsp_error *err);

#ifdef TTSP_FFMPEG_CALLS
#define av_channel_layout_copy ttsp_ffmpeg.av_channel_layout_copy
#define av_channel_layout_default ttsp_ffmpeg.av_channel_layout_default
#define av_channel_layout_uninit ttsp_ffmpeg.av_channel_layout_uninit
#define av_frame_alloc ttsp_ffmpeg.av_frame_alloc
#define av_frame_free ttsp_ffmpeg.av_frame_free
#define av_frame_unref ttsp_ffmpeg.av_frame_unref
#define av_free ttsp_ffmpeg.av_free
#define av_freep ttsp_ffmpeg.av_freep
#define av_log ttsp_ffmpeg.av_log
#define av_log_format_line ttsp_ffmpeg.av_log_format_line
#define av_log_set_callback ttsp_ffmpeg.av_log_set_callback
#define av_log_set_level ttsp_ffmpeg.av_log_set_level
#define av_malloc ttsp_ffmpeg.av_malloc
#define av_rescale ttsp_ffmpeg.av_rescale
#define av_strerror ttsp_ffmpeg.av_strerror
#define swr_alloc_set_opts2 ttsp_ffmpeg.swr_alloc_set_opts2
#define swr_convert ttsp_ffmpeg.swr_convert
#define swr_free ttsp_ffmpeg.swr_free
#define swr_get_out_samples ttsp_ffmpeg.swr_get_out_samples
#define swr_init ttsp_ffmpeg.swr_init
#define av_packet_alloc ttsp_ffmpeg.av_packet_alloc
#define av_packet_free ttsp_ffmpeg.av_packet_free
#define av_packet_unref ttsp_ffmpeg.av_packet_unref
#define avcodec_alloc_context3 ttsp_ffmpeg.avcodec_alloc_context3
#define avcodec_free_context ttsp_ffmpeg.avcodec_free_context
#define avcodec_open2 ttsp_ffmpeg.avcodec_open2
#define avcodec_parameters_to_context ttsp_ffmpeg.avcodec_parameters_to_context
#define avcodec_receive_frame ttsp_ffmpeg.avcodec_receive_frame
#define avcodec_send_packet ttsp_ffmpeg.avcodec_send_packet
#define av_find_best_stream ttsp_ffmpeg.av_find_best_stream
#define av_read_frame ttsp_ffmpeg.av_read_frame
#define avformat_alloc_context ttsp_ffmpeg.avformat_alloc_context
#define avformat_close_input ttsp_ffmpeg.avformat_close_input
#define avformat_find_stream_info ttsp_ffmpeg.avformat_find_stream_info
#define avformat_open_input ttsp_ffmpeg.avformat_open_input
#define avio_alloc_context ttsp_ffmpeg.avio_alloc_context
#define avio_context_free ttsp_ffmpeg.avio_context_free
#endif

#endif
