#include "stft.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

#include "fftw_lazy.h"
#include "floats.h"

/* Largest batch of ttsp_stft_batch_samples: frames, and pending values. */
#define BATCH_FRAMES 128
#define BATCH_VALUES (16 * 1024)

/* Distinct n_fft values whose plans are kept for the process lifetime. */
#define PLAN_CACHE_SIZE 16

struct ttsp_stft
{
	ttsp_stft_params p;			/* checked: no defaults left */
	int			n_bins;
	int			pad;			/* padding per side when centring */
	int			win_lo;			/* window support is [win_lo, win_hi) */
	int			win_hi;
	float	   *window;			/* n_fft, torch's zero-padded Hann */
	fftwf_plan	plan;
	bool		own_plan;		/* not in the cache: destroy with s */

	/*
	 * Frames are transformed in pairs, one as the real and one as the
	 * imaginary part of a complex FFT, then separated by symmetry: Debian's
	 * FFTW does a complex transform of n points in 0.35 to 0.6 of the time
	 * of two real ones (n 100 to 4096, PATIENT plans).  A frame waits in held
	 * for its partner; pairs are fixed by frame index, so the bits never
	 * depend on how the input was chunked.  A frame's rounding noise then
	 * follows the louder of the pair, which |X|^power with power < 1 would
	 * lift into view (silence beside noise at 2.7e-4 of its peak for power
	 * 0.5): below power 1 each frame is transformed alone (solo).
	 */
	fftwf_complex *in;			/* n_fft, zero outside the window */
	fftwf_complex *spec;		/* n_fft */
	float	   *held;			/* n_fft, the first frame of a pair */
	bool		holding;
	bool		solo;

	/*
	 * The padded signal is consumed as a stream.  buf holds its samples
	 * from the next frame's start on (always fewer than n_fft); skip counts
	 * samples still to drop before that start when hop_length > n_fft.
	 */
	float	   *buf;
	int			blen;
	size_t		skip;

	/*
	 * Centring: edge holds the last min(n_in, pad + 1) input samples, which
	 * before the left padding is emitted are all the input so far.
	 */
	float	   *edge;
	int			elen;
	bool		started;		/* left padding emitted */
	bool		finished;
	size_t		n_in;			/* input samples pushed */

	float	   *frames;			/* pending frames, frame-major */
	size_t		n_pending;
	size_t		cap_frames;
	size_t		frames_done;
};

static struct
{
	int			n_fft;
	fftwf_plan	plan;
}			plan_cache[PLAN_CACHE_SIZE];
static int	plan_cache_len;

void
ttsp_stft_params_init(ttsp_stft_params *p)
{
	p->n_fft = 400;
	p->win_length = TTSP_STFT_DEFAULT;
	p->hop_length = TTSP_STFT_DEFAULT;
	p->power = 2.0;
	p->center = true;
	p->pad_mode = TTSP_PAD_REFLECT;
	p->normalized = false;
}

static const char *const pad_mode_names[TTSP_PAD_MODES] = {"reflect", "constant", "replicate", "circular"};

bool
ttsp_pad_mode_lookup(const char *name, ttsp_pad_mode *mode)
{
	int			i;

	for (i = 0; i < TTSP_PAD_MODES; i++)
		if (strcmp(name, pad_mode_names[i]) == 0)
		{
			*mode = (ttsp_pad_mode) i;
			return true;
		}
	return false;
}

const char *
ttsp_pad_mode_name(ttsp_pad_mode mode)
{
	return pad_mode_names[mode];
}

ttsp_status
ttsp_pad_mode_from_name(const char *name, ttsp_pad_mode *mode, ttsp_error *err)
{
	if (!ttsp_pad_mode_lookup(name, mode))
		return ttsp_fail(err, TTSP_EINVAL,
						 "pad_mode must be \"reflect\", \"constant\" or \"replicate\", got \"%s\"",
						 name);
	if (*mode == TTSP_PAD_CIRCULAR)
		return ttsp_fail(err, TTSP_EUNSUPPORTED,
						 "pad_mode \"circular\" is not supported");
	return TTSP_OK;
}

