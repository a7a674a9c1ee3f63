-- ttsp_load_mp3: agreement with ffmpeg's own decode, options, limits, errors.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(54);

-- Each fixture against `ffmpeg -c:a pcm_f32le` of the same file (scripts/make-fixtures).
CREATE TEMP TABLE cases (file text, golden text, channels int, rate int, nominal int);
INSERT INTO cases VALUES
	('tone_mono_22k.mp3',        'tone_mono_22k.f32.wav',        1, 22050, 22050),
	('noise_stereo_44k.mp3',     'noise_stereo_44k.f32.wav',     2, 44100, 44100),
	('chirp_stereo_48k_vbr.mp3', 'chirp_stereo_48k_vbr.f32.wav', 2, 48000, 48000),
	('short_0.1s.mp3',           'short_0.1s.f32.wav',           1, 44100,  4410),
	('tagged_44k.mp3',           'tagged_44k.f32.wav',           1, 44100, 44100),
	('tone_stereo_44k.m4a',      'tone_stereo_44k.f32.wav',      2, 44100, 44100);
CREATE TEMP TABLE decoded AS
SELECT c.*, d.waveform, d.sample_rate, g.waveform AS ref
FROM cases c,
	LATERAL ttsp_load_mp3(pg_temp.fixture(c.file)) d,
	LATERAL ttsp_load_mp3(pg_temp.fixture(c.golden)) g;

SELECT is(sample_rate, rate, file || ': sample rate') FROM decoded ORDER BY file;
SELECT is(array_length(waveform, 1), channels, file || ': channels') FROM decoded ORDER BY file;
-- MP3 frames hold 1152 samples (AAC 1024): the count may differ by one frame.
SELECT ok(abs(array_length(waveform, 2) - nominal) <= 1152, file || ': sample count within one frame')
FROM decoded ORDER BY file;
SELECT ok(array_dims(waveform) = array_dims(ref) AND pg_temp.max_abs_diff(waveform, ref) <= 1e-6,
	file || ': max abs difference to ffmpeg''s decode <= 1e-6')
FROM decoded ORDER BY file;

-- Resampling with libswresample, against ffmpeg -ar 16000.
SELECT ok(array_dims(d.waveform) = array_dims(g.waveform) AND pg_temp.max_abs_diff(d.waveform, g.waveform) <= 1e-3,
	'resampled to 16 kHz: within 1e-3 of ffmpeg -ar 16000')
FROM ttsp_load_mp3(pg_temp.fixture('noise_stereo_44k.mp3'), sample_rate => 16000) d,
	ttsp_load_mp3(pg_temp.fixture('noise_stereo_44k.16k.f32.wav')) g;
SELECT is(d.sample_rate, 16000, 'resampled: reports the new rate')
FROM ttsp_load_mp3(pg_temp.fixture('noise_stereo_44k.mp3'), sample_rate => 16000) d;

-- mono averages the channels.
SELECT ok(array_dims(m.waveform) = '[1:1][1:44100]'
	AND (SELECT max(abs(m.waveform[1][i] - (r.ref[1][i] + r.ref[2][i]) / 2)) FROM generate_series(1, 44100) i) <= 1e-7,
	'mono => true is the mean of the channels')
FROM ttsp_load_mp3(pg_temp.fixture('noise_stereo_44k.mp3'), mono => true) m,
	decoded r WHERE r.file = 'noise_stereo_44k.mp3';
SELECT is(array_length((ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), mono => true)).waveform, 1), 1,
	'mono => true on mono audio keeps one channel');

-- offset_s and duration_s cut the decoded samples exactly.
SELECT ok(array_dims(s.waveform) = '[1:1][1:5513]'
	AND s.waveform[1:1][1:5513] = r.ref[1:1][11026:16538],
	'offset_s 0.5, duration_s 0.25: the right 5513 samples')
FROM ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), offset_s => 0.5, duration_s => 0.25) s,
	decoded r WHERE r.file = 'tone_mono_22k.mp3';
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), offset_s => 5) $$,
	'22023', 'offset_s 5 is past the end of the audio', 'offset past the end');

-- ttsp.max_duration bounds decoded length.
SET LOCAL ttsp.max_duration = 0.5;
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3')) $$,
	'54000', 'audio is longer than the limit of 0.5 seconds', 'ttsp.max_duration stops a longer decode');
SELECT is(array_length((ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), duration_s => 0.4)).waveform, 2), 8820,
	'a duration_s inside ttsp.max_duration decodes');
