/* Model averaging and the partial-training state's byte format (cnn_average.h). */
#include "cnn_average.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define AVG_MAGIC "TTSPAVG"		/* 8 bytes with its NUL */
#define AVG_MAGIC_LEN 8
#define AVG_FORMAT_VERSION 1
#define AVG_HAS_MOMENTS 1u
/* magic, version, flags, rows, loss_sum, steps, cnn_len */
#define AVG_FIXED_HEADER (AVG_MAGIC_LEN + 2 * 4 + 4 * 8)
/* n_moments, has_v */
#define AVG_MOMENTS_HEADER (8 + 4)
#define AVG_CHECKSUM_LEN 8

/* dst = (wd * dst + ws * src) / (wd + ws), in double. */
static void
blend(float *dst, const float *src, size_t n, double wd, double ws)
{
	double		total = wd + ws;

	for (size_t i = 0; i < n; i++)
		dst[i] = (float) ((wd * dst[i] + ws * src[i]) / total);
}

/* Same tensors, same sizes: nets of one architecture. */
static ttsp_status
check_same(ttsp_cnn *a, ttsp_cnn *b, ttsp_error *err)
{
	int			n = ttsp_cnn_tensor_count(a);

	if (n != ttsp_cnn_tensor_count(b))
		return ttsp_fail(err, TTSP_EINVAL, "cannot average nets of %d and %d tensors",
						 n, ttsp_cnn_tensor_count(b));
	for (int i = 0; i < n; i++)
	{
		ttsp_cnn_tensor ta,
					tb;

		ttsp_cnn_tensor_get(a, i, &ta);
		ttsp_cnn_tensor_get(b, i, &tb);
		if (ta.count != tb.count || strcmp(ta.name, tb.name) != 0)
			return ttsp_fail(err, TTSP_EINVAL, "cannot average tensor %s of %zu values with %s of %zu",
							 ta.name, ta.count, tb.name, tb.count);
	}
	return TTSP_OK;
}

ttsp_status
ttsp_avg_combine(ttsp_avg *dst, const ttsp_avg *src, ttsp_error *err)
{
	double		wd = (double) dst->rows,
				ws = (double) src->rows;
	ttsp_status st = check_same(dst->net, src->net, err);

	if (st != TTSP_OK)
		return st;
	if (dst->n_moments != src->n_moments || (dst->v == NULL) != (src->v == NULL))
		return ttsp_fail(err, TTSP_EINVAL, "cannot average states of different optimisers");
	if (ws > 0)
	{
		int			n = ttsp_cnn_tensor_count(dst->net);

		/* a side without rows is the start it was given: no weight */
		if (wd == 0)
			wd = 0, ws = 1;
		for (int i = 0; i < n; i++)
		{
			ttsp_cnn_tensor td,
						ts;

			ttsp_cnn_tensor_get(dst->net, i, &td);
			ttsp_cnn_tensor_get(src->net, i, &ts);
			blend(td.data, ts.data, td.count, wd, ws);
		}
		if (dst->m != NULL)
			blend(dst->m, src->m, dst->n_moments, wd, ws);
		if (dst->v != NULL)
			blend(dst->v, src->v, dst->n_moments, wd, ws);
		dst->steps = (uint64_t) llround((wd * (double) dst->steps + ws * (double) src->steps) / (wd + ws));
	}
	dst->rows += src->rows;
	dst->loss_sum += src->loss_sum;
	return TTSP_OK;
}

void
ttsp_avg_drop_moments(ttsp_avg *a)
{
	free(a->m);
	free(a->v);
	a->m = a->v = NULL;
	a->n_moments = 0;
}

