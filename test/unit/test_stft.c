/*
 * Unit tests of the STFT / mel / MFCC core and its transpose: analytic
 * truths, errors, streaming, and the torchaudio golden files of
 * test/golden (directory from argv[1], default test/golden relative to the
 * repo root).
 * TTSP_BENCH=1 in the environment also prints timings (never asserted).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floats.h"
#include "melspec.h"
#include "stft.h"
#include "tap.h"

#define GOLDEN_RTOL 1e-4		/* see stft.h for the definition */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: deterministic test signals without libc rand's variation */
static double
urand(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double) ((rng_state * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static void
noise(float *x, size_t n, double amp)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float) (amp * (2.0 * urand() - 1.0));
}

static ttsp_stft_params
params(int n_fft, int win, int hop, double power, bool center)
{
	ttsp_stft_params p;

	ttsp_stft_params_init(&p);
	p.n_fft = n_fft;
	p.win_length = win;
	p.hop_length = hop;
	p.power = power;
	p.center = center;
	return p;
}

/* Whole spectrogram [n_bins][n_frames] in a fresh buffer, or NULL. */
static float *
spectrogram(ttsp_stft_params p, const float *x, size_t n, size_t *n_frames,
			ttsp_error *err)
{
	float	   *out;

	if (ttsp_stft_params_check(&p, err) != TTSP_OK ||
		ttsp_stft_n_frames(&p, n, n_frames, err) != TTSP_OK)
		return NULL;
	out = malloc(*n_frames * ttsp_stft_n_bins(&p) * sizeof(float));
	if (ttsp_stft_oneshot(&p, x, n, out, err) != TTSP_OK)
	{
		free(out);
		return NULL;
	}
	return out;
}

static double
rel(double a, double b)
{
	return fabs(a - b) / fmax(fabs(b), 1e-30);
}

/*
 * cos at bin k0: Hann (periodic) has W(0) = N/2, W(+-1) = -N/4 and zeros
 * elsewhere, so |X[k0]| = A N / 4, |X[k0 +- 1]| = A N / 8, the rest 0.
 */
static void
test_bin_centre_sine(void)
{
	int			N = 256,
				k0 = 20;
	double		A = 0.75;
	size_t		n = 4096,
				nf;
	float	   *x = malloc(n * sizeof(float));
	float	   *S;
	ttsp_error	err;
	double		worst_peak = 0,
				worst_side = 0,
				worst_rest = 0;
	bool		argmax_ok = true;

	for (size_t i = 0; i < n; i++)
		x[i] = (float) (A * cos(2 * M_PI * k0 * (double) i / N + 0.4));
	S = spectrogram(params(N, -1, 64, 2.0, false), x, n, &nf, &err);
	ok(S != NULL && nf == 1 + (n - N) / 64, "sine: %zu frames", nf);
	for (size_t t = 0; S && t < nf; t++)
	{
		int			best = 0;
		double		peak = A * N / 4 * (A * N / 4);

		for (int k = 0; k <= N / 2; k++)
		{
			double		v = S[k * nf + t];

			if (v > S[best * nf + t])
				best = k;
			if (k == k0)
				worst_peak = fmax(worst_peak, rel(v, peak));
			else if (k == k0 - 1 || k == k0 + 1)
				worst_side = fmax(worst_side, rel(v, peak / 4));
			else
				worst_rest = fmax(worst_rest, v / peak);
		}
		argmax_ok &= best == k0;
	}
	ok(argmax_ok, "sine: every frame peaks in bin %d", k0);
	ok(worst_peak < 1e-5, "sine: peak power (A N/4)^2, rel err %.2g", worst_peak);
	ok(worst_side < 1e-5, "sine: neighbours (A N/8)^2, rel err %.2g", worst_side);
	ok(worst_rest < 1e-10, "sine: other bins ~0, max %.2g of peak", worst_rest);
	free(S);

	/* power 1 gives the magnitude A N / 4 */
	S = spectrogram(params(N, -1, 64, 1.0, false), x, n, &nf, &err);
	ok(S != NULL && rel(S[k0 * nf + 3], A * N / 4) < 1e-5,
	   "sine: power 1 gives |X| = A N/4 (%g)", S ? S[k0 * nf + 3] : 0);
	free(S);
	free(x);
}

/* One frame, no centring: onesided Parseval, sum_k c_k |X_k|^2 = N sum (w x)^2. */
/*
 * Parseval for one frame without padding: sum over the one-sided power
 * column S (stride apart) against N times the windowed signal's energy.
 */
static double
parseval_error(const float *x, int N, const float *S, size_t stride)
{
	double		time_e = 0,
				freq_e = 0;

	for (int i = 0; i < N; i++)
	{
		double		w = 0.5 - 0.5 * cos(2 * M_PI * i / N);

		time_e += (w * x[i]) * (w * x[i]);
	}
	for (int k = 0; k <= N / 2; k++)
		freq_e += (k == 0 || 2 * k == N ? 1 : 2) * (double) S[k * stride];
	return rel(freq_e, N * time_e);
}

static void
test_parseval(void)
{
	int			sizes[] = {64, 100, 255, 1024};

	for (int s = 0; s < 4; s++)
	{
		int			N = sizes[s];
		float	   *x = malloc(N * sizeof(float));
		float	   *S;
		size_t		nf;
		ttsp_error	err;

		noise(x, N, 1.0);
		S = spectrogram(params(N, -1, -1, 2.0, false), x, N, &nf, &err);
		ok(S && nf == 1 && parseval_error(x, N, S, 1) < 1e-5,
		   "Parseval n_fft %d: rel err %.2g", N, S ? parseval_error(x, N, S, 1) : -1);
		free(S);
		free(x);
	}
}

