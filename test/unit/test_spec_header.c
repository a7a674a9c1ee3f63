/*
 * The spectrogram header's meaning without a server: validation, the fields
 * each kind uses, comparison, names, and the round trip header -> transform
 * parameters -> header.  Expected values are torchaudio's defaults and the
 * format's documented rules (README, "Types").
 */
#include <math.h>
#include <string.h>

#include "spec_header.h"
#include "tap.h"

/* A header as ttsp_spectrogram(n_fft => n_fft) at 16 kHz writes it. */
static ttsp_spec_header
linear_header(int n_fft, int frames)
{
	ttsp_features fs;
	ttsp_spec_header h;

	memset(&fs, 0, sizeof(fs));
	ttsp_stft_params_init(&fs.stft);
	fs.kind = TTSP_KIND_LINEAR;
	fs.stft.n_fft = n_fft;
	fs.top_db = NAN;
	ttsp_stft_params_check(&fs.stft, NULL);
	ttsp_spec_header_init(&h, 1, ttsp_features_bins(&fs), frames);
	ttsp_spec_header_describe(&h, &fs, 16000);
	return h;
}

static ttsp_features
mel_features(bool mfcc)
{
	ttsp_features fs;

	memset(&fs, 0, sizeof(fs));
	ttsp_stft_params_init(&fs.stft);
	ttsp_stft_params_check(&fs.stft, NULL);
	fs.kind = mfcc ? TTSP_KIND_MFCC : TTSP_KIND_MEL;
	fs.n_mels = 64;
	fs.f_min = 20;
	fs.f_max = NAN;
	fs.top_db = NAN;
	fs.mel_scale = TTSP_MEL_SLANEY;
	fs.mel_norm = TTSP_MEL_NORM_SLANEY;
	ttsp_mfcc_params_init(&fs.mfcc);
	fs.mfcc.n_mfcc = 13;
	return fs;
}

static void
test_describe(void)
{
	ttsp_spec_header h = linear_header(400, 10);
	ttsp_features fs = mel_features(true);
	ttsp_features back;
	ttsp_error	err;

	ok(h.version == TTSP_SPEC_VERSION && h.kind == TTSP_KIND_LINEAR && h.bins == 201 &&
	   h.win_length == 400 && h.hop_length == 200 && h.power == 2.0f &&
	   h.flags == TTSP_SPEC_CENTER && h.pad_mode == TTSP_PAD_REFLECT,
	   "linear header: torchaudio's defaults (win 400, hop 200, power 2, centred, reflect)");
	ok(isnan(h.f_min) && isnan(h.f_max) && h.n_mels == 0 && isnan(h.top_db),
	   "linear header: mel, MFCC and dB fields unused");
	ok(ttsp_spec_validate(&h, 201 * 10 * sizeof(float), &err) == TTSP_OK, "linear header validates");
	ok(strcmp(ttsp_spec_kind_name(&h), "power") == 0, "kind name power");

	ttsp_spec_header_init(&h, 2, 13, 5);
	ttsp_spec_header_describe(&h, &fs, 22050);
	ok(h.kind == TTSP_KIND_MFCC && h.n_mels == 64 && h.f_min == 20.0f && h.f_max == 11025.0f &&
	   h.top_db == 80.0f &&
	   h.flags == (TTSP_SPEC_CENTER | TTSP_SPEC_MEL_SLANEY | TTSP_SPEC_NORM_SLANEY | TTSP_SPEC_DCT_ORTHO),
	   "MFCC header: f_max = rate // 2, MFCC's own top_db 80, slaney flags, DCT norm ortho (torchaudio's default)");
	ok(ttsp_spec_validate(&h, 2 * 13 * 5 * sizeof(float), &err) == TTSP_OK, "MFCC header validates");
	ttsp_features_from_header(&h, &back);
	ok(back.kind == TTSP_KIND_MFCC && back.n_mels == 64 && back.mfcc.n_mfcc == 13 &&
	   back.mel_scale == TTSP_MEL_SLANEY && back.mel_norm == TTSP_MEL_NORM_SLANEY &&
	   back.mfcc.norm == TTSP_DCT_NORM_ORTHO && !back.mfcc.log_mels && !back.db &&
	   back.stft.n_fft == 400 && back.stft.hop_length == 200 && back.stft.center,
	   "header -> features gives back the transform");
	{
		ttsp_spec_header again;

		ttsp_spec_header_init(&again, 2, 13, 5);
		ttsp_stft_params_check(&back.stft, NULL);
		ttsp_spec_header_describe(&again, &back, 22050);
		ok(memcmp(&again, &h, sizeof(h)) == 0, "features -> header -> features -> header is the same bits");
	}
}

