-- ttsp_train, ttsp_predict, ttsp_evaluate and the model table.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(75);

-- 160 half-second clips of four fixtures: noise and chirp are "popular".
CREATE TABLE sounds AS
SELECT i AS id, f AS file,
	ttsp_spectrogram(pg_temp.fixture(f), sample_rate => 8000, mono => true, n_fft => 128,
		offset_s => (i % 5) * 0.05, duration_s => 0.5) AS spec,
	(f LIKE 'noise%' OR f LIKE 'chirp%') AS popular,
	(i % 7) / 7.0 + (f LIKE 'noise%')::int AS score
FROM generate_series(1, 40) i,
	unnest(ARRAY['tone_mono_22k.mp3', 'noise_stereo_44k.mp3', 'chirp_stereo_48k_vbr.mp3', 'tagged_44k.mp3']) f;

CREATE TEMP TABLE runs AS
SELECT 1 AS run, ttsp_train('pop', 'sounds', 'spec', 'popular', epochs => 3, frames => 40) AS m;
INSERT INTO runs SELECT 2, ttsp_train('pop', 'sounds', 'spec', 'popular', epochs => 3, frames => 40);
INSERT INTO runs SELECT 3, ttsp_train('pop', 'sounds', 'spec', 'popular', epochs => 3, frames => 40, seed => 13);

SELECT is(m->>'split', 'test', 'metrics are on the test split') FROM runs WHERE run = 1;
SELECT is((m->>'n')::int, 48, 'the stratified test split holds 25% of 160 rows') FROM runs WHERE run = 1;
SELECT is((m->>'positives')::int, 24, 'and half of it is popular, as in the table') FROM runs WHERE run = 1;
SELECT is((m->>'baseline_accuracy')::float8, 0.5::float8, 'the majority baseline is reported beside the accuracy') FROM runs WHERE run = 1;
SELECT ok(m ?& ARRAY['accuracy', 'balanced_accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss'],
	'all classification metrics are there') FROM runs WHERE run = 1;
