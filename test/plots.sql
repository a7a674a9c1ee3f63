-- Pictures (cairo): spectrograms, loss curves, ROC curves and saliency maps.
\getenv abs_srcdir PG_ABS_SRCDIR
\getenv abs_builddir PG_ABS_BUILDDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(37);

-- 80 half-second clips (63 frames): noise and chirp are "popular".  The
-- classifier's window is the whole clip, so its saliency is one window's.
CREATE TABLE sounds AS
SELECT i AS id, f AS file,
	ttsp_spectrogram(pg_temp.fixture(f), sample_rate => 8000, mono => true, n_fft => 128,
		offset_s => (i % 5) * 0.05, duration_s => 0.5) AS spec,
	(f LIKE 'noise%' OR f LIKE 'chirp%') AS popular,
	(i % 7) / 7.0 AS score
FROM generate_series(1, 20) i,
	unnest(ARRAY['tone_mono_22k.mp3', 'noise_stereo_44k.mp3', 'chirp_stereo_48k_vbr.mp3', 'tagged_44k.mp3']) f;
SELECT ttsp_train('pic', 'sounds', 'spec', 'popular', epochs => 2, frames => 63) IS NOT NULL AS trained \gset
SELECT ttsp_train('pic_reg', 'sounds', 'spec', 'score', task => 'regression', epochs => 1, frames => 63) IS NOT NULL AS trained \gset
CREATE TABLE other AS SELECT ttsp_spectrogram(pg_temp.fixture('tone_mono_22k.mp3'), n_fft => 256) AS spec, true AS popular;
CREATE TABLE stereo AS SELECT ttsp_spectrogram(pg_temp.fixture('chirp_stereo_48k_vbr.mp3'), n_fft => 512) AS spec;

-- width and height from the PNG header
CREATE FUNCTION pg_temp.png_size(p bytea) RETURNS int[]
LANGUAGE sql AS $$
	SELECT ARRAY[(get_byte(p, 16) << 24) | (get_byte(p, 17) << 16) | (get_byte(p, 18) << 8) | get_byte(p, 19),
		(get_byte(p, 20) << 24) | (get_byte(p, 21) << 16) | (get_byte(p, 22) << 8) | get_byte(p, 23)]
$$;

-- Spectrograms: 86 px of frequency axis, 768 of image, 96 of colour bar; 14 + 256 + 52 px tall.
SELECT is(substr(ttsp_spectrogram_png(spec), 1, 8), '\x89504e470d0a1a0a'::bytea, 'spectrogram: PNG signature')
FROM sounds WHERE id = 1 AND file LIKE 'chirp%';
SELECT is(pg_temp.png_size(ttsp_spectrogram_png(spec)), ARRAY[950, 322], 'one channel: 950 x 322')
FROM sounds WHERE id = 1 AND file LIKE 'chirp%';
SELECT is(pg_temp.png_size(ttsp_spectrogram_png(spec, title => 'a chirp')), ARRAY[950, 344], 'a title adds 22 px')
FROM sounds WHERE id = 1 AND file LIKE 'chirp%';
SELECT is(pg_temp.png_size(ttsp_spectrogram_png(spec)), ARRAY[950, 398], 'two channels: two labelled bands of 160 px')
FROM stereo;
SELECT is(pg_temp.png_size(ttsp_spectrogram_png(ttsp_mel_spectrogram(pg_temp.fixture('chirp_stereo_48k_vbr.mp3'),
	n_fft => 1024, n_mels => 64, mono => true))), ARRAY[950, 322], 'a mel spectrogram');
SELECT is(ttsp_spectrogram_png(NULL), NULL, 'NULL in, NULL out');
SELECT throws_ok($$ SELECT ttsp_spectrogram_png(spec, top_db => -1) FROM stereo $$, '22023',
	'top_db must be positive or NULL, got -1', 'a negative top_db');
SELECT throws_ok($$ SELECT ttsp_spectrogram_png(ttsp_make_spectrogram(array_fill(1::real, ARRAY[100, 2, 3]), 'power', 8000, 2)) $$,
	'54000', '100 channels need a picture 17254 pixels tall, over the limit of 16384', 'too many channels for the pixel limit');
SELECT throws_ok($$ SELECT ttsp_spectrogram_png(ttsp_make_spectrogram(array_fill(1::real, ARRAY[20000, 2]), 'power', 8000, 39998)) $$,
	'54000', '20000 bins x 2 columns exceed the limit of 16384 per side', 'too many bins for the pixel limit');
