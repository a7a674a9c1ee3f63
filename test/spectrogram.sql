-- The spectrogram type (text and binary I/O, accessors, casts, slicing) and
-- the feature functions' sources, streaming and bad input.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(78);

CREATE TEMP TABLE specs AS
SELECT 'power'::text AS name, ttsp_spectrogram(d.waveform, d.sample_rate, n_fft => 100) AS s
FROM ttsp_load_mp3(pg_temp.fixture('noise_stereo_44k.mp3')) d
UNION ALL
SELECT 'mel_db', ttsp_amplitude_to_db(ttsp_mel_spectrogram(pg_temp.fixture('tone_mono_22k.mp3'),
	n_fft => 512, n_mels => 40, mel_scale => 'slaney', norm => 'slaney'), top_db => 80)
UNION ALL
SELECT 'mfcc', ttsp_mfcc(pg_temp.fixture('tone_mono_22k.mp3'), n_mfcc => 13, log_mels => true)
UNION ALL
SELECT 'magnitude', ttsp_spectrogram(pg_temp.fixture('short_0.1s.mp3'), n_fft => 64, power => 1,
	center => false, normalized => true);

-- Text I/O round-trips every bit, and so does COPY BINARY.
SELECT ok(s::text::spectrogram::text = s::text AND spectrogram_send(s::text::spectrogram) = spectrogram_send(s),
	name || ': text output reads back exactly, to the bit') FROM specs ORDER BY name;
\getenv abs_builddir PG_ABS_BUILDDIR
\set bin_file :abs_builddir '/results/spectrograms.bin'
\set copy_out '\\copy specs TO ' :'bin_file' ' WITH (FORMAT binary)'
\set copy_in '\\copy specs_back FROM ' :'bin_file' ' WITH (FORMAT binary)'
CREATE TEMP TABLE specs_back (LIKE specs);
:copy_out
:copy_in
SELECT is((SELECT count(*) FROM specs s JOIN specs_back b USING (name) WHERE s.s::text = b.s::text), 4::bigint,
	'COPY BINARY round-trips all four');

-- Accessors.
SELECT is((ttsp_channels(s), ttsp_bins(s), ttsp_frames(s), ttsp_sample_rate(s)), (2, 51, 883, 44100),
	'power: 2 channels x 51 bins x 1 + 44100/50 frames at 44.1 kHz') FROM specs WHERE name = 'power';
SELECT is(ttsp_duration(s), 883 * 50 / 44100.0::float8, 'duration is frames x hop / rate') FROM specs WHERE name = 'power';
SELECT is(array_agg(ttsp_kind(s) ORDER BY name), ARRAY['magnitude', 'mel_db', 'mfcc', 'power'], 'kinds') FROM specs;
SELECT is(ttsp_params(s) - 'shape', '{"version": 1, "kind": "mel", "db": true, "sample_rate": 22050, "n_fft": 512,
	"win_length": 512, "hop_length": 256, "power": 2, "center": true, "pad_mode": "reflect", "normalized": false,
	"f_min": 0, "f_max": 11025, "mel_scale": "slaney", "norm": "slaney", "n_mels": null, "dct_norm": null,
	"log_mels": false, "top_db": 80}'::jsonb, 'ttsp_params describes a mel_db spectrogram') FROM specs WHERE name = 'mel_db';
SELECT is((ttsp_params(s)->>'n_mels', ttsp_params(s)->>'dct_norm', ttsp_bins(s)), ('128'::text, 'ortho'::text, 13),
	'ttsp_params describes an MFCC') FROM specs WHERE name = 'mfcc';
SELECT is(array_dims(s::real[]), '[1:2][1:51][1:883]', 'cast to real[] is [channel][bin][frame]') FROM specs WHERE name = 'power';

-- Constructor from real[].
SELECT is(ttsp_make_spectrogram(s::real[], 'power', 44100, 100)::text, s::text,
	'ttsp_make_spectrogram rebuilds a power spectrogram from its values') FROM specs WHERE name = 'power';
SELECT is(ttsp_make_spectrogram(s::real[], 'mel', 8001, 256)::text, s::text,
	'and a mel one at an odd rate (f_max as ttsp_mel_spectrogram takes it)')
