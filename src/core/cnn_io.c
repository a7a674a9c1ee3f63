/*
 * CNN byte format, versions 1 and 2 (layout in cnn.h).  Every field is written
 * byte by byte in little-endian order, so the bytes do not depend on the
 * host.  Reading checks, in order: size, magic, checksum, version, config,
 * exact length, then the values, so no bad input reaches an allocation
 * larger than its own length implies.
 */
#include "cnn_internal.h"

#include <string.h>

#include "bytes.h"

#define CNN_MAGIC "TTSPCNN"		/* 8 bytes with its NUL */
#define CNN_MAGIC_LEN 8
#define CNN_FORMAT_VERSION 2		/* the latest this build reads */
/* magic, version, task, in_channels, in_height, in_width, n_blocks */
#define CNN_FIXED_HEADER (CNN_MAGIC_LEN + 6 * 4)
#define CNN_CHECKSUM_LEN 8

static uint8_t *
put_floats(uint8_t *p, const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	bits;

		memcpy(&bits, &v[i], sizeof(bits));
		p = ttsp_put_u32(p, bits);
	}
	return p;
}

static void
get_floats(const uint8_t *p, float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	bits = ttsp_get_u32(p + 4 * i);

		memcpy(&v[i], &bits, sizeof(bits));
	}
}

/* Version 2 only adds n_extra: a net without extras keeps version 1's bytes. */
static uint32_t
format_version(const ttsp_cnn_config *cfg)
{
	return cfg->n_extra > 0 ? 2 : 1;
}

static size_t
format_size(uint32_t version, int n_blocks, size_t n_params, size_t n_stats)
{
	return CNN_FIXED_HEADER + 4 * (size_t) n_blocks + (version >= 2 ? 4 : 0) + 2 * 8 +
		4 * (n_params + n_stats) + CNN_CHECKSUM_LEN;
}

size_t
ttsp_cnn_serialized_size(const ttsp_cnn *net)
{
	return format_size(format_version(&net->cfg), net->cfg.n_blocks, net->n_params, net->n_stats);
}

ttsp_status
ttsp_cnn_serialize(const ttsp_cnn *net, uint8_t *buf, size_t len, ttsp_error *err)
{
	size_t		size = ttsp_cnn_serialized_size(net);
	const ttsp_cnn_config *cfg = &net->cfg;
	uint8_t    *p = buf;

	if (buf == NULL || len < size)
		return ttsp_fail(err, TTSP_EINVAL, "CNN serialisation needs %zu bytes, got %zu",
						 size, buf == NULL ? 0 : len);
	memcpy(p, CNN_MAGIC, CNN_MAGIC_LEN);
	p += CNN_MAGIC_LEN;
	p = ttsp_put_u32(p, format_version(cfg));
	p = ttsp_put_u32(p, (uint32_t) cfg->task);
	p = ttsp_put_u32(p, (uint32_t) cfg->in_channels);
	p = ttsp_put_u32(p, (uint32_t) cfg->in_height);
	p = ttsp_put_u32(p, (uint32_t) cfg->in_width);
	p = ttsp_put_u32(p, (uint32_t) cfg->n_blocks);
	for (int l = 0; l < cfg->n_blocks; l++)
		p = ttsp_put_u32(p, (uint32_t) cfg->channels[l]);
	if (format_version(cfg) >= 2)
		p = ttsp_put_u32(p, (uint32_t) cfg->n_extra);
	p = ttsp_put_u64(p, net->n_params);
	p = ttsp_put_u64(p, net->n_stats);
	p = put_floats(p, net->params, net->n_params);
	p = put_floats(p, net->stats, net->n_stats);
	ttsp_put_u64(p, ttsp_fnv1a64(buf, (size_t) (p - buf)));
	return TTSP_OK;
}

/* A u32 config field as int; out-of-range values fail validation later. */
static int
get_dim(const uint8_t *p)
{
	uint32_t	v = ttsp_get_u32(p);

	return v > INT32_MAX ? -1 : (int) v;
}

static ttsp_cnn *
corrupt(ttsp_error *err, const char *what)
{
	ttsp_fail(err, TTSP_ECORRUPT, "corrupt CNN model: %s", what);
	return NULL;
}