ttsp_status
ttsp_avg_take_moments(ttsp_avg *a, ttsp_optimizer *opt, ttsp_error *err)
{
	float	   *m,
			   *v;
	long	   *steps;
	size_t		n = ttsp_optimizer_state_view(opt, &m, &v, &steps);

	ttsp_avg_drop_moments(a);
	a->steps = (uint64_t) *steps;
	if (m == NULL)
		return TTSP_OK;
	a->m = malloc(n * sizeof(float));
	a->v = v != NULL ? malloc(n * sizeof(float)) : NULL;
	if (a->m == NULL || (v != NULL && a->v == NULL))
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for optimiser moments of %zu parameters", n);
	memcpy(a->m, m, n * sizeof(float));
	if (v != NULL)
		memcpy(a->v, v, n * sizeof(float));
	a->n_moments = n;
	return TTSP_OK;
}

ttsp_status
ttsp_avg_load_moments(const ttsp_avg *a, ttsp_optimizer *opt, ttsp_error *err)
{
	float	   *m,
			   *v;
	long	   *steps;
	size_t		n = ttsp_optimizer_state_view(opt, &m, &v, &steps);

	if (a->n_moments == 0)
		return TTSP_OK;
	if (a->n_moments != n || m == NULL || (a->v != NULL) != (v != NULL))
		return ttsp_fail(err, TTSP_EINVAL, "the state's optimiser moments do not fit this optimiser");
	memcpy(m, a->m, n * sizeof(float));
	if (v != NULL)
		memcpy(v, a->v, n * sizeof(float));
	*steps = (long) a->steps;
	return TTSP_OK;
}

size_t
ttsp_avg_serialized_size(const ttsp_avg *a)
{
	size_t		moments = a->n_moments == 0 ? 0 :
		AVG_MOMENTS_HEADER + 4 * a->n_moments * (a->v != NULL ? 2 : 1);

	return AVG_FIXED_HEADER + ttsp_cnn_serialized_size(a->net) + moments + AVG_CHECKSUM_LEN;
}

ttsp_status
ttsp_avg_serialize(const ttsp_avg *a, uint8_t *buf, size_t len, ttsp_error *err)
{
	size_t		size = ttsp_avg_serialized_size(a);
	size_t		cnn_len = ttsp_cnn_serialized_size(a->net);
	uint8_t    *p = buf;
	ttsp_status st;

	if (buf == NULL || len < size)
		return ttsp_fail(err, TTSP_EINVAL, "averaging state needs %zu bytes, got %zu",
						 size, buf == NULL ? 0 : len);
	memcpy(p, AVG_MAGIC, AVG_MAGIC_LEN);
	p += AVG_MAGIC_LEN;
	p = ttsp_put_u32(p, AVG_FORMAT_VERSION);
	p = ttsp_put_u32(p, a->n_moments > 0 ? AVG_HAS_MOMENTS : 0);
	p = ttsp_put_u64(p, a->rows);
	p = ttsp_put_f64(p, a->loss_sum);
	p = ttsp_put_u64(p, a->steps);
	p = ttsp_put_u64(p, cnn_len);
	st = ttsp_cnn_serialize(a->net, p, cnn_len, err);
	if (st != TTSP_OK)
		return st;
	p += cnn_len;
	if (a->n_moments > 0)
	{
		p = ttsp_put_u64(p, a->n_moments);
		p = ttsp_put_u32(p, a->v != NULL);
		p = ttsp_put_f32s(p, a->m, a->n_moments);
		if (a->v != NULL)
			p = ttsp_put_f32s(p, a->v, a->n_moments);
	}
	ttsp_put_u64(p, ttsp_fnv1a64(buf, (size_t) (p - buf)));
	return TTSP_OK;
}

static ttsp_status
corrupt(ttsp_avg *a, ttsp_error *err, const char *what)
{
	ttsp_avg_release(a);
	return ttsp_fail(err, TTSP_ECORRUPT, "corrupt averaging state: %s", what);
}

