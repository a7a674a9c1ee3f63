/*
 * Conv2d(5, stride 2, pad 2) + ReLU + BatchNorm2d, forward and backward, as
 * direct convolution on the layouts described in cnn_internal.h (no im2col,
 * no BLAS).  In the s2d layout every tap of the stride-2 kernel is a
 * contiguous run shifted by a constant, so each kernel below is a loop over
 * vectors of outputs with a register block of accumulators:
 *
 *   forward   r[co][q]   = relu(b[co] + sum_{ci,tap} w[co][ci][tap] x[ci][q + off(tap)])
 *             (COB output channels x NV vectors of outputs per block)
 *   input     dx[ci][f]  = sum_{co, tap of f's parity} w[co][ci][tap] dz[co][f - off'(tap)]
 *   gradient  (CIB input channels x NV vectors per block; dz's padding is 0)
 *   weight    dw[co][ci][ky][kx] = sum_{s,q} dz[co][q] x[ci][q + off(ky,kx)]
 *   gradient  (COB output channels x the 5 taps of a kernel row per block,
 *             reduced per sample into double)
 *
 * The vectors are GCC/Clang vector extensions.  The kernels (the second
 * part of this file, which includes itself once per width) are written
 * once for a width VW and compiled as three kernel sets: AVX-512 (8 floats,
 * 32 registers) and AVX2+FMA (8 floats) on x86-64, and plain C with 4-float
 * vectors (SSE2, NEON: 8-float vectors would live in memory there), picked
 * once from the CPU.  Each output is summed in one fixed order, so results
 * are bit-identical from run to run and at any thread count on a machine
 * (the pick only changes float rounding: FMA or not).
 */
#ifndef CNN_KERNEL_PASS
#include "cnn_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))

#define ROUND_UP(x, m) (((x) + (m) - 1) / (m) * (m))
#define MAX_BLOCK 8				/* largest COB / CIB of any kernel set */

size_t
cnn_dw_scratch_doubles(const cnn_block *blk)
{
	return (size_t) ROUND_UP(blk->cout, MAX_BLOCK) * blk->cin * CNN_TAPS;
}

size_t
cnn_wpack_floats(const cnn_block *blk)
{
	size_t		fwd = (size_t) ROUND_UP(blk->cout, MAX_BLOCK) * blk->cin;
	size_t		bwd = (size_t) ROUND_UP(blk->cin, MAX_BLOCK) * blk->cout;

	return (fwd > bwd ? fwd : bwd) * CNN_TAPS;
}

/*
 * Buffers are sample-major: sample s, channel c.  An s2d buffer has 4
 * parity planes of sq floats per channel, r and dY one plane of so floats,
 * dZ one of sd floats (data after dpad zeros).
 */
static inline size_t
xq_off(const cnn_block *blk, int s, int c)
{
	return ((size_t) s * blk->cin + c) * 4 * blk->sq;
}

static inline size_t
r_off(const cnn_block *blk, int s, int c)
{
	return ((size_t) s * blk->cout + c) * blk->so;
}

static inline size_t
dz_off(const cnn_block *blk, int s, int c)
{
	return ((size_t) s * blk->cout + c) * blk->sd;
}

/*
 * Where row iy of a block input (padded row iy + 2) starts in an s2d
 * buffer for one channel and sample: the even-column plane; the odd one is
 * sq further.  Column ix is at [ix / 2] of plane ix & 1.
 */
static inline size_t
s2d_row(const cnn_block *blk, int iy)
{
	return (size_t) ((iy & 1) * 2) * blk->sq + (size_t) ((iy >> 1) + 1) * blk->P + 1;
}

/*
 * The head's input for channel c of a sample: the last block's output
 * averaged over its k positions (sum), through its BatchNorm.
 */
static inline float
pooled_value(const cnn_block *blk, int c, double sum, double k, double mean)
{
	double		scale = (double) blk->invstd[c] * blk->gamma[c];

	return (float) ((sum / k - mean) * scale + blk->beta[c]);
}

/* ---- jobs: one operation over the batch, split into tasks ---- */

/*
 * A job is cut into tasks that write disjoint outputs, each summed in the
 * same order whichever thread runs it: results do not depend on the number
 * of threads.
 */
typedef struct cnn_job
{
	cnn_block  *blk;
	cnn_block  *next;			/* bn_forward: the block it feeds, NULL for the last */
	const cnn_block *prev;		/* the block before blk */
	const float *in;			/* x (NCHW), dY or dZ */
	float	   *out;			/* dZ, or dxq */
	float	   *grad;			/* input gradient: dY of prev, or NCHW if no prev */
	double	   *dbl;			/* per-sample sums or dw scratch */
	float	   *pooled;
	int			nblocks;		/* eval forward: blk is the first of these */
	int			n;
	bool		training;
	int			threads;		/* at most this many threads run the job */
	int			split;			/* conv forward: tasks per sample */
	int		   *flag;			/* input forward: set when a value is not finite */
	const int  *ready;			/* eval forward begun: samples filled so far, */
	const int  *ended;			/* and whether that is all (else NULL: all are) */
} cnn_job;

/* Weights as wp[block][k][tap][bs]: w[o][i][tap] for o = block * bs + lane
 * when by_out (forward), else for i = block * bs + lane (input gradient). */
static void
pack_weights(const cnn_block *blk, float *wp, int bs, bool by_out)
{
	int			outer = by_out ? blk->cout : blk->cin,
				inner = by_out ? blk->cin : blk->cout,
				nb = (outer + bs - 1) / bs;

	for (int b = 0; b < nb; b++)
		for (int c = 0; c < bs; c++)
		{
			int			o = b * bs + c;

			for (int k = 0; k < inner; k++)
			{
				int			co = by_out ? o : k,
							ci = by_out ? k : o;
				float	   *dst = wp + ((size_t) b * inner + k) * CNN_TAPS * bs + c;

				for (int t = 0; t < CNN_TAPS; t++)
					dst[t * bs] = o < outer ?
						blk->w[((size_t) co * blk->cin + ci) * CNN_TAPS + t] : 0.0f;
			}
		}
}

/*
 * Packs blk's weights into blk->wpack unless it holds them already: the same
 * layout (kind: +-bs) from weights equal bit for bit to the current ones.
 * Comparing costs a fraction of packing, and repeated predictions with
 * unchanged weights (ttsp_predict row after row) then pack once; any write
 * to the weights (an optimiser step, averaging, a caller through
 * ttsp_cnn_tensor_get) shows in the comparison, so nothing has to report it.
 */
static void
pack_if_changed(cnn_block *blk, int bs, bool by_out)
{
	size_t		bytes = sizeof(float) * blk->cout * blk->cin * CNN_TAPS;
	int			kind = by_out ? bs : -bs;

	if (blk->wpack_kind == kind && memcmp(blk->wsrc, blk->w, bytes) == 0)
		return;
	pack_weights(blk, blk->wpack, bs, by_out);
	memcpy(blk->wsrc, blk->w, bytes);
	blk->wpack_kind = kind;
}

