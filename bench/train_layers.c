/*
 * bench/train's per-layer table: each block's convolution at batch 32 by
 * ttsp's direct kernels (the kernel set the CPU picks, or TTSP_CNN_ISA)
 * against im2col + OpenBLAS SGEMM (col2im for the input gradient) and SGEMM
 * alone, at the same thread count.  GFLOP/s = 2 C_out C_in 25 H_out W_out
 * per sample over the best of REPS timed repetitions (after one warm-up), in
 * CPU time at one thread, else wall time.
 * The GEMM side works per sample on one input that stays in cache, which
 * favours it.  Usage: layers THREADS [BATCH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "cnn_internal.h"

/* One thread: CPU time, which other processes on a shared machine cannot inflate as they inflate
 * wall time.  More: wall time, since a helper thread that waits for a CPU is not charged for it. */
static int nthreads = 1;
static double now(void) { struct timespec t; clock_gettime(nthreads == 1 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define REPS 5
#define BEST(var, stmt) do { var = 1e30; for (int r_ = 0; r_ <= REPS; r_++) { double t_ = now(); stmt; t_ = now() - t_; if (r_ && t_ < var) var = t_; } } while (0)

static void im2col(const float *x, int cin, int h, int w, int ho, int wo, float *col)
{
	for (int c = 0; c < cin; c++)
		for (int ky = 0; ky < 5; ky++)
			for (int kx = 0; kx < 5; kx++)
			{
				float *d = col + ((size_t) (c * 25 + ky * 5 + kx)) * ho * wo;
				for (int oy = 0; oy < ho; oy++)
				{
					int iy = oy * 2 - 2 + ky;
					for (int ox = 0; ox < wo; ox++)
					{
						int ix = ox * 2 - 2 + kx;
						d[oy * wo + ox] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((size_t) c * h + iy) * w + ix] : 0.0f;
					}
				}
			}
}

static void col2im(const float *col, int cin, int h, int w, int ho, int wo, float *x)
{
	memset(x, 0, sizeof(float) * cin * h * w);
	for (int c = 0; c < cin; c++)
		for (int ky = 0; ky < 5; ky++)
			for (int kx = 0; kx < 5; kx++)
			{
				const float *d = col + ((size_t) (c * 25 + ky * 5 + kx)) * ho * wo;
				for (int oy = 0; oy < ho; oy++)
				{
					int iy = oy * 2 - 2 + ky;
					if (iy < 0 || iy >= h) continue;
					for (int ox = 0; ox < wo; ox++)
					{
						int ix = ox * 2 - 2 + kx;
						if (ix >= 0 && ix < w) x[((size_t) c * h + iy) * w + ix] += d[oy * wo + ox];
					}
				}
			}
}

int main(int argc, char **argv)
{
	int threads = atoi(argv[1]), B = argc > 2 ? atoi(argv[2]) : 32, h = 201, w = 552;
	nthreads = threads;
	ttsp_cnn_config cfg = ttsp_cnn_default_config(1, h, w, TTSP_TASK_CLASSIFICATION);
	ttsp_error err;
	ttsp_cnn *net;
	size_t n = (size_t) B * h * w;
	float *x = malloc(n * sizeof(float)), out[64], y[64], d[64];
	double loss;
	openblas_set_num_threads(threads);
	if ((net = ttsp_cnn_create(&cfg, 12, &err)) == NULL || ttsp_cnn_set_threads(net, threads, &err) != TTSP_OK)
	{
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	srand(12);
	for (size_t i = 0; i < n; i++) x[i] = (float) rand() / RAND_MAX * 2 - 1;
	for (int i = 0; i < B; i++) y[i] = i % 2;
	ttsp_cnn_forward(net, x, B, true, out, &err);
	ttsp_loss(TTSP_LOSS_BCE, TTSP_TASK_CLASSIFICATION, out, y, B, &loss, d, &err);
	ttsp_cnn_backward(net, d, NULL, &err);
	ttsp_cnn_forward(net, x, B, true, out, &err);
	printf("kernel set %s, %d thread(s), batch %d, OpenBLAS %s (GFLOP/s; dx = the input gradient, "
		   "timed alone; training skips block 1's)\n", cnn_isa_name(), threads, B, openblas_get_corename());
	printf("%-22s %-26s | %-26s | %-26s\n", "", "direct kernels", "im2col + SGEMM", "SGEMM alone");
	printf("%-22s %8s %8s %8s | %8s %8s %8s | %8s %8s %8s\n", "block cin>cout HoxWo", "fwd", "dw", "dx", "fwd", "dw", "dx", "fwd", "dw", "dx");
	for (int l = 0; l < 4; l++)
	{
		cnn_block *blk = &net->blocks[l], *prev = l ? &net->blocks[l - 1] : NULL;
		double fl = 2.0 * blk->cout * blk->cin * 25 * blk->hout * blk->wout * B, tf, tw, tb, gf, gw, gx;
		int K = blk->cin * 25, N = blk->hout * blk->wout;
		float *xin = calloc((size_t) blk->cin * blk->hin * blk->win, sizeof(float));
		float *col = malloc(sizeof(float) * K * N), *o = malloc(sizeof(float) * blk->cout * N), *dwv = calloc((size_t) blk->cout * K, sizeof(float));
		for (size_t i = 0; i < (size_t) blk->cin * blk->hin * blk->win; i++) xin[i] = (float) (i % 13) * 0.1f;
		for (size_t i = 0; i < (size_t) blk->cout * N; i++) o[i] = (float) (i % 7) * 0.1f;
		BEST(tf, cnn_conv_forward(blk, prev, B, true, net->bn_sums, threads));
		BEST(tw, cnn_conv_backward(blk, prev, net->dz, B, true, NULL, net->dxq, net->dw_scratch, net->bn_sums, threads));
		BEST(tb, cnn_conv_backward(blk, prev, net->dz, B, false, prev ? net->dy : x, net->dxq, net->dw_scratch, net->bn_sums, threads));
		/* GEMM paths, per sample (the same input each time: an optimistic cache) */
		BEST(gf, for (int s = 0; s < B; s++) { im2col(xin, blk->cin, blk->hin, blk->win, blk->hout, blk->wout, col);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blk->cout, N, K, 1, blk->w, K, col, N, 0, o, N); });
		BEST(gw, for (int s = 0; s < B; s++) { im2col(xin, blk->cin, blk->hin, blk->win, blk->hout, blk->wout, col);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blk->cout, K, N, 1, o, N, col, N, 1, dwv, K); });
		BEST(gx, for (int s = 0; s < B; s++) { cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, blk->cout, 1, blk->w, K, o, N, 0, col, N);
			col2im(col, blk->cin, blk->hin, blk->win, blk->hout, blk->wout, xin); });
		double go, gwo, gxo;
		BEST(go, for (int s = 0; s < B; s++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blk->cout, N, K, 1, blk->w, K, col, N, 0, o, N));
		BEST(gwo, for (int s = 0; s < B; s++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blk->cout, K, N, 1, o, N, col, N, 1, dwv, K));
		BEST(gxo, for (int s = 0; s < B; s++) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, blk->cout, 1, blk->w, K, o, N, 0, col, N));
		char name[64];
		snprintf(name, sizeof name, "%d %d>%d %dx%d", l + 1, blk->cin, blk->cout, blk->hout, blk->wout);
		printf("%-22s %8.1f %8.1f %8.1f | %8.1f %8.1f %8.1f | %8.1f %8.1f %8.1f\n", name, fl / tf / 1e9, fl / tw / 1e9, l ? fl / tb / 1e9 : 0.0,
			   fl / gf / 1e9, fl / gw / 1e9, fl / gx / 1e9, fl / go / 1e9, fl / gwo / 1e9, fl / gxo / 1e9);
		free(xin); free(col); free(o); free(dwv);
	}
	return 0;
}
