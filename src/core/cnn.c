/*
 * The CNN's life cycle, workspace and forward/backward passes.  Layer maths
 * is in cnn_layers.c, losses and optimisers in cnn_train.c, the byte format
 * in cnn_io.c.
 */
#include "cnn_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floats.h"
#include "rng.h"

/* Kaiming-normal negative slope, as the seed project's init */
#define KAIMING_A 0.1

#define TENSORS_PER_BLOCK 6

/* Floats rounded up to 64 bytes. */
#define ROUND16(x) (((size_t) (x) + 15) / 16 * 16)

static inline int
conv_out(int in)
{
	return (in + 2 * CNN_PAD - CNN_K) / CNN_STRIDE + 1;
}

static inline size_t
block_out_elems(const cnn_block *blk)
{
	return (size_t) blk->cout * blk->hout * blk->wout;
}

static inline size_t
block_col_elems(const cnn_block *blk)
{
	return (size_t) blk->cin * CNN_TAPS * blk->hout * blk->wout;
}

static inline size_t
input_elems(const ttsp_cnn_config *cfg)
{
	return (size_t) cfg->in_channels * cfg->in_height * cfg->in_width;
}

ttsp_cnn_config
ttsp_cnn_default_config(int in_channels, int in_height, int in_width, int task)
{
	ttsp_cnn_config cfg = {
		.in_channels = in_channels,
		.in_height = in_height,
		.in_width = in_width,
		.n_blocks = 4,
		.channels = {8, 16, 32, 64},
		.task = task,
	};

	return cfg;
}

/* Plane sizes of the layouts in cnn_internal.h, with slack for the kernels. */
static void
cnn_layout(cnn_block *blk)
{
	size_t		P = (size_t) blk->wout + 2;

	blk->P = (int) P;
	blk->sq = ROUND16((blk->hout + 3) * P + CNN_SLACK);
	blk->so = ROUND16(blk->hout * P + CNN_SLACK);
	blk->dpad = ROUND16(P + 8);
	blk->sd = ROUND16(blk->dpad + (blk->hout + 1) * P + CNN_SLACK);
}

void
cnn_set_geometry(ttsp_cnn *net, const ttsp_cnn_config *cfg)
{
	int			c = cfg->in_channels,
				h = cfg->in_height,
				w = cfg->in_width;

	net->cfg = *cfg;
	net->n_params = 0;
	net->n_stats = 0;
	for (int l = 0; l < cfg->n_blocks; l++)
	{
		cnn_block  *blk = &net->blocks[l];

		blk->cin = c;
		blk->cout = cfg->channels[l];
		blk->hin = h;
		blk->win = w;
		blk->hout = conv_out(h);
		blk->wout = conv_out(w);
		cnn_layout(blk);
		net->n_params += (size_t) blk->cout * blk->cin * CNN_TAPS + 3 * (size_t) blk->cout;
		net->n_stats += 2 * (size_t) blk->cout;
		c = blk->cout;
		h = blk->hout;
		w = blk->wout;
	}
	net->n_params += (size_t) c + cfg->n_extra + 1;
	net->n_stats += 2 * (size_t) cfg->n_extra;
}