FROM (SELECT ttsp_mel_spectrogram(array_agg(sin(i * 0.3)::real), 8001, n_fft => 256, n_mels => 32) AS s
	FROM generate_series(1, 4000) i) m;
SELECT is(ttsp_make_spectrogram('{{1,2},{3,4},{5,6}}', 'magnitude', 8000, 4, hop_length => 1)::real[],
	'{{{1,2},{3,4},{5,6}}}'::real[], 'a 2-D array is one channel');
SELECT throws_ok($$ SELECT ttsp_make_spectrogram('{{1,2},{3,4}}', 'power', 8000, 4) $$, '22023',
	'invalid spectrogram: a power spectrogram with n_fft 4 has 3 bins, not 2', 'bins must match n_fft');
SELECT throws_ok($$ SELECT ttsp_make_spectrogram('{{1,NaN},{3,4},{5,6}}', 'power', 8000, 4) $$, '22023',
	'invalid spectrogram: value 2 is NaN; values must be finite', 'NaN values are refused');
SELECT throws_ok($$ SELECT ttsp_make_spectrogram('{1,2,3}', 'power', 8000, 4) $$, '2202E',
	'spectrogram data must be a 2-D [bin][frame] or 3-D [channel][bin][frame] array, got 1 dimensions', '1-D data');
SELECT throws_ok($$ SELECT ttsp_make_spectrogram('{{1,2},{3,4},{5,6}}', 'chroma', 8000, 4) $$, '22023',
	'unknown spectrogram kind "chroma"', 'unknown kind');

-- Slicing by time.
SELECT is(ttsp_frames(ttsp_slice(s, 0.5, 0.5)), 441, 'a 0.5 s slice has 0.5 x 44100 / 50 frames') FROM specs WHERE name = 'power';
SELECT ok((ttsp_slice(s, 0.5, 0.5)::real[]) = (s::real[])[1:2][1:51][442:882],
	'the slice holds the frames from 0.5 s') FROM specs WHERE name = 'power';
SELECT ok((ttsp_slice(s, 0.9, 1)::real[])[2:2][51:51][100:882] = array_fill(0::real, ARRAY[1, 1, 783]),
	'frames past the end are zero for power') FROM specs WHERE name = 'power';
SELECT throws_ok($$ SELECT ttsp_slice(s, 5, 1) FROM specs WHERE name = 'power' $$, '22023',
	'start_s 5 is past the last frame of the spectrogram', 'a slice past the end');

-- Streaming from bytea gives exactly what the decoded waveform gives.
SELECT is(ttsp_spectrogram(pg_temp.fixture('noise_stereo_44k.mp3'), n_fft => 100)::text, s::text,
	'bytea form: packet-by-packet STFT = STFT of the decoded waveform') FROM specs WHERE name = 'power';
SELECT is(ttsp_mel_spectrogram(pg_temp.fixture('chirp_stereo_48k_vbr.mp3'), sample_rate => 16000, mono => true)::text,
	ttsp_mel_spectrogram(d.waveform, 16000)::text, 'mel, resampled and mono: streaming = whole waveform')
FROM ttsp_load_mp3(pg_temp.fixture('chirp_stereo_48k_vbr.mp3'), sample_rate => 16000, mono => true) d;
SELECT is(ttsp_mfcc(pg_temp.fixture('tone_mono_22k.mp3'), n_mfcc => 13, log_mels => true)::text, s::text,
	'mfcc: streaming = whole waveform') FROM specs WHERE name = 'mfcc';
\set audio_dir :fixtures 'audio'
SET ttsp.audio_dir = :'audio_dir';
SELECT is(ttsp_spectrogram(6790057285814061057)::text, ttsp_spectrogram(pg_temp.fixture('tone_mono_22k.mp3'), n_fft => 100)::text,
	'music_id form: the seed''s create_spectrogram(music_id, n_fft=100)');

-- Pictures (layout in test/plots.sql): a PNG 950 pixels wide, 54 + 172 per channel tall for more than one.
CREATE FUNCTION pg_temp.be32(b bytea, at int) RETURNS int LANGUAGE sql AS
	$$ SELECT (get_byte(b, at) << 24) | (get_byte(b, at + 1) << 16) | (get_byte(b, at + 2) << 8) | get_byte(b, at + 3) $$;
