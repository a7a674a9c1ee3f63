-- Demo, step 3: models of the REAL labels from the CSV's metadata, and a
-- combined model whose audio half is the SYNTHETIC stand-in audio.
-- Needs sounds with spec (demo-train.sql); psql variable: datadir.
\ir sound-covariates.sql

-- Two summaries of each clip's spectrogram, computed in SQL without any
-- training, from one bin (25 of 51 at n_fft 100 and 8 kHz: 2 kHz, where
-- the stand-in drums' noise is and the tones are not): the mean over the
-- frames of its log power, and their deviation (drum hits make it jump).
-- They describe the synthetic audio, which was made from the labels.
CREATE TABLE audio_summary AS
SELECT s.music_id, avg(log(x.v::float8 + 1e-10)) AS hf_level, stddev_pop(log(x.v::float8 + 1e-10)) AS hf_log_std
FROM sounds s, unnest((ttsp_to_array(s.spec))[1:1][25:25][:]) x(v)
GROUP BY s.music_id;

CREATE TABLE demo_cv AS
SELECT 'covariates, linear (REAL labels)' AS model, ttsp_cross_validate('sound_covariates', NULL, 'popular',
	architecture => 'linear', covariates => '{verified_share,mean_duration,original_sound,videos}') AS cv
UNION ALL
SELECT 'covariates, MLP (REAL labels)', ttsp_cross_validate('sound_covariates', NULL, 'popular',
	architecture => 'mlp', epochs => 200, learning_rate => 0.003, patience => 20,
	covariates => '{verified_share,mean_duration,original_sound,videos}')
UNION ALL
SELECT 'covariates + synthetic audio summary, MLP (SYNTHETIC)', ttsp_cross_validate(
	'SELECT * FROM sound_covariates JOIN audio_summary USING (music_id)', NULL, 'popular',
	architecture => 'mlp', epochs => 200, learning_rate => 0.003, patience => 20,
	covariates => '{verified_share,mean_duration,original_sound,videos,hf_level,hf_log_std}');
-- the stored covariate model that ttsp_predict serves, row by row
CREATE TABLE demo_meta_model AS SELECT ttsp_train('popular_meta', 'sound_covariates', NULL, 'popular',
	architecture => 'linear', covariates => '{verified_share,mean_duration,original_sound,videos}') AS metrics;
