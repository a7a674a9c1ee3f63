-- ttsp_predict(model ttsp_model, spec): the model row as a value (no SPI),
-- ttsp_latest_model, parallel workers, and forged values as input.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(16);

CREATE TABLE sounds AS
SELECT i AS id,
	ttsp_spectrogram(pg_temp.fixture(f), sample_rate => 8000, mono => true, n_fft => 128,
		offset_s => (i % 5) * 0.05, duration_s => 0.5) AS spec,
	f LIKE 'noise%' AS popular
FROM generate_series(1, 16) i, unnest(ARRAY['tone_mono_22k.mp3', 'noise_stereo_44k.mp3']) f;
SELECT ttsp_train('v', 'sounds', 'spec', 'popular', epochs => 2, frames => 40) IS NOT NULL AS trained;

SELECT is(count(*), 32::bigint, 'ttsp_predict(model row, spec) equals ttsp_predict(name, spec), bit for bit')
FROM sounds s JOIN ttsp_model m ON m.name = 'v' AND m.version = 1
WHERE ttsp_predict(m, s.spec) = ttsp_predict('v', s.spec);

-- another architecture: its predictions differ from version 1's everywhere
SELECT ttsp_train('v', 'sounds', 'spec', 'popular', epochs => 1, frames => 40, seed => 13, architecture => 'deep') IS NOT NULL AS trained;
SELECT is(count(*), 32::bigint, 'ttsp_latest_model names the newest version in the join')
FROM sounds s JOIN ttsp_latest_model l ON l.name = 'v'
WHERE l.version = 2 AND ttsp_predict(l.model, s.spec) = ttsp_predict('v', s.spec, 2)
	AND ttsp_predict(l.model, s.spec) <> ttsp_predict('v', s.spec, 1);

SELECT is((provolatile, proparallel)::text, '(i,s)', 'it is IMMUTABLE and PARALLEL SAFE')
FROM pg_proc WHERE oid = 'ttsp_predict(record, spectrogram)'::regprocedure;

-- In a parallel worker: no SPI, no catalogue lookups by name.
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_setup_cost = 0;
SELECT is(count(*), 32::bigint, 'it runs in a parallel worker')
FROM sounds s JOIN ttsp_model m ON m.name = 'v' AND m.version = 1
WHERE ttsp_predict(m, s.spec) BETWEEN 0 AND 1;
RESET force_parallel_mode;

-- A value is user input: every column is checked.
CREATE FUNCTION pg_temp.forged(change jsonb) RETURNS ttsp_model
LANGUAGE sql AS $$
	SELECT jsonb_populate_record(NULL::ttsp_model, to_jsonb(m) || change)
	FROM ttsp_model m WHERE m.name = 'v' AND m.version = 1
$$;
SELECT throws_ok($$ SELECT ttsp_predict(pg_temp.forged('{"task": "ranking"}'), spec) FROM sounds LIMIT 1 $$,
	'XX001', 'model "v" has an unknown task "ranking"', 'an unknown task');
SELECT throws_ok($$ SELECT ttsp_predict(pg_temp.forged(jsonb_build_object('weights', substr(weights, 1, 200))), spec)
	FROM sounds, ttsp_model WHERE name = 'v' AND version = 1 LIMIT 1 $$,
	'XX001', NULL, 'truncated weights');
SELECT throws_like($$ SELECT ttsp_predict(pg_temp.forged(jsonb_build_object('weights', overlay(weights placing '\xff' from 300))), spec)
	FROM sounds, ttsp_model WHERE name = 'v' AND version = 1 LIMIT 1 $$,
	'%unreadable%checksum%', 'a flipped byte in the weights');
SELECT throws_ok($$ SELECT ttsp_predict(pg_temp.forged('{"target_std": 0}'), spec) FROM sounds LIMIT 1 $$,
	'XX001', 'model "v" has an invalid target scale (mean 0, std 0)', 'a zero target scale');
SELECT throws_ok($$ SELECT ttsp_predict(pg_temp.forged('{"norm_mean": [1, 2]}'), spec) FROM sounds LIMIT 1 $$,
	'XX001', 'model norm_mean has the wrong length (expected 65 values)', 'standardisation of the wrong length');
SELECT throws_ok($$ SELECT ttsp_predict(pg_temp.forged('{"frames": 41}'), spec) FROM sounds LIMIT 1 $$,
	'XX001', 'weights of model "v" version 1 do not match its task and input shape', 'frames that the weights do not take');
SELECT throws_ok($$ SELECT ttsp_predict(m, ttsp_spectrogram(pg_temp.fixture('tone_mono_22k.mp3'), n_fft => 64))
	FROM ttsp_model m WHERE name = 'v' AND version = 1 $$,
	'22023', 'spectrogram does not match model "v"', 'a spectrogram of other features: the error ttsp_predict gives');
SELECT throws_ok($$ SELECT ttsp_predict(pg_temp.forged('{"target_mean": 5}'), spec) FROM sounds LIMIT 1 $$,
	'XX001', 'model "v" has an invalid target scale (mean 5, std 1)', 'a classifier with a target scale');
SELECT throws_ok($$ SELECT ttsp_predict(ROW(1, 2), spec) FROM sounds LIMIT 1 $$,
	'42804', 'model must be a ttsp_model row: it has no column "task"', 'a row of another type');
SELECT throws_ok($$ SELECT ttsp_predict(x, spec) FROM sounds, (SELECT name, version, task, feature_template, frames,
	norm_mean, norm_std, weights::text AS weights, target_mean, target_std FROM ttsp_model WHERE name = 'v' LIMIT 1) x LIMIT 1 $$,
	'42804', 'model must be a ttsp_model row: column "weights" is text, not bytea', 'a column of another type');
SELECT is(count(*), 32::bigint, 'after the forged values, the real one still predicts as before (no stale cache)')
FROM sounds s JOIN ttsp_model m ON m.name = 'v' AND m.version = 1
WHERE ttsp_predict(m, s.spec) = ttsp_predict('v', s.spec, 1);

-- Last: a read-only transaction cannot go back to read-write.
SET LOCAL transaction_read_only = on;
SELECT throws_ok($$ SELECT ttsp_train('ro', 'sounds', 'spec', 'popular') $$,
	'25006', 'cannot execute ttsp_train in a read-only transaction',
	'ttsp_train refuses a read-only transaction before doing the work (as on a standby)');

SELECT * FROM finish();
ROLLBACK;