SELECT is(substr(ttsp_spectrogram_png(s), 1, 16), '\x89504e470d0a1a0a0000000d49484452'::bytea,
	'ttsp_spectrogram_png starts with the PNG signature and IHDR') FROM specs WHERE name = 'power';
SELECT is((pg_temp.be32(p, 16), pg_temp.be32(p, 20)), (950, 54 + 2 * 172), 'PNG size: 950 x 398')
FROM (SELECT ttsp_spectrogram_png(s) AS p FROM specs WHERE name = 'power') x;
SELECT is(pg_temp.be32(ttsp_spectrogram_png(ttsp_make_spectrogram(array_fill(1::real, ARRAY[3, 20000]), 'power', 8000, 4)), 16),
	950, 'a 20,000-frame spectrogram is drawn in 768 columns (the loudest of every 27 frames), 950 pixels wide');
SELECT throws_ok($$ SELECT ttsp_spectrogram_png(s, top_db => -1) FROM specs WHERE name = 'power' $$, '22023',
	'top_db must be positive or NULL, got -1', 'PNG with a negative top_db');

-- Bad arguments and data: clear errors.
SELECT throws_ok($$ SELECT ttsp_spectrogram('{1,2,3,4}'::real[], 8000, n_fft => 1) $$, '22023',
	'n_fft must be between 2 and 65536, got 1', 'n_fft < 2');
SELECT throws_ok($$ SELECT ttsp_spectrogram('{1,2,3,4}'::real[], 8000, n_fft => 65537) $$, '22023',
	'n_fft must be between 2 and 65536, got 65537', 'n_fft above the maximum');
SELECT throws_like($$ SELECT ttsp_spectrogram('{1,2,3,4}'::real[], 8000, n_fft => 4, hop_length => 0) $$,
	'hop_length must be positive%', 'hop_length 0');
SELECT throws_like($$ SELECT ttsp_spectrogram('{1,2,3,4}'::real[], 8000, n_fft => 4, win_length => 5) $$,
	'win_length%', 'win_length > n_fft');
SELECT throws_like($$ SELECT ttsp_spectrogram('{1,2,3,4}'::real[], 8000, n_fft => 8, center => false) $$,
	'%fewer than n_fft%', 'waveform shorter than n_fft without centring');
SELECT throws_like($$ SELECT ttsp_spectrogram('{1,2,3,4}'::real[], 8000, n_fft => 8) $$,
	'%reflect%', 'too short for reflect padding');
SELECT throws_like($$ SELECT ttsp_spectrogram('{1,NaN,3,4,5,6,7,8,9}'::real[], 8000, n_fft => 4) $$,
	'audio samples must be finite%', 'NaN sample');
SELECT throws_like($$ SELECT ttsp_spectrogram('{1,Infinity,3,4,5,6,7,8,9}'::real[], 8000, n_fft => 4) $$,
	'audio samples must be finite%', 'infinite sample');
SELECT throws_ok($$ SELECT ttsp_spectrogram(array_fill(1e20::real, ARRAY[1000]), 8000, n_fft => 64) $$,
	'22003', 'spectrogram values overflow single precision', 'finite samples whose power overflows float4');
SELECT throws_ok($$ SELECT ttsp_mfcc(array_fill(1e20::real, ARRAY[4000]), 8000, n_fft => 256, n_mels => 20, n_mfcc => 13) $$,
	'22003', 'spectrogram values overflow single precision', 'the same through the mels into MFCC');
SELECT throws_ok($$ SELECT ttsp_spectrogram(pg_temp.fixture('loud_1e20.wav'), n_fft => 64) $$,
	'22003', 'spectrogram values overflow single precision', 'the same streamed from stereo float WAV');
-- |X| = 1e18 * sum(hann(64)) = 3.2e19 fits float4 though |X|^2 does not
SELECT ok(abs((ttsp_spectrogram(array_fill(1e18::real, ARRAY[256]), 8000, n_fft => 64, hop_length => 64,
		center => false, power => 1)::real[])[1][1][1] / 3.2e19 - 1) < 1e-6,
	'a magnitude whose square overflows still comes out');