/* The moments section at p (rest bytes before the checksum) into a. */
static ttsp_status
read_moments(const uint8_t *p, size_t rest, ttsp_avg *a, ttsp_error *err)
{
	uint64_t	n;
	uint32_t	has_v;
	size_t		arrays;

	if (rest < AVG_MOMENTS_HEADER)
		return corrupt(a, err, "too short for its moments");
	n = ttsp_get_u64(p);
	has_v = ttsp_get_u32(p + 8);
	if (n != ttsp_cnn_param_count(a->net) || has_v > 1)
		return corrupt(a, err, "moments do not match the net");
	arrays = has_v ? 2 : 1;
	if (rest - AVG_MOMENTS_HEADER != 4 * n * arrays)
		return corrupt(a, err, "length does not match the moments");
	a->m = malloc(n * sizeof(float));
	a->v = has_v ? malloc(n * sizeof(float)) : NULL;
	if (a->m == NULL || (has_v && a->v == NULL))
	{
		ttsp_avg_release(a);
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for optimiser moments");
	}
	a->n_moments = n;
	ttsp_get_f32s(p + AVG_MOMENTS_HEADER, a->m, n);
	if (has_v)
		ttsp_get_f32s(p + AVG_MOMENTS_HEADER + 4 * n, a->v, n);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(a->m[i]) || (a->v != NULL && !(a->v[i] >= 0 && isfinite(a->v[i]))))
			return corrupt(a, err, "non-finite or negative moment");
	return TTSP_OK;
}

ttsp_status
ttsp_avg_deserialize(const uint8_t *buf, size_t len, ttsp_avg *a, ttsp_error *err)
{
	uint32_t	version,
				flags;
	uint64_t	cnn_len;
	size_t		body;
	ttsp_error	net_err;

	memset(a, 0, sizeof(*a));
	if (buf == NULL || len < AVG_FIXED_HEADER + AVG_CHECKSUM_LEN)
		return corrupt(a, err, "too short");
	if (memcmp(buf, AVG_MAGIC, AVG_MAGIC_LEN) != 0)
		return corrupt(a, err, "bad magic (not a ttsp averaging state)");
	if (ttsp_get_u64(buf + len - AVG_CHECKSUM_LEN) != ttsp_fnv1a64(buf, len - AVG_CHECKSUM_LEN))
		return corrupt(a, err, "checksum mismatch (truncated or altered)");
	version = ttsp_get_u32(buf + AVG_MAGIC_LEN);
	if (version != AVG_FORMAT_VERSION)
		return ttsp_fail(err, TTSP_EUNSUPPORTED,
						 "averaging state format version %u is not supported (this build reads %d)",
						 version, AVG_FORMAT_VERSION);
	flags = ttsp_get_u32(buf + AVG_MAGIC_LEN + 4);
	a->rows = ttsp_get_u64(buf + AVG_MAGIC_LEN + 8);
	a->loss_sum = ttsp_get_f64(buf + AVG_MAGIC_LEN + 16);
	a->steps = ttsp_get_u64(buf + AVG_MAGIC_LEN + 24);
	cnn_len = ttsp_get_u64(buf + AVG_MAGIC_LEN + 32);
	body = len - AVG_FIXED_HEADER - AVG_CHECKSUM_LEN;
	if (flags & ~AVG_HAS_MOMENTS)
		return corrupt(a, err, "unknown flags");
	if (!(a->loss_sum >= 0 && isfinite(a->loss_sum)) || a->steps > (uint64_t) INT32_MAX * 1024)
		return corrupt(a, err, "loss or step count out of range");
	if (cnn_len > body || (!(flags & AVG_HAS_MOMENTS) && cnn_len != body))
		return corrupt(a, err, "length does not match the net");
	a->net = ttsp_cnn_deserialize(buf + AVG_FIXED_HEADER, (size_t) cnn_len, &net_err);
	if (a->net == NULL)
		return ttsp_fail(err, net_err.code, "%s", net_err.msg);
	if (flags & AVG_HAS_MOMENTS)
		return read_moments(buf + AVG_FIXED_HEADER + cnn_len, body - (size_t) cnn_len, a, err);
	return TTSP_OK;
}

void
ttsp_avg_release(ttsp_avg *a)
{
	ttsp_cnn_destroy(a->net);
	free(a->m);
	free(a->v);
	memset(a, 0, sizeof(*a));
}
