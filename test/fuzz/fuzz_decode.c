/*
 * libFuzzer harness for the decode core: bytes -> ttsp_decoder_open, read
 * until the end, close.  Built by scripts/fuzz with
 * -fsanitize=fuzzer,address,undefined; FFmpeg itself comes from Debian and
 * is not instrumented, so coverage guidance covers src/core/decode.c and
 * ASan watches every allocation and every byte this code touches.
 *
 * Input layout: byte 0 picks the options, the rest is the file.
 *   bit 0      mono
 *   bits 1-2   sample_rate: keep, 8000, 22050, 48000
 *   bit 3      offset_s 0.25
 *   bit 4      duration_s 0.5
 *   bit 5      max_duration_s 1 instead of 30 (the limit path)
 * A harness run is bounded: at most 30 s of audio is decoded.
 *
 * TTSP_FUZZ_NO_RESAMPLE=1 (scripts/fuzz --no-resample) keeps the stream's
 * rate whatever bits 1-2 say.  It kept a long run going while a WAV header
 * declaring ~16 MHz made libswresample spend seconds per input
 * (test/fixtures/fuzz/slow-resampler-16mhz.bin, since fixed in decode.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int	no_resample;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("TTSP_FUZZ_NO_RESAMPLE");

	(void) argc, (void) argv;
	no_resample = e != NULL && strcmp(e, "1") == 0;
	ttsp_decoder_set_log(NULL);	/* FFmpeg's chatter would drown the output */
	return 0;
}

static void
fail(const char *what, long long a, long long b)
{
	fprintf(stderr, "fuzz_decode: invariant broken: %s (%lld, %lld)\n", what, a, b);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int rates[4] = {0, 8000, 22050, 48000};
	ttsp_decode_opts opts;
	ttsp_decoder *dec = NULL;
	ttsp_error	err;
	ttsp_status st;
	uint8_t    *copy;
	uint8_t		o;
	int64_t		total = 0;
	int64_t		max_frames;
	int			channels;
	volatile float sink = 0;

	if (size < 1)
		return 0;
	o = data[0];
	opts.mono = o & 1;
	opts.sample_rate = no_resample ? 0 : rates[(o >> 1) & 3];
	opts.offset_s = (o & 8) ? 0.25 : 0;
	opts.duration_s = (o & 16) ? 0.5 : -1;
	opts.max_duration_s = (o & 32) ? 1 : 30;

	/* An exact-size heap copy: ASan catches any read past the end. */
	copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);

	st = ttsp_decoder_open(&dec, copy, size - 1, &opts, &err);
	if (st == TTSP_OK)
	{
		channels = ttsp_decoder_channels(dec);
		max_frames = ttsp_decoder_max_frames(dec);
		if (channels < 1 || channels > 8 || (opts.mono && channels != 1))
			fail("channels", channels, opts.mono);
		if (ttsp_decoder_sample_rate(dec) <= 0 ||
			(opts.sample_rate && ttsp_decoder_sample_rate(dec) != opts.sample_rate))
			fail("sample rate", ttsp_decoder_sample_rate(dec), opts.sample_rate);
		(void) ttsp_decoder_expected_frames(dec);
		for (;;)
		{
			float	   *const *planes;
			int			n;
			int			ch;
			int			i;

			st = ttsp_decoder_read(dec, &planes, &n, &err);
			if (st != TTSP_OK || n == 0)
				break;
			if (n < 0)
				fail("negative frame count", n, 0);
			/* Touch every sample: a bad plane pointer shows up here. */
			for (ch = 0; ch < channels; ch++)
				for (i = 0; i < n; i += 1 + (n >> 6))
					sink += planes[ch][i] + planes[ch][n - 1];
			total += n;
			if (total > max_frames)
				fail("more frames than ttsp_decoder_max_frames", total, max_frames);
		}
	}
	if (st != TTSP_OK && (st < TTSP_EINVAL || st > TTSP_EINTERNAL || err.msg[0] == '\0'))
		fail("error without a code or message", st, 0);
	ttsp_decoder_close(dec);
	free(copy);
	(void) sink;
	return 0;
}