SELECT is(array_length((ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), duration_s => 0.5)).waveform, 2), 11025,
	'a duration_s equal to ttsp.max_duration decodes');
RESET ttsp.max_duration;

-- Bad input: a clear ERROR with a fitting SQLSTATE, never a crash.
SELECT throws_ok($$ SELECT ttsp_load_mp3(''::bytea) $$, 'XX001', 'audio data is empty', 'empty bytea');
SELECT throws_like($$ SELECT ttsp_load_mp3(pg_temp.fixture('random.bin')) $$, 'unrecognized audio format%', 'random bytes');
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('image.png')) $$, 'XX001', 'no audio stream in the png_pipe data', 'a PNG image');
SELECT throws_like($$ SELECT ttsp_load_mp3(pg_temp.fixture('truncated_100.mp3')) $$, 'unrecognized audio format%', 'an MP3 cut to 100 bytes');
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('empty_stream.wav')) $$, 'XX001', 'no audio samples could be decoded', 'a zero-length stream');
-- Damaged frames are skipped as the ffmpeg CLI does; what survives is returned.
SELECT ok(array_length(z.waveform, 2) BETWEEN 1 AND 44100 + 1152,
	'an MP3 with its middle zeroed decodes what it can')
FROM ttsp_load_mp3(pg_temp.fixture('zeroed_middle.mp3')) z;
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), sample_rate => -1) $$,
	'22023', 'sample_rate must be positive, got -1', 'negative sample_rate');
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), offset_s => 'NaN') $$,
	'22023', 'offset_s must be a finite number >= 0, got nan', 'NaN offset_s');
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), offset_s => -1) $$,
	'22023', 'offset_s must be a finite number >= 0, got -1', 'negative offset_s');
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), duration_s => -2) $$,
	'22023', 'duration_s must be a positive finite number, got -2', 'negative duration_s');
SELECT throws_ok($$ SELECT ttsp_load_mp3(pg_temp.fixture('tone_mono_22k.mp3'), duration_s => 'Infinity') $$,
	'22023', 'duration_s must be a positive finite number, got inf', 'infinite duration_s');
SELECT is(ttsp_load_mp3(NULL::bytea), NULL, 'NULL audio gives NULL');

-- The music_id form: <ttsp.audio_dir>/<music_id>.mp3, for pg_read_server_files only.
SELECT throws_ok($$ SELECT ttsp_load_mp3(6790057285814061057) $$, '55000', 'ttsp.audio_dir is not set', 'audio_dir unset');
\set audio_dir :fixtures 'audio'
SET ttsp.audio_dir = :'audio_dir';
SELECT ok(d.waveform = r.ref, 'music_id form reads <audio_dir>/<music_id>.mp3')
FROM ttsp_load_mp3(6790057285814061057) d, decoded r WHERE r.file = 'tone_mono_22k.mp3';
SELECT throws_like($$ SELECT ttsp_load_mp3(42::bigint) $$, 'could not open audio file "%/42.mp3": No such file or directory',
	'a missing file names its path');
SELECT throws_ok($$ SELECT ttsp_load_mp3(-1::bigint) $$, '22023', 'music_id must not be negative, got -1', 'negative music_id');
SELECT throws_ok($$ SELECT ttsp_load_mp3('../../etc/passwd'::bigint) $$, '22P02', NULL, 'a path is not a music_id');

CREATE TEMP TABLE tone AS SELECT pg_temp.fixture('tone_mono_22k.mp3') AS b;
CREATE ROLE ttsp_test_reader;
GRANT SELECT ON tone TO ttsp_test_reader;
GRANT ttsp_test_reader TO current_user;
SET LOCAL ROLE ttsp_test_reader;
SELECT throws_ok($$ SELECT ttsp_load_mp3(6790057285814061057) $$, '42501', 'permission denied for function ttsp_load_mp3',
	'without pg_read_server_files the music_id form is denied');
SELECT throws_ok($$ SET ttsp.audio_dir = '/' $$, '42501', 'permission denied to set parameter "ttsp.audio_dir"',
	'ttsp.audio_dir is superuser-only');
SELECT is((ttsp_load_mp3(b)).sample_rate, 22050, 'the bytea form is open to everyone') FROM tone;
RESET ROLE;
GRANT pg_read_server_files TO ttsp_test_reader;
SET LOCAL ROLE ttsp_test_reader;
SELECT is((ttsp_load_mp3(6790057285814061057)).sample_rate, 22050, 'with pg_read_server_files the music_id form works');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