ttsp_status
ttsp_cnn_validate_config(const ttsp_cnn_config *cfg, ttsp_error *err)
{
	ttsp_cnn	geom;
	const cnn_block *last;

	if (cfg == NULL)
		return ttsp_fail(err, TTSP_EINVAL, "CNN config is NULL");
	if (cfg->task != TTSP_TASK_CLASSIFICATION && cfg->task != TTSP_TASK_REGRESSION)
		return ttsp_fail(err, TTSP_EINVAL, "unknown CNN task %d", cfg->task);
	if (cfg->in_channels < 1 || cfg->in_channels > TTSP_CNN_MAX_CHANNELS)
		return ttsp_fail(err, TTSP_EINVAL, "input channels %d out of range 1..%d",
						 cfg->in_channels, TTSP_CNN_MAX_CHANNELS);
	if (cfg->in_height < 1 || cfg->in_height > TTSP_CNN_MAX_DIM ||
		cfg->in_width < 1 || cfg->in_width > TTSP_CNN_MAX_DIM)
		return ttsp_fail(err, TTSP_EINVAL, "input size %dx%d out of range 1..%d",
						 cfg->in_height, cfg->in_width, TTSP_CNN_MAX_DIM);
	if (cfg->n_extra < 0 || cfg->n_extra > TTSP_CNN_MAX_EXTRA)
		return ttsp_fail(err, TTSP_EINVAL, "extra inputs %d out of range 0..%d",
						 cfg->n_extra, TTSP_CNN_MAX_EXTRA);
	if (cfg->n_blocks < 1 || cfg->n_blocks > TTSP_CNN_MAX_BLOCKS)
		return ttsp_fail(err, TTSP_EINVAL, "number of conv blocks %d out of range 1..%d",
						 cfg->n_blocks, TTSP_CNN_MAX_BLOCKS);
	for (int l = 0; l < cfg->n_blocks; l++)
		if (cfg->channels[l] < 1 || cfg->channels[l] > TTSP_CNN_MAX_CHANNELS)
			return ttsp_fail(err, TTSP_EINVAL, "block %d channels %d out of range 1..%d",
							 l, cfg->channels[l], TTSP_CNN_MAX_CHANNELS);

	if (input_elems(cfg) > TTSP_CNN_MAX_SAMPLE_ELEMS)
		return ttsp_fail(err, TTSP_ELIMIT, "input of %zu values per sample exceeds %d",
						 input_elems(cfg), TTSP_CNN_MAX_SAMPLE_ELEMS);
	cnn_set_geometry(&geom, cfg);
	for (int l = 0; l < cfg->n_blocks; l++)
	{
		const cnn_block *blk = &geom.blocks[l];

		if (block_out_elems(blk) > TTSP_CNN_MAX_SAMPLE_ELEMS ||
			block_col_elems(blk) > TTSP_CNN_MAX_SAMPLE_ELEMS)
			return ttsp_fail(err, TTSP_ELIMIT,
							 "block %d needs more than %d values per sample",
							 l, TTSP_CNN_MAX_SAMPLE_ELEMS);
	}
	last = &geom.blocks[cfg->n_blocks - 1];
	if (last->hout * last->wout < 2)
		return ttsp_fail(err, TTSP_EINVAL,
						 "input %dx%d is too small for %d conv blocks: the last block's "
						 "output is 1x1, and BatchNorm needs at least 2 positions",
						 cfg->in_height, cfg->in_width, cfg->n_blocks);
	return TTSP_OK;
}

/* The batch limits: 1..TTSP_CNN_MAX_BATCH, and batch x per-sample sizes within int. */
static ttsp_status
check_batch(const ttsp_cnn *net, int batch, ttsp_error *err)
{
	if (batch < 1 || batch > TTSP_CNN_MAX_BATCH)
		return ttsp_fail(err, batch < 1 ? TTSP_EINVAL : TTSP_ELIMIT,
						 "batch size %d out of range 1..%d", batch, TTSP_CNN_MAX_BATCH);
	if ((size_t) batch * input_elems(&net->cfg) > INT_MAX)
		return ttsp_fail(err, TTSP_ELIMIT, "batch of %d inputs is too large", batch);
	for (int l = 0; l < net->cfg.n_blocks; l++)
		if ((size_t) batch * block_out_elems(&net->blocks[l]) > INT_MAX)
			return ttsp_fail(err, TTSP_ELIMIT,
							 "batch of %d is too large for block %d", batch, l);
	return TTSP_OK;
}

/* Next `count` floats of the workspace, 64-byte aligned (NULL while only counting). */
static float *
take(float *base, size_t *used, size_t count)
{
	float	   *p = base != NULL ? base + *used : NULL;

	*used += ROUND16(count);
	return p;
}

/*
 * Lay the scratch for `batch` samples out over base and return its size in
 * floats; base NULL only counts.  One function for both, so the memory
 * estimate is the allocation.
 */
static size_t
ws_carve(ttsp_cnn *net, int batch, float *base)
{
	size_t		used = 0;
	size_t		dy = 0,
				dz = 0,
				dxq = 0,
				dws = 0;
	int			last = net->cfg.n_blocks - 1;

	size_t		sums = 0;

	for (int l = 0; l <= last; l++)
	{
		if (cnn_dw_scratch_doubles(&net->blocks[l]) > dws)
			dws = cnn_dw_scratch_doubles(&net->blocks[l]);
		if (2 * (size_t) batch * net->blocks[l].cout > sums)
			sums = 2 * (size_t) batch * net->blocks[l].cout;
	}
	/*
	 * What an eval forward touches first, the backward's buffers after: the
	 * mapping's 2 MB pages are faulted in when first touched, so a new
	 * backend's first prediction faults as few as its forward needs.  Every
	 * region is 64-byte aligned (base is), doubles included.
	 */
	for (int l = 0; l <= last; l++)
	{
		cnn_block  *blk = &net->blocks[l];
		size_t		xq = (size_t) blk->cin * batch * 4 * blk->sq;

		blk->xq = take(base, &used, xq);
		blk->r = take(base, &used, (size_t) blk->cout * batch * blk->so);
		if ((size_t) blk->cout * batch * blk->so > dy)
			dy = (size_t) blk->cout * batch * blk->so;
		if ((size_t) blk->cout * batch * blk->sd > dz)
			dz = (size_t) blk->cout * batch * blk->sd;
		if (xq > dxq)
			dxq = xq;
		/* each block its own: an eval forward in parts packs once */
		blk->wpack = take(base, &used, cnn_wpack_floats(blk));
		blk->wsrc = take(base, &used, (size_t) blk->cout * blk->cin * CNN_TAPS);
		blk->wpack_kind = 0;
	}
	net->pooled = take(base, &used, (size_t) batch * net->blocks[last].cout);
	net->extra_z = take(base, &used, (size_t) batch * net->cfg.n_extra);
	net->bn_sums = (double *) take(base, &used, 2 * sums);
	net->dw_scratch = (double *) take(base, &used, 2 * dws);
	net->dy = take(base, &used, dy);
	net->dz = take(base, &used, dz);
	net->dxq = take(base, &used, dxq);
	return used;
}

