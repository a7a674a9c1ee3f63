/*
 * Short-time Fourier transform matching torchaudio 0.13's Spectrogram
 * (torch.stft with a periodic Hann window, onesided, |X|^power).
 * No postgres.h.
 *
 * Streaming: create, push samples in chunks of any size, finish, destroy.
 * Frames are transformed in pairs (for power < 1, one at a time), so a
 * frame appears in the pending buffer once its input and the next frame's
 * are complete (the last one at finish); read them with ttsp_stft_frames
 * and drop them with ttsp_stft_clear.
 * Apart from pending frames the object holds O(n_fft) floats of input
 * (the unfinished frame plus the edges needed for padding), never the
 * whole signal.  Output is bit-identical however the input is chunked.
 *
 * After any error return the object may only be destroyed.  Destroy is
 * safe on NULL; create leaves *out NULL when it fails.
 *
 * FFTW plans (complex: one transform per pair of frames, or per frame for
 * power < 1) are cached per n_fft in a static table, made from imported
 * wisdom or else with FFTW_ESTIMATE: never timed, so deterministic.  FFTW
 * planning is not thread safe: this code assumes a single-threaded caller
 * (a PostgreSQL backend).
 *
 * Accuracy against torchaudio (test/golden/make_golden.py, test_stft.c and
 * the SQL tests use this one definition): with M = max |golden| over one
 * output block, each value must satisfy
 *     |ours - golden| <= 1e-4 * max(|golden|, tau * M),
 * tau = 1e-2, except 1e-1 for MFCC; dB values are first turned back into
 * power (10^(dB/10)) or magnitude (10^(dB/20)).  The floor exists because
 * float32 FFT rounding is relative to the whole transform, not to each
 * small bin: bins far below the peak carry noise that a log would blow up.
 * A transform holds two frames, so that noise follows the louder of the
 * pair: digital silence beside full-scale noise comes out about 147 dB
 * below it (test_stft), not 0.  For power < 1, which would lift that noise
 * (to 2.7e-4 of the peak at power 0.5), frames are transformed alone.
 */
#ifndef TTSP_STFT_H
#define TTSP_STFT_H

#include <stdbool.h>
#include <stddef.h>

#include "ttsp_status.h"

#define TTSP_MAX_N_FFT 65536

/* win_length / hop_length value meaning "torchaudio's default". */
#define TTSP_STFT_DEFAULT (-1)

/*
 * Padding of the signal edges when center is true (torch.nn.functional.pad).
 * The values are the spectrogram format's pad_mode byte.
 */
typedef enum ttsp_pad_mode
{
	TTSP_PAD_REFLECT = 0,		/* needs more than n_fft/2 samples */
	TTSP_PAD_CONSTANT = 1,		/* zeros */
	TTSP_PAD_REPLICATE = 2,		/* repeat the edge sample */
	TTSP_PAD_CIRCULAR = 3		/* torch's, named but not supported */
} ttsp_pad_mode;

#define TTSP_PAD_MODES 4

typedef struct ttsp_stft_params
{
	int			n_fft;
	int			win_length;		/* TTSP_STFT_DEFAULT: n_fft */
	int			hop_length;		/* TTSP_STFT_DEFAULT: win_length / 2 */
	double		power;			/* > 0: output |X|^power */
	bool		center;
	ttsp_pad_mode pad_mode;
	bool		normalized;		/* divide X by sqrt(sum(window^2)) */
} ttsp_stft_params;

typedef struct ttsp_stft ttsp_stft;

/* torchaudio.transforms.Spectrogram() defaults (n_fft 400, power 2, ...). */
void		ttsp_stft_params_init(ttsp_stft_params *p);

/* "reflect", "constant" or "replicate"; "circular" is unsupported, anything else an error. */
ttsp_status ttsp_pad_mode_from_name(const char *name, ttsp_pad_mode *mode,
									ttsp_error *err);

/* Any of the four names, circular included (a stored header may name it). */
bool		ttsp_pad_mode_lookup(const char *name, ttsp_pad_mode *mode);

/* The name of a mode below TTSP_PAD_MODES. */
const char *ttsp_pad_mode_name(ttsp_pad_mode mode);