/*
 * Vectors of 8 floats (AVX2 / AVX-512 registers) and of 4 (SSE2, NEON: the
 * plain C kernel set; wider vectors would go through memory there).
 */
typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
/* unaligned, may alias anything */
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));
/* 16 floats: a whole AVX-512 register, only inside the AVX-512 kernel set */
typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));

/* The kernels: this file's second part, once per vector width. */
#define CNN_KERNEL_PASS 16
#include "cnn_layers.c"
#undef CNN_KERNEL_PASS
#define CNN_KERNEL_PASS 8
#include "cnn_layers.c"
#undef CNN_KERNEL_PASS
#define CNN_KERNEL_PASS 4
#include "cnn_layers.c"
#undef CNN_KERNEL_PASS

/* ---- kernel sets ---- */

typedef void (*cnn_task_fn) (const cnn_job *, int);

typedef struct cnn_isa
{
	const char *name;
	int			fcob;			/* forward output-channel block */
	int			xcib;			/* input-gradient input-channel block */
	int			wcob;			/* weight-gradient output-channel block */
	cnn_task_fn input_forward,
				apply_bn,
				stats,
				conv_forward,
				bn_forward,
				bn_relu_backward,
				dw,
				dx;
} cnn_isa;

/*
 * One kernel set: ATTR the target, W the vector width, FCOB x FNV the
 * forward register block (output channels x vectors), XCIB x XNV the
 * input-gradient one, WCOB output channels for dw.
 */
#define CNN_ISA(sfx, ATTR, W, FCOB, FNV, XCIB, XNV, WCOB) \
ATTR static void input_forward_##sfx(const cnn_job *j, int t) { input_forward_task_w##W(j, t); } \
ATTR static void apply_bn_##sfx(const cnn_job *j, int t) { apply_bn_task_w##W(j, t); } \
ATTR static void stats_##sfx(const cnn_job *j, int t) { stats_task_w##W(j, t); } \
ATTR static void conv_forward_##sfx(const cnn_job *j, int t) { conv_forward_task_w##W(j, t, FCOB, FNV); } \
ATTR static void bn_forward_##sfx(const cnn_job *j, int t) { bn_forward_task_w##W(j, t); } \
ATTR static void bn_relu_backward_##sfx(const cnn_job *j, int t) { bn_relu_backward_task_w##W(j, t); } \
ATTR static void dw_##sfx(const cnn_job *j, int t) { dw_task_w##W(j, t, WCOB); } \
ATTR static void dx_##sfx(const cnn_job *j, int t) { dx_task_w##W(j, t, XCIB, XNV); } \
static const cnn_isa isa_##sfx = { \
	#sfx, FCOB, XCIB, WCOB, input_forward_##sfx, apply_bn_##sfx, stats_##sfx, \
	conv_forward_##sfx, bn_forward_##sfx, \
	bn_relu_backward_##sfx, dw_##sfx, dx_##sfx \
};

CNN_ISA(generic, , 4, 4, 2, 4, 2, 4)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CNN_HAVE_X86 1
CNN_ISA(avx2, __attribute__((target("avx2,fma"))), 8, 4, 3, 4, 3, 2)
CNN_ISA(avx512, __attribute__((target("avx2,fma,avx512f,avx512vl"))), 16, 8, 3, 8, 3, 4)
#endif

static const cnn_isa *isa_cur;

static bool
isa_usable(const cnn_isa *isa)
{
#ifdef CNN_HAVE_X86
	__builtin_cpu_init();
	if (isa == &isa_avx2)
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	if (isa == &isa_avx512)
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
			__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#endif
	return isa == &isa_generic;
}

bool
cnn_isa_select(const char *name)
{
	const cnn_isa *all[] = {
#ifdef CNN_HAVE_X86
		&isa_avx512, &isa_avx2,
#endif
		&isa_generic
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if ((name == NULL || strcmp(name, all[i]->name) == 0) && isa_usable(all[i]))
		{
			isa_cur = all[i];
			return true;
		}
	return false;
}

static const cnn_isa *
isa(void)
{
	if (isa_cur == NULL && !cnn_isa_select(getenv("TTSP_CNN_ISA")))
		cnn_isa_select(NULL);
	return isa_cur;
}

const char *
cnn_isa_name(void)
{
	return isa()->name;
}

/* ---- threads ---- */

/*
 * A pool of worker threads, created on first use (never at load time) and
 * kept for the life of the process.  They never call back into the caller and block every
 * signal, so a host process such as a PostgreSQL backend keeps receiving
 * its signals on its own thread.  A job runs on the calling thread plus
 * up to the job's threads - 1 workers, which take tasks from a shared counter.
 */
#if TTSP_CNN_MAX_THREADS < 1
#error "TTSP_CNN_MAX_THREADS must be positive"
#endif

static struct
{
	pthread_mutex_t dispatch;	/* one job at a time */
	pthread_mutex_t mu;
	pthread_cond_t start;
	pthread_cond_t done;
	pthread_cond_t more;		/* an eval forward begun: more samples filled */
	int			sleepers;		/* workers waiting on more */
	int			workers;		/* created */
	unsigned long generation;	/* bumped for each job */
	int			active;			/* workers taking part in the job */
	int			pending;		/* of those, not finished */
	cnn_task_fn fn;
	const cnn_job *job;
	int			ntasks;
	int			next;			/* next task, atomically */
}			pool = {
	.dispatch = PTHREAD_MUTEX_INITIALIZER,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.start = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER
};

/*
 * The thread's workspace slot in an eval forward (cnn_eval_forward): 0 for
 * the calling thread, 1 + its index for a worker.
 */
static __thread int cnn_slot;

static void
run_tasks(cnn_task_fn fn, const cnn_job *job, int ntasks)
{
	int			t;

	while ((t = __atomic_fetch_add(&pool.next, 1, __ATOMIC_RELAXED)) < ntasks)
		fn(job, t);
}

/*
 * Spin briefly before sleeping, while waiting for the next job or for the
 * helpers to finish: a forward pass at batch 1 is a dozen short jobs, and a
 * condition-variable wake-up per job would cost as much as the work.
 */
#define CNN_SPIN 4000

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("":::"memory");
#endif
}

static void *
worker_main(void *arg)
{
	int			id = (int) (intptr_t) arg;
	unsigned long seen = 0;

	cnn_slot = id + 1;

	for (;;)
	{
		cnn_task_fn fn;
		const cnn_job *job;
		int			ntasks;

		for (int i = 0; i < CNN_SPIN &&
			 __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE) == seen; i++)
			cpu_relax();
		pthread_mutex_lock(&pool.mu);
		while (pool.generation == seen)
			pthread_cond_wait(&pool.start, &pool.mu);
		seen = pool.generation;
		if (id >= pool.active)
		{
			pthread_mutex_unlock(&pool.mu);
			continue;
		}
		fn = pool.fn;
		job = pool.job;
		ntasks = pool.ntasks;
		pthread_mutex_unlock(&pool.mu);

		run_tasks(fn, job, ntasks);

		pthread_mutex_lock(&pool.mu);
		if (__atomic_sub_fetch(&pool.pending, 1, __ATOMIC_RELEASE) == 0)
			pthread_cond_signal(&pool.done);
		pthread_mutex_unlock(&pool.mu);
	}
	return NULL;
}

