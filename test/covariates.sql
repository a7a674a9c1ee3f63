-- Covariates-only models (issue 12): training, row-wise prediction, the
-- music_id form, ttsp_evaluate, cross-validation and every bad input.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(44);

\set step :datadir 'demo-prepare.sql'
\i :step
\set step :datadir 'sound-covariates.sql'
\i :step
-- some NULLs: a missing-indicator input for mean_duration, none for the others
UPDATE sound_covariates SET mean_duration = NULL WHERE music_id % 17 = 0;
ALTER TABLE sound_covariates ADD COLUMN title text, ADD COLUMN durations int[], ADD COLUMN nothing float8;
UPDATE sound_covariates SET title = 'x', durations = '{1}';

CREATE TEMP TABLE r AS SELECT ttsp_train('cov', 'sound_covariates', NULL, 'popular',
	architecture => 'linear', covariates => '{verified_share,mean_duration,original_sound}') AS j;
SELECT is((j->>'architecture', j->'covariates'), ('linear'::text, '["verified_share", "mean_duration", "original_sound"]'::jsonb),
	'a linear model on three covariates') FROM r;
SELECT is((j->>'n')::int, 227, 'tested on the stratified 25%: round(0.25 x 227) + round(0.25 x 680) rows') FROM r;
SELECT ok((j->>'roc_auc')::float8 BETWEEN 0 AND 1 AND j ? 'baseline_accuracy', 'with its ROC-AUC and the majority baseline') FROM r;
SELECT is((covariates, covariate_missing, feature_template IS NULL, frames IS NULL, source),
	('{verified_share,mean_duration,original_sound}'::text[], '{f,t,f}'::boolean[], true, true, 'public.sound_covariates'::text),
	'stored: names, a missing indicator only where training rows had a NULL, no spectrogram, the source table')
FROM ttsp_model WHERE name = 'cov';
SELECT ok(abs(covariate_mean[1] - (SELECT avg(verified_share) FROM sound_covariates)) < 0.02
	AND covariate_scale[3] > 0, 'the training split''s mean and scale') FROM ttsp_model WHERE name = 'cov';

-- row-wise prediction, by name and as a value, and the music_id form
SELECT is(count(*), 907::bigint, 'ttsp_predict(name, row) scores every sound')
FROM sound_covariates s WHERE ttsp_predict('cov', s) BETWEEN 0 AND 1;
SELECT is(count(*), 0::bigint, 'the model as a value gives the same, bit for bit')
FROM sound_covariates s, ttsp_latest_model m WHERE m.name = 'cov' AND ttsp_predict(m.model, s) <> ttsp_predict('cov', s);
SET ttsp.default_model = 'cov';
SELECT is(count(*), 0::bigint, 'ttsp_predict(music_id) looks the row up in the training table')
FROM sound_covariates s WHERE ttsp_predict(music_id) <> ttsp_predict('cov', s);
SELECT ok(ttsp_predict(-1::bigint) IS NULL, 'a music_id that is not there: NULL');
SELECT isnt(ttsp_predict('cov', (SELECT s FROM (SELECT 0.0 AS verified_share, NULL::float8 AS mean_duration, true AS original_sound) s)),
	ttsp_predict('cov', (SELECT s FROM (SELECT 0.0 AS verified_share, m.covariate_mean[2] AS mean_duration, true AS original_sound) s)),
	'a NULL covariate is the mean plus its missing indicator, not the mean alone')
FROM ttsp_model m WHERE name = 'cov';
SELECT is((ttsp_evaluate('cov', 'sound_covariates', NULL, 'popular')->>'n')::int, 907, 'ttsp_evaluate reads the covariates by name');
SELECT is(round((ttsp_evaluate('cov', 'sound_covariates', NULL, 'popular')->>'roc_auc')::numeric, 12),
	round((WITH p AS MATERIALIZED (SELECT popular, ttsp_predict('cov', s) AS p FROM sound_covariates s)
		SELECT avg(((a.p > b.p)::int + 0.5 * (a.p = b.p)::int)::numeric) FROM p a, p b WHERE a.popular AND NOT b.popular), 12),
	'its ROC-AUC is the share of (positive, negative) pairs ranked right');

-- the MLP: same seed, same model
SELECT ok(ttsp_train('mlp', 'sound_covariates', NULL, 'popular', architecture => 'mlp', epochs => 20,
	learning_rate => 0.01, covariates => '{verified_share,mean_duration,original_sound,videos}') ? 'linear_baseline',
	'an MLP on four covariates, with its linear baseline');
