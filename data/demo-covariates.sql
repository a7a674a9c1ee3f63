-- Demo, step 3: models of the REAL labels from the CSV's metadata, and a
-- combined model whose audio half is the SYNTHETIC stand-in audio.
-- Needs sounds with spec (demo-train.sql); psql variables: datadir, epochs.
\ir sound-covariates.sql

CREATE TABLE demo_cv AS
SELECT 'covariates, linear (REAL labels)' AS model, ttsp_cross_validate('sound_covariates', NULL, 'popular',
	architecture => 'linear', covariates => '{verified_share,mean_duration,original_sound,videos}') AS cv
UNION ALL
SELECT 'covariates, MLP (REAL labels)', ttsp_cross_validate('sound_covariates', NULL, 'popular',
	architecture => 'mlp', epochs => 200, learning_rate => 0.003, patience => 20,
	covariates => '{verified_share,mean_duration,original_sound,videos}')
;
-- The combined model: the covariates beside the SYNTHETIC audio, in the
-- CNN's head and in its linear baseline.  Its split hashes the covariates
-- too, so its test rows are not quite the audio CNN's.
CREATE VIEW sounds_with_covariates AS
SELECT s.music_id, s.spec, s.popular, c.verified_share, c.mean_duration, c.original_sound, c.videos
FROM sounds s JOIN sound_covariates c USING (music_id);
CREATE TABLE demo_combined AS
SELECT ttsp_train('popular_combined', 'sounds_with_covariates', 'spec', 'popular', epochs => :epochs,
	covariates => '{verified_share,mean_duration,original_sound,videos}') AS metrics;
-- the stored covariate model that ttsp_predict serves, row by row
CREATE TABLE demo_meta_model AS SELECT ttsp_train('popular_meta', 'sound_covariates', NULL, 'popular',
	architecture => 'linear', covariates => '{verified_share,mean_duration,original_sound,videos}') AS metrics;