/* In a child of fork(): the workers stayed with the parent. */
static void
pool_forget(void)
{
	pthread_mutex_init(&pool.dispatch, NULL);
	pthread_mutex_init(&pool.mu, NULL);
	pthread_cond_init(&pool.start, NULL);
	pthread_cond_init(&pool.done, NULL);
	pthread_cond_init(&pool.more, NULL);
	pool.workers = 0;
	pool.sleepers = 0;
}

/* Workers available, creating up to `want` (fewer if the system refuses). */
static int
ensure_workers(int want)
{
	static bool atfork;
	sigset_t	all,
				old;

	if (pool.workers >= want)
		return want;
	if (!atfork)
		atfork = pthread_atfork(NULL, NULL, pool_forget) == 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (pool.workers < want)
	{
		pthread_t	th;
		pthread_attr_t attr;
		int			rc;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&th, &attr, worker_main, (void *) (intptr_t) pool.workers);
		pthread_attr_destroy(&attr);
		if (rc != 0)
			break;
		pool.workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pool.workers;
}

/*
 * An eval forward left running on the workers while the caller does other
 * work (cnn_eval_forward_begin), with the dispatch lock held: at most one,
 * process-wide, touched only by the calling thread.
 */
static struct
{
	bool		running;
	const void *owner;
	cnn_job		j;
	int			ntasks;
	int			ready;			/* samples filled, published by the caller */
	int			ended;			/* no more will be */
	const void *last_owner;		/* the last one ended, and the samples it had */
	int			last_done;
}			async;

static void job_end(cnn_task_fn fn, const cnn_job *job, int ntasks);
static void eval_sample_task(const cnn_job *j, int t);

/* Publish: ready samples are filled; ended: and no more will be. */
static void
async_publish(int ready, bool ended)
{
	__atomic_store_n(&async.ready, ready, __ATOMIC_SEQ_CST);
	if (ended)
		__atomic_store_n(&async.ended, 1, __ATOMIC_SEQ_CST);
	/* a worker that found nothing to do counted itself before its last look */
	if (__atomic_load_n(&pool.sleepers, __ATOMIC_SEQ_CST) > 0)
	{
		pthread_mutex_lock(&pool.mu);
		pthread_cond_broadcast(&pool.more);
		pthread_mutex_unlock(&pool.mu);
	}
}

int
cnn_async_wait(void)
{
	int			n = async.ready;

	if (!async.running)
		return 0;
	async.running = false;
	async_publish(n, true);
	job_end(eval_sample_task, &async.j, async.ntasks);
	async.last_owner = async.owner;
	async.last_done = n;
	return n;
}

/*
 * Hands a job to up to job->threads - 1 workers and returns how many took
 * it (the dispatch lock then held until job_end); 0: the caller runs it all.
 * A job left running (async) is finished first.
 */
static int
job_begin(cnn_task_fn fn, const cnn_job *job, int ntasks)
{
	int			helpers = job->threads - 1;

	cnn_async_wait();
	if (helpers > ntasks - 1)
		helpers = ntasks - 1;
	if (helpers <= 0)
		return 0;
	pthread_mutex_lock(&pool.dispatch);
	helpers = ensure_workers(helpers);
	if (helpers <= 0)
	{
		pthread_mutex_unlock(&pool.dispatch);
		return 0;
	}
	pthread_mutex_lock(&pool.mu);
	pool.fn = fn;
	pool.job = job;
	pool.ntasks = ntasks;
	pool.next = 0;
	pool.active = helpers;
	pool.pending = helpers;
	__atomic_store_n(&pool.generation, pool.generation + 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&pool.start);
	pthread_mutex_unlock(&pool.mu);
	return helpers;
}

/* The caller takes the tasks left, then waits for the workers. */
static void
job_end(cnn_task_fn fn, const cnn_job *job, int ntasks)
{
	run_tasks(fn, job, ntasks);
	for (int i = 0; i < CNN_SPIN && __atomic_load_n(&pool.pending, __ATOMIC_ACQUIRE) > 0; i++)
		cpu_relax();
	pthread_mutex_lock(&pool.mu);
	while (pool.pending > 0)
		pthread_cond_wait(&pool.done, &pool.mu);
	pthread_mutex_unlock(&pool.mu);
	pthread_mutex_unlock(&pool.dispatch);
}

static void
run_job(cnn_task_fn fn, const cnn_job *job, int ntasks)
{
	if (job_begin(fn, job, ntasks) > 0)
		job_end(fn, job, ntasks);
	else
		for (int t = 0; t < ntasks; t++)
			fn(job, t);
}

/* ---- the layer interface ---- */

bool
cnn_input_forward(cnn_block *blk, const float *x, int n, int threads)
{
	int			bad = 0;
	cnn_job		j = {.blk = blk, .in = x, .n = n, .flag = &bad, .split = 1, .threads = threads};

	/* small batches: rows of a sample apart, as cnn_conv_forward cuts outputs */
	if (threads > 1 && n < CNN_SAMPLES_PER_THREAD * threads)
		j.split = (CNN_SAMPLES_PER_THREAD * threads + n - 1) / n;
	run_job(isa()->input_forward, &j, n * j.split);
	return !bad;
}

/*
 * Whether sample t of an eval forward is there to compute: at once unless
 * the forward was begun with samples still to fill (j->ready), when the
 * caller publishes them one by one; false if it ended without t.  Spins
 * briefly, then sleeps.
 */
static bool
eval_wait(const cnn_job *j, int t)
{
	if (j->ready == NULL)
		return true;
	for (int i = 0;; i++)
	{
		if (t < __atomic_load_n(j->ready, __ATOMIC_SEQ_CST))
			return true;
		if (__atomic_load_n(j->ended, __ATOMIC_SEQ_CST))
			return t < __atomic_load_n(j->ready, __ATOMIC_SEQ_CST);
		if (i < CNN_SPIN)
		{
			cpu_relax();
			continue;
		}
		pthread_mutex_lock(&pool.mu);
		__atomic_add_fetch(&pool.sleepers, 1, __ATOMIC_SEQ_CST);
		while (t >= __atomic_load_n(j->ready, __ATOMIC_SEQ_CST) &&
			   !__atomic_load_n(j->ended, __ATOMIC_SEQ_CST))
			pthread_cond_wait(&pool.more, &pool.mu);
		__atomic_sub_fetch(&pool.sleepers, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&pool.mu);
	}
}

/*
 * task: sample t through the input layout and every block, in the
 * workspace slot of the thread that runs it (copies of the blocks that
 * point there), then its head input (j->pooled, n x the last cout).
 */
