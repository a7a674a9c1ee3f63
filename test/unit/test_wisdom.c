/*
 * FFTW plans from the build's wisdom (src/ttsp.fftw-wisdom): the sizes are
 * covered, and spectrograms planned from it match a direct DFT in double.
 * Its own process, since plans are cached per process.
 */
#include <math.h>
#include <stdlib.h>

#include "stft.h"
#include "tap.h"

#define N_SAMPLES 20000

/* Worst |power - direct DFT power| over all bins and frames, relative to the largest power. */
static double
worst_against_dft(int n_fft, int hop, const float *x)
{
	ttsp_stft_params p;
	ttsp_error	err;
	size_t		n_frames;
	int			bins = n_fft / 2 + 1;
	float	   *out;
	double		worst = 0,
				peak = 0;

	ttsp_stft_params_init(&p);
	p.n_fft = n_fft;
	p.hop_length = hop;
	p.center = false;
	if (ttsp_stft_params_check(&p, &err) != TTSP_OK ||
		ttsp_stft_n_frames(&p, N_SAMPLES, &n_frames, &err) != TTSP_OK)
		return INFINITY;
	out = malloc((size_t) bins * n_frames * sizeof(float));
	if (ttsp_stft_oneshot(&p, x, N_SAMPLES, out, &err) != TTSP_OK)
		return INFINITY;
	for (size_t t = 0; t < n_frames; t += n_frames / 7 + 1)
		for (int k = 0; k < bins; k++)
		{
			double		re = 0,
						im = 0,
						want;

			for (int i = 0; i < n_fft; i++)
			{
				/* torch.hann_window(n_fft, periodic=True) */
				double		w = 0.5 - 0.5 * cos(2 * M_PI * i / n_fft);

				re += w * x[t * hop + i] * cos(2 * M_PI * k * i / n_fft);
				im -= w * x[t * hop + i] * sin(2 * M_PI * k * i / n_fft);
			}
			want = re * re + im * im;
			peak = fmax(peak, want);
			worst = fmax(worst, fabs(out[(size_t) k * n_frames + t] - want));
		}
	free(out);
	return worst / peak;
}

int
main(void)
{
	float	   *x = malloc(N_SAMPLES * sizeof(float));
	int			sizes[] = {100, 400, 2048};

	srand(3);
	for (int i = 0; i < N_SAMPLES; i++)
		x[i] = (float) rand() / RAND_MAX - 0.5f + 0.3f * sinf(0.05f * i);
	ok(ttsp_stft_import_wisdom("src/ttsp.fftw-wisdom"), "the build's wisdom imports");
	ok(!ttsp_stft_import_wisdom("src/no-such-wisdom"), "a missing file is reported, not fatal");
	for (int s = 0; s < 3; s++)
	{
		double		e;

		ok(ttsp_stft_wisdom_covers(sizes[s]), "wisdom has a plan for n_fft %d", sizes[s]);
		e = worst_against_dft(sizes[s], sizes[s] / 4, x);
		ok(e < 1e-5, "n_fft %d from wisdom matches a direct DFT (worst %.2g of the peak)", sizes[s], e);
	}
	ok(!ttsp_stft_wisdom_covers(333), "a size outside the wisdom is not covered (FFTW estimates it)");
	free(x);
	return done_testing();
}