size_t
ttsp_cnn_workspace_bytes(const ttsp_cnn_config *cfg, int batch)
{
	ttsp_cnn	geom;

	if (ttsp_cnn_validate_config(cfg, NULL) != TTSP_OK)
		return SIZE_MAX;
	cnn_set_geometry(&geom, cfg);
	if (check_batch(&geom, batch, NULL) != TTSP_OK)
		return SIZE_MAX;
	/* params + grads, running + batch statistics, scratch */
	return sizeof(float) * (2 * geom.n_params + 2 * geom.n_stats +
							ws_carve(&geom, batch, NULL));
}

ttsp_cnn *
cnn_alloc(const ttsp_cnn_config *cfg, ttsp_error *err)
{
	ttsp_cnn   *net;
	float	   *p,
			   *g,
			   *s,
			   *bs;

	if (ttsp_cnn_validate_config(cfg, err) != TTSP_OK)
		return NULL;
	net = calloc(1, sizeof(*net));
	if (net == NULL)
	{
		ttsp_fail(err, TTSP_ENOMEM, "out of memory for the CNN");
		return NULL;
	}
	cnn_set_geometry(net, cfg);
	net->threads = 1;
	net->params = ttsp_map_zeroed(net->n_params * sizeof(float), &net->params_map);
	net->grads = calloc(net->n_params, sizeof(float));
	net->stats = calloc(net->n_stats, sizeof(float));
	net->batch_stats = calloc(net->n_stats, sizeof(float));
	if (!net->params || !net->grads || !net->stats || !net->batch_stats)
	{
		ttsp_fail(err, TTSP_ENOMEM, "out of memory for %zu CNN parameters",
				  net->n_params);
		ttsp_cnn_destroy(net);
		return NULL;
	}

	p = net->params;
	g = net->grads;
	s = net->stats;
	bs = net->batch_stats;
	for (int l = 0; l < cfg->n_blocks; l++)
	{
		cnn_block  *blk = &net->blocks[l];
		size_t		nw = (size_t) blk->cout * blk->cin * CNN_TAPS;

		blk->w = p;
		blk->dw = g;
		p += nw;
		g += nw;
		blk->b = p;
		blk->db = g;
		blk->gamma = p + blk->cout;
		blk->dgamma = g + blk->cout;
		blk->beta = p + 2 * blk->cout;
		blk->dbeta = g + 2 * blk->cout;
		p += 3 * blk->cout;
		g += 3 * blk->cout;
		blk->run_mean = s;
		blk->run_var = s + blk->cout;
		s += 2 * blk->cout;
		blk->mean = bs;
		blk->invstd = bs + blk->cout;
		bs += 2 * blk->cout;
	}
	net->head_w = p;
	net->head_dw = g;
	net->head_b = p + net->blocks[cfg->n_blocks - 1].cout + cfg->n_extra;
	net->head_db = g + net->blocks[cfg->n_blocks - 1].cout + cfg->n_extra;
	net->extra_mean = s;
	net->extra_scale = s + cfg->n_extra;
	return net;
}

static float
symmetric_uniform(ttsp_rng *rng, double bound)
{
	return (float) (bound * (2.0 * ttsp_rng_uniform(rng) - 1.0));
}

ttsp_cnn *
ttsp_cnn_create(const ttsp_cnn_config *cfg, uint64_t seed, ttsp_error *err)
{
	ttsp_cnn   *net = cnn_alloc(cfg, err);
	ttsp_rng	rng;
	int			fan_in;
	double		bound;

	if (net == NULL)
		return NULL;
	ttsp_rng_seed(&rng, seed);
	for (int l = 0; l < cfg->n_blocks; l++)
	{
		cnn_block  *blk = &net->blocks[l];
		size_t		nw = (size_t) blk->cout * blk->cin * CNN_TAPS;
		/* kaiming_normal_(a, mode='fan_in', nonlinearity='leaky_relu') */
		double		std = sqrt(2.0 / (1.0 + KAIMING_A * KAIMING_A)) /
			sqrt((double) blk->cin * CNN_TAPS);

		for (size_t i = 0; i < nw; i++)
			blk->w[i] = (float) (std * ttsp_rng_normal(&rng));
		for (int c = 0; c < blk->cout; c++)
		{
			blk->gamma[c] = 1.0f;
			blk->run_var[c] = 1.0f;
		}
	}
	/* nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both */
	fan_in = net->blocks[cfg->n_blocks - 1].cout + cfg->n_extra;
	bound = 1.0 / sqrt((double) fan_in);
	for (int c = 0; c < fan_in; c++)
		net->head_w[c] = symmetric_uniform(&rng, bound);
	net->head_b[0] = symmetric_uniform(&rng, bound);
	for (int e = 0; e < cfg->n_extra; e++)
		net->extra_scale[e] = 1.0f;
	return net;
}