/*
 * Validate p and replace TTSP_STFT_DEFAULT by the actual values.  An
 * explicit 0 (or any other non-positive value) is an error, as is a
 * default hop that comes out 0 (win_length 1).
 */
ttsp_status ttsp_stft_params_check(ttsp_stft_params *p, ttsp_error *err);

/* Frequency bins per frame: n_fft / 2 + 1.  p must have been checked. */
int			ttsp_stft_n_bins(const ttsp_stft_params *p);

/*
 * Frames produced from n_samples samples, or the error finish would give
 * for that length (empty input, too short for reflect padding, shorter
 * than n_fft without centring).  p must have been checked.
 */
ttsp_status ttsp_stft_n_frames(const ttsp_stft_params *p, size_t n_samples,
							   size_t *n_frames, ttsp_error *err);

/* p is checked (defaults filled in a copy); *out is NULL on failure. */
ttsp_status ttsp_stft_create(const ttsp_stft_params *p, ttsp_stft **out,
							 ttsp_error *err);

/* Feed samples; NaN or infinite samples are an error (nothing is consumed). */
ttsp_status ttsp_stft_push(ttsp_stft *s, const float *x, size_t n,
						   ttsp_error *err);

/* End of input: pad the end and emit the last frames. */
ttsp_status ttsp_stft_finish(ttsp_stft *s, ttsp_error *err);

/*
 * Pending frames, frame-major: frame t's bins are at
 * result[t * n_bins .. t * n_bins + n_bins - 1].  Valid until the next
 * push, finish, clear or destroy.
 */
const float *ttsp_stft_frames(const ttsp_stft *s, size_t *n_frames);

/* Forget the pending frames (the buffer is kept for reuse). */
void		ttsp_stft_clear(ttsp_stft *s);

/* Frames emitted so far, including cleared ones. */
size_t		ttsp_stft_frames_done(const ttsp_stft *s);

void		ttsp_stft_destroy(ttsp_stft *s);

/*
 * Scatter frame-major rows into a row-major [n_rows][n_cols] block as
 * columns col0 .. col0 + n_frames - 1 (the [freq][time] output layout).
 */
void		ttsp_frames_to_columns(const float *frames, size_t n_frames,
								   int n_rows, float *out, size_t n_cols,
								   size_t col0);

/*
 * FFTW plans: by default FFTW_ESTIMATE.  Wisdom imported from a file (made
 * by src/tools/fftw_wisdom at build time with FFTW_PATIENT) supplies faster
 * plans for its sizes; import it before the first STFT, as plans are cached
 * for the process lifetime.  False if the file cannot be read.
 */
bool		ttsp_stft_import_wisdom(const char *path);

/* Whether imported wisdom has a plan for n_fft. */
bool		ttsp_stft_wisdom_covers(int n_fft);

/*
 * Samples to push at a time when a whole channel is at hand: up to 128 hops,
 * fewer for large n_fft, so that the pending frames (under 128 kB unless
 * n_fft spans many hops) stay in cache and below malloc's mmap threshold (a
 * fresh mapping page-faults).
 */
size_t		ttsp_stft_batch_samples(const ttsp_stft_params *p);

/*
 * Run an STFT over a whole channel, handing the frames to fn in batches
 * (first is the index of the batch's first frame); keeps only a batch of
 * frames in memory.  fn returns TTSP_OK or an error that stops the run.
 */
typedef ttsp_status (*ttsp_frames_fn) (void *arg, const float *frames,
									   size_t n_frames, size_t first,
									   ttsp_error *err);

ttsp_status ttsp_stft_run(const ttsp_stft_params *p, const float *x, size_t n,
						  ttsp_frames_fn fn, void *arg, ttsp_error *err);

/*
 * One-shot spectrogram of one channel into out, [n_bins][n_frames] with
 * n_frames from ttsp_stft_n_frames: the unit tests' straightforward path
 * (the SQL functions stream through ttsp_stft_push instead).
 */
ttsp_status ttsp_stft_oneshot(const ttsp_stft_params *p, const float *x,
							  size_t n, float *out, ttsp_error *err);

#endif
