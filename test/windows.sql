-- Whole clips: random training windows, sliding-window prediction pooled by
-- mean or max, the linear term a default model starts from, and a late
-- event that a model reading only the first window cannot see.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(20);

-- Synthetic power spectrograms (8 bins, 200 frames): noise everywhere, and
-- in class 1 a loud bin 6 in the last 40 frames only.  A window is 40 frames.
SELECT setseed(0.25);
CREATE TABLE late AS
SELECT i AS id, i % 2 = 1 AS event,
	ttsp_make_spectrogram((SELECT array_agg(row ORDER BY b) FROM (
		SELECT b, array_agg((CASE WHEN i % 2 = 1 AND b = 6 AND f > 160 THEN 50 ELSE 1 END
			* exp(random() - 0.5))::real ORDER BY f) AS row
		FROM generate_series(1, 8) b, generate_series(1, 200) f GROUP BY b) x),
		'power', 8000, 14) AS spec
FROM generate_series(1, 24) i;
-- make_spectrogram takes [bins][frames] for one channel
SELECT is((ttsp_channels(spec), ttsp_bins(spec), ttsp_frames(spec)), (1, 8, 200), 'clips of 1 x 8 x 200')
FROM late WHERE id = 1;

CREATE TEMP TABLE fit AS
SELECT ttsp_train('late', 'late', 'spec', 'event', epochs => 5, frames => 40, channels => '{4, 8}') AS m;
SELECT ok((m->>'accuracy')::float8 = 1 AND (m->>'n')::int = 6,
	'the default model learns the late event: test accuracy 1 on 6 held-out clips') FROM fit;
-- the control: without its last 40 frames no clip has the event, and the model says so
SELECT ok(avg(((ttsp_predict('late', ttsp_make_spectrogram((spec::real[])[1:1][1:8][1:160], 'power', 8000, 14)) >= 0.5)
	= event)::int) <= 0.6, 'what it learned is the event: with the last 40 frames cut, it is at chance') FROM late;
SELECT is(pool, 'mean', 'its windows are pooled by the mean') FROM ttsp_model WHERE name = 'late';
SELECT ok((architecture->>'extra_inputs')::int = 16 AND architecture->>'architecture' = 'cnn',
	'architecture ''cnn'': a linear term on the 2 x 8 pooled features beside the CNN')
FROM ttsp_model WHERE name = 'late';
-- Epoch 0 is the linear baseline itself: an epoch of SGD at 1e-30 cannot
-- move a weight, so it does not improve on the start, which is kept; and
-- the model predicts as architecture 'linear' fitted on the same split.
SELECT ok((ttsp_train('late_start', 'late', 'spec', 'event', epochs => 1, frames => 40, channels => '{4, 8}',
	optimizer => 'sgd', learning_rate => 1e-30)->>'best_epoch')::int = 0,
	'an epoch no better than the start: the starting weights are kept (best_epoch 0)');
SELECT ttsp_train('late_lin', 'late', 'spec', 'event', architecture => 'linear') IS NOT NULL AS trained;
SELECT ok(max(abs(ttsp_predict('late_start', spec) - ttsp_predict('late_lin', spec))) < 1e-5,
	'and those predict as the linear model: the start is the baseline') FROM late;

-- Pooling, checked from outside: a regressor's clip value is the mean (or
-- the maximum) of its windows' values.  The windows start every 20 frames
-- (half a window), the last one flush with the end: 0, 20, ..., 160.  A
-- 'deep' model (no linear term on the whole clip) so that each window
-- scored alone sees what it sees inside the clip.
CREATE FUNCTION pg_temp.window_of(s spectrogram, start int) RETURNS spectrogram
LANGUAGE sql AS $$
	SELECT ttsp_make_spectrogram((SELECT array_agg(row ORDER BY b) FROM (
		SELECT b, array_agg(a[1][b][f] ORDER BY f) AS row
		FROM (SELECT s::real[] AS a) x, generate_series(1, 8) b, generate_series(start + 1, start + 40) f
		GROUP BY b) y), 'power', 8000, 14)
$$;
SELECT ttsp_train('late_mean', 'late', 'spec', 'id', task => 'regression', architecture => 'deep',
	epochs => 1, frames => 40, channels => '{4}') IS NOT NULL AS trained;
SELECT ttsp_train('late_max', 'late', 'spec', 'id', task => 'regression', architecture => 'deep', pool => 'max',
	epochs => 1, frames => 40, channels => '{4}') IS NOT NULL AS trained;
SELECT ttsp_train('late_first', 'late', 'spec', 'id', task => 'regression', architecture => 'deep', pool => 'first',
	epochs => 1, frames => 40, channels => '{4}') IS NOT NULL AS trained;
CREATE TEMP TABLE pooled AS
SELECT l.id, ttsp_predict('late_mean', l.spec) AS mean_clip, ttsp_predict('late_max', l.spec) AS max_clip, w.*
FROM late l, LATERAL (SELECT avg(ttsp_predict('late_mean', pg_temp.window_of(l.spec, s))) AS mean_windows,
	max(ttsp_predict('late_max', pg_temp.window_of(l.spec, s))) AS max_windows
	FROM generate_series(0, 160, 20) s) w;