SELECT throws_ok($$ SELECT ttsp_spectrogram_png('{"version": 1, "kind": "power", "sample_rate": 8000, "n_fft": 2,
	"win_length": 2, "hop_length": 1, "power": 2, "center": true, "pad_mode": "reflect", "normalized": false,
	"shape": [1, 2, 0], "data": [[[], []]]}') $$,
	'22P02', NULL, 'a spectrogram of 0 frames cannot be made, so it is never drawn');

-- Pixels, decoded by test/png_pixels.py (standard library only): ink left of and
-- below the image (ticks and labels), none above it without a title.
\set hex :abs_builddir '/results/plots_spec.hex'
\set export '\\copy (SELECT encode(ttsp_spectrogram_png(spec), ''hex'') FROM sounds WHERE id = 1 AND file LIKE ''chirp%'') TO ' :'hex'
:export
\set counts `python3 :abs_srcdir/sql/png_pixels.py :hex 0 80 14 270  86 854 276 322  86 854 0 12  100 800 30 250  880 950 14 270`
SELECT ok(split_part(:'counts', ' ', 1)::int > 500, 'the frequency axis has ticks and labels');
SELECT ok(split_part(:'counts', ' ', 2)::int > 400, 'the time axis has ticks and labels');
SELECT is(split_part(:'counts', ' ', 3)::int, 0, 'no title, nothing above the image');
SELECT is(split_part(:'counts', ' ', 4)::int, 700 * 220, 'the image area is painted throughout');
SELECT ok(split_part(:'counts', ' ', 5)::int > 300, 'the colour bar has dB ticks and a label');

-- Loss curves: ttsp_plot_losses keeps its 0.1.0 arguments; the rest are optional.
SELECT is(pg_temp.png_size(ttsp_plot_losses('{1, 0.5, 0.4}', '{1.1, 0.7, 0.6}', 640, 400)), ARRAY[640, 400], 'losses: 0.1.0''s call');
SELECT is(pg_temp.png_size(ttsp_plot_losses('{1, 0.5, 0.4}', validation_loss => '{1.1, 0.6, 0.55}', best_epoch => 3,
	title => 'run 1', width => 300, height => 200)), ARRAY[300, 200], 'losses with validation, best epoch and title at 300 x 200');
SELECT is(substr(ttsp_loss_curve_png('pic'), 1, 8), '\x89504e470d0a1a0a'::bytea, 'ttsp_loss_curve_png still draws a PNG');
SELECT is(ttsp_plot_losses(NULL, '{1}'), NULL, 'no train loss, no picture');
SELECT throws_ok($$ SELECT ttsp_plot_losses('{1, 2}', '{1}') $$, '2202E',
	'loss arrays must have the same, non-zero length; test loss has 1, train loss 2', 'losses of different lengths');
SELECT throws_ok($$ SELECT ttsp_plot_losses('{1, 2}', best_epoch => 3) $$, '22023',
	'best_epoch 3 is not an epoch of 0 (the start) to 2', 'a best epoch that is not an epoch');
SELECT throws_ok($$ SELECT ttsp_plot_losses('{1, 2}', width => 20000) $$, '54000',
	'picture of 20000 x 400 pixels is outside 1 to 16384 per side', 'wider than the pixel limit');
SELECT throws_ok($$ SELECT ttsp_plot_losses('{1, 2}', width => 100) $$, '22023',
	'chart size 100 x 400 is below the smallest, 200 x 150', 'narrower than a chart can be');

-- ROC curves
SELECT is(pg_temp.png_size(ttsp_roc_png('pic', 'sounds', 'spec', 'popular')), ARRAY[520, 480], 'ROC curve: 520 x 480');
SELECT throws_ok($$ SELECT ttsp_roc_png('pic_reg', 'sounds', 'spec', 'popular') $$, '22023',
	'model "pic_reg" is a regression model; a ROC curve needs a classifier', 'a regressor has no ROC curve');
SELECT throws_ok($$ SELECT ttsp_roc_png('pic', 'other', 'spec', 'popular') $$, '22023',
	'spectrogram does not match model "pic"', 'a spectrogram that does not match: ttsp_predict''s error');
SELECT throws_ok($$ SELECT ttsp_plot_roc('{0.2, 0.8}', '{true, true}') $$, '22023',
	'a ROC curve needs both classes; got 2 positive of 2', 'one class only');
