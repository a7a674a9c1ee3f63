/* FFmpeg loaded on first use: see ffmpeg_lazy.h and lazy_lib.h for why. */
#include "ffmpeg_lazy.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* in the order of ffmpeg_lazy.h's enum */
TTSP_LAZY_DEFINE(ttsp_ffmpeg, ttsp_ffmpeg_api, ttsp_ffmpeg_load, "FFmpeg", TTSP_FFMPEG_FUNCTIONS,
				 "libavutil.so." STR(LIBAVUTIL_VERSION_MAJOR),
				 "libswresample.so." STR(LIBSWRESAMPLE_VERSION_MAJOR),
				 "libavcodec.so." STR(LIBAVCODEC_VERSION_MAJOR),
				 "libavformat.so." STR(LIBAVFORMAT_VERSION_MAJOR))