/* What is wrong with the loaded values, or NULL. */
static const char *
bad_value(const ttsp_cnn *net)
{
	for (size_t i = 0; i < net->n_params; i++)
		if (!isfinite(net->params[i]))
			return "non-finite parameter";
	for (size_t i = 0; i < net->n_stats; i++)
		if (!isfinite(net->stats[i]))
			return "non-finite BatchNorm statistic";
	for (int l = 0; l < net->cfg.n_blocks; l++)
		for (int c = 0; c < net->blocks[l].cout; c++)
			if (net->blocks[l].run_var[c] < 0.0f)
				return "negative BatchNorm running variance";
	for (int e = 0; e < net->cfg.n_extra; e++)
		if (!(net->extra_scale[e] > 0.0f))
			return "extra input scale not positive";
	return NULL;
}

ttsp_cnn *
ttsp_cnn_deserialize(const uint8_t *buf, size_t len, ttsp_error *err)
{
	ttsp_cnn_config cfg = {0};
	ttsp_error	cfg_err;
	ttsp_cnn	geom;
	const uint8_t *p;
	uint32_t	version;
	ttsp_cnn   *net;
	const char *problem;

	if (buf == NULL || len < CNN_FIXED_HEADER + CNN_CHECKSUM_LEN)
		return corrupt(err, "too short");
	if (memcmp(buf, CNN_MAGIC, CNN_MAGIC_LEN) != 0)
		return corrupt(err, "bad magic (not a ttsp CNN)");
	if (ttsp_get_u64(buf + len - CNN_CHECKSUM_LEN) != ttsp_fnv1a64(buf, len - CNN_CHECKSUM_LEN))
		return corrupt(err, "checksum mismatch (truncated or altered)");

	p = buf + CNN_MAGIC_LEN;
	version = ttsp_get_u32(p);
	if (version < 1 || version > CNN_FORMAT_VERSION)
	{
		ttsp_fail(err, TTSP_EUNSUPPORTED,
				  "CNN model format version %u is not supported (this build reads %d)",
				  version, CNN_FORMAT_VERSION);
		return NULL;
	}
	cfg.task = get_dim(p + 4);
	cfg.in_channels = get_dim(p + 8);
	cfg.in_height = get_dim(p + 12);
	cfg.in_width = get_dim(p + 16);
	cfg.n_blocks = get_dim(p + 20);
	p = buf + CNN_FIXED_HEADER;
	if (cfg.n_blocks < 1 || cfg.n_blocks > TTSP_CNN_MAX_BLOCKS)
		return corrupt(err, "block count out of range");
	if (len < format_size(version, cfg.n_blocks, 0, 0))
		return corrupt(err, "too short for its header");
	for (int l = 0; l < cfg.n_blocks; l++)
		cfg.channels[l] = get_dim(p + 4 * l);
	p += 4 * cfg.n_blocks;
	if (version >= 2)
	{
		cfg.n_extra = get_dim(p);
		p += 4;
		/* version 2 exists for the extras: without any, it would be version 1 */
		if (cfg.n_extra == 0)
			return corrupt(err, "format version 2 without extra inputs");
	}
	if (ttsp_cnn_validate_config(&cfg, &cfg_err) != TTSP_OK)
	{
		ttsp_fail(err, TTSP_ECORRUPT, "corrupt CNN model: %s", cfg_err.msg);
		return NULL;
	}

	/* the config fixes every size: check them before allocating */
	cnn_set_geometry(&geom, &cfg);
	if (len != format_size(version, cfg.n_blocks, geom.n_params, geom.n_stats) ||
		ttsp_get_u64(p) != geom.n_params || ttsp_get_u64(p + 8) != geom.n_stats)
		return corrupt(err, "length does not match the architecture");
	p += 16;

	net = cnn_alloc(&cfg, err);
	if (net == NULL)
		return NULL;
	get_floats(p, net->params, net->n_params);
	get_floats(p + 4 * net->n_params, net->stats, net->n_stats);
	problem = bad_value(net);
	if (problem != NULL)
	{
		ttsp_cnn_destroy(net);
		return corrupt(err, problem);
	}
	return net;
}