SELECT ok((m->>'accuracy')::float8 >= 0.95, 'tones vs noise is learnt in seconds: test accuracy >= 0.95')
FROM runs WHERE run = 1;
SELECT ok(m->'linear_baseline' ?& ARRAY['accuracy', 'balanced_accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'baseline_accuracy', 'alpha'],
	'a linear baseline on the whole clip''s pooled features is reported beside the CNN, with the same metrics') FROM runs WHERE run = 1;
SELECT is((m->'linear_baseline'->>'n')::int, (m->>'n')::int, 'on the same test rows') FROM runs WHERE run = 1;
SELECT is(array_agg(version ORDER BY version), ARRAY[1, 2, 3], 'retraining a name adds versions')
FROM ttsp_model WHERE name = 'pop';
SELECT ok(a.weights = b.weights AND a.train_loss = b.train_loss, 'same seed: bit-identical weights and losses')
FROM ttsp_model a, ttsp_model b WHERE a.name = 'pop' AND b.name = 'pop' AND a.version = 1 AND b.version = 2;
SELECT ok(a.weights <> c.weights, 'another seed: other weights')
FROM ttsp_model a, ttsp_model c WHERE a.name = 'pop' AND c.name = 'pop' AND a.version = 1 AND c.version = 3;
SELECT ttsp_train('pop_shuffled', 'SELECT * FROM sounds ORDER BY md5(id || file)', 'spec', 'popular',
	epochs => 3, frames => 40) IS NOT NULL AS trained \gset
SELECT ok(a.weights = b.weights AND a.train_loss = b.train_loss AND a.validation_loss = b.validation_loss
		AND a.norm_mean = b.norm_mean AND a.metrics - 'source' = b.metrics - 'source',
	'the same rows in another order: bit-identical weights, losses and metrics')
FROM ttsp_model a, ttsp_model b WHERE a.name = 'pop' AND a.version = 1 AND b.name = 'pop_shuffled';
SELECT is((architecture->'input')::text, '[1, 65, 40]', 'the model records its input shape')
FROM ttsp_model WHERE name = 'pop' AND version = 1;
SELECT is(features->>'n_fft', '128', 'and the feature parameters') FROM ttsp_model WHERE name = 'pop' AND version = 1;
SELECT is((hyperparameters->>'optimizer', hyperparameters->>'loss', (hyperparameters->>'learning_rate')::float8),
	('adam'::text, 'bce'::text, 0.001::float8), 'defaults: Adam at 1e-3 with cross-entropy')
FROM ttsp_model WHERE name = 'pop' AND version = 1;
SELECT is(array_length(train_loss, 1), 3, 'one train loss per epoch') FROM ttsp_model WHERE name = 'pop' AND version = 1;

SELECT is(substr(ttsp_loss_curve_png('pop'), 1, 8), '\x89504e470d0a1a0a'::bytea, 'ttsp_loss_curve_png draws a PNG');
SELECT is(ttsp_loss_curve_png('nope'), NULL, 'no curve for a missing model');

-- Prediction, and the seed's test.py accuracy as a plain query.
SELECT ok(bool_and(p BETWEEN 0 AND 1), 'predictions are probabilities')
FROM (SELECT ttsp_predict('pop', spec) AS p FROM sounds) x;
SELECT is(ttsp_predict('pop', spec), ttsp_predict('pop', spec, version => 3), 'the latest version is the default')
FROM sounds WHERE id = 1 AND file = 'tone_mono_22k.mp3';
SELECT isnt(ttsp_predict('pop', spec, version => 1), ttsp_predict('pop', spec, version => 3), 'a pinned version is used')
FROM sounds WHERE id = 1 AND file = 'tone_mono_22k.mp3';
SELECT is((ttsp_evaluate('pop', 'sounds', 'spec', 'popular')->>'accuracy')::float8,
	(SELECT avg(((ttsp_predict('pop', spec) >= 0.5) = popular)::int)::float8 FROM sounds),
	'ttsp_evaluate agrees with accuracy computed in SQL over ttsp_predict');

-- Regression (MSE, as the seed), from a query.
SELECT ok(m ?& ARRAY['mse', 'mae', 'r2', 'baseline_mse'], 'regression metrics with the mean baseline')
FROM (SELECT ttsp_train('score', query => 'SELECT spec, score FROM sounds WHERE id <= 20', features => 'spec',
	label => 'score', task => 'regression', epochs => 2, frames => 40) AS m) x;
SELECT is(task, 'regression', 'the regressor is stored') FROM ttsp_model WHERE name = 'score';

-- Data larger than ttsp.train_memory streams from the source each epoch.
SET LOCAL ttsp.train_memory = '30MB';
SELECT ok((ttsp_train('streamed', 'sounds', 'spec', 'popular', epochs => 2, frames => 400, batch_size => 8)->>'accuracy')::float8 >= 0.9,
	'training streamed through a cursor learns too');
RESET ttsp.train_memory;

-- ttsp_predict(music_id) rebuilds the features from the file with the model's parameters.
\set audio_dir :fixtures 'audio'
SET ttsp.audio_dir = :'audio_dir';
CREATE TEMP TABLE one AS SELECT 1 AS id, ttsp_spectrogram(6790057285814061057, sample_rate => 8000, mono => true, n_fft => 128) AS spec, true AS popular;
-- three of each class: the fewest that leave a validation split (test_size 0)
INSERT INTO one SELECT i, ttsp_spectrogram(pg_temp.fixture(f), sample_rate => 8000, mono => true, n_fft => 128,
	offset_s => i * 0.1), f LIKE 'tone%'
FROM generate_series(2, 3) i, unnest(ARRAY['noise_stereo_44k.mp3', 'tone_mono_22k.mp3']) f;
INSERT INTO one SELECT 9, ttsp_spectrogram(pg_temp.fixture('noise_stereo_44k.mp3'), sample_rate => 8000, mono => true, n_fft => 128), false;
SELECT lives_ok($$ SELECT ttsp_train('from_files', 'one', 'spec', 'popular', epochs => 1, frames => 40, test_size => 0) $$,
	'a model on file features');
SET LOCAL ttsp.default_model = 'from_files';
SELECT is(ttsp_predict(6790057285814061057), ttsp_predict('from_files', spec), 'ttsp_predict(music_id) = ttsp_predict(model, its spectrogram)')
FROM one WHERE id = 1;

-- Errors.
CREATE TEMP TABLE empty_sounds (spec spectrogram, popular bool);
SELECT throws_ok($$ SELECT ttsp_train('x', 'empty_sounds', 'spec', 'popular') $$, 'P0002', 'no rows to train on', 'an empty table');
SELECT throws_ok($$ SELECT ttsp_predict('nope', spec) FROM sounds LIMIT 1 $$, '42704', 'model "nope" does not exist', 'a missing model');
SELECT throws_ok($$ SELECT ttsp_predict('pop', ttsp_spectrogram(pg_temp.fixture('tone_mono_22k.mp3'), n_fft => 100)) $$,
	'22023', 'spectrogram does not match model "pop"', 'a spectrogram of another shape');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'score') $$, '22023',
	'classification labels must be 0/1 or boolean, got 0.142857', 'non-binary labels for classification');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'file', 'popular') $$, '42804',
	'features column must be of type spectrogram, not text', 'features of the wrong type');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', optimizer => 'rmsprop') $$, '22023',
	'optimizer must be ''adam'', ''adamw'' or ''sgd'', got ''rmsprop''', 'unknown optimizer');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', epochs => 0) $$, '22023',
	'epochs must be between 1 and 100000, got 0', 'zero epochs');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', test_size => 1.5) $$, '22023',
	'test_size must be in [0, 1), got 1.5', 'absurd test_size');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', channels => '{8,0}') $$, '22023',
	'each of channels must be between 1 and 1024, got 0', 'a zero-width block');
