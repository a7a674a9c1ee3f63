-- Parallel query on one node: with the functions' COSTs the planner runs
-- feature extraction and scoring on parallel workers, with the same results.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(6);

-- Small tables of expensive rows: the table, not its size, offers the workers.
CREATE TABLE clips AS
SELECT i, pg_temp.fixture(CASE WHEN i % 2 = 0 THEN 'tone_mono_22k.mp3' ELSE 'noise_stereo_44k.mp3' END) AS audio
FROM generate_series(1, 8) i;
ALTER TABLE clips SET (parallel_workers = 2);
SET LOCAL max_parallel_workers_per_gather = 2;

SELECT matches(pg_temp.explain($$ CREATE TABLE specs AS
	SELECT i, ttsp_spectrogram(audio, sample_rate => 8000, mono => true, n_fft => 100, offset_s => i * 0.01) AS spec
	FROM clips $$),
	'Workers Launched: 2', 'CREATE TABLE AS runs ttsp_spectrogram on 2 parallel workers');
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT is(count(*), 8::bigint, 'with the same results as a serial run')
FROM specs s JOIN clips c USING (i)
WHERE s.spec::text = ttsp_spectrogram(c.audio, sample_rate => 8000, mono => true, n_fft => 100, offset_s => i * 0.01)::text;
SET LOCAL max_parallel_workers_per_gather = 2;

CREATE MATERIALIZED VIEW mels AS
SELECT i, ttsp_mel_spectrogram(audio, n_mels => 32) AS mel FROM clips WITH NO DATA;
SELECT matches(pg_temp.explain('SELECT i, ttsp_mel_spectrogram(audio, n_mels => 32) FROM clips'),
	'Workers Launched: 2', 'the materialized view''s query has a parallel plan');
REFRESH MATERIALIZED VIEW mels;
SELECT is(count(*), 8::bigint, 'REFRESH MATERIALIZED VIEW fills it') FROM mels WHERE ttsp_bins(mel) = 32;

ALTER TABLE specs SET (parallel_workers = 2);
-- 8 predictions of about 1 ms do not pay for starting workers: waive that here
SET LOCAL parallel_setup_cost = 0;
SELECT ttsp_train('p', 'specs', 'spec', 'i', task => 'regression', epochs => 1, frames => 20) IS NOT NULL AS trained;
-- The model as a scalar subquery: evaluated once by the leader, handed to the workers.
SELECT matches(pg_temp.explain($$ SELECT avg(ttsp_predict((SELECT model FROM ttsp_latest_model WHERE name = 'p'), s.spec))
	FROM specs s $$),
	'Workers Launched: 2', 'scoring with the model as a value runs on parallel workers');
SELECT is(avg(ttsp_predict((SELECT model FROM ttsp_latest_model WHERE name = 'p'), s.spec)), avg(ttsp_predict('p', s.spec)),
	'and gives what the name-based form gives')
FROM specs s;

SELECT * FROM finish();
ROLLBACK;
