/*
 * libFuzzer harness for the MLP's byte format (mlp.h): a model passed as a
 * value is user input, so ttsp_mlp_deserialize must turn any byte string
 * into a model or a TTSP_ECORRUPT / TTSP_EUNSUPPORTED status, never a
 * crash, leak or huge allocation.  Built by scripts/fuzz with
 * -fsanitize=fuzzer,address,undefined; the input layout (an option byte
 * that can reseal the checksum, then the bytes) is fuzz_format.h's.
 * A decoded model must serialise back to exactly the bytes decoded, and
 * give a finite output for a row of zeros, or TTSP_EINVAL when its finite
 * weights overflow.
 *
 * Built with -DTTSP_FUZZ_MAKE_SEEDS instead, it writes seed inputs (valid
 * models of a few shapes) into the directory given as its argument.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_format.h"
#include "mlp.h"

#ifndef TTSP_FUZZ_MAKE_SEEDS

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ttsp_error	err;
	ttsp_mlp   *m;
	uint8_t    *bytes;
	size_t		len;

	bytes = fuzz_format_bytes(data, size, &len);
	if (bytes == NULL)
		return 0;
	m = ttsp_mlp_deserialize(bytes, len, &err);
	if (m == NULL)
	{
		if (err.code != TTSP_ECORRUPT && err.code != TTSP_EUNSUPPORTED)
			abort();			/* any other status is a bug */
	}
	else
	{
		uint8_t    *again = malloc(len);
		double	   *x = calloc((size_t) m->n_in, sizeof(double));
		double		out = 0;
		ttsp_status st;

		if (ttsp_mlp_serialized_size(m) != len ||
			ttsp_mlp_serialize(m, again, len, &err) != TTSP_OK ||
			memcmp(again, bytes, len) != 0)
			abort();
		st = ttsp_mlp_forward(m, x, 1, &out, &err);
		if ((st != TTSP_OK && st != TTSP_EINVAL) || !isfinite(out))
			abort();
		free(again);
		free(x);
		ttsp_mlp_destroy(m);
	}
	free(bytes);
	return 0;
}

#else

static void
write_seed(const char *dir, int task, int n_in, int hidden)
{
	ttsp_error	err;
	ttsp_mlp   *m = ttsp_mlp_create(task, n_in, hidden, 12, &err);
	size_t		len;
	uint8_t    *b;
	char		name[256];

	if (m == NULL)
	{
		fprintf(stderr, "seed: %s\n", err.msg);
		exit(1);
	}
	len = ttsp_mlp_serialized_size(m);
	b = malloc(len);
	ttsp_mlp_serialize(m, b, len, NULL);
	snprintf(name, sizeof(name), "seed-%d-%dx%d", task, n_in, hidden);
	fuzz_write_seeds(dir, name, b, len);
	free(b);
	ttsp_mlp_destroy(m);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	write_seed(argv[1], TTSP_TASK_CLASSIFICATION, 1, 1);
	write_seed(argv[1], TTSP_TASK_CLASSIFICATION, 5, 32);
	write_seed(argv[1], TTSP_TASK_REGRESSION, 3, 4);
	return 0;
}

#endif
