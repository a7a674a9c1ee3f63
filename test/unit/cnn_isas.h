/*
 * For the CNN tests: run a check on every kernel set (cnn_layers.c) other
 * than the one the CPU picked, with a SKIP line for each set this CPU
 * cannot run; the picked set is selected again afterwards.
 */
#ifndef TTSP_TEST_CNN_ISAS_H
#define TTSP_TEST_CNN_ISAS_H

#include <string.h>

#include "cnn_internal.h"
#include "tap.h"

static const char *const cnn_test_isas[] = {"generic", "avx2", "avx512"};

static void
for_other_kernel_sets(void (*check) (const char *isa, void *arg), void *arg)
{
	const char *picked = cnn_isa_name();

	for (size_t i = 0; i < sizeof(cnn_test_isas) / sizeof(cnn_test_isas[0]); i++)
	{
		if (strcmp(cnn_test_isas[i], picked) == 0)
			continue;
		if (!cnn_isa_select(cnn_test_isas[i]))
		{
			ok(1, "# SKIP kernel set %s: this CPU cannot run it", cnn_test_isas[i]);
			continue;
		}
		check(cnn_test_isas[i], arg);
	}
	cnn_isa_select(picked);
}

#endif
