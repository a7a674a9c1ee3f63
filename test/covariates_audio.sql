-- Covariates beside a spectrogram: they join the CNN's head (after the
-- pooled features of a 'cnn' model) and the linear baseline's inputs.
-- The spectrograms here are noise (3 bins); the label is decided by a
-- covariate, so only a model that reads the covariates can be right.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(16);

SELECT setseed(0.75);
CREATE TABLE clips AS
SELECT i AS id, x, x > 0 AS up, CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS flag,
	ttsp_make_spectrogram((SELECT array_agg(row ORDER BY b) FROM (
		SELECT b, array_agg(exp(random() - 0.5 + 0 * i)::real ORDER BY f) AS row
		FROM generate_series(1, 3) b, generate_series(1, 60) f GROUP BY b) r), 'power', 8000, 4) AS spec
FROM (SELECT i, (1 + random()) * CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END AS x FROM generate_series(1, 64) i) v;

CREATE TEMP TABLE fit AS
SELECT ttsp_train('mix', 'clips', 'spec', 'up', covariates => '{x,flag}', epochs => 3, frames => 40,
	channels => '{4}') AS m;
SELECT ok((m->>'accuracy')::float8 = 1 AND (m->'linear_baseline'->>'accuracy')::float8 = 1,
	'the CNN with covariates and its linear baseline (which reads them too) are right on every test row') FROM fit;
SELECT is((covariates, covariate_missing, (architecture->>'extra_inputs')::int),
	('{x,flag}'::text[], '{t,t}'::boolean[], 6 + 4),
	'stored: the names, an indicator per covariate, and 2 x 3 pooled features + 4 covariate inputs in the head')
FROM ttsp_model WHERE name = 'mix';
SELECT is((ttsp_evaluate('mix', 'clips', 'spec', 'up')->>'accuracy')::float8,
	avg(((ttsp_predict('mix', c) >= 0.5) = up)::int)::float8,
	'ttsp_evaluate reads the covariates by name, as ttsp_predict(name, row) does') FROM clips c;
SELECT is(count(*), 64::bigint, 'the model as a value predicts as the model by name, bit for bit')
FROM clips c, ttsp_latest_model l WHERE l.name = 'mix' AND ttsp_predict(l.model, c) = ttsp_predict('mix', c);
SELECT ok(ttsp_predict('mix', c) <> ttsp_predict('mix', (c.id, -c.x, NOT c.up, c.flag, c.spec)::clips),
	'a covariate moves the prediction') FROM clips c WHERE id = 2;
SELECT throws_ok($$ SELECT ttsp_predict('mix', spec) FROM clips LIMIT 1 $$, '22023',
	'model "mix" reads covariates beside the spectrogram', 'the spectrogram alone is not enough');
SELECT throws_ok($$ SELECT ttsp_predict('mix', r) FROM (SELECT id, spec, flag FROM clips) r LIMIT 1 $$, '42703',
	NULL, 'a row without a covariate column');

SELECT ok((ttsp_train('mix_deep', 'clips', 'spec', 'up', covariates => '{x,flag}', architecture => 'deep',
	epochs => 40, frames => 40, channels => '{4}', learning_rate => 0.01, patience => NULL)->>'accuracy')::float8 >= 0.875,
	'architecture ''deep'': the covariates beside the CNN alone');
CREATE TEMP TABLE lin AS
SELECT ttsp_train('mix_lin', 'clips', 'spec', 'up', covariates => '{x,flag}', architecture => 'linear') AS m;
SELECT ok((l.m->>'accuracy')::float8 = 1 AND (architecture->>'features')::int = 6 + 4,
	'architecture ''linear'': the pooled features and the covariates') FROM lin l, ttsp_model WHERE name = 'mix_lin';
SELECT throws_ok($$ SELECT ttsp_train('x', 'clips', 'spec', 'up', covariates => '{x}', architecture => 'mlp') $$,
	'22023', 'architecture ''mlp'' reads covariates alone: give features => NULL', 'mlp with a spectrogram');
SELECT throws_ok($$ SELECT ttsp_train('x', 'clips', 'spec', 'up', covariates => '{x}', strategy => 'averaged') $$,
	'0A000', 'strategy ''averaged'' does not read covariates yet', 'averaged with covariates');
SELECT throws_ok($$ SELECT ttsp_saliency('mix', spec) FROM clips LIMIT 1 $$, '0A000',
	'model "mix" reads covariates: saliency is for models on the spectrogram alone', 'saliency of a covariate model');

-- Cross-validation of a spectrogram model: ttsp_train's trainer per fold, nothing stored.
CREATE TEMP TABLE cv AS
SELECT ttsp_cross_validate('clips', 'spec', 'up', covariates => '{x,flag}', folds => 4, epochs => 2, frames => 40,
	channels => '{4}') AS cv;
SELECT is((SELECT sum((f->>'n_test')::int) FROM cv, jsonb_array_elements(cv->'folds') f), 64::bigint,
	'4 folds whose test parts cover the 64 rows once');
SELECT ok((cv->'mean'->'model'->>'accuracy')::float8 >= 0.9 AND cv->'mean' ?& ARRAY['linear_baseline', 'majority_baseline']
	AND (cv->'mean'->'majority_baseline'->>'accuracy')::float8 <= 0.6 AND cv->'std'->'model' ? 'roc_auc',
	'mean and std over the folds, with the linear and majority baselines') FROM cv;
SELECT is((SELECT count(*) FROM ttsp_model WHERE name = 'cross-validation'), 0::bigint, 'cross-validation stores nothing');
SELECT throws_ok($$ SELECT ttsp_cross_validate('clips', 'spec', 'up', folds => 40, architecture => 'linear') $$, '22023',
	'folds 40 is more than the 32 rows of the minority class', 'more folds than the minority class has rows');

SELECT * FROM finish();
ROLLBACK;