SELECT ok(ttsp_train('mlp', 'sound_covariates', NULL, 'popular', architecture => 'mlp', epochs => 20,
	learning_rate => 0.01, covariates => '{verified_share,mean_duration,original_sound,videos}') IS NOT NULL, 'and again');
SELECT is(count(DISTINCT weights), 1::bigint, 'the same seed gives the same weights') FROM ttsp_model WHERE name = 'mlp';
SELECT ttsp_train('mlp_shuffled', 'SELECT * FROM sound_covariates ORDER BY md5(music_id::text)', NULL, 'popular',
	architecture => 'mlp', epochs => 20, learning_rate => 0.01,
	covariates => '{verified_share,mean_duration,original_sound,videos}') IS NOT NULL AS trained \gset
SELECT ok(a.weights = b.weights AND a.metrics = b.metrics, 'the same rows in another order: the same weights and metrics')
FROM ttsp_model a, ttsp_model b WHERE a.name = 'mlp' AND a.version = 1 AND b.name = 'mlp_shuffled';
SELECT is(count(*), 907::bigint, 'the MLP scores rows too') FROM sound_covariates s WHERE ttsp_predict('mlp', s) BETWEEN 0 AND 1;

-- cross-validation
CREATE TEMP TABLE cv AS SELECT ttsp_cross_validate('sound_covariates', NULL, 'popular',
	covariates => '{verified_share,mean_duration,original_sound}') AS j;
SELECT is(jsonb_array_length(j->'folds'), 5, 'five folds by default') FROM cv;
SELECT ok(j->'mean' ?& ARRAY['model', 'linear_baseline', 'majority_baseline'] AND j->'std'->'model' ? 'roc_auc',
	'means and deviations of the model and both baselines') FROM cv;
SELECT is((j->'mean'->'majority_baseline'->>'roc_auc')::float8, 0.5::float8, 'the majority baseline ranks nothing') FROM cv;
SELECT is((SELECT array_agg(x ORDER BY x) FROM cv, jsonb_array_elements(j->'folds') f, jsonb_array_elements_text(f->'test_rows') x),
	(SELECT array_agg(x::text ORDER BY x::text) FROM generate_series(1, 907) x), 'every row is in one test fold') ;
SELECT is((SELECT array_agg((f->'model'->>'positives')::int ORDER BY (f->'model'->>'positives')::int) FROM cv, jsonb_array_elements(j->'folds') f), '{45,45,45,46,46}'::int[],
	'stratified: 227 positives spread 45 or 46 a fold');
SELECT is(ttsp_cross_validate('sound_covariates', NULL, 'popular', covariates => '{verified_share,mean_duration,original_sound}'),
	j, 'the same rows give the same folds and results') FROM cv;
-- the fits visit the rows in content order, not the source's
WITH x AS (SELECT j, ttsp_cross_validate('SELECT * FROM sound_covariates ORDER BY music_id DESC', NULL, 'popular',
	covariates => '{verified_share,mean_duration,original_sound}') AS j2 FROM cv)
SELECT is((j2->'mean', j2->'std'), (j->'mean', j->'std'),
	'a query source in another order: the same folds by content, the same means and deviations, bit for bit')
FROM x;
SELECT is(count(*), 0::bigint, 'and it stores nothing') FROM ttsp_model WHERE name NOT IN ('cov', 'mlp', 'mlp_shuffled');

-- regression: ridge and the MLP on log10 plays, cross-validated with MSE
SELECT ok((ttsp_train('reg', 'sound_covariates', NULL, 'log_plays', task => 'regression', architecture => 'mlp',
	epochs => 20, learning_rate => 0.01, covariates => '{verified_share,videos}')->'linear_baseline') ?& ARRAY['mse', 'r2'],
	'a regression MLP reports MSE and R2 beside its ridge baseline');
SELECT ok(abs(avg(ttsp_predict('reg', s)) - avg(log_plays)) < 0.5, 'its predictions are in the label''s units')
FROM sound_covariates s;
SELECT ok((SELECT bool_and((f->'majority_baseline'->>'r2')::float8 <= 0) FROM jsonb_array_elements(
	ttsp_cross_validate('sound_covariates', NULL, 'log_plays', task => 'regression', covariates => '{videos}', folds => 3)->'folds') f),
	'regression folds: the training mean as the baseline, R2 at most 0 on held-out rows');

