/*
 * Decode core without a server: fixtures against ffmpeg's own float decode
 * (<name>.f32.wav), options, limits and bad input.  Run from the repo root.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "tap.h"

#define FIXTURES "test/fixtures/"

typedef struct
{
	uint8_t    *data;
	size_t		len;
} blob;

static blob
slurp(const char *name)
{
	char		path[256];
	FILE	   *f;
	blob		b = {NULL, 0};
	long		n;

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	f = fopen(path, "rb");
	if (f == NULL)
		return b;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.data = malloc(n > 0 ? n : 1);
	b.len = fread(b.data, 1, n, f);
	fclose(f);
	return b;
}

typedef struct
{
	int			channels;
	int			rate;
	int64_t		frames;
	float	   *samples;		/* planar [channel][frame] */
	ttsp_status status;
	ttsp_error	err;
} decoded;

static ttsp_decode_opts
default_opts(void)
{
	ttsp_decode_opts o = {0, 0, 0.0, -1, 600.0};

	return o;
}

/* Decode a fixture into one planar buffer, [channel][frame]. */
static decoded
decode_planar(const char *name, const ttsp_decode_opts *opts)
{
	blob		b = slurp(name);
	decoded		d = {0};
	ttsp_decoder *dec;
	float	  **bufs = NULL;
	int64_t		cap = 0;
	int			ch;

	d.status = ttsp_decoder_open(&dec, b.data, b.len, opts, &d.err);
	if (d.status == TTSP_OK)
	{
		d.channels = ttsp_decoder_channels(dec);
		d.rate = ttsp_decoder_sample_rate(dec);
		bufs = calloc(d.channels, sizeof(float *));
		for (;;)
		{
			float	   *const *planes;
			int			n;

			d.status = ttsp_decoder_read(dec, &planes, &n, &d.err);
			if (d.status != TTSP_OK || n == 0)
				break;
			if (d.frames + n > cap)
			{
				cap = (d.frames + n) * 2;
				for (ch = 0; ch < d.channels; ch++)
					bufs[ch] = realloc(bufs[ch], cap * sizeof(float));
			}
			for (ch = 0; ch < d.channels; ch++)
				memcpy(bufs[ch] + d.frames, planes[ch], n * sizeof(float));
			d.frames += n;
		}
		d.samples = malloc((d.frames * d.channels + 1) * sizeof(float));
		for (ch = 0; ch < d.channels; ch++)
		{
			memcpy(d.samples + ch * d.frames, bufs[ch], d.frames * sizeof(float));
			free(bufs[ch]);
		}
		free(bufs);
	}
	ttsp_decoder_close(dec);
	free(b.data);
	return d;
}

static double
max_abs_diff(const decoded *a, const decoded *b)
{
	double		m = 0;
	int64_t		i;

	if (a->channels != b->channels || a->frames != b->frames)
		return INFINITY;
	for (i = 0; i < a->frames * a->channels; i++)
		m = fmax(m, fabs((double) a->samples[i] - b->samples[i]));
	return m;
}

int
main(void)
{
	static const struct
	{
		const char *file;
		const char *golden;
		int			channels;
		int			rate;
	}			cases[] = {
		{"tone_mono_22k.mp3", "tone_mono_22k.f32.wav", 1, 22050},
		{"noise_stereo_44k.mp3", "noise_stereo_44k.f32.wav", 2, 44100},
		{"chirp_stereo_48k_vbr.mp3", "chirp_stereo_48k_vbr.f32.wav", 2, 48000},
		{"short_0.1s.mp3", "short_0.1s.f32.wav", 1, 44100},
		{"tagged_44k.mp3", "tagged_44k.f32.wav", 1, 44100},
		{"tone_stereo_44k.m4a", "tone_stereo_44k.f32.wav", 2, 44100},
	};
	static const char *bad[] = {"random.bin", "image.png", "truncated_100.mp3", "empty_stream.wav"};
	ttsp_decode_opts opts = default_opts();
	size_t		i;

	ttsp_decoder_set_log(NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		decoded		d = decode_planar(cases[i].file, &opts);
		decoded		g = decode_planar(cases[i].golden, &opts);

		ok(d.status == TTSP_OK && d.channels == cases[i].channels && d.rate == cases[i].rate,
		   "%s: %d channels at %d Hz", cases[i].file, d.channels, d.rate);
		ok(max_abs_diff(&d, &g) <= 1e-6, "%s: %lld frames match ffmpeg's decode",
		   cases[i].file, (long long) d.frames);
		free(d.samples);
		free(g.samples);
	}

	{
		decoded		full = decode_planar("noise_stereo_44k.mp3", &opts);
		ttsp_decode_opts o = default_opts();
		decoded		m;
		double		worst = 0;
		int64_t		j;

		o.mono = 1;
		o.offset_s = 0.25;
		o.duration_s = 0.5;
		m = decode_planar("noise_stereo_44k.mp3", &o);
		ok(m.status == TTSP_OK && m.channels == 1 && m.frames == 22050,
		   "mono with offset and duration: %lld frames", (long long) m.frames);
		for (j = 0; j < m.frames; j++)
			worst = fmax(worst, fabs(m.samples[j] - (full.samples[11025 + j] + full.samples[full.frames + 11025 + j]) / 2));
		ok(worst <= 1e-7, "mono is the channel mean of the right window (max diff %g)", worst);
		free(full.samples);
		free(m.samples);
	}

	{
		ttsp_decode_opts o = default_opts();
		decoded		d;

		o.max_duration_s = 0.5;
		d = decode_planar("tone_mono_22k.mp3", &o);
		ok(d.status == TTSP_ELIMIT, "max_duration_s: %s", d.err.msg);
		free(d.samples);
	}

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		decoded		d = decode_planar(bad[i], &opts);

		ok(d.status == TTSP_ECORRUPT || (d.status == TTSP_OK && d.frames == 0),
		   "%s: rejected (%s)", bad[i], d.status == TTSP_OK ? "no frames" : d.err.msg);
		free(d.samples);
	}

	{
		ttsp_decode_opts o = default_opts();
		decoded		d;

		o.offset_s = NAN;
		d = decode_planar("tone_mono_22k.mp3", &o);
		ok(d.status == TTSP_EINVAL, "NaN offset: %s", d.err.msg);
		o = default_opts();
		o.sample_rate = -5;
		d = decode_planar("tone_mono_22k.mp3", &o);
		ok(d.status == TTSP_EINVAL, "negative rate: %s", d.err.msg);
	}
	{
		ttsp_decoder *dec;
		ttsp_error	err;

		ok(ttsp_decoder_open(&dec, (const uint8_t *) "", 0, &opts, &err) == TTSP_ECORRUPT,
		   "empty input: %s", err.msg);
		ttsp_decoder_close(dec);
	}
	return done_testing();
}