ttsp_status
ttsp_stft_params_check(ttsp_stft_params *p, ttsp_error *err)
{
	if (p->n_fft < 2 || p->n_fft > TTSP_MAX_N_FFT)
		return ttsp_fail(err, TTSP_EINVAL, "n_fft must be between 2 and %d, got %d",
						 TTSP_MAX_N_FFT, p->n_fft);
	if (p->win_length == TTSP_STFT_DEFAULT)
		p->win_length = p->n_fft;
	if (p->win_length < 1 || p->win_length > p->n_fft)
		return ttsp_fail(err, TTSP_EINVAL,
						 "win_length must be between 1 and n_fft (%d), got %d",
						 p->n_fft, p->win_length);
	if (p->hop_length == TTSP_STFT_DEFAULT)
	{
		p->hop_length = p->win_length / 2;
		if (p->hop_length == 0)
			return ttsp_fail(err, TTSP_EINVAL,
							 "the default hop_length win_length / 2 is 0 for win_length %d; give hop_length",
							 p->win_length);
	}
	if (p->hop_length < 1)
		return ttsp_fail(err, TTSP_EINVAL, "hop_length must be positive, got %d",
						 p->hop_length);
	if (!(p->power > 0.0) || !isfinite(p->power))
		return ttsp_fail(err, TTSP_EINVAL, "power must be positive and finite, got %g",
						 p->power);
	if (p->pad_mode == TTSP_PAD_CIRCULAR)
		return ttsp_fail(err, TTSP_EUNSUPPORTED, "pad_mode \"circular\" is not supported");
	if (p->pad_mode != TTSP_PAD_REFLECT && p->pad_mode != TTSP_PAD_CONSTANT &&
		p->pad_mode != TTSP_PAD_REPLICATE)
		return ttsp_fail(err, TTSP_EINVAL, "invalid pad_mode %d", (int) p->pad_mode);
	return TTSP_OK;
}

int
ttsp_stft_n_bins(const ttsp_stft_params *p)
{
	return p->n_fft / 2 + 1;
}

ttsp_status
ttsp_stft_n_frames(const ttsp_stft_params *p, size_t n_samples,
				   size_t *n_frames, ttsp_error *err)
{
	size_t		len = n_samples;

	if (n_samples == 0)
		return ttsp_fail(err, TTSP_EINVAL, "input has no samples");
	if (p->center)
	{
		size_t		pad = p->n_fft / 2;

		if (p->pad_mode == TTSP_PAD_REFLECT && n_samples <= pad)
			return ttsp_fail(err, TTSP_EINVAL,
							 "reflect padding needs more than n_fft / 2 = %zu samples, got %zu",
							 pad, n_samples);
		len += 2 * pad;
	}
	if (len < (size_t) p->n_fft)
		return ttsp_fail(err, TTSP_EINVAL,
						 "input has %zu samples, fewer than n_fft = %d (center is false)",
						 n_samples, p->n_fft);
	*n_frames = 1 + (len - p->n_fft) / p->hop_length;
	return TTSP_OK;
}

/* torch.hann_window(win_length, periodic=True) computed as torch does, in
 * float, centred in n_fft zeros like torch.stft pads it. */
static void
make_window(ttsp_stft *s)
{
	int			wl = s->p.win_length;
	float		step = (float) (2.0 * M_PI / wl);
	double		energy = 0.0;

	s->win_lo = (s->p.n_fft - wl) / 2;
	s->win_hi = s->win_lo + wl;
	for (int i = 0; i < wl; i++)
	{
		float		w = wl == 1 ? 1.0f : 0.5f - 0.5f * cosf((float) i * step);

		s->window[s->win_lo + i] = w;
		energy += (double) w * w;
	}
	/* "normalized": folding 1/||w|| into the window scales X the same way */
	if (s->p.normalized)
	{
		float		scale = (float) (1.0 / sqrt(energy));

		for (int i = s->win_lo; i < s->win_hi; i++)
			s->window[i] *= scale;
	}
}

static fftwf_plan
plan_pair(int n, fftwf_complex *in, fftwf_complex *out, unsigned flags)
{
	return ttsp_fftw.fftwf_plan_dft_1d(n, in, out, FFTW_FORWARD, flags | FFTW_PRESERVE_INPUT);
}