SELECT ok(bool_and(abs(mean_clip - mean_windows) < 1e-5 * (1 + abs(mean_windows))),
	'pool mean: a clip''s value is the mean of its 9 windows'' values') FROM pooled;
SELECT ok(bool_and(abs(max_clip - max_windows) < 1e-5 * (1 + abs(max_windows))),
	'pool max: the maximum of them') FROM pooled;
SELECT is(count(*), 24::bigint, 'pool first (the 0.2.0 behaviour): the first window alone')
FROM late WHERE ttsp_predict('late_first', spec) = ttsp_predict('late_first', pg_temp.window_of(spec, 0));
SELECT is(count(*), 24::bigint, 'ttsp_evaluate pools the same windows: its MSE is the one computed from ttsp_predict')
FROM late l, (SELECT (ttsp_evaluate('late_max', 'late', 'spec', 'id')->>'mse')::float8 AS mse) e,
	(SELECT avg((ttsp_predict('late_max', spec) - id) ^ 2) AS mse FROM late) p
WHERE abs(e.mse - p.mse) < 1e-9 * p.mse;

-- On two threads the net's helper thread takes the windows as they are
-- filled, while the next rows are read: the same bits.  An error with the
-- helper at work (a clip of another shape, read after 200 windows) loses
-- nothing, and the next call runs as before.
CREATE TEMP TABLE one_thread AS
SELECT ttsp_evaluate('late', 'late', 'spec', 'event') AS e, ttsp_evaluate('late_max', 'late', 'spec', 'id') AS r,
	(SELECT array_agg(ttsp_predict('late', spec) ORDER BY id) FROM late) AS p;
SET LOCAL ttsp.threads = 2;
SELECT ok(e = ttsp_evaluate('late', 'late', 'spec', 'event') AND r = ttsp_evaluate('late_max', 'late', 'spec', 'id'),
	'ttsp_evaluate on two threads, windows taken as they are filled: the metrics of one thread, to the bit') FROM one_thread;
SELECT is((SELECT array_agg(ttsp_predict('late', spec) ORDER BY id) FROM late), p,
	'ttsp_predict of a 9-window clip on two threads: the same bits') FROM one_thread;
CREATE TEMP TABLE late_bad AS SELECT id, spec FROM late
UNION ALL SELECT 25, ttsp_make_spectrogram(array_fill(1::real, ARRAY[4, 200]), 'power', 8000, 6);
SELECT throws_like($$ SELECT ttsp_evaluate('late_max', 'late_bad', 'spec', 'id') $$, '%does not match model%',
	'a clip of another shape with the helper at work: an error');
SELECT ok(r = ttsp_evaluate('late_max', 'late', 'spec', 'id'), 'then the same metrics') FROM one_thread;
-- training's validation passes score that way too: the same weights, epoch kept and losses
SELECT ttsp_train('late_2t', 'late', 'spec', 'event', epochs => 5, frames => 40, channels => '{4, 8}') IS NOT NULL AS trained;
SELECT ok(a.weights = b.weights AND a.best_epoch = b.best_epoch AND a.metrics = b.metrics,
	'trained on two threads: the weights, the epoch kept and the metrics of one thread, to the bit')
FROM ttsp_model a, ttsp_model b WHERE a.name = 'late' AND b.name = 'late_2t';
RESET ttsp.threads;

-- ttsp_evaluate and ttsp_roc_png read their source, which may be a temporary
-- table: PARALLEL RESTRICTED, so forced parallel mode keeps them in the leader.
CREATE TEMP TABLE late_tmp AS SELECT * FROM late;
SET LOCAL force_parallel_mode = on;
SELECT lives_ok($$ SELECT ttsp_evaluate('late_max', 'late_tmp', 'spec', 'id'), ttsp_roc_png('late', 'late_tmp', 'spec', 'event') $$,
	'ttsp_evaluate and ttsp_roc_png on a temporary table under force_parallel_mode');
RESET force_parallel_mode;

-- A clip shorter than a window is padded, and judged on its one window.
SELECT ok(ttsp_predict('late_mean', pg_temp.window_of(spec, 0)) IS NOT NULL
	AND ttsp_predict('late_mean', ttsp_make_spectrogram((spec::real[])[1:1][1:8][1:10], 'power', 8000, 14)) IS NOT NULL,
	'a 10-frame clip (under a window) is padded, not refused') FROM late WHERE id = 1;

SELECT throws_ok($$ SELECT ttsp_train('x', 'late', 'spec', 'event', pool => 'median') $$,
	'22023', 'pool must be ''mean'', ''max'' or ''first'', got ''median''', 'an unknown pool');
SELECT throws_ok($$ SELECT ttsp_train('x', 'late', 'spec', 'event', architecture => 'deep', init_model => 'late',
	channels => '{4, 8}') $$,
	'22023', 'init_model "late" is a CNN with a linear term: train it further with architecture => ''cnn''',
	'warm start across architectures');

SELECT * FROM finish();
ROLLBACK;
