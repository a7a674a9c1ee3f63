-- Per-sound covariates from the trending CSV's metadata, for covariate
-- models (README "Covariates"); needs trending and sounds (demo-prepare.sql).
-- None is computed from play counts: the label (popular, log_plays) is.
CREATE TABLE sound_covariates AS
SELECT s.music_id, s.popular, s.log_plays,
	-- share of the sound's trending videos whose creator is verified
	avg(t.user_verified::int)::float8 AS verified_share,
	-- mean length in seconds of those videos
	avg(t.video_duration)::float8 AS mean_duration,
	-- TikTok's label for audio a creator recorded, in the languages the CSV holds
	bool_or(t.music_title ILIKE ANY (ARRAY['original sound%', 'som original%', 'sonido original%',
		'suono originale%', 'originalton%', 'son original%'])) AS original_sound,
	-- how many of the 1,000 trending videos use the sound (not their plays)
	count(*)::int AS videos
FROM sounds s JOIN trending t USING (music_id)
GROUP BY s.music_id, s.popular, s.log_plays;
ALTER TABLE sound_covariates ADD PRIMARY KEY (music_id);