SELECT throws_ok($$ SELECT ttsp_train('x', query => 'SELECT spec, true AS popular FROM sounds', features => 'spec', label => 'popular') $$,
	'22023', 'the label has only one class: all 160 rows are positive', 'one class only');
SELECT throws_ok($$ SELECT ttsp_train('x', query => 'SELECT spec, popular FROM sounds WHERE id = 1', features => 'spec', label => 'popular', test_size => 0.1) $$,
	'22023', '4 rows are too few for three splits at test_size 0.1 and validation_size 0.2: 4 train, 0 validation and 0 test rows',
	'too few rows for the split');
SELECT throws_ok($$ SELECT ttsp_train('x', query => 'SELECT spec, NULL::bool AS popular FROM sounds', features => 'spec', label => 'popular') $$,
	'P0002', 'no rows to train on', 'a label that is always NULL');
SELECT throws_ok($$ SELECT ttsp_train('x', query => 'SELECT spec, popular FROM sounds UNION ALL SELECT ttsp_spectrogram(pg_temp.fixture(''tone_mono_22k.mp3''), n_fft => 100), true', features => 'spec', label => 'popular') $$,
	'22023', 'spectrogram does not match model "x"', 'mixed spectrogram shapes');

SELECT throws_ok($$ SELECT ttsp_predict('pop', ttsp_spectrogram(pg_temp.fixture('tone_mono_22k.mp3'), sample_rate => 8000,
		mono => true, n_fft => 128, duration_s => 0.5, center => false)) $$,
	'22023', 'spectrogram does not match model "pop"', 'same shape, but not centred as the training features were');
SELECT throws_ok($$ SELECT ttsp_predict('pop', spec, version => 0) FROM sounds LIMIT 1 $$, '22023',
	'version must be positive, got 0', 'version 0');
SELECT throws_ok($$ SELECT ttsp_train('x', query => 'SELECT spec, file LIKE ''noise%'' AS popular FROM sounds WHERE id = 1',
		features => 'spec', label => 'popular', test_size => 0.5) $$,
	'22023', 'test_size 0.5 and validation_size 0.2 leave no positive rows to train on',
	'the split must leave both classes to train on');
SET LOCAL ttsp.train_memory = '30MB';
-- The same rows in another order on each pass (as a big table's synchronised
-- scans can return them): each row keeps its own pooled features. At a
-- learning rate of 1e-12 the default model stays its starting point, the
-- linear baseline, which is scored from the first pass's arrays.
CREATE TEMP TABLE shuffled AS SELECT ttsp_train('shuffled', query => 'SELECT spec, popular FROM sounds ORDER BY random()',
	features => 'spec', label => 'popular', epochs => 1, frames => 400, batch_size => 8, learning_rate => 1e-12) AS m;
SELECT ok((m->>'accuracy', m->>'roc_auc') = (m->'linear_baseline'->>'accuracy', m->'linear_baseline'->>'roc_auc')
		AND abs((m->>'log_loss')::float8 - (m->'linear_baseline'->>'log_loss')::float8) < 1e-6,
	'a streamed source that returns its rows in another order each pass: the linear baseline''s metrics')