SELECT throws_ok($$ SELECT ttsp_spectrogram('{1,2,3,4,5,6,7,8,9}'::real[], 8000, n_fft => 4, power => NULL) $$,
	'0A000', 'power => NULL (a complex spectrogram) is not supported', 'power => NULL');
SELECT throws_like($$ SELECT ttsp_spectrogram('{1,2,3,4,5,6,7,8,9}'::real[], 8000, n_fft => 4, pad_mode => 'mirror') $$,
	'%pad_mode%', 'unknown pad_mode');
SELECT throws_ok($$ SELECT ttsp_spectrogram('{1,2,3,4,5,6,7,8,9}'::real[], 0) $$, '22023',
	'sample_rate must be positive, got 0', 'sample_rate 0');
SELECT throws_ok($$ SELECT ttsp_spectrogram('{{{1}}}'::real[], 8000) $$, '2202E',
	'waveform must be a 1-D or a 2-D [channel][sample] array, got 3 dimensions', '3-D waveform');
SELECT throws_ok($$ SELECT ttsp_mel_spectrogram('{1,2,3,4,5,6,7,8,9}'::real[], 8000, n_fft => 4, n_mels => 0) $$,
	'22023', 'n_mels must be between 1 and 4096, got 0', 'n_mels 0');
SELECT throws_like($$ SELECT ttsp_mfcc('{1,2,3,4,5,6,7,8,9}'::real[], 8000, n_fft => 4, n_mels => 10, n_mfcc => 11) $$,
	'%n_mfcc%', 'n_mfcc > n_mels');
SELECT throws_like($$ SELECT ttsp_amplitude_to_db(s) FROM specs WHERE name = 'mfcc' $$,
	'ttsp_amplitude_to_db needs a power, magnitude or mel spectrogram%', 'dB of an MFCC');
SELECT throws_like($$ SELECT ttsp_spectrogram(pg_temp.fixture('random.bin')) $$, 'unrecognized audio format%',
	'undecodable bytea');

-- Waveforms stored in a table: uncompressed on-disk values are read in 1 MB
-- slices; the result equals that of the same array in memory.
CREATE TEMP TABLE waves (name text, w real[]);
ALTER TABLE waves ALTER w SET STORAGE EXTERNAL;
INSERT INTO waves
SELECT 'mono', array_agg((sin(i * 0.05) + random() - 0.5)::real ORDER BY i) FROM generate_series(1, 600000) i
UNION ALL
SELECT 'stereo', ARRAY[array_agg(sin(i * 0.05)::real ORDER BY i), array_agg((random() - 0.5)::real ORDER BY i)]
FROM generate_series(1, 300000) i;
CREATE TEMP TABLE waves_z (w real[]);	-- compressible: stored compressed
INSERT INTO waves_z SELECT array_agg(((i % 100) / 100.0)::real) FROM generate_series(1, 600000) i;
SELECT ok(pg_column_compression(w) IS NULL AND pg_column_size(w) > 2000000, name || ': stored uncompressed out of line')
FROM waves ORDER BY name;
SELECT ok(ttsp_spectrogram(w, 16000, n_fft => 100)::text = ttsp_spectrogram(array_cat(w, '{}'), 16000, n_fft => 100)::text,
	name || ': spectrogram read in slices equals the in-memory one') FROM waves ORDER BY name;
SELECT ok(ttsp_mel_spectrogram(w, 16000, n_fft => 400, n_mels => 64)::text
	= ttsp_mel_spectrogram(array_cat(w, '{}'), 16000, n_fft => 400, n_mels => 64)::text,
	'mel spectrogram read in slices equals the in-memory one') FROM waves WHERE name = 'stereo';
SELECT ok(pg_column_compression(w) IS NOT NULL AND ttsp_spectrogram(w, 16000, n_fft => 100)::text
	= ttsp_spectrogram(array_cat(w, '{}'), 16000, n_fft => 100)::text,
	'a compressed stored waveform gives the in-memory result') FROM waves_z;
UPDATE waves SET w[500000] = 'NaN' WHERE name = 'mono';
SELECT throws_like($$ SELECT ttsp_spectrogram(w, 16000) FROM waves WHERE name = 'mono' $$,
	'audio samples must be finite%', 'NaN in the second slice of a stored waveform');