static void
eval_sample_task(const cnn_job *j, int t)
{
	const cnn_isa *k = isa();
	int			nb = j->nblocks,
				slot = cnn_slot;
	const cnn_block *b0 = j->blk;
	cnn_block	b[TTSP_CNN_MAX_BLOCKS];
	cnn_job		st;
	const cnn_block *last = &b[nb - 1];
	double		sums[2 * TTSP_CNN_MAX_CHANNELS];

	if (!eval_wait(j, t))
		return;
	for (int l = 0; l < nb; l++)
	{
		b[l] = j->blk[l];
		b[l].xq += xq_off(&b[l], slot, 0);
		b[l].r += r_off(&b[l], slot, 0);
	}
	st = (cnn_job) {.blk = &b[0], .in = j->in + (size_t) t * b0->cin * b0->hin * b0->win,
	.flag = j->flag, .split = 1};
	k->input_forward(&st, 0);
	for (int l = 0; l < nb; l++)
	{
		st = (cnn_job) {.blk = &b[l], .prev = l > 0 ? &b[l - 1] : NULL,
		.dbl = l == nb - 1 ? sums : NULL, .n = 1, .split = 1};
		k->conv_forward(&st, 0);
	}
	for (int c = 0; c < last->cout; c++)
		j->pooled[(size_t) t * last->cout + c] =
			pooled_value(last, c, sums[2 * c], (double) last->hout * last->wout, last->mean[c]);
}

/* The job of cnn_eval_forward, the weights packed first if asked. */
static cnn_job
eval_job(cnn_block *blocks, int nb, const float *x, int n, bool pack, float *pooled, int threads,
		 int *flag)
{
	if (pack)
		for (int l = 0; l < nb; l++)
			pack_if_changed(&blocks[l], isa()->fcob, true);
	return (cnn_job) {.blk = blocks, .nblocks = nb, .in = x, .n = n, .pooled = pooled,
	.threads = threads, .flag = flag};
}

bool
cnn_eval_forward(cnn_block *blocks, int nb, const float *x, int n, bool pack, float *pooled,
				 int threads)
{
	int			bad = 0;
	cnn_job		j = eval_job(blocks, nb, x, n, pack, pooled, threads, &bad);

	run_job(eval_sample_task, &j, n);
	return !bad;
}

bool
cnn_eval_forward_begin(cnn_block *blocks, int nb, const float *x, int n, float *pooled,
					   int threads, int *flag, const void *owner)
{
	cnn_async_wait();
	async.last_owner = NULL;
	async.j = eval_job(blocks, nb, x, n, true, pooled, threads, flag);
	*flag = 0;
	async.ready = 0;
	async.ended = 0;
	async.j.ready = &async.ready;
	async.j.ended = &async.ended;
	if (job_begin(eval_sample_task, &async.j, n) == 0)
		return false;
	async.running = true;
	async.owner = owner;
	async.ntasks = n;
	return true;
}

void
cnn_eval_forward_ready(const void *owner, int n)
{
	if (async.running && async.owner == owner && n > async.ready)
		async_publish(n < async.ntasks ? n : async.ntasks, false);
}

int
cnn_eval_forward_end(const void *owner, int n)
{
	if (!async.running || async.owner != owner)
	{
		/* ended by another job: what it had, if nothing began since */
		if (async.last_owner != owner)
			return -1;
		async.last_owner = NULL;
		return async.last_done;
	}
	cnn_eval_forward_ready(owner, n);
	return cnn_async_wait();
}

void
cnn_conv_forward(cnn_block *blk, cnn_block *prev, int n, bool pack, double *stats, int threads)
{
	const cnn_isa *k = isa();
	cnn_job		j = {.blk = blk, .prev = prev, .dbl = stats, .n = n, .split = 1,
	.threads = threads};

	if (pack)
		pack_if_changed(blk, k->fcob, true);
	if (threads > 1 && n < CNN_SAMPLES_PER_THREAD * threads)
	{
		/* small batches: cut each sample's outputs so every thread has work */
		j.split = (CNN_SAMPLES_PER_THREAD * threads + n - 1) / n;
		if (prev != NULL)
			run_job(k->apply_bn, &j, n * blk->cin);
		run_job(k->conv_forward, &j, n * j.split);
		if (stats != NULL)
			run_job(k->stats, &j, n * blk->cout);
		return;
	}
	run_job(k->conv_forward, &j, n);
}

void
cnn_bn_forward(cnn_block *blk, int n, bool training, const double *stats, float *pooled)
{
	cnn_job		j = {.blk = blk, .dbl = (double *) stats, .pooled = pooled, .n = n,
	.training = training};

	/* O(cout x n): cheaper on this thread than handing out */
	for (int c = 0; c < blk->cout; c++)
		isa()->bn_forward(&j, c);
}

void
cnn_bn_relu_backward(cnn_block *blk, const float *dy, const double *sums, int n, bool training,
					 float *dz, int threads)
{
	cnn_job		j = {.blk = blk, .in = dy, .dbl = (double *) sums, .out = dz, .n = n,
	.training = training, .threads = threads};

	run_job(isa()->bn_relu_backward, &j, blk->cout);
}

void
cnn_conv_backward(cnn_block *blk, const cnn_block *prev, const float *dz, int n, bool weights,
				  float *grad, float *dxq, double *dw_scratch, double *sums, int threads)
{
	const cnn_isa *k = isa();
	cnn_job		j = {.blk = blk, .in = dz, .dbl = dw_scratch, .n = n,
	.threads = threads};

	/* one contiguous range of channel blocks per thread */
	j.split = threads;
	if (j.split > (blk->cout + k->wcob - 1) / k->wcob)
		j.split = (blk->cout + k->wcob - 1) / k->wcob;
	if (weights)
		run_job(k->dw, &j, j.split);
	if (grad == NULL)
		return;
	j.prev = prev;
	j.out = dxq;
	j.grad = grad;
	j.dbl = sums;
	pack_if_changed(blk, k->xcib, false);
	run_job(k->dx, &j, n * ((blk->cin + k->xcib - 1) / k->xcib));
}
#else							/* CNN_KERNEL_PASS: the kernels */

/*
 * Everything below is compiled once per vector width VW (8 or 4 floats),
 * its functions named K(name): name_w8 or name_w4.
 */
#if CNN_KERNEL_PASS == 16
#define VW 16
#define V v16
#define VI v16i
#define LD(p) (*(const v16u *) (p))
#define ST(p, v) (*(v16u *) (p) = (v))
#define SPLAT(s) __extension__ ({ float s_ = (s); (v16) {s_, s_, s_, s_, s_, s_, s_, s_, \
			s_, s_, s_, s_, s_, s_, s_, s_}; })
#define EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, \
			16, 18, 20, 22, 24, 26, 28, 30)
#define ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, \
			17, 19, 21, 23, 25, 27, 29, 31)
#define LOW_PAIRS(e, o) __builtin_shufflevector(e, o, 0, 16, 1, 17, 2, 18, 3, 19, \
			4, 20, 5, 21, 6, 22, 7, 23)
#define HIGH_PAIRS(e, o) __builtin_shufflevector(e, o, 8, 24, 9, 25, 10, 26, 11, 27, \
			12, 28, 13, 29, 14, 30, 15, 31)
