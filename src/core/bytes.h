/*
 * Little-endian fields and the FNV-1a-64 checksum of the core's byte formats
 * (the CNN's in cnn_io.c, the linear model's in linear.c): written and read
 * byte by byte, so the bytes do not depend on the host.
 */
#ifndef TTSP_BYTES_H
#define TTSP_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t
ttsp_fnv1a64(const uint8_t *p, size_t len)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static inline uint8_t *
ttsp_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t) (v >> (8 * i));
	return p;
}

static inline uint8_t *
ttsp_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t) (v >> (8 * i));
	return p;
}

static inline uint32_t
ttsp_get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
		(uint32_t) p[3] << 24;
}

static inline uint64_t
ttsp_get_u64(const uint8_t *p)
{
	return (uint64_t) ttsp_get_u32(p) | (uint64_t) ttsp_get_u32(p + 4) << 32;
}

static inline uint8_t *
ttsp_put_f64(uint8_t *p, double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	return ttsp_put_u64(p, bits);
}

static inline double
ttsp_get_f64(const uint8_t *p)
{
	uint64_t	bits = ttsp_get_u64(p);
	double		v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

/* n floats as their IEEE bits. */
static inline uint8_t *
ttsp_put_f32s(uint8_t *p, const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	bits;

		memcpy(&bits, &v[i], sizeof(bits));
		p = ttsp_put_u32(p, bits);
	}
	return p;
}

static inline void
ttsp_get_f32s(const uint8_t *p, float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	bits = ttsp_get_u32(p + 4 * i);

		memcpy(&v[i], &bits, sizeof(bits));
	}
}

#endif
