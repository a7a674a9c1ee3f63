/* FFmpeg loaded on first use: see ffmpeg_lazy.h for why. */
#include "ffmpeg_lazy.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

ttsp_ffmpeg_api ttsp_ffmpeg;

#define STR_(x) #x
#define STR(x) STR_(x)

/* dependencies first, though each library names its own */
enum
{
	AVUTIL, SWRESAMPLE, AVCODEC, AVFORMAT, N_LIBS
};

static const char *const sonames[N_LIBS] = {
	"libavutil.so." STR(LIBAVUTIL_VERSION_MAJOR),
	"libswresample.so." STR(LIBSWRESAMPLE_VERSION_MAJOR),
	"libavcodec.so." STR(LIBAVCODEC_VERSION_MAJOR),
	"libavformat.so." STR(LIBAVFORMAT_VERSION_MAJOR),
};

static const struct
{
	int			lib;
	const char *name;
	size_t		offset;
}			functions[] = {
#define TTSP_FFMPEG_ENTRY(lib, fn) {lib, #fn, offsetof(ttsp_ffmpeg_api, fn)},
	TTSP_FFMPEG_FUNCTIONS(TTSP_FFMPEG_ENTRY)
#undef TTSP_FFMPEG_ENTRY
};

static bool loaded;

ttsp_status
ttsp_ffmpeg_load(ttsp_error *err)
{
	void	   *handle[N_LIBS];
	ttsp_ffmpeg_api api;

	if (loaded)
		return TTSP_OK;
	for (int i = 0; i < N_LIBS; i++)
	{
		/* kept for the life of the process, like a linked library */
		handle[i] = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (handle[i] == NULL)
			return ttsp_fail(err, TTSP_EUNSUPPORTED, "cannot load FFmpeg's %s: %s",
							 sonames[i], dlerror());
	}
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
	{
		void	   *fn = dlsym(handle[functions[i].lib], functions[i].name);

		if (fn == NULL)
			return ttsp_fail(err, TTSP_EUNSUPPORTED, "FFmpeg's %s has no %s",
							 sonames[functions[i].lib], functions[i].name);
		memcpy((char *) &api + functions[i].offset, &fn, sizeof(fn));
	}
	ttsp_ffmpeg = api;
	loaded = true;
	return TTSP_OK;
}
