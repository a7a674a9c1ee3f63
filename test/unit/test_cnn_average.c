/*
 * Model averaging (cnn_average.h): every tensor, the BatchNorm running
 * statistics included, and the optimiser moments are the row-weighted mean
 * computed here by hand in double; a side without rows has no weight; nets
 * of other shapes are refused.  Then the state's byte format: round trip,
 * every truncation and bit flip rejected, and forged bytes with a valid
 * checksum rejected by the size checks.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cnn_average.h"
#include "tap.h"

static ttsp_cnn *
small_net(uint64_t seed, int c0)
{
	ttsp_cnn_config cfg = ttsp_cnn_default_config(1, 16, 16, TTSP_TASK_CLASSIFICATION);
	ttsp_error	err;

	cfg.n_blocks = 2;
	cfg.channels[0] = c0;
	cfg.channels[1] = 3;
	return ttsp_cnn_create(&cfg, seed, &err);
}

/* Give every value, the running statistics too, something distinct per net. */
static void
scribble(ttsp_cnn *net, float base)
{
	for (int i = 0; i < ttsp_cnn_tensor_count(net); i++)
	{
		ttsp_cnn_tensor t;

		ttsp_cnn_tensor_get(net, i, &t);
		for (size_t k = 0; k < t.count; k++)
			t.data[k] = base + 0.001f * (float) (i * 7 + (int) k % 13);
	}
}

static ttsp_avg
state(uint64_t seed, float base, uint64_t rows, int steps, bool moments)
{
	ttsp_avg	a = {small_net(seed, 4), rows, 0.5 * rows, 0, 0, NULL, NULL};
	ttsp_optim_config cfg = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	ttsp_optimizer *opt = ttsp_optimizer_create(a.net, &cfg, NULL);
	float	   *m,
			   *v;
	long	   *st;
	size_t		n = ttsp_optimizer_state_view(opt, &m, &v, &st);

	scribble(a.net, base);
	for (size_t i = 0; i < n; i++)
	{
		m[i] = base * 0.1f + 0.01f * (float) (i % 5);
		v[i] = base * 0.2f + 0.02f * (float) (i % 3);
	}
	*st = steps;
	if (moments)
		ttsp_avg_take_moments(&a, opt, NULL);
	ttsp_optimizer_destroy(opt);
	return a;
}

static void
test_average(void)
{
	ttsp_avg	a = state(1, 1.0f, 1, 10, true),
				b = state(2, -2.0f, 3, 30, true),
				a0 = state(1, 1.0f, 1, 10, true);
	ttsp_error	err;
	bool		exact = true;
	int			checked = 0;

	ok(ttsp_avg_combine(&a, &b, &err) == TTSP_OK, "combine");
	for (int i = 0; i < ttsp_cnn_tensor_count(a.net); i++)
	{
		ttsp_cnn_tensor ta,
					tb,
					t0;

		ttsp_cnn_tensor_get(a.net, i, &ta);
		ttsp_cnn_tensor_get(b.net, i, &tb);
		ttsp_cnn_tensor_get(a0.net, i, &t0);
		for (size_t k = 0; k < ta.count; k++)
			exact &= ta.data[k] == (float) ((1.0 * t0.data[k] + 3.0 * tb.data[k]) / 4.0);
		checked += strstr(ta.name, "running_") != NULL;
	}
	ok(exact && checked == 4, "every tensor, the %d running statistics included, is (1 a + 3 b) / 4", checked);
	exact = true;
	for (size_t i = 0; i < a.n_moments; i++)
		exact &= a.m[i] == (float) ((1.0 * a0.m[i] + 3.0 * b.m[i]) / 4.0) &&
			a.v[i] == (float) ((1.0 * a0.v[i] + 3.0 * b.v[i]) / 4.0);
	ok(exact && a.n_moments == ttsp_cnn_param_count(a.net), "moments are the row-weighted mean");
	ok(a.steps == 25 && a.rows == 4 && a.loss_sum == 2.0, "steps %llu (25), rows add up, losses add up",
	   (unsigned long long) a.steps);
	ttsp_avg_release(&a);
	ttsp_avg_release(&b);
	ttsp_avg_release(&a0);
}

