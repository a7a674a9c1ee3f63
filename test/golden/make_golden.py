#!/usr/bin/python3
"""
Golden outputs of torchaudio 0.13 for the spectrogram/mel/MFCC/dB core.

Run from anywhere with the Debian interpreter (python3-torch 1.13,
python3-torchaudio 0.13):  /usr/bin/python3 test/golden/make_golden.py
It rewrites waveforms.tsv and cases.tsv next to itself; the output is
deterministic (fixed seeds, single thread).

waveforms.tsv: name <TAB> sample_rate <TAB> waveform
    waveform is a PostgreSQL real[] literal of shape [channels][samples].
cases.tsv: case <TAB> waveform <TAB> transform <TAB> params_json <TAB> shape <TAB> values
    transform is spectrogram, mel_spectrogram, mfcc or amplitude_to_db;
    shape is an int[] literal {channels,rows,frames}; values is a real[]
    literal of that shape [channel][freq|mel|mfcc][time].
    params_json is exactly the keyword arguments given to the torchaudio
    constructor (absent keys take torchaudio's defaults; sample_rate is the
    waveform's and is not repeated):
      spectrogram      torchaudio.transforms.Spectrogram(**params)
      mel_spectrogram  torchaudio.transforms.MelSpectrogram(sample_rate, **params)
      mfcc             torchaudio.transforms.MFCC(sample_rate, **params), mel
                       options nested under "melkwargs" as torchaudio has them
      amplitude_to_db  torchaudio.transforms.AmplitudeToDB(**params) applied to
                       Spectrogram(**params["spectrogram"])(waveform); the
                       "spectrogram" key is not an AmplitudeToDB argument.
    The whole [channels][...][time] block is one item, as torchaudio sees a
    2-D waveform: AmplitudeToDB's top_db floor is max over all channels.

Floats are written in the shortest repr that round-trips through float32, so
PostgreSQL's real input and C's strtof read back the exact bits.

Comparison (shared by test/unit/test_stft.c and the SQL tests): for each
case let M = max |golden| over the whole case; every value must satisfy
    |ours - golden| <= 1e-4 * max(|golden|, tau * M)
with tau = 1e-2, except tau = 1e-1 for mfcc.  amplitude_to_db values are
first turned back into power, 10^(v/10) (stype power), or magnitude,
10^(v/20) (stype magnitude), and compared like spectrograms.
So: relative error 1e-4, except that values small next to the case's
largest one are held to an absolute 1e-4 * tau * M.  Why the floor: float32
FFT rounding is relative to a whole frame, not to each bin, so a bin 60 dB
below its frame's peak legitimately differs by much more than 1e-4 of itself
between two correct float32 implementations; taking dB makes that error
absolute and large for bins near the 1e-10 clamp, hence the comparison in
the linear domain; MFCC coefficients near zero are differences of large
terms, hence its larger floor.  The measure assumes power >= 1: a smaller
power raises rounding noise towards 1.  Running this script prints, per
case, torchaudio float32 against float64 under the same measure, the error
torchaudio itself makes.
"""
import json
import os

import numpy as np
import torch
import torchaudio

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))


def f32(x):
	return str(np.float32(x))


def pg_array(a):
	a = np.asarray(a, dtype=np.float32)
	if a.ndim == 1:
		return "{" + ",".join(f32(v) for v in a) + "}"
	return "{" + ",".join(pg_array(s) for s in a) + "}"


def waveforms():
	"""Tones, a chirp, seeded noise, a fade-in and stretches of digital
	silence (exact zeros: exercises exact-zero bins and the top_db floor)."""
	rng = np.random.default_rng(20240601)
	sr = 16000
	t = np.arange(8000) / sr
	x = (0.5 * np.sin(2 * np.pi * 440 * t)
		 + 0.2 * np.sin(2 * np.pi * 1250 * t + 0.3)
		 + 0.05 * np.sin(2 * np.pi * (200 * t + 5800 * t * t)))
	x += 0.01 * rng.standard_normal(t.size)
	x *= np.minimum(1.0, t / 0.05)
	x[5600:6400] = 0.0
	mono = x[np.newaxis, :]

	sr2 = 8000
	t = np.arange(3000) / sr2
	a = 0.3 * np.sin(2 * np.pi * 500 * t) + 0.1 * np.sin(2 * np.pi * 2000 * t)
	a += 0.02 * rng.standard_normal(t.size)
	b = 0.05 * np.sin(2 * np.pi * 300 * t) + 0.03 * np.sign(np.sin(2 * np.pi * 125 * t))
	b += 0.005 * rng.standard_normal(t.size)
	b[800:1300] = 0.0
	stereo = np.stack([a, b])
	return {
		"mono16k": (sr, mono.astype(np.float32)),
		"stereo8k": (sr2, stereo.astype(np.float32)),
	}