/*
 * The workspace is its own anonymous mapping (hugemem.h) rather than
 * malloc'd and zeroed: the kernel hands it out zeroed (the s2d buffers'
 * padding is never written again), a page is only faulted in when first
 * touched (an eval-mode forward never touches the backward buffers), and
 * one fault brings in 2 MB.
 */
void
ttsp_cnn_destroy(ttsp_cnn *net)
{
	if (net == NULL)
		return;
	cnn_quiesce(net);
	free(net->eval_pooled);
	free(net->async_pooled);
	free(net->eval_extra_z);
	ttsp_unmap(&net->ws_map);
	ttsp_unmap(&net->params_map);
	free(net->grads);
	free(net->stats);
	free(net->batch_stats);
	free(net);
}

const ttsp_cnn_config *
ttsp_cnn_get_config(const ttsp_cnn *net)
{
	return &net->cfg;
}

size_t
ttsp_cnn_param_count(const ttsp_cnn *net)
{
	return net->n_params;
}

ttsp_status
ttsp_cnn_set_threads(ttsp_cnn *net, int threads, ttsp_error *err)
{
	if (threads < 1 || threads > TTSP_CNN_MAX_THREADS)
		return ttsp_fail(err, TTSP_EINVAL, "CNN threads %d out of range 1..%d",
						 threads, TTSP_CNN_MAX_THREADS);
	if (threads != net->threads)
		cnn_quiesce(net);
	net->threads = threads;
	return TTSP_OK;
}

int
ttsp_cnn_get_threads(const ttsp_cnn *net)
{
	return net->threads;
}

ttsp_status
ttsp_cnn_reserve(ttsp_cnn *net, int batch, ttsp_error *err)
{
	ttsp_status st = check_batch(net, batch, err);
	ttsp_mapping map;
	float	   *ws;
	ttsp_cnn	counting;

	cnn_quiesce(net);
	if (st != TTSP_OK || batch <= net->capacity)
		return st;
	/* counting lays NULLs out: on a copy, so a failed mapping leaves the live layout */
	counting = *net;
	if ((ws = ttsp_map_zeroed(sizeof(float) * ws_carve(&counting, batch, NULL), &map)) == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for CNN scratch (batch %d, %zu bytes)",
						 batch, ttsp_cnn_workspace_bytes(&net->cfg, batch));
	ttsp_unmap(&net->ws_map);
	net->ws_map = map;
	net->ws = ws;
	ws_carve(net, batch, ws);
	net->capacity = batch;
	net->backward_ready = false;
	return TTSP_OK;
}

ttsp_status
ttsp_cnn_set_extra_scaling(ttsp_cnn *net, const double *mean, const double *scale,
						   ttsp_error *err)
{
	int			n = net->cfg.n_extra;

	cnn_quiesce(net);
	if (n > 0 && (mean == NULL || scale == NULL))
		return ttsp_fail(err, TTSP_EINVAL, "extra scaling needs %d means and scales", n);
	for (int e = 0; e < n; e++)
		if (!isfinite(mean[e]) || !isfinite(scale[e]) || !((float) scale[e] > 0.0f) ||
			!isfinite((float) mean[e]))
			return ttsp_fail(err, TTSP_EINVAL, "extra input %d: mean %g, scale %g "
							 "(need finite values and a scale > 0)", e, mean[e], scale[e]);
	for (int e = 0; e < n; e++)
	{
		net->extra_mean[e] = (float) mean[e];
		net->extra_scale[e] = (float) scale[e];
	}
	return TTSP_OK;
}

/* Standardise a batch's extras into z (nothing without extras); EINVAL if one is not finite. */
static ttsp_status
standardise_extra(const ttsp_cnn *net, const float *extra, int batch, float *z, ttsp_error *err)
{
	int			n = net->cfg.n_extra;

	for (size_t i = 0; i < (size_t) batch * n; i++)
	{
		int			e = (int) (i % n);

		if (!isfinite(extra[i]))
			return ttsp_fail(err, TTSP_EINVAL, "extra inputs contain NaN or infinity");
		z[i] = (extra[i] - net->extra_mean[e]) / net->extra_scale[e];
	}
	return TTSP_OK;
}