static void
test_weights_and_shapes(void)
{
	ttsp_avg	empty = state(1, 1.0f, 0, 0, false),
				full = state(2, -2.0f, 5, 0, false),
				other = {small_net(3, 5), 1, 0, 0, 0, NULL, NULL},
				with = state(4, 0.0f, 1, 1, true);
	ttsp_cnn_tensor te,
				tf;
	ttsp_error	err;

	ok(ttsp_avg_combine(&empty, &full, &err) == TTSP_OK, "combine into a state without rows");
	ttsp_cnn_tensor_get(empty.net, 0, &te);
	ttsp_cnn_tensor_get(full.net, 0, &tf);
	ok(memcmp(te.data, tf.data, te.count * sizeof(float)) == 0 && empty.rows == 5,
	   "a side without rows has no weight");
	ok(ttsp_avg_combine(&full, &other, &err) == TTSP_EINVAL && strstr(err.msg, "blocks.0.conv.weight"),
	   "nets of other widths are refused: %s", err.msg);
	ok(ttsp_avg_combine(&full, &with, &err) == TTSP_EINVAL, "a state with moments and one without: %s", err.msg);
	ttsp_avg_release(&empty);
	ttsp_avg_release(&full);
	ttsp_avg_release(&other);
	ttsp_avg_release(&with);
}

static uint8_t *
bytes_of(const ttsp_avg *a, size_t *len)
{
	uint8_t    *buf;

	*len = ttsp_avg_serialized_size(a);
	buf = malloc(*len);
	ttsp_avg_serialize(a, buf, *len, NULL);
	return buf;
}

/* Rewrite the checksum of forged bytes, so that only the value checks can catch them. */
static void
reseal(uint8_t *buf, size_t len)
{
	ttsp_put_u64(buf + len - 8, ttsp_fnv1a64(buf, len - 8));
}

static void
test_format(bool moments)
{
	ttsp_avg	a = state(7, 0.5f, 9, 4, moments),
				b;
	size_t		len,
				len2;
	uint8_t    *buf = bytes_of(&a, &len),
			   *buf2,
			   *copy = malloc(len);
	ttsp_error	err;
	int			rejected = 0,
				tried = 0;

	ok(ttsp_avg_deserialize(buf, len, &b, &err) == TTSP_OK, "%s: round trip reads", moments ? "moments" : "no moments");
	buf2 = bytes_of(&b, &len2);
	ok(len2 == len && memcmp(buf, buf2, len) == 0 && b.rows == 9 && b.steps == a.steps,
	   "the same bytes again");
	ttsp_avg_release(&b);
	for (size_t cut = 0; cut < len; cut += cut < 128 ? 1 : 97)
	{
		tried++;
		rejected += ttsp_avg_deserialize(buf, cut, &b, &err) == TTSP_ECORRUPT;
	}
	ok(rejected == tried, "%d of %d truncations rejected", rejected, tried);
	rejected = tried = 0;
	for (size_t i = 0; i < len; i += i < 128 ? 1 : 89)
		for (int bit = 0; bit < 8; bit += 3)
		{
			ttsp_status st;

			memcpy(copy, buf, len);
			copy[i] ^= (uint8_t) (1 << bit);
			tried++;
			st = ttsp_avg_deserialize(copy, len, &b, &err);
			rejected += st == TTSP_ECORRUPT || st == TTSP_EUNSUPPORTED;
			ttsp_avg_release(&b);
		}
	ok(rejected == tried, "%d of %d bit flips rejected", rejected, tried);
	/* forged with a valid checksum: a longer net length, then a loss of NaN */
	memcpy(copy, buf, len);
	ttsp_put_u64(copy + 40, ttsp_get_u64(copy + 40) + 4);
	reseal(copy, len);
	ok(ttsp_avg_deserialize(copy, len, &b, &err) == TTSP_ECORRUPT, "forged net length: %s", err.msg);
	memcpy(copy, buf, len);
	ttsp_put_f64(copy + 24, NAN);
	reseal(copy, len);
	ok(ttsp_avg_deserialize(copy, len, &b, &err) == TTSP_ECORRUPT, "forged loss: %s", err.msg);
	memcpy(copy, buf, len);
	ttsp_put_u32(copy + 8, 2);
	reseal(copy, len);
	ok(ttsp_avg_deserialize(copy, len, &b, &err) == TTSP_EUNSUPPORTED, "a later version: %s", err.msg);
	free(buf);
	free(buf2);
	free(copy);
	ttsp_avg_release(&a);
}

int
main(void)
{
	test_average();
	test_weights_and_shapes();
	test_format(true);
	test_format(false);
	return done_testing();
}