static ttsp_status
get_plan(ttsp_stft *s, ttsp_error *err)
{
	int			n = s->p.n_fft;

	for (int i = 0; i < plan_cache_len; i++)
	{
		if (plan_cache[i].n_fft == n)
		{
			s->plan = plan_cache[i].plan;
			return TTSP_OK;
		}
	}
	/*
	 * A plan from imported wisdom when there is one (the same plan in every
	 * process that imports the same file, so the same bits), else FFTW's
	 * estimate; never measured here, which would pick plans by timing.
	 * We rely on the zeros outside the window staying.
	 */
	s->plan = plan_pair(n, s->in, s->spec, FFTW_MEASURE | FFTW_WISDOM_ONLY);
	if (s->plan == NULL)
		s->plan = plan_pair(n, s->in, s->spec, FFTW_ESTIMATE);
	if (s->plan == NULL)
		return ttsp_fail(err, TTSP_EINTERNAL, "FFTW could not plan a transform of size %d", n);
	if (plan_cache_len < PLAN_CACHE_SIZE)
	{
		plan_cache[plan_cache_len].n_fft = n;
		plan_cache[plan_cache_len].plan = s->plan;
		plan_cache_len++;
	}
	else
		s->own_plan = true;
	return TTSP_OK;
}

ttsp_status
ttsp_stft_create(const ttsp_stft_params *params, ttsp_stft **out, ttsp_error *err)
{
	ttsp_stft  *s;
	ttsp_status st;
	int			n_fft;

	*out = NULL;
	/* before anything that ttsp_stft_destroy would hand back to FFTW */
	if ((st = ttsp_fftw_load(err)) != TTSP_OK)
		return st;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory creating an STFT");
	s->p = *params;
	st = ttsp_stft_params_check(&s->p, err);
	if (st != TTSP_OK)
	{
		ttsp_stft_destroy(s);
		return st;
	}
	n_fft = s->p.n_fft;
	s->n_bins = ttsp_stft_n_bins(&s->p);
	s->solo = s->p.power < 1.0;
	s->pad = s->p.center ? n_fft / 2 : 0;
	s->window = calloc(n_fft, sizeof(float));
	s->buf = malloc(n_fft * sizeof(float));
	s->edge = malloc((s->pad + 1) * sizeof(float));
	s->in = ttsp_fftw.fftwf_malloc(n_fft * sizeof(fftwf_complex));
	s->spec = ttsp_fftw.fftwf_malloc(n_fft * sizeof(fftwf_complex));
	s->held = malloc(n_fft * sizeof(float));
	if (s->window == NULL || s->buf == NULL || s->edge == NULL ||
		s->in == NULL || s->spec == NULL || s->held == NULL)
	{
		ttsp_stft_destroy(s);
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory creating an STFT of size %d", n_fft);
	}
	st = get_plan(s, err);
	if (st != TTSP_OK)
	{
		ttsp_stft_destroy(s);
		return st;
	}
	memset(s->in, 0, n_fft * sizeof(fftwf_complex));
	make_window(s);
	/* constant padding needs no input to start; the others wait for it */
	if (!s->p.center || s->p.pad_mode == TTSP_PAD_CONSTANT)
	{
		for (int i = 0; i < s->pad; i++)
			s->buf[i] = 0.0f;
		s->blen = s->pad;
		s->started = true;
	}
	*out = s;
	return TTSP_OK;
}

void
ttsp_stft_destroy(ttsp_stft *s)
{
	if (s == NULL)
		return;
	if (s->own_plan)
		ttsp_fftw.fftwf_destroy_plan(s->plan);
	ttsp_fftw.fftwf_free(s->in);
	ttsp_fftw.fftwf_free(s->spec);
	free(s->held);
	free(s->window);
	free(s->buf);
	free(s->edge);
	free(s->frames);
	free(s);
}

/* Make room for n more pending frames, so that emitting cannot fail. */
static ttsp_status
reserve_frames(ttsp_stft *s, size_t n, ttsp_error *err)
{
	size_t		need = s->n_pending + n;
	size_t		cap;
	float	   *f;

	if (need <= s->cap_frames)
		return TTSP_OK;
	if (n > SIZE_MAX / sizeof(float) / s->n_bins - s->n_pending)
		return ttsp_fail(err, TTSP_ELIMIT, "too many STFT frames");
	cap = s->cap_frames * 2 > need ? s->cap_frames * 2 : need;
	if (cap > SIZE_MAX / sizeof(float) / s->n_bins)
		cap = need;
	f = realloc(s->frames, cap * s->n_bins * sizeof(float));
	if (f == NULL)
		return ttsp_fail(err, TTSP_ENOMEM, "out of memory for %zu STFT frames", need);
	s->frames = f;
	s->cap_frames = cap;
	return TTSP_OK;
}