ttsp_status
ttsp_cnn_forward(ttsp_cnn *net, const float *x, int batch, bool training,
				 float *out, ttsp_error *err)
{
	return ttsp_cnn_forward_extra(net, x, NULL, batch, training, out, err);
}

/* Floats of one input channel's plane. */
static size_t
in_plane(const ttsp_cnn *net)
{
	return (size_t) net->cfg.in_height * net->cfg.in_width;
}

/* The error for an input with NaN or infinity: which sample and channel. */
static ttsp_status
bad_input(const ttsp_cnn *net, const float *x, int batch, int first, ttsp_error *err)
{
	int			c0 = net->cfg.in_channels;
	size_t		plane = in_plane(net);

	for (int s = 0; s < batch; s++)
		for (int c = 0; c < c0; c++)
			if (!ttsp_all_finite(x + ((size_t) s * c0 + c) * plane, plane))
				return ttsp_fail(err, TTSP_EINVAL,
								 "input sample %d channel %d contains NaN or infinity", first + s, c);
	return ttsp_fail(err, TTSP_EINVAL, "input contains NaN or infinity");
}

/* The linear head on the globally average-pooled last block and the standardised extras. */
static void
head_forward(const ttsp_cnn *net, const float *pooled, const float *extra_z, int batch, float *out)
{
	const cnn_block *last = &net->blocks[net->cfg.n_blocks - 1];

	for (int s = 0; s < batch; s++)
	{
		double		o = net->head_b[0];
		const float *z = extra_z + (size_t) s * net->cfg.n_extra;

		for (int c = 0; c < last->cout; c++)
			o += (double) net->head_w[c] * pooled[(size_t) s * last->cout + c];
		for (int e = 0; e < net->cfg.n_extra; e++)
			o += (double) net->head_w[last->cout + e] * z[e];
		out[s] = (float) o;
	}
}

/* *p reallocated to n floats; false (*p kept) if there is no memory. */
static bool
grow(float **p, size_t n)
{
	float	   *q = realloc(*p, sizeof(float) * n);

	if (q == NULL)
		return false;
	*p = q;
	return true;
}

/*
 * Room for an eval forward of batch samples on the net's threads: a
 * workspace slot per thread (cnn_eval_forward) and the per-sample arrays;
 * and every block's BatchNorm from its running statistics.
 */
static ttsp_status
eval_setup(ttsp_cnn *net, int batch, ttsp_error *err)
{
	int			c_last = net->blocks[net->cfg.n_blocks - 1].cout;
	ttsp_status st = ttsp_cnn_reserve(net, net->threads, err);

	if (st != TTSP_OK)
		return st;
	if (net->eval_cap < batch)
	{
		if (!grow(&net->eval_pooled, (size_t) batch * c_last) ||
			!grow(&net->async_pooled, (size_t) batch * c_last) ||
			!grow(&net->eval_extra_z, (size_t) batch * (net->cfg.n_extra + 1)))
			return ttsp_fail(err, TTSP_ENOMEM, "out of memory for an eval forward of %d samples", batch);
		net->eval_cap = batch;
	}
	net->backward_ready = false;
	/* one sample's statistics: eval reads the running ones */
	for (int l = 0; l < net->cfg.n_blocks; l++)
		cnn_bn_forward(&net->blocks[l], 1, false, net->bn_sums, NULL);
	return TTSP_OK;
}

/*
 * An eval forward on more than one thread: the whole batch in one job
 * (cnn_eval_forward), each thread taking whole samples in its own workspace
 * slot, so the workspace holds a sample per thread, not the batch.
 */
static ttsp_status
eval_forward(ttsp_cnn *net, const float *x, const float *extra, int batch, int first, bool pack,
			 float *out, ttsp_error *err)
{
	ttsp_status st = eval_setup(net, batch, err);

	if (st != TTSP_OK)
		return st;
	if ((st = standardise_extra(net, extra, batch, net->eval_extra_z, err)) != TTSP_OK)
		return st;
	if (!cnn_eval_forward(net->blocks, net->cfg.n_blocks, x, batch, pack, net->eval_pooled,
						  net->threads))
		return bad_input(net, x, batch, first, err);
	head_forward(net, net->eval_pooled, net->eval_extra_z, batch, out);
	net->batch = batch;
	return TTSP_OK;
}

/*
 * The forward pass of batch samples; first is the index of x's first sample
 * in the caller's batch, for error messages.  pack false: the blocks' wpack
 * hold the weights from the pass before, and the weights did not change.
 * keep: every sample's activations stay for a backward pass (else an eval
 * forward on more threads keeps none).
 */