/* sum of the lanes, in a fixed order: the halves added, then as for 8 */
#define HSUM(v) __extension__ ({ v16 h_ = (v); \
			v8 s_ = __builtin_shufflevector(h_, h_, 0, 1, 2, 3, 4, 5, 6, 7) + \
				__builtin_shufflevector(h_, h_, 8, 9, 10, 11, 12, 13, 14, 15); \
			(((s_[0] + s_[4]) + (s_[1] + s_[5])) + ((s_[2] + s_[6]) + (s_[3] + s_[7]))); })
#define K(name) name##_w16
#elif CNN_KERNEL_PASS == 8
#define VW 8
#define V v8
#define VI v8i
#define LD(p) (*(const v8u *) (p))
#define ST(p, v) (*(v8u *) (p) = (v))
#define SPLAT(s) __extension__ ({ float s_ = (s); (v8) {s_, s_, s_, s_, s_, s_, s_, s_}; })
#define EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#define LOW_PAIRS(e, o) __builtin_shufflevector(e, o, 0, 8, 1, 9, 2, 10, 3, 11)
#define HIGH_PAIRS(e, o) __builtin_shufflevector(e, o, 4, 12, 5, 13, 6, 14, 7, 15)
/* sum of the lanes, in a fixed order */
#define HSUM(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))
#define K(name) name##_w8
#else
#define VW 4
#define V v4
#define VI v4i
#define LD(p) (*(const v4u *) (p))
#define ST(p, v) (*(v4u *) (p) = (v))
#define SPLAT(s) __extension__ ({ float s_ = (s); (v4) {s_, s_, s_, s_}; })
#define EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6)
#define ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7)
#define LOW_PAIRS(e, o) __builtin_shufflevector(e, o, 0, 4, 1, 5)
#define HIGH_PAIRS(e, o) __builtin_shufflevector(e, o, 2, 6, 3, 7)
#define HSUM(v) (((v)[0] + (v)[2]) + ((v)[1] + (v)[3]))
#define K(name) name##_w4
#endif
#define RELU(v) ((V) ((VI) (v) & ((v) > (V) {0})))

/* ---- row helpers ---- */

AI float
K(row_sum)(const float *p, int w)
{
	V			acc = {0};
	float		tail = 0;
	int			i = 0;

	for (; i + VW <= w; i += VW)
		acc += LD(p + i);
	for (; i < w; i++)
		tail += p[i];
	return HSUM(acc) + tail;
}

AI float
K(row_sqdev)(const float *p, int w, float mu)
{
	V			acc = {0},
				m = SPLAT(mu);
	float		tail = 0;
	int			i = 0;

	for (; i + VW <= w; i += VW)
	{
		V			d = LD(p + i) - m;

		acc += d * d;
	}
	for (; i < w; i++)
		tail += (p[i] - mu) * (p[i] - mu);
	return HSUM(acc) + tail;
}

/*
 * One row of w values v, as (v - mu) * scale + shift, into the even and odd
 * parity planes of an s2d buffer (value i goes to even[i / 2] or
 * odd[i / 2]).
 */
AI void
K(row_to_s2d)(const float *src, int w, float mu, float scale, float shift, float *even,
		   float *odd)
{
	V			m = SPLAT(mu),
				sc = SPLAT(scale),
				sh = SPLAT(shift);
	int			i = 0;

	for (; i + 2 * VW <= w; i += 2 * VW)
	{
		V			a = (LD(src + i) - m) * sc + sh,
					b = (LD(src + i + VW) - m) * sc + sh;

		ST(even + i / 2, EVENS(a, b));
		ST(odd + i / 2, ODDS(a, b));
	}
	for (; i < w; i++)
		(i & 1 ? odd : even)[i / 2] = (src[i] - mu) * scale + shift;
}

/* The reverse: interleave even and odd planes into a row of w values. */
AI void
K(s2d_to_row)(const float *even, const float *odd, int w, float *dst)
{
	int			i = 0;

	for (; i + 2 * VW <= w; i += 2 * VW)
	{
		V			e = LD(even + i / 2),
					o = LD(odd + i / 2);

		ST(dst + i, LOW_PAIRS(e, o));
		ST(dst + i + VW, HIGH_PAIRS(e, o));
	}
	for (; i < w; i++)
		dst[i] = (i & 1 ? odd : even)[i / 2];
}

/* ---- forward ---- */

/*
 * One row into the even and odd planes of an s2d buffer, as row_to_s2d
 * without scaling; returns false if a value is NaN or infinite.
 */
AI bool
K(input_row_to_s2d)(const float *src, int w, float *even, float *odd)
{
	V			zeros = {0};
	int			i = 0;
	bool		ok = true;

	for (; i + 2 * VW <= w; i += 2 * VW)
	{
		V			a = LD(src + i),
					b = LD(src + i + VW);

		/*
		 * v * 0 is 0 unless v is NaN or infinite, when it is NaN, and a NaN
		 * stays in the sum.  Arithmetic, not a comparison per vector: without
		 * AVX-512DQ, GCC turned comparisons into int vectors element by element
		 * (this loop took a tenth of a batch-1 forward).
		 */
		zeros += a * 0.0f + b * 0.0f;
		ST(even + i / 2, EVENS(a, b));
		ST(odd + i / 2, ODDS(a, b));
	}
	for (; i < w; i++)
	{
		ok &= isfinite(src[i]) != 0;
		(i & 1 ? odd : even)[i / 2] = src[i];
	}
	for (int k = 0; k < VW; k++)
		ok &= zeros[k] == 0.0f;
	return ok;
}

/* task: rows part t % split of sample t / split */
AI void
K(input_forward_task)(const cnn_job *j, int t)
{
	cnn_block  *blk = j->blk;
	size_t		plane = (size_t) blk->hin * blk->win;
	int			s = t / j->split,
				part = t % j->split,
				lo = blk->hin * part / j->split,
				hi = blk->hin * (part + 1) / j->split;
	bool		ok = true;

	for (int c = 0; c < blk->cin; c++)
	{
		const float *src = j->in + ((size_t) s * blk->cin + c) * plane;
		float	   *dst = blk->xq + xq_off(blk, s, c);

		for (int iy = lo; iy < hi; iy++)
		{
			float	   *e = dst + s2d_row(blk, iy);

			ok &= K(input_row_to_s2d)(src + (size_t) iy * blk->win, blk->win, e, e + blk->sq);
		}
	}
	if (!ok)
		__atomic_store_n(j->flag, 1, __ATOMIC_RELAXED);
}

/*
 * The previous block's BatchNorm (statistics already final) applied to its
 * channel c of sample s, into this block's s2d input.
 */
AI void
K(apply_bn)(const cnn_job *j, int s, int c)
{
	const cnn_block *prev = j->prev;
	cnn_block  *blk = j->blk;
	float		scale = prev->invstd[c] * prev->gamma[c];
	const float *rc = prev->r + r_off(prev, s, c);
	float	   *dst = blk->xq + xq_off(blk, s, c);

	for (int oy = 0; oy < prev->hout; oy++)
	{
		float	   *e = dst + s2d_row(blk, oy);

		K(row_to_s2d)(rc + (size_t) oy * prev->P, prev->wout, prev->mean[c], scale, prev->beta[c],
				   e, e + blk->sq);
	}
}