-- the row form of a spectrogram model reads the row's one spectrogram column
CREATE TABLE specs AS SELECT i, i % 2 = 0 AS label, ttsp_make_spectrogram(
	array_fill((1 + i % 2 + (i % 7) * 0.3)::real, ARRAY[3, 8]), 'power', 8000, 4) AS spec
FROM generate_series(1, 40) i;
SELECT ok(ttsp_train('sp', 'specs', 'spec', 'label', architecture => 'linear') IS NOT NULL, 'a linear spectrogram model');
SELECT is(count(*), 40::bigint, 'ttsp_predict(name, row) of a spectrogram model is ttsp_predict(name, row.spec)')
FROM specs s WHERE ttsp_predict('sp', s) = ttsp_predict('sp', s.spec);
SELECT throws_ok($$ SELECT ttsp_predict('sp', x) FROM (SELECT spec AS a, spec AS b FROM specs) x $$, '42702',
	'the input row has 2 spectrogram columns; model "sp" reads one', 'two spectrogram columns are ambiguous');
SELECT throws_ok($$ SELECT ttsp_predict('sp', x) FROM (SELECT 1 AS a) x $$, '42703',
	'the input row has no spectrogram column for model "sp"', 'a row without a spectrogram');

-- bad input
SELECT throws_ok($$ SELECT ttsp_train('bad', 'sound_covariates', NULL, 'popular', covariates => '{title}') $$, '42804',
	'covariate "title" is of type text; covariates must be numeric or boolean columns', 'a text covariate');
SELECT throws_ok($$ SELECT ttsp_train('bad', 'sound_covariates', NULL, 'popular', covariates => '{durations}') $$, '42804',
	'covariate "durations" is of type integer[]; covariates must be numeric or boolean columns', 'an array covariate');
SELECT throws_ok($$ SELECT ttsp_train('bad', 'sound_covariates', NULL, 'popular', covariates => '{videos,nothing}') $$, '22023',
	'covariate "nothing" is NULL in every row', 'an all-NULL covariate');
SELECT throws_ok($$ SELECT ttsp_train('bad', 'sound_covariates', NULL, 'popular', covariates => '{videos,popular}') $$, '22023',
	'covariate "popular" is the label', 'the label as a covariate');
SELECT throws_ok($$ SELECT ttsp_predict('cov', s) FROM (SELECT 1.0 AS verified_share, true AS original_sound) s $$, '42703',
	'the input row has no column "mean_duration"', 'a row without a covariate');
SELECT throws_ok($$ SELECT ttsp_predict('cov', s) FROM (SELECT 1.0 AS verified_share, 'x'::text AS mean_duration, true AS original_sound) s $$, '42804',
	'covariate "mean_duration" is of type text; covariates must be numeric or boolean columns', 'a row with a text covariate');
SELECT throws_ok($$ SELECT ttsp_cross_validate('sound_covariates', NULL, 'popular', covariates => '{videos}', folds => 1) $$, '22023',
	'folds must be at least 2, got 1', 'one fold');
SELECT throws_ok($$ SELECT ttsp_cross_validate('sound_covariates', NULL, 'popular', covariates => '{videos}', folds => 228) $$, '22023',
	'folds 228 is more than the 227 rows of the minority class', 'more folds than minority rows');
-- a stored source is a name to resolve, never SQL to run: ttsp_model's writers are not its readers
UPDATE ttsp_model SET source = 'sound_covariates; DROP TABLE sound_covariates' WHERE name = 'cov';
SELECT throws_ok($$ SELECT ttsp_predict(music_id) FROM sound_covariates LIMIT 1 $$, '42602', NULL,
	'a forged source is an invalid name, not a statement');
SELECT is(count(*), 907::bigint, 'and the table is still there') FROM sound_covariates;
SELECT throws_ok($$ SELECT ttsp_train('bad', 'sound_covariates', NULL, 'popular', architecture => 'mlp') $$, '22023',
	'architecture ''mlp'' needs covariates, and features => NULL', 'an MLP without covariates');

SELECT throws_ok($$ SELECT ttsp_train('bad', 'sound_covariates', NULL, 'popular', architecture => 'deep', covariates => '{videos}') $$,
	'22023', 'architecture ''deep'' needs a spectrogram feature; covariates alone take ''linear'' or ''mlp''', 'a CNN without a spectrogram');

SELECT * FROM finish();
ROLLBACK;
