/*
 * What the byte-format harnesses (fuzz_linear.c, fuzz_cnn_weights.c) share:
 * an input is an option byte and then the format's bytes, and bit 0 of the
 * option byte reseals the trailing FNV-1a-64 checksum, so that mutations get
 * past it and reach the checks behind it.  Their seed writers store valid
 * encodings with option bytes 0 and 1.
 */
#ifndef TTSP_FUZZ_FORMAT_H
#define TTSP_FUZZ_FORMAT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* A malloc'd copy of the format's bytes of an input (NULL for an empty input), resealed if asked. */
static inline uint8_t *
fuzz_format_bytes(const uint8_t *data, size_t size, size_t *len)
{
	uint8_t    *bytes;

	if (size < 1)
		return NULL;
	*len = size - 1;
	bytes = malloc(*len ? *len : 1);
	memcpy(bytes, data + 1, *len);
	if ((data[0] & 1) && *len >= 8)
		ttsp_put_u64(bytes + *len - 8, ttsp_fnv1a64(bytes, *len - 8));
	return bytes;
}

/* Seeds dir/name-0 and dir/name-1: bytes behind option bytes 0 and 1; exits on failure. */
static inline void
fuzz_write_seeds(const char *dir, const char *name, const uint8_t *bytes, size_t len)
{
	for (int opt = 0; opt < 2; opt++)
	{
		char		path[4096];
		FILE	   *f;
		uint8_t		o = (uint8_t) opt;

		snprintf(path, sizeof(path), "%s/%s-%d", dir, name, opt);
		f = fopen(path, "wb");
		if (f == NULL || fwrite(&o, 1, 1, f) != 1 || fwrite(bytes, 1, len, f) != len || fclose(f) != 0)
		{
			perror(path);
			exit(1);
		}
	}
}

#endif