SELECT throws_ok($$ SELECT ttsp_plot_roc('{0.2, 1.8}', '{true, false}') $$, '22023',
	'score 2 (1.8) is not a probability in [0, 1]', 'a score that is not a probability');

-- Saliency: the input's layout, non-negative, and for a one-window clip the
-- derivative of the regressor's standardised output by a finite difference
-- through ttsp_predict (a regressor: a confident classifier's probability,
-- rounded to float, would drown its logit's change): scaling one cell's power
-- by e^h moves its standardised input by 10 log10(e) h / std.
SELECT is((ttsp_channels(s), ttsp_bins(s), ttsp_frames(s), ttsp_sample_rate(s)),
	(ttsp_channels(spec), ttsp_bins(spec), ttsp_frames(spec), ttsp_sample_rate(spec)), 'saliency has the input''s shape')
FROM (SELECT spec, ttsp_saliency('pic', spec) AS s FROM sounds WHERE id = 1 AND file LIKE 'chirp%') x;
SELECT ok(min(v) >= 0 AND max(v) > 0, 'saliency is a magnitude, not all zero')
FROM sounds, unnest(ttsp_saliency('pic', spec)::real[]) v WHERE id = 1 AND file LIKE 'chirp%';
CREATE FUNCTION pg_temp.moved(s spectrogram, b int, f int, h float8) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
	a real[] := s::real[];
BEGIN
	a[1][b][f] := a[1][b][f] * exp(h);
	RETURN ttsp_predict('pic_reg', ttsp_make_spectrogram(a, 'power', 8000, 128));
END $$;
-- the most salient of the cells above the log floor; dx = 0.005 standardised (0.05 can cross a ReLU kink)
CREATE TEMP TABLE fd AS
SELECT s.spec, c.b, c.f, c.sal, 0.005 * m.norm_std[c.b] / (10 * log(exp(1.0)))::float8 AS h, 0.005::float8 AS dx,
	(m.architecture->>'target_std')::float8 AS target_std
FROM sounds s,
	LATERAL (SELECT i AS b, j AS f, (ttsp_saliency('pic_reg', s.spec)::real[])[1][i][j] AS sal
		FROM generate_subscripts(s.spec::real[], 2) i, generate_subscripts(s.spec::real[], 3) j
		WHERE (s.spec::real[])[1][i][j] > 1e-6 ORDER BY 3 DESC LIMIT 1) c,
	ttsp_model m
WHERE s.id = 1 AND s.file LIKE 'chirp%' AND m.name = 'pic_reg';
SELECT ok(abs(abs(fd_grad) - sal) < 0.02 * sal,
	'saliency is |d output / d input|: finite differences agree within 2%')
FROM (SELECT sal, (pg_temp.moved(spec, b, f, h) - pg_temp.moved(spec, b, f, -h)) / (2 * dx * target_std) AS fd_grad FROM fd) x;
SELECT is(pg_temp.png_size(ttsp_saliency_png('pic', spec)), ARRAY[1046, 322], 'saliency picture: a second colour bar')
FROM sounds WHERE id = 1 AND file LIKE 'chirp%';
SELECT ok(ttsp_saliency('pic', NULL) IS NULL, 'NULL in, NULL out');
SELECT throws_ok($$ SELECT ttsp_saliency('pic', spec) FROM other $$, '22023',
	'spectrogram does not match model "pic"', 'a spectrogram that does not match: ttsp_predict''s error');
SELECT throws_ok($$ SELECT ttsp_saliency_png('pic', spec) FROM other $$, '22023',
	'spectrogram does not match model "pic"', 'the same for the picture');
SELECT throws_ok($$ SELECT ttsp_saliency('nope', spec) FROM other $$, '42704',
	'model "nope" does not exist', 'a missing model');
SELECT is((ttsp_frames(s), ttsp_frames(s) > 63, (SELECT min(v) >= 0 FROM unnest(s::real[]) v)),
	(ttsp_frames(spec), true, true), 'a clip of many windows: every frame has a saliency')
FROM (SELECT spec, ttsp_saliency('pic', spec) AS s
	FROM (SELECT ttsp_spectrogram(pg_temp.fixture('chirp_stereo_48k_vbr.mp3'), sample_rate => 8000, mono => true,
		n_fft => 128) AS spec) x) y;

SELECT * FROM finish();
ROLLBACK;