/*
 * Statistics of r for channel c of sample s: its sum, and its sum of squared
 * deviations from the sample's own mean (Chan et al. combine them per
 * channel later, without cancellation).
 */
AI void
K(sample_stats)(const cnn_job *j, int s, int c)
{
	cnn_block  *blk = j->blk;
	const float *rc = blk->r + r_off(blk, s, c);
	double		k = (double) blk->hout * blk->wout,
				sum = 0,
				sq = 0,
				mean;
	float		mu;

	for (int oy = 0; oy < blk->hout; oy++)
		sum += K(row_sum)(rc + (size_t) oy * blk->P, blk->wout);
	mean = sum / k;
	mu = (float) mean;
	for (int oy = 0; oy < blk->hout; oy++)
		sq += K(row_sqdev)(rc + (size_t) oy * blk->P, blk->wout, mu);
	/* about mean rather than the rounded mu: sum (x - mu)^2 - k (mean - mu)^2 */
	j->dbl[((size_t) c * j->n + s) * 2] = sum;
	j->dbl[((size_t) c * j->n + s) * 2 + 1] = sq - k * (mean - mu) * (mean - mu);
}

/* task: channel t % cin of sample t / cin (small batches: apply_bn apart) */
AI void
K(apply_bn_task)(const cnn_job *j, int t)
{
	K(apply_bn)(j, t / j->blk->cin, t % j->blk->cin);
}

/* task: channel t % cout of sample t / cout */
AI void
K(stats_task)(const cnn_job *j, int t)
{
	K(sample_stats)(j, t / j->blk->cout, t % j->blk->cout);
}

/*
 * The register block of both convolutions: acc[c][v] += w[c] * src[v-th
 * vector] for nb channels and nv vectors of positions.
 */
AI void
K(block_fma)(V acc[][4], const float *src, const float *w, const int nb, const int nv)
{
	V			xv[4];

#pragma GCC unroll 4
	for (int v = 0; v < nv; v++)
		xv[v] = LD(src + VW * v);
#pragma GCC unroll 8
	for (int c = 0; c < nb; c++)
	{
		V			wc = SPLAT(w[c]);

#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
			acc[c][v] += wc * xv[v];
	}
}

/*
 * task: part t % split of sample t / split.  A whole sample (split 1) first
 * gets its input from the previous block's BatchNorm (j->prev) and ends
 * with its statistics (j->dbl), while its data are in cache.
 */
AI void
K(conv_forward_task)(const cnn_job *j, int task, const int COB, const int NV)
{
	cnn_block  *blk = j->blk;
	int			cin = blk->cin,
				cout = blk->cout,
				P = blk->P,
				L = blk->hout * P,
				nb = (cout + COB - 1) / COB,
				nq = (L + VW * NV - 1) / (VW * NV),
				s = task / j->split,
				part = task % j->split,
				q_lo = nq * part / j->split * VW * NV,
				q_hi = nq * (part + 1) / j->split * VW * NV;
	size_t		xcs = 4 * blk->sq,
				rcs = blk->so;
	int			off[CNN_TAPS];

	if (j->split == 1 && j->prev != NULL)
		for (int c = 0; c < cin; c++)
			K(apply_bn)(j, s, c);
	for (int ky = 0; ky < CNN_K; ky++)
		for (int kx = 0; kx < CNN_K; kx++)
			off[ky * CNN_K + kx] = (int) (((ky & 1) * 2 + (kx & 1)) * blk->sq) +
				(ky >> 1) * P + (kx >> 1);

	for (int cb = 0; cb < nb; cb++)
	{
		const float *xs = blk->xq + xq_off(blk, s, 0);
		const float *wb = blk->wpack + (size_t) cb * cin * CNN_TAPS * COB;
		float	   *rs = blk->r + r_off(blk, s, cb * COB);
		int			nco = cout - cb * COB < COB ? cout - cb * COB : COB;
		V			bias[MAX_BLOCK];

		for (int c = 0; c < COB; c++)
			bias[c] = SPLAT(c < nco ? blk->b[cb * COB + c] : 0.0f);
		for (int q0 = q_lo; q0 < q_hi && q0 < L; q0 += VW * NV)
		{
			V			acc[MAX_BLOCK][4];
			const float *w = wb;

#pragma GCC unroll 8
			for (int c = 0; c < COB; c++)
#pragma GCC unroll 4
				for (int v = 0; v < NV; v++)
					acc[c][v] = (V) {0};
			for (int ci = 0; ci < cin; ci++)
			{
				const float *xc = xs + ci * xcs + q0;

				for (int t = 0; t < CNN_TAPS; t++, w += COB)
					K(block_fma)(acc, xc + off[t], w, COB, NV);
			}
#pragma GCC unroll 8
			for (int c = 0; c < COB; c++)
				if (c < nco)
#pragma GCC unroll 4
					for (int v = 0; v < NV; v++)
						ST(rs + c * rcs + q0 + VW * v, RELU(acc[c][v] + bias[c]));
		}
	}
	if (j->split == 1 && j->dbl != NULL)
		for (int c = 0; c < cout; c++)
			K(sample_stats)(j, s, c);
}

/*
 * task: channel c.  The statistics BatchNorm uses: the batch's, combined
 * from the per-sample ones in j->dbl (updating the running ones), when
 * training, else the running ones.  For the last block (j->pooled not
 * NULL), also its output averaged per sample: the head's input.
 */
AI void
K(bn_forward_task)(const cnn_job *j, int c)
{
	cnn_block  *blk = j->blk;
	const double *st = j->dbl + (size_t) c * j->n * 2;
	int			n = j->n;
	double		k = (double) blk->hout * blk->wout,
				m = n * k,
				mean,
				var;

	if (j->training)
	{
		double		sum = 0,
					sq = 0;

		for (int s = 0; s < n; s++)
			sum += st[2 * s];
		mean = sum / m;
		for (int s = 0; s < n; s++)
		{
			double		d = st[2 * s] / k - mean;

			sq += st[2 * s + 1] + k * d * d;
		}
		var = sq / m;
		blk->run_mean[c] = (float) ((1.0 - BN_MOMENTUM) * blk->run_mean[c]
									+ BN_MOMENTUM * mean);
		blk->run_var[c] = (float) ((1.0 - BN_MOMENTUM) * blk->run_var[c]
								   + BN_MOMENTUM * sq / (m - 1));
	}
	else
	{
		mean = blk->run_mean[c];
		var = blk->run_var[c];
	}
	blk->mean[c] = (float) mean;
	blk->invstd[c] = (float) (1.0 / sqrt(var + BN_EPS));
	if (j->pooled != NULL)
		for (int s = 0; s < n; s++)
			j->pooled[(size_t) s * blk->cout + c] = pooled_value(blk, c, st[2 * s], k, mean);
}

/* ---- backward ---- */

/*
 * Sums of dy and dy * (r - mean) over one row of channel c: what the
 * BatchNorm backward needs from the whole batch before it can start.
 */