/*
 * The inner loops of every frame, over restrict pointers and size_t
 * indices: with PostgreSQL's -fwrapv, int index arithmetic may wrap, and
 * GCC then leaves the loops scalar.
 */
static void
multiply(float *restrict out, const float *restrict a,
		 const float *restrict w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] * w[i];
}

/* The held frame as real parts, a windowed as imaginary parts. */
static void
pair_with_held(float *restrict re_im, const float *restrict held,
			   const float *restrict a, const float *restrict w, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		re_im[2 * i] = held[i];
		re_im[2 * i + 1] = a[i] * w[i];
	}
}

/*
 * |X|^2 of both frames of a pair from Z = FFT(x + i y):
 * X[k] = (Z[k] + conj Z[n-k]) / 2 and Y[k] = (Z[k] - conj Z[n-k]) / 2i,
 * halved before squaring so that nothing overflows before |X|^2 would.
 */
static void
split_pair(float *restrict px, float *restrict py, const float *restrict z,
		   size_t n, size_t n_bins)
{
	size_t		k = 1;

	px[0] = z[0] * z[0];
	py[0] = z[1] * z[1];
#ifdef __SSE__
	/* GCC leaves the loop below scalar: it does not vectorise Z[n-k] */
	for (; k + 4 <= n_bins; k += 4)
	{
		__m128		a0 = _mm_loadu_ps(z + 2 * k);
		__m128		a1 = _mm_loadu_ps(z + 2 * k + 4);
		__m128		b0 = _mm_loadu_ps(z + 2 * (n - k - 3));	/* Z[n-k-3], Z[n-k-2] */
		__m128		b1 = _mm_loadu_ps(z + 2 * (n - k - 1));	/* Z[n-k-1], Z[n-k] */
		__m128		ar = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
		__m128		ai = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
		__m128		br = _mm_shuffle_ps(b1, b0, _MM_SHUFFLE(0, 2, 0, 2));
		__m128		bi = _mm_shuffle_ps(b1, b0, _MM_SHUFFLE(1, 3, 1, 3));
		__m128		half = _mm_set1_ps(0.5f);
		__m128		xr = _mm_mul_ps(half, _mm_add_ps(ar, br)),
					xi = _mm_mul_ps(half, _mm_sub_ps(ai, bi)),
					yr = _mm_mul_ps(half, _mm_add_ps(ai, bi)),
					yi = _mm_mul_ps(half, _mm_sub_ps(br, ar));

		_mm_storeu_ps(px + k, _mm_add_ps(_mm_mul_ps(xr, xr), _mm_mul_ps(xi, xi)));
		_mm_storeu_ps(py + k, _mm_add_ps(_mm_mul_ps(yr, yr), _mm_mul_ps(yi, yi)));
	}
#endif
	for (; k < n_bins; k++)
	{
		float		ar = z[2 * k],
					ai = z[2 * k + 1],
					br = z[2 * (n - k)],
					bi = z[2 * (n - k) + 1],
					xr = 0.5f * (ar + br),
					xi = 0.5f * (ai - bi),
					yr = 0.5f * (ai + bi),
					yi = 0.5f * (br - ar);

		px[k] = xr * xr + xi * xi;
		py[k] = yr * yr + yi * yi;
	}
}

/* |X|^power from |X|^2, in place. */
static void
apply_power(float *x, size_t n, double power)
{
	if (power == 1.0)
	{
		for (size_t k = 0; k < n; k++)
			x[k] = sqrtf(x[k]);
	}
	else if (power != 2.0)
	{
		float		pw = (float) power;

		for (size_t k = 0; k < n; k++)
			x[k] = powf(sqrtf(x[k]), pw);
	}
}

/*
 * |X|^power again, in double, where |X|^2 overflowed float: for power < 2,
 * |X|^power may still fit (torch takes |X| with hypot).  Row 0 is x, row 1
 * y of split_pair.
 */