static ttsp_status
forward_pass(ttsp_cnn *net, const float *x, const float *extra, int batch, int first,
			 bool training, bool keep, bool pack, float *out, ttsp_error *err)
{
	int			nb = net->cfg.n_blocks;
	ttsp_status st;

	cnn_quiesce(net);
	if (x == NULL || out == NULL)
		return ttsp_fail(err, TTSP_EINVAL, "CNN forward needs input and output arrays");
	if (net->cfg.n_extra > 0 && extra == NULL)
		return ttsp_fail(err, TTSP_EINVAL, "CNN forward needs %d extra inputs per sample",
						 net->cfg.n_extra);
	if ((st = check_batch(net, batch, err)) != TTSP_OK)
		return st;
	/* fewer samples than that: cut within samples, block by block (cnn_conv_forward) */
	if (!training && !keep && net->threads > 1 && batch >= CNN_SAMPLES_PER_THREAD * net->threads)
		return eval_forward(net, x, extra, batch, first, pack, out, err);
	st = ttsp_cnn_reserve(net, batch, err);
	if (st != TTSP_OK)
		return st;
	net->backward_ready = false;
	if ((st = standardise_extra(net, extra, batch, net->extra_z, err)) != TTSP_OK)
		return st;

	if (!cnn_input_forward(&net->blocks[0], x, batch, net->threads))
		return bad_input(net, x, batch, first, err);
	for (int l = 0; l < nb; l++)
	{
		cnn_block  *blk = &net->blocks[l];
		bool		stats = training || l == nb - 1;

		cnn_conv_forward(blk, l > 0 ? &net->blocks[l - 1] : NULL, batch, pack,
						 stats ? net->bn_sums : NULL, net->threads);
		cnn_bn_forward(blk, batch, training, net->bn_sums, l == nb - 1 ? net->pooled : NULL);
	}
	head_forward(net, net->pooled, net->extra_z, batch, out);
	net->batch = batch;
	net->backward_ready = training;
	return TTSP_OK;
}

/*
 * An eval forward goes through all blocks a sample at a time: samples do
 * not interact in eval mode, so the outputs are the same bits, and a
 * sample's activations stay in cache between blocks instead of a whole
 * batch's going through memory block by block (batch 32 of 1 x 201 x 552
 * was slower per sample than batch 1).  On one thread, forward_pass a
 * sample at a time; on more, the whole batch in one job, each thread
 * taking whole samples through every block in a workspace slot of its own
 * (eval_forward: no barrier between blocks, nor between parts of the
 * batch; the core's batch 32 at 2 threads in parts of 8, 4 per thread with
 * a slot per sample, did 1505-1751 samples/s (means of 20 in 4 runs), in
 * one job with a slot per thread 1966-2041), from 4 samples per thread
 * on; below that, each sample's rows are cut between the threads.  A
 * training forward, and the one before an input gradient, keep the whole
 * batch for the backward pass.
 */
ttsp_status
ttsp_cnn_forward_extra(ttsp_cnn *net, const float *x, const float *extra, int batch,
					   bool training, float *out, ttsp_error *err)
{
	size_t		in_size = net->cfg.in_channels * in_plane(net);
	ttsp_status st;

	if (training || net->threads > 1 || batch <= 1 || x == NULL || out == NULL)
		return forward_pass(net, x, extra, batch, 0, training, false, true, out, err);
	if ((st = check_batch(net, batch, err)) != TTSP_OK)
		return st;
	for (int s = 0; s < batch && st == TTSP_OK; s++)
		st = forward_pass(net, x + s * in_size, extra ? extra + (size_t) s * net->cfg.n_extra : NULL,
						  1, s, false, false, s == 0, out + s, err);
	return st;
}

/*
 * End the forward begun on this net at n samples (n < 0: those filled so
 * far; another call on the net ends it so): DONE, async_done samples of
 * it in async_pooled.  Reads nothing of the caller's: its extras and the
 * head wait for ttsp_cnn_forward_end.
 */
static void
async_finish(ttsp_cnn *net, int n)
{
	int			done;

	if (net->async != CNN_ASYNC_RUNNING)
		return;
	done = cnn_eval_forward_end(net, n);
	net->async = CNN_ASYNC_DONE;
	net->async_done = done > 0 ? done : 0;
}

void
cnn_quiesce(ttsp_cnn *net)
{
	async_finish(net, -1);
}

ttsp_status
ttsp_cnn_forward_begin(ttsp_cnn *net, const float *x, const float *extra, int batch,
					   bool *begun, ttsp_error *err)
{
	ttsp_status st;

	*begun = false;
	cnn_quiesce(net);
	net->async = CNN_ASYNC_NONE;
	if (x == NULL || (net->cfg.n_extra > 0 && extra == NULL))
		return ttsp_fail(err, TTSP_EINVAL, "CNN forward needs input (and extra) arrays");
	if ((st = check_batch(net, batch, err)) != TTSP_OK)
		return st;
	if (net->threads == 1)
		return TTSP_OK;
	net->async = CNN_ASYNC_PENDING;
	net->async_x = x;
	net->async_cap = batch;
	net->async_done = 0;
	*begun = true;
	return TTSP_OK;
}

