-- strategy => 'averaged': training as rounds of the ttsp_train_round aggregate,
-- on parallel workers, and the aggregate's functions given bad input.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(15);

-- A filler column spreads the rows over pages, so each worker scans some.
CREATE TABLE sounds (id int, spec spectrogram, popular boolean, filler text);
ALTER TABLE sounds ALTER COLUMN filler SET STORAGE PLAIN;
INSERT INTO sounds
SELECT i, ttsp_spectrogram(pg_temp.fixture(f), sample_rate => 8000, mono => true, n_fft => 128,
		offset_s => (i % 5) * 0.05, duration_s => 0.5),
	f LIKE 'noise%', repeat('x', 2000)
FROM generate_series(1, 16) i, unnest(ARRAY['tone_mono_22k.mp3', 'noise_stereo_44k.mp3']) f;

SELECT throws_ok($$ SELECT ttsp_train('a', 'sounds', 'spec', 'popular', strategy => 'federated') $$,
	'22023', 'strategy must be ''local'' or ''averaged'', got ''federated''', 'an unknown strategy is named');
SELECT throws_ok($$ SELECT ttsp_train('a', 'sounds', 'spec', 'popular', strategy => 'averaged', rounds_per_epoch => 0) $$,
	'22023', NULL, 'rounds_per_epoch below 1');
SELECT throws_ok($$ SELECT ttsp_train('a', 'sounds', 'spec', 'popular', strategy => 'averaged', architecture => 'linear') $$,
	'22023', NULL, 'a linear model has no rounds');
SELECT throws_ok($$ SELECT ttsp_train('a', 'sounds', 'spec', 'popular', strategy => 'averaged', time_mask_param => 4) $$,
	'22023', 'strategy ''averaged'' does not augment: time_mask_param, freq_mask_param and gain_db must be 0 or NULL',
	'the rounds do not augment');

SELECT ttsp_train('a', 'sounds', 'spec', 'popular', epochs => 2, frames => 40, strategy => 'averaged',
	rounds_per_epoch => 2) IS NOT NULL AS trained;
SELECT is((hyperparameters->>'strategy', hyperparameters->>'rounds_per_epoch', array_length(train_loss, 1))::text,
	'(averaged,2,2)', 'the averaged model is stored with its strategy and its epochs'' losses')
FROM ttsp_model WHERE name = 'a';
SELECT is(count(*), 32::bigint, 'and predicts every row')
FROM sounds WHERE ttsp_predict('a', spec) BETWEEN 0 AND 1;
-- one round of one partial aggregate is local training with a shuffle buffer: not the same numbers
SELECT ttsp_train('l', 'sounds', 'spec', 'popular', epochs => 2, frames => 40) IS NOT NULL AS trained;
SELECT is((a.metrics->>'n', a.metrics->>'split'), (l.metrics->>'n', l.metrics->>'split'),
	'the same test split as strategy ''local''')
FROM ttsp_model a, ttsp_model l WHERE a.name = 'a' AND l.name = 'l';

-- On parallel workers: the aggregate is pushed below the Gather, and training works through it.
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
ALTER TABLE sounds SET (parallel_workers = 2);
SELECT matches(pg_temp.explain($$ SELECT ttsp_train_round(spec, popular::int::float8, NULL, NULL) FROM sounds WHERE id < 0 $$),
	'Finalize Aggregate.*Gather.*Workers Launched: 2.*Partial Aggregate', 'the aggregate runs as partial aggregates on 2 workers');
SELECT ttsp_train('p', 'sounds', 'spec', 'popular', epochs => 2, frames => 40, strategy => 'averaged') IS NOT NULL AS trained;
SELECT is(count(*), 32::bigint, 'a model averaged over parallel workers predicts every row')
FROM sounds WHERE ttsp_predict('p', spec) BETWEEN 0 AND 1;
RESET max_parallel_workers_per_gather;

-- The functions are callable with any bytes and any jsonb.
SELECT throws_ok($$ SELECT ttsp_train_round_combine('\x00'::bytea, '\x00'::bytea) $$,
	'XX001', 'corrupt averaging state: too short', 'combine: bytes that are no state');
SELECT throws_ok($$ SELECT ttsp_train_round_step(NULL, NULL, NULL, NULL, NULL) $$,
	'0A000', NULL, 'the transition function outside the aggregate');
SELECT throws_ok($$ SELECT ttsp_train_round(spec, 1, '\x5454535041564700'::bytea, '{}') FROM sounds $$,
	'22023', 'ttsp_train_round hyperparameters: "task" is missing or not a string', 'the aggregate: hyperparameters without a task');
SELECT throws_ok($$ SELECT ttsp_train_round(spec, 1, NULL, '{}') FROM sounds $$,
	'22004', NULL, 'the aggregate: a NULL model');
-- the hyperparameters ttsp_train wrote, with a model that is not a state
CREATE TEMP TABLE hp AS SELECT ('{"task": "classification", "loss": "bce", "optimizer": "adam", "learning_rate": 0.001,
	"weight_decay": 0, "batch_size": 4, "seed": 12, "epoch": 0, "round": 0, "rounds": 1, "shuffle_rows": 8,
	"optimizer_state": "local", "window": "random", "channels": 1, "bins": 65, "frames": 40, "target_mean": 0, "target_std": 1,
	"norm_mean": [' || array_to_string(array_fill(0, ARRAY[65]), ',') || '], "norm_std": [' ||
	array_to_string(array_fill(1, ARRAY[65]), ',') || '], "test_max_hash": [null, null],
	"validation_max_hash": [null, "12"]}')::jsonb AS h;
SELECT throws_ok($$ SELECT ttsp_train_round(spec, 1, weights, (SELECT h FROM hp)) FROM sounds, ttsp_model WHERE name = 'a' $$,
	'XX001', 'corrupt averaging state: bad magic (not a ttsp averaging state)', 'the aggregate: a model''s weights are not a state');
SELECT throws_ok($$ SELECT ttsp_train_round(spec, 1, '\x00'::bytea, jsonb_set((SELECT h FROM hp), '{norm_std,3}', '0')) FROM sounds $$,
	'22023', 'ttsp_train_round hyperparameters: "norm_std" must hold finite positive numbers', 'the aggregate: a zero deviation');

SELECT * FROM finish();
ROLLBACK;