AI void
K(bn_backward_row_sums)(const float *d, const float *r, int w, float mean, double *sum_dy,
					 double *sum_dy_dev)
{
	V			mv = SPLAT(mean),
				acc_d = {0},
				acc_x = {0};
	float		t_d = 0,
				t_x = 0;
	int			i = 0;

	for (; i + VW <= w; i += VW)
	{
		V			dv = LD(d + i);

		acc_d += dv;
		acc_x += dv * (LD(r + i) - mv);
	}
	for (; i < w; i++)
	{
		t_d += d[i];
		t_x += d[i] * (r[i] - mean);
	}
	*sum_dy += HSUM(acc_d) + t_d;
	*sum_dy_dev += HSUM(acc_x) + t_x;
}

/*
 * task: channel c; j->in is dY, j->out dZ.  j->dbl, unless NULL, holds the
 * per-sample sums of bn_backward_row_sums (else they are computed here).
 */
AI void
K(bn_relu_backward_task)(const cnn_job *j, int c)
{
	cnn_block  *blk = j->blk;
	const float *dy = j->in;
	float	   *dz = j->out;
	int			n = j->n,
				hout = blk->hout,
				wout = blk->wout,
				P = blk->P;
	size_t		m = (size_t) n * hout * wout;
	float		mean = blk->mean[c],
				invstd = blk->invstd[c];
	double		sum_dy = 0,
				sum_dy_dev = 0,
				sum_dz = 0;
	float		k,
				a,
				kb;
	V			mv = SPLAT(mean);

	for (int s = 0; s < n; s++)
	{
		double		sd = 0,
					sx = 0;

		if (j->dbl != NULL)
		{
			sd = j->dbl[((size_t) c * n + s) * 2];
			sx = j->dbl[((size_t) c * n + s) * 2 + 1];
		}
		else
			for (int oy = 0; oy < hout; oy++)
				K(bn_backward_row_sums)(dy + r_off(blk, s, c) + (size_t) oy * P,
									 blk->r + r_off(blk, s, c) + (size_t) oy * P, wout,
									 mean, &sd, &sx);
		sum_dy += sd;
		sum_dy_dev += sx;
	}
	/* sum(dy * xhat) = invstd * sum(dy * (r - mean)) */
	blk->dbeta[c] = (float) sum_dy;
	blk->dgamma[c] = (float) (sum_dy_dev * invstd);

	/*
	 * dr = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) when
	 * training: the batch statistics depend on r.  In eval mode they are
	 * the running ones, constants, and BatchNorm is the affine map
	 * dr = gamma * invstd * dy.
	 */
	k = blk->gamma[c] * invstd;
	a = j->training ? (float) (sum_dy / m) : 0.0f;
	kb = j->training ? (float) (k * (double) invstd * invstd * sum_dy_dev / m) : 0.0f;
	for (int s = 0; s < n; s++)
	{
		float	   *plane = dz + dz_off(blk, s, c);
		float	   *rows = plane + blk->dpad;
		V			kv = SPLAT(k),
					av = SPLAT(a),
					kbv = SPLAT(kb);

		memset(plane, 0, sizeof(float) * blk->dpad);
		for (int oy = 0; oy < hout; oy++)
		{
			const float *r = blk->r + r_off(blk, s, c) + (size_t) oy * P;
			const float *d = dy + r_off(blk, s, c) + (size_t) oy * P;
			float	   *o = rows + (size_t) oy * P;
			V			acc = {0};
			float		tail = 0;
			int			i = 0;

			for (; i + VW <= wout; i += VW)
			{
				V			rv = LD(r + i);
				V			g = kv * (LD(d + i) - av) - (rv - mv) * kbv;

				/* r > 0 exactly where the ReLU passed its input */
				g = (V) ((VI) g & (rv > (V) {0}));
				ST(o + i, g);
				acc += g;
			}
			for (; i < wout; i++)
			{
				float		g = r[i] > 0.0f ? k * (d[i] - a) - (r[i] - mean) * kb : 0.0f;

				o[i] = g;
				tail += g;
			}
			for (; i < P; i++)
				o[i] = 0.0f;
			sum_dz += HSUM(acc) + tail;
		}
		memset(rows + (size_t) hout * P, 0,
			   sizeof(float) * (blk->sd - blk->dpad - (size_t) hout * P));
	}
	blk->db[c] = (float) sum_dz;
}

/*
 * dw of output channels dzs[s][0 .. COB) and one input channel xs[s], from
 * ns samples: kernel row ky's 5 taps read the even plane at +0, +1, +2 and
 * the odd plane at +0, +1 (row ky >> 1 of parity ky & 1).  tot[c * cstride
 * + tap] += the sums.  A sum over a small plane is short, and reducing the
 * vectors to a double cost as much again (block 4: 31 vectors of 16 per
 * plane), so the samples of a group share the vector sums.
 */
AI void
K(dw_group)(const cnn_block *blk, const float *const (*dzs)[MAX_BLOCK], const float *const *xs,
			int ns, double *tot, size_t cstride, const int COB)
{
	int			L = blk->hout * blk->P;

	for (int ky = 0; ky < CNN_K; ky++)
	{
		size_t		row = (size_t) ((ky & 1) * 2) * blk->sq + (size_t) (ky >> 1) * blk->P;
		V			acc[MAX_BLOCK][CNN_K];

#pragma GCC unroll 8
		for (int c = 0; c < COB; c++)
#pragma GCC unroll 5
			for (int t = 0; t < CNN_K; t++)
				acc[c][t] = (V) {0};
		for (int s = 0; s < ns; s++)
		{
			const float *e = xs[s] + row;
			const float *o = e + blk->sq;

			for (int q = 0; q < L; q += VW)
			{
				V			x0 = LD(e + q),
							x1 = LD(o + q),
							x2 = LD(e + q + 1),
							x3 = LD(o + q + 1),
							x4 = LD(e + q + 2);

#pragma GCC unroll 8
				for (int c = 0; c < COB; c++)
				{
					V			d = LD(dzs[s][c] + q);

					acc[c][0] += d * x0;
					acc[c][1] += d * x1;
					acc[c][2] += d * x2;
					acc[c][3] += d * x3;
					acc[c][4] += d * x4;
				}
			}
		}
#pragma GCC unroll 8
		for (int c = 0; c < COB; c++)
#pragma GCC unroll 5
			for (int t = 0; t < CNN_K; t++)
				tot[c * cstride + ky * CNN_K + t] += HSUM(acc[c][t]);
	}
}

/*
 * task: the t-th of j->split contiguous ranges of COB-channel output
 * blocks, over every sample, summed per group of samples into double
 * (j->dbl, cnn_dw_scratch_doubles); j->in is dZ.  Groups are the outer
 * loop, so a group's input is read once per task while its blocks are
 * summed, and every output sums its groups in order whatever the split.
 * The group size comes from the layer's shape alone (never the thread
 * count): enough samples for about DW_GROUP_VALUES positions, at most
 * DW_GROUP_MAX, so that float sums stay short.
 */