/*
 * The helpers start when the samples filled are enough for whole samples
 * per thread (eval_forward's rule); a batch that never gets there runs at
 * the end, each sample cut between the threads.
 */
void
ttsp_cnn_forward_ready(ttsp_cnn *net, int n)
{
	ttsp_error	err;

	if (net->async == CNN_ASYNC_PENDING && n >= CNN_SAMPLES_PER_THREAD * net->threads &&
		eval_setup(net, net->async_cap, &err) == TTSP_OK &&
		cnn_eval_forward_begin(net->blocks, net->cfg.n_blocks, net->async_x, net->async_cap,
							   net->async_pooled, net->threads, &net->async_bad, net))
		net->async = CNN_ASYNC_RUNNING;
	if (net->async == CNN_ASYNC_RUNNING)
		cnn_eval_forward_ready(net, n);
}

ttsp_status
ttsp_cnn_forward_end(ttsp_cnn *net, const float *x, const float *extra, int n, float *out,
					 ttsp_error *err)
{
	int			done;
	ttsp_status st;

	if (net->async == CNN_ASYNC_NONE)
		return ttsp_fail(err, TTSP_EINVAL, "CNN forward_end without a forward begun");
	if (n < 0 || n > net->async_cap)
		return ttsp_fail(err, TTSP_EINVAL, "CNN forward_end of %d samples, begun for %d",
						 n, net->async_cap);
	if (net->async == CNN_ASYNC_PENDING)
	{
		net->async = CNN_ASYNC_NONE;
		return forward_pass(net, x, extra, n, 0, false, false, true, out, err);
	}
	async_finish(net, n);
	net->async = CNN_ASYNC_NONE;
	done = net->async_done < n ? net->async_done : n;
	if (net->async_bad)
		return bad_input(net, x, done, 0, err);
	if ((st = standardise_extra(net, extra, done, net->eval_extra_z, err)) != TTSP_OK)
		return st;
	head_forward(net, net->async_pooled, net->eval_extra_z, done, out);
	if (done == n)
		return TTSP_OK;
	/* ended early by another call on the net: the rest here */
	return forward_pass(net, x + (size_t) done * net->cfg.in_channels * in_plane(net),
						extra ? extra + (size_t) done * net->cfg.n_extra : NULL, n - done, done,
						false, false, true, out + done, err);
}

void
ttsp_cnn_async_wait(void)
{
	cnn_async_wait();
}

ttsp_status
ttsp_cnn_predict(ttsp_cnn *net, const float *x, int batch, float *out,
				 ttsp_error *err)
{
	ttsp_status st = ttsp_cnn_forward(net, x, batch, false, out, err);

	if (st == TTSP_OK && net->cfg.task == TTSP_TASK_CLASSIFICATION)
		for (int s = 0; s < batch; s++)
			out[s] = (float) ttsp_sigmoid(out[s]);
	return st;
}

/*
 * The backward pass of the last forward: parameter and input gradients of a
 * training forward, or the input gradient alone of an eval forward (see
 * cnn_bn_relu_backward); dout checked by the caller.
 */
static void
backward(ttsp_cnn *net, const float *dout, float *dx, bool training)
{
	int			n = net->batch;
	const cnn_block *last = &net->blocks[net->cfg.n_blocks - 1];
	size_t		last_plane = (size_t) last->hout * last->wout;
	double		db = 0.0;

	/* head: out = w . pooled + b; pooled = mean over positions */
	for (int c = 0; c < last->cout; c++)
	{
		double		dw = 0.0;

		for (int s = 0; s < n; s++)
		{
			float	   *d = net->dy + ((size_t) s * last->cout + c) * last->so;
			float		v = dout[s] * net->head_w[c] / (float) last_plane;

			dw += (double) dout[s] * net->pooled[(size_t) s * last->cout + c];
			for (int oy = 0; oy < last->hout; oy++)
				for (int ox = 0; ox < last->wout; ox++)
					d[(size_t) oy * last->P + ox] = v;
		}
		net->head_dw[c] = (float) dw;
	}
	for (int e = 0; e < net->cfg.n_extra; e++)
	{
		double		dw = 0.0;

		for (int s = 0; s < n; s++)
			dw += (double) dout[s] * net->extra_z[(size_t) s * net->cfg.n_extra + e];
		net->head_dw[last->cout + e] = (float) dw;
	}
	for (int s = 0; s < n; s++)
		db += dout[s];
	net->head_db[0] = (float) db;

	/* net->dy holds d(loss)/d(block output) of block l, then of block l - 1 */
	for (int l = net->cfg.n_blocks - 1; l >= 0; l--)
	{
		cnn_block  *blk = &net->blocks[l];

		/* the last block computes its own sums; the others got them below */
		cnn_bn_relu_backward(blk, net->dy, l == net->cfg.n_blocks - 1 ? NULL : net->bn_sums,
							 n, training, net->dz, net->threads);
		cnn_conv_backward(blk, l > 0 ? &net->blocks[l - 1] : NULL, net->dz, n, training,
						  l > 0 ? net->dy : dx, net->dxq, net->dw_scratch,
						  net->bn_sums, net->threads);
	}
}