/* ttsp_transpose against its definition, with strides and ragged edges. */
static void
test_transpose(void)
{
	size_t		shapes[][2] = {{1, 1}, {3, 5}, {4, 4}, {8, 51}, {13, 7}, {31, 1025}};

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
	{
		size_t		rows = shapes[i][0],
					cols = shapes[i][1],
					ss = cols + 3,
					ds = rows + 2;
		float	   *src = malloc(rows * ss * sizeof(float));
		float	   *dst = malloc(cols * ds * sizeof(float));
		size_t		bad = 0;

		noise(src, rows * ss, 1.0);
		for (size_t j = 0; j < cols * ds; j++)
			dst[j] = -7.0f;
		ttsp_transpose(src, ss, rows, cols, dst, ds);
		for (size_t c = 0; c < cols; c++)
			for (size_t r = 0; r < ds; r++)
				bad += dst[c * ds + r] != (r < rows ? src[r * ss + c] : -7.0f);
		ok(bad == 0, "transpose %zu x %zu: %zu cells wrong or outside written", rows, cols, bad);
		free(src);
		free(dst);
	}
}

/*
 * Frames share complex FFTs in pairs (0, 1), (2, 3), ...: silence paired
 * with loud noise must stay far below it (true value 0), and each loud
 * frame, paired or the lone last one, must still satisfy Parseval.
 */
static void
test_pair_partners(void)
{
	enum
	{
		N = 512, FRAMES = 5
	};
	bool		loud[FRAMES] = {false, true, true, false, true};
	float	   *x = calloc(N * FRAMES, sizeof(float));
	float	   *S;
	size_t		nf;
	ttsp_error	err;
	double		quiet = 0,
				peak = 0,
				worst = 0;

	for (int t = 0; t < FRAMES; t++)
		if (loud[t])
			noise(x + t * N, N, 1.0);
	S = spectrogram(params(N, -1, N, 2.0, false), x, N * FRAMES, &nf, &err);
	for (int t = 0; S && t < FRAMES; t++)
	{
		for (int k = 0; k <= N / 2; k++)
		{
			double		v = S[(size_t) k * nf + t];

			if (loud[t])
				peak = fmax(peak, v);
			else
				quiet = fmax(quiet, v);
		}
		if (loud[t])
			worst = fmax(worst, parseval_error(x + t * N, N, S + t, nf));
	}
	ok(S && nf == FRAMES && quiet <= 1e-12 * peak,
	   "silence paired with noise: %.0f dB relative to it", 10 * log10(quiet / peak));
	ok(S && worst < 1e-5, "paired and lone loud frames: Parseval rel err %.2g", worst);

	/* power < 1 transforms each frame alone: silence stays exactly 0 */
	{
		float	   *R = spectrogram(params(N, -1, N, 0.5, false), x, N * FRAMES, &nf, &err);
		size_t		nonzero = 0;

		worst = 0;
		for (size_t i = 0; S && R && i < (size_t) (N / 2 + 1) * FRAMES; i++)
		{
			if (loud[i % FRAMES])
				worst = fmax(worst, rel(R[i], pow(S[i], 0.25)));
			else
				nonzero += R[i] != 0.0f;
		}
		ok(R && nonzero == 0 && worst < 1e-5,
		   "power 0.5: %zu nonzero silent values, loud ones within %.2g of power 2's", nonzero,
		   worst);
		free(R);
	}
	free(S);
	free(x);
}

/*
 * A constant 1e18 over 64 samples: X[0] = 1e18 * sum(hann) = 3.2e19 fits a
 * float, its square does not.  Magnitude (paired) and power 0.5 (solo)
 * still come out right; power 2 is a true overflow.
 */
static void
test_overflow(void)
{
	enum
	{
		N = 64
	};
	float		x[4 * N];
	double		powers[] = {1.0, 0.5, 2.0};

	for (int i = 0; i < 4 * N; i++)
		x[i] = 1e18f;
	for (int i = 0; i < 3; i++)
	{
		size_t		nf;
		ttsp_error	err;
		float	   *S = spectrogram(params(N, -1, N, powers[i], false), x, 4 * N, &nf, &err);
		double		want = pow(32.0 * (double) 1e18f, powers[i]);

		if (powers[i] < 2.0)
			ok(S && rel(S[0], want) < 1e-6 && rel(S[nf - 1], want) < 1e-6,
			   "power %g: DC bin %.4g of %.4g although |X|^2 overflows", powers[i],
			   S ? S[0] : 0.0, want);
		else
			ok(S && isinf(S[0]), "power 2: |X|^2 = %.2g is infinite, for the caller to refuse",
			   want);
		free(S);
	}
}

/*
 * A constant c stays constant under reflect padding: X[0] = c N/2,
 * |X[1]| = c N/4, nothing else; normalized divides by sqrt(3N/8).
 */
static void
test_dc(void)
{
	int			N = 128;
	size_t		n = 1000,
				nf;
	float	   *x = malloc(n * sizeof(float));
	float	   *S;
	ttsp_stft_params p = params(N, -1, -1, 1.0, true);
	ttsp_error	err;
	double		c = 0.3,
				worst = 0,
				rest = 0;

	for (size_t i = 0; i < n; i++)
		x[i] = (float) c;
	for (int norm = 0; norm < 2; norm++)
	{
		double		scale = norm ? 1.0 / sqrt(3.0 * N / 8) : 1.0;

		p.normalized = norm;
		S = spectrogram(p, x, n, &nf, &err);
		ok(S && nf == 1 + n / (N / 2), "DC: %zu frames (center: 1 + len / hop)", nf);
		worst = rest = 0;
		for (size_t t = 0; S && t < nf; t++)
		{
			worst = fmax(worst, rel(S[t], c * N / 2 * scale));
			worst = fmax(worst, rel(S[nf + t], c * N / 4 * scale));
			for (int k = 2; k <= N / 2; k++)
				rest = fmax(rest, S[k * nf + t] / (c * N / 2 * scale));
		}
		ok(worst < 1e-5 && rest < 1e-6,
		   "DC%s: X0 = cN/2, |X1| = cN/4, rest 0 (rel %.2g, rest %.2g)",
		   norm ? " normalized" : "", worst, rest);
		free(S);
	}
	free(x);
}