static void
rescue_overflow(float *dst, size_t count, const float *z, size_t n, size_t n_bins,
				double power)
{
	for (size_t row = 0; row < count; row++)
	{
		for (size_t k = 0; k < n_bins; k++)
		{
			float	   *v = dst + row * n_bins + k;
			double		ar = z[2 * k],
						ai = z[2 * k + 1],
						br = z[2 * ((n - k) % n)],
						bi = z[2 * ((n - k) % n) + 1];
			double		re = row == 0 ? ar + br : ai + bi,
						im = row == 0 ? ai - bi : br - ar;

			if (!isfinite(*v))
				*v = (float) pow(0.5 * hypot(re, im), power);
		}
	}
}

/* Transform the pair in s->in; with only_first, its second half is empty. */
static void
transform_pair(ttsp_stft *s, bool only_first)
{
	float	   *dst = s->frames + s->n_pending * s->n_bins;
	size_t		count = only_first ? 1 : 2;

	ttsp_fftw.fftwf_execute_dft(s->plan, s->in, s->spec);
	/* the spare row is the reserved slot after the pair's frames */
	split_pair(dst, dst + s->n_bins, (const float *) s->spec, s->p.n_fft, s->n_bins);
	apply_power(dst, count * s->n_bins, s->p.power);
	if (s->p.power < 2.0 && !ttsp_all_finite(dst, count * s->n_bins))
		rescue_overflow(dst, count, (const float *) s->spec, s->p.n_fft, s->n_bins,
						s->p.power);
	s->n_pending += count;
	s->frames_done += count;
	s->holding = false;
}

/* A frame without a partner (the last, or solo): zeros beside it. */
static void
flush_held(ttsp_stft *s)
{
	float	   *re_im = (float *) s->in;

	if (!s->holding)
		return;
	for (int i = s->win_lo; i < s->win_hi; i++)
	{
		re_im[2 * i] = s->held[i];
		re_im[2 * i + 1] = 0.0f;
	}
	transform_pair(s, true);
}

/*
 * Window one frame whose first na samples are in a and the rest in b: the
 * first of a pair waits in held, the second completes the pair.
 */
static void
emit_frame(ttsp_stft *s, const float *a, int na, const float *b)
{
	int			lo = s->win_lo;
	int			hi = s->win_hi;
	int			mid = na < lo ? lo : na > hi ? hi : na;
	float	   *re_im = (float *) s->in;

	if (!s->holding)
	{
		multiply(s->held + lo, a + lo, s->window + lo, mid - lo);
		if (mid < hi)
			multiply(s->held + mid, b + (mid - na), s->window + mid, hi - mid);
		s->holding = true;
		if (s->solo)
			flush_held(s);
		return;
	}
	pair_with_held(re_im + 2 * lo, s->held + lo, a + lo, s->window + lo, mid - lo);
	if (mid < hi)
		pair_with_held(re_im + 2 * mid, s->held + mid, b + (mid - na), s->window + mid,
					   hi - mid);
	transform_pair(s, false);
}

/* Consume n samples of the padded signal; the caller reserved the frames. */
static void
feed(ttsp_stft *s, const float *x, size_t n)
{
	int			n_fft = s->p.n_fft;
	size_t		hop = s->p.hop_length;
	size_t		d = s->skip < n ? s->skip : n;

	x += d;
	n -= d;
	s->skip -= d;
	if (n == 0)
		return;

	/* frames starting in buf and ending in x */
	while (s->blen > 0)
	{
		size_t		need = n_fft - s->blen;

		if (n < need)
		{
			memcpy(s->buf + s->blen, x, n * sizeof(float));
			s->blen += n;
			return;
		}
		emit_frame(s, s->buf, s->blen, x);
		if (hop < (size_t) s->blen)
		{
			s->blen -= hop;
			memmove(s->buf, s->buf + hop, s->blen * sizeof(float));
			continue;
		}
		d = hop - s->blen;
		s->blen = 0;
		if (d > n)
		{
			s->skip = d - n;
			return;
		}
		x += d;
		n -= d;
	}

	/* frames wholly inside x: read in place */
	while (n >= (size_t) n_fft)
	{
		emit_frame(s, x, n_fft, NULL);
		if (hop > n)
		{
			s->skip = hop - n;
			return;
		}
		x += hop;
		n -= hop;
	}
	memcpy(s->buf, x, n * sizeof(float));
	s->blen = n;
}