FROM shuffled;
-- and cross-validated: each fold's linear baseline is scored on its own rows' labels
SELECT is(count(*) FILTER (WHERE f->'model'->>'roc_auc' = f->'linear_baseline'->>'roc_auc'
		AND f->'model'->>'accuracy' = f->'linear_baseline'->>'accuracy'), 3::bigint,
	'cross-validation of a streamed source in another order each pass: the model and its linear baseline agree in every fold')
FROM jsonb_array_elements(ttsp_cross_validate('SELECT spec, popular FROM sounds ORDER BY random()', 'spec', 'popular',
	folds => 3, epochs => 1, frames => 400, batch_size => 8, learning_rate => 1e-12)->'folds') f;
SELECT throws_ok($$ SELECT ttsp_train('x', query => 'SELECT spec, popular FROM sounds ORDER BY random() LIMIT 150',
		features => 'spec', label => 'popular', epochs => 2, frames => 400, batch_size => 8) $$,
	'55000', 'the training source returned different rows on a later pass', 'a streamed source that changes between passes');
RESET ttsp.train_memory;

-- Regression targets keep double precision: on the training split (test_size 0)
-- the mean baseline is the population variance, and with targets 1e8 and
-- 1e8 + 100 (which float4 cannot tell apart from 1e8 + 96 or + 104) that is
-- 100^2 k (n - k) / n^2 for the k rows of n at 1e8 + 100.
SELECT ok(EXISTS (SELECT 1 FROM generate_series(1, n - 1) k WHERE abs(b - 1e4 * k * (n - k) / (n * n)) <= 1e-9 * b),
	format('large regression targets: baseline_mse %s is 100^2 k (n - k) / n^2 for n = %s', b, n))
FROM (SELECT (m->>'baseline_mse')::float8 AS b, (m->>'n')::int AS n
	FROM (SELECT ttsp_train('big', query => 'SELECT spec, 1e8 + 100 * (id % 2) AS score FROM sounds WHERE id <= 10',
		features => 'spec', label => 'score', task => 'regression', epochs => 1, frames => 40, test_size => 0) AS m) t) u;

-- A model replaced within one transaction is not served from the cache.
CREATE TEMP TABLE replaced AS SELECT 1 AS step, ttsp_train('re', 'sounds', 'spec', 'popular', epochs => 1, frames => 40) AS m;
CREATE TEMP TABLE replaced_p AS SELECT 1 AS step, ttsp_predict('re', spec) AS p FROM sounds WHERE id = 1 AND file = 'tone_mono_22k.mp3';
DELETE FROM ttsp_model WHERE name = 're';
INSERT INTO replaced SELECT 2, ttsp_train('re', 'sounds', 'spec', 'score', task => 'regression', epochs => 1, frames => 40);
INSERT INTO replaced_p SELECT 2, ttsp_predict('re', spec) FROM sounds WHERE id = 1 AND file = 'tone_mono_22k.mp3';
SELECT is((SELECT array_agg(version) FROM ttsp_model WHERE name = 're'), ARRAY[1], 'the replacement is version 1 again');
SELECT isnt((SELECT p FROM replaced_p WHERE step = 1), (SELECT p FROM replaced_p WHERE step = 2),
	'and ttsp_predict uses it, not the cached classifier');

-- ttsp_evaluate keeps its model while the source query loads five others.
CREATE TEMP VIEW many AS
SELECT spec, ttsp_predict('pop', spec, version => 1) + ttsp_predict('pop', spec, version => 2) + ttsp_predict('score', spec)
	+ ttsp_predict('streamed', spec) + ttsp_predict('from_files', spec) + ttsp_predict('big', spec) * 0 > 2 AS label
FROM sounds WHERE id <= 5;
CREATE TEMP TABLE many_copy AS SELECT * FROM many;
SELECT is(ttsp_evaluate('pop', 'many', 'spec', 'label'), ttsp_evaluate('pop', 'many_copy', 'spec', 'label'),
	'evaluating over a view that uses five other models gives the same metrics as over its copy');

-- Just enough ttsp.train_memory for the network: no rows cached, all streamed.
DO $$
DECLARE msg text;
BEGIN
	PERFORM set_config('ttsp.train_memory', '16MB', true);
	BEGIN
		PERFORM ttsp_train('tight', 'sounds', 'spec', 'popular', epochs => 1, frames => 4000, channels => '{4}');
	EXCEPTION WHEN program_limit_exceeded THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
	END;
	-- the network, plus the first 1024 rows' bookkeeping: hash, label, frames and cache
	-- offset (28 bytes) and twice their 2 x 65 pooled features in float8 (2080 bytes): 2108 kB
	PERFORM set_config('ttsp.train_memory', (substring(msg FROM 'needs (\d+) kB')::int + 2108 + 1) || 'kB', true);
