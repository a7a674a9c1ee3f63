-- Demo, step 2: spectrograms of the audio in ttsp.audio_dir, then the seed's
-- two models.  psql variables: epochs.
-- The seed's create_spectrogram(music_id, n_fft=100), of each whole clip at
-- 8 kHz mono (the clips come at 16-44.1 kHz, mono or stereo, 5-15 s); the
-- models see 5 s windows of them and judge a sound on all of its windows.
ALTER TABLE sounds ADD COLUMN spec spectrogram;
UPDATE sounds SET spec = ttsp_spectrogram(music_id, sample_rate => 8000, mono => true);

CREATE TABLE demo_metrics AS
SELECT 'popular (classifier)' AS model,
	ttsp_train('popular', 'sounds', 'spec', 'popular', epochs => :epochs) AS metrics;
-- The seed's regression run: MSE on log10(play count).
INSERT INTO demo_metrics
SELECT 'log10 plays (regressor)',
	ttsp_train('plays', 'sounds', 'spec', 'log_plays', task => 'regression', loss => 'mse', epochs => :epochs);