/* Remember the last pad + 1 input samples, for the right-hand padding. */
static void
keep_edge(ttsp_stft *s, const float *x, size_t n)
{
	size_t		cap = s->pad + 1;

	if (n >= cap)
	{
		memcpy(s->edge, x + n - cap, cap * sizeof(float));
		s->elen = cap;
		return;
	}
	if (s->elen + n > cap)
	{
		size_t		drop = s->elen + n - cap;

		memmove(s->edge, s->edge + drop, (s->elen - drop) * sizeof(float));
		s->elen -= drop;
	}
	memcpy(s->edge + s->elen, x, n * sizeof(float));
	s->elen += n;
}

/*
 * Upper bound of the pending rows that feeding n more padded samples can
 * fill: the frames it completes, plus a frame held from before, plus the
 * spare row that transforming a lone last frame writes.
 */
static size_t
frames_bound(const ttsp_stft *s, size_t n)
{
	return n / s->p.hop_length + (size_t) (2 * s->p.n_fft) / s->p.hop_length + 4;
}

ttsp_status
ttsp_stft_push(ttsp_stft *s, const float *x, size_t n, ttsp_error *err)
{
	ttsp_status st;

	if (s->finished)
		return ttsp_fail(err, TTSP_EINVAL, "STFT input pushed after finish");
	if (n == 0)
		return TTSP_OK;			/* x may then be NULL */
	if (!ttsp_all_finite(x, n))
		return ttsp_fail(err, TTSP_EINVAL, "audio samples must be finite (NaN or infinity found)");
	st = reserve_frames(s, frames_bound(s, n), err);
	if (st != TTSP_OK)
		return st;
	s->n_in += n;
	if (!s->p.center)
	{
		feed(s, x, n);
		return TTSP_OK;
	}
	if (!s->started)
	{
		/* left padding needs x[0 .. pad] (reflect) or x[0] (replicate) */
		size_t		need = s->p.pad_mode == TTSP_PAD_REFLECT ? s->pad + 1 : 1;
		size_t		k = need - s->elen < n ? need - s->elen : n;

		memcpy(s->edge + s->elen, x, k * sizeof(float));
		s->elen += k;
		x += k;
		n -= k;
		if ((size_t) s->elen < need)
			return TTSP_OK;
		for (int i = 0; i < s->pad; i++)
			s->buf[i] = s->p.pad_mode == TTSP_PAD_REFLECT ? s->edge[s->pad - i] : s->edge[0];
		s->blen = s->pad;
		s->started = true;
		feed(s, s->edge, s->elen);
	}
	feed(s, x, n);
	keep_edge(s, x, n);
	return TTSP_OK;
}

ttsp_status
ttsp_stft_finish(ttsp_stft *s, ttsp_error *err)
{
	ttsp_status st;
	size_t		expect;

	if (s->finished)
		return ttsp_fail(err, TTSP_EINVAL, "STFT finished twice");
	st = ttsp_stft_n_frames(&s->p, s->n_in, &expect, err);
	if (st != TTSP_OK)
		return st;
	st = reserve_frames(s, frames_bound(s, s->pad), err);
	if (st != TTSP_OK)
		return st;
	s->finished = true;

	/* right padding, in pieces from a small stack buffer */
	for (int done = 0; done < s->pad;)
	{
		float		tmp[256];
		int			k = s->pad - done < 256 ? s->pad - done : 256;

		for (int i = 0; i < k; i++)
		{
			int			j = done + i;

			tmp[i] = s->p.pad_mode == TTSP_PAD_CONSTANT ? 0.0f :
				s->p.pad_mode == TTSP_PAD_REPLICATE ? s->edge[s->elen - 1] :
				s->edge[s->elen - 2 - j];
		}
		feed(s, tmp, k);
		done += k;
	}
	flush_held(s);
	if (s->frames_done != expect)
		return ttsp_fail(err, TTSP_EINTERNAL, "STFT produced %zu frames, expected %zu",
						 s->frames_done, expect);
	return TTSP_OK;
}

const float *
ttsp_stft_frames(const ttsp_stft *s, size_t *n_frames)
{
	*n_frames = s->n_pending;
	return s->frames;
}

void
ttsp_stft_clear(ttsp_stft *s)
{
	s->n_pending = 0;
}