/* Frame counts against torch.stft's 1 + (padded - n_fft) / hop. */
static void
test_frame_counts(void)
{
	struct
	{
		int			n_fft,
					hop;
		bool		center;
		size_t		len,
					frames;
	}			c[] = {
		{400, 200, true, 8000, 41},
		{400, 200, false, 8000, 39},
		{9, 3, true, 20, 7},		/* odd n_fft: padded len + n_fft - 1 */
		{4, 7, true, 20, 3},		/* hop > n_fft */
		{10, 3, true, 6, 3},
		{256, 100, false, 256, 1},
		{64, 100, false, 3000, 30},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
	{
		ttsp_stft_params p = params(c[i].n_fft, -1, c[i].hop, 2.0, c[i].center);
		ttsp_error	err;
		size_t		nf = 0,
					nf2 = 0;
		float	   *x = calloc(c[i].len, sizeof(float));
		float	   *S;

		ttsp_stft_params_check(&p, &err);
		ttsp_stft_n_frames(&p, c[i].len, &nf, &err);
		S = spectrogram(p, x, c[i].len, &nf2, &err);
		ok(nf == c[i].frames && S != NULL,
		   "frames n_fft %d hop %d center %d len %zu: %zu (want %zu)",
		   c[i].n_fft, c[i].hop, c[i].center, c[i].len, nf, c[i].frames);
		free(S);
		free(x);
	}
}

static void
expect_error(ttsp_status got, ttsp_status want, const ttsp_error *err,
			 const char *what)
{
	ok(got == want && err->msg[0] != '\0', "%s -> error %d: %s", what, got,
	   got == TTSP_OK ? "(none)" : err->msg);
}

static ttsp_status
check(ttsp_stft_params p, ttsp_error *err)
{
	err->msg[0] = '\0';
	return ttsp_stft_params_check(&p, err);
}

/* Run push+finish over x; returns the first failing status. */
static ttsp_status
run_stft(ttsp_stft_params p, const float *x, size_t n, ttsp_error *err)
{
	ttsp_stft  *s;
	ttsp_status st;

	err->msg[0] = '\0';
	st = ttsp_stft_create(&p, &s, err);
	if (st == TTSP_OK)
		st = ttsp_stft_push(s, x, n, err);
	if (st == TTSP_OK)
		st = ttsp_stft_finish(s, err);
	ttsp_stft_destroy(s);
	return st;
}

static void
test_errors(void)
{
	ttsp_error	err;
	ttsp_stft_params p;
	ttsp_stft  *s;
	ttsp_pad_mode pm;
	float		x[1000];
	ttsp_melbank *fb;
	ttsp_mfcc_params mp;

	noise(x, 1000, 0.5);
	expect_error(check(params(1, -1, -1, 2, true), &err), TTSP_EINVAL, &err, "n_fft 1");
	expect_error(check(params(TTSP_MAX_N_FFT + 1, -1, -1, 2, true), &err), TTSP_EINVAL,
				 &err, "n_fft too big");
	expect_error(check(params(256, -1, 0, 2, true), &err), TTSP_EINVAL, &err, "hop 0");
	expect_error(check(params(256, 300, -1, 2, true), &err), TTSP_EINVAL, &err,
				 "win_length > n_fft");
	expect_error(check(params(256, 0, -1, 2, true), &err), TTSP_EINVAL, &err, "win_length 0");
	expect_error(check(params(256, 1, -1, 2, true), &err), TTSP_EINVAL, &err,
				 "win_length 1 with default hop");
	expect_error(check(params(256, -1, -1, 0, true), &err), TTSP_EINVAL, &err, "power 0");
	expect_error(check(params(256, -1, -1, NAN, true), &err), TTSP_EINVAL, &err, "power NaN");
	p = params(256, -1, -1, 2, true);
	p.pad_mode = (ttsp_pad_mode) 7;
	expect_error(check(p, &err), TTSP_EINVAL, &err, "bad pad_mode value");
	expect_error(ttsp_pad_mode_from_name("circular", &pm, &err), TTSP_EUNSUPPORTED, &err,
				 "pad_mode circular");
	expect_error(ttsp_pad_mode_from_name("wrap", &pm, &err), TTSP_EINVAL, &err,
				 "pad_mode wrap");
	expect_error(ttsp_stft_create(&(ttsp_stft_params) {0}, &s, &err), TTSP_EINVAL, &err,
				 "create with zeroed params");
	ok(s == NULL, "failed create leaves NULL");
	ttsp_stft_destroy(NULL);

	expect_error(run_stft(params(256, -1, -1, 2, false), x, 255, &err), TTSP_EINVAL, &err,
				 "255 samples, n_fft 256, no center");
	expect_error(run_stft(params(256, -1, -1, 2, true), x, 128, &err), TTSP_EINVAL, &err,
				 "128 samples, reflect, n_fft 256");
	ok(run_stft(params(256, -1, -1, 2, true), x, 129, &err) == TTSP_OK,
	   "129 samples, reflect, n_fft 256 is enough");
	p = params(256, -1, -1, 2, true);
	p.pad_mode = TTSP_PAD_CONSTANT;
	ok(run_stft(p, x, 1, &err) == TTSP_OK, "1 sample with constant padding");
	expect_error(run_stft(p, x, 0, &err), TTSP_EINVAL, &err, "empty input");
	x[500] = NAN;
	expect_error(run_stft(params(256, -1, -1, 2, true), x, 1000, &err), TTSP_EINVAL, &err,
				 "NaN sample");
	x[500] = INFINITY;
	expect_error(run_stft(params(256, -1, -1, 2, true), x, 1000, &err), TTSP_EINVAL, &err,
				 "Inf sample");
	x[500] = -INFINITY;
	expect_error(run_stft(params(64, -1, 100, 2, false), x, 1000, &err), TTSP_EINVAL, &err,
				 "-Inf sample skipped between frames");
	x[500] = 0.0f;

	p = params(256, -1, -1, 2, true);
	ttsp_stft_create(&p, &s, &err);
	ok(ttsp_stft_push(s, NULL, 0, &err) == TTSP_OK, "pushing nothing is fine");
	ttsp_stft_push(s, x, 1000, &err);
	ttsp_stft_finish(s, &err);
	expect_error(ttsp_stft_push(s, x, 10, &err), TTSP_EINVAL, &err, "push after finish");
	ttsp_stft_destroy(s);

	expect_error(ttsp_melbank_create(201, 0, 8000, 0, 16000, TTSP_MEL_NORM_NONE,
									 TTSP_MEL_HTK, &fb, &err), TTSP_EINVAL, &err, "n_mels 0");
	expect_error(ttsp_melbank_create(201, 5000, 4000, 40, 16000, TTSP_MEL_NORM_NONE,
									 TTSP_MEL_HTK, &fb, &err), TTSP_EINVAL, &err,
				 "f_min > f_max");
	ok(fb == NULL, "failed melbank create leaves NULL");
	expect_error(ttsp_mel_scale_from_name("bark", &(ttsp_mel_scale) {0}, &err), TTSP_EINVAL,
				 &err, "mel_scale bark");
	expect_error(ttsp_mel_norm_from_name("l2", &(ttsp_mel_norm) {0}, &err), TTSP_EINVAL,
				 &err, "mel norm l2");
	ttsp_mfcc_params_init(&mp);
	mp.n_mfcc = 41;
	expect_error(ttsp_mfcc_params_check(&mp, 40, &err), TTSP_EINVAL, &err,
				 "n_mfcc 41 > n_mels 40");
	mp.n_mfcc = 13;
	mp.dct_type = 3;
	expect_error(ttsp_mfcc_params_check(&mp, 40, &err), TTSP_EUNSUPPORTED, &err, "dct_type 3");
	expect_error(ttsp_amplitude_to_db(x, 10, TTSP_DB_POWER, true, -1.0, &err), TTSP_EINVAL,
				 &err, "top_db -1");
}

/* Push x in random chunks (0 .. 3 hops, some empty) and collect all frames. */
static float *
stream_random(ttsp_stft_params p, const float *x, size_t n, size_t *n_frames)
{
	ttsp_stft  *s;
	ttsp_error	err;
	size_t		cap = 0,
				len = 0,
				off = 0;
	float	   *all = NULL;
	int			nb;
	bool		last = false;

	if (ttsp_stft_create(&p, &s, &err) != TTSP_OK)
		return NULL;
	ttsp_stft_params_check(&p, &err);
	nb = ttsp_stft_n_bins(&p);
	while (!last)
	{
		size_t		k = (size_t) (urand() * 3 * p.hop_length);
		size_t		m;
		const float *f;

		if (urand() < 0.1)
			k = urand() < 0.5 ? 0 : 1;
		if (off + k > n)
			k = n - off;
		if (off == n)
		{
			last = true;
			if (ttsp_stft_finish(s, &err) != TTSP_OK)
				break;
		}
		else if (ttsp_stft_push(s, x + off, k, &err) != TTSP_OK)
			break;
		off += k;
		f = ttsp_stft_frames(s, &m);
		if (len + m > cap)
		{
			cap = 2 * (len + m);
			all = realloc(all, cap * nb * sizeof(float));
		}
		if (m > 0)
			memcpy(all + len * nb, f, m * nb * sizeof(float));
		len += m;
		ttsp_stft_clear(s);
	}
	ok(last && len == ttsp_stft_frames_done(s), "stream: finished, %zu frames", len);
	ttsp_stft_destroy(s);
	*n_frames = len;
	return all;
}

static void
test_streaming(void)
{
	size_t		n = 5000;
	float	   *x = malloc(n * sizeof(float));
	struct
	{
		int			n_fft,
					win,
					hop;
		bool		center;
		ttsp_pad_mode mode;
	}			c[] = {
		{400, -1, -1, true, TTSP_PAD_REFLECT},
		{100, -1, 10, true, TTSP_PAD_REFLECT},
		{255, 200, 64, true, TTSP_PAD_REPLICATE},
		{256, -1, 300, true, TTSP_PAD_CONSTANT},
		{64, -1, 100, false, TTSP_PAD_REFLECT},
		{512, 301, -1, false, TTSP_PAD_REFLECT},
		{2048, -1, 512, true, TTSP_PAD_REFLECT},
	};

	noise(x, n, 0.5);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
	{
		ttsp_stft_params p = params(c[i].n_fft, c[i].win, c[i].hop, 2.0, c[i].center);
		ttsp_error	err;
		size_t		nf,
					nf2;
		float	   *one,
				   *two,
				   *cols;
		int			nb;

		p.pad_mode = c[i].mode;
		for (int rep = 0; rep < 3; rep++)
		{
			one = stream_random(p, x, n, &nf);
			two = stream_random(p, x, n, &nf2);
			ok(one && two && nf == nf2 &&
			   memcmp(one, two, nf * (c[i].n_fft / 2 + 1) * sizeof(float)) == 0,
			   "stream n_fft %d hop %d center %d mode %d: two random chunkings agree bit for bit",
			   c[i].n_fft, c[i].hop, c[i].center, c[i].mode);
			free(two);
			if (rep < 2)
				free(one);
		}
		/* and the one-shot [freq][time] output is their transpose */
		cols = spectrogram(p, x, n, &nf2, &err);
		ttsp_stft_params_check(&p, &err);
		nb = ttsp_stft_n_bins(&p);
		two = malloc(nf * nb * sizeof(float));
		if (cols)
			ttsp_frames_to_columns(one, nf, nb, two, nf, 0);
		ok(cols && nf == nf2 && memcmp(cols, two, nf * nb * sizeof(float)) == 0,
		   "one-shot equals streamed (%zu frames)", nf);
		free(one);
		free(two);
		free(cols);
	}
	free(x);
}

static void
test_mel_and_db(void)
{
	ttsp_melbank *fb;
	ttsp_error	err;
	float	   *dense,
				db[4] = {1.0f, 100.0f, 0.0f, 1e-3f},
				dct[64 * 64];
	double		worst = 0;
	bool		tri_ok = true;

	/* htk weights are triangles: in [0, 1], peaks of 1 where a bin hits a centre */
	ok(ttsp_melbank_create(201, 0, 8000, 40, 16000, TTSP_MEL_NORM_NONE, TTSP_MEL_HTK,
						   &fb, &err) == TTSP_OK, "melbank htk 40");
	dense = malloc(201 * 40 * sizeof(float));
	ttsp_melbank_dense(fb, dense);
	for (int i = 0; i < 201 * 40; i++)
		tri_ok &= dense[i] >= 0.0f && dense[i] <= 1.0f;
	ok(tri_ok && ttsp_melbank_n_empty(fb) == 0, "htk weights within [0, 1], no empty filter");
	free(dense);
	ttsp_melbank_destroy(fb);
	ttsp_melbank_create(201, 0, 8000, 128, 16000, TTSP_MEL_NORM_NONE, TTSP_MEL_HTK,
						&fb, &err);
	ok(fb && ttsp_melbank_n_empty(fb) > 0,
	   "128 mels over 201 bins leave %d empty filters (torchaudio warns)",
	   fb ? ttsp_melbank_n_empty(fb) : -1);
	ttsp_melbank_destroy(fb);

	/* the projection against the dense matrix in double, both scales and norms */
	for (int v = 0; v < 2; v++)
	{
		int			nf = 1025,
					nm = v ? 128 : 61,
					nt = 5;
		float	   *frames = malloc((size_t) nt * nf * sizeof(float)),
				   *mel = malloc((size_t) nt * nm * sizeof(float));
		double		peak = 0,
					err_max = 0;

		ttsp_melbank_create(nf, 20, 11025, nm, 22050, v ? TTSP_MEL_NORM_SLANEY : TTSP_MEL_NORM_NONE,
							v ? TTSP_MEL_SLANEY : TTSP_MEL_HTK, &fb, &err);
		dense = malloc((size_t) nf * nm * sizeof(float));
		ttsp_melbank_dense(fb, dense);
		for (int i = 0; i < nt * nf; i++)
			frames[i] = (float) rand() / RAND_MAX * (1 + i % 7);
		/* [mel][frame] columns, as the one-shot path writes them */
		ttsp_melbank_apply(fb, frames, nt, mel, nt, 1);
		for (int t = 0; t < nt; t++)
			for (int m = 0; m < nm; m++)
			{
				double		want = 0;

				for (int k = 0; k < nf; k++)
					want += (double) dense[(size_t) k * nm + m] * frames[(size_t) t * nf + k];
				peak = fmax(peak, want);
				err_max = fmax(err_max, fabs(mel[(size_t) m * nt + t] - want));
			}
		ok(err_max <= 1e-6 * peak, "%s mel projection (%d mels) equals the dense product within 1e-6 of the peak (%.2g)",
		   v ? "slaney" : "htk", nm, err_max / peak);
		free(frames);
		free(mel);
		free(dense);
		ttsp_melbank_destroy(fb);
	}

	ttsp_amplitude_to_db(db, 4, TTSP_DB_POWER, false, 0, &err);
	ok(db[0] == 0.0f && fabsf(db[1] - 20.0f) < 1e-5f && fabsf(db[2] + 100.0f) < 1e-4f &&
	   fabsf(db[3] + 30.0f) < 1e-5f, "power dB: 1 -> 0, 100 -> 20, 0 -> -100 (amin), 1e-3 -> -30");
	db[0] = 1.0f;
	db[1] = 100.0f;
	db[2] = 0.0f;
	db[3] = 1e-3f;
	ttsp_amplitude_to_db(db, 4, TTSP_DB_MAGNITUDE, true, 50.0, &err);
	ok(fabsf(db[1] - 40.0f) < 1e-5f && fabsf(db[2] + 10.0f) < 1e-5f &&
	   fabsf(db[3] + 10.0f) < 1e-5f, "magnitude dB with top_db 50: floor at 40 - 50");
	/* an overflowed power is an error, not the quietest value */
	db[0] = 1.0f;
	db[1] = INFINITY;
	expect_error(ttsp_amplitude_to_db(db, 4, TTSP_DB_POWER, true, 80.0, &err), TTSP_ERANGE,
				 &err, "dB of infinity");
	ok(db[0] == 1.0f && isinf(db[1]), "failed dB conversion leaves its input alone");
	{
		ttsp_mfcc_params mp;
		float		coef[4];

		ttsp_mfcc_params_init(&mp);
		mp.n_mfcc = 2;
		expect_error(ttsp_mfcc_from_mel(&mp, db, 1, 2, 2, coef, &err), TTSP_ERANGE, &err,
					 "MFCC of an infinite mel");
		mp.log_mels = true;
		expect_error(ttsp_mfcc_from_mel(&mp, db, 1, 2, 2, coef, &err), TTSP_ERANGE, &err,
					 "MFCC with log_mels of an infinite mel");
	}

	/* ortho DCT-II with n_mfcc == n_mels is an orthogonal matrix */
	ttsp_dct_matrix(64, 64, TTSP_DCT_NORM_ORTHO, dct, &err);
	for (int a = 0; a < 64; a++)
		for (int b = 0; b < 64; b++)
		{
			double		d = 0;

			for (int i = 0; i < 64; i++)
				d += (double) dct[a * 64 + i] * dct[b * 64 + i];
			worst = fmax(worst, fabs(d - (a == b)));
		}
	ok(worst < 1e-5, "ortho DCT: D D^T = I (max dev %.2g)", worst);
}

/* ---- golden files ---- */

typedef struct jentry
{
	char		key[64];		/* nested keys joined with '.' */
	char		str[32];
	double		num;
	char		type;			/* 'n'umber, 's'tring, 'b'ool, 'z' null */
	bool		used;
} jentry;

typedef struct json
{
	jentry		e[32];
	int			n;
} json;

static const char *
skip_ws(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

/* Just enough JSON for the params column: objects of scalars and objects. */
static const char *
parse_object(json *j, const char *s, const char *prefix)
{
	s = skip_ws(s);
	if (*s++ != '{')
		return NULL;
	s = skip_ws(s);
	if (*s == '}')
		return s + 1;
	for (;;)
	{
		jentry	   *e = &j->e[j->n];
		const char *q;
		int			len;

		s = skip_ws(s);
		q = strchr(s + 1, '"');
		if (*s != '"' || q == NULL || j->n >= 32)
			return NULL;
		len = snprintf(e->key, sizeof(e->key), "%s%.*s", prefix, (int) (q - s - 1), s + 1);
		s = skip_ws(q + 1);
		if (*s++ != ':')
			return NULL;
		s = skip_ws(s);
		if (*s == '{')
		{
			char		sub[64];

			snprintf(sub, sizeof(sub), "%.*s.", len, e->key);
			s = parse_object(j, s, sub);
			if (s == NULL)
				return NULL;
		}
		else
		{
			if (*s == '"')
			{
				q = strchr(s + 1, '"');
				snprintf(e->str, sizeof(e->str), "%.*s", (int) (q - s - 1), s + 1);
				e->type = 's';
				s = q + 1;
			}
			else if (strncmp(s, "true", 4) == 0 || strncmp(s, "false", 5) == 0)
			{
				e->type = 'b';
				e->num = *s == 't';
				s += *s == 't' ? 4 : 5;
			}
			else if (strncmp(s, "null", 4) == 0)
			{
				e->type = 'z';
				s += 4;
			}
			else
			{
				char	   *end;

				e->num = strtod(s, &end);
				e->type = 'n';
				if (end == s)
					return NULL;
				s = end;
			}
			j->n++;
		}
		s = skip_ws(s);
		if (*s == '}')
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

static jentry *
jget(json *j, const char *prefix, const char *key)
{
	char		full[64];

	snprintf(full, sizeof(full), "%s%s", prefix, key);
	for (int i = 0; i < j->n; i++)
	{
		if (strcmp(j->e[i].key, full) == 0)
		{
			j->e[i].used = true;
			return &j->e[i];
		}
	}
	return NULL;
}

static void
jint(json *j, const char *prefix, const char *key, int *v)
{
	jentry	   *e = jget(j, prefix, key);

	if (e && e->type == 'n')
		*v = (int) e->num;
}

static void
jdouble(json *j, const char *prefix, const char *key, double *v)
{
	jentry	   *e = jget(j, prefix, key);

	if (e && e->type == 'n')
		*v = e->num;
}

static void
jbool(json *j, const char *prefix, const char *key, bool *v)
{
	jentry	   *e = jget(j, prefix, key);

	if (e && e->type == 'b')
		*v = e->num != 0;
}

/* A string option: absent -> dflt, null -> NULL. */
static const char *
jstr(json *j, const char *prefix, const char *key, const char *dflt)
{
	jentry	   *e = jget(j, prefix, key);

	return e == NULL ? dflt : e->type == 's' ? e->str : NULL;
}

static void
stft_from_json(json *j, const char *prefix, ttsp_stft_params *p)
{
	const char *mode;
	ttsp_error	err;

	ttsp_stft_params_init(p);
	jint(j, prefix, "n_fft", &p->n_fft);
	jint(j, prefix, "win_length", &p->win_length);
	jint(j, prefix, "hop_length", &p->hop_length);
	jdouble(j, prefix, "power", &p->power);
	jbool(j, prefix, "center", &p->center);
	jbool(j, prefix, "normalized", &p->normalized);
	mode = jstr(j, prefix, "pad_mode", "reflect");
	if (ttsp_pad_mode_from_name(mode, &p->pad_mode, &err) != TTSP_OK)
		printf("# %s\n", err.msg);
}

/* Parse every number of a PG array literal; counts '{' to tell nesting. */
static float *
parse_pg_array(const char *s, size_t *n, int *braces)
{
	size_t		cap = 1024;
	float	   *v = malloc(cap * sizeof(float));

	*n = 0;
	*braces = 0;
	while (*s && *s != '\t' && *s != '\n')
	{
		char	   *end;

		if (*s == '{' || *s == '}' || *s == ',')
		{
			*braces += *s == '{';
			s++;
			continue;
		}
		if (*n == cap)
			v = realloc(v, (cap *= 2) * sizeof(float));
		v[(*n)++] = strtof(s, &end);
		if (end == s)
		{
			free(v);
			return NULL;
		}
		s = end;
	}
	return v;
}

typedef struct wave
{
	char		name[32];
	int			sample_rate;
	int			channels;
	size_t		samples;
	float	   *data;
} wave;

/* Split a line on tabs in place; returns the field count. */
static int
split_tabs(char *line, char **f, int max)
{
	int			n = 0;

	line[strcspn(line, "\n")] = '\0';
	f[n++] = line;
	for (char *p = line; *p && n < max; p++)
	{
		if (*p == '\t')
		{
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	return n;
}

static int
load_waves(const char *dir, wave *w, int max)
{
	char		path[512];
	FILE	   *fp;
	char	   *line = NULL;
	size_t		cap = 0;
	int			n = 0;

	snprintf(path, sizeof(path), "%s/waveforms.tsv", dir);
	fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	while (n < max && getline(&line, &cap, fp) > 0)
	{
		char	   *f[3];
		size_t		total;
		int			braces;

		if (split_tabs(line, f, 3) != 3)
			continue;
		snprintf(w[n].name, sizeof(w[n].name), "%s", f[0]);
		w[n].sample_rate = atoi(f[1]);
		w[n].data = parse_pg_array(f[2], &total, &braces);
		w[n].channels = braces - 1;
		w[n].samples = total / w[n].channels;
		n++;
	}
	free(line);
	fclose(fp);
	return n;
}

static ttsp_status
mel_block(json *j, const char *prefix, const wave *w, float **out, int *n_mels,
		  size_t *n_frames, ttsp_error *err)
{
	ttsp_stft_params p;
	ttsp_melbank *fb = NULL;
	ttsp_mel_norm norm;
	ttsp_mel_scale scale;
	double		f_min = 0.0,
				f_max = ttsp_mel_default_f_max(w->sample_rate);
	ttsp_status st;

	*n_mels = 128;
	*out = NULL;
	stft_from_json(j, prefix, &p);
	jint(j, prefix, "n_mels", n_mels);
	jdouble(j, prefix, "f_min", &f_min);
	jdouble(j, prefix, "f_max", &f_max);
	st = ttsp_mel_norm_from_name(jstr(j, prefix, "norm", NULL), &norm, err);
	if (st == TTSP_OK)
		st = ttsp_mel_scale_from_name(jstr(j, prefix, "mel_scale", "htk"), &scale, err);
	if (st == TTSP_OK)
		st = ttsp_stft_params_check(&p, err);
	if (st == TTSP_OK)
		st = ttsp_stft_n_frames(&p, w->samples, n_frames, err);
	if (st == TTSP_OK)
		st = ttsp_melbank_create(ttsp_stft_n_bins(&p), f_min, f_max, *n_mels,
								 w->sample_rate, norm, scale, &fb, err);
	if (st != TTSP_OK)
		return st;
	*out = malloc(w->channels * *n_mels * *n_frames * sizeof(float));
	for (int c = 0; c < w->channels && st == TTSP_OK; c++)
		st = ttsp_mel_oneshot(&p, fb, w->data + c * w->samples, w->samples,
								  *out + c * *n_mels * *n_frames, err);
	ttsp_melbank_destroy(fb);
	return st;
}

static ttsp_status
spec_block(json *j, const char *prefix, const wave *w, float **out, int *n_bins,
		   size_t *n_frames, ttsp_error *err)
{
	ttsp_stft_params p;
	ttsp_status st;

	*out = NULL;
	stft_from_json(j, prefix, &p);
	st = ttsp_stft_params_check(&p, err);
	if (st == TTSP_OK)
		st = ttsp_stft_n_frames(&p, w->samples, n_frames, err);
	if (st != TTSP_OK)
		return st;
	*n_bins = ttsp_stft_n_bins(&p);
	*out = malloc(w->channels * *n_bins * *n_frames * sizeof(float));
	for (int c = 0; c < w->channels && st == TTSP_OK; c++)
		st = ttsp_stft_oneshot(&p, w->data + c * w->samples, w->samples,
							  *out + c * *n_bins * *n_frames, err);
	return st;
}

/* Compute one case as [channels][rows][frames]. */
static ttsp_status
compute_case(const char *transform, json *j, const wave *w, float **out,
			 int *rows, size_t *n_frames, ttsp_error *err)
{
	ttsp_status st;

	if (strcmp(transform, "spectrogram") == 0)
		return spec_block(j, "", w, out, rows, n_frames, err);
	if (strcmp(transform, "mel_spectrogram") == 0)
		return mel_block(j, "", w, out, rows, n_frames, err);
	if (strcmp(transform, "amplitude_to_db") == 0)
	{
		ttsp_db_stype stype;
		jentry	   *top = jget(j, "", "top_db");

		st = ttsp_db_stype_from_name(jstr(j, "", "stype", "power"), &stype, err);
		if (st == TTSP_OK)
			st = spec_block(j, "spectrogram.", w, out, rows, n_frames, err);
		if (st == TTSP_OK)
			st = ttsp_amplitude_to_db(*out, w->channels * *rows * *n_frames, stype,
									  top && top->type == 'n', top ? top->num : 0, err);
		return st;
	}
	if (strcmp(transform, "mfcc") == 0)
	{
		ttsp_mfcc_params mp;
		float	   *mel;
		int			n_mels;

		ttsp_mfcc_params_init(&mp);
		jint(j, "", "n_mfcc", &mp.n_mfcc);
		jint(j, "", "dct_type", &mp.dct_type);
		jbool(j, "", "log_mels", &mp.log_mels);
		st = ttsp_dct_norm_from_name(jstr(j, "", "norm", "ortho"), &mp.norm, err);
		if (st == TTSP_OK)
			st = mel_block(j, "melkwargs.", w, &mel, &n_mels, n_frames, err);
		if (st == TTSP_OK)
		{
			*rows = mp.n_mfcc;
			*out = malloc(w->channels * *rows * *n_frames * sizeof(float));
			st = ttsp_mfcc_from_mel(&mp, mel, w->channels, n_mels, *n_frames, *out, err);
		}
		free(mel);
		return st;
	}
	*out = NULL;
	return ttsp_fail(err, TTSP_EINVAL, "unknown transform %s", transform);
}

/*
 * The shared measure (stft.h): max over the case of
 * |ours - golden| / max(|golden|, tau * max|golden|), dB first turned back
 * into power or magnitude.
 */
static double
scaled_error(const float *ours, const float *gold, size_t n,
			 const char *transform, const char *stype)
{
	bool		db = strcmp(transform, "amplitude_to_db") == 0;
	double		tau = strcmp(transform, "mfcc") == 0 ? 1e-1 : 1e-2;
	double		db_mult = stype && strcmp(stype, "magnitude") == 0 ? 20.0 : 10.0;
	double		peak = 0,
				worst = 0;

	for (size_t i = 0; i < n; i++)
		peak = fmax(peak, db ? pow(10.0, gold[i] / db_mult) : fabs(gold[i]));
	for (size_t i = 0; i < n; i++)
	{
		double		a = db ? pow(10.0, ours[i] / db_mult) : ours[i];
		double		g = db ? pow(10.0, gold[i] / db_mult) : gold[i];

		worst = fmax(worst, fabs(a - g) / fmax(fabs(g), tau * peak));
	}
	return worst;
}

static void
test_golden(const char *dir)
{
	wave		waves[64];
	int			n_waves = load_waves(dir, waves, 64);
	char		path[512];
	FILE	   *fp;
	char	   *line = NULL;
	size_t		cap = 0;
	int			n_cases = 0;

	ok(n_waves > 0, "golden: %d waveforms from %s/waveforms.tsv", n_waves, dir);
	snprintf(path, sizeof(path), "%s/cases.tsv", dir);
	fp = fopen(path, "r");
	ok(fp != NULL, "golden: open %s", path);
	if (fp == NULL || n_waves <= 0)
		return;
	while (getline(&line, &cap, fp) > 0)
	{
		char	   *f[6];
		json		j = {0};
		const wave *w = NULL;
		float	   *gold,
				   *ours = NULL;
		size_t		n_gold,
					n_frames = 0;
		int			braces,
					rows = 0,
					shape[3] = {0, 0, 0};
		ttsp_error	err = {0};
		ttsp_status st;
		double		worst;
		bool		all_used = true;

		if (split_tabs(line, f, 6) != 6)
			continue;
		n_cases++;
		for (int i = 0; i < n_waves; i++)
			if (strcmp(waves[i].name, f[1]) == 0)
				w = &waves[i];
		sscanf(f[4], "{%d,%d,%d}", &shape[0], &shape[1], &shape[2]);
		gold = parse_pg_array(f[5], &n_gold, &braces);
		if (w == NULL || gold == NULL || parse_object(&j, f[3], "") == NULL)
		{
			ok(0, "golden %s: unreadable row", f[0]);
			free(gold);
			continue;
		}
		st = compute_case(f[2], &j, w, &ours, &rows, &n_frames, &err);
		for (int i = 0; i < j.n; i++)
			all_used &= j.e[i].used;
		ok(all_used, "golden %s: every parameter in %s understood", f[0], f[3]);
		if (st != TTSP_OK || shape[0] != w->channels || shape[1] != rows ||
			(size_t) shape[2] != n_frames || n_gold != (size_t) shape[0] * rows * n_frames)
		{
			ok(0, "golden %s: status %d (%s), shape {%d,%d,%zu} vs %s", f[0], st, err.msg,
			   w->channels, rows, n_frames, f[4]);
			free(gold);
			free(ours);
			continue;
		}
		worst = scaled_error(ours, gold, n_gold, f[2], jstr(&j, "", "stype", "power"));
		ok(worst <= GOLDEN_RTOL, "golden %s (%s %s): max scaled error %.3g",
		   f[0], f[2], f[4], worst);
		free(gold);
		free(ours);
	}
	ok(n_cases >= 20, "golden: %d cases", n_cases);
	free(line);
	fclose(fp);
	for (int i = 0; i < n_waves; i++)
		free(waves[i].data);
}

/* ---- optional timing ---- */

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void
bench(void)
{
	size_t		n = 22050 * 30,
				nf;
	float	   *x = malloc(n * sizeof(float));
	float	   *out;
	ttsp_stft_params p = params(100, -1, -1, 2.0, true);
	ttsp_melbank *fb;
	ttsp_error	err;
	double		best = 1e9;

	noise(x, n, 0.5);
	ttsp_stft_params_check(&p, &err);
	ttsp_stft_n_frames(&p, n, &nf, &err);
	out = malloc(nf * 51 * sizeof(float));
	for (int r = 0; r < 20; r++)
	{
		double		t = now();

		ttsp_stft_oneshot(&p, x, n, out, &err);
		best = fmin(best, now() - t);
	}
	printf("# bench: spectrogram 30 s @ 22050, n_fft 100: %.3f ms\n", best * 1e3);
	free(out);

	p = params(2048, -1, 512, 2.0, true);
	ttsp_stft_params_check(&p, &err);
	ttsp_stft_n_frames(&p, n, &nf, &err);
	ttsp_melbank_create(1025, 0, 11025, 128, 22050, TTSP_MEL_NORM_NONE, TTSP_MEL_HTK,
						&fb, &err);
	out = malloc(nf * 128 * sizeof(float));
	best = 1e9;
	for (int r = 0; r < 20; r++)
	{
		double		t = now();

		ttsp_mel_oneshot(&p, fb, x, n, out, &err);
		best = fmin(best, now() - t);
	}
	printf("# bench: mel spectrogram 30 s @ 22050, n_fft 2048, hop 512, 128 mels: %.3f ms\n",
		   best * 1e3);
	ttsp_melbank_destroy(fb);
	free(out);
	free(x);
}

int
main(int argc, char **argv)
{
	test_bin_centre_sine();
	test_parseval();
	test_pair_partners();
	test_transpose();
	test_overflow();
	test_dc();
	test_frame_counts();
	test_errors();
	test_streaming();
	test_mel_and_db();
	test_golden(argc > 1 ? argv[1] : "test/golden");
	if (getenv("TTSP_BENCH"))
		bench();
	return done_testing();
}
