/*
 * libFuzzer harness for the averaging state's byte format (cnn_average.h):
 * ttsp_train_round's model argument and its combine function take any
 * bytea, so ttsp_avg_deserialize must turn any byte string into a state or
 * a TTSP_ECORRUPT / TTSP_EUNSUPPORTED status, never a crash, leak or huge
 * allocation.  Built by scripts/fuzz with -fsanitize=fuzzer,address,undefined.
 *
 * Input layout: byte 0 holds options (fuzz_format.h: bit 0 reseals the
 * outer checksum), the rest is the state's bytes.  A decoded state must
 * serialise back to exactly the bytes decoded, combine with a copy of
 * itself, and load its moments into an optimiser of its kind or refuse
 * them with TTSP_EINVAL.
 *
 * Built with -DTTSP_FUZZ_MAKE_SEEDS instead, it is a plain program that
 * writes seed inputs (states of small nets with and without moments, with
 * option bytes 0 and 1) into the directory given as its argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_average.h"
#include "fuzz_format.h"

#ifndef TTSP_FUZZ_MAKE_SEEDS

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a decoded state must allow. */
static void
exercise(ttsp_avg *a, const uint8_t *bytes, size_t len)
{
	uint8_t    *again = malloc(len);
	ttsp_avg	copy;
	ttsp_error	err;
	ttsp_optim_config cfg = ttsp_optim_defaults(a->v != NULL || a->n_moments == 0 ? TTSP_OPTIM_ADAM : TTSP_OPTIM_SGD);
	ttsp_optimizer *opt;
	ttsp_status st;

	if (cfg.kind == TTSP_OPTIM_SGD)
		cfg.momentum = 0.9;
	if (ttsp_avg_serialized_size(a) != len || ttsp_avg_serialize(a, again, len, &err) != TTSP_OK ||
		memcmp(again, bytes, len) != 0)
		abort();
	if (ttsp_avg_deserialize(again, len, &copy, &err) != TTSP_OK || ttsp_avg_combine(a, &copy, &err) != TTSP_OK)
		abort();
	opt = ttsp_optimizer_create(a->net, &cfg, &err);
	if (opt == NULL)
		abort();
	st = ttsp_avg_load_moments(a, opt, &err);
	if (st != TTSP_OK && st != TTSP_EINVAL)
		abort();
	ttsp_optimizer_destroy(opt);
	ttsp_avg_release(&copy);
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ttsp_error	err;
	ttsp_avg	a;
	uint8_t    *bytes;
	size_t		len;

	bytes = fuzz_format_bytes(data, size, &len);
	if (bytes == NULL)
		return 0;
	if (ttsp_avg_deserialize(bytes, len, &a, &err) != TTSP_OK)
	{
		if (err.code != TTSP_ECORRUPT && err.code != TTSP_EUNSUPPORTED)
			abort();			/* any other status is a bug */
	}
	else
	{
		exercise(&a, bytes, len);
		ttsp_avg_release(&a);
	}
	free(bytes);
	return 0;
}

#else

/* A state of a small net, its optimiser's moments (kind) taken after one made-up step. */
static void
write_seed(const char *dir, int channels, int height, int n_blocks, int moments)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(channels, height, 8, TTSP_TASK_CLASSIFICATION);
	ttsp_optim_config ocfg = ttsp_optim_defaults(moments == 2 ? TTSP_OPTIM_SGD : TTSP_OPTIM_ADAM);
	ttsp_error	err;
	ttsp_avg	a = {0};
	char		name[64];

	cfg.n_blocks = n_blocks;
	ocfg.momentum = 0.9;
	a.net = ttsp_cnn_create(&cfg, 12, &err);
	if (a.net == NULL)
	{
		fprintf(stderr, "seed: %s\n", err.msg);
		exit(1);
	}
	a.rows = 7;
	a.loss_sum = 4.5;
	if (moments)
	{
		ttsp_optimizer *opt = ttsp_optimizer_create(a.net, &ocfg, &err);
		float	   *m,
				   *v;
		long	   *steps;
		size_t		n = ttsp_optimizer_state_view(opt, &m, &v, &steps);

		for (size_t i = 0; i < n; i++)
		{
			m[i] = 0.01f * (float) (i % 7);
			if (v != NULL)
				v[i] = 0.001f * (float) (i % 5);
		}
		*steps = 3;
		ttsp_avg_take_moments(&a, opt, &err);
		ttsp_optimizer_destroy(opt);
	}
	{
		size_t		len = ttsp_avg_serialized_size(&a);
		uint8_t    *b = malloc(len);

		ttsp_avg_serialize(&a, b, len, NULL);
		snprintf(name, sizeof(name), "seed-%dx%d-%d-m%d", channels, height, n_blocks, moments);
		fuzz_write_seeds(dir, name, b, len);
		free(b);
	}
	ttsp_avg_release(&a);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	write_seed(argv[1], 1, 8, 1, 0);
	write_seed(argv[1], 1, 8, 1, 1);
	write_seed(argv[1], 2, 9, 2, 2);
	return 0;
}

#endif
