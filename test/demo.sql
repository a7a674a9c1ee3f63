-- The demo's SQL (data/demo-*.sql) on 40 sounds and 2 epochs, so that
-- scripts/demo's steps keep working.
\getenv abs_srcdir PG_ABS_SRCDIR
\getenv abs_builddir PG_ABS_BUILDDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(17);

\set step :datadir 'demo-prepare.sql'
\i :step
SELECT is((count(*), sum(popular::int)), (907::bigint, 227::bigint), 'one row per sound; the top 25% by plays are popular')
FROM sounds;
SELECT ok(min(plays) FILTER (WHERE popular) > max(plays) FILTER (WHERE NOT popular), 'popular means more plays than any other sound')
FROM sounds;

-- 10 popular and 30 other sounds, and their stand-in audio.
DELETE FROM sounds WHERE music_id NOT IN (
	SELECT music_id FROM (SELECT music_id, popular, row_number() OVER (PARTITION BY popular ORDER BY music_id) AS n
		FROM sounds) s
	WHERE n <= CASE WHEN popular THEN 10 ELSE 30 END);
\set audio :abs_builddir '/results/demo-audio'
\set labels :audio '/labels.csv'
\set mkdir `mkdir -p :audio && echo ok`
\set export '\\copy (SELECT music_id, popular::int FROM sounds ORDER BY music_id) TO ' :'labels' ' WITH (FORMAT csv)'
:export
\set generated `:abs_srcdir/../scripts/make-demo-audio :labels :audio 2>/dev/null && ls :audio | grep -c mp3`
SELECT is(:'generated'::text, '40', 'scripts/make-demo-audio wrote 40 clips');
SET ttsp.audio_dir = :'audio';
SET ttsp.default_model = 'popular';

\set epochs 2
\set step :datadir 'demo-train.sql'
\i :step
SELECT is(count(*), 40::bigint, 'spectrograms from the clips with the seed''s n_fft 100') FROM sounds WHERE ttsp_bins(spec) = 51;
SELECT ok(metrics ?& ARRAY['accuracy', 'balanced_accuracy', 'roc_auc', 'baseline_accuracy'], 'classifier metrics with the baseline')
FROM demo_metrics WHERE model LIKE 'popular%';
SELECT ok(metrics ?& ARRAY['mse', 'r2', 'baseline_mse'], 'regressor metrics with the baseline')
FROM demo_metrics WHERE model LIKE 'log10%';
SELECT is(count(*), 40::bigint, 'the design card''s ttsp_predict(music_id) scores every sound')
FROM (SELECT music_title, music_author, ttsp_predict(music_id) AS p FROM sounds ORDER BY 3 DESC) x WHERE p BETWEEN 0 AND 1;
\set step :datadir 'demo-covariates.sql'
\i :step
SELECT is(count(*), 2::bigint, 'two cross-validated covariate models, each with both baselines')
FROM demo_cv WHERE cv->'mean' ?& ARRAY['model', 'linear_baseline', 'majority_baseline'];
SELECT ok(metrics ?& ARRAY['accuracy', 'roc_auc', 'linear_baseline'], 'the combined model: covariates beside the audio CNN')
FROM demo_combined;
SELECT is(count(*), 40::bigint, 'which scores every sound from its row')
FROM sounds_with_covariates s WHERE ttsp_predict('popular_combined', s) BETWEEN 0 AND 1;
SET ttsp.default_model = 'popular_combined';
SELECT is(count(*), 40::bigint, 'and ttsp_predict(music_id) gives the same: the audio from its file, the covariates from the training table''s row')
FROM sounds_with_covariates s WHERE ttsp_predict(s.music_id) = ttsp_predict('popular_combined', s);
SET ttsp.default_model = 'popular';
SELECT is(count(*), 40::bigint, 'the stored covariate model scores every sound from its row')
FROM sound_covariates s WHERE ttsp_predict('popular_meta', s) BETWEEN 0 AND 1;
SELECT is(substr(ttsp_loss_curve_png('popular'), 2, 3), '\x504e47'::bytea, 'loss curve PNG');
SELECT is(substr(ttsp_spectrogram_png(spec), 2, 3), '\x504e47'::bytea, 'spectrogram PNG') FROM sounds LIMIT 1;
SELECT is(substr(ttsp_saliency_png('popular', spec), 2, 3), '\x504e47'::bytea, 'saliency PNG of the top-scored sound')
FROM sounds ORDER BY ttsp_predict('popular', spec) DESC, music_id LIMIT 1;
SELECT is(substr(ttsp_roc_png('popular', 'sounds', 'spec', 'popular'), 2, 3), '\x504e47'::bytea, 'ROC curve PNG');

CREATE TEMP TABLE style (music_id bigint, style int);
\set manifest :audio '/manifest.csv'
\set load '\\copy style FROM ' :'manifest' ' WITH (FORMAT csv)'
:load
SELECT ok(avg((style = popular::int)::int) BETWEEN 0.7 AND 1, 'the stand-in audio follows the labels up to the documented 10% noise')
FROM style JOIN sounds USING (music_id);

SELECT * FROM finish();
ROLLBACK;
