/*
 * libFuzzer harness for the CNN's weight format (cnn.h, "Serialisation"):
 * since ttsp_predict(model record, spec) takes a model row as a value, its
 * weights are user input, so ttsp_cnn_deserialize must turn any byte string
 * into a net or a TTSP_ECORRUPT / TTSP_EUNSUPPORTED status, never a crash,
 * leak or huge allocation.  Built by scripts/fuzz against the sanitizer
 * build of the core archive (make fuzz-core).
 *
 * Input layout: byte 0 holds options, the rest is the weights' bytes.
 *   bit 0   reseal: overwrite the last 8 bytes with the FNV-1a of the rest
 *           before decoding, so that mutations get past the checksum and
 *           reach the header, shape and count checks
 * A decoded net must serialise back to exactly the bytes decoded and, when
 * its input is small, run forward on zeros (extras included) without error.
 *
 * Built with -DTTSP_FUZZ_MAKE_SEEDS instead, it is a plain program that
 * writes seed inputs (small nets of a few shapes, with option bytes 0 and
 * 1) into the directory given as its argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "fuzz_format.h"

#ifndef TTSP_FUZZ_MAKE_SEEDS

/* Inputs up to this many values are run forward: larger ones only decode. */
#define FORWARD_LIMIT 4096

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ttsp_error	err;
	ttsp_cnn   *net;
	uint8_t    *bytes;
	size_t		len;

	bytes = fuzz_format_bytes(data, size, &len);
	if (bytes == NULL)
		return 0;
	net = ttsp_cnn_deserialize(bytes, len, &err);
	if (net == NULL)
	{
		if (err.code != TTSP_ECORRUPT && err.code != TTSP_EUNSUPPORTED)
			abort();			/* any other status is a bug */
	}
	else
	{
		const ttsp_cnn_config *cfg = ttsp_cnn_get_config(net);
		size_t		n_in = (size_t) cfg->in_channels * cfg->in_height * cfg->in_width;
		uint8_t    *again = malloc(len);

		if (ttsp_cnn_serialized_size(net) != len ||
			ttsp_cnn_serialize(net, again, len, &err) != TTSP_OK || memcmp(again, bytes, len) != 0)
			abort();
		if (n_in + (size_t) cfg->n_extra <= FORWARD_LIMIT)
		{
			float	   *x = calloc(n_in, sizeof(float));
			float	   *extra = calloc((size_t) cfg->n_extra + 1, sizeof(float));
			float		out;

			if (ttsp_cnn_forward_extra(net, x, extra, 1, false, &out, &err) != TTSP_OK)
				abort();
			free(x);
			free(extra);
		}
		free(again);
		ttsp_cnn_destroy(net);
	}
	free(bytes);
	return 0;
}

#else

/* A freshly initialised net of the given shape, written with option bytes 0 and 1. */
static void
write_seed(const char *dir, int task, int channels, int height, int width, int n_blocks,
		   int n_extra)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(channels, height, width, task);
	ttsp_error	err;
	ttsp_cnn   *net;

	cfg.n_blocks = n_blocks;
	cfg.n_extra = n_extra;
	for (int i = 0; i < n_blocks; i++)
		cfg.channels[i] = 2 + i;
	net = ttsp_cnn_create(&cfg, 12, &err);
	if (net == NULL)
	{
		fprintf(stderr, "seed: %s\n", err.msg);
		exit(1);
	}
	{
		size_t		len = ttsp_cnn_serialized_size(net);
		uint8_t    *b = malloc(len);
		char		name[256];

		ttsp_cnn_serialize(net, b, len, NULL);
		snprintf(name, sizeof(name), "seed-%d-%dx%dx%d-%d-%d", task, channels, height, width,
				 n_blocks, n_extra);
		fuzz_write_seeds(dir, name, b, len);
		free(b);
	}
	ttsp_cnn_destroy(net);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	write_seed(argv[1], TTSP_TASK_CLASSIFICATION, 1, 8, 8, 1, 0);
	write_seed(argv[1], TTSP_TASK_CLASSIFICATION, 2, 9, 12, 2, 0);
	write_seed(argv[1], TTSP_TASK_REGRESSION, 1, 16, 5, 3, 0);
	write_seed(argv[1], TTSP_TASK_CLASSIFICATION, 1, 8, 8, 2, 6);	/* format version 2 */
	return 0;
}

#endif