size_t
ttsp_stft_frames_done(const ttsp_stft *s)
{
	return s->frames_done;
}

void
ttsp_frames_to_columns(const float *frames, size_t n_frames, int n_rows,
					   float *out, size_t n_cols, size_t col0)
{
	ttsp_transpose(frames, n_rows, n_frames, n_rows, out + col0, n_cols);
}

/* Hand the pending frames to fn and drop them. */
static ttsp_status
deliver(ttsp_stft *s, ttsp_frames_fn fn, void *arg, ttsp_error *err)
{
	ttsp_status st = TTSP_OK;

	if (s->n_pending > 0)
		st = fn(arg, s->frames, s->n_pending, s->frames_done - s->n_pending, err);
	s->n_pending = 0;
	return st;
}

bool
ttsp_stft_import_wisdom(const char *path)
{
	/* without FFTW there is nothing to plan: ttsp_stft_create will say why */
	if (ttsp_fftw_load(NULL) != TTSP_OK)
		return false;
	return ttsp_fftw.fftwf_import_wisdom_from_filename(path) != 0;
}

bool
ttsp_stft_wisdom_covers(int n_fft)
{
	fftwf_complex *in,
			   *out;
	fftwf_plan	plan = NULL;

	if (ttsp_fftw_load(NULL) != TTSP_OK)
		return false;
	in = ttsp_fftw.fftwf_malloc(n_fft * sizeof(fftwf_complex));
	out = ttsp_fftw.fftwf_malloc(n_fft * sizeof(fftwf_complex));
	if (in != NULL && out != NULL)
		plan = plan_pair(n_fft, in, out, FFTW_MEASURE | FFTW_WISDOM_ONLY);
	if (plan != NULL)
		ttsp_fftw.fftwf_destroy_plan(plan);
	ttsp_fftw.fftwf_free(in);
	ttsp_fftw.fftwf_free(out);
	return plan != NULL;
}

size_t
ttsp_stft_batch_samples(const ttsp_stft_params *p)
{
	size_t		frames = BATCH_VALUES / (size_t) ttsp_stft_n_bins(p);

	frames = frames < 1 ? 1 : frames > BATCH_FRAMES ? BATCH_FRAMES : frames;
	return frames * (size_t) p->hop_length;
}

ttsp_status
ttsp_stft_run(const ttsp_stft_params *p, const float *x, size_t n,
			  ttsp_frames_fn fn, void *arg, ttsp_error *err)
{
	ttsp_stft  *s;
	ttsp_status st;
	size_t		batch;

	st = ttsp_stft_create(p, &s, err);
	if (st != TTSP_OK)
		return st;
	batch = ttsp_stft_batch_samples(&s->p);
	for (size_t off = 0; off < n && st == TTSP_OK; off += batch)
	{
		st = ttsp_stft_push(s, x + off, n - off < batch ? n - off : batch, err);
		if (st == TTSP_OK)
			st = deliver(s, fn, arg, err);
	}
	if (st == TTSP_OK)
		st = ttsp_stft_finish(s, err);
	if (st == TTSP_OK)
		st = deliver(s, fn, arg, err);
	ttsp_stft_destroy(s);
	return st;
}

typedef struct columns_arg
{
	float	   *out;
	int			n_rows;
	size_t		n_cols;
} columns_arg;

static ttsp_status
to_columns(void *arg, const float *frames, size_t n_frames, size_t first,
		   ttsp_error *err)
{
	columns_arg *c = arg;

	(void) err;
	ttsp_frames_to_columns(frames, n_frames, c->n_rows, c->out, c->n_cols, first);
	return TTSP_OK;
}

ttsp_status
ttsp_stft_oneshot(const ttsp_stft_params *p, const float *x, size_t n,
				  float *out, ttsp_error *err)
{
	ttsp_stft_params q = *p;
	columns_arg c;
	ttsp_status st;

	st = ttsp_stft_params_check(&q, err);
	if (st == TTSP_OK)
		st = ttsp_stft_n_frames(&q, n, &c.n_cols, err);
	if (st != TTSP_OK)
		return st;
	c.out = out;
	c.n_rows = ttsp_stft_n_bins(&q);
	return ttsp_stft_run(&q, x, n, to_columns, &c, err);
}
