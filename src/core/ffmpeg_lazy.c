/* FFmpeg loaded on first use: see ffmpeg_lazy.h and lazy_lib.h for why. */
#include "ffmpeg_lazy.h"

ttsp_ffmpeg_api ttsp_ffmpeg;

#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const sonames[N_FFMPEG_LIBS] = {
	"libavutil.so." STR(LIBAVUTIL_VERSION_MAJOR),
	"libswresample.so." STR(LIBSWRESAMPLE_VERSION_MAJOR),
	"libavcodec.so." STR(LIBAVCODEC_VERSION_MAJOR),
	"libavformat.so." STR(LIBAVFORMAT_VERSION_MAJOR),
};

#define ENTRY(lib, fn) TTSP_LAZY_FN(ttsp_ffmpeg_api, lib, fn)
static const ttsp_lazy_fn functions[] = {TTSP_FFMPEG_FUNCTIONS(ENTRY)};

static ttsp_lazy_lib ffmpeg_lib = {
	"FFmpeg", sonames, N_FFMPEG_LIBS, functions, sizeof(functions) / sizeof(functions[0]),
	&ttsp_ffmpeg, sizeof(ttsp_ffmpeg), false
};

ttsp_status
ttsp_ffmpeg_load(ttsp_error *err)
{
	return ttsp_lazy_load(&ffmpeg_lib, err);
}
