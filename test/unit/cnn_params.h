/* Shared by the CNN unit tests: parameters away from their initial values, and loading bytes. */
#ifndef TTSP_TEST_CNN_PARAMS_H
#define TTSP_TEST_CNN_PARAMS_H

#include <stdbool.h>
#include <string.h>

#include "cnn.h"
#include "rng.h"

/*
 * Give BatchNorm (affine and running statistics) and conv bias non-default
 * values so every term matters, as after training: scales (gamma, running
 * var) stay positive, shifts around 0; weights keep their random init.
 */
static inline void
perturb_params(ttsp_cnn *net, uint64_t seed)
{
	ttsp_rng	rng;

	ttsp_rng_seed(&rng, seed);
	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t;
		bool		scale;

		ttsp_cnn_tensor_get(net, i, &t);
		scale = strstr(t.name, "running_var") || strstr(t.name, "bn.weight");
		if (strstr(t.name, "conv.weight") || strstr(t.name, "head.weight"))
			continue;
		for (size_t k = 0; k < t.count; k++)
		{
			double		u = ttsp_rng_uniform(&rng);

			t.data[k] = (float) (scale ? 0.5 + u : 0.4 * (u - 0.5));
		}
	}
}

/* What ttsp_cnn_deserialize makes of bytes: TTSP_OK or its error code. */
static inline ttsp_status
cnn_load_status(const uint8_t *buf, size_t len)
{
	ttsp_error	err = {0};
	ttsp_cnn   *net = ttsp_cnn_deserialize(buf, len, &err);

	ttsp_cnn_destroy(net);
	return net != NULL ? TTSP_OK : err.code;
}

#endif
