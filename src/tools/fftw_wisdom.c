/*
 * Writes FFTW wisdom for the complex transforms ttsp's STFT uses (one per
 * pair of frames), planned with FFTW_PATIENT on arrays laid out as
 * src/core/stft.c lays them out.
 * Run at build time; the backends import the file and plan from it only.
 *
 *   fftw_wisdom OUTPUT N_FFT...
 */
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	if (argc < 3)
	{
		fprintf(stderr, "usage: %s OUTPUT N_FFT...\n", argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++)
	{
		int			n = atoi(argv[i]);
		fftwf_complex *in = fftwf_malloc(n * sizeof(fftwf_complex));
		fftwf_complex *out = fftwf_malloc(n * sizeof(fftwf_complex));
		fftwf_plan	plan;

		if (n < 2 || in == NULL || out == NULL)
		{
			fprintf(stderr, "%s: bad size %s\n", argv[0], argv[i]);
			return 1;
		}
		plan = fftwf_plan_dft_1d(n, in, out, FFTW_FORWARD, FFTW_PATIENT | FFTW_PRESERVE_INPUT);
		if (plan == NULL)
		{
			fprintf(stderr, "%s: FFTW could not plan size %d\n", argv[0], n);
			return 1;
		}
		fftwf_destroy_plan(plan);
		fftwf_free(in);
		fftwf_free(out);
	}
	if (!fftwf_export_wisdom_to_filename(argv[1]))
	{
		fprintf(stderr, "%s: cannot write %s\n", argv[0], argv[1]);
		return 1;
	}
	return 0;
}
