/*
 * libFuzzer harness for the linear model's byte format (linear.h): a model
 * passed as a value is user input, so ttsp_linear_deserialize must turn any
 * byte string into a model or a TTSP_ECORRUPT / TTSP_EUNSUPPORTED status,
 * never a crash, leak or huge allocation.  Built by scripts/fuzz with
 * -fsanitize=fuzzer,address,undefined.
 *
 * Input layout: byte 0 holds options, the rest is the model's bytes.
 *   bit 0   reseal: overwrite the last 8 bytes with the FNV-1a of the rest
 *           before decoding, so that mutations get past the checksum and
 *           reach the header, length and value checks
 * A decoded model must serialise back to exactly the bytes decoded, and
 * predict on a row of zeros without error.
 *
 * Built with -DTTSP_FUZZ_MAKE_SEEDS instead, it is a plain program that
 * writes seed inputs (valid models of a few shapes, with option bytes 0 and
 * 1) into the directory given as its argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_format.h"
#include "linear.h"

#ifndef TTSP_FUZZ_MAKE_SEEDS

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ttsp_error	err;
	ttsp_linear *m;
	uint8_t    *bytes;
	size_t		len;

	bytes = fuzz_format_bytes(data, size, &len);
	if (bytes == NULL)
		return 0;
	m = ttsp_linear_deserialize(bytes, len, &err);
	if (m == NULL)
	{
		if (err.code != TTSP_ECORRUPT && err.code != TTSP_EUNSUPPORTED)
			abort();			/* any other status is a bug */
	}
	else
	{
		uint8_t    *again = malloc(len);
		double	   *x = calloc((size_t) m->n_features, sizeof(double));
		double		out;

		if (ttsp_linear_serialized_size(m) != len ||
			ttsp_linear_serialize(m, again, len, &err) != TTSP_OK ||
			memcmp(again, bytes, len) != 0 ||
			ttsp_linear_predict(m, x, 1, &out, &err) != TTSP_OK)
			abort();
		free(again);
		free(x);
		ttsp_linear_destroy(m);
	}
	free(bytes);
	return 0;
}

#else

/* A model of channels x bins pooled features plus n_extra, from a fixed pattern. */
static void
write_seed(const char *dir, int task, int channels, int bins, int n_extra)
{
	int			p = 2 * channels * bins + n_extra,
				n = 12;
	double	   *x = malloc(sizeof(double) * n * p),
				y[12];
	ttsp_linear_data d = {x, y, n};
	ttsp_error	err;
	ttsp_linear *m;

	for (int i = 0; i < n; i++)
	{
		y[i] = task == TTSP_TASK_CLASSIFICATION ? i % 2 : 0.5 * i;
		for (int j = 0; j < p; j++)
			x[i * p + j] = (double) ((i * 7 + j * 3) % 11) + (i % 2) * (j % 3);
	}
	m = ttsp_linear_fit(task, channels, bins, n_extra, &d, 1.0, &err);
	if (m == NULL)
	{
		fprintf(stderr, "seed: %s\n", err.msg);
		exit(1);
	}
	{
		size_t		len = ttsp_linear_serialized_size(m);
		uint8_t    *b = malloc(len);
		char		name[256];

		ttsp_linear_serialize(m, b, len, NULL);
		snprintf(name, sizeof(name), "seed-%d-%dx%d+%d", task, channels, bins, n_extra);
		fuzz_write_seeds(dir, name, b, len);
		free(b);
	}
	ttsp_linear_destroy(m);
	free(x);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	write_seed(argv[1], TTSP_TASK_CLASSIFICATION, 1, 1, 0);
	write_seed(argv[1], TTSP_TASK_CLASSIFICATION, 2, 3, 2);
	write_seed(argv[1], TTSP_TASK_REGRESSION, 1, 4, 0);
	write_seed(argv[1], TTSP_TASK_REGRESSION, 1, 2, 3);
	/* covariates only: no pooled features */
	write_seed(argv[1], TTSP_TASK_CLASSIFICATION, 0, 0, 4);
	return 0;
}

#endif