END $$;
SELECT lives_ok($$ SELECT ttsp_train('tight', 'sounds', 'spec', 'popular', epochs => 1, frames => 4000, channels => '{4}') $$,
	'training with room for the network and no cached row');
RESET ttsp.train_memory;

CREATE TEMP TABLE "my sounds" AS SELECT * FROM sounds WHERE id <= 10;
SELECT is((ttsp_train('quoted', '"my sounds"', 'spec', 'popular', epochs => 1, frames => 40, test_size => 0)->>'n')::int, 32,
	'a quoted table name given positionally is read as a table (40 rows, 8 of them validation)');

-- Validation and early stopping: labels unrelated to the audio, so the validation loss soon stops falling.
CREATE TEMP TABLE es AS
SELECT ttsp_train('es', query => 'SELECT spec, id % 2 = 0 AS noisy FROM sounds', features => 'spec', label => 'noisy',
	epochs => 40, frames => 40, patience => 2, learning_rate => 0.01) AS m;
SELECT ok((m->>'epochs_run')::int < 40, 'stops early: fewer than 40 epochs at patience 2') FROM es;
SELECT is(best_epoch, (SELECT CASE WHEN (metrics->>'start_validation_loss')::float8 <= min(v) THEN 0
		ELSE (array_agg(i::int ORDER BY v, i))[1] END FROM unnest(validation_loss) WITH ORDINALITY u(v, i)),
	'the kept epoch is the one with the lowest validation loss (0: the start, if no epoch beat it)') FROM ttsp_model WHERE name = 'es';
SELECT is((array_length(train_loss, 1), array_length(validation_loss, 1), array_length(test_loss, 1), best_epoch <= array_length(train_loss, 1)),
	((m->>'epochs_run')::int, (m->>'epochs_run')::int, (m->>'epochs_run')::int, true), 'one loss per epoch run, in every curve')
FROM ttsp_model, es WHERE name = 'es';
SELECT is((ttsp_train('es', 'sounds', 'spec', 'popular', epochs => 3, frames => 40, patience => NULL)->>'epochs_run')::int, 3,
	'patience => NULL runs every epoch');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', patience => 0) $$,
	'22023', 'patience must be at least 1 (or NULL for no early stopping), got 0', 'patience below 1');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', validation_size => 0.6) $$,
	'22023', 'validation_size must be in (0, 0.5], got 0.6', 'validation_size above 0.5');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', validation_size => 0) $$,
	'22023', 'validation_size must be in (0, 0.5], got 0', 'validation_size 0');

-- Warm start: the seed's "more epochs of SGD" on a stored model.  At a
-- learning rate of 1e-30 the weights cannot move, so the continued model
-- is as accurate as its parent after one epoch, where a fresh CNN is not
-- (a fresh 'cnn' starts as the linear baseline, so the control is 'deep').
SELECT ok((ttsp_train('warm', 'sounds', 'spec', 'popular', init_model => 'pop', init_version => 1, optimizer => 'sgd',
	learning_rate => 1e-30, epochs => 1, frames => 40)->>'accuracy')::float8 >= 0.95
	AND (ttsp_train('cold', 'sounds', 'spec', 'popular', optimizer => 'sgd', architecture => 'deep',
	learning_rate => 1e-30, epochs => 1, frames => 40)->>'accuracy')::float8 < 0.95,
	'init_model continues from the stored weights');
SELECT ok(w.norm_mean = p.norm_mean AND w.norm_std = p.norm_std
	AND w.hyperparameters->'init_model' = '{"name": "pop", "version": 1}', 'with its standardisation, and records its parent')
FROM ttsp_model w, ttsp_model p WHERE w.name = 'warm' AND p.name = 'pop' AND p.version = 1;
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', init_model => 'nope') $$,
	'42704', 'model "nope" does not exist', 'init_model that does not exist');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'score', task => 'regression', init_model => 'pop') $$,
	'22023', 'init_model "pop" is a classification model, not a regression one', 'init_model of another task');
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', init_model => 'pop', channels => '{4}') $$,
	'22023', 'init_model "pop" has 4 blocks, not the 1 of channels', 'init_model of another architecture');