static void
test_validate(void)
{
	ttsp_spec_header good = linear_header(64, 3);
	ttsp_spec_header h;
	size_t		bytes = 33 * 3 * sizeof(float);
	ttsp_error	err;

	/* the data always matches the shape, but for the one test of that */
#define BAD(field_change, what) \
	do { h = good; field_change; \
		bytes = strstr(what, "bytes") ? 33 * 3 * sizeof(float) : \
			(size_t) h.channels * h.bins * h.frames * sizeof(float); \
		ok(ttsp_spec_validate(&h, bytes, &err) == TTSP_EINVAL && strstr(err.msg, what) != NULL, \
		   "invalid: %s (%s)", what, err.msg); } while (0)

	BAD(h.version = 2, "format version 2");
	BAD(h.kind = 3, "unknown kind 3");
	BAD(h.flags = 0x80, "unknown flags");
	BAD(h.pad_mode = 4, "unknown pad_mode 4");
	BAD(h.frames = 0, "empty dimension");
	BAD(h.frames = 4, "does not match its 396 bytes");
	BAD(h.sample_rate = 0, "sample_rate must be positive");
	BAD(h.win_length = 65, "win_length <= n_fft");
	BAD(h.hop_length = 0, "hop_length must be positive");
	BAD(h.power = INFINITY, "power must be positive");
	BAD(h.bins = 32, "has 33 bins, not 32");
	BAD(h.top_db = -1, "top_db must be");
	BAD(h.flags |= TTSP_SPEC_LOG_MELS, "apply to MFCC only");
#undef BAD
	h = good;
	bytes = 33 * 3 * sizeof(float);
	h.pad_mode = TTSP_PAD_CIRCULAR;
	ok(ttsp_spec_validate(&h, bytes, &err) == TTSP_OK, "a circular pad mode is a valid header ...");
	{
		ttsp_features fs;

		ttsp_features_from_header(&h, &fs);
		ok(ttsp_stft_params_check(&fs.stft, &err) == TTSP_EUNSUPPORTED,
		   "... whose transform is not supported (%s)", err.msg);
	}
	/* (2^30 - 1 - 65536) / 16 = 67,104,767 values: 16 bytes each and 8 of brackets fit in 1 GB - 64 kB */
	ok(TTSP_SPEC_MAX_VALUES == 67104767, "at most 67,104,767 values (the README's figure)");
	ok(ttsp_spec_shape_values(1, 1, 1) == 1 && ttsp_spec_shape_values(0, 1, 1) == 0 &&
	   ttsp_spec_shape_values(1, 1, 67104767) == 67104767 && ttsp_spec_shape_values(1, 1, 67104768) == 0,
	   "shape limit: empty shapes and one value too many hold nothing");
	ok(ttsp_spec_shape_values(1, 16777216, 4) == 0 && ttsp_spec_shape_values(65536, 65536, 65536) == 0,
	   "shape limit: 67,108,864 values, and 2^48, are refused");
	{
		float		v[3] = {1, NAN, 2};

		ok(ttsp_spec_check_values(v, 3, &err) == TTSP_EINVAL && strstr(err.msg, "value 2 is NaN"),
		   "a NaN value is named by its position (%s)", err.msg);
	}
}

static void
test_unused_and_same(void)
{
	ttsp_spec_header h = linear_header(64, 3);
	ttsp_spec_header o;
	ttsp_feature_kind k;
	float		power;

	h.f_min = 5;
	ok(ttsp_spec_unused_field(&h) != NULL && strcmp(ttsp_spec_unused_field(&h), "f_min") == 0,
	   "f_min does not apply to a linear spectrogram");
	ttsp_spec_clear_unused(&h);
	ok(ttsp_spec_unused_field(&h) == NULL && isnan(h.f_min), "cleared, nothing is left unused");
	h.top_db = 80;
	ok(strcmp(ttsp_spec_unused_field(&h), "top_db") == 0, "top_db does not apply without dB");
	h.flags |= TTSP_SPEC_DB;
	ok(ttsp_spec_unused_field(&h) == NULL, "top_db applies with dB");

	h = linear_header(64, 3);
	o = linear_header(64, 900);
	ok(ttsp_spec_same_features(&h, &o), "same features whatever the frame count");
	o.hop_length = 16;
	ok(!ttsp_spec_same_features(&h, &o), "another hop_length differs");
	o = h;
	o.flags |= TTSP_SPEC_DB;
	o.top_db = 80;
	ok(!ttsp_spec_same_features(&h, &o), "dB differs from linear");
	h = o;
	h.top_db = NAN;
	ok(!ttsp_spec_same_features(&h, &o), "dB without top_db differs from dB with top_db 80");
	o.top_db = NAN;
	ok(ttsp_spec_same_features(&h, &o), "dB without top_db on both sides is the same (NaN == NaN here)");

	ok(ttsp_spec_kind_from_name("magnitude", &k, &power, NULL) == TTSP_OK && k == TTSP_KIND_LINEAR &&
	   power == 1.0f, "kind name magnitude: linear, power 1");
	ok(ttsp_spec_kind_from_name("mfcc", &k, &power, NULL) == TTSP_OK && k == TTSP_KIND_MFCC &&
	   power == 2.0f, "kind name mfcc");
	ok(ttsp_spec_kind_from_name("chroma", &k, &power, NULL) == TTSP_EINVAL, "unknown kind name");
	h = linear_header(64, 3);
	h.power = 1;
	ok(strcmp(ttsp_spec_kind_name(&h), "magnitude") == 0, "power 1 is named magnitude");
}

static void
test_names(void)
{
	ttsp_pad_mode pm;
	int			i;
	bool		round_trip = true;

	for (i = 0; i < TTSP_PAD_MODES; i++)
		round_trip &= ttsp_pad_mode_lookup(ttsp_pad_mode_name((ttsp_pad_mode) i), &pm) && (int) pm == i;
	ok(round_trip, "pad mode names round-trip through the one table");
	ok(!ttsp_pad_mode_lookup("wrap", &pm), "unknown pad mode name");
	ok(strcmp(ttsp_mel_scale_name(TTSP_MEL_SLANEY), "slaney") == 0 &&
	   strcmp(ttsp_mel_scale_name(TTSP_MEL_HTK), "htk") == 0, "mel scale names");
}

int
main(void)
{
	test_describe();
	test_validate();
	test_unused_and_same();
	test_names();
	return done_testing();
}