# (case, waveform, transform, params)
CASES = [
	("spec_n100", "mono16k", "spectrogram", {"n_fft": 100}),
	("spec_default", "stereo8k", "spectrogram", {}),
	("spec_n1024", "mono16k", "spectrogram", {"n_fft": 1024}),
	("spec_nocenter", "mono16k", "spectrogram", {"n_fft": 256, "hop_length": 100, "center": False}),
	("spec_power1", "stereo8k", "spectrogram", {"n_fft": 200, "power": 1.0}),
	("spec_power1_5", "stereo8k", "spectrogram", {"n_fft": 128, "power": 1.5}),
	("spec_normalized", "mono16k", "spectrogram", {"n_fft": 256, "hop_length": 160, "normalized": True}),
	("spec_win_length", "mono16k", "spectrogram", {"n_fft": 512, "win_length": 301}),
	("spec_hop", "mono16k", "spectrogram", {"n_fft": 400, "hop_length": 160}),
	("spec_odd_n_fft", "stereo8k", "spectrogram", {"n_fft": 255, "hop_length": 64}),
	("spec_constant", "stereo8k", "spectrogram", {"n_fft": 256, "pad_mode": "constant"}),
	("spec_replicate", "stereo8k", "spectrogram", {"n_fft": 256, "pad_mode": "replicate"}),
	("spec_nocenter_big_hop", "stereo8k", "spectrogram", {"n_fft": 64, "hop_length": 100, "center": False}),
	("mel_default", "mono16k", "mel_spectrogram", {}),
	("mel_htk", "mono16k", "mel_spectrogram", {"n_fft": 400, "hop_length": 160, "n_mels": 64}),
	("mel_slaney", "mono16k", "mel_spectrogram",
	 {"n_fft": 1024, "hop_length": 256, "n_mels": 80, "mel_scale": "slaney"}),
	("mel_slaney_norm", "stereo8k", "mel_spectrogram",
	 {"n_fft": 512, "hop_length": 128, "n_mels": 40, "f_min": 50.0, "f_max": 3500.0,
	  "mel_scale": "slaney", "norm": "slaney"}),
	("mel_power1", "stereo8k", "mel_spectrogram", {"n_fft": 256, "n_mels": 32, "power": 1.0}),
	("mfcc_default", "mono16k", "mfcc", {}),
	("mfcc_stereo", "stereo8k", "mfcc", {"n_mfcc": 13, "melkwargs": {"n_fft": 256, "n_mels": 40}}),
	("mfcc_log_mels", "stereo8k", "mfcc",
	 {"n_mfcc": 20, "log_mels": True, "melkwargs": {"n_fft": 256, "hop_length": 128, "n_mels": 40}}),
	("mfcc_no_norm", "mono16k", "mfcc",
	 {"n_mfcc": 30, "norm": None, "melkwargs": {"n_fft": 512, "hop_length": 256, "n_mels": 60, "mel_scale": "slaney"}}),
	("db_power", "mono16k", "amplitude_to_db", {"stype": "power", "top_db": None, "spectrogram": {"n_fft": 256}}),
	("db_power_top80", "stereo8k", "amplitude_to_db", {"stype": "power", "top_db": 80.0, "spectrogram": {"n_fft": 256}}),
	("db_magnitude_top60", "mono16k", "amplitude_to_db",
	 {"stype": "magnitude", "top_db": 60.0, "spectrogram": {"n_fft": 256, "hop_length": 200, "power": 1.0}}),
]




def run(transform, sr, wave, params, dtype=torch.float32):
	x = torch.from_numpy(wave).to(dtype)
	if transform == "spectrogram":
		t = torchaudio.transforms.Spectrogram(**params)
	elif transform == "mel_spectrogram":
		t = torchaudio.transforms.MelSpectrogram(sample_rate=sr, **params)
	elif transform == "mfcc":
		t = torchaudio.transforms.MFCC(sample_rate=sr, **params)
	elif transform == "amplitude_to_db":
		args = dict(params)
		spec = torchaudio.transforms.Spectrogram(**args.pop("spectrogram")).to(dtype)(x)
		return torchaudio.transforms.AmplitudeToDB(**args)(spec)
	else:
		raise ValueError(transform)
	return t.to(dtype)(x)


def scaled_error(ours, golden, transform, params):
	"""The comparison measure of the header (ok when <= 1e-4)."""
	if transform == "amplitude_to_db":
		mult = 20.0 if params.get("stype") == "magnitude" else 10.0
		ours, golden = 10.0 ** (ours / mult), 10.0 ** (golden / mult)
	tau = 1e-1 if transform == "mfcc" else 1e-2
	m = np.abs(golden).max()
	return (np.abs(ours - golden) / np.maximum(np.abs(golden), tau * m)).max()


def main():
	waves = waveforms()
	with open(os.path.join(HERE, "waveforms.tsv"), "w") as f:
		for name, (sr, w) in waves.items():
			f.write("%s\t%d\t%s\n" % (name, sr, pg_array(w)))
	with open(os.path.join(HERE, "cases.tsv"), "w") as f:
		for case, wname, transform, params in CASES:
			sr, w = waves[wname]
			y = run(transform, sr, w, params).numpy()
			assert y.ndim == 3 and np.all(np.isfinite(y)), case
			y64 = run(transform, sr, w, params, torch.float64).numpy()
			print("%-22s torchaudio float32 vs float64: %.2g" % (
				case, scaled_error(y.astype(np.float64), y64, transform, params)))
			f.write("%s\t%s\t%s\t%s\t{%s}\t%s\n" % (
				case, wname, transform, json.dumps(params, sort_keys=True),
				",".join(str(d) for d in y.shape), pg_array(y)))


if __name__ == "__main__":
	main()