-- AdamW and augmentation (masks and gain on training batches, from their own seeded stream).
SELECT ttsp_train('aug_plain', 'sounds', 'spec', 'popular', optimizer => 'adamw', epochs => 1, frames => 40,
	patience => NULL, time_mask_param => 0, freq_mask_param => 0, gain_db => 0) IS NOT NULL AS trained;
CREATE TEMP TABLE aug AS
SELECT i, ttsp_train('aug' || i, 'sounds', 'spec', 'popular', optimizer => 'adamw', epochs => 1, frames => 40,
	time_mask_param => 8, freq_mask_param => 6, gain_db => 6, patience => NULL) AS m
FROM generate_series(1, 2) i;
SELECT is((hyperparameters->>'optimizer', (hyperparameters->>'weight_decay')::float8, (hyperparameters->>'time_mask_param')::int),
	('adamw'::text, 0.01::float8, 8), 'AdamW with torch''s weight_decay 0.01, and the masks, are recorded')
FROM ttsp_model WHERE name = 'aug1';
SELECT ok(a.weights = b.weights AND a.weights <> c.weights,
	'augmented training is the same bits for the same seed, and not those of plain AdamW')
FROM ttsp_model a, ttsp_model b, (SELECT weights FROM ttsp_model WHERE name = 'aug_plain') c
WHERE a.name = 'aug1' AND b.name = 'aug2';
SELECT throws_like($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', frames => 40, time_mask_param => 41) $$,
	'%time_mask_param%', 'a time mask wider than the input');
SELECT is((hyperparameters->>'time_mask_param', hyperparameters->>'freq_mask_param', hyperparameters->>'gain_db'),
	('4'::text, '10'::text, '6'::text), 'by default, masks of a tenth of the 40 frames and a sixth of the 65 bins, and a 6 dB gain')
FROM ttsp_model WHERE name = 'pop' AND version = 1;
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', weight_decay => -1) $$,
	'22023', 'weight_decay must be a non-negative number, got -1', 'a negative weight_decay');

-- architecture => 'linear': the baseline alone, as a model ttsp_predict serves.  Its
-- split and fit are those of the baseline beside the CNN of run 1, so its metrics must be too.
CREATE TEMP TABLE lin AS SELECT ttsp_train('lin', 'sounds', 'spec', 'popular', architecture => 'linear') AS m;
SELECT is((l.m->>'accuracy', l.m->>'roc_auc', l.m->>'log_loss', l.m->>'alpha'),
	(r.m->'linear_baseline'->>'accuracy', r.m->'linear_baseline'->>'roc_auc', r.m->'linear_baseline'->>'log_loss',
	 r.m->'linear_baseline'->>'alpha'),
	'a linear model''s test metrics are those of the baseline reported beside the CNN')
FROM lin l, runs r WHERE r.run = 1;
SELECT is((ttsp_evaluate('lin', 'sounds', 'spec', 'popular')->>'accuracy')::float8,
	avg(((ttsp_predict('lin', spec) >= 0.5) = popular)::int)::float8,
	'ttsp_predict and ttsp_evaluate serve it') FROM sounds;
SELECT is(count(*), 160::bigint, 'and so does the model-as-value form, bit for bit')
FROM sounds s JOIN ttsp_latest_model m ON m.name = 'lin' WHERE ttsp_predict(m.model, s.spec) = ttsp_predict('lin', s.spec);
SELECT throws_ok($$ SELECT ttsp_train('x', 'sounds', 'spec', 'popular', architecture => 'transformer') $$,
	'22023', 'architecture must be ''cnn'', ''deep'', ''linear'' or ''mlp'', got ''transformer''', 'an unknown architecture');
SELECT throws_ok($$ SELECT ttsp_saliency('lin', spec) FROM sounds LIMIT 1 $$,
	'22023', 'model "lin" is linear: saliency needs a CNN', 'saliency of a linear model');

-- A cancelled training stores nothing (psql shows the error).
\set ON_ERROR_STOP 0
SAVEPOINT before_cancel;
SET LOCAL statement_timeout = '300ms';
SELECT ttsp_train('cancelled', 'sounds', 'spec', 'popular', epochs => 10000, frames => 40);
ROLLBACK TO before_cancel;
\set ON_ERROR_STOP 1
SELECT is(count(*), 0::bigint, 'no partial model after a cancel') FROM ttsp_model WHERE name = 'cancelled';

SELECT * FROM finish();
ROLLBACK;