#ifndef DW_GROUP_VALUES
#define DW_GROUP_VALUES 2048
#define DW_GROUP_MAX 8
#endif
AI void
K(dw_task)(const cnn_job *j, int task, const int COB)
{
	cnn_block  *blk = j->blk;
	int			cin = blk->cin,
				nb = (blk->cout + COB - 1) / COB,
				b_lo = nb * task / j->split,
				b_hi = nb * (task + 1) / j->split,
				L = blk->hout * blk->P,
				group = DW_GROUP_VALUES / L;
	size_t		cstride = (size_t) cin * CNN_TAPS;

	if (group < 1)
		group = 1;
	if (group > DW_GROUP_MAX)
		group = DW_GROUP_MAX;
	/* rows past cout (a partial last block) are scratch */
	memset(j->dbl + (size_t) b_lo * COB * cstride, 0,
		   sizeof(double) * (b_hi - b_lo) * COB * cstride);
	for (int s0 = 0; s0 < j->n; s0 += group)
	{
		int			ns = j->n - s0 < group ? j->n - s0 : group;

		for (int b = b_lo; b < b_hi; b++)
		{
			int			co0 = b * COB,
						nco = blk->cout - co0 < COB ? blk->cout - co0 : COB;
			const float *dzs[DW_GROUP_MAX][MAX_BLOCK];
			const float *xs[DW_GROUP_MAX];

			for (int s = 0; s < ns; s++)
				for (int c = 0; c < COB; c++)
					dzs[s][c] = j->in + dz_off(blk, s0 + s, co0 + (c < nco ? c : 0)) + blk->dpad;
			for (int ci = 0; ci < cin; ci++)
			{
				for (int s = 0; s < ns; s++)
					xs[s] = blk->xq + xq_off(blk, s0 + s, ci);
				K(dw_group)(blk, (const float *const (*)[MAX_BLOCK]) dzs, xs, ns,
							j->dbl + ((size_t) co0 * cin + ci) * CNN_TAPS, cstride, COB);
			}
		}
	}
	for (int b = b_lo; b < b_hi; b++)
	{
		int			co0 = b * COB,
					nco = blk->cout - co0 < COB ? blk->cout - co0 : COB;

		for (size_t i = 0; i < nco * cstride; i++)
			blk->dw[co0 * cstride + i] = (float) j->dbl[co0 * cstride + i];
	}
}

/*
 * One channel of a sample's input gradient, in s2d form, into dY of the
 * block before (with its BatchNorm-backward sums, j->dbl) or, for the first
 * block, into NCHW.
 */
AI void
K(dx_convert)(const cnn_job *j, int s, int ci)
{
	const cnn_block *blk = j->blk;
	const cnn_block *prev = j->prev;
	const float *src = j->out + xq_off(blk, s, ci);

	if (prev != NULL)
	{
		float	   *dst = j->grad + r_off(prev, s, ci);
		const float *r = prev->r + r_off(prev, s, ci);
		double		sd = 0,
					sx = 0;

		for (int iy = 0; iy < blk->hin; iy++)
		{
			const float *e = src + s2d_row(blk, iy);
			float	   *d = dst + (size_t) iy * prev->P;

			K(s2d_to_row)(e, e + blk->sq, blk->win, d);
			K(bn_backward_row_sums)(d, r + (size_t) iy * prev->P, blk->win, prev->mean[ci],
								 &sd, &sx);
		}
		j->dbl[((size_t) ci * j->n + s) * 2] = sd;
		j->dbl[((size_t) ci * j->n + s) * 2 + 1] = sx;
	}
	else
	{
		float	   *dst = j->grad + ((size_t) s * blk->cin + ci) * blk->hin * blk->win;

		for (int iy = 0; iy < blk->hin; iy++)
		{
			const float *e = src + s2d_row(blk, iy);

			K(s2d_to_row)(e, e + blk->sq, blk->win, dst + (size_t) iy * blk->win);
		}
	}
}

/*
 * task: sample t / nb, input channels [(t % nb) * CIB, + CIB); j->in dZ,
 * j->out dxq (scratch), then dx_convert while it is in cache.
 */
AI void
K(dx_task)(const cnn_job *j, int task, const int CIB, const int NV)
{
	cnn_block  *blk = j->blk;
	int			cin = blk->cin,
				cout = blk->cout,
				P = blk->P,
				nb = (cin + CIB - 1) / CIB,
				s = task / nb,
				ib = task % nb,
				nci = cin - ib * CIB < CIB ? cin - ib * CIB : CIB;
	size_t		dcs = blk->sd,
				xcs = 4 * blk->sq;
	const float *dzs = j->in + dz_off(blk, s, 0) + blk->dpad;
	const float *wb = blk->wpack + (size_t) ib * cout * CNN_TAPS * CIB;

	for (int pl = 0; pl < 4; pl++)
	{
		/* padded input (R, C) of parity pl gets the taps (ky, kx) of that parity */
		int			tap[9],
					toff[9],
					nt = 0;
		float	   *out = j->out + xq_off(blk, s, ib * CIB) + (size_t) pl * blk->sq;

		for (int ky = pl >> 1; ky < CNN_K; ky += 2)
			for (int kx = pl & 1; kx < CNN_K; kx += 2)
			{
				tap[nt] = ky * CNN_K + kx;
				toff[nt++] = -((ky >> 1) * P + (kx >> 1));
			}
		/* rows 1 .. hout hold every real input row */
		for (int f0 = P; f0 < (blk->hout + 1) * P; f0 += VW * NV)
		{
			V			acc[MAX_BLOCK][4];

#pragma GCC unroll 8
			for (int c = 0; c < CIB; c++)
#pragma GCC unroll 4
				for (int v = 0; v < NV; v++)
					acc[c][v] = (V) {0};
			for (int co = 0; co < cout; co++)
			{
				const float *d = dzs + co * dcs + f0;
				const float *w = wb + (size_t) co * CNN_TAPS * CIB;

				/*
				 * The next output channel's rows for these positions, while
				 * this one computes: a plane serves only 4-9 taps before the
				 * next, too few to hide its first loads (profile: they
				 * stalled).  Prefetches never fault, past the end included.
				 */
				for (int r = 0; r < 3; r++)
					for (int l = 0; l < VW * NV + 16; l += 16)
						__builtin_prefetch(d + dcs - r * P - 1 + l);

				for (int k = 0; k < nt; k++)
					K(block_fma)(acc, d + toff[k], w + tap[k] * CIB, CIB, NV);
			}
#pragma GCC unroll 8
			for (int c = 0; c < CIB; c++)
				if (c < nci)
#pragma GCC unroll 4
					for (int v = 0; v < NV; v++)
						ST(out + c * xcs + f0 + VW * v, acc[c][v]);
		}
	}
	for (int c = 0; c < nci; c++)
		K(dx_convert)(j, s, ib * CIB + c);
}


#undef VW
#undef V
#undef VI
#undef LD
#undef ST
#undef SPLAT
#undef EVENS
#undef ODDS
#undef LOW_PAIRS
#undef HIGH_PAIRS
#undef HSUM
#undef K
#undef RELU

#endif							/* CNN_KERNEL_PASS */