ttsp_status
ttsp_cnn_backward(ttsp_cnn *net, const float *dout, float *dx, ttsp_error *err)
{
	cnn_quiesce(net);
	if (dout == NULL)
		return ttsp_fail(err, TTSP_EINVAL, "CNN backward needs d(loss)/d(output)");
	if (!net->backward_ready)
		return ttsp_fail(err, TTSP_EINVAL,
						 "CNN backward needs a training-mode forward on the batch first");
	if (!ttsp_all_finite(dout, net->batch))
		return ttsp_fail(err, TTSP_EINVAL, "d(loss)/d(output) contains NaN or infinity");
	backward(net, dout, dx, true);
	return TTSP_OK;
}

ttsp_status
ttsp_cnn_input_gradient(ttsp_cnn *net, const float *x, const float *extra, int batch,
						const float *weights,
						float *out, float *dx, ttsp_error *err)
{
	ttsp_status st;

	if (weights == NULL || dx == NULL)
		return ttsp_fail(err, TTSP_EINVAL, "CNN input gradient needs weights and an output array");
	st = check_batch(net, batch, err);
	if (st != TTSP_OK)
		return st;
	if (!ttsp_all_finite(weights, batch))
		return ttsp_fail(err, TTSP_EINVAL, "output weights contain NaN or infinity");
	st = forward_pass(net, x, extra, batch, 0, false, true, true, out, err);
	if (st != TTSP_OK)
		return st;
	backward(net, weights, dx, false);
	return TTSP_OK;
}

int
ttsp_cnn_tensor_count(const ttsp_cnn *net)
{
	return TENSORS_PER_BLOCK * net->cfg.n_blocks + 2 + (net->cfg.n_extra > 0 ? 2 : 0);
}

bool
ttsp_cnn_tensor_find(ttsp_cnn *net, const char *name, ttsp_cnn_tensor *t)
{
	for (int i = 0; ttsp_cnn_tensor_get(net, i, t); i++)
		if (strcmp(t->name, name) == 0)
			return true;
	return false;
}

bool
ttsp_cnn_tensor_get(ttsp_cnn *net, int i, ttsp_cnn_tensor *t)
{
	int			head = TENSORS_PER_BLOCK * net->cfg.n_blocks;

	/* the caller may write the tensors: nothing may read them meanwhile */
	cnn_quiesce(net);
	if (i < 0 || i >= ttsp_cnn_tensor_count(net))
		return false;
	if (i >= head + 2)
	{
		bool		mean = i == head + 2;

		snprintf(t->name, sizeof(t->name), "extra.%s", mean ? "mean" : "scale");
		t->data = mean ? net->extra_mean : net->extra_scale;
		t->grad = NULL;
		t->count = (size_t) net->cfg.n_extra;
	}
	else if (i >= head)
	{
		bool		weight = i == head;

		snprintf(t->name, sizeof(t->name), "head.%s", weight ? "weight" : "bias");
		t->data = weight ? net->head_w : net->head_b;
		t->grad = weight ? net->head_dw : net->head_db;
		t->count = weight ? (size_t) net->blocks[net->cfg.n_blocks - 1].cout + net->cfg.n_extra : 1;
	}
	else
	{
		cnn_block  *blk = &net->blocks[i / TENSORS_PER_BLOCK];
		static const char *const names[TENSORS_PER_BLOCK] = {
			"conv.weight", "conv.bias", "bn.weight", "bn.bias",
			"bn.running_mean", "bn.running_var"
		};
		float	   *data[TENSORS_PER_BLOCK] = {
			blk->w, blk->b, blk->gamma, blk->beta, blk->run_mean, blk->run_var
		};
		float	   *grad[TENSORS_PER_BLOCK] = {
			blk->dw, blk->db, blk->dgamma, blk->dbeta, NULL, NULL
		};
		int			j = i % TENSORS_PER_BLOCK;

		snprintf(t->name, sizeof(t->name), "blocks.%d.%s", i / TENSORS_PER_BLOCK, names[j]);
		t->data = data[j];
		t->grad = grad[j];
		t->count = j == 0 ? (size_t) blk->cout * blk->cin * CNN_TAPS : (size_t) blk->cout;
	}
	return true;
}