-- Malformed text input.
SELECT throws_like($$ SELECT 'nonsense'::spectrogram $$, 'invalid input syntax for type spectrogram: expected "{"', 'not an object');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 2], "data": [[[1,2],[3,4]]]}'::spectrogram $$,
	'%shape [1, 3, 2] does not match the data, nested [1][2][2] (4 values)', 'shape and data disagree');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 2], "data": [[[1,2,3],[4],[5,6]]]}'::spectrogram $$,
	'%"data" is ragged: arrays at one depth differ in length (3 and 1)', 'ragged data with the right total');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[],[3]]]}'::spectrogram $$,
	'%"data" is ragged: arrays at one depth differ in length (1 and 0)', 'an empty row');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[2],[3]]], "data": [[[1],[2],[3]]]}'::spectrogram $$,
	'%duplicate key "data"', 'data given twice');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [2, 3, 1], "data": [[[1],[3],[5],[7],[9],[11]]]}'::spectrogram $$,
	'%shape [2, 3, 1] does not match the data, nested [1][6][1] (6 values)', 'channels and bins swapped with the right total');
SELECT throws_like($$ SELECT '{"kind": "chroma", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[3],[5]]]}'::spectrogram $$,
	'%unknown kind "chroma"', 'unknown kind');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[3],[NaN]]]}'::spectrogram $$,
	'invalid input syntax for type spectrogram: expected a number%', 'NaN in text');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[3],[1e39]]]}'::spectrogram $$,
	'%out of range for type real', 'out-of-range value');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[3],[5]]], "colour": "red"}'::spectrogram $$,
	'%unknown key "colour"', 'unknown key');
SELECT throws_ok($$ SELECT ttsp_make_spectrogram('{{1,2},{3,4}}', NULL, 16000, 2) $$, '22004',
	'kind must not be NULL', 'ttsp_make_spectrogram with a NULL kind');
SELECT ok(ttsp_amplitude_to_db(NULL::spectrogram) IS NULL, 'ttsp_amplitude_to_db(NULL) is NULL');
SELECT throws_ok($$ SELECT ttsp_make_spectrogram('{{1,2},{3,4}}', 'mfcc', 16000, 2, db => true) $$, '22023',
	'invalid spectrogram: MFCC coefficients are not in dB', 'an MFCC spectrogram in dB');
SELECT ok(ttsp_spectrogram_png(NULL::spectrogram) IS NULL, 'ttsp_spectrogram_png(NULL) is NULL');
SELECT throws_like($$ SELECT '{"version": 257, "kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[3],[5]]]}'::spectrogram $$,
	'%format version 257 is not supported (expected 1)', 'unknown format version');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[3],[5],]]}'::spectrogram $$,
	'%expected a value after "," in "data"', 'trailing comma in data');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[3],[0x1p3]]]}'::spectrogram $$,
	'%expected "," or "]" in "data"', 'hexadecimal float is not JSON');
SELECT throws_like($$ SELECT '{"kind": "power", "sample_rate": 8000, "n_fft": 4, "f_min": 5, "shape": [1, 3, 1], "data": [[[1],[3],[5]]]}'::spectrogram $$,
	'%"f_min" does not apply to a power spectrogram', 'mel field on a power spectrogram');
SELECT throws_like($$ SELECT '{"kind": "mel", "sample_rate": 8000, "n_fft": 4, "f_min": 0, "f_max": 4000, "top_db": 80, "shape": [1, 3, 1], "data": [[[1],[3],[5]]]}'::spectrogram $$,
	'%"top_db" does not apply to a mel spectrogram', 'top_db without dB');
SELECT is('{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1e-40],[3],[5]]]}'::spectrogram::real[],
	'{{{1e-40},{3},{5}}}'::real[], 'subnormal values read back, as real does');
SELECT is('{"kind": "power", "sample_rate": 8000, "n_fft": 4, "shape": [1, 3, 1], "data": [[[1],[3],[5]]]}'::spectrogram::real[],
	'{{{1},{3},{5}}}'::real[], 'minimal text input takes torchaudio''s defaults for the rest');

SELECT * FROM finish();
ROLLBACK;
